"""Specification of the data fingerprint: sketch accuracy, merging, serialisation, distance."""

from __future__ import annotations

import dataclasses
import json
import pickle
import random

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlflow_staleness.exceptions import InvalidInputError, SchemaMismatchError
from mlflow_staleness.fingerprint import (
    CategoricalColumn,
    ColumnType,
    DataFingerprint,
    DriftReport,
    NumericColumn,
    check_schema,
    distance,
)

RANK_ERROR = 0.01
PROBABILITIES = np.linspace(0.0, 1.0, 1001)
DISTRIBUTIONS = ["normal", "lognormal", "integers_with_ties", "mixture"]


def sample(distribution: str, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if distribution == "normal":
        return rng.normal(3.0, 2.0, n)
    if distribution == "lognormal":
        return rng.lognormal(0.0, 2.0, n)
    if distribution == "integers_with_ties":
        return rng.integers(0, 12, n).astype(float)
    # A mixture: a normal bump, an exponential tail and a point mass at 0.
    component = rng.choice(3, size=n, p=[0.4, 0.4, 0.2])
    return np.select(
        [component == 0, component == 1], [rng.normal(-5.0, 1.0, n), rng.exponential(3.0, n)], 0.0
    )


def worst_rank_gap(data: np.ndarray, estimates: np.ndarray, q: np.ndarray) -> float:
    """Largest distance from ``q`` to the estimate's rank interval ``[#<x, #<=x] / n``."""
    finite = np.sort(data[np.isfinite(data)])
    n = finite.shape[0]
    below = np.searchsorted(finite, estimates, side="left") / n
    at_or_below = np.searchsorted(finite, estimates, side="right") / n
    return float(np.max(np.maximum(np.maximum(below - q, q - at_or_below), 0.0)))


def frame(**columns: object) -> pd.DataFrame:
    return pd.DataFrame(columns)


def fingerprint_of(**columns: object) -> DataFingerprint:
    return DataFingerprint.from_frame(frame(**columns))


# ------------------------------------------------------------------------------ sketch accuracy
@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_from_frame_quantiles_are_within_rank_error(distribution: str) -> None:
    x = sample(distribution, 40_000, seed=1)
    fp = fingerprint_of(x=x)
    estimates = fp.quantile("x", PROBABILITIES)
    assert worst_rank_gap(x, estimates, PROBABILITIES) <= fp.columns["x"].rank_error + 1e-12
    assert fp.columns["x"].rank_error <= 0.005


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_from_batches_with_200_small_batches_stays_within_rank_error(distribution: str) -> None:
    x = sample(distribution, 200 * 250, seed=2)
    fp = DataFingerprint.from_batches(frame(x=part) for part in np.split(x, 200))
    estimates = fp.quantile("x", PROBABILITIES)
    assert worst_rank_gap(x, estimates, PROBABILITIES) <= RANK_ERROR
    assert fp.columns["x"].rank_error <= 0.005


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_from_batches_matches_from_frame_within_rank_error(distribution: str) -> None:
    x = sample(distribution, 30_000, seed=3)
    x[::97] = np.nan
    df = frame(x=x, c=np.where(x > 1.0, "high", "low"))
    whole = DataFingerprint.from_frame(df)
    batched = DataFingerprint.from_batches(df.iloc[i : i + 700] for i in range(0, len(df), 700))
    for fp in (whole, batched):
        assert worst_rank_gap(x, fp.quantile("x", PROBABILITIES), PROBABILITIES) <= RANK_ERROR
    assert batched.n_rows == whole.n_rows
    assert batched.columns["x"].n_missing == whole.columns["x"].n_missing
    assert (batched.columns["x"].min, batched.columns["x"].max) == (
        whole.columns["x"].min,
        whole.columns["x"].max,
    )
    assert batched.columns["x"].mean == pytest.approx(whole.columns["x"].mean, rel=1e-9)
    assert batched.columns["c"] == whole.columns["c"]


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_merge_tree_of_8_partitions_stays_within_rank_error(distribution: str) -> None:
    rng = np.random.default_rng(4)
    parts = [sample(distribution, int(rng.integers(1_000, 12_000)), seed=10 + i) for i in range(8)]
    level = [fingerprint_of(x=part) for part in parts]
    while len(level) > 1:
        level = [level[i].merge(level[i + 1]) for i in range(0, len(level), 2)]
    merged, data = level[0], np.concatenate(parts)
    assert merged.n_rows == data.shape[0]
    assert worst_rank_gap(data, merged.quantile("x", PROBABILITIES), PROBABILITIES) <= RANK_ERROR
    assert merged.columns["x"].rank_error <= RANK_ERROR


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 400), min_size=2, max_size=12),
    order=st.randoms(use_true_random=False),
    distribution=st.sampled_from(DISTRIBUTIONS),
)
def test_certified_rank_error_holds_for_any_merge_order(
    sizes: list[int], order: random.Random, distribution: str
) -> None:
    parts = [sample(distribution, size, seed=i) for i, size in enumerate(sizes)]
    pool = [fingerprint_of(x=part) for part in parts]
    while len(pool) > 1:  # merge two random fingerprints until one is left
        a = pool.pop(order.randrange(len(pool)))
        b = pool.pop(order.randrange(len(pool)))
        pool.append(a.merge(b))
    merged, data = pool[0], np.concatenate(parts)
    gap = worst_rank_gap(data, merged.quantile("x", PROBABILITIES), PROBABILITIES)
    assert gap <= merged.columns["x"].rank_error + 1e-12
    assert merged.columns["x"].rank_error <= RANK_ERROR


