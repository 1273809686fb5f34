"""The advisor's arithmetic on hand-built registry evidence (no MLflow)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest

from mlflow_staleness.advice import VersionEvidence, WindowRecord, compute_advice, merge_window
from mlflow_staleness.costs import CostModel
from mlflow_staleness.exceptions import InvalidInputError, SchemaMismatchError
from mlflow_staleness.fingerprint import DataFingerprint
from mlflow_staleness.policies import POLICIES
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


def test_a_single_measured_loss_without_baseline_is_still_insufficient() -> None:
    served = VersionEvidence("1", created_ms=0)
    rec = advise(served, [window(0, v1=0.3)])
    assert rec.action == "insufficient-evidence"
    assert rec.measured_loss == 0.3


def test_insufficient_evidence_never_promotes() -> None:
    served = VersionEvidence("1", created_ms=0)
    newer = VersionEvidence("2", created_ms=500)
    rec = advise(served, [window(0, v1=0.9, v2=0.01)], versions=[served, newer])
    assert rec.action == "insufficient-evidence"
    assert rec.candidate_version is None


# ------------------------------------------------------------------ (b, c) fingerprint only
def test_fingerprint_only_uses_drift_and_ranks_the_drifted_column_first() -> None:
    served = VersionEvidence("1", created_ms=0, fingerprint=DataFingerprint.from_frame(frame()))
    current = DataFingerprint.from_frame(frame(shift=300.0))
    rec = advise(served, [window(0)], fingerprint=current)
    assert rec.action in ("keep", "retrain")
    assert "fingerprint" in rec.evidence
    assert rec.top_features[0][0] == "a"
    assert rec.top_features[0][1] > 0.0
    assert all(score < rec.top_features[0][1] for _, score in rec.top_features[1:])
    assert rec.staleness_per_step > 0.0
    assert 0.0 < rec.confidence < 1.0
    assert rec.data_digest == current.digest
    assert "drift" in rec.reason


def test_fingerprint_without_drift_has_no_staleness() -> None:
    reference = DataFingerprint.from_frame(frame())
    served = VersionEvidence("1", created_ms=0, fingerprint=reference)
    rec = advise(served, [window(0)], fingerprint=DataFingerprint.from_frame(frame()))
    assert rec.action == "keep"
    assert rec.staleness_per_step == 0.0
    assert rec.break_even_steps == math.inf


def test_more_drift_means_more_staleness() -> None:
    served = VersionEvidence("1", created_ms=0, fingerprint=DataFingerprint.from_frame(frame()))
    small = advise(served, [window(0)], fingerprint=DataFingerprint.from_frame(frame(20.0)))
    large = advise(served, [window(0)], fingerprint=DataFingerprint.from_frame(frame(150.0)))
    assert 0.0 < small.staleness_per_step < large.staleness_per_step


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


# ------------------------------------------------------------------ (d) one version over time
LOSSES = (0.5, 0.5625, 0.625, 0.6875)  # excess over the first window: 0, 1/16, 1/8, 3/16


@pytest.mark.parametrize(
    ("seq", "action", "per_step", "accumulated"),
    [
        (1, "keep", 0.0625, 0.0625),
        (2, "retrain", 0.125, 0.1875),  # accumulated == alpha: break-even reached
        (3, "retrain", 0.1875, 0.375),
    ],
)
def test_one_version_retrains_once_accumulated_excess_reaches_alpha(
    seq: int, action: str, per_step: float, accumulated: float
) -> None:
    served = VersionEvidence("1", created_ms=0)
    history = [window(i, v1=loss) for i, loss in enumerate(LOSSES)]
    rec = advise(served, history, history[seq])
    assert rec.action == action
    assert rec.staleness_per_step == per_step
    assert rec.accumulated_staleness == accumulated
    assert rec.evidence == ("measured", "own-baseline")
    assert rec.measured_loss == LOSSES[seq]
    assert rec.window == f"w{seq}"
    assert rec.window_seq == seq
    assert 0.0 < rec.confidence <= 1.0
    assert rec.reason.startswith(f"{action} v1: break-even")


def test_a_slightly_higher_retrain_cost_keeps_at_the_tie() -> None:
    cost = CostModel(compute_cost=376.0, error_cost=2.0, predictions_per_step=1000)
    served = VersionEvidence("1", created_ms=0)
    history = [window(i, v1=loss) for i, loss in enumerate(LOSSES)]
    assert advise(served, history, history[2], cost=cost).action == "keep"
    assert advise(served, history, history[3], cost=cost).action == "retrain"


def test_later_windows_do_not_count() -> None:
    served = VersionEvidence("1", created_ms=0)
    history = [window(i, v1=loss) for i, loss in enumerate(LOSSES)]
    assert advise(served, history, history[1]) == advise(served, history[:2], history[1])


def test_accumulation_restarts_at_the_deploy() -> None:
    old = VersionEvidence("1", created_ms=0)
    served = VersionEvidence("2", created_ms=2500)  # born after windows 0 and 1
    history = [
        window(0, "1", v1=0.25),
        window(1, "1", v1=0.25),
        window(2, "2", v2=0.5),
        window(3, "2", v2=0.5625),
    ]
    rec = advise(served, history, versions=[old, served])
    assert rec.staleness_per_step == 0.0625
    assert rec.accumulated_staleness == 0.0625  # windows 2 and 3 only
    assert rec.action == "keep"


def test_measured_loss_against_validation_loss() -> None:
    served = VersionEvidence("1", created_ms=0, val_loss=0.25)
    rec = advise(served, [window(0, v1=0.5)])
    assert rec.evidence == ("measured", "validation")
    # the validation loss flatters: the prior offset (0.02) is taken off the excess
    assert rec.staleness_per_step == pytest.approx(0.5 - 0.25 - 0.02)
    assert rec.action == "retrain"


def test_windows_before_the_version_existed_are_not_its_baseline() -> None:
    # Late labels of window 0 were scored with v2, which was trained on that window's data: its
    # in-sample loss there is no baseline for its staleness in service (windows 2 and 3).
    old = VersionEvidence("1", created_ms=0)
    served = VersionEvidence("2", created_ms=2500)
    history = [
        window(0, "1", v1=0.25, v2=0.0625),
        window(1, "1", v1=0.25),
        window(2, "2", v2=0.5),
        window(3, "2", v2=0.5625),
    ]
    rec = advise(served, history, versions=[old, served])
    assert rec.staleness_per_step == 0.0625
    assert rec.action == "keep"


# ------------------------------------------------------------------ (e) the age curve
def age_curve_history() -> list[WindowRecord]:
    """v1 measured on windows 0..5; v2, created between windows 2 and 3, on windows 3..5."""
    history = []
    for seq in range(6):
        measured = {"1": 0.25 + 0.03125 * seq}
        if seq >= 3:
            measured["2"] = 0.25 + 0.015625 * (seq - 3)
        history.append(
            WindowRecord(seq, f"w{seq}", 1000 * (seq + 1), "1" if seq < 3 else "2", measured)
        )
    return history


AGE_VERSIONS = (VersionEvidence("1", created_ms=0), VersionEvidence("2", created_ms=3500))


def test_two_versions_on_the_same_windows_use_the_age_curve() -> None:
    served = AGE_VERSIONS[1]
    rec = advise(served, age_curve_history(), versions=AGE_VERSIONS)
    assert "age-curve" in rec.evidence
    assert rec.action in ("keep", "retrain")
    assert re.match(r"^(keep|retrain) v2: forecast: ", rec.reason), rec.reason
    assert "one version's evidence" not in rec.reason
    assert rec.candidate_version is None


@pytest.mark.parametrize("strategy", sorted(POLICIES))
def test_the_age_curve_path_names_the_strategy(strategy: str) -> None:
    served = AGE_VERSIONS[1]
    rec = advise(served, age_curve_history(), versions=AGE_VERSIONS, strategy=strategy)
    assert rec.strategy == strategy
    assert re.match(rf"^(keep|retrain) v2: {strategy}: ", rec.reason), rec.reason


def test_versions_born_at_the_same_window_give_no_age_curve() -> None:
    # Both versions exist before the first window: one birth, no ages to compare.
    v1, v2 = VersionEvidence("1", created_ms=0), VersionEvidence("2", created_ms=1)
    history = [window(i, "2", v1=0.25 + 0.03125 * i, v2=0.25 + 0.03125 * i) for i in range(6)]
    rec = advise(v2, history, versions=[v1, v2])
    assert "age-curve" not in rec.evidence
    assert "one version's evidence" in rec.reason


# ------------------------------------------------------------------ (f) promote
RISKY = CostModel(compute_cost=100.0, risk_cost=100.0, error_cost=1.0, predictions_per_step=1000)


def promote_case(
    newer_loss: float, *, status: str = "READY", cost: CostModel = RISKY
) -> Recommendation:
    served = VersionEvidence("1", created_ms=0, val_loss=0.25)
    newer = VersionEvidence("2", created_ms=500, status=status)
    history = [window(0, v1=0.5, v2=newer_loss)]
    return advise(served, history, versions=[served, newer], cost=cost)


def test_a_better_newer_version_is_promoted() -> None:
    assert RISKY.to_loss(RISKY.risk_cost) == 0.1
    rec = promote_case(0.25)  # gain 0.25 > risk 0.1
    assert rec.action == "promote"
    assert rec.candidate_version == "2"
    assert rec.version == "1"
    assert rec.reason.startswith("promote v2 over the served v1: v2 is expected to lose 0.2500")
    assert "measured on this window" in rec.reason


def test_a_gain_below_the_switching_risk_is_not_promoted() -> None:
    rec = promote_case(0.4375)  # gain 0.0625 < risk 0.1
    assert rec.action != "promote"
    assert rec.candidate_version is None
    expensive = CostModel(
        compute_cost=1.0, risk_cost=300.0, error_cost=1.0, predictions_per_step=1000
    )
    assert promote_case(0.25, cost=expensive).action != "promote"  # gain 0.25 < risk 0.3


@pytest.mark.parametrize("status", ["PENDING_REGISTRATION", "FAILED_REGISTRATION"])
def test_a_version_that_is_not_ready_is_not_promoted(status: str) -> None:
    rec = promote_case(0.0, status=status)
    assert rec.action != "promote"
    assert rec.candidate_version is None


def test_an_older_better_version_is_not_promoted() -> None:
    old = VersionEvidence("1", created_ms=0)
    served = VersionEvidence("2", created_ms=0, val_loss=0.25)
    rec = advise(served, [window(0, "2", v1=0.0, v2=0.5)], versions=[old, served], cost=RISKY)
    assert rec.action != "promote"


def test_the_best_of_several_newer_versions_is_promoted() -> None:
    served = VersionEvidence("1", created_ms=0, val_loss=0.25)
    versions = [served, *(VersionEvidence(str(v), created_ms=500) for v in (2, 3, 4))]
    history = [window(0, v1=0.5, v2=0.3, v3=0.125, v4=0.2)]
    rec = advise(served, history, versions=versions, cost=RISKY)
    assert rec.action == "promote"
    assert rec.candidate_version == "3"


def test_a_newer_version_is_promoted_on_its_validation_loss() -> None:
    served = VersionEvidence("1", created_ms=0, val_loss=0.25)
    newer = VersionEvidence("2", created_ms=500, val_loss=0.0625)
    rec = advise(served, [window(0, v1=0.5)], versions=[served, newer], cost=RISKY)
    assert rec.action == "promote"
    assert rec.candidate_version == "2"
    assert "validation" in rec.reason


# ------------------------------------------------------------------ (g) note and reason length
def test_the_note_is_prepended_to_the_reason() -> None:
    served = VersionEvidence("1", created_ms=0)
    history = [window(i, v1=loss) for i, loss in enumerate(LOSSES)]
    note = "alias 'champion' is missing; advising on the newest version"
    rec = advise(served, history, note=note)
    assert rec.reason.startswith(f"{note}; retrain v1: break-even")


def test_a_long_note_is_cut_to_one_reason() -> None:
    served = VersionEvidence("1", created_ms=0)
    history = [window(i, v1=loss) for i, loss in enumerate(LOSSES)]
    rec = advise(served, history, note="n" * 700)
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
    measured = [window(i, v1=loss) for i, loss in enumerate(LOSSES)]
    return [
        advise(VersionEvidence("1", created_ms=0), [window(0)]),
        advise(fingerprinted, [window(0)], fingerprint=DataFingerprint.from_frame(frame(50.0))),
        *(advise(VersionEvidence("1", 0), measured, r) for r in measured[1:]),
        advise(AGE_VERSIONS[1], age_curve_history(), versions=AGE_VERSIONS),
    ]


@pytest.mark.parametrize("index", range(6))
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


def test_break_even_steps_of_a_measured_case() -> None:
    served = VersionEvidence("1", created_ms=0)
    history = [window(i, v1=loss) for i, loss in enumerate(LOSSES)]
    rec = advise(served, history, history[1])
    assert rec.break_even_steps == 3.0  # 0.1875 / 0.0625
    assert rec.cost_per_step == 125.0  # 0.0625 * 2 * 1000


# ------------------------------------------------------------------ (j) determinism
def test_same_inputs_give_the_same_recommendation() -> None:
    assert money_cases() == money_cases()
    fingerprint = DataFingerprint.from_frame(frame(30.0))
    served = VersionEvidence("1", created_ms=0, fingerprint=DataFingerprint.from_frame(frame()))
    assert advise(served, [window(0)], fingerprint=fingerprint) == advise(
        served, [window(0)], fingerprint=fingerprint
    )


def test_history_order_does_not_matter() -> None:
    history = age_curve_history()
    served = AGE_VERSIONS[1]
    forward = advise(served, history, versions=AGE_VERSIONS)
    backward = advise(served, history[::-1], history[-1], versions=AGE_VERSIONS[::-1])
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
