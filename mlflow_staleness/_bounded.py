"""Bounds on the advisor's own documents, checked before they are parsed.

The advisor reads back what it wrote: the history cache (``history.json``), the advice and
measurement facts (``advice/<id>.json``, ``measurements/<id>.json``) and the settings document
(a model tag). Anyone with write access to the run or the model can replace them, and a JSON
document takes many times its size as Python objects (a 39 MB ``history.json`` took 1.2 GB), so
each read is bounded like the fingerprint's: the size is checked before the download (from the
artifact listing), again on disk before the file is read, and the nesting is counted on the raw
bytes before ``json.loads`` (a document nested a million deep would exhaust the parser's
recursion). A document over a bound is refused with one line naming it, its size, the limit and
the way forward; nothing is written.

>>> check_document(b'{"a": [1, 2]}', "doc.json", MAX_FACT_BYTES, "Redo it")
>>> try:
...     check_document(b"[" * 40 + b"]" * 40, "doc.json", MAX_FACT_BYTES, "Redo it")
... except InvalidInputError as exc:
...     print(exc)
doc.json is nested 40 deep, more than the 16 levels the advisor writes. Redo it
"""

from __future__ import annotations

import os
import re

import numpy as np

from mlflow_staleness.exceptions import InvalidInputError

__all__ = [
    "HISTORY_LIMIT_ENV",
    "MAX_DEPTH",
    "MAX_FACT_BYTES",
    "MAX_SETTINGS_BYTES",
    "check_document",
    "check_size",
    "history_limit",
]

#: ``history.json`` caches every fact: a few KB per advised window, so 16 MiB hold thousands of
#: windows. A larger one is refused unless this environment variable raises the limit.
HISTORY_LIMIT_ENV = "MLFLOW_STALENESS_MAX_HISTORY_BYTES"
MAX_HISTORY_BYTES = 16 * 1024 * 1024
#: One fact (one window's losses, drift and advice) or ``advice.json``.
MAX_FACT_BYTES = 1024 * 1024
#: The settings document: a dozen settings.
MAX_SETTINGS_BYTES = 16 * 1024
#: The advisor's documents nest at most 7 deep (cache, kind, fact, advice, list, pair).
MAX_DEPTH = 16

_SCAN_CHUNK = 1 << 20
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


def history_limit() -> int:
    """The size limit of ``history.json``: :data:`MAX_HISTORY_BYTES`, or the environment's."""
    text = os.environ.get(HISTORY_LIMIT_ENV, "").strip()
    if not text:
        return MAX_HISTORY_BYTES
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise InvalidInputError(
            f"{HISTORY_LIMIT_ENV} must be a whole number of bytes above 0, got {text[:40]!r}; "
            f"unset it to use the default of {MAX_HISTORY_BYTES:,}"
        )
    return value


def check_size(size: int | None, what: str, limit: int, way: str) -> None:
    """Refuse a document of ``size`` bytes over ``limit`` (None: not known yet, passes)."""
    if size is not None and size > limit:
        raise InvalidInputError(
            f"{what} is {size:,} bytes, more than the {limit:,} bytes the advisor reads; it was "
            f"not parsed. {way}"
        )


def check_document(raw: bytes, what: str, limit: int, way: str) -> None:
    """Refuse ``raw`` when it is over ``limit`` bytes or nested deeper than :data:`MAX_DEPTH`.

    The brackets outside strings are counted with numpy, a few MB at a time, so the check needs
    no more memory than the bytes themselves.
    """
    check_size(len(raw), what, limit, way)
    skeleton = np.frombuffer(_JSON_STRING.sub(b'""', raw), dtype=np.uint8)
    depth, level = 0, 0
    for start in range(0, skeleton.shape[0], _SCAN_CHUNK):
        part = skeleton[start : start + _SCAN_CHUNK]
        opens = (part == ord("[")) | (part == ord("{"))
        closes = (part == ord("]")) | (part == ord("}"))
        levels = level + np.cumsum(opens.view(np.int8) - closes.view(np.int8), dtype=np.int64)
        if levels.shape[0]:
            depth, level = max(depth, int(levels.max())), int(levels[-1])
    if depth > MAX_DEPTH:
        raise InvalidInputError(
            f"{what} is nested {depth} deep, more than the {MAX_DEPTH} levels the advisor "
            f"writes. {way}"
        )
