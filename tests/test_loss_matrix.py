"""Specification of :func:`build_loss_matrix` on small synthetic drifting streams."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from mlflow_staleness.backtest import LossMatrix, build_loss_matrix
from mlflow_staleness.backtest.loss_matrix import window_bounds
from mlflow_staleness.exceptions import InvalidInputError

ROWS = 1_200
T = 8


def rotating_classes(seed: int, rows: int = ROWS) -> pd.DataFrame:
    """Two features; the class boundary turns by most of a half-turn over time."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 2))
    angle = np.linspace(0.0, 0.9 * np.pi, rows)
    label = (x[:, 0] * np.cos(angle) + x[:, 1] * np.sin(angle) > 0).astype(int)
    return pd.DataFrame({"time": np.arange(rows), "x1": x[:, 0], "x2": x[:, 1], "label": label})


def shifting_target(seed: int, rows: int = ROWS) -> pd.DataFrame:
    """A regression target whose level climbs over time, so old models end up far off."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    y = 2.0 * x + np.linspace(0.0, 3.0, rows) + 0.3 * rng.normal(size=rows)
    return pd.DataFrame({"time": np.arange(rows), "x": x, "y": y})


@pytest.fixture(scope="module")
def classes() -> LossMatrix:
    return build_loss_matrix(rotating_classes(0), "time", "label", T, LogisticRegression())


@pytest.fixture(scope="module")
def regression() -> LossMatrix:
    return build_loss_matrix(
        shifting_target(0), "time", "y", T, LinearRegression(), loss="normalised_mae"
    )


def upper() -> np.ndarray:
    return np.triu(np.ones((T, T), dtype=bool), k=1)


# --- the matrix --------------------------------------------------------------------------------


def test_the_loss_matrix_is_square_with_one_row_per_window(classes):
    assert classes.L.shape == (T, T)
    assert classes.T == T
    assert classes.val_loss.shape == (T,)


def test_losses_exist_exactly_above_the_diagonal(classes):
    assert np.isfinite(classes.L[upper()]).all()
    assert np.isnan(classes.L[~upper()]).all()


def test_error_rates_lie_between_zero_and_one(classes):
    assert ((classes.L[upper()] >= 0) & (classes.L[upper()] <= 1)).all()


def test_on_a_drifting_stream_early_models_do_worse_on_later_windows(classes):
    L = classes.L

    assert L[0, T - 1] > L[0, 1] + 0.2
    assert L[0, T - 1] > L[T - 2, T - 1] + 0.2


def test_every_model_has_a_finite_validation_loss(classes):
    assert np.isfinite(classes.val_loss).all()


def test_the_window_frames_hold_the_features_and_not_the_target(classes):
    assert len(classes.windows) == T
    assert all(list(frame.columns) == ["x1", "x2"] for frame in classes.windows)
    assert classes.features == ("x1", "x2")
    assert sum(len(frame) for frame in classes.windows) == ROWS


def test_rows_are_put_in_time_order_before_cutting_windows(classes):
    shuffled = rotating_classes(0).sample(frac=1.0, random_state=np.random.default_rng(1))

    result = build_loss_matrix(shuffled, "time", "label", T, LogisticRegression())

    np.testing.assert_array_equal(result.L, classes.L)


def test_window_bounds_cut_rows_into_nearly_equal_windows():
    bounds = window_bounds(ROWS + 3, T)

    assert bounds[0] == 0
    assert bounds[-1] == ROWS + 3
    assert set(np.diff(bounds).tolist()) <= {ROWS // T, ROWS // T + 1}


# --- row-level errors --------------------------------------------------------------------------


def test_the_mean_row_error_rate_is_the_matrix_entry(classes):
    for i, t in zip(*np.nonzero(upper()), strict=True):
        rows = classes.row_errors.get(i, t)
        assert set(np.unique(rows).tolist()) <= {0.0, 1.0}
        assert math.isclose(float(np.mean(rows)), classes.L[i, t], rel_tol=1e-6)


def test_the_mean_normalised_error_clipped_at_one_is_the_matrix_entry(regression):
    for i, t in zip(*np.nonzero(upper()), strict=True):
        mean = float(np.mean(regression.row_errors.get(i, t)))
        assert math.isclose(min(mean, 1.0), regression.L[i, t], rel_tol=1e-6)


def test_the_normalised_error_stream_exercises_the_clip(regression):
    L = regression.L[upper()]

    assert (L == 1.0).any()
    assert (L < 1.0).any()


def test_row_errors_have_one_entry_per_row_of_the_window(classes):
    bounds = window_bounds(ROWS, T)

    assert len(classes.row_errors.get(0, 5)) == bounds[6] - bounds[5]


def test_row_errors_of_a_model_on_its_own_or_an_earlier_window_are_refused(classes):
    with pytest.raises(InvalidInputError, match="got model 3 on window 3"):
        classes.row_errors.get(3, 3)


# --- the cache ---------------------------------------------------------------------------------


def test_a_second_build_with_a_cache_returns_the_same_matrix_and_writes_one_file(tmp_path):
    frame = rotating_classes(2)

    first = build_loss_matrix(frame, "time", "label", T, LogisticRegression(), cache_dir=tmp_path)
    second = build_loss_matrix(frame, "time", "label", T, LogisticRegression(), cache_dir=tmp_path)

    np.testing.assert_array_equal(second.L, first.L)
    np.testing.assert_array_equal(second.val_loss, first.val_loss)
    np.testing.assert_array_equal(second.row_errors.get(1, 6), first.row_errors.get(1, 6))
    assert [p.suffix for p in tmp_path.iterdir()] == [".npz"]


def test_a_second_build_with_a_cache_trains_no_model(tmp_path, monkeypatch):
    import sklearn.base

    frame = rotating_classes(3)
    first = build_loss_matrix(frame, "time", "label", T, LogisticRegression(), cache_dir=tmp_path)

    def no_training(estimator: object) -> object:
        raise AssertionError("the cached matrix should have been reused")

    monkeypatch.setattr(sklearn.base, "clone", no_training)
    second = build_loss_matrix(frame, "time", "label", T, LogisticRegression(), cache_dir=tmp_path)

    np.testing.assert_array_equal(second.L, first.L)


def test_different_settings_are_cached_apart(tmp_path):
    frame = rotating_classes(4)

    build_loss_matrix(frame, "time", "label", T, LogisticRegression(), cache_dir=tmp_path)
    build_loss_matrix(frame, "time", "label", T - 2, LogisticRegression(), cache_dir=tmp_path)

    assert len(list(tmp_path.iterdir())) == 2


# --- bad inputs --------------------------------------------------------------------------------


def test_something_that_is_not_a_data_frame_is_refused():
    frame = rotating_classes(0)

    with pytest.raises(InvalidInputError, match="frame must be a pandas DataFrame, got ndarray"):
        build_loss_matrix(frame.to_numpy(), "time", "label", T, LogisticRegression())


@pytest.mark.parametrize(
    ("time_column", "target", "message"),
    [
        ("when", "label", "time_column 'when' is not a column of the frame"),
        ("time", "outcome", "target 'outcome' is not a column of the frame"),
    ],
)
def test_a_missing_time_or_target_column_is_refused_by_name(time_column, target, message):
    with pytest.raises(InvalidInputError, match=message):
        build_loss_matrix(rotating_classes(0), time_column, target, T, LogisticRegression())


def test_more_windows_than_the_rows_can_fill_are_refused():
    with pytest.raises(
        InvalidInputError, match=r"300 windows need at least 5 rows each \(1500 rows\)"
    ):
        build_loss_matrix(rotating_classes(0), "time", "label", 300, LogisticRegression())


@pytest.mark.parametrize("n_windows", [1, 0, 2.5])
def test_fewer_than_two_windows_are_refused(n_windows):
    with pytest.raises(InvalidInputError, match="n_windows must be an integer >= 2"):
        build_loss_matrix(rotating_classes(0), "time", "label", n_windows, LogisticRegression())


def test_an_unknown_loss_is_refused_with_the_known_ones():
    with pytest.raises(
        InvalidInputError,
        match=r"loss must be one of \['error_rate', 'normalised_mae'\], got 'auc'",
    ):
        build_loss_matrix(rotating_classes(0), "time", "label", T, LogisticRegression(), loss="auc")


def test_a_target_with_missing_values_is_refused_with_their_count():
    frame = rotating_classes(0).astype({"label": float})
    frame.loc[[3, 50, 700], "label"] = np.nan

    with pytest.raises(InvalidInputError, match="target 'label' has 3 missing values"):
        build_loss_matrix(frame, "time", "label", T, LogisticRegression())


def test_a_frame_with_no_feature_column_is_refused():
    frame = rotating_classes(0)[["time", "label"]]

    with pytest.raises(InvalidInputError, match="no feature columns"):
        build_loss_matrix(frame, "time", "label", T, LogisticRegression())


def test_feature_columns_missing_from_the_frame_are_refused_by_name():
    with pytest.raises(InvalidInputError, match=r"feature columns \['x9'\] are not in the frame"):
        build_loss_matrix(
            rotating_classes(0), "time", "label", T, LogisticRegression(), features=["x1", "x9"]
        )


def test_the_result_unpacks_as_losses_validation_losses_and_windows():
    rng = np.random.default_rng(5)
    x = rng.normal(size=600)
    y = (x > np.linspace(-1, 1, 600)).astype(int)
    frame = pd.DataFrame({"t": np.arange(600), "x": x, "y": y})
    result = build_loss_matrix(frame, "t", "y", n_windows=6, estimator=LogisticRegression())
    L, val_loss, windows = result
    assert L is result.L
    assert val_loss is result.val_loss
    assert windows is result.windows


@pytest.mark.parametrize(
    ("features", "message"),
    [
        (["x", "y"], "must not include the time column or the target"),
        ("x", "must be a list of column names"),
    ],
)
def test_features_that_leak_or_are_not_a_list_are_refused(features, message):
    frame = pd.DataFrame({"t": np.arange(100), "x": np.arange(100.0), "y": np.arange(100) % 2})
    with pytest.raises(InvalidInputError, match=message):
        build_loss_matrix(frame, "t", "y", 4, LogisticRegression(), features=features)


def test_a_window_the_model_cannot_learn_from_is_named():
    frame = pd.DataFrame(
        {"t": np.arange(100), "x": np.arange(100.0), "y": np.r_[np.zeros(50), np.arange(50) % 2]}
    )
    with pytest.raises(InvalidInputError, match="the model of window 0"):
        build_loss_matrix(frame, "t", "y", 4, LogisticRegression())


def test_a_continuous_target_is_refused_for_an_error_rate():
    frame = pd.DataFrame({"t": np.arange(100), "x": np.arange(100.0), "y": np.linspace(0, 1, 100)})
    with pytest.raises(InvalidInputError, match="needs class labels"):
        build_loss_matrix(frame, "t", "y", 4, LinearRegression())


def test_a_text_target_is_refused_for_a_regression_loss():
    frame = pd.DataFrame({"t": np.arange(100), "x": np.arange(100.0), "y": ["a", "b"] * 50})
    with pytest.raises(InvalidInputError, match="needs a numeric target"):
        build_loss_matrix(frame, "t", "y", 4, LinearRegression(), loss="normalised_mae")


def test_something_that_is_not_an_estimator_is_refused():
    frame = pd.DataFrame({"t": np.arange(100), "x": np.arange(100.0), "y": np.arange(100) % 2})
    with pytest.raises(InvalidInputError, match="must be a scikit-learn estimator"):
        build_loss_matrix(frame, "t", "y", 4, "gbm")
