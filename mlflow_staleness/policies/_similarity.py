"""The seed's estimator: staleness from similar past situations, weighted by fingerprint distance.

A model trained on window ``m`` and serving window ``u`` has drifted by ``D[m, u]``, the
fingerprint distance between the two windows' data. Every such pair whose excess over a fresh
model is known from the history gives one example: ``(D[m, u], L[m, u] - F_u)``, with ``F_u``
the fresh loss (exact where a fresh model served, else the estimated fresh level). The served
model's staleness on the window about to be served is the average excess of the past examples,
each weighted by how similar its drift is to the served model's drift now, ``D[served, t]``: a
Nadaraya–Watson kernel regression with a Gaussian kernel and Silverman's bandwidth.

It needs no age curve and no label of the current window, only the windows' fingerprints. It
assumes that drift explains staleness: where the data moves without costing anything (covariate
shift a retrain cannot fix) or the concept moves without the data moving (a change of labels),
it is misled, and the benchmark shows where. Without drift scores (no windows' data) the
estimate falls back to the age curve.

The seed's three strategies (``threshold``, ``cumulative``, ``periodic``) run on top of it with
``estimate="similarity"``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from mlflow_staleness.policies._estimate import StepEstimate, estimate_step
from mlflow_staleness.policies._excess import FreshLevels
from mlflow_staleness.policies.base import Observation

__all__ = ["ESTIMATES", "similarity_excess", "step_estimate"]

#: How a policy estimates staleness: the age curve with the signals beyond it, or the seed's
#: similarity-weighted past excesses.
ESTIMATES = ("age-curve", "similarity")


def step_estimate(obs: Observation, estimate: str) -> StepEstimate:
    """The staleness estimate ``estimate`` (one of :data:`ESTIMATES`) at ``obs.step``."""
    curve = estimate_step(obs)
    if estimate == "age-curve" or curve.fresh is None or obs.drift is None:
        return curve
    examples = _examples(obs, curve.fresh)
    if examples is None:
        return curve
    drifts, excesses = examples
    served = obs.served
    now, now_sd = _regress(drifts, excesses, np.array([obs.drift[served, obs.step]]))
    last = min(obs.last_labelled, np.asarray(obs.losses).shape[0] - 1)
    windows = np.arange(obs.deployed_at, obs.step + 1)
    labelled = windows[windows <= last]
    own = np.asarray(obs.losses)[served, labelled] - curve.fresh.level[labelled]
    pending = windows[windows > last]
    ahead, _ = _regress(drifts, excesses, obs.drift.row(served, pending))
    known = np.isfinite(own)
    accumulated = float(np.sum(own[known])) + float(np.sum(ahead))
    return replace(
        curve,
        staleness=float(now[0]),
        sd=max(float(now_sd[0]), curve.fresh.sd_floor),
        accumulated=accumulated,
        curve_staleness=float(now[0]),
        evidence=("similarity", "fingerprint"),
    )


def similarity_excess(obs: Observation, fresh: FreshLevels) -> np.ndarray | None:
    """Estimated excess ``L[m, u] - F_u`` for every model row and window column of the latest
    history, from the drift ``D[m, u]`` alone; None without drift scores or examples."""
    if obs.drift is None:
        return None
    examples = _examples(obs, fresh)
    if examples is None:
        return None
    drifts, excesses = examples
    last = min(obs.last_labelled, np.asarray(obs.losses).shape[0] - 1)
    first = max(fresh.first - 1, 0)
    index = np.arange(first, last + 1)
    rows, columns = np.meshgrid(index, index, indexing="ij")
    upper = rows < columns
    out = np.full(rows.shape, np.nan)
    predicted, _ = _regress(drifts, excesses, obs.drift.pairs(rows[upper], columns[upper]))
    out[upper] = predicted
    return out


def _examples(obs: Observation, fresh: FreshLevels) -> tuple[np.ndarray, np.ndarray] | None:
    """``(drift, excess)`` of every existing model on every labelled window of the history."""
    losses = np.asarray(obs.losses)
    last = min(obs.last_labelled, losses.shape[0] - 1)
    windows = np.arange(max(fresh.first, 1), last + 1)
    models = np.array(obs.models, dtype=int)
    rows, columns = np.meshgrid(models, windows, indexing="ij")
    values = losses[rows, columns]
    reference = fresh.level[columns]
    use = (rows < columns) & np.isfinite(values) & np.isfinite(reference)
    if use.sum() < 3:
        return None
    drifts = obs.drift.pairs(rows[use], columns[use])
    excesses = values[use] - reference[use]
    keep = np.isfinite(drifts)
    if keep.sum() < 3:
        return None
    return drifts[keep], excesses[keep]


def _regress(
    drifts: np.ndarray, excesses: np.ndarray, at: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Kernel-weighted mean excess (and its standard error) of the examples at drift ``at``."""
    if at.size == 0:
        return np.zeros(0), np.zeros(0)
    spread = float(np.std(drifts))
    bandwidth = max(spread * len(drifts) ** (-0.2), 1e-9) if spread > 0 else 1.0
    distance = ((at[:, None] - drifts[None, :]) / bandwidth) ** 2
    weights = np.exp(-0.5 * (distance - distance.min(axis=1, keepdims=True)))
    total = weights.sum(axis=1)
    mean = weights @ excesses / total
    variance = (weights * (excesses[None, :] - mean[:, None]) ** 2).sum(axis=1) / total
    effective = total**2 / (weights**2).sum(axis=1)
    return mean, np.sqrt(variance / np.maximum(effective, 1.0))
