"""Fingerprints of feature windows for the policies' drift signal, each computed once per frame.

A replay is usually repeated over the same windows (one per retrain cost, one per policy), so a
frame's fingerprint is kept for as long as the frame itself lives: keyed by the frame's identity,
and dropped when the frame is garbage-collected.
"""

from __future__ import annotations

import weakref
from typing import Any

__all__ = ["window_distance"]

_PRINTS: dict[int, tuple[weakref.ref, Any]] = {}


def _forget(key: int) -> None:
    _PRINTS.pop(key, None)


def _fingerprint(frame: Any) -> Any:
    from mlflow_staleness.fingerprint import DataFingerprint

    if isinstance(frame, DataFingerprint):
        return frame
    key = id(frame)
    known = _PRINTS.get(key)
    if known is not None and known[0]() is frame:
        return known[1]
    fingerprint = DataFingerprint.from_frame(frame)
    try:
        reference = weakref.ref(frame, lambda _, key=key: _forget(key))
    except TypeError:  # not weakly referenceable: computed again next time
        return fingerprint
    _PRINTS[key] = (reference, fingerprint)
    return fingerprint


def window_distance(a: Any, b: Any) -> float:
    """The overall drift score between two windows (frames or fingerprints)."""
    from mlflow_staleness.fingerprint import distance

    return float(distance(_fingerprint(a), _fingerprint(b)).score)
