"""Small checks shared by the engine. Each raises an :mod:`~mlflow_staleness.exceptions` error
whose message names the field, what was expected and what came."""

from __future__ import annotations

import math
from numbers import Real

import numpy as np

from mlflow_staleness.exceptions import InvalidCostError, InvalidInputError


def check_nonnegative(
    name: str, value: object, *, error: type[Exception] = InvalidCostError
) -> float:
    """Return ``value`` as a float, or raise if it is not a finite number >= 0."""
    if isinstance(value, bool) or not isinstance(value, Real | np.number):
        raise error(f"{name} must be a finite number >= 0, got {value!r} ({type(value).__name__})")
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise error(f"{name} must be a finite number >= 0, got {number!r}")
    return number


def check_int(name: str, value: object, minimum: int) -> int:
    """Return ``value`` as an int, or raise if it is not an integer >= ``minimum``.

    Booleans are refused: ``True`` is an int to Python, but never a count.
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise InvalidInputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_loss_matrix(L: object, *, name: str = "L") -> np.ndarray:
    """Return ``L`` as a square float array, or raise with the shape that came."""
    try:
        array = np.asarray(L, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name} must be a square (T, T) array of numbers: {exc}") from exc
    if array.ndim != 2 or array.shape[0] != array.shape[1] or array.shape[0] < 1:
        raise InvalidInputError(
            f"{name} must be a square (T, T) array with T >= 1, got shape {array.shape}"
        )
    return array


def check_needed_losses(
    L: np.ndarray, rows: np.ndarray, cols: np.ndarray, *, name: str = "L"
) -> None:
    """Raise if any ``L[rows, cols]`` entry the computation needs is NaN or infinite."""
    values = L[rows, cols]
    bad = ~np.isfinite(values)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise InvalidInputError(
            f"{name}[{int(rows[k])}, {int(cols[k])}] is needed (model {int(rows[k])} serving "
            f"window "
            f"{int(cols[k])}) and must be a finite loss, got {values[k].item()!r}; "
            f"{int(bad.sum())} needed entries are not finite"
        )


def check_flags(name: str, flags: object, T: int) -> np.ndarray:
    """Return a bool array of length ``T`` from bools or 0/1 integers, or raise."""
    array = np.asarray(flags)
    if array.ndim != 1 or array.shape[0] != T:
        raise InvalidInputError(
            f"{name} must be a 1-d array of length T={T}, got shape {array.shape}"
        )
    if array.dtype == bool:
        return array.copy()
    if array.dtype.kind in "iuf":
        if not np.isin(array, (0, 1)).all():
            bad = array[~np.isin(array, (0, 1))][0].item()
            raise InvalidInputError(f"{name} must hold booleans or 0/1, got the value {bad!r}")
        return array.astype(bool)
    raise InvalidInputError(f"{name} must hold booleans or 0/1, got dtype {array.dtype}")


def check_retrain_costs(retrain_cost: object, T: int) -> np.ndarray:
    """Return a length-``T`` array of per-step retrain costs from a scalar or an array."""
    if np.ndim(retrain_cost) == 0:
        if isinstance(retrain_cost, np.ndarray):
            retrain_cost = retrain_cost.item()
        return np.full(T, check_nonnegative("retrain_cost", retrain_cost))
    try:
        array = np.asarray(retrain_cost, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InvalidCostError(
            f"retrain_cost must be a number or an array of numbers: {exc}"
        ) from exc
    if array.shape != (T,):
        raise InvalidCostError(
            f"a per-step retrain_cost must have length T={T}, got shape {array.shape}"
        )
    bad = ~np.isfinite(array) | (array < 0)
    if bad.any():
        t = int(np.flatnonzero(bad)[0])
        raise InvalidCostError(
            f"retrain_cost[{t}] must be a finite number >= 0, got {array[t].item()!r}"
        )
    return array
