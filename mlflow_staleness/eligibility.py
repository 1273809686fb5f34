"""One eligibility rule for every version the advisor may put into service, or advise on.

The served version, the candidate the gate judges (chosen or named with ``--candidate``), and the
target of a switch (``rollback`` or ``promote``) are all held to the same rule,
:func:`ineligibility`. A version is eligible when:

- it belongs to the registered model being advised;
- its registration is ``READY``;
- its stage is not ``Archived`` (the team took it out of service);
- it carries no ``staleness.withdrawn`` tag (any value but ``""``, ``false``, ``0`` or ``no``;
  the value is the reason, shown in the advice);
- its source run, when it names one, exists and is not deleted;
- its logged validation loss, when there is one, is a finite number.

A version with no loss logged at all, or no source run at all (MLflow 3's run-less models), is
still eligible: it is advised with less evidence, as before. What makes it ineligible is evidence
that is there and broken.

The rule is pure: the adapter reads the facts (in the batches it already makes, no extra request)
into :class:`~mlflow_staleness.advice.VersionEvidence`.

>>> from mlflow_staleness.advice import VersionEvidence
>>> ineligibility(VersionEvidence("3", 0, bad_loss="'val_loss' is nan")).reason
"its validation loss 'val_loss' is nan"
>>> ineligibility(VersionEvidence("3", 0, stage="Archived")).reason
'it is in stage Archived'
>>> ineligibility(VersionEvidence("3", 0)) is None
True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # advice imports this module; the type is only for annotations
    from mlflow_staleness.advice import VersionEvidence

__all__ = [
    "WITHDRAWN_TAG",
    "Ineligible",
    "eligible",
    "ineligibility",
    "passed_over",
    "withdrawn_reason",
]

#: A version tag that takes a version out of the advisor's choices; its value says why.
WITHDRAWN_TAG = "staleness.withdrawn"
_NOT_WITHDRAWN = ("", "false", "0", "no")
#: Versions named one by one in the advice's evidence; the rest are counted.
MAX_LISTED = 5


@dataclass(frozen=True)
class Ineligible:
    """Why a version may not serve (``reason``, "its source run r1 is deleted"), and the way
    forward for it (``fix``, "restore it with `mlflow runs restore --run-id r1`")."""

    version: str
    reason: str
    fix: str
    kind: str  # model, status, stage, withdrawn, run-deleted, run-missing, loss


def withdrawn_reason(tags: Mapping[str, str]) -> str | None:
    """The value of a version's ``staleness.withdrawn`` tag when it withdraws it, else None.

    >>> withdrawn_reason({"staleness.withdrawn": "leaks the label"})
    'leaks the label'
    >>> withdrawn_reason({"staleness.withdrawn": "false"}) is None
    True
    """
    value = tags.get(WITHDRAWN_TAG)
    if value is None or str(value).strip().lower() in _NOT_WITHDRAWN:
        return None
    return str(value).strip()


def ineligibility(version: VersionEvidence, model_name: str | None = None) -> Ineligible | None:
    """Why ``version`` may not be put into service or advised on, or None when it may.

    ``model_name``: the registered model being advised; a version of another model is refused.
    """
    v = version.version
    if model_name is not None and version.model is not None and version.model != model_name:
        return Ineligible(
            v,
            f"it is a version of {version.model!r}, not of {model_name!r}",
            f"name a version of {model_name!r}",
            "model",
        )
    if version.status != "READY":
        return Ineligible(
            v,
            f"its registration is {version.status}, not READY",
            "wait for the registration to finish, or register the model again",
            "status",
        )
    if (version.stage or "").lower() == "archived":
        return Ineligible(
            v,
            "it is in stage Archived",
            f"move v{v} out of Archived if it should serve again",
            "stage",
        )
    if version.withdrawn is not None:
        return Ineligible(
            v,
            f"it is withdrawn (tag {WITHDRAWN_TAG} = {version.withdrawn[:80]!r})",
            f"delete the tag {WITHDRAWN_TAG} of v{v} if it should serve again",
            "withdrawn",
        )
    if version.run_deleted:
        return Ineligible(
            v,
            f"its source run {version.run_id} is deleted",
            f"restore it (mlflow runs restore --run-id {version.run_id})",
            "run-deleted",
        )
    if version.run_missing:
        return Ineligible(
            v,
            f"its source run {version.run_id} does not exist (or cannot be read)",
            "register the model again from a run that exists",
            "run-missing",
        )
    if version.bad_loss is not None:
        return Ineligible(
            v,
            f"its validation loss {version.bad_loss}",
            f"log a finite loss on run {version.run_id}, or name another metric with --loss-key",
            "loss",
        )
    return None


def eligible(version: VersionEvidence, model_name: str | None = None) -> bool:
    """Whether ``version`` may be put into service (:func:`ineligibility` finds nothing)."""
    return ineligibility(version, model_name) is None


def passed_over(
    versions: Iterable[VersionEvidence], served: str, model_name: str | None = None
) -> tuple[str, ...]:
    """Evidence lines naming the ineligible versions besides ``served`` and why, newest first:
    at most :data:`MAX_LISTED` named, the rest counted.

    >>> from mlflow_staleness.advice import VersionEvidence
    >>> passed_over([VersionEvidence("2", 0, status="FAILED_REGISTRATION")], served="1")
    ('passed over v2: its registration is FAILED_REGISTRATION, not READY',)
    """
    found = [
        (v, problem)
        for v in sorted(versions, key=lambda v: -v.number)
        if v.version != served and (problem := ineligibility(v, model_name)) is not None
    ]
    lines = [f"passed over v{v.version}: {problem.reason}" for v, problem in found[:MAX_LISTED]]
    if len(found) > MAX_LISTED:
        lines.append(f"passed over {len(found) - MAX_LISTED} more ineligible version(s)")
    return tuple(lines)
