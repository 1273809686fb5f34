"""Retrain when the estimated staleness per step exceeds a threshold."""

from __future__ import annotations

import numpy as np

from mlflow_staleness._validation import check_nonnegative
from mlflow_staleness.decision import Decision
from mlflow_staleness.policies._estimate import decision_numbers, estimate_step
from mlflow_staleness.policies._history import imputed_history, simulate_threshold
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

    Examples
    --------
    >>> Threshold(tau=0.02)
    Threshold(tau=0.02)
    """

    name = "threshold"

    def __init__(self, *, tau: float | None = None) -> None:
        self.tau = tau

    def start(self) -> Threshold:
        if self.tau is not None:
            check_nonnegative("tau", self.tau)
        self.tau_ = self.tau
        return self

    def decide(self, obs: Observation) -> Decision:
        estimate = estimate_step(obs)
        tau = self.tau
        if tau is None:
            history = imputed_history(obs, estimate.fresh)
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
