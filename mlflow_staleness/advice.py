"""The advisor's arithmetic: from what the registry knows to one :class:`Recommendation`.

This module is pure (no MLflow): the adapter reads the registry into :class:`VersionEvidence` and
:class:`WindowRecord` objects, and :func:`compute_advice` turns them into advice.

**The time axis** is the advisor's own windows, numbered in order of first appearance. A version's
*birth* is the last window first seen before the version was created (a version created before any
window is born at a pseudo-window ``0``), so that the engine's loss matrix ``L[birth, window]``
holds every measured loss of a version on a later window. This is exactly the engine's view
(:class:`~mlflow_staleness.policies.Observation`), and the chosen policy decides from it: the
age curve of staleness needs versions of different ages measured on the same windows, which is
what advising with labels records.

**With little history** (no age curve yet), the advice falls back to the similarity estimate:
the served version's measured loss against its calibrated validation loss, or, without labels, the
drift of the current data from its reference fingerprint times a loss-per-drift slope fitted on
the history (:class:`~mlflow_staleness.estimators.SimilarityEstimator`, starting from a stated
prior). The rule is then break-even: retrain once the staleness accumulated since deploy pays for
a retrain. Confidence is lower, and the evidence says so.

**Promote** comes before retrain: a newer registered version whose expected loss beats the served
one's by more than the switching risk (``risk_cost``) per window is cheaper than any retrain.

**Insufficient evidence** is an outcome: no age curve, no labels with a validation loss, and no
fingerprint to measure drift against.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from mlflow_staleness.costs import CostModel
from mlflow_staleness.estimators.similarity import SimilarityEstimator
from mlflow_staleness.exceptions import InvalidInputError, SchemaMismatchError
from mlflow_staleness.fingerprint import DataFingerprint, DriftReport, distance
from mlflow_staleness.policies import make_policy
from mlflow_staleness.policies._estimate import estimate_step, sign_confidence
from mlflow_staleness.policies.base import Observation, Windows, break_even
from mlflow_staleness.recommendation import MAX_REASON, Recommendation

__all__ = ["VersionEvidence", "WindowRecord", "compute_advice", "merge_window"]

TOP_FEATURES = 5
#: Each missing piece of the served version's evidence (no run, no loss metric, no fingerprint
#: ...) multiplies the confidence by this.
_MISSING_EVIDENCE_WEIGHT = 0.85


@dataclass(frozen=True)
class VersionEvidence:
    """What the registry knows about one model version.

    ``notes`` lists what is missing (no source run, no loss metric, unreadable fingerprint ...);
    a version with notes still takes part, with less weight in the confidence.
    """

    version: str
    created_ms: int
    status: str = "READY"
    run_id: str | None = None
    val_loss: float | None = None
    fingerprint: DataFingerprint | None = None
    stage: str | None = None
    notes: tuple[str, ...] = ()
    reference_columns: tuple[str, ...] | None = None  # from the run's dataset input
    metric: str | None = None  # how log_reference said the loss is measured
    run_deleted: bool = False  # its source run is deleted
    bad_loss: str | None = None  # a logged loss that is not finite: "'val_loss' is nan"

    @property
    def number(self) -> int:
        """The version number, for ordering."""
        return int(self.version)


@dataclass(frozen=True)
class WindowRecord:
    """One window of the advisor's history.

    ``measured`` maps a version to its loss on the window (from labels); ``drift`` maps a version
    to the drift score of the window's data from that version's reference; ``advice`` is the
    complete advice given on the window, as :meth:`Recommendation.to_dict`, or None when only
    labels were recorded.
    """

    seq: int
    window: str
    first_seen_ms: int
    served_version: str | None = None
    measured: Mapping[str, float] = field(default_factory=dict)
    drift: Mapping[str, float] = field(default_factory=dict)
    advice: Mapping | None = None

    def to_dict(self) -> dict:
        """A JSON-ready dict (the ``history.json`` row)."""
        return {
            "seq": self.seq,
            "window": self.window,
            "first_seen_ms": self.first_seen_ms,
            "served_version": self.served_version,
            "measured": dict(self.measured),
            "drift": dict(self.drift),
            "advice": None if self.advice is None else dict(self.advice),
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> WindowRecord:
        """Rebuild a record from :meth:`to_dict` output."""
        try:
            return cls(
                seq=int(data["seq"]),
                window=str(data["window"]),
                first_seen_ms=int(data["first_seen_ms"]),
                served_version=data.get("served_version"),
                measured={str(k): float(v) for k, v in dict(data.get("measured") or {}).items()},
                drift={str(k): float(v) for k, v in dict(data.get("drift") or {}).items()},
                advice=data.get("advice"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(f"unreadable history row {data!r:.200}: {exc!r}") from exc


def merge_window(
    history: Sequence[WindowRecord],
    window: str,
    now_ms: int,
    *,
    served_version: str | None = None,
    measured: Mapping[str, float] | None = None,
    drift: Mapping[str, float] | None = None,
) -> tuple[WindowRecord, list[WindowRecord]]:
    """Add or update ``window`` in the history; return the record and the new history.

    A window seen before keeps its sequence number; new measurements and drift scores replace
    old ones version by version, the rest stays. A new window gets the next sequence number.
    """
    rows = sorted(history, key=lambda r: r.seq)
    old = next((r for r in rows if r.window == window), None)
    if old is None:
        seq = rows[-1].seq + 1 if rows else 0
        record = WindowRecord(
            seq, window, now_ms, served_version, dict(measured or {}), dict(drift or {})
        )
        return record, [*rows, record]
    record = WindowRecord(
        old.seq,
        window,
        old.first_seen_ms,
        served_version or old.served_version,
        {**old.measured, **(measured or {})},
        {**old.drift, **(drift or {})},
        old.advice,
    )
    return record, [record if r.seq == old.seq else r for r in rows]


# ---------------------------------------------------------------------------------- the advice
@dataclass(frozen=True)
class _Staleness:
    per_step: float
    sd: float
    accumulated: float
    confidence: float
    evidence: tuple[str, ...]
    action: str
    reason: str
    offset: float  # calibration of a validation loss to a served window's loss


def compute_advice(
    *,
    model_name: str,
    versions: Sequence[VersionEvidence],
    served: VersionEvidence,
    history: Sequence[WindowRecord],
    current: WindowRecord,
    current_fingerprint: DataFingerprint | None,
    cost: CostModel,
    strategy: str,
    alias: str | None = None,
    note: str = "",
    evaluated_at: str = "",
    advice_id: str = "",
) -> Recommendation:
    """Decide keep, retrain, promote or insufficient-evidence for ``served`` on ``current``.

    ``history`` is the advisor's history with ``current`` already merged in (see
    :func:`merge_window`); only windows up to ``current`` count. ``note`` is prepended to the
    reason (for example, that the alias was missing and the newest version was taken).

    Raises
    ------
    SchemaMismatchError
        When the current data lacks a column of the served version's reference, or a column
        changed type. Extra columns are accepted.
    """
    report = _drift_report(served, current_fingerprint)
    windows = [r for r in sorted(history, key=lambda r: r.seq) if r.seq <= current.seq]
    obs = _observation(versions, served, windows, current, cost.alpha)
    staleness = _age_curve_staleness(obs, strategy)
    if staleness is None:
        staleness = _early_staleness(versions, served, windows, current, report, cost.alpha)
    promotion = _promotion(versions, served, current, staleness, cost)
    action, reason, candidate = staleness.action, staleness.reason, None
    if promotion is not None and action != "insufficient-evidence":
        candidate, reason = promotion
        action = "promote"
    measured = current.measured.get(served.version)
    evidence = staleness.evidence
    if report is not None and "fingerprint" not in evidence:
        evidence = (*evidence, "fingerprint")
    if report is not None:
        evidence = (*evidence, *_unseen_categories(served.fingerprint, current_fingerprint))
        evidence = (*evidence, *report.notes)  # identifier-like and high-cardinality columns
    if served.notes:
        evidence = (*evidence, *(f"missing: {n}" for n in served.notes))
    money = cost.to_money
    prefix = f"{note}; " if note else ""
    headline = _headline(action, served.version, candidate)
    text = f"{prefix}{headline}: {reason}"
    if action in ("keep", "retrain"):
        c = cost.currency
        text += (
            f" (in money: {money(staleness.per_step):,.2f} {c}/window, "
            f"{money(staleness.accumulated):,.2f} {c} since deploy, "
            f"retrain {cost.retrain_cost:,.2f} {c})"
        )
    if len(text) > MAX_REASON:
        text = text[: MAX_REASON - 3] + "..."
    return Recommendation(
        model_name=model_name,
        version=served.version,
        action=action,
        strategy=strategy,
        reason=text,
        window=current.window,
        window_seq=current.seq,
        currency=cost.currency,
        cost_per_step=money(staleness.per_step),
        accumulated_cost=money(staleness.accumulated),
        retrain_cost=cost.retrain_cost,
        staleness_per_step=staleness.per_step,
        accumulated_staleness=staleness.accumulated,
        retrain_cost_loss=cost.alpha,
        break_even_steps=break_even(cost.alpha, staleness.per_step),
        uncertainty=staleness.sd if math.isfinite(staleness.sd) else 0.0,
        confidence=staleness.confidence * _MISSING_EVIDENCE_WEIGHT ** len(served.notes),
        evidence=evidence,
        top_features=tuple(report.top(TOP_FEATURES)) if report is not None else (),
        evaluated_at=evaluated_at,
        data_digest=current_fingerprint.digest if current_fingerprint is not None else "",
        advice_id=advice_id,
        alias=alias,
        candidate_version=candidate,
        measured_loss=measured,
    )


def _headline(action: str, version: str, candidate: str | None) -> str:
    if action == "promote":
        return f"promote v{candidate} over the served v{version}"
    if action == "insufficient-evidence":
        return f"too little is known about v{version} to advise"
    return f"{action} v{version}"


def _unseen_categories(reference: DataFingerprint, current: DataFingerprint) -> list[str]:
    """Evidence lines naming categories of the current data that the reference never listed.

    Only where the reference listed every value it saw (nothing in its "other" bucket): then a
    value it does not list was really not there.
    """
    found = []
    for name, column in current.columns.items():
        before = reference.columns.get(name)
        if not hasattr(column, "counts") or not hasattr(before, "counts") or before.n_other:
            continue
        new = [str(value) for value in column.counts if value not in before.counts]
        if new:
            shown = ", ".join(repr(v) for v in new[:3]) + (" ..." if len(new) > 3 else "")
            found.append(f"unseen categories in {name!r}: {shown}")
    return found


def _drift_report(served: VersionEvidence, current: DataFingerprint | None) -> DriftReport | None:
    """Drift of the current data from the served version's reference; raise on a lost column."""
    if served.fingerprint is None or current is None:
        return None
    report = distance(served.fingerprint, current)
    lost = {
        name: change
        for name, change in report.schema_changes.items()
        if not change.startswith("not in")
    }
    if lost:
        details = "; ".join(f"column {name!r} {change}" for name, change in lost.items())
        raise SchemaMismatchError(
            f"the current data does not match the reference of version {served.version}: "
            f"{details}. Pass data with the columns the model was trained on.",
            columns=lost,
        )
    return report


