"""Data builders for the bad-input catalogue (``tests/test_bad_input_catalogue.py``).

Frames, data files and fingerprint artifacts, good and bad. Nothing here talks to MLflow except
:func:`replace_fingerprint` and :func:`set_version_status`, which put a registry into a state
that the catalogue then advises on.

The reference of every model in the catalogue has three float features ``x1..x3``, a categorical
``plan`` (``free`` / ``pro``) and an integer label; a window's data adds the served version's
predictions ``pred`` (wrong on 10% of the rows), so the advisor never loads a model.
"""

from __future__ import annotations

import base64
import contextlib
import json
import sqlite3
import tempfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from registry_helpers import client_for, predictions_with_error

__all__ = [
    "BOTH_QUOTES_NAME",
    "COLOUR",
    "FEATURES",
    "LABEL",
    "LONG_CURRENCY",
    "MAX_FINGERPRINT_BYTES",
    "OSC_TITLE",
    "PRED",
    "QUOTE_NAME",
    "bad_fingerprint",
    "column_frames",
    "probabilities_of",
    "reference_frame",
    "replace_fingerprint",
    "set_version_status",
    "window_frame",
    "with_hostile_column",
    "with_lists_and_ids",
    "with_long_name",
    "with_long_values",
    "with_many_columns",
    "write_files",
]

FEATURES = ("x1", "x2", "x3", "plan")
LABEL = "label"
PRED = "pred"
PLANS = ("free", "pro")
#: The bound the issue sets on a fingerprint artifact the advisor will read.
MAX_FINGERPRINT_BYTES = 16 * 1024 * 1024
FINGERPRINT_PATH = "staleness/fingerprint.json"
#: Terminal control sequences a column or category name may carry (issue 11, defect 7).
OSC_TITLE = "\x1b]0;pwned\x07"
COLOUR = "\x1b[31mred\x1b[0m"
#: Model names that MLflow's filter parser cannot take with backslash escapes (defect 5).
QUOTE_NAME = "o'brien \\ 50%_off"
#: Over-long values (defect 1): new text values of 40,000 characters, a feature name of 25,000,
#: many categorical columns with unseen values, a currency of 120,000 characters.
LONG_VALUE = 40_000
LONG_NAME = "f" * 25_000
MANY_COLUMNS = 1_500
LONG_CURRENCY = "C" * 120_000
BOTH_QUOTES_NAME = 'it\'s "both" \\'