def test_merge_chain_of_50_partitions_stays_within_rank_error_and_small() -> None:
    parts = [sample("lognormal", 2_000, seed=100 + i) for i in range(50)]
    merged = fingerprint_of(x=parts[0])
    for part in parts[1:]:
        merged = merged.merge(fingerprint_of(x=part))
    data = np.concatenate(parts)
    assert worst_rank_gap(data, merged.quantile("x", PROBABILITIES), PROBABILITIES) <= RANK_ERROR
    assert len(merged.columns["x"].sketch) <= 300


def test_merge_adds_counts_like_the_concatenated_data() -> None:
    rng = np.random.default_rng(5)
    df = frame(
        x=np.where(rng.random(6_000) < 0.1, np.nan, rng.normal(size=6_000)),
        y=np.where(rng.random(6_000) < 0.05, np.inf, rng.exponential(size=6_000)),
        c=rng.choice(["a", "b", "c", None], 6_000),
    )
    whole = DataFingerprint.from_frame(df)
    merged = DataFingerprint.from_frame(df[:2_500]).merge(DataFingerprint.from_frame(df[2_500:]))
    assert merged.n_rows == whole.n_rows
    for name in ("x", "y"):
        a, b = merged.columns[name], whole.columns[name]
        assert (a.n_missing, a.n_inf, a.n_finite, a.min, a.max) == (
            b.n_missing,
            b.n_inf,
            b.n_finite,
            b.min,
            b.max,
        )
        assert (a.mean, a.std) == pytest.approx((b.mean, b.std), rel=1e-9)
    assert merged.columns["c"] == whole.columns["c"]


def test_merge_with_different_columns_raises_schema_mismatch_naming_them() -> None:
    a = fingerprint_of(x=[1.0, 2.0], y=[1.0, 2.0])
    b = fingerprint_of(x=[1.0, 2.0], z=[1.0, 2.0])
    with pytest.raises(SchemaMismatchError, match="'y' missing from the other fingerprint") as info:
        a.merge(b)
    assert info.value.columns == {
        "y": "missing from the other fingerprint",
        "z": "not in this fingerprint",
    }


def test_merge_with_a_changed_kind_raises_schema_mismatch() -> None:
    a = fingerprint_of(x=[1.0, 2.0])
    b = fingerprint_of(x=["1", "2"])
    with pytest.raises(SchemaMismatchError, match=r"'x' type changed: numeric -> categorical"):
        a.merge(b)


def test_merge_refuses_a_non_fingerprint() -> None:
    with pytest.raises(InvalidInputError, match="only merge with a DataFingerprint, got dict"):
        fingerprint_of(x=[1.0]).merge({})


