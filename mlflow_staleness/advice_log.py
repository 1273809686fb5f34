"""The advisor's history as a log of immutable facts, each marked complete by a run tag.

MLflow has no transactions and no compare-and-set: a process can die between any two requests, a
client retries a POST whose answer was lost (so a metric point can be logged twice), and several
advisors can write to the same model at once. The history is therefore never a file that is read,
changed and written back. It is a set of *facts*, each written once under its own name and never
changed:

- ``advice/<advice_id>.json``: one advice on one window (the window's measured losses and drift,
  and the advice document);
- ``measurements/<id>.json``: one window's measured losses from late labels (``record``).

A fact counts only once a run tag names it, and that tag is written after everything else of the
advice: ``staleness.window.<key of the window>`` = the advice id (the advice of that window; a
later advice of the same window replaces the tag, so concurrent advisors on one window end with
exactly one), and ``staleness.measurement.<id>`` for a measurement. A fact without its tag is a
stray write of an unfinished advice: it stays in the artifacts but no reader shows it. Metric
points are a chart for people, never read back, so a duplicated point changes no advice.

``history.json`` caches the documents of the facts known when it was written, so that a reader
usually downloads one file; it is only a cache, and facts missing from it are downloaded one by
one. This module is pure: it turns facts into :class:`~mlflow_staleness.advice.WindowRecord` rows
and does not import MLflow.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from mlflow_staleness.advice import WindowRecord
from mlflow_staleness.exceptions import InvalidInputError
from mlflow_staleness.windows import normalise, order_windows

__all__ = [
    "FORMAT",
    "MEASUREMENT_TAG_PREFIX",
    "WINDOW_TAG_PREFIX",
    "advice_fact",
    "advice_fact_path",
    "assemble",
    "cache_document",
    "check_fact",
    "measurement_fact",
    "measurement_fact_path",
    "newest",
    "parse_fact",
    "read_cache",
    "window_tag",
]

FORMAT = 2
WINDOW_TAG_PREFIX = "staleness.window."
MEASUREMENT_TAG_PREFIX = "staleness.measurement."
_KINDS = ("advice", "measurement")


def window_tag(window: str) -> str:
    """The run tag whose value is the id of ``window``'s complete advice.

    >>> window_tag("2026-11-28")
    'staleness.window.4c0d617c974a763f'
    """
    return WINDOW_TAG_PREFIX + hashlib.sha256(window.encode("utf-8")).hexdigest()[:16]


def advice_fact_path(advice_id: str) -> str:
    """Where the fact of one advice is stored on the advisor run."""
    return f"advice/{advice_id}.json"


def measurement_fact_path(measurement_id: str) -> str:
    """Where the fact of one measurement is stored on the advisor run."""
    return f"measurements/{measurement_id}.json"


def advice_fact(record: WindowRecord, written_ms: int) -> dict[str, Any]:
    """The fact of the advice in ``record`` (its window, losses, drift and advice document)."""
    if record.advice is None or not record.advice.get("advice_id"):
        raise InvalidInputError("an advice fact needs an advice with its advice_id")
    return _fact("advice", str(record.advice["advice_id"]), record, written_ms)


def measurement_fact(record: WindowRecord, measurement_id: str, written_ms: int) -> dict[str, Any]:
    """The fact of one measurement: ``record``'s window and measured losses, no advice."""
    fact = _fact("measurement", measurement_id, record, written_ms)
    fact["advice"] = None
    fact["drift"] = {}
    return fact


def _fact(kind: str, fact_id: str, record: WindowRecord, written_ms: int) -> dict[str, Any]:
    row = record.to_dict()
    row.pop("seq")
    return {"format": FORMAT, "kind": kind, "id": fact_id, "written_ms": int(written_ms), **row}


def cache_document(model_name: str, facts: Iterable[Mapping[str, Any]]) -> bytes:
    """``history.json``: the facts known when it was written, by kind and id."""
    by_kind: dict[str, dict[str, Any]] = {kind: {} for kind in _KINDS}
    for fact in facts:
        by_kind[fact["kind"]][fact["id"]] = dict(fact)
    document = {"format": FORMAT, "model": model_name, **by_kind}
    return json.dumps(document, indent=1, sort_keys=True).encode("utf-8")


