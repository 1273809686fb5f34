"""The loss a model is judged by, measured the same way at training time and in service.

The advice works in losses where lower is better. A team that tracks a score where higher is
better (accuracy, say) logs the score and its direction; the advisor reads ``1 - score`` as the
loss, and measures the same score on fresh labels later. Differences of losses (staleness) are
then differences of scores.

Examples
--------
>>> measure("error_rate", [0, 1, 1, 0], [0, 1, 0, 0])
0.25
>>> measure("accuracy", [0, 1, 1, 0], [0, 1, 0, 0])  # a score: reported as 1 - accuracy
0.25
>>> to_loss(0.9, greater_is_better=True)
0.09999999999999998
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlflow_staleness.exceptions import InvalidInputError

__all__ = [
    "EVALUATION_KEYS",
    "MAX_FLAGGED_WINDOWS",
    "METRICS",
    "MIN_ROWS",
    "MIN_SHARE",
    "PERSISTENT_WINDOWS",
    "Measurement",
    "evaluate",
    "implausible",
    "loss_flag",
    "loss_from_evaluation",
    "measure",
    "to_loss",
]


def _error_rate(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean(y != p))


def _mae(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean(np.abs(y.astype(float) - p.astype(float))))


def _mse(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean((y.astype(float) - p.astype(float)) ** 2))


def _rmse(y: np.ndarray, p: np.ndarray) -> float:
    return math.sqrt(_mse(y, p))


#: Metric name to ``(function of (labels, predictions), greater_is_better)``.
METRICS: dict[str, tuple[Callable[[np.ndarray, np.ndarray], float], bool]] = {
    "error_rate": (_error_rate, False),
    "accuracy": (lambda y, p: 1.0 - _error_rate(y, p), True),
    "mae": (_mae, False),
    "mse": (_mse, False),
    "rmse": (_rmse, False),
}


def to_loss(value: float, *, greater_is_better: bool) -> float:
    """A logged metric value as a loss (lower is better)."""
    return 1.0 - float(value) if greater_is_better else float(value)


def measure(
    metric: str, labels: object, predictions: object, *, classes: Sequence[object] | None = None
) -> float:
    """The loss of ``predictions`` against ``labels`` under ``metric`` (lower is better).

    Labels and predictions are aligned by type first (see :func:`evaluate`, which also says
    what was read how).

    Raises
    ------
    InvalidInputError
        For an unknown metric, lengths that differ, no rows, missing labels, or labels and
        predictions whose types do not match (named, with examples of their values).
    """
    return evaluate(metric, labels, predictions, classes=classes).loss


#: A measured loss is too thin to act on when fewer than ``MIN_ROWS`` rows, or less than
#: ``MIN_SHARE`` of the window's rows, had both a label and a prediction (the rest were dropped as
#: missing: a failed join leaves a handful of rows whose loss says nothing about the window).
MIN_ROWS = 30
MIN_SHARE = 0.5


@dataclass(frozen=True)
class Measurement:
    """A measured loss, how labels and predictions were read to measure it, and on how many rows
    (``rows`` measured, ``dropped`` for a missing label or prediction)."""

    loss: float
    notes: tuple[str, ...] = ()
    rows: int = 0
    dropped: int = 0

    @property
    def thin(self) -> str | None:
        """Why the measurement is too thin to act on (:data:`MIN_ROWS`, :data:`MIN_SHARE`), or
        None.

        >>> Measurement(0.0, rows=3, dropped=297).thin
        'measured on 3 of 300 rows (297 dropped: a label or prediction missing); at least 30 rows and 50% of the window are needed to act on a loss'
        >>> Measurement(0.1, rows=300).thin is None
        True
        """  # noqa: E501
        total = self.rows + self.dropped
        if self.rows >= MIN_ROWS and self.rows >= MIN_SHARE * total:
            return None
        dropped = (
            f" ({self.dropped} dropped: a label or prediction missing)" if self.dropped else ""
        )
        return (
            f"measured on {self.rows} of {total} rows{dropped}; at least {MIN_ROWS} rows and "
            f"{MIN_SHARE:.0%} of the window are needed to act on a loss"
        )


def evaluate(
    metric: str,
    labels: object,
    predictions: object,
    *,
    classes: Sequence[object] | None = None,
) -> Measurement:
    """The loss under ``metric``, after labels and predictions are aligned by type.

    - **Numbers written as text** (``"0"``, ``"1.5"``) and booleans (``True``, ``"false"``) are
      read as numbers, so ``"1"`` equals ``1`` and ``True`` equals ``1``.
    - **Class probabilities**, for the class metrics (``error_rate``, ``accuracy``): a 2-D
      ``predict_proba`` output (an array, a DataFrame, or a column of such rows) is read as the
      class of the highest probability, mapped to a class through the model's own class list:
      ``classes`` (a scikit-learn model's ``classes_``, a signature's output names), else the
      DataFrame's column names. Without a class list, column ``j`` is class ``j`` only when the
      labels hold every class ``0 .. k-1`` (no other sorted class list is then possible); anything
      else is refused, never compared index against class. Floats in ``[0, 1]`` against 0/1
      labels are read as the probability of class 1 (class 1 where ``>= 0.5``).
    - **Missing values**: rows whose label or prediction is missing are dropped and counted
      (``rows``, ``dropped`` and a note); :attr:`Measurement.thin` says when too few are left.
    - **Refused**, with one line naming both types and examples of their values: text against
      numbers (``"yes"``/``"no"`` against 0/1), continuous predictions against integer labels in a
      class metric, class labels with no value in common with the predictions, text or 2-D
      predictions in a regression metric, and values that are lists or mappings.

    ``notes`` says each conversion made.

    Examples
    --------
    >>> evaluate("error_rate", [0, 1, 1, 0], ["0", "1", "0", "0"])
    Measurement(loss=0.25, notes=("predictions given as numbers written as text ('0', '1') were read as numbers",), rows=4, dropped=0)
    >>> evaluate("error_rate", [1, 5, 3], [[.9, 0, 0, 0, .1], [0, 0, 0, 0, 1], [0, 0, 1, 0, 0]],
    ...          classes=[1, 2, 3, 4, 5]).loss
    0.0
    >>> evaluate("error_rate", [0, 1, 1, 0], [0.2, 0.9, 0.4, 0.1]).loss
    0.25
    >>> evaluate("error_rate", ["yes", "no"], [1, 0])
    Traceback (most recent call last):
    ...
    mlflow_staleness.exceptions.InvalidInputError: labels and predictions are of different types: labels are text ('no', 'yes'), predictions are numbers (0, 1); map one to the other (e.g. 'yes'/'no' to 1/0) before measuring
    """  # noqa: E501
    if metric not in METRICS:
        raise InvalidInputError(
            f"unknown metric {metric!r}; the advisor measures {', '.join(sorted(METRICS))}"
        )
    y = _flat(labels, "labels")
    p, named = _predictions(predictions, y.shape[0])
    if p.shape[0] != y.shape[0]:
        raise InvalidInputError(
            f"labels and predictions differ in length: {y.shape[0]} labels, {p.shape[0]} "
            f"predictions"
        )
    if y.size == 0:
        raise InvalidInputError("no labelled rows to measure a loss on")
    missing = _missing(y) | (_missing(p) if p.ndim == 1 else _missing(p).any(axis=1))
    if missing.all():
        raise InvalidInputError(
            f"every label or prediction is missing (NaN) in all {y.size} rows; check that the "
            f"labels were joined to the predictions"
        )
    y, p = y[~missing], p[~missing]
    dropped = int(missing.sum())
    notes = []
    if dropped:
        notes.append(
            f"{dropped} of {dropped + y.size} rows dropped: their label or prediction is missing"
        )
    classes_metric = metric in _CLASS_METRICS
    y_text = y
    y, y_kind, y_note = _typed(y, "labels")
    known, listed_typed = 0, None
    if p.ndim == 2:
        if not classes_metric:
            raise InvalidInputError(
                f"metric {metric!r} needs numbers, got {p.shape[1]} columns per row "
                f"(class probabilities?): labels ({_examples(y)}); pass one prediction per row"
            )
        listed = classes if classes is not None else named
        p, note = _most_probable(y, y_kind, _numbers_2d(p), listed)
        notes.append(note)
        if listed is not None:  # typed with the predictions, as the classes they can be
            p = np.concatenate([np.asarray(list(listed), dtype=object), p.astype(object)])
            known = len(listed)
    p_text = p
    p, p_kind, p_note = _typed(p, "predictions")
    if known:
        listed_typed, p = p[:known], p[known:]
        listed_text, p_text = p_text[:known], p_text[known:]
    if y_kind != p_kind and (y_note or p_note):
        # text on one side, text read as numbers on the other ('FALSE' as 0 against 'A'): both
        # are text, compared as written
        if y_note:
            y, y_kind, y_note = _as_text(y_text), "text", ""
        else:
            p, p_kind, p_note = _as_text(p_text), "text", ""
            if known:
                listed_typed = _as_text(listed_text)
    notes += [n for n in (y_note, p_note) if n]
    if y_kind != p_kind:
        raise InvalidInputError(
            f"labels and predictions are of different types: labels are {y_kind} "
            f"({_examples(y)}), predictions are {p_kind} ({_examples(p)}); map one to the other "
            f"(e.g. 'yes'/'no' to 1/0) before measuring"
        )
    if not classes_metric:
        if y_kind == "text":
            raise InvalidInputError(
                f"metric {metric!r} needs numbers, got text: labels ({_examples(y)}), "
                f"predictions ({_examples(p)})"
            )
    else:
        p, note = _classes(y, p, y_kind, listed_typed)
        notes += [note] if note else []
    function, greater = METRICS[metric]
    with np.errstate(over="ignore", invalid="ignore"):
        value = function(y, p)
    if not math.isfinite(value):
        raise InvalidInputError(
            f"the {metric} of these labels and predictions overflows (it is {value}): labels "
            f"({_examples(y)}), predictions ({_examples(p)}); the values are too large to measure"
        )
    return Measurement(
        to_loss(value, greater_is_better=greater), tuple(notes), rows=int(y.size), dropped=dropped
    )


_CLASS_METRICS = frozenset({"error_rate", "accuracy"})


def _flat(values: object, what: str) -> np.ndarray:
    array = np.asarray(values, dtype=object) if _ragged(values) else np.asarray(values)
    if array.ndim > 1 and array.shape[1:] != (1,) * (array.ndim - 1):
        raise InvalidInputError(
            f"{what} must be one value per row, got an array of shape {array.shape}"
        )
    return array.ravel()


def _ragged(values: object) -> bool:
    try:
        np.asarray(values)
    except ValueError:  # rows of different lengths
        return True
    return False


def _predictions(values: object, n_labels: int) -> tuple[np.ndarray, tuple | None]:
    """Predictions as a 1-D array, or 2-D (one row of class probabilities per label), and the
    class list that a DataFrame's column names give (None without names)."""
    named = None
    if isinstance(values, pd.DataFrame):
        if values.shape[1] > 1 and not isinstance(values.columns, pd.RangeIndex):
            named = tuple(_plain(c) for c in values.columns)
        values = values.to_numpy()
    array = np.asarray(values, dtype=object) if _ragged(values) else np.asarray(values)
    if array.ndim == 2 and array.shape[0] == n_labels and array.shape[1] > 1:
        return array, named
    if array.ndim == 2 and array.shape[0] == n_labels:
        return array.ravel(), None
    if array.ndim > 1:
        return array.ravel(), None  # a length the caller reports
    if array.dtype.kind == "O" and array.size and all(_is_row(v) for v in array):
        lengths = {len(v) for v in array}
        if len(lengths) == 1 and lengths != {1}:
            return np.array([np.asarray(v, dtype=object) for v in array]), None
        if lengths == {1}:
            return np.array([np.asarray(v, dtype=object)[0] for v in array], dtype=object), None
    return array, None


