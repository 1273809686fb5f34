"""Specification of the cost model, the cost of a schedule, and the oracle.

The oracle is checked against a brute force over every schedule, for every ``T`` from 1 to 12.
"""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlflow_staleness.costs import CostModel, oracle_schedule, schedule_cost, served_models
from mlflow_staleness.exceptions import InvalidCostError, InvalidInputError

SEEDS = st.integers(0, 2**32 - 1)
ALPHAS = st.sampled_from([0.0, 0.05, 0.25, 0.5, 1.0, 2.0, 10.0])
PROPERTY = settings(max_examples=12, deadline=None)

# The example of the docstrings: m_0 decays 0.1, 0.3, 0.5; a fresh model always has 0.1.
NAN = np.nan
SMALL = np.array(
    [
        [NAN, 0.1, 0.3, 0.5],
        [NAN, NAN, 0.1, 0.2],
        [NAN, NAN, NAN, 0.1],
        [NAN, NAN, NAN, NAN],
    ]
)


def all_schedules(T: int) -> np.ndarray:
    """Every schedule of length ``T``, one per row: ``2 ** (T - 1)`` of them, ``theta[0]`` False."""
    n = T - 1
    codes = np.arange(2**n)
    theta = np.zeros((2**n, T), dtype=bool)
    theta[:, 1:] = (codes[:, None] >> np.arange(n)) & 1
    return theta


