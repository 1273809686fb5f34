"""How fast the CLI answers, and where an ``advise`` spends its time, against ``mlflow server``.

Starts ``mlflow server`` (SQLite backend, proxied artifacts) on a free loopback port, registers a
small scikit-learn model with its reference, and runs the installed ``mlflow-staleness`` as a
user would, each case ``--repeat`` times (the median is reported):

- ``--help``;
- ``advise`` on a model name that does not exist (target: under 2 s; asked before MLflow is
  imported, so it runs without the harness, which imports everything);
- ``advise`` on a small window (500 rows) with labels and predictions, ``--dry-run`` and writing;
- ``advise`` on the same window with labels only, so the served version is loaded and scores it
  (target: under 3 s plus the model's own loading and scoring).

Each ``advise`` runs under a small harness that times, exclusively, the phases of the command:
imports (the CLI and the advisor with MLflow, pandas and scikit-learn), store start-up
(``connect``: the ``/health`` and ``/version`` probe and the client), reading the data file,
requests to the server (count and time; those made while loading a model count as loading, those
of the final writes as writes), model loading, scoring (the model's own ``predict``), and the rest
(fingerprint, decision, report). "Process start and exit" is the wall time minus what the
harness saw: the interpreter's start before any import, and its exit (MLflow's exit handlers).

Prints the table and writes ``benchmarks/cli/results.md``::

    .venv/bin/python scripts/benchmark_cli.py [--repeat 3] [--out benchmarks/cli/results.md]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = str(Path(sys.executable).with_name("mlflow-staleness"))
PHASES = (
    "imports",
    "store start-up",
    "data file",
    "requests",
    "model loading",
    "scoring",
    "writes",
    "other",
)

# Run inside the child: wrap the command's phases with exclusive timers, run the CLI, and write the
# timings as JSON to $BENCH_TIMINGS when it exits.
HARNESS = r"""
import atexit, json, os, sys, time
from collections import defaultdict
START = time.perf_counter()
totals, counts, stack = defaultdict(float), defaultdict(int), []

def timed(phase, fn):
    def wrapper(*args, **kwargs):
        name = phase() if callable(phase) else phase
        counts[name] += 1
        begun = time.perf_counter()
        stack.append([name, 0.0])
        try:
            return fn(*args, **kwargs)
        finally:
            name, inner = stack.pop()
            spent = time.perf_counter() - begun
            totals[name] += spent - inner
            if stack:
                stack[-1][1] += spent
    return wrapper

def request_phase():
    for name, _ in reversed(stack):
        if name in ("model loading", "writes"):
            return name
    return "requests"

t = time.perf_counter()
import mlflow_staleness.cli as cli
import mlflow_staleness.advisor as advisor
import mlflow_staleness.data_files as data_files
import mlflow.utils.rest_utils as rest_utils
import mlflow.store.artifact.http_artifact_repo  # noqa: F401 - to wrap its http_request
import mlflow.store.artifact.artifact_repo  # noqa: F401
totals["imports"] += time.perf_counter() - t

original = rest_utils.http_request
wrapped = timed(request_phase, original)
for module in list(sys.modules.values()):
    if getattr(module, "http_request", None) is original:
        module.http_request = wrapped
advisor.connect = timed("store start-up", advisor.connect)
advisor.execute = timed("writes", advisor.execute)
data_files.read_table = timed("data file", data_files.read_table)
scorer = advisor.VersionScorer
scorer._load = timed("model loading", scorer._load)
scorer.predict_with_classes = timed("scoring", scorer.predict_with_classes)

def report():
    seen = time.perf_counter() - START
    out = dict(totals)
    out["other"] = seen - sum(totals.values())
    out["seen"] = seen
    out["requests_n"] = counts["requests"] + counts["writes"] + counts["model loading"]
    with open(os.environ["BENCH_TIMINGS"], "w") as f:
        json.dump(out, f)