def _most_probable(
    y: np.ndarray, y_kind: str, p: np.ndarray, classes: Sequence[object] | None
) -> tuple[np.ndarray, str]:
    """The class of the highest probability in each row of ``p``, through the class list."""
    k = p.shape[1]
    index = np.argmax(p, axis=1)
    if classes is not None:
        listed = list(classes)
        shown = "(" + ", ".join(_short(_plain(v)) for v in listed[:10])
        shown += ", ...)" if len(listed) > 10 else ")"
        if len(listed) != k:
            raise InvalidInputError(
                f"predictions have {k} values per row (class probabilities) but the model's "
                f"class list has {len(listed)} classes {shown}; pass the class "
                f"list that matches the probability columns"
            )
        note = (
            f"predictions are class probabilities ({k} per row): read as the most probable "
            f"class through the model's class list {shown}"
        )
        return np.asarray(listed, dtype=object)[index], note
    if y_kind == "numbers" and set(np.unique(y).tolist()) == set(map(float, range(k))):
        note = (
            f"predictions are class probabilities ({k} per row) with no class list: the labels "
            f"hold every class 0..{k - 1}, so column j was read as class j (argmax)"
        )
        return index.astype(float), note
    raise InvalidInputError(
        f"predictions have {k} values per row (class probabilities) but nothing says "
        f"which column is which class: the labels ({_examples(y)}) are not every class "
        f"0..{k - 1}. Pass the model's class list (classes=model.classes_), name the "
        f"probability columns after the classes, or pass the predicted classes"
    )


