"""Synthetic drifting streams whose drift kind is known, for the decision benchmark.

A :class:`SyntheticSpec` names a generator, a drift kind, a seed and a size. Its :meth:`load`
returns the whole stream as one frame (a time column ``t``, the features, the target ``y``), ready
for :func:`~mlflow_staleness.backtest.loss_matrix.build_loss_matrix` with ``n_windows`` windows of
``rows_per_window`` rows each. :func:`synthetic_streams` returns the catalogue the benchmark uses:
every drift kind below, each with two seeds or more.

Drift kinds (``T`` windows; positions scale with ``T``, the figures are for ``T = 40``):

===================  ======================================  ======================================
kind                 what drifts                             what the oracle should do
===================  ======================================  ======================================
``no-drift``         nothing: one distribution throughout    never retrain: old and fresh models
                                                             are about equally good
``sudden-early``     one abrupt concept change at window     retrain once, just after the change:
                     ``round(0.25 T)`` (10)                  older models are much worse after it
``sudden-late``      the same at window ``round(0.7 T)``     the same, late
                     (28)
``gradual``          the concept moves a little all the      a model's excess loss grows steadily
                     time                                    with its age: retrain every few
                                                             windows, more often when alpha is low
``late-onset``       ``x`` drifts slowly out of the region   excess below about 0.03 for the first
                     old models were trained on;             ~8 windows of age, then it climbs:
                     ``P(y | x)`` is fixed and trees         retrain at long intervals only
                     extrapolate flat
``recurring``        seasons: the concept cycles with a      a model from the same phase of an
                     period of ``max(8, T // 4)`` windows    earlier season is about as good as a
                     (10)                                    fresh one; off-phase ones are worse
``label-noise``      only the label-noise rate moves (5% ->  the loss level moves, the excess over
                     35% -> 5%); the decision rule is fixed  a fresh model stays about 0: never
                                                             retrain (a model trained in the
                                                             noisiest windows is worse, though)
``unfixable-shift``  ``x`` moves into a region where labels  every model, fresh or old, gets worse
                     are noisier; ``P(y | x)`` is fixed      alike: excess about 0, never retrain
``prior-shift``      the share of class 1 falls from 0.5 to  old models become mildly worse as the
                     0.1 between ``T / 4`` and ``3T / 4``;   balance moves: retraining pays when
                     ``P(x | y)`` is fixed                   alpha is low
``gra``              regression, FriedmanDrift's global      retrain after the first change; models
                     recurring abrupt drift: a new concept   from before it are good again after
                     at ``0.3 T``, the first one back at     the second
                     ``0.65 T``
``gsg``              FriedmanDrift's global slow gradual     retrain after each transition
                     drift: changes at ``0.3 T`` and
                     ``0.65 T``, each mixed in over
                     ``0.15 T`` windows
``lea``              FriedmanDrift's local expanding abrupt  excess grows in steps; retraining pays
                     drift: changes at ``T/4, T/2, 3T/4``    after the later, larger changes
                     in two regions that grow each time
===================  ======================================  ======================================

:data:`SYNTHETIC_KINDS` says which generator produces which kinds, and
:meth:`SyntheticSpec.describe` gives the one-line story of a spec. The generators:

- ``gauss`` and ``circles`` are the two synthetic generators of CARA (Mahadevan & Mathioudakis,
  2024), also used by Regol et al. (2025), who write that they "follow Mahadevan & Mathioudakis
  (2024) to generate two 2D datasets with covariate shift (Gauss) and concept drift (circles)
  (Pesaranghader et al., 2016)". ``circles`` follows the CIRCLES generator of Pesaranghader's
  Tornado framework (``streams/generators/circles_stream.py``): ``x, y`` uniform in the unit
  square, four circular concepts with centres ``(0.2, 0.5), (0.4, 0.5), (0.6, 0.5), (0.8, 0.5)``
  and radii ``0.15, 0.2, 0.25, 0.3``, classes balanced by rejection, 10% label noise and sigmoid
  transitions ``1 / (1 + exp(-4 (r - p) / W))`` between concepts. Departures: a row's label is
  flipped with probability 0.1 (Tornado flips an exact 10% of positions), and the concepts are
  scheduled per kind. The exact definition of CARA's Gauss stream was not found; ``gauss`` is the
  natural reading: two Gaussian classes in 2-D (unit covariance, means ``2.5`` apart) whose means
  move over time around a fixed centre.
- ``covshift`` (this module) is pure covariate shift, ``P(y | x)`` fixed, for the two kinds no
  published generator covers: ``late-onset`` and ``unfixable-shift``.
- ``agrawal``, ``sea``, ``sine``, ``stagger``, ``mixed``, ``led``, ``hyperplane``, ``rbf`` and
  ``friedman`` draw their rows from :mod:`river.datasets.synth` (river is the optional ``bench``
  extra, imported only when such a stream is loaded). Two-concept switches use river's
  ``ConceptDriftStream``: a sudden one has a width of ``rows_per_window // 50`` rows at the start of
  the change window, a gradual one a width of half the stream around its middle (a mixture whose
  share of the new concept rises from 2% to 98%).

References
----------
.. [1] Mahadevan, A. and Mathioudakis, M. (2024). Cost-aware retraining for machine learning.
   Knowledge-Based Systems 293. arXiv:2310.04216.
.. [2] Regol, F., Schwinn, L., Sprague, K., Coates, M. and Markovich, T. (2025). When to retrain
   a machine learning model. ICML 2025, PMLR 267.
.. [3] Pesaranghader, A. and Viktor, H. L. (2016). Fast Hoeffding drift detection method for
   evolving data streams. ECML PKDD 2016. The Tornado framework:
   https://github.com/alipsgh/tornado
.. [4] Ikonomovska, E., Gama, J. and Džeroski, S. (2011). Learning model trees from evolving data
   streams. Data Mining and Knowledge Discovery 23(1). (FriedmanDrift's three kinds.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from mlflow_staleness._validation import check_int
from mlflow_staleness.backtest.datasets import default_estimator
from mlflow_staleness.exceptions import InvalidInputError

__all__ = ["SYNTHETIC_KINDS", "SyntheticSpec", "synthetic_streams"]

#: Which drift kinds each generator can produce.
SYNTHETIC_KINDS: dict[str, tuple[str, ...]] = {
    "gauss": ("no-drift", "sudden-early", "sudden-late", "gradual", "recurring", "prior-shift"),
    "circles": ("no-drift", "sudden-early", "sudden-late", "gradual", "recurring", "label-noise"),
    "covshift": ("late-onset", "unfixable-shift"),
    "agrawal": ("no-drift", "sudden-early", "sudden-late", "gradual"),
    "sea": ("no-drift", "sudden-early", "sudden-late", "gradual", "label-noise"),
    "sine": ("no-drift", "sudden-early", "sudden-late", "gradual"),
    "stagger": ("no-drift", "sudden-early", "sudden-late", "recurring"),
    "mixed": ("no-drift", "sudden-early", "sudden-late"),
    "led": ("no-drift", "sudden-early", "sudden-late", "gradual"),
    "hyperplane": ("no-drift", "gradual"),
    "rbf": ("no-drift", "gradual"),
    "friedman": ("no-drift", "gra", "gsg", "lea"),
}

# (generator, kind) pairs of the benchmark's catalogue: every kind at least once.
_CATALOGUE: tuple[tuple[str, str], ...] = (
    ("gauss", "no-drift"),
    ("circles", "sudden-early"),
    ("agrawal", "sudden-late"),
    ("rbf", "gradual"),
    ("circles", "gradual"),
    ("covshift", "late-onset"),
    ("gauss", "recurring"),
    ("sea", "label-noise"),
    ("covshift", "unfixable-shift"),
    ("gauss", "prior-shift"),
    ("friedman", "gra"),
    ("friedman", "gsg"),
    ("friedman", "lea"),
)

_KIND_NOTES: dict[str, tuple[str, str]] = {
    "no-drift": (
        "no drift: every window comes from one distribution",
        "never retrain (old and fresh models are about equally good)",
    ),
    "sudden-early": (
        "one abrupt concept change at window round(0.25 T)",
        "retrain once, just after the change (older models are much worse after it)",
    ),
    "sudden-late": (
        "one abrupt concept change at window round(0.7 T)",
        "retrain once, just after the change (older models are much worse after it)",
    ),
    "gradual": (
        "the concept moves a little all the time",
        "retrain every few windows (excess loss grows steadily with a model's age)",
    ),
    "late-onset": (
        "x drifts slowly out of the region old models were trained on, P(y|x) fixed",
        "retrain at long intervals only (excess about 0 for ~8 windows of age, then it climbs)",
    ),
    "recurring": (
        "seasons: the concept cycles with a period of max(8, T // 4) windows",
        "keeping a model costs only off-phase (a model from an earlier season's same phase is "
        "about as good as a fresh one)",
    ),
    "label-noise": (
        "only the label-noise rate changes (5% -> 35% -> 5%), the decision rule is fixed",
        "never retrain (the loss level moves, the excess over a fresh model stays about 0)",
    ),
    "unfixable-shift": (
        "x moves into a region where labels are noisier, P(y|x) fixed",
        "never retrain (every model, fresh or old, gets worse alike)",
    ),
    "prior-shift": (
        "the share of class 1 falls from 0.5 to 0.1 between windows T/4 and 3T/4, P(x|y) fixed",
        "retrain when alpha is low (old models become mildly worse as the balance moves)",
    ),
    "gra": (
        "FriedmanDrift global recurring abrupt: a new concept at 0.3 T, the first back at 0.65 T",
        "retrain after the first change (models from before it are good again after the second)",
    ),
    "gsg": (
        "FriedmanDrift global slow gradual: changes at 0.3 T and 0.65 T, each mixed in over "
        "0.15 T windows",
        "retrain after each transition",
    ),
    "lea": (
        "FriedmanDrift local expanding abrupt: changes at T/4, T/2 and 3T/4 in two regions that "
        "grow each time",
        "retrain after the later, larger changes (excess grows in steps)",
    ),
}

_GENERATOR_NOTES: dict[str, str] = {
    "gauss": "CARA's Gauss (natural reading): two Gaussian classes in 2-D",
    "circles": "Tornado's CIRCLES: label = outside a circle in the unit square, 10% noise",
    "covshift": "covariate shift in 2-D with P(y|x) fixed",
    "agrawal": "river Agrawal, classification function 0 -> 2",
    "sea": "river SEA: variant 2 -> 3 (threshold 7 -> 9.5), variant 0 for label-noise",
    "sine": "river Sine, classification function 0 -> 2",
    "stagger": "river STAGGER, classification function 0 <-> 2 (categorical features)",
    "mixed": "river Mixed, classification function 0 -> 1 (the labels invert)",
    "led": "river LED -> LEDDrift with 7 drifting features (10 classes: slow to score)",
    "hyperplane": "river Hyperplane, 3 features, 2 weights that wander back and forth",
    "rbf": "river RandomRBFDrift, 5 features, 20 moving centroids",
    "friedman": "river Friedman / FriedmanDrift (regression)",
}

_REGRESSION = frozenset({"friedman"})
_MIN_WINDOWS = 4
_MIN_ROWS = 50


@dataclass(frozen=True, kw_only=True)
class SyntheticSpec:
    """One synthetic stream with a known drift kind, read and scored like a benchmark dataset.

    Parameters
    ----------
    generator
        A key of :data:`SYNTHETIC_KINDS`.
    kind
        A drift kind this generator produces (see the module's table).
    seed
        Seeds every random draw of the stream (``np.random.default_rng(seed)``, and river
        generators seeded from it); nothing global is touched.
    n_windows
        ``T``: the stream is built for this many windows; change points scale with it.
    rows_per_window
        Rows of each window.

    Attributes
    ----------
    time_column, target
        ``"t"`` (the row index, in time order) and ``"y"``.

    Examples
    --------
    >>> spec = SyntheticSpec(generator="circles", kind="sudden-early", n_windows=8,
    ...                      rows_per_window=100)
    >>> spec.name, spec.loss
    ('circles-sudden-early-s0', 'error_rate')
    >>> frame = spec.load()
    >>> frame.shape, spec.feature_columns(frame)
    ((800, 4), ['x1', 'x2'])
    >>> type(spec.estimator()).__name__
    'HistGradientBoostingClassifier'
    >>> SyntheticSpec(generator="circles", kind="sudenn")
    Traceback (most recent call last):
    ...
    mlflow_staleness.exceptions.InvalidInputError: unknown kind 'sudenn' for generator ...
    """

    generator: str
    kind: str
    seed: int = 0
    n_windows: int = 40
    rows_per_window: int = 500

    time_column: ClassVar[str] = "t"
    target: ClassVar[str] = "y"

    def __post_init__(self) -> None:
        if not isinstance(self.generator, str) or self.generator not in SYNTHETIC_KINDS:
            raise InvalidInputError(
                f"unknown generator {self.generator!r}; valid generators are "
                f"{', '.join(sorted(SYNTHETIC_KINDS))}"
            )
        valid = SYNTHETIC_KINDS[self.generator]
        if not isinstance(self.kind, str) or self.kind not in valid:
            known = isinstance(self.kind, str) and self.kind in _KIND_NOTES
            problem = "cannot produce" if known else "unknown"
            raise InvalidInputError(
                f"{problem} kind {self.kind!r} for generator {self.generator!r}; valid kinds are "
                f"{', '.join(sorted(valid))}"
            )
        check_int("seed", self.seed, 0)
        check_int("n_windows", self.n_windows, _MIN_WINDOWS)
        check_int("rows_per_window", self.rows_per_window, _MIN_ROWS)

    @property
    def name(self) -> str:
        """``generator-kind-sSEED``, e.g. ``circles-sudden-early-s0``."""
        return f"{self.generator}-{self.kind}-s{self.seed}"

    @property
    def loss(self) -> str:
        """``"normalised_mae"`` for the regression generators, else ``"error_rate"``."""
        return "normalised_mae" if self.generator in _REGRESSION else "error_rate"

    def feature_columns(self, frame: pd.DataFrame) -> list[str]:
        """The feature columns of ``frame``: every column but ``t`` and ``y``, in order."""
        return [c for c in frame.columns if c not in (self.time_column, self.target)]

    def estimator(self) -> Any:
        """The benchmark's model for this stream's task, as for the real datasets (see
        :func:`~mlflow_staleness.backtest.datasets.default_estimator`)."""
        return default_estimator(self.loss)

    def describe(self) -> str:
        """One line: the stream, what drifts, and what the oracle should do.

        Examples
        --------
        >>> print(SyntheticSpec(generator="gauss", kind="no-drift").describe())
        ... # doctest: +NORMALIZE_WHITESPACE
        gauss-no-drift-s0: CARA's Gauss (natural reading): two Gaussian classes in 2-D; no drift:
        every window comes from one distribution. Oracle: never retrain (old and fresh models are
        about equally good).
        """
        drift, oracle = _KIND_NOTES[self.kind]
        return f"{self.name}: {_GENERATOR_NOTES[self.generator]}; {drift}. Oracle: {oracle}."

    def load(self) -> pd.DataFrame:
        """The whole stream: ``n_windows * rows_per_window`` rows in time order.

        Columns are ``t`` (the row index), the features, then ``y`` (``int64`` class labels, or
        ``float64`` for regression). The same spec always gives the same frame.
        """
        features, y = _GENERATORS[self.generator](self)
        n_rows = self.n_windows * self.rows_per_window
        frame = pd.DataFrame({self.time_column: np.arange(n_rows, dtype=np.int64)})
        for column in features.columns:
            values = features[column].reset_index(drop=True)
            frame[column] = values.astype(np.int64) if values.dtype == bool else values
        frame[self.target] = y.astype(np.float64 if self.loss == "normalised_mae" else np.int64)
        return frame


def synthetic_streams(seeds: Iterable[int] = (0, 1)) -> list[SyntheticSpec]:
    """The catalogue of synthetic streams of the decision benchmark: 13 (generator, kind) pairs
    covering every drift kind, each with every seed in ``seeds``.

    Examples
    --------
    >>> streams = synthetic_streams()
    >>> len(streams), streams[0].name, streams[1].name
    (26, 'gauss-no-drift-s0', 'gauss-no-drift-s1')
    >>> len({s.kind for s in streams})
    12
    """
    if isinstance(seeds, str | bytes) or not isinstance(seeds, Iterable):
        raise InvalidInputError(f"seeds must be a non-empty sequence of integers, got {seeds!r}")
    seeds = list(seeds)
    if not seeds:
        raise InvalidInputError("seeds must be a non-empty sequence of integers, got none")
    return [
        SyntheticSpec(generator=generator, kind=kind, seed=seed)
        for generator, kind in _CATALOGUE
        for seed in seeds
    ]


# --------------------------------------------------------------------------------------------------
# Schedules, in windows (``u`` is a row's position in windows: row / rows_per_window)
# --------------------------------------------------------------------------------------------------


def _positions(spec: SyntheticSpec) -> np.ndarray:
    return np.arange(spec.n_windows * spec.rows_per_window) / spec.rows_per_window


def _change_window(spec: SyntheticSpec) -> int:
    """The window of a sudden change: round(0.25 T) or round(0.7 T)."""
    return round((0.25 if spec.kind == "sudden-early" else 0.7) * spec.n_windows)


def _season(spec: SyntheticSpec) -> int:
    """The period of recurring kinds, in windows."""
    return max(8, spec.n_windows // 4)


def _off_season(spec: SyntheticSpec, u: np.ndarray) -> np.ndarray:
    """True in the second half of each season."""
    return np.floor(2 * u / _season(spec)).astype(np.int64) % 2 == 1


def _noise_rate(u: np.ndarray, n_windows: int) -> np.ndarray:
    """Label-noise rate of the ``label-noise`` kind: 5% at both ends, 35% in the middle."""
    return 0.05 + 0.3 * (0.5 - 0.5 * np.cos(2 * np.pi * u / n_windows))


def _sigmoid(u: np.ndarray, position: float, width: float) -> np.ndarray:
    """The share of a new concept at ``u``, as in Tornado and river's ConceptDriftStream."""
    return 1.0 / (1.0 + np.exp(np.clip(-4.0 * (u - position) / width, -500.0, 500.0)))


def _child_seeds(seed: int, count: int) -> list[int]:
    """Independent integer seeds for river's generators, derived from ``seed``."""
    return [int(s) for s in np.random.SeedSequence(seed).generate_state(count)]


# --------------------------------------------------------------------------------------------------
# gauss: two Gaussian classes whose means move
# --------------------------------------------------------------------------------------------------

_GAUSS_SEPARATION = 2.5
_GAUSS_ANGLE = np.pi / 4


def _gauss(spec: SyntheticSpec) -> tuple[pd.DataFrame, np.ndarray]:
    """Class ``c`` is ``N(±(d/2) (cos θ, sin θ), I)``; the kind moves ``θ`` or the class balance.

    ``gradual`` turns the class axis by half a turn over the stream, ``sudden-*`` turns it by a
    quarter turn at once, ``recurring`` swings it by ±45° with the season, ``prior-shift`` keeps
    it and lowers the share of class 1.
    """
    rng = np.random.default_rng(spec.seed)
    u = _positions(spec)
    n = spec.n_windows
    theta = np.full(u.shape, _GAUSS_ANGLE)
    share = np.full(u.shape, 0.5)
    if spec.kind == "gradual":
        theta = theta + np.pi * u / n
    elif spec.kind in ("sudden-early", "sudden-late"):
        theta = theta + np.pi / 2 * (u >= _change_window(spec))
    elif spec.kind == "recurring":
        theta = theta + np.pi / 4 * np.sin(2 * np.pi * u / _season(spec))
    elif spec.kind == "prior-shift":
        share = 0.5 - 0.4 * np.clip((u / n - 0.25) / 0.5, 0.0, 1.0)
    y = (rng.random(u.shape) < share).astype(np.int64)
    axis = np.column_stack([np.cos(theta), np.sin(theta)])
    x = (y[:, None] - 0.5) * _GAUSS_SEPARATION * axis + rng.normal(size=(u.size, 2))
    return pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1]}), y


