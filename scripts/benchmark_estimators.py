"""Label-free staleness estimation, measured on its own.

The decision benchmark reveals true losses one window later, so a policy there could ignore
features. In production, labels come weeks late or never. This script withholds each window's
labels and asks the similarity-scaled estimator for the served model's loss on it, from the model's
validation loss, its latest labelled window, and fingerprint distances only. It reports:

- the mean absolute error of the estimate against the measured loss, and the same for the naive
  "validation loss as is";
- the coverage of the estimator's 90% interval (it should hold about 90% of the truth);
- the default policy replayed with label delays of 1, 3 and 6 windows: what decisions cost when
  labels lag (cost / oracle, geometric mean over the alpha grid).

Usage::

    python scripts/benchmark_estimators.py [--data-dir DIR] [--cache-dir DIR] [--out DIR]

It runs the six tuning datasets unless ``--datasets`` names others; the held-out streams
(``HELD_OUT_DATASETS``) are for evaluating a finished estimator, never for tuning one.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("mlflow_staleness") is None:  # run from a checkout, not installed
    sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from benchmark_decisions import (  # noqa: E402
    ALPHAS,
    DEFAULT_CACHE_DIR,
    SEED,
    WARMUP,
    markdown_table,
    prepare,
    resolve_data_dir,
)

from mlflow_staleness.backtest import LossMatrix, oracle_cost, replay  # noqa: E402
from mlflow_staleness.backtest.datasets import DATASETS, TUNING_DATASETS  # noqa: E402
from mlflow_staleness.backtest.loss_matrix import TRAIN_FRACTION  # noqa: E402
from mlflow_staleness.backtest.metrics import geometric_mean  # noqa: E402
from mlflow_staleness.estimators import SimilarityEstimator  # noqa: E402
from mlflow_staleness.fingerprint import DataFingerprint, distance  # noqa: E402
from mlflow_staleness.policies import DEFAULT, make_policy  # noqa: E402

AGES = (1, 2, 4, 8)  # ages of the served model at which each window is estimated
LEVEL = 0.9
LABEL_DELAYS = (1, 3, 6)
DEFAULT_OUT = REPO / "benchmarks" / "estimators"


class Distances:
    """Fingerprints of every window and of every validation split, with memoised distances."""

    def __init__(self, matrix: LossMatrix) -> None:
        self.windows = [DataFingerprint.from_frame(w) for w in matrix.windows]
        self.validation = [
            DataFingerprint.from_frame(w.iloc[math.floor(TRAIN_FRACTION * len(w)) :])
            for w in matrix.windows
        ]
        self._memo: dict[tuple[str, int, int], float] = {}

    def __call__(self, kind: str, a: int, b: int) -> float:
        """Drift score from reference ``a`` (``kind``: "val" or "win") to window ``b``."""
        key = (kind, a, b)
        if key not in self._memo:
            ref = self.validation[a] if kind == "val" else self.windows[a]
            self._memo[key] = distance(ref, self.windows[b]).score
        return self._memo[key]


def history_pairs(
    matrix: LossMatrix, dist: Distances, last: int
) -> list[tuple[float, float, bool]]:
    """(distance, loss increase, from validation) of every model on every labelled window."""
    L, val = matrix.L, matrix.val_loss
    pairs = []
    for m in range(last):
        for u in range(m + 1, last + 1):
            pairs.append((dist("val", m, u), float(L[m, u] - val[m]), True))
            if u - 1 > m:
                pairs.append((dist("win", u - 1, u), float(L[m, u] - L[m, u - 1]), False))
    return pairs


def estimate_dataset(name: str, matrix: LossMatrix) -> pd.DataFrame:
    """Estimate L[m, t] with window t's labels withheld, for every t and every age in AGES."""
    dist = Distances(matrix)
    L, val = matrix.L, matrix.val_loss
    rows = []
    for t in range(WARMUP + 1, matrix.T):
        last = t - 1  # labels arrive one window late; window t has none yet
        estimator = SimilarityEstimator().fit(history_pairs(matrix, dist, last))
        for age in AGES:
            m = t - age
            if m < 0:
                continue
            references = [(float(val[m]), dist("val", m, t), True)]
            if last > m:
                references.append((float(L[m, last]), dist("win", last, t), False))
            estimate = estimator.estimate(references)
            low, high = estimate.interval(LEVEL)
            truth = float(L[m, t])
            rows.append(
                {
                    "dataset": name,
                    "window": t,
                    "age": age,
                    "truth": truth,
                    "estimate": estimate.value,
                    "sd": estimate.sd,
                    "naive": float(val[m]),
                    "covered": low <= truth <= high,
                    "confidence": estimate.confidence,
                }
            )
    return pd.DataFrame(rows)