def _birth(version: VersionEvidence, windows: Sequence[WindowRecord]) -> int:
    """Matrix index of the last window first seen before the version was created (0: none)."""
    born = 0
    for position, record in enumerate(windows, start=1):
        if record.first_seen_ms < version.created_ms:
            born = position
    return born


def _observation(
    versions: Sequence[VersionEvidence],
    served: VersionEvidence,
    windows: Sequence[WindowRecord],
    current: WindowRecord,
    alpha: float,
) -> Observation:
    """The engine's view of the registry: windows at matrix indices ``1..n``, versions by birth."""
    position = {r.seq: i for i, r in enumerate(windows, start=1)}
    now = position[current.seq]
    step = now + 1
    T = step + 1
    # One version per birth index: the served one where it is among them, else the one measured
    # most often, the newest on a tie.
    by_row: dict[int, VersionEvidence] = {}
    counts = {v.version: sum(v.version in r.measured for r in windows) for v in versions}
    for version in sorted(versions, key=lambda v: v.number):
        row = _birth(version, windows)
        if row >= step:
            continue
        held = by_row.get(row)
        if (
            held is None
            or version.version == served.version
            or (held.version != served.version and counts[version.version] >= counts[held.version])
        ):
            by_row[row] = version
    served_row = _birth(served, windows)
    by_row[served_row] = served
    losses = np.full((T, T), np.nan)
    val_loss = np.full(T, np.nan)
    for row, version in by_row.items():
        if version.val_loss is not None:
            val_loss[row] = version.val_loss
        for record in windows:
            column = position[record.seq]
            loss = record.measured.get(version.version)
            if loss is not None and row < column:
                losses[row, column] = loss
    labelled = [c for c in range(1, now + 1) if np.isfinite(losses[:, c]).any()]
    last_labelled = labelled[-1] if labelled else 0
    deployed_at = now
    for record in reversed(windows[: now - 1]):
        if record.served_version != served.version:
            break
        deployed_at = position[record.seq]
    deployed_at = max(deployed_at, served_row + 1)
    losses.flags.writeable = False
    val_loss.flags.writeable = False
    return Observation(
        step=step,
        served=served_row,
        deployed_at=min(deployed_at, now),
        models=tuple(sorted(by_row)),
        losses=losses,
        val_loss=val_loss,
        retrain_cost=alpha,
        label_delay=step - last_labelled,
        windows=Windows(None, step + 1),
    )


