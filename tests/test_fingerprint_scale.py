"""Specification of fingerprinting at scale: counted sketches, Arrow batches, parallel reads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlflow_staleness._sketch import QuantileSketch
from mlflow_staleness.data_files import fingerprint_file
from mlflow_staleness.exceptions import InvalidInputError
from mlflow_staleness.fingerprint import DataFingerprint, NumericColumn

PROBABILITIES = np.linspace(0.0, 1.0, 501)


def worst_rank_gap(data: np.ndarray, estimates: np.ndarray, q: np.ndarray) -> float:
    """Largest distance from ``q`` to the estimate's rank interval ``[#<x, #<=x] / n``."""
    finite = np.sort(data[np.isfinite(data)])
    n = finite.shape[0]
    below = np.searchsorted(finite, estimates, side="left") / n
    at_or_below = np.searchsorted(finite, estimates, side="right") / n
    return float(np.max(np.maximum(np.maximum(below - q, q - at_or_below), 0.0)))


def mixed(n: int, seed: int) -> pd.DataFrame:
    """Every path of the reader: flags, narrow and wide integers, negative integers, floats
    with NaN and inf, integral floats, an integer column with nulls, text and datetimes."""
    rng = np.random.default_rng(seed)
    gappy = pd.array(rng.integers(0, 50, n), dtype="Int64")
    gappy[rng.random(n) < 0.05] = pd.NA
    floats = rng.normal(0.0, 1.0, n)
    floats[rng.random(n) < 0.03] = np.nan
    floats[rng.random(n) < 0.01] = np.inf
    return pd.DataFrame(
        {
            "flag": rng.integers(0, 2, n),
            "small": rng.integers(-40, 300, n).astype(np.int32),
            "wide": rng.integers(0, 10**9, n),
            "unsigned": rng.integers(0, 1000, n).astype(np.uint64),
            "floats": floats,
            "integral": rng.integers(0, 20, n).astype(float),
            "gappy": gappy,
            "text": rng.choice(["a", "b", "c"], n),
            "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 10**6, n), "s"),
        }
    )


# ---------------------------------------------------------------------------- counted sketches
@given(st.lists(st.integers(-1000, 1000), min_size=1, max_size=300))
def test_a_counted_sketch_holds_every_value_with_its_exact_ranks(data: list[int]) -> None:
    x = np.sort(np.asarray(data, dtype=float))
    values, counts = np.unique(x, return_counts=True)
    sketch = QuantileSketch.from_counts(values, counts)
    sketch.validate()
    assert sketch.error == 0.0
    assert sketch.values.tolist() == values.tolist()
    assert sketch.l_hi.tolist() == np.searchsorted(x, values, side="left").tolist()
    assert sketch.u_lo.tolist() == np.searchsorted(x, values, side="right").tolist()


def test_integer_columns_with_few_values_are_summarised_exactly() -> None:
    x = np.random.default_rng(0).integers(0, 360, 50_000)
    fp = DataFingerprint.from_batches(pd.DataFrame({"x": part}) for part in np.split(x, 10))
    column = fp.columns["x"]
    assert isinstance(column, NumericColumn)
    assert worst_rank_gap(x.astype(float), column.quantile(PROBABILITIES), PROBABILITIES) <= (
        column.rank_error + 1e-12
    )
    assert column.rank_error <= 0.005
    assert column.mean == pytest.approx(x.mean(), rel=1e-12)
    assert column.std == pytest.approx(x.std(), rel=1e-12)


def test_a_narrow_range_far_from_zero_is_counted_without_a_huge_table() -> None:
    x = 10**12 + np.random.default_rng(1).integers(0, 100, 10_000)
    fp = DataFingerprint.from_frame(pd.DataFrame({"x": x}))
    assert (fp.columns["x"].min, fp.columns["x"].max) == (float(x.min()), float(x.max()))
    assert fp.quantile("x", 0.5) == pytest.approx(np.median(x), abs=5)


