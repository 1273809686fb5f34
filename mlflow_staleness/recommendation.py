"""What the advisor returns and writes into MLflow: a recommendation that explains itself.

A :class:`Recommendation` is the advisor's unit of truth. It is written three ways: as the
``advice.json`` artifact of the advisor run (the source of truth), as ``staleness.*`` tags on the
served model version (display copies for the MLflow UI, written one request at a time, with
``staleness.advice_id`` last to mark them complete), and as ``--json`` output of the CLI.

Tag formats: numbers are ``repr`` of the float (exact round trip; ``inf`` and ``nan`` spelled out),
money carries the currency (``"12.5 EUR"``), times are ISO-8601 UTC, lists are JSON, and a field
that is not set is an empty string (so a newer advice always overwrites an older value).
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from typing import Any

from mlflow_staleness.exceptions import InvalidInputError

__all__ = ["ACTIONS", "SCHEMA_VERSION", "TAG_PREFIX", "Recommendation", "new_advice_id", "utc_now"]

ACTIONS = ("keep", "retrain", "promote", "rollback", "insufficient-evidence")
SCHEMA_VERSION = 1
TAG_PREFIX = "staleness."
#: The tag that marks a complete advice; written last.
ADVICE_ID_TAG = TAG_PREFIX + "advice_id"
_MONEY = ("cost_per_step", "accumulated_cost", "retrain_cost")
_FLOATS = (
    "staleness_per_step",
    "accumulated_staleness",
    "retrain_cost_loss",
    "break_even_steps",
    "uncertainty",
    "confidence",
)
_OPTIONAL_FLOATS = ("measured_loss",)
_INTS = ("window_seq", "schema_version")
_STRINGS = (
    "model_name",
    "version",
    "action",
    "strategy",
    "reason",
    "window",
    "currency",
    "evaluated_at",
    "data_digest",
    "advice_id",
)
_OPTIONAL_STRINGS = (
    "alias",
    "candidate_version",
    "advisor_run_id",
    "engine_action",
    "loss_warning",
)
_LISTS = ("evidence", "top_features")
MAX_REASON = 500  # characters; the one line a person reads in the MLflow UI


def new_advice_id() -> str:
    """A fresh, unique advice id."""
    return uuid.uuid4().hex


def utc_now() -> str:
    """The current time, ISO-8601 in UTC, to the second."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class Recommendation:
    """The advice for one served model version on one window.

    Money fields are in ``currency``; ``*_staleness`` and ``*_loss`` fields are in loss units
    (the model's own loss, lower is better). ``confidence`` lies in ``[0, 1]``.
    ``engine_action`` is what the policy decided on the registry's evidence (``keep``,
    ``retrain``, ``deploy`` or ``reject``), exactly as a backtest of it would; ``action`` differs
    from it only when switching to an existing version is cheaper (``rollback``, or ``promote``
    of a version measured better). ``loss_warning`` is set when the measured loss is implausible
    against the version's history (a likely data error: no alias or stage is moved then).

    Examples
    --------
    >>> rec = Recommendation(
    ...     model_name="fraud", version="3", action="retrain", strategy="forecast",
    ...     reason="stale by 0.02/step; a fresh cycle costs 0.01/step: retrain",
    ...     window="2026-11-27", window_seq=12, currency="EUR", cost_per_step=80.0,
    ...     accumulated_cost=410.0, retrain_cost=400.0, staleness_per_step=0.02,
    ...     accumulated_staleness=0.1025, retrain_cost_loss=0.1, break_even_steps=5.0,
    ...     uncertainty=0.004, confidence=0.8, evidence=("age-curve", "measured"),
    ...     top_features=(("nswprice", 1.7),), evaluated_at="2026-11-28T05:00:00+00:00",
    ...     data_digest="ab12", advice_id="0f3c")
    >>> Recommendation.from_tags(rec.to_tags()) == rec
    True
    >>> rec.to_tags()["staleness.accumulated_cost"]
    '410.0 EUR'
    """

    model_name: str
    version: str
    action: str
    strategy: str
    reason: str
    window: str
    window_seq: int
    currency: str
    cost_per_step: float
    accumulated_cost: float
    retrain_cost: float
    staleness_per_step: float
    accumulated_staleness: float
    retrain_cost_loss: float
    break_even_steps: float
    uncertainty: float
    confidence: float
    evidence: tuple[str, ...] = field(default=())
    top_features: tuple[tuple[str, float], ...] = field(default=())
    evaluated_at: str = ""
    data_digest: str = ""
    advice_id: str = ""
    alias: str | None = None
    candidate_version: str | None = None
    measured_loss: float | None = None
    advisor_run_id: str | None = None
    engine_action: str | None = None
    loss_warning: str | None = None
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise InvalidInputError(f"action must be one of {list(ACTIONS)}, got {self.action!r}")
        if not 0.0 <= float(self.confidence) <= 1.0:
            raise InvalidInputError(f"confidence must lie in [0, 1], got {self.confidence!r}")
        broken = bool(self.reason) and self.reason.splitlines() != [self.reason]
        if broken or len(self.reason) > MAX_REASON:
            raise InvalidInputError(
                f"the reason must be one line of at most {MAX_REASON} characters, got "
                f"{len(self.reason)} characters{' with a line break' if broken else ''}"
            )
        for name in (*_MONEY, *_FLOATS, *_OPTIONAL_FLOATS):
            value = getattr(self, name)
            if value is not None and math.isnan(float(value)):
                raise InvalidInputError(f"{name} must be a number, got NaN")
        object.__setattr__(self, "evidence", tuple(str(e) for e in self.evidence))
        object.__setattr__(
            self, "top_features", tuple((str(n), float(s)) for n, s in self.top_features)
        )
        if not all(math.isfinite(score) for _, score in self.top_features):
            raise InvalidInputError(
                f"top feature scores must be finite numbers, got {self.top_features!r:.200}"
            )

    @property
    def complete(self) -> bool:
        """True when the advice carries an id (it was finished, not just planned)."""
        return bool(self.advice_id)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: the ``--json`` output and the ``advice.json`` artifact.

        Infinite or NaN numbers become ``None``.
        """
        out = asdict(self)
        out["evidence"] = list(self.evidence)
        out["top_features"] = [{"feature": n, "score": s} for n, s in self.top_features]
        for name in (*_MONEY, *_FLOATS, *_OPTIONAL_FLOATS):
            value = out[name]
            out[name] = value if value is not None and math.isfinite(value) else None
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recommendation:
        """Rebuild a recommendation from :meth:`to_dict` output (``None`` numbers read as inf)."""
        try:
            values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
            for name in (*_MONEY, *_FLOATS):
                values[name] = math.inf if values[name] is None else float(values[name])
            values["evidence"] = tuple(values.get("evidence", ()))
            values["top_features"] = tuple(
                (item["feature"], item["score"]) for item in values.get("top_features", ())
            )
            return cls(**values)
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(f"not a readable advice: {exc!r}") from exc

    def to_tags(self, prefix: str = TAG_PREFIX) -> dict[str, str]:
        """String tags that :meth:`from_tags` turns back into an equal recommendation.

        The advice id comes last, in insertion order: write the tags in this order.
        """
        tags: dict[str, str] = {}
        for name in _STRINGS:
            if name != "advice_id":
                tags[prefix + name] = getattr(self, name)
        for name in _OPTIONAL_STRINGS:
            value = getattr(self, name)
            tags[prefix + name] = "" if value is None else value
        for name in _INTS:
            tags[prefix + name] = str(int(getattr(self, name)))
        for name in _MONEY:
            tags[prefix + name] = f"{float(getattr(self, name))!r} {self.currency}"
        for name in _FLOATS:
            tags[prefix + name] = repr(float(getattr(self, name)))
        for name in _OPTIONAL_FLOATS:
            value = getattr(self, name)
            tags[prefix + name] = "" if value is None else repr(float(value))
        tags[prefix + "evidence"] = json.dumps(list(self.evidence))
        tags[prefix + "top_features"] = json.dumps([[n, s] for n, s in self.top_features])
        tags[prefix + "advice_id"] = self.advice_id
        return tags

    @classmethod
    def from_tags(cls, tags: dict[str, str], prefix: str = TAG_PREFIX) -> Recommendation:
        """Rebuild a recommendation from :meth:`to_tags` output; other tags are ignored."""
        try:
            values: dict[str, Any] = {name: tags[prefix + name] for name in _STRINGS}
            for name in _OPTIONAL_STRINGS:
                values[name] = tags[prefix + name] or None
            for name in _INTS:
                values[name] = int(tags[prefix + name])
            for name in _MONEY:
                number, _, currency = tags[prefix + name].partition(" ")
                if currency != values["currency"]:
                    raise ValueError(
                        f"{prefix + name} is in {currency!r}, the advice in {values['currency']!r}"
                    )
                values[name] = float(number)
            for name in _FLOATS:
                values[name] = float(tags[prefix + name])
            for name in _OPTIONAL_FLOATS:
                text = tags[prefix + name]
                values[name] = float(text) if text else None
            values["evidence"] = tuple(json.loads(tags[prefix + "evidence"]))
            values["top_features"] = tuple(
                (n, s) for n, s in json.loads(tags[prefix + "top_features"])
            )
        except KeyError as exc:
            raise InvalidInputError(
                f"tags hold no complete advice: {exc.args[0]!r} is missing"
            ) from exc
        except (ValueError, TypeError) as exc:
            raise InvalidInputError(f"tags hold an unreadable advice: {exc}") from exc
        return cls(**values)

    def summary(self) -> str:
        """One line for the registered model's summary tag and for terminals."""
        money = f"{self.cost_per_step:,.2f} {self.currency}/window"
        return (
            f"v{self.version} on window {self.window}: {self.action} "
            f"(stale cost {money}, confidence {self.confidence:.2f}) - {self.reason}"
        )[:MAX_REASON]
