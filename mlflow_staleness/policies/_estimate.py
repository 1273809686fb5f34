"""What every estimating policy computes at a step: the served model's staleness, its uncertainty,
the accumulated staleness since deploy, and the economics of a fresh retraining cycle.

The staleness is the age curve's prediction at the served model's age plus its own measured
deviation from the curve (:mod:`~mlflow_staleness.policies._excess`), plus what its loss level and
the drift of the current window show beyond the curve (:mod:`~mlflow_staleness.policies._signals`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from mlflow_staleness.policies._excess import FreshLevels, fresh_levels, served_excess
from mlflow_staleness.policies._signals import BeyondCurve, Signals, beyond_curve
from mlflow_staleness.policies.base import Observation, break_even

_MAX_CYCLE = 2_000


@dataclass(frozen=True)
class StepEstimate:
    """Estimated staleness of the served model at one step, in loss units."""

    staleness: float  # expected excess of the served model over a fresh one, this step
    sd: float  # its standard deviation
    accumulated: float  # expected excess accumulated since deploy, this step included
    curve_staleness: float  # the part the age curve and the measured deviation explain
    cycle_length: float  # H: the retraining interval that minimises cost per step
    cycle_rate: float  # the cost per step of such a fresh cycle, retrain cost included
    saving_sd: float  # standard deviation of staleness - cycle_rate (errors partly cancel)
    confidence_base: float  # in [0, 1], grows with the evidence
    evidence: tuple[str, ...]
    fresh: FreshLevels | None
    beyond: BeyondCurve = field(default_factory=BeyondCurve)

    @property
    def curve_explains(self) -> bool:
        """True when the age curve alone (without the level and drift signals) gives the
        staleness."""
        return self.beyond.now == 0.0


def cycle_economics(
    fresh: FreshLevels, retrain_cost: float, max_length: int = _MAX_CYCLE
) -> tuple[float, float]:
    """Renewal analysis of a fresh model's age curve.

    A cycle of ``p`` steps costs ``alpha + sum_{a=1..p} e(a)``, where ``e(a)`` is a fresh model's
    expected staleness at age ``a`` (flat beyond the oldest observed age), for ``p`` up to
    ``max_length``. Return the ``p`` that minimises the cost per step, and that cost per step.
    """
    steps = np.arange(1, max(int(max_length), 1) + 1)
    excess = np.array([fresh.excess_at(k) for k in steps])
    rate = (retrain_cost + np.cumsum(excess)) / steps
    best = int(np.argmin(rate))
    return float(steps[best]), float(rate[best])


_NOTHING = StepEstimate(
    staleness=0.0,
    sd=math.inf,
    accumulated=0.0,
    curve_staleness=0.0,
    cycle_length=math.inf,
    cycle_rate=math.inf,
    saving_sd=math.inf,
    confidence_base=0.0,
    evidence=(),
    fresh=None,
)


def _saving_sd(fresh: FreshLevels, age: int, length: float, deviation_sd: float) -> float:
    """Standard deviation of ``e(age) + deviation - cycle_rate``.

    Both terms come from the same age curve, so a curve that is too high or too low shifts both:
    the coefficients of each measured age are combined before the errors are added up.
    """
    top = len(fresh.age_curve) - 1
    weights = np.zeros(top + 1)
    weights[min(age, top)] += 1.0
    horizon = max(int(length), 1)
    np.add.at(weights, np.minimum(np.arange(1, horizon + 1), top), -1.0 / horizon)
    variance = float(np.sum((weights * fresh.age_sd) ** 2)) + deviation_sd**2
    return math.sqrt(variance)


def estimate_step(obs: Observation, signals: Signals | None = None) -> StepEstimate:
    """Estimate the served model's staleness at ``obs.step`` from everything revealed;
    ``signals`` says which signals beyond the age curve count (all by default)."""
    losses, val_loss = np.asarray(obs.losses), np.asarray(obs.val_loss)
    fresh = fresh_levels(losses, val_loss, obs.last_labelled)
    if fresh is None:
        return _NOTHING
    served = served_excess(losses, fresh, obs.served, obs.deployed_at, obs.step, obs.last_labelled)
    length, rate = cycle_economics(fresh, obs.retrain_cost, max_length=obs.step)
    saving_sd = _saving_sd(fresh, obs.step - obs.served, length, served.deviation_sd)
    beyond = beyond_curve(obs, fresh, signals)
    evidence = ["age-curve"]
    if served.n_measured or beyond.n_windows:
        evidence.append("measured")
    if beyond.used_validation:
        evidence.append("validation")
    if beyond.level > 0 or beyond.level_accumulated > 0:
        evidence.append("own-level")
    if beyond.drift > 0:
        evidence.append("fingerprint")
    confidence = (served.n_measured + fresh.n_fresh) / (served.n_measured + fresh.n_fresh + 5.0)
    return StepEstimate(
        staleness=served.current + beyond.now,
        sd=served.sd,
        accumulated=served.accumulated + beyond.level_accumulated,
        curve_staleness=served.current,
        cycle_length=length,
        cycle_rate=rate,
        saving_sd=saving_sd,
        confidence_base=confidence,
        evidence=tuple(evidence),
        fresh=fresh,
        beyond=beyond,
    )


def sign_confidence(margin: float, sd: float, base: float) -> float:
    """Probability that the sign of ``margin`` is right under a normal error, times ``base``."""
    if not math.isfinite(sd):
        return 0.0
    if sd <= 0:
        return base
    z = abs(margin) / sd
    return float(base * 0.5 * (1.0 + math.erf(z / math.sqrt(2.0))))


def decision_numbers(
    estimate: StepEstimate, retrain_cost: float, margin: float, margin_sd: float | None = None
) -> dict:
    """The numbers every estimating policy attaches to its decision; the confidence is the
    probability that the decision's margin has the sign it was given."""
    sd = estimate.sd if margin_sd is None else margin_sd
    return {
        "staleness_per_step": estimate.staleness,
        "accumulated_staleness": estimate.accumulated,
        "break_even_steps": break_even(retrain_cost, estimate.staleness),
        "uncertainty": estimate.sd if math.isfinite(estimate.sd) else 0.0,
        "confidence": sign_confidence(margin, sd, estimate.confidence_base),
        "evidence": estimate.evidence,
    }
