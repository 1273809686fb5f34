"""The fingerprint reader against hostile documents (issue 11, defect 4).

A fingerprint artifact can be replaced by anyone who can write to a training run, so reading one
must be bounded whatever it holds. The properties: ``DataFingerprint.from_json`` either returns a
fingerprint (which ``distance`` then compares) or raises an ``InvalidInputError`` with a one-line
message; never another exception. Inputs: random bytes, random JSON, valid documents with one
field replaced by hostile content (zlib bombs, huge or negative counts, deep nesting, wrong
types), and documents at the limits. A subprocess measures the peak memory of reading a zlib
bomb (a ~2.6 MB file that inflates to 2 GB): it used to take about 4 GB.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlflow_staleness.exceptions import InvalidInputError
from mlflow_staleness.fingerprint import (
    MAX_DEPTH,
    MAX_JSON_BYTES,
    DataFingerprint,
    distance,
)

#: Peak memory allowed for reading any fingerprint, on top of the interpreter and its imports.
MEMORY_BOUND_MB = 1024


def _valid() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=500),
            "n": rng.integers(0, 5, 500),
            "plan": pd.Series(rng.choice(["free", "pro", "team"], 500), dtype=object),
        }
    )
    return DataFingerprint.from_frame(frame).to_dict()


VALID = _valid()
REFERENCE = DataFingerprint.from_dict(VALID)


def _bomb_text(inflated: int) -> str:
    """Base64 of a zlib stream that inflates to ``inflated`` zero bytes."""
    packer = zlib.compressobj(9)
    chunk = b"\0" * min(inflated, 1 << 24)
    parts, left = [], inflated
    while left > 0:
        parts.append(packer.compress(chunk[: min(left, len(chunk))]))
        left -= len(chunk)
    parts.append(packer.flush())
    return base64.b64encode(b"".join(parts)).decode("ascii")


def _read(payload: str | bytes) -> DataFingerprint | None:
    """Read, and compare with a reference; only a one-line InvalidInputError may come out."""
    try:
        fingerprint = DataFingerprint.from_json(payload)
    except InvalidInputError as exc:
        message = str(exc)
        assert message.strip(), "an empty message"
        assert len(message.splitlines()) == 1, message
        assert len(message) < 2000, message[:200]
        return None
    distance(REFERENCE, fingerprint)
    distance(fingerprint, fingerprint)
    return fingerprint


# ---------------------------------------------------------------------------------- strategies
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)

HOSTILE = st.one_of(
    JSON,
    st.sampled_from(
        [
            -1,
            2**53 + 1,
            10**4000,
            float("nan"),
            1e308,
            "",
            "not base64!",
            _bomb_text(1 << 20),
            _bomb_text(8 * 1024 + 8),  # one value more than a sketch may hold
            base64.b64encode(zlib.compress(b"\1" * 8)).decode(),
            base64.b64encode(b"\x78\x9c" + b"\0" * 20).decode(),  # a broken zlib stream
            base64.b64encode(zlib.compress(b"12345678") + b"trailing").decode(),
            [[[[[[[[[[[]]]]]]]]]]],
            {"values": "", "ranks": ""},
        ]
    ),
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += _paths(value, (*prefix, index))
    return out


PATHS = _paths(VALID)


def _replaced(document: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    copy = json.loads(json.dumps(document))
    node = copy
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return copy


@st.composite
def mutated(draw: st.DrawFn) -> str:
    document: Any = VALID
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(document) if document is not VALID else PATHS
        document = _replaced(document, draw(st.sampled_from(paths)), draw(HOSTILE))
    return json.dumps(document, allow_nan=True)


# ---------------------------------------------------------------------------------- properties
@settings(max_examples=300, deadline=None)
@given(payload=st.binary(max_size=4096))
def test_random_bytes_give_a_fingerprint_or_a_one_line_refusal(payload: bytes) -> None:
    _read(payload)


@settings(max_examples=300, deadline=None)
@given(document=JSON)
def test_random_json_gives_a_fingerprint_or_a_one_line_refusal(document: Any) -> None:
    _read(json.dumps(document))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=mutated())
def test_a_valid_fingerprint_with_hostile_fields_gives_a_result_or_a_refusal(payload: str) -> None:
    _read(payload)


# ---------------------------------------------------------------------------------- the bounds
def test_a_zlib_bomb_in_a_sketch_is_refused_naming_the_bound() -> None:
    document = json.loads(json.dumps(VALID))
    document["columns"][0]["sketch"]["values"] = _bomb_text(1 << 28)  # 256 MiB of zeros
    with pytest.raises(InvalidInputError, match=r"column 'x' .* more than 1024 values"):
        DataFingerprint.from_json(json.dumps(document))


def test_nesting_deeper_than_the_format_is_refused_before_parsing() -> None:
    deep = '{"columns": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(InvalidInputError, match=rf"nested 100001 deep, more than the {MAX_DEPTH}"):
        DataFingerprint.from_json(deep)


def test_brackets_inside_names_do_not_count_as_nesting() -> None:
    frame = pd.DataFrame({"[[[[[[[[[[[[": [1.0, 2.0], "{{{{{{{{{{{": ["a", "b"]})
    fingerprint = DataFingerprint.from_frame(frame)
    assert DataFingerprint.from_json(fingerprint.to_json()) == fingerprint


def test_a_document_over_16_mib_is_refused_by_size() -> None:
    with pytest.raises(InvalidInputError, match=r"larger than the 16,777,216 bytes"):
        DataFingerprint.from_json(b" " * (MAX_JSON_BYTES + 1))


def test_millions_of_tiny_objects_are_refused_before_parsing() -> None:
    text = '{"format_version":1,"n_rows":1,"top_k":1,"columns":[' + ",".join(["{}"] * 200_003)
    with pytest.raises(InvalidInputError, match=r"200,005 objects and lists"):
        DataFingerprint.from_json(text + "]}")


@pytest.mark.parametrize("count", [-1, 2**53 + 1, 10**30])
def test_a_count_outside_zero_to_2_53_is_refused(count: int) -> None:
    document = json.loads(json.dumps(VALID))
    document["n_rows"] = count
    with pytest.raises(InvalidInputError, match=r"n_rows must be an integer in \[0, 2\*\*53\]"):
        DataFingerprint.from_dict(document)


def test_an_integer_of_thousands_of_digits_is_a_refusal_not_a_value_error() -> None:
    text = json.dumps(VALID).replace('"n_rows": 500', '"n_rows": ' + "9" * 5000)
    with pytest.raises(InvalidInputError, match=r"could not be parsed"):
        DataFingerprint.from_json(text)


_MEASURE = """
import resource, sys
from mlflow_staleness.exceptions import InvalidInputError
from mlflow_staleness.fingerprint import DataFingerprint
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
payload = open(sys.argv[1], "rb").read()
try:
    DataFingerprint.from_json(payload)
    outcome = "parsed"
except InvalidInputError as exc:
    outcome = "refused: " + str(exc)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((peak - base) // 1024, outcome)
"""


def test_reading_a_bomb_stays_far_below_1_gb(tmp_path: Path) -> None:
    """A 2.6 MB document whose two sketch arrays inflate to 1 GB each (4 GB peak before)."""
    document = json.loads(json.dumps(VALID))
    bomb = _bomb_text(1 << 30)
    document["columns"][0]["sketch"] = {"values": bomb, "ranks": bomb}
    path = tmp_path / "bomb.json"
    path.write_text(json.dumps(document))
    assert path.stat().st_size < 3_000_000
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path)], capture_output=True, text=True, check=True
    )
    grown, outcome = result.stdout.split(" ", 1)
    assert outcome.startswith("refused: column 'x' has an unreadable sketch"), outcome
    assert int(grown) < MEMORY_BOUND_MB // 10, f"{grown} MB above the imports"
