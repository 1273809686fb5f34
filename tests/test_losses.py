"""Losses measured on labels, the same way at training time and in service."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mlflow_staleness.exceptions import InvalidInputError
from mlflow_staleness.losses import METRICS, evaluate, implausible, measure, to_loss

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
    # the class metrics on classes: continuous predictions are refused there (test_types below)
    predictions = [2.0, 2.0, 1.0, 5.0] if metric in ("error_rate", "accuracy") else PREDICTIONS
    value = measure(metric, LABELS, predictions)
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


# ------------------------------------------------------------------------ types (defect 3)
TRUE_ERROR = 0.1
N = 200


def _binary(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """0/1 labels, the classes predicted (wrong on 10%), and probabilities that threshold to
    those classes."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=N)
    wrong = np.zeros(N, dtype=bool)
    wrong[rng.choice(N, size=int(TRUE_ERROR * N), replace=False)] = True
    classes = np.where(wrong, 1 - labels, labels)
    probabilities = np.where(classes == 1, rng.uniform(0.55, 0.99, N), rng.uniform(0.01, 0.45, N))
    return labels, classes, probabilities


@pytest.mark.parametrize(
    ("case", "labels", "predictions", "note"),
    [
        ("numeric strings", lambda y, c, pr: y, lambda y, c, pr: c.astype(str), "written as text"),
        ("string labels", lambda y, c, pr: y.astype(str).astype(object), lambda y, c, pr: c,
         "written as text"),
        ("booleans", lambda y, c, pr: y.astype(bool), lambda y, c, pr: c, None),
        ("true/false text", lambda y, c, pr: np.where(y == 1, "True", "false"), lambda y, c, pr: c,
         "true/false"),
        ("probabilities", lambda y, c, pr: y, lambda y, c, pr: pr, "class 1 where >= 0.5"),
        ("predict_proba", lambda y, c, pr: y, lambda y, c, pr: np.column_stack([1 - pr, pr]),
         "argmax"),
        ("a column of predict_proba rows", lambda y, c, pr: y,
         lambda y, c, pr: pd.Series([[1 - v, v] for v in pr]), "argmax"),
        ("nullable integers", lambda y, c, pr: pd.array(y, dtype="Int64"), lambda y, c, pr: c,
         None),
    ],
)  # fmt: skip
def test_labels_and_predictions_are_aligned_by_type_before_the_loss(
    case: str, labels, predictions, note: str | None
) -> None:
    y, classes, probabilities = _binary()
    result = evaluate(
        "error_rate", labels(y, classes, probabilities), predictions(y, classes, probabilities)
    )
    assert result.loss == pytest.approx(TRUE_ERROR), case
    if note is None:
        assert result.notes == (), case
    else:
        assert any(note in n for n in result.notes), (case, result.notes)


@pytest.mark.parametrize(
    ("labels", "predictions", "fragments"),
    [
        (["yes", "no", "yes", "no"], [1, 0, 1, 1], ("labels are text", "'no', 'yes'",
                                                 "predictions are numbers", "0, 1")),
        ([0, 1, 0, 1], ["no", "yes", "no", "no"], ("labels are numbers", "predictions are text")),
        ([0, 1, 2, 1], [0.3, 1.7, 2.2, 0.9], ("not classes", "continuous")),
        ([0, 1, 2, 1], [[0.2, 0.8]] * 4, ("2 values per row", "0..1")),
        (["a", "b", "a", "b"], ["x", "y", "y", "x"], ("share no class",)),
        ([[1, 2], [3], [4], [5]], [1, 2, 3, 4], ("list",)),
    ],
)  # fmt: skip
def test_a_type_mismatch_is_refused_with_one_line_naming_both(
    labels, predictions, fragments: tuple[str, ...]
) -> None:
    with pytest.raises(InvalidInputError) as raised:
        measure("error_rate", labels, predictions)
    message = str(raised.value)
    assert len(message.splitlines()) == 1, message
    for fragment in fragments:
        assert fragment in message, message


def test_regression_metrics_refuse_text_and_read_numeric_strings() -> None:
    assert measure("mae", ["1", "2.5"], [1.0, 2.0]) == pytest.approx(0.25)
    with pytest.raises(InvalidInputError, match=r"labels are text .*predictions are numbers"):
        measure("mae", ["low", "high"], [1.0, 2.0])
    with pytest.raises(InvalidInputError, match=r"'mae' needs numbers, got 2 columns per row"):
        measure("mae", [1.0, 2.0], [[0.1, 0.9], [0.5, 0.5]])


def test_a_loss_far_beyond_the_history_is_implausible() -> None:
    assert "implausible" in implausible("error_rate", 1.0, [0.1, 0.12, 0.09])
    assert implausible("error_rate", 0.35, [0.1, 0.12]) is None  # within 3 times the worst
    assert implausible("error_rate", 0.4, [0.1]) is None  # 4 times, but within 0.5 of it
    assert implausible("error_rate", 0.05, [0.0, 0.01]) is None  # within 0.5 of the worst
    assert implausible("error_rate", 1.0, []) is None  # nothing to compare with
    assert implausible("mse", 25.0, [2.0, 3.0]) is None  # unbounded metrics: 10 times
    assert "10 times" in implausible("mse", 31.0, [2.0, 3.0])
    assert implausible("mse", 0.01, [0.0]) is None  # a perfect fit gives no scale


def test_a_loss_that_overflows_is_refused() -> None:
    with pytest.raises(InvalidInputError, match=r"mse of these labels and predictions overflows"):
        measure("mse", [1e308, -1e308], [-1e308, 1e308])
