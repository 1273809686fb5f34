"""Advice right after ``mlflow.models.evaluate``: one call in a team's evaluation pipeline.

A team that scores fresh labelled data with ``mlflow.models.evaluate`` already has the served
version's loss on the window; :func:`advise_after_evaluate` turns the evaluation's metrics into that
loss, fingerprints the same data for drift, and advises (writing the advice back into MLflow)::

    result = mlflow.models.evaluate(
        "models:/fraud@champion", data=window, targets="is_fraud", model_type="classifier"
    )
    rec = advise_after_evaluate(result, "fraud", window, targets="is_fraud", window="2026-11-28")
    print(rec.action, rec.reason)

This module does not import MLflow: it reads ``eval_result.metrics`` only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from mlflow_staleness.costs import CostModel
from mlflow_staleness.exceptions import InvalidInputError
from mlflow_staleness.recommendation import Recommendation

__all__ = ["advise_after_evaluate"]


def advise_after_evaluate(
    eval_result: Any,
    model_name: str,
    data: pd.DataFrame,
    *,
    targets: str | None = None,
    window: str | None = None,
    metric_key: str | None = None,
    greater_is_better: bool | None = None,
    cost: CostModel | None = None,
    tracking_uri: str | None = None,
    dry_run: bool = False,
    apply: bool = False,
    **advisor_options: Any,
) -> Recommendation:
    """Record an evaluation of the served version on a window, and advise.

    Parameters
    ----------
    eval_result
        What ``mlflow.models.evaluate`` returned (an ``EvaluationResult``; only its ``metrics``
        mapping is read), or that mapping itself. Evaluate the served version
        (``models:/NAME@champion``, or the alias you serve through).
    model_name
        The registered model.
    data
        The data the evaluation scored: its feature columns are fingerprinted for drift.
    targets
        The label column of ``data``, left out of the fingerprint (as in ``evaluate``).
    window
        The window's label; default: today's UTC date.
    metric_key, greater_is_better
        The evaluation metric to read as the loss, when not the default evaluator's one for the
        version's logged loss (``accuracy_score`` for an error rate, ``mean_absolute_error`` for
        MAE, ``mean_squared_error``, ``root_mean_squared_error``); with ``metric_key``, say
        whether it is a score.
    cost, tracking_uri, advisor_options
        Passed to :class:`~mlflow_staleness.Advisor` (``alias``, ``strategy``, ``set_alias`` ...).
    dry_run, apply
        As in :meth:`Advisor.advise <mlflow_staleness.Advisor.advise>`.

    Returns
    -------
    Recommendation
        The advice, with its reason and numbers; unless ``dry_run``, also written into MLflow.
    """
    from mlflow_staleness.advisor import Advisor

    metrics = (
        eval_result if isinstance(eval_result, Mapping) else getattr(eval_result, "metrics", None)
    )
    if not isinstance(metrics, Mapping):
        raise InvalidInputError(
            f"eval_result must be what mlflow.models.evaluate returned (with a .metrics mapping), "
            f"got {type(eval_result).__name__}"
        )
    if not isinstance(data, pd.DataFrame):
        raise InvalidInputError(
            f"data must be the pandas DataFrame the evaluation scored, got {type(data).__name__}"
        )
    features = data
    if targets is not None:
        if targets not in data.columns:
            raise InvalidInputError(
                f"targets column {targets!r} is not in the data; its columns are "
                f"{list(map(str, data.columns))[:20]}"
            )
        features = data.drop(columns=[targets])
    advisor = Advisor(model_name, cost=cost, tracking_uri=tracking_uri, **advisor_options)
    return advisor.advise(
        features,
        window=window,
        dry_run=dry_run,
        apply=apply,
        metrics=metrics,
        metric_key=metric_key,
        greater_is_better=greater_is_better,
    )