def read_cache(text: str | None) -> dict[tuple[str, str], dict[str, Any]]:
    """The facts in a ``history.json`` cache, by (kind, id); an unreadable cache is empty.

    A cache is only a shortcut, so a damaged one costs downloads, never correctness.
    """
    if not text:
        return {}
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        return {}
    found = {}
    for kind in _KINDS:
        entries = document.get(kind)
        if not isinstance(entries, dict):
            continue
        for fact_id, fact in entries.items():
            if check_fact(fact, kind, fact_id) is not None:
                found[(kind, fact_id)] = fact
    return found


def check_fact(fact: Any, kind: str, fact_id: str) -> dict[str, Any] | None:
    """``fact`` if it is a well-formed fact of that kind and id, else None."""
    if not isinstance(fact, dict) or fact.get("kind") != kind or fact.get("id") != fact_id:
        return None
    if fact.get("format") != FORMAT or not isinstance(fact.get("window"), str):
        return None
    if kind == "advice" and not (
        isinstance(fact.get("advice"), dict) and fact["advice"].get("advice_id") == fact_id
    ):
        return None
    try:
        _record(fact)
    except InvalidInputError:
        return None
    return fact


def parse_fact(text: str | None, kind: str, fact_id: str) -> dict[str, Any] | None:
    """A downloaded fact file, checked; None when missing or damaged."""
    if not text:
        return None
    try:
        return check_fact(json.loads(text), kind, fact_id)
    except (ValueError, RecursionError):
        return None


def _record(fact: Mapping[str, Any], seq: int = 0) -> WindowRecord:
    return WindowRecord.from_dict({**fact, "seq": seq})


def newest(facts: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """Of several complete advice facts claiming one window, the latest written one."""
    return max(facts, key=lambda f: (int(f["written_ms"]), str(f["id"])), default=None)


def assemble(
    advice: Iterable[Mapping[str, Any]], measurements: Iterable[Mapping[str, Any]]
) -> list[WindowRecord]:
    """The history: one row per window, from its complete advice and its measurements.

    ``advice`` holds at most one fact per window (the newest counts, where one window was spelled
    several ways). Window labels are normalised (:func:`mlflow_staleness.windows.normalise`);
    windows are numbered (``seq``) on the time axis: labels that are times by time, the others in
    the order of their first sighting, the earliest of their facts
    (:func:`mlflow_staleness.windows.order`). Measured losses and drift scores are
    overlaid version by version, oldest fact first, so the newest measurement of a version wins.

    >>> a = {"format": 2, "kind": "advice", "id": "a1", "written_ms": 20, "window": "w2",
    ...      "first_seen_ms": 20, "served_version": "1", "measured": {"1": 0.3}, "drift": {},
    ...      "advice": {"advice_id": "a1", "action": "keep"}}
    >>> m = {"format": 2, "kind": "measurement", "id": "m1", "written_ms": 30, "window": "w1",
    ...      "first_seen_ms": 10, "served_version": "1", "measured": {"1": 0.2}, "drift": {},
    ...      "advice": None}
    >>> [(r.seq, r.window, r.advice is not None) for r in assemble([a], [m])]
    [(0, 'w1', False), (1, 'w2', True)]
    """
    by_window: dict[str, list[Mapping[str, Any]]] = {}
    claims: dict[str, list[Mapping[str, Any]]] = {}
    for fact in advice:
        window = normalise(fact["window"])
        by_window.setdefault(window, []).append(fact)
        claims.setdefault(window, []).append(fact)
    for fact in measurements:
        by_window.setdefault(normalise(fact["window"]), []).append(fact)
    # one window spelled several ways before labels were normalised: its newest advice counts
    chosen = {window: newest(facts) for window, facts in claims.items()}
    arrival = sorted(
        by_window, key=lambda w: (min(int(f["first_seen_ms"]) for f in by_window[w]), w)
    )
    order = order_windows(arrival)
    rows = []
    for seq, window in enumerate(order):
        facts = sorted(by_window[window], key=lambda f: (int(f["written_ms"]), str(f["id"])))
        measured: dict[str, float] = {}
        drift: dict[str, float] = {}
        served = None
        for fact in facts:
            record = _record(fact)
            measured.update(record.measured)
            drift.update(record.drift)
            served = record.served_version or served
        advice_fact_ = chosen.get(window)
        if advice_fact_ is not None:
            served = advice_fact_.get("served_version") or served
        rows.append(
            WindowRecord(
                seq=seq,
                window=window,
                first_seen_ms=min(int(f["first_seen_ms"]) for f in facts),
                served_version=served,
                measured=measured,
                drift=drift,
                advice=None if advice_fact_ is None else dict(advice_fact_["advice"]),
            )
        )
    return rows
