"""Replay a policy online over a loss matrix, revealing only what would be observable."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlflow_staleness._validation import check_int, check_loss_matrix, check_retrain_costs
from mlflow_staleness.costs import oracle_schedule, schedule_cost, served_models
from mlflow_staleness.decision import Decision
from mlflow_staleness.exceptions import InvalidInputError
from mlflow_staleness.policies.base import Observation, Policy, WindowDrift, Windows

__all__ = ["ReplayResult", "oracle_cost", "replay"]


@dataclass(frozen=True)
class ReplayResult:
    """What :func:`replay` returns.

    Attributes
    ----------
    theta, retrained
        Bool, length ``T``: where a new model was deployed, and where a retrain was paid for.
        Both are False for ``t <= warmup``.
    cost
        ``sum_{t >= warmup} L[served(t), t] + retrain cost of every retrain``, recomputed through
        :func:`~mlflow_staleness.costs.schedule_cost`.
    decisions
        Per step, the phase-one decision and, after a retrain, the gate's.
    frame
        A tidy DataFrame, one row per window from ``warmup`` on.
    """

    theta: np.ndarray
    retrained: np.ndarray
    cost: float
    warmup: int
    decisions: tuple[Decision, ...]
    frame: pd.DataFrame = field(repr=False)

    @property
    def n_retrains(self) -> int:
        """Retrains paid for."""
        return int(self.retrained.sum())

    @property
    def n_deploys(self) -> int:
        """Challengers deployed."""
        return int(self.theta.sum())

    def plot(self, ax: Any = None) -> Any:
        """Loss of the served model per window, with retrains and deploys marked.

        Returns the matplotlib figure; it is never shown.
        """
        from matplotlib.figure import Figure

        if ax is None:
            figure = Figure(figsize=(8, 3.5))
            ax = figure.subplots()
        else:
            figure = ax.figure
        frame = self.frame
        ax.plot(frame["window"], frame["loss"], color="0.3", label="served model's loss")
        paid = frame[frame["retrained"]]
        ax.scatter(
            paid["window"],
            paid["loss"],
            marker="o",
            facecolors="none",
            edgecolors="tab:orange",
            label="retrain paid",
        )
        deployed = frame[frame["deployed"]]
        ax.scatter(
            deployed["window"],
            deployed["loss"],
            marker="^",
            color="tab:green",
            label="challenger deployed",
        )
        ax.set_xlabel("window")
        ax.set_ylabel("loss")
        ax.set_title(f"{self.n_retrains} retrains, {self.n_deploys} deploys, cost {self.cost:.3f}")
        ax.legend(loc="best", fontsize="small")
        return figure


def oracle_cost(L: object, retrain_cost: object, warmup: int = 5) -> tuple[np.ndarray, float]:
    """The best schedule in hindsight over the span :func:`replay` scores.

    It is ``oracle_schedule(L[warmup-1:, warmup-1:])``, padded back to length ``T``. Returns
    the schedule and its cost.
    """
    losses = check_loss_matrix(L)
    T = losses.shape[0]
    warmup = check_int("warmup", warmup, 1)
    if warmup >= T:
        raise InvalidInputError(f"warmup={warmup} needs T >= {warmup + 1} windows, got T={T}")
    costs = check_retrain_costs(retrain_cost, T)
    theta_sub, cost = oracle_schedule(losses[warmup - 1 :, warmup - 1 :], costs[warmup - 1 :])
    theta = np.zeros(T, dtype=bool)
    theta[warmup - 1 :] = theta_sub
    return theta, cost


def replay(
    policy: Policy,
    L: object,
    retrain_cost: object,
    val_loss: object = None,
    windows: Sequence[Any] | None = None,
    label_delay: int = 1,
    warmup: int = 5,
    drift: object = None,
) -> ReplayResult:
    """Run ``policy`` online over ``L`` and score the schedule it chose.

    Parameters
    ----------
    policy
        Any :class:`~mlflow_staleness.policies.base.Policy`; its :meth:`start` is called first.
    L
        ``(T, T)`` losses, ``L[i, t]`` for ``i < t``.
    retrain_cost
        ``alpha``, a number or a length-``T`` array.
    val_loss
        Length ``T``: each model's validation loss on its own window. ``val_loss[i]`` is shown
        for ``i < warmup`` and, for later models, only once the policy has paid to train them.
        A challenger the gate rejects leaves the evidence again (its losses are never revealed):
        a rejected version is no fresh model, as in the advisor.
    windows
        Optional feature frames per window; window ``u`` is visible from step ``u`` on.
    label_delay
        Windows until labels arrive (>= 1): at step ``t`` losses up to window ``t - label_delay``
        are revealed.
    warmup
        Models ``m_0 .. m_{warmup-1}`` exist; ``m_{warmup-1}`` serves window ``warmup``, and
        decisions happen at ``t = warmup+1 .. T-1``.
    drift
        Optional ``(T, T)`` drift scores between windows (see
        :class:`~mlflow_staleness.policies.WindowDrift`), for a benchmark that computed them
        once. Without it, the scores are computed from ``windows`` when a policy reads them
        (each frame fingerprinted once per process); with neither, policies see no drift.

    Returns
    -------
    ReplayResult

    Examples
    --------
    >>> from mlflow_staleness.policies import make_policy
    >>> T = 12
    >>> age = np.subtract.outer(np.arange(T), np.arange(T)) * -1.0
    >>> L = np.where(age > 0, 0.1 + 0.02 * age, np.nan)
    >>> result = replay(make_policy("cumulative"), L, retrain_cost=0.1, warmup=3)
    >>> result.n_retrains > 0, round(result.cost, 6) <= round(replay(
    ...     make_policy("never"), L, retrain_cost=0.1, warmup=3).cost, 6)
    (True, True)
    """
    if not isinstance(policy, Policy):
        raise InvalidInputError(
            f"policy must be a Policy (see make_policy), got {type(policy).__name__}"
        )
    losses = check_loss_matrix(L)
    T = losses.shape[0]
    label_delay = check_int("label_delay", label_delay, 1)
    warmup = check_int("warmup", warmup, 1)
    if losses.shape[0] < warmup + 2:
        raise InvalidInputError(
            f"a replay with warmup={warmup} needs T >= {warmup + 2} windows, got T={T}"
        )
    costs = check_retrain_costs(retrain_cost, T)
    if val_loss is None:
        validation = np.full(T, np.nan)
    else:
        try:
            validation = np.asarray(val_loss, dtype=float)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"val_loss must be an array of numbers: {exc}") from exc
        if validation.shape != (T,):
            raise InvalidInputError(
                f"val_loss must have length T={T}, got shape {validation.shape}"
            )
    if windows is not None and not isinstance(windows, Sequence):
        raise InvalidInputError(
            f"windows must be a sequence of T={T} frames (or None), got {type(windows).__name__}"
        )
    if windows is not None and len(windows) != T:
        raise InvalidInputError(f"windows must hold T={T} frames, got {len(windows)}")
    scores = _check_drift(drift, T)
    if scores is not None:
        drift_view: WindowDrift | None = WindowDrift(scores=scores, visible=0)
    elif windows is not None:
        drift_view = WindowDrift(frames=windows, visible=0)
    else:
        drift_view = None

    theta = np.zeros(T, dtype=bool)
    retrained = np.zeros(T, dtype=bool)
    exists = np.zeros(T, dtype=bool)
    exists[:warmup] = True
    served, deployed_at = warmup - 1, warmup
    decisions: list[Decision] = []
    # The losses revealed so far, grown one labelled window per step: at step t, window
    # t - label_delay becomes labelled for every model that exists (a model created later has
    # no loss on it). Each observation gets its own read-only copy.
    revealed = np.full((T, T), np.nan)
    labelled_through = 0

    def reveal(t: int) -> np.ndarray:
        nonlocal labelled_through
        for u in range(labelled_through + 1, max(0, t - label_delay) + 1):
            rows = np.flatnonzero(exists[:u])
            revealed[rows, u] = losses[rows, u]
            labelled_through = u
        snapshot = revealed.copy()
        snapshot.flags.writeable = False
        return snapshot

    def observe(t: int, seen: np.ndarray, challenger: int | None) -> Observation:
        shown = np.where(exists, validation, np.nan)
        shown.flags.writeable = False
        return Observation(
            step=t,
            served=served,
            deployed_at=deployed_at,
            models=tuple(int(m) for m in np.flatnonzero(exists)),
            losses=seen,
            val_loss=shown,
            retrain_cost=float(costs[t]),
            label_delay=label_delay,
            windows=Windows(windows, t + 1),
            challenger=challenger,
            drift=None if drift_view is None else drift_view.until(t + 1),
        )

    policy.start()
    for t in range(warmup + 1, T):
        seen = reveal(t)
        decision = _checked(policy.decide(observe(t, seen, None)), t, ("keep", "retrain"), policy)
        decisions.append(decision)
        if decision.action != "retrain":
            continue
        retrained[t] = True
        exists[t - 1] = True
        verdict = _checked(policy.gate(observe(t, seen, t - 1)), t, ("deploy", "reject"), policy)
        decisions.append(verdict)
        if verdict.action == "deploy":
            theta[t] = True
            served, deployed_at = t - 1, t
        else:
            # A rejected challenger is no fresh model: its losses never join the evidence, as in
            # the advisor (mlflow_staleness.advice.trusted_versions).
            exists[t - 1] = False

    span = slice(warmup - 1, T)
    cost = schedule_cost(losses[span, span], theta[span], costs[span], retrained=retrained[span])
    return ReplayResult(
        theta=theta,
        retrained=retrained,
        cost=cost,
        warmup=warmup,
        decisions=tuple(decisions),
        frame=_frame(losses, theta, retrained, warmup, decisions),
    )


def _check_drift(drift: object, T: int) -> np.ndarray | None:
    if drift is None:
        return None
    try:
        scores = np.array(drift, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"drift must be a (T, T) array of numbers: {exc}") from exc
    if scores.shape != (T, T):
        raise InvalidInputError(f"drift must have shape ({T}, {T}), got {scores.shape}")
    if (scores[np.isfinite(scores)] < 0).any():
        raise InvalidInputError("drift scores must be >= 0 (or NaN where unknown)")
    scores.flags.writeable = False
    return scores


def _checked(decision: object, t: int, allowed: tuple[str, ...], policy: Policy) -> Decision:
    if not isinstance(decision, Decision) or decision.action not in allowed:
        raise InvalidInputError(
            f"{policy!r} must return a Decision with action in {list(allowed)} at step {t}, "
            f"got {decision!r}"
        )
    return decision


def _frame(
    losses: np.ndarray,
    theta: np.ndarray,
    retrained: np.ndarray,
    warmup: int,
    decisions: list[Decision],
) -> pd.DataFrame:
    T = losses.shape[0]
    span_theta = theta.copy()
    span_theta[:warmup] = False
    served = served_models(span_theta)
    served[served < warmup - 1] = warmup - 1
    windows = np.arange(warmup, T)
    first = {d.step: d for d in decisions if d.action in ("keep", "retrain")}
    return pd.DataFrame(
        {
            "window": windows,
            "served": served[windows],
            "loss": losses[served[windows], windows],
            "retrained": retrained[windows],
            "deployed": theta[windows],
            "staleness_per_step": [
                first[t].staleness_per_step if t in first else np.nan for t in windows
            ],
            "accumulated_staleness": [
                first[t].accumulated_staleness if t in first else np.nan for t in windows
            ],
            "reason": [first[t].reason if t in first else "" for t in windows],
        }
    )