def _is_row(value: object) -> bool:
    return isinstance(value, (list, tuple, np.ndarray)) and np.ndim(value) == 1


def _numbers_2d(p: np.ndarray) -> np.ndarray:
    try:
        out = p.astype(float)
    except (TypeError, ValueError):
        raise InvalidInputError(
            f"predictions with {p.shape[1]} values per row (class probabilities?) hold values "
            f"that are not numbers: {_examples(p.ravel())}"
        ) from None
    return out


_TRUE, _FALSE = frozenset({"true"}), frozenset({"false"})


def _typed(values: np.ndarray, what: str) -> tuple[np.ndarray, str, str]:
    """``(values, "numbers" or "text", note)``: numbers where every value is one (booleans and
    numbers written as text included), else text; a note says what was converted."""
    kind = values.dtype.kind
    if kind == "b":
        return values.astype(float), "numbers", ""
    if kind in "iuf":
        return values.astype(float), "numbers", ""
    if kind == "c":
        raise InvalidInputError(f"{what} are complex numbers ({_examples(values)})")
    if kind in "US":
        values, kind = values.astype(object), "O"
    if kind == "M" or kind == "m":
        return values.astype(str).astype(object), "text", ""
    if kind != "O":
        raise InvalidInputError(f"{what} of dtype {values.dtype} cannot be measured")
    nested = next((v for v in values if isinstance(v, (list, tuple, dict, set, np.ndarray))), None)
    if nested is not None:
        raise InvalidInputError(
            f"{what} hold {type(nested).__name__} values ({_short(nested)}), not one class or "
            f"number per row"
        )
    if all(isinstance(v, (bool, np.bool_, int, float, np.integer, np.floating)) for v in values):
        return values.astype(float), "numbers", ""
    text = [str(v).strip() for v in values]
    numbers = [_number(t) for t in text]
    if all(n is not None for n in numbers):
        note = f"{what} given as numbers written as text ({_examples(values)}) were read as numbers"
        return np.array(numbers, dtype=float), "numbers", note
    lowered = {t.lower() for t in text}
    if lowered <= _TRUE | _FALSE and all(isinstance(v, (str, bool, np.bool_)) for v in values):
        note = f"{what} given as true/false ({_examples(values)}) were read as 1/0"
        return np.array([t.lower() == "true" for t in text], dtype=float), "numbers", note
    return np.array([str(v) for v in values], dtype=object), "text", ""


