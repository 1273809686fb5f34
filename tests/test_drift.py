"""Specification of the river drift-detector baselines, :class:`ADWINTrigger` and
:class:`KSWINTrigger`: they read only what would be observable, fire on an abrupt change, deploy
every challenger, replay deterministically, pickle, refuse bad parameters at ``start`` and say how
to install river when it is missing.

The streams are small and synthetic (3,000 rows, 15 windows of 200 rows, a logistic regression per
window), so the row errors and feature windows are real ones built by :func:`build_loss_matrix`.
Every stream changes at row 1,400, the first row of window ``CHANGE``.
"""

from __future__ import annotations

import importlib
import importlib.util
import pickle
import re
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

import mlflow_staleness.policies as policies_package
from mlflow_staleness.backtest import LossMatrix, ReplayResult, RowErrors, build_loss_matrix, replay
from mlflow_staleness.decision import Decision
from mlflow_staleness.exceptions import InvalidInputError
from mlflow_staleness.policies import Observation
from mlflow_staleness.policies.drift import ADWINTrigger, KSWINTrigger

requires_river = pytest.mark.skipif(
    importlib.util.find_spec("river") is None,
    reason="river is not installed: pip install 'mlflow-staleness[bench]'",
)

N_ROWS = 3000
T = 15
CHANGE = 7  # the window whose first row is the first changed one
WARMUP = 3
INSTALL_HINT = re.escape("pip install 'mlflow-staleness[bench]'")


# --- synthetic streams ---------------------------------------------------------------------------


def _concept_flip(seed: int) -> pd.DataFrame:
    """y = [x > 0], with 10% label noise, flipped to y = [x < 0] from window CHANGE on: every model
    trained before the flip errs on about 10% of rows before it and 90% after it."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=N_ROWS)
    sign = np.where(np.arange(N_ROWS) < CHANGE * N_ROWS // T, 1.0, -1.0)
    y = (sign * x > 0) ^ (rng.random(N_ROWS) < 0.1)
    return pd.DataFrame({"time": np.arange(N_ROWS), "x": x, "y": y.astype(int)})


def _feature_jump(seed: int, jump: float) -> pd.DataFrame:
    """x ~ N(0, 1), shifted by ``jump`` from window CHANGE on; y = [x + noise > 1.5]."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=N_ROWS) + np.where(np.arange(N_ROWS) < CHANGE * N_ROWS // T, 0.0, jump)
    y = x + rng.normal(size=N_ROWS) > 1.5
    return pd.DataFrame({"time": np.arange(N_ROWS), "x": x, "y": y.astype(int)})


