"""Reading a user's data file for the command line, with errors that say what to do.

:func:`read_table` reads a Parquet or CSV file into a DataFrame, :func:`fingerprint_file` streams
one into a :class:`~mlflow_staleness.fingerprint.DataFingerprint` without holding it in memory,
and :func:`check_usable` refuses a frame a model cannot use (no rows, empty or infinite columns).

Both readers work in chunks: Parquet by record batches within each row group, CSV with
``pandas.read_csv(chunksize=...)``. For files over 20 MB (or when asked) a progress line is
written to stderr. Every problem raises
:class:`~mlflow_staleness.exceptions.InvalidInputError` with one line that names the file, says
what was expected and what came, and what to do next.

Notes
-----
CSV chunks are typed one at a time, so a column can come out as numbers in one chunk and as text
in another (``"12"`` then ``"n/a"``). Such a column is read again as text, which is what a single
``pandas.read_csv`` of the whole file gives; a chunk in which a text column is entirely missing
keeps the text dtype.
"""

from __future__ import annotations

import csv
import gzip
import math
import os
import sys
import threading
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from mlflow_staleness._terminal import terminal_safe
from mlflow_staleness._validation import check_int
from mlflow_staleness.exceptions import InvalidInputError, SchemaMismatchError
from mlflow_staleness.fingerprint import DataFingerprint, _Stream

__all__ = [
    "PROGRESS_MIN_BYTES",
    "SUPPORTED_SUFFIXES",
    "check_usable",
    "fingerprint_file",
    "read_table",
]

#: File name endings :func:`read_table` understands (case-insensitive).
SUPPORTED_SUFFIXES = (".parquet", ".pq", ".csv", ".csv.gz", ".tsv")
#: With ``progress=None``, files larger than this show a progress line.
PROGRESS_MIN_BYTES = 20 * 1024 * 1024
#: Column names listed in a message at most.
_MAX_LISTED = 20
#: Seconds between two progress updates.
_PROGRESS_EVERY = 0.1
_DELIMITER_NAMES = {",": "','", "\t": "tab", ";": "';'", "|": "'|'"}


@dataclass(frozen=True)
class _Source:
    """A data file that exists, is a non-empty regular file and has a supported suffix."""

    path: Path
    shown: str
    size: int
    kind: str  # "parquet" or "csv"
    sep: str = ","
    gzip: bool = False


# ---------------------------------------------------------------------------------- public API
def read_table(
    path: str | os.PathLike[str],
    *,
    columns: Sequence[str] | None = None,
    progress: bool | None = None,
    chunk_rows: int = 100_000,
) -> pd.DataFrame:
    """Read a Parquet or CSV file into a DataFrame, in chunks.

    Parameters
    ----------
    path
        A ``.parquet`` or ``.pq`` file, or a UTF-8 ``.csv``, ``.csv.gz`` (comma-separated) or
        ``.tsv`` (tab-separated) file with a header line.
    columns
        Read only these columns, in this order; ``None`` reads them all.
    progress
        Write a progress line to stderr: ``True`` always, ``False`` never, ``None`` when the file
        is larger than :data:`PROGRESS_MIN_BYTES` (20 MB).
    chunk_rows
        Rows per chunk read at a time.

    Returns
    -------
    pandas.DataFrame
        The data, with at least one row.

    Raises
    ------
    InvalidInputError
        If the file is missing, a directory, empty, of an unsupported type, corrupt, not UTF-8,
        has a header but no rows, uses another delimiter, or lacks a requested column.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp) / "data.csv"
    ...     _ = path.write_text("age,plan\\n31,free\\n45,pro\\n", encoding="utf-8")
    ...     frame = read_table(path)
    ...     only_age = read_table(path, columns=["age"])
    >>> frame.shape, list(frame.columns), frame["age"].tolist()
    ((2, 2), ['age', 'plan'], [31, 45])
    >>> list(only_age.columns)
    ['age']
    >>> read_table("no/such/file.csv")
    Traceback (most recent call last):
    ...
    mlflow_staleness.exceptions.InvalidInputError: no/such/file.csv does not exist; ...
    """
    source = _open_source(path)
    chunk_rows = check_int("chunk_rows", chunk_rows, 1)
    wanted = _check_columns(columns)
    show = _want_progress(progress, source)
    if source.kind == "parquet":
        with closing(_parquet_batches(source, wanted, (), show, chunk_rows)) as batches:
            table = pa.Table.from_batches(list(batches))
        try:
            return table.to_pandas()
        except (pa.ArrowException, OSError) as exc:
            raise _parquet_error(source, exc) from exc
    text: set[str] = set()
    while True:
        with closing(_csv_chunks(source, wanted, (), show, chunk_rows, text)) as chunks:
            parts = list(chunks)
        mixed = _mixed_columns(parts) - text
        if not mixed:
            return pd.concat(_align_missing(parts), ignore_index=True)
        text |= mixed


