"""Specification of the synthetic drifting streams: each stream loads the same way every time, and
each drift kind has the drift it claims, read off a small loss matrix."""

from __future__ import annotations

import functools
import random

import numpy as np
import pandas as pd
import pytest

from mlflow_staleness.backtest import build_loss_matrix
from mlflow_staleness.backtest.datasets import DatasetSpec
from mlflow_staleness.backtest.synthetic import SYNTHETIC_KINDS, SyntheticSpec, synthetic_streams
from mlflow_staleness.exceptions import InvalidInputError

T = 12
ROWS = 300
ALL_PAIRS = [(g, k) for g, kinds in SYNTHETIC_KINDS.items() for k in kinds]


@functools.cache
def loss_matrix(generator: str, kind: str, n_windows: int = T, rows: int = ROWS) -> np.ndarray:
    """``L`` of a small stream (seed 0), built as the benchmark builds it; cached per module."""
    spec = SyntheticSpec(generator=generator, kind=kind, n_windows=n_windows, rows_per_window=rows)
    frame = spec.load()
    L = build_loss_matrix(
        frame,
        spec.time_column,
        spec.target,
        n_windows,
        spec.estimator(),
        loss=spec.loss,
        features=spec.feature_columns(frame),
    ).L
    L.flags.writeable = False
    return L


def fresh(L: np.ndarray) -> np.ndarray:
    """``L[t - 1, t]``, indexed by ``t`` (NaN at 0)."""
    return np.array([np.nan] + [L[t - 1, t] for t in range(1, L.shape[0])])


def excess(L: np.ndarray) -> np.ndarray:
    """``L[i, t] - L[t - 1, t]``: what keeping model ``i`` costs over a fresh one (NaN, i >= t)."""
    return L - fresh(L)[None, :]


def excess_at_age(L: np.ndarray, ages: range) -> float:
    """Mean excess of models ``age`` windows old, over every window and every age in ``ages``."""
    E = excess(L)
    return float(np.mean([E[t - a, t] for a in ages for t in range(a, L.shape[0])]))


def block(L: np.ndarray, models: range, windows: range) -> float:
    """Mean excess of the given models on the given (later) windows."""
    E = excess(L)
    return float(np.mean([E[i, t] for i in models for t in windows if i < t]))


# --- the spec ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("generator", "kind"),
    [
        ("gauss", "gradual"),
        ("circles", "recurring"),
        ("covshift", "late-onset"),
        ("agrawal", "sudden-early"),
        ("sea", "label-noise"),
        ("friedman", "gsg"),
    ],
)
def test_the_same_spec_loads_the_same_stream_every_time(generator, kind):
    spec = SyntheticSpec(generator=generator, kind=kind, seed=3, n_windows=6, rows_per_window=60)
    pd.testing.assert_frame_equal(spec.load(), spec.load())


@pytest.mark.parametrize("generator", ["gauss", "circles", "covshift", "stagger", "friedman"])
def test_two_seeds_give_two_different_streams(generator):
    kind = SYNTHETIC_KINDS[generator][-1]
    first, second = (
        SyntheticSpec(
            generator=generator, kind=kind, seed=s, n_windows=4, rows_per_window=50
        ).load()
        for s in (0, 1)
    )
    assert not first.equals(second)


def test_loading_touches_no_global_random_state():
    # the legacy global generators are read here on purpose: nothing may draw from them
    numpy_before = np.random.get_state()[1].copy()  # noqa: NPY002
    python_before = random.getstate()
    SyntheticSpec(generator="circles", kind="gradual", n_windows=4, rows_per_window=50).load()
    SyntheticSpec(generator="sea", kind="sudden-late", n_windows=4, rows_per_window=50).load()
    assert np.array_equal(np.random.get_state()[1], numpy_before)  # noqa: NPY002
    assert random.getstate() == python_before


def test_an_unknown_generator_is_refused_on_one_line_naming_the_valid_ones():
    with pytest.raises(
        InvalidInputError,
        match=r"^unknown generator 'circels'; valid generators are agrawal, circles, covshift, ",
    ) as caught:
        SyntheticSpec(generator="circels", kind="gradual")
    assert "\n" not in str(caught.value)
    assert all(name in str(caught.value) for name in SYNTHETIC_KINDS)


def test_an_unknown_kind_is_refused_on_one_line_naming_the_generators_kinds():
    with pytest.raises(
        InvalidInputError,
        match=r"^unknown kind 'sudenn' for generator 'circles'; valid kinds are gradual, "
        r"label-noise, no-drift, recurring, sudden-early, sudden-late$",
    ):
        SyntheticSpec(generator="circles", kind="sudenn")


