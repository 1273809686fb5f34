"""The gate: a retrain produces a challenger; deploy it only if it is expected to beat the served
model. The retrain is paid either way.

Two pieces of evidence speak to it. The challenger's **validation loss**, measured on the last
rows of its own training window and calibrated to the next window by the mean gap between earlier
models' validation losses and their losses on the next window, set against the served model's
loss on that same window. And the policy's **staleness estimate**: the served model's expected
excess over a fresh model, which is what a retrain was bought for. :func:`evidence_gate` weighs
the two by their precision. On a stream where a validation split from inside the training window
predicts the next window's loss well, validation decides; where it is a weak proxy (its gap to the
next window scatters widely), the staleness estimate does, and a challenger is not thrown away on a
noisy validation number.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from mlflow_staleness.decision import Decision
from mlflow_staleness.policies._estimate import sign_confidence
from mlflow_staleness.policies._excess import fresh_levels
from mlflow_staleness.policies._signals import Signals
from mlflow_staleness.policies.base import Observation

__all__ = ["default_gate", "deploy_always", "evidence_gate", "validation_gate"]


def evidence_gate(obs: Observation, signals: Signals | None = None) -> Decision:
    r"""Deploy the challenger when the evidence, weighed by its precision, expects it to win.

    Notes
    -----
    With the served model's loss :math:`L_s` on the latest labelled window, the challenger's
    validation loss :math:`v_c` and the calibration offset :math:`o` (mean of
    :math:`L[m, m+1] - v_m` over earlier models, standard deviation :math:`s_o` over :math:`n`
    of them), validation expects a saving :math:`\mu_v = L_s - (v_c + o)` per step with
    standard deviation :math:`\sigma_v = s_o \sqrt{1 + 1/n}`. The staleness estimate expects a
    saving :math:`\mu_s = \hat s` (the served model's excess over a fresh one) with standard
    deviation :math:`\sigma_s`, at least the scatter of fresh losses. Deploy when the
    precision-weighted mean

    .. math:: rac{\mu_v / \sigma_v^2 + \mu_s / \sigma_s^2}{1/\sigma_v^2 + 1/\sigma_s^2} \ge 0.

    With fewer than two calibration gaps, the offset is 0 (or the one gap) and :math:`\sigma_v`
    the scatter of every known loss. Without a validation loss, or a labelled loss of the served
    model, the challenger is deployed: a retrain was paid for because the served model looked
    stale. The verdict's ``staleness_per_step`` is that expected saving.
    """
    from mlflow_staleness.policies._estimate import estimate_step

    challenger = obs.challenger
    losses, val_loss = np.asarray(obs.losses), np.asarray(obs.val_loss)
    last = min(obs.last_labelled, losses.shape[0] - 1)
    served_loss = float(losses[obs.served, last]) if last > obs.served else math.nan
    earlier = np.array([m for m in obs.models if m != challenger and m < last], dtype=int)
    gaps = losses[earlier, earlier + 1] - val_loss[earlier] if earlier.size else np.zeros(0)
    gaps = gaps[np.isfinite(gaps)]
    has_val = challenger is not None and bool(np.isfinite(val_loss[challenger]))
    if not has_val or not math.isfinite(served_loss):
        return Decision(
            step=obs.step,
            action="deploy",
            retrain_cost=obs.retrain_cost,
            confidence=0.0,
            reason="challenger deployed: too little evidence to compare it with the served model",
        )
    before = replace(obs, challenger=None, models=tuple(m for m in obs.models if m != challenger))
    estimate = estimate_step(before, signals)
    floor = estimate.fresh.sd_floor if estimate.fresh is not None else 1e-12
    # Fewer than two earlier versions say little of how validation losses carry to the next
    # window: then no offset is assumed, and the scatter of every known loss is its doubt.
    fallback = estimate.fresh.typical_sd if estimate.fresh is not None else math.inf
    offset = float(np.mean(gaps)) if gaps.size else 0.0
    expected_challenger = float(val_loss[challenger]) + offset
    by_validation = served_loss - expected_challenger
    if gaps.size > 1:
        validation_sd = max(float(np.std(gaps, ddof=1)) * math.sqrt(1.0 + 1.0 / gaps.size), floor)
    else:
        validation_sd = max(fallback, floor)
    by_staleness = estimate.staleness
    staleness_sd = estimate.sd
    if estimate.fresh is not None:
        staleness_sd = max(staleness_sd, estimate.fresh.typical_sd)
    if math.isfinite(staleness_sd):
        # The precision weights as a ratio of the two deviations: 1 / sd**2 overflows (division
        # by zero) when the losses are so small that sd**2 underflows.
        ratio = validation_sd / staleness_sd
        weight = 1.0 / (1.0 + ratio * ratio)  # of the validation's expectation
        saving = weight * by_validation + (1.0 - weight) * by_staleness
        sd = validation_sd / math.hypot(1.0, ratio)
    else:
        saving, sd = by_validation, validation_sd
    numbers = dict(  # noqa: C408
        staleness_per_step=saving,
        retrain_cost=obs.retrain_cost,
        confidence=sign_confidence(saving, sd, 1.0),
        uncertainty=sd,
        evidence=("validation", "measured", *estimate.evidence),
    )
    detail = (
        f"validation expects {expected_challenger:.4f} against the served model's "
        f"{served_loss:.4f} (a saving of {by_validation:.4f} +- {validation_sd:.4f}); its "
        f"staleness estimate {by_staleness:.4f} +- {staleness_sd:.4f}; together {saving:.4f}"
    )
    if saving >= 0:
        return Decision(step=obs.step, action="deploy", **numbers, reason=f"{detail}: deploy")
    return Decision(
        step=obs.step, action="reject", **numbers, reason=f"challenger rejected: {detail}"
    )


def default_gate(obs: Observation) -> Decision:
    """The gate every estimating policy uses: :func:`evidence_gate`."""
    return evidence_gate(obs)


def validation_gate(obs: Observation) -> Decision:
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