def fingerprint_file(
    path: str | os.PathLike[str],
    *,
    exclude: Iterable[str] = (),
    progress: bool | None = None,
    chunk_rows: int = 100_000,
    workers: int | None = None,
) -> tuple[DataFingerprint, int]:
    """Fingerprint a Parquet or CSV file chunk by chunk, without holding it in memory.

    The file is read once, or twice for a CSV with a column typed as numbers in one chunk and as
    text in another (see the module Notes). A Parquet file's row groups are split into
    ``workers`` runs of consecutive groups, each streamed by its own thread straight from Arrow
    into numpy (reading, counting and sorting release the GIL), and the parts are merged in file
    order. Memory is bounded by ``workers`` batches of ``chunk_rows`` rows, whatever the size of
    the file.

    Parameters
    ----------
    path
        The data file, as for :func:`read_table`.
    exclude
        Columns to leave out (a target, an id); names the file does not have are ignored.
    progress, chunk_rows
        As for :func:`read_table`.
    workers
        Threads reading a Parquet file's row groups; ``None`` uses the CPUs this process may
        run on. A CSV file is read by one.

    Returns
    -------
    tuple[DataFingerprint, int]
        The fingerprint (see :meth:`DataFingerprint.from_batches`) and the number of rows read.

    Raises
    ------
    InvalidInputError
        For the same problems as :func:`read_table`, when ``exclude`` leaves no column, or when
        the file changes (size or modification time) while it is being read.
    """
    source = _open_source(path)
    chunk_rows = check_int("chunk_rows", chunk_rows, 1)
    workers = _available_cpus() if workers is None else check_int("workers", workers, 1)
    dropped = (exclude,) if isinstance(exclude, str) else tuple(exclude)
    show = _want_progress(progress, source)
    if source.kind == "parquet":
        before = _stamp(source)
        fingerprint = _fingerprint_parquet(source, dropped, show, chunk_rows, workers)
        if _stamp(source) != before:
            raise InvalidInputError(
                f"{source.shown} changed while it was being read (its size or modification time "
                f"moved); expected a file that stays the same: fingerprint a finished copy"
            )
        return fingerprint, fingerprint.n_rows
    text: set[str] = set()
    while True:
        frames = _csv_chunks(source, None, dropped, show, chunk_rows, text)
        with closing(frames):
            try:
                fingerprint = DataFingerprint.from_batches(frames)
            except SchemaMismatchError as exc:
                # A CSV column typed as numbers in one chunk and as text in another: read as text.
                new = set(exc.columns) - text
                if not new:
                    raise
                text |= new
                continue
        return fingerprint, fingerprint.n_rows


