#!/usr/bin/env python
"""Calibrate the default policy's confidence: how often is an advice of confidence ``c`` right?

A phase-one decision at step ``t`` (keep or retrain the served model ``s``) is **right** when it
is the first move of the best schedule in hindsight from that state: retraining is right when
``B(t)`` (retrain at ``t``, then the best schedule) costs less than ``C(t, s)`` (keep ``s`` for
window ``t``, then the best schedule), and keeping is right otherwise (a tie makes both right).

The script replays the DEFAULT policy on every stored stream of the decision benchmark at every
retrain cost of its grid, collects ``(raw confidence, right)`` for each decision, fits a
non-decreasing map from the raw confidence to the share of right decisions (isotonic regression)
**on the tuning streams only**, and writes it to
``mlflow_staleness/policies/_confidence_map.py`` (used by the policy from then on). It reports, on
the untouched streams, how often an advice with calibrated confidence ``>= c`` was right:
``benchmarks/decisions/confidence.md``.

Usage::

    .venv/bin/python scripts/calibrate_confidence.py           # fit, write the map and the report
    .venv/bin/python scripts/calibrate_confidence.py --check   # report only, with the map in use
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("mlflow_staleness") is None:
    sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from benchmark_decisions import ALPHAS, DEFAULT_STORE, WARMUP, markdown_table  # noqa: E402
from decision_streams import MatrixStore, StoredMatrix, catalogue  # noqa: E402

from mlflow_staleness.backtest import replay  # noqa: E402
from mlflow_staleness.policies import DEFAULT, make_policy  # noqa: E402

MAP_FILE = REPO / "mlflow_staleness" / "policies" / "_confidence_map.py"
REPORT = REPO / "benchmarks" / "decisions" / "confidence.md"
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)
KNOTS = 21
TIE = 1e-9


def hindsight_moves(L: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """``B[t]``: the best cost from windows ``t`` on when ``m_{t-1}`` is deployed at ``t`` (the
    retrain paid), and ``P``, the row prefix sums (``P[i, e]`` = loss of ``m_i`` on windows
    ``< e``)."""
    T = L.shape[0]
    upper = np.where(np.triu(np.ones((T, T), dtype=bool), k=1), L, 0.0)
    P = np.zeros((T, T + 1))
    np.cumsum(upper, axis=1, out=P[:, 1:])
    B = np.zeros(T + 1)
    for s in range(T - 1, 0, -1):
        ends = np.arange(s + 1, T + 1)
        B[s] = alpha + np.min(P[s - 1, ends] - P[s - 1, s] + B[ends])
    return B, P


def keep_cost(P: np.ndarray, B: np.ndarray, t: int, served: int) -> float:
    """``C(t, s)``: ``s`` serves window ``t``, then the best schedule."""
    T = P.shape[0]
    ends = np.arange(t + 1, T + 1)
    return float(np.min(P[served, ends] - P[served, t] + B[ends]))


def decisions(job: tuple[StoredMatrix, float, bool]) -> list[dict]:
    matrix, alpha, calibrated = job
    from mlflow_staleness.policies import _confidence

    _confidence.ENABLED = calibrated
    L = matrix.L
    B, P = hindsight_moves(L, alpha)
    result = replay(
        make_policy(DEFAULT),
        L,
        alpha,
        val_loss=matrix.val_loss,
        label_delay=1,
        warmup=WARMUP,
        drift=matrix.drift,
    )
    served, rows = WARMUP - 1, []
    for decision in result.decisions:
        t = decision.step
        if decision.action in ("keep", "retrain"):
            retrain, keep = B[t], keep_cost(P, B, t, served)
            if abs(retrain - keep) <= TIE * max(1.0, abs(keep)):
                right = True
            else:
                right = (decision.action == "retrain") == (retrain < keep)
            rows.append(
                {
                    "stream": matrix.stream.name,
                    "family": matrix.stream.family,
                    "tuning": matrix.stream.tuning,
                    "alpha": alpha,
                    "step": t,
                    "action": decision.action,
                    "confidence": decision.confidence,
                    "right": right,
                }
            )
        elif decision.action == "deploy":
            served = t - 1
    return rows


def collect(workers: int, calibrated: bool) -> pd.DataFrame:
    store = MatrixStore(DEFAULT_STORE)
    matrices = [store.load(s) for s in catalogue()]
    jobs = [(m, a, calibrated) for m in matrices for a in ALPHAS]
    with ProcessPoolExecutor(workers) as pool:
        rows = [row for part in pool.map(decisions, jobs) for row in part]
    return pd.DataFrame(rows)


def fit_map(frame: pd.DataFrame) -> tuple[list[float], list[float]]:
    """Knots of the non-decreasing map from raw confidence to the share right (tuning only)."""
    from sklearn.isotonic import IsotonicRegression

    tuning = frame[frame["tuning"]]
    model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip", increasing=True)
    model.fit(tuning["confidence"].to_numpy(), tuning["right"].astype(float).to_numpy())
    xs = np.linspace(0.0, 1.0, KNOTS)
    return xs.round(4).tolist(), np.asarray(model.predict(xs)).round(4).tolist()


def write_map(xs: Sequence[float], ys: Sequence[float], n: int) -> None:
    MAP_FILE.write_text(
        '"""The default policy\'s confidence map, fitted by\n'
        "``scripts/calibrate_confidence.py``.\n\n"
        "A raw confidence (the probability that a decision's margin has the sign it was\n"
        "given, times how much evidence there is) is mapped to the share of decisions of that\n"
        f"raw confidence that were right on the benchmark's tuning streams ({n} decisions).\n"
        'Generated; do not edit by hand."""\n\n'
        + _python_list("RAW", xs)
        + "\n"
        + _python_list("RIGHT", ys)
    )


