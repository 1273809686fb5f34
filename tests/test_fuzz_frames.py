"""Fuzzing whole frames through the advisor (issue 11, "Fuzzing").

Hypothesis generates frames with mixed dtypes, odd column names (unicode, control characters,
very long, duplicated, not strings), extreme values, nested values (lists and dicts in object
columns), NaN and inf, and label and prediction columns of any type. They run through:

1. ``DataFingerprint.from_frame`` -> its JSON round trip -> ``distance`` (to a fixed reference,
   to itself), and ``losses.evaluate`` on the fuzzed labels and predictions: in-process, most of
   the examples;
2. ``Advisor.advise(dry_run=True)`` against a real SQLite store holding a served version with a
   logged reference;
3. the real write, ``Advisor.advise``, against that store.

The property: a result or a one-line error of the package's own hierarchy
(:class:`~mlflow_staleness.exceptions.StalenessError`), never another exception; and when the
real write fails, the registry snapshot (versions, tags, aliases, the advisor runs' tags, metrics
and artifacts) is the same after as before: never a partial write.

The examples run are counted; the last test prints ``fuzz examples run: N`` and, when the whole
file ran, asserts ``N >= 2000``.
"""

from __future__ import annotations

import math
import os
import string
import warnings
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from registry_helpers import register_version, snapshot, unique_name

from mlflow_staleness import CostModel
from mlflow_staleness.advisor import Advisor
from mlflow_staleness.exceptions import StalenessError
from mlflow_staleness.fingerprint import DataFingerprint, distance
from mlflow_staleness.losses import evaluate

#: Examples per test: 2,000 in all, most of them in-process.
PIPELINE_EXAMPLES = 1750
DRY_RUN_EXAMPLES = 200
WRITE_EXAMPLES = 60
RUN: Counter[str] = Counter()
#: How each example ended, by stage: "advised" / "refused" (a one-line StalenessError).
OUTCOMES: Counter[str] = Counter()
COST = CostModel(compute_cost=100, error_cost=1.0, predictions_per_step=100, currency="EUR")
FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ---------------------------------------------------------------------------------- strategies
CONTROL = "".join(map(chr, [*range(32), 127, *range(0x80, 0xA0)])) + "\u202e\u2066\x1b"
ODD_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
        st.sampled_from(CONTROL),
        st.sampled_from(string.ascii_letters),
    ),
    max_size=12,
)
NAMES = st.one_of(
    st.sampled_from(["x1", "x2", "x3", "plan", "label", "pred"]),  # the reference's own
    ODD_TEXT,
    st.integers(-5, 5),  # pandas allows non-string column names
    st.builds(lambda c, n: c * n, st.sampled_from("xé\x1b"), st.integers(300, 30_000)),
)
EXTREME_FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e308, -1e308, 5e-324, math.nan, math.inf, -math.inf]),
)
EXTREME_INTS = st.one_of(
    st.integers(-(2**63), 2**63 - 1), st.sampled_from([0, 1, -1, 2**63 - 1, -(2**63)])
)
SCALARS = st.one_of(
    st.none(), st.booleans(), EXTREME_INTS, EXTREME_FLOATS, ODD_TEXT, st.binary(max_size=6)
)
NESTED = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(ODD_TEXT, inner, max_size=3)
    ),
    max_leaves=6,
)


#: pandas' nanosecond range, to the microsecond
DATETIME_RANGE = (datetime(1677, 9, 22), datetime(2262, 4, 11))