def check_usable(frame: pd.DataFrame, *, name: str = "data") -> None:
    """Refuse a frame a model cannot use: no rows, no columns, empty or infinite columns.

    Parameters
    ----------
    frame
        The data.
    name
        What to call the data in messages, e.g. its file name.

    Raises
    ------
    InvalidInputError
        If ``frame`` is not a DataFrame, has no rows or no columns, has columns that are entirely
        missing (NaN), or numeric columns holding ``inf`` or ``-inf``; the columns are named.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> check_usable(pd.DataFrame({"x": [1.0, 2.0]}))
    >>> check_usable(pd.DataFrame({"x": [1.0, np.inf]}), name="train.csv")
    Traceback (most recent call last):
    ...
    mlflow_staleness.exceptions.InvalidInputError: column(s) 'x' of train.csv hold infinite ...
    """
    if not isinstance(frame, pd.DataFrame):
        raise InvalidInputError(
            f"{name} must be a pandas DataFrame, got {type(frame).__name__}; read it with "
            f"read_table first"
        )
    if len(frame) == 0:
        raise InvalidInputError(
            f"{name} has no rows (columns: {_listing(frame.columns)}); expected at least one "
            f"row: pass data that holds rows"
        )
    if frame.shape[1] == 0:
        raise InvalidInputError(
            f"{name} has {len(frame)} rows but no columns; expected at least one column: "
            f"check the file and the columns excluded"
        )
    empty = [column for column, missing in frame.isna().all().items() if missing]
    if empty:
        raise InvalidInputError(
            f"column(s) {_listing(empty)} are entirely missing (NaN) in {name}; expected at "
            f"least one value in each column: drop these columns or fill them in"
        )
    infinite = [
        frame.columns[position]
        for position in range(frame.shape[1])
        if _has_inf(frame.iloc[:, position])
    ]
    if infinite:
        raise InvalidInputError(
            f"column(s) {_listing(infinite)} of {name} hold infinite values (inf or -inf); "
            f"expected finite numbers: replace them with NaN or a finite value"
        )


# ---------------------------------------------------------------------------------- the file
def _open_source(path: str | os.PathLike[str]) -> _Source:
    """Check that ``path`` is a non-empty file with a supported suffix."""
    if not isinstance(path, str | os.PathLike):
        raise InvalidInputError(
            f"the data file path must be a str or a path, got {type(path).__name__}"
        )
    shown = os.fspath(path)
    file = Path(shown)
    if not file.exists():
        raise InvalidInputError(
            f"{shown} does not exist; expected a Parquet or CSV file: check the path and the "
            f"current directory"
        )
    if file.is_dir():
        raise InvalidInputError(
            f"{shown} is a directory; expected a single Parquet or CSV file: pass one file "
            f"inside it, or combine the files first"
        )
    name = file.name.lower()
    if name.endswith((".parquet", ".pq")):
        kind, sep, gz = "parquet", ",", False
    elif name.endswith(".csv.gz"):
        kind, sep, gz = "csv", ",", True
    elif name.endswith(".csv"):
        kind, sep, gz = "csv", ",", False
    elif name.endswith(".tsv"):
        kind, sep, gz = "csv", "\t", False
    else:
        got = f"the suffix {file.suffix!r}" if file.suffix else "no suffix"
        raise InvalidInputError(
            f"{shown} has {got}; expected one of {', '.join(SUPPORTED_SUFFIXES)}: convert the "
            f"file to Parquet or CSV, or rename it if it already is one"
        )
    size = file.stat().st_size
    if size == 0:
        raise InvalidInputError(
            f"{shown} is empty (0 bytes); expected a {'Parquet' if kind == 'parquet' else 'CSV'}"
            f" file with data: re-export it, or check that the copy or download finished"
        )
    return _Source(file, shown, size, kind, sep, gz)


def _want_progress(progress: bool | None, source: _Source) -> bool:
    if progress is None:
        return source.size > PROGRESS_MIN_BYTES
    if not isinstance(progress, bool | np.bool_):
        raise InvalidInputError(f"progress must be True, False or None, got {progress!r}")
    return bool(progress)


