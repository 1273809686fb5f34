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
#: Labelled windows the estimates look back over. Older windows say little about today's
#: staleness, and the bound keeps one decision fast on a long history (three years of days).
HISTORY = 240


@dataclass(frozen=True)
class FreshLevels:
    """The age curve of staleness, fresh losses per window, and validation calibration."""

    level: np.ndarray  # estimated fresh loss F_u for u = 0 .. last (NaN where unknown or too old)
    age_curve: np.ndarray  # e(k) for k = 0 .. max_age; e(0) = e(1) = 0; non-decreasing
    age_sd: np.ndarray  # standard error of e(k)
    typical: float  # mean fresh loss
    typical_sd: float  # scatter of fresh losses across windows
    offset: float  # calibration of a validation loss to the next window's loss
    offset_sd: float
    n_fresh: int  # windows where the fresh loss is known exactly
    sd_floor: float  # smallest standard deviation, relative to the losses' scale
    first: int = 1  # the oldest window the estimates look at (see HISTORY)

    def excess_at(self, age: int) -> float:
        """``e(age)``, flat beyond the oldest measured age."""
        return float(self.age_curve[min(max(int(age), 0), len(self.age_curve) - 1)])

    def excess_sd_at(self, age: int) -> float:
        """Standard error of ``e(age)``."""
        return float(self.age_sd[min(max(int(age), 0), len(self.age_sd) - 1)])

    def excess_of(self, ages: np.ndarray) -> np.ndarray:
        """``e`` at each of ``ages`` (an integer array), flat beyond the oldest measured age."""
        return self.age_curve[np.clip(ages, 0, len(self.age_curve) - 1)]


def _mean_sd(values: np.ndarray, fallback_sd: float, floor: float) -> tuple[float, float]:
    if values.size == 0:
        return math.nan, fallback_sd
    sd = float(np.std(values, ddof=1)) if values.size > 1 else fallback_sd
    return float(np.mean(values)), max(sd, floor)