def test_batch_with_an_all_missing_column_takes_the_kind_of_the_other_batches() -> None:
    batches = [frame(c=["a", "b"]), frame(c=[np.nan, np.nan]), frame(c=["a", None])]
    fp = DataFingerprint.from_batches(batches)
    column = fp.columns["c"]
    assert isinstance(column, CategoricalColumn)
    assert (column.n_missing, column.counts) == (3, {"a": 2, "b": 1})


def test_merging_two_all_missing_columns_of_different_kinds_gives_categorical() -> None:
    numeric = fingerprint_of(c=[np.nan])
    text = fingerprint_of(c=pd.Series([None], dtype=object))
    assert numeric.merge(text) == text.merge(numeric)
    assert numeric.merge(text).schema["c"] == ColumnType("categorical", "object")


def test_batch_missing_a_column_raises_schema_mismatch_naming_it() -> None:
    batches = [frame(x=[1.0], y=[2.0]), frame(x=[1.0])]
    with pytest.raises(SchemaMismatchError, match=r"batch 1 .* column 'y' missing from batch 1"):
        DataFingerprint.from_batches(batches)


def test_column_dtype_may_widen_between_batches() -> None:
    fp = DataFingerprint.from_batches([frame(x=[1, 2]), frame(x=[1.5, np.nan])])
    assert fp.schema["x"] == ColumnType("numeric", "float64")
    assert fp.columns["x"].n_missing == 1


# ------------------------------------------------------------------------------ serialisation
@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 25))
    floats = st.floats(allow_nan=True, allow_infinity=True, width=64)
    texts = st.one_of(st.none(), st.text(max_size=6))
    return frame(
        num=draw(st.lists(floats, min_size=n, max_size=n)),
        int=draw(st.lists(st.integers(-(2**40), 2**40), min_size=n, max_size=n)),
        cat=pd.Series(draw(st.lists(texts, min_size=n, max_size=n)), dtype=object),
        flag=draw(st.lists(st.booleans(), min_size=n, max_size=n)),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(df=frames(), top_k=st.integers(1, 5))
def test_json_round_trip_is_exact(df: pd.DataFrame, top_k: int) -> None:
    fp = DataFingerprint.from_frame(df, top_k=top_k)
    back = DataFingerprint.from_json(fp.to_json())
    assert back == fp
    assert back.digest == fp.digest
    assert DataFingerprint.from_dict(fp.to_dict()) == fp


@settings(max_examples=25, deadline=None)
@given(left=frames(), right=frames())
def test_json_round_trip_of_a_merge_is_exact(left: pd.DataFrame, right: pd.DataFrame) -> None:
    merged = DataFingerprint.from_frame(left).merge(DataFingerprint.from_frame(right))
    assert DataFingerprint.from_json(merged.to_json()) == merged


def test_json_of_200_columns_is_under_200_kb() -> None:
    rng = np.random.default_rng(6)
    n = 100_000
    columns = {f"num_{i}": rng.normal(0.0, rng.uniform(0.1, 100.0), n) for i in range(150)}
    labels = np.array([f"category_{j}" for j in range(60)])
    columns |= {f"cat_{i}": labels[rng.integers(0, 60, n)] for i in range(50)}
    text = DataFingerprint.from_frame(pd.DataFrame(columns)).to_json()
    assert len(text.encode("utf-8")) < 200_000


def test_to_dict_holds_a_format_version_and_is_plain_json() -> None:
    data = fingerprint_of(x=[1.0, 2.0], c=["a", "b"]).to_dict()
    assert data["format_version"] == 1
    assert json.loads(json.dumps(data, allow_nan=False)) == data


def test_from_dict_rejects_a_newer_format_version() -> None:
    data = fingerprint_of(x=[1.0, 2.0]).to_dict()
    data["format_version"] = 2
    with pytest.raises(InvalidInputError, match=r"format_version 2, newer than .* reads \(1\)"):
        DataFingerprint.from_dict(data)


def test_from_dict_rejects_a_missing_key() -> None:
    data = fingerprint_of(x=[1.0, 2.0]).to_dict()
    del data["columns"][0]["n_missing"]
    with pytest.raises(InvalidInputError, match="column 'x' is missing the key 'n_missing'"):
        DataFingerprint.from_dict(data)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("n_missing", "3", "n_missing must be an integer in \\[0, 2\\*\\*53\\], got '3'"),
        ("n_missing", True, "n_missing must be an integer in \\[0, 2\\*\\*53\\], got True"),
        ("n_inf", -1, "n_inf must be an integer in \\[0, 2\\*\\*53\\], got -1"),
        ("mean", "high", "mean must be a number, got 'high'"),
        ("kind", "ordinal", "kind 'ordinal'; allowed: \\['numeric', 'categorical'\\]"),
        ("sketch", {"values": "not base64!", "ranks": ""}, "unreadable sketch"),
        ("sketch", [], "sketch must be of type Mapping, got list"),
        ("min", -100.0, "states min/max -100.0"),
    ],
)
def test_from_dict_rejects_a_wrong_field(key: str, value: object, message: str) -> None:
    data = fingerprint_of(x=[1.0, 2.0, 3.0]).to_dict()
    data["columns"][0][key] = value
    with pytest.raises(InvalidInputError, match=message):
        DataFingerprint.from_dict(data)


