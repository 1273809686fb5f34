"""The one interface every policy implements, and what a policy may see.

A policy is fed, step by step, only what would be observable, through an :class:`Observation`.
At each step it is asked twice:

1. :meth:`Policy.decide`: retrain now? A retrain is paid for whatever follows.
2. :meth:`Policy.gate`: deploy the challenger it produced, or keep the served model?
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlflow_staleness.decision import Decision
from mlflow_staleness.exceptions import FutureAccessError

__all__ = ["Observation", "Policy", "WindowDrift", "Windows"]


class Windows(Sequence):
    """Read-only access to the feature frames revealed so far.

    Indexing a window that has not arrived yet raises :class:`FutureAccessError`.
    """

    def __init__(self, frames: Sequence[Any] | None, visible: int) -> None:
        self._frames = frames
        self._visible = visible

    def __len__(self) -> int:
        return self._visible

    def __iter__(self) -> Iterator[Any]:
        return (self[index] for index in range(self._visible))

    def __getitem__(self, index: int) -> Any:  # type: ignore[override]
        if not isinstance(index, int | np.integer):
            raise TypeError(f"windows are indexed by an integer, got {type(index).__name__}")
        if index < 0 or index >= self._visible:
            raise FutureAccessError(
                f"window {index} is not observable: windows 0..{self._visible - 1} have arrived"
            )
        return None if self._frames is None else self._frames[index]


class WindowDrift:
    """Drift scores between windows' data, for the windows that have arrived.

    ``drift[m, u]`` is how far window ``u``'s features lie from window ``m``'s, the data model
    ``m`` was trained on (the overall score of :func:`mlflow_staleness.fingerprint.distance`,
    0 for identical data). Reading a window that has not arrived raises
    :class:`FutureAccessError`; a score that is not known reads as NaN.

    The scores come from a matrix (``scores``) or are computed on demand from the windows'
    frames (``frames``), each frame fingerprinted once per process.

    Examples
    --------
    >>> drift = WindowDrift(scores=np.array([[0.0, 0.3, 0.9], [0.3, 0.0, 0.5], [0.9, 0.5, 0.0]]),
    ...                     visible=2)
    >>> drift[0, 1]
    0.3
    >>> drift[0, 2]
    Traceback (most recent call last):
    ...
    mlflow_staleness.exceptions.FutureAccessError: window 2 is not observable: windows 0..1 ...
    """

    def __init__(
        self,
        *,
        scores: np.ndarray | None = None,
        frames: Sequence[Any] | None = None,
        visible: int,
    ) -> None:
        if (scores is None) == (frames is None):
            raise ValueError("WindowDrift needs scores or frames, not both")
        self._scores = scores
        self._frames = frames
        self._visible = visible
        self._cache: dict[tuple[int, int], float] = {}

    def until(self, visible: int) -> WindowDrift:
        """The same scores, with windows ``0 .. visible - 1`` observable (the cache is shared)."""
        view = WindowDrift.__new__(WindowDrift)
        view._scores, view._frames, view._cache = self._scores, self._frames, self._cache
        view._visible = visible
        return view

    def __getitem__(self, key: tuple[int, int]) -> float:
        m, u = (int(k) for k in key)
        for index in (m, u):
            if index < 0 or index >= self._visible:
                raise FutureAccessError(
                    f"window {index} is not observable: windows 0..{self._visible - 1} have arrived"
                )
        if self._scores is not None:
            return float(self._scores[m, u])
        pair = (min(m, u), max(m, u))
        if pair not in self._cache:
            from mlflow_staleness.policies._fingerprints import window_distance

            self._cache[pair] = window_distance(self._frames[pair[0]], self._frames[pair[1]])
        return self._cache[pair]

    def row(self, m: int, windows: Sequence[int]) -> np.ndarray:
        """``[self[m, u] for u in windows]`` as an array."""
        return self.pairs(np.full(len(windows), int(m)), np.asarray(windows, dtype=int))

    def pairs(self, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """``self[rows[i], columns[i]]`` for every ``i``, as an array."""
        rows, columns = np.asarray(rows, dtype=int), np.asarray(columns, dtype=int)
        if rows.size and max(int(rows.max()), int(columns.max())) >= self._visible:
            late = max(int(rows.max()), int(columns.max()))
            raise FutureAccessError(
                f"window {late} is not observable: windows 0..{self._visible - 1} have arrived"
            )
        if self._scores is not None:
            return np.asarray(self._scores[rows, columns], dtype=float)
        return np.array([self[m, u] for m, u in zip(rows, columns, strict=True)], dtype=float)


@dataclass(frozen=True)
class Observation:
    """Everything a policy may know at one step, and nothing else.

    Attributes
    ----------
    step
        ``t``, the window about to be served.
    served
        Index of the model in service (it served window ``t - 1``).
    deployed_at
        The first window the served model served.
    models
        Indices of every model that exists: the registry's past versions and every model the
        policy trained, deployed or not.
    losses
        ``(T, T)`` read-only; ``losses[m, u]`` is revealed for every existing ``m`` and
        ``m < u <= t - label_delay``, NaN everywhere else.
    val_loss
        ``(T,)`` read-only; each existing model's validation loss, NaN where not revealed. The
        challenger's is revealed only in the gate phase.
    retrain_cost
        ``alpha`` for a retrain at this step, in loss units.
    windows
        Feature frames of windows ``0..t``; later ones raise :class:`FutureAccessError`.
    challenger
        In the gate phase, the index of the challenger (``t - 1``); otherwise None.
    drift
        Drift scores between the windows that have arrived (:class:`WindowDrift`), or None when
        nothing is known of the windows' data.
    """

    step: int
    served: int
    deployed_at: int
    models: tuple[int, ...]
    losses: np.ndarray
    val_loss: np.ndarray
    retrain_cost: float
    label_delay: int
    windows: Windows
    challenger: int | None = None
    drift: WindowDrift | None = None

    @property
    def last_labelled(self) -> int:
        """The latest window whose labels have arrived."""
        return self.step - self.label_delay


class Policy:
    """Base class of all policies.

    Subclasses set their parameters in ``__init__`` (keyword-only, stored unchanged, no work) and
    implement :meth:`decide`. :meth:`start` resets the learned state (names ending in ``_``)
    before a new run; :meth:`gate` defaults to :func:`~mlflow_staleness.policies.gate.default_gate`.
    """

    name: str = "policy"

    def start(self) -> Policy:
        """Forget everything learned in a previous run; return ``self``."""
        return self

    def decide(self, obs: Observation) -> Decision:
        """Phase one of step ``obs.step``: ``"retrain"`` or ``"keep"``."""
        raise NotImplementedError

    def gate(self, obs: Observation) -> Decision:
        """Phase two, after a retrain: ``"deploy"`` the challenger or ``"reject"`` it."""
        from mlflow_staleness.policies.gate import default_gate

        return default_gate(obs)

    def get_params(self) -> dict[str, Any]:
        """The constructor parameters, as given."""
        import inspect

        signature = inspect.signature(type(self).__init__)
        return {
            name: getattr(self, name)
            for name in signature.parameters
            if name != "self" and signature.parameters[name].kind is inspect.Parameter.KEYWORD_ONLY
        }

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


def keep(obs: Observation, reason: str, **numbers: Any) -> Decision:
    """A ``keep`` decision at this step."""
    return Decision(
        step=obs.step, action="keep", reason=reason, retrain_cost=obs.retrain_cost, **numbers
    )


def retrain(obs: Observation, reason: str, **numbers: Any) -> Decision:
    """A ``retrain`` decision at this step."""
    return Decision(
        step=obs.step, action="retrain", reason=reason, retrain_cost=obs.retrain_cost, **numbers
    )


def break_even(retrain_cost: float, staleness_per_step: float) -> float:
    """Steps of the given staleness that pay for one retrain (``inf`` without staleness)."""
    if staleness_per_step <= 0:
        return math.inf
    return retrain_cost / staleness_per_step
