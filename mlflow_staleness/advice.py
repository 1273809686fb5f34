"""The advisor's arithmetic: from what the registry knows to one :class:`Recommendation`.

This module is pure (no MLflow): the adapter reads the registry into :class:`VersionEvidence` and
:class:`WindowRecord` objects, and :func:`compute_advice` turns them into advice.

**One decision path.** The registry is translated into the engine's
:class:`~mlflow_staleness.policies.Observation` by :func:`registry_observation`, the only
translation there is, and the policy decides on it exactly as it would in
:func:`~mlflow_staleness.backtest.replay`: ``retrain`` or ``keep`` for the served version, and,
for a version registered since (the challenger a retrain produced), the policy's gate:
``promote`` it or keep the served one. So a backtest of a policy is a faithful preview of its
advice, and ``scripts/e2e_replay.py`` checks it through MLflow, window by window.

**Beyond the engine**, one comparison the registry makes possible: another ready version that was
measured on the same windows as the served one, and clearly beat it there by more than the
switching risk, is advised instead of keeping (``rollback`` to an older version, ``promote`` of a
newer one). No retrain is needed for that.

**Insufficient evidence** is an outcome: no measured loss, no validation loss and no fingerprint
to measure drift against.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from mlflow_staleness.costs import CostModel
from mlflow_staleness.decision import Decision
from mlflow_staleness.eligibility import MAX_LISTED, eligible, passed_over
from mlflow_staleness.exceptions import InvalidInputError, SchemaMismatchError
from mlflow_staleness.fingerprint import DataFingerprint, DriftReport, distance
from mlflow_staleness.policies import make_policy
from mlflow_staleness.policies.base import Observation, WindowDrift, Windows, break_even
from mlflow_staleness.recommendation import MAX_REASON, Recommendation
from mlflow_staleness.switching import best_switch
from mlflow_staleness.windows import normalise, order_windows

__all__ = [
    "RegistryView",
    "VersionEvidence",
    "WindowRecord",
    "compute_advice",
    "merge_window",
    "registry_observation",
]

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
    # Evidence found on a version nobody prepared (mlflow_staleness.metric_names): how the loss
    # kind was found, where the validation loss came from, whether it is an optimistic training
    # metric, and the label column when the registry names it.
    metric_source: str | None = None
    val_source: str | None = None
    optimistic: bool = False
    target: str | None = None
    # The facts of the eligibility rule (mlflow_staleness.eligibility) besides the above: its
    # source run is named but not found; the value of its staleness.withdrawn tag; its model.
    run_missing: bool = False
    withdrawn: str | None = None
    model: str | None = None

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

    A window seen before keeps its place; new measurements and drift scores replace old ones
    version by version, the rest stays. A new window takes its place on the time axis
    (:func:`mlflow_staleness.windows.order_windows`): after every other window when its label is
    not a time, else in time order among the windows whose labels are times (a late window is
    inserted before later ones, and the windows are numbered again).

    >>> rows = [WindowRecord(0, "2026-01-01", 10), WindowRecord(1, "2026-03-01", 20)]
    >>> record, history = merge_window(rows, "2026-02-01T00:00:00+00:00", 30)
    >>> record.seq, [(r.seq, r.window) for r in history]
    (1, [(0, '2026-01-01'), (1, '2026-02-01'), (2, '2026-03-01')])
    """
    window = normalise(window)
    rows = sorted(history, key=lambda r: r.seq)
    old = next((r for r in rows if r.window == window), None)
    if old is None:
        seq = rows[-1].seq + 1 if rows else 0
        record = WindowRecord(
            seq, window, now_ms, served_version, dict(measured or {}), dict(drift or {})
        )
        placed = order_windows([*(r.window for r in rows), window])
        if placed[-1] == window:  # the newest window: the next number
            return record, [*rows, record]
        by_label = {r.window: r for r in [*rows, record]}
        history = [replace(by_label[label], seq=seq) for seq, label in enumerate(placed)]
        return next(r for r in history if r.window == window), history
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
class RegistryView:
    """The registry as the engine sees it (see :func:`registry_observation`)."""

    observation: Observation
    rows: Mapping[int, VersionEvidence]  # matrix row -> the version trained there
    positions: Mapping[int, int]  # window seq -> matrix column

    def row_of(self, version: str) -> int | None:
        return next((r for r, v in self.rows.items() if v.version == version), None)


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
    candidate: VersionEvidence | None = None,
    loss_notes: Sequence[str] = (),
    loss_warning: str | None = None,
) -> Recommendation:
    """Decide for ``served`` on ``current``: the policy's decision on the registry's evidence.

    The registry is translated into the engine's :class:`~mlflow_staleness.policies.Observation`
    (:func:`registry_observation`), and the policy named by ``strategy`` decides on it, exactly as
    it would in :func:`~mlflow_staleness.backtest.replay`:

    - without ``candidate``, phase one: ``keep`` or ``retrain``;
    - with ``candidate`` (a version registered after the last advice: the challenger a retrain
      produced), the gate: ``promote`` it, or ``keep`` the served version.

    Beyond the engine, the advisor compares the served version with every other ready version on
    the windows it served, where both were measured (:mod:`mlflow_staleness.switching`): one that
    was clearly better, by more than the switching risk (``risk_cost``) per window, is advised
    instead of keeping (``rollback`` to an older version, ``promote`` of a newer one), and instead
    of a retrain whose expected saving it already delivers.
    ``insufficient-evidence`` is returned when there is no measured loss, no validation loss
    and no fingerprint to go on.

    ``history`` is the advisor's history with ``current`` already merged in (see
    :func:`merge_window`); only windows up to ``current`` count. ``note`` is prepended to the
    reason (for example, that the alias was missing and the newest version was taken).
    ``loss_notes`` (how labels and predictions were read) join the evidence; ``loss_warning``
    (a measured loss implausible against the version's history) is the advice's
    ``loss_warning`` field, an evidence line, and is said in the reason.

    Raises
    ------
    SchemaMismatchError
        When the current data lacks a column of the served version's reference, or a column
        changed type. Extra columns are accepted.
    """
    report = _drift_report(served, current_fingerprint)
    windows = [r for r in sorted(history, key=lambda r: r.seq) if r.seq <= current.seq]
    view = registry_observation(
        versions, served, windows, current, cost.alpha, candidate=candidate, model_name=model_name
    )
    _, not_counted = trusted_versions(versions, served, windows, model_name)
    loss_notes = (*loss_notes, *passed_over(versions, served.version, model_name), *not_counted)
    obs = view.observation
    measured = current.measured.get(served.version)
    has_losses = any(v.version in r.measured for r in windows for v in view.rows.values())
    if not has_losses and served.val_loss is None and report is None:
        return _recommendation(
            model_name=model_name,
            served=served,
            current=current,
            cost=cost,
            strategy=strategy,
            alias=alias,
            note=note,
            evaluated_at=evaluated_at,
            advice_id=advice_id,
            action="insufficient-evidence",
            reason=(
                "no labels with a validation loss, no fingerprint to measure drift against, and "
                "no history of measured windows; log a reference (mlflow_staleness.log_reference) "
                "or pass labels"
            ),
            decision=None,
            report=report,
            fingerprint=current_fingerprint,
            measured=measured,
            loss_notes=loss_notes,
            loss_warning=loss_warning,
        )
    policy = make_policy(strategy).start()
    candidate_version = None
    if candidate is not None:
        decision = policy.gate(obs)
        action = "promote" if decision.action == "deploy" else "keep"
        candidate_version = candidate.version
        verb = "promote" if action == "promote" else "keep the served version over"
        reason = f"{strategy} gate on the new v{candidate.version} ({verb} it): {decision.reason}"
    else:
        decision = policy.decide(obs)
        action, reason = decision.action, f"{strategy}: {decision.reason}"
        if not has_losses:
            reason = (
                f"{reason}; no labelled window yet, so drift alone cannot show that a retrain "
                "pays: pass labels (or record them later) to measure the loss"
            )
        switch = _switch(view, served, cost)
        # Switching costs no retrain: it wins over keeping, and over a retrain whose expected
        # saving (the served version's staleness) it already delivers.
        if switch is not None and (action == "keep" or switch[3] >= decision.staleness_per_step):
            action, candidate_version, reason = switch[:3]
            reason = f"{reason} (the engine alone: {decision.action})"
    return _recommendation(
        model_name=model_name,
        served=served,
        current=current,
        cost=cost,
        strategy=strategy,
        alias=alias,
        note=note,
        evaluated_at=evaluated_at,
        advice_id=advice_id,
        action=action,
        reason=reason,
        decision=decision,
        report=report,
        fingerprint=current_fingerprint,
        measured=measured,
        candidate_version=candidate_version,
        loss_notes=loss_notes,
        loss_warning=loss_warning,
    )