def _age_curve_staleness(obs: Observation, strategy: str) -> _Staleness | None:
    """The chosen policy's decision, when the history holds an age curve; else None."""
    estimate = estimate_step(obs)
    if not estimate.evidence or estimate.fresh is None or len(estimate.fresh.age_curve) < 3:
        return None
    decision = make_policy(strategy).start().decide(obs)
    return _Staleness(
        per_step=decision.staleness_per_step,
        sd=decision.uncertainty,
        accumulated=decision.accumulated_staleness,
        confidence=decision.confidence,
        evidence=decision.evidence,
        action=decision.action,
        reason=f"{strategy}: {decision.reason}",
        offset=estimate.fresh.offset,
    )


def _early_staleness(
    versions: Sequence[VersionEvidence],
    served: VersionEvidence,
    windows: Sequence[WindowRecord],
    current: WindowRecord,
    report: DriftReport | None,
    alpha: float,
) -> _Staleness:
    """Break-even on what one version alone shows, for a history too short for an age curve.

    Per window, the served version's staleness is, by the first that applies:

    - its measured loss less its own loss in its first window in service (the closest thing to
      a fresh model's loss on this stream; window difficulty is not separated from age);
    - its measured loss less its calibrated validation loss;
    - the drift of the window from its reference times a loss-per-drift slope fitted on the
      history (:class:`~mlflow_staleness.estimators.SimilarityEstimator`, from a prior at first).
    """
    val = {v.version: v.val_loss for v in versions if v.val_loss is not None}
    pairs = [
        (record.drift[name], loss - val[name], True)
        for record in windows
        for name, loss in record.measured.items()
        if name in val and name in record.drift and math.isfinite(loss)
    ]
    relation = SimilarityEstimator().fit(pairs)
    born = _birth(served, windows)
    own = [
        r.measured[served.version]
        for position, r in enumerate(windows, start=1)
        if position > born and served.version in r.measured
    ]
    baseline = own[0] if len(own) > 1 else None
    if baseline is not None and served.val_loss is not None:
        # a version already stale in its first window must not become its own yardstick
        baseline = min(baseline, served.val_loss + relation.prior_offset)
    scatter = float(np.std(own, ddof=1)) if len(own) > 2 else relation.sigma_

    def excess(record: WindowRecord, drift: float | None) -> tuple[float, float, str] | None:
        loss = record.measured.get(served.version)
        if loss is not None and baseline is not None:
            return loss - baseline, scatter, "measured"
        if loss is not None and served.val_loss is not None:
            return loss - served.val_loss - relation.prior_offset, relation.sigma_, "measured"
        if drift is not None:
            spread = math.hypot(relation.slope_sd_ * drift, relation.sigma_ / 2)
            return relation.slope_ * drift, spread, "fingerprint"
        return None

    drift_now = report.score if report is not None else current.drift.get(served.version)
    now = excess(current, drift_now)
    if now is None:
        return _Staleness(
            0.0,
            math.inf,
            0.0,
            0.0,
            (),
            "insufficient-evidence",
            "no labels with a validation loss, no fingerprint to measure drift against, and no "
            "history of measured windows; log a reference (mlflow_staleness.log_reference) or "
            "pass labels",
            math.nan,
        )
    per_step, sd, kind = now
    earlier = [r for r in windows if r.seq < current.seq]
    first = 0
    for i in range(len(earlier) - 1, -1, -1):
        if earlier[i].served_version != served.version:
            first = i + 1
            break
    accumulated, variance = max(per_step, 0.0), sd**2
    for record in earlier[first:]:
        past = excess(record, record.drift.get(served.version))
        value, spread = (past[0], past[1]) if past is not None else (per_step, sd)
        accumulated += max(value, 0.0)
        variance += spread**2
    per_step = max(per_step, 0.0)
    margin = accumulated - alpha
    base = 0.15 + 0.5 * len(own) / (len(own) + relation.min_pairs)
    confidence = sign_confidence(margin, math.sqrt(variance), base)
    if kind == "measured" and baseline is not None:
        evidence: tuple[str, ...] = ("measured", "own-baseline")
        basis = f"its loss now against its first window in service ({baseline:.4f})"
    elif kind == "measured":
        evidence = ("measured", "validation")
        basis = "its loss now against its validation loss"
    else:
        evidence = ("fingerprint", "similarity")
        basis = f"drift {drift_now:.2f} x loss-per-drift {relation.slope_:.3f} " + (
            "fitted" if relation.n_pairs_ >= relation.min_pairs else "(prior)"
        )
    action = "retrain" if margin >= 0 else "keep"
    verb = "reached" if action == "retrain" else "is below"
    reason = (
        f"break-even on one version's evidence ({basis}): stale by {per_step:.4f}/window, "
        f"accumulated {accumulated:.4f} since deploy {verb} the retrain cost {alpha:.4f}"
    )
    return _Staleness(
        per_step,
        math.sqrt(variance),
        accumulated,
        confidence,
        evidence,
        action,
        reason,
        relation.offset_,
    )


