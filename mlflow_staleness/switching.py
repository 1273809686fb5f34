"""Switching to a version that exists: the advisor's rollback, beyond the engine.

A registry holds more than the served version and the challenger: earlier versions, and newer ones
nobody promoted. Where another version was measured on the same windows as the served one, the
comparison needs no model of staleness at all: window difficulty cancels in the difference. When
the other version's loss was lower on at least ``MIN_WINDOWS`` of the served version's latest
``WINDOWS`` windows, by more than ``Z`` standard errors of the mean difference and by more than the
switching risk per window, serving it instead costs no retrain.

The engine (:func:`~mlflow_staleness.backtest.replay`) cannot switch: a schedule there is a
sequence of retrains, and its oracle never switches. So the advisor advises switching on top of
the policy (``rollback`` to an older version, ``promote`` of a newer one), and the decision
benchmark measures what following that advice is worth with :func:`replay_with_switching`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from mlflow_staleness.policies.base import Observation, Policy, Windows

__all__ = ["MIN_WINDOWS", "WINDOWS", "Switch", "Z", "best_switch", "replay_with_switching"]

#: The served version's latest windows on which another version is compared with it.
WINDOWS = 6
#: Fewest such windows before a switch is advised.
MIN_WINDOWS = 3
#: Standard errors by which the other version's mean loss must beat the served version's.
Z = 2.0


@dataclass(frozen=True)
class Switch:
    """Serve ``row`` instead: it lost ``gain`` less per window (``se`` its standard error) on the
    ``windows`` windows both were measured on."""

    row: int
    gain: float
    se: float
    windows: int


def best_switch(
    losses: np.ndarray,
    served: int,
    first: int,
    step: int,
    rows: Iterable[int],
    risk: float = 0.0,
) -> Switch | None:
    """The best version to switch to, or None.

    Parameters
    ----------
    losses
        ``L[row, window]``, NaN where not measured.
    served, first, step
        The served row, the first window of its service, and the step being decided (windows
        ``< step`` count).
    rows
        The candidate rows (the served one is skipped).
    risk
        The switching risk per window, in loss units: the gain must exceed it.

    Examples
    --------
    >>> L = np.full((4, 10), np.nan)
    >>> L[1, 2:] = 0.30 + 0.01 * (np.arange(8) % 2)  # served from window 2
    >>> L[0, 2:] = 0.20 + 0.01 * (np.arange(8) % 3)  # an older version, better on the same windows
    >>> best_switch(L, served=1, first=2, step=10, rows=[0, 1]).row
    0
    """
    columns = [
        c for c in range(max(first - 1, served + 1), step) if np.isfinite(losses[served, c])
    ][-WINDOWS:]
    best: Switch | None = None
    for row in rows:
        if row == served:
            continue
        both = [c for c in columns if row < c and np.isfinite(losses[row, c])]
        if len(both) < MIN_WINDOWS:
            continue
        gaps = losses[served, both] - losses[row, both]
        gain = float(np.mean(gaps))
        se = float(np.std(gaps, ddof=1)) / math.sqrt(len(both))
        if gain - Z * se > max(risk, 0.0) and (best is None or gain > best.gain):
            best = Switch(int(row), gain, se, len(both))
    return best


@dataclass(frozen=True)
class SwitchingResult:
    """What :func:`replay_with_switching` returns: the cost (as ``replay`` scores it), retrains
    paid and switches made."""

    cost: float
    n_retrains: int
    n_switches: int


def replay_with_switching(
    policy: Policy,
    L: np.ndarray,
    retrain_cost: float,
    val_loss: np.ndarray,
    warmup: int = 5,
) -> SwitchingResult:
    """Replay ``policy`` as the advisor advises it: the policy decides and its gate judges each
    challenger, and a switch to an existing model (:func:`best_switch`) is taken where the
    advisor advises one (instead of keeping, or instead of a retrain whose expected saving the
    switch already delivers). Labels arrive one window late; the cost is scored like
    ``replay``'s, from window ``warmup`` on.

    Examples
    --------
    >>> from mlflow_staleness.backtest.textbook import textbook_matrix
    >>> from mlflow_staleness.policies import make_policy
    >>> L, val = textbook_matrix("none", 20)
    >>> result = replay_with_switching(make_policy("forecast"), L, 0.3, val)
    >>> result.n_retrains
    0
    """
    T = L.shape[0]
    exists = np.zeros(T, dtype=bool)
    exists[:warmup] = True
    served, deployed = warmup - 1, warmup
    revealed = np.full((T, T), np.nan)
    policy.start()
    cost = float(L[served, warmup])
    retrains = switches = 0
    for t in range(warmup + 1, T):
        rows = np.flatnonzero(exists)
        for u in range(1, t):  # windows up to t - 1 are labelled
            below = rows[rows < u]
            revealed[below, u] = L[below, u]
        seen = revealed.copy()
        seen.flags.writeable = False

        def observe(
            challenger: int | None, state: tuple = (seen, t, served, deployed)
        ) -> Observation:
            shown = np.where(exists, val_loss, np.nan)
            shown.flags.writeable = False
            losses, step, model, since = state
            return Observation(
                step=step,
                served=model,
                deployed_at=since,
                models=tuple(int(m) for m in np.flatnonzero(exists)),
                losses=losses,
                val_loss=shown,
                retrain_cost=retrain_cost,
                label_delay=1,
                windows=Windows(None, step + 1),
                challenger=challenger,
            )

        decision = policy.decide(observe(None))
        switch = best_switch(seen, served, deployed, t, rows)
        if switch is not None and (
            decision.action == "keep" or switch.gain >= decision.staleness_per_step
        ):
            served, deployed = switch.row, t
            switches += 1
        elif decision.action == "retrain":
            retrains += 1
            cost += retrain_cost
            exists[t - 1] = True
            if policy.gate(observe(t - 1)).action == "deploy":
                served, deployed = t - 1, t
            else:  # a rejected challenger is no fresh model and no switch target (the advisor's)
                exists[t - 1] = False
        cost += float(L[served, t])
    return SwitchingResult(cost, retrains, switches)