def _clipped_staleness(per_step: float, accumulated: float) -> tuple[str, ...]:
    """An evidence line when the engine's staleness estimate is below zero (the served version
    measured better than the fresh models it was compared with): staleness is an excess over a
    fresh model, so the advice clips it to 0 and never shows a negative cost.

    >>> _clipped_staleness(-0.25, 0.5)[0][:53]
    'staleness clipped to 0: the estimate was -0.2500/step'
    >>> _clipped_staleness(0.1, 0.0)
    ()
    """
    parts = []
    if per_step < 0:
        parts.append(f"{per_step:.4f}/step")
    if accumulated < 0:
        parts.append(f"{accumulated:.4f} accumulated")
    if not parts:
        return ()
    return (
        f"staleness clipped to 0: the estimate was {' and '.join(parts)} (the served version "
        "measured better than the fresh models it was compared with; window noise, or weak "
        "fresh models), so no cost is counted for it",
    )


def _engine_action(decision: Decision | None) -> str | None:
    return None if decision is None else decision.action


def _recommendation(
    *,
    model_name: str,
    served: VersionEvidence,
    current: WindowRecord,
    cost: CostModel,
    strategy: str,
    alias: str | None,
    note: str,
    evaluated_at: str,
    advice_id: str,
    action: str,
    reason: str,
    decision: Decision | None,
    report: DriftReport | None,
    fingerprint: DataFingerprint | None,
    measured: float | None,
    candidate_version: str | None = None,
    loss_notes: Sequence[str] = (),
    loss_warning: str | None = None,
) -> Recommendation:
    per_step = decision.staleness_per_step if decision is not None else 0.0
    accumulated = decision.accumulated_staleness if decision is not None else 0.0
    sd = decision.uncertainty if decision is not None else math.inf
    confidence = decision.confidence if decision is not None else 0.0
    evidence: tuple[str, ...] = decision.evidence if decision is not None else ()
    if not math.isfinite(per_step):
        per_step = 0.0
    clipped = _clipped_staleness(per_step, accumulated)
    if clipped:
        per_step, accumulated = max(per_step, 0.0), max(accumulated, 0.0)
    if report is not None and "fingerprint" not in evidence:
        evidence = (*evidence, "fingerprint")
    if report is not None:
        evidence = (
            *evidence,
            *_unseen_categories(served.fingerprint, fingerprint),
            *getattr(report, "notes", ()),
        )
    if served.notes:
        evidence = (*evidence, *(f"missing: {n}" for n in served.notes))
    evidence = (*evidence, *loss_notes, *clipped)
    if loss_warning:
        evidence = (*evidence, f"implausible loss: {loss_warning}")
    money = cost.to_money
    prefix = f"{note}; " if note else ""
    headline = _headline(action, served.version, candidate_version)
    if loss_warning:  # said first, where the reason is never cut
        headline = f"{headline} [{loss_warning}; no alias or stage moved]"
    text = f"{prefix}{headline}: {reason}"
    if action in ("keep", "retrain"):
        c = cost.currency
        text += (
            f" (in money: {money(per_step):,.2f} {c}/window, "
            f"{money(accumulated):,.2f} {c} since deploy, "
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
        cost_per_step=money(per_step),
        accumulated_cost=money(accumulated),
        retrain_cost=cost.retrain_cost,
        staleness_per_step=per_step,
        accumulated_staleness=accumulated,
        retrain_cost_loss=cost.alpha,
        break_even_steps=break_even(cost.alpha, per_step),
        uncertainty=sd if math.isfinite(sd) else 0.0,
        confidence=confidence * _MISSING_EVIDENCE_WEIGHT ** len(served.notes),
        evidence=evidence,
        top_features=tuple(report.top(TOP_FEATURES)) if report is not None else (),
        evaluated_at=evaluated_at,
        data_digest=fingerprint.digest if fingerprint is not None else "",
        advice_id=advice_id,
        alias=alias,
        candidate_version=candidate_version,
        measured_loss=measured,
        engine_action=_engine_action(decision),
        loss_warning=loss_warning,
    )


