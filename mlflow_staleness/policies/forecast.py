"""Forecast keep-versus-retrain with every signal the evidence holds; retrain when the saving of a
fresh retraining cycle beats keeping, each signal counted as far as it can be trusted."""

from __future__ import annotations

from statistics import NormalDist

from mlflow_staleness._validation import check_nonnegative
from mlflow_staleness.decision import Decision
from mlflow_staleness.exceptions import InvalidInputError
from mlflow_staleness.policies._confidence import calibrated
from mlflow_staleness.policies._estimate import StepEstimate, decision_numbers, estimate_step
from mlflow_staleness.policies._signals import LEVEL_Z, Signals
from mlflow_staleness.policies.base import Observation, Policy, keep, retrain
from mlflow_staleness.policies.gate import deploy_always, evidence_gate, validation_gate

__all__ = ["Forecast"]

_GATES = ("evidence", "validation", "always")


class Forecast(Policy):
    r"""Uncertainty-aware retraining: the renewal rule of age replacement on the served model's
    forecast staleness, with the evidence beyond the age curve held to break-even.

    Parameters
    ----------
    quantile
        How pessimistic the forecast is: retrain only when the saving still holds at this lower
        quantile of its forecast distribution. The default, 0.5, decides on the expected saving
        (risk-neutral, which minimises expected cost).
    level
        Count the served model's loss level beyond the age curve (see Notes). Default True.
    drift
        Count the drift of the current window from the served model's reference (see Notes).
        Default True; without drift scores (no windows) it is simply absent.
    level_z
        Standard deviations of the fresh losses across windows that a level excess must clear
        before it counts. Default 2.
    deploy
        How the gate judges a challenger: ``"evidence"`` (default; validation weighed against the
        staleness estimate, :func:`~mlflow_staleness.policies.gate.evidence_gate`),
        ``"validation"`` (validation alone,
        :func:`~mlflow_staleness.policies.gate.validation_gate`) or ``"always"`` (deploy every
        challenger).

    Notes
    -----
    At step :math:`t` the served model has age :math:`a`. Its forecast staleness (excess loss
    over a fresh model, per step) is

    .. math:: \hat s_t = \underbrace{e(a) + d}_{\text{curve}}
              + \underbrace{\ell_t + \delta_t}_{\text{beyond the curve}}

    - :math:`e(k)`, the **age curve**: the mean excess of a model of age :math:`k` over a fresh
      one, measured wherever a fresh model served next to older ones (column difficulty cancels
      in that difference), non-decreasing, flat beyond the oldest age measured;
    - :math:`d`, the served model's own **measured deviation** from the curve, on windows where a
      fresh model's loss is known;
    - :math:`\ell_t`, its **loss level**: its losses on the windows it served, above the latest
      fresh losses known and beyond :math:`e`, counted only above two standard deviations of the
      fresh losses across windows (windows differ in difficulty that much without any
      staleness);
    - :math:`\delta_t`, the **drift** of the current window's data from the served model's
      reference beyond the windows it served recently, times the loss per unit of drift fitted
      on those windows (about 0 where loss does not follow drift), counted beyond its standard
      error.

    A fresh cycle of :math:`H` steps costs :math:`\alpha + \sum_{k=1}^{H} e(k)`, and
    :math:`g^* = \min_{H \le t} (\alpha + \sum_{k \le H} e(k)) / H` is its least cost per step
    (no payback is promised beyond the windows seen so far). Retraining now starts such a cycle;
    keeping costs :math:`\hat s_t` for one more step. Retrain when

    .. math:: \hat s_t - g^* - z_q \sigma \ge 0,

    the renewal rule of age replacement, where :math:`\sigma` is the standard deviation of
    :math:`\hat s_t - g^*` and :math:`z_q` the normal quantile of ``quantile``.

    **Value of information.** When the rule holds only through :math:`\ell_t + \delta_t`, the
    evidence is a loss level that has risen beyond the measured curve: staleness at ages never
    measured, or harder windows. A retrain tells them apart (it measures the curve at the served
    model's age), so it is bought as a rent-or-buy decision: once the level excess accumulated
    since the deploy, :math:`\sum_u \ell_u`, reaches the retrain cost. This bounds what a
    level rise that retraining cannot fix costs (one retrain per rise of that size), and lets
    staleness that shows only at old ages, or after a sudden change, be caught without a curve
    measured there.

    The gate (:func:`~mlflow_staleness.policies.gate.evidence_gate`) weighs the challenger's
    validation loss against this estimate, each by its precision.

    References
    ----------
    Regol, Schwinn, Sprague, Coates, Markovich (2025). When to retrain a machine learning model.
    ICML 2025.

    Barlow, Proschan (1965). Mathematical Theory of Reliability (age replacement).

    Examples
    --------
    >>> Forecast()
    Forecast(quantile=0.5, level=True, drift=True, level_z=2.0, deploy='evidence')
    """

    name = "forecast"

    def __init__(
        self,
        *,
        quantile: float = 0.5,
        level: bool = True,
        drift: bool = True,
        level_z: float = LEVEL_Z,
        deploy: str = "evidence",
    ) -> None:
        self.quantile = quantile
        self.level = level
        self.drift = drift
        self.level_z = level_z
        self.deploy = deploy

    def start(self) -> Forecast:
        q = self.quantile
        if isinstance(q, bool) or not isinstance(q, int | float) or not 0.5 <= q < 1:
            raise InvalidInputError(f"quantile must be a number in [0.5, 1), got {q!r}")
        for name in ("level", "drift"):
            if not isinstance(getattr(self, name), bool):
                value = getattr(self, name)
                raise InvalidInputError(f"{name} must be True or False, got {value!r}")
        check_nonnegative("level_z", self.level_z)
        if self.deploy not in _GATES:
            raise InvalidInputError(
                f"deploy must be one of {', '.join(_GATES)}, got {self.deploy!r}"
            )
        self.z_ = NormalDist().inv_cdf(float(q))
        self.signals_ = Signals(level=self.level, drift=self.drift, level_z=float(self.level_z))
        return self

    def decide(self, obs: Observation) -> Decision:
        estimate = estimate_step(obs, self.signals_)
        margin, waiting = self._margin(estimate, obs.retrain_cost)
        numbers = decision_numbers(estimate, obs.retrain_cost, margin, estimate.saving_sd)
        numbers["confidence"] = calibrated(numbers["confidence"])
        if not estimate.evidence:
            return keep(obs, "no labelled window yet to estimate staleness from", **numbers)
        text = _reason(estimate, self.z_, self.quantile)
        if margin >= 0:
            return retrain(obs, f"{text}: retrain", **numbers)
        if waiting:
            beyond = estimate.beyond
            return keep(
                obs,
                f"{text}, but the loss level beyond the age curve has accumulated only "
                f"{beyond.level_accumulated + beyond.now:.4f} of the retrain cost "
                f"{obs.retrain_cost:.4f}: keep",
                **numbers,
            )
        return keep(obs, f"{text}: keep", **numbers)

    def gate(self, obs: Observation) -> Decision:
        if self.deploy == "validation":
            return validation_gate(obs)
        if self.deploy == "always":
            return deploy_always(obs)
        return evidence_gate(obs, self.signals_)

    def _margin(self, estimate: StepEstimate, retrain_cost: float) -> tuple[float, bool]:
        """The decision margin, and whether a positive one waits for break-even."""
        spread = self.z_ * estimate.saving_sd
        margin = estimate.staleness - estimate.cycle_rate - spread
        by_curve = estimate.curve_staleness - estimate.cycle_rate - spread
        beyond = estimate.beyond
        waits = beyond.level_accumulated + beyond.now < retrain_cost
        if margin >= 0 > by_curve and waits:
            return min(by_curve, -1e-12), True
        return margin, False


def _reason(estimate: StepEstimate, z: float, quantile: float) -> str:
    beyond = estimate.beyond
    parts = [f"age curve {max(estimate.curve_staleness, 0.0):.4f}"]
    if beyond.level:
        parts.append(f"loss level {beyond.level:.4f}")
    if beyond.drift:
        parts.append(f"drift {beyond.drift:.4f}")
    worst = ""
    if z > 0:
        worst = f"; pessimistic at q={quantile}: {estimate.cycle_rate + z * estimate.saving_sd:.4f}"
    cycle = f"{estimate.cycle_length:.0f}-window"
    stale = f"{estimate.staleness:.4f}/step"
    if estimate.staleness < 0:  # an excess over a fresh model: below zero is noise, said so
        stale = f"0/step (the estimate {estimate.staleness:.4f} is below zero: clipped)"
    return (
        f"stale by {stale} ({', '.join(parts)}){worst}; a fresh {cycle} "
        f"cycle costs {estimate.cycle_rate:.4f}/step with the retrain amortised"
    )
