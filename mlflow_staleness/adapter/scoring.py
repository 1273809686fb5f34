"""Predictions of a registered model version, through ``mlflow.pyfunc``."""

from __future__ import annotations

import tempfile
import threading

import numpy as np
import pandas as pd
from mlflow import MlflowClient

from mlflow_staleness.exceptions import InvalidInputError, SchemaMismatchError

__all__ = ["VersionScorer"]


_LOADING = threading.Lock()


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
                    with _LOADING:  # a model's code_paths go onto the process's sys.path
                        self._models[version] = mlflow.pyfunc.load_model(local)
            except Exception as exc:  # any load failure (a pickle from another sklearn) is one line
                raise InvalidInputError(
                    f"could not load {uri} to predict with it: {str(exc).splitlines()[0][:200]}. "
                    f"Pass the predictions instead (predictions=... or --predictions-col)."
                ) from exc
        return self._models[version]

    def predict(self, version: str, features: pd.DataFrame) -> np.ndarray:
        """The version's predictions on ``features``: one per row, or one row of class
        probabilities per row (2-D, never flattened); a clear error if it cannot be loaded."""
        return self.predict_with_classes(version, features)[0]

    def predict_with_classes(
        self, version: str, features: pd.DataFrame
    ) -> tuple[np.ndarray, tuple | None]:
        """The version's predictions (as :meth:`predict`), and, when they are 2-D (class
        probabilities), the model's own class list: the output's column names, else the
        underlying model's ``classes_``, else the signature's output names; None when nothing
        says it."""
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
        columns = getattr(predictions, "columns", None)
        array = np.asarray(predictions)
        if array.ndim == 2 and array.shape[1] == 1:
            return array.ravel(), None
        if array.ndim != 2:
            return array, None  # one per row (or a shape the measurement refuses)
        if columns is not None and not isinstance(columns, pd.RangeIndex):
            return array, tuple(_plain(c) for c in columns)
        return array, _model_classes(model, array.shape[1])


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


def _model_classes(model: object, k: int) -> tuple | None:
    """The class list of a loaded pyfunc model with ``k`` outputs per row: the underlying
    model's ``classes_`` (scikit-learn, or a custom model that keeps one), else the signature's
    output column names; None when neither has ``k`` entries."""
    raw = None
    for unwrap in ("get_raw_model", "unwrap_python_model"):
        try:
            raw = getattr(model, unwrap)()
            break
        except Exception:  # not this kind of model
            continue
    found = getattr(raw, "classes_", None) if raw is not None else None
    if found is not None and np.ndim(found) == 1 and len(found) == k:
        return tuple(_plain(c) for c in np.asarray(found).tolist())
    try:
        schema = model.metadata.get_output_schema()  # type: ignore[attr-defined]
        names = schema.input_names() if schema is not None and schema.has_input_names() else []
    except Exception:  # no signature, or a tensor one
        return None
    return tuple(str(n) for n in names) if len(names) == k else None


def _input_names(model: object) -> list[str]:
    """The input column names of a loaded pyfunc model's signature (none without one)."""
    try:
        schema = model.metadata.get_input_schema()  # type: ignore[attr-defined]
        names = schema.input_names() if schema is not None and schema.has_input_names() else []
    except Exception:  # a model without metadata or a tensor signature: nothing to check
        return []
    return [str(n) for n in names]