def _headline(action: str, version: str, candidate: str | None) -> str:
    if action == "promote":
        return f"promote v{candidate} over the served v{version}"
    if action == "rollback":
        return f"roll back from the served v{version} to v{candidate}"
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


def gate_verdicts(windows: Sequence[WindowRecord]) -> dict[str, tuple[bool, str]]:
    """The latest gate verdict on each version judged as a candidate in ``windows``:
    version -> (promoted, window). A switch (``rollback``, or ``promote`` of a measured version)
    is no gate verdict.

    >>> rows = [WindowRecord(0, "w0", 1, "1", advice={"candidate_version": "2",
    ...         "action": "keep", "engine_action": "reject"})]
    >>> gate_verdicts(rows)
    {'2': (False, 'w0')}
    """
    verdicts: dict[str, tuple[bool, str]] = {}
    for record in sorted(windows, key=lambda r: r.seq):
        advice = record.advice or {}
        version = advice.get("candidate_version")
        engine = advice.get("engine_action")
        if version is None or engine not in ("deploy", "reject", None):
            continue
        if engine is None and advice.get("action") not in ("keep", "promote"):
            continue  # an older advice without the engine's action: only a gate keeps/promotes
        promoted = engine == "deploy" if engine else advice.get("action") == "promote"
        verdicts[str(version)] = (promoted, record.window)
    return verdicts


