"""The loss a model is judged by, measured the same way at training time and in service.

The advice works in losses where lower is better. A team that tracks a score where higher is
better (accuracy, say) logs the score and its direction; the advisor reads ``1 - score`` as the
loss, and measures the same score on fresh labels later. Differences of losses (staleness) are
then differences of scores.

Examples
--------
>>> measure("error_rate", [0, 1, 1, 0], [0, 1, 0, 0])
0.25
>>> measure("accuracy", [0, 1, 1, 0], [0, 1, 0, 0])  # a score: reported as 1 - accuracy
0.25
>>> to_loss(0.9, greater_is_better=True)
0.09999999999999998
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from mlflow_staleness.exceptions import InvalidInputError

__all__ = ["METRICS", "measure", "to_loss"]


def _error_rate(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean(y != p))


def _mae(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean(np.abs(y.astype(float) - p.astype(float))))


def _mse(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean((y.astype(float) - p.astype(float)) ** 2))


def _rmse(y: np.ndarray, p: np.ndarray) -> float:
    return math.sqrt(_mse(y, p))


#: Metric name to ``(function of (labels, predictions), greater_is_better)``.
METRICS: dict[str, tuple[Callable[[np.ndarray, np.ndarray], float], bool]] = {
    "error_rate": (_error_rate, False),
    "accuracy": (lambda y, p: 1.0 - _error_rate(y, p), True),
    "mae": (_mae, False),
    "mse": (_mse, False),
    "rmse": (_rmse, False),
}


def to_loss(value: float, *, greater_is_better: bool) -> float:
    """A logged metric value as a loss (lower is better)."""
    return 1.0 - float(value) if greater_is_better else float(value)


def measure(metric: str, labels: object, predictions: object) -> float:
    """The loss of ``predictions`` against ``labels`` under ``metric`` (lower is better).

    Raises
    ------
    InvalidInputError
        For an unknown metric, lengths that differ, no rows, or missing labels.
    """
    if metric not in METRICS:
        raise InvalidInputError(
            f"unknown metric {metric!r}; the advisor measures {', '.join(sorted(METRICS))}"
        )
    y, p = np.asarray(labels).ravel(), np.asarray(predictions).ravel()
    if y.shape != p.shape:
        raise InvalidInputError(
            f"labels and predictions differ in length: {y.shape[0]} labels, {p.shape[0]} "
            f"predictions"
        )
    if y.size == 0:
        raise InvalidInputError("no labelled rows to measure a loss on")
    missing = _missing(y) | _missing(p)
    if missing.all():
        raise InvalidInputError("every label or prediction is missing (NaN)")
    function, greater = METRICS[metric]
    return to_loss(function(y[~missing], p[~missing]), greater_is_better=greater)


def _missing(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind in "fc":
        return ~np.isfinite(values)
    if values.dtype.kind == "O":
        return np.asarray(pd.isna(values), dtype=bool)
    return np.zeros(values.shape, dtype=bool)
