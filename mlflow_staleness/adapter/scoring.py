"""Predictions of a registered model version, through ``mlflow.pyfunc``."""

from __future__ import annotations

import tempfile

import mlflow.artifacts
import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow import MlflowClient

from mlflow_staleness.exceptions import InvalidInputError

__all__ = ["VersionScorer"]


class VersionScorer:
    """Loads versions once and predicts with them."""

    def __init__(self, client: MlflowClient, model_name: str) -> None:
        self.client = client
        self.model_name = model_name
        self._models: dict[str, object] = {}

    def predict(self, version: str, features: pd.DataFrame) -> np.ndarray:
        """The version's predictions on ``features``; a clear error if it cannot be loaded."""
        uri = f"models:/{self.model_name}/{version}"
        if version not in self._models:
            try:
                source = self.client.get_model_version_download_uri(self.model_name, version)
                with tempfile.TemporaryDirectory() as tmp:
                    local = mlflow.artifacts.download_artifacts(
                        artifact_uri=source, dst_path=tmp, tracking_uri=self.client.tracking_uri
                    )
                    self._models[version] = mlflow.pyfunc.load_model(local)
            except Exception as exc:  # any load failure (a pickle from another sklearn) is one line
                raise InvalidInputError(
                    f"could not load {uri} to predict with it: {str(exc).splitlines()[0][:200]}. "
                    f"Pass the predictions instead (predictions=... or --predictions-col)."
                ) from exc
        try:
            predictions = self._models[version].predict(features)  # type: ignore[attr-defined]
        except Exception as exc:
            raise InvalidInputError(
                f"{uri} failed to predict on the current data: {str(exc).splitlines()[0][:200]}"
            ) from exc
        return np.asarray(predictions).ravel()
