"""Offline evaluation: build a loss matrix from a time-ordered dataset, replay policies on it."""

from mlflow_staleness.backtest.loss_matrix import LossMatrix, RowErrors, build_loss_matrix
from mlflow_staleness.backtest.replay import ReplayResult, oracle_cost, replay

__all__ = ["LossMatrix", "ReplayResult", "RowErrors", "build_loss_matrix", "oracle_cost", "replay"]
