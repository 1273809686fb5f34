"""Retrain when the estimated staleness per step exceeds a threshold."""

from __future__ import annotations

import numpy as np

from mlflow_staleness._validation import check_nonnegative
from mlflow_staleness.decision import Decision
from mlflow_staleness.exceptions import InvalidInputError
from mlflow_staleness.policies._estimate import StepEstimate, decision_numbers
from mlflow_staleness.policies._history import imputed_history, simulate_threshold
from mlflow_staleness.policies._similarity import ESTIMATES, similarity_excess, step_estimate
from mlflow_staleness.policies.base import Observation, Policy, keep, retrain

__all__ = ["Threshold"]

_TIE_RTOL = 1e-9


class Threshold(Policy):
    """Retrain when the estimated per-step staleness of the served model exceeds ``tau``.

    Parameters
    ----------
    tau
        The threshold, in loss units per step. ``None`` (the default) tunes it at every step by
        simulation on the observed history: the loss matrix of the windows whose labels have
        arrived, with unobserved entries filled in from the age curve, is replayed under each
        candidate threshold, and the cheapest wins (ties go to the larger threshold). The future
        is never used.
    estimate
        How staleness is estimated: ``"age-curve"`` (default; the age curve and the signals
        beyond it, as the default policy sees them) or ``"similarity"`` (the seed's method:
        excesses of past models on past windows, weighted by how similar their drift is to the
        served model's drift now; see :mod:`mlflow_staleness.policies._similarity`).

    Examples
    --------
    >>> Threshold(tau=0.02)
    Threshold(tau=0.02, estimate='age-curve')
    """

    name = "threshold"

    def __init__(self, *, tau: float | None = None, estimate: str = "age-curve") -> None:
        self.tau = tau
        self.estimate = estimate

    def start(self) -> Threshold:
        if self.estimate not in ESTIMATES:
            raise InvalidInputError(
                f"estimate must be one of {', '.join(ESTIMATES)}, got {self.estimate!r}"
            )
        if self.tau is not None:
            check_nonnegative("tau", self.tau)
        self.tau_ = self.tau
        return self

    def decide(self, obs: Observation) -> Decision:
        estimate = step_estimate(obs, self.estimate)
        tau = self.tau
        if tau is None:
            history = imputed_history(obs, estimate.fresh, self._excess(obs, estimate))
            tau = simulate_threshold(history, obs.retrain_cost) if history is not None else np.inf
        self.tau_ = tau
        margin = estimate.staleness - tau
        numbers = decision_numbers(estimate, obs.retrain_cost, margin)
        # The threshold and the staleness can be the same number computed two ways: a relative
        # tolerance keeps rounding from deciding.
        if estimate.evidence and margin > _TIE_RTOL * abs(tau):
            return retrain(
                obs,
                f"staleness {estimate.staleness:.4f} per step exceeds the threshold {tau:.4f}",
                **numbers,
            )
        return keep(
            obs,
            f"staleness {estimate.staleness:.4f} per step is within the threshold {tau:.4f}",
            **numbers,
        )

    def _excess(self, obs: Observation, estimate: StepEstimate) -> np.ndarray | None:
        """Estimated excesses for the simulated history: the seed's similarity regression when
        ``estimate="similarity"``, else None (the age curve)."""
        if self.estimate != "similarity" or estimate.fresh is None:
            return None
        return similarity_excess(obs, estimate.fresh)
