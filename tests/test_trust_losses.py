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
from hypothesis import assume, given, settings
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
    assert greater  # the key's name wins over the metric setting
    assert "key's name" in said


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
    assert repr(key) in message
    assert "--metric" in message
    assert len(message.splitlines()) == 1
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
    assert lifted is None
    assert "candidate v2" in note
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


# ============================================================== end to end: the API and the CLI
def _cli(uri: str, *args: object, expect: int = 0) -> tuple[str, str]:
    """Run the CLI in-process against ``uri``; assert the exit code; return stdout, stderr."""
    result = CliRunner().invoke(main, [*map(str, args), "--tracking-uri", uri])
    detail = f"{args}\nexit {result.exit_code}\n{result.stdout}\n{result.stderr}"
    assert result.exit_code == expect, detail
    if expect:
        assert isinstance(result.exception, SystemExit), detail  # deliberate, not a crash
    return result.stdout, result.stderr


def _one_line_refusal(stderr: str, *fragments: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def _unchanged_but_for_the_advice(before: dict, after: dict) -> None:
    """A success writes its advice (version tags, the advisor experiment) and moves nothing."""
    assert after["model"]["aliases"] == before["model"]["aliases"]
    assert {v: d["stage"] for v, d in after["versions"].items()} == {
        v: d["stage"] for v, d in before["versions"].items()
    }
    assert after["advisor_experiment"] is not None


def _data(tmp_path: Path, frame: pd.DataFrame, name: str) -> Path:
    path = tmp_path / f"{name}.parquet"
    frame.to_parquet(path, index=False)
    return path


def _five_classes(n: int = 300) -> pd.DataFrame:
    """Classes 1..5, each a cluster of ``x1`` far from the others: a model is always right."""
    frame = make_frame(n=n, seed=11)
    frame[TARGET] = np.tile(np.arange(1, 6), n // 5 + 1)[:n]
    frame["x1"] = 10.0 * frame[TARGET] + frame["x1"] * 0.1
    return frame


def _proba_version(uri: str, name: str, frame: pd.DataFrame, estimator, alias: str | None):
    """A version logged the MLflow way, whose pyfunc ``predict`` is ``predict_proba``."""
    client = client_for(uri)
    fitted = estimator.fit(frame.loc[:, list(FEATURES)], frame[TARGET])
    experiment = client.get_experiment_by_name("training") or client.get_experiment(
        client.create_experiment("training")
    )
    with using(uri), mlflow.start_run(experiment_id=experiment.experiment_id) as run:
        info = mlflow.sklearn.log_model(
            fitted,
            name="model",
            pip_requirements=PIP_REQUIREMENTS,
            pyfunc_predict_fn="predict_proba",
        )
    log_reference(frame, target=TARGET, loss=0.0, run_id=run.info.run_id, tracking_uri=uri)
    with using(uri):
        version = mlflow.register_model(info.model_uri, name).version
    if alias:
        client.set_registered_model_alias(name, alias, str(version))
    return str(version)


def test_classes_one_to_five_always_right_is_a_loss_of_zero_through_the_model(
    sqlite_uri: str, tmp_path: Path
) -> None:
    """The loaded version's ``predict`` gives 5 probabilities per row: they are read through its
    ``classes_`` (1..5), on the API and the CLI; never 'N labels, 5N predictions'."""
    from sklearn.linear_model import LogisticRegression

    name = unique_name("five-classes")
    frame = _five_classes()
    _proba_version(sqlite_uri, name, frame, LogisticRegression(C=100.0, max_iter=2000), "champion")
    before = snapshot(sqlite_uri, name)
    rec = Advisor(name, tracking_uri=sqlite_uri, cost=COST).advise(
        frame, labels=TARGET, window="w-api"
    )
    assert rec.measured_loss == 0.0
    assert any("class list (1, 2, 3, 4, 5)" in line for line in rec.evidence), rec.evidence
    out, _ = _cli(
        sqlite_uri, "advise", name, "--data", _data(tmp_path, frame, "w"), "--target", TARGET,
        "--window", "w-cli", "--json", *CLI_COSTS,
    )  # fmt: skip
    assert json.loads(out)["measured_loss"] == 0.0
    _unchanged_but_for_the_advice(before, snapshot(sqlite_uri, name))


def test_probabilities_without_a_class_list_are_refused_and_change_nothing(
    sqlite_uri: str,
) -> None:
    name = unique_name("no-class-list")
    frame = _five_classes()
    register_version(sqlite_uri, name, frame, val_loss=0.1, alias="champion", log_model=False)
    probabilities = np.eye(5)[frame[TARGET].to_numpy() - 1]
    before = snapshot(sqlite_uri, name)
    advisor = Advisor(name, tracking_uri=sqlite_uri, cost=COST)
    with pytest.raises(InvalidInputError, match=r"classes=model\.classes_") as refused:
        advisor.advise(frame, labels=TARGET, predictions=probabilities, window="w1")
    assert len(str(refused.value).splitlines()) == 1
    assert snapshot(sqlite_uri, name) == before
    # named after the classes, the same probabilities are right on every row
    named = pd.DataFrame(probabilities, columns=[1, 2, 3, 4, 5])
    assert advisor.advise(frame, labels=TARGET, predictions=named, window="w1").measured_loss == 0


def test_other_versions_with_two_probability_columns_are_scored_not_skipped(
    sqlite_uri: str,
) -> None:
    """Every version's ``predict`` returns n x 2 probabilities: the served one and the others
    are all measured, through their own classes_."""
    from sklearn.linear_model import LogisticRegression

    name = unique_name("two-columns")
    frame = make_frame(seed=5)
    _proba_version(sqlite_uri, name, frame, LogisticRegression(), None)
    _proba_version(sqlite_uri, name, make_frame(seed=6), LogisticRegression(), "champion")
    measured = Advisor(name, tracking_uri=sqlite_uri, cost=COST).record(
        frame, labels=TARGET, window="w1"
    )
    assert set(measured) == {"1", "2"}
    assert all(0.0 <= loss < 0.2 for loss in measured.values()), measured


def test_target_and_predictions_in_one_column_are_refused(sqlite_uri: str, tmp_path: Path) -> None:
    name = unique_name("same-column")
    frame = make_frame(seed=2)
    register_version(sqlite_uri, name, frame, val_loss=0.1, alias="champion", log_model=False)
    before = snapshot(sqlite_uri, name)
    with pytest.raises(InvalidInputError, match=r"same column .*--predictions-col") as refused:
        Advisor(name, tracking_uri=sqlite_uri, cost=COST).advise(
            frame, labels=TARGET, predictions=TARGET, window="w1"
        )
    assert len(str(refused.value).splitlines()) == 1
    _, err = _cli(
        sqlite_uri, "advise", name, "--data", _data(tmp_path, frame, "w"), "--target", TARGET,
        "--predictions-col", TARGET, "--window", "w1", *CLI_COSTS, expect=1,
    )  # fmt: skip
    _one_line_refusal(err, "same column", "--predictions-col")
    assert snapshot(sqlite_uri, name) == before


def test_a_failed_join_is_not_measured_and_says_so(sqlite_uri: str, tmp_path: Path) -> None:
    """297 of 300 predictions missing: no loss of 3 rows is recorded or acted on; the advice
    rests on drift alone and says why, on the API and the CLI; ``record`` refuses."""
    name = unique_name("failed-join")
    frame = make_frame(seed=2)
    register_version(sqlite_uri, name, frame, val_loss=0.1, alias="champion", log_model=False)
    window = frame.assign(pred=predictions_with_error(frame[TARGET], 0.4, seed=2))
    window.loc[window.index[3:], "pred"] = np.nan
    before = snapshot(sqlite_uri, name)
    advisor = Advisor(name, tracking_uri=sqlite_uri, cost=COST)
    rec = advisor.advise(window, labels=TARGET, predictions="pred", window="w-api")
    assert rec.measured_loss is None
    assert "not measured: measured on 3 of 300 rows" in rec.reason
    assert "advise again" in rec.reason  # the way forward
    assert any("297 of 300 rows dropped" in line for line in rec.evidence), rec.evidence
    out, _ = _cli(
        sqlite_uri, "advise", name, "--data", _data(tmp_path, window, "w"), "--target", TARGET,
        "--predictions-col", "pred", "--window", "w-cli", "--json", *CLI_COSTS,
    )  # fmt: skip
    advice = json.loads(out)
    assert advice["measured_loss"] is None
    assert "3 of 300 rows" in advice["reason"]
    after = snapshot(sqlite_uri, name)
    _unchanged_but_for_the_advice(before, after)
    with pytest.raises(InvalidInputError, match=r"nothing recorded: .*3 of 300 rows"):
        advisor.record(window, labels=TARGET, predictions="pred", window="w-late")
    _, err = _cli(
        sqlite_uri, "record", name, "--window", "w-late", "--data", _data(tmp_path, window, "w"),
        "--target", TARGET, "--predictions-col", "pred", expect=1,
    )  # fmt: skip
    _one_line_refusal(err, "nothing recorded", "3 of 300 rows", "record again")
    assert snapshot(sqlite_uri, name) == after
    # a few missing rows are dropped, counted and measured around
    window = frame.assign(pred=predictions_with_error(frame[TARGET], 0.2, seed=2))
    window.loc[window.index[:10], "pred"] = np.nan
    rec = advisor.advise(window, labels=TARGET, predictions="pred", window="w-few")
    assert rec.measured_loss is not None
    assert any("10 of 300 rows dropped" in line for line in rec.evidence), rec.evidence


# ------------------------------------------------------------------------- validation losses
def _run_with(uri: str, name: str, frame: pd.DataFrame, log) -> str:
    """Register a version of ``name`` (no model) whose run got ``log(client, run_id)``."""
    client = client_for(uri)
    experiment = client.get_experiment_by_name("training") or client.get_experiment(
        client.create_experiment("training")
    )
    run_id = client.create_run(experiment.experiment_id).info.run_id
    log(client, run_id)
    client.set_terminated(run_id)
    client.create_registered_model(name)
    version = client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id).version
    client.set_registered_model_alias(name, "champion", str(version))
    return str(version)


def _validation_line(evidence) -> str:
    found = [line for line in evidence if line.startswith("validation loss ")]
    assert found, evidence
    return found[0]


def test_the_references_own_loss_wins_over_autologs_epochs(sqlite_uri: str, tmp_path: Path) -> None:
    """Autolog logged val_loss for epochs 1..50 (0.35 last), then log_reference(loss=0.20)
    for the restored best weights: the advisor reads 0.20, and says so."""
    from mlflow.entities import Metric

    name = unique_name("autolog-epochs")
    frame = make_frame(seed=2)

    def log(client, run_id: str) -> None:
        epochs = [Metric("val_loss", 0.9 - 0.011 * s, 1_000 + s, s) for s in range(1, 51)]
        client.log_batch(run_id, metrics=epochs)
        assert client.get_run(run_id).data.metrics["val_loss"] == pytest.approx(0.35)
        log_reference(frame, target=TARGET, loss=0.20, run_id=run_id, tracking_uri=sqlite_uri)

    _run_with(sqlite_uri, name, frame, log)
    before = snapshot(sqlite_uri, name)
    predictions = predictions_with_error(frame[TARGET], 0.2, seed=2)
    rec = Advisor(name, tracking_uri=sqlite_uri, cost=COST).advise(
        frame, labels=TARGET, predictions=predictions, window="w-api", candidate="none"
    )
    line = _validation_line(rec.evidence)
    assert "'val_loss' = 0.2 as log_reference logged it" in line, line
    assert "a loss" in line
    out, _ = _cli(
        sqlite_uri, "advise", name, "--data",
        _data(tmp_path, frame.assign(pred=predictions), "w"), "--target", TARGET,
        "--predictions-col", "pred", "--window", "w-cli", "--json", *CLI_COSTS,
    )  # fmt: skip
    assert "'val_loss' = 0.2 as log_reference logged it" in _validation_line(
        json.loads(out)["evidence"]
    )
    _unchanged_but_for_the_advice(before, snapshot(sqlite_uri, name))
    from mlflow_staleness.adapter import RegistryReader

    [served] = RegistryReader(client_for(sqlite_uri)).versions(name)
    assert served.val_loss == pytest.approx(0.20)


def test_the_direction_belongs_to_the_key(sqlite_uri: str, tmp_path: Path) -> None:
    """log_reference logged an accuracy; --loss-key val_error names a loss (0.10): read as 0.10,
    not 0.90. An unknown key is refused without --metric, read with it."""
    name = unique_name("key-direction")
    frame = make_frame(seed=2)

    def log(client, run_id: str) -> None:
        log_reference(
            frame, target=TARGET, loss=0.9, loss_name="val_accuracy", metric="accuracy",
            run_id=run_id, tracking_uri=sqlite_uri,
        )  # fmt: skip
        client.log_metric(run_id, "val_error", 0.10)
        client.log_metric(run_id, "quality", 0.8)

    _run_with(sqlite_uri, name, frame, log)
    from mlflow_staleness.adapter import RegistryReader

    reader = RegistryReader(client_for(sqlite_uri))
    assert reader.versions(name)[0].val_loss == pytest.approx(0.1)  # 1 - the reference's 0.9
    [served] = reader.versions(name, loss_key="val_error")
    assert served.val_loss == pytest.approx(0.10)
    assert "'val_error' = 0.1 at step 0, direction from the key's name (a loss)" in (
        served.val_source
    )
    window = frame.assign(pred=predictions_with_error(frame[TARGET], 0.1, seed=2))
    data = _data(tmp_path, window, "w")
    before = snapshot(sqlite_uri, name)
    advisor = Advisor(name, tracking_uri=sqlite_uri, cost=COST, loss_key="quality")
    with pytest.raises(InvalidInputError, match=r"loss key 'quality' .*--metric") as refused:
        advisor.advise(window, labels=TARGET, predictions="pred", window="w1")
    assert len(str(refused.value).splitlines()) == 1
    _, err = _cli(
        sqlite_uri, "advise", name, "--data", data, "--target", TARGET, "--predictions-col",
        "pred", "--loss-key", "quality", "--window", "w1", *CLI_COSTS, expect=1,
    )  # fmt: skip
    _one_line_refusal(err, "'quality'", "--metric")
    assert snapshot(sqlite_uri, name) == before
    out, _ = _cli(
        sqlite_uri, "advise", name, "--data", data, "--target", TARGET, "--predictions-col",
        "pred", "--loss-key", "quality", "--metric", "accuracy", "--window", "w1", "--json",
        *CLI_COSTS,
    )  # fmt: skip
    line = _validation_line(json.loads(out)["evidence"])
    assert "'quality' = 0.8 at step 0, direction from the metric setting accuracy" in line, line
    out, _ = _cli(
        sqlite_uri, "advise", name, "--data", data, "--target", TARGET, "--predictions-col",
        "pred", "--loss-key", "val_error", "--window", "w2", "--json", *CLI_COSTS,
    )  # fmt: skip
    assert "'val_error' = 0.1 at step 0" in _validation_line(json.loads(out)["evidence"])
    _unchanged_but_for_the_advice(before, snapshot(sqlite_uri, name))


# --------------------------------------------------------------------------------- the flag
def _error_window(rate: float, seed: int) -> pd.DataFrame:
    frame = make_frame(seed=seed)
    return frame.assign(pred=predictions_with_error(frame[TARGET], rate, seed=seed))


def test_a_lasting_level_clears_the_flag_and_the_fix_is_promoted(
    sqlite_uri: str, tmp_path: Path
) -> None:
    """Error 0.05 -> 0.70 and staying there: flagged on PERSISTENT_WINDOWS - 1 windows (no
    alias moved), then the new normal; the retrained v2 is promoted with --promote."""
    name = unique_name("lasting-level")
    register_version(
        sqlite_uri, name, make_frame(seed=1), val_loss=0.05, alias="champion", log_model=False
    )
    advisor = Advisor(name, tracking_uri=sqlite_uri, cost=CHEAP_RETRAIN, set_alias="retrain-me")
    rates = [0.05, 0.05, 0.70, 0.70, 0.70, 0.70]
    warnings_seen = []
    for index, rate in enumerate(rates):
        rec = advisor.advise(
            _error_window(rate, seed=10 + index), labels=TARGET, predictions="pred",
            window=f"w{index}", apply=True,
        )  # fmt: skip
        warnings_seen.append(rec.loss_warning is not None)
        if index == 2 + PERSISTENT_WINDOWS - 1:
            assert any("new normal" in line for line in rec.evidence), rec.evidence
    assert (
        warnings_seen
        == [False, False, *[True] * (PERSISTENT_WINDOWS - 1), False, False][: len(rates)]
    )
    assert rec.action == "retrain"
    aliases = client_for(sqlite_uri).get_registered_model(name).aliases
    assert str(aliases.get("retrain-me")) == "1"  # the flag no longer holds the alias back
    register_version(sqlite_uri, name, make_frame(seed=3), val_loss=0.05, log_model=False)
    before = snapshot(sqlite_uri, name)
    out, _ = _cli(
        sqlite_uri, "advise", name, "--data", _data(tmp_path, _error_window(0.7, 30), "w"),
        "--target", TARGET, "--predictions-col", "pred", "--window", "w-fix", "--promote",
        "--json", *CLI_COSTS,
    )  # fmt: skip
    advice = json.loads(out)
    assert (advice["action"], advice["candidate_version"]) == ("promote", "2"), advice
    assert advice["loss_warning"] is None
    after = snapshot(sqlite_uri, name)
    assert str(after["model"]["aliases"]["champion"]) == "2"
    assert str(before["model"]["aliases"]["champion"]) == "1"


def test_a_retrained_version_that_is_normal_is_promoted_under_the_flag(
    sqlite_uri: str,
) -> None:
    """v2 registered while v1's loss jumps to 0.70: v2's own loss is normal, so the jump is
    v1's, not the labels', and the promote is not held back."""
    name = unique_name("normal-candidate")
    register_version(
        sqlite_uri, name, make_frame(seed=1), val_loss=0.05, alias="champion", log_model=False
    )
    advisor = Advisor(name, tracking_uri=sqlite_uri, cost=CHEAP_RETRAIN)
    advisor.advise(_error_window(0.05, 10), labels=TARGET, predictions="pred", window="w0")
    register_version(sqlite_uri, name, make_frame(seed=3), val_loss=0.05, log_model=False)
    rec = advisor.advise(
        _error_window(0.70, 11), labels=TARGET, predictions="pred", window="w1", apply=True
    )
    assert (rec.action, rec.candidate_version, rec.loss_warning) == ("promote", "2", None)
    assert any("candidate v2" in line for line in rec.evidence), rec.evidence
    assert str(client_for(sqlite_uri).get_registered_model(name).aliases["champion"]) == "2"


def _signature_named_version(uri: str, name: str) -> None:
    """A custom pyfunc whose ``predict`` returns 3 probabilities per row as a bare array, with no
    ``classes_``: only its signature's output names (low, mid, high) say which is which."""
    import warnings

    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's advice on type hints and input examples

        class Levels(mlflow.pyfunc.PythonModel):
            def predict(self, context, model_input, params=None):
                x = np.asarray(model_input["x1"], dtype=float)
                out = np.full((len(x), 3), 0.1)
                out[np.arange(len(x)), np.digitize(x, [-0.5, 0.5])] = 0.8
                return out

        signature = ModelSignature(
            Schema([ColSpec("double", c) for c in FEATURES]),
            Schema([ColSpec("double", c) for c in ("low", "mid", "high")]),
        )
        with using(uri), mlflow.start_run() as run:
            info = mlflow.pyfunc.log_model(
                name="model", python_model=Levels(), signature=signature,
                pip_requirements=PIP_REQUIREMENTS,
            )  # fmt: skip
        with using(uri):
            version = mlflow.register_model(info.model_uri, name).version
    client_for(uri).set_registered_model_alias(name, "champion", str(version))
    client_for(uri).log_metric(run.info.run_id, "val_loss", 0.0)


def test_probabilities_are_read_through_the_signatures_output_names(sqlite_uri: str) -> None:
    name = unique_name("signature-classes")
    _signature_named_version(sqlite_uri, name)
    frame = make_frame(seed=4)
    frame[TARGET] = np.array(["low", "mid", "high"])[np.digitize(frame["x1"], [-0.5, 0.5])]
    before = snapshot(sqlite_uri, name)
    rec = Advisor(name, tracking_uri=sqlite_uri, cost=COST, metric="error_rate").advise(
        frame, labels=TARGET, window="w1"
    )
    assert rec.measured_loss == 0.0
    assert any("class list ('low', 'mid', 'high')" in line for line in rec.evidence)
    _unchanged_but_for_the_advice(before, snapshot(sqlite_uri, name))
