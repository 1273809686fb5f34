"""The recommendation's three serialisations: tags, dict (JSON) and their validation."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlflow_staleness.exceptions import InvalidInputError
from mlflow_staleness.recommendation import (
    ACTIONS,
    ADVICE_ID_TAG,
    MAX_REASON,
    TAG_PREFIX,
    Recommendation,
)

MONEY = ("cost_per_step", "accumulated_cost", "retrain_cost")
FLOATS = (
    "staleness_per_step",
    "accumulated_staleness",
    "retrain_cost_loss",
    "break_even_steps",
    "uncertainty",
)


def make_rec(**changes: object) -> Recommendation:
    values: dict[str, object] = {
        "model_name": "fraud",
        "version": "3",
        "action": "retrain",
        "strategy": "forecast",
        "reason": "stale: retrain",
        "window": "2026-11-27",
        "window_seq": 12,
        "currency": "EUR",
        "cost_per_step": 12.5,
        "accumulated_cost": 410.0,
        "retrain_cost": 400.0,
        "staleness_per_step": 0.02,
        "accumulated_staleness": 0.1025,
        "retrain_cost_loss": 0.1,
        "break_even_steps": 5.0,
        "uncertainty": 0.004,
        "confidence": 0.8,
        "evidence": ("age-curve", "measured"),
        "top_features": (("nswprice", 1.7), ("day", 0.25)),
        "evaluated_at": "2026-11-28T05:00:00+00:00",
        "data_digest": "ab12",
        "advice_id": "0f3c",
        "alias": "champion",
        "candidate_version": None,
        "measured_loss": 0.31,
        "advisor_run_id": None,
    }
    values.update(changes)
    return Recommendation(**values)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ strategies
def _recommendations(numbers: st.SearchStrategy[float]) -> st.SearchStrategy[Recommendation]:
    text = st.text(max_size=30)
    optional_text = st.none() | st.text(min_size=1, max_size=30)  # "" reads back as None
    return st.builds(
        Recommendation,
        model_name=text,
        version=text,
        action=st.sampled_from(ACTIONS),
        strategy=text,
        # no line breaks of any kind (str.splitlines would split there)
        reason=st.text(
            st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp")), max_size=MAX_REASON
        ),
        window=text,
        window_seq=st.integers(min_value=-(2**63), max_value=2**63),
        currency=st.text(st.characters(exclude_characters=" "), min_size=1, max_size=8),
        cost_per_step=numbers,
        accumulated_cost=numbers,
        retrain_cost=numbers,
        staleness_per_step=numbers,
        accumulated_staleness=numbers,
        retrain_cost_loss=numbers,
        break_even_steps=numbers,
        uncertainty=numbers,
        confidence=st.floats(min_value=0.0, max_value=1.0),
        evidence=st.lists(st.text(max_size=20), max_size=5).map(tuple),
        top_features=st.lists(
            st.tuples(st.text(max_size=20), st.floats(allow_nan=False, allow_infinity=False)),
            max_size=5,
        ).map(tuple),
        evaluated_at=text,
        data_digest=text,
        advice_id=text,
        alias=optional_text,
        candidate_version=optional_text,
        measured_loss=st.none() | numbers,
        advisor_run_id=optional_text,
        schema_version=st.integers(min_value=0, max_value=1000),
    )


ANY_NUMBER = st.floats(allow_nan=False)  # inf, -inf, huge, subnormal, negative, -0.0
FINITE = st.floats(allow_nan=False, allow_infinity=False)


# ------------------------------------------------------------------------------ round trips
@given(_recommendations(ANY_NUMBER))
def test_tags_round_trip(rec: Recommendation) -> None:
    tags = rec.to_tags()
    assert Recommendation.from_tags(tags) == rec
    assert all(key.startswith(TAG_PREFIX) for key in tags)
    assert all(isinstance(value, str) for value in tags.values())
    assert list(tags)[-1] == ADVICE_ID_TAG
    assert len(rec.summary()) <= MAX_REASON


@given(_recommendations(ANY_NUMBER))
def test_tags_round_trip_with_another_prefix_and_foreign_tags(rec: Recommendation) -> None:
    tags = rec.to_tags(prefix="x.")
    assert all(key.startswith("x.") for key in tags)
    tags = {"mlflow.note.content": "hello", "staleness.action": "keep", **tags}
    assert Recommendation.from_tags(tags, prefix="x.") == rec


@given(_recommendations(FINITE))
def test_dict_round_trip_through_strict_json(rec: Recommendation) -> None:
    text = json.dumps(rec.to_dict(), allow_nan=False)
    assert Recommendation.from_dict(json.loads(text)) == rec
    assert Recommendation.from_dict(rec.to_dict()) == rec


@given(_recommendations(ANY_NUMBER))
def test_to_dict_is_strict_json_even_with_infinities(rec: Recommendation) -> None:
    data = rec.to_dict()
    json.dumps(data, allow_nan=False)  # raises on inf or NaN
    for name in (*MONEY, *FLOATS):
        value = getattr(rec, name)
        assert data[name] == (value if math.isfinite(value) else None)


def test_dict_reads_none_numbers_as_infinity() -> None:
    rec = make_rec(break_even_steps=math.inf, measured_loss=None)
    data = rec.to_dict()
    assert data["break_even_steps"] is None
    assert data["measured_loss"] is None
    assert data["top_features"] == [
        {"feature": "nswprice", "score": 1.7},
        {"feature": "day", "score": 0.25},
    ]
    assert Recommendation.from_dict(data) == rec


@pytest.mark.parametrize("score", [math.inf, -math.inf, math.nan])
def test_non_finite_top_feature_score_is_rejected_or_serialises_strictly(score: float) -> None:
    # Every other number of a recommendation is checked for NaN, and to_dict promises a JSON-ready
    # dict with non-finite numbers as None; a top-feature score must not slip through either way.
    try:
        rec = make_rec(top_features=(("x", score),))
    except InvalidInputError:
        return
    json.dumps(rec.to_dict(), allow_nan=False)


def test_from_dict_rejects_garbage() -> None:
    data = make_rec().to_dict()
    del data["action"]
    with pytest.raises(InvalidInputError, match="not a readable advice"):
        Recommendation.from_dict(data)
    with pytest.raises(InvalidInputError):
        Recommendation.from_dict({**make_rec().to_dict(), "cost_per_step": "lots"})


# ------------------------------------------------------------------------------ tag formats
def test_money_tags_carry_the_currency() -> None:
    tags = make_rec(cost_per_step=12.5, accumulated_cost=-3.0, retrain_cost=math.inf).to_tags()
    assert tags["staleness.cost_per_step"] == "12.5 EUR"
    assert tags["staleness.accumulated_cost"] == "-3.0 EUR"
    assert tags["staleness.retrain_cost"] == "inf EUR"
    assert tags["staleness.currency"] == "EUR"


def test_number_and_list_tag_formats() -> None:
    tags = make_rec(staleness_per_step=0.1 + 0.2, break_even_steps=math.inf).to_tags()
    assert tags["staleness.staleness_per_step"] == "0.30000000000000004"
    assert tags["staleness.break_even_steps"] == "inf"
    assert tags["staleness.window_seq"] == "12"
    assert json.loads(tags["staleness.evidence"]) == ["age-curve", "measured"]
    assert json.loads(tags["staleness.top_features"]) == [["nswprice", 1.7], ["day", 0.25]]
    assert tags["staleness.measured_loss"] == "0.31"


def test_unset_optional_fields_are_empty_strings() -> None:
    rec = make_rec(alias=None, candidate_version=None, measured_loss=None, advisor_run_id=None)
    tags = rec.to_tags()
    for name in ("alias", "candidate_version", "measured_loss", "advisor_run_id"):
        assert tags[TAG_PREFIX + name] == ""
    back = Recommendation.from_tags(tags)
    assert back.alias is None
    assert back.measured_loss is None
    assert back == rec


def test_advice_id_is_the_last_tag() -> None:
    tags = make_rec(advice_id="abc").to_tags()
    assert list(tags)[-1] == "staleness.advice_id"
    assert tags["staleness.advice_id"] == "abc"
    assert make_rec(advice_id="abc").complete
    assert not make_rec(advice_id="").complete


@pytest.mark.parametrize("key", list(make_rec().to_tags()))
def test_a_missing_tag_is_named(key: str) -> None:
    tags = make_rec().to_tags()
    del tags[key]
    with pytest.raises(InvalidInputError, match="missing") as info:
        Recommendation.from_tags(tags)
    assert key in str(info.value)


@pytest.mark.parametrize("name", MONEY)
def test_a_money_tag_in_another_currency_is_named(name: str) -> None:
    tags = make_rec().to_tags()
    tags[TAG_PREFIX + name] = "400.0 USD"
    with pytest.raises(InvalidInputError) as info:
        Recommendation.from_tags(tags)
    assert TAG_PREFIX + name in str(info.value)
    assert "USD" in str(info.value)


def test_a_money_tag_without_currency_is_rejected() -> None:
    tags = make_rec().to_tags()
    tags["staleness.retrain_cost"] = "400.0"
    with pytest.raises(InvalidInputError, match=r"staleness\.retrain_cost"):
        Recommendation.from_tags(tags)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("staleness.window_seq", "twelve"),
        ("staleness.confidence", "high"),
        ("staleness.staleness_per_step", ""),
        ("staleness.measured_loss", "n/a"),
        ("staleness.evidence", "[not json"),
        ("staleness.top_features", "[[1, 2, 3]]"),
        ("staleness.cost_per_step", "lots EUR"),
    ],
)
def test_unreadable_tags_raise(key: str, value: str) -> None:
    tags = make_rec().to_tags()
    tags[key] = value
    with pytest.raises(InvalidInputError):
        Recommendation.from_tags(tags)


def test_tags_with_nan_or_bad_values_are_rejected_on_read() -> None:
    for key, value in [
        ("staleness.uncertainty", "nan"),
        ("staleness.cost_per_step", "nan EUR"),
        ("staleness.action", "panic"),
        ("staleness.confidence", "1.5"),
        ("staleness.reason", "two\nlines"),
    ]:
        tags = make_rec().to_tags()
        tags[key] = value
        with pytest.raises(InvalidInputError):
            Recommendation.from_tags(tags)


# ------------------------------------------------------------------------------ validation
def test_every_action_is_accepted_and_others_are_not() -> None:
    for action in ACTIONS:
        assert make_rec(action=action).action == action
    with pytest.raises(InvalidInputError, match="action"):
        make_rec(action="Retrain")


@pytest.mark.parametrize("confidence", [-0.01, 1.0000001, math.nan, math.inf])
def test_confidence_outside_unit_interval_raises(confidence: float) -> None:
    with pytest.raises(InvalidInputError, match="confidence"):
        make_rec(confidence=confidence)


@pytest.mark.parametrize("confidence", [0.0, 1.0])
def test_confidence_bounds_are_accepted(confidence: float) -> None:
    assert make_rec(confidence=confidence).confidence == confidence


@pytest.mark.parametrize("name", [*MONEY, *FLOATS, "measured_loss"])
def test_nan_numbers_raise_naming_the_field(name: str) -> None:
    with pytest.raises(InvalidInputError, match=name):
        make_rec(**{name: math.nan})


@pytest.mark.parametrize("reason", ["first line\nsecond line", "x" * (MAX_REASON + 1), "\n"])
def test_multi_line_or_long_reason_raises(reason: str) -> None:
    with pytest.raises(InvalidInputError, match="reason"):
        make_rec(reason=reason)


def test_reason_of_exactly_max_length_is_accepted() -> None:
    rec = make_rec(reason="é" * MAX_REASON)
    assert Recommendation.from_tags(rec.to_tags()) == rec


def test_lists_are_normalised_to_tuples() -> None:
    rec = make_rec(evidence=["a", "b"], top_features=[["x", 1]])
    assert rec.evidence == ("a", "b")
    assert rec.top_features == (("x", 1.0),)
    assert isinstance(rec.top_features[0][1], float)


def test_recommendation_is_frozen() -> None:
    rec = make_rec()
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.action = "keep"  # type: ignore[misc]
