"""Drift scores that are right for every column type (issue 11, defect 9).

- Non-scalar values (lists, tuples, arrays, sets, dicts) are compared by one canonical text, so
  a list column and the Parquet arrays it comes back as are the same data (score 0, nothing
  unseen).
- The share of unseen values counts in the categorical score, also for high-cardinality
  columns whose values are not listed: disjoint ids score about 1, not 0.
- Identifier-like columns are named as such (``DriftReport.identifiers`` and ``notes``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlflow_staleness.data_files import read_table
from mlflow_staleness.fingerprint import DISTINCT_K, DataFingerprint, distance


def _fp(**columns: object) -> DataFingerprint:
    return DataFingerprint.from_frame(pd.DataFrame(columns))


def _ids(prefix: str, n: int, start: int = 0) -> list[str]:
    return [f"{prefix}{i}" for i in range(start, start + n)]


# ---------------------------------------------------------------------------------- non-scalars
def test_a_list_column_and_its_parquet_arrays_are_the_same_data(tmp_path) -> None:
    frame = pd.DataFrame({"tags": [[1, 2], [3], [1, 2], [4, 5, 6]] * 25, "x": np.arange(100.0)})
    frame.to_parquet(tmp_path / "lists.parquet")
    back = read_table(tmp_path / "lists.parquet")
    assert isinstance(back["tags"].iloc[0], np.ndarray)
    report = distance(DataFingerprint.from_frame(frame), DataFingerprint.from_frame(back))
    assert report.columns["tags"] == 0.0
    assert report.unseen == {}
    assert DataFingerprint.from_frame(back).columns["tags"].counts == {
        "[1, 2]": 50,
        "[3]": 25,
        "[4, 5, 6]": 25,
    }


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ([(1, 2), (3,)], [[1, 2], [3]]),
        ([np.array([1.5, 2.0]), np.array([3.0])], [[1.5, 2.0], [3.0]]),
        ([{"b": 1, "a": [2]}, {"a": None}], [{"a": [2], "b": 1}, {"a": None}]),
        ([{3, 1, 2}, frozenset()], [{1, 2, 3}, set()]),
        ([[np.int64(1), [np.float64(2.5)]]], [[1, [2.5]]]),
    ],
)
def test_containers_of_equal_content_are_one_value(left: list, right: list) -> None:
    a = _fp(v=pd.Series(left * 10, dtype=object))
    b = _fp(v=pd.Series(right * 10, dtype=object))
    assert a.columns["v"].counts == b.columns["v"].counts
    assert distance(a, b).columns["v"] == 0.0


def test_an_arrow_list_column_is_fingerprinted_like_its_python_lists() -> None:
    arrow = pd.Series([[1, 2], [3], None] * 10, dtype=pd.ArrowDtype(pa.list_(pa.int64())))
    python = pd.Series([[1, 2], [3], None] * 10, dtype=object)
    a, b = _fp(v=arrow), _fp(v=python)
    assert a.columns["v"].counts == b.columns["v"].counts == {"[1, 2]": 10, "[3]": 10}
    assert a.columns["v"].n_missing == 10
    assert distance(a, b).columns["v"] == 0.0


# ---------------------------------------------------------------------------------- unseen values
def test_disjoint_high_cardinality_ids_score_about_one_and_are_named_identifiers() -> None:
    n = 100_000
    report = distance(_fp(id=_ids("u", n)), _fp(id=_ids("v", n)))
    assert report.columns["id"] >= 0.95
    assert report.unseen["id"] >= 0.95
    assert report.identifiers == ("id",)
    assert "'id' looks like an identifier" in report.notes[0]
    assert report.score >= 0.95


def test_the_same_ids_score_zero() -> None:
    ids = _ids("u", 50_000)
    report = distance(_fp(id=ids), _fp(id=list(reversed(ids))))
    assert report.columns["id"] == 0.0
    assert report.unseen == {}


@pytest.mark.parametrize("new", [0.1, 0.5, 0.9])
def test_the_unseen_share_of_partly_new_ids_is_estimated(new: float) -> None:
    n = 40_000
    kept = round(n * (1 - new))
    current = _ids("u", kept) + _ids("w", n - kept)
    report = distance(_fp(id=_ids("u", n)), _fp(id=current))
    assert report.unseen["id"] == pytest.approx(new, abs=0.12)
    assert report.columns["id"] == pytest.approx(new, abs=0.12)


def test_a_new_category_in_a_listed_column_counts_exactly() -> None:
    reference = _fp(plan=["free", "pro"] * 500)
    current = _fp(plan=["free", "pro", "team", "team"] * 250)
    report = distance(reference, current)
    assert report.unseen == {"plan": 0.5}
    assert report.columns["plan"] == 0.5
    assert report.identifiers == ()


def test_a_vanished_high_cardinality_value_set_counts_too() -> None:
    """The score is symmetric in what is new and what is gone."""
    a = _fp(id=_ids("u", 20_000))
    b = _fp(id=["same"] * 20_000)
    assert distance(a, b).columns["id"] >= 0.95
    assert distance(b, a).columns["id"] >= 0.95


def test_merged_fingerprints_keep_the_distinct_sketch_of_the_whole() -> None:
    ids = _ids("u", 30_000)
    whole = _fp(id=ids)
    halves = _fp(id=ids[:15_000]).merge(_fp(id=ids[15_000:]))
    streamed = DataFingerprint.from_batches(
        pd.DataFrame({"id": ids[i : i + 1000]}) for i in range(0, 30_000, 1000)
    )
    assert whole.columns["id"].distinct == halves.columns["id"].distinct
    assert whole.columns["id"].distinct == streamed.columns["id"].distinct
    assert len(whole.columns["id"].distinct) == DISTINCT_K


def test_the_distinct_sketch_round_trips_and_a_listed_column_has_none() -> None:
    fp = _fp(id=_ids("u", 5_000), plan=["free", "pro"] * 2_500)
    assert DataFingerprint.from_json(fp.to_json()) == fp
    assert fp.columns["plan"].distinct is None
    assert fp.columns["id"].distinct is not None


def test_an_old_fingerprint_without_the_sketch_still_compares() -> None:
    fp = _fp(id=_ids("u", 5_000))
    document = fp.to_dict()
    del document["columns"][0]["distinct"]
    old = DataFingerprint.from_dict(document)
    report = distance(old, _fp(id=_ids("v", 5_000)))
    assert 0.0 <= report.columns["id"] <= 1.0  # unknown overlap: counted as none new


def test_distance_stays_fast_on_wide_high_cardinality_data() -> None:
    import time

    rng = np.random.default_rng(0)
    columns = {f"c{i}": rng.integers(0, 10**9, 5_000).astype(str) for i in range(200)}
    a = DataFingerprint.from_frame(pd.DataFrame(columns))
    b = DataFingerprint.from_frame(pd.DataFrame({k: v[::-1] for k, v in columns.items()}))
    start = time.perf_counter()
    report = distance(a, b)
    assert time.perf_counter() - start < 1.0
    assert report.score == 0.0


# ---------------------------------------------------------------------------------- properties
VALUES = st.lists(st.sampled_from([f"v{i}" for i in range(30)]), min_size=1, max_size=300)


@settings(max_examples=200, deadline=None)
@given(left=VALUES, right=VALUES)
def test_a_categorical_score_lies_in_0_1_and_bounds_the_exact_unseen_share(
    left: list[str], right: list[str]
) -> None:
    a, b = _fp(v=left), _fp(v=right)
    score = distance(a, b).columns["v"]
    assert 0.0 <= score <= 1.0
    new = sum(value not in set(left) for value in right) / len(right)
    gone = sum(value not in set(right) for value in left) / len(left)
    assert score >= max(new, gone) - 1e-12
    assert distance(a, a).columns["v"] == 0.0


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(2_000, 20_000),
    overlap=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**16),
)
def test_the_estimated_unseen_share_of_ids_is_close_to_the_truth(
    n: int, overlap: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    reference = [f"u{i}" for i in rng.permutation(n)]
    kept = round(n * overlap)
    current = reference[:kept] + _ids("w", n - kept)
    report = distance(_fp(id=reference), _fp(id=current))
    assert report.unseen.get("id", 0.0) == pytest.approx(1 - overlap, abs=0.15)


# ---------------------------------------------------------------------------------- fuzzing
ODD_NAMES = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["x\x1b]0;t\x07", "o'brien", 'a"b', "[[[", "{}", "x.1", " ", "ü✓", "\n"]),
)
SCALARS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**63), 2**63 - 1),
    st.text(max_size=8),
    st.none(),
    st.booleans(),
)
NESTED = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3), max_leaves=6)


@st.composite
def odd_frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 30))
    names = draw(st.lists(ODD_NAMES, min_size=1, max_size=4, unique_by=str))
    columns = {}
    for name in names:
        kind = draw(st.sampled_from(["float", "int", "text", "object", "nested", "datetime"]))
        if kind == "float":
            values = draw(
                st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=n, max_size=n)
            )
            columns[name] = pd.Series(values, dtype="float64")
        elif kind == "int":
            values = draw(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=n, max_size=n))
            columns[name] = pd.Series(values, dtype="int64")
        elif kind == "text":
            columns[name] = pd.Series(draw(st.lists(st.text(max_size=6), min_size=n, max_size=n)))
        elif kind == "object":
            columns[name] = pd.Series(draw(st.lists(SCALARS, min_size=n, max_size=n)), dtype=object)
        elif kind == "nested":
            columns[name] = pd.Series(draw(st.lists(NESTED, min_size=n, max_size=n)), dtype=object)
        else:
            seconds = draw(st.lists(st.integers(-(2**40), 2**40), min_size=n, max_size=n))
            columns[name] = pd.to_datetime(pd.Series(seconds), unit="s")
    return pd.DataFrame(columns)


@settings(max_examples=400, deadline=None)
@given(left=odd_frames(), right=odd_frames())
def test_any_frame_fingerprints_round_trips_and_compares_or_is_refused_in_one_line(
    left: pd.DataFrame, right: pd.DataFrame
) -> None:
    from mlflow_staleness.exceptions import InvalidInputError

    fingerprints = []
    for frame in (left, right):
        try:
            fingerprint = DataFingerprint.from_frame(frame)
        except InvalidInputError as exc:
            refusal = str(exc)
        else:
            assert DataFingerprint.from_json(fingerprint.to_json()) == fingerprint
            fingerprints.append(fingerprint)
            continue
        assert len(refusal.splitlines()) == 1, refusal
        return
    a, b = fingerprints
    assert distance(a, a).score == 0.0
    report = distance(a, b)
    for name, score in report.columns.items():
        assert np.isfinite(score), (name, score)
        assert score >= 0.0, (name, score)
        if a.columns[name].kind == "categorical":
            assert score <= 1.0
