"""Predictions of a registered model version, through ``mlflow.pyfunc``."""

from __future__ import annotations

import tempfile

import numpy as np
import pandas as pd
from mlflow import MlflowClient

from mlflow_staleness.exceptions import InvalidInputError, SchemaMismatchError

__all__ = ["VersionScorer"]


class VersionScorer:
    """Loads versions once and predicts with them."""

    def __init__(self, client: MlflowClient, model_name: str) -> None:
        self.client = client
        self.model_name = model_name
        self._models: dict[str, object] = {}

    def _load(self, version: str) -> object:
        """The version, downloaded and loaded once (``mlflow.pyfunc`` is imported only here)."""
        uri = f"models:/{self.model_name}/{version}"
        if version not in self._models:
            import mlflow.pyfunc

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
        return self._models[version]

    def predict(self, version: str, features: pd.DataFrame) -> np.ndarray:
        """The version's predictions on ``features``; a clear error if it cannot be loaded."""
        uri = f"models:/{self.model_name}/{version}"
        model = self._load(version)
        lost = [c for c in _input_names(model) if c not in features.columns]
        if lost:
            shown = ", ".join(map(repr, lost[:20])) + (" ..." if len(lost) > 20 else "")
            raise SchemaMismatchError(
                f"the current data lacks column(s) {shown} of {uri}'s model signature",
                columns=dict.fromkeys(lost, "missing from current data"),
            )
        try:
            predictions = model.predict(features)  # type: ignore[attr-defined]
        except Exception as exc:
            # MLflow's schema errors quote the whole DataFrame: keep the words before it
            said = str(exc).splitlines()[0].split(" of data '")[0].split(" for data '")[0]
            raise InvalidInputError(
                f"{uri} failed to predict on the current data: {said[:200]}"
            ) from exc
        return np.asarray(predictions).ravel()


def _input_names(model: object) -> list[str]:
    """The input column names of a loaded pyfunc model's signature (none without one)."""
    try:
        schema = model.metadata.get_input_schema()  # type: ignore[attr-defined]
        names = schema.input_names() if schema is not None and schema.has_input_names() else []
    except Exception:  # a model without metadata or a tensor signature: nothing to check
        return []
    return [str(n) for n in names]
