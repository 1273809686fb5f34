"""Every policy on textbook streams whose best schedule is easy to reason about (issue 10).

The default policy must come within 1.15 of the oracle on every one of them, at every retrain cost
and at T = 40 and T = 400, and must not retrain more than once where there is no staleness. The
other estimating policies are held to looser bounds that still fail a policy blind to a kind of
staleness.
"""

from __future__ import annotations

import pytest

from mlflow_staleness.backtest import oracle_cost, replay
from mlflow_staleness.backtest.textbook import textbook_matrix
from mlflow_staleness.exceptions import InvalidInputError
from mlflow_staleness.policies import DEFAULT, make_policy

WARMUP = 5
RETRAIN_COSTS = (0.05, 0.3, 1.0, 3.0)
STREAMS = {
    "linear, slope 0.003": ("linear", {"slope": 0.003}),
    "linear, slope 0.01": ("linear", {"slope": 0.01}),
    "linear, slope 0.03": ("linear", {"slope": 0.03}),
    "saturating, 0.1 over 3 windows": ("saturating", {"height": 0.1, "scale": 3.0}),
    "saturating, 0.05 at once": ("saturating", {"height": 0.05, "scale": 1.0}),
    "step of 0.1 at half time": ("step", {"height": 0.1}),
    "step of 0.03 at half time": ("step", {"height": 0.03}),
    "no staleness, only noise": ("none", {}),
}


def ratio(name: str, kind: str, shape: dict, T: int, alpha: float) -> tuple[float, int]:
    L, val = textbook_matrix(kind, T, **shape)
    result = replay(make_policy(name), L, alpha, val_loss=val, warmup=WARMUP)
    _, best = oracle_cost(L, alpha, warmup=WARMUP)
    return result.cost / best, result.n_retrains


@pytest.mark.parametrize("T", [40, 400])
@pytest.mark.parametrize("alpha", RETRAIN_COSTS)
@pytest.mark.parametrize("stream", list(STREAMS))
def test_the_default_policy_is_within_1_15_of_the_oracle(stream, alpha, T):
    kind, shape = STREAMS[stream]

    cost_ratio, _ = ratio(DEFAULT, kind, shape, T, alpha)

    assert cost_ratio <= 1.15, f"{DEFAULT} costs {cost_ratio:.3f} x the oracle on {stream}"


@pytest.mark.parametrize("T", [40, 400])
@pytest.mark.parametrize("alpha", RETRAIN_COSTS)
def test_the_default_policy_retrains_at_most_once_without_staleness(alpha, T):
    _, retrains = ratio(DEFAULT, "none", {}, T, alpha)

    assert retrains <= 1


@pytest.mark.parametrize("alpha", [0.05, 0.3])
@pytest.mark.parametrize("name", ["forecast", "cumulative", "threshold", "periodic"])
def test_every_estimating_policy_retrains_on_steep_linear_staleness(name, alpha):
    _, retrains = ratio(name, "linear", {"slope": 0.03}, 40, alpha)

    assert retrains >= 2


@pytest.mark.parametrize("alpha", RETRAIN_COSTS)
@pytest.mark.parametrize("stream", list(STREAMS))
@pytest.mark.parametrize("name", ["forecast", "cumulative", "threshold", "periodic"])
def test_every_estimating_policy_is_within_1_5_of_the_oracle_at_40_windows(name, stream, alpha):
    kind, shape = STREAMS[stream]

    cost_ratio, _ = ratio(name, kind, shape, 40, alpha)

    assert cost_ratio <= 1.5, f"{name} costs {cost_ratio:.3f} x the oracle on {stream}"


@pytest.mark.parametrize("alpha", [0.05, 0.3])
def test_never_retraining_is_far_from_the_oracle_on_linear_staleness(alpha):
    """The streams are hard enough that ignoring staleness fails the bounds above."""
    cost_ratio, _ = ratio("never", "linear", {"slope": 0.01}, 400, alpha)

    assert cost_ratio > 3


def test_an_unknown_textbook_kind_is_refused_naming_the_valid_ones():
    with pytest.raises(InvalidInputError, match="valid kinds are linear, saturating, step, none"):
        textbook_matrix("wavy", 10)