def brute_force_costs(L: np.ndarray, costs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cost of every schedule, vectorised: ``(schedules, costs)``."""
    T = L.shape[0]
    theta = all_schedules(T)
    # served(t) = t' - 1 for the latest deployment t' <= t, else m_0.
    served = np.maximum.accumulate(np.where(theta, np.arange(T) - 1, 0), axis=1)
    windows = np.arange(1, T)
    totals = L[served[:, 1:], windows].sum(axis=1) + theta[:, 1:] @ costs[1:]
    return theta, totals


def is_optimal(totals: np.ndarray, best: float) -> np.ndarray:
    return totals <= best + 1e-12 * max(1.0, abs(best))


# --- the oracle against brute force -----------------------------------------------------------


@pytest.mark.parametrize("T", range(1, 13))
@PROPERTY
@given(seed=SEEDS, alpha=ALPHAS)
def test_oracle_cost_equals_the_brute_force_minimum_over_all_schedules(
    make_random_losses, T, seed, alpha
):
    L = make_random_losses(seed, T)
    _, totals = brute_force_costs(L, np.full(T, alpha))

    _, cost = oracle_schedule(L, retrain_cost=alpha)

    assert math.isclose(cost, totals.min(), rel_tol=1e-9, abs_tol=1e-12)


@pytest.mark.parametrize("T", range(1, 13))
@PROPERTY
@given(seed=SEEDS, alpha=ALPHAS)
def test_oracle_schedule_costs_what_it_reports(make_random_losses, T, seed, alpha):
    L = make_random_losses(seed, T)

    theta, cost = oracle_schedule(L, retrain_cost=alpha)

    assert cost == schedule_cost(L, theta, retrain_cost=alpha)


@pytest.mark.parametrize("T", range(1, 13))
@PROPERTY
@given(seed=SEEDS, alpha=st.sampled_from([0.0, 0.25, 0.5, 1.0]))
def test_oracle_breaks_ties_towards_the_schedule_with_fewest_retrains(
    make_random_losses, T, seed, alpha
):
    L = make_random_losses(seed, T, quantised=True)  # exact arithmetic, many exact ties
    schedules, totals = brute_force_costs(L, np.full(T, alpha))
    fewest = schedules[is_optimal(totals, totals.min())].sum(axis=1).min()

    theta, cost = oracle_schedule(L, retrain_cost=alpha)

    assert cost == totals.min()
    assert theta.sum() <= fewest


@pytest.mark.parametrize("T", range(1, 13))
@PROPERTY
@given(seed=SEEDS)
def test_oracle_with_a_per_step_retrain_cost_matches_brute_force(make_random_losses, T, seed):
    L = make_random_losses(seed, T)
    costs = np.random.default_rng(seed + 1).exponential(0.5, size=T)
    _, totals = brute_force_costs(L, costs)

    theta, cost = oracle_schedule(L, retrain_cost=costs)

    assert math.isclose(cost, totals.min(), rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(cost, schedule_cost(L, theta, retrain_cost=costs), rel_tol=1e-12)


@PROPERTY
@given(seed=SEEDS, T=st.integers(1, 12), alpha=ALPHAS)
def test_oracle_returns_a_bool_schedule_of_full_length_that_never_deploys_at_step_zero(
    make_random_losses, seed, T, alpha
):
    theta, cost = oracle_schedule(make_random_losses(seed, T), retrain_cost=alpha)

    assert isinstance(theta, np.ndarray)
    assert theta.dtype == bool
    assert theta.shape == (T,)
    assert not theta[0]
    assert type(cost) is float


def test_oracle_on_the_docstring_example_retrains_once_at_step_two():
    theta, cost = oracle_schedule(SMALL, retrain_cost=0.2)

    assert theta.tolist() == [False, False, True, False]
    assert math.isclose(cost, 0.6)


def test_oracle_never_retrains_when_retraining_costs_more_than_it_saves():
    theta, cost = oracle_schedule(SMALL, retrain_cost=10.0)

    assert not theta.any()
    assert math.isclose(cost, 0.9)


def test_oracle_on_a_single_window_costs_zero():
    theta, cost = oracle_schedule(np.array([[np.nan]]), retrain_cost=1.0)

    assert theta.tolist() == [False]
    assert cost == 0.0


def test_oracle_ignores_anything_on_and_below_the_diagonal(make_random_losses):
    L = make_random_losses(3, 8)
    wild = L.copy()
    below = ~(np.triu(np.ones((8, 8), dtype=bool), k=1))
    wild[below] = np.random.default_rng(4).choice([np.nan, np.inf, -np.inf, 1e300], below.sum())

    assert oracle_schedule(wild, 0.3)[1] == oracle_schedule(L, 0.3)[1]
    assert oracle_schedule(wild, 0.3)[0].tolist() == oracle_schedule(L, 0.3)[0].tolist()


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_oracle_refuses_a_non_finite_loss_above_the_diagonal_and_names_its_index(bad):
    L = SMALL.copy()
    L[1, 3] = bad

    with pytest.raises(InvalidInputError, match=r"L\[1, 3\] is needed .* must be a finite loss"):
        oracle_schedule(L, retrain_cost=0.2)


def test_oracle_handles_four_hundred_windows(make_drifting_losses):
    L, _ = make_drifting_losses(0, 400)

    theta, cost = oracle_schedule(L, retrain_cost=0.5)

    assert theta.shape == (400,)
    assert 0 < theta.sum() < 399
    assert math.isclose(cost, schedule_cost(L, theta, retrain_cost=0.5))


# --- schedule_cost by hand --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("theta", "expected"),
    [
        ([0, 0, 0, 0], 0.1 + 0.3 + 0.5),
        ([0, 0, 1, 0], 0.1 + 0.1 + 0.2 + 0.2),
        ([0, 0, 1, 1], 0.1 + 0.1 + 0.1 + 0.2 + 0.2),
        ([0, 0, 0, 1], 0.1 + 0.3 + 0.1 + 0.2),
        ([0, 1, 0, 0], 0.1 + 0.3 + 0.5 + 0.2),  # redeploying m_0 at t = 1 pays and changes nothing
        ([1, 0, 0, 0], 0.1 + 0.3 + 0.5),  # theta[0] is ignored
    ],
)
def test_schedule_cost_is_the_retrain_costs_plus_the_served_models_losses(theta, expected):
    assert math.isclose(schedule_cost(SMALL, theta, retrain_cost=0.2), expected)


def test_schedule_cost_charges_each_retrain_its_own_step_cost():
    costs = np.array([9.0, 9.0, 0.5, 0.7])

    cost = schedule_cost(SMALL, [0, 0, 1, 1], retrain_cost=costs)

    assert math.isclose(cost, 0.1 + 0.1 + 0.1 + 0.5 + 0.7)


def test_schedule_cost_charges_retrains_that_were_paid_for_but_not_deployed():
    cost = schedule_cost(SMALL, [0, 0, 1, 0], retrain_cost=0.2, retrained=[0, 0, 1, 1])

    assert math.isclose(cost, 0.1 + 0.1 + 0.2 + 0.2 + 0.2)


def test_schedule_cost_ignores_a_retrain_flagged_at_step_zero():
    cost = schedule_cost(SMALL, [0, 0, 0, 0], retrain_cost=0.2, retrained=[1, 0, 0, 0])

    assert math.isclose(cost, 0.9)


def test_schedule_cost_returns_a_python_float():
    assert type(schedule_cost(SMALL, [0, 0, 1, 0], retrain_cost=0.2)) is float


@pytest.mark.parametrize(
    "theta",
    [
        [False, False, True, False],
        [0, 0, 1, 0],
        np.array([0, 0, 1, 0]),
        np.array([0, 0, 1, 0], dtype=np.uint8),
        np.array([0.0, 0.0, 1.0, 0.0]),
    ],
    ids=["bools", "int-list", "int64", "uint8", "float-0-1"],
)
def test_schedule_cost_accepts_booleans_and_zero_one_numbers_alike(theta):
    assert schedule_cost(SMALL, theta, retrain_cost=0.2) == schedule_cost(
        SMALL, np.array([False, False, True, False]), retrain_cost=0.2
    )


def test_oracle_accepts_an_integer_loss_matrix():
    L = np.triu(np.arange(16).reshape(4, 4), k=1)

    _, cost = oracle_schedule(L, retrain_cost=1)

    assert cost == schedule_cost(L.astype(float), oracle_schedule(L, 1)[0], 1.0)


def test_schedule_cost_of_a_single_window_is_zero():
    assert schedule_cost(np.array([[np.nan]]), [True], retrain_cost=5.0) == 0.0


def test_schedule_cost_allows_nan_wherever_the_schedule_does_not_look():
    L = SMALL.copy()
    L[0, 3] = np.nan  # m_0 never serves window 3 under this schedule

    assert math.isclose(schedule_cost(L, [0, 0, 1, 0], retrain_cost=0.2), 0.6)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_schedule_cost_refuses_a_non_finite_loss_the_schedule_needs_and_names_its_index(bad):
    L = SMALL.copy()
    L[0, 3] = bad

    with pytest.raises(
        InvalidInputError, match=r"L\[0, 3\] is needed \(model 0 serving window 3\)"
    ):
        schedule_cost(L, [0, 0, 0, 0], retrain_cost=0.2)


def test_schedule_cost_refuses_a_deployment_that_was_not_paid_for():
    with pytest.raises(
        InvalidInputError, match=r"theta\[2\] deploys a model that retrained\[2\] does not pay for"
    ):
        schedule_cost(SMALL, [0, 0, 1, 0], retrain_cost=0.2, retrained=[0, 0, 0, 1])


@pytest.mark.parametrize("shape", [(3, 4), (4,), (2, 2, 2), (0, 0)])
def test_a_loss_matrix_that_is_not_square_is_refused_with_its_shape(shape):
    L = np.zeros(shape)

    with pytest.raises(InvalidInputError, match=re.escape(f"got shape {shape}")):
        schedule_cost(L, np.zeros(shape[0]), retrain_cost=0.1)
    with pytest.raises(InvalidInputError, match=r"must be a square \(T, T\) array"):
        oracle_schedule(L, retrain_cost=0.1)


@pytest.mark.parametrize("name", ["theta", "retrained"])
def test_flags_of_the_wrong_length_are_refused(name):
    flags = {"theta": [0, 0, 0, 0], "retrained": None}
    flags[name] = [0, 0, 0]

    with pytest.raises(InvalidInputError, match=rf"{name} must be a 1-d array of length T=4"):
        schedule_cost(SMALL, flags["theta"], retrain_cost=0.1, retrained=flags["retrained"])


def test_flags_other_than_zero_and_one_are_refused():
    with pytest.raises(InvalidInputError, match="theta must hold booleans or 0/1, got the value"):
        schedule_cost(SMALL, [0, 0, 2, 0], retrain_cost=0.1)


def _with_nan_at_0_3() -> np.ndarray:
    L = SMALL.copy()
    L[0, 3] = np.nan
    return L


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: schedule_cost(SMALL, [0, 0, 2, 0], retrain_cost=0.1),
            "theta must hold booleans or 0/1, got the value 2",
        ),
        (
            lambda: oracle_schedule(SMALL, retrain_cost=[0.1, 0.1, -1.0, 0.1]),
            "retrain_cost[2] must be a finite number >= 0, got -1.0",
        ),
        (
            lambda: schedule_cost(_with_nan_at_0_3(), [0, 0, 0, 0]),
            "must be a finite loss, got nan;",
        ),
    ],
    ids=["flag", "per-step-cost", "needed-loss"],
)
def test_error_messages_show_the_offending_value_as_a_plain_number(call, message):
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        call()


def test_a_zero_dimensional_array_retrain_cost_counts_as_a_number():
    assert schedule_cost(SMALL, [0, 0, 1, 0], retrain_cost=np.array(0.2)) == schedule_cost(
        SMALL, [0, 0, 1, 0], retrain_cost=0.2
    )


@pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf, -np.inf])
@pytest.mark.parametrize(
    "score",
    [
        lambda bad: schedule_cost(SMALL, [0, 0, 1, 0], retrain_cost=bad),
        lambda bad: oracle_schedule(SMALL, retrain_cost=bad),
    ],
    ids=["schedule_cost", "oracle_schedule"],
)
def test_a_negative_or_non_finite_retrain_cost_is_refused(score, bad):
    with pytest.raises(InvalidCostError, match="retrain_cost must be a finite number >= 0, got"):
        score(bad)


@pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf])
def test_a_bad_entry_of_a_per_step_retrain_cost_is_refused_with_its_step(bad):
    costs = np.array([0.1, 0.1, bad, 0.1])

    with pytest.raises(InvalidCostError, match=r"retrain_cost\[2\] must be a finite number >= 0"):
        oracle_schedule(SMALL, retrain_cost=costs)


def test_a_per_step_retrain_cost_of_the_wrong_length_is_refused():
    with pytest.raises(InvalidCostError, match="a per-step retrain_cost must have length T=4"):
        schedule_cost(SMALL, [0, 0, 1, 0], retrain_cost=[0.1, 0.2, 0.3])


def test_served_models_follow_the_deployments_from_m0():
    assert served_models([False, False, True, False, True, True]).tolist() == [-1, 0, 1, 1, 3, 4]


# --- CostModel --------------------------------------------------------------------------------


def test_alpha_is_the_retrain_cost_over_the_money_of_one_loss_unit():
    cost = CostModel(compute_cost=300, people_cost=500, error_cost=0.5, predictions_per_step=10_000)

    assert math.isclose(cost.alpha, 800 / (0.5 * 10_000))


def test_the_retrain_cost_is_the_sum_of_its_named_parts():
    cost = CostModel(compute_cost=1.5, people_cost=2.0, data_cost=4.0, risk_cost=8.25)

    assert cost.retrain_parts == {"compute": 1.5, "people": 2.0, "data": 4.0, "risk": 8.25}
    assert cost.retrain_cost == 15.75


@given(
    loss=st.floats(0, 1e6),
    error_cost=st.floats(1e-3, 1e3),
    traffic=st.floats(1, 1e7),
)
@settings(max_examples=50, deadline=None)
def test_money_and_loss_units_convert_back_and_forth(loss, error_cost, traffic):
    cost = CostModel(error_cost=error_cost, predictions_per_step=traffic)

    assert math.isclose(cost.to_loss(cost.to_money(loss)), loss, rel_tol=1e-12, abs_tol=1e-300)


@pytest.mark.parametrize(
    "name",
    [
        "compute_cost",
        "people_cost",
        "data_cost",
        "risk_cost",
        "error_cost",
        "predictions_per_step",
    ],
)
@pytest.mark.parametrize("bad", [-5, np.nan, np.inf, "ten"])
def test_a_negative_or_non_finite_cost_field_is_refused_by_name(name, bad):
    with pytest.raises(InvalidCostError, match=rf"^{name} must be a finite number >= 0, got"):
        CostModel(**{name: bad})


@pytest.mark.parametrize("name", ["error_cost", "predictions_per_step"])
def test_zero_error_cost_or_traffic_is_refused_because_never_retraining_is_trivially_right(name):
    with pytest.raises(
        InvalidCostError, match=rf"{name} is 0: .*'never retrain' is trivially right"
    ):
        CostModel(compute_cost=100, **{name: 0})


def test_a_blank_currency_is_refused():
    with pytest.raises(InvalidCostError, match="currency must be a non-empty string"):
        CostModel(currency=" ")


def test_a_cost_model_is_immutable():
    cost = CostModel(compute_cost=1)

    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field"):
        cost.compute_cost = 2  # type: ignore[misc]
