"""What a model nobody prepared says about its loss: MLflow's metric names mapped to losses.

A team that never called :func:`~mlflow_staleness.log_reference` still has evidence in MLflow:

- ``mlflow.sklearn.autolog()`` logs **training metrics** on the training run
  (``training_accuracy_score``, ``training_mean_absolute_error`` ...), and, when the team scores
  held-out data with ``sklearn.metrics`` after ``fit``, **post-training metrics** named after that
  data (``accuracy_score_X_test``, ``mean_absolute_error_X_valid``);
- ``mlflow.models.evaluate`` logs the default evaluator's metrics (``accuracy_score``,
  ``mean_absolute_error``, ``mean_squared_error``, ``root_mean_squared_error`` ...) on an
  **evaluation run**, often another run than the model's training run, linked to the model.

This module (pure: no MLflow) turns those names into the loss the advisor measures
(:data:`mlflow_staleness.losses.METRICS`) and into a validation loss. The mapping is documented in
``docs/metrics.md``.

**The loss kind**, first found wins: the ``metric`` setting (``--metric``); what ``log_reference``
recorded; the metric names (classification names give ``error_rate``, regression names ``mae``,
or ``rmse`` / ``mse`` when only those were logged); the estimator class autolog recorded
(``...Classifier``, ``LogisticRegression`` ... give ``error_rate``; ``...Regressor``, ``Ridge`` ...
give ``mae``); the model signature's output type (a float output gives ``mae``, an integer, string
or boolean output ``error_rate``). Only when none of these says anything is ``error_rate``
assumed, and the evidence says so.

**The validation loss**, first found wins: the metric of the loss kind from an evaluation run
(the earliest evaluation of the version: later ones are windows in service); the same metric
logged on the training run by an evaluation inside it; a post-training metric on held-out data;
and last the **training metric**, which is optimistic (in-sample).

**The optimism rule.** A training metric is marked optimistic. The engine calibrates every
validation loss by the mean gap between a version's validation loss and its loss on the first
window it served (:mod:`mlflow_staleness.policies._excess`), so once versions have been measured
in service, a consistently optimistic training metric is corrected by that offset. Until then the
advisor states it: the confidence is multiplied by :data:`OPTIMISTIC_WEIGHT` and the uncertainty
of the staleness estimate is widened by the training loss itself, in quadrature (an in-sample loss
can understate the loss on new data by as much as the loss, and far more for a model that
memorises its training data).

Examples
--------
>>> loss_kind(["training_mean_absolute_error", "training_r2_score", "training_score"])
('mae', 'metric names (training_mean_absolute_error)')
>>> loss_kind(["training_accuracy_score", "training_f1_score"])
('error_rate', 'metric names (training_accuracy_score)')
>>> loss_kind([], estimator_class="sklearn.ensemble._forest.RandomForestRegressor")
('mae', 'estimator RandomForestRegressor')
>>> found = validation_loss("mae", [
...     MetricValue("training_mean_absolute_error", 5.2, "training run r1"),
...     MetricValue("mean_absolute_error", 31.0, "evaluation run e2", 20),
...     MetricValue("mean_absolute_error", 53.0, "evaluation run e9", 90),
... ])
>>> found.loss, found.source, found.optimistic
(31.0, "'mean_absolute_error' of evaluation run e2", False)
>>> validation_loss("error_rate", [MetricValue("training_accuracy_score", 0.9, "training run r1")])
ValidationLoss(loss=0.09999999999999998, source="'training_accuracy_score' of training run r1 \
(training data: optimistic)", optimistic=True)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from mlflow_staleness.exceptions import InvalidInputError
from mlflow_staleness.losses import METRICS

__all__ = [
    "CLASSIFICATION_NAMES",
    "LOSS_WORDS",
    "OPTIMISTIC_WEIGHT",
    "REGRESSION_NAMES",
    "SCORE_WORDS",
    "MetricValue",
    "ValidationLoss",
    "estimator_kind",
    "key_direction",
    "loss_key_direction",
    "loss_kind",
    "signature_kind",
    "validation_loss",
]

#: The confidence of an advice whose validation loss is a training metric is multiplied by this.
OPTIMISTIC_WEIGHT = 0.85
TRAINING_PREFIX = "training_"

#: Metric names (of autolog, without ``training_``, and of ``mlflow.models.evaluate``) that only a
#: classifier logs.
CLASSIFICATION_NAMES = (
    "accuracy_score",
    "f1_score",
    "precision_score",
    "recall_score",
    "log_loss",
    "roc_auc",
    "precision_recall_auc",
)
#: ... and that only a regressor logs.
REGRESSION_NAMES = (
    "mean_absolute_error",
    "mean_squared_error",
    "root_mean_squared_error",
    "r2_score",
    "max_error",
    "mean_absolute_percentage_error",
)
#: The metric that measures each loss, and whether it is a score (as ``losses.EVALUATION_KEYS``).
_LOSS_METRIC = {
    "error_rate": ("accuracy_score", True),
    "accuracy": ("accuracy_score", True),
    "mae": ("mean_absolute_error", False),
    "mse": ("mean_squared_error", False),
    "rmse": ("root_mean_squared_error", False),
}
_CLASSIFIERS = {
    "LogisticRegression",
    "LogisticRegressionCV",
    "SVC",
    "LinearSVC",
    "NuSVC",
    "GaussianNB",
    "MultinomialNB",
    "BernoulliNB",
    "ComplementNB",
    "CategoricalNB",
    "Perceptron",
    "RidgeClassifierCV",
    "LinearDiscriminantAnalysis",
    "QuadraticDiscriminantAnalysis",
    "NearestCentroid",
}
_REGRESSORS = {
    "LinearRegression",
    "Ridge",
    "RidgeCV",
    "Lasso",
    "LassoCV",
    "ElasticNet",
    "ElasticNetCV",
    "Lars",
    "LassoLars",
    "BayesianRidge",
    "ARDRegression",
    "SVR",
    "LinearSVR",
    "NuSVR",
    "KernelRidge",
    "IsotonicRegression",
    "PoissonRegressor",
    "TweedieRegressor",
    "GammaRegressor",
}


@dataclass(frozen=True)
class MetricValue:
    """One logged metric: its key, value, where it was logged, and when (ms)."""

    key: str
    value: float
    origin: str  # "training run <id>", "evaluation run <id>"
    timestamp: int = 0

    @property
    def from_evaluation(self) -> bool:
        return self.origin.startswith("evaluation")


@dataclass(frozen=True)
class ValidationLoss:
    """A validation loss found among logged metrics, where it came from, and whether it is a
    training (in-sample, optimistic) metric."""

    loss: float
    source: str
    optimistic: bool


def _base(key: str) -> str:
    return key[len(TRAINING_PREFIX) :] if key.startswith(TRAINING_PREFIX) else key


def _named(key: str, name: str) -> bool:
    """``key`` is metric ``name``, as evaluate, autolog's training or post-training metric."""
    base = _base(key)
    return base == name or base.startswith((name + "_", name + "-"))