def fresh_windows(losses: np.ndarray, first: int, last: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows ``u`` in ``first .. last`` whose fresh loss ``L[u-1, u]`` is known, and those
    losses."""
    windows = np.arange(max(first, 1), last + 1)
    diagonal = losses[windows - 1, windows]
    known = np.isfinite(diagonal)
    return windows[known], diagonal[known]


def fresh_levels(losses: np.ndarray, val_loss: np.ndarray, last: int) -> FreshLevels | None:
    """Estimate the age curve and fresh losses from windows ``0 .. last`` (the latest
    :data:`HISTORY` of them); None without any."""
    T = losses.shape[0]
    last = min(last, T - 1)
    if last < 1:
        return None
    first = max(1, last - HISTORY + 1)
    labelled = losses[first - 1 : last + 1, first - 1 : last + 1]
    shown = val_loss[first - 1 : last + 1]
    validated = val_loss[first - 1 :]
    known = np.concatenate([labelled[np.isfinite(labelled)], validated[np.isfinite(validated)]])
    if known.size == 0:
        return None
    # Every floor and fallback is relative to the losses' own scale, so that rescaling the losses
    # and the retrain cost together changes no decision.
    scale = float(np.mean(np.abs(known))) or 1.0
    floor = _SD_FLOOR * scale
    spread = max(float(np.std(known)), floor)
    exact_u, exact_v = fresh_windows(losses, first, last)
    models = np.arange(first - 1, last)
    next_loss = losses[models, models + 1]
    gap_known = np.isfinite(next_loss) & np.isfinite(val_loss[models])
    gaps = next_loss[gap_known] - val_loss[models][gap_known]
    offset, offset_sd = _mean_sd(gaps, spread, floor)
    offset = offset if math.isfinite(offset) else 0.0
    typical, typical_sd = _mean_sd(exact_v, spread, floor)
    if not math.isfinite(typical):
        calibrated = shown[np.isfinite(shown)] + offset
        typical, typical_sd = _mean_sd(calibrated, spread, floor)
    if not math.isfinite(typical):
        return None

    # Every older model's excess over the exact fresh loss, by age.
    rows = np.arange(T)[:, None]
    block = losses[:, exact_u]
    pair = np.isfinite(block) & (rows < (exact_u - 1)[None, :])
    m_index, column = np.nonzero(pair)
    ages = exact_u[column] - m_index
    excess = block[m_index, column] - exact_v[column]
    max_age = int(ages.max()) if ages.size else 1
    curve, curve_sd = _monotone_curve(ages, excess, max(max_age, 1), typical_sd, floor)

    level = np.full(last + 1, np.nan)
    span = np.arange(first, last + 1)
    before = losses[:, span]
    present = np.isfinite(before) & (rows < span[None, :])
    has_model = present.any(axis=0)
    youngest = T - 1 - np.argmax(present[::-1], axis=0)
    youngest_loss = before[youngest, np.arange(span.size)]
    # a window without a model has no youngest one (argmax of nothing: the last row, possibly
    # after the window): its age is clipped to a valid index, and its level is ``typical`` below
    estimated = youngest_loss - curve[np.clip(span - youngest, 0, len(curve) - 1)]
    level[span] = np.where(has_model, estimated, typical)
    level[exact_u] = exact_v
    return FreshLevels(
        level, curve, curve_sd, typical, typical_sd, offset, offset_sd, exact_u.size, floor, first
    )


def _monotone_curve(
    ages: np.ndarray, excess: np.ndarray, max_age: int, fallback_sd: float, floor: float
) -> tuple[np.ndarray, np.ndarray]:
    """The running maximum of the mean excess per age, with the standard error of each mean.

    Staleness does not shrink with age, so a lower mean at an older age is read as noise. (A
    pool-adjacent-violators fit is the unbiased alternative; on the decision benchmark it scored
    worse, since flat extrapolation beyond the measured ages already errs low.) Ages with no
    measurement take the value of the age before them.
    """
    size = max_age + 1
    counts = np.bincount(ages, minlength=size).astype(float)
    sums = np.bincount(ages, weights=excess, minlength=size)
    squares = np.bincount(ages, weights=excess * excess, minlength=size)
    curve = np.zeros(size)
    curve_sd = np.zeros(size)
    known, known_sd = 0.0, fallback_sd
    for k in range(2, size):
        n = counts[k]
        if n:
            mean = sums[k] / n
            known = max(known, float(mean))
            if n > 1:
                scatter = math.sqrt(max(squares[k] - n * mean * mean, 0.0) / (n - 1))
            else:
                scatter = fallback_sd
            known_sd = max(scatter, floor) / math.sqrt(n)
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
    windows = np.arange(max(deployed_at, 2, fresh.first), last + 1)
    own = losses[served, windows]
    fresh_loss = losses[windows - 1, windows]
    is_measured = np.isfinite(own) & np.isfinite(fresh_loss) & (windows - 1 != served)
    measured = windows[is_measured]
    measured_excess = own[is_measured] - fresh_loss[is_measured]
    recent = slice(-RECENT, None)
    deviations = measured_excess[recent] - fresh.excess_of(measured[recent] - served)
    n = deviations.size
    deviation = float(np.mean(deviations)) if n else 0.0
    deviation_sd = fresh.typical_sd / math.sqrt(n) if n else 0.0
    current = fresh.excess_at(step - served) + deviation
    sd = math.hypot(fresh.excess_sd_at(step - served), deviation_sd)
    span = np.arange(deployed_at, step + 1)
    assumed = fresh.excess_of(span - served) + deviation
    values = dict(zip(measured.tolist(), measured_excess.tolist(), strict=True))
    accumulated = sum(
        values.get(u, a) for u, a in zip(span.tolist(), assumed.tolist(), strict=True)
    )
    return ServedExcess(current, max(sd, fresh.sd_floor), accumulated, len(measured), deviation_sd)
