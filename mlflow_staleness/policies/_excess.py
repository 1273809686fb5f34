"""Shared staleness estimation for the policies, from the revealed losses alone.

The staleness of a model is its excess loss over a fresh model on the same window. Column
(window) effects cancel in that difference, which matters: windows differ far more in difficulty
than models differ in freshness.

**The age curve.** Where the model trained just before window ``u`` exists, the fresh loss
``L[u-1, u]`` is known exactly, and every older existing model ``m`` gives one measurement of the
excess at age ``k = u - m``: ``L[m, u] - L[u-1, u]``. Their mean per age, made non-decreasing
(staleness does not shrink with age: a running maximum) and kept flat beyond the oldest age
measured, is the age curve ``e(k)``; its standard error per age is the curve's uncertainty. The
warm-up versions provide the first measurements; every retrain adds more.

**The served model.** Its expected excess at age ``a`` is ``e(a)``, plus its own deviation from the
curve where it has been measured against a fresh model (on windows right after a retrain): the
mean over its latest :data:`RECENT` such windows. (Shrinking that mean towards zero scored worse on
the decision benchmark.)

**Fresh loss per window** (for simulations on the history): exact where known; elsewhere the
youngest existing model's loss less the excess its age carries; the typical fresh loss where no
model has been scored on the window.

**Validation calibration** (the "known trap": a validation loss measured inside the training
window flatters): ``offset`` is the mean of ``L[m, m + 1] - val_loss[m]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

RECENT = 6  # latest windows whose deviations from the age curve count for the served model
_SD_FLOOR = 1e-3  # smallest standard deviation, as a share of the typical loss


@dataclass(frozen=True)
class FreshLevels:
    """The age curve of staleness, fresh losses per window, and validation calibration."""

    level: np.ndarray  # estimated fresh loss F_u for u = 0 .. last (NaN where unknown)
    age_curve: np.ndarray  # e(k) for k = 0 .. max_age; e(0) = e(1) = 0; non-decreasing
    age_sd: np.ndarray  # standard error of e(k)
    typical: float  # mean fresh loss
    typical_sd: float  # scatter of fresh losses across windows
    offset: float  # calibration of a validation loss to the next window's loss
    offset_sd: float
    n_fresh: int  # windows where the fresh loss is known exactly
    sd_floor: float  # smallest standard deviation, relative to the losses' scale

    def excess_at(self, age: int) -> float:
        """``e(age)``, flat beyond the oldest measured age."""
        return float(self.age_curve[min(max(int(age), 0), len(self.age_curve) - 1)])

    def excess_sd_at(self, age: int) -> float:
        """Standard error of ``e(age)``."""
        return float(self.age_sd[min(max(int(age), 0), len(self.age_sd) - 1)])


def _mean_sd(values: list[float], fallback_sd: float, floor: float) -> tuple[float, float]:
    if not values:
        return math.nan, fallback_sd
    array = np.asarray(values)
    sd = float(np.std(array, ddof=1)) if len(array) > 1 else fallback_sd
    return float(np.mean(array)), max(sd, floor)


def fresh_levels(losses: np.ndarray, val_loss: np.ndarray, last: int) -> FreshLevels | None:
    """Estimate the age curve and fresh losses from windows ``0 .. last``; None without any."""
    T = losses.shape[0]
    last = min(last, T - 1)
    if last < 1:
        return None
    labelled = losses[: last + 1, : last + 1]
    known = np.concatenate([labelled[np.isfinite(labelled)], val_loss[np.isfinite(val_loss)]])
    if known.size == 0:
        return None
    # Every floor and fallback is relative to the losses' own scale, so that rescaling the losses
    # and the retrain cost together changes no decision.
    scale = float(np.mean(np.abs(known))) or 1.0
    floor = _SD_FLOOR * scale
    spread = max(float(np.std(known)), floor)
    exact = {
        u: float(losses[u - 1, u]) for u in range(1, last + 1) if np.isfinite(losses[u - 1, u])
    }
    gaps = [
        float(losses[m, m + 1] - val_loss[m])
        for m in range(last)
        if np.isfinite(losses[m, m + 1]) and np.isfinite(val_loss[m])
    ]
    offset, offset_sd = _mean_sd(gaps, spread, floor)
    offset = offset if math.isfinite(offset) else 0.0
    typical, typical_sd = _mean_sd(list(exact.values()), spread, floor)
    if not math.isfinite(typical):
        calibrated = [float(v + offset) for v in val_loss[: last + 1] if np.isfinite(v)]
        typical, typical_sd = _mean_sd(calibrated, spread, floor)
    if not math.isfinite(typical):
        return None

    by_age: dict[int, list[float]] = {}
    for u, fresh in exact.items():
        for m in range(u - 1):
            if np.isfinite(losses[m, u]):
                by_age.setdefault(u - m, []).append(float(losses[m, u]) - fresh)
    max_age = max([1, *by_age])
    curve, curve_sd = _monotone_curve(by_age, max_age, typical_sd, floor)

    level = np.full(last + 1, np.nan)
    for u in range(1, last + 1):
        if u in exact:
            level[u] = exact[u]
            continue
        youngest = next((m for m in range(u - 1, -1, -1) if np.isfinite(losses[m, u])), None)
        if youngest is None:
            level[u] = typical
        else:
            level[u] = float(losses[youngest, u]) - curve[min(u - youngest, max_age)]
    return FreshLevels(
        level, curve, curve_sd, typical, typical_sd, offset, offset_sd, len(exact), floor
    )


def _monotone_curve(
    by_age: dict[int, list[float]], max_age: int, fallback_sd: float, floor: float
) -> tuple[np.ndarray, np.ndarray]:
    """The running maximum of the mean excess per age, with the standard error of each mean.

    Staleness does not shrink with age, so a lower mean at an older age is read as noise. (A
    pool-adjacent-violators fit is the unbiased alternative; on the decision benchmark it scored
    worse, since flat extrapolation beyond the measured ages already errs low.) Ages with no
    measurement take the value of the age before them.
    """
    curve = np.zeros(max_age + 1)
    curve_sd = np.zeros(max_age + 1)
    known, known_sd = 0.0, fallback_sd
    for k in range(2, max_age + 1):
        if k in by_age:
            values = np.asarray(by_age[k])
            known = max(known, float(np.mean(values)))
            scatter = float(np.std(values, ddof=1)) if len(values) > 1 else fallback_sd
            known_sd = max(scatter, floor) / math.sqrt(len(values))
        curve[k], curve_sd[k] = known, known_sd
    return curve, curve_sd


@dataclass(frozen=True)
class ServedExcess:
    """The served model's estimated excess over a fresh model."""

    current: float  # expected excess at the step being decided
    sd: float  # standard deviation of that expectation
    accumulated: float  # excess accumulated since deploy, the current step included
    n_measured: int  # windows where it was measured against an exact fresh loss
    deviation_sd: float  # the part of ``sd`` from the served model's own deviation


