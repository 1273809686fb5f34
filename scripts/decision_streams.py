"""The decision benchmark's streams: their families, the tuning set, and the store of loss matrices.

Every stream is cut into ``T`` windows; one model per window is trained and scored on every later
window (:func:`~mlflow_staleness.backtest.build_loss_matrix`). What a replay needs of a stream is
small, so it is stored in the repository, one ``.npz`` per stream under
``benchmarks/decisions/matrices/``, with a ``.json`` build record beside it:

* ``L`` (``T x T``) and ``val_loss`` (``T``);
* ``drift`` (``T x T``): the fingerprint distance between every two windows' features
  (:func:`mlflow_staleness.fingerprint.distance`), what the policies' drift signal reads;
* for the river baselines only: the KSWIN feature's values (at most ``KSWIN_ROWS`` rows per
  window) and every model's row-level errors on every later window, subsampled to at most
  ``ROW_ERROR_ROWS`` evenly spaced rows per window (bit-packed for an error rate, float16 for a
  normalised absolute error).

The build record holds the settings the matrix was built with. :meth:`MatrixStore.load` compares
it with the current settings and refuses a stale matrix with the fields that differ; ``--rebuild``
(or a missing file) rebuilds it from the data, which for a real stream needs its Parquet file
(``../shared/data``, or ``scripts/rebuild_data.py``) and for a synthetic stream only its seed.

The **tuning set** is declared in ``benchmarks/decisions/TUNING.md``: the six streams of
``../shared/data`` and seed 0 of every synthetic stream. Every other stream is *untouched*.
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlflow_staleness.backtest import build_loss_matrix
from mlflow_staleness.backtest.datasets import (
    DATASETS,
    HELD_OUT_DATASETS,
    N_WINDOWS,
    TUNING_DATASETS,
    DatasetSpec,
    load_dataset,
)
from mlflow_staleness.backtest.loss_matrix import RowErrors, window_bounds
from mlflow_staleness.backtest.synthetic import SyntheticSpec, synthetic_streams
from mlflow_staleness.exceptions import InvalidInputError

#: Bump when what a build stores, or how, changes: every stored matrix is then rebuilt.
#: 2: drift scores from the fingerprint distance that counts unseen values (issue 11).
BUILD_VERSION = 2
SEED = 0
WARMUP = 5
KSWIN_ROWS = 500
ROW_ERROR_ROWS = 250
MI_MAX_ROWS = 5000
SYNTHETIC_SEEDS = (0, 1)

#: Synthetic drift kind -> the benchmark family it belongs to.
KIND_FAMILY = {
    "no-drift": "no-drift",
    "sudden-early": "sudden",
    "sudden-late": "sudden",
    "gradual": "gradual",
    "late-onset": "late-onset",
    "recurring": "recurring",
    "label-noise": "label-noise",
    "unfixable-shift": "unfixable-shift",
    "prior-shift": "class-balance",
    "gra": "friedman-regression",
    "gsg": "friedman-regression",
    "lea": "friedman-regression",
}
#: Families where retraining does not pay: the default may retrain at most once more than the
#: oracle there, at every retrain cost.
CONTROL_FAMILIES = ("no-drift", "label-noise", "unfixable-shift")
#: Real streams where retraining rarely pays (issue 2's controls): checked at alpha >= 0.2.
CONTROL_STREAMS = ("acs_employment_ma", "nycflights13")


@dataclass(frozen=True)
class Stream:
    """One benchmark stream: a real dataset or a synthetic generator with a seed."""

    name: str
    family: str
    spec: DatasetSpec | SyntheticSpec
    tuning: bool

    @property
    def synthetic(self) -> bool:
        return isinstance(self.spec, SyntheticSpec)

    def settings(self) -> dict[str, Any]:
        """What the build depends on; a stored matrix must have been built with exactly this."""
        spec = self.spec
        if self.synthetic:
            source = {
                "synthetic": {
                    "generator": spec.generator,
                    "kind": spec.kind,
                    "seed": spec.seed,
                    "n_windows": spec.n_windows,
                    "rows_per_window": spec.rows_per_window,
                }
            }
        else:
            source = {
                "dataset": {
                    "name": spec.name,
                    "file": spec.file,
                    "time_column": spec.time_column,
                    "target": spec.target,
                    "features": list(spec.features) if spec.features else None,
                    "drop": list(spec.drop),
                    "prepare": getattr(spec.prepare, "__name__", None),
                }
            }
        return {
            "build_version": BUILD_VERSION,
            "stream": self.name,
            "T": N_WINDOWS,
            "seed": SEED,
            "loss": spec.loss,
            "estimator": repr(spec.estimator()),
            "kswin_rows": KSWIN_ROWS,
            "row_error_rows": ROW_ERROR_ROWS,
            **source,
        }


def catalogue(synthetic_seeds: Sequence[int] = SYNTHETIC_SEEDS) -> list[Stream]:
    """Every stream of the benchmark, real ones first, in a fixed order."""
    streams = [Stream(name, "real-shared", DATASETS[name], True) for name in TUNING_DATASETS]
    streams += [Stream(name, "real-pypi", DATASETS[name], False) for name in HELD_OUT_DATASETS]
    for spec in synthetic_streams(seeds=synthetic_seeds):
        if spec.n_windows != N_WINDOWS:
            raise InvalidInputError(f"synthetic stream {spec.name} has {spec.n_windows} windows")
        streams.append(Stream(spec.name, KIND_FAMILY[spec.kind], spec, spec.seed == 0))
    names = [s.name for s in streams]
    if len(set(names)) != len(names):
        raise InvalidInputError(f"stream names must be unique, got {names}")
    return streams


def families(streams: Sequence[Stream]) -> dict[str, list[Stream]]:
    """Family -> its streams, in catalogue order."""
    out: dict[str, list[Stream]] = {}
    for stream in streams:
        out.setdefault(stream.family, []).append(stream)
    return out


# --------------------------------------------------------------------------------------------------
# What a replay needs of a stream
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredMatrix:
    """A stream's stored matrices, ready to replay."""

    stream: Stream
    L: np.ndarray
    val_loss: np.ndarray
    drift: np.ndarray
    kswin_feature: str
    kswin_information: float
    kswin_windows: list[pd.DataFrame]
    row_errors: RowErrors
    record: dict[str, Any]

    @property
    def T(self) -> int:  # noqa: N802
        return int(self.L.shape[0])


