"""Window labels and the time axis: which labels are times, their one spelling, their order.

A window label that is an ISO 8601 date or date-time in the extended form (``YYYY-MM-DD``,
optionally followed by a time and a UTC offset) is a **time**. It is normalised to UTC, so that
one instant has one label however it was spelled: a date stays ``YYYY-MM-DD`` (midnight UTC), a
date-time at midnight UTC becomes that date, any other instant becomes ``YYYY-MM-DDTHH:MM:SSZ``
(with microseconds when it has them). A date-time without an offset is read as UTC.

Windows whose labels are times are ordered by time; every other label (``w1``, ``batch-7``) keeps
the order in which the advisor first saw it. In a history that mixes both, the time windows are
sorted among themselves and take the places that time windows held in the order of arrival; the
other labels stay where they arrived.

Examples
--------
>>> normalise("2026-03-01"), normalise("2026-03-01T00:00:00+00:00")
('2026-03-01', '2026-03-01')
>>> normalise("2026-02-28T19:00:00-05:00")
'2026-03-01'
>>> normalise("2026-03-01T10:30:00+01:00"), normalise("batch-7")
('2026-03-01T09:30:00Z', 'batch-7')
>>> order_windows(["2026-03-01", "w-x", "2026-01-01", "2026-02-01"])
['2026-01-01', 'w-x', '2026-02-01', '2026-03-01']
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timezone

__all__ = ["as_time", "normalise", "order_windows"]

_ISO = re.compile(
    r"^\d{4}-\d{2}-\d{2}"  # the date, in the extended form
    r"([T ]\d{2}(:\d{2}(:\d{2}([.,]\d{1,6})?)?)?)?"  # a time
    r"(Z|[+-]\d{2}(:?\d{2})?)?$"  # an offset
)


def as_time(label: str) -> datetime | None:
    """The UTC instant ``label`` names, or None when it is not an ISO 8601 date or date-time."""
    text = label.strip()
    if not _ISO.match(text):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        return None


def normalise(label: str) -> str:
    """The one spelling of ``label``: its UTC form when it is a time, else itself."""
    moment = as_time(label)
    if moment is None:
        return label
    if (moment.hour, moment.minute, moment.second, moment.microsecond) == (0, 0, 0, 0):
        return moment.date().isoformat()
    spec = "seconds" if moment.microsecond == 0 else "microseconds"
    return moment.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def order_windows(labels: Sequence[str]) -> list[str]:
    """``labels`` (in the order of arrival) on the time axis.

    Time labels are sorted by time into the places time labels held; the others stay in place.
    """
    times = {label: as_time(label) for label in labels}
    slots = [i for i, label in enumerate(labels) if times[label] is not None]
    timed = sorted((labels[i] for i in slots), key=lambda label: (times[label], label))
    out = list(labels)
    for slot, label in zip(slots, timed, strict=True):
        out[slot] = label
    return out