def _as_text(values: np.ndarray) -> np.ndarray:
    return np.array([str(_plain(v)).strip() for v in values], dtype=object)


def _number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _classes(
    y: np.ndarray, p: np.ndarray, kind: str, listed: np.ndarray | None = None
) -> tuple[np.ndarray, str]:
    """Predictions as classes comparable with the labels ``y``, and a note on how they were read.

    ``listed`` is the model's class list the predictions were read through: the labels are then
    checked against it (a model is entitled to be wrong on every row of a small window)."""
    if listed is not None:
        labels, known = set(y.tolist()), set(listed.tolist())
        if len(labels) >= 2 and not labels & known:
            raise InvalidInputError(
                f"the labels share no class with the model's class list: labels "
                f"({_examples(y)}), classes ({_examples(listed)}); they seem encoded "
                f"differently: map the labels to the model's classes"
            )
        return p, ""
    if kind == "text":
        _check_overlap(y, p)
        return p, ""
    integral = bool(np.all(y == np.round(y)))
    if not integral or np.all(p == np.round(p)):
        _check_overlap(y, p)
        return p, ""
    if set(np.unique(y).tolist()) <= {0.0, 1.0} and p.min() >= 0.0 and p.max() <= 1.0:
        note = (
            f"predictions are probabilities ({_examples(p)}) against 0/1 labels: read as "
            f"class 1 where >= 0.5"
        )
        return (p >= 0.5).astype(float), note
    raise InvalidInputError(
        f"predictions are not classes: labels are integers ({_examples(y)}), predictions are "
        f"continuous numbers ({_examples(p)}); pass the predicted classes (or probabilities "
        f"of class 1 against 0/1 labels)"
    )


