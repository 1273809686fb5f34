"""Losses the advice can trust (issue 17, defects 5, 6 and 7).

- **Measured losses** (defect 7): class probabilities are mapped to classes through the model's
  own class list (``classes_``, named columns) or refused, on every path (given predictions, the
  served version loaded, other versions scored); labels and predictions must be different
  columns; rows dropped for a missing value are counted; a measurement on too few rows
  (``losses.MIN_ROWS``, ``losses.MIN_SHARE``) is not acted on.
- **Validation losses** (defect 6): a reference's own loss wins over a metric history of the same
  key; the direction belongs to the key; an unknown key without ``--metric`` is refused.
- **The implausible-loss flag** (defect 5) clears when a level persists, holds back a bounded
  number of actions, lets a candidate that is normal be promoted, and costs nothing on the
  sudden-drift streams of the decision benchmark.

Pure property tests first, then the decision-benchmark replay, then end-to-end cases through the
API and the CLI against a real SQLite store, each with the snapshot check.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
import string
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from registry_helpers import (
    FEATURES,
    PIP_REQUIREMENTS,
    TARGET,
    client_for,
    make_frame,
    predictions_with_error,
    register_version,
    snapshot,
    unique_name,
    using,
)

from mlflow_staleness import CostModel, log_reference
from mlflow_staleness.advisor import Advisor
from mlflow_staleness.cli import main
from mlflow_staleness.exceptions import InvalidInputError
from mlflow_staleness.losses import (
    MAX_FLAGGED_WINDOWS,
    MIN_ROWS,
    MIN_SHARE,
    PERSISTENT_WINDOWS,
    evaluate,
    implausible,
    loss_flag,
)
from mlflow_staleness.metric_names import (
    LOSS_WORDS,
    SCORE_WORDS,
    key_direction,
    loss_key_direction,
)
from mlflow_staleness.policies import DEFAULT, make_policy
from mlflow_staleness.policies.base import Decision, Observation, Policy

REPO = Path(__file__).resolve().parents[1]
COST = CostModel(compute_cost=100, error_cost=1.0, predictions_per_step=100, currency="EUR")
#: alpha = 1 / 100: a window of high loss makes retraining pay
CHEAP_RETRAIN = CostModel(compute_cost=1, error_cost=1.0, predictions_per_step=100, currency="EUR")
CLI_COSTS = ("--retrain-cost", "100", "--error-cost", "1", "--predictions-per-step", "100")


# ================================================================================ measured losses
def _class_lists() -> st.SearchStrategy[list]:
    """Class lists as models hold them: integers (non-contiguous, not from 0), text, floats."""
    ints = st.lists(st.integers(-50, 50), min_size=2, max_size=7, unique=True)
    texts = st.lists(
        st.text(string.ascii_letters, min_size=1, max_size=6), min_size=2, max_size=7, unique=True
    )
    floats = st.lists(st.integers(-20, 20), min_size=2, max_size=7, unique=True).map(
        lambda v: [float(x) for x in v]
    )
    return st.one_of(ints, texts, floats).map(sorted)


@settings(max_examples=120, deadline=None)
@given(classes=_class_lists(), n=st.integers(1, 60), seed=st.integers(0, 2**32 - 1))
def test_probabilities_are_read_through_the_class_list_on_every_form(
    classes: list, n: int, seed: int
) -> None:
    """Whatever the classes, the error of probabilities read through the class list is the
    error of the most probable class: as an array with ``classes=``, as a DataFrame whose columns
    are the classes, and as a column of rows with ``classes=``."""
    rng = np.random.default_rng(seed)
    k = len(classes)
    probabilities = rng.dirichlet(np.ones(k), size=n)
    labels = [classes[i] for i in rng.integers(0, k, n)]
    truth = float(np.mean([labels[i] != classes[j] for i, j in enumerate(probabilities.argmax(1))]))
    forms = {
        "array": (probabilities, classes),
        "frame": (pd.DataFrame(probabilities, columns=classes), None),
        "rows": (pd.Series(list(probabilities)), classes),
    }
    for form, (predictions, listed) in forms.items():
        result = evaluate("error_rate", labels, predictions, classes=listed)
        assert result.loss == pytest.approx(truth), form
        assert any("class list" in note for note in result.notes), (form, result.notes)


@settings(max_examples=120, deadline=None)
@given(classes=_class_lists(), n=st.integers(1, 60), seed=st.integers(0, 2**32 - 1))
def test_without_a_class_list_the_column_index_is_never_compared_with_a_class(
    classes: list, n: int, seed: int
) -> None:
    """Without a class list, probabilities are read as classes 0..k-1 only when the labels hold
    every one of those classes; otherwise refused, naming the way forward. Never a loss that
    compares the column index with class values."""
    rng = np.random.default_rng(seed)
    k = len(classes)
    probabilities = rng.dirichlet(np.ones(k), size=n)
    labels = [classes[i] for i in rng.integers(0, k, n)]
    truth = float(np.mean([labels[i] != classes[j] for i, j in enumerate(probabilities.argmax(1))]))
    try:
        result = evaluate("error_rate", labels, probabilities)
    except InvalidInputError as exc:
        message = str(exc)
        assert len(message.splitlines()) == 1
        assert "classes=model.classes_" in message or "different types" in message, message
        return
    assert set(labels) == set(range(k)), (labels, classes)  # the one case read without a list
    assert classes == list(range(k)) or result.loss == pytest.approx(truth)


def test_five_classes_numbered_from_one_always_right_is_a_loss_of_zero() -> None:
    """The issue's case: classes 1..5, the model always right."""
    labels = np.tile(np.arange(1, 6), 60)
    probabilities = np.eye(5)[labels - 1] * 0.9 + 0.02
    assert evaluate("error_rate", labels, probabilities, classes=[1, 2, 3, 4, 5]).loss == 0.0
    frame = pd.DataFrame(probabilities, columns=[1, 2, 3, 4, 5])
    assert evaluate("error_rate", labels, frame).loss == 0.0
    with pytest.raises(InvalidInputError, match=r"not every class 0\.\.4.*classes=model\.classes_"):
        evaluate("error_rate", labels, probabilities)
    with pytest.raises(InvalidInputError, match=r"class list has 4 classes"):
        evaluate("error_rate", labels, probabilities, classes=[1, 2, 3, 4])


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(1, 120),
    seed=st.integers(0, 2**32 - 1),
    share=st.floats(0.0, 1.0),
    where=st.sampled_from(["labels", "predictions", "both"]),
    kind=st.sampled_from(["classes", "probabilities", "numbers"]),
)
def test_rows_with_a_missing_value_are_dropped_counted_and_a_thin_rest_is_marked(
    n: int, seed: int, share: float, where: str, kind: str
) -> None:
    """Any NaN mask: the loss is that of the rows kept, ``rows`` and ``dropped`` add up to the
    window, the evidence counts them, and ``thin`` is set exactly below MIN_ROWS or MIN_SHARE."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n).astype(float)
    if kind == "classes":
        predictions = rng.integers(0, 2, n).astype(float)
    elif kind == "probabilities":
        p1 = rng.uniform(0, 1, n)
        predictions = np.column_stack([1 - p1, p1])
    else:
        predictions = rng.normal(size=n)
    metric = "mae" if kind == "numbers" else "error_rate"
    mask = rng.uniform(0, 1, n) < share
    assume(not mask.all())
    if where in ("labels", "both"):
        labels[mask] = np.nan
    if where in ("predictions", "both"):
        if predictions.ndim == 2:
            predictions[mask, rng.integers(0, 2)] = np.nan
        else:
            predictions[mask] = np.nan
    kept_y, kept_p = labels[~mask], predictions[~mask]
    if kind == "probabilities":
        kept_p = kept_p.argmax(axis=1).astype(float)
        assume(set(kept_y.tolist()) == {0.0, 1.0})  # read without a class list: every class seen
    result = evaluate(metric, labels, predictions)
    expected = np.mean(np.abs(kept_y - kept_p)) if metric == "mae" else np.mean(kept_y != kept_p)
    assert result.loss == pytest.approx(expected)
    assert (result.rows, result.dropped) == (int((~mask).sum()), int(mask.sum()))
    if mask.any():
        assert any(f"{int(mask.sum())} of {n} rows dropped" in note for note in result.notes)
    thin = result.rows < MIN_ROWS or result.rows < MIN_SHARE * n
    assert (result.thin is not None) == thin, (result.rows, n, result.thin)


# ============================================================================= validation losses
_AFFIXES = st.sampled_from(["", "val_", "valid_", "test_", "training_", "eval/", "final-"])
_TAILS = st.sampled_from(["", "_mean", "_epoch", "/best"])


@settings(max_examples=150, deadline=None)
@given(word=st.sampled_from(sorted(SCORE_WORDS)), before=_AFFIXES, after=_TAILS)
def test_a_key_naming_a_score_is_read_as_one_minus_its_value(
    word: str, before: str, after: str
) -> None:
    key = f"{before}{word}{after}"
    assert key_direction(key) is True, key
    greater, said = loss_key_direction(key, metric="error_rate")
    assert greater and "key's name" in said  # the key's name wins over the metric setting


@settings(max_examples=150, deadline=None)
@given(word=st.sampled_from(sorted(LOSS_WORDS)), before=_AFFIXES, after=_TAILS)
def test_a_key_naming_a_loss_is_read_as_it_is_whatever_the_reference_said(
    word: str, before: str, after: str
) -> None:
    key = f"{before}{word}{after}"
    assert key_direction(key) is False, key
    # the reference's direction (an accuracy) belongs to its own key, not to this one
    greater, _ = loss_key_direction(key, metric="accuracy", reference=("val_accuracy", True))
    assert greater is False


@settings(max_examples=100, deadline=None)
@given(key=st.text(string.ascii_lowercase + "_", min_size=1, max_size=20))
def test_an_unknown_key_is_refused_without_a_metric_and_read_with_one(key: str) -> None:
    assume(key_direction(key) is None)
    with pytest.raises(InvalidInputError) as refused:
        loss_key_direction(key, metric=None)
    message = str(refused.value)
    assert repr(key) in message and "--metric" in message and len(message.splitlines()) == 1
    assert loss_key_direction(key, metric="accuracy")[0] is True
    assert loss_key_direction(key, metric="mae")[0] is False
    # the reference's own key keeps the direction recorded with it
    assert loss_key_direction(key, metric=None, reference=(key, True))[0] is True


# ================================================================================== the flag
def _flags(metric: str, val_loss: float, losses: list[float]) -> list[str | None]:
    """The flag on each window of a served version, as the advisor computes it."""
    earlier: list[tuple[float, bool]] = []
    flags = []
    for loss in losses:
        warning, _ = loss_flag(metric, loss, val_loss, earlier)
        earlier.append((loss, warning is not None))
        flags.append(warning)
    return flags


@settings(max_examples=200, deadline=None)
@given(
    metric=st.sampled_from(["error_rate", "mae"]),
    val_loss=st.floats(0.0, 1.0),
    losses=st.lists(st.floats(0.0, 50.0), min_size=1, max_size=30),
)
def test_the_flag_never_holds_more_windows_in_a_row_than_its_bound(
    metric: str, val_loss: float, losses: list[float]
) -> None:
    run = longest = 0
    for flag in _flags(metric, val_loss, losses):
        run = run + 1 if flag is not None else 0
        longest = max(longest, run)
    assert longest <= MAX_FLAGGED_WINDOWS


@settings(max_examples=200, deadline=None)
@given(
    before=st.lists(st.floats(0.01, 0.1), min_size=0, max_size=5),
    level=st.floats(0.65, 1.0),
    noise=st.lists(st.floats(-0.05, 0.0), min_size=8, max_size=8),
)
def test_a_level_that_persists_becomes_the_new_normal(
    before: list[float], level: float, noise: list[float]
) -> None:
    """Error 0.05 -> ~0.70 and staying there: flagged on the first PERSISTENT_WINDOWS - 1
    windows of the new level, never after."""
    after = [level + e for e in noise]
    flags = _flags("error_rate", 0.05, [*before, *after])
    assert all(f is None for f in flags[: len(before)])
    assert all(f is not None for f in flags[len(before) : len(before) + PERSISTENT_WINDOWS - 1])
    assert all(f is None for f in flags[len(before) + PERSISTENT_WINDOWS - 1 :])


def test_a_candidate_whose_loss_is_normal_lifts_the_flag() -> None:
    flagged, _ = loss_flag("error_rate", 0.7, 0.05, [(0.05, False)], candidate="v2")
    assert flagged is not None
    lifted, note = loss_flag(
        "error_rate", 0.7, 0.05, [(0.05, False)], candidate="v2", candidate_loss=0.06
    )
    assert lifted is None and "candidate v2" in note
    kept, _ = loss_flag(
        "error_rate", 0.7, 0.05, [(0.05, False)], candidate="v2", candidate_loss=0.9
    )
    assert kept is not None  # a candidate as implausible says nothing about the labels


# ===================================================================== the decision benchmark
class _Flagged(Policy):
    """``policy`` with the advisor's implausible-loss flag applied, as the advisor applies it.

    The advisor measures the served version's loss on each labelled window and flags it with
    :func:`mlflow_staleness.losses.loss_flag` (the code path of ``Advisor.advise``); a flagged
    advice moves no alias, so a ``deploy`` (the promote's alias move) under a flag that the
    challenger does not lift becomes ``reject``. Its retrain advice is still given. With
    ``legacy`` the flag is the one before issue 17: a flagged loss never joins the normal and no
    candidate lifts it.
    """

    name = "flagged"

    def __init__(self, *, policy: Policy, legacy: bool = False) -> None:
        self.policy = policy
        self.legacy = legacy

    def start(self) -> Policy:
        self.policy.start()
        self.flags_: dict[tuple[int, int], bool] = {}
        self.raised_ = 0
        return self

    def _flag(self, obs: Observation, candidate: int | None) -> bool:
        served, u = obs.served, obs.last_labelled
        loss = obs.losses[served, u] if u >= 0 else math.nan
        if not math.isfinite(loss):
            return False
        val = float(obs.val_loss[served]) if math.isfinite(obs.val_loss[served]) else None
        earlier = [
            (float(obs.losses[served, w]), self.flags_.get((served, w), False))
            for w in range(obs.deployed_at, u)
            if math.isfinite(obs.losses[served, w])
        ]
        if self.legacy:
            normal = ([val] if val is not None else []) + [v for v, f in earlier if not f]
            flagged = implausible("error_rate", float(loss), normal) is not None
        else:
            candidate_loss = None if candidate is None else float(obs.val_loss[candidate])
            warning, _ = loss_flag(
                "error_rate",
                float(loss),
                val,
                earlier,
                candidate=None if candidate is None else f"m{candidate}",
                candidate_loss=candidate_loss,
            )
            flagged = warning is not None
        if candidate is None:
            self.flags_[(served, u)] = flagged
            self.raised_ += flagged
        return flagged

    def decide(self, obs: Observation) -> Decision:
        self._flag(obs, None)
        return self.policy.decide(obs)

    def gate(self, obs: Observation) -> Decision:
        verdict = self.policy.gate(obs)
        if verdict.action == "deploy" and self._flag(obs, obs.challenger):
            return dataclasses.replace(verdict, action="reject", reason="flagged")
        return verdict


def _sudden_matrices() -> list[tuple[str, np.ndarray, np.ndarray]]:
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        streams = importlib.import_module("decision_streams")
    finally:
        sys.path.remove(str(REPO / "scripts"))
    store = streams.MatrixStore(REPO / "benchmarks" / "decisions" / "matrices")
    found = []
    for stream in streams.catalogue():
        if stream.family == "sudden":
            matrix = store.load(stream)
            found.append((stream.name, matrix.L, matrix.val_loss))
    return found


def _jump(T: int = 40, at: int = 20, before: float = 0.05, after: float = 0.70):
    """The issue's stream: error 0.05 -> 0.70 at window ``at`` for every model trained before,
    while a model trained on the new level is as good there as the old one was before."""
    rng = np.random.default_rng(7)
    L = np.full((T, T), np.nan)
    for i in range(T):
        for t in range(i + 1, T):
            level = after if i < at <= t else before
            L[i, t] = level + rng.uniform(-0.01, 0.01)
    return L, np.full(T, before)


def test_the_flag_costs_nothing_on_the_sudden_drift_streams() -> None:
    """The sudden family of the decision benchmark (its stored matrices), and the issue's
    0.05 -> 0.70 stream, replayed with the default policy under the flag and without: the flag
    never costs more. The flag as it was before (never clearing) does cost more on the issue's
    stream, so this comparison can fail."""
    from mlflow_staleness.backtest.replay import replay

    L, val = _jump()
    streams = [*_sudden_matrices(), ("jump-0.05-0.70", L, val)]
    assert len(streams) >= 5, [s[0] for s in streams]
    raised = 0
    for name, L, val in streams:
        for alpha in (0.1, 1.0):
            off = replay(make_policy(DEFAULT), L, alpha, val_loss=val, label_delay=1, warmup=5)
            flagged = _Flagged(policy=make_policy(DEFAULT))
            on = replay(flagged, L, alpha, val_loss=val, label_delay=1, warmup=5)
            assert on.cost <= off.cost + 1e-9, (name, alpha, on.cost, off.cost)
            raised += flagged.raised_
            if name.startswith("jump"):
                assert flagged.raised_ >= 1  # the flag was raised, and cost nothing
                legacy = replay(
                    _Flagged(policy=make_policy(DEFAULT), legacy=True),
                    L,
                    alpha,
                    val_loss=val,
                    label_delay=1,
                    warmup=5,
                )
                assert legacy.cost > off.cost + 1.0, (alpha, legacy.cost, off.cost)
    assert raised >= 1