def delay_rows(name: str, matrix: LossMatrix) -> list[dict]:
    """The default policy replayed with each label delay over the alpha grid."""
    rows = []
    for delay in LABEL_DELAYS:
        ratios, retrains = [], []
        for alpha in ALPHAS:
            result = replay(
                make_policy(DEFAULT),
                matrix.L,
                alpha,
                val_loss=matrix.val_loss,
                label_delay=delay,
                warmup=WARMUP,
            )
            ratios.append(result.cost / oracle_cost(matrix.L, alpha, WARMUP)[1])
            retrains.append(result.n_retrains)
        rows.append(
            {
                "dataset": name,
                "label_delay": delay,
                "geomean": geometric_mean(ratios),
                "retrains": float(np.mean(retrains)),
            }
        )
    return rows


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--datasets", nargs="+", choices=sorted(DATASETS), default=list(TUNING_DATASETS)
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    data_dir = resolve_data_dir(args.data_dir, args.datasets)
    frames, delays = [], []
    for name in args.datasets:
        matrix = prepare(name, data_dir, args.cache_dir).matrix
        frames.append(estimate_dataset(name, matrix))
        delays.extend(delay_rows(name, matrix))
    results = pd.concat(frames, ignore_index=True)

    summary = []
    for name, group in results.groupby("dataset", sort=False):
        summary.append(
            [
                name,
                len(group),
                f"{np.mean(np.abs(group.estimate - group.truth)):.4f}",
                f"{np.mean(np.abs(group.naive - group.truth)):.4f}",
                f"{group.covered.mean():.1%}",
            ]
        )
    summary.append(
        [
            "all",
            len(results),
            f"{np.mean(np.abs(results.estimate - results.truth)):.4f}",
            f"{np.mean(np.abs(results.naive - results.truth)):.4f}",
            f"{results.covered.mean():.1%}",
        ]
    )
    by_age = [
        [
            age,
            f"{np.mean(np.abs(g.estimate - g.truth)):.4f}",
            f"{np.mean(np.abs(g.naive - g.truth)):.4f}",
            f"{g.covered.mean():.1%}",
        ]
        for age, g in results.groupby("age")
    ]
    delay_table = pd.DataFrame(delays)
    delay_md = [
        [r.dataset, r.label_delay, f"{r.geomean:.4f}", f"{r.retrains:.1f}"]
        for r in delay_table.itertuples()
    ]
    for delay in LABEL_DELAYS:
        part = delay_table[delay_table.label_delay == delay]
        delay_md.append(
            [
                "all (geomean of geomeans)",
                delay,
                f"{geometric_mean(part.geomean):.4f}",
                f"{part.retrains.mean():.1f}",
            ]
        )

    text = "\n\n".join(
        [
            "# Label-free estimation benchmark",
            (
                f"Settings: datasets {list(args.datasets)} as in the decision benchmark (T=40, "
                f"seed {SEED}), warm-up {WARMUP}; each window's labels withheld; served models of "
                f"age {AGES}; interval level {LEVEL:.0%}; estimator `SimilarityEstimator()` with "
                f"its default prior, refitted at every window on the history of (distance, loss "
                f"increase) pairs; naive = the model's validation loss as is. "
                f"Runtime {time.perf_counter() - started:.0f} s."
            ),
            "## Estimation error and interval coverage",
            markdown_table(
                [
                    "dataset",
                    "estimates",
                    "MAE similarity",
                    "MAE naive",
                    f"coverage of {LEVEL:.0%} interval",
                ],
                summary,
            ),
            "## By age of the served model",
            markdown_table(["age", "MAE similarity", "MAE naive", "coverage"], by_age),
            f"## Default policy (`{DEFAULT}`) under label delay: cost / oracle, geometric mean "
            f"over alpha in {list(ALPHAS)}",
            markdown_table(["dataset", "label delay", "cost/oracle", "mean retrains"], delay_md),
        ]
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.md").write_text(text + "\n")
    results.to_csv(args.out / "estimates.csv", index=False)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