def served_excess(
    losses: np.ndarray,
    fresh: FreshLevels,
    served: int,
    deployed_at: int,
    step: int,
    last: int,
) -> ServedExcess:
    """Expected excess of the served model at ``step``, and accumulated since its deploy."""
    last = min(last, losses.shape[0] - 1)
    measured = [
        u
        for u in range(max(deployed_at, 2), last + 1)
        if np.isfinite(losses[served, u]) and np.isfinite(losses[u - 1, u]) and u - 1 != served
    ]
    deviations = np.array(
        [
            losses[served, u] - losses[u - 1, u] - fresh.excess_at(u - served)
            for u in measured[-RECENT:]
        ]
    )
    n = len(deviations)
    deviation = float(np.mean(deviations)) if n else 0.0
    deviation_sd = fresh.typical_sd / math.sqrt(n) if n else 0.0
    current = fresh.excess_at(step - served) + deviation
    sd = math.hypot(fresh.excess_sd_at(step - served), deviation_sd)
    accumulated = sum(
        float(losses[served, u] - losses[u - 1, u])
        if u in measured
        else fresh.excess_at(u - served) + deviation
        for u in range(deployed_at, step + 1)
    )
    return ServedExcess(current, max(sd, fresh.sd_floor), accumulated, len(measured), deviation_sd)
