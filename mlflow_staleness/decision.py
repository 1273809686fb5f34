"""What a policy returns at each step: a decision that explains itself."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field

from mlflow_staleness.exceptions import InvalidInputError

__all__ = ["ACTIONS", "Decision"]

ACTIONS = ("keep", "retrain", "deploy", "reject")
_TAG_PREFIX = "staleness."
_FLOAT_FIELDS = (
    "staleness_per_step",
    "accumulated_staleness",
    "retrain_cost",
    "break_even_steps",
    "confidence",
    "uncertainty",
)


def _format_float(value: float) -> str:
    """``repr`` round-trips a float exactly; infinities and NaN are spelled ``inf``/``nan``."""
    return repr(float(value))


@dataclass(frozen=True)
class Decision:
    """One decision of a policy, with its numbers and a one-line reason.

    Every number is in loss units (``error_cost * predictions_per_step = 1``); the user-facing
    layers convert them to money through :class:`~mlflow_staleness.costs.CostModel`.

    Parameters
    ----------
    step
        The window the decision is taken for.
    action
        ``"keep"`` or ``"retrain"`` in the first phase of a step; ``"deploy"`` or ``"reject"`` for
        the challenger in the second phase (the gate).
    reason
        One line a person can read in the MLflow UI.
    staleness_per_step
        Estimated excess loss of the served model over a fresh one, this step.
    accumulated_staleness
        Estimated excess loss accumulated since the served model was deployed.
    retrain_cost
        ``alpha``, the retrain cost in loss units.
    break_even_steps
        Steps of the current staleness it takes to pay for a retrain: ``retrain_cost /
        staleness_per_step`` (``inf`` when there is no staleness).
    confidence
        In ``[0, 1]``: how much evidence backs the estimate.
    uncertainty
        Standard deviation of the staleness estimate, in loss units.
    evidence
        The kinds of evidence used, e.g. ``("measured",)``.

    Examples
    --------
    >>> d = Decision(step=7, action="retrain", reason="staleness 0.3 since deploy beats cost 0.2",
    ...              staleness_per_step=0.1, accumulated_staleness=0.3, retrain_cost=0.2,
    ...              break_even_steps=2.0, confidence=0.8, uncertainty=0.02,
    ...              evidence=("measured",))
    >>> Decision.from_tags(d.to_tags()) == d
    True
    >>> d.to_tags()["staleness.action"]
    'retrain'
    """

    step: int
    action: str
    reason: str
    staleness_per_step: float = 0.0
    accumulated_staleness: float = 0.0
    retrain_cost: float = 0.0
    break_even_steps: float = math.inf
    confidence: float = 0.0
    uncertainty: float = 0.0
    evidence: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise InvalidInputError(f"action must be one of {list(ACTIONS)}, got {self.action!r}")
        if not 0.0 <= float(self.confidence) <= 1.0:
            raise InvalidInputError(f"confidence must lie in [0, 1], got {self.confidence!r}")
        object.__setattr__(self, "evidence", tuple(self.evidence))

    @property
    def retrain(self) -> bool:
        """True when the decision is to retrain (phase one) or to deploy (the gate)."""
        return self.action in ("retrain", "deploy")

    def to_dict(self) -> dict:
        """A JSON-ready dict (infinities become ``None``)."""
        out = asdict(self)
        out["evidence"] = list(self.evidence)
        for name in _FLOAT_FIELDS:
            value = float(out[name])
            out[name] = value if math.isfinite(value) else None
        return out

    def to_json(self) -> str:
        """The decision as one JSON document."""
        return json.dumps(self.to_dict(), sort_keys=True)

    def to_tags(self, prefix: str = _TAG_PREFIX) -> dict[str, str]:
        """String tags that :meth:`from_tags` turns back into an equal decision."""
        tags = {
            f"{prefix}step": str(int(self.step)),
            f"{prefix}action": self.action,
            f"{prefix}reason": self.reason,
            f"{prefix}evidence": json.dumps(list(self.evidence)),
        }
        for name in _FLOAT_FIELDS:
            tags[f"{prefix}{name}"] = _format_float(getattr(self, name))
        return tags

    @classmethod
    def from_tags(cls, tags: dict[str, str], prefix: str = _TAG_PREFIX) -> Decision:
        """Rebuild a decision from :meth:`to_tags` output; other tags are ignored."""
        try:
            values: dict = {
                "step": int(tags[f"{prefix}step"]),
                "action": tags[f"{prefix}action"],
                "reason": tags[f"{prefix}reason"],
                "evidence": tuple(json.loads(tags[f"{prefix}evidence"])),
            }
            for name in _FLOAT_FIELDS:
                values[name] = float(tags[f"{prefix}{name}"])
        except KeyError as exc:
            raise InvalidInputError(
                f"tags hold no complete decision: {exc.args[0]!r} is missing"
            ) from exc
        except (ValueError, TypeError) as exc:
            raise InvalidInputError(f"tags hold an unreadable decision: {exc}") from exc
        return cls(**values)