def test_from_dict_rejects_counts_that_do_not_add_up() -> None:
    data = fingerprint_of(c=["a", "b", "b"]).to_dict()
    data["columns"][0]["counts"] = [5, 1]
    with pytest.raises(InvalidInputError, match="summarises 6 rows, expected n_rows = 3"):
        DataFingerprint.from_dict(data)


def test_from_dict_rejects_a_sketch_that_breaks_its_invariants() -> None:
    a = fingerprint_of(x=[1.0, 2.0, 3.0]).to_dict()
    b = fingerprint_of(x=[3.0, 2.0, 1.0, 0.0]).to_dict()
    a["columns"][0]["sketch"] = b["columns"][0]["sketch"]
    with pytest.raises(InvalidInputError, match=r"unreadable sketch: .*maximum"):
        DataFingerprint.from_dict(a)


def test_from_dict_rejects_a_non_mapping() -> None:
    with pytest.raises(InvalidInputError, match="must be a mapping, got list"):
        DataFingerprint.from_dict([])


def test_from_json_rejects_text_that_is_not_json() -> None:
    with pytest.raises(InvalidInputError, match="could not be parsed"):
        DataFingerprint.from_json("{not json")


def test_digest_is_stable_and_tells_data_apart() -> None:
    df = frame(x=np.arange(100.0), c=["a", "b"] * 50)
    fp = DataFingerprint.from_frame(df)
    assert fp.digest == DataFingerprint.from_frame(df.copy()).digest
    assert len(fp.digest) == 16
    assert int(fp.digest, 16) >= 0
    assert fp.digest != DataFingerprint.from_frame(df.assign(x=df["x"] + 1)).digest


def test_fingerprint_is_immutable_and_pickles() -> None:
    fp = fingerprint_of(x=[1.0, 2.0])
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'n_rows'"):
        fp.n_rows = 3  # type: ignore[misc]
    with pytest.raises(TypeError, match="read-only"):
        fp.columns["y"] = fp.columns["x"]  # type: ignore[index]
    assert pickle.loads(pickle.dumps(fp)) == fp


# ------------------------------------------------------------------------------ kinds and columns
def test_dtypes_map_to_kinds() -> None:
    df = frame(
        f=[1.5, 2.5],
        i=np.array([1, 2], dtype=np.int32),
        u=np.array([1, 2], dtype=np.uint8),
        nullable=pd.array([1, None], dtype="Int64"),
        b=[True, False],
        s=["a", "b"],
        cat=pd.Categorical(["x", "y"]),
        when=pd.to_datetime(["2024-01-01", "2024-01-02"]),
        wait=pd.to_timedelta([1, 2], unit="h"),
    )
    kinds = {name: column.kind for name, column in DataFingerprint.from_frame(df).schema.items()}
    assert kinds == {
        "f": "numeric",
        "i": "numeric",
        "u": "numeric",
        "nullable": "numeric",
        "b": "categorical",
        "s": "categorical",
        "cat": "categorical",
        "when": "numeric",
        "wait": "numeric",
    }