class StaleMatrixError(InvalidInputError):
    """A stored matrix was built with other settings than the benchmark's."""


class MatrixStore:
    """Stored matrices under ``root`` (``NAME.npz`` and ``NAME.json`` per stream)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def paths(self, stream: Stream) -> tuple[Path, Path]:
        return self.root / f"{stream.name}.npz", self.root / f"{stream.name}.json"

    def check(self, stream: Stream) -> str | None:
        """Why the stored matrix cannot be used (missing, or built with other settings); None
        when it can."""
        npz, record_path = self.paths(stream)
        if not npz.is_file() or not record_path.is_file():
            return f"no stored matrix for {stream.name} in {self.root}"
        try:
            record = json.loads(record_path.read_text())
        except (OSError, ValueError) as exc:
            return f"the build record {record_path} is unreadable: {exc}"
        stored = record.get("settings", {})
        wanted = stream.settings()
        changed = sorted(k for k in set(stored) | set(wanted) if stored.get(k) != wanted.get(k))
        if changed:
            details = "; ".join(
                f"{k}: stored {stored.get(k)!r}, now {wanted.get(k)!r}" for k in changed
            )
            return f"the stored matrix of {stream.name} was built with other settings ({details})"
        return None

    def load(self, stream: Stream) -> StoredMatrix:
        """The stored matrix of ``stream``; :class:`StaleMatrixError` when it is missing or was
        built with other settings (never used silently)."""
        problem = self.check(stream)
        if problem is not None:
            raise StaleMatrixError(f"{problem}; rebuild it with --rebuild {stream.name}")
        npz, record_path = self.paths(stream)
        record = json.loads(record_path.read_text())
        with np.load(npz) as data:
            L, val_loss, drift = data["L"], data["val_loss"], data["drift"]
            kswin_values = data["kswin_values"]
            counts = data["row_counts"]
            keys, spans, errors = data["keys"], data["spans"], data["errors"]
        kswin_feature = record["kswin_feature"]
        kswin_windows = [
            pd.DataFrame({kswin_feature: row[np.isfinite(row)].astype(float)})
            for row in kswin_values
        ]
        bounds = np.concatenate([[0], np.cumsum(counts)]).astype(int)
        offsets = {
            (int(k[0]), int(k[1])): (int(s[0]), int(s[1])) for k, s in zip(keys, spans, strict=True)
        }
        loss = stream.spec.loss
        row_errors = RowErrors(loss=loss, bounds=bounds, offsets=offsets, data=errors)
        return StoredMatrix(
            stream,
            L,
            val_loss,
            drift,
            kswin_feature,
            float(record["kswin_information"]),
            kswin_windows,
            row_errors,
            record,
        )

    def build(self, stream: Stream, data_dir: Path | None) -> StoredMatrix:
        """Build ``stream``'s matrices from its data and store them."""
        start = time.perf_counter()
        frame = load_frame(stream, data_dir)
        spec = stream.spec
        features = spec.feature_columns(frame)
        matrix = build_loss_matrix(
            frame,
            spec.time_column,
            spec.target,
            N_WINDOWS,
            spec.estimator(),
            loss=spec.loss,
            seed=SEED,
            features=features,
        )
        drift = window_drift(matrix.windows)
        feature, information = pick_kswin_feature(frame, spec, features)
        kswin_values = np.full((N_WINDOWS, KSWIN_ROWS), np.nan, dtype=np.float32)
        for w, window in enumerate(matrix.windows):
            values = _numeric(window[feature])
            chosen = _evenly(len(values), KSWIN_ROWS)
            kswin_values[w, : len(chosen)] = values[chosen]
        counts, keys, spans, errors = _subsample_row_errors(matrix.row_errors, N_WINDOWS)
        self.root.mkdir(parents=True, exist_ok=True)
        npz, record_path = self.paths(stream)
        np.savez_compressed(
            npz,
            L=matrix.L,
            val_loss=matrix.val_loss,
            drift=drift,
            kswin_values=kswin_values,
            row_counts=counts,
            keys=keys,
            spans=spans,
            errors=errors,
        )
        record = {
            "settings": stream.settings(),
            "family": stream.family,
            "tuning": stream.tuning,
            "rows": len(frame),
            "features": features,
            "data_sha256": frame_digest(frame),
            "kswin_feature": feature,
            "kswin_information": information,
            "built_with": _versions(),
            "build_seconds": round(time.perf_counter() - start, 1),
        }
        record_path.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
        return self.load(stream)


