"""The gate: a retrain produces a challenger; deploy it only if it is expected to beat the served
model. The retrain is paid either way."""

from __future__ import annotations

import math

import numpy as np

from mlflow_staleness.decision import Decision
from mlflow_staleness.policies._estimate import sign_confidence
from mlflow_staleness.policies._excess import fresh_levels
from mlflow_staleness.policies.base import Observation

__all__ = ["default_gate", "deploy_always"]


def default_gate(obs: Observation) -> Decision:
    """Deploy the challenger when its expected loss is below the served model's.

    The challenger's expected loss is its validation loss plus the calibration offset (the mean
    gap between earlier versions' validation losses and their losses on the next window). The
    served model's is its loss on the latest labelled window: with labels one window late, the
    very window the challenger's validation split comes from, so both are measured on the same
    data. (Averaging the served model over more windows scored worse on the decision benchmark:
    windows differ in difficulty more than a model changes.) A challenger trained on an unusual
    window shows it in its validation loss, and is rejected.

    The verdict's ``staleness_per_step`` is the expected saving per step of deploying: the served
    model's expected loss minus the challenger's (negative for a rejection).
    """
    challenger = obs.challenger
    losses, val_loss = np.asarray(obs.losses), np.asarray(obs.val_loss)
    fresh = fresh_levels(losses, val_loss, obs.last_labelled)
    last = min(obs.last_labelled, losses.shape[0] - 1)
    served_loss = float(losses[obs.served, last]) if last > obs.served else math.nan
    has_val = challenger is not None and np.isfinite(val_loss[challenger])
    if fresh is None or not has_val or not math.isfinite(served_loss):
        return Decision(
            step=obs.step,
            action="deploy",
            retrain_cost=obs.retrain_cost,
            confidence=0.0,
            reason="challenger deployed: too little evidence to compare it with the served model",
        )
    expected_challenger = float(val_loss[challenger]) + fresh.offset
    expected_served = served_loss
    margin = expected_served - expected_challenger
    sd = math.hypot(fresh.offset_sd, fresh.typical_sd)
    numbers = dict(  # noqa: C408
        staleness_per_step=margin,
        retrain_cost=obs.retrain_cost,
        confidence=sign_confidence(margin, sd, 1.0),
        uncertainty=sd,
        evidence=("validation", "measured"),
    )
    if margin >= 0:
        return Decision(
            step=obs.step,
            action="deploy",
            **numbers,
            reason=(
                f"challenger expected at {expected_challenger:.4f}, the served model at "
                f"{expected_served:.4f}: deploy"
            ),
        )
    return Decision(
        step=obs.step,
        action="reject",
        **numbers,
        reason=(
            f"challenger rejected: expected at {expected_challenger:.4f}, worse than the "
            f"served model's {expected_served:.4f}"
        ),
    )


def deploy_always(obs: Observation) -> Decision:
    """The baselines' gate: every challenger is deployed."""
    return Decision(
        step=obs.step,
        action="deploy",
        retrain_cost=obs.retrain_cost,
        reason="baseline deploys every challenger",
    )