def trusted_versions(
    versions: Sequence[VersionEvidence],
    served: VersionEvidence,
    windows: Sequence[WindowRecord],
    model_name: str | None = None,
) -> tuple[list[VersionEvidence], tuple[str, ...]]:
    """The versions whose evidence counts for what a served model is: the rows of the age curve
    and the level signals, and the targets of a switch; and evidence lines naming the others.

    A version counts when it is eligible (:func:`mlflow_staleness.eligibility.ineligibility`)
    and it served (the served version, or one the history shows serving), or a gate promoted it,
    or it is older than every version the history shows serving and no gate rejected it (the
    versions that served before the advisor began). A version a gate rejected, and a newer one
    that never served, is no fresh model: counting it would make a weak experiment the measure of
    what a retrain gives, and let the switching rule bring back what the gate turned down.
    """
    served_before = {r.served_version for r in windows if r.served_version} | {served.version}
    oldest_served = min(int(v) for v in served_before if str(v).isdigit())
    verdicts = gate_verdicts(windows)
    counted, left = [], []
    for version in versions:
        if version.version == served.version:
            counted.append(version)
            continue
        if not eligible(version, model_name):
            continue  # said by passed_over
        promoted, where = verdicts.get(version.version, (None, ""))
        if version.version in served_before or promoted:
            counted.append(version)
        elif promoted is False:
            left.append(f"v{version.version} (rejected by the gate on window {where!r})")
        elif version.number < oldest_served:
            counted.append(version)
        elif version.number < served.number:
            left.append(f"v{version.version} (never served)")
    notes: tuple[str, ...] = ()
    if left:
        shown = ", ".join(left[:MAX_LISTED]) + (
            f" and {len(left) - MAX_LISTED} more" if len(left) > MAX_LISTED else ""
        )
        notes = (f"not counted as a fresh model or a switch target: {shown}",)
    return counted, notes


