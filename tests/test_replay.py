"""Specification of :func:`replay`: a policy sees only what would be observable, and the schedule it
chose is scored exactly as :func:`schedule_cost` scores it."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure

from mlflow_staleness.backtest import ReplayResult, oracle_cost, replay
from mlflow_staleness.costs import oracle_schedule, schedule_cost
from mlflow_staleness.decision import Decision
from mlflow_staleness.exceptions import FutureAccessError, InvalidInputError
from mlflow_staleness.policies import POLICIES, Observation, Policy, make_policy
from mlflow_staleness.policies.base import Windows, keep, retrain

SEEDS = st.integers(0, 2**32 - 1)
T = 12
WARMUP = 4


class Scripted(Policy):
    """Retrains at the steps in ``retrain_at``; the gate rejects the challengers of ``reject_at``.
    Every observation it is shown is kept in ``seen_``."""

    name = "scripted"

    def __init__(
        self, *, retrain_at: tuple[int, ...] = (), reject_at: tuple[int, ...] = ()
    ) -> None:
        self.retrain_at = retrain_at
        self.reject_at = reject_at

    def start(self) -> Scripted:
        self.seen_: list[Observation] = []
        return self

    def decide(self, obs: Observation) -> Decision:
        self.seen_.append(obs)
        if obs.step in self.retrain_at:
            return retrain(obs, "scripted")
        return keep(obs, "scripted")

    def gate(self, obs: Observation) -> Decision:
        self.seen_.append(obs)
        action = "reject" if obs.step in self.reject_at else "deploy"
        return Decision(step=obs.step, action=action, reason="scripted")


class Cheat(Policy):
    """Tries to read what has not happened yet: the served model's loss on the window it is about
    to serve, and the challenger's validation loss before paying for it. Retrains when the future
    looks bad; records what it read in ``peeks_``."""

    name = "cheat"

    def __init__(self) -> None:
        pass

    def start(self) -> Cheat:
        self.peeks_: list[tuple[str, int, float]] = []
        return self

    def decide(self, obs: Observation) -> Decision:
        t = obs.step
        future_loss = float(obs.losses[obs.served, t])
        future_val = float(obs.val_loss[t - 1])
        self.peeks_ += [("loss", t, future_loss), ("val before retrain", t, future_val)]
        if future_loss > 0.2 or future_val < 0.2:
            return retrain(obs, "the future looks bad")
        return keep(obs, "the future looks fine")

    def gate(self, obs: Observation) -> Decision:
        self.peeks_.append(("val in gate", obs.step, float(obs.val_loss[obs.step - 1])))
        return Decision(step=obs.step, action="deploy", reason="cheat deploys")


class PeekAtNextWindow(Policy):
    """Reads the feature frame of the window after the one it is about to serve."""

    name = "peek"

    def __init__(self) -> None:
        pass

    def decide(self, obs: Observation) -> Decision:
        obs.windows[obs.step + 1]
        return keep(obs, "peeked")


class Returns(Policy):
    """Returns whatever it is given, in both phases."""

    name = "returns"

    def __init__(self, *, decide_with: object = None, gate_with: object = None) -> None:
        self.decide_with = decide_with
        self.gate_with = gate_with

    def decide(self, obs: Observation) -> object:  # type: ignore[override]
        return self.decide_with

    def gate(self, obs: Observation) -> object:  # type: ignore[override]
        return self.gate_with


@pytest.fixture
def stream(make_drifting_losses) -> tuple[np.ndarray, np.ndarray]:
    return make_drifting_losses(0, T)


def revealed(obs: Observation) -> set[tuple[int, int]]:
    return {(int(m), int(u)) for m, u in zip(*np.nonzero(np.isfinite(obs.losses)), strict=True)}


# --- a cheating policy gets nothing ------------------------------------------------------------


def test_the_served_models_loss_on_the_window_about_to_be_served_reads_as_nan(stream):
    L, val = stream
    cheat = Cheat()

    replay(cheat, L, 0.1, val_loss=val, warmup=WARMUP)

    peeks = [value for kind, _, value in cheat.peeks_ if kind == "loss"]
    assert len(peeks) == T - WARMUP - 1
    assert all(math.isnan(value) for value in peeks)


def test_the_challengers_validation_loss_reads_as_nan_before_the_policy_pays_for_it(stream):
    L, val = stream
    cheat = Cheat()

    replay(cheat, L, 0.1, val_loss=val, warmup=WARMUP)

    peeks = [value for kind, _, value in cheat.peeks_ if kind == "val before retrain"]
    assert peeks
    assert all(math.isnan(value) for value in peeks)


def test_the_challengers_validation_loss_is_revealed_in_the_gate(stream):
    L, val = stream
    spy = Scripted(retrain_at=tuple(range(T)))

    replay(spy, L, 0.1, val_loss=val, warmup=WARMUP)

    gates = [obs for obs in spy.seen_ if obs.challenger is not None]
    assert len(gates) == T - WARMUP - 1
    assert [obs.val_loss[obs.step - 1] for obs in gates] == [val[obs.step - 1] for obs in gates]


def test_a_policy_that_reads_the_future_decides_as_if_it_had_not(stream):
    L, val = stream

    cheated = replay(Cheat(), L, 0.1, val_loss=val, warmup=WARMUP)
    honest = replay(make_policy("never"), L, 0.1, val_loss=val, warmup=WARMUP)

    assert cheated.theta.tolist() == honest.theta.tolist()
    assert cheated.cost == honest.cost


def test_a_policy_that_reads_a_future_window_gets_a_future_access_error(stream):
    L, val = stream

    with pytest.raises(FutureAccessError, match=f"window {WARMUP + 2} is not observable"):
        replay(PeekAtNextWindow(), L, 0.1, val_loss=val, windows=list(range(T)), warmup=WARMUP)


def test_a_policy_cannot_write_into_the_revealed_losses(stream):
    L, _ = stream

    class Vandal(Scripted):
        def decide(self, obs: Observation) -> Decision:
            obs.losses[obs.served, obs.step] = 0.0
            return keep(obs, "vandal")

    with pytest.raises(ValueError, match="read-only"):
        replay(Vandal(), L, 0.1, warmup=WARMUP)


@pytest.mark.parametrize("label_delay", [1, 2, 3])
def test_revealed_losses_are_exactly_those_of_existing_models_on_labelled_windows(
    stream, label_delay
):
    L, val = stream
    spy = Scripted(retrain_at=(6, 8, 9, 11), reject_at=(8,))

    replay(spy, L, 0.1, val_loss=val, label_delay=label_delay, warmup=WARMUP)

    for obs in spy.seen_:
        # a challenger the gate rejected (at 8) leaves the evidence again: no fresh model
        kept = [s for s in spy.retrain_at if s < obs.step and s not in spy.reject_at]
        existing = set(range(WARMUP)) | {s - 1 for s in kept}
        if obs.challenger is not None:
            existing.add(obs.challenger)
        expected = {(m, u) for m in existing for u in range(m + 1, obs.step - label_delay + 1)}
        assert set(obs.models) == existing
        assert revealed(obs) == expected
        assert all(obs.losses[m, u] == L[m, u] for m, u in expected)


def test_revealed_validation_losses_are_those_of_existing_models(stream):
    L, val = stream
    spy = Scripted(retrain_at=(6, 8, 9, 11), reject_at=(8,))

    replay(spy, L, 0.1, val_loss=val, warmup=WARMUP)

    for obs in spy.seen_:
        shown = set(np.flatnonzero(np.isfinite(obs.val_loss)).tolist())
        assert shown == set(obs.models)
        assert all(obs.val_loss[m] == val[m] for m in shown)


def test_window_u_is_visible_from_step_u_on(stream):
    L, _ = stream
    frames = [f"frame {u}" for u in range(T)]
    spy = Scripted()

    replay(spy, L, 0.1, windows=frames, warmup=WARMUP)

    for obs in spy.seen_:
        assert len(obs.windows) == obs.step + 1
        assert obs.windows[obs.step] == frames[obs.step]


def test_iterating_the_windows_yields_the_frames_that_have_arrived():
    frames = ["a", "b", "c", "d"]

    assert list(Windows(frames, 2)) == ["a", "b"]


def test_decisions_start_one_step_after_the_warmup(stream):
    L, _ = stream
    spy = Scripted()

    replay(spy, L, 0.1, warmup=WARMUP)

    assert [obs.step for obs in spy.seen_] == list(range(WARMUP + 1, T))
    assert spy.seen_[0].served == WARMUP - 1
    assert spy.seen_[0].deployed_at == WARMUP


def test_a_rejected_challenger_is_paid_for_but_not_deployed(stream):
    L, _ = stream

    result = replay(Scripted(retrain_at=(7,), reject_at=(7,)), L, 0.1, warmup=WARMUP)

    assert result.retrained.tolist() == [t == 7 for t in range(T)]
    assert not result.theta.any()


# --- the score ---------------------------------------------------------------------------------


@given(
    seed=SEEDS,
    retrain_at=st.sets(st.integers(WARMUP + 1, T - 1)),
    reject_at=st.sets(st.integers(WARMUP + 1, T - 1)),
    per_step=st.booleans(),
)
@settings(max_examples=40, deadline=None)
def test_the_replay_cost_is_schedule_cost_on_the_scored_sub_matrix(
    make_drifting_losses, seed, retrain_at, reject_at, per_step
):
    L, val = make_drifting_losses(seed, T)
    alpha = np.random.default_rng(seed).uniform(0, 0.3, T) if per_step else 0.1
    policy = Scripted(retrain_at=tuple(retrain_at), reject_at=tuple(reject_at))

    result = replay(policy, L, alpha, val_loss=val, warmup=WARMUP)

    w = WARMUP - 1
    costs = np.broadcast_to(alpha, (T,))
    assert result.cost == schedule_cost(
        L[w:, w:], result.theta[w:], costs[w:], retrained=result.retrained[w:]
    )


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_the_frame_adds_up_to_the_cost(stream, name):
    L, val = stream

    result = replay(make_policy(name), L, 0.1, val_loss=val, warmup=WARMUP)

    frame = result.frame
    assert frame["window"].tolist() == list(range(WARMUP, T))
    assert frame["loss"].tolist() == L[frame["served"], frame["window"]].tolist()
    assert math.isclose(result.cost, frame["loss"].sum() + 0.1 * result.n_retrains)


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_nothing_is_retrained_or_deployed_until_after_the_warmup(stream, name):
    L, val = stream

    result = replay(make_policy(name), L, 0.01, val_loss=val, warmup=WARMUP)

    assert not result.retrained[: WARMUP + 1].any()
    assert not result.theta[: WARMUP + 1].any()


def test_always_retrains_at_every_step_after_the_warmup(stream):
    L, _ = stream

    result = replay(make_policy("always"), L, 0.1, warmup=WARMUP)

    assert result.retrained.tolist() == [t > WARMUP for t in range(T)]
    assert result.theta.tolist() == result.retrained.tolist()


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_every_deploy_is_a_paid_retrain(stream, name):
    L, val = stream

    result = replay(make_policy(name), L, 0.02, val_loss=val, warmup=WARMUP)

    assert not (result.theta & ~result.retrained).any()
    assert result.n_deploys <= result.n_retrains


@given(seed=SEEDS, warmup=st.integers(1, 6), alpha=st.floats(0, 1))
@settings(max_examples=30, deadline=None)
def test_oracle_cost_is_oracle_schedule_on_the_scored_sub_matrix(
    make_drifting_losses, seed, warmup, alpha
):
    L, _ = make_drifting_losses(seed, T)

    theta, cost = oracle_cost(L, alpha, warmup=warmup)

    sub_theta, sub_cost = oracle_schedule(L[warmup - 1 :, warmup - 1 :], retrain_cost=alpha)
    assert cost == sub_cost
    assert theta[warmup - 1 :].tolist() == sub_theta.tolist()
    assert not theta[: warmup + 1].any()


@given(
    seed=SEEDS,
    alpha=st.floats(0, 0.6),
    per_step=st.booleans(),
    label_delay=st.integers(1, 3),
    with_val=st.booleans(),
)
@settings(max_examples=20, deadline=None)
def test_the_oracle_costs_no_more_than_any_policy(
    make_drifting_losses, seed, alpha, per_step, label_delay, with_val
):
    L, val = make_drifting_losses(seed, T)
    retrain_cost = np.random.default_rng(seed).uniform(0, 2 * alpha, T) if per_step else alpha
    _, best = oracle_cost(L, retrain_cost, warmup=WARMUP)

    for name in POLICIES:
        result = replay(
            make_policy(name),
            L,
            retrain_cost,
            val_loss=val if with_val else None,
            label_delay=label_delay,
            warmup=WARMUP,
        )
        assert best <= result.cost + 1e-12, name


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_every_policy_replays_with_labels_three_windows_late(stream, name):
    L, val = stream

    result = replay(make_policy(name), L, 0.05, val_loss=val, label_delay=3, warmup=WARMUP)

    w = WARMUP - 1
    assert result.cost == schedule_cost(
        L[w:, w:], result.theta[w:], 0.05, retrained=result.retrained[w:]
    )


# --- bad inputs --------------------------------------------------------------------------------


@pytest.mark.parametrize("label_delay", [0, -1, 1.5, True])
def test_a_label_delay_below_one_is_refused(stream, label_delay):
    with pytest.raises(InvalidInputError, match="label_delay must be an integer >= 1, got"):
        replay(make_policy("never"), stream[0], 0.1, label_delay=label_delay)


@pytest.mark.parametrize("warmup", [0, -3])
def test_a_warmup_below_one_is_refused(stream, warmup):
    with pytest.raises(InvalidInputError, match="warmup must be an integer >= 1, got"):
        replay(make_policy("never"), stream[0], 0.1, warmup=warmup)


def test_a_warmup_that_leaves_no_decision_is_refused(stream):
    with pytest.raises(
        InvalidInputError, match=f"warmup={T - 1} needs T >= {T + 1} windows, got T={T}"
    ):
        replay(make_policy("never"), stream[0], 0.1, warmup=T - 1)


def test_validation_losses_of_the_wrong_length_are_refused(stream):
    with pytest.raises(
        InvalidInputError, match=rf"val_loss must have length T={T}, got shape \(3,\)"
    ):
        replay(make_policy("never"), stream[0], 0.1, val_loss=[0.1, 0.2, 0.3])


def test_windows_of_the_wrong_count_are_refused(stream):
    with pytest.raises(InvalidInputError, match=f"windows must hold T={T} frames, got 2"):
        replay(make_policy("never"), stream[0], 0.1, windows=[None, None])


@pytest.mark.parametrize("policy", ["never", make_policy, None])
def test_something_that_is_not_a_policy_is_refused(stream, policy):
    with pytest.raises(
        InvalidInputError, match="policy must be a Policy \\(see make_policy\\), got"
    ):
        replay(policy, stream[0], 0.1)  # type: ignore[arg-type]


def test_a_negative_retrain_cost_is_refused(stream):
    with pytest.raises(InvalidInputError, match="retrain_cost must be a finite number >= 0"):
        replay(make_policy("never"), stream[0], -0.1)


@pytest.mark.parametrize(
    "garbage",
    [None, "retrain", True, Decision(step=6, action="deploy", reason="wrong phase")],
    ids=["none", "string", "bool", "gate-action"],
)
def test_a_policy_that_decides_garbage_is_refused_with_the_step(stream, garbage):
    with pytest.raises(
        InvalidInputError,
        match=rf"must return a Decision with action in \['keep', 'retrain'\] at step {WARMUP + 1}",
    ):
        replay(Returns(decide_with=garbage), stream[0], 0.1, warmup=WARMUP)


def test_a_gate_that_answers_garbage_is_refused_with_the_step(stream):
    policy = Returns(
        decide_with=Decision(step=WARMUP + 1, action="retrain", reason="r"),
        gate_with=Decision(step=WARMUP + 1, action="keep", reason="wrong phase"),
    )

    with pytest.raises(
        InvalidInputError,
        match=rf"must return a Decision with action in \['deploy', 'reject'\] at step {WARMUP + 1}",
    ):
        replay(policy, stream[0], 0.1, warmup=WARMUP)


# --- the result --------------------------------------------------------------------------------


def test_plot_returns_a_figure_without_opening_a_window(stream):
    import matplotlib.pyplot as plt

    result = replay(make_policy("fixed", every=2), stream[0], 0.1, warmup=WARMUP)
    before = plt.get_fignums()

    figure = result.plot()

    assert isinstance(figure, Figure)
    assert plt.get_fignums() == before
    assert "retrains" in figure.axes[0].get_title()


def test_plot_draws_on_given_axes_and_returns_their_figure(stream):
    result = replay(make_policy("always"), stream[0], 0.1, warmup=WARMUP)
    figure = Figure()
    ax = figure.subplots()

    assert result.plot(ax=ax) is figure
    assert ax.lines


def test_the_result_counts_its_retrains_and_deploys(stream):
    result = replay(Scripted(retrain_at=(6, 8, 9), reject_at=(8,)), stream[0], 0.1, warmup=WARMUP)

    assert isinstance(result, ReplayResult)
    assert (result.n_retrains, result.n_deploys) == (3, 2)


@pytest.mark.parametrize("warmup", [0, -2, 2.5, 12])
def test_oracle_cost_refuses_a_warmup_that_does_not_fit(warmup):
    L = np.where(np.triu(np.ones((12, 12)), k=1) > 0, 0.2, np.nan)
    with pytest.raises(InvalidInputError, match="warmup"):
        oracle_cost(L, 0.1, warmup)


def test_replay_refuses_validation_losses_that_are_not_numbers():
    L = np.where(np.triu(np.ones((12, 12)), k=1) > 0, 0.2, np.nan)
    with pytest.raises(InvalidInputError, match="val_loss must be an array of numbers"):
        replay(make_policy("never"), L, 0.1, val_loss=["a"] * 12)


def test_replay_refuses_windows_that_are_not_a_sequence():
    L = np.where(np.triu(np.ones((12, 12)), k=1) > 0, 0.2, np.nan)
    with pytest.raises(InvalidInputError, match="windows must be a sequence"):
        replay(make_policy("never"), L, 0.1, windows=5)
