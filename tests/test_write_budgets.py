"""Every value the advisor writes fits MLflow's limit for its kind, by construction.

Issue 11, defect 1: an over-long value (new text values of 40,000 characters, a feature name of
25,000, thousands of columns with unseen values, a currency of 120,000) made one tag write fail
in the middle of an advice. These properties generate the class: strings of random length at
each kind of value an advice, a measurement or the settings write (version tag, model tag, run
tag, metric key, the settings document), and check that

- :func:`~mlflow_staleness.adapter.budget.fit` and :func:`fit_list` keep a value within its
  budget, as a visible cut (``…`` and the count left out) of the value itself;
- every plan passes :func:`check_plan`, and every value in it is within its kind's budget, so a
  dry run and the real run accept or refuse the same input;
- such a plan, executed against a real SQLite store, is written whole, and reads back as planned.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from registry_helpers import client_for, make_frame, register_version, unique_name

from mlflow_staleness.adapter import AdvisorState, execute, log_reference, plan_advice
from mlflow_staleness.adapter.budget import (
    BUDGETS,
    KEY_BUDGET,
    WriteBudgetError,
    check_plan,
    fit,
    fit_list,
)
from mlflow_staleness.adapter.writing import Write, configure_plan, record_plan
from mlflow_staleness.advice import WindowRecord
from mlflow_staleness.advice_log import advice_fact, measurement_fact
from mlflow_staleness.exceptions import InvalidInputError
from mlflow_staleness.recommendation import Recommendation
from mlflow_staleness.settings import MAX_TEXT, check_layer, settings_document

CUT = re.compile(r"… \(\+(\d+) (chars|items)\)$")
#: Lengths around every budget, and far beyond the largest limit (MLflow 3's 100,000).
lengths = st.one_of(
    st.integers(0, 300),
    st.sampled_from([249, 250, 251, 4_999, 5_000, 5_001, 7_999, 8_000, 8_001]),
    st.integers(0, 130_000),
)
chars = st.sampled_from(["x", "é", '"', "\\", "'", "€", " "])


@st.composite
def long_text(draw: st.DrawFn) -> str:
    return draw(chars) * draw(lengths)


# ---------------------------------------------------------------------------------- the cut
@given(text=long_text(), budget=st.integers(1, 10_000))
def test_fit_keeps_a_value_within_its_budget_as_a_visible_cut(text: str, budget: int) -> None:
    out = fit(text, budget)
    assert len(out) <= budget
    if len(text) <= budget:
        assert out == text
    elif budget >= 24:  # room for the head and the count
        found = CUT.search(out)
        assert found, out[-40:]
        head = out[: found.start()]
        assert text.startswith(head)
        assert len(head) + int(found.group(1)) == len(text)


@given(items=st.lists(long_text(), max_size=40), budget=st.integers(64, 10_000))
def test_fit_list_is_a_json_list_within_its_budget(items: list[str], budget: int) -> None:
    out = fit_list(items, budget)
    assert len(out) <= budget
    shown = json.loads(out)
    assert isinstance(shown, list)
    if shown and CUT.search(shown[-1]) and shown[-1].endswith("items)"):
        left = int(CUT.search(shown[-1]).group(1))
        assert len(shown) - 1 + left == len(items)
        shown = shown[:-1]
    for given_item, item in zip(items, shown, strict=False):
        found = CUT.search(item)
        assert item == given_item or (found and given_item.startswith(item[: found.start()]))


# ---------------------------------------------------------------------------------- plans
def _recommendation(
    *,
    model: str = "m",
    evidence: tuple[str, ...] = (),
    features: tuple[str, ...] = (),
    window: str = "w1",
    currency: str = "EUR",
    alias: str = "champion",
    strategy: str = "forecast",
) -> Recommendation:
    return Recommendation(
        model_name=model,
        version="1",
        action="retrain",
        strategy=strategy,
        reason="stale",
        window=window,
        window_seq=0,
        currency=currency,
        cost_per_step=1.0,
        accumulated_cost=2.0,
        retrain_cost=3.0,
        staleness_per_step=0.1,
        accumulated_staleness=0.2,
        retrain_cost_loss=0.3,
        break_even_steps=3.0,
        uncertainty=0.01,
        confidence=0.5,
        evidence=evidence,
        top_features=tuple((name, 1.0) for name in features),
        evaluated_at="2026-12-02T10:00:00+00:00",
        data_digest="ab",
        advice_id="a" * 32,
        alias=alias,
    )


def _plan(rec: Recommendation, state: AdvisorState | None = None) -> list[Write]:
    record = WindowRecord(0, rec.window, 0, "1", {"1": 0.1}, {}, advice=rec.to_dict())
    return plan_advice(
        rec,
        state=state or AdvisorState(),
        fact=advice_fact(record, 0),
        plot=b"png",
        report=b"<html></html>",
        aliases={},
    )


def _within_budgets(plan: list[Write]) -> None:
    for write in plan:
        if write.kind in ("set-version-tag", "set-model-tag"):
            assert len(write.key) <= KEY_BUDGET
            assert len(write.value) <= BUDGETS[write.kind], (write.key, len(write.value))
        elif write.kind in ("set-run-tags", "log-metrics"):
            for key, value in json.loads(write.payload).items():
                assert len(key) <= KEY_BUDGET
                if write.kind == "set-run-tags":
                    assert len(value) <= BUDGETS["set-run-tags"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    evidence=st.lists(long_text(), max_size=30),
    features=st.lists(long_text(), max_size=5),
    model=st.text("mn'\\% é", min_size=1, max_size=490),
    window=st.text("w0-: ", min_size=1, max_size=200).filter(str.strip),
    currency=st.text("C€$", min_size=1, max_size=MAX_TEXT),
    alias=st.text("a_-", min_size=1, max_size=255),
)
def test_every_advice_plan_is_within_its_budgets(
    evidence: list[str],
    features: list[str],
    model: str,
    window: str,
    currency: str,
    alias: str,
) -> None:
    rec = _recommendation(
        model=model,
        evidence=tuple(evidence),
        features=tuple(features),
        window=window,
        currency=currency,
        alias=alias,
    )
    plan = _plan(rec)  # checks the plan itself: it would raise over a budget
    _within_budgets(plan)
    tags = {w.key: w.value for w in plan if w.kind == "set-version-tag"}
    assert len(json.loads(tags["staleness.evidence"])) <= len(evidence) + 1


@settings(max_examples=40, deadline=None)
@given(window=st.text("w0-: ", min_size=1, max_size=200).filter(str.strip))
def test_every_measurement_plan_is_within_its_budgets(window: str) -> None:
    record = WindowRecord(0, window, 0, "1", {"1": 0.1})
    plan = record_plan("m", AdvisorState(), measurement_fact(record, "b" * 32, 0))
    _within_budgets(plan)


@settings(max_examples=60, deadline=None)
@given(
    currency=long_text(),
    alias=long_text(),
    loss_key=long_text(),
)
def test_settings_fit_one_model_tag_or_are_refused_before_any_write(
    currency: str, alias: str, loss_key: str
) -> None:
    layer = {"currency": currency, "alias": alias, "loss_key": loss_key, "retrain_cost": 1e308}
    texts = [value.strip() for value in (currency, alias, loss_key)]
    if any(not text or len(text) > MAX_TEXT for text in texts):
        with pytest.raises(InvalidInputError, match=r"must|at most"):
            check_layer(layer, "the arguments")
        return
    checked = check_layer(layer, "the arguments")
    document = settings_document(checked, revision=2**31)
    plan = configure_plan("m", {"staleness.config.currency": "EUR"}, document)
    _within_budgets(plan)
    assert plan[0].value == document


@given(value=long_text(), kind=st.sampled_from(["set-version-tag", "set-model-tag"]))
def test_check_plan_refuses_what_no_builder_fitted(value: str, kind: str) -> None:
    write = Write(kind, "model 'm'", "staleness.x", value)
    if len(value) > BUDGETS[kind]:
        with pytest.raises(WriteBudgetError, match=rf"{len(value)} characters"):
            check_plan([write])
    else:
        check_plan([write])


# ---------------------------------------------------------------------------------- real writes
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_an_over_long_advice_is_written_whole_to_a_real_store(sqlite_uri: str, seed: int) -> None:
    """Random lengths at each kind, up to 130,000 characters: the store takes every write, and
    the version's tags read back as planned."""
    rng = np.random.default_rng(seed)

    def text(char: str) -> str:
        return char * int(rng.integers(0, 130_000))

    name = unique_name("budget")
    register_version(sqlite_uri, name, make_frame(seed=1), alias="champion", log_model=False)
    rec = _recommendation(
        model=name,
        evidence=tuple(text("e") for _ in range(int(rng.integers(1, 200)))),
        features=tuple(text("f") for _ in range(5)),
        window="w" * int(rng.integers(1, 200)),
        currency="C" * int(rng.integers(1, MAX_TEXT)),
    )
    plan = _plan(rec)
    run_id = execute(client_for(sqlite_uri), plan, model_name=name)
    version = client_for(sqlite_uri).get_model_version(name, "1")
    planned = {w.key: w.value for w in plan if w.kind == "set-version-tag"}
    written = {k: v for k, v in version.tags.items() if k in planned}
    assert written == {k: v.replace("<new advisor run>", run_id) for k, v in planned.items()}
    assert written["staleness.advice_id"] == rec.advice_id


