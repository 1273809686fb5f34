"""Small pure metrics for the decision benchmark: arrays in, numbers out, no I/O.

A benchmark *cell* is one dataset at one retrain cost ``alpha``. In a cell every policy's cost is
compared with the oracle's, the cheapest schedule in hindsight (``../shared/design.md``,
section 1): :func:`cost_ratio` is 1.0 for a perfect policy, :func:`regret` is the excess in loss
units. Across cells, ratios are averaged geometrically (:func:`geometric_mean`), and two policies
are compared cell by cell (:func:`win_rate`). :func:`report` gathers all of them per policy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from mlflow_staleness.exceptions import InvalidInputError

__all__ = ["WinRate", "cost_ratio", "geometric_mean", "regret", "report", "win_rate"]

#: Relative tolerance under which two costs count as a tie in :func:`win_rate`.
TIE_RTOL = 1e-9


def _finite(name: str, values: object, minimum: float | None = None) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if not np.isfinite(array).all():
        raise InvalidInputError(f"{name} must hold finite numbers, got {values!r}")
    if minimum is not None and (array < minimum).any():
        raise InvalidInputError(f"{name} must be >= {minimum}, got {values!r}")
    return array


def _scalar_or_array(array: np.ndarray) -> float | np.ndarray:
    return float(array) if array.ndim == 0 else array


def cost_ratio(cost: object, oracle_cost: object) -> float | np.ndarray:
    """A policy's cost divided by the oracle's: 1.0 is perfect, 1.25 is 25% dearer.

    Parameters
    ----------
    cost, oracle_cost
        Numbers or arrays of the same shape, in loss units. ``oracle_cost`` must be > 0.

    Returns
    -------
    float or numpy.ndarray
        A float for numbers, an array for arrays.

    Examples
    --------
    >>> cost_ratio(5.0, 4.0)
    1.25
    >>> cost_ratio([4.0, 6.0], [4.0, 3.0]).tolist()
    [1.0, 2.0]
    >>> cost_ratio(1.0, 0.0)
    Traceback (most recent call last):
    ...
    mlflow_staleness.exceptions.InvalidInputError: oracle_cost must be > 0, got 0.0
    """
    costs = _finite("cost", cost, minimum=0.0)
    oracle = _finite("oracle_cost", oracle_cost)
    if (oracle <= 0).any():
        raise InvalidInputError(f"oracle_cost must be > 0, got {oracle_cost!r}")
    return _scalar_or_array(costs / oracle)


def regret(cost: object, oracle_cost: object) -> float | np.ndarray:
    """A policy's excess cost over the oracle's, in loss units (0 is perfect).

    Examples
    --------
    >>> regret(5.0, 4.0)
    1.0
    >>> regret([4.0, 6.0], [4.0, 3.0]).tolist()
    [0.0, 3.0]
    """
    return _scalar_or_array(_finite("cost", cost) - _finite("oracle_cost", oracle_cost))


def geometric_mean(values: object) -> float:
    """The geometric mean of positive numbers: the average of ratios.

    Notes
    -----
    .. math:: \\bar r = \\exp\\Big(\\frac{1}{n} \\sum_{k=1}^{n} \\log r_k\\Big)

    A policy twice as dear as the oracle in one cell and half as dear in another averages to 1,
    which the arithmetic mean (1.25) does not.

    Examples
    --------
    >>> round(geometric_mean([2.0, 0.5]), 12)
    1.0
    >>> round(geometric_mean([1.0, 4.0]), 12)
    2.0
    >>> geometric_mean([])
    Traceback (most recent call last):
    ...
    mlflow_staleness.exceptions.InvalidInputError: geometric_mean needs at least one value, got none
    """
    array = _finite("values", values).ravel()
    if array.size == 0:
        raise InvalidInputError("geometric_mean needs at least one value, got none")
    if (array <= 0).any():
        raise InvalidInputError(f"geometric_mean needs values > 0, got {values!r}")
    return math.exp(math.fsum(np.log(array).tolist()) / array.size)


class WinRate(NamedTuple):
    """Shares of cells where ``a`` is cheaper, tied, or dearer than ``b``; they sum to 1."""

    wins: float
    ties: float
    losses: float
    cells: int


def win_rate(a: object, b: object, *, rtol: float = TIE_RTOL) -> WinRate:
    """How often ``a`` is strictly cheaper than ``b``, cell by cell, with ties counted apart.

    Parameters
    ----------
    a, b
        Costs of two policies over the same cells, in the same order.
    rtol
        Two costs tie when ``|a - b| <= rtol * max(|a|, |b|)``: floating-point sums of the same
        schedule in a different order are not a win.

    Returns
    -------
    WinRate
        ``wins`` (share of cells with ``a < b``), ``ties``, ``losses`` (``a > b``) and the number of
        cells.

    Examples
    --------
    >>> win_rate([1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 1.0, 5.0])
    WinRate(wins=0.5, ties=0.25, losses=0.25, cells=4)
    """
    first, second = _finite("a", a).ravel(), _finite("b", b).ravel()
    if first.shape != second.shape:
        raise InvalidInputError(
            f"a and b must hold the same number of cells, got {first.size} and {second.size}"
        )
    if first.size == 0:
        raise InvalidInputError("win_rate needs at least one cell, got none")
    tied = np.abs(first - second) <= rtol * np.maximum(np.abs(first), np.abs(second))
    wins = ~tied & (first < second)
    losses = ~tied & (first > second)
    n = first.size
    return WinRate(float(wins.sum() / n), float(tied.sum() / n), float(losses.sum() / n), n)


def report(
    results: pd.DataFrame,
    *,
    cell_columns: Sequence[str] = ("dataset", "alpha"),
    reference: str | None = None,
) -> pd.DataFrame:
    """Per policy: cells, geometric-mean and worst cost ratio, mean regret, mean retrains.

    Parameters
    ----------
    results
        One row per policy and cell, with columns ``policy``, ``cost``, ``oracle_cost``, the
        ``cell_columns`` and, optionally, ``n_retrains``.
    cell_columns
        The columns that identify a cell.
    reference
        When given, a policy name: the table gains ``wins``, ``ties`` and ``losses``, the
        :func:`win_rate` of ``reference`` against each policy over the cells both have (NaN on
        the reference's own row).

    Returns
    -------
    pandas.DataFrame
        Indexed by policy, in order of first appearance.

    Examples
    --------
    >>> results = pd.DataFrame({
    ...     "dataset": ["a", "a", "b", "b"], "alpha": [1.0, 1.0, 1.0, 1.0],
    ...     "policy": ["p", "q", "p", "q"], "cost": [2.0, 3.0, 4.0, 4.0],
    ...     "oracle_cost": [2.0, 2.0, 1.0, 1.0], "n_retrains": [1, 0, 3, 2]})
    >>> table = report(results, reference="p")
    >>> table.index.tolist(), table["cells"].tolist()
    (['p', 'q'], [2, 2])
    >>> table["geo_mean_ratio"].round(6).tolist(), table["worst_ratio"].tolist()
    ([2.0, 2.44949], [4.0, 4.0])
    >>> table["mean_regret"].tolist(), table["mean_retrains"].tolist()
    ([1.5, 2.0], [2.0, 1.0])
    >>> table.loc["q", ["wins", "ties", "losses"]].tolist()
    [0.5, 0.5, 0.0]
    """
    cells = list(cell_columns)
    required = ["policy", "cost", "oracle_cost", *cells]
    missing = [c for c in required if c not in results.columns]
    if missing:
        raise InvalidInputError(
            f"results lack the columns {missing}; they need {required} (and optionally "
            f"'n_retrains'), got {list(results.columns)}"
        )
    rows = {}
    for policy, group in results.groupby("policy", sort=False):
        ratios = cost_ratio(group["cost"].to_numpy(), group["oracle_cost"].to_numpy())
        row = {
            "cells": len(group),
            "geo_mean_ratio": geometric_mean(ratios),
            "worst_ratio": float(np.max(ratios)),
            "mean_regret": float(
                np.mean(regret(group["cost"].to_numpy(), group["oracle_cost"].to_numpy()))
            ),
        }
        if "n_retrains" in group.columns:
            row["mean_retrains"] = float(group["n_retrains"].mean())
        rows[policy] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "policy"
    if reference is not None:
        table = table.join(_win_rates(results, cells, reference))
    return table


def _win_rates(results: pd.DataFrame, cells: list[str], reference: str) -> pd.DataFrame:
    if reference not in set(results["policy"]):
        raise InvalidInputError(
            f"reference {reference!r} is not a policy of the results; policies are "
            f"{sorted(set(results['policy']))}"
        )
    costs = results.pivot_table(index=cells, columns="policy", values="cost", aggfunc="first")
    rows = {}
    for policy in costs.columns:
        if policy == reference:
            continue
        both = costs[[reference, policy]].dropna()
        rate = win_rate(both[reference].to_numpy(), both[policy].to_numpy())
        rows[policy] = {"wins": rate.wins, "ties": rate.ties, "losses": rate.losses}
    return pd.DataFrame.from_dict(rows, orient="index", columns=["wins", "ties", "losses"])