# --------------------------------------------------------------------------------------------------
# circles: Tornado's CIRCLES
# --------------------------------------------------------------------------------------------------

_CIRCLES = ((0.2, 0.5, 0.15), (0.4, 0.5, 0.2), (0.6, 0.5, 0.25), (0.8, 0.5, 0.3))
_CIRCLES_NOISE = 0.1


def _circles(spec: SyntheticSpec) -> tuple[pd.DataFrame, np.ndarray]:
    """Tornado's CIRCLES: ``y = 1`` outside the concept's circle, classes balanced by rejection.

    ``sudden-*`` switches from circle 0 to circle 2; ``gradual`` runs through circles 0, 1, 2, 3
    (Tornado's sequence) with changes at ``T/4, T/2, 3T/4``, each a sigmoid mixture as wide as a
    quarter of the stream; ``recurring`` alternates circles 0 and 2 every half season;
    ``label-noise`` keeps circle 1 and moves the noise rate.
    """
    rng = np.random.default_rng(spec.seed)
    u = _positions(spec)
    n = spec.n_windows
    sudden = max(1, spec.rows_per_window // 50) / spec.rows_per_window  # in windows
    draw = rng.random(u.shape)
    concept = np.zeros(u.shape, dtype=np.int64)
    noise = np.full(u.shape, _CIRCLES_NOISE)
    if spec.kind in ("sudden-early", "sudden-late"):
        start = _change_window(spec)
        concept = np.where(draw < _sigmoid(u, start + sudden, sudden), 2, 0)
    elif spec.kind == "gradual":
        changes = [_sigmoid(u, k * n / 4, n / 4) for k in (1, 2, 3)]
        concept = sum((draw < share).astype(np.int64) for share in changes)
    elif spec.kind == "recurring":
        concept = np.where(_off_season(spec, u), 2, 0)
    elif spec.kind == "label-noise":
        concept = np.ones(u.shape, dtype=np.int64)
        noise = _noise_rate(u, n)
    outside = rng.random(u.shape) < 0.5
    x = np.empty((u.size, 2))
    for index, (cx, cy, radius) in enumerate(_CIRCLES):
        for want_outside in (False, True):
            rows = np.flatnonzero((concept == index) & (outside == want_outside))
            x[rows] = _uniform_in_square(
                rng,
                rows.size,
                lambda p, cx=cx, cy=cy, r=radius, o=want_outside: (
                    ((p[:, 0] - cx) ** 2 + (p[:, 1] - cy) ** 2 > r**2) == o
                ),
            )
    flip = rng.random(u.shape) < noise
    y = (outside ^ flip).astype(np.int64)
    return pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1]}), y


