"""Benchmark baselines: retrain when a drift detector from river fires.

These are the drift-alarm policies the advisor is measured against (``../shared/design.md``,
section 3). They ignore the retrain cost: a detector answers "has something changed?", not "does
retraining pay?". Both deploy every challenger.

river is an optional dependency (the ``bench`` extra). This module imports without it; a trigger
raises an :class:`ImportError` that says how to install it when it is first used.

They are not registered in :data:`~mlflow_staleness.policies.POLICIES`: they need row-level data
that only the backtest has (:class:`~mlflow_staleness.backtest.RowErrors`, feature windows), so the
benchmark constructs them directly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlflow_staleness.decision import Decision
from mlflow_staleness.exceptions import InvalidInputError
from mlflow_staleness.policies.base import Observation, Policy, keep, retrain
from mlflow_staleness.policies.gate import deploy_always

__all__ = ["ADWINTrigger", "KSWINTrigger"]

_INSTALL_HINT = "pip install 'mlflow-staleness[bench]'"


def _river_drift() -> Any:
    """``river.drift``, or an ImportError that says how to get it."""
    try:
        from river import drift
    except ImportError as exc:
        raise ImportError(
            f"the drift-detector baselines need river, which is not installed: {_INSTALL_HINT}"
        ) from exc
    return drift


class _DetectorTrigger(Policy):
    """A river detector watching one stream of row-level values of the served model's windows.

    Each window is fed once, in time order, when it becomes observable. A drift signal means
    "retrain". When a new model is in service (after every deploy) a new detector replaces the
    old one.
    """

    def start(self) -> _DetectorTrigger:
        self._check_params()
        _river_drift()
        self.detector_: Any = None
        self.model_: int | None = None
        self.fed_through_ = -1
        return self

    def decide(self, obs: Observation) -> Decision:
        if getattr(self, "model_", None) != obs.served:
            self.detector_ = self._new_detector(obs)
            self.model_ = obs.served
            self.fed_through_ = self._first_window(obs) - 1
        last = self._last_observable(obs)
        first = self.fed_through_ + 1
        for window in range(first, last + 1):
            self.fed_through_ = window
            if self._feed(self._values(obs, window)):
                return retrain(obs, self._alarm(window), evidence=self._evidence)
        if self.fed_through_ < self._first_window(obs):
            return keep(obs, "no labelled window of the served model yet", evidence=self._evidence)
        return keep(obs, self._quiet(self.fed_through_), evidence=self._evidence)

    def gate(self, obs: Observation) -> Decision:
        return deploy_always(obs)

    def _feed(self, values: np.ndarray) -> bool:
        """Update the detector row by row; True at the first drift signal (the rest is skipped:
        the detector is replaced after the deploy that follows)."""
        detector = self.detector_
        for value in values.tolist():
            detector.update(value)
            if detector.drift_detected:
                return True
        return False

    # Subclasses define what is watched.
    _evidence: tuple[str, ...] = ()

    def _check_params(self) -> None:
        raise NotImplementedError

    def _new_detector(self, obs: Observation) -> Any:
        raise NotImplementedError

    def _first_window(self, obs: Observation) -> int:
        raise NotImplementedError

    def _last_observable(self, obs: Observation) -> int:
        raise NotImplementedError

    def _values(self, obs: Observation, window: int) -> np.ndarray:
        raise NotImplementedError

    def _alarm(self, window: int) -> str:
        raise NotImplementedError

    def _quiet(self, last: int) -> str:
        raise NotImplementedError


class ADWINTrigger(_DetectorTrigger):
    """Retrain when ADWIN detects a change in the served model's row-level error stream.

    Parameters
    ----------
    row_errors
        The backtest's row-level losses (:attr:`LossMatrix.row_errors
        <mlflow_staleness.backtest.LossMatrix>`): 0/1 errors for an error rate, normalised absolute
        errors for a regression.
    delta
        ADWIN's confidence: a smaller value gives fewer, surer alarms. river's default.

    Notes
    -----
    At step :math:`t` the rows of every window :math:`u` whose labels have arrived
    (:math:`u \\le t - \\text{label\\_delay}`, ``obs.last_labelled``) and that the served model
    served (:math:`u \\ge` ``obs.deployed_at``) are fed, in order, to
    :class:`river.drift.ADWIN`. ADWIN keeps a variable-length window of the stream and drops its
    older part when two sub-windows :math:`W_0, W_1` have means further apart than

    .. math:: \\varepsilon_{cut} = \\sqrt{\\tfrac{1}{2m} \\ln \\tfrac{4}{\\delta'}}, \\quad
              m = \\frac{1}{1/|W_0| + 1/|W_1|}, \\quad \\delta' = \\delta / |W|,

    which is its drift signal. Any signal means "retrain", in either direction (the alarm reports
    the current mean error), as a drift alarm is used in practice. After a deploy the detector
    restarts on the new model's errors.

    ``row_errors`` holds every model's errors on every later window, labelled or not: the
    :class:`~mlflow_staleness.policies.base.Observation` cannot hide them, so the trigger itself
    reads only windows up to ``obs.last_labelled``, and only of the served model.

    References
    ----------
    Bifet, Gavaldà (2007). Learning from time-changing data with adaptive windowing. SIAM
    International Conference on Data Mining.

    Examples
    --------
    >>> import pytest
    >>> _ = pytest.importorskip("river")
    >>> from sklearn.linear_model import LogisticRegression
    >>> from mlflow_staleness.backtest import build_loss_matrix, replay
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=1600)
    >>> flip = np.where(np.arange(1600) < 1000, 1, -1)  # the concept flips at row 1000
    >>> frame = pd.DataFrame({"time": np.arange(1600), "x": x, "y": (flip * x > 0).astype(int)})
    >>> matrix = build_loss_matrix(frame, "time", "y", n_windows=16, estimator=LogisticRegression())
    >>> result = replay(ADWINTrigger(row_errors=matrix.row_errors), matrix.L, retrain_cost=1.0,
    ...                 warmup=3)
    >>> np.flatnonzero(result.retrained).tolist()
    [11]
    """

    name = "adwin"
    _evidence = ("measured",)

    def __init__(self, *, row_errors: Any = None, delta: float = 0.002) -> None:
        self.row_errors = row_errors
        self.delta = delta

    def __repr__(self) -> str:
        errors = self.row_errors
        shown = "None" if errors is None else f"<RowErrors {getattr(errors, 'loss', '?')}>"
        return f"ADWINTrigger(row_errors={shown}, delta={self.delta!r})"

    def _check_params(self) -> None:
        if self.row_errors is None or not callable(getattr(self.row_errors, "get", None)):
            raise InvalidInputError(
                "ADWINTrigger needs row_errors, the backtest's row-level losses "
                f"(LossMatrix.row_errors), got {self.row_errors!r}"
            )
        if not isinstance(self.delta, float | int) or not 0 < self.delta < 1:
            raise InvalidInputError(f"delta must be a number in (0, 1), got {self.delta!r}")

    def _new_detector(self, obs: Observation) -> Any:
        return _river_drift().ADWIN(delta=self.delta)

    def _first_window(self, obs: Observation) -> int:
        return obs.deployed_at

    def _last_observable(self, obs: Observation) -> int:
        return obs.last_labelled

    def _values(self, obs: Observation, window: int) -> np.ndarray:
        return self.row_errors.get(obs.served, window)

    def _alarm(self, window: int) -> str:
        return (
            f"ADWIN detected a change in the served model's errors in window {window} "
            f"(mean error now {self.detector_.estimation:.4f})"
        )

    def _quiet(self, last: int) -> str:
        return (
            f"ADWIN: no change in the served model's errors through window {last} "
            f"(mean error {self.detector_.estimation:.4f})"
        )


class KSWINTrigger(_DetectorTrigger):
    """Retrain when KSWIN detects a change in the distribution of one feature.

    Parameters
    ----------
    feature
        The numeric feature to watch, by name. The benchmark picks the one most informative about
        the target on the warm-up windows.
    alpha, window_size, stat_size
        KSWIN's test level, sliding window and statistic window; river's defaults.
    seed
        Seeds KSWIN's sampling and the subsample of each window; nothing global is touched.
    max_rows
        At most this many rows of a window are fed (a seeded random subsample), to keep it fast.

    Notes
    -----
    At step :math:`t` the features of windows up to :math:`t` are observable (labels are not
    needed). The detector, :class:`river.drift.KSWIN`, starts with a sample of the served model's
    training window (``obs.deployed_at - 1``) as its reference (river's ``window`` argument), and
    each later window is fed once, when it arrives. KSWIN keeps the last
    ``window_size`` values; it compares the last ``stat_size`` of them, :math:`R`, with
    ``stat_size`` values :math:`W` drawn from the rest, and signals drift when the
    Kolmogorov-Smirnov test rejects at level :math:`\\alpha`:

    .. math:: \\sup_x |F_R(x) - F_W(x)| > \\sqrt{-\\ln(\\alpha) / r},

    where :math:`r` is ``stat_size``.

    The rows of a window are fed in a random order (window ``u``'s subsample comes from
    ``numpy.random.default_rng([seed, u])``, so it does not depend on the schedule). A window is
    one batch: in time order, KSWIN would fire inside every window on cycles such as the time of
    day, which say nothing about drift between windows. After a deploy the detector restarts
    with the new model's training window as its reference.

    References
    ----------
    Raab, Heusinger, Schleif (2020). Reactive soft prototype computing for concept drift streams.
    Neurocomputing 416.

    Examples
    --------
    >>> import pytest
    >>> _ = pytest.importorskip("river")
    >>> from sklearn.linear_model import LogisticRegression
    >>> from mlflow_staleness.backtest import build_loss_matrix, replay
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=1600) + np.where(np.arange(1600) < 1000, 0.0, 3.0)  # x jumps at 1000
    >>> frame = pd.DataFrame({"time": np.arange(1600), "x": x, "y": (x > 1.5).astype(int)})
    >>> matrix = build_loss_matrix(frame, "time", "y", n_windows=16, estimator=LogisticRegression())
    >>> result = replay(KSWINTrigger(feature="x"), matrix.L, retrain_cost=1.0,
    ...                 windows=matrix.windows, warmup=3)
    >>> np.flatnonzero(result.retrained).tolist()
    [6, 10, 11]

    The alarm at 6 is a false one: KSWIN runs one test per row. Features arrive before labels,
    so the jump is seen in window 10 itself. The model deployed then was trained on window 9,
    before the jump, so the detector, restarted with window 9 as its reference, fires again at 11.
    """

    name = "kswin"
    _evidence = ("features",)

    def __init__(
        self,
        *,
        feature: str | None = None,
        alpha: float = 0.005,
        window_size: int = 100,
        stat_size: int = 30,
        seed: int = 0,
        max_rows: int = 500,
    ) -> None:
        self.feature = feature
        self.alpha = alpha
        self.window_size = window_size
        self.stat_size = stat_size
        self.seed = seed
        self.max_rows = max_rows

    def _check_params(self) -> None:
        if not isinstance(self.feature, str):
            raise InvalidInputError(
                f"KSWINTrigger needs feature, the name of a numeric feature column, got "
                f"{self.feature!r}"
            )
        if not isinstance(self.alpha, float | int) or not 0 < self.alpha < 1:
            raise InvalidInputError(f"alpha must be a number in (0, 1), got {self.alpha!r}")
        for name in ("stat_size", "window_size", "max_rows", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidInputError(f"{name} must be an integer >= 0, got {value!r}")
        if not 1 <= self.stat_size < self.window_size:
            raise InvalidInputError(
                f"stat_size must be >= 1 and below window_size={self.window_size}, got "
                f"{self.stat_size!r}"
            )
        if self.max_rows < 1:
            raise InvalidInputError(f"max_rows must be an integer >= 1, got {self.max_rows!r}")

    def _new_detector(self, obs: Observation) -> Any:
        training = obs.deployed_at - 1
        reference = self._values(obs, training).tolist() if training >= 0 else []
        return _river_drift().KSWIN(
            alpha=self.alpha,
            window_size=self.window_size,
            stat_size=self.stat_size,
            seed=self.seed,
            window=reference[-self.window_size :],
        )

    def _first_window(self, obs: Observation) -> int:
        return obs.deployed_at

    def _last_observable(self, obs: Observation) -> int:
        return obs.step

    def _values(self, obs: Observation, window: int) -> np.ndarray:
        frame = obs.windows[window]
        if frame is None:
            raise InvalidInputError(
                "KSWINTrigger needs the feature windows: pass windows=LossMatrix.windows to replay"
            )
        if self.feature not in frame.columns:
            raise InvalidInputError(
                f"feature {self.feature!r} is not a column of the windows; columns are "
                f"{list(frame.columns)}"
            )
        values = _numeric(self.feature, frame[self.feature])
        values = values[np.isfinite(values)]
        rng = np.random.default_rng([self.seed, window])
        if values.shape[0] > self.max_rows:
            return values[rng.choice(values.shape[0], self.max_rows, replace=False)]
        return values[rng.permutation(values.shape[0])]

    def _alarm(self, window: int) -> str:
        return (
            f"KSWIN detected a change in the distribution of {self.feature!r} in window {window} "
            f"(p-value {self.detector_.p_value:.2g})"
        )

    def _quiet(self, last: int) -> str:
        return f"KSWIN: no change in the distribution of {self.feature!r} through window {last}"


def _numeric(name: str, column: pd.Series) -> np.ndarray:
    """A feature column as floats: KS compares ordered values, so categories are refused."""
    if pd.api.types.is_bool_dtype(column.dtype) or pd.api.types.is_numeric_dtype(column.dtype):
        return column.to_numpy(dtype=float, na_value=np.nan)
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return column.astype("int64").to_numpy(dtype=float) / 1e9
    raise InvalidInputError(
        f"feature {name!r} has dtype {column.dtype}; KSWIN needs a numeric, boolean or datetime "
        f"feature"
    )
