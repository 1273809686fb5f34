"""Retrain every ``p`` windows, with ``p`` chosen on the observed history."""

from __future__ import annotations

import math

import numpy as np

from mlflow_staleness.decision import Decision
from mlflow_staleness.exceptions import InvalidInputError
from mlflow_staleness.policies._estimate import StepEstimate, decision_numbers
from mlflow_staleness.policies._history import imputed_history, simulate_period
from mlflow_staleness.policies._similarity import ESTIMATES, similarity_excess, step_estimate
from mlflow_staleness.policies.base import Observation, Policy, keep, retrain

__all__ = ["Periodic"]


class Periodic(Policy):
    """Retrain every ``period`` windows since the last deploy.

    Parameters
    ----------
    period
        The interval in windows. ``None`` (the default) chooses it at every step as the interval
        that minimises the simulated cost over the observed history (unobserved entries filled in
        from the age curve); ``inf`` when no interval beats never retraining.
    estimate
        How staleness is estimated: ``"age-curve"`` (default; the age curve and the signals
        beyond it, as the default policy sees them) or ``"similarity"`` (the seed's method:
        excesses of past models on past windows, weighted by how similar their drift is to the
        served model's drift now; see :mod:`mlflow_staleness.policies._similarity`).

    Examples
    --------
    >>> Periodic(period=6)
    Periodic(period=6, estimate='age-curve')
    """

    name = "periodic"

    def __init__(self, *, period: int | None = None, estimate: str = "age-curve") -> None:
        self.period = period
        self.estimate = estimate

    def start(self) -> Periodic:
        if self.estimate not in ESTIMATES:
            raise InvalidInputError(
                f"estimate must be one of {', '.join(ESTIMATES)}, got {self.estimate!r}"
            )
        period = self.period
        if period is not None and (
            isinstance(period, bool) or not isinstance(period, int) or period < 1
        ):
            raise InvalidInputError(f"period must be an integer >= 1 or None, got {period!r}")
        self.period_ = self.period
        return self

    def decide(self, obs: Observation) -> Decision:
        estimate = step_estimate(obs, self.estimate)
        period: float | None = self.period
        if period is None:
            history = imputed_history(obs, estimate.fresh, self._excess(obs, estimate))
            period = simulate_period(history, obs.retrain_cost) if history is not None else math.inf
        self.period_ = period
        served_for = obs.step - obs.deployed_at
        numbers = decision_numbers(estimate, obs.retrain_cost, estimate.staleness)
        if served_for >= period:
            return retrain(obs, f"served for {served_for} windows, period {period}", **numbers)
        return keep(obs, f"served for {served_for} windows, period {period}", **numbers)

    def _excess(self, obs: Observation, estimate: StepEstimate) -> np.ndarray | None:
        """Estimated excesses for the simulated history: the seed's similarity regression when
        ``estimate="similarity"``, else None (the age curve)."""
        if self.estimate != "similarity" or estimate.fresh is None:
            return None
        return similarity_excess(obs, estimate.fresh)