# ---------------------------------------------------------------------------- Arrow batches
@pytest.mark.parametrize("rows", [1, 999, 5000])
def test_record_batches_give_the_fingerprint_of_their_frames(rows: int) -> None:
    table = pa.Table.from_pandas(mixed(rows, seed=rows), preserve_index=False)
    batches = table.to_batches(max_chunksize=700)
    from_arrow = DataFingerprint.from_batches(batches)
    from_pandas = DataFingerprint.from_batches(batch.to_pandas() for batch in batches)
    assert from_arrow == from_pandas
    assert from_arrow.digest == from_pandas.digest


def test_record_batches_with_a_pandas_index_leave_the_index_out_like_to_pandas() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0]}, index=pd.Index([10, 11, 12], name="id"))
    batch = pa.RecordBatch.from_pandas(frame)
    assert DataFingerprint.from_batches([batch]) == DataFingerprint.from_frame(frame)


def test_record_batches_with_duplicate_names_are_refused_naming_them() -> None:
    batch = pa.RecordBatch.from_arrays([pa.array([1]), pa.array([2])], names=["a", "a"])
    with pytest.raises(InvalidInputError, match=r"duplicate column names \['a'\]"):
        DataFingerprint.from_batches([batch])


# ---------------------------------------------------------------------------- parallel files
@settings(max_examples=10, deadline=None)
@given(
    rows=st.integers(1, 4000),
    group=st.integers(50, 1500),
    chunk=st.integers(20, 2000),
    workers=st.integers(1, 5),
)
def test_a_parquet_file_in_any_split_is_within_the_certified_error(
    tmp_path_factory: pytest.TempPathFactory, rows: int, group: int, chunk: int, workers: int
) -> None:
    frame = mixed(rows, seed=rows)
    path = tmp_path_factory.mktemp("split") / "data.parquet"
    frame.to_parquet(path, index=False, row_group_size=group)
    got, n = fingerprint_file(path, chunk_rows=chunk, workers=workers, progress=False)
    whole = DataFingerprint.from_frame(pd.read_parquet(path))
    assert n == rows == got.n_rows
    assert got.schema == whole.schema
    for name, expected in whole.columns.items():
        column = got.columns[name]
        if not isinstance(expected, NumericColumn):
            assert column == expected
            continue
        assert isinstance(column, NumericColumn)
        assert (column.n_missing, column.n_inf, column.min, column.max) == (
            expected.n_missing,
            expected.n_inf,
            expected.min,
            expected.max,
        )
        data = frame[name].to_numpy(dtype=float, na_value=np.nan)
        if name == "when":
            data = (frame[name] - pd.Timestamp(0)).dt.total_seconds().to_numpy()
        gap = worst_rank_gap(data, column.quantile(PROBABILITIES), PROBABILITIES)
        assert gap <= column.rank_error + 1e-12 <= 0.005 + 1e-12


def test_workers_do_not_change_a_file_of_integers(tmp_path: Path) -> None:
    # Narrow integers are counted exactly, so the split into threads changes no sketch (the
    # moments are added in another order, which moves their last digit at most).
    x = np.random.default_rng(2).integers(0, 500, 20_000)
    path = tmp_path / "ints.parquet"
    pq.write_table(pa.table({"x": x, "y": x % 7}), path, row_group_size=1000)
    one, _ = fingerprint_file(path, workers=1, chunk_rows=300)
    three, _ = fingerprint_file(path, workers=3, chunk_rows=300)
    for name in ("x", "y"):
        a, b = one.columns[name], three.columns[name]
        assert isinstance(a, NumericColumn)
        assert isinstance(b, NumericColumn)
        assert a.sketch == b.sketch
        assert a.sketch.error <= 0.005
        assert (a.mean, a.std) == pytest.approx((b.mean, b.std), rel=1e-12)


def test_workers_must_be_a_positive_integer(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    pq.write_table(pa.table({"x": [1, 2]}), path)
    with pytest.raises(InvalidInputError, match="workers must be an integer >= 1, got 0"):
        fingerprint_file(path, workers=0)