def loss_kind(keys: Iterable[str], *, estimator_class: str | None = None) -> tuple[str, str] | None:
    """The loss kind the metric names (else the estimator class) point at, and why; or None."""
    keys = sorted(keys)
    regression = [k for k in keys if any(_named(k, n) for n in REGRESSION_NAMES)]
    classification = [k for k in keys if any(_named(k, n) for n in CLASSIFICATION_NAMES)]
    if regression and not classification:
        for kind in ("mae", "rmse", "mse"):
            hits = [k for k in regression if _named(k, _LOSS_METRIC[kind][0])]
            if hits:
                return kind, f"metric names ({hits[0]})"
        return "mae", f"metric names ({regression[0]})"
    if classification and not regression:
        hits = [k for k in classification if _named(k, "accuracy_score")] or classification
        return "error_rate", f"metric names ({hits[0]})"
    kind = estimator_kind(estimator_class)
    if kind is not None:
        return kind, f"estimator {estimator_class.rpartition('.')[2]}"  # type: ignore[union-attr]
    return None


def estimator_kind(estimator_class: str | None) -> str | None:
    """``error_rate`` for a scikit-learn classifier's class name, ``mae`` for a regressor's.

    >>> estimator_kind("sklearn.linear_model._logistic.LogisticRegression")
    'error_rate'
    >>> estimator_kind("sklearn.pipeline.Pipeline") is None
    True
    """
    if not estimator_class:
        return None
    name = estimator_class.rpartition(".")[2]
    if name in _CLASSIFIERS or name.endswith("Classifier"):
        return "error_rate"
    if name in _REGRESSORS or name.endswith(("Regressor", "Regression")):
        return "mae"
    return None


def signature_kind(output_type: str | None) -> str | None:
    """The loss kind of a model signature's output type: a float output is a number to predict.

    >>> signature_kind("double"), signature_kind("long"), signature_kind("string")
    ('mae', 'error_rate', 'error_rate')
    """
    if not output_type:
        return None
    kind = output_type.lower()
    if kind in ("double", "float", "float64", "float32"):
        return "mae"
    if kind in ("long", "integer", "int", "int64", "int32", "string", "str", "boolean", "bool"):
        return "error_rate"
    return None