def test_datetimes_are_epoch_seconds_and_timedeltas_seconds() -> None:
    df = frame(
        when=pd.to_datetime(["1970-01-01 00:00:10", None, "1970-01-01 00:00:20"], utc=True),
        wait=pd.to_timedelta(["1 min", "2 min", None]),
    )
    fp = DataFingerprint.from_frame(df)
    assert (fp.columns["when"].min, fp.columns["when"].max) == (10.0, 20.0)
    assert (fp.columns["wait"].min, fp.columns["wait"].max) == (60.0, 120.0)
    assert fp.columns["when"].n_missing == fp.columns["wait"].n_missing == 1


def test_pyarrow_dates_timestamps_and_durations_are_seconds_too() -> None:
    pa = pytest.importorskip("pyarrow")
    df = frame(
        day=pd.Series([0, 1, None], dtype=pd.ArrowDtype(pa.date32())),
        when=pd.Series([10_000, 20_000, None], dtype=pd.ArrowDtype(pa.timestamp("ms", "UTC"))),
        wait=pd.Series([1, 2, None], dtype=pd.ArrowDtype(pa.duration("s"))),
    )
    fp = DataFingerprint.from_frame(df)
    bounds = {name: (column.min, column.max) for name, column in fp.columns.items()}
    assert bounds == {"day": (0.0, 86_400.0), "when": (10.0, 20.0), "wait": (1.0, 2.0)}
    numpy_twin = fingerprint_of(when=pd.to_datetime([10, 20, None], unit="s"))
    assert "when" not in distance(numpy_twin, fp).schema_changes


def test_infinities_are_counted_apart_and_left_out_of_the_sketch() -> None:
    fp = fingerprint_of(x=[-np.inf, 1.0, 2.0, np.inf, np.inf, np.nan])
    column = fp.columns["x"]
    assert isinstance(column, NumericColumn)
    assert (column.n_inf, column.n_missing, column.n_finite) == (3, 1, 2)
    assert (column.min, column.max) == (1.0, 2.0)


def test_all_nan_column_has_missing_rate_one_and_an_empty_sketch() -> None:
    fp = fingerprint_of(x=[np.nan, np.nan, np.nan])
    column = fp.columns["x"]
    assert (column.n_missing, column.n_finite, column.min, column.mean) == (3, 0, None, None)
    assert np.isnan(fp.quantile("x", 0.5))


def test_categorical_lists_top_k_values_and_an_other_bucket() -> None:
    values = ["a"] * 5 + ["b"] * 4 + ["c"] * 3 + ["d"] * 2 + ["e"] + [None] * 2
    column = DataFingerprint.from_frame(frame(c=values), top_k=2).columns["c"]
    assert isinstance(column, CategoricalColumn)
    assert (column.counts, column.n_other, column.n_missing) == ({"a": 5, "b": 4}, 6, 2)


def test_categorical_values_are_compared_as_text() -> None:
    column = fingerprint_of(c=pd.Series([1, "1", 2.5, None], dtype=object)).columns["c"]
    assert column.counts == {"1": 2, "2.5": 1}


def test_high_cardinality_column_keeps_exact_top_counts_while_streaming() -> None:
    rng = np.random.default_rng(7)
    frequent = np.repeat(["x", "y"], [30_000, 20_000])
    rare = np.array([f"id{i}" for i in range(50_000)])
    values = rng.permutation(np.concatenate([frequent, rare]))
    fp = DataFingerprint.from_batches(frame(c=part) for part in np.split(values, 20))
    counts = fp.columns["c"].counts
    assert counts["x"] >= 30_000 - 100_000 / 1_001
    assert counts["y"] >= 20_000 - 100_000 / 1_001
    assert list(counts)[:2] == ["x", "y"]
    assert fp.columns["c"].n_rows == 100_000


# ------------------------------------------------------------------------------ distance
def test_distance_is_zero_for_identical_data() -> None:
    rng = np.random.default_rng(8)
    df = frame(x=rng.normal(size=5_000), c=rng.choice(["a", "b"], 5_000))
    report = distance(DataFingerprint.from_frame(df), DataFingerprint.from_frame(df.copy()))
    assert report.score == 0.0
    assert dict(report.columns) == {"x": 0.0, "c": 0.0}
    assert dict(report.schema_changes) == {}