def load_frame(stream: Stream, data_dir: Path | None) -> pd.DataFrame:
    """The stream's rows, prepared: generated for a synthetic stream, read for a real one."""
    if stream.synthetic:
        return stream.spec.load()
    if data_dir is None:
        raise InvalidInputError(f"building {stream.name} needs its data: pass --data-dir")
    frame, _ = load_dataset(stream.name, data_dir)
    return frame


def window_drift(windows: Sequence[pd.DataFrame]) -> np.ndarray:
    """Fingerprint distance (:func:`~mlflow_staleness.fingerprint.distance`, its overall score)
    between every two windows; symmetric, zero on the diagonal."""
    from mlflow_staleness.fingerprint import DataFingerprint, distance

    prints = [DataFingerprint.from_frame(window) for window in windows]
    T = len(prints)
    drift = np.zeros((T, T))
    for i in range(T):
        for j in range(i + 1, T):
            drift[i, j] = drift[j, i] = distance(prints[i], prints[j]).score
    return drift


def pick_kswin_feature(
    frame: pd.DataFrame, spec: DatasetSpec | SyntheticSpec, features: Sequence[str]
) -> tuple[str, float]:
    """The numeric feature with the largest mutual information with the target, measured on
    (a seeded subsample of) the warm-up windows only."""
    from sklearn.feature_selection import mutual_info_classif, mutual_info_regression

    ordered = frame.sort_values(spec.time_column, kind="stable").reset_index(drop=True)
    warm = ordered.iloc[: window_bounds(len(ordered), N_WINDOWS)[WARMUP]]
    rng = np.random.default_rng(SEED)
    if len(warm) > MI_MAX_ROWS:
        warm = warm.iloc[np.sort(rng.choice(len(warm), MI_MAX_ROWS, replace=False))]
    score = mutual_info_classif if spec.loss == "error_rate" else mutual_info_regression
    information = {}
    for name in features:
        column = warm[name]
        if not pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(
            column.dtype
        ):
            continue
        values = _numeric(column)
        known = np.isfinite(values)
        if known.sum() < 10:
            continue
        x, y = values[known].reshape(-1, 1), warm[spec.target].to_numpy()[known]
        information[name] = float(score(x, y, discrete_features=False, random_state=SEED)[0])
    if not information:
        raise InvalidInputError(f"{spec.name}: no numeric feature for the KSWIN baseline")
    best = max(information, key=lambda name: information[name])
    return best, information[best]


def frame_digest(frame: pd.DataFrame) -> str:
    """SHA-256 of a frame's values (row order included)."""
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()


def _numeric(column: pd.Series) -> np.ndarray:
    return column.to_numpy(dtype=float, na_value=np.nan)


def _evenly(n: int, most: int) -> np.ndarray:
    """At most ``most`` evenly spaced indices of ``range(n)``."""
    if n <= most:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, most).round().astype(int))


def _subsample_row_errors(
    errors: RowErrors, T: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every model's errors on every later window, at most ``ROW_ERROR_ROWS`` evenly spaced rows
    of each window, packed like :class:`RowErrors` holds them."""
    sizes = np.diff(errors.bounds)
    chosen = [_evenly(int(n), ROW_ERROR_ROWS) for n in sizes]
    counts = np.array([len(c) for c in chosen], dtype=np.int64)
    keys, spans, chunks, position = [], [], [], 0
    for (model, window), _ in sorted(errors.offsets.items()):
        values = errors.get(model, window)[chosen[window]]
        if errors.loss == "error_rate":
            stored = np.packbits(values.astype(np.uint8))
        else:
            stored = values.astype(np.float16)
        keys.append((model, window))
        spans.append((position, position + stored.shape[0]))
        position += stored.shape[0]
        chunks.append(stored)
    dtype = np.uint8 if errors.loss == "error_rate" else np.float16
    data = np.concatenate(chunks) if chunks else np.zeros(0, dtype=dtype)
    return (
        counts,
        np.array(keys, dtype=np.int64).reshape(-1, 2),
        np.array(spans, dtype=np.int64).reshape(-1, 2),
        data,
    )


def _versions() -> dict[str, str]:
    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "not installed"

    packages = ("numpy", "pandas", "scikit-learn", "river")
    return {"python": platform.python_version(), **{p: version(p) for p in packages}}
