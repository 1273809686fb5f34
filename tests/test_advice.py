"""The advisor's arithmetic on hand-built registry evidence (no MLflow)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlflow_staleness.advice import (
    VersionEvidence,
    WindowRecord,
    compute_advice,
    merge_window,
    registry_observation,
)
from mlflow_staleness.costs import CostModel
from mlflow_staleness.exceptions import InvalidInputError, SchemaMismatchError
from mlflow_staleness.fingerprint import DataFingerprint
from mlflow_staleness.policies import POLICIES, make_policy
from mlflow_staleness.recommendation import MAX_REASON, Recommendation

# alpha = retrain_cost / (error_cost * predictions_per_step) = 375 / (2 * 1000) = 0.1875, exact in
# binary like every loss below, so that "accumulated == alpha" is an exact tie.
COST = CostModel(compute_cost=300.0, people_cost=75.0, error_cost=2.0, predictions_per_step=1000)
ALPHA = 0.1875


def advise(
    served: VersionEvidence,
    history: Sequence[WindowRecord],
    current: WindowRecord | None = None,
    *,
    versions: Sequence[VersionEvidence] | None = None,
    fingerprint: DataFingerprint | None = None,
    cost: CostModel = COST,
    strategy: str = "forecast",
    note: str = "",
    candidate: VersionEvidence | None = None,
) -> Recommendation:
    return compute_advice(
        model_name="m",
        versions=list(versions) if versions is not None else [served],
        served=served,
        history=history,
        current=current if current is not None else max(history, key=lambda r: r.seq),
        current_fingerprint=fingerprint,
        cost=cost,
        strategy=strategy,
        note=note,
        evaluated_at="2026-01-01T00:00:00+00:00",
        advice_id="id",
        candidate=candidate,
    )


def window(seq: int, served: str | None = "1", **measured: float) -> WindowRecord:
    """Window ``seq``, first seen at ``1000 * (seq + 1)`` ms; ``measured`` as ``v1=0.3``."""
    return WindowRecord(
        seq=seq,
        window=f"w{seq}",
        first_seen_ms=1000 * (seq + 1),
        served_version=served,
        measured={name.removeprefix("v"): loss for name, loss in measured.items()},
    )


def frame(shift: float = 0.0, n: int = 200) -> pd.DataFrame:
    x = np.arange(n, dtype=float)
    return pd.DataFrame({"a": x + shift, "b": x % 7, "c": ["x", "y"] * (n // 2)})


def test_cost_alpha_is_what_the_tests_assume() -> None:
    assert COST.alpha == ALPHA == COST.retrain_cost / (COST.error_cost * COST.predictions_per_step)


# ------------------------------------------------------------------ (a) insufficient evidence
def test_no_val_loss_no_fingerprint_no_measured_loss_is_insufficient_evidence() -> None:
    served = VersionEvidence("1", created_ms=0)
    rec = advise(served, [window(0)])
    assert rec.action == "insufficient-evidence"
    assert rec.confidence == 0.0
    assert rec.reason.startswith("too little is known about v1 to advise: ")
    assert rec.staleness_per_step == 0.0
    assert rec.break_even_steps == math.inf
    assert rec.uncertainty == 0.0  # an infinite sd is reported as 0 (unknown), not inf
    assert rec.evidence == ()
    assert rec.top_features == ()
    assert rec.candidate_version is None
    assert rec.measured_loss is None
    assert rec.data_digest == ""


def test_a_single_measured_loss_is_evidence_for_keeping() -> None:
    served = VersionEvidence("1", created_ms=0)
    rec = advise(served, [window(0, v1=0.3)])
    assert rec.action == "keep"
    assert rec.measured_loss == 0.3
    assert rec.confidence >= 0.0


def test_insufficient_evidence_never_promotes() -> None:
    served = VersionEvidence("1", created_ms=0)
    newer = VersionEvidence("2", created_ms=500)
    rec = advise(served, [window(0)], versions=[served, newer])
    assert rec.action == "insufficient-evidence"
    assert rec.candidate_version is None


# ------------------------------------------------------------------ (b, c) fingerprint only
def test_fingerprint_only_keeps_and_ranks_the_drifted_column_first() -> None:
    served = VersionEvidence("1", created_ms=0, fingerprint=DataFingerprint.from_frame(frame()))
    current = DataFingerprint.from_frame(frame(shift=300.0))
    rec = advise(served, [window(0)], fingerprint=current)
    assert rec.action == "keep"
    assert "fingerprint" in rec.evidence
    assert rec.top_features[0][0] == "a"
    assert rec.top_features[0][1] > 0.0
    assert all(score < rec.top_features[0][1] for _, score in rec.top_features[1:])
    assert rec.data_digest == current.digest
    assert "drift alone cannot show that a retrain pays" in rec.reason


def test_fingerprint_without_drift_has_no_staleness() -> None:
    reference = DataFingerprint.from_frame(frame())
    served = VersionEvidence("1", created_ms=0, fingerprint=reference)
    rec = advise(served, [window(0)], fingerprint=DataFingerprint.from_frame(frame()))
    assert rec.action == "keep"
    assert rec.staleness_per_step == 0.0
    assert rec.break_even_steps == math.inf


def test_a_missing_reference_column_raises_naming_it() -> None:
    served = VersionEvidence("1", created_ms=0, fingerprint=DataFingerprint.from_frame(frame()))
    current = DataFingerprint.from_frame(frame().drop(columns="b"))
    with pytest.raises(SchemaMismatchError, match="'b'") as info:
        advise(served, [window(0)], fingerprint=current)
    assert info.value.columns == {"b": "missing from current data"}
    assert isinstance(info.value, InvalidInputError)


def test_a_changed_column_type_raises_naming_it() -> None:
    served = VersionEvidence("1", created_ms=0, fingerprint=DataFingerprint.from_frame(frame()))
    current = DataFingerprint.from_frame(frame().assign(b=lambda d: d["b"].astype(str)))
    with pytest.raises(SchemaMismatchError, match="'b'") as info:
        advise(served, [window(0)], fingerprint=current)
    assert set(info.value.columns) == {"b"}


def test_an_extra_column_is_accepted() -> None:
    served = VersionEvidence("1", created_ms=0, fingerprint=DataFingerprint.from_frame(frame()))
    current = DataFingerprint.from_frame(frame().assign(extra=1.0))
    rec = advise(served, [window(0)], fingerprint=current)
    assert rec.action == "keep"
    assert "extra" not in dict(rec.top_features)
    assert "fingerprint" in rec.evidence


# ------------------------------------------------------------------ (d) one decision path
def rising(n: int, start: float = 0.2, step: float = 0.05) -> list[WindowRecord]:
    """One version served over ``n`` windows, its loss rising by ``step`` a window."""
    return [window(i, v1=start + step * i) for i in range(n)]


def test_advice_is_the_policys_decision_on_the_registry_observation() -> None:
    served = VersionEvidence("1", created_ms=0, val_loss=0.2)
    for history in (rising(3), rising(8), rising(8, step=0.0)):
        view = registry_observation([served], served, history, history[-1], ALPHA)
        decision = make_policy("forecast").start().decide(view.observation)

        rec = advise(served, history)

        assert rec.action == decision.action
        assert rec.staleness_per_step == decision.staleness_per_step
        assert rec.confidence == decision.confidence


@given(
    losses=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=10),
    val=st.one_of(st.none(), st.floats(0.0, 1.0)),
    strategy=st.sampled_from(sorted(POLICIES)),
)
@settings(max_examples=60, deadline=None)
def test_every_strategy_advises_what_it_decides_on_the_same_losses(losses, val, strategy):
    served = VersionEvidence("1", created_ms=0, val_loss=val)
    history = [window(i, v1=loss) for i, loss in enumerate(losses)]
    view = registry_observation([served], served, history, history[-1], ALPHA)
    decision = make_policy(strategy).start().decide(view.observation)

    rec = advise(served, history, strategy=strategy)

    assert rec.action in (decision.action, "rollback", "promote")
    if rec.action == decision.action:
        assert rec.staleness_per_step == decision.staleness_per_step


def test_a_version_whose_loss_keeps_rising_is_retrained() -> None:
    served = VersionEvidence("1", created_ms=0, val_loss=0.2)
    assert advise(served, rising(3)).action == "keep"
    assert advise(served, rising(12)).action == "retrain"


def test_a_flat_loss_is_kept() -> None:
    served = VersionEvidence("1", created_ms=0, val_loss=0.2)
    assert advise(served, rising(12, step=0.0)).action == "keep"


@given(jump=st.floats(0.3, 0.7))
@settings(max_examples=25, deadline=None)
def test_the_estimate_moves_when_the_measured_loss_moves(jump):
    """Identical numbers on different evidence are a defect: a loss that rises a lot must
    raise the staleness estimate."""
    served = VersionEvidence("1", created_ms=0, val_loss=0.2)
    flat = rising(8, step=0.0)
    risen = [*flat[:5], *(window(i, v1=0.2 + jump) for i in range(5, 8))]

    assert advise(served, risen).staleness_per_step > advise(served, flat).staleness_per_step


# ------------------------------------------------------------------ (e) the mapping
def test_the_registry_maps_windows_to_columns_and_versions_to_their_birth() -> None:
    v1 = VersionEvidence("1", created_ms=0, val_loss=0.1)
    v2 = VersionEvidence("2", created_ms=2500, val_loss=0.12)  # after w0 and w1 were first seen
    history = [window(0, v1=0.2), window(1, v1=0.25), window(2, "2", v1=0.3, v2=0.15)]

    view = registry_observation([v1, v2], v2, history, history[-1], ALPHA)
    obs = view.observation

    assert (obs.step, obs.served, obs.deployed_at, obs.label_delay) == (4, 2, 3, 1)
    assert obs.models == (0, 2)
    assert view.rows[0].version == "1"
    assert view.rows[2].version == "2"
    assert obs.losses[0, 1] == 0.2
    assert obs.losses[0, 3] == 0.3
    assert obs.losses[2, 3] == 0.15
    assert (obs.val_loss[0], obs.val_loss[2]) == (0.1, 0.12)


def test_without_labels_the_advice_is_for_the_current_window() -> None:
    v1 = VersionEvidence("1", created_ms=0, val_loss=0.1)
    history = [window(0, v1=0.2), window(1, v1=0.25), window(2)]
    labelled = registry_observation([v1], v1, history[:2], history[1], ALPHA).observation
    unlabelled = registry_observation([v1], v1, history, history[-1], ALPHA).observation
    assert (labelled.step, labelled.label_delay) == (3, 1)
    assert (unlabelled.step, unlabelled.label_delay) == (3, 1)


def test_a_candidate_is_the_challenger_of_the_latest_data() -> None:
    v1 = VersionEvidence("1", created_ms=0, val_loss=0.1)
    v2 = VersionEvidence("2", created_ms=5000, val_loss=0.05)
    history = [window(0, v1=0.2), window(1, v1=0.3), window(2, v1=0.4)]
    obs = registry_observation([v1, v2], v1, history, history[-1], ALPHA, candidate=v2).observation
    assert obs.challenger == obs.step - 1 == 3
    assert obs.val_loss[3] == 0.05
    assert np.isnan(obs.losses[3]).all()


# ------------------------------------------------------------------ (f) the gate, switching
def gate_history() -> list[WindowRecord]:
    return [window(i, v1=0.2 + 0.04 * i) for i in range(8)]


def test_a_candidate_that_validates_better_is_promoted() -> None:
    v1 = VersionEvidence("1", created_ms=0, val_loss=0.2)
    v2 = VersionEvidence("2", created_ms=10**6, val_loss=0.2)
    rec = advise(v1, gate_history(), versions=[v1, v2], candidate=v2)
    assert rec.action == "promote"
    assert rec.candidate_version == "2"
    assert "gate" in rec.reason


def test_a_candidate_that_validates_much_worse_is_not_promoted() -> None:
    v1 = VersionEvidence("1", created_ms=0, val_loss=0.2)
    history = [window(i, v1=0.2 + 0.001 * (i % 2)) for i in range(8)]
    v2 = VersionEvidence("2", created_ms=10**6, val_loss=0.9)
    rec = advise(v1, history, versions=[v1, v2], candidate=v2)
    assert rec.action == "keep"
    assert rec.candidate_version == "2"


def switch_history(older: float) -> list[WindowRecord]:
    """v2 (served from w3 on) against the older v1, both measured on w3..w7."""
    rows = [window(i, v1=0.2) for i in range(3)]
    rows += [
        window(i, "2", v1=older + 0.001 * (i % 2), v2=0.3 + 0.001 * (i % 3)) for i in range(3, 8)
    ]
    return rows


SWITCH_VERSIONS = [
    VersionEvidence("1", created_ms=0, val_loss=0.2),
    VersionEvidence("2", created_ms=2500, val_loss=0.2),
]


def test_an_older_version_clearly_better_on_the_same_windows_is_rolled_back_to() -> None:
    rec = advise(SWITCH_VERSIONS[1], switch_history(0.2), versions=SWITCH_VERSIONS)
    assert rec.action == "rollback"
    assert rec.candidate_version == "1"
    assert rec.reason.startswith("roll back from the served v2 to v1: ")
    assert rec.engine_action in ("keep", "retrain")
    assert f"(the engine alone: {rec.engine_action})" in rec.reason


def test_a_gain_below_the_switching_risk_is_not_switched_to() -> None:
    risky = CostModel(
        compute_cost=300.0,
        people_cost=75.0,
        risk_cost=400.0,
        error_cost=2.0,
        predictions_per_step=1000,
    )  # risk 0.2 per window in loss units, more than the gain of 0.1
    rec = advise(SWITCH_VERSIONS[1], switch_history(0.2), versions=SWITCH_VERSIONS, cost=risky)
    assert rec.action != "rollback"


def test_an_older_version_that_is_not_better_is_not_rolled_back_to() -> None:
    rec = advise(SWITCH_VERSIONS[1], switch_history(0.35), versions=SWITCH_VERSIONS)
    assert rec.action in ("keep", "retrain")
    assert rec.engine_action == rec.action


# ------------------------------------------------------------------ (g) note and reason length
def test_the_note_is_prepended_to_the_reason() -> None:
    served = VersionEvidence("1", created_ms=0)
    note = "alias 'champion' is missing; advising on the newest version"
    rec = advise(served, rising(12), note=note)
    assert rec.reason.startswith(f"{note}; retrain v1: forecast: stale by")


def test_a_long_note_is_cut_to_one_reason() -> None:
    served = VersionEvidence("1", created_ms=0)
    rec = advise(served, rising(12), note="n" * 700)
    assert len(rec.reason) == MAX_REASON
    assert rec.reason.endswith("...")
    assert rec.reason.startswith("n" * 400)
    assert Recommendation.from_tags(rec.to_tags()) == rec


def test_missing_notes_of_the_served_version_are_evidence() -> None:
    served = VersionEvidence("1", created_ms=0, val_loss=0.25, notes=("no source run",))
    rec = advise(served, [window(0, v1=0.5)])
    assert rec.evidence[-1] == "missing: no source run"


# ------------------------------------------------------------------ (i) money and break-even
def money_cases() -> list[Recommendation]:
    fingerprinted = VersionEvidence(
        "1", created_ms=0, fingerprint=DataFingerprint.from_frame(frame())
    )
    measured = rising(12)
    return [
        advise(VersionEvidence("1", created_ms=0), [window(0)]),
        advise(fingerprinted, [window(0)], fingerprint=DataFingerprint.from_frame(frame(50.0))),
        *(advise(VersionEvidence("1", 0), measured, r) for r in measured[1::3]),
        advise(SWITCH_VERSIONS[1], switch_history(0.35), versions=SWITCH_VERSIONS),
    ]


@pytest.mark.parametrize("index", range(7))
def test_money_is_the_cost_model_of_the_losses(index: int) -> None:
    rec = money_cases()[index]
    assert rec.currency == COST.currency
    assert rec.cost_per_step == COST.to_money(rec.staleness_per_step)
    assert rec.accumulated_cost == COST.to_money(rec.accumulated_staleness)
    assert rec.retrain_cost == COST.retrain_cost == 375.0
    assert rec.retrain_cost_loss == COST.alpha
    if rec.staleness_per_step > 0:
        assert rec.break_even_steps == COST.alpha / rec.staleness_per_step
    else:
        assert rec.break_even_steps == math.inf
    assert math.isfinite(rec.uncertainty)
    assert rec.uncertainty >= 0.0


# ------------------------------------------------------------------ (j) determinism
def test_same_inputs_give_the_same_recommendation() -> None:
    assert money_cases() == money_cases()
    fingerprint = DataFingerprint.from_frame(frame(30.0))
    served = VersionEvidence("1", created_ms=0, fingerprint=DataFingerprint.from_frame(frame()))
    assert advise(served, [window(0)], fingerprint=fingerprint) == advise(
        served, [window(0)], fingerprint=fingerprint
    )


def test_history_order_does_not_matter() -> None:
    history = switch_history(0.35)
    served = SWITCH_VERSIONS[1]
    forward = advise(served, history, versions=SWITCH_VERSIONS)
    backward = advise(served, history[::-1], history[-1], versions=SWITCH_VERSIONS[::-1])
    assert forward == backward


# ------------------------------------------------------------------ (h) merge_window
def test_merge_into_empty_history_starts_at_zero() -> None:
    record, history = merge_window([], "2026-01-01", 123, served_version="1", measured={"1": 0.5})
    assert (record.seq, record.window, record.first_seen_ms) == (0, "2026-01-01", 123)
    assert record.served_version == "1"
    assert dict(record.measured) == {"1": 0.5}
    assert record.advice is None
    assert history == [record]


def test_a_new_window_gets_the_next_seq() -> None:
    old = [window(5), window(0)]
    record, history = merge_window(old, "new", 9_999, drift={"1": 0.5})
    assert record.seq == 6
    assert record.first_seen_ms == 9_999
    assert dict(record.drift) == {"1": 0.5}
    assert [r.seq for r in history] == [0, 5, 6]
    assert history[0] is old[1]
    assert history[1] is old[0]


def test_an_existing_window_keeps_seq_and_first_seen_and_merges_by_version() -> None:
    advice = {"action": "keep"}
    target = WindowRecord(
        1, "w1", 2000, "1", measured={"1": 0.3, "2": 0.4}, drift={"1": 0.1}, advice=advice
    )
    others = [window(0), window(2)]
    record, history = merge_window(
        [others[1], target, others[0]],
        "w1",
        99_999,
        measured={"2": 0.5, "3": 0.6},
        drift={"2": 0.2},
    )
    assert record.seq == 1
    assert record.first_seen_ms == 2000
    assert record.served_version == "1"  # None keeps the old one
    assert dict(record.measured) == {"1": 0.3, "2": 0.5, "3": 0.6}
    assert dict(record.drift) == {"1": 0.1, "2": 0.2}
    assert record.advice == advice
    assert history == [others[0], record, others[1]]
    assert history[0] is others[0]
    assert history[2] is others[1]
    assert dict(target.measured) == {"1": 0.3, "2": 0.4}  # the input is not changed


def test_merging_a_window_replaces_the_served_version_when_given() -> None:
    record, history = merge_window([window(0, "1")], "w0", 5, served_version="2")
    assert record.served_version == "2"
    assert len(history) == 1


def test_window_record_dict_round_trip() -> None:
    record = WindowRecord(3, "w3", 4000, "2", {"2": 0.5}, {"2": 0.25}, {"action": "keep"})
    assert WindowRecord.from_dict(record.to_dict()) == record
    with pytest.raises(InvalidInputError, match="unreadable history row"):
        WindowRecord.from_dict({"window": "w3"})
