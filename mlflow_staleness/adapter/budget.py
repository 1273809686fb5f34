"""Budgets for every value the advisor writes into MLflow, one per kind of value.

MLflow refuses a value over its limit with an error, one request at a time; an advice is many
requests. So every value is fitted to its kind's budget when the plan is made (cut visibly, with
``…`` and a count of what was left out), and the whole plan is checked against the same budgets
before its first write (:func:`check_plan`): a plan that would be refused is refused whole, by a
dry run too.

The budgets are the smallest limits among the MLflow servers the advisor supports (2.22 and
later; ``mlflow/utils/validation.py``):

==================  ======  ==========================================================
kind                budget  MLflow's limit
==================  ======  ==========================================================
run tag value        8,000  ``MAX_TAG_VAL_LENGTH`` (8,000 since 2.17; 5,000 before)
version tag value    5,000  ``MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH`` (5,000 in 2.x,
                            100,000 in 3.x)
model tag value      5,000  the same
param value          6,000  ``MAX_PARAM_VAL_LENGTH`` (the advisor logs no params)
key (any kind)         250  ``MAX_ENTITY_KEY_LENGTH``, ``MAX_MODEL_REGISTRY_TAG_KEY_LENGTH``
==================  ======  ==========================================================

Examples
--------
>>> fit("x" * 30, 20)
'xxxxxxx… (+23 chars)'
>>> len(fit("x" * 30, 20))
20
>>> fit_list(["a" * 10, "b" * 10, "c" * 10], 30)
'["aaaaaaaaaa", "… (+2 items)"]'
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from mlflow_staleness.exceptions import InvalidInputError

__all__ = [
    "BUDGETS",
    "KEY_BUDGET",
    "WriteBudgetError",
    "budget_of",
    "check_plan",
    "fit",
    "fit_list",
]

KEY_BUDGET = 250
#: The value budget of each kind of write.
BUDGETS = {
    "set-run-tags": 8_000,
    "set-version-tag": 5_000,
    "set-model-tag": 5_000,
    "log-param": 6_000,
}
ELLIPSIS = "…"


class WriteBudgetError(InvalidInputError):
    """A value of a write plan is over MLflow's limit for its kind (refused before any write)."""


def budget_of(kind: str) -> int:
    """The value budget of a kind of write (see the table above)."""
    return BUDGETS[kind]


def fit(text: str, budget: int) -> str:
    """``text`` itself when it fits in ``budget`` characters, else its head, ``…`` and the
    count of characters left out, in exactly ``budget`` characters."""
    if len(text) <= budget:
        return text
    keep = budget
    while True:
        marker = f"{ELLIPSIS} (+{len(text) - keep} chars)"
        if keep + len(marker) <= budget:
            return text[:keep] + marker
        keep = max(budget - len(marker), 0)
        if keep == 0:
            return marker[:budget]


def fit_list(items: Sequence[Any], budget: int) -> str:
    """A JSON list of ``items`` in at most ``budget`` characters: each string item cut to a
    share of the budget, and items that no longer fit replaced by one ``"… (+N items)"``."""
    whole = json.dumps(list(items))  # as Recommendation.to_tags writes it
    if len(whole) <= budget:
        return whole
    share = max(budget // max(min(len(items), 8), 1) - 16, 32)
    cut = [_fit_item(item, share) for item in items]
    for shown in range(len(cut), -1, -1):
        head = cut[:shown]
        if shown < len(cut):
            head = [*head, f"{ELLIPSIS} (+{len(cut) - shown} items)"]
        text = json.dumps(head, ensure_ascii=False)
        if len(text) <= budget:
            return text
    return "[]"


def _fit_item(item: Any, share: int) -> Any:
    if isinstance(item, str):
        return fit(item, share)
    if isinstance(item, list | tuple):
        return [_fit_item(part, share) for part in item]
    return item


def check_plan(writes: Iterable[Any]) -> None:
    """Refuse a plan with a key or value over MLflow's limit for its kind, before any write.

    ``writes`` are :class:`~mlflow_staleness.adapter.writing.Write` objects; a run-tags batch
    carries its tags as a JSON payload, a metrics batch its keys.
    """
    for write in writes:
        pairs: list[tuple[str, str]] = []
        if write.kind in ("set-run-tags", "log-metrics"):
            document = json.loads(write.payload)
            run_tags = write.kind == "set-run-tags"
            pairs = [(k, str(v) if run_tags else "") for k, v in document.items()]
        elif write.kind in BUDGETS:
            pairs = [(write.key, write.value)]
        for key, value in pairs:
            if len(key) > KEY_BUDGET:
                raise WriteBudgetError(
                    f"{write.kind} on {write.target}: a key of {len(key)} characters "
                    f"({key[:40]!r}...) is over MLflow's limit of {KEY_BUDGET}; nothing was "
                    f"written"
                )
            budget = BUDGETS.get(write.kind)
            if budget is not None and len(value) > budget:
                raise WriteBudgetError(
                    f"{write.kind} on {write.target}: the value of {key[:60]!r} has "
                    f"{len(value)} characters, over the budget of {budget} for this kind "
                    f"(MLflow's limit); nothing was written"
                )