@st.composite
def columns(draw: st.DrawFn, n: int) -> pd.Series | np.ndarray | list:
    """One column of ``n`` values, of a kind drawn at random."""
    kind = draw(
        st.sampled_from(
            [
                "float", "int", "bool", "text", "object", "nested", "datetime", "category",
                "nullable-int", "nullable-bool", "string", "float32", "classes", "probabilities",
            ]
        )
    )  # fmt: skip
    values = st.lists
    if kind == "float":
        return np.array(draw(values(EXTREME_FLOATS, min_size=n, max_size=n)), dtype=float)
    if kind == "float32":
        finite = st.floats(width=32, allow_nan=True, allow_infinity=True)
        return np.array(draw(values(finite, min_size=n, max_size=n)), dtype=np.float32)
    if kind == "int":
        return np.array(draw(values(EXTREME_INTS, min_size=n, max_size=n)), dtype=np.int64)
    if kind == "bool":
        return np.array(draw(values(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    if kind == "classes":
        return np.array(draw(values(st.integers(0, 2), min_size=n, max_size=n)), dtype=np.int64)
    if kind == "probabilities":
        unit = st.floats(0.0, 1.0)
        return np.array(draw(values(unit, min_size=n, max_size=n)), dtype=float)
    if kind == "text":
        return pd.Series(draw(values(ODD_TEXT, min_size=n, max_size=n)), dtype=object)
    if kind == "string":
        return pd.Series(draw(values(st.one_of(st.none(), ODD_TEXT), min_size=n, max_size=n)),
                         dtype="string")  # fmt: skip
    if kind == "object":
        return pd.Series(draw(values(SCALARS, min_size=n, max_size=n)), dtype=object)
    if kind == "nested":
        return pd.Series(draw(values(NESTED, min_size=n, max_size=n)), dtype=object)
    if kind == "datetime":
        stamps = st.one_of(
            st.none(),
            st.datetimes(min_value=DATETIME_RANGE[0], max_value=DATETIME_RANGE[1]),
        )
        return pd.Series(pd.to_datetime(draw(values(stamps, min_size=n, max_size=n))))
    if kind == "category":
        return pd.Series(draw(values(ODD_TEXT, min_size=n, max_size=n)), dtype="category")
    if kind == "nullable-int":
        small = st.one_of(st.none(), st.integers(-(2**31), 2**31))
        return pd.array(draw(values(small, min_size=n, max_size=n)), dtype="Int64")
    return pd.array(draw(values(st.one_of(st.none(), st.booleans()), min_size=n, max_size=n)),
                    dtype="boolean")  # fmt: skip


@st.composite
def frames(
    draw: st.DrawFn, *, rows: tuple[int, int] = (0, 12), reference: bool | None = None
) -> pd.DataFrame:
    """A frame: the reference's columns (always, never, or at random), and fuzzed ones (names
    may repeat)."""
    n = draw(st.integers(*rows))
    out: list[tuple[Any, Any]] = []
    if draw(st.booleans()) if reference is None else reference:  # some reach the decision
        rng = np.random.default_rng(draw(st.integers(0, 2**16)))
        out += [(name, rng.normal(size=n)) for name in ("x1", "x2", "x3")]
        out.append(("plan", pd.Series(rng.choice(["free", "pro"], size=n), dtype=object)))
    for _ in range(draw(st.integers(1 if not out else 0, 4 if reference is None else 2))):
        out.append((draw(NAMES), draw(columns(n))))
    frame = pd.DataFrame({i: _values(v) for i, (_, v) in enumerate(out)})
    frame.columns = [name for name, _ in out]
    return frame


def _values(column: Any) -> Any:
    return column.reset_index(drop=True) if isinstance(column, pd.Series) else column


@st.composite
def labelled(draw: st.DrawFn, reference: bool | None = None) -> tuple[pd.DataFrame, Any, Any]:
    """A frame, and labels and predictions as arrays (or none)."""
    frame = draw(frames(rows=(1, 12), reference=reference))
    n = len(frame)
    labels = predictions = None
    if draw(st.booleans()):
        labels = draw(columns(n))
        if draw(st.booleans()):
            predictions = draw(st.one_of(columns(n), _proba(n)))
    return frame, labels, predictions


@st.composite
def _proba(draw: st.DrawFn, n: int) -> np.ndarray:
    k = draw(st.integers(1, 3))
    unit = st.floats(0.0, 1.0)
    return np.array(draw(st.lists(st.lists(unit, min_size=k, max_size=k), min_size=n, max_size=n)))


# ---------------------------------------------------------------------------------- the property
def _one_line_error(exc: BaseException) -> None:
    """A refusal must be the package's own, in one line; anything else fails the example."""
    if not isinstance(exc, StalenessError):
        raise AssertionError(f"not a StalenessError: {type(exc).__name__}: {exc!r:.500}") from exc
    message = str(exc)
    assert message.strip(), f"empty message ({type(exc).__name__})"
    assert len(message.splitlines()) == 1, f"not one line: {message!r:.500}"


REFERENCE = DataFingerprint.from_frame(
    pd.DataFrame(
        {
            "x1": np.random.default_rng(1).normal(size=50),
            "x2": np.random.default_rng(2).normal(size=50),
            "x3": np.random.default_rng(3).normal(size=50),
            "plan": pd.Series(["free", "pro"] * 25, dtype=object),
        }
    )
)


@settings(FUZZ, max_examples=PIPELINE_EXAMPLES)
@given(case=labelled())
def test_fingerprint_distance_and_loss_give_a_result_or_one_line_error(case) -> None:
    RUN["pipeline"] += 1
    frame, labels, predictions = case
    try:
        fingerprint = DataFingerprint.from_frame(frame)
    except Exception as exc:
        _one_line_error(exc)
        OUTCOMES["fingerprint refused"] += 1
    else:
        OUTCOMES["fingerprint made"] += 1
        assert DataFingerprint.from_json(fingerprint.to_json()).digest == fingerprint.digest
        for reference in (REFERENCE, fingerprint):
            try:
                report = distance(reference, fingerprint)
            except Exception as exc:
                _one_line_error(exc)
            else:
                assert math.isfinite(report.score), report.score
    if labels is not None and predictions is not None:
        for metric in ("error_rate", "mae"):
            try:
                result = evaluate(metric, labels, predictions)
            except Exception as exc:
                _one_line_error(exc)
            else:
                assert math.isfinite(result.loss), result


# ---------------------------------------------------------------------------------- the store
@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A SQLite store (artifacts in its folder) with one served version and a logged
    reference; costs given to the advisor. Module-scoped, so Hypothesis reuses it."""
    import sqlalchemy.exc

    folder = tmp_path_factory.mktemp("fuzz-store")
    cwd = Path.cwd()
    os.chdir(folder)  # an embedded store's default artifact root is ./mlruns
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore",
                message=r"The ``noload`` loader strategy is deprecated",
                category=sqlalchemy.exc.SADeprecationWarning,
            )
            import mlflow.store.tracking.sqlalchemy_store  # noqa: F401
        uri = f"sqlite:///{folder / 'mlflow.db'}"
        name = unique_name("fuzz")
        reference = pd.DataFrame(
            {
                "x1": np.random.default_rng(1).normal(size=60),
                "x2": np.random.default_rng(2).normal(size=60),
                "x3": np.random.default_rng(3).normal(size=60),
                "plan": pd.Series(["free", "pro"] * 30, dtype=object),
            }
        )
        reference["label"] = (reference["x1"] > 0).astype("int64")
        register_version(
            uri, name, reference, target="label", val_loss=0.1, alias="champion",
            log_model=False,
        )  # fmt: skip
        yield uri, name
    finally:
        os.chdir(cwd)


def _advise(uri: str, name: str, case, *, dry_run: bool) -> None:
    frame, labels, predictions = case
    if labels is not None and predictions is None:
        predictions = labels  # no model is logged: predictions always come with labels
    advisor = Advisor(name, tracking_uri=uri, cost=COST)
    advisor.advise(frame, labels=labels, predictions=predictions, window="fuzz", dry_run=dry_run)


@settings(FUZZ, max_examples=DRY_RUN_EXAMPLES)
@given(case=labelled())
def test_a_dry_run_gives_advice_or_one_line_error(store: tuple[str, str], case) -> None:
    RUN["dry-run"] += 1
    uri, name = store
    try:
        _advise(uri, name, case, dry_run=True)
    except Exception as exc:
        _one_line_error(exc)
        OUTCOMES["dry-run refused"] += 1
    else:
        OUTCOMES["dry-run advised"] += 1


@settings(FUZZ, max_examples=WRITE_EXAMPLES)
@given(case=labelled(reference=True))
def test_the_real_write_completes_or_changes_nothing(store: tuple[str, str], case) -> None:
    RUN["write"] += 1
    uri, name = store
    before = snapshot(uri, name)
    try:
        _advise(uri, name, case, dry_run=False)
    except Exception as exc:
        _one_line_error(exc)
        assert snapshot(uri, name) == before, "a failed advice changed the registry"
        OUTCOMES["write refused"] += 1
    else:
        OUTCOMES["write advised"] += 1


def test_fuzz_example_count(capsys: pytest.CaptureFixture[str]) -> None:
    total = sum(RUN.values())
    with capsys.disabled():
        print(f"\nfuzz examples run: {total} ({dict(RUN)}; outcomes {dict(OUTCOMES)})")
    if set(RUN) == {"pipeline", "dry-run", "write"}:  # the whole file ran
        assert total >= 2000, dict(RUN)
        assert OUTCOMES["dry-run advised"], dict(OUTCOMES)  # some reached the decision
        assert OUTCOMES["write advised"], dict(OUTCOMES)
