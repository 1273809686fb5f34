"""Specifications of the benchmark metrics in :mod:`mlflow_staleness.backtest.metrics`."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlflow_staleness.backtest.metrics import (
    WinRate,
    cost_ratio,
    geometric_mean,
    regret,
    report,
    win_rate,
)
from mlflow_staleness.exceptions import InvalidInputError

positive = st.floats(min_value=1e-6, max_value=1e6, allow_nan=False, allow_infinity=False)
costs = st.lists(st.floats(min_value=0, max_value=1e3, allow_nan=False), min_size=1, max_size=30)


def _results() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "dataset": ["a", "a", "a", "b", "b", "b"],
            "alpha": [0.1] * 6,
            "policy": ["p", "q", "r", "p", "q", "r"],
            "cost": [2.0, 3.0, 2.0, 4.0, 4.0, 1.0],
            "oracle_cost": [2.0, 2.0, 2.0, 1.0, 1.0, 1.0],
            "n_retrains": [1, 0, 2, 3, 2, 5],
        }
    )


def test_cost_ratio_of_the_oracle_itself_is_one() -> None:
    assert cost_ratio(3.5, 3.5) == 1.0


def test_cost_ratio_of_numbers_is_a_float() -> None:
    assert isinstance(cost_ratio(3, 2), float)


def test_cost_ratio_works_elementwise_on_arrays() -> None:
    np.testing.assert_allclose(cost_ratio([2.0, 9.0], [1.0, 3.0]), [2.0, 3.0])


def test_cost_ratio_refuses_a_free_oracle() -> None:
    with pytest.raises(InvalidInputError, match="oracle_cost must be > 0"):
        cost_ratio(1.0, 0.0)


def test_cost_ratio_refuses_a_negative_cost() -> None:
    with pytest.raises(InvalidInputError, match="cost must be >= 0"):
        cost_ratio(-1.0, 1.0)


def test_cost_ratio_refuses_nan() -> None:
    with pytest.raises(InvalidInputError, match="cost must hold finite numbers"):
        cost_ratio(float("nan"), 1.0)


def test_regret_is_the_excess_over_the_oracle_in_loss_units() -> None:
    assert regret(5.5, 4.0) == 1.5


def test_regret_works_elementwise_on_arrays() -> None:
    np.testing.assert_allclose(regret([2.0, 9.0], [1.0, 3.0]), [1.0, 6.0])


@given(cost=positive, oracle=positive)
def test_ratio_and_regret_agree_on_which_side_of_the_oracle_a_cost_lies(
    cost: float, oracle: float
) -> None:
    assert (cost_ratio(cost, oracle) > 1.0) == (regret(cost, oracle) > 0.0)


def test_geometric_mean_of_a_ratio_and_its_inverse_is_one() -> None:
    assert geometric_mean([4.0, 0.25]) == pytest.approx(1.0, rel=1e-12)


def test_geometric_mean_refuses_an_empty_sequence() -> None:
    with pytest.raises(InvalidInputError, match="at least one value"):
        geometric_mean([])


def test_geometric_mean_refuses_zero() -> None:
    with pytest.raises(InvalidInputError, match="values > 0"):
        geometric_mean([1.0, 0.0])


@given(st.lists(positive, min_size=1, max_size=30))
def test_geometric_mean_lies_between_the_smallest_and_largest_value(values: list[float]) -> None:
    mean = geometric_mean(values)
    assert min(values) * (1 - 1e-9) <= mean <= max(values) * (1 + 1e-9)


@given(st.lists(positive, min_size=1, max_size=30))
def test_geometric_mean_never_exceeds_the_arithmetic_mean(values: list[float]) -> None:
    assert geometric_mean(values) <= math.fsum(values) / len(values) * (1 + 1e-9)


def test_win_rate_counts_strict_wins_ties_and_losses_apart() -> None:
    assert win_rate([1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 1.0, 5.0]) == WinRate(0.5, 0.25, 0.25, 4)


def test_win_rate_counts_a_rounding_difference_as_a_tie() -> None:
    assert win_rate([0.1 + 0.2], [0.3]).ties == 1.0


def test_win_rate_refuses_unpaired_cells() -> None:
    with pytest.raises(InvalidInputError, match="same number of cells, got 2 and 3"):
        win_rate([1.0, 2.0], [1.0, 2.0, 3.0])


def test_win_rate_refuses_no_cells() -> None:
    with pytest.raises(InvalidInputError, match="at least one cell"):
        win_rate([], [])


@given(costs.flatmap(lambda a: st.tuples(st.just(a), st.permutations(a))))
def test_win_rate_shares_sum_to_one_and_mirror_when_swapped(pair: tuple) -> None:
    a, b = pair
    forward, backward = win_rate(a, b), win_rate(b, a)
    assert forward.wins + forward.ties + forward.losses == pytest.approx(1.0)
    assert (forward.wins, forward.ties, forward.losses) == (
        backward.losses,
        backward.ties,
        backward.wins,
    )


def test_report_has_one_row_per_policy_in_order_of_first_appearance() -> None:
    assert report(_results()).index.tolist() == ["p", "q", "r"]


def test_report_averages_ratios_geometrically_per_policy() -> None:
    table = report(_results())
    assert table.loc["p", "geo_mean_ratio"] == pytest.approx(2.0)
    assert table.loc["r", "geo_mean_ratio"] == pytest.approx(1.0)


def test_report_gives_worst_ratio_mean_regret_and_mean_retrains() -> None:
    row = report(_results()).loc["q"]
    assert (row["worst_ratio"], row["mean_regret"], row["mean_retrains"]) == (4.0, 2.0, 1.0)


def test_report_without_retrain_counts_has_no_retrain_column() -> None:
    assert "mean_retrains" not in report(_results().drop(columns="n_retrains")).columns


def test_report_gives_the_reference_win_rate_against_each_other_policy() -> None:
    table = report(_results(), reference="p")
    assert table.loc["q", ["wins", "ties", "losses"]].tolist() == [0.5, 0.5, 0.0]
    assert table.loc["r", ["wins", "ties", "losses"]].tolist() == [0.0, 0.5, 0.5]
    assert table.loc["p", ["wins", "ties", "losses"]].isna().all()


def test_report_refuses_an_unknown_reference() -> None:
    with pytest.raises(InvalidInputError, match="reference 'zz' is not a policy"):
        report(_results(), reference="zz")


def test_report_names_the_missing_columns() -> None:
    with pytest.raises(InvalidInputError, match=r"results lack the columns \['oracle_cost'\]"):
        report(_results().drop(columns="oracle_cost"))
