"""The similarity-scaled estimator: a model's loss on samples whose labels are known, scaled by how
far the current data lies from those samples. It needs no labels for the current window."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from mlflow_staleness._validation import check_int, check_nonnegative
from mlflow_staleness.estimators.base import Estimate
from mlflow_staleness.exceptions import InvalidInputError

__all__ = ["Reference", "SimilarityEstimator"]

Reference = tuple[float, float, bool]
"""A labelled sample of the model: ``(loss, distance to the current data, is_validation)``."""


class SimilarityEstimator:
    """Estimate a model's loss on unlabelled data from its known losses and fingerprint distances.

    Parameters
    ----------
    prior_slope
        Loss increase per unit of drift score (see :func:`mlflow_staleness.fingerprint.distance`)
        assumed while the history is too short. Default 0.05.
    prior_offset
        Assumed gap between a validation loss (measured inside the training window) and the loss on
        the next window. Default 0.02: validation losses flatter.
    prior_sd
        Assumed scatter of a loss around the prediction. Default 0.05.
    min_pairs
        History pairs needed before the fitted relation replaces the prior. Default 8.

    Notes
    -----
    Each history pair is a loss increase :math:`\\Delta = L_b - L_a` of one model between a labelled
    reference sample :math:`a` (its validation split or an earlier window) and a later window
    :math:`b`, and the drift score :math:`d = \\text{distance}(a, b)` between their fingerprints.
    The fit is least squares on

    .. math:: \\Delta = o \\cdot [a \\text{ is validation}] + k \\cdot d + \\varepsilon,
              \\qquad k \\ge 0,

    shrunk towards the prior by ``min_pairs`` pseudo-observations. An estimate from reference
    :math:`j` is :math:`L_j + o [j \\text{ val}] + k d_j`, with variance :math:`\\sigma^2` plus the
    slope's variance times :math:`d_j^2`. The reference with the smallest variance wins; its
    interval is the estimate's.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> d = rng.uniform(0, 2, 400)
    >>> pairs = [(float(x), 0.1 * float(x) + 0.01 * float(e), False)
    ...          for x, e in zip(d, rng.normal(size=400))]
    >>> est = SimilarityEstimator().fit(pairs)
    >>> round(est.slope_, 2)
    0.1
    >>> e = est.estimate([(0.2, 1.0, False)])
    >>> round(e.value, 2), e.evidence
    (0.3, ('measured-reference', 'similarity'))
    """

    def __init__(
        self,
        *,
        prior_slope: float = 0.05,
        prior_offset: float = 0.02,
        prior_sd: float = 0.05,
        min_pairs: int = 8,
    ) -> None:
        self.prior_slope = prior_slope
        self.prior_offset = prior_offset
        self.prior_sd = prior_sd
        self.min_pairs = min_pairs

    def __repr__(self) -> str:
        return (
            f"SimilarityEstimator(prior_slope={self.prior_slope!r}, prior_offset="
            f"{self.prior_offset!r}, prior_sd={self.prior_sd!r}, min_pairs={self.min_pairs!r})"
        )

    def fit(self, pairs: Iterable[tuple[float, float, bool]]) -> SimilarityEstimator:
        """Fit the relation on history pairs ``(distance, loss_increase, from_validation)``."""
        slope0 = check_nonnegative("prior_slope", self.prior_slope)
        offset0 = float(self.prior_offset)
        sd0 = check_nonnegative("prior_sd", self.prior_sd)
        check_int("min_pairs", self.min_pairs, 1)
        rows = [(float(d), float(delta), bool(v)) for d, delta, v in pairs]
        bad = [r for r in rows if not (math.isfinite(r[0]) and math.isfinite(r[1]) and r[0] >= 0)]
        if bad:
            raise InvalidInputError(
                f"history pairs need a finite distance >= 0 and a finite loss increase, "
                f"got {bad[0]}"
            )
        n = len(rows)
        self.n_pairs_ = n
        if n == 0:
            self.slope_, self.offset_, self.sigma_, self.slope_sd_ = slope0, offset0, sd0, slope0
            return self
        d = np.array([r[0] for r in rows])
        y = np.array([r[1] for r in rows])
        v = np.array([1.0 if r[2] else 0.0 for r in rows])
        X = np.column_stack([v, d])
        # Ridge towards the prior, worth min_pairs pseudo-observations of typical design values.
        penalty = self.min_pairs * np.diag([1.0, max(float(np.mean(d**2)), 1e-12)])
        A = X.T @ X + penalty
        offset, slope = np.linalg.solve(A, X.T @ y + penalty @ np.array([offset0, slope0]))
        if slope < 0:
            slope = 0.0
            offset = float((v @ y + self.min_pairs * offset0) / (v.sum() + self.min_pairs))
        residuals = y - offset * v - slope * d
        weight = n / (n + self.min_pairs)
        sigma = math.sqrt(weight * float(np.mean(residuals**2)) + (1 - weight) * sd0**2)
        self.slope_, self.offset_ = float(slope), float(offset)
        self.sigma_ = max(sigma, 1e-6)
        self.slope_sd_ = self.sigma_ / math.sqrt(float(A[1, 1]))
        return self

    def estimate(self, references: Sequence[Reference]) -> Estimate:
        """Estimate the loss on the current data from the model's labelled ``references``."""
        if not hasattr(self, "slope_"):
            raise InvalidInputError("call fit(pairs) first (an empty history is fine)")
        if not references:
            raise InvalidInputError(
                "no usable evidence: the model needs a validation loss or a measured window"
            )
        best: tuple[float, float, bool] | None = None
        for loss, dist, from_validation in references:
            if not (math.isfinite(loss) and math.isfinite(dist) and dist >= 0):
                raise InvalidInputError(
                    f"a reference needs a finite loss and a finite distance >= 0, got "
                    f"loss={loss!r}, distance={dist!r}"
                )
            value = loss + (self.offset_ if from_validation else 0.0) + self.slope_ * dist
            variance = self.sigma_**2 + (self.slope_sd_ * dist) ** 2
            if best is None or variance < best[1]:
                best = (value, variance, from_validation)
        assert best is not None
        value, variance, from_validation = best
        confidence = self.n_pairs_ / (self.n_pairs_ + self.min_pairs)
        evidence = ("validation" if from_validation else "measured-reference", "similarity")
        note = (
            f"relation fitted on {self.n_pairs_} history pairs"
            if self.n_pairs_ >= self.min_pairs
            else f"prior relation: only {self.n_pairs_} history pairs"
        )
        return Estimate(
            value=float(value),
            sd=math.sqrt(variance),
            evidence=evidence,
            confidence=confidence,
            note=note,
        )