def _uniform_in_square(
    rng: np.random.Generator, count: int, accept: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """``count`` points uniform in the unit square where ``accept`` holds, by rejection."""
    kept: list[np.ndarray] = []
    found = 0
    while found < count:
        points = rng.random((16 * (count - found) + 64, 2))
        points = points[accept(points)]
        kept.append(points)
        found += len(points)
    return np.concatenate(kept)[:count] if kept else np.empty((0, 2))


# --------------------------------------------------------------------------------------------------
# covshift: covariate shift with P(y | x) fixed
# --------------------------------------------------------------------------------------------------

_LATE_ONSET_TRAVEL = 2.5
_LATE_ONSET_SOFTNESS = 0.1
_UNFIXABLE_FROM, _UNFIXABLE_TO = -2.5, 2.5


def _covshift(spec: SyntheticSpec) -> tuple[pd.DataFrame, np.ndarray]:
    """Pure covariate shift: ``P(y | x)`` never changes, only where ``x`` lies.

    ``late-onset``: points lie in a band ``s ~ U(c - 1, c + 1)`` along the diagonal and ``r ~
    U(-1, 1)`` across it, with ``P(y = 1 | x) = 1 / (1 + exp(-r / 0.1))`` (a soft boundary on the
    line ``x2 = x1``). The band's centre ``c`` slides along the diagonal by ``2.5 / T`` per window.
    A tree approximates the diagonal only where it has seen data and predicts flat beyond it, so
    an old model errs only on the points past its training range, and only a little while they
    are near it (a soft boundary makes a small offset cost little): the excess grows like the
    cube of the age at first.

    ``unfixable-shift``: ``x1 ~ N(c, 1)`` with ``c`` going from -2.5 to 2.5, ``x2 ~ N(0, 1)``,
    ``y = 1`` when ``x2 > 0``, flipped with probability ``0.45 / (1 + exp(-2 x1))``: the rule
    never changes, but ``x`` moves where labels are noisy, and no model can do better there.
    """
    rng = np.random.default_rng(spec.seed)
    u = _positions(spec)
    fraction = u / spec.n_windows
    if spec.kind == "late-onset":
        centre = _LATE_ONSET_TRAVEL * fraction
        along = centre + rng.uniform(-1.0, 1.0, u.size)
        across = rng.uniform(-1.0, 1.0, u.size)
        x1 = (along - across) / np.sqrt(2)
        x2 = (along + across) / np.sqrt(2)
        y = rng.random(u.size) < 1.0 / (1.0 + np.exp(-across / _LATE_ONSET_SOFTNESS))
    else:
        x1 = (
            _UNFIXABLE_FROM + (_UNFIXABLE_TO - _UNFIXABLE_FROM) * fraction + rng.normal(size=u.size)
        )
        x2 = rng.normal(size=u.size)
        y = (x2 > 0) ^ (rng.random(u.size) < 0.45 / (1.0 + np.exp(-2.0 * x1)))
    return pd.DataFrame({"x1": x1, "x2": x2}), y.astype(np.int64)


# --------------------------------------------------------------------------------------------------
# river.datasets.synth
# --------------------------------------------------------------------------------------------------


_AGRAWAL_PERTURBATION = 0.05
_HYPERPLANE_CHANGE = 6.0
_HYPERPLANE_TURNS = 4.0
_RBF_TRAVEL = 1.5


def _synth() -> Any:
    """``river.datasets.synth``, or an error saying how to install it."""
    try:
        from river.datasets import synth
    except ImportError as exc:
        raise ImportError(
            "the river-based synthetic streams need river, the optional 'bench' extra: "
            "pip install 'mlflow-staleness[bench]'"
        ) from exc
    return synth


def _river_concept(generator: str, concept: int, seed: int) -> Any:
    """Concept 0 (before a change) or 1 (after it) of a switching river generator."""
    synth = _synth()

    if generator == "agrawal":
        return synth.Agrawal(
            classification_function=(0, 2)[concept], seed=seed, perturbation=_AGRAWAL_PERTURBATION
        )
    if generator == "sea":
        return synth.SEA(variant=(2, 3)[concept], seed=seed)
    if generator == "sine":
        return synth.Sine(classification_function=(0, 2)[concept], seed=seed)
    if generator == "stagger":
        return synth.STAGGER(classification_function=(0, 2)[concept], seed=seed)
    if generator == "mixed":
        return synth.Mixed(classification_function=concept, seed=seed)
    if generator == "led" and concept == 0:
        return synth.LED(seed=seed, noise_percentage=0.1, irrelevant_features=True)
    if generator == "led":
        return synth.LEDDrift(
            seed=seed, noise_percentage=0.1, irrelevant_features=True, n_drift_features=7
        )
    raise AssertionError(generator)  # pragma: no cover (SYNTHETIC_KINDS lists the generators)


def _river(spec: SyntheticSpec) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows of a river generator; STAGGER's three nominal features become categoricals."""
    features, y = _river_rows(spec)
    if spec.generator == "stagger":
        features = features.astype(dict.fromkeys(features.columns, pd.CategoricalDtype([0, 1, 2])))
    return features, y


def _river_rows(spec: SyntheticSpec) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows of a river generator: one concept, a ConceptDriftStream switch, or seasons."""
    synth = _synth()

    n_rows = spec.n_windows * spec.rows_per_window
    seeds = _child_seeds(spec.seed, 4)
    if spec.generator == "hyperplane":
        # Two weights move by _HYPERPLANE_CHANGE / n_rows a row and turn back with probability
        # _HYPERPLANE_TURNS / n_rows a row (river tests 0.01 + random() <= sigma).
        drifting = spec.kind != "no-drift"
        dataset = synth.Hyperplane(
            seed=seeds[0],
            n_features=3,
            n_drift_features=2,
            mag_change=_HYPERPLANE_CHANGE / n_rows if drifting else 0.0,
            sigma=0.01 + _HYPERPLANE_TURNS / n_rows if drifting else 0.0,
        )
        return _take(dataset, n_rows)
    if spec.generator == "rbf":
        speed = 0.0 if spec.kind == "no-drift" else _RBF_TRAVEL / n_rows
        dataset = synth.RandomRBFDrift(
            seed_model=seeds[0],
            seed_sample=seeds[1],
            n_features=5,
            n_centroids=20,
            change_speed=speed,
            n_drift_centroids=20,
        )
        return _take(dataset, n_rows)
    if spec.generator == "friedman":
        return _take(_friedman(spec, seeds[0]), n_rows)
    if spec.kind == "label-noise":
        return _sea_label_noise(spec, seeds[0])
    before, after = (_river_concept(spec.generator, c, seeds[c]) for c in (0, 1))
    if spec.kind == "no-drift":
        return _take(before, n_rows)
    if spec.kind == "recurring":
        return _seasons(spec, before, after)
    if spec.kind == "gradual":
        stream = synth.ConceptDriftStream(
            stream=before,
            drift_stream=after,
            position=n_rows // 2,
            width=n_rows // 2,
            seed=seeds[3],
        )
        return _take(stream, n_rows)
    # A sudden switch: river's sigmoid overflows (math.exp) for rows far before a narrow
    # change, so the switch starts at the change window, on a second draw of the old concept.
    start = _change_window(spec) * spec.rows_per_window
    width = max(1, spec.rows_per_window // 50)
    stream = synth.ConceptDriftStream(
        stream=_river_concept(spec.generator, 0, seeds[2]),
        drift_stream=after,
        position=width,
        width=width,
        seed=seeds[3],
    )
    head, tail = _take(before, start), _take(stream, n_rows - start)
    return pd.concat([head[0], tail[0]], ignore_index=True), np.concatenate([head[1], tail[1]])


def _friedman(spec: SyntheticSpec, seed: int) -> Any:
    """Friedman (no drift) or FriedmanDrift with positions scaled to the stream."""
    synth = _synth()

    n, rows = spec.n_windows, spec.rows_per_window
    if spec.kind == "no-drift":
        return synth.Friedman(seed=seed)
    if spec.kind == "lea":
        position = tuple(round(f * n) * rows for f in (0.25, 0.5, 0.75))
        return synth.FriedmanDrift(drift_type="lea", position=position, seed=seed)
    position = (round(0.3 * n) * rows, round(0.65 * n) * rows)
    transition = min(round(0.15 * n) * rows, position[1] - position[0])
    return synth.FriedmanDrift(
        drift_type=spec.kind, position=position, transition_window=transition, seed=seed
    )


def _sea_label_noise(spec: SyntheticSpec, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """SEA variant 0 throughout; window ``w`` has the noise rate of its middle."""
    synth = _synth()

    middles = np.arange(spec.n_windows) + 0.5
    rates = _noise_rate(middles, spec.n_windows)
    window_seeds = _child_seeds(seed, spec.n_windows)
    parts = [
        _take(synth.SEA(variant=0, noise=float(rate), seed=s), spec.rows_per_window)
        for rate, s in zip(rates, window_seeds, strict=True)
    ]
    frame = pd.concat([p[0] for p in parts], ignore_index=True)
    return frame, np.concatenate([p[1] for p in parts])


def _seasons(spec: SyntheticSpec, before: Any, after: Any) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows from ``before`` in the first half of each season, from ``after`` in the second."""
    streams = (iter(before), iter(after))
    rows = [next(streams[int(off)]) for off in _off_season(spec, _positions(spec))]
    return _records(rows)


def _take(dataset: Any, count: int) -> tuple[pd.DataFrame, np.ndarray]:
    return _records(list(dataset.take(count)))


def _records(rows: list[tuple[dict, Any]]) -> tuple[pd.DataFrame, np.ndarray]:
    """A feature frame (integer keys become ``x0, x1, ...``) and the targets."""
    frame = pd.DataFrame.from_records([x for x, _ in rows])
    frame.columns = [f"x{c}" if isinstance(c, int) else str(c) for c in frame.columns]
    y = np.asarray([target for _, target in rows])
    return frame, (y.astype(np.int64) if y.dtype == bool else y)


_GENERATORS: dict[str, Callable[[SyntheticSpec], tuple[pd.DataFrame, np.ndarray]]] = {
    "gauss": _gauss,
    "circles": _circles,
    "covshift": _covshift,
    **{name: _river for name in SYNTHETIC_KINDS if name not in ("gauss", "circles", "covshift")},
}
