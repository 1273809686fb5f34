"""What the served model's own losses and its data say beyond the age curve.

The age curve (:mod:`mlflow_staleness.policies._excess`) is measured only where a fresh model
served next to older ones, and it is flat beyond the oldest age measured. Two signals look past
it, each counted only where it stands out of its own noise:

**Level.** The served model's loss on each labelled window since it was deployed, less the
latest fresh loss known (the mean of the last ``REFERENCE_WINDOWS`` windows where a fresh model
served) and less what the age curve already predicts at its age. Windows differ in
difficulty: the fresh losses scatter with standard deviation :math:`s_F` across windows, so only
the part of the excess above :math:`z s_F` counts (``LEVEL_Z``). A loss level that has risen this
far has two explanations, staleness or harder windows, and only a retrain tells them apart; the
policies therefore act on it only once its accumulated excess pays for that retrain
(break-even), and the retrain then measures the truth (the age curve at the served model's age).
Only the part of each window's excess above the threshold is counted, except for a rise so large
(``FULL_COUNT`` times the threshold) that window difficulty cannot explain it: that counts in
full.

**Drift.** The fingerprint distance between the served model's training window and each window
it served, set against its level excess there: a slope (non-negative, shrunk towards 0 by
``DRIFT_PRIOR`` pseudo-observations at the mean distance) says how much loss a unit of drift
costs *this* model. The current window's distance, beyond those already served, then predicts
the excess ahead, counted beyond ``DRIFT_Z`` standard errors of that prediction. Where loss does
not follow drift (covariate shift that costs nothing), the slope is about 0 and so is the signal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mlflow_staleness.exceptions import FutureAccessError
from mlflow_staleness.policies._excess import RECENT, FreshLevels, fresh_windows
from mlflow_staleness.policies.base import Observation

__all__ = ["LEVEL_Z", "BeyondCurve", "Signals", "beyond_curve"]

#: Standard deviations of the fresh losses a level excess must clear before it counts.
LEVEL_Z = 2.0
#: A level excess this many times the threshold (eight standard deviations) is no longer window
#: difficulty: it counts towards break-even in full, not only the part above the threshold.
FULL_COUNT = 4.0
#: The latest exact fresh losses whose mean is the level's reference.
REFERENCE_WINDOWS = 3
#: At a cold start (one version, one or two windows), the prior noise of the loss level, as a
#: share of the reference level.
COLD_NOISE = 0.2
#: Standard errors the drift prediction must clear before it counts.
DRIFT_Z = 3.0
#: Pseudo-observations that shrink the drift slope towards 0.
DRIFT_PRIOR = 16.0


@dataclass(frozen=True)
class Signals:
    """Which signals beyond the age curve count, and how strict the level's threshold is."""

    level: bool = True
    drift: bool = True
    level_z: float = LEVEL_Z


@dataclass(frozen=True)
class BeyondCurve:
    """The served model's excess beyond the age curve, in loss units per step."""

    level: float = 0.0  # level excess now: mean over the latest windows, beyond its noise
    level_accumulated: float = 0.0  # level excess beyond its noise, summed since the deploy
    drift: float = 0.0  # excess the current window's drift predicts, beyond its noise
    drift_slope: float = 0.0  # loss per unit of drift, fitted on the served model's windows
    fresh_sd: float = math.nan  # scatter of fresh losses across windows (the level's noise)
    n_windows: int = 0  # served windows the level was measured on
    used_validation: bool = False  # the reference is the served model's validation loss

    @property
    def now(self) -> float:
        """The excess beyond the curve expected at the step being decided."""
        return self.level + self.drift