def _promotion(
    versions: Sequence[VersionEvidence],
    served: VersionEvidence,
    current: WindowRecord,
    staleness: _Staleness,
    cost: CostModel,
) -> tuple[str, str] | None:
    """``(candidate, reason)`` when a newer version beats the served one by more than the
    switching risk per window; else None."""
    offset = staleness.offset if math.isfinite(staleness.offset) else 0.0
    measured = current.measured.get(served.version)
    if measured is not None:
        served_loss = measured
    elif served.val_loss is not None and staleness.action != "insufficient-evidence":
        served_loss = served.val_loss + offset + staleness.per_step
    else:
        return None
    risk = cost.to_loss(cost.risk_cost)
    best: tuple[float, VersionEvidence] | None = None
    for version in versions:
        if version.number <= served.number or version.status != "READY":
            continue
        loss = current.measured.get(version.version)
        if loss is None and version.val_loss is not None:
            loss = version.val_loss + offset
        if loss is None:
            continue
        gain = served_loss - loss
        if gain > risk and (best is None or gain > best[0]):
            best = (gain, version)
    if best is None:
        return None
    gain, version = best
    basis = "measured on this window" if version.version in current.measured else "validation"
    return version.version, (
        f"v{version.version} is expected to lose {gain:.4f} less per window ({basis}; "
        f"{cost.to_money(gain):,.2f} {cost.currency}), more than the switching risk "
        f"{cost.risk_cost:,.2f} {cost.currency}; promoting is cheaper than retraining"
    )
