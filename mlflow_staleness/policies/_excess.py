"""Shared staleness estimation for the policies, from the revealed losses alone.

The staleness of the served model ``s`` on window ``u`` is its excess over a fresh model,
``x_u = L[s, u] - F_u``, where ``F_u`` is the loss a fresh model would have had on ``u``.

``F_u`` is known exactly when the model trained just before ``u`` exists (the policy retrained
then). Elsewhere it is estimated by combining, with precision weights:

- the youngest existing model's loss on ``u``, less the excess a model of its age typically
  carries (the age curve ``e(k)``, measured on the windows where a fresh loss is known);
- the typical fresh loss: the mean of the known fresh losses and of the validation losses,
  calibrated for their optimism (the "known trap": a validation loss measured inside the training
  window flatters; the calibration offset is the mean of ``L[m, m + 1] - val_loss[m]``).

The current staleness is the mean of the served model's most recent excesses; its uncertainty
combines their scatter with the uncertainty of the fresh levels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

RECENT = 3  # windows averaged for the current staleness level
PRIOR_WINDOWS = 2.0  # weight, in windows, of the prior that the served model is typical
_MIN_SD = 1e-3


@dataclass(frozen=True)
class FreshLevels:
    """Estimated fresh loss per window, the age curve of a fresh model, and calibration."""

    level: np.ndarray  # F_u for u = 0 .. last (NaN where not estimable)
    sd: np.ndarray
    age_curve: np.ndarray  # e(k) for k = 0 .. max_age, e(0) = e(1) = 0, non-decreasing
    age_sd: np.ndarray
    typical: float  # mean fresh loss
    typical_sd: float  # scatter of fresh losses across windows
    offset: float  # calibration of a validation loss to the next window's fresh loss
    offset_sd: float
    n_fresh: int  # windows where the fresh loss is known exactly


def _mean_sd(values: list[float], fallback_sd: float) -> tuple[float, float]:
    if not values:
        return math.nan, fallback_sd
    array = np.asarray(values)
    sd = float(np.std(array, ddof=1)) if len(array) > 1 else fallback_sd
    return float(np.mean(array)), max(sd, _MIN_SD)


def fresh_levels(losses: np.ndarray, val_loss: np.ndarray, last: int) -> FreshLevels | None:
    """Estimate fresh losses on windows ``0 .. last`` from revealed losses; None without any."""
    T = losses.shape[0]
    last = min(last, T - 1)
    if last < 1:
        return None
    exact = {u: float(losses[u - 1, u]) for u in range(1, last + 1)
             if np.isfinite(losses[u - 1, u])}
    gaps = [float(losses[m, m + 1] - val_loss[m]) for m in range(last)
            if np.isfinite(losses[m, m + 1]) and np.isfinite(val_loss[m])]
    spread_all = float(np.nanstd(losses[: last + 1, : last + 1])) if np.isfinite(
        losses[: last + 1, : last + 1]).any() else 0.1
    offset, offset_sd = _mean_sd(gaps, max(spread_all, _MIN_SD))
    if not math.isfinite(offset):
        offset = 0.0
    calibrated = [float(val_loss[m] + offset) for m in range(last + 1)
                  if np.isfinite(val_loss[m]) and m not in exact and (m + 1) not in exact]
    typical, typical_sd = _mean_sd(list(exact.values()) + calibrated, max(spread_all, _MIN_SD))
    if not math.isfinite(typical):
        return None

    # Age curve: excess of a model of age k over the fresh model, where the fresh loss is exact.
    by_age: dict[int, list[float]] = {}
    for u, fresh in exact.items():
        for m in range(u - 1):
            if np.isfinite(losses[m, u]):
                by_age.setdefault(u - m, []).append(float(losses[m, u]) - fresh)
    max_age = max([1, *by_age])
    curve = np.zeros(max_age + 1)
    curve_sd = np.full(max_age + 1, typical_sd)
    curve_sd[:2] = 0.0
    known = 0.0
    for k in range(2, max_age + 1):
        if k in by_age:
            values = by_age[k]
            mean = float(np.mean(values))
            sd = float(np.std(values, ddof=1)) / math.sqrt(len(values)) if len(values) > 1 else (
                typical_sd)
            known = max(known, mean)  # staleness does not shrink with age
            curve_sd[k] = max(sd, _MIN_SD)
        elif k > 2:
            curve_sd[k] = curve_sd[k - 1]
        curve[k] = known

    level = np.full(last + 1, np.nan)
    sd = np.full(last + 1, np.nan)
    for u in range(1, last + 1):
        if u in exact:
            level[u], sd[u] = exact[u], 0.0
            continue
        youngest = next((m for m in range(u - 1, -1, -1) if np.isfinite(losses[m, u])), None)
        estimates = [(typical, typical_sd)]
        if youngest is not None:
            k = min(u - youngest, max_age)
            estimates.append((float(losses[youngest, u]) - curve[k],
                              math.hypot(curve_sd[k], 0.5 * typical_sd)))
        weights = np.array([1.0 / max(s, _MIN_SD) ** 2 for _, s in estimates])
        values = np.array([v for v, _ in estimates])
        level[u] = float(weights @ values / weights.sum())
        sd[u] = float(1.0 / math.sqrt(weights.sum()))
    return FreshLevels(level, sd, curve, curve_sd, typical, typical_sd, offset, offset_sd,
                       len(exact))


@dataclass(frozen=True)
class ServedExcess:
    """The served model's estimated excess over a fresh model."""

    current: float  # expected excess at the step being decided
    sd: float
    accumulated: float  # excess accumulated since deploy, the current step included
    n_measured: int  # labelled windows behind the estimate


def served_excess(
    losses: np.ndarray, val_loss: np.ndarray, fresh: FreshLevels, served: int,
    deployed_at: int, step: int, last: int,
) -> ServedExcess:
    """Excess of the served model on its labelled windows, and its expected excess at ``step``."""
    windows = [u for u in range(deployed_at, min(last, losses.shape[0] - 1) + 1)
               if np.isfinite(losses[served, u]) and np.isfinite(fresh.level[u])]
    curve = fresh.age_curve

    def expected(u: int) -> float:
        return float(curve[min(u - served, len(curve) - 1)])

    # Deviation of the served model from the age curve, on its recent labelled windows, shrunk
    # towards the curve: a few noisy windows are weak evidence that a model is unusual.
    recent = windows[-RECENT:]
    deviations = np.array([losses[served, u] - fresh.level[u] - expected(u) for u in recent])
    n = len(recent)
    quality_prior = 0.0
    prior_weight = PRIOR_WINDOWS
    if np.isfinite(val_loss[served]):
        quality_prior = float(val_loss[served] + fresh.offset - fresh.typical)
    shrunk = (float(np.sum(deviations)) + prior_weight * quality_prior) / (n + prior_weight)
    current = expected(step) + shrunk
    level_sd = math.sqrt(float(np.mean([fresh.sd[u] ** 2 for u in recent]))) if n else 0.0
    sd = math.hypot(fresh.typical_sd / math.sqrt(n + prior_weight), level_sd)
    measured = sum(float(losses[served, u] - fresh.level[u]) for u in windows)
    unmeasured = [u for u in range(deployed_at, step + 1) if u not in set(windows)]
    accumulated = measured + sum(expected(u) + shrunk for u in unmeasured)
    return ServedExcess(current, max(sd, _MIN_SD), accumulated, len(windows))