def _check_columns(columns: Sequence[str] | None) -> list[str] | None:
    if columns is None:
        return None
    names = [columns] if isinstance(columns, str) else list(columns)
    if not names:
        raise InvalidInputError(
            "columns must name at least one column, got an empty list; pass None to read them all"
        )
    return list(dict.fromkeys(names))


def _select(
    source: _Source, available: list[str], wanted: list[str] | None, exclude: Sequence[str]
) -> list[str]:
    """The columns to read: ``wanted`` (all must exist) or all of them, minus ``exclude``."""
    if wanted is not None:
        missing = [name for name in wanted if name not in available]
        if missing:
            raise InvalidInputError(
                f"{source.shown} has no column(s) {_listing(missing)}; it has "
                f"{_listing(available)}: pick columns from this list (names are case-sensitive)"
            )
        return wanted
    dropped = set(exclude)
    kept = [name for name in available if name not in dropped]
    if not kept:
        raise InvalidInputError(
            f"{source.shown} has only the column(s) {_listing(available)}, all excluded; "
            f"expected at least one column left: exclude fewer columns"
        )
    return kept


# ---------------------------------------------------------------------------------- parquet
def _parquet_batches(
    source: _Source,
    wanted: list[str] | None,
    exclude: Sequence[str],
    show: bool,
    chunk_rows: int,
) -> Iterator[pa.RecordBatch]:
    """Yield the record batches of a Parquet file, row group by row group."""
    progress = _Progress(source, show)
    try:
        with pq.ParquetFile(source.path) as reader:
            metadata = reader.metadata
            total, groups = metadata.num_rows, metadata.num_row_groups
            if total == 0:
                raise InvalidInputError(
                    f"{source.shown} has a schema but no rows; expected at least one row: "
                    f"re-export the data, or pass a file that holds rows"
                )
            index = (reader.schema_arrow.pandas_metadata or {}).get("index_columns", [])
            hidden = {name for name in index if isinstance(name, str)}
            available = [name for name in reader.schema_arrow.names if name not in hidden]
            selected = _select(source, available, wanted, exclude)
            rows = 0
            progress.show(f"0/{groups} row groups, 0/{total:,} rows", force=True)
            for group in range(groups):
                for batch in reader.iter_batches(
                    batch_size=chunk_rows,
                    row_groups=[group],
                    columns=selected,
                    use_pandas_metadata=True,
                ):
                    rows += batch.num_rows
                    progress.show(f"{group}/{groups} row groups, {rows:,}/{total:,} rows")
                    yield batch
                last = group + 1 == groups
                progress.show(
                    f"{group + 1}/{groups} row groups, {rows:,}/{total:,} rows", force=last
                )
    except (pa.ArrowException, OSError) as exc:
        raise _parquet_error(source, exc) from exc
    finally:
        progress.close()


