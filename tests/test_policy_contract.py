"""The contract every policy in ``POLICIES`` must honour, checked the same way for each.

A new policy is added to ``POLICIES`` and to ``EXAMPLE_PARAMS`` below; nothing else changes here.
Checks are on the contract, never on the particular decisions of a policy.
"""

from __future__ import annotations

import inspect
import pickle
import re

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mlflow_staleness.backtest import ReplayResult, replay
from mlflow_staleness.exceptions import InvalidInputError
from mlflow_staleness.policies import DEFAULT, POLICIES, Policy, make_policy

NAMES = sorted(POLICIES)
SEEDS = st.integers(0, 2**32 - 1)
T = 12
WARMUP = 4

#: Valid, non-default constructor parameters of every policy.
EXAMPLE_PARAMS: dict[str, dict[str, object]] = {
    "always": {},
    "cumulative": {"tau": 0.3, "estimate": "similarity"},
    "fixed": {"every": 2},
    "forecast": {
        "quantile": 0.9,
        "level": False,
        "drift": False,
        "level_z": 1.5,
        "deploy": "validation",
    },
    "never": {},
    "periodic": {"period": 3, "estimate": "similarity"},
    "threshold": {"tau": 0.05, "estimate": "similarity"},
}

#: Parameters measured in loss units: scaling the losses scales them too. Others are dimensionless.
LOSS_UNIT_PARAMS = {"tau"}

#: Age-only loss curves: ``curve[k]`` is the loss of a model of age ``k``; non-decreasing.
curves = st.builds(
    lambda base, steps: (base + np.cumsum([0.0, *steps])).tolist(),
    st.floats(0.0, 0.3),
    st.lists(st.one_of(st.just(0.0), st.floats(0.001, 0.08)), min_size=7, max_size=15),
)


def fingerprint(result: ReplayResult) -> tuple:
    """Everything a replay decided, comparable with ``==`` (decisions through their tags, so a NaN
    number compares equal to itself)."""
    return (
        result.theta.tolist(),
        result.retrained.tolist(),
        [d.to_tags() for d in result.decisions],
    )


@pytest.fixture
def stream(make_drifting_losses) -> tuple[np.ndarray, np.ndarray]:
    return make_drifting_losses(1, T)


# --- construction ------------------------------------------------------------------------------


def test_every_policy_has_example_parameters_for_these_checks():
    assert set(EXAMPLE_PARAMS) == set(POLICIES)


@pytest.mark.parametrize("name", NAMES)
def test_a_policy_constructs_with_no_parameters(name):
    policy = make_policy(name)

    assert type(policy) is POLICIES[name]
    assert policy.name == name


@pytest.mark.parametrize("name", NAMES)
def test_constructor_parameters_are_keyword_only(name):
    parameters = list(inspect.signature(POLICIES[name].__init__).parameters.values())[1:]

    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters)


@pytest.mark.parametrize("name", NAMES)
def test_get_params_returns_the_constructor_parameters_unchanged(name):
    params = EXAMPLE_PARAMS[name]

    got = make_policy(name, **params).get_params()

    assert got == params
    assert all(got[key] is value for key, value in params.items())


@pytest.mark.parametrize("name", NAMES)
def test_get_params_of_a_default_policy_are_the_signature_defaults(name):
    signature = inspect.signature(POLICIES[name].__init__)
    defaults = {k: p.default for k, p in signature.parameters.items() if k != "self"}

    assert make_policy(name).get_params() == defaults


@pytest.mark.parametrize("name", NAMES)
def test_repr_shows_the_configuration(name):
    params = EXAMPLE_PARAMS[name]
    shown = ", ".join(f"{key}={value!r}" for key, value in params.items())

    assert repr(make_policy(name, **params)) == f"{POLICIES[name].__name__}({shown})"


@pytest.mark.parametrize("name", NAMES)
def test_start_returns_the_policy_itself(name):
    policy = make_policy(name)

    assert policy.start() is policy


@pytest.mark.parametrize("name", NAMES)
def test_learned_state_is_named_with_a_trailing_underscore(stream, name):
    L, val = stream
    policy = make_policy(name, **EXAMPLE_PARAMS[name])

    replay(policy, L, 0.1, val_loss=val, warmup=WARMUP)

    learned = set(vars(policy)) - set(policy.get_params())
    assert all(attribute.endswith("_") for attribute in learned), learned


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("fixed", {"every": 0}, "every must be an integer >= 1, got 0"),
        ("forecast", {"quantile": 2}, r"quantile must be a number in \[0.5, 1\), got 2"),
        ("cumulative", {"tau": -1}, "tau must be a finite number >= 0, got -1"),
        ("threshold", {"tau": -1}, "tau must be a finite number >= 0, got -1"),
        ("periodic", {"period": 0}, "period must be an integer >= 1 or None, got 0"),
    ],
)
def test_a_bad_parameter_is_accepted_by_the_constructor_and_refused_when_a_replay_starts(
    stream, name, params, message
):
    policy = make_policy(name, **params)  # __init__ does no work, so it does not check

    with pytest.raises(InvalidInputError, match=message):
        replay(policy, stream[0], 0.1, warmup=WARMUP)


