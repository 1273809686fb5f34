"""Baseline: retrain and deploy at every step."""

from __future__ import annotations

from mlflow_staleness.decision import Decision
from mlflow_staleness.policies.base import Observation, Policy, retrain
from mlflow_staleness.policies.gate import deploy_always

__all__ = ["Always"]


class Always(Policy):
    """Retrain at every step and deploy every challenger. A baseline for the benchmark.

    Examples
    --------
    >>> Always()
    Always()
    """

    name = "always"

    def __init__(self) -> None:
        pass

    def decide(self, obs: Observation) -> Decision:
        return retrain(obs, "baseline 'always' retrains every window")

    def gate(self, obs: Observation) -> Decision:
        return deploy_always(obs)
