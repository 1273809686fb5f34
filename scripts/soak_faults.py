#!/usr/bin/env python
"""Soak with faults: one model advised through N windows of a drifting stream, ``--promote``,
against a real ``mlflow server`` behind a proxy that breaks a random share of the requests.

The script starts an ``mlflow server`` (SQLite, proxied artifacts) on a free loopback port and
the fault proxy of ``tests/fault_proxy.py`` in front of it, which answers a seeded random 5%
(``--rate``) of the requests with a 500 (not forwarded), holds them past the client's timeout
(forwarded, so the server commits them) or cuts the connection after forwarding them. Then it
plays a team's loop, window by window:

1. the window's data (features, the label, and the served version's predictions) is written to
   a CSV file;
2. ``mlflow-staleness advise MODEL --data ... --promote --json`` runs in this process through the
   CLI, with credentials in the tracking URI (``http://soak:<password>@127.0.0.1:<proxy>``) and
   ``MLFLOW_TRACKING_TOKEN`` set; when it fails, the same command is run again (at most
   ``--retries`` times), as a scheduler would;
3. when the advice is ``retrain``, the team trains a model on the window and registers it (straight
   at the server: the training pipeline is not under test); the advisor judges it on the next
   call (its gate) and ``--promote`` moves ``champion`` when it is promoted.

After every window, straight at the server (no faults), it checks:

- **action last**: ``champion`` points where it was before the window, or to the version that
  the window's complete advice (the one ``history`` shows) recommended promoting or rolling back
  to;
- **no half-written advice shown as current**: the advisor run's ``staleness.advice_id``, and the
  served version's when it is not empty (empty marks its copies as incomplete), name a complete
  advice of the history, and the version's ``staleness.action`` tag is that advice's action;
  the model's ``staleness.summary`` is that of a complete advice; the window's row, when the
  window's advice succeeded, is the advice the CLI printed;
- **no secret**: neither the password nor the token is in anything printed (stdout, stderr,
  every log record).

It prints the counts (windows, requests, faults injected by kind, advice calls failed and
retried, retrains, promotes, invariant violations, secrets printed, the time) as JSON and exits 1
when there is any violation or leak.

Usage::

    .venv/bin/python scripts/soak_faults.py                 # 200 windows, seed 0
    .venv/bin/python scripts/soak_faults.py --windows 20 --seed 3
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import tempfile
import time
import uuid
import warnings
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
if str(REPO) not in sys.path:
    sys.path.insert(1, str(REPO))
warnings.filterwarnings("ignore")
os.environ.setdefault("MLFLOW_ENABLE_TELEMETRY", "false")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

FEATURES = ("x1", "x2", "x3")
TARGET = "label"
SERVING = "champion"
COSTS = ["--retrain-cost", "40", "--error-cost", "1", "--predictions-per-step", "1000"]


def window_frame(t: int, rng: np.random.Generator, n: int = 300) -> pd.DataFrame:
    """Window ``t`` of a stream whose concept drifts: the decision boundary turns slowly and
    jumps every 40 windows, so a model ages and retrains pay."""
    x = rng.normal(size=(n, len(FEATURES)))
    angle = 0.02 * t + 0.9 * (t // 40)
    score = np.cos(angle) * x[:, 0] + np.sin(angle) * x[:, 1] + 0.2 * x[:, 2]
    flip = rng.random(n) < 0.05  # label noise
    label = (score > 0).astype("float64")
    label[flip] = 1.0 - label[flip]
    frame = pd.DataFrame(x, columns=list(FEATURES))
    frame[TARGET] = label
    return frame


class Logs(logging.Handler):
    """Every log record's message, MLflow's too."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self.messages.append(record.getMessage())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--windows", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rate", type=float, default=0.05, help="share of requests broken")
    parser.add_argument("--retries", type=int, default=5, help="re-runs of a failed advice")
    parser.add_argument("--server-timeout", type=float, default=4.0)
    parser.add_argument("--out", help="also write the counts here (JSON)")
    args = parser.parse_args(argv)

    from click.testing import CliRunner
    from fault_proxy import Chaos, FaultProxy
    from mlflow_servers import MlflowServer
    from registry_helpers import client_for, register_version
    from sklearn.linear_model import LogisticRegression

    from mlflow_staleness.advisor import Advisor
    from mlflow_staleness.cli import main as cli

    started = time.monotonic()
    rng = np.random.default_rng(args.seed)
    password = f"pw-soak-{uuid.uuid4().hex}"
    token = f"tok-soak-{uuid.uuid4().hex}"
    secrets = (password, token)
    counts: Counter[str] = Counter()
    violations: list[str] = []
    leaks: list[str] = []
    failures: list[str] = []
    logs = Logs()
    for name in ("", "mlflow", "urllib3"):
        logging.getLogger(name).addHandler(logs)
    hold = args.server_timeout / 2 + 1.0  # past each try's bound (half the server timeout)

    with (
        tempfile.TemporaryDirectory(prefix="soak-") as tmp,
        MlflowServer(Path(tmp) / "server", startup_timeout=300) as server,
        FaultProxy(server.uri) as proxy,
    ):
        direct = server.uri
        client = client_for(direct)
        uri = f"http://soak:{password}@127.0.0.1:{proxy.port}"
        model = "soak-model"
        models: dict[str, LogisticRegression] = {}

        def train(frame: pd.DataFrame, alias: str | None = None) -> str:
            fit_part, val_part = frame.iloc[:240], frame.iloc[240:]
            fitted = LogisticRegression().fit(fit_part[list(FEATURES)], fit_part[TARGET])
            val_loss = float(np.mean(fitted.predict(val_part[list(FEATURES)]) != val_part[TARGET]))
            version = register_version(
                direct, model, frame, val_loss=val_loss, alias=alias, log_model=False
            )
            models[version] = fitted
            counts["versions registered"] += 1
            return version

        train(window_frame(0, rng), alias=SERVING)
        proxy.arm(chaos=Chaos(rate=args.rate, seed=args.seed, hold=hold))
        os.environ["MLFLOW_TRACKING_TOKEN"] = token
        for key in ("MLFLOW_HTTP_REQUEST_TIMEOUT", "MLFLOW_HTTP_REQUEST_MAX_RETRIES"):
            os.environ.pop(key, None)
        for t in range(1, args.windows + 1):
            window = f"w{t:04d}"
            frame = window_frame(t, rng)
            before = str(client.get_registered_model(model).aliases[SERVING])
            served = models[before]
            data = Path(tmp) / "window.csv"
            frame.assign(p=served.predict(frame[list(FEATURES)])).to_csv(data, index=False)
            command = [
                "advise", model, "--data", str(data), "--target", TARGET,
                "--predictions-col", "p", "--window", window, "--promote", "--json",
                "--tracking-uri", uri, "--server-timeout", str(args.server_timeout), *COSTS,
            ]  # fmt: skip
            advice = None
            for attempt in range(args.retries + 1):
                result = CliRunner().invoke(cli, command)
                counts["advice calls"] += 1
                printed = result.stdout + result.stderr
                leaks += [f"{window}: a secret in the output" for s in secrets if s in printed]
                if result.exit_code in (0, 3, 4):
                    advice = json.loads(result.stdout.strip().splitlines()[-1])
                    break
                counts["advice calls failed"] += 1
                if result.exit_code != 1 or not result.stderr.startswith("error: "):
                    violations.append(f"{window}: exit {result.exit_code}: {printed[-300:]!r}")
                if len(failures) < 12:
                    failures.append(f"{window} try {attempt + 1}: {result.stderr.strip()[:240]}")
                if attempt < args.retries:
                    counts["advice calls retried"] += 1
            if advice is None:
                counts["windows given up"] += 1
            counts["requests"] += len(proxy.requests)
            proxy.forget()

            # the checks, straight at the server
            after = str(client.get_registered_model(model).aliases[SERVING])
            rows = Advisor(model, tracking_uri=direct, server_timeout=60).history()
            ids = {row["advice_id"] for row in rows}
            row = next((r for r in rows if r["window"] == window), None)
            if after != before:
                recommended = row is not None and (
                    row.get("action") in ("promote", "rollback")
                    and str(row.get("candidate_version")) == after
                )
                if not recommended:
                    violations.append(f"{window}: {SERVING} {before} -> {after} without advice")
                counts[f"{row['action'] if row else 'unexplained'}s made"] += 1
            if advice is not None:
                if row is None or row["advice_id"] != advice["advice_id"]:
                    violations.append(f"{window}: the history does not show the printed advice")
                counts[f"advised {advice['action']}"] += 1
                if advice["action"] in ("promote", "rollback") and after != str(
                    advice["candidate_version"]
                ):
                    violations.append(f"{window}: {advice['action']} advised, {SERVING} {after}")
            experiment = client.get_experiment_by_name(f"staleness/{model}")
            runs = client.search_runs([experiment.experiment_id]) if experiment else []
            for run in runs:
                shown = run.data.tags.get("staleness.advice_id")
                if shown and shown not in ids:
                    violations.append(f"{window}: run {run.info.run_id} shows {shown}, incomplete")
            if row is not None:
                tags = client.get_model_version(model, row["version"]).tags
                shown = tags.get("staleness.advice_id", "")
                if shown and shown not in ids:
                    violations.append(f"{window}: v{row['version']} shows incomplete {shown}")
                if shown == row["advice_id"] and tags.get("staleness.action") != row["action"]:
                    violations.append(f"{window}: v{row['version']}'s tags are not its advice")
            summary = client.get_registered_model(model).tags.get("staleness.summary")
            complete = {f"v{r['version']} on window {r['window']}: {r['action']} " for r in rows}
            if summary and not any(summary.startswith(prefix) for prefix in complete):
                violations.append(f"{window}: the summary shows no complete advice: {summary}")
            if advice is not None and advice["action"] == "retrain":
                train(frame)
                counts["retrains (versions trained)"] += 1
            if t % 20 == 0:
                elapsed = time.monotonic() - started
                print(f"window {t}: {dict(counts)}; {elapsed:.0f} s", file=sys.stderr, flush=True)
        faults = proxy.faults

    for message in logs.messages:
        leaks += [f"log: {message[:120]}" for s in secrets if s in message]
    report = {
        "windows": args.windows,
        "seed": args.seed,
        "rate": args.rate,
        "requests": counts.pop("requests", 0),
        "faults injected": dict(sorted(faults.items())),
        "faults injected, total": sum(faults.values()),
        **dict(sorted(counts.items())),
        "invariant violations": len(violations),
        "secrets printed": len(leaks),
        "seconds": round(time.monotonic() - started, 1),
        "violations": violations[:20],
        "leaks": leaks[:20],
        "first failures": failures,
    }
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 1 if violations or leaks else 0


if __name__ == "__main__":
    sys.exit(main())
