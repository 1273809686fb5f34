"""Builders and snapshots of real MLflow registries for the advisor's integration tests.

Everything here talks to a real tracking store (a ``mlflow server`` or an embedded SQLite
store); nothing is mocked. Versions are tiny: a ``LogisticRegression`` on a few hundred rows of
float features (float columns, so MLflow's integer-schema warning never fires), logged with
explicit ``pip_requirements`` so that MLflow does not infer them; or, with ``log_model=False``,
no model at all: a run with the loss metric and a version whose source names it, which is all the
advisor reads when the tests pass the predictions themselves.

:func:`snapshot` captures everything the advisor could write for one model, so that a test can
assert that an operation wrote nothing (``snapshot(...) == before``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
import mlflow.data
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException
from mlflow.tracking._model_registry import utils as _registry_utils
from mlflow.tracking._tracking_service import utils as _tracking_utils
from sklearn.linear_model import LogisticRegression

from mlflow_staleness.adapter import advisor_experiment, log_reference

__all__ = [
    "FEATURES",
    "TARGET",
    "TRAINING_EXPERIMENT",
    "client_for",
    "make_frame",
    "predictions_with_error",
    "register_bare_versions",
    "register_runless_version",
    "register_version",
    "snapshot",
    "unique_name",
    "using",
    "versions_of",
]

TARGET = "label"
FEATURES = ("x1", "x2", "x3")
TRAINING_EXPERIMENT = "staleness-tests-training"
PIP_REQUIREMENTS = ["scikit-learn", "pandas"]
_URI_VARIABLES = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


def unique_name(prefix: str = "model") -> str:
    """A registered-model name no other test uses (the server lives for the whole session)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def client_for(uri: str) -> MlflowClient:
    """A client for tracking and registry at ``uri``."""
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


@contextlib.contextmanager
def using(uri: str) -> Iterator[None]:
    """Point MLflow's fluent API (``mlflow.start_run``, ``log_model`` ...) at ``uri`` for a
    while, then restore exactly what was there before.

    ``mlflow.set_tracking_uri`` / ``set_registry_uri`` also export ``MLFLOW_TRACKING_URI`` /
    ``MLFLOW_REGISTRY_URI`` to ``os.environ``, and reading back ``get_tracking_uri()`` gives the
    resolved default rather than "not set"; so the module state (private, MLflow 3) and the
    environment are saved and restored as they were, to leak nothing into later tests.
    """
    saved_env = {key: os.environ.get(key) for key in _URI_VARIABLES}
    saved_tracking = _tracking_utils._tracking_uri
    saved_registry = _registry_utils._registry_uri
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        yield
    finally:
        if mlflow.active_run() is not None:
            mlflow.end_run()
        mlflow.set_tracking_uri(saved_tracking)
        _registry_utils._registry_uri = saved_registry
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def make_frame(n: int = 300, seed: int = 0, shift: float = 0.0) -> pd.DataFrame:
    """``n`` rows of float features ``x1..x3`` (mean ``shift``) and a 0/1 float label."""
    rng = np.random.default_rng(seed)
    values = rng.normal(loc=shift, size=(n, len(FEATURES)))
    frame = pd.DataFrame(values, columns=list(FEATURES))
    frame[TARGET] = (values[:, 0] + values[:, 1] > 2 * shift).astype("float64")
    return frame


def predictions_with_error(labels: Any, error_rate: float, seed: int = 0) -> np.ndarray:
    """Predictions of 0/1 ``labels`` that are wrong on exactly ``round(error_rate * n)`` rows,
    so that the measured error rate is known exactly."""
    truth = np.asarray(labels, dtype="float64")
    wrong = np.random.default_rng(seed).choice(
        truth.size, size=round(error_rate * truth.size), replace=False
    )
    predictions = truth.copy()
    predictions[wrong] = 1.0 - predictions[wrong]
    return predictions


def _ensure_model(client: MlflowClient, name: str) -> None:
    try:
        client.get_registered_model(name)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        client.create_registered_model(name)


