"""Forecast keep-versus-retrain over a horizon with uncertainty; retrain when the pessimistic
saving still pays for the retrain."""

from __future__ import annotations

import math
from statistics import NormalDist

from mlflow_staleness.decision import Decision
from mlflow_staleness.exceptions import InvalidInputError
from mlflow_staleness.policies._estimate import decision_numbers, estimate_step
from mlflow_staleness.policies.base import Observation, Policy, keep, retrain

__all__ = ["Forecast"]


class Forecast(Policy):
    """Uncertainty-aware retraining by forecasting the cost of keeping against retraining.

    Parameters
    ----------
    quantile
        How pessimistic the forecast of the served model's staleness is: retrain only when the
        saving still holds at this lower quantile of its forecast distribution. Default 0.95.

    Notes
    -----
    At step :math:`t` the served model has age :math:`a`. A panel model of all revealed losses
    (see :mod:`mlflow_staleness.policies._panel`) gives the served model's expected excess over a
    fresh model, :math:`\\hat s_t`, with standard deviation :math:`\\sigma_t`, and the age curve
    :math:`e(k)` of a fresh model's own staleness.

    The horizon comes from the cost ratio: a fresh cycle of :math:`H` steps costs
    :math:`\\alpha + \\sum_{k=1}^{H} e(k)`, and :math:`H^*` minimises its cost per step
    :math:`g^* = \\min_H (\\alpha + \\sum_{k \\le H} e(k)) / H`. Retraining now starts such a
    cycle; keeping one more step costs :math:`\\hat s_t` now. Retrain when

    .. math:: \\hat s_t - z_q \\sigma_t \\ge g^*,

    the renewal rule of age replacement: the pessimistic saving of replacing now, over the
    horizon, beats the retrain cost amortised over it. A cheaper retrain gives a shorter horizon
    and a lower bar; when longer cycles only get cheaper (:math:`H^* = \\infty`, a stationary
    stream), the bar is the staleness a fresh model reaches anyway, and only a model worse than
    that is replaced.

    References
    ----------
    Regol, Schwinn, Sprague, Coates, Markovich (2025). When to retrain a machine learning model.
    ICML 2025.

    Examples
    --------
    >>> Forecast()
    Forecast(quantile=0.95)
    """

    name = "forecast"

    def __init__(self, *, quantile: float = 0.95) -> None:
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
        pessimistic = estimate.cycle_rate + margin
        numbers = decision_numbers(estimate, obs.retrain_cost, margin, estimate.saving_sd)
        horizon = estimate.cycle_length
        shown = "unbounded" if math.isinf(horizon) else f"{horizon:.0f} windows"
        if estimate.evidence and margin >= 0:
            return retrain(
                obs,
                f"staleness {estimate.staleness:.4f}/step (at worst {pessimistic:.4f} at "
                f"q={self.quantile}) beats the retrain cost amortised over {shown}, "
                f"{estimate.cycle_rate:.4f}/step",
                **numbers,
            )
        return keep(
            obs,
            f"staleness {estimate.staleness:.4f}/step (at worst {pessimistic:.4f} at "
            f"q={self.quantile}) is below the retrain cost amortised over {shown}, "
            f"{estimate.cycle_rate:.4f}/step",
            **numbers,
        )
