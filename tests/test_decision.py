"""Specification of :class:`Decision`: it round-trips through MLflow tags and JSON."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlflow_staleness.decision import ACTIONS, Decision
from mlflow_staleness.exceptions import InvalidInputError

# Any float but NaN (NaN is unequal to itself, so no NaN decision equals its round trip).
NUMBERS = st.floats(allow_nan=False)
# Evidence kinds are short words such as "measured"; the tags join them with commas.
KINDS = st.text(st.characters(exclude_characters=","), min_size=1, max_size=12)

decisions = st.builds(
    Decision,
    step=st.integers(0, 10**9),
    action=st.sampled_from(ACTIONS),
    reason=st.text(),  # arbitrary unicode: commas, newlines, quotes, emoji
    staleness_per_step=NUMBERS,
    accumulated_staleness=NUMBERS,
    retrain_cost=st.floats(0, allow_infinity=False),
    break_even_steps=st.one_of(st.just(math.inf), st.floats(0)),
    confidence=st.floats(0, 1),
    uncertainty=st.floats(0),
    evidence=st.lists(KINDS, max_size=4).map(tuple),
)


def make(**changes: object) -> Decision:
    values: dict = {"step": 7, "action": "retrain", "reason": "staleness beats cost"}
    values.update(changes)
    return Decision(**values)


@given(decisions)
@settings(max_examples=200, deadline=None)
def test_a_decision_survives_the_round_trip_through_tags(decision):
    assert Decision.from_tags(decision.to_tags()) == decision


@given(decisions)
@settings(max_examples=50, deadline=None)
def test_every_tag_is_a_string_under_the_staleness_prefix(decision):
    tags = decision.to_tags()

    assert all(isinstance(value, str) for value in tags.values())
    assert all(key.startswith("staleness.") for key in tags)


def test_an_infinite_break_even_survives_the_round_trip_through_tags():
    decision = make(break_even_steps=math.inf)

    assert Decision.from_tags(decision.to_tags()).break_even_steps == math.inf


def test_a_custom_prefix_survives_the_round_trip_through_tags():
    decision = make(reason="keep, for now", evidence=("measured", "validation"))

    tags = decision.to_tags(prefix="advisor/")

    assert all(key.startswith("advisor/") for key in tags)
    assert Decision.from_tags(tags, prefix="advisor/") == decision


def test_tags_of_other_tools_are_ignored_when_reading_a_decision():
    decision = make()
    tags = {**decision.to_tags(), "mlflow.runName": "x", "staleness.other": "y"}

    assert Decision.from_tags(tags) == decision


@pytest.mark.parametrize("evidence", [("from a, b",), ("",), ("measured", "")])
def test_evidence_the_tags_cannot_tell_apart_still_survives_the_round_trip(evidence):
    decision = make(evidence=evidence)

    assert Decision.from_tags(decision.to_tags()) == decision


@given(decisions)
@settings(max_examples=100, deadline=None)
def test_to_dict_is_strict_json(decision):
    text = json.dumps(decision.to_dict(), allow_nan=False)

    assert json.loads(text)["action"] == decision.action


def test_to_dict_writes_an_infinite_break_even_as_null():
    assert make(break_even_steps=math.inf).to_dict()["break_even_steps"] is None


def test_to_json_is_the_json_of_to_dict():
    decision = make(evidence=("measured",), confidence=0.5)

    assert json.loads(decision.to_json()) == decision.to_dict()


@pytest.mark.parametrize(
    ("action", "retrains"),
    [("keep", False), ("retrain", True), ("deploy", True), ("reject", False)],
)
def test_retrain_is_true_for_retrain_and_deploy_only(action, retrains):
    assert make(action=action).retrain is retrains


def test_an_unknown_action_is_refused_with_the_allowed_ones():
    with pytest.raises(
        InvalidInputError,
        match=r"action must be one of \['keep', 'retrain', 'deploy', 'reject'\], got 'maybe'",
    ):
        make(action="maybe")


@pytest.mark.parametrize("confidence", [-0.01, 1.01, math.nan, math.inf])
def test_a_confidence_outside_zero_to_one_is_refused(confidence):
    with pytest.raises(InvalidInputError, match=r"confidence must lie in \[0, 1\], got"):
        make(confidence=confidence)


@pytest.mark.parametrize("missing", sorted(make().to_tags()))
def test_reading_tags_without_a_field_of_the_decision_names_the_missing_tag(missing):
    tags = make().to_tags()
    del tags[missing]

    with pytest.raises(InvalidInputError, match=f"tags hold no complete decision: '{missing}'"):
        Decision.from_tags(tags)


def test_reading_tags_with_an_unreadable_number_is_refused():
    tags = {**make().to_tags(), "staleness.confidence": "high"}

    with pytest.raises(InvalidInputError, match="tags hold an unreadable decision"):
        Decision.from_tags(tags)


def test_reading_tags_with_an_invalid_action_is_refused():
    tags = {**make().to_tags(), "staleness.action": "panic"}

    with pytest.raises(InvalidInputError, match="action must be one of"):
        Decision.from_tags(tags)


def test_a_decision_is_immutable():
    decision = make()

    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field"):
        decision.action = "keep"  # type: ignore[misc]


def test_evidence_given_as_a_list_is_stored_as_a_tuple():
    assert make(evidence=["measured"]).evidence == ("measured",)
