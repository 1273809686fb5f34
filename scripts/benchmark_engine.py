"""Engine speed at long histories: each policy's full ``replay`` and one advisor decision.

Issue 12, item 5: an advisor that has run daily for three years (T = 1,000 windows) must still
answer at once. Targets: a full :func:`~mlflow_staleness.backtest.replay` under 10 s per policy,
one decision under 50 ms.

The loss matrix is synthetic and seeded: a model's loss grows with its age, plus a slow seasonal
level and noise, so that every policy retrains now and then; the drift scores between windows
follow the same seasonal level (what fingerprints of the windows would give).

- *replay*: ``replay(make_policy(name), L, alpha, val_loss, drift=...)`` at ``T``, each in its
  own process with a time limit (``--timeout``), so one slow policy cannot stall the rest;
- *one decision*: what the advisor does per model and window (``mlflow_staleness.advice``): a
  fresh ``make_policy(name).start().decide(obs)`` on the observation of the last step of a
  history of ``T`` windows with a retrain every 25 windows; the median of ``--repeats`` calls.

Run::

    .venv/bin/python scripts/benchmark_engine.py                      # T = 100, 400, 1000
    .venv/bin/python scripts/benchmark_engine.py --sizes 100 --out /tmp/engine.md
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "benchmarks" / "scale" / "engine.md"
POLICY_NAMES = ("threshold", "cumulative", "periodic", "forecast", "never", "always", "fixed")
ALPHA = 0.5
WARMUP = 5
RETRAIN_EVERY = 25


def losses(T: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``L`` (NaN where ``i >= t``), validation losses and drift scores, seeded."""
    rng = np.random.default_rng(seed)
    level = 0.05 * np.sin(np.arange(T) * 2 * np.pi / 90.0)
    age = np.arange(T)[None, :] - np.arange(T)[:, None]
    L = 0.15 + level[None, :] + 0.004 * age + rng.normal(0.0, 0.01, (T, T))
    L = np.where(age > 0, np.clip(L, 0.0, 1.0), np.nan)
    val_loss = np.clip(0.15 + level + rng.normal(0.0, 0.01, T), 0.0, 1.0)
    drift = np.abs(level[:, None] - level[None, :]) * 10 + 0.01 * np.abs(age) / T
    return L, val_loss, drift


def time_replay(name: str, T: int) -> float:
    from mlflow_staleness.backtest import replay
    from mlflow_staleness.policies import make_policy

    L, val_loss, drift = losses(T)
    started = time.perf_counter()
    replay(make_policy(name), L, ALPHA, val_loss, drift=drift, warmup=WARMUP)
    return time.perf_counter() - started


def last_observation(T: int) -> object:
    """The observation at step ``T - 1`` of a history with a retrain every 25 windows."""
    from mlflow_staleness.policies.base import Observation, WindowDrift, Windows

    L, val_loss, drift = losses(T)
    t = T - 1
    exists = np.zeros(T, dtype=bool)
    exists[:WARMUP] = True
    exists[WARMUP - 1 : t - 1 : RETRAIN_EVERY] = True
    models = np.flatnonzero(exists)
    served = int(models[-1])
    seen = np.full((T, T), np.nan)
    for m in models:  # labels up to t - 1 (label delay 1) for every model that existed then
        seen[m, m + 1 : t] = L[m, m + 1 : t]
    seen.flags.writeable = False
    shown = np.where(exists, val_loss, np.nan)
    shown.flags.writeable = False
    return Observation(
        step=t,
        served=served,
        deployed_at=served + 1,
        models=tuple(int(m) for m in models),
        losses=seen,
        val_loss=shown,
        retrain_cost=ALPHA,
        label_delay=1,
        windows=Windows(None, t + 1),
        drift=WindowDrift(scores=drift, visible=t + 1),
    )


def time_decision(name: str, T: int, repeats: int) -> float:
    from mlflow_staleness.policies import make_policy

    obs = last_observation(T)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        make_policy(name).start().decide(obs)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(kind: str, name: str, T: int, repeats: int, timeout: float) -> str:
    """Run one measurement in its own process; seconds as text, or what stopped it."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", kind, name, str(T)]
    command += ["--repeats", str(repeats)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        return f"> {timeout:.0f} s (stopped)"
    if done.returncode != 0:
        return f"failed: {done.stderr.strip().splitlines()[-1][:120]}"
    seconds = json.loads(done.stdout)["seconds"]
    return f"{seconds * 1000:.2f} ms" if kind == "decision" else f"{seconds:.2f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,400,1000")
    parser.add_argument("--policies", default=",".join(POLICY_NAMES))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, name, T = args.child
        seconds = (
            time_replay(name, int(T))
            if kind == "replay"
            else time_decision(name, int(T), args.repeats)
        )
        print(json.dumps({"seconds": seconds}))
        return 0
    sizes = [int(size) for size in args.sizes.split(",")]
    names = [name for name in args.policies.split(",") if name]
    load_before = " ".join(f"{x:.1f}" for x in os.getloadavg())
    rows = []
    for name in names:
        cells = []
        for T in sizes:
            replay_cell = measure("replay", name, T, args.repeats, args.timeout)
            decision_cell = measure("decision", name, T, args.repeats, args.timeout)
            print(f"{name} T={T}: replay {replay_cell}, decision {decision_cell}", file=sys.stderr)
            cells += [replay_cell, decision_cell]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    header = " | ".join(f"replay T={T} | one decision T={T}" for T in sizes)
    load_after = " ".join(f"{x:.1f}" for x in os.getloadavg())
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Engine speed at long histories (issue 12, item 5)",
        "",
        f"Written by `scripts/benchmark_engine.py {' '.join(argv or sys.argv[1:])}` on {date}. "
        f"Targets at T = 1,000: replay < 10 s per policy, one decision < 50 ms. Each cell ran "
        f"in its own process, single-threaded (`OMP_NUM_THREADS=1`), stopped after "
        f"{args.timeout:.0f} s; a decision is the median of {args.repeats} calls. **The machine "
        f"is shared**: load average {load_before} before, {load_after} after (2 cores), so "
        "times are noisy.",
        "",
        f"Synthetic seeded losses (age-driven staleness, a seasonal level, noise), alpha = "
        f"{ALPHA}, warmup {WARMUP}, drift scores between windows given as a matrix; the decision "
        f"is on the last step of a history with a retrain every {RETRAIN_EVERY} windows.",
        "",
        f"| policy | {header} |",
        "|---|" + "---|" * (2 * len(sizes)),
        *rows,
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
