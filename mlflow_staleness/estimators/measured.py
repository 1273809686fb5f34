"""The measured estimator: labels are present, so the loss is measured."""

from __future__ import annotations

import math

import numpy as np

from mlflow_staleness.estimators.base import Estimate
from mlflow_staleness.exceptions import InvalidInputError

__all__ = ["MeasuredEstimator"]


class MeasuredEstimator:
    """Loss measured on a labelled window, with the standard error of its mean.

    Parameters
    ----------
    clip
        Upper bound of the loss (1 for the bounded losses of the engine), or None.

    Examples
    --------
    >>> est = MeasuredEstimator().estimate(np.array([0, 1, 0, 0, 1, 0, 0, 0]))
    >>> round(est.value, 3), round(est.sd, 3), est.evidence
    (0.25, 0.164, ('measured',))
    """

    def __init__(self, *, clip: float | None = 1.0) -> None:
        self.clip = clip

    def __repr__(self) -> str:
        return f"MeasuredEstimator(clip={self.clip!r})"

    def estimate(self, row_losses: object) -> Estimate:
        """Estimate from the loss of each labelled row."""
        losses = np.asarray(row_losses, dtype=float).ravel()
        if losses.size == 0:
            raise InvalidInputError("a measured loss needs at least one labelled row, got 0 rows")
        if not np.isfinite(losses).all():
            raise InvalidInputError(
                f"row losses must be finite, got {int((~np.isfinite(losses)).sum())} NaN or "
                f"infinite values"
            )
        value = float(np.mean(losses))
        if self.clip is not None:
            value = min(value, float(self.clip))
        sd = float(np.std(losses, ddof=1)) / math.sqrt(losses.size) if losses.size > 1 else 0.0
        return Estimate(
            value=value,
            sd=sd,
            evidence=("measured",),
            confidence=1.0,
            note=f"measured on {losses.size} labelled rows",
        )