def _fingerprint_parquet(
    source: _Source, exclude: Sequence[str], show: bool, chunk_rows: int, workers: int
) -> DataFingerprint:
    """Stream runs of consecutive row groups in threads and merge their summaries in order."""
    try:
        with pq.ParquetFile(source.path) as reader:
            metadata = reader.metadata
            total, groups = metadata.num_rows, metadata.num_row_groups
            index = (reader.schema_arrow.pandas_metadata or {}).get("index_columns", [])
            hidden = {name for name in index if isinstance(name, str)}
            available = [name for name in reader.schema_arrow.names if name not in hidden]
    except (pa.ArrowException, OSError) as exc:
        raise _parquet_error(source, exc) from exc
    if total == 0:
        raise InvalidInputError(
            f"{source.shown} has a schema but no rows; expected at least one row: "
            f"re-export the data, or pass a file that holds rows"
        )
    selected = _select(source, available, None, exclude)
    runs = [list(run) for run in np.array_split(np.arange(groups), min(workers, groups))]
    progress = _Progress(source, show)
    lock = threading.Lock()
    done = [0, 0]  # row groups, rows

    def stream(run: list[int]) -> _Stream:
        part = _Stream(top_k=20)
        try:
            with pq.ParquetFile(source.path) as reader:
                for group in run:
                    for batch in reader.iter_batches(
                        batch_size=chunk_rows,
                        row_groups=[int(group)],
                        columns=selected,
                        use_pandas_metadata=True,
                    ):
                        part.add(batch)
                        with lock:
                            done[1] += batch.num_rows
                            progress.show(
                                f"{done[0]}/{groups} row groups, {done[1]:,}/{total:,} rows"
                            )
                    with lock:
                        done[0] += 1
        except (pa.ArrowException, OSError) as exc:
            raise _parquet_error(source, exc) from exc
        return part

    progress.show(f"0/{groups} row groups, 0/{total:,} rows", force=True)
    try:
        if len(runs) == 1:
            parts = [stream(runs[0])]
        else:
            with ThreadPoolExecutor(max_workers=len(runs)) as pool:
                parts = list(pool.map(stream, runs))
        progress.show(f"{groups}/{groups} row groups, {done[1]:,}/{total:,} rows", force=True)
    finally:
        progress.close()
    whole = parts[0]
    for part in parts[1:]:
        whole.absorb(part)
    return whole.finish()


def _stamp(source: _Source) -> tuple[int, int]:
    """The file's size and modification time, to notice a file that changes while it is read."""
    try:
        status = source.path.stat()
    except OSError as exc:
        raise InvalidInputError(
            f"{source.shown} disappeared while it was being read ({_one_line(exc)}); expected a "
            f"file that stays in place: fingerprint a finished copy"
        ) from exc
    return status.st_size, status.st_mtime_ns


def _available_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def _parquet_error(source: _Source, exc: BaseException) -> InvalidInputError:
    return InvalidInputError(
        f"{source.shown} is not a readable Parquet file ({_one_line(exc)}); expected a complete "
        f"Parquet file: re-export it, or check that the copy or download finished"
    )


# ---------------------------------------------------------------------------------- CSV
def _csv_chunks(
    source: _Source,
    wanted: list[str] | None,
    exclude: Sequence[str],
    show: bool,
    chunk_rows: int,
    text: set[str],
) -> Iterator[pd.DataFrame]:
    """Yield the non-empty chunks of a CSV file, the ``text`` columns read as strings."""
    progress = _Progress(source, show)
    try:
        handle = open(source.path, "rb")  # noqa: SIM115 (closed by the ``with`` below)
    except OSError as exc:
        raise InvalidInputError(
            f"{source.shown} cannot be opened ({_one_line(exc)}); expected a readable file: "
            f"check its permissions"
        ) from exc
    rows = 0
    selected: list[str] | None = None
    try:
        with (
            handle,
            pd.read_csv(
                handle,
                sep=source.sep,
                encoding="utf-8",
                compression="gzip" if source.gzip else None,
                chunksize=chunk_rows,
                low_memory=False,
                dtype=dict.fromkeys(sorted(text), str) if text else None,
            ) as reader,
        ):
            progress.show(_csv_status(0, source.size, 0), force=True)
            for chunk in reader:
                if selected is None:
                    _check_delimiter(source, [str(name) for name in chunk.columns])
                    _check_unique_header(source)
                    selected = _select(source, list(chunk.columns), wanted, exclude)
                rows += len(chunk)
                progress.show(_csv_status(handle.tell(), source.size, rows))
                if len(chunk):
                    yield _overflowed_numbers(chunk.loc[:, selected], text)
            progress.show(_csv_status(source.size, source.size, rows), force=True)
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"{source.shown} is not valid UTF-8 text (byte 0x{exc.object[exc.start]:02x} cannot "
            f"be decoded); expected a UTF-8 encoded CSV: re-save it as UTF-8, e.g. "
            f"df.to_csv(path, encoding='utf-8') or 'CSV UTF-8' in a spreadsheet"
        ) from exc
    except pd.errors.EmptyDataError as exc:
        raise InvalidInputError(
            f"{source.shown} has no header line (only blank lines); expected a header line of "
            f"column names followed by rows: re-export the data"
        ) from exc
    except pd.errors.ParserError as exc:
        _check_delimiter(source, _first_line(source).split(source.sep))
        raise InvalidInputError(
            f"{source.shown} could not be parsed as "
            f"{'tab' if source.sep == chr(9) else 'comma'}-separated values ({_one_line(exc)}); "
            f"expected every row to have as many fields as the header: fix or drop that line"
        ) from exc
    except (OSError, EOFError, zlib.error) as exc:
        if not source.gzip:
            raise InvalidInputError(
                f"{source.shown} could not be read ({_one_line(exc)}); expected a readable file: "
                f"check the disk, the network share or the permissions"
            ) from exc
        raise InvalidInputError(
            f"{source.shown} is not a valid gzip file ({_one_line(exc)}); expected a gzip-"
            f"compressed CSV: compress it again, or rename it to .csv if it is plain text"
        ) from exc
    finally:
        progress.close()
    if rows == 0:
        raise InvalidInputError(
            f"{source.shown} has a header but no rows (columns: {_listing(selected or [])}); "
            f"expected at least one data row: re-export the data, or pass a file that holds rows"
        )


