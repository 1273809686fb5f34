"""mlflow-staleness: retrain now, or keep the model in service? Answered as a cost trade-off.

The engine (this package minus the MLflow adapter) is numpy, pandas and scikit-learn only:

- :mod:`mlflow_staleness.costs`: the cost model, the cost of a schedule, the oracle;
- :mod:`mlflow_staleness.fingerprint`: compact, mergeable data fingerprints and their distance;
- :mod:`mlflow_staleness.estimators`: staleness estimates with their uncertainty;
- :mod:`mlflow_staleness.policies`: the decision strategies, one module each;
- :mod:`mlflow_staleness.backtest`: loss matrices of real streams, and replays of policies.

Every public name is imported on first use, so that the engine alone never imports mlflow, and
the CLI's ``--help`` imports neither numpy, pandas nor MLflow.
"""

__version__ = "0.1.0"

# Every public name is imported on first use: ``import mlflow_staleness`` (and the CLI's
# ``--help``) costs no numpy, pandas, scikit-learn or MLflow import.
_LAZY = {
    "CostModel": "mlflow_staleness.costs",
    "oracle_schedule": "mlflow_staleness.costs",
    "schedule_cost": "mlflow_staleness.costs",
    "Decision": "mlflow_staleness.decision",
    "FutureAccessError": "mlflow_staleness.exceptions",
    "InvalidCostError": "mlflow_staleness.exceptions",
    "InvalidInputError": "mlflow_staleness.exceptions",
    "SchemaMismatchError": "mlflow_staleness.exceptions",
    "StalenessError": "mlflow_staleness.exceptions",
    "DataFingerprint": "mlflow_staleness.fingerprint",
    "DriftReport": "mlflow_staleness.fingerprint",
    "distance": "mlflow_staleness.fingerprint",
    "DEFAULT": "mlflow_staleness.policies",
    "make_policy": "mlflow_staleness.policies",
    "Advisor": "mlflow_staleness.advisor",
    "Recommendation": "mlflow_staleness.recommendation",
    "log_reference": "mlflow_staleness.adapter.reference",
    "advise_after_evaluate": "mlflow_staleness.hooks",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
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
