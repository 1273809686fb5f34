"""Predictions of a registered model version, through ``mlflow.pyfunc``."""

from __future__ import annotations

import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

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
        import mlflow.pyfunc

        uri = f"models:/{self.model_name}/{version}"
        if version not in self._models:
            try:
                previous = mlflow.get_registry_uri(), mlflow.get_tracking_uri()
                mlflow.set_tracking_uri(self.client.tracking_uri)
                mlflow.set_registry_uri(self.client._registry_uri)
                try:
                    self._models[version] = mlflow.pyfunc.load_model(uri)
                finally:
                    mlflow.set_registry_uri(previous[0])
                    mlflow.set_tracking_uri(previous[1])
            except (MlflowException, OSError, ImportError, ValueError) as exc:
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
