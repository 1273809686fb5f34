"""Retrain every ``p`` windows, with ``p`` chosen on the observed history."""

from __future__ import annotations

import math

from mlflow_staleness.decision import Decision
from mlflow_staleness.exceptions import InvalidInputError
from mlflow_staleness.policies._estimate import decision_numbers, estimate_step
from mlflow_staleness.policies._history import imputed_history, simulate_period
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

    Examples
    --------
    >>> Periodic(period=6)
    Periodic(period=6)
    """

    name = "periodic"

    def __init__(self, *, period: int | None = None) -> None:
        self.period = period

    def start(self) -> Periodic:
        period = self.period
        if period is not None and (
            isinstance(period, bool) or not isinstance(period, int) or period < 1
        ):
            raise InvalidInputError(f"period must be an integer >= 1 or None, got {period!r}")
        self.period_ = self.period
        return self

    def decide(self, obs: Observation) -> Decision:
        estimate = estimate_step(obs)
        period: float | None = self.period
        if period is None:
            history = imputed_history(obs, estimate.fresh)
            period = simulate_period(history, obs.retrain_cost) if history is not None else math.inf
        self.period_ = period
        served_for = obs.step - obs.deployed_at
        numbers = decision_numbers(estimate, obs.retrain_cost, estimate.staleness)
        if served_for >= period:
            return retrain(obs, f"served for {served_for} windows, period {period}", **numbers)
        return keep(obs, f"served for {served_for} windows, period {period}", **numbers)
