"""Staleness estimators: an estimate with its uncertainty, and the evidence behind it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlflow_staleness.estimators import Estimate, MeasuredEstimator, SimilarityEstimator
from mlflow_staleness.exceptions import InvalidInputError


def _pairs(rng: np.random.Generator, n: int, slope: float, offset: float, noise: float) -> list:
    distances = rng.uniform(0.0, 2.0, n)
    from_validation = rng.random(n) < 0.5
    increases = slope * distances + offset * from_validation + noise * rng.normal(size=n)
    rows = zip(distances, increases, from_validation, strict=True)
    return [(float(d), float(x), bool(v)) for d, x, v in rows]


def test_a_measured_loss_is_the_mean_row_loss_with_its_standard_error():
    rows = np.array([0, 1, 1, 0, 0, 0, 1, 0, 0, 0], dtype=float)
    estimate = MeasuredEstimator().estimate(rows)
    assert estimate.value == pytest.approx(0.3)
    assert estimate.sd == pytest.approx(np.std(rows, ddof=1) / math.sqrt(10))
    assert estimate.evidence == ("measured",)


def test_a_measured_loss_is_clipped_at_the_bound():
    assert MeasuredEstimator(clip=1.0).estimate([3.0, 1.0]).value == 1.0


def test_a_measured_loss_needs_rows():
    with pytest.raises(InvalidInputError, match="at least one labelled row, got 0 rows"):
        MeasuredEstimator().estimate([])


def test_a_measured_loss_refuses_nan_rows():
    with pytest.raises(InvalidInputError, match="1 NaN or infinite"):
        MeasuredEstimator().estimate([0.0, np.nan])


def test_the_similarity_relation_recovers_slope_and_validation_offset():
    rng = np.random.default_rng(0)
    fitted = SimilarityEstimator().fit(_pairs(rng, 400, slope=0.08, offset=0.05, noise=0.01))
    assert fitted.slope_ == pytest.approx(0.08, abs=0.01)
    assert fitted.offset_ == pytest.approx(0.05, abs=0.01)
    assert fitted.sigma_ == pytest.approx(0.01, rel=0.3)


def test_a_farther_window_is_estimated_as_worse():
    rng = np.random.default_rng(1)
    fitted = SimilarityEstimator().fit(_pairs(rng, 100, slope=0.1, offset=0.0, noise=0.01))
    near = fitted.estimate([(0.2, 0.1, False)])
    far = fitted.estimate([(0.2, 1.5, False)])
    assert far.value > near.value


def test_with_no_history_the_prior_is_used_and_the_confidence_is_zero():
    fitted = SimilarityEstimator(prior_slope=0.05, prior_offset=0.02).fit([])
    estimate = fitted.estimate([(0.2, 1.0, True)])
    assert estimate.value == pytest.approx(0.2 + 0.02 + 0.05)
    assert estimate.confidence == 0.0
    assert "prior relation" in estimate.note


def test_confidence_grows_with_the_history():
    rng = np.random.default_rng(2)
    pairs = _pairs(rng, 64, slope=0.1, offset=0.0, noise=0.02)
    few = SimilarityEstimator().fit(pairs[:4]).estimate([(0.2, 0.5, False)])
    many = SimilarityEstimator().fit(pairs).estimate([(0.2, 0.5, False)])
    assert few.confidence < many.confidence


def test_the_ninety_percent_interval_covers_about_ninety_percent_of_new_losses():
    rng = np.random.default_rng(3)
    fitted = SimilarityEstimator().fit(_pairs(rng, 300, slope=0.1, offset=0.03, noise=0.03))
    covered = 0
    trials = 2000
    for _ in range(trials):
        d = float(rng.uniform(0, 2))
        truth = 0.2 + 0.1 * d + 0.03 * rng.normal()
        low, high = fitted.estimate([(0.2, d, False)]).interval(0.9)
        covered += low <= truth <= high
    assert 0.85 <= covered / trials <= 0.95


def test_the_estimate_works_without_labels_for_the_current_window():
    estimate = SimilarityEstimator().fit([]).estimate([(0.25, 0.3, True)])
    assert estimate.evidence == ("validation", "similarity")
    assert math.isfinite(estimate.value)


def test_estimating_before_fitting_says_what_to_do():
    with pytest.raises(InvalidInputError, match=r"call fit\(pairs\) first"):
        SimilarityEstimator().estimate([(0.2, 0.1, False)])


def test_a_model_with_no_reference_has_no_usable_evidence():
    with pytest.raises(InvalidInputError, match="no usable evidence"):
        SimilarityEstimator().fit([]).estimate([])


@pytest.mark.parametrize(
    ("pair", "message"),
    [((-1.0, 0.1, False), "finite distance >= 0"), ((0.5, math.nan, True), "finite loss")],
)
def test_bad_history_pairs_are_named(pair, message):
    with pytest.raises(InvalidInputError, match=message):
        SimilarityEstimator().fit([pair])


def test_a_negative_prior_slope_is_refused():
    with pytest.raises(InvalidInputError, match="prior_slope must be a finite number >= 0"):
        SimilarityEstimator(prior_slope=-0.1).fit([])


def test_an_estimate_refuses_a_nan_value():
    with pytest.raises(InvalidInputError, match="finite number"):
        Estimate(value=math.nan, sd=0.1)


def test_an_interval_level_outside_zero_one_is_refused():
    with pytest.raises(InvalidInputError, match=r"level must lie in \(0, 1\)"):
        Estimate(value=0.1, sd=0.1).interval(1.5)
