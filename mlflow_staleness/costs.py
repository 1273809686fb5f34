"""The cost model, the cost of a retraining schedule, and the best schedule in hindsight.

Inside the engine every figure is in **loss units**: serving window ``t`` with model ``i`` costs
``L[i, t]`` and a retrain costs ``alpha``. Only :class:`CostModel` speaks money.

Notation (``../shared/design.md``, section 1): model ``m_i`` is trained on data up to window ``i``.
``theta[t] = True`` (``t >= 1``) deploys a fresh model ``m_{t-1}`` at the start of window ``t``.
``m_0`` serves from ``t = 1`` until the first deployment.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import numpy as np

from mlflow_staleness._terminal import has_control
from mlflow_staleness._validation import (
    check_flags,
    check_loss_matrix,
    check_needed_losses,
    check_nonnegative,
    check_retrain_costs,
)
from mlflow_staleness.exceptions import InvalidCostError, InvalidInputError

__all__ = ["CostModel", "oracle_schedule", "schedule_cost", "served_models"]

_TIE_RTOL = 1e-12


@dataclass(frozen=True)
class CostModel:
    """What a retrain costs, and what an error costs, in money.

    Parameters
    ----------
    compute_cost, people_cost, data_cost, risk_cost
        The named parts of one retrain and redeploy: compute, people's time, data and labels,
        and the expected cost of deployment risk. The retrain cost ``R`` is their sum.
    error_cost
        Money lost per unit of loss per prediction (for an error rate: the price of one error).
    predictions_per_step
        ``N``, the traffic of one window.
    currency
        Shown next to money figures; it changes no number.

    Notes
    -----
    The engine works in loss units, where serving one window with loss ``l`` costs ``l``:

    .. math:: \\alpha = R / (\\text{error\\_cost} \\cdot N)

    is the retrain cost expressed in loss-steps.

    Examples
    --------
    >>> cost = CostModel(compute_cost=300, people_cost=500, error_cost=0.5,
    ...                  predictions_per_step=10_000)
    >>> cost.retrain_cost
    800.0
    >>> cost.alpha
    0.16
    >>> cost.to_money(cost.alpha)
    800.0
    >>> CostModel(compute_cost=-5, error_cost=1, predictions_per_step=1)
    Traceback (most recent call last):
    ...
    mlflow_staleness.exceptions.InvalidCostError: compute_cost must be a finite number >= 0, ...
    """

    compute_cost: float = 0.0
    people_cost: float = 0.0
    data_cost: float = 0.0
    risk_cost: float = 0.0
    error_cost: float = 1.0
    predictions_per_step: float = 1.0
    currency: str = "USD"

    def __post_init__(self) -> None:
        for name in (
            "compute_cost",
            "people_cost",
            "data_cost",
            "risk_cost",
            "error_cost",
            "predictions_per_step",
        ):
            object.__setattr__(self, name, check_nonnegative(name, getattr(self, name)))
        for name in ("error_cost", "predictions_per_step"):
            if getattr(self, name) == 0:
                raise InvalidCostError(
                    f"{name} is 0: when errors cost nothing, a stale model costs nothing and "
                    f"'never retrain' is trivially right, so there is nothing to advise. "
                    f"Give {name} a value > 0."
                )
        _check_currency(self.currency)
        _check_arithmetic(self)

    @property
    def retrain_parts(self) -> dict[str, float]:
        """The named parts of the retrain cost, in money."""
        return {
            "compute": self.compute_cost,
            "people": self.people_cost,
            "data": self.data_cost,
            "risk": self.risk_cost,
        }

    @property
    def retrain_cost(self) -> float:
        """``R``: the money of one retrain and redeploy, the sum of its parts."""
        return math.fsum(self.retrain_parts.values())

    @property
    def loss_unit_price(self) -> float:
        """Money of one loss unit: ``error_cost * predictions_per_step``."""
        return self.error_cost * self.predictions_per_step

    @property
    def alpha(self) -> float:
        """The retrain cost in loss units: ``R / (error_cost * predictions_per_step)``."""
        return self.retrain_cost / self.loss_unit_price

    def to_money(self, loss: float) -> float:
        """Convert loss units (a per-step loss, or a sum of them) to money."""
        return _number("loss", loss) * self.loss_unit_price

    def to_loss(self, money: float) -> float:
        """Convert money to loss units."""
        return _number("money", money) / self.loss_unit_price


#: The longest currency label: it is shown next to every money figure, in one line.
MAX_CURRENCY = 20


def _check_currency(currency: object) -> None:
    if not isinstance(currency, str) or not currency.strip():
        raise InvalidCostError(f"currency must be a non-empty string, got {currency!r}")
    if len(currency) > MAX_CURRENCY or has_control(currency):
        raise InvalidCostError(
            f"currency must be one line of at most {MAX_CURRENCY} characters, no control "
            f"characters (it is shown next to every money figure, e.g. 'EUR'), got "
            f"{len(currency)} characters {currency[:40]!r}"
        )


def _check_arithmetic(cost: CostModel) -> None:
    """Refuse figures whose products and quotients leave the floats (a ``0`` or an ``inf``).

    ``alpha = R / (error_cost * N)``: a product that underflows to 0 (1e-300 * 1e-300) would
    divide by zero, one that overflows makes every staleness cost infinite.
    """
    try:
        retrain = cost.retrain_cost
    except OverflowError:
        retrain = math.inf
    if not math.isfinite(retrain):
        parts = ", ".join(f"{name}={value!r}" for name, value in cost.retrain_parts.items())
        raise InvalidCostError(
            f"the parts of the retrain cost ({parts}) add up beyond the largest float; give "
            f"them in a larger unit of money"
        )
    price = cost.error_cost * cost.predictions_per_step
    product = (
        f"error_cost * predictions_per_step = {cost.error_cost!r} * {cost.predictions_per_step!r}"
    )
    if not math.isfinite(price):
        raise InvalidCostError(
            f"{product} overflows the floats; expected a product below {sys.float_info.max:.3g}: "
            f"give the figures in a larger unit (e.g. thousands of predictions)"
        )
    if price < sys.float_info.min:
        raise InvalidCostError(
            f"{product} is {price!r}, too small to divide by (it underflows); expected a product "
            f"of at least {sys.float_info.min:.3g}: give the figures in a smaller unit of money"
        )
    if not math.isfinite(retrain / price):
        raise InvalidCostError(
            f"the retrain cost {retrain!r} divided by {product} = {price!r} overflows the floats; "
            f"expected a ratio below {sys.float_info.max:.3g}: check the figures' units"
        )


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise InvalidInputError(f"{name} must be a number, got {value!r}")
    return float(value)


def served_models(theta: object) -> np.ndarray:
    """Index of the model in service at each window, ``-1`` at ``t = 0``.

    Examples
    --------
    >>> served_models([False, False, True, False, True]).tolist()
    [-1, 0, 1, 1, 3]
    """
    flags = np.asarray(theta, dtype=bool)
    T = flags.shape[0]
    served = np.zeros(T, dtype=int)
    current = 0
    for t in range(1, T):
        if flags[t]:
            current = t - 1
        served[t] = current
    if T:
        served[0] = -1
    return served


def schedule_cost(
    L: object, theta: object, retrain_cost: object = 0.0, *, retrained: object = None
) -> float:
    """Cost of a retraining schedule over a loss matrix, in loss units.

    Parameters
    ----------
    L
        ``(T, T)`` losses; ``L[i, t]`` is the loss of model ``m_i`` serving window ``t``.
        Entries with ``i >= t`` are ignored and may be NaN.
    theta
        Length ``T``, bool or 0/1. ``theta[t]`` deploys ``m_{t-1}`` at the start of window ``t``;
        ``theta[0]`` is ignored.
    retrain_cost
        ``alpha``: a number, or an array of length ``T`` where ``retrain_cost[t]`` is charged for a
        retrain at step ``t``.
    retrained
        Optional length-``T`` flags of the retrains paid for, deployed or not. Every deployment
        must be paid for (``theta`` implies ``retrained``). Defaults to ``theta``.

    Returns
    -------
    float
        ``sum_t retrain_cost[t] * retrained[t] + sum_{t >= 1} L[served(t), t]``.

    Examples
    --------
    >>> L = np.array([[np.nan, 0.1, 0.3, 0.5],
    ...               [np.nan, np.nan, 0.1, 0.2],
    ...               [np.nan, np.nan, np.nan, 0.1],
    ...               [np.nan, np.nan, np.nan, np.nan]])
    >>> round(schedule_cost(L, [0, 0, 0, 0], retrain_cost=0.2), 10)
    0.9
    >>> round(schedule_cost(L, [0, 0, 1, 0], retrain_cost=0.2), 10)
    0.6
    """
    losses = check_loss_matrix(L)
    T = losses.shape[0]
    deploys = check_flags("theta", theta, T)
    deploys[0] = False
    paid = deploys.copy() if retrained is None else check_flags("retrained", retrained, T)
    paid[0] = False
    if (deploys & ~paid).any():
        t = int(np.flatnonzero(deploys & ~paid)[0])
        raise InvalidInputError(
            f"theta[{t}] deploys a model that retrained[{t}] does not pay for; every deployment "
            f"must be a paid retrain (theta implies retrained)"
        )
    costs = check_retrain_costs(retrain_cost, T)
    if T == 1:
        return 0.0
    served = served_models(deploys)
    windows = np.arange(1, T)
    check_needed_losses(losses, served[1:], windows)
    return math.fsum(np.concatenate([losses[served[1:], windows], costs[paid]]).tolist())


def oracle_schedule(L: object, retrain_cost: object = 0.0) -> tuple[np.ndarray, float]:
    """The cheapest schedule in hindsight, by dynamic programming over segments.

    Parameters
    ----------
    L
        ``(T, T)`` losses, as in :func:`schedule_cost`. Every entry with ``i < t`` must be finite.
    retrain_cost
        ``alpha``, a number or a length-``T`` array of per-step costs.

    Returns
    -------
    theta : numpy.ndarray
        Bool, length ``T``, ``theta[0]`` is False.
    cost : float
        Its cost, as :func:`schedule_cost` computes it.

    Notes
    -----
    A deployment at ``s`` starts a segment served by ``m_{s-1}``; ``m_0`` starts the first segment
    at
    ``s = 1`` for free. With ``P_i`` the prefix sums of row ``i``,

    .. math::

        B(s) = c_s + \\min_{s < e \\le T} \\big(P_{s-1}(e) - P_{s-1}(s) + B(e)\\big),
        \\quad B(T) = 0,

    where ``c_1 = 0`` and ``c_s`` is the retrain cost at ``s``. That is ``O(T^2)`` time, and
    ``O(T^2)`` memory for the prefix sums. Ties go to the schedule with fewer retrains.

    Examples
    --------
    >>> L = np.array([[np.nan, 0.1, 0.3, 0.5],
    ...               [np.nan, np.nan, 0.1, 0.2],
    ...               [np.nan, np.nan, np.nan, 0.1],
    ...               [np.nan, np.nan, np.nan, np.nan]])
    >>> theta, cost = oracle_schedule(L, retrain_cost=0.2)
    >>> theta.tolist(), round(cost, 10)
    ([False, False, True, False], 0.6)
    """
    losses = check_loss_matrix(L)
    T = losses.shape[0]
    costs = check_retrain_costs(retrain_cost, T)
    theta = np.zeros(T, dtype=bool)
    if T == 1:
        return theta, 0.0
    rows, cols = np.triu_indices(T, k=1)
    check_needed_losses(losses, rows, cols)

    # prefix[i, e] = sum of L[i, u] for i < u < e (zero below the diagonal).
    upper = np.where(np.triu(np.ones((T, T), dtype=bool), k=1), losses, 0.0)
    prefix = np.zeros((T, T + 1))
    np.cumsum(upper, axis=1, out=prefix[:, 1:])

    best = np.zeros(T + 1)
    count = np.zeros(T + 1, dtype=int)
    nxt = np.full(T + 1, T, dtype=int)
    for s in range(T - 1, 0, -1):
        row = s - 1
        ends = np.arange(s + 1, T + 1)
        totals = prefix[row, ends] - prefix[row, s] + best[ends]
        retrains = count[ends]
        low = totals.min()
        near = totals <= low + _TIE_RTOL * max(1.0, abs(low))
        candidates = np.flatnonzero(near)
        pick = candidates[np.argmin(retrains[candidates])]
        entry = 0.0 if s == 1 else costs[s]
        best[s] = entry + totals[pick]
        count[s] = retrains[pick] + (0 if s == 1 else 1)
        nxt[s] = ends[pick]
    s = nxt[1]
    while s < T:
        theta[s] = True
        s = nxt[s]
    return theta, schedule_cost(losses, theta, retrain_cost=costs)
