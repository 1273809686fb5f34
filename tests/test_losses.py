"""Losses measured on labels, the same way at training time and in service."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mlflow_staleness.exceptions import InvalidInputError
from mlflow_staleness.losses import METRICS, measure, to_loss

LABELS = [1.0, 2.0, 3.0, 4.0]
PREDICTIONS = [1.5, 2.0, 1.0, 5.0]  # errors 0.5, 0, -2, 1


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("mae", (0.5 + 0.0 + 2.0 + 1.0) / 4),  # 0.875
        ("mse", (0.25 + 0.0 + 4.0 + 1.0) / 4),  # 1.3125
        ("rmse", math.sqrt(1.3125)),
        ("error_rate", 3 / 4),
        ("accuracy", 3 / 4),  # 1 - accuracy = the error rate
    ],
)
def test_each_metric_against_hand_computed_values(metric: str, expected: float) -> None:
    value = measure(metric, LABELS, PREDICTIONS)
    assert type(value) is float
    assert value == pytest.approx(expected, rel=1e-12)


def test_error_rate_on_classes() -> None:
    assert measure("error_rate", ["a", "b", "c", "a", "b"], ["a", "b", "a", "a", "a"]) == 0.4
    assert measure("error_rate", [True, False], [True, True]) == 0.5
    assert measure("error_rate", [0, 1, 1], [0, 1, 1]) == 0.0


def test_accuracy_is_reported_as_one_minus_accuracy() -> None:
    labels, predictions = [0, 1, 1, 0, 1, 1, 0, 0], [0, 1, 0, 0, 1, 1, 1, 0]  # 6 of 8 right
    assert measure("accuracy", labels, predictions) == pytest.approx(0.25)
    assert measure("accuracy", labels, labels) == 0.0
    assert measure("accuracy", [1, 1], [0, 0]) == 1.0


def test_lower_is_better_for_every_metric() -> None:
    labels = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    better = np.array([0.0, 1.0, 1.0, 0.0, 0.0])
    worse = np.array([1.0, 0.0, 1.0, 0.0, 0.0])
    for metric in METRICS:
        assert measure(metric, labels, better) < measure(metric, labels, worse), metric


def test_arrays_and_series_and_columns_are_flattened() -> None:
    labels = pd.Series([1.0, 2.0, 3.0])
    predictions = np.array([[1.0], [2.0], [5.0]])
    assert measure("mae", labels, predictions) == pytest.approx(2 / 3)


def test_nan_labels_and_predictions_are_skipped() -> None:
    labels = [1.0, np.nan, 3.0, 4.0, 2.0]
    predictions = [2.0, 0.0, 3.0, np.nan, 4.0]
    # rows 0, 2, 4 remain: errors 1, 0, 2
    assert measure("mae", labels, predictions) == pytest.approx(1.0)
    assert measure("mse", labels, predictions) == pytest.approx(5 / 3)
    assert measure("error_rate", labels, predictions) == pytest.approx(2 / 3)


def test_missing_class_labels_are_skipped() -> None:
    labels = np.array(["a", None, "b", float("nan"), "a"], dtype=object)
    predictions = np.array(["a", "a", "a", "b", "a"], dtype=object)
    assert measure("error_rate", labels, predictions) == pytest.approx(1 / 3)
    assert measure("accuracy", labels, predictions) == pytest.approx(1 / 3)


def test_nullable_integer_labels_with_missing_values() -> None:
    labels = pd.Series([1, pd.NA, 0, 1], dtype="Int64")
    assert measure("error_rate", labels, [1, 0, 0, 0]) == pytest.approx(1 / 3)


def test_pandas_string_labels_with_missing_values() -> None:
    # pd.NA is how pandas marks a missing label in a "string" column (labels that have not
    # arrived yet); it must be skipped like None and NaN, not crash the comparison.
    labels = pd.Series(["a", pd.NA, "b", "a"], dtype="string")
    assert measure("error_rate", labels, ["a", "a", "b", "b"]) == pytest.approx(1 / 3)


def test_lengths_that_differ_raise() -> None:
    with pytest.raises(InvalidInputError, match="3 labels, 2 predictions"):
        measure("mae", [1.0, 2.0, 3.0], [1.0, 2.0])


def test_no_rows_raise() -> None:
    with pytest.raises(InvalidInputError, match="no labelled rows"):
        measure("error_rate", [], [])


@pytest.mark.parametrize(
    ("metric", "labels", "predictions"),
    [
        ("mae", [np.nan, np.nan], [1.0, 2.0]),
        ("mae", [1.0, 2.0], [np.nan, np.nan]),
        ("mae", [1.0, np.nan], [np.nan, 2.0]),
        ("error_rate", np.array([None, None], dtype=object), np.array(["a", "b"], dtype=object)),
    ],
)
def test_all_missing_raise(metric: str, labels: object, predictions: object) -> None:
    with pytest.raises(InvalidInputError, match="missing"):
        measure(metric, labels, predictions)


def test_unknown_metric_lists_the_valid_ones() -> None:
    with pytest.raises(InvalidInputError, match="'f1'") as info:
        measure("f1", [1], [1])
    assert "accuracy, error_rate, mae, mse, rmse" in str(info.value)
    assert sorted(METRICS) == ["accuracy", "error_rate", "mae", "mse", "rmse"]


@pytest.mark.parametrize(
    ("value", "greater", "expected"),
    [
        (0.9, True, 1.0 - 0.9),
        (0.25, True, 0.75),
        (0.25, False, 0.25),
        (0, True, 1.0),
        (3, False, 3.0),
    ],
)
def test_to_loss(value: float, greater: bool, expected: float) -> None:
    loss = to_loss(value, greater_is_better=greater)
    assert type(loss) is float
    assert loss == expected


def test_to_loss_matches_the_metric_directions() -> None:
    labels, predictions = [0, 1, 1, 0], [0, 1, 0, 0]
    function, greater = METRICS["accuracy"]
    assert greater is True
    score = function(np.asarray(labels), np.asarray(predictions))
    assert score == 0.75
    assert to_loss(score, greater_is_better=greater) == measure("accuracy", labels, predictions)
    for name in ("error_rate", "mae", "mse", "rmse"):
        assert METRICS[name][1] is False
