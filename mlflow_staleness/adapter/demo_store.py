"""The demo's MLflow side: an embedded SQLite store under one folder, and registered versions."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
from mlflow import MlflowClient

from mlflow_staleness.adapter.reading import advisor_experiment
from mlflow_staleness.adapter.reference import log_reference

__all__ = ["DemoStore"]

TRAINING_EXPERIMENT = "demo-training"


class DemoStore:
    """A SQLite tracking store in ``folder``, with every artifact kept under it too.

    MLflow's default artifact root for a SQLite store is ``./mlruns`` of the current directory,
    so both experiments the demo uses are created with an artifact location inside ``folder``.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder).resolve()
        self.uri = f"sqlite:///{self.folder / 'mlflow.db'}"
        self.client = MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
        artifacts = self.folder / "artifacts"
        self.training_id = self.client.create_experiment(
            TRAINING_EXPERIMENT, artifact_location=(artifacts / "training").as_uri()
        )
        self.artifacts = artifacts

    def prepare_advisor(self, model_name: str) -> None:
        """Create the advisor's experiment with its artifacts under the folder."""
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
    ) -> str:
        """Log ``model`` with its reference in a new run, register it; return the version."""
        previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
        mlflow.set_tracking_uri(self.uri)
        mlflow.set_registry_uri(self.uri)
        try:
            with mlflow.start_run(experiment_id=self.training_id, run_name=run_name):
                info = mlflow.sklearn.log_model(
                    model,
                    name="model",
                    pip_requirements=["scikit-learn", "pandas"],
                    # the demo trains these trees itself, so loading them back is safe
                    skops_trusted_types=["sklearn.tree._tree.Tree"],
                    input_example=reference.drop(columns=[target]).head(3),
                )
                log_reference(reference, target=target, loss=val_loss, metric="error_rate")
            version = mlflow.register_model(info.model_uri, model_name)
        finally:
            mlflow.set_tracking_uri(previous[0])
            mlflow.set_registry_uri(previous[1])
        return str(version.version)

    def set_alias(self, model_name: str, alias: str, version: str) -> None:
        """Point ``alias`` at ``version``."""
        self.client.set_registered_model_alias(model_name, alias, version)
