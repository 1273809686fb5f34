"""Trustworthy measured losses through the advisor (issue 11, defect 3).

Labels and predictions of different types (numbers written as text, probabilities for classes,
``"yes"``/``"no"`` against 0/1) are aligned before the loss is measured, or refused before
anything is written; a loss implausible against the version's history is flagged in the advice
and moves no alias. Against a real SQLite store (``sqlite_uri``).
"""

from __future__ import annotations

import numpy as np
import pytest
from registry_helpers import (
    TARGET,
    client_for,
    make_frame,
    predictions_with_error,
    register_version,
    snapshot,
    unique_name,
)

from mlflow_staleness import CostModel
from mlflow_staleness.advisor import Advisor
from mlflow_staleness.exceptions import InvalidInputError

COST = CostModel(compute_cost=100, error_cost=1.0, predictions_per_step=100, currency="EUR")
TRUE_ERROR = 0.1


def _model(uri: str, **advisor_options) -> tuple[str, Advisor]:
    name = unique_name("loss-types")
    register_version(uri, name, make_frame(seed=1), val_loss=0.1, alias="champion", log_model=False)
    return name, Advisor(name, tracking_uri=uri, cost=COST, **advisor_options)


def _window(seed: int = 2):
    frame = make_frame(seed=seed)
    classes = predictions_with_error(frame[TARGET], TRUE_ERROR, seed=seed).astype(int)
    rng = np.random.default_rng(seed)
    probabilities = np.where(
        classes == 1, rng.uniform(0.6, 0.95, len(frame)), rng.uniform(0.05, 0.4, len(frame))
    )
    return frame, classes, probabilities


@pytest.mark.parametrize("given", ["numeric strings", "probabilities", "predict_proba"])
def test_predictions_of_another_type_give_the_true_error(sqlite_uri: str, given: str) -> None:
    _, advisor = _model(sqlite_uri)
    frame, classes, probabilities = _window()
    predictions = {
        "numeric strings": classes.astype(str),
        "probabilities": probabilities,
        "predict_proba": np.column_stack([1 - probabilities, probabilities]),
    }[given]
    rec = advisor.advise(frame, labels=TARGET, predictions=predictions, window="w1")
    assert rec.measured_loss == pytest.approx(TRUE_ERROR)
    assert rec.loss_warning is None
    assert rec.action == "keep", rec.reason
    if given != "numeric strings":  # the reading of probabilities is stated
        assert any("probabilit" in line for line in rec.evidence), rec.evidence


def test_text_labels_against_numbers_are_refused_before_any_write(sqlite_uri: str) -> None:
    name, advisor = _model(sqlite_uri)
    frame, classes, _ = _window()
    frame[TARGET] = np.where(frame[TARGET] == 1, "yes", "no")
    before = snapshot(sqlite_uri, name)
    with pytest.raises(
        InvalidInputError,
        match=r"labels are text \('no', 'yes'\), predictions are numbers \(0, 1\)",
    ):
        advisor.advise(frame, labels=TARGET, predictions=classes, window="w1")
    assert snapshot(sqlite_uri, name) == before


def test_an_implausible_loss_is_flagged_and_moves_no_alias(sqlite_uri: str) -> None:
    name, advisor = _model(sqlite_uri, set_alias="retrain-recommended")
    for seed, window in ((2, "w1"), (3, "w2")):
        frame, classes, _ = _window(seed)
        advisor.advise(frame, labels=TARGET, predictions=classes, window=window, apply=True)
    frame, classes, _ = _window(4)
    rec = advisor.advise(frame, labels=TARGET, predictions=1 - classes, window="w3", apply=True)
    assert rec.measured_loss == pytest.approx(1 - TRUE_ERROR)
    assert rec.loss_warning is not None
    assert "implausible" in rec.loss_warning
    assert "implausible" in rec.reason
    assert "no alias or stage moved" in rec.reason
    assert any(line.startswith("implausible loss: ") for line in rec.evidence)
    aliases = client_for(sqlite_uri).get_registered_model(name).aliases
    assert "retrain-recommended" not in aliases, (rec.action, aliases)
    tags = snapshot(sqlite_uri, name)["versions"]["1"]["tags"]
    assert "implausible" in tags["staleness.loss_warning"]


def test_a_plausible_loss_carries_no_warning(sqlite_uri: str) -> None:
    name, advisor = _model(sqlite_uri)
    frame, classes, _ = _window()
    rec = advisor.advise(frame, labels=TARGET, predictions=classes, window="w1")
    assert rec.loss_warning is None
    assert snapshot(sqlite_uri, name)["versions"]["1"]["tags"]["staleness.loss_warning"] == ""