def test_a_kind_the_generator_cannot_produce_is_refused_naming_the_kinds_it_can():
    with pytest.raises(
        InvalidInputError,
        match=r"^cannot produce kind 'sudden-early' for generator 'friedman'; valid kinds are "
        r"gra, gsg, lea, no-drift$",
    ):
        SyntheticSpec(generator="friedman", kind="sudden-early")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("seed", -1, r"^seed must be an integer >= 0, got -1$"),
        ("seed", 1.5, r"^seed must be an integer >= 0, got 1.5$"),
        ("seed", True, r"^seed must be an integer >= 0, got True$"),
        ("n_windows", 3, r"^n_windows must be an integer >= 4, got 3$"),
        ("rows_per_window", 10, r"^rows_per_window must be an integer >= 50, got 10$"),
        ("rows_per_window", "500", r"^rows_per_window must be an integer >= 50, got '500'$"),
    ],
)
def test_a_bad_seed_or_size_is_refused_on_one_line(field, value, message):
    with pytest.raises(InvalidInputError, match=message):
        SyntheticSpec(generator="gauss", kind="no-drift", **{field: value})


def test_a_generator_that_is_not_a_string_is_refused():
    with pytest.raises(InvalidInputError, match=r"^unknown generator \['gauss'\]; valid"):
        SyntheticSpec(generator=["gauss"], kind="no-drift")


def test_the_name_joins_generator_kind_and_seed():
    assert SyntheticSpec(generator="circles", kind="sudden-early", seed=4).name == (
        "circles-sudden-early-s4"
    )


def test_regression_streams_are_scored_by_normalised_mae_and_the_rest_by_error_rate():
    losses = {
        g: SyntheticSpec(generator=g, kind=SYNTHETIC_KINDS[g][0]).loss for g in SYNTHETIC_KINDS
    }
    assert {g for g, loss in losses.items() if loss == "normalised_mae"} == {"friedman"}
    assert set(losses.values()) == {"error_rate", "normalised_mae"}


@pytest.mark.parametrize("loss", ["error_rate", "normalised_mae"])
def test_the_model_is_the_one_the_real_datasets_use(loss):
    generator = "friedman" if loss == "normalised_mae" else "circles"
    ours = SyntheticSpec(generator=generator, kind="no-drift").estimator()
    theirs = DatasetSpec(name="x", file="x", time_column="t", target="y", loss=loss).estimator()
    assert type(ours) is type(theirs)
    assert ours.get_params() == theirs.get_params()


def test_every_kind_is_described_on_one_line_with_what_the_oracle_should_do():
    for generator, kind in ALL_PAIRS:
        line = SyntheticSpec(generator=generator, kind=kind).describe()
        assert line.startswith(f"{generator}-{kind}-s0: ")
        assert "Oracle: " in line
        assert "\n" not in line


# --- the catalogue -------------------------------------------------------------------------------


def test_the_catalogue_holds_every_kind_with_two_seeds_or_more():
    streams = synthetic_streams()
    kinds = [s.kind for s in streams]
    every_kind = {k for kinds_ in SYNTHETIC_KINDS.values() for k in kinds_}
    assert {k: kinds.count(k) >= 2 for k in every_kind} == dict.fromkeys(every_kind, True)
    assert 20 <= len(streams) <= 26
    assert len({s.name for s in streams}) == len(streams)


def test_the_catalogue_takes_its_seeds_from_the_caller():
    streams = synthetic_streams(seeds=np.arange(7, 10))
    assert {s.seed for s in streams} == {7, 8, 9}
    assert len(streams) == 3 * len(synthetic_streams(seeds=(0,)))


@pytest.mark.parametrize("seeds", [(), "01", 3])
def test_the_catalogue_refuses_seeds_that_are_not_a_list_of_integers(seeds):
    with pytest.raises(InvalidInputError, match=r"^seeds must be a non-empty sequence of integers"):
        synthetic_streams(seeds=seeds)


def test_the_catalogue_refuses_a_negative_seed():
    with pytest.raises(InvalidInputError, match=r"^seed must be an integer >= 0, got -1$"):
        synthetic_streams(seeds=(0, -1))


@pytest.mark.parametrize("spec", synthetic_streams(seeds=(1,)), ids=lambda s: s.name)
def test_every_catalogue_stream_loads_in_time_order_with_its_columns_and_dtypes(spec):
    frame = spec.load()
    rows = spec.n_windows * spec.rows_per_window
    features = spec.feature_columns(frame)
    assert (spec.n_windows, spec.rows_per_window) == (40, 500)
    assert list(frame.columns) == ["t", *features, "y"]
    assert len(frame) == rows
    assert np.array_equal(frame["t"].to_numpy(), np.arange(rows))
    assert features
    assert not frame.isna().any().any()
    target = "float64" if spec.loss == "normalised_mae" else "int64"
    assert str(frame["y"].dtype) == target
    assert all(
        pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
        for c in features
    )
    if spec.loss == "error_rate":
        assert frame["y"].nunique() >= 2


@pytest.mark.parametrize(("generator", "kind"), ALL_PAIRS, ids=lambda p: str(p))
def test_every_generator_produces_every_kind_it_lists(generator, kind):
    spec = SyntheticSpec(generator=generator, kind=kind, n_windows=4, rows_per_window=50)
    frame = spec.load()
    assert frame.shape[0] == 200
    assert frame.columns[0] == "t"
    assert frame.columns[-1] == "y"
    assert all(
        pd.api.types.is_numeric_dtype(frame[c]) or isinstance(frame[c].dtype, pd.CategoricalDtype)
        for c in spec.feature_columns(frame)
    )


