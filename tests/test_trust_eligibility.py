"""One eligibility rule for every version put into service, and rejected versions kept out of the
evidence (issue 17, defects 1 and 2).

**The rule** (:mod:`mlflow_staleness.eligibility`): a version may serve, be judged as a candidate
or be switched to only when it is READY, not Archived, not withdrawn (tag
``staleness.withdrawn``), its source run (when it names one) exists and is not deleted, and its
logged validation loss (when there is one) is finite. The same rule refuses to advise on a served
version that breaks it.

**Rejected versions** (defect 2): a version a gate rejected, or a newer one that never served, is
no fresh model: it takes no row of the age curve or the level signals, and no switch brings it
back. Staleness below zero is clipped to 0 and said in the evidence; money is never negative.

The first half is arithmetic on hand-built registry evidence (``compute_advice``), with property
tests; the second half goes through a real SQLite store, the Python API and the CLI, each with a
``registry_helpers.snapshot`` before and after: an ineligible candidate never moves the alias,
and naming it with ``--candidate`` exits 1, names the reason and ``--candidate none``, and writes
nothing.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from registry_helpers import (
    TARGET,
    client_for,
    make_frame,
    predictions_with_error,
    register_version,
    snapshot,
    unique_name,
)

from mlflow_staleness.advice import (
    VersionEvidence,
    WindowRecord,
    compute_advice,
    registry_observation,
    trusted_versions,
)
from mlflow_staleness.advisor import (
    Advisor,
    _candidate,
    _check_recorded_evidence,
    _check_target,
)
from mlflow_staleness.cli import main
from mlflow_staleness.costs import CostModel
from mlflow_staleness.eligibility import WITHDRAWN_TAG, ineligibility
from mlflow_staleness.exceptions import InvalidInputError, RegistryError, StalenessError
from mlflow_staleness.recommendation import Recommendation

COST = CostModel(compute_cost=300.0, people_cost=75.0, error_cost=2.0, predictions_per_step=1000)

#: Each way a version breaks the rule, as the adapter reads it.
VIOLATIONS = {
    "nan-loss": {"bad_loss": "'val_loss' is nan"},
    "deleted-run": {"run_deleted": True},
    "missing-run": {"run_missing": True},
    "archived": {"stage": "Archived"},
    "withdrawn": {"withdrawn": "leaks the label"},
    "pending": {"status": "PENDING_REGISTRATION"},
    "failed": {"status": "FAILED_REGISTRATION"},
    "other-model": {"model": "someone-else"},
}
REASONS = {
    "nan-loss": r"validation loss 'val_loss' is nan",
    "deleted-run": r"source run \w+ is deleted",
    "missing-run": r"source run \w+ does not exist",
    "archived": r"stage Archived",
    "withdrawn": r"withdrawn \(tag staleness\.withdrawn = 'leaks the label'\)",
    "pending": r"PENDING_REGISTRATION",
    "failed": r"FAILED_REGISTRATION",
    "other-model": r"someone-else",
}


def version(number: int, created_ms: int, val_loss: float | None, **facts) -> VersionEvidence:
    facts = {"run_id": f"r{number}", "model": "m", **facts}
    return VersionEvidence(str(number), created_ms, val_loss=val_loss, **facts)


def window(seq: int, served: str = "1", advice: dict | None = None, **measured: float):
    return WindowRecord(
        seq,
        f"w{seq}",
        1000 * (seq + 1),
        served,
        {k.removeprefix("v"): v for k, v in measured.items()},
        advice=advice,
    )


def advise(
    versions: Sequence[VersionEvidence],
    served: VersionEvidence,
    history: Sequence[WindowRecord],
    candidate: VersionEvidence | None = None,
) -> Recommendation:
    return compute_advice(
        model_name="m",
        versions=list(versions),
        served=served,
        history=history,
        current=max(history, key=lambda r: r.seq),
        current_fingerprint=None,
        cost=COST,
        strategy="forecast",
        evaluated_at="2026-01-01T00:00:00+00:00",
        advice_id="id",
        candidate=candidate,
    )


REJECTED = {"candidate_version": "2", "action": "keep", "engine_action": "reject"}


# ---------------------------------------------------------------------------------- the rule
@pytest.mark.parametrize("kind", sorted(VIOLATIONS))
def test_each_violation_is_named_by_the_one_rule(kind: str) -> None:
    bad = version(2, 0, 0.1, **VIOLATIONS[kind])
    problem = ineligibility(bad, "m")
    assert problem is not None
    assert re.search(REASONS[kind], problem.reason), problem.reason
    assert problem.fix  # a way forward for every reason
    assert ineligibility(version(2, 0, 0.1), "m") is None


@pytest.mark.parametrize("kind", sorted(VIOLATIONS))
def test_the_served_version_is_held_to_the_same_rule(kind: str) -> None:
    served = version(1, 0, 0.1, **VIOLATIONS[kind])
    with pytest.raises(StalenessError) as raised:
        _check_recorded_evidence(served, "m", "champion")
    message = str(raised.value)
    assert "\n" not in message
    assert re.search(REASONS[kind], message), message
    assert "point 'champion' at an eligible version" in message


@pytest.mark.parametrize("kind", sorted(VIOLATIONS))
def test_a_named_ineligible_candidate_is_refused_naming_the_way_forward(kind: str) -> None:
    served = version(1, 0, 0.2)
    bad = version(2, 10**6, 0.05, **VIOLATIONS[kind])
    with pytest.raises(RegistryError) as raised:
        _candidate("2", [served, bad], served, [window(0, v1=0.2)], "m")
    message = str(raised.value)
    assert re.search(REASONS[kind], message), message
    assert "--candidate none" in message


@pytest.mark.parametrize("kind", sorted(VIOLATIONS))
def test_an_ineligible_newer_version_is_passed_over_and_said(kind: str) -> None:
    served = version(1, 0, 0.2)
    ok, bad = version(2, 10**6, 0.06), version(3, 2 * 10**6, 0.05, **VIOLATIONS[kind])
    history = [window(i, v1=0.2 + 0.04 * i) for i in range(8)]
    chosen = _candidate(None, [served, ok, bad], served, history, "m")
    assert chosen is not None
    assert chosen.version == "2"
    rec = advise([served, ok, bad], served, history, candidate=chosen)
    passed = [e for e in rec.evidence if e.startswith("passed over v3: ")]
    assert len(passed) == 1, rec.evidence
    assert re.search(REASONS[kind], passed[0]), rec.evidence


def test_the_passed_over_list_is_bounded() -> None:
    served = version(1, 0, 0.2)
    bad = [version(n, n * 10**6, 0.1, stage="Archived") for n in range(2, 40)]
    rec = advise([served, *bad], served, [window(i, v1=0.2) for i in range(4)])
    passed = [e for e in rec.evidence if e.startswith("passed over")]
    assert len(passed) == 6
    assert passed[0].startswith("passed over v39: ")
    assert passed[-1] == "passed over 33 more ineligible version(s)"


def test_the_candidate_and_the_served_version_on_the_same_data_names_candidate_none() -> None:
    served = version(1, 5000, 0.2)  # created after every window: born at the latest data
    history = [window(0, v1=0.2), window(1, v1=0.21)]
    with pytest.raises(InvalidInputError, match=r"--candidate none"):
        registry_observation(
            [served], served, history, history[-1], COST.alpha, candidate=version(2, 6000, 0.1)
        )


violations = st.sampled_from(sorted(VIOLATIONS))


@settings(max_examples=60)
@given(
    older=violations,
    newer=violations,
    served_loss=st.floats(0.25, 0.6),
    gain=st.floats(0.05, 0.2),
)
def test_an_ineligible_version_is_never_chosen(older, newer, served_loss, gain) -> None:
    """Property: an older version clearly better on the same windows (a rollback target) and a
    newer one (a candidate), each breaking the rule in some way, are never chosen: not as the
    candidate, not as a switch target. Without the violation the older one is rolled back to."""
    v1 = version(1, 0, 0.2)
    v2 = version(2, 2500, 0.2)  # served from w3
    v3 = version(3, 10**7, 0.01)
    history = [window(i, "1", v1=0.2) for i in range(3)]
    history += [
        window(i, "2", v1=served_loss - gain + 0.001 * (i % 2), v2=served_loss + 0.001 * (i % 3))
        for i in range(3, 9)
    ]
    clean = advise([v1, v2], v2, history)
    assume(clean.action == "rollback")  # without the violation, v1 is rolled back to

    bad_old, bad_new = replace(v1, **VIOLATIONS[older]), replace(v3, **VIOLATIONS[newer])
    versions = [bad_old, v2, bad_new]
    assert _candidate(None, versions, v2, history, "m") is None
    rec = advise(versions, v2, history)
    assert rec.action not in ("promote", "rollback"), rec.reason
    assert any(e.startswith("passed over v1: ") for e in rec.evidence)
    assert any(e.startswith("passed over v3: ") for e in rec.evidence)


def test_the_last_guard_refuses_an_advice_that_would_serve_an_ineligible_version() -> None:
    """Where an alias can move, the rule is checked once more: an advice to switch to a version
    that is (now) ineligible is refused before anything is written."""
    v1, v2 = version(1, 0, 0.2), version(2, 2500, 0.2)
    history = [window(i, "1", v1=0.2) for i in range(3)]
    history += [
        window(i, "2", v1=0.2 + 0.001 * (i % 2), v2=0.3 + 0.001 * (i % 3)) for i in range(3, 9)
    ]
    rec = advise([v1, v2], v2, history)
    assert (rec.action, rec.candidate_version) == ("rollback", "1")
    _check_target(rec, [v1, v2], "m")  # eligible: passes
    with pytest.raises(RegistryError, match=r"rollback v1, but it is in stage Archived"):
        _check_target(rec, [replace(v1, stage="Archived"), v2], "m")


# ---------------------------------------------------------------------------------- defect 2
SHIFT = 12
WINDOWS = 20


def _served_loss(seq: int) -> float:
    return (0.18 if seq < SHIFT else 0.50) + 0.01 * ((seq * 7) % 3 - 1)


def _scenario(weak: bool) -> tuple[list[VersionEvidence], list[WindowRecord]]:
    """The new user's stream: v1 serves at an error of about 0.18; with ``weak``, a v2 that
    validates at 0.49 is registered after w3, judged on w4 and rejected, and scored on every later
    window (it is a little better than v1 after the concept shift at w12)."""
    v1 = version(1, 0, 0.18)
    versions = [v1]
    history = []
    for seq in range(WINDOWS):
        measured = {"v1": _served_loss(seq)}
        advice = None
        if weak and seq >= 4:
            measured["v2"] = (0.49 if seq < SHIFT else 0.47) + 0.005 * (seq % 2)
        if weak and seq == 4:
            advice = REJECTED
        history.append(window(seq, "1", advice, **measured))
    if weak:
        versions.append(version(2, 4500, 0.49))
    return versions, history


def test_a_rejected_weak_version_does_not_poison_the_served_versions_advice() -> None:
    """Defect 2 as a new user met it: no negative staleness, the retrain at the first shifted
    window as without the weak version, and never ``promote v2``."""
    with_weak, without = _scenario(True), _scenario(False)
    first_retrain = {}
    for label, (versions, history) in (("weak", with_weak), ("alone", without)):
        served = versions[0]
        for t in range(5, WINDOWS):
            rec = advise(versions, served, history[: t + 1])
            assert rec.staleness_per_step >= 0, rec.reason
            assert rec.cost_per_step >= 0, rec.reason
            assert rec.accumulated_cost >= 0
            assert not re.search(r"-\d", rec.reason.split(": ", 1)[1]), rec.reason
            assert rec.candidate_version != "2", rec.reason
            if rec.action == "retrain":
                first_retrain.setdefault(label, t)
    assert first_retrain["weak"] == first_retrain["alone"] == SHIFT


def test_the_rejected_version_is_said_to_be_left_out() -> None:
    versions, history = _scenario(True)
    rec = advise(versions, versions[0], history[:8])
    assert (
        "not counted as a fresh model or a switch target: v2 (rejected by the gate on window "
        "'w4')" in rec.evidence
    )


def test_a_version_the_gate_promoted_counts_and_a_never_served_one_does_not() -> None:
    v1, v2, v3, v4 = (version(n, 1000 * n + 500, 0.2) for n in range(1, 5))
    promoted = {"candidate_version": "3", "action": "promote", "engine_action": "deploy"}
    history = [window(0), window(1, advice=promoted), window(2, "4"), window(3, "4")]
    counted, notes = trusted_versions([v1, v2, v3, v4], v4, history)
    assert [v.version for v in counted] == ["1", "3", "4"]
    assert notes == ("not counted as a fresh model or a switch target: v2 (never served)",)


@st.composite
def rejected_candidates(draw):
    """A served v1 with measured windows, and a v2 the gate rejected, inserted at any birth with
    any validation loss and any losses on the windows after it."""
    n = draw(st.integers(4, 14))
    served_losses = draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n))
    birth = draw(st.integers(0, n - 2))
    val = draw(st.floats(0.0, 1.0))
    judged = draw(st.integers(birth + 1, n - 1))
    other = draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n))
    return served_losses, birth, val, judged, other


@settings(max_examples=80)
@given(case=rejected_candidates())
def test_a_rejected_candidate_never_lowers_staleness_nor_is_switched_to(case) -> None:
    """Property: inserting any rejected candidate into a history never lowers the staleness
    estimate of the served version, and never produces a switch to it."""
    served_losses, birth, val, judged, other = case
    v1 = version(1, 0, 0.2)
    v2 = version(2, 1000 * (birth + 1) + 500, val)
    alone = [window(s, v1=loss) for s, loss in enumerate(served_losses)]
    inserted = [
        window(
            s,
            "1",
            REJECTED if s == judged else None,
            v1=loss,
            **({"v2": other[s]} if s > birth else {}),
        )
        for s, loss in enumerate(served_losses)
    ]
    for t in range(judged, len(alone)):
        base = advise([v1], v1, alone[: t + 1])
        rec = advise([v1, v2], v1, inserted[: t + 1])
        assert rec.staleness_per_step >= base.staleness_per_step
        assert rec.staleness_per_step >= 0
        assert rec.cost_per_step >= 0
        assert rec.candidate_version != "2"


@settings(max_examples=60)
@given(losses=st.lists(st.floats(0.0, 1.0), min_size=3, max_size=12), val=st.floats(0.0, 1.0))
def test_money_is_never_negative(losses, val) -> None:
    """Property: whatever the losses, the advice's staleness and money are never below zero, and
    a clipped estimate is said in the evidence."""
    v1 = version(1, 0, val)
    rec = advise([v1], v1, [window(s, v1=loss) for s, loss in enumerate(losses)])
    assert rec.staleness_per_step >= 0
    assert rec.accumulated_staleness >= 0
    assert rec.cost_per_step >= 0
    assert rec.accumulated_cost >= 0
    assert not re.search(r"-\d", rec.reason.rpartition("(in money:")[2]), rec.reason
    assert not re.search(r"stale by -|age curve -", rec.reason), rec.reason


def test_a_clipped_estimate_is_said() -> None:
    """v2, approved by a gate but never applied, measured far worse than the served v1 on every
    window since: the engine's estimate of v1's staleness is below zero. The advice says 0, in
    the reason, the money and the evidence, and why."""
    v1, v2 = version(1, 0, 0.1), version(2, 4500, 0.1)
    approved = {"candidate_version": "2", "action": "promote", "engine_action": "deploy"}
    history = [
        window(s, "1", approved if s == 4 else None, v1=0.1 + 0.01 * (s % 2))
        if s < 4
        else window(s, "1", approved if s == 4 else None, v1=0.1 + 0.01 * (s % 2), v2=0.6)
        for s in range(10)
    ]
    rec = advise([v1, v2], v1, history)
    assert rec.staleness_per_step == rec.cost_per_step == 0.0
    assert rec.accumulated_staleness == rec.accumulated_cost == 0.0
    assert "stale by 0/step (the estimate -0.5000 is below zero: clipped)" in rec.reason
    assert "(in money: 0.00 USD/window, 0.00 USD since deploy" in rec.reason
    clipped = [e for e in rec.evidence if e.startswith("staleness clipped to 0")]
    assert clipped == [
        "staleness clipped to 0: the estimate was -0.5000/step and -5.5000 accumulated (the "
        "served version measured better than the fresh models it was compared with; window "
        "noise, or weak fresh models), so no cost is counted for it"
    ]
    tags = rec.to_tags()
    assert not [k for k, v in tags.items() if re.fullmatch(r"-\d[\d.,]*", v)], tags


# ---------------------------------------------------------------------------------- through MLflow
COST_SETTINGS = {
    "retrain_cost": 100.0,
    "error_cost": 1.0,
    "predictions_per_step": 1000.0,
    "currency": "EUR",
}
KINDS = ("eligible", "nan-loss", "deleted-run", "archived", "withdrawn")


def _break(uri: str, name: str, number: str, kind: str) -> None:
    """Make version ``number`` of ``name`` break the rule in the way ``kind`` names."""
    client = client_for(uri)
    run_id = client.get_model_version(name, number).run_id
    if kind == "nan-loss":
        client.log_metric(run_id, "val_loss", math.nan, step=1)
    elif kind == "deleted-run":
        client.delete_run(run_id)
    elif kind == "archived":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # stages are deprecated; teams still use them
            client.transition_model_version_stage(name, number, "Archived")
    elif kind == "withdrawn":
        client.set_model_version_tag(name, number, WITHDRAWN_TAG, "leaks the label")


def _world(uri: str, kind: str) -> str:
    """v1 serves (validation 0.2) with one complete advice on w1; v2 validates far better and is
    then broken in the way ``kind`` names."""
    name = unique_name(f"elig-{kind}")
    register_version(uri, name, make_frame(seed=1), val_loss=0.2, alias="champion", log_model=False)
    Advisor(name, tracking_uri=uri).configure(COST_SETTINGS)
    frame = make_frame(seed=2)
    Advisor(name, tracking_uri=uri).advise(
        frame,
        labels=TARGET,
        predictions=predictions_with_error(frame[TARGET], 0.3),
        window="w1",
        candidate="none",
    )
    register_version(uri, name, make_frame(seed=3), val_loss=0.02, log_model=False)
    _break(uri, name, "2", kind)
    return name


def _data(tmp_path: Path) -> tuple[pd.DataFrame, Path]:
    frame = make_frame(seed=4)
    frame["pred"] = predictions_with_error(frame[TARGET], 0.3)
    path = tmp_path / "window.parquet"
    frame.to_parquet(path)
    return frame, path


def _cli(uri: str, name: str, data: Path, window: str, *extra: str):
    args = ["advise", name, "--data", str(data), "--target", TARGET, "--predictions-col", "pred"]
    args += ["--window", window, "--promote", *extra, "--tracking-uri", uri]
    return CliRunner().invoke(main, args)


@pytest.mark.parametrize("kind", KINDS)
def test_an_ineligible_candidate_never_moves_the_alias_api(
    sqlite_uri: str, tmp_path: Path, kind: str
) -> None:
    name = _world(sqlite_uri, kind)
    frame, _ = _data(tmp_path)
    advisor = Advisor(name, tracking_uri=sqlite_uri)

    before = snapshot(sqlite_uri, name)
    if kind != "eligible":
        with pytest.raises(RegistryError) as raised:
            advisor.advise(
                frame, labels=TARGET, predictions="pred", window="w2", apply=True, candidate="2"
            )
        assert "\n" not in str(raised.value)
        assert re.search(REASONS[kind], str(raised.value)), str(raised.value)
        assert "--candidate none" in str(raised.value)
        assert snapshot(sqlite_uri, name) == before  # nothing written

    rec = advisor.advise(frame, labels=TARGET, predictions="pred", window="w2", apply=True)
    after = snapshot(sqlite_uri, name)
    if kind == "eligible":  # the same world without the violation promotes: the test can fail
        assert (rec.action, rec.candidate_version) == ("promote", "2")
        assert after["model"]["aliases"] == {"champion": "2"}
        return
    assert rec.action in ("keep", "retrain"), rec.reason
    assert after["model"]["aliases"] == before["model"]["aliases"] == {"champion": "1"}
    assert after["versions"]["2"] == before["versions"]["2"]
    assert any(
        e.startswith("passed over v2: ") and re.search(REASONS[kind], e) for e in rec.evidence
    )


@pytest.mark.parametrize("kind", KINDS)
def test_an_ineligible_candidate_never_moves_the_alias_cli(
    sqlite_uri: str, tmp_path: Path, kind: str
) -> None:
    name = _world(sqlite_uri, kind)
    _, data = _data(tmp_path)

    before = snapshot(sqlite_uri, name)
    if kind != "eligible":
        named = _cli(sqlite_uri, name, data, "w2", "--candidate", "2")
        assert named.exit_code == 1, named.output
        lines = named.stderr.strip().splitlines()
        assert len(lines) == 1, named.stderr
        assert lines[0].startswith("error: "), named.stderr
        assert re.search(REASONS[kind], lines[0])
        assert "--candidate none" in lines[0]
        assert snapshot(sqlite_uri, name) == before  # nothing written

    result = _cli(sqlite_uri, name, data, "w2", "--json")
    assert result.exit_code == 0, result.output + result.stderr
    after = snapshot(sqlite_uri, name)
    if kind == "eligible":
        assert after["model"]["aliases"] == {"champion": "2"}
        return
    assert after["model"]["aliases"] == before["model"]["aliases"] == {"champion": "1"}
    assert after["versions"]["2"] == before["versions"]["2"]
    assert "passed over v2: " in result.stdout


def test_a_served_version_that_breaks_the_rule_is_refused_and_nothing_written(
    sqlite_uri: str, tmp_path: Path
) -> None:
    """The rule that keeps a version out of service is the one that refuses to advise on it:
    the team withdraws the served version; advise refuses, names the tag and the way forward."""
    name = _world(sqlite_uri, "eligible")
    client_for(sqlite_uri).set_model_version_tag(name, "1", WITHDRAWN_TAG, "biased")
    frame, data = _data(tmp_path)
    before = snapshot(sqlite_uri, name)
    with pytest.raises(RegistryError, match=r"withdrawn .*point 'champion' at an eligible"):
        Advisor(name, tracking_uri=sqlite_uri).advise(
            frame, labels=TARGET, predictions="pred", window="w2", apply=True
        )
    result = _cli(sqlite_uri, name, data, "w2")
    assert result.exit_code == 1
    assert "withdrawn" in result.stderr
    assert snapshot(sqlite_uri, name) == before


def test_a_promote_may_not_archive_the_version_it_puts_into_service() -> None:
    with pytest.raises(InvalidInputError, match=r"'Archived'.*use Staging or Production"):
        Advisor("m", transition_stage="archived")  # refused before the deprecation warning


@pytest.mark.parametrize("how", ["api", "cli"])
def test_a_rejected_version_read_back_from_mlflow_stays_out(
    sqlite_uri: str, tmp_path: Path, how: str
) -> None:
    """Through MLflow: a weak v2 is judged and rejected on w2 (``--promote``); on the next
    windows the verdict is read back from the stored history, v2 is said to be left out of the
    evidence, staleness and money stay at or above 0, and the alias never moves."""
    name = _world(sqlite_uri, "eligible")
    client = client_for(sqlite_uri)
    run_id = client.get_model_version(name, "2").run_id
    # v2 is weak now: its reference loss (which wins over the metric history) says so
    client.log_metric(run_id, "val_loss", 0.9, step=1)
    client.set_tag(run_id, "staleness.loss", "0.9")
    frame, data = _data(tmp_path)
    before = snapshot(sqlite_uri, name)["model"]["aliases"]
    for window in ("w2", "w3", "w4"):
        if how == "api":
            rec = Advisor(name, tracking_uri=sqlite_uri).advise(
                frame, labels=TARGET, predictions="pred", window=window, apply=True
            )
            advice = rec.to_dict()
        else:
            result = _cli(sqlite_uri, name, data, window, "--json")
            assert result.exit_code == 0, result.output + result.stderr
            advice = json.loads(result.stdout)
        if window == "w2":
            assert (advice["action"], advice["candidate_version"]) == ("keep", "2")
            assert advice["engine_action"] == "reject"
        else:
            assert advice["action"] in ("keep", "retrain")
            assert (
                "not counted as a fresh model or a switch target: v2 (rejected by the gate on "
                "window 'w2')" in advice["evidence"]
            )
        assert advice["staleness_per_step"] >= 0
        assert advice["cost_per_step"] >= 0
        assert snapshot(sqlite_uri, name)["model"]["aliases"] == before == {"champion": "1"}
