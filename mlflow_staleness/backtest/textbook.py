"""Textbook loss matrices whose best schedule is easy to reason about.

Each is ``L[i, t] = base + excess(i, t) + noise`` for ``i < t`` (NaN elsewhere), with seeded
normal noise, plus validation losses ``base + noise``:

=================  =================================================  ===========================
kind               excess of model ``i`` on window ``t``              the oracle
=================  =================================================  ===========================
``linear``         ``slope * (t - i - 1)``: staleness grows with age  retrain every
                                                                      ``sqrt(2 alpha / slope)``
``saturating``     ``height * (1 - exp(-(t - i - 1) / scale))``       retrain while ``alpha`` is
                                                                      below the area between the
                                                                      plateau and the young curve
``step``           ``height`` when ``i < at <= t``: a change at a     retrain once, right after
                   fixed calendar time                                the change, if it pays
``none``           0: only noise                                      never retrain (or once, on
                                                                      a lucky draw)
=================  =================================================  ===========================

Examples
--------
>>> L, val = textbook_matrix("linear", 6, slope=0.01, noise=0.0)
>>> np.round(L[0, 1:], 3).tolist()
[0.2, 0.21, 0.22, 0.23, 0.24]
>>> textbook_matrix("curvy", 6)
Traceback (most recent call last):
...
mlflow_staleness.exceptions.InvalidInputError: unknown textbook kind 'curvy'; valid kinds are ...
"""

from __future__ import annotations

import numpy as np

from mlflow_staleness._validation import check_int
from mlflow_staleness.exceptions import InvalidInputError

__all__ = ["TEXTBOOK_KINDS", "textbook_matrix"]

TEXTBOOK_KINDS = ("linear", "saturating", "step", "none")


def textbook_matrix(
    kind: str,
    T: int,
    *,
    base: float = 0.2,
    noise: float = 0.01,
    slope: float = 0.01,
    height: float = 0.1,
    scale: float = 3.0,
    at: int | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """``(L, val_loss)`` of one textbook stream (see the module docstring).

    Parameters
    ----------
    kind
        ``"linear"``, ``"saturating"``, ``"step"`` or ``"none"``.
    T
        Windows.
    base, noise
        The fresh loss, and the standard deviation of the independent noise on every entry.
    slope, height, scale, at
        The excess's shape: ``slope`` per window of age (linear), ``height`` of the plateau or
        step, ``scale`` in windows of age (saturating), ``at`` the window of the step (default
        ``T // 2``).
    seed
        Seeds the noise; nothing global is touched.
    """
    if kind not in TEXTBOOK_KINDS:
        raise InvalidInputError(
            f"unknown textbook kind {kind!r}; valid kinds are {', '.join(TEXTBOOK_KINDS)}"
        )
    T = check_int("T", T, 2)
    rng = np.random.default_rng(seed)
    i = np.arange(T)[:, None]
    t = np.arange(T)[None, :]
    age = (t - i).astype(float)
    if kind == "linear":
        excess = slope * (age - 1)
    elif kind == "saturating":
        excess = height * (1 - np.exp(-(age - 1) / scale))
    elif kind == "step":
        change = T // 2 if at is None else int(at)
        excess = height * ((i < change) & (t >= change))
    else:
        excess = np.zeros_like(age)
    L = np.where(age > 0, base + excess + rng.normal(0.0, noise, (T, T)), np.nan)
    val_loss = base + rng.normal(0.0, noise, T)
    return L, val_loss