def registry_observation(
    versions: Sequence[VersionEvidence],
    served: VersionEvidence,
    windows: Sequence[WindowRecord],
    current: WindowRecord,
    alpha: float,
    *,
    candidate: VersionEvidence | None = None,
    model_name: str | None = None,
) -> RegistryView:
    """The engine's view of the registry: the one translation between the two.

    - **Columns** are the advisor's windows in time order, at matrix indices ``1..n`` (index 0
      stands for the time before the first window).
    - **Rows** are versions, at the index of the last window first seen before they were created
      (their *birth*: the data they could have been trained on). Where several versions share a
      birth, the served one is kept, else the newest.
    - ``losses[row, column]`` is the loss a version was measured at on a later window;
      ``val_loss[row]`` its logged validation loss.
    - **The step.** When the current window holds measured losses (labels arrived), the advice is
      for the next window: the step is ``n + 1``, and a retrain is trained on the current window.
      Without labels, the advice is for the current window itself: the step is ``n``.
    - **The served row** is the served version's birth; it was deployed at the first window of
      its latest spell in service.
    - **A candidate** (a version to judge in the gate) is the challenger: it takes row
      ``step - 1``, the freshest model there is.
    - **Drift** ``D[row, column]`` is the recorded drift of a window's data from the row's
      version's reference, for the windows that have data.

    Examples
    --------
    >>> v1 = VersionEvidence("1", created_ms=0, val_loss=0.10)
    >>> history = [WindowRecord(0, "w0", 10, "1", {"1": 0.12}),
    ...            WindowRecord(1, "w1", 20, "1", {"1": 0.15})]
    >>> view = registry_observation([v1], v1, history, history[-1], alpha=0.5)
    >>> obs = view.observation
    >>> obs.step, obs.served, obs.deployed_at, obs.label_delay, float(obs.losses[0, 2])
    (3, 0, 1, 1, 0.15)
    """
    position = {r.seq: i for i, r in enumerate(windows, start=1)}
    now = position[current.seq]
    labelled_now = bool(current.measured)
    step = now + 1 if labelled_now else max(now, 1)
    T = max(step, now) + 1
    ready, _ = trusted_versions(versions, served, windows, model_name)
    by_row: dict[int, VersionEvidence] = {}
    for version in sorted(ready, key=lambda v: v.number):
        if candidate is not None and version.version == candidate.version:
            continue
        row = _birth(version, windows)
        if row >= step:
            continue
        held = by_row.get(row)
        if held is None or held.version != served.version:
            by_row[row] = version
    served_row = _birth(served, windows)
    served_row = min(served_row, step - 1)
    by_row[served_row] = served
    challenger = None
    if candidate is not None:
        challenger = step - 1
        if challenger == served_row:
            raise InvalidInputError(
                f"candidate v{candidate.version} cannot be judged against the served "
                f"v{served.version}: both hold the latest data (window {current.window!r}). "
                "Advise on the served version alone now with --candidate none (candidate='none'), "
                "and judge the candidate on the next window"
            )
        by_row[challenger] = candidate
    losses = np.full((T, T), np.nan)
    val_loss = np.full(T, np.nan)
    drift = np.full((T, T), np.nan)
    for row, version in by_row.items():
        if version.val_loss is not None:
            val_loss[row] = version.val_loss
        for record in windows:
            column = position[record.seq]
            if row >= column:
                continue
            loss = record.measured.get(version.version)
            if loss is not None and column < step:
                losses[row, column] = loss
            score = record.drift.get(version.version)
            if score is not None:
                drift[row, column] = score
    labelled = [c for c in range(1, step) if np.isfinite(losses[:, c]).any()]
    last_labelled = labelled[-1] if labelled else 0
    deployed_at = now
    for record in reversed(windows[: now - 1]):
        if record.served_version != served.version:
            break
        deployed_at = position[record.seq]
    deployed_at = min(max(deployed_at, served_row + 1), step)
    losses.flags.writeable = False
    val_loss.flags.writeable = False
    drift.flags.writeable = False
    observation = Observation(
        step=step,
        served=served_row,
        deployed_at=deployed_at,
        models=tuple(sorted(by_row)),
        losses=losses,
        val_loss=val_loss,
        retrain_cost=alpha,
        label_delay=max(step - last_labelled, 1),
        windows=Windows(None, step + 1),
        challenger=challenger,
        drift=WindowDrift(scores=drift, visible=min(now + 1, step + 1)),
    )
    return RegistryView(observation, dict(by_row), position)


def _switch(
    view: RegistryView, served: VersionEvidence, cost: CostModel
) -> tuple[str, str, str, float] | None:
    """``(action, version, reason, gain per window)`` when another ready version beat the served
    one on the windows it served, clearly and by more than the switching risk (see
    :mod:`mlflow_staleness.switching`); else None."""
    obs = view.observation
    rows = [row for row, version in view.rows.items() if version.status == "READY"]
    switch = best_switch(
        np.asarray(obs.losses),
        obs.served,
        obs.deployed_at,
        obs.step,
        rows,
        risk=cost.to_loss(cost.risk_cost),
    )
    if switch is None:
        return None
    version = view.rows[switch.row]
    action = "promote" if version.number > served.number else "rollback"
    return (
        action,
        version.version,
        f"v{version.version} lost {switch.gain:.4f} less per window than the served "
        f"v{served.version} on the same {switch.windows} windows (+- {switch.se:.4f}; "
        f"{cost.to_money(switch.gain):,.2f} {cost.currency}), more than the switching risk "
        f"{cost.risk_cost:,.2f} {cost.currency}: switching needs no retrain",
        switch.gain,
    )
