"""What every staleness estimator returns: an estimate with its uncertainty and its evidence."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import NormalDist

from mlflow_staleness.exceptions import InvalidInputError

__all__ = ["Estimate"]


@dataclass(frozen=True)
class Estimate:
    """An estimated loss, in loss units.

    Parameters
    ----------
    value
        The estimated loss.
    sd
        Its standard deviation (``0`` for an exact value).
    evidence
        The kinds of evidence used, e.g. ``("measured",)`` or ``("validation", "similarity")``.
    confidence
        In ``[0, 1]``: how much evidence backs it. An estimate that fell back to a prior says so
        with a low confidence.
    note
        One line on how it was obtained.

    Examples
    --------
    >>> e = Estimate(value=0.2, sd=0.05, evidence=("measured",), confidence=0.9)
    >>> [round(x, 4) for x in e.interval(0.9)]
    [0.1178, 0.2822]
    """

    value: float
    sd: float
    evidence: tuple[str, ...] = field(default=())
    confidence: float = 1.0
    note: str = ""

    def __post_init__(self) -> None:
        if not math.isfinite(self.value):
            raise InvalidInputError(f"an estimate must be a finite number, got {self.value!r}")
        if not (self.sd >= 0 and math.isfinite(self.sd)):
            raise InvalidInputError(f"sd must be a finite number >= 0, got {self.sd!r}")
        if not 0.0 <= self.confidence <= 1.0:
            raise InvalidInputError(f"confidence must lie in [0, 1], got {self.confidence!r}")
        object.__setattr__(self, "evidence", tuple(self.evidence))

    def interval(self, level: float = 0.9) -> tuple[float, float]:
        """Central interval holding the true loss with probability ``level`` (normal errors)."""
        if not 0 < level < 1:
            raise InvalidInputError(f"level must lie in (0, 1), got {level!r}")
        z = NormalDist().inv_cdf(0.5 + level / 2)
        return self.value - z * self.sd, self.value + z * self.sd