@pytest.mark.parametrize(
    ("loss_name", "target", "match"),
    [
        ("l" * (KEY_BUDGET + 1), None, r"loss_name must be a metric key of 1 to 250 characters"),
        ("val_loss", "y" * (BUDGETS["set-run-tags"] + 1), r"target column's name has 8001"),
    ],
)
def test_log_reference_refuses_a_value_it_reads_back_before_any_write(
    sqlite_uri: str, loss_name: str, target: str | None, match: str
) -> None:
    client = client_for(sqlite_uri)
    run = client.create_run(client.create_experiment(unique_name("reference")))
    frame = make_frame(seed=1)
    if target is not None:
        frame = frame.rename(columns={frame.columns[-1]: target})
    with pytest.raises(WriteBudgetError, match=match):
        log_reference(
            frame, target=target, loss=0.1, loss_name=loss_name, run_id=run.info.run_id,
            tracking_uri=sqlite_uri,
        )  # fmt: skip
    assert client.list_artifacts(run.info.run_id) == []
    written = client.get_run(run.info.run_id).data
    assert not written.metrics
    assert not [k for k in written.tags if k.startswith("staleness.")]


def test_a_cut_advice_never_pairs_its_display_tags_with_an_older_advice_id(
    sqlite_uri: str,
) -> None:
    """Cut after some of the version's display tags: its ``staleness.advice_id`` is empty (the
    display copies are incomplete), not the previous advice's id; the summary and the latest
    artifacts still show the previous complete advice."""
    from mlflow_staleness import CostModel
    from mlflow_staleness.advisor import Advisor

    name = unique_name("display")
    register_version(sqlite_uri, name, make_frame(seed=1), alias="champion", log_model=False)
    cost = CostModel(compute_cost=10, error_cost=1, predictions_per_step=100)
    advisor = Advisor(name, cost=cost, tracking_uri=sqlite_uri)
    frame = make_frame(seed=2)
    labels = frame.pop("label")
    done = advisor.advise(frame, labels=labels, predictions=labels, window="w1")
    client = client_for(sqlite_uri)
    summary = client.get_registered_model(name).tags["staleness.summary"]

    pending = advisor.advise(
        frame, labels=labels, predictions=1 - labels, window="w2", dry_run=True
    )
    plan = advisor.last_plan
    window = next(i for i, w in enumerate(plan) if w.key == "staleness.window")
    execute(client, plan[: window + 1], model_name=name)

    version = client.get_model_version(name, "1").tags
    assert version["staleness.advice_id"] == ""
    assert version["staleness.window"] == "w2"  # partly written, and marked so
    assert client.get_registered_model(name).tags["staleness.summary"] == summary
    [row] = [r for r in advisor.history() if r["window"] == "w1"]
    assert row["advice_id"] == done.advice_id
    assert not [r for r in advisor.history() if r["advice_id"] == pending.advice_id]