# ---------------------------------------------------------------------------------- frames
def reference_frame(n: int = 300, seed: int = 1) -> pd.DataFrame:
    """The validation data of a version: features and an integer 0/1 label."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({name: rng.normal(size=n) for name in FEATURES[:3]})
    frame["plan"] = pd.Series(rng.choice(PLANS, size=n), dtype=object)
    frame[LABEL] = (frame["x1"] + frame["x2"] > 0).astype("int64")
    return frame


def window_frame(n: int = 200, seed: int = 2, error_rate: float = 0.1) -> pd.DataFrame:
    """One window's data like the reference, with the served version's predictions."""
    frame = reference_frame(n, seed)
    predictions = predictions_with_error(frame[LABEL], error_rate, seed=seed)
    frame[PRED] = predictions.astype("int64")
    return frame


def probabilities_of(classes: pd.Series, seed: int = 0) -> np.ndarray:
    """Probabilities of class 1 that threshold (at 0.5) to ``classes`` (defect 3)."""
    rng = np.random.default_rng(seed)
    n = len(classes)
    return np.where(classes == 1, rng.uniform(0.55, 0.95, n), rng.uniform(0.05, 0.45, n))


def with_lists_and_ids(frame: pd.DataFrame, *, arrays: bool, id_prefix: str) -> pd.DataFrame:
    """``frame`` with a list column (Python lists, or the numpy arrays Parquet gives back) and
    a unique id per row (defect 9)."""
    lists = [[1, 2], [3], [4, 5, 6]]
    values = [np.array(v) if arrays else list(v) for v in lists]
    out = frame.copy()
    out["tags"] = pd.Series([values[i % 3] for i in range(len(out))], dtype=object)
    out["user_id"] = [f"{id_prefix}{i}" for i in range(len(out))]
    return out


def with_hostile_column(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a categorical column whose name carries an OSC sequence (defect 7)."""
    out = frame.copy()
    out[f"note{OSC_TITLE}"] = pd.Series(["a", "b"] * (len(out) // 2), dtype=object)
    return out


def with_long_values(frame: pd.DataFrame, *, new: bool) -> pd.DataFrame:
    """``frame`` with a text column ``note``: ``a``/``b`` in a reference; with ``new``, three
    values of 40,000 characters the reference never saw (defect 1)."""
    values = [c * LONG_VALUE for c in "xyz"] if new else ["a", "b"]
    out = frame.copy()
    out["note"] = pd.Series([values[i % len(values)] for i in range(len(out))], dtype=object)
    return out


def with_long_name(frame: pd.DataFrame, *, shift: float) -> pd.DataFrame:
    """``frame`` with a numeric feature named by 25,000 characters, moved by ``shift``."""
    rng = np.random.default_rng(17)
    return frame.assign(**{LONG_NAME: rng.normal(loc=shift, size=len(frame))})


def with_many_columns(frame: pd.DataFrame, value: str) -> pd.DataFrame:
    """``frame`` with 1,500 categorical columns holding ``value`` (a window gives another one:
    every column has an unseen category)."""
    extra = pd.DataFrame(
        {f"c{i:04d}": pd.Series([value] * len(frame), dtype=object) for i in range(MANY_COLUMNS)},
        index=frame.index,
    )
    return pd.concat([frame, extra], axis=1)


def column_frames() -> dict[str, pd.DataFrame]:
    """Window data with one bad or unusual column each, keyed by catalogue case id."""
    good = window_frame()
    n = len(good)
    rng = np.random.default_rng(7)

    mixed = good["x1"].astype(object)
    mixed.iloc[::3] = "twelve"  # strings and floats in one object column (not a NaN token)
    infinite = good["x3"].copy()
    infinite.iloc[::10] = np.inf
    infinite.iloc[5::10] = -np.inf
    unseen = good["plan"].copy()
    unseen.iloc[: int(0.6 * n)] = "enterprise"  # a category the reference never saw
    return {
        "missing-column": good.drop(columns=["x2"]),
        "renamed-column": good.rename(columns={"x3": "x3_renamed"}),
        "changed-type": good.assign(x1=good["x1"].map(lambda v: f"{v:.6f}").astype(object)),
        "all-nan-column": good.assign(x2=np.nan),
        "infinities": good.assign(x3=infinite),
        "mixed-types": good.assign(x1=mixed),
        "labels-all-nan": good.assign(**{LABEL: np.nan}),
        "unseen-categories": good.assign(plan=unseen),
        "extra-columns": good.assign(
            extra_number=rng.normal(size=n),
            extra_text=pd.Series(rng.choice(["a", "b", "c"], size=n), dtype=object),
        ),
        "hostile-names": good.assign(
            plan=pd.Series([COLOUR, "free"] * (n // 2), dtype=object),
            **{f"extra{OSC_TITLE}": rng.normal(size=n)},
        ),
        "lists-and-new-ids": with_lists_and_ids(good, arrays=True, id_prefix="new-"),
        "long-values": with_long_values(good, new=True),
        "long-name": with_long_name(good, shift=3.0),
        "many-columns": with_many_columns(good, "new"),
        # issue 11, defect 3: labels and predictions of other types than each other
        "labels-yes-no": good.assign(
            **{LABEL: good[LABEL].map({1: "yes", 0: "no"}).astype(object)}
        ),
        "predictions-as-text": good.assign(**{PRED: good[PRED].astype(str).astype(object)}),
        "probabilities": good.assign(**{PRED: probabilities_of(good[PRED], seed=3)}),
        "flipped-predictions": good.assign(**{PRED: 1 - good[PRED]}),  # an error rate of 0.9
    }


# ---------------------------------------------------------------------------------- files
def write_files(folder: Path) -> dict[str, Path]:
    """Every data file of the catalogue, good and bad, under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    good = window_frame()
    files: dict[str, Path] = {}

    def parquet(key: str, frame: pd.DataFrame) -> None:
        files[key] = folder / f"{key}.parquet"
        frame.to_parquet(files[key], index=False)

    def raw(key: str, name: str, payload: bytes) -> None:
        files[key] = folder / name
        files[key].write_bytes(payload)

    parquet("good", good)
    parquet("features-only", good.drop(columns=[LABEL, PRED]))
    files["missing"] = folder / "no-such-file.parquet"
    raw("empty", "empty.parquet", b"")
    raw("header-only", "header-only.csv", (",".join(good.columns) + "\n").encode())
    parquet("zero-rows", good.iloc[:0])
    whole = files["good"].read_bytes()
    raw("truncated-parquet", "truncated.parquet", whole[: len(whole) // 2])
    noise = np.random.default_rng(11).integers(0, 256, size=4096, dtype=np.uint8).tobytes()
    raw("corrupt-parquet", "corrupt.parquet", noise)
    accented = good.assign(plan=good["plan"].map({"free": "gratuité", "pro": "entreprisé"}))
    raw("latin-1", "latin-1.csv", accented.to_csv(index=False).encode("latin-1"))
    raw("utf-16", "utf-16.csv", good.to_csv(index=False).encode("utf-16"))
    raw("semicolon", "semicolon.csv", good.to_csv(index=False, sep=";").encode())
    raw("wrong-suffix", "data.xlsx", good.to_csv(index=False).encode())
    doubled = good.to_csv(index=False).splitlines()
    doubled[0] = doubled[0].replace("x2", "x3")  # a header naming x3 twice
    raw("duplicate-header", "duplicate-header.csv", ("\n".join(doubled) + "\n").encode())
    for key, frame in column_frames().items():
        if key == "mixed-types":
            # pyarrow cannot store strings and floats in one column; CSV can
            files[key] = folder / f"{key}.csv"
            frame.to_csv(files[key], index=False)
        else:
            parquet(key, frame)
    return files


# ---------------------------------------------------------------------------------- fingerprints
def bad_fingerprint(kind: str, original: bytes) -> bytes:
    """A fingerprint artifact gone wrong, made from a good one (``original``, as logged)."""
    document: dict[str, Any] = json.loads(original)
    if kind == "corrupt":
        noise = np.random.default_rng(5).integers(0, 256, size=2048, dtype=np.uint8).tobytes()
        return b"\x00not json at all\xff" + noise
    if kind == "oversized":
        # a well-formed fingerprint with one extra field, 17 MB in all
        document["padding"] = "x" * (MAX_FINGERPRINT_BYTES + 1024 * 1024)
        return json.dumps(document).encode()
    if kind == "nested":
        depth = 100_000
        head = json.dumps({k: v for k, v in document.items() if k != "columns"})[:-1]
        return (head + ', "columns": ' + "[" * depth + "]" * depth + "}").encode()
    if kind == "newer":
        document["format_version"] = 99
        return json.dumps(document).encode()
    if kind == "wrong-types":
        document["columns"] = ",".join(FEATURES)
        return json.dumps(document).encode()
    if kind == "zlib-bomb":
        # a sketch array of 1.4 KB that inflates to 1 GiB (it took an advisor to 3.4 GB)
        packer = zlib.compressobj(9)
        chunk = b"\0" * (1 << 24)
        parts = [packer.compress(chunk) for _ in range(64)] + [packer.flush()]
        numeric = next(c for c in document["columns"] if c["kind"] == "numeric")
        numeric["sketch"]["values"] = base64.b64encode(b"".join(parts)).decode("ascii")
        return json.dumps(document).encode()
    if kind == "huge-count":
        document["n_rows"] = 10**30
        return json.dumps(document).encode()
    raise ValueError(f"unknown fingerprint kind {kind!r}")


def replace_fingerprint(uri: str, run_id: str, kind: str) -> None:
    """Overwrite the run's ``staleness/fingerprint.json`` with a bad one of ``kind``."""
    client = client_for(uri)
    with tempfile.TemporaryDirectory() as tmp:
        original = Path(client.download_artifacts(run_id, FINGERPRINT_PATH, tmp)).read_bytes()
    bad = bad_fingerprint(kind, original)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fingerprint.json"
        path.write_bytes(bad)
        client.log_artifact(run_id, str(path), artifact_path="staleness")
    with tempfile.TemporaryDirectory() as tmp:
        stored = Path(client.download_artifacts(run_id, FINGERPRINT_PATH, tmp)).read_bytes()
    assert stored == bad, "the bad fingerprint did not replace the good one"


# ---------------------------------------------------------------------------------- registry
def set_version_status(backend_store_uri: str, name: str, version: str, status: str) -> None:
    """Set a model version's registration status in the server's SQLite store.

    MLflow has no API for it: a version is created ``READY`` at once by the server's own store,
    and only an asynchronous (external) store would report ``PENDING_REGISTRATION`` or
    ``FAILED_REGISTRATION``. Updating the ``model_versions.status`` column is the way to produce
    that registry state; the server reads the column afresh on every request.
    """
    path = backend_store_uri.removeprefix("sqlite:///")
    with contextlib.closing(sqlite3.connect(path, timeout=60)) as db, db:
        changed = db.execute(
            "UPDATE model_versions SET status = ? WHERE name = ? AND version = ?",
            (status, name, int(version)),
        ).rowcount
    assert changed == 1, f"no version {version} of {name!r} in {path}"