def _regression_flip(seed: int) -> pd.DataFrame:
    """y = 2x + noise, becoming y = -2x + noise from window CHANGE on."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=N_ROWS)
    sign = np.where(np.arange(N_ROWS) < CHANGE * N_ROWS // T, 1.0, -1.0)
    y = 2.0 * sign * x + 0.3 * rng.normal(size=N_ROWS)
    return pd.DataFrame({"time": np.arange(N_ROWS), "x": x, "y": y})


def _matrix(frame: pd.DataFrame, **kwargs: Any) -> LossMatrix:
    estimator = kwargs.pop("estimator", LogisticRegression())
    return build_loss_matrix(frame, "time", "y", n_windows=T, estimator=estimator, **kwargs)


@pytest.fixture(scope="module")
def flip() -> LossMatrix:
    return _matrix(_concept_flip(0))


@pytest.fixture(scope="module")
def jump() -> LossMatrix:
    return _matrix(_feature_jump(0, jump=3.0))


@pytest.fixture(scope="module")
def stationary() -> LossMatrix:
    return _matrix(_feature_jump(0, jump=0.0))


def _run(policy: Any, matrix: LossMatrix, **kwargs: Any) -> ReplayResult:
    kwargs.setdefault("retrain_cost", 1.0)
    kwargs.setdefault("warmup", WARMUP)
    return replay(policy, matrix.L, windows=matrix.windows, **kwargs)


def _retrain_steps(result: ReplayResult) -> list[int]:
    return np.flatnonzero(result.retrained).tolist()


def _fingerprint(result: ReplayResult) -> tuple:
    return (
        result.theta.tolist(),
        result.retrained.tolist(),
        result.cost,
        [d.to_tags() for d in result.decisions],
    )


def _adwin(matrix: LossMatrix) -> ADWINTrigger:
    return ADWINTrigger(row_errors=matrix.row_errors)


def _kswin(matrix: LossMatrix) -> KSWINTrigger:
    return KSWINTrigger(feature="x", seed=0)


TRIGGERS = {"adwin": _adwin, "kswin": _kswin}


# --- spies ---------------------------------------------------------------------------------------


class _SpyRowErrors:
    """Row errors that record each read with the observation the reading policy was deciding on."""

    def __init__(self, inner: RowErrors) -> None:
        self.inner = inner
        self.loss = inner.loss
        self.current: Observation | None = None
        self.reads: list[tuple[Observation | None, int, int]] = []

    def get(self, model: int, window: int) -> np.ndarray:
        self.reads.append((self.current, model, window))
        return self.inner.get(model, window)


class _WatchedADWIN(ADWINTrigger):
    """An ADWINTrigger that tells its spy row errors which observation it is deciding on."""

    def decide(self, obs: Observation) -> Decision:
        self.row_errors.current = obs
        return super().decide(obs)

    def gate(self, obs: Observation) -> Decision:
        self.row_errors.current = obs
        return super().gate(obs)


class _SpyWindows(Sequence):
    """Feature windows that record each index read, with the observation being decided on."""

    def __init__(self, frames: Sequence[pd.DataFrame]) -> None:
        self.frames = frames
        self.current: Observation | None = None
        self.reads: list[tuple[Observation | None, int]] = []

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, index: Any) -> Any:
        self.reads.append((self.current, int(index)))
        return self.frames[index]


class _WatchedKSWIN(KSWINTrigger):
    """A KSWINTrigger that tells its spy windows which observation it is deciding on."""

    spy: _SpyWindows

    def decide(self, obs: Observation) -> Decision:
        self.spy.current = obs
        return super().decide(obs)

    def gate(self, obs: Observation) -> Decision:
        self.spy.current = obs
        return super().gate(obs)


# --- reading only the past -----------------------------------------------------------------------


@requires_river
@pytest.mark.parametrize("label_delay", [1, 3])
def test_adwin_reads_only_labelled_windows_of_the_served_model(flip, label_delay):
    spy = _SpyRowErrors(flip.row_errors)

    result = _run(_WatchedADWIN(row_errors=spy), flip, label_delay=label_delay)

    assert result.n_deploys >= 1  # the reads span a change of the served model
    assert len({model for _, model, _ in spy.reads}) >= 2
    for obs, model, window in spy.reads:
        assert obs is not None
        assert obs.challenger is None  # nothing is read in the gate phase
        assert model == obs.served
        assert obs.deployed_at <= window <= obs.step - label_delay


@requires_river
@pytest.mark.parametrize("label_delay", [1, 3])
def test_adwin_reads_each_window_of_a_model_at_most_once(flip, label_delay):
    spy = _SpyRowErrors(flip.row_errors)

    _run(_WatchedADWIN(row_errors=spy), flip, label_delay=label_delay)

    pairs = [(model, window) for _, model, window in spy.reads]
    assert len(pairs) == len(set(pairs))


@requires_river
def test_kswin_reads_only_windows_that_have_arrived(jump):
    spy = _SpyWindows(jump.windows)
    policy = _WatchedKSWIN(feature="x", seed=0)
    policy.spy = spy

    result = replay(policy, jump.L, retrain_cost=1.0, windows=spy, warmup=WARMUP)

    assert result.n_deploys >= 1
    assert spy.reads
    for obs, window in spy.reads:
        assert obs is not None
        assert obs.challenger is None
        # the served model's training window (its reference) up to the window about to be served
        assert obs.deployed_at - 1 <= window <= obs.step


# --- firing on a change --------------------------------------------------------------------------


@requires_river
@pytest.mark.parametrize("label_delay", [1, 3])
def test_adwin_retrains_once_the_labels_of_a_jump_in_the_error_rate_arrive(flip, label_delay):
    result = _run(_adwin(flip), flip, label_delay=label_delay)

    assert _retrain_steps(result)[0] == CHANGE + label_delay


@requires_river
def test_adwin_alarm_names_the_window_of_the_jump(flip):
    result = _run(_adwin(flip), flip)

    first = next(d for d in result.decisions if d.action == "retrain")
    assert f"in window {CHANGE}" in first.reason


@requires_river
def test_adwin_retrains_when_the_normalised_error_of_a_regression_jumps():
    matrix = _matrix(_regression_flip(0), estimator=LinearRegression(), loss="normalised_mae")

    result = _run(_adwin(matrix), matrix)

    assert _retrain_steps(result)[0] == CHANGE + 1


@requires_river
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kswin_retrains_in_the_window_where_a_feature_jumps(seed):
    # Features need no labels: the jump is seen in the window it arrives in.
    matrix = _matrix(_feature_jump(seed, jump=3.0))

    result = _run(_kswin(matrix), matrix)

    assert CHANGE in _retrain_steps(result)


@requires_river
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kswin_at_a_strict_level_stays_quiet_on_a_stationary_stream(seed):
    # At river's default level (0.005) KSWIN runs one test per row and raises false alarms on a
    # stationary stream of 200-row windows; 1e-6 is 10 times stricter than the level at which no
    # false alarm shows on ten seeds.
    matrix = _matrix(_feature_jump(seed, jump=0.0))

    result = _run(KSWINTrigger(feature="x", alpha=1e-6, seed=0), matrix)

    assert _retrain_steps(result) == []


@requires_river
def test_kswin_at_a_strict_level_fires_at_a_jump_and_once_more_for_the_stale_challenger(jump):
    # The challenger deployed at the jump was trained on the window before it; the detector,
    # restarted with that window as its reference, fires again on the next window, then is quiet.
    result = _run(KSWINTrigger(feature="x", alpha=1e-6, seed=0), jump)

    assert _retrain_steps(result) == [CHANGE, CHANGE + 1]


@requires_river
def test_adwin_stays_quiet_on_a_stationary_stream(stationary):
    result = _run(_adwin(stationary), stationary, label_delay=1)

    assert _retrain_steps(result) == []


# --- gate, cost and reproducibility -------------------------------------------------------------


@requires_river
@pytest.mark.parametrize("name", sorted(TRIGGERS))
def test_a_trigger_deploys_every_challenger(name, flip, jump):
    matrix = flip if name == "adwin" else jump

    result = _run(TRIGGERS[name](matrix), matrix)

    assert result.n_retrains >= 1
    assert result.theta.tolist() == result.retrained.tolist()
    gates = [d for d in result.decisions if d.action in ("deploy", "reject")]
    assert len(gates) == result.n_retrains
    assert {d.action for d in gates} == {"deploy"}


@requires_river
@pytest.mark.parametrize("name", sorted(TRIGGERS))
def test_a_trigger_ignores_the_retrain_cost(name, flip, jump):
    matrix = flip if name == "adwin" else jump

    cheap = _run(TRIGGERS[name](matrix), matrix, retrain_cost=0.01)
    dear = _run(TRIGGERS[name](matrix), matrix, retrain_cost=100.0)

    assert cheap.retrained.tolist() == dear.retrained.tolist()
    assert cheap.theta.tolist() == dear.theta.tolist()


@requires_river
@pytest.mark.parametrize("name", sorted(TRIGGERS))
def test_two_replays_of_a_trigger_are_identical(name, flip, jump):
    matrix = flip if name == "adwin" else jump

    first = _run(TRIGGERS[name](matrix), matrix)
    second = _run(TRIGGERS[name](matrix), matrix)

    assert _fingerprint(first) == _fingerprint(second)


@requires_river
@pytest.mark.parametrize("name", sorted(TRIGGERS))
def test_start_forgets_a_previous_replay(name, flip, jump):
    matrix = flip if name == "adwin" else jump
    policy = TRIGGERS[name](matrix)

    first = _run(policy, matrix)
    second = _run(policy, matrix)

    assert _fingerprint(first) == _fingerprint(second)


@requires_river
@pytest.mark.parametrize("name", sorted(TRIGGERS))
def test_a_trigger_pickles_before_and_after_a_replay(name, flip, jump):
    matrix = flip if name == "adwin" else jump
    policy = TRIGGERS[name](matrix)
    fresh = pickle.loads(pickle.dumps(policy))
    expected = _run(policy, matrix)
    used = pickle.loads(pickle.dumps(policy))  # holds a river detector now

    assert used.detector_ is not None
    assert _fingerprint(_run(fresh, matrix)) == _fingerprint(expected)
    assert _fingerprint(_run(used, matrix)) == _fingerprint(expected)


def test_kswin_stores_its_parameters_unchanged():
    policy = KSWINTrigger(feature="x", seed=7)

    assert policy.get_params() == {
        "feature": "x",
        "alpha": 0.005,
        "window_size": 100,
        "stat_size": 30,
        "seed": 7,
        "max_rows": 500,
    }


def test_printing_adwin_shows_its_configuration_not_the_row_errors(flip):
    assert repr(_adwin(flip)) == "ADWINTrigger(row_errors=<RowErrors error_rate>, delta=0.002)"


# --- bad parameters ------------------------------------------------------------------------------


@pytest.mark.parametrize("delta", [-0.1, 0, 1, 1.5, float("nan"), "0.1", None, True])
def test_adwin_refuses_a_delta_outside_the_open_unit_interval_at_start(flip, delta):
    policy = ADWINTrigger(row_errors=flip.row_errors, delta=delta)

    with pytest.raises(InvalidInputError, match=r"delta must be a number in \(0, 1\), got "):
        policy.start()


@pytest.mark.parametrize("row_errors", [None, np.zeros(3), "errors"])
def test_adwin_refuses_to_start_without_row_errors(row_errors):
    policy = ADWINTrigger(row_errors=row_errors)

    with pytest.raises(InvalidInputError, match=r"ADWINTrigger needs row_errors.*LossMatrix"):
        policy.start()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"feature": None}, r"KSWINTrigger needs feature, the name of a numeric feature column"),
        ({"feature": 3}, r"KSWINTrigger needs feature.*got 3"),
        ({"alpha": 0}, r"alpha must be a number in \(0, 1\), got 0"),
        ({"alpha": -0.5}, r"alpha must be a number in \(0, 1\), got -0.5"),
        ({"alpha": 1.0}, r"alpha must be a number in \(0, 1\), got 1.0"),
        ({"window_size": -1}, r"window_size must be an integer >= 0, got -1"),
        ({"stat_size": 30.0}, r"stat_size must be an integer >= 0, got 30.0"),
        ({"seed": -1}, r"seed must be an integer >= 0, got -1"),
        ({"seed": True}, r"seed must be an integer >= 0, got True"),
        ({"window_size": 30, "stat_size": 30}, r"stat_size must be >= 1 and below window_size=30"),
        ({"window_size": 20, "stat_size": 30}, r"stat_size must be >= 1 and below window_size=20"),
        ({"stat_size": 0}, r"stat_size must be >= 1 and below window_size=100, got 0"),
        ({"max_rows": 0}, r"max_rows must be an integer >= 1, got 0"),
    ],
)
def test_kswin_refuses_bad_parameters_at_start(params, message):
    policy = KSWINTrigger(**{"feature": "x", **params})

    with pytest.raises(InvalidInputError, match=message):
        policy.start()


@requires_river
def test_kswin_names_the_columns_when_its_feature_is_not_one_of_them(jump):
    # The columns are known only once a window is seen: the first decision of the replay.
    policy = KSWINTrigger(feature="nope")

    with pytest.raises(
        InvalidInputError, match=re.escape("feature 'nope' is not a column of the windows")
    ) as caught:
        _run(policy, jump)
    assert "columns are ['x']" in str(caught.value)


@requires_river
def test_kswin_refuses_a_non_numeric_feature(jump):
    windows = [frame.assign(colour="red") for frame in jump.windows]

    with pytest.raises(InvalidInputError, match=r"feature 'colour' has dtype .*KSWIN needs"):
        replay(KSWINTrigger(feature="colour"), jump.L, 1.0, windows=windows, warmup=WARMUP)


@requires_river
def test_kswin_says_to_pass_the_windows_when_the_replay_has_none(jump):
    with pytest.raises(InvalidInputError, match=r"pass windows=LossMatrix.windows to replay"):
        replay(KSWINTrigger(feature="x"), jump.L, 1.0, warmup=WARMUP)


# --- without river -------------------------------------------------------------------------------


@pytest.fixture
def no_river(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import river`` and ``from river import drift`` fail, as when it is not installed."""
    monkeypatch.setitem(sys.modules, "river", None)
    monkeypatch.setitem(sys.modules, "river.drift", None)


