"""Forecast keep-versus-retrain over a horizon with uncertainty; retrain when the pessimistic
saving still pays for the retrain."""

from __future__ import annotations

from statistics import NormalDist

from mlflow_staleness.decision import Decision
from mlflow_staleness.exceptions import InvalidInputError
from mlflow_staleness.policies._estimate import decision_numbers, estimate_step
from mlflow_staleness.policies.base import Observation, Policy, keep, retrain

__all__ = ["Forecast"]


class Forecast(Policy):
    r"""Uncertainty-aware retraining by forecasting the cost of keeping against retraining.

    Parameters
    ----------
    quantile
        How pessimistic the forecast is: retrain only when the saving still holds at this lower
        quantile of its forecast distribution. The default, 0.5, decides on the expected saving
        (risk-neutral, which minimises expected cost). Higher values retrain only on stronger
        evidence; on the decision benchmark 0.8 and 0.95 cost more (geometric mean of cost/oracle
        1.14 and 1.15, against 1.10 at 0.5), because a wasted retrain and a missed one cost alike
        in expectation while the uncertainty of an age curve fitted on a few windows is wide.

    Notes
    -----
    At step :math:`t` the served model has age :math:`a`. The revealed losses give the age curve
    :math:`e(k)`: a model's expected excess loss over a fresh one at age :math:`k`, measured
    wherever a fresh model's loss is known (see :mod:`mlflow_staleness.policies._excess`). The
    forecast of keeping the served model is :math:`\hat s_t = e(a)` plus its own measured
    deviation from the curve.

    The horizon comes from the cost ratio: a fresh cycle of :math:`H` steps costs
    :math:`\alpha + \sum_{k=1}^{H} e(k)`, and :math:`H^*` minimises its cost per step
    :math:`g^* = \min_H (\alpha + \sum_{k \le H} e(k)) / H`, with :math:`H` at most the
    number of windows seen so far (no payback is promised beyond the evidence). Retraining now
    starts such a cycle; keeping one more step costs :math:`\hat s_t`. Retrain when

    .. math:: \hat s_t - g^* - z_q \sigma \ge 0,

    where :math:`\sigma` is the standard deviation of :math:`\hat s_t - g^*` (both come from
    the same curve, so their errors partly cancel) and :math:`z_q` the normal quantile of
    ``quantile``. This is the renewal rule of age replacement: the saving of replacing now
    beats the retrain cost amortised over the horizon. A cheaper retrain gives a shorter horizon
    and a lower bar; when staleness saturates, retraining pays only while the retrain cost is
    below the area between the plateau and the young part of the curve.

    References
    ----------
    Regol, Schwinn, Sprague, Coates, Markovich (2025). When to retrain a machine learning model.
    ICML 2025.

    Examples
    --------
    >>> Forecast()
    Forecast(quantile=0.5)
    """

    name = "forecast"

    def __init__(self, *, quantile: float = 0.5) -> None:
        self.quantile = quantile

    def start(self) -> Forecast:
        q = self.quantile
        if isinstance(q, bool) or not isinstance(q, int | float) or not 0.5 <= q < 1:
            raise InvalidInputError(f"quantile must be a number in [0.5, 1), got {q!r}")
        self.z_ = NormalDist().inv_cdf(float(q))
        return self

    def decide(self, obs: Observation) -> Decision:
        estimate = estimate_step(obs)
        margin = estimate.staleness - estimate.cycle_rate - self.z_ * estimate.saving_sd
        numbers = decision_numbers(estimate, obs.retrain_cost, margin, estimate.saving_sd)
        if not estimate.evidence:
            return keep(obs, "no labelled window yet to estimate staleness from", **numbers)
        cycle = f"{estimate.cycle_length:.0f}-window"
        worst = ""
        if self.z_ > 0:
            worst = f" (pessimistic at q={self.quantile}: {estimate.cycle_rate + margin:.4f})"
        text = (
            f"stale by {estimate.staleness:.4f}/step{worst}; a fresh {cycle} cycle costs "
            f"{estimate.cycle_rate:.4f}/step with the retrain amortised"
        )
        if margin >= 0:
            return retrain(obs, f"{text}: retrain", **numbers)
        return keep(obs, f"{text}: keep", **numbers)