def validation_loss(kind: str, metrics: Iterable[MetricValue]) -> ValidationLoss | None:
    """The validation loss of ``kind`` among ``metrics`` (see the module's rule), or None."""
    if kind not in _LOSS_METRIC:
        return None
    name, greater = _LOSS_METRIC[kind]
    metrics = [m for m in metrics if m.value == m.value]  # no NaN
    ranked = [
        # an evaluation of the version (the earliest: later ones served windows)
        sorted(
            (m for m in metrics if m.key == name and m.from_evaluation), key=lambda m: m.timestamp
        ),
        [m for m in metrics if m.key == name and not m.from_evaluation],
        [m for m in metrics if m.key != name and _named(m.key, name) and _base(m.key) == m.key],
        [m for m in metrics if m.key == TRAINING_PREFIX + name],
    ]
    for found in ranked:
        if found:
            best = found[0]
            loss = 1.0 - best.value if greater else best.value
            optimistic = best.key.startswith(TRAINING_PREFIX)
            source = f"{best.key!r} of {best.origin}"
            if optimistic:
                source += " (training data: optimistic)"
            return ValidationLoss(loss, source, optimistic)
    return None


# ---------------------------------------------------------------------------------- directions
#: Words in a metric key that name a score (greater is better): the key is read as ``1 - value``.
SCORE_WORDS = frozenset(
    {
        "accuracy",
        "acc",
        "auc",
        "auroc",
        "roc",
        "f1",
        "fbeta",
        "r2",
        "precision",
        "recall",
        "score",
        "sensitivity",
        "specificity",
        "iou",
        "dice",
        "map",
        "ndcg",
        "top1",
        "top5",
        "kappa",
        "mcc",
        "jaccard",
    }
)
#: Words in a metric key that name a loss (lower is better): the key is read as it is.
LOSS_WORDS = frozenset(
    {
        "loss",
        "error",
        "err",
        "errors",
        "mae",
        "mse",
        "rmse",
        "msle",
        "rmsle",
        "mape",
        "smape",
        "logloss",
        "deviance",
        "perplexity",
        "hinge",
        "crossentropy",
        "nll",
        "brier",
        "wer",
        "cer",
        "cost",
        "misclassification",
    }
)
#: Words that turn a name's direction around (scikit-learn's ``neg_mean_squared_error``): such a
#: key's direction is not guessed.
_FLIPPED = frozenset({"neg", "negative", "inverse", "inv", "one", "minus"})


def _words(key: str) -> set[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", key)
    return {w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w}


def key_direction(key: str) -> bool | None:
    """Whether the metric ``key`` names a score (True: greater is better), a loss (False), or
    nothing known (None: its words name neither, or both, or a turned direction).

    >>> key_direction("val_loss"), key_direction("val_accuracy"), key_direction("valAUC")
    (False, True, True)
    >>> key_direction("val_error"), key_direction("training_r2_score")
    (False, True)
    >>> key_direction("my_metric") is None, key_direction("neg_mean_squared_error") is None
    (True, True)
    """
    words = _words(str(key))
    if words & _FLIPPED:
        return None
    score, loss = bool(words & SCORE_WORDS), bool(words & LOSS_WORDS)
    if score == loss:
        return None
    return score


def loss_key_direction(
    key: str, *, metric: str | None, reference: tuple[str, bool] | None = None
) -> tuple[bool, str]:
    """The direction of the validation-loss ``key`` (``greater_is_better``) and what says it.

    The direction belongs to the key, first found wins: the reference's own key keeps the
    direction ``log_reference`` recorded with it (``reference``: its key and direction); a key
    whose name is a known score is read as ``1 - value``, a known loss as it is; any other key
    takes the direction of the ``metric`` setting (``--metric accuracy``: a score). An unknown
    key without a metric setting is refused.

    >>> loss_key_direction("val_error", metric=None, reference=("val_acc", True))
    (False, "the key's name (a loss)")
    >>> loss_key_direction("val_acc", metric=None, reference=("val_acc", True))
    (True, 'log_reference (a score: read as 1 - value)')
    >>> loss_key_direction("quality", metric="accuracy")
    (True, 'the metric setting accuracy (a score: read as 1 - value)')
    >>> loss_key_direction("quality", metric=None)
    Traceback (most recent call last):
    ...
    mlflow_staleness.exceptions.InvalidInputError: loss key 'quality' does not say whether lower or higher is better (its name is no known loss or score): say how it is measured with --metric (error_rate, mae, mse or rmse for a loss; accuracy for a score), or name a key such as val_loss or val_accuracy with --loss-key
    """  # noqa: E501

    def said(greater: bool, source: str) -> tuple[bool, str]:
        how = "a score: read as 1 - value" if greater else "a loss"
        return greater, f"{source} ({how})"

    if reference is not None and reference[0] == key:
        return said(reference[1], "log_reference")
    named = key_direction(key)
    if named is not None:
        return said(named, "the key's name")
    if metric in METRICS:
        return said(METRICS[metric][1], f"the metric setting {metric}")
    raise InvalidInputError(
        f"loss key {key!r} does not say whether lower or higher is better (its name is no "
        f"known loss or score): say how it is measured with --metric (error_rate, mae, mse or "
        f"rmse for a loss; accuracy for a score), or name a key such as val_loss or "
        f"val_accuracy with --loss-key"
    )
