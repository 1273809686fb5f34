"""The advisor's settings for one model, from three layers: flags, a cost file, the model's tags.

``mlflow-staleness configure`` stores the settings on the registered model, so that the
post-evaluation hook, the CLI and CI all advise with the same costs. Each layer overrides the one
below it; a layer that gives ``retrain_cost`` replaces every part given below it (the total lands
on ``compute_cost``).

**Stored atomically.** The settings are one JSON document in one registered-model tag,
``staleness.config`` (``{"format": 1, "revision": n, "settings": {...}}``), written by one
request: a reader sees the old document or the new one, never half of a change, and two racing
``configure`` calls leave one of the two whole. Older versions stored one tag per setting
(``staleness.config.<key>``); those are read only when the document is absent, and leftovers of
an interrupted change of that form (a total and its parts both stored) are tolerated: the total
wins. ``configure`` removes them; ``configure --reset`` removes every stored setting.

Examples
--------
>>> stored = {"staleness.config": settings_document(
...     {"retrain_cost": 400.0, "error_cost": 0.5, "predictions_per_step": 2000.0,
...      "currency": "EUR"}, revision=1)}
>>> s = resolve([{"error_cost": 1.0}], stored_tags=stored)
>>> s.cost.retrain_cost, s.cost.error_cost, s.cost.currency, s.strategy
(400.0, 1.0, 'EUR', 'forecast')
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomllib

from mlflow_staleness._bounded import MAX_SETTINGS_BYTES, check_document, check_size
from mlflow_staleness._terminal import has_control
from mlflow_staleness.costs import CostModel
from mlflow_staleness.exceptions import InvalidCostError, InvalidInputError
from mlflow_staleness.losses import METRICS
from mlflow_staleness.policies import DEFAULT, POLICIES

__all__ = [
    "CONFIG_PREFIX",
    "COST_KEYS",
    "SETTINGS_TAG",
    "Settings",
    "config_tags",
    "read_cost_file",
    "resolve",
    "settings_document",
    "stored_revision",
]

#: The registered-model tag that holds the whole settings document.
SETTINGS_TAG = "staleness.config"
#: The per-key tags of older versions (``staleness.config.<key>``), read only as a fallback.
CONFIG_PREFIX = SETTINGS_TAG + "."
FORMAT = 1
#: The longest text setting (currency, alias, loss key, strategy): MLflow's key limit, so that
#: the whole document stays far within a registered-model tag's budget.
MAX_TEXT = 250
PARTS = ("compute_cost", "people_cost", "data_cost", "risk_cost")
COST_KEYS = ("retrain_cost", *PARTS, "error_cost", "predictions_per_step", "currency")
OTHER_KEYS = ("alias", "loss_key", "metric", "strategy")
ALL_KEYS = (*COST_KEYS, *OTHER_KEYS)
DEFAULT_ALIAS = "champion"


@dataclass(frozen=True)
class Settings:
    """Resolved settings: the cost model, the strategy, the alias, the loss key."""

    cost: CostModel | None
    strategy: str = DEFAULT
    alias: str = DEFAULT_ALIAS
    alias_given: bool = False  # True when a layer named the alias (a missing one is an error)
    loss_key: str | None = None
    metric: str | None = None  # how the loss is measured (losses.METRICS); None: found out


def _number(name: str, value: Any, source: str) -> float:
    if isinstance(value, bool):
        raise InvalidCostError(f"{name} in {source} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidCostError(f"{name} in {source} must be a number, got {value!r}") from None
    if not math.isfinite(number) or number < 0:
        raise InvalidCostError(f"{name} in {source} must be a finite number >= 0, got {value!r}")
    return number


def cost_settings(cost: CostModel) -> dict[str, Any]:
    """A cost model as a settings layer (all four parts, so it replaces any stored total)."""
    return {
        "compute_cost": cost.compute_cost,
        "people_cost": cost.people_cost,
        "data_cost": cost.data_cost,
        "risk_cost": cost.risk_cost,
        "error_cost": cost.error_cost,
        "predictions_per_step": cost.predictions_per_step,
        "currency": cost.currency,
    }


def check_layer(layer: Mapping[str, Any], source: str) -> dict[str, Any]:
    """Validate one layer of settings: known keys, numbers >= 0, no total with its parts."""
    unknown = sorted(set(layer) - set(ALL_KEYS))
    if unknown:
        raise InvalidInputError(
            f"unknown setting(s) {', '.join(map(repr, unknown))} in {source}; the known ones "
            f"are {', '.join(ALL_KEYS)}"
        )
    clean: dict[str, Any] = {}
    for key, value in layer.items():
        if value is None:
            continue
        if key in ("currency", *OTHER_KEYS):
            if not isinstance(value, str) or not value.strip():
                raise InvalidInputError(f"{key} in {source} must be a non-empty string")
            if has_control(value.strip()):
                raise InvalidInputError(
                    f"{key} in {source} must be one line without control characters, got "
                    f"{value[:40]!r}"
                )
            if len(value.strip()) > MAX_TEXT:
                raise InvalidInputError(
                    f"{key} in {source} must have at most {MAX_TEXT} characters, got "
                    f"{len(value.strip())} ({value.strip()[:40]!r}...)"
                )
            clean[key] = value.strip()
        else:
            clean[key] = _number(key, value, source)
    if "retrain_cost" in clean and any(part in clean for part in PARTS):
        given = [part for part in PARTS if part in clean]
        raise InvalidCostError(
            f"{source} gives both retrain_cost and its parts ({', '.join(given)}); give the total "
            f"or the parts, not both"
        )
    if "metric" in clean and clean["metric"] not in METRICS:
        raise InvalidInputError(
            f"unknown metric {clean['metric']!r} in {source}; the advisor measures "
            f"{', '.join(sorted(METRICS))}"
        )
    if "strategy" in clean and clean["strategy"] not in POLICIES:
        raise InvalidInputError(
            f"unknown strategy {clean['strategy']!r} in {source}; valid names are "
            f"{', '.join(sorted(POLICIES))}"
        )
    return clean


def read_cost_file(path: str | Path) -> dict[str, Any]:
    """The settings in a TOML cost file (top level, or under a ``[costs]`` table)."""
    file = Path(path)
    try:
        check_size(
            file.stat().st_size,
            f"cost file {str(file)!r}",
            MAX_SETTINGS_BYTES,
            "A cost file holds a dozen settings; give the path of the right file",
        )
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInputError(f"cost file {str(file)!r} does not exist") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInputError(f"cost file {str(file)!r} is not readable TOML: {exc}") from exc
    if isinstance(data.get("costs"), dict):
        table = data["costs"]
        both = sorted(set(table) & set(data))
        if both:
            key = both[0]
            raise InvalidInputError(
                f"cost file {str(file)!r} gives {key} twice: {data[key]!r} at the top level and "
                f"{table[key]!r} under [costs]; give each setting once (either place)"
            )
        data = {**{k: v for k, v in data.items() if k != "costs"}, **table}
    return check_layer(data, f"cost file {str(file)!r}")


def stored_settings(tags: Mapping[str, str]) -> dict[str, Any]:
    """The settings stored on a registered model by ``configure``.

    The document tag when there is one (per-key tags beside it are leftovers, ignored); else the
    per-key tags of older versions, where a total stored with its parts (an interrupted change)
    counts as the total.
    """
    if SETTINGS_TAG in tags:
        source = f"the model's stored settings (tag {SETTINGS_TAG})"
        return check_layer(_read_document(tags[SETTINGS_TAG])["settings"], source)
    layer = {k[len(CONFIG_PREFIX) :]: v for k, v in tags.items() if k.startswith(CONFIG_PREFIX)}
    if "retrain_cost" in layer:
        layer = {k: v for k, v in layer.items() if k not in PARTS}
    return check_layer(layer, "the model's stored configuration (staleness.config.* tags)")


def stored_revision(tags: Mapping[str, str]) -> int:
    """The revision of the stored settings document; 0 when there is none."""
    return int(_read_document(tags[SETTINGS_TAG])["revision"]) if SETTINGS_TAG in tags else 0


def settings_document(layer: Mapping[str, Any], *, revision: int) -> str:
    """The value of the settings tag for a checked layer (numbers exact: JSON floats round-trip).

    >>> settings_document({"error_cost": 0.1, "currency": "EUR"}, revision=3)
    '{"format": 1, "revision": 3, "settings": {"currency": "EUR", "error_cost": 0.1}}'
    """
    document = {"format": FORMAT, "revision": int(revision), "settings": dict(layer)}
    return json.dumps(document, sort_keys=True)


def _read_document(text: str) -> dict[str, Any]:
    check_document(
        text.encode("utf-8", errors="surrogatepass"),
        f"the model's stored settings (tag {SETTINGS_TAG})",
        MAX_SETTINGS_BYTES,
        "Run `mlflow-staleness configure MODEL --reset` and configure again",
    )
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        document = None
    if (
        not isinstance(document, dict)
        or not isinstance(document.get("settings"), dict)
        or not isinstance(document.get("revision"), int)
    ):
        raise InvalidInputError(
            f"the model's stored settings (tag {SETTINGS_TAG}) are not a settings document: "
            f"{text[:80]!r}; run `mlflow-staleness configure MODEL --reset` and configure again"
        )
    if document.get("format") != FORMAT:
        raise InvalidInputError(
            f"the model's stored settings (tag {SETTINGS_TAG}) have format "
            f"{document.get('format')!r}, this version reads format {FORMAT}: upgrade "
            f"mlflow-staleness, or run `mlflow-staleness configure MODEL --reset`"
        )
    return document


def config_tags(layer: Mapping[str, Any]) -> dict[str, str]:
    """The settings of a checked layer as ``staleness.config.<key>`` = text (numbers exact, via
    ``repr``): what ``configure`` prints and returns."""
    return {
        CONFIG_PREFIX + key: value if isinstance(value, str) else repr(float(value))
        for key, value in layer.items()
    }


def resolve(
    layers: Sequence[Mapping[str, Any]],
    *,
    stored_tags: Mapping[str, str] | None = None,
    model_name: str = "the model",
    require_cost: bool = True,
) -> Settings:
    """Merge ``layers`` (highest priority first) over the stored tags into :class:`Settings`.

    Without ``require_cost``, missing costs are allowed and :attr:`Settings.cost` is None
    (recording a measured loss needs no cost).
    """
    ordered = [(stored_settings(stored_tags or {}), "the model's stored configuration")]
    ordered += [
        (check_layer(layer, "the arguments"), "the arguments") for layer in reversed(layers)
    ]
    merged = merge(ordered)
    missing = [k for k in ("error_cost", "predictions_per_step") if k not in merged]
    if "retrain_cost" not in merged and not any(part in merged for part in PARTS):
        missing.insert(0, "retrain_cost")
    if missing and not require_cost:
        return _settings(merged, None)
    if missing:
        raise InvalidCostError(
            f"no {', '.join(missing)} for {model_name}: run `mlflow-staleness configure` once, or "
            f"pass {', '.join('--' + m.replace('_', '-') for m in missing)}"
        )
    parts = {part: merged.get(part, 0.0) for part in PARTS}
    if "retrain_cost" in merged:
        parts = {**dict.fromkeys(PARTS, 0.0), "compute_cost": merged["retrain_cost"]}
    cost = CostModel(
        **parts,
        error_cost=merged["error_cost"],
        predictions_per_step=merged["predictions_per_step"],
        currency=merged.get("currency", "USD"),
    )
    return _settings(merged, cost)


def merge(layers: Sequence[tuple[Mapping[str, Any], str]]) -> dict[str, Any]:
    """Merge checked ``(layer, source)`` pairs, lowest priority first.

    A total (``retrain_cost``) replaces every part below it; all four parts replace a total
    below them; some parts over a total is refused, since it is not clear whether they break the
    total down or add to it.

    Examples
    --------
    >>> merge([({"retrain_cost": 800.0}, "stored"), ({"error_cost": 2.0}, "flags")])
    {'retrain_cost': 800.0, 'error_cost': 2.0}
    >>> merge([({"retrain_cost": 800.0}, "stored"), ({"risk_cost": 50.0}, "flags")])
    Traceback (most recent call last):
    ...
    mlflow_staleness.exceptions.InvalidCostError: risk_cost (from flags) would be part of a ...
    """
    merged: dict[str, Any] = {}
    below = ""
    for layer, source in layers:
        given = [part for part in PARTS if part in layer]
        if "retrain_cost" in layer:
            for part in PARTS:
                merged.pop(part, None)
        elif given and "retrain_cost" in merged:
            if len(given) < len(PARTS):
                raise InvalidCostError(
                    f"{', '.join(given)} (from {source}) would be part of a retrain cost that "
                    f"{below} gives as a total (retrain_cost={merged['retrain_cost']!r}); give a "
                    f"new total, or all four parts ({', '.join(PARTS)})"
                )
            merged.pop("retrain_cost")
        if "retrain_cost" in layer or given:
            below = source
        merged.update(layer)
    return merged


def _settings(merged: Mapping[str, Any], cost: CostModel | None) -> Settings:
    return Settings(
        cost=cost,
        strategy=merged.get("strategy", DEFAULT),
        alias=merged.get("alias", DEFAULT_ALIAS),
        alias_given="alias" in merged,
        loss_key=merged.get("loss_key"),
        metric=merged.get("metric"),
    )