_NUMBER_TEXT = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"


def _overflowed_numbers(chunk: pd.DataFrame, text: set[str]) -> pd.DataFrame:
    """``chunk`` with its columns of number text as float64.

    pandas reads a column of integers beyond 64 bits mixed with other numbers (a CSV of
    ``decimal(38, 0)`` values) as text: they are numbers, each rounded to the nearest float64
    (``float``, correctly rounded). Only columns where every value is number text are
    converted, and never the ``text`` columns (those read as text on purpose); an empty value
    (``""``, which pandas writes for a missing ``Decimal``) is missing.
    """
    copied = False
    for position in range(chunk.shape[1]):
        series = chunk.iloc[:, position]
        if chunk.columns[position] in text or not (
            series.dtype == object or pd.api.types.is_string_dtype(series.dtype)
        ):
            continue
        head = series.head(100).dropna()
        if (
            not all(isinstance(v, str) for v in head)
            or not (head.astype(str).str.fullmatch(_NUMBER_TEXT) | (head == "")).all()
        ):
            continue  # a text column: told apart on its first rows, without a pass over all
        filled = (series.notna() & (series.astype(object) != "")).to_numpy()
        present = series[filled]
        if present.empty or not present.astype(str).str.fullmatch(_NUMBER_TEXT).all():
            continue
        if not copied:
            chunk, copied = chunk.copy(), True
        values = np.full(len(series), np.nan)
        values[filled] = [float(v) for v in present]
        chunk.isetitem(position, values)
    return chunk