def _training_experiment(client: MlflowClient) -> str:
    experiment = client.get_experiment_by_name(TRAINING_EXPERIMENT)
    if experiment is not None:
        return experiment.experiment_id
    return client.create_experiment(TRAINING_EXPERIMENT)


def _fit(frame: pd.DataFrame, target: str) -> LogisticRegression:
    return LogisticRegression().fit(frame.drop(columns=[target]), frame[target])


def register_version(
    uri: str,
    name: str,
    frame: pd.DataFrame,
    target: str = TARGET,
    val_loss: float | None = 0.1,
    with_reference: bool = True,
    alias: str | None = None,
    *,
    log_model: bool = True,
    loss_name: str = "val_loss",
    log_dataset: bool = False,
) -> str:
    """Register a new version of ``name`` (created if needed) trained on ``frame``.

    With ``log_model`` a fitted ``LogisticRegression`` is logged in a run of the training
    experiment and registered from it; without, the run only holds the metric and the version's
    source names a model that was never logged (the advisor needs no model when given the
    predictions). ``with_reference`` calls ``log_reference`` on the run (fingerprint, dataset
    input and the ``val_loss`` metric); without it, ``val_loss`` (if not None) is logged as a
    plain metric. ``log_dataset`` logs ``frame`` the standard MLflow way, as a dataset input
    with context ``validation`` (``mlflow.log_input``). ``alias`` is pointed at the new version.
    Returns the version number.
    """
    client = client_for(uri)
    _ensure_model(client, name)
    experiment_id = _training_experiment(client)
    if log_model:
        with using(uri):
            with mlflow.start_run(experiment_id=experiment_id) as run:
                info = mlflow.sklearn.log_model(
                    _fit(frame, target), name="model", pip_requirements=PIP_REQUIREMENTS
                )
            run_id = run.info.run_id
    else:
        run_id = client.create_run(experiment_id).info.run_id
    if with_reference:
        log_reference(
            frame,
            target=target,
            loss=val_loss,
            loss_name=loss_name,
            run_id=run_id,
            tracking_uri=uri,
        )
    elif val_loss is not None:
        client.log_metric(run_id, loss_name, val_loss)
    if log_dataset:
        with warnings.catch_warnings():
            # MLflow's dataset digest calls a pandas method positionally; pandas warns about it
            warnings.filterwarnings("ignore", message="Starting with pandas version 4.0")
            dataset = mlflow.data.from_pandas(frame, targets=target, name="validation")
        with using(uri), mlflow.start_run(run_id=run_id):
            mlflow.log_input(dataset, context="validation")
    if log_model:
        with using(uri):
            version = mlflow.register_model(info.model_uri, name).version
    else:
        client.set_terminated(run_id)
        version = client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id).version
    if alias is not None:
        client.set_registered_model_alias(name, alias, str(version))
    return str(version)


def register_bare_versions(
    uri: str,
    name: str,
    count: int,
    reference: pd.DataFrame,
    target: str = TARGET,
    alias: str | None = "champion",
) -> list[str]:
    """Add ``count`` versions to model ``name`` (created if needed) quickly: each a run holding
    only the ``val_loss`` metric, with no logged model. Only the newest gets ``log_reference``
    (the served version's fingerprint is the one the advisor downloads) and ``alias``."""
    client = client_for(uri)
    _ensure_model(client, name)
    experiment_id = _training_experiment(client)
    versions = []
    for index in range(count):
        run_id = client.create_run(experiment_id).info.run_id
        if index == count - 1:
            log_reference(reference, target=target, loss=0.1, run_id=run_id, tracking_uri=uri)
        else:
            client.log_metric(run_id, "val_loss", 0.1 + 0.001 * index)
        version = client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id)
        versions.append(str(version.version))
    if alias is not None:
        client.set_registered_model_alias(name, alias, versions[-1])
    return versions