def _python_list(name: str, values: Sequence[float]) -> str:
    """``NAME = [...]`` laid out the way ``ruff format`` lays it out."""
    return f"{name} = [\n" + "".join(f"    {v!r},\n" for v in values) + "]\n"


def report(frame: pd.DataFrame, calibrated: bool) -> str:
    rows = []
    for scope, part in (
        ("untouched", frame[~frame["tuning"]]),
        ("tuning", frame[frame["tuning"]]),
    ):
        for c in THRESHOLDS:
            chosen = part[part["confidence"] >= c]
            share = f"{chosen['right'].mean():.1%}" if len(chosen) else "(none)"
            rows.append(
                [
                    scope,
                    f">= {c:g}",
                    len(chosen),
                    f"{len(chosen) / max(len(part), 1):.0%}",
                    share,
                ]
            )
        rows.append([scope, "all", len(part), "100%", f"{part['right'].mean():.1%}"])
    note = (
        "The confidence is the calibrated one (the map fitted on the tuning streams)."
        if calibrated
        else "The confidence is the raw one (before calibration)."
    )
    return (
        "# How often is the advice right?\n\n"
        f"Every phase-one decision of `{DEFAULT}` on the decision benchmark's stored streams "
        f"(alpha in {', '.join(f'{a:g}' for a in ALPHAS)}), judged against the best schedule in "
        "hindsight from the same state (keep or retrain now, then the best schedule). "
        f"{note} Produced by `scripts/calibrate_confidence.py`.\n\n"
        + markdown_table(
            ["streams", "confidence", "decisions", "share of decisions", "right"], rows
        )
        + "\n\n`--min-confidence P` asks for advice that was right at least `P` of the time at "
        "its confidence on these streams: on the untouched streams, the row `>= P` says how "
        "often that held.\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="report with the map in use")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    frame = collect(args.workers, calibrated=args.check)
    if not args.check:
        xs, ys = fit_map(frame)
        write_map(xs, ys, int(frame["tuning"].sum()))
        print(f"wrote {MAP_FILE}: {list(zip(xs, ys, strict=True))}", file=sys.stderr)
        import importlib

        from mlflow_staleness.policies import _confidence_map

        importlib.reload(_confidence_map)
        frame = collect(args.workers, calibrated=True)
    text = report(frame, calibrated=True)
    REPORT.write_text(text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
