"""Baseline: never retrain."""

from __future__ import annotations

from mlflow_staleness.decision import Decision
from mlflow_staleness.policies.base import Observation, Policy, keep

__all__ = ["Never"]


class Never(Policy):
    """Never retrain: the served model stays forever. A baseline for the benchmark.

    Examples
    --------
    >>> Never()
    Never()
    """

    name = "never"

    def __init__(self) -> None:
        pass

    def decide(self, obs: Observation) -> Decision:
        return keep(obs, "baseline 'never' keeps the served model")