def _csv_status(position: int, size: int, rows: int) -> str:
    percent = min(100, 100 * position // size)
    return f"{percent}% of {size / 1e6:.1f} MB, {rows:,} rows"


def _check_delimiter(source: _Source, header: list[str]) -> None:
    """Raise if a one-column header holds another delimiter than the expected one."""
    if len(header) != 1:
        return
    for other in (";", "\t", "|", ","):
        if other != source.sep and other in header[0]:
            expected = _DELIMITER_NAMES[source.sep]
            raise InvalidInputError(
                f"{source.shown} looks {_DELIMITER_NAMES[other]}-delimited (its header "
                f"{_shorten(header[0])!r} reads as one column); expected {expected} as the "
                f"delimiter: re-save it with {expected} between fields, or convert it to Parquet"
            )


def _check_unique_header(source: _Source) -> None:
    """Refuse a header that names a column twice (pandas would rename the second ``x.1``)."""
    try:
        header = next(csv.reader([_first_line(source)], delimiter=source.sep), [])
    except csv.Error:
        return  # the parser's own error is clearer
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if name and name in seen:
            raise InvalidInputError(
                f"{source.shown} names the column {name!r} twice in its header (columns "
                f"{seen[name]} and {position}); expected every column to have its own name: "
                f"rename or drop one of them"
            )
        seen.setdefault(name, position)


def _first_line(source: _Source) -> str:
    """The header line, decoded leniently (for messages only)."""
    try:
        opener = gzip.open if source.gzip else open
        with opener(source.path, "rb") as handle:
            head = handle.read(1 << 16)
    except (OSError, EOFError, zlib.error):
        return ""
    return head.decode("utf-8", errors="replace").lstrip("\ufeff").splitlines()[0]


def _mixed_columns(parts: list[pd.DataFrame]) -> set[str]:
    """Columns whose non-missing chunks disagree on their type (other than int vs float)."""
    mixed: set[str] = set()
    if len(parts) < 2:
        return mixed
    for position, name in enumerate(parts[0].columns):
        types = {
            _type_group(part.iloc[:, position].dtype)
            for part in parts
            if part.iloc[:, position].notna().any()
        }
        if len(types) > 1:
            mixed.add(name)
    return mixed


def _type_group(dtype: object) -> str:
    types = pd.api.types
    if types.is_numeric_dtype(dtype) and not types.is_bool_dtype(dtype):
        return "number"
    return str(dtype)


def _align_missing(parts: list[pd.DataFrame]) -> list[pd.DataFrame]:
    """Give a chunk's entirely missing text column the text dtype of the other chunks.

    Otherwise such a chunk parses as float64 and the concatenation turns ``str`` into ``object``.
    """
    if len(parts) < 2:
        return parts
    for position in range(parts[0].shape[1]):
        full = [
            part.iloc[:, position].dtype for part in parts if part.iloc[:, position].notna().any()
        ]
        if not full or _type_group(full[0]) == "number" or pd.api.types.is_bool_dtype(full[0]):
            continue
        for index, part in enumerate(parts):
            if part.iloc[:, position].dtype != full[0]:
                part = parts[index] = part.copy()
                part.isetitem(position, part.iloc[:, position].astype(full[0]))
    return parts


# ---------------------------------------------------------------------------------- helpers
class _Progress:
    """A plain-text progress line on stderr, rewritten in place with ``\\r``."""

    def __init__(self, source: _Source, enabled: bool) -> None:
        self.label = terminal_safe(source.path.name)  # a file name is data too
        self.enabled = enabled
        self.width = 0
        self.last = -math.inf

    def show(self, status: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self.last < _PROGRESS_EVERY):
            return
        line = f"reading {self.label}: {status}"
        sys.stderr.write("\r" + line + " " * max(0, self.width - len(line)))
        sys.stderr.flush()
        self.width, self.last = len(line), now

    def close(self) -> None:
        if self.width:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self.width = 0


def _has_inf(series: pd.Series) -> bool:
    if not pd.api.types.is_float_dtype(series.dtype):
        return False
    return bool(np.isinf(series.to_numpy(dtype=np.float64, na_value=np.nan)).any())


def _listing(names: Iterable[object]) -> str:
    """``'a', 'b', 'c'``, cut after :data:`_MAX_LISTED` names with the count left."""
    names = list(names)
    shown = ", ".join(repr(str(name)) for name in names[:_MAX_LISTED])
    if len(names) > _MAX_LISTED:
        shown += f" and {len(names) - _MAX_LISTED} more"
    return shown or "none"


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _one_line(exc: BaseException) -> str:
    """An exception's message on one line, without its trailing noise."""
    text = " ".join(str(exc).split())
    return _shorten(text or type(exc).__name__, 200)