def test_stagger_features_are_categorical():
    spec = SyntheticSpec(generator="stagger", kind="no-drift", n_windows=4, rows_per_window=50)
    frame = spec.load()
    assert all(isinstance(frame[c].dtype, pd.CategoricalDtype) for c in ("size", "color", "shape"))


# --- each kind has the drift it claims -----------------------------------------------------------


def test_without_drift_old_models_are_as_good_as_fresh_ones():
    L = loss_matrix("gauss", "no-drift")
    assert abs(excess_at_age(L, range(2, T))) < 0.02
    assert max(abs(excess_at_age(L, range(a, a + 1))) for a in range(2, 9)) < 0.04


@pytest.mark.parametrize(
    ("generator", "kind", "change"), [("circles", "sudden-early", 3), ("agrawal", "sudden-late", 8)]
)
def test_after_a_sudden_change_older_models_are_much_worse_and_newer_ones_fine(
    generator, kind, change
):
    L = loss_matrix(generator, kind)
    assert block(L, range(change), range(change + 1, T)) > 0.25
    assert block(L, range(change), range(1, change)) < 0.03
    assert block(L, range(change, T), range(change + 1, T)) < 0.03


@pytest.mark.parametrize("generator", ["rbf", "circles"])
def test_under_gradual_drift_the_excess_grows_steadily_with_age(generator):
    L = loss_matrix(generator, "gradual")
    young, middle, old = (
        excess_at_age(L, ages) for ages in (range(1, 3), range(4, 7), range(8, T))
    )
    assert young < middle < old
    assert middle > 0.05
    assert old > 0.15


def test_late_onset_staleness_is_small_at_young_ages_and_large_at_old_ones():
    L = loss_matrix("covshift", "late-onset", n_windows=20)
    assert excess_at_age(L, range(1, 4)) < 0.02
    assert excess_at_age(L, range(12, 20)) > 0.2
    # convex, unlike gradual drift: a quarter of the way in, far less than a quarter of the end
    assert excess_at_age(L, range(5, 6)) < excess_at_age(L, range(15, 16)) / 4


def test_under_recurring_drift_a_model_from_the_same_phase_is_as_good_as_a_fresh_one():
    L = loss_matrix("gauss", "recurring", n_windows=16)  # seasons of 8 windows
    same_phase, off_phase = excess_at_age(L, range(8, 9)), excess_at_age(L, range(3, 6))
    assert same_phase < 0.03  # often better: the fresh model is a window off phase
    assert off_phase > 0.1


def test_label_noise_moves_the_loss_but_an_old_clean_model_stays_as_good_as_a_fresh_one():
    L = loss_matrix("sea", "label-noise")
    level = fresh(L)[1:]
    assert level.max() - level.min() > 0.2
    assert block(L, range(1), range(2, T)) < 0.02
    assert abs(excess_at_age(L, range(2, T))) < 0.03


def test_an_unfixable_covariate_shift_makes_every_model_worse_alike():
    L = loss_matrix("covshift", "unfixable-shift")
    level = fresh(L)
    assert level[-3:].mean() - level[1:4].mean() > 0.25
    assert max(abs(excess_at_age(L, range(a, a + 1))) for a in range(2, 9)) < 0.06
    assert abs(excess_at_age(L, range(2, T))) < 0.04


def test_a_prior_shift_moves_the_class_balance_and_makes_old_models_mildly_worse():
    spec = SyntheticSpec(generator="gauss", kind="prior-shift", n_windows=T, rows_per_window=ROWS)
    share = spec.load()["y"].to_numpy().reshape(T, ROWS).mean(axis=1)
    assert share[:3].mean() == pytest.approx(0.5, abs=0.05)
    assert share[-3:].mean() == pytest.approx(0.1, abs=0.05)
    L = loss_matrix("gauss", "prior-shift")
    assert block(L, range(3), range(9, T)) > 0.04
    assert fresh(L)[-3:].mean() < fresh(L)[1:4].mean()


def test_friedman_gra_goes_stale_at_the_first_change_and_recovers_at_the_second():
    L = loss_matrix("friedman", "gra")  # changes at windows 4 and 8
    assert block(L, range(4), range(5, 8)) > 0.4
    assert abs(block(L, range(4), range(9, T))) < 0.03
    assert block(L, range(4, 8), range(9, T)) > 0.4


def test_friedman_gsg_makes_models_from_before_each_transition_worse_after_it():
    L = loss_matrix("friedman", "gsg")  # changes at 4 and 8, each mixed in over 2 windows
    assert block(L, range(4), range(6, 8)) > 0.2
    assert block(L, range(8), range(T - 1, T)) > 0.4
    assert block(L, range(8), range(1, 4)) < 0.03


def test_friedman_lea_staleness_grows_only_as_the_drifting_regions_grow():
    L = loss_matrix("friedman", "lea")  # changes at 3, 6 and 9, each over a larger region
    first, last = block(L, range(3), range(3, 6)), block(L, range(3), range(10, T))
    assert abs(first) < 0.03
    assert last > 0.05