def test_distance_grows_with_a_location_shift() -> None:
    rng = np.random.default_rng(9)
    reference = fingerprint_of(x=rng.normal(0.0, 1.0, 20_000))
    scores = [
        distance(reference, fingerprint_of(x=rng.normal(shift, 1.0, 20_000))).score
        for shift in (0.0, 0.5, 1.0, 2.0)
    ]
    assert scores == sorted(scores)
    assert len(set(scores)) == 4
    assert scores[0] < 0.05
    assert scores[2] == pytest.approx(1.0, abs=0.1)


def test_distance_grows_with_a_scale_change() -> None:
    rng = np.random.default_rng(10)
    reference = fingerprint_of(x=rng.normal(0.0, 1.0, 20_000))
    scores = [
        distance(reference, fingerprint_of(x=rng.normal(0.0, scale, 20_000))).score
        for scale in (1.0, 1.5, 2.0, 4.0)
    ]
    assert scores == sorted(scores)
    assert len(set(scores)) == 4


def test_distance_does_not_depend_on_units() -> None:
    rng = np.random.default_rng(11)
    x, y = rng.normal(0.0, 1.0, 5_000), rng.normal(0.7, 1.0, 5_000)
    in_metres = distance(fingerprint_of(x=x), fingerprint_of(x=y)).score
    in_millimetres = distance(fingerprint_of(x=x * 1000), fingerprint_of(x=y * 1000)).score
    # Equal up to which value the sketch keeps within its rank tolerance.
    assert in_millimetres == pytest.approx(in_metres, rel=1e-3)


def test_distance_adds_the_change_of_missing_rate() -> None:
    x = np.arange(1000.0)
    holes = x.copy()
    holes[:250] = np.nan
    report = distance(fingerprint_of(x=x), fingerprint_of(x=np.concatenate([x, holes[:250]])))
    assert report.columns["x"] == pytest.approx(0.2, abs=0.03)


def test_categorical_distance_is_total_variation() -> None:
    reference = fingerprint_of(c=["a"] * 50 + ["b"] * 50)
    assert distance(reference, fingerprint_of(c=["a"] * 80 + ["b"] * 20)).score == pytest.approx(
        0.3
    )
    assert distance(reference, fingerprint_of(c=["x", "y"])).score == 1.0


def test_all_nan_columns_get_the_missing_rate_difference_and_never_nan() -> None:
    empty = fingerprint_of(x=[np.nan] * 4)
    full = fingerprint_of(x=[1.0, 2.0, 3.0, 4.0])
    assert distance(empty, empty).score == 0.0
    assert distance(empty, full).score == 1.0
    assert distance(full, empty).score == 1.0


def test_constant_reference_column_falls_back_to_unit_spread() -> None:
    report = distance(fingerprint_of(x=[5.0] * 100), fingerprint_of(x=[7.0] * 100))
    assert report.columns["x"] == pytest.approx(2.0)


def test_distance_reports_schema_changes_by_name_and_scores_the_rest() -> None:
    reference = fingerprint_of(a=[1.0, 2.0], b=[1.0, 2.0], c=[1.0, 2.0])
    current = fingerprint_of(a=[1.0, 2.0], c=["x", "y"], d=[1.0, 2.0])
    report = distance(reference, current)
    assert dict(report.schema_changes) == {
        "b": "missing from current data",
        "c": "type changed: numeric -> categorical",
        "d": "not in reference",
    }
    assert list(report.columns) == ["a"]


def test_distance_reports_a_datetime_that_became_a_number() -> None:
    reference = fingerprint_of(t=pd.to_datetime(["2024-01-01", "2024-01-02"]))
    current = fingerprint_of(t=[1.0, 2.0])
    report = distance(reference, current)
    (change,) = report.schema_changes.values()
    assert change.startswith("type changed: datetime64[")  # the unit depends on pandas' version
    assert change.endswith("-> float64")
    assert report.score == 0.0


def test_distance_refuses_a_non_fingerprint() -> None:
    with pytest.raises(InvalidInputError, match="current must be a DataFingerprint, got DataFrame"):
        distance(fingerprint_of(x=[1.0]), frame(x=[1.0]))


