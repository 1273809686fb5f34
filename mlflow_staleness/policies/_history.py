"""Tune a policy parameter by simulation on the observed history, never on the future.

The history is the loss matrix of the latest :data:`SIMULATED` labelled windows: revealed losses
where they are known, elsewhere the estimated fresh loss plus the age curve. A candidate parameter
is replayed on it, and the cheapest wins. Bounding the history keeps one decision fast however
long the stream has run, and lets the choice follow the stream's recent behaviour.
"""

from __future__ import annotations

import math

import numpy as np

from mlflow_staleness.policies._excess import FreshLevels
from mlflow_staleness.policies.base import Observation

_MIN_WINDOWS = 4
#: Labelled windows a simulation replays at most.
SIMULATED = 120
#: Thresholds tried at most: the positive excesses seen, or as many of their quantiles.
_MAX_THRESHOLDS = 64


def imputed_history(
    obs: Observation, fresh: FreshLevels | None, excess: np.ndarray | None = None
) -> np.ndarray | None:
    """Losses of every model on every labelled window (the latest :data:`SIMULATED`): revealed
    where known, elsewhere the estimated fresh loss plus the age curve (or plus ``excess``, a
    matrix of estimated excesses over windows ``fresh.first - 1 .. last``). Row and column ``i``
    of the result are window ``last - n + 1 + i``. None when fewer than a handful of windows are
    labelled."""
    n = obs.last_labelled + 1
    if fresh is None or n < _MIN_WINDOWS:
        return None
    first = max(0, n - SIMULATED, fresh.first - 1)
    windows = np.arange(first, n)
    revealed = np.asarray(obs.losses)[np.ix_(windows, windows)]
    ages = windows[None, :] - windows[:, None]
    levels = np.full(windows.size, np.nan)
    inside = windows < len(fresh.level)
    levels[inside] = fresh.level[windows[inside]]
    if excess is None:
        imputed = levels[None, :] + fresh.excess_of(np.maximum(ages, 0))
    else:
        offset = first - max(fresh.first - 1, 0)
        imputed = levels[None, :] + excess[offset:, offset:]
    history = np.where(np.isfinite(revealed), revealed, imputed)
    history[ages <= 0] = np.nan
    if not np.isfinite(history[ages > 0]).all():
        return None
    return history


def _cost(history: np.ndarray, theta: np.ndarray, retrain_cost: float) -> float:
    """``schedule_cost`` of ``theta`` on ``history``, without its input checks (hot path)."""
    n = history.shape[0]
    deployed = np.where(theta, np.arange(n) - 1, -1)
    deployed[0] = 0
    served = np.maximum.accumulate(np.maximum(deployed, 0))
    windows = np.arange(1, n)
    return float(np.sum(history[served[1:], windows]) + retrain_cost * np.count_nonzero(theta[1:]))


def _threshold_schedule(history: np.ndarray, tau: float) -> np.ndarray:
    n = history.shape[0]
    theta = np.zeros(n, dtype=bool)
    served = 0
    for u in range(2, n):
        # The rule with the staleness of the previous window known: retrain at u when the served
        # model was worse than a fresh one by more than tau.
        if history[served, u - 1] - history[u - 2, u - 1] > tau and served != u - 1:
            theta[u] = True
            served = u - 1
    return theta


def simulate_threshold(history: np.ndarray, retrain_cost: float) -> float:
    """The threshold whose replay on ``history`` costs least (ties go to the larger one)."""
    n = history.shape[0]
    rows, cols = np.triu_indices(n - 1, k=1)
    # excess of model m on window u over the model trained just before u: m < u - 1
    keep = rows < cols
    excess = history[rows[keep], cols[keep] + 1] - history[cols[keep], cols[keep] + 1]
    positive = np.unique(excess[excess > 0])
    if positive.size > _MAX_THRESHOLDS:
        positive = np.unique(np.quantile(positive, np.linspace(0, 1, _MAX_THRESHOLDS)))
    taus = np.array([math.inf, *sorted(positive.tolist(), reverse=True)])
    costs = _threshold_costs(history, taus, retrain_cost)
    best_tau, best_cost = math.inf, math.inf
    for tau, cost in zip(taus.tolist(), costs.tolist(), strict=True):
        if cost < best_cost - 1e-12:
            best_tau, best_cost = tau, cost
    return best_tau


def _threshold_costs(history: np.ndarray, taus: np.ndarray, retrain_cost: float) -> np.ndarray:
    """The cost of :func:`_threshold_schedule` on ``history`` for every threshold in ``taus`` at
    once: one pass over the windows, each candidate's served model a vector entry.

    >>> h = np.array([[np.nan, 0.1, 0.3, 0.5, 0.7], [np.nan] * 2 + [0.1, 0.3, 0.5],
    ...               [np.nan] * 3 + [0.1, 0.3], [np.nan] * 4 + [0.1], [np.nan] * 5])
    >>> taus = np.array([np.inf, 0.15, 0.05])
    >>> costs = _threshold_costs(h, taus, 0.3)
    >>> bool(np.allclose(costs, [_cost(h, _threshold_schedule(h, t), 0.3) for t in taus]))
    True
    """
    n = history.shape[0]
    served = np.zeros(taus.size, dtype=int)
    total = np.zeros(taus.size)
    if n > 1:
        total += history[0, 1]
    for u in range(2, n):
        fresh = history[u - 2, u - 1]
        switch = (history[served, u - 1] - fresh > taus) & (served != u - 1)
        served = np.where(switch, u - 1, served)
        total += history[served, u] + retrain_cost * switch
    return total


def simulate_period(history: np.ndarray, retrain_cost: float) -> float:
    """The interval whose replay on ``history`` costs least; ``inf`` when never retraining wins."""
    n = history.shape[0]
    best_period, best_cost = math.inf, _cost(history, np.zeros(n, dtype=bool), retrain_cost)
    for period in range(n - 1, 0, -1):
        theta = np.zeros(n, dtype=bool)
        theta[1 + period :: period] = True
        cost = _cost(history, theta, retrain_cost)
        if cost < best_cost - 1e-12:
            best_period, best_cost = period, cost
    return best_period
