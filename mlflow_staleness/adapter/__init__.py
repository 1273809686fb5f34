"""The MLflow adapter: the only part of the package that imports mlflow.

- :mod:`~mlflow_staleness.adapter.connection`: a client with a bounded wait; MLflow errors
  translated into one-line errors;
- :mod:`~mlflow_staleness.adapter.reading`: a model's versions, their evidence and the
  advisor's history, in batched requests;
- :mod:`~mlflow_staleness.adapter.writing`: the advice as an ordered plan of writes;
- :mod:`~mlflow_staleness.adapter.reference`: ``log_reference`` for training scripts;
- :mod:`~mlflow_staleness.adapter.scoring`: predictions of a version through ``mlflow.pyfunc``;
- :mod:`~mlflow_staleness.adapter.demo_store`: training and registering the demo's versions.
"""

from mlflow_staleness.adapter.connection import DEFAULT_TIMEOUT, connect, mlflow_errors
from mlflow_staleness.adapter.reading import (
    ADVISOR_RUN,
    AdvisorState,
    ModelInfo,
    RegistryReader,
    advisor_experiment,
)
from mlflow_staleness.adapter.reference import log_reference
from mlflow_staleness.adapter.scoring import VersionScorer
from mlflow_staleness.adapter.writing import (
    NEW_RUN,
    StageDeprecationWarning,
    Write,
    execute,
    plan_advice,
)

__all__ = [
    "ADVISOR_RUN",
    "DEFAULT_TIMEOUT",
    "NEW_RUN",
    "AdvisorState",
    "ModelInfo",
    "RegistryReader",
    "StageDeprecationWarning",
    "VersionScorer",
    "Write",
    "advisor_experiment",
    "connect",
    "execute",
    "log_reference",
    "mlflow_errors",
    "plan_advice",
]