def beyond_curve(
    obs: Observation, fresh: FreshLevels, signals: Signals | None = None
) -> BeyondCurve:
    """Level and drift signals of the served model at ``obs.step``."""
    signals = signals or Signals()
    if not signals.level and not signals.drift:
        return BeyondCurve()
    losses = np.asarray(obs.losses)
    last = min(obs.last_labelled, losses.shape[0] - 1)
    served = obs.served
    _, exact = fresh_windows(losses, fresh.first, last)
    windows = np.arange(max(obs.deployed_at, served + 1, fresh.first), last + 1)
    own = losses[served, windows]
    measured_own = own[np.isfinite(own)]
    used_validation = False
    if exact.size > 1:
        # The fresh loss to compare with is the latest known: a level that the last retrain
        # measured as window difficulty becomes the new normal, not staleness again.
        typical = float(np.mean(exact[-REFERENCE_WINDOWS:]))
        scatter = float(np.std(exact, ddof=1))
    else:
        # A cold start: at most one fresh loss (the served model's own first window). Its
        # calibrated validation loss is a fresh level too, and the lower of the two is the
        # reference; the served model's window-to-window changes give the noise, or, with fewer
        # than three windows, a prior of COLD_NOISE of the reference.
        candidates = [float(v) for v in exact]
        val_loss = np.asarray(obs.val_loss)
        if np.isfinite(val_loss[served]):
            candidates.append(float(val_loss[served]) + _offset(obs, losses, val_loss))
        if not candidates:
            return BeyondCurve()
        typical = min(candidates)
        used_validation = typical < min([*exact.tolist(), math.inf])
        if measured_own.size >= 3:
            scatter = _robust_step_scatter(measured_own, fresh.typical_sd)
        else:
            scatter = COLD_NOISE * abs(typical)
    fresh_sd = max(scatter, fresh.sd_floor)
    threshold = signals.level_z * fresh_sd

    exactly_measured = np.isfinite(losses[windows - 1, windows]) & (windows - 1 != served)
    use = np.isfinite(own) & ~exactly_measured  # measured windows: the served deviation has them
    windows, own = windows[use], own[use]
    if windows.size == 0:
        return BeyondCurve(fresh_sd=fresh_sd, used_validation=used_validation)
    excess = own - typical - fresh.excess_of(windows - served)
    above = np.where(excess > FULL_COUNT * threshold, excess, np.maximum(excess - threshold, 0.0))
    level = max(0.0, float(np.mean(excess[-RECENT:])) - threshold)
    slope, drift = _drift(obs, windows, excess) if signals.drift else (0.0, 0.0)
    if not signals.level:
        level, above = 0.0, np.zeros(0)
    return BeyondCurve(
        level=level,
        level_accumulated=float(np.sum(above)),
        drift=drift,
        drift_slope=slope,
        fresh_sd=fresh_sd,
        n_windows=int(windows.size),
        used_validation=used_validation,
    )


def _offset(obs: Observation, losses: np.ndarray, val_loss: np.ndarray) -> float:
    """Mean gap between the other models' validation losses and their next window's loss (how
    much a validation split flatters); 0 without any."""
    others = np.array([m for m in obs.models if m != obs.served and m + 1 < losses.shape[0]])
    if others.size == 0:
        return 0.0
    gaps = losses[others, others + 1] - val_loss[others]
    gaps = gaps[np.isfinite(gaps)]
    return float(np.mean(gaps)) if gaps.size else 0.0


def _robust_step_scatter(values: np.ndarray, fallback: float) -> float:
    """Standard deviation of a series' noise from its window-to-window changes: the median
    absolute change, scaled to a normal's standard deviation (``fallback`` with fewer than three
    values)."""
    if values.size < 3:
        return fallback
    changes = np.abs(np.diff(values))
    return float(np.median(changes)) * 1.4826 / math.sqrt(2.0)


def _drift(obs: Observation, windows: np.ndarray, excess: np.ndarray) -> tuple[float, float]:
    """``(slope, excess predicted ahead)`` from the drift of the served model's windows."""
    if obs.drift is None or windows.size < 3:
        return 0.0, 0.0
    try:
        served_on = obs.drift.row(obs.served, windows)
        now = obs.drift[obs.served, obs.step]
    except (FutureAccessError, IndexError):
        return 0.0, 0.0
    known = np.isfinite(served_on)
    if known.sum() < 3 or not math.isfinite(now):
        return 0.0, 0.0
    d, y = served_on[known], excess[known]
    d_mean, y_mean = float(np.mean(d)), float(np.mean(y))
    dd, yy = d - d_mean, y - y_mean
    prior = DRIFT_PRIOR * float(np.mean(dd * dd)) + 1e-12
    slope = max(float(dd @ yy) / (float(dd @ dd) + prior), 0.0)
    residual = yy - slope * dd
    sd = math.sqrt(float(residual @ residual) / max(len(y) - 2, 1))
    ahead = now - float(np.mean(d[-RECENT:]))
    se = sd * abs(ahead) / math.sqrt(float(dd @ dd) + prior)
    return slope, max(0.0, slope * ahead - DRIFT_Z * se)
