"""Tune a policy parameter by simulation on the observed history, never on the future."""

from __future__ import annotations

import math

import numpy as np

from mlflow_staleness.costs import schedule_cost
from mlflow_staleness.policies._excess import FreshLevels
from mlflow_staleness.policies.base import Observation

_MIN_WINDOWS = 4


def imputed_history(obs: Observation, fresh: FreshLevels | None) -> np.ndarray | None:
    """Losses of every model on every labelled window: revealed where known, elsewhere the
    estimated fresh loss plus the age curve. None when fewer than a handful of windows are
    labelled."""
    n = obs.last_labelled + 1
    if fresh is None or n < _MIN_WINDOWS:
        return None
    history = np.full((n, n), np.nan)
    for m in range(n - 1):
        for u in range(m + 1, n):
            value = obs.losses[m, u]
            if np.isfinite(value):
                history[m, u] = value
            else:
                age = min(u - m, len(fresh.age_curve) - 1)
                history[m, u] = fresh.level[u] + fresh.age_curve[age]
    rows, cols = np.triu_indices(n, k=1)
    if not np.isfinite(history[rows, cols]).all():
        return None
    return history


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
    excess = [history[m, u] - history[u - 1, u] for u in range(2, n) for m in range(u - 1)]
    candidates = sorted({float(e) for e in excess if e > 0} | {math.inf}, reverse=True)
    best_tau, best_cost = math.inf, math.inf
    for tau in candidates:
        cost = schedule_cost(history, _threshold_schedule(history, tau), retrain_cost)
        if cost < best_cost - 1e-12:
            best_tau, best_cost = tau, cost
    return best_tau


def simulate_period(history: np.ndarray, retrain_cost: float) -> float:
    """The interval whose replay on ``history`` costs least; ``inf`` when never retraining wins."""
    n = history.shape[0]
    best_period, best_cost = math.inf, schedule_cost(history, np.zeros(n, dtype=bool), retrain_cost)
    for period in range(n - 1, 0, -1):
        theta = np.zeros(n, dtype=bool)
        theta[1 + period :: period] = True
        cost = schedule_cost(history, theta, retrain_cost)
        if cost < best_cost - 1e-12:
            best_period, best_cost = period, cost
    return best_period