def test_top_lists_the_most_drifted_columns_with_ties_by_name() -> None:
    report = DriftReport(
        score=0.5, columns={"b": 0.2, "a": 0.2, "c": 0.9, "d": 0.0}, schema_changes={}
    )
    assert report.top(3) == [("c", 0.9), ("a", 0.2), ("b", 0.2)]
    assert report.top() == [("c", 0.9), ("a", 0.2), ("b", 0.2), ("d", 0.0)]


def test_top_refuses_a_negative_k() -> None:
    report = DriftReport(score=0.0, columns={}, schema_changes={})
    with pytest.raises(InvalidInputError, match="k must be an integer >= 0, got -1"):
        report.top(-1)


def test_check_schema_names_what_was_expected_and_what_came() -> None:
    reference = fingerprint_of(x=[1.0, 2.0], y=[1.0, 2.0])
    current = fingerprint_of(y=["a", "b"])
    expected = (
        "current data does not match the reference schema: column 'x' missing from current "
        "data; column 'y' type changed: numeric -> categorical"
    )
    with pytest.raises(SchemaMismatchError, match=expected) as info:
        check_schema(reference, current)
    assert set(info.value.columns) == {"x", "y"}


def test_check_schema_accepts_a_matching_schema() -> None:
    reference = fingerprint_of(x=[1, 2], c=["a", "b"])
    assert check_schema(reference, fingerprint_of(x=[1.5, 2.5], c=["c", "d"])) is None


# ------------------------------------------------------------------------------ bad input
def test_empty_frame_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="got 0 rows"):
        DataFingerprint.from_frame(frame(x=np.array([], dtype=float)))


def test_batches_with_no_rows_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="got 0 rows"):
        DataFingerprint.from_batches([frame(x=np.array([], dtype=float))])


def test_non_dataframe_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="df must be a pandas DataFrame, got ndarray"):
        DataFingerprint.from_frame(np.zeros((3, 2)))  # type: ignore[arg-type]


def test_non_dataframe_batch_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="batch 1 must be a pandas DataFrame, got list"):
        DataFingerprint.from_batches([frame(x=[1.0]), [1.0]])  # type: ignore[list-item]


def test_a_single_frame_passed_as_batches_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="got a single DataFrame"):
        DataFingerprint.from_batches(frame(x=[1.0]))


def test_duplicate_column_names_are_refused() -> None:
    df = pd.DataFrame([[1.0, 2.0]], columns=["x", "x"])
    with pytest.raises(InvalidInputError, match=r"duplicate column names \['x'\]"):
        DataFingerprint.from_frame(df)


def test_complex_column_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="column 'z' has dtype complex128"):
        fingerprint_of(z=np.array([1 + 2j]))


@pytest.mark.parametrize("top_k", [0, -3, 2.5, True])
def test_top_k_must_be_a_positive_integer(top_k: object) -> None:
    with pytest.raises(InvalidInputError, match="top_k must be an integer >= 1"):
        DataFingerprint.from_frame(frame(x=[1.0]), top_k=top_k)  # type: ignore[arg-type]


def test_quantile_of_a_categorical_column_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="column 'c' is categorical"):
        fingerprint_of(c=["a"]).quantile("c", 0.5)


def test_quantile_of_an_unknown_column_is_refused() -> None:
    with pytest.raises(InvalidInputError, match=r"unknown column 'y'; the fingerprint has \['x'\]"):
        fingerprint_of(x=[1.0]).quantile("y", 0.5)


@pytest.mark.parametrize("q", [-0.1, 1.5, np.nan, "half"])
def test_quantile_probability_must_lie_in_the_unit_interval(q: object) -> None:
    with pytest.raises(InvalidInputError, match="q must"):
        fingerprint_of(x=[1.0, 2.0]).quantile("x", q)  # type: ignore[arg-type]


def test_quantile_accepts_an_array_and_returns_one() -> None:
    fp = fingerprint_of(x=np.arange(101.0))
    assert fp.quantile("x", [0.0, 0.5, 1.0]).tolist() == [0.0, 50.0, 100.0]
