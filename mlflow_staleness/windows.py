"""Window labels and the time axis: which labels are times, their one spelling, their order.

A window label that is an ISO 8601 date or date-time in the extended form (``YYYY-MM-DD``,
optionally followed by a time and a UTC offset) is a **time**. It is normalised to UTC, so that
one instant has one label however it was spelled: a date stays ``YYYY-MM-DD`` (midnight UTC), a
date-time at midnight UTC becomes that date, any other instant becomes ``YYYY-MM-DDTHH:MM:SSZ``
(with microseconds when it has them). A date-time without an offset is read as UTC.

Windows are placed by one rule, :func:`order_windows`, which every reader and writer of the
history uses (``merge_window`` when a window is advised or recorded, ``assemble`` when the history
is read back, and through them ``history``, ``report``, the summary tag, the version tags and
``advice.json``). The order is built by arrival: a window whose label is not a time
(``w1``, ``batch-7``) goes after every window seen before it; a window whose label is a time goes
before the earliest window already seen whose label is a later time (a *late* window), else after
every window seen. So the time windows are always in time order among themselves, the other
labels keep their order of arrival, and a window that arrives never moves the windows already
seen: the newest window stays the newest unless the one that arrives goes after it. (An
earlier rule sorted the time labels into the places time labels held, so a late ``2026-01-01``
after ``w1, 2026-01-05, w2`` pushed ``2026-01-05`` past ``w2``: the history named ``2026-01-05``
as the newest window while the tags, written when ``w2`` was advised, named ``w2``.)

Examples
--------
>>> normalise("2026-03-01"), normalise("2026-03-01T00:00:00+00:00")
('2026-03-01', '2026-03-01')
>>> normalise("2026-02-28T19:00:00-05:00")
'2026-03-01'
>>> normalise("2026-03-01T10:30:00+01:00"), normalise("batch-7")
('2026-03-01T09:30:00Z', 'batch-7')
>>> order_windows(["2026-03-01", "w-x", "2026-01-01", "2026-02-01"])
['2026-01-01', '2026-02-01', '2026-03-01', 'w-x']
>>> order_windows(["w1", "2026-01-05", "w2", "2026-01-01"])
['w1', '2026-01-01', '2026-01-05', 'w2']
"""

from __future__ import annotations

import bisect
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
    """``labels`` (in the order of arrival) on the time axis: the one ordering of windows.

    Each label is placed as it arrives: a time label before the earliest label already placed
    that is a later time, any other label (and a time label with no later time before it) at the
    end. Labels already placed never move, so the order of a prefix of ``labels`` is kept by every
    later arrival, and applying the rule to its own output changes nothing.
    """
    out: list[str] = []
    placed_times: list[tuple[datetime, str]] = []  # the time labels placed, in time order
    for label in labels:
        moment = as_time(label)
        if moment is not None:
            key = (moment, label)
            at = bisect.bisect_right(placed_times, key)
            if at < len(placed_times):  # a late window: before the earliest later time
                out.insert(out.index(placed_times[at][1]), label)
            else:
                out.append(label)
            placed_times.insert(at, key)
        else:
            out.append(label)
    return out
