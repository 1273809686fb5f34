"""Break-even: retrain when the staleness accumulated since the last deploy reaches the retrain
cost (rent-or-buy)."""

from __future__ import annotations

from mlflow_staleness._validation import check_nonnegative
from mlflow_staleness.decision import Decision
from mlflow_staleness.exceptions import InvalidInputError
from mlflow_staleness.policies._estimate import decision_numbers
from mlflow_staleness.policies._similarity import ESTIMATES, step_estimate
from mlflow_staleness.policies.base import Observation, Policy, keep, retrain

__all__ = ["Cumulative"]


class Cumulative(Policy):
    """Retrain when the estimated staleness accumulated since the last deploy reaches ``tau``.

    Parameters
    ----------
    tau
        The threshold on accumulated staleness, in loss units. ``None`` (the default) uses the
        retrain cost itself: the break-even rule of rent-or-buy.
    estimate
        How staleness is estimated: ``"age-curve"`` (default; the age curve and the signals
        beyond it, as the default policy sees them) or ``"similarity"`` (the seed's method:
        excesses of past models on past windows, weighted by how similar their drift is to the
        served model's drift now; see :mod:`mlflow_staleness.policies._similarity`).

    Notes
    -----
    With accumulated staleness :math:`A_t = \\sum_{u = d}^{t} \\hat s_u` since the deploy at
    :math:`d`, retrain when :math:`A_t \\ge \\tau`. In the classic ski-rental setting, with
    ``tau = alpha``, this pays at most twice the best schedule; here it is a guide, not a
    guarantee, since staleness is estimated. With staleness growing linearly in age it retrains at
    age :math:`\\sqrt{2\\alpha/\\beta}`, which is also the optimal fixed interval.

    Staleness is estimated from the age curve of every revealed loss (see
    :mod:`mlflow_staleness.policies._excess`). On the decision benchmark, counting from the last
    paid retrain instead of the last deploy (so that a rejected challenger resets the count) cost
    more: geometric mean 1.155 against 1.141.

    References
    ----------
    Karlin, Manasse, McGeoch, Owicki (1994). Competitive randomized algorithms for nonuniform
    problems. Algorithmica 11.

    Examples
    --------
    >>> Cumulative()
    Cumulative(tau=None, estimate='age-curve')
    >>> Cumulative(tau=0.5)
    Cumulative(tau=0.5, estimate='age-curve')
    """

    name = "cumulative"

    def __init__(self, *, tau: float | None = None, estimate: str = "age-curve") -> None:
        self.tau = tau
        self.estimate = estimate

    def start(self) -> Cumulative:
        if self.estimate not in ESTIMATES:
            raise InvalidInputError(
                f"estimate must be one of {', '.join(ESTIMATES)}, got {self.estimate!r}"
            )
        if self.tau is not None:
            check_nonnegative("tau", self.tau)
        return self

    def decide(self, obs: Observation) -> Decision:
        tau = obs.retrain_cost if self.tau is None else float(self.tau)
        estimate = step_estimate(obs, self.estimate)
        margin = estimate.accumulated - tau
        numbers = decision_numbers(estimate, obs.retrain_cost, margin)
        if estimate.evidence and margin >= 0:
            return retrain(
                obs,
                f"accumulated staleness {estimate.accumulated:.4f} since deploy "
                f"reached the break-even {tau:.4f}",
                **numbers,
            )
        return keep(
            obs,
            f"accumulated staleness {estimate.accumulated:.4f} is below the break-even {tau:.4f}",
            **numbers,
        )
