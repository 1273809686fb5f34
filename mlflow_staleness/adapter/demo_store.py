"""The demo's MLflow side: an embedded SQLite store under one folder, and registered versions.

Everything goes through one ``MlflowClient``, never MLflow's global tracking URI, so that running
the demo leaves the caller's MLflow settings as they were.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import mlflow.sklearn
import pandas as pd
from mlflow import MlflowClient
from mlflow.models import infer_signature

from mlflow_staleness.adapter.connection import mlflow_errors
from mlflow_staleness.adapter.reading import _quote, advisor_experiment
from mlflow_staleness.adapter.reference import log_reference

__all__ = ["DemoStore"]

TRAINING_EXPERIMENT = "demo-training"


class DemoStore:
    """A SQLite tracking store at ``folder / database``, with every artifact kept under folder.

    MLflow's default artifact root for a SQLite store is ``./mlruns`` of the current directory,
    so both experiments the demo uses are created with an artifact location inside ``folder``.
    """

    def __init__(self, folder: Path, database: str = "mlflow.db") -> None:
        self.folder = Path(folder).resolve()
        self.uri = f"sqlite:///{self.folder / database}"
        self.client = MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
        self.artifacts = self.folder / "artifacts"
        with mlflow_errors(f"creating the demo store in {self.folder}", self.uri):
            self.training_id = self.client.create_experiment(
                TRAINING_EXPERIMENT, artifact_location=(self.artifacts / "training").as_uri()
            )

    def prepare_advisor(self, model_name: str) -> None:
        """Create the advisor's experiment with its artifacts under the folder."""
        with mlflow_errors("creating the advisor experiment", self.uri):
            self.client.create_experiment(
                advisor_experiment(model_name),
                artifact_location=(self.artifacts / "advisor").as_uri(),
            )

    def register(
        self,
        model: object,
        model_name: str,
        reference: pd.DataFrame,
        target: str,
        val_loss: float,
        run_name: str,
        *,
        metric: str = "error_rate",
        trusted_types: tuple[str, ...] = ("sklearn.tree._tree.Tree",),
    ) -> str:
        """Log ``model`` with its reference in a new run, register it; return the version.

        ``metric`` is how its loss is measured (``error_rate``, ``mae`` ...); ``trusted_types``
        are the classes inside the model that loading it back may build (the model was trained by
        the caller, so they are safe)."""
        features = reference.drop(columns=[target])
        with mlflow_errors(f"registering a version of {model_name!r}", self.uri):
            run = self.client.create_run(self.training_id, run_name=run_name)
            run_id = run.info.run_id
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "model"
                mlflow.sklearn.save_model(
                    model,
                    str(path),
                    pip_requirements=["scikit-learn", "pandas"],
                    signature=infer_signature(features, model.predict(features)),  # type: ignore[attr-defined]
                    skops_trusted_types=list(trusted_types),
                )
                self.client.log_artifacts(run_id, str(path), "model")
            log_reference(
                reference,
                target=target,
                loss=val_loss,
                run_id=run_id,
                metric=metric,
                tracking_uri=self.uri,
            )
            self.client.set_terminated(run_id)
            if not self.client.search_registered_models(f"name = {_quote(model_name)}"):
                self.client.create_registered_model(model_name)
            version = self.client.create_model_version(
                model_name, source=f"{run.info.artifact_uri}/model", run_id=run_id
            )
        return str(version.version)

    def set_alias(self, model_name: str, alias: str, version: str) -> None:
        """Point ``alias`` at ``version``."""
        with mlflow_errors(f"setting alias {alias!r}", self.uri):
            self.client.set_registered_model_alias(model_name, alias, version)