atexit.register(report)
sys.argv = ["mlflow-staleness", *sys.argv[1:]]
cli.main()
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("MLFLOW_TRACKING_URI", None)
    env.update(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true", OMP_NUM_THREADS="1")
    env.update(extra)
    return env


@contextlib.contextmanager
def mlflow_server(folder: Path):
    """``mlflow server`` on a free loopback port; its URI."""
    port = free_port()
    log = open(folder / "server.log", "ab")  # noqa: SIM115 - closed below
    command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}"]
    command += ["--artifacts-destination", str(folder / "artifacts"), "--workers", "1"]
    process = subprocess.Popen(
        command,
        cwd=folder,
        env=environment(),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    uri = f"http://127.0.0.1:{port}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        deadline = time.monotonic() + 120
        while True:
            with (
                contextlib.suppress(OSError),
                opener.open(f"{uri}/health", timeout=2) as answer,
            ):
                if answer.status == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server did not start; see {folder / 'server.log'}")
            time.sleep(0.3)
        yield uri
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def prepare(uri: str, folder: Path) -> tuple[str, Path, Path]:
    """Register a small model with its reference, configure its costs; the model's name, a
    window with labels and predictions, and the same window with labels only."""
    import warnings

    import mlflow
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    import mlflow_staleness

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"x{i}": rng.normal(size=2000) for i in range(8)})
    frame["y"] = (frame["x0"] + 0.5 * frame["x1"] + rng.normal(scale=0.5, size=2000) > 0).astype(
        int
    )
    features = [c for c in frame.columns if c != "y"]
    name = "bench-cli"
    mlflow.set_tracking_uri(uri)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        experiment = mlflow.MlflowClient().create_experiment("bench-cli-training")
        with mlflow.start_run(experiment_id=experiment):
            model = LogisticRegression().fit(frame.loc[:1499, features], frame.loc[:1499, "y"])
            valid = frame.iloc[1500:]
            error = float(np.mean(model.predict(valid[features]) != valid["y"]))
            mlflow.sklearn.log_model(
                model,
                name="model",
                registered_model_name=name,
                pip_requirements=["scikit-learn"],
                signature=mlflow.models.infer_signature(valid[features], valid["y"]),
            )
            mlflow_staleness.log_reference(valid, target="y", loss=error)
    client = mlflow.MlflowClient()
    client.set_registered_model_alias(name, "champion", "1")
    window = frame.sample(500, random_state=1).reset_index(drop=True)
    labelled = folder / "window.parquet"
    window.to_parquet(labelled, index=False)
    with_predictions = folder / "window-pred.parquet"
    window.assign(pred=model.predict(window[features])).to_parquet(with_predictions, index=False)
    run = subprocess.run(
        [CLI, "configure", name, "--retrain-cost", "500", "--error-cost", "1", *PER_STEP, uri],
        env=environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        raise RuntimeError(f"configure failed: {run.stderr}")
    return name, labelled, with_predictions


PER_STEP = ("--predictions-per-step", "1000", "--tracking-uri")


def run_case(args: list[str], *, harness: bool, folder: Path) -> tuple[float, int, dict]:
    """Wall seconds, exit code, and the harness's phase timings (empty without it) with the
    child's CPU seconds (user + system), which a loaded machine inflates less than wall time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    timings = folder / "timings.json"
    timings.unlink(missing_ok=True)
    command = [sys.executable, "-c", HARNESS, *args] if harness else [CLI, *args]
    begun = time.perf_counter()
    done = subprocess.run(
        command,
        env=environment(BENCH_TIMINGS=str(timings)),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    wall = time.perf_counter() - begun
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    phases = json.loads(timings.read_text()) if harness and timings.exists() else {}
    phases["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if harness and phases:
        phases["process start and exit"] = wall - phases.pop("seen")
    if done.returncode not in (0, 1, 3, 4):
        raise RuntimeError(f"{args} exited {done.returncode}: {done.stderr[-2000:]}")
    return wall, done.returncode, phases


def median_case(args: list[str], repeat: int, *, harness: bool, folder: Path) -> dict:
    runs = [run_case(args, harness=harness, folder=folder) for _ in range(repeat)]
    walls = [r[0] for r in runs]
    middle = runs[walls.index(statistics.median_low(walls))]
    return {"wall": statistics.median(walls), "code": middle[1], "phases": middle[2]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "cli" / "results.md"))
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-cli-"))
    try:
        with mlflow_server(folder) as uri:
            name, labelled, with_predictions = prepare(uri, folder)
            server = ["--tracking-uri", uri]
            predicted = ["advise", name, "--data", str(with_predictions), "--target", "y"]
            predicted += ["--predictions-col", "pred"]
            cases = [
                ("--help", ["--help"], None, False),
                (
                    "advise, wrong model name",
                    [
                        "advise",
                        "no-such-model",
                        "--data",
                        str(with_predictions),
                        "--dry-run",
                        *server,
                    ],
                    2.0,
                    False,
                ),
                (
                    "advise, 500 rows, labels + predictions, --dry-run",
                    [*predicted, "--dry-run", "--window", "w1", *server],
                    3.0,
                    True,
                ),
                (
                    "advise, 500 rows, labels + predictions, writing",
                    [*predicted, "--window", "w2", *server],
                    3.0,
                    True,
                ),
                (
                    "advise, 500 rows, labels, model loaded and scored, --dry-run",
                    [
                        "advise",
                        name,
                        "--data",
                        str(labelled),
                        "--target",
                        "y",
                        "--dry-run",
                        "--window",
                        "w3",
                        *server,
                    ],
                    3.0,
                    True,
                ),
            ]
            results = []
            for label, args, target, harness in cases:
                result = median_case(args, options.repeat, harness=harness, folder=folder)
                results.append((label, target, result))
                print(f"{label}: {result['wall']:.2f} s (exit {result['code']})", file=sys.stderr)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    text = render(results, options.repeat)
    print(text)
    out = Path(options.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")


def render(results: list, repeat: int) -> str:
    load = os.getloadavg()
    head = ["case", "wall s", "cpu s", "target", *["process start and exit", *PHASES], "requests"]
    lines = [
        "# CLI timings against a real `mlflow server`",
        "",
        f"`scripts/benchmark_cli.py`, median of {repeat} runs each; {platform.python_version()}, "
        f"{os.cpu_count()} cores, {platform.machine()}, a shared machine: load average "
        f"{load[0]:.1f} at the end (other jobs ran; wall times stretch with the load, CPU "
        "seconds of the process much less). The "
        "server is `mlflow server` on a loopback port (SQLite, proxied artifacts). Phases are "
        "exclusive seconds of the median run (see the script's docstring): requests made while "
        "loading a model count as model loading, those of the writes as writes.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|",
    ]
    for label, target, result in results:
        phases = result["phases"]
        met = (
            "" if target is None else (" ✓" if result["wall"] - _scoring(phases) < target else " ✗")
        )
        cells = [label, f"{result['wall']:.2f}", f"{phases['cpu']:.2f}"]
        cells.append("-" if target is None else f"< {target:g}{met}")
        for phase in ("process start and exit", *PHASES):
            cells.append(f"{phases[phase]:.2f}" if phase in phases else "-")
        cells.append(str(phases.get("requests_n", "-")))
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "The target of an advice that loads the model is 3 s *plus* the model's own loading and "
        "scoring: the ✓ compares the wall time without those two phases.",
        "",
    ]
    return "\n".join(lines)


def _scoring(phases: dict) -> float:
    return phases.get("model loading", 0.0) + phases.get("scoring", 0.0)


if __name__ == "__main__":
    main()
