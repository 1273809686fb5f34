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
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from mlflow_staleness.exceptions import InvalidInputError

__all__ = ["EVALUATION_KEYS", "METRICS", "loss_from_evaluation", "measure", "to_loss"]


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


#: The metric of ``mlflow.models.evaluate``'s default evaluator that measures each loss, and
#: whether it is a score (higher is better).
EVALUATION_KEYS: dict[str, tuple[str, bool]] = {
    "error_rate": ("accuracy_score", True),
    "accuracy": ("accuracy_score", True),
    "mae": ("mean_absolute_error", False),
    "mse": ("mean_squared_error", False),
    "rmse": ("root_mean_squared_error", False),
}


def loss_from_evaluation(
    metric: str,
    metrics: Mapping[str, object],
    *,
    key: str | None = None,
    greater_is_better: bool | None = None,
) -> float:
    """The loss under ``metric`` from the metrics of ``mlflow.models.evaluate`` (lower is better).

    ``key`` names the evaluation metric to read when it is not the default evaluator's one for
    ``metric`` (``accuracy_score`` for an error rate, ``mean_absolute_error`` for MAE ...); with
    ``key``, say whether it is a score with ``greater_is_better``.

    >>> loss_from_evaluation("error_rate", {"accuracy_score": 0.9, "f1_score": 0.8})
    0.09999999999999998
    >>> loss_from_evaluation("mae", {"mean_absolute_error": 2.5})
    2.5
    """
    if not isinstance(metrics, Mapping):
        raise InvalidInputError(
            f"the evaluation's metrics must be a mapping of names to numbers, got "
            f"{type(metrics).__name__}"
        )
    if key is None:
        if metric not in EVALUATION_KEYS:
            raise InvalidInputError(
                f"no default evaluation metric for the loss {metric!r}; name one with metric_key"
            )
        key, greater_is_better = EVALUATION_KEYS[metric]
    elif greater_is_better is None:
        raise InvalidInputError(
            f"say whether evaluation metric {key!r} is a score (greater_is_better=True) or a "
            f"loss (greater_is_better=False)"
        )
    if key not in metrics:
        known = ", ".join(sorted(map(str, metrics))[:20]) or "none"
        raise InvalidInputError(
            f"the evaluation has no metric {key!r}, which measures the served version's loss "
            f"({metric}); its metrics are: {known}. Evaluate with the matching model_type "
            f"(classifier / regressor), or name the metric with metric_key"
        )
    value = metrics[key]
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInputError(f"evaluation metric {key!r} is not a number: {value!r}") from None
    if not np.isfinite(number):
        raise InvalidInputError(f"evaluation metric {key!r} is {number!r}, not a finite number")
    return to_loss(number, greater_is_better=greater_is_better)