@pytest.mark.usefixtures("no_river")
@pytest.mark.parametrize("name", sorted(TRIGGERS))
def test_without_river_starting_a_trigger_says_how_to_install_it(name, flip):
    policy = TRIGGERS[name](flip)

    with pytest.raises(ImportError, match=INSTALL_HINT) as caught:
        policy.start()
    assert isinstance(caught.value.__cause__, ImportError)


@pytest.mark.usefixtures("no_river")
def test_without_river_a_replay_of_a_trigger_says_how_to_install_it(flip):
    with pytest.raises(ImportError, match=INSTALL_HINT):
        _run(_adwin(flip), flip)


@pytest.mark.usefixtures("no_river")
def test_without_river_the_module_still_imports(monkeypatch):
    # Re-import the module from scratch; monkeypatch puts the original back afterwards.
    monkeypatch.setattr(policies_package, "drift", sys.modules["mlflow_staleness.policies.drift"])
    monkeypatch.delitem(sys.modules, "mlflow_staleness.policies.drift")

    module = importlib.import_module("mlflow_staleness.policies.drift")

    assert module.__all__ == ["ADWINTrigger", "KSWINTrigger"]
    with pytest.raises(ImportError, match=INSTALL_HINT):
        module.KSWINTrigger(feature="x").start()