def test_an_unknown_policy_name_is_refused_with_the_valid_names():
    names = ", ".join(sorted(POLICIES))

    with pytest.raises(
        ValueError, match=re.escape(f"unknown policy 'nope'; valid names are {names}")
    ):
        make_policy("nope")


def test_an_unknown_policy_parameter_is_refused_with_its_name():
    with pytest.raises(ValueError, match=r"policy 'fixed' does not take \['bogus'\]"):
        make_policy("fixed", bogus=1)


def test_the_default_policy_is_a_known_policy():
    assert DEFAULT in POLICIES


def test_every_policy_is_a_policy():
    assert all(issubclass(cls, Policy) for cls in POLICIES.values())


# --- behaviour ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@given(
    seed=SEEDS,
    cut=st.integers(WARMUP + 1, T - 2),
    label_delay=st.integers(1, 3),
    with_val=st.booleans(),
)
@settings(max_examples=8, deadline=None)
def test_decisions_depend_only_on_the_past(
    make_drifting_losses, name, seed, cut, label_delay, with_val
):
    """Rewriting every loss on a window not labelled by step ``cut`` (column > cut - label_delay)
    and every validation loss not revealed by then (models ``cut`` and later) changes no decision
    up to step ``cut``."""
    L, val = make_drifting_losses(seed, T)
    rng = np.random.default_rng(seed + 1)
    future_L, future_val = L.copy(), val.copy()
    columns = np.arange(T)[None, :] > cut - label_delay
    future_L[columns & np.isfinite(L)] = rng.random(int((columns & np.isfinite(L)).sum()))
    future_val[cut:] = rng.random(T - cut)

    runs = [
        replay(
            make_policy(name),
            losses,
            0.1,
            val_loss=v if with_val else None,
            label_delay=label_delay,
            warmup=WARMUP,
        )
        for losses, v in ((L, val), (future_L, future_val))
    ]

    past = [
        (
            r.theta[: cut + 1].tolist(),
            r.retrained[: cut + 1].tolist(),
            [d.to_tags() for d in r.decisions if d.step <= cut],
        )
        for r in runs
    ]
    assert past[0] == past[1]


@pytest.mark.parametrize("name", NAMES)
def test_replaying_twice_gives_identical_decisions(stream, name):
    L, val = stream
    policy = make_policy(name)

    first = replay(policy, L, 0.1, val_loss=val, warmup=WARMUP)
    second = replay(policy, L, 0.1, val_loss=val, warmup=WARMUP)
    fresh = replay(make_policy(name), L, 0.1, val_loss=val, warmup=WARMUP)

    assert fingerprint(first) == fingerprint(second) == fingerprint(fresh)


@pytest.mark.parametrize("name", NAMES)
def test_a_policy_pickled_after_a_replay_replays_the_same(stream, name):
    L, val = stream
    policy = make_policy(name, **EXAMPLE_PARAMS[name])
    original = replay(policy, L, 0.1, val_loss=val, warmup=WARMUP)

    clone = pickle.loads(pickle.dumps(policy))

    assert repr(clone) == repr(policy)
    assert fingerprint(replay(clone, L, 0.1, val_loss=val, warmup=WARMUP)) == fingerprint(original)


@pytest.mark.parametrize("name", NAMES)
@given(seed=SEEDS, alpha=st.floats(0.0, 0.5, allow_subnormal=False), power=st.integers(-6, 6))
@example(seed=11, alpha=0.06428510138459981, power=-4)
@settings(max_examples=8, deadline=None)
def test_scaling_losses_and_retrain_cost_together_changes_no_decision_on_a_drifting_stream(
    make_drifting_losses, name, seed, alpha, power
):
    """Scaling by a power of two is exact in floating point (for normal, not subnormal, numbers),
    so even ties scale exactly."""
    L, val = make_drifting_losses(seed, T)
    c = 2.0**power

    plain = replay(make_policy(name), L, alpha, val_loss=val, warmup=WARMUP)
    scaled = replay(make_policy(name), L * c, alpha * c, val_loss=val * c, warmup=WARMUP)

    assert scaled.theta.tolist() == plain.theta.tolist()
    assert scaled.retrained.tolist() == plain.retrained.tolist()


