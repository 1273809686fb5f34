"""Baseline: retrain every ``every`` windows."""

from __future__ import annotations

from mlflow_staleness._validation import check_int
from mlflow_staleness.decision import Decision
from mlflow_staleness.policies.base import Observation, Policy, keep, retrain
from mlflow_staleness.policies.gate import deploy_always

__all__ = ["Fixed"]


class Fixed(Policy):
    """Retrain every ``every`` windows, counted from the last deploy, and deploy every challenger.

    Parameters
    ----------
    every
        The interval in windows (an integer >= 1). The default, 4, is a calendar habit, not a
        tuned value; the benchmark chooses it on the warm-up.

    Examples
    --------
    >>> Fixed(every=3)
    Fixed(every=3)
    """

    name = "fixed"

    def __init__(self, *, every: int = 4) -> None:
        self.every = every

    def start(self) -> Fixed:
        check_int("every", self.every, 1)
        return self

    def decide(self, obs: Observation) -> Decision:
        served_for = obs.step - obs.deployed_at
        if served_for >= self.every:
            return retrain(obs, f"fixed interval: served for {served_for} >= {self.every} windows")
        return keep(obs, f"fixed interval: served for {served_for} < {self.every} windows")

    def gate(self, obs: Observation) -> Decision:
        return deploy_always(obs)