def _check_overlap(y: np.ndarray, p: np.ndarray) -> None:
    """Class labels and predictions that share no value at all (each with two or more) are
    encoded differently; measuring them would give a loss of 1."""
    labels, predicted = set(y.tolist()), set(p.tolist())
    if len(labels) >= 2 and len(predicted) >= 2 and not labels & predicted:
        raise InvalidInputError(
            f"labels and predictions share no class: labels ({_examples(y)}), predictions "
            f"({_examples(p)}); they seem encoded differently"
        )


def _examples(values: np.ndarray, limit: int = 3) -> str:
    """A few distinct values, sorted where they can be, as ``'a', 'b', ...``."""
    seen: dict[str, object] = {}
    for value in values.ravel()[:10_000]:
        seen.setdefault(f"{type(value).__name__}:{_short(_plain(value))}", value)
        if len(seen) > 50:
            break
    distinct = list(seen.values())
    with contextlib.suppress(TypeError, ValueError):
        distinct.sort()
    shown = ", ".join(_short(_plain(v)) for v in distinct[:limit])
    return shown + (", ..." if len(distinct) > limit else "")


def _plain(value: object) -> object:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def _short(value: object, limit: int = 30) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _missing(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind in "fc":
        return ~np.isfinite(values)
    if values.dtype.kind == "O":
        return np.asarray([_missing_value(v) for v in values.ravel()], dtype=bool).reshape(
            values.shape
        )
    return np.zeros(values.shape, dtype=bool)


def _missing_value(value: object) -> bool:
    if isinstance(value, (float, np.floating)):
        return not math.isfinite(float(value))
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(pd.isna(value)) if np.ndim(value) == 0 else False
    except (TypeError, ValueError):
        return False


# ---------------------------------------------------------------------------------- plausibility
#: A measured loss is implausible when it is more than ``IMPLAUSIBLE_FACTOR`` times the worst loss
#: the version has shown (its validation loss and its earlier windows) and, for the bounded
#: metrics, also more than ``IMPLAUSIBLE_MARGIN`` above it; for the unbounded ones (MAE, MSE,
#: RMSE) the factor is ``IMPLAUSIBLE_FACTOR_UNBOUNDED``, as their scale is the data's, and a
#: history of zero losses gives no scale to judge by.
IMPLAUSIBLE_FACTOR = 3.0
IMPLAUSIBLE_MARGIN = 0.5
IMPLAUSIBLE_FACTOR_UNBOUNDED = 10.0


def implausible(metric: str, loss: float, seen: Sequence[float]) -> str | None:
    """A warning when ``loss`` is implausible against the losses ``seen`` before; else None.

    >>> implausible("error_rate", 1.0, [0.1, 0.12, 0.09])
    'measured loss 1.0000 is implausible: more than 3 times and 0.5 above the worst loss seen (0.1200, over 3 earlier values); check that labels and predictions match (type, encoding, probabilities)'
    >>> implausible("error_rate", 0.3, [0.1, 0.12]) is None
    True
    """  # noqa: E501
    history = [float(v) for v in seen if v is not None and math.isfinite(float(v))]
    if not history or not math.isfinite(loss):
        return None
    worst = max(max(history), 0.0)
    bounded = metric in _CLASS_METRICS
    factor = IMPLAUSIBLE_FACTOR if bounded else IMPLAUSIBLE_FACTOR_UNBOUNDED
    margin = IMPLAUSIBLE_MARGIN if bounded else 0.0
    if not bounded and worst == 0.0:
        return None  # no scale to judge an unbounded loss against
    if loss <= factor * worst or loss - worst <= margin:
        return None
    beyond = f"{factor:g} times and {margin:g} above" if margin else f"{factor:g} times"
    return (
        f"measured loss {loss:.4f} is implausible: more than {beyond} the worst loss seen "
        f"({worst:.4f}, over {len(history)} earlier values); check that labels and "
        f"predictions match (type, encoding, probabilities)"
    )


#: A loss level that holds for this many consecutive windows, consistent with each other, is the
#: version's new normal: the flag then clears. A lasting change is flagged on at most
#: ``PERSISTENT_WINDOWS - 1`` windows in a row.
PERSISTENT_WINDOWS = 3
#: However the level moves, no more than this many consecutive windows are flagged: the next one
#: is taken as the new normal (and says so), so the flag holds back a bounded number of actions.
MAX_FLAGGED_WINDOWS = 2 * (PERSISTENT_WINDOWS - 1)


def loss_flag(
    metric: str,
    loss: float,
    val_loss: float | None,
    earlier: Sequence[tuple[float, bool]],
    *,
    candidate: str | None = None,
    candidate_loss: float | None = None,
) -> tuple[str | None, str]:
    """``(warning, note)`` for a version's ``loss`` on a window: a warning when it is implausible
    against the version's normal (:func:`implausible`), and a note when a flag was lifted.

    ``earlier`` holds the version's losses on the windows before, oldest first, each with
    whether it was flagged. The **normal** is the validation loss and the losses not flagged.

    - **A level that persists is the new normal**: when the ``PERSISTENT_WINDOWS - 1`` windows
      right before were flagged and ``loss`` is consistent with theirs (none implausible against
      the others), or when ``MAX_FLAGGED_WINDOWS`` windows in a row were flagged, ``loss`` is not
      flagged; it then counts as normal on the windows after.
    - **A candidate that is normal lifts the flag**: when ``candidate_loss`` (the loss of the
      version judged against this one: on this window, else its validation loss) is plausible
      against the same normal, the change is the served version's, not the labels', and
      promoting the candidate is not held back.

    >>> loss_flag("error_rate", 0.70, 0.05, [(0.05, False)])[0] is not None
    True
    >>> loss_flag("error_rate", 0.70, 0.05, [(0.05, False), (0.71, True), (0.69, True)])
    (None, "the loss held for 3 windows in a row (0.7100, 0.6900, 0.7000): taken as the version's new normal, no longer flagged as implausible")
    >>> flag, note = loss_flag("error_rate", 0.7, 0.05, [], candidate="v2", candidate_loss=0.06)
    >>> flag is None, note.startswith("the loss 0.7000 is implausible")
    (True, True)
    """  # noqa: E501
    normal = [val_loss] if val_loss is not None else []
    normal += [value for value, flagged in earlier if not flagged]
    warning = implausible(metric, loss, normal)
    if warning is None:
        return None, ""
    streak: list[float] = []  # the flagged losses right before this one, newest first
    for value, flagged in reversed(earlier):
        if not flagged:
            break
        streak.append(value)
    level = [loss, *streak[: PERSISTENT_WINDOWS - 1]]
    consistent = len(level) == PERSISTENT_WINDOWS and all(
        implausible(metric, value, level[:i] + level[i + 1 :]) is None
        for i, value in enumerate(level)
    )
    if consistent or len(streak) >= MAX_FLAGGED_WINDOWS:
        shown = ", ".join(f"{v:.4f}" for v in reversed(level))
        how = (
            f"held for {PERSISTENT_WINDOWS} windows in a row ({shown})"
            if consistent
            else f"was flagged on {len(streak)} windows in a row, the most the flag holds"
        )
        return None, (
            f"the loss {how}: taken as the version's new normal, no longer flagged as implausible"
        )
    if candidate_loss is not None and implausible(metric, candidate_loss, normal) is None:
        return None, (
            f"the loss {loss:.4f} is implausible against the version's normal, but candidate "
            f"{candidate}'s loss {candidate_loss:.4f} is not: the change is the served "
            f"version's, not the labels'; judging the candidate is not held back"
        )
    return warning, ""


#: The metric of ``mlflow.models.evaluate``'s default evaluator that measures each loss, and
#: whether it is a score (higher is better).
EVALUATION_KEYS: dict[str, tuple[str, bool]] = {
    "error_rate": ("accuracy_score", True),
    "accuracy": ("accuracy_score", True),
    "mae": ("mean_absolute_error", False),
    "mse": ("mean_squared_error", False),
    "rmse": ("root_mean_squared_error", False),
}


def loss_from_evaluation(
    metric: str,
    metrics: Mapping[str, object],
    *,
    key: str | None = None,
    greater_is_better: bool | None = None,
) -> float:
    """The loss under ``metric`` from the metrics of ``mlflow.models.evaluate`` (lower is better).

    ``key`` names the evaluation metric to read when it is not the default evaluator's one for
    ``metric`` (``accuracy_score`` for an error rate, ``mean_absolute_error`` for MAE ...); with
    ``key``, say whether it is a score with ``greater_is_better``.

    >>> loss_from_evaluation("error_rate", {"accuracy_score": 0.9, "f1_score": 0.8})
    0.09999999999999998
    >>> loss_from_evaluation("mae", {"mean_absolute_error": 2.5})
    2.5
    """
    if not isinstance(metrics, Mapping):
        raise InvalidInputError(
            f"the evaluation's metrics must be a mapping of names to numbers, got "
            f"{type(metrics).__name__}"
        )
    if key is None:
        if metric not in EVALUATION_KEYS:
            raise InvalidInputError(
                f"no default evaluation metric for the loss {metric!r}; name one with metric_key"
            )
        key, greater_is_better = EVALUATION_KEYS[metric]
    elif greater_is_better is None:
        raise InvalidInputError(
            f"say whether evaluation metric {key!r} is a score (greater_is_better=True) or a "
            f"loss (greater_is_better=False)"
        )
    if key not in metrics:
        known = ", ".join(sorted(map(str, metrics))[:20]) or "none"
        raise InvalidInputError(
            f"the evaluation has no metric {key!r}, which measures the served version's loss "
            f"({metric}); its metrics are: {known}. Evaluate with the matching model_type "
            f"(classifier / regressor), or name the metric with metric_key"
        )
    value = metrics[key]
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInputError(f"evaluation metric {key!r} is not a number: {value!r}") from None
    if not np.isfinite(number):
        raise InvalidInputError(f"evaluation metric {key!r} is {number!r}, not a finite number")
    return to_loss(number, greater_is_better=greater_is_better)