@pytest.mark.parametrize("name", NAMES)
@given(
    curve=curves,
    warmup=st.integers(2, 5),
    alpha=st.floats(0.0, 1.0, allow_subnormal=False),
    power=st.integers(-6, 6),
    with_val=st.booleans(),
)
@example(curve=(0.1 + 0.02 * np.arange(20)).tolist(), warmup=4, alpha=0.1, power=-3, with_val=False)
@settings(max_examples=8, deadline=None)
def test_scaling_losses_and_retrain_cost_together_changes_no_decision_when_loss_depends_on_age(
    make_age_only_losses, name, curve, warmup, alpha, power, with_val
):
    """On noise-free matrices ``L[i, t] = f(t - i)``. Scaling by a power of two is exact in
    floating point, so even ties scale exactly."""
    L = make_age_only_losses(curve)
    val = np.full(len(curve), curve[1]) if with_val else None
    c = 2.0**power

    plain = replay(make_policy(name), L, alpha, val_loss=val, warmup=warmup)
    scaled = replay(
        make_policy(name),
        L * c,
        alpha * c,
        val_loss=None if val is None else val * c,
        warmup=warmup,
    )

    assert scaled.theta.tolist() == plain.theta.tolist()
    assert scaled.retrained.tolist() == plain.retrained.tolist()


@pytest.mark.parametrize("name", NAMES)
@given(
    curve=curves,
    warmup=st.integers(2, 5),
    alpha=st.floats(0.0, 1.0, allow_subnormal=False),
    power=st.integers(-6, 6),
    with_val=st.booleans(),
)
@example(curve=(0.1 + 0.02 * np.arange(20)).tolist(), warmup=4, alpha=0.1, power=-3, with_val=False)
@settings(max_examples=8, deadline=None)
def test_scaling_changes_no_decision_of_a_configured_policy_when_loss_depends_on_age(
    make_age_only_losses, name, curve, warmup, alpha, power, with_val
):
    """The policy is built with ``EXAMPLE_PARAMS``; those in loss units (``LOSS_UNIT_PARAMS``) are
    scaled with the losses, the dimensionless ones (a quantile, an interval) are not."""
    L = make_age_only_losses(curve)
    val = np.full(len(curve), curve[1]) if with_val else None
    c = 2.0**power
    params = EXAMPLE_PARAMS[name]
    scaled_params = {k: v * c if k in LOSS_UNIT_PARAMS else v for k, v in params.items()}

    plain = replay(make_policy(name, **params), L, alpha, val_loss=val, warmup=warmup)
    scaled = replay(
        make_policy(name, **scaled_params),
        L * c,
        alpha * c,
        val_loss=None if val is None else val * c,
        warmup=warmup,
    )

    assert scaled.theta.tolist() == plain.theta.tolist()
    assert scaled.retrained.tolist() == plain.retrained.tolist()


@pytest.mark.parametrize("name", NAMES)
@given(
    curve=curves,
    warmup=st.integers(2, 5),
    alphas=st.lists(
        st.floats(0.0, 1.5, allow_subnormal=False), min_size=2, max_size=4, unique=True
    ).map(sorted),
    with_val=st.booleans(),
)
@example(
    curve=[
        0.011912355666737396,
        0.021038952589732908,
        0.0506817597728454,
        0.06328130689629673,
        0.06328130689629673,
        0.1710527374220121,
        0.2009391567525945,
        0.20447710217726048,
    ],
    warmup=3,
    alphas=[0.020710723394402688, 0.052477670873711836],
    with_val=False,
)
@settings(max_examples=8, deadline=None)
def test_a_higher_retrain_cost_never_makes_retraining_more_frequent_when_loss_depends_on_age(
    make_age_only_losses, name, curve, warmup, alphas, with_val
):
    """The class: ``L[i, t] = f(t - i)`` with ``f`` non-decreasing; every model ages the same way
    and validation losses, when shown, are a fresh model's loss ``f(1)``. On this class the number
    of retrains is non-increasing in the retrain cost. (On arbitrary matrices it need not be.)"""
    L = make_age_only_losses(curve)
    val = np.full(len(curve), curve[1]) if with_val else None

    retrains = [
        replay(make_policy(name), L, alpha, val_loss=val, warmup=warmup).n_retrains
        for alpha in alphas
    ]

    assert retrains == sorted(retrains, reverse=True), dict(zip(alphas, retrains, strict=True))
