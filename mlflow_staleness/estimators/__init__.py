"""Staleness estimators: each returns an :class:`Estimate` with its uncertainty and evidence."""

from mlflow_staleness.estimators.base import Estimate
from mlflow_staleness.estimators.measured import MeasuredEstimator
from mlflow_staleness.estimators.similarity import Reference, SimilarityEstimator

__all__ = ["Estimate", "MeasuredEstimator", "Reference", "SimilarityEstimator"]
