"""Decision strategies. One module each, one interface (:class:`Policy`), one factory.

Examples
--------
>>> from mlflow_staleness.policies import make_policy, DEFAULT
>>> make_policy("fixed", every=3)
Fixed(every=3)
>>> make_policy("nope")
Traceback (most recent call last):
...
mlflow_staleness.exceptions.InvalidInputError: unknown policy 'nope'; valid names are always, ...
"""

from __future__ import annotations

from typing import Any

from mlflow_staleness.exceptions import InvalidInputError
from mlflow_staleness.policies.always import Always
from mlflow_staleness.policies.base import Observation, Policy
from mlflow_staleness.policies.cumulative import Cumulative
from mlflow_staleness.policies.fixed import Fixed
from mlflow_staleness.policies.forecast import Forecast
from mlflow_staleness.policies.gate import default_gate, deploy_always
from mlflow_staleness.policies.never import Never
from mlflow_staleness.policies.periodic import Periodic
from mlflow_staleness.policies.threshold import Threshold

__all__ = [
    "DEFAULT",
    "POLICIES",
    "Always",
    "Cumulative",
    "Fixed",
    "Forecast",
    "Never",
    "Observation",
    "Periodic",
    "Policy",
    "Threshold",
    "default_gate",
    "deploy_always",
    "make_policy",
]

POLICIES: dict[str, type[Policy]] = {
    cls.name: cls for cls in (Threshold, Cumulative, Periodic, Forecast, Never, Always, Fixed)
}

#: The strategy the advisor uses when the user names none: the best on the decision benchmark.
DEFAULT = "forecast"


def make_policy(name: str, **params: Any) -> Policy:
    """Build a policy by name; ``params`` go to its constructor.

    Raises
    ------
    InvalidInputError
        (a ``ValueError``) for an unknown name or parameter, listing what is allowed.
    """
    if not isinstance(name, str) or name not in POLICIES:
        raise InvalidInputError(
            f"unknown policy {name!r}; valid names are {', '.join(sorted(POLICIES))}"
        )
    cls = POLICIES[name]
    try:
        return cls(**params)
    except TypeError as exc:
        raise InvalidInputError(f"policy {name!r} does not take {sorted(params)}: {exc}") from exc
