"""mlflow-staleness: retrain now, or keep the model in service? Answered as a cost trade-off.

The engine (this package minus the MLflow adapter) is numpy, pandas and scikit-learn only:

- :mod:`mlflow_staleness.costs`: the cost model, the cost of a schedule, the oracle;
- :mod:`mlflow_staleness.fingerprint`: compact, mergeable data fingerprints and their distance;
- :mod:`mlflow_staleness.estimators`: staleness estimates with their uncertainty;
- :mod:`mlflow_staleness.policies`: the decision strategies, one module each;
- :mod:`mlflow_staleness.backtest`: loss matrices of real streams, and replays of policies.

The MLflow side (:class:`Advisor`, :func:`log_reference`, :class:`Recommendation`) is imported on
first use, so that the engine alone never imports mlflow.
"""

from mlflow_staleness.costs import CostModel, oracle_schedule, schedule_cost
from mlflow_staleness.decision import Decision
from mlflow_staleness.exceptions import (
    FutureAccessError,
    InvalidCostError,
    InvalidInputError,
    SchemaMismatchError,
    StalenessError,
)
from mlflow_staleness.fingerprint import DataFingerprint, DriftReport, distance
from mlflow_staleness.policies import DEFAULT, make_policy

__version__ = "0.1.0"

_LAZY = {
    "Advisor": "mlflow_staleness.advisor",
    "Recommendation": "mlflow_staleness.recommendation",
    "log_reference": "mlflow_staleness.adapter.reference",
    "advise_after_evaluate": "mlflow_staleness.hooks",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mlflow_staleness' has no attribute {name!r}")


__all__ = [  # noqa: RUF022 - the engine first, then the MLflow side
    "DEFAULT",
    "CostModel",
    "DataFingerprint",
    "Decision",
    "DriftReport",
    "FutureAccessError",
    "InvalidCostError",
    "InvalidInputError",
    "SchemaMismatchError",
    "StalenessError",
    "__version__",
    "distance",
    "make_policy",
    "oracle_schedule",
    "schedule_cost",
    "Advisor",
    "Recommendation",
    "log_reference",
    "advise_after_evaluate",
]