def register_runless_version(
    uri: str,
    name: str,
    frame: pd.DataFrame,
    val_loss: float,
    target: str = TARGET,
    loss_name: str = "val_loss",
) -> tuple[str, str]:
    """MLflow 3's run-less model: logged outside any run, its loss logged on the logged model
    (``mlflow.log_metric(..., model_id=...)`` from an evaluation run), then registered. The
    version has no source run, only a ``models:/m-...`` source. Returns (version, model id)."""
    client = client_for(uri)
    experiment_id = _training_experiment(client)
    with using(uri):
        assert mlflow.active_run() is None
        info = mlflow.sklearn.log_model(
            _fit(frame, target), name="model", pip_requirements=PIP_REQUIREMENTS
        )
        assert info.run_id is None, "the model was expected to be logged outside any run"
        with mlflow.start_run(experiment_id=experiment_id, run_name="evaluation"):
            mlflow.log_metric(loss_name, val_loss, model_id=info.model_id)
        version = mlflow.register_model(info.model_uri, name)
    return str(version.version), info.model_id


# ---------------------------------------------------------------------------------- snapshots
def _artifacts(uri: str, run: Any) -> dict[str, str]:
    """Every artifact file of the run: relative path -> sha256 of its bytes."""
    if not client_for(uri).list_artifacts(run.info.run_id):
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=run.info.artifact_uri, dst_path=tmp, tracking_uri=uri
            )
        )
        return {
            file.relative_to(root).as_posix(): hashlib.sha256(file.read_bytes()).hexdigest()
            for file in sorted(root.rglob("*"))
            if file.is_file()
        }


def _run(uri: str, run: Any) -> dict[str, Any]:
    client = client_for(uri)
    run_id = run.info.run_id
    metrics = {
        key: sorted((m.step, m.timestamp, m.value) for m in client.get_metric_history(run_id, key))
        for key in sorted(run.data.metrics)
    }
    return {
        "name": run.info.run_name,
        "status": run.info.status,
        "lifecycle_stage": run.info.lifecycle_stage,
        "tags": dict(run.data.tags),
        "params": dict(run.data.params),
        "metrics": metrics,
        "artifacts": _artifacts(uri, run),
    }


def versions_of(client: MlflowClient, name: str) -> list[Any]:
    """Every version of model ``name``, whatever characters the name holds.

    Independent of the advisor's own quoting: a ``LIKE`` pattern with ``_`` (any one character)
    in place of every character that is not a letter or a digit matches a superset of ``name``,
    which is then narrowed to ``name`` exactly.
    """
    pattern = "".join(c if c.isalnum() else "_" for c in name)
    found, token = [], None
    while True:
        page = client.search_model_versions(
            f"name LIKE '{pattern}'", max_results=1000, page_token=token
        )
        found += [v for v in page if v.name == name]
        token = page.token
        if not token:
            return found


def snapshot(uri: str, name: str) -> dict[str, Any]:
    """Everything the advisor may write for model ``name``, as a comparable dict.

    The registered model's tags and aliases; every version's tags, aliases, stage and status;
    the advisor experiment (``staleness/<name>``) with each run's tags, full metric histories
    (``get_metric_history`` per key) and artifacts (path -> content hash).
    """
    client = client_for(uri)
    try:
        model = client.get_registered_model(name)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        model = None
    out: dict[str, Any] = {"model": None, "versions": {}, "advisor_experiment": None}
    if model is not None:
        aliases = {alias: str(version) for alias, version in model.aliases.items()}
        out["model"] = {"tags": dict(model.tags), "aliases": aliases}
        for found in versions_of(client, name):
            version = client.get_model_version(name, found.version)
            out["versions"][str(version.version)] = {
                "tags": dict(version.tags),
                "aliases": sorted(version.aliases),
                "stage": version.current_stage,
                "status": version.status,
            }
    experiment = client.get_experiment_by_name(advisor_experiment(name))
    if experiment is not None:
        runs = client.search_runs(
            [experiment.experiment_id], run_view_type=ViewType.ALL, max_results=1000
        )
        out["advisor_experiment"] = {
            "lifecycle_stage": experiment.lifecycle_stage,
            "runs": {run.info.run_id: _run(uri, run) for run in runs},
        }
    return out
