"""Logging a model's reference at training time: the one line a team adds to its training script.

.. code-block:: python

    with mlflow.start_run():
        model.fit(X_train, y_train)
        mlflow.sklearn.log_model(model, name="model", registered_model_name="fraud")
        mlflow_staleness.log_reference(valid, target="label", loss=1 - accuracy)   # the line
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import mlflow
import mlflow.data
import pandas as pd
from mlflow.entities import DatasetInput, InputTag, Metric, RunTag

from mlflow_staleness.adapter.budget import KEY_BUDGET, WriteBudgetError, budget_of
from mlflow_staleness.adapter.connection import mlflow_errors, tracking_uri_of
from mlflow_staleness.adapter.reading import FINGERPRINT_PATH, REFERENCE_LOSS_TAG
from mlflow_staleness.exceptions import InvalidInputError
from mlflow_staleness.fingerprint import DataFingerprint
from mlflow_staleness.losses import METRICS
from mlflow_staleness.spark import fingerprint_data, is_spark_dataframe

#: MLflow's limit on a dataset input's schema (``MAX_DATASET_SCHEMA_SIZE``).
MAX_DATASET_SCHEMA = 1_048_575

__all__ = ["log_reference"]


def log_reference(
    data: pd.DataFrame | Any,
    target: str | None = None,
    loss: float | None = None,
    loss_name: str = "val_loss",
    run_id: str | None = None,
    *,
    metric: str | None = None,
    greater_is_better: bool | None = None,
    tracking_uri: str | None = None,
) -> DataFingerprint:
    """Log the reference the advisor compares current data with, on the active run or ``run_id``.

    Parameters
    ----------
    data
        The validation data (features, and the target column if ``target`` is given): a pandas
        DataFrame, or a Spark DataFrame, fingerprinted where it lives
        (:mod:`mlflow_staleness.spark`) and logged as a Spark dataset input.
    target
        The label column; it is left out of the fingerprint.
    loss
        The validation loss (lower is better), logged as the metric ``loss_name``. A team that
        tracks a score where higher is better passes the score with ``greater_is_better=True``
        (or passes ``1 - score`` as the loss). It is also recorded in the run tag
        ``staleness.loss``, which the advisor reads before any metric history of the same key
        (autolog's epochs log later steps than this one's step 0).
    loss_name
        The metric key the advisor reads (``--loss-key``).
    run_id
        The run to log on; default: the active run.
    metric
        How the loss is measured on fresh labels later: one of
        :data:`mlflow_staleness.losses.METRICS`. Default: ``error_rate`` for a categorical or
        integer target, ``mae`` for a float target.
    greater_is_better
        The direction of ``loss``. Default: that of ``metric``.

    Returns
    -------
    DataFingerprint
        The fingerprint that was logged (as the artifact ``staleness/fingerprint.json``).
    """
    spark = is_spark_dataframe(data)
    if not spark and (not isinstance(data, pd.DataFrame) or data.empty or data.shape[1] == 0):
        raise InvalidInputError(
            f"log_reference needs a non-empty pandas DataFrame, got {type(data).__name__}"
            + (f" of shape {data.shape}" if isinstance(data, pd.DataFrame) else "")
        )
    if target is not None and target not in data.columns:
        raise InvalidInputError(
            f"target column {target!r} is not in the data; its columns are "
            f"{list(data.columns)[:20]}"
        )
    if loss is not None and (
        isinstance(loss, bool) or not isinstance(loss, int | float) or not math.isfinite(loss)
    ):
        raise InvalidInputError(f"loss must be a finite number, got {loss!r}")
    if metric is None and target is not None:
        metric = _default_spark_metric(data, target) if spark else _default_metric(data[target])
    metric = metric or "error_rate"
    if metric not in METRICS:
        raise InvalidInputError(
            f"unknown metric {metric!r}; the advisor measures {', '.join(sorted(METRICS))}"
        )
    if greater_is_better is None:
        greater_is_better = METRICS[metric][1]
    _check_budgets(loss_name, target)
    if target is None:
        features = data
    else:
        features = data.drop(target) if spark else data.drop(columns=[target])
    fingerprint = fingerprint_data(features)
    active = mlflow.active_run()
    run_id = run_id or (active.info.run_id if active else None)
    if run_id is None:
        raise InvalidInputError(
            "log_reference found no run: call it inside `with mlflow.start_run():`, or pass run_id"
        )
    client = mlflow.MlflowClient(tracking_uri=tracking_uri_of(tracking_uri))
    with warnings.catch_warnings():
        # MLflow's dataset digest calls a pandas method positionally; pandas 3 warns about it
        warnings.filterwarnings("ignore", message="Starting with pandas version 4.0")
        if spark:
            dataset = mlflow.data.from_spark(data, targets=target, name="staleness-reference")
        else:
            dataset = mlflow.data.from_pandas(data, targets=target, name="staleness-reference")
    entity = dataset._to_mlflow_entity()
    if len(entity.schema or "") > MAX_DATASET_SCHEMA:
        raise WriteBudgetError(
            f"the data's schema takes {len(entity.schema):,} characters as an MLflow dataset "
            f"input, over MLflow's limit of {MAX_DATASET_SCHEMA:,}: shorten the column names or "
            f"log fewer columns; nothing was written"
        )
    with mlflow_errors(f"logging the reference on run {run_id}", client.tracking_uri):
        client.log_text(run_id, fingerprint.to_json(), FINGERPRINT_PATH)
        client.log_inputs(
            run_id,
            datasets=[DatasetInput(entity, tags=[InputTag("mlflow.data.context", "validation")])],
        )
        tags = [
            RunTag("staleness.loss_key", loss_name),
            RunTag("staleness.metric", metric),
            RunTag("staleness.greater_is_better", "true" if greater_is_better else "false"),
        ]
        if target is not None:
            tags.append(RunTag("staleness.target", str(target)))
        metrics = []
        if loss is not None:
            metrics.append(Metric(loss_name, float(loss), _now_ms(), 0))
            # the reference's own loss, read back before any metric history of the same key
            # (autolog's epochs log later steps than this step 0)
            tags.append(RunTag(REFERENCE_LOSS_TAG, repr(float(loss))))
        client.log_batch(run_id, metrics=metrics, tags=tags)
    return fingerprint


def _check_budgets(loss_name: str, target: object) -> None:
    """The loss key and the target are read back, so they are refused, not cut, when they are
    over MLflow's limits (a metric key, a run tag value); before the first write."""
    if not isinstance(loss_name, str) or not loss_name or len(loss_name) > KEY_BUDGET:
        raise WriteBudgetError(
            f"loss_name must be a metric key of 1 to {KEY_BUDGET} characters (MLflow's limit), "
            f"got {str(loss_name)[:40]!r} ({len(str(loss_name))} characters)"
        )
    budget = budget_of("set-run-tags")
    if target is not None and len(str(target)) > budget:
        raise WriteBudgetError(
            f"the target column's name has {len(str(target))} characters, over the {budget} "
            f"MLflow allows in the run tag that records it; rename the column"
        )


def _default_metric(target: pd.Series) -> str:
    kind = target.dtype.kind
    if kind == "f":
        values = target.dropna()
        if len(values) and not (values == values.round()).all():
            return "mae"
    return "error_rate"


def _default_spark_metric(data: Any, target: str) -> str:
    """As :func:`_default_metric`, asked of Spark: ``mae`` when a float target holds a fraction."""
    from pyspark.sql import functions

    if data.schema[target].dataType.typeName() not in ("float", "double", "decimal"):
        return "error_rate"
    column = functions.col(target)
    fraction = column.isNotNull() & (column != functions.floor(column))
    return "mae" if data.where(fraction).limit(1).count() else "error_rate"


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)
