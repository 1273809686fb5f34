"""Build the loss matrix ``L`` of a time-ordered dataset: one model per window (trained on its
first 80% in time order, plus earlier windows when ``train_windows > 1``), scored on every later
window.

``L[i, t]`` is the loss of the model trained on window ``i`` (its first 80% in time order) serving
window ``t > i``. The matrix is what every schedule is scored on, and what the oracle optimises.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlflow_staleness._files import atomic_writer
from mlflow_staleness._validation import check_int
from mlflow_staleness.exceptions import InvalidInputError

__all__ = [
    "LOSSES",
    "TRAIN_FRACTION",
    "LossMatrix",
    "RowErrors",
    "build_loss_matrix",
    "window_bounds",
]

LOSSES = ("error_rate", "normalised_mae")
#: Share of each window, in time order, that trains its model; the rest validates it.
TRAIN_FRACTION = 0.8
_CACHE_VERSION = 1


@dataclass(frozen=True)
class RowErrors:
    """Row-level losses of every model on every later window, stored compactly.

    For ``error_rate`` a row's loss is 0 or 1 and is bit-packed; for ``normalised_mae`` it is the
    absolute error divided by the window's mean absolute deviation, as float32. A window's loss is
    the mean of its row losses (clipped at 1 for ``normalised_mae``).
    """

    loss: str
    bounds: np.ndarray  # (T + 1,) row offsets of each window
    offsets: dict[tuple[int, int], tuple[int, int]]
    data: np.ndarray

    def get(self, model: int, window: int) -> np.ndarray:
        """Row-level losses of model ``model`` on window ``window`` (``model < window``)."""
        key = (int(model), int(window))
        if key not in self.offsets:
            raise InvalidInputError(
                f"row errors exist only for a model serving a later window, got model {model} "
                f"on window {window}"
            )
        start, stop = self.offsets[key]
        n = int(self.bounds[window + 1] - self.bounds[window])
        if self.loss == "error_rate":
            return np.unpackbits(self.data[start:stop], count=n).astype(np.float32)
        return self.data[start:stop].astype(np.float32)


@dataclass(frozen=True)
class LossMatrix:
    """What :func:`build_loss_matrix` returns.

    Attributes
    ----------
    L : numpy.ndarray
        ``(T, T)``; ``L[i, t]`` for ``i < t``, NaN elsewhere.
    val_loss : numpy.ndarray
        ``(T,)``; each model's loss on the held-out last 20% of its own window.
    windows : list of pandas.DataFrame
        Feature-only frames (no target), one per window.
    row_errors : RowErrors
        Row-level losses of each model on each later window, for the drift-detector baselines.
    loss : str
        ``"error_rate"`` or ``"normalised_mae"``.
    features : tuple of str
        The feature columns the models were trained on.

    It also unpacks as ``L, val_loss, windows``.
    """

    L: np.ndarray
    val_loss: np.ndarray
    windows: list[pd.DataFrame]
    row_errors: RowErrors
    loss: str
    features: tuple[str, ...] = field(default=())

    @property
    def T(self) -> int:  # noqa: N802 (the design document calls it T)
        """Number of windows."""
        return int(self.L.shape[0])

    def __iter__(self) -> Iterator[Any]:
        """Unpack as ``L, val_loss, windows = build_loss_matrix(...)``."""
        return iter((self.L, self.val_loss, self.windows))


def window_bounds(n_rows: int, n_windows: int) -> np.ndarray:
    """Row offsets cutting ``n_rows`` rows into ``n_windows`` windows of (nearly) equal size.

    Examples
    --------
    >>> window_bounds(20, 3).tolist()
    [0, 6, 13, 20]
    """
    n_windows = check_int("n_windows", n_windows, 2)
    if n_rows < 5 * n_windows:
        raise InvalidInputError(
            f"{n_windows} windows need at least 5 rows each ({5 * n_windows} rows), got {n_rows} "
            f"rows: use fewer windows or more data"
        )
    return np.floor(np.linspace(0, n_rows, n_windows + 1)).astype(int)


def _prepare_features(frame: pd.DataFrame, features: Sequence[str]) -> pd.DataFrame:
    """Features a scikit-learn estimator can take: strings become categoricals with one shared
    category set (so codes agree across windows), datetimes become epoch seconds."""
    out = {}
    for name in features:
        column = frame[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            out[name] = column
        elif pd.api.types.is_bool_dtype(column.dtype):
            out[name] = column.astype(float)
        elif pd.api.types.is_numeric_dtype(column.dtype):
            out[name] = column
        elif pd.api.types.is_datetime64_any_dtype(column.dtype):
            out[name] = column.astype("int64") / 1e9
        else:
            out[name] = column.astype(str).where(column.notna()).astype("category")
    return pd.DataFrame(out, index=frame.index)


def _check_target(column: pd.Series, name: str, loss: str) -> None:
    """A regression target must be numeric; an error rate needs class labels."""
    if loss == "normalised_mae" and not pd.api.types.is_numeric_dtype(column.dtype):
        raise InvalidInputError(
            f"loss 'normalised_mae' needs a numeric target, got {name!r} of dtype {column.dtype}"
        )
    if (
        loss == "error_rate"
        and pd.api.types.is_float_dtype(column.dtype)
        and not np.all(np.mod(column.to_numpy(dtype=float), 1) == 0)
    ):
        raise InvalidInputError(
            f"loss 'error_rate' needs class labels, got a continuous target {name!r}; use "
            f"loss='normalised_mae' for regression"
        )


def _row_losses(loss: str, y_true: np.ndarray, y_pred: np.ndarray, scale: float) -> np.ndarray:
    if loss == "error_rate":
        return (y_true != y_pred).astype(np.uint8)
    return (np.abs(y_true - y_pred) / scale).astype(np.float32)


def _window_loss(loss: str, rows: np.ndarray) -> float:
    value = float(np.mean(rows))
    return min(value, 1.0) if loss == "normalised_mae" else value


def _mad(y: np.ndarray) -> float:
    scale = float(np.mean(np.abs(y - np.mean(y))))
    return scale if scale > 0 else 1.0


def _cache_key(frame: pd.DataFrame, settings: dict) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    digest.update(np.asarray(pd.util.hash_pandas_object(frame, index=False)).tobytes())
    return digest.hexdigest()[:20]


def build_loss_matrix(
    frame: pd.DataFrame,
    time_column: str,
    target: str,
    n_windows: int,
    estimator: object,
    loss: str = "error_rate",
    train_windows: int = 1,
    seed: int = 0,
    cache_dir: str | Path | None = None,
    *,
    features: Sequence[str] | None = None,
) -> LossMatrix:
    """Train one model per window and score it on every later window.

    Parameters
    ----------
    frame
        Rows of one dataset. They are sorted by ``time_column`` (stably) before cutting.
    time_column, target
        The column giving time order, and the column to predict. Neither is a feature.
    n_windows
        ``T``: windows of equal row counts.
    estimator
        A scikit-learn estimator; it is cloned per window, with ``random_state=seed`` when it has
        one.
    loss
        ``"error_rate"`` for classification, or ``"normalised_mae"`` for regression: the mean
        absolute error divided by the window's mean absolute deviation from its mean, clipped at 1.
    train_windows
        Model ``m_i`` trains on the first 80% of window ``i`` plus the ``train_windows - 1`` windows
        before it, in full.
    seed
        Seeds the estimator; nothing global is touched.
    cache_dir
        When given, ``L``, the validation losses and the row errors are stored there, keyed by a
        hash
        of the data and the settings, and reused.
    features
        Feature columns (never the time column or the target); default every other column.

    Returns
    -------
    LossMatrix
        ``L``, ``val_loss``, the per-window feature frames and the row-level errors.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=600)
    >>> drift = np.linspace(-1, 1, 600)
    >>> frame = pd.DataFrame({"time": np.arange(600), "x": x,
    ...                       "y": (x > drift).astype(int)})
    >>> result = build_loss_matrix(frame, "time", "y", n_windows=6,
    ...                            estimator=LogisticRegression())
    >>> result.L.shape, bool(np.isnan(result.L[3, 2])), bool(result.L[0, 5] > result.L[4, 5])
    ((6, 6), True, True)
    """
    from sklearn.base import clone

    if not isinstance(frame, pd.DataFrame):
        raise InvalidInputError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    for role, name in (("time_column", time_column), ("target", target)):
        if name not in frame.columns:
            raise InvalidInputError(
                f"{role} {name!r} is not a column of the frame; columns are {list(frame.columns)}"
            )
    if loss not in LOSSES:
        raise InvalidInputError(f"loss must be one of {list(LOSSES)}, got {loss!r}")
    train_windows = check_int("train_windows", train_windows, 1)
    if features is None:
        features = [c for c in frame.columns if c not in (time_column, target)]
    if isinstance(features, str) or not all(isinstance(c, str) for c in features):
        raise InvalidInputError(f"features must be a list of column names, got {features!r}")
    features = list(features)
    leaking = [c for c in features if c in (time_column, target)]
    if leaking:
        raise InvalidInputError(
            f"features must not include the time column or the target, got {leaking}"
        )
    if not (hasattr(estimator, "fit") and hasattr(estimator, "predict")):
        raise InvalidInputError(
            f"estimator must be a scikit-learn estimator with fit and predict, got {estimator!r}"
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise InvalidInputError(f"seed must be an integer, got {seed!r}")
    missing = [c for c in features if c not in frame.columns]
    if missing:
        raise InvalidInputError(f"feature columns {missing} are not in the frame")
    if not features:
        raise InvalidInputError("no feature columns: the frame holds only the time and the target")
    if frame[target].isna().any():
        raise InvalidInputError(
            f"target {target!r} has {int(frame[target].isna().sum())} missing values; drop or fill "
            f"them first"
        )
    _check_target(frame[target], target, loss)

    try:
        ordered = frame.sort_values(time_column, kind="stable").reset_index(drop=True)
    except TypeError as exc:
        raise InvalidInputError(
            f"time column {time_column!r} must hold values of one orderable type: {exc}"
        ) from exc
    bounds = window_bounds(len(ordered), n_windows)
    X = _prepare_features(ordered, features)
    y = ordered[target].to_numpy()
    if loss == "normalised_mae":
        y = y.astype(float)
    windows = [
        ordered.iloc[bounds[w] : bounds[w + 1]][list(features)].reset_index(drop=True)
        for w in range(n_windows)
    ]

    settings = {
        "version": _CACHE_VERSION,
        "time": time_column,
        "target": target,
        "T": n_windows,
        "estimator": repr(estimator),
        "loss": loss,
        "train_windows": train_windows,
        "seed": seed,
        "features": list(features),
    }
    cache_file = None
    if cache_dir is not None:
        cache_file = Path(cache_dir) / f"loss_matrix_{_cache_key(ordered, settings)}.npz"
        if cache_file.exists():
            return _load(cache_file, windows, bounds, loss, tuple(features))

    T = n_windows
    L = np.full((T, T), np.nan)
    val_loss = np.full(T, np.nan)
    offsets: dict[tuple[int, int], tuple[int, int]] = {}
    chunks: list[np.ndarray] = []
    position = 0
    scales = [_mad(y[bounds[w] : bounds[w + 1]]) for w in range(T)]
    for i in range(T):
        start = bounds[max(0, i - train_windows + 1)]
        split = bounds[i] + math.floor(TRAIN_FRACTION * (bounds[i + 1] - bounds[i]))
        held_out = slice(split, bounds[i + 1])
        later = slice(bounds[i + 1], bounds[T])
        try:
            model = clone(estimator)
            if "random_state" in model.get_params():
                model.set_params(random_state=seed)
            model.fit(X.iloc[start:split], y[start:split])
            val_predictions = model.predict(X.iloc[held_out])
            predictions = model.predict(X.iloc[later]) if i + 1 < T else None
        except (ValueError, TypeError) as exc:
            raise InvalidInputError(
                f"the model of window {i} (training rows {start}..{split - 1}) could not be "
                f"trained or scored: {exc}"
            ) from exc
        val_loss[i] = _window_loss(loss, _row_losses(loss, y[held_out], val_predictions, scales[i]))
        if predictions is None:
            break
        for t in range(i + 1, T):
            rows = slice(bounds[t] - bounds[i + 1], bounds[t + 1] - bounds[i + 1])
            errors = _row_losses(loss, y[bounds[t] : bounds[t + 1]], predictions[rows], scales[t])
            L[i, t] = _window_loss(loss, errors)
            stored = np.packbits(errors) if loss == "error_rate" else errors
            offsets[(i, t)] = (position, position + stored.shape[0])
            position += stored.shape[0]
            chunks.append(stored)
    data = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.uint8)
    row_errors = RowErrors(loss=loss, bounds=bounds, offsets=offsets, data=data)
    if cache_file is not None:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(sorted(offsets), dtype=int).reshape(-1, 2)
        spans = np.array([offsets[tuple(k)] for k in keys], dtype=np.int64).reshape(-1, 2)
        with atomic_writer(cache_file) as handle:  # never a half-written cache
            np.savez_compressed(handle, L=L, val_loss=val_loss, data=data, keys=keys, spans=spans)
    return LossMatrix(L, val_loss, windows, row_errors, loss, tuple(features))


def _load(
    path: Path, windows: list[pd.DataFrame], bounds: np.ndarray, loss: str, features: tuple
) -> LossMatrix:
    with np.load(path) as stored:
        offsets = {
            (int(k[0]), int(k[1])): (int(s[0]), int(s[1]))
            for k, s in zip(stored["keys"], stored["spans"], strict=True)
        }
        row_errors = RowErrors(loss=loss, bounds=bounds, offsets=offsets, data=stored["data"])
        return LossMatrix(stored["L"], stored["val_loss"], windows, row_errors, loss, features)
