"""Data fingerprints: a compact, mergeable summary of a table, and a distance between two of them.

A :class:`DataFingerprint` holds the schema, the row count and, per column, what a drift check
needs: missing counts, a quantile sketch for numeric columns and the top-k frequencies for
categorical ones. It is built in one streaming pass over chunks
(:meth:`DataFingerprint.from_batches`), so files larger than memory can be fingerprinted, and two
fingerprints of disjoint data merge into the fingerprint of their union
(:meth:`DataFingerprint.merge`), so partitions can be fingerprinted apart. It serialises to a
small JSON document with an exact round trip.

:func:`distance` compares a reference fingerprint with a current one. It returns a
:class:`DriftReport` with an overall score, a per-column breakdown and the schema changes, named.

Notes
-----
**Kinds.** Integer, unsigned, float, datetime (as seconds since the epoch, UTC) and timedelta (as
seconds) columns are *numeric*. Bool, object, string and category columns are *categorical*; their
values are compared as ``str``. Complex numbers are refused.

**Distance.** Each shared column of the same type gets a score ``>= 0`` that is exactly 0 for
identical data; the overall score is the mean over those columns (0 when there is none).

- Numeric: the 1-Wasserstein distance between the two quantile functions,

  .. math:: W_1 = \\int_0^1 |Q_{ref}(p) - Q_{cur}(p)|\\, dp,

  computed on a midpoint grid of 1000 probabilities, divided by the larger of the two sides'
  robust spreads ``IQR / 1.349`` (the standard deviation for a normal; it falls back to the
  standard deviation, then to 1, when it is 0), capped at 10 (ten spreads apart is as different as
  it gets: one near-constant column must not swamp the overall score), plus the absolute
  differences of the missing rate and of the rate of infinite values. ``W_1`` is the mean
  distance each unit of probability mass must travel; unlike a
  Kolmogorov–Smirnov statistic it keeps growing with the size of a shift instead of saturating at 1,
  and unlike a p-value it does not depend on the row count. Dividing by a spread makes
  the score unit-free (a shift of one standard deviation of a normal scores about 1), so columns
  in seconds and columns in dollars can be ranked side by side. The robust spread is used so that
  a few outliers do not hide the drift of every other value; the larger of the two is used so that
  a column that was nearly constant in the reference does not score without bound. A column that has
  no finite values on one side gets only the rate terms.
- Categorical: the largest of three lower bounds on the total variation distance between the
  two value distributions, so it lies in ``[0, 1]`` (1: the sides share no value at all):

  - ``½ Σ |p_ref(c) - p_cur(c)|`` over the union of the listed categories, with the "other"
    bucket and the missing values counted as two more categories (a category listed on one side
    but in the other side's "other" bucket counts as absent there);
  - the share of current rows whose value the reference never holds ("unseen");
  - the share of reference rows whose value the current data never holds.

  A column with more distinct values than it lists (ids, free text) keeps a bottom-k sketch of
  its values' 64-bit hashes (the :data:`DISTINCT_K` smallest; pandas' SipHash, stable across
  processes), so that the unseen share of its unlisted values is estimated too: two sets of
  entirely new ids score about 1, not 0. Two samples of the same high-cardinality values that
  are smaller than the number of values also miss each other's values, and score above 0;
  such a column is named in :attr:`DriftReport.identifiers` (and its ``notes``) when nearly all
  its values are distinct.

**Values that are not scalars.** Lists, tuples, numpy arrays (Parquet's lists), sets and dicts
(Parquet's structs) are compared by a canonical text, ``[1, 2]``, whatever the container: a list
in a DataFrame and the array Parquet gives back for it are the same value.

A column that is missing on one side, or whose type changed (numeric vs categorical, or a datetime
becoming a number), is not scored: it is listed by name in :attr:`DriftReport.schema_changes`.
:func:`check_schema` turns such changes into a
:class:`~mlflow_staleness.exceptions.SchemaMismatchError`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cached_property
from numbers import Integral
from typing import Any, ClassVar, NamedTuple

import numpy as np
import pandas as pd

from mlflow_staleness._sketch import (
    MERGE_EPS,
    STORED_EPS,
    STREAM_EPS,
    QuantileSketch,
    pack,
    unpack,
)
from mlflow_staleness.exceptions import InvalidInputError, SchemaMismatchError

__all__ = [
    "CategoricalColumn",
    "ColumnType",
    "DataFingerprint",
    "DriftReport",
    "NumericColumn",
    "check_schema",
    "distance",
]

FORMAT_VERSION = 1
KINDS = ("numeric", "categorical")
#: Bounds on a fingerprint document read from outside (an artifact anyone with write access to a
#: training run could have replaced): its size in bytes, its nesting, its columns, and every
#: count in it. Memory to read one stays far below 1 GB; see the README's Safety section.
MAX_JSON_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 8  # a fingerprint nests 4 deep: document, columns, column, sketch
MAX_COLUMNS = 50_000
MAX_COUNT = 2**53  # rows, counts and top_k: exact in a float, beyond any real table
MAX_SKETCH_VALUES = 1 << 22  # all quantile sketches together: about 100 MB of arrays
#: Hashes kept per categorical column that lists only some of its values (a bottom-k sketch).
DISTINCT_K = 128
#: A column is identifier-like when at least this share of its (at least ID_MIN_ROWS)
#: non-missing values are distinct.
ID_SHARE = 0.9
ID_MIN_ROWS = 100
#: Values a streaming sketch may hold before it is pruned to ``STREAM_EPS``.
_STREAM_ITEMS = 2048
#: Rows per slice when :meth:`DataFingerprint.from_frame` walks a large frame.
_ROW_CHUNK = 1 << 20
#: Distinct categorical values tracked while streaming, per ``top_k`` and at least.
_CAPACITY_PER_TOP = 10
_MIN_CAPACITY = 1000
#: Probabilities on which two quantile functions are compared.
_GRID = (np.arange(1000) + 0.5) / 1000
_IQR_TO_SIGMA = 1.349


class _ReadOnlyDict(dict):
    """A ``dict`` that refuses changes, so a frozen fingerprint stays frozen (and pickles)."""

    def _read_only(self, *args: object, **kwargs: object) -> None:
        raise TypeError(f"{type(self).__name__} is read-only")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _read_only  # type: ignore[assignment]
    __ior__ = _read_only  # type: ignore[assignment]

    def __reduce__(self) -> tuple:
        return (_ReadOnlyDict, (dict(self),))


class ColumnType(NamedTuple):
    """The type of a column: its kind (``"numeric"`` or ``"categorical"``) and pandas dtype."""

    kind: str
    dtype: str

    @property
    def family(self) -> str:
        """``"datetime"``, ``"timedelta"`` or ``"number"`` for numeric columns, else ``"text"``."""
        if self.kind == "categorical":
            return "text"
        if self.dtype.startswith(("datetime64", "timestamp[", "date32", "date64")):  # or pyarrow
            return "datetime"
        if self.dtype.startswith(("timedelta64", "duration[")):
            return "timedelta"
        return "number"


# ---------------------------------------------------------------------------------------- columns
@dataclass(frozen=True)
class NumericColumn:
    """Summary of one numeric column.

    Parameters
    ----------
    dtype
        The pandas dtype of the column, as a string.
    n_missing
        Missing values (NaN, None, NaT, ``pd.NA``).
    n_inf
        Infinite values, counted apart and left out of the sketch and the moments.
    mean, std
        Mean and (population) standard deviation of the finite values; ``None`` when there are no
        finite values or the moments overflow.
    sketch
        The quantile sketch of the finite values.
    """

    dtype: str
    n_missing: int
    n_inf: int
    mean: float | None
    std: float | None
    sketch: QuantileSketch = field(repr=False)

    kind: ClassVar[str] = "numeric"

    @property
    def n_rows(self) -> int:
        """Rows summarised: missing, infinite and finite."""
        return self.n_missing + self.n_inf + self.sketch.n

    @property
    def n_finite(self) -> int:
        """Finite values, the ones the sketch summarises."""
        return self.sketch.n

    @property
    def min(self) -> float | None:
        """Smallest finite value (exact), or ``None``."""
        return self.sketch.minimum

    @property
    def max(self) -> float | None:
        """Largest finite value (exact), or ``None``."""
        return self.sketch.maximum

    @property
    def rank_error(self) -> float:
        """Certified rank error of :meth:`quantile`, as a fraction of the finite values."""
        return self.sketch.error

    def quantile(self, q: float | np.ndarray) -> float | np.ndarray:
        """Estimate of the ``q`` quantile(s) of the finite values (NaN when there are none)."""
        probabilities = _check_probabilities(q)
        out = self.sketch.quantile(probabilities)
        return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class CategoricalColumn:
    """Summary of one categorical column.

    Parameters
    ----------
    dtype
        The pandas dtype of the column, as a string.
    n_missing
        Missing values (NaN, None, ``pd.NA``).
    n_other
        Non-missing values outside :attr:`top`.
    top
        ``(value, count)`` pairs, most frequent first, ties by value. Counts are exact when every
        part summarised listed the value; otherwise they can only be too low.
    distinct
        When some values are not listed (``n_other > 0``): the :data:`DISTINCT_K` smallest
        64-bit hashes of all distinct non-missing values, sorted (a bottom-k sketch; all of
        them when there are fewer). It tells how many distinct values there are and how many of
        them another column also has. ``None`` when ``top`` lists every value (the set is then
        known exactly) or when it is not known (a fingerprint written before it existed).
    """

    dtype: str
    n_missing: int
    n_other: int
    top: tuple[tuple[str, int], ...]
    distinct: tuple[int, ...] | None = None

    kind: ClassVar[str] = "categorical"

    def __post_init__(self) -> None:
        if self.n_other == 0 and self.distinct is not None:
            object.__setattr__(self, "distinct", None)  # every value is listed: known exactly

    @property
    def n_rows(self) -> int:
        """Rows summarised: missing, listed and other."""
        return self.n_missing + self.n_other + sum(count for _, count in self.top)

    @property
    def counts(self) -> dict[str, int]:
        """The listed values and their counts, most frequent first."""
        return dict(self.top)

    @property
    def n_distinct(self) -> float | None:
        """Distinct non-missing values: exact when listed or fewer than :data:`DISTINCT_K`,
        else the bottom-k estimate ``(k - 1) / (h_k / 2**64)``; ``None`` when unknown."""
        hashes = _distinct_hashes(self)
        if hashes is None:
            return None
        if hashes.shape[0] < DISTINCT_K:
            return float(hashes.shape[0])
        return (DISTINCT_K - 1) / ((float(hashes[-1]) + 1.0) / 2.0**64)


Column = NumericColumn | CategoricalColumn


# ------------------------------------------------------------------------------------ fingerprint
@dataclass(frozen=True)
class DataFingerprint:
    """A compact, mergeable, JSON-serialisable statistical summary of a table.

    Build it with :meth:`from_frame` or, for data that does not fit in memory, with
    :meth:`from_batches`; compare two with :func:`distance`.

    Parameters
    ----------
    n_rows
        Rows summarised.
    columns
        Column name to :class:`NumericColumn` or :class:`CategoricalColumn`, in table order.
    top_k
        How many most frequent values each categorical column lists.

    Notes
    -----
    **Quantile sketch.** Each numeric column keeps a short sorted list of values ``v_i``, and for
    each an upper bound on ``#{x < v_i}`` and a lower bound on ``#{x <= v_i}``. Every operation
    moves these bounds only in valid directions, so the sketch *certifies* its own rank error
    ``eps``: the value returned for ``q`` has a true rank interval ``[#{x < v}, #{x <= v}] / n``
    within ``eps`` of ``q`` (ties are handled exactly). With ``n`` finite values:

    - :meth:`from_frame` and :meth:`from_batches` (any number and size of batches):
      ``eps <= 0.005``, with about 100–140 values per column (under 1 kB of JSON).
    - :meth:`merge`: combining two sketches loses nothing, then the union is pruned back to the
      fewest values that keep ``eps <= 0.01``. A chain of merges (any length) stays near 130
      values; a balanced merge tree of 8 parts near 260, of 32 parts near 550, of 64 parts near
      860. The size is capped at 1024 values: from about 128 parts in a balanced tree the cap binds
      and ``eps`` grows slowly instead (to about 0.0102 at 256 parts);
      :attr:`NumericColumn.rank_error` always reports the certified value.

    Streaming keeps one sketch per column with ``eps <= 0.002`` (exact while it holds at most 2048
    values, then pruned), and prunes it to the stored precision at the end: memory depends on the
    batch size and the number of columns, not on the number of rows. Within a batch, integral
    values spanning fewer than 65,536 integers are counted in linear time (``np.bincount``), other
    values sorted; both give exact ranks. The sketch is deterministic: no randomness at all.

    A kept value need not be a data value: within its rank window the sketch keeps the float with
    the shortest binary form, which compresses well (values are byte-shuffled, zlib-compressed and
    base64-encoded in the JSON). The minimum and maximum are kept exactly.

    **Categorical counts.** Streaming tracks up to ``max(1000, 10 * top_k)`` distinct values per
    column with the Misra–Gries rule, so a count is exact unless a column has more distinct values
    than that, and then too low by at most ``n / (capacity + 1)``. :meth:`merge` adds the counts
    of the two lists and keeps the ``top_k`` largest; a value missing from one list counts 0 there.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"age": rng.normal(40, 10, 10_000).round(),
    ...                    "plan": rng.choice(["free", "pro"], 10_000, p=[0.8, 0.2])})
    >>> fp = DataFingerprint.from_frame(df)
    >>> fp.n_rows, fp.schema["plan"].kind
    (10000, 'categorical')
    >>> fp.quantile("age", 0.5)
    40.0
    >>> fp.columns["plan"].counts
    {'free': 8002, 'pro': 1998}
    >>> DataFingerprint.from_json(fp.to_json()) == fp
    True
    >>> halves = DataFingerprint.from_frame(df[:5000]).merge(DataFingerprint.from_frame(df[5000:]))
    >>> halves.n_rows, halves.columns["plan"].counts == fp.columns["plan"].counts
    (10000, True)
    """

    n_rows: int
    columns: Mapping[str, Column]
    top_k: int = 20

    format_version: ClassVar[int] = FORMAT_VERSION

    def __post_init__(self) -> None:
        _check_count("n_rows", self.n_rows, minimum=1)
        _check_count("top_k", self.top_k, minimum=1)
        if not isinstance(self.columns, Mapping):
            raise InvalidInputError(
                f"columns must be a mapping of name to column summary, "
                f"got {type(self.columns).__name__}"
            )
        for name, column in self.columns.items():
            if not isinstance(name, str):
                raise InvalidInputError(f"column names must be str, got {name!r}")
            if not isinstance(column, NumericColumn | CategoricalColumn):
                raise InvalidInputError(
                    f"column {name!r} must be a NumericColumn or CategoricalColumn, "
                    f"got {type(column).__name__}"
                )
            if column.n_rows != self.n_rows:
                raise InvalidInputError(
                    f"column {name!r} summarises {column.n_rows} rows, expected n_rows = "
                    f"{self.n_rows}"
                )
        object.__setattr__(self, "n_rows", int(self.n_rows))
        object.__setattr__(self, "top_k", int(self.top_k))
        object.__setattr__(self, "columns", _ReadOnlyDict(self.columns))

    def __repr__(self) -> str:
        return (
            f"DataFingerprint(n_rows={self.n_rows}, columns={len(self.columns)}, "
            f"top_k={self.top_k}, digest={self.digest!r})"
        )

    def __hash__(self) -> int:
        return hash(self.digest)

    # ------------------------------------------------------------------------ building
    @classmethod
    def from_frame(cls, df: pd.DataFrame, *, top_k: int = 20) -> DataFingerprint:
        """Fingerprint a DataFrame.

        Parameters
        ----------
        df
            The data; it needs at least one row. Column names are turned into ``str`` and must
            then be unique.
        top_k
            How many most frequent values each categorical column lists.

        Raises
        ------
        InvalidInputError
            If ``df`` is not a DataFrame, has no rows, duplicate column names or a complex column.
        """
        _check_frame(df, "df")
        if len(df) == 0:
            raise InvalidInputError(
                f"df must have at least one row to be fingerprinted, got 0 rows "
                f"(columns: {list(map(str, df.columns))})"
            )
        chunks = (df.iloc[start : start + _ROW_CHUNK] for start in range(0, len(df), _ROW_CHUNK))
        return cls.from_batches(chunks, top_k=top_k)

    @classmethod
    def from_batches(cls, batches: Iterable[pd.DataFrame], *, top_k: int = 20) -> DataFingerprint:
        """Fingerprint a table that arrives in chunks, in one pass and bounded memory.

        The result matches :meth:`from_frame` on the concatenation within the stated error (see
        Notes of the class); chunks are never concatenated.

        Parameters
        ----------
        batches
            DataFrames with the same columns, e.g. ``pd.read_csv(path, chunksize=100_000)``,
            or pyarrow ``RecordBatch`` es, e.g. ``pyarrow.parquet.ParquetFile.iter_batches()``:
            their integer and float columns are read straight into numpy, the others as
            ``RecordBatch.to_pandas()`` gives them (honouring pandas metadata). Empty batches
            are skipped. A column may change dtype between batches within its kind
            (``int64`` then ``float64``); a column that is entirely missing in a batch takes the
            kind it has elsewhere.
        top_k
            How many most frequent values each categorical column lists.

        Raises
        ------
        InvalidInputError
            If a batch is not a DataFrame or a RecordBatch, or all batches together have no rows.
        SchemaMismatchError
            If a batch's columns or column kinds differ from the earlier batches.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> rng = np.random.default_rng(1)
        >>> chunks = (pd.DataFrame({"x": rng.exponential(1.0, 1000)}) for _ in range(50))
        >>> fp = DataFingerprint.from_batches(chunks)
        >>> fp.n_rows, round(fp.quantile("x", 0.5), 1)
        (50000, 0.7)
        >>> fp.columns["x"].rank_error <= 0.005
        True
        """
        _check_count("top_k", top_k, minimum=1)
        if isinstance(batches, pd.DataFrame):
            raise InvalidInputError(
                "batches must be an iterable of DataFrames, got a single DataFrame: "
                "use DataFingerprint.from_frame, or pass [df]"
            )
        try:
            iterator = iter(batches)
        except TypeError as exc:
            raise InvalidInputError(
                f"batches must be an iterable of DataFrames, got {type(batches).__name__}"
            ) from exc
        stream = _Stream(top_k)
        for batch in iterator:
            stream.add(batch)
        return stream.finish()

    def merge(self, other: DataFingerprint) -> DataFingerprint:
        """The fingerprint of the union of the data behind ``self`` and ``other``.

        Row counts, missing counts and moments add up exactly; the quantile sketches combine with
        no loss and are pruned back to a certified rank error of at most 0.01; categorical counts
        add up and the ``min(top_k)`` most frequent values are kept (see the class Notes).

        Raises
        ------
        SchemaMismatchError
            If the two fingerprints do not have the same columns of the same kinds.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> rng = np.random.default_rng(2)
        >>> parts = [DataFingerprint.from_frame(pd.DataFrame({"x": rng.normal(size=500)}))
        ...          for _ in range(4)]
        >>> merged = (parts[0].merge(parts[1])).merge(parts[2].merge(parts[3]))
        >>> merged.n_rows, merged.columns["x"].rank_error <= 0.01
        (2000, True)
        """
        if not isinstance(other, DataFingerprint):
            raise InvalidInputError(
                f"a fingerprint can only merge with a DataFingerprint, got {type(other).__name__}"
            )
        top_k = min(self.top_k, other.top_k)
        columns = _merge_column_maps(
            dict(self.columns),
            dict(other.columns),
            eps=MERGE_EPS,
            capacity=top_k,
            misra_gries=False,
            what="cannot merge fingerprints with different schemas",
            other="the other fingerprint",
            this="this fingerprint",
        )
        return DataFingerprint(n_rows=self.n_rows + other.n_rows, columns=columns, top_k=top_k)

    # ------------------------------------------------------------------------ queries
    @property
    def schema(self) -> Mapping[str, ColumnType]:
        """Column name to :class:`ColumnType` (kind and original dtype), in table order."""
        return _ReadOnlyDict(
            (name, ColumnType(column.kind, column.dtype)) for name, column in self.columns.items()
        )

    def quantile(self, column: str, q: float | np.ndarray) -> float | np.ndarray:
        """The sketch's estimate of the ``q`` quantile(s) of a numeric column's finite values.

        ``q`` is a probability or an array of them. The answer's rank is within
        ``self.columns[column].rank_error`` of ``q`` (see the class Notes). A column with no finite
        value answers NaN.

        Raises
        ------
        InvalidInputError
            If the column is unknown or categorical, or ``q`` is not in ``[0, 1]``.
        """
        summary = self._column(column)
        if not isinstance(summary, NumericColumn):
            raise InvalidInputError(
                f"quantiles need a numeric column, but column {column!r} is categorical"
            )
        return summary.quantile(q)

    def _column(self, column: str) -> Column:
        try:
            return self.columns[column]
        except (KeyError, TypeError):
            raise InvalidInputError(
                f"unknown column {column!r}; the fingerprint has {list(self.columns)}"
            ) from None

    @cached_property
    def digest(self) -> str:
        """A short, stable hex digest of the content (16 hex digits of SHA-256).

        It is computed on an uncompressed canonical JSON form, so it does not depend on the zlib
        build; equal fingerprints have equal digests.
        """
        canonical = json.dumps(
            self._to_dict(compress=False), sort_keys=True, separators=(",", ":"), allow_nan=False
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]

    # ------------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict that :meth:`from_dict` turns back into an equal fingerprint."""
        return self._to_dict(compress=True)

    def _to_dict(self, *, compress: bool) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "n_rows": self.n_rows,
            "top_k": self.top_k,
            "columns": [
                _column_to_dict(name, column, compress=compress)
                for name, column in self.columns.items()
            ],
        }

    def to_json(self) -> str:
        """The fingerprint as one compact JSON document (sketch arrays are zlib + base64)."""
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DataFingerprint:
        """Rebuild a fingerprint from :meth:`to_dict` output, checking every field.

        Raises
        ------
        InvalidInputError
            If a key is missing, a field has the wrong type or an impossible value, or the format
            version is newer than this library reads.
        """
        if not isinstance(data, Mapping):
            raise InvalidInputError(
                f"a fingerprint dict must be a mapping, got {type(data).__name__}"
            )
        version = _get(data, "format_version", int, "the fingerprint")
        if version > FORMAT_VERSION:
            raise InvalidInputError(
                f"the fingerprint has format_version {version}, newer than the version this "
                f"library reads ({FORMAT_VERSION}); upgrade mlflow-staleness to read it"
            )
        if version < 1:
            raise InvalidInputError(f"format_version must be an integer >= 1, got {version}")
        n_rows = _get(data, "n_rows", int, "the fingerprint")
        top_k = _get(data, "top_k", int, "the fingerprint")
        entries = _get(data, "columns", list, "the fingerprint")
        if len(entries) > MAX_COLUMNS:
            raise InvalidInputError(
                f"the fingerprint lists {len(entries):,} columns, more than the {MAX_COLUMNS:,} "
                f"one may have"
            )
        columns: dict[str, Column] = {}
        kept = 0  # sketch values decoded so far
        for position, entry in enumerate(entries):
            name, column = _column_from_dict(entry, position)
            if name in columns:
                shown = _shown(name, 80)
                raise InvalidInputError(f"column {shown} appears twice in the fingerprint")
            if isinstance(column, NumericColumn):
                kept += len(column.sketch)
                if kept > MAX_SKETCH_VALUES:
                    raise InvalidInputError(
                        f"the fingerprint's quantile sketches hold more than "
                        f"{MAX_SKETCH_VALUES:,} values in all (at column {_shown(name, 80)}), "
                        f"more than one may have"
                    )
            columns[name] = column
        return cls(n_rows=n_rows, columns=columns, top_k=top_k)

    @classmethod
    def from_json(cls, text: str | bytes) -> DataFingerprint:
        """Rebuild a fingerprint from :meth:`to_json` output.

        Raises
        ------
        InvalidInputError
            If ``text`` is not JSON or not a valid fingerprint (see :meth:`from_dict`).
        """
        if not isinstance(text, str | bytes | bytearray):
            raise InvalidInputError(
                f"a fingerprint JSON must be str or bytes, got {type(text).__name__}"
            )
        raw = text.encode("utf-8", errors="surrogatepass") if isinstance(text, str) else text
        _check_json_shape(bytes(raw))
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:  # also an integer of > 4300 digits
            detail = " ".join(str(exc).split())[:200]
            raise InvalidInputError(f"a fingerprint JSON could not be parsed: {detail}") from exc
        except RecursionError:
            raise InvalidInputError("a fingerprint JSON is nested too deeply to be one") from None
        return cls.from_dict(data)


# ---------------------------------------------------------------------------------- drift report
@dataclass(frozen=True)
class DriftReport:
    """How far current data lies from the reference, overall and per column.

    Parameters
    ----------
    score
        Mean of the column scores (0 when no column is shared).
    columns
        Column name to score, for the columns present on both sides with the same type, in the
        reference's order.
    schema_changes
        Column name to a description of the change, e.g. ``"missing from current data"``.
    unseen
        Categorical column name to the (estimated) share of the current rows whose value the
        reference never saw, for the columns where it is above 0.
    identifiers
        Categorical columns that look like identifiers: at least 90% of their (at least 100)
        values are distinct, on either side.
    notes
        One line of evidence per identifier-like column, and per column with unseen values the
        reference could not list (a high-cardinality column), for the advice's evidence.

    Examples
    --------
    >>> report = DriftReport(score=0.4, columns={"b": 0.1, "a": 0.7, "c": 0.4}, schema_changes={})
    >>> report.top(2)
    [('a', 0.7), ('c', 0.4)]
    """

    score: float
    columns: Mapping[str, float]
    schema_changes: Mapping[str, str]
    unseen: Mapping[str, float] = field(default_factory=dict)
    identifiers: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", _ReadOnlyDict(self.columns))
        object.__setattr__(self, "schema_changes", _ReadOnlyDict(self.schema_changes))
        object.__setattr__(self, "unseen", _ReadOnlyDict(self.unseen))
        object.__setattr__(self, "identifiers", tuple(self.identifiers))
        object.__setattr__(self, "notes", tuple(self.notes))

    def top(self, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` most drifted ``(column, score)`` pairs, highest first, ties by name."""
        _check_count("k", k, minimum=0)
        ranked = sorted(self.columns.items(), key=lambda item: (-item[1], item[0]))
        return ranked[: int(k)]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "score": self.score,
            "columns": dict(self.columns),
            "schema_changes": dict(self.schema_changes),
            "unseen": dict(self.unseen),
            "identifiers": list(self.identifiers),
            "notes": list(self.notes),
        }


def distance(reference: DataFingerprint, current: DataFingerprint) -> DriftReport:
    """Compare two fingerprints: an overall drift score, a per-column breakdown, schema changes.

    The measures are described in the module Notes: a scale-free 1-Wasserstein distance plus the
    change of missing rate for numeric columns, total variation for categorical ones. A missing
    column or a changed type is reported in :attr:`DriftReport.schema_changes`, not raised.

    Parameters
    ----------
    reference
        The fingerprint of the data the model was trained or validated on.
    current
        The fingerprint of the data it serves now.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(3)
    >>> ref = DataFingerprint.from_frame(pd.DataFrame({"x": rng.normal(0, 1, 5000),
    ...                                                "y": rng.normal(0, 1, 5000)}))
    >>> cur = DataFingerprint.from_frame(pd.DataFrame({"x": rng.normal(1, 1, 5000),
    ...                                                "z": rng.normal(0, 1, 5000)}))
    >>> report = distance(ref, cur)
    >>> round(report.columns["x"], 1)
    1.0
    >>> dict(report.schema_changes)
    {'y': 'missing from current data', 'z': 'not in reference'}
    >>> distance(ref, ref).score
    0.0
    """
    _check_fingerprint("reference", reference)
    _check_fingerprint("current", current)
    changes = _schema_changes(reference, current, other="current data", this="reference")
    scores: dict[str, float] = {}
    unseen: dict[str, float] = {}
    identifiers: list[str] = []
    notes: list[str] = []
    for name, ref in reference.columns.items():
        if name in changes:
            continue
        cur = current.columns[name]
        if isinstance(ref, NumericColumn) and isinstance(cur, NumericColumn):
            scores[name] = _numeric_score(ref, cur)
        elif isinstance(ref, CategoricalColumn) and isinstance(cur, CategoricalColumn):
            scores[name], share = _categorical_score(ref, cur)
            if share > 0:
                unseen[name] = share
            distinct = _identifier_like(cur) or _identifier_like(ref)
            if distinct is not None:
                identifiers.append(name)
                notes.append(
                    f"{name!r} looks like an identifier (about {distinct:,.0f} distinct values "
                    f"in {cur.n_rows - cur.n_missing:,} rows, {share:.0%} of them never in the "
                    f"reference): its drift counts new values; leave identifiers out of the "
                    f"reference and the data"
                )
            elif share >= 0.01 and ref.n_other:
                notes.append(
                    f"about {share:.0%} of the values of {name!r} are new to the reference"
                )
    score = float(np.mean(list(scores.values()))) if scores else 0.0
    return DriftReport(
        score=score,
        columns=scores,
        schema_changes=changes,
        unseen=unseen,
        identifiers=tuple(identifiers),
        notes=tuple(notes),
    )


def check_schema(reference: DataFingerprint, current: DataFingerprint) -> None:
    """Raise if the current data does not have the reference's columns and column types.

    Raises
    ------
    SchemaMismatchError
        Naming every changed column in the message and in ``columns``.

    Examples
    --------
    >>> import pandas as pd
    >>> ref = DataFingerprint.from_frame(pd.DataFrame({"x": [1.0, 2.0], "y": [1, 2]}))
    >>> cur = DataFingerprint.from_frame(pd.DataFrame({"y": ["a", "b"]}))
    >>> try:
    ...     check_schema(ref, cur)
    ... except SchemaMismatchError as exc:
    ...     print(exc)
    current data does not match the reference schema: column 'x' missing from current data; \
column 'y' type changed: numeric -> categorical
    """
    _check_fingerprint("reference", reference)
    _check_fingerprint("current", current)
    changes = _schema_changes(reference, current, other="current data", this="reference")
    if changes:
        raise SchemaMismatchError(
            _mismatch_message("current data does not match the reference schema", changes),
            columns=changes,
        )


# ---------------------------------------------------------------------------------- scoring
_MAX_COLUMN_SCORE = 10.0  # ten spreads apart: as different as it gets


def _numeric_score(ref: NumericColumn, cur: NumericColumn) -> float:
    rates = abs(ref.n_missing / ref.n_rows - cur.n_missing / cur.n_rows) + abs(
        ref.n_inf / ref.n_rows - cur.n_inf / cur.n_rows
    )
    if ref.n_finite == 0 or cur.n_finite == 0:
        return float(rates)  # nothing to compare but how often values are missing
    spread = max(_spread(ref), _spread(cur))
    with np.errstate(over="ignore", invalid="ignore"):
        ref_q, cur_q = ref.sketch.quantile(_GRID), cur.sketch.quantile(_GRID)
        gaps = np.abs(ref_q / spread - cur_q / spread)
        # equal quantiles are 0 apart even when a tiny spread sends them to inf (inf - inf)
        gaps = np.where(ref_q == cur_q, 0.0, np.nan_to_num(gaps, nan=_MAX_COLUMN_SCORE))
        w1 = float(np.mean(gaps))
    if not math.isfinite(w1) or w1 > _MAX_COLUMN_SCORE:
        w1 = _MAX_COLUMN_SCORE
    return w1 + float(rates)


def _spread(column: NumericColumn) -> float:
    """Robust standard deviation: IQR / 1.349, else the standard deviation, else 1."""
    with np.errstate(over="ignore", invalid="ignore"):
        q1, q3 = column.sketch.quantile(np.array([0.25, 0.75]))
        iqr = (q3 - q1) / _IQR_TO_SIGMA
    if math.isfinite(iqr) and iqr > 0:
        return float(iqr)
    if column.std is not None and math.isfinite(column.std) and column.std > 0:
        return float(column.std)
    return 1.0


def _categorical_score(ref: CategoricalColumn, cur: CategoricalColumn) -> tuple[float, float]:
    """The column's score and the share of current rows with values the reference never saw.

    The score is the largest of three lower bounds on the total variation distance between the
    two value distributions: the distance over the listed values and the two buckets, the
    share of current rows whose value is new, and the share of reference rows whose value is
    gone (an event's probability can differ by no more than the distance).
    """
    ref_p = _category_probabilities(ref)
    cur_p = _category_probabilities(cur)
    keys = ref_p.keys() | cur_p.keys()
    total = sum(abs(ref_p.get(key, 0.0) - cur_p.get(key, 0.0)) for key in keys)
    buckets = min(max(total / 2.0, 0.0), 1.0)
    new = _unseen_share(ref, cur)
    gone = _unseen_share(cur, ref)
    return float(min(max(buckets, new, gone), 1.0)), new


def _unseen_share(ref: CategoricalColumn, cur: CategoricalColumn) -> float:
    """The share of ``cur``'s rows whose value ``ref`` never holds (estimated, see Notes).

    A listed value's status is exact when ``ref`` lists it, or lists every value. The rest (the
    current "other" rows, and listed values ``ref`` may hold in its own "other" bucket) count
    with the share of ``cur``'s distinct unlisted values that are not among ``ref``'s, read on
    the two bottom-k hash sketches below their common threshold.
    """
    if cur.n_rows == 0:
        return 0.0
    known_new, unknown = 0, cur.n_other
    seen = ref.counts
    for value, count in cur.top:
        if value in seen:
            continue
        if ref.n_other == 0:
            known_new += count
        else:
            unknown += count
    rate = _new_rate(ref, cur) if unknown else 0.0
    return float(min((known_new + unknown * rate) / cur.n_rows, 1.0))


def _new_rate(ref: CategoricalColumn, cur: CategoricalColumn) -> float:
    """Share of ``cur``'s distinct values outside its top list that ``ref`` does not hold."""
    ref_hashes = _distinct_hashes(ref)
    cur_hashes = _distinct_hashes(cur)
    if ref_hashes is None or cur_hashes is None:
        return 0.0  # unknown (an old fingerprint): count nothing rather than guess
    limit = np.uint64(np.iinfo(np.uint64).max)
    if ref_hashes.shape[0] >= DISTINCT_K:
        limit = min(limit, ref_hashes[-1])
    if cur_hashes.shape[0] >= DISTINCT_K:
        limit = min(limit, cur_hashes[-1])
    listed = _listed_hashes(tuple(value for value, _ in cur.top))
    sample = np.setdiff1d(cur_hashes[cur_hashes <= limit], listed, assume_unique=True)
    if sample.shape[0] == 0:
        return 0.0
    held = np.isin(sample, ref_hashes[ref_hashes <= limit], assume_unique=True)
    return float(np.count_nonzero(~held) / sample.shape[0])


def _identifier_like(column: CategoricalColumn) -> float | None:
    """The estimated number of distinct values when they are nearly all distinct, else None."""
    present = column.n_rows - column.n_missing
    distinct = column.n_distinct
    if distinct is None or present < ID_MIN_ROWS or distinct < ID_SHARE * present:
        return None
    return min(distinct, float(present))


def _category_probabilities(column: CategoricalColumn) -> dict[tuple[str, str], float]:
    n = column.n_rows
    out = {("value", value): count / n for value, count in column.top}
    out[("other", "")] = column.n_other / n
    out[("missing", "")] = column.n_missing / n
    return out


def _schema_changes(
    reference: DataFingerprint | Mapping[str, Column],
    current: DataFingerprint | Mapping[str, Column],
    *,
    other: str,
    this: str,
) -> dict[str, str]:
    """Column name to the problem, for columns missing on a side or of another type."""
    ref = reference.columns if isinstance(reference, DataFingerprint) else reference
    cur = current.columns if isinstance(current, DataFingerprint) else current
    changes: dict[str, str] = {}
    for name, column in ref.items():
        if name not in cur:
            changes[name] = f"missing from {other}"
            continue
        change = _type_change(column, cur[name])
        if change:
            changes[name] = change
    for name in cur:
        if name not in ref:
            changes[name] = f"not in {this}"
    return changes


def _type_change(a: Column, b: Column) -> str | None:
    ta, tb = ColumnType(a.kind, a.dtype), ColumnType(b.kind, b.dtype)
    if ta.kind != tb.kind:
        return f"type changed: {ta.kind} -> {tb.kind}"
    if ta.family != tb.family:
        return f"type changed: {ta.dtype} -> {tb.dtype}"
    return None


def _mismatch_message(headline: str, changes: Mapping[str, str]) -> str:
    return f"{headline}: " + "; ".join(f"column {name!r} {text}" for name, text in changes.items())


# ---------------------------------------------------------------------------------- building
def _frame_columns(df: pd.DataFrame, capacity: int) -> dict[str, Column]:
    """Summaries of one batch: exact ranks for the sketches, up to ``capacity`` categories."""
    out: dict[str, Column] = {}
    for position in range(df.shape[1]):
        name = str(df.columns[position])
        series = df.iloc[:, position]
        dtype = series.dtype
        if _kind_of(name, dtype) == "numeric":
            out[name] = _numeric_leaf(series)
        elif (numbers := _object_numbers(series)) is not None:
            out[name] = _numeric_summary(numbers, str(dtype))
        else:
            out[name] = _categorical_leaf(series, capacity, name)
    return out


_NUMBER_OBJECTS = frozenset({"decimal", "integer", "floating", "mixed-integer-float"})


def _object_numbers(series: pd.Series) -> np.ndarray | None:
    """Float64 values (NaN for missing) of an ``object`` column that holds only numbers, else
    None.

    Such a column is what pandas gives for ``decimal.Decimal`` values (and for a Parquet or Arrow
    ``decimal128``/``decimal256`` column read through ``to_pandas()``), and for integers beyond
    64 bits (a CSV of ``decimal(38, 0)`` values): they are numbers, not categories. Their values
    are rounded to float64 for the sketch (15-17 significant digits, the precision of every
    other numeric column); a magnitude beyond float64 (above about 1.8e308) becomes an infinite
    value, counted apart. ``bool`` values are not numbers here (a bool column is categorical).
    """
    if series.dtype != object:
        return None
    kind = pd.api.types.infer_dtype(series, skipna=True)
    values = series.to_numpy()
    missing = pd.isna(values)
    present = values[~missing]
    mixed = kind in ("mixed-integer", "mixed")
    if kind not in _NUMBER_OBJECTS and not (mixed and all(map(_is_number, present))):
        return None
    if present.shape[0] == 0:
        return None
    out = np.full(values.shape[0], np.nan)
    out[~missing] = [_to_float(v) for v in present]
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _to_float(value: Any) -> float:
    """``float(value)``, with an integer beyond float64 as an infinity (``float`` would raise)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _kind_of(name: str, dtype: Any) -> str:
    types = pd.api.types
    if types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    if types.is_complex_dtype(dtype):
        raise InvalidInputError(
            f"column {name!r} has dtype {dtype}, which cannot be fingerprinted; allowed: "
            "integer, float, datetime, timedelta, bool, string, object and category columns"
        )
    if (
        types.is_numeric_dtype(dtype)
        or types.is_datetime64_any_dtype(dtype)
        or types.is_timedelta64_dtype(dtype)
        or _arrow_temporal_unit(dtype) is not None
    ):
        return "numeric"
    return "categorical"


_SECONDS_PER_UNIT = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


def _arrow_temporal_unit(dtype: Any) -> float | None:
    """Seconds per stored integer for pyarrow dates, timestamps and durations, else ``None``."""
    if not isinstance(dtype, pd.ArrowDtype):
        return None
    import pyarrow as pa

    arrow = dtype.pyarrow_dtype
    if pa.types.is_date32(arrow):
        return 86_400.0
    if pa.types.is_date64(arrow):
        return 1e-3
    if pa.types.is_timestamp(arrow) or pa.types.is_duration(arrow):
        return _SECONDS_PER_UNIT[arrow.unit]
    return None


def _as_float(series: pd.Series) -> np.ndarray:
    """Float64 values with NaN for missing; datetimes as epoch seconds, timedeltas as seconds."""
    dtype = series.dtype
    types = pd.api.types
    unit = _arrow_temporal_unit(dtype)
    if unit is not None:
        import pyarrow as pa

        array = pa.array(series)
        integers = pa.int32() if pa.types.is_date32(array.type) else pa.int64()
        ticks = array.cast(integers).cast(pa.float64())  # nulls become NaN below
        return ticks.to_numpy(zero_copy_only=False) * unit
    if types.is_datetime64_any_dtype(dtype):
        if getattr(dtype, "tz", None) is not None:
            series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        values = series.to_numpy()
        unit = np.datetime_data(values.dtype)[0]
        return (values - np.datetime64(0, unit)) / np.timedelta64(1, "s")
    if types.is_timedelta64_dtype(dtype):
        return series.to_numpy() / np.timedelta64(1, "s")
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        if pa.types.is_decimal(dtype.pyarrow_dtype):  # in Arrow, never through Python Decimals
            return _decimal_floats(pa.array(series))
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


def _decimal_floats(array: Any) -> np.ndarray:
    """Float64 values (NaN for nulls) of an Arrow decimal array (``decimal32`` to ``decimal256``).

    Each value is rounded to the nearest float64, as ``float(decimal.Decimal)`` rounds it, so the
    pandas, file and Spark paths give the same numbers: through its exact decimal text (Arrow's
    direct decimal-to-float cast scales in floating point and is off by one unit in the last
    place for about one value in ten). ``decimal(38, s)`` values (at most 1e38) and
    ``decimal256`` ones (at most 1e76) are far inside float64's range, so nothing overflows.
    """
    import pyarrow as pa

    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array.cast(pa.string()).cast(pa.float64()).to_numpy(zero_copy_only=False)


def _numeric_leaf(series: pd.Series) -> NumericColumn:
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        return _numeric_summary(series.to_numpy(), str(dtype))  # no copy, no float detour
    return _numeric_summary(_as_float(series), str(dtype))


def _numeric_summary(values: np.ndarray, dtype: str) -> NumericColumn:
    """The summary of one batch of a numeric column: integers, or floats with NaN for missing.

    Integral values within a range of :data:`_MAX_BINS` are counted (``np.bincount``, linear
    time) into a :class:`_Tally` that later batches add to; other values are sorted into a
    sketch. Both keep exact ranks.
    """
    n = values.shape[0]
    if values.dtype.kind in "iu":
        finite, n_missing = values, 0
    else:
        values = values.astype(np.float64, copy=False)
        usable = np.isfinite(values)
        finite = values if usable.all() else values[usable]
        n_missing = 0 if finite is values else int(np.count_nonzero(np.isnan(values)))
    n_inf = n - n_missing - finite.shape[0]
    if finite.shape[0] == 0:
        return NumericColumn(dtype, n_missing, n_inf, None, None, QuantileSketch.empty())
    tally = _Tally.of(finite)
    if tally is not None:
        return _Counted(dtype, n_missing, n_inf, None, None, _EMPTY, tally)
    ordered = np.sort(finite.astype(np.float64, copy=False))
    mean, std = _moments(ordered)
    sketch = QuantileSketch.from_sorted(ordered, STREAM_EPS / 2)
    return NumericColumn(dtype, n_missing, n_inf, mean, std, sketch)


_EMPTY = QuantileSketch.empty()  # immutable, so one instance serves every empty summary
#: Integral values spanning at most this many consecutive integers are counted, not sorted.
_MAX_BINS = 1 << 16
_EXACT_INTEGERS = 2**53


@dataclass(frozen=True)
class _Tally:
    """Exact counts of the integers ``low, low + 1, ...``: a streaming part, never stored."""

    low: int
    counts: np.ndarray
    n: int

    @classmethod
    def of(cls, finite: np.ndarray) -> _Tally | None:
        """The tally of finite values, or ``None`` unless they are integers in a narrow range."""
        low, high = finite.min(), finite.max()
        if finite.dtype.kind == "f":
            low_int, high_int = math.floor(low), math.ceil(high)
        else:
            low_int, high_int = int(low), int(high)
        if high_int - low_int >= _MAX_BINS or max(-low_int, high_int) >= _EXACT_INTEGERS:
            return None
        if finite.dtype.kind == "f":
            integers = finite.astype(np.int64)
            if not np.array_equal(integers, finite):
                return None
        else:
            integers = finite if finite.dtype != np.uint64 else finite.astype(np.int64)
        if low_int == 0 and high_int <= 1:  # flags: one pass, no allocation
            ones = np.count_nonzero(integers)
            counts = np.array([integers.shape[0] - ones, ones], dtype=np.int64)
        elif low_int >= 0 and high_int < _MAX_BINS:  # the zeros below the minimum are cut off
            counts = np.bincount(integers)[low_int:]
        else:
            counts = np.bincount(integers.astype(np.int64, copy=False) - low_int)
        return cls(low_int, counts.astype(np.int64, copy=False), int(finite.shape[0]))

    @property
    def high(self) -> int:
        return self.low + self.counts.shape[0] - 1

    def add(self, other: _Tally) -> _Tally | None:
        """The tally of both, or ``None`` when together they span more than ``_MAX_BINS``."""
        low, high = min(self.low, other.low), max(self.high, other.high)
        if high - low >= _MAX_BINS:
            return None
        if (low, high) == (self.low, self.high):  # the common case: a new array, no zeros
            counts = self.counts.copy()
            counts[other.low - low : other.high - low + 1] += other.counts
            return _Tally(low, counts, self.n + other.n)
        counts = np.zeros(high - low + 1, dtype=np.int64)
        for part in (self, other):
            counts[part.low - low : part.high - low + 1] += part.counts
        return _Tally(low, counts, self.n + other.n)

    def column(self, dtype: str) -> NumericColumn:
        """The counted values as a summary: an exact sketch (pruned when long) and moments."""
        offsets = np.flatnonzero(self.counts)
        counts = self.counts[offsets]
        centre = float(np.dot(counts, offsets)) / self.n
        spread = float(np.dot(counts, np.square(offsets - centre))) / self.n
        sketch = QuantileSketch.from_counts(offsets + float(self.low), counts)
        if len(sketch) > _STREAM_ITEMS:
            sketch = sketch.prune(STREAM_EPS / 2)
        return NumericColumn(dtype, 0, 0, self.low + centre, math.sqrt(spread), sketch)


@dataclass(frozen=True)
class _Counted(NumericColumn):
    """A streaming numeric summary: sorted values in ``sketch`` (their moments in ``mean`` and
    ``std``) and counted ones in ``tally``. :func:`_settled` folds the tally in."""

    tally: _Tally | None = field(default=None, repr=False)

    @property
    def n_rows(self) -> int:
        return self.n_missing + self.n_inf + self.n_finite

    @property
    def n_finite(self) -> int:
        return self.sketch.n + (self.tally.n if self.tally is not None else 0)


def _sorted_part(column: NumericColumn) -> NumericColumn:
    """A summary without its tally (the values that were sorted)."""
    if not isinstance(column, _Counted):
        return column
    return NumericColumn(
        column.dtype, column.n_missing, column.n_inf, column.mean, column.std, column.sketch
    )


def _settled(column: NumericColumn) -> NumericColumn:
    """A plain summary of all the values: the tally, if any, merged into the sketch."""
    plain = _sorted_part(column)
    if not isinstance(column, _Counted) or column.tally is None:
        return plain
    counted = column.tally.column(column.dtype)
    return _merge_columns(plain, counted, eps=STREAM_EPS, capacity=0, misra_gries=True)


def _merge_counted(a: NumericColumn, b: NumericColumn, dtype: str, eps: float) -> NumericColumn:
    """Merge two streaming summaries of which at least one holds a tally: tallies add up."""
    ta = a.tally if isinstance(a, _Counted) else None
    tb = b.tally if isinstance(b, _Counted) else None
    tally = ta if tb is None else tb if ta is None else ta.add(tb)
    if tally is None and ta is not None and tb is not None:  # too far apart: sort them in
        a, b = _settled(a), _settled(b)
        return _merge_columns(a, b, eps=eps, capacity=0, misra_gries=True)
    if a.sketch.n == 0 and b.sketch.n == 0:  # only counted values so far: nothing to combine
        return _Counted(
            dtype, a.n_missing + b.n_missing, a.n_inf + b.n_inf, None, None, _EMPTY, tally
        )
    plain = _merge_columns(_sorted_part(a), _sorted_part(b), eps=eps, capacity=0, misra_gries=True)
    return _Counted(dtype, plain.n_missing, plain.n_inf, plain.mean, plain.std, plain.sketch, tally)


def _moments(x: np.ndarray) -> tuple[float | None, float | None]:
    if x.shape[0] == 0:
        return None, None
    with np.errstate(over="ignore", invalid="ignore"):
        mean = float(np.mean(x))
        std = float(np.std(x)) if math.isfinite(mean) else math.nan
    return _finite_or_none(mean), _finite_or_none(std)


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _categorical_leaf(series: pd.Series, capacity: int, name: str = "") -> CategoricalColumn:
    dtype = str(series.dtype)
    if isinstance(series.dtype, pd.ArrowDtype) and _is_nested_arrow(series.dtype):
        series = series.astype(object)  # lists, structs: their Python values, compared as text
    missing = series.isna()
    n_missing = int(missing.sum())
    try:
        counts = series.value_counts(dropna=True, sort=False)
    except TypeError:  # unhashable values such as lists and arrays: compare their text
        counts = series[~missing].map(lambda value: _key(value, name)).value_counts(sort=False)
    counts = counts[counts.to_numpy() > 0]  # a category dtype lists its unused categories
    keys = [_key(value, name) for value in counts.index.tolist()]
    merged: dict[str, int] = {}
    for key, count in zip(keys, counts.to_numpy().tolist(), strict=True):
        merged[key] = merged.get(key, 0) + int(count)  # 1 and "1" become one category
    hashes = None
    if len(merged) > capacity:  # Misra–Gries in numpy first, so that ids stay cheap
        hashes = _bottom_k(_hash_keys(list(merged)))
        array = np.fromiter(merged.values(), dtype=np.int64, count=len(merged))
        cut = int(np.partition(array, len(array) - capacity - 1)[len(array) - capacity - 1])
        merged = {key: count - cut for key, count in merged.items() if count > cut}
    top, _ = _reduce_counts(merged, capacity, misra_gries=True)
    n_other = len(series) - n_missing - sum(count for _, count in top)
    distinct = _as_tuple(hashes) if n_other else None
    return CategoricalColumn(dtype, n_missing, n_other, top, distinct)


def _is_nested_arrow(dtype: pd.ArrowDtype) -> bool:
    import pyarrow as pa

    return pa.types.is_nested(dtype.pyarrow_dtype)


def _key(value: Any, name: str = "") -> str:
    """The text a value is compared as: ``str`` for scalars; for lists, tuples, arrays, sets
    and dicts a canonical text, the same whatever the container (a list and the Parquet array
    it was saved as are one value)."""
    if isinstance(value, str):
        return value
    if not isinstance(value, list | tuple | np.ndarray | dict | set | frozenset):
        return str(value)
    try:
        return repr(_plain(value))
    except RecursionError:
        raise InvalidInputError(
            f"column {_shown(name, 80)} holds values nested too deeply to compare; flatten them"
        ) from None


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return [_plain(item) for item in value.tolist()]
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, set | frozenset):
        return sorted((_plain(item) for item in value), key=repr)
    if isinstance(value, np.generic):
        return value.item()
    return value


def _hash_keys(keys: list[str]) -> np.ndarray:
    """Stable 64-bit hashes of texts: pandas' SipHash-2-4 with its fixed key, the same in every
    process and on every machine (Python's own ``hash`` of a str is salted per process)."""
    if not keys:
        return np.empty(0, dtype=np.uint64)
    return pd.util.hash_array(np.asarray(keys, dtype=object), categorize=False)


def _bottom_k(hashes: np.ndarray) -> np.ndarray:
    unique = np.unique(hashes)
    return unique[:DISTINCT_K]


def _as_tuple(hashes: np.ndarray | None) -> tuple[int, ...] | None:
    return None if hashes is None else tuple(int(h) for h in hashes)


@functools.lru_cache(maxsize=4096)
def _listed_hashes(keys: tuple[str, ...]) -> np.ndarray:
    return _bottom_k(_hash_keys(list(keys)))


def _distinct_hashes(column: CategoricalColumn) -> np.ndarray | None:
    """The column's bottom-k hashes: stored, or (every value listed) of its listed values."""
    if column.distinct is not None:
        return np.asarray(column.distinct, dtype=np.uint64)
    if column.n_other == 0:
        return _listed_hashes(tuple(value for value, _ in column.top))
    return None


def _reduce_counts(
    counts: dict[str, int], capacity: int, *, misra_gries: bool
) -> tuple[tuple[tuple[str, int], ...], int]:
    """Keep at most ``capacity`` values; return them sorted and the count left to "other".

    With ``misra_gries`` the ``capacity + 1``-th largest count is subtracted from every count
    first, which bounds the error of every count after any sequence of merges by
    ``n / (capacity + 1)``; without it the largest counts are kept as they are.
    """
    items = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    total = sum(count for _, count in items)
    if len(items) > capacity:
        if misra_gries:
            cut = items[capacity][1]
            items = [(value, count - cut) for value, count in items[:capacity] if count > cut]
        else:
            items = items[:capacity]
    kept = tuple(items)
    return kept, total - sum(count for _, count in kept)


def _finish(column: Column, top_k: int) -> Column:
    """Bring a streaming summary to the stored precision."""
    if isinstance(column, NumericColumn):
        column = _settled(column)
        return NumericColumn(
            column.dtype,
            column.n_missing,
            column.n_inf,
            column.mean,
            column.std,
            column.sketch.prune(STORED_EPS),
        )
    top = column.top[:top_k]
    other = column.n_other + sum(count for _, count in column.top[top_k:])
    distinct = column.distinct
    if other and distinct is None:  # the listed values were all the values
        distinct = _as_tuple(_distinct_hashes(column))
    return CategoricalColumn(column.dtype, column.n_missing, other, top, distinct)


class _Stream:
    """The state of a streaming fingerprint: column summaries at the streaming precision.

    Two streams over disjoint rows :meth:`absorb` one another, so parts of a table (row groups
    of a file, partitions) can be streamed apart, in threads or processes, and combined before
    :meth:`finish` brings the result to the stored precision.
    """

    def __init__(self, top_k: int) -> None:
        self.top_k = int(top_k)
        self.capacity = max(_MIN_CAPACITY, _CAPACITY_PER_TOP * self.top_k)
        self.n_rows = 0
        self.batches = 0
        self.state: dict[str, Column] | None = None

    def add(self, batch: pd.DataFrame | Any) -> None:
        """Summarise one batch (a DataFrame or a pyarrow RecordBatch) into the state."""
        index = self.batches
        self.batches += 1
        if _is_record_batch(batch):
            if batch.num_rows == 0:
                return
            _check_names([str(name) for name in batch.schema.names], f"batch {index}")
            part, rows = _arrow_columns(batch, self.capacity), batch.num_rows
        else:
            _check_frame(batch, f"batch {index}")
            if len(batch) == 0:
                return
            part, rows = _frame_columns(batch, self.capacity), len(batch)
        self._merge(part, f"batch {index}")
        self.n_rows += rows

    def absorb(self, other: _Stream) -> None:
        """Add the summaries of another stream over other rows (in file order: ``self`` first)."""
        if other.state is None:
            return
        self._merge(other.state, "a later part")
        self.n_rows += other.n_rows

    def _merge(self, part: dict[str, Column], label: str) -> None:
        if self.state is None:
            self.state = part
            return
        self.state = _merge_column_maps(
            self.state,
            part,
            eps=STREAM_EPS,
            capacity=self.capacity,
            misra_gries=True,
            what=f"{label} does not match the columns of the earlier batches",
            other=label,
            this="the earlier batches",
        )

    def finish(self) -> DataFingerprint:
        """The fingerprint at the stored precision."""
        if self.state is None:
            raise InvalidInputError("batches must hold at least one row in total, got 0 rows")
        columns = {name: _finish(column, self.top_k) for name, column in self.state.items()}
        return DataFingerprint(n_rows=self.n_rows, columns=columns, top_k=self.top_k)


def _is_record_batch(value: Any) -> bool:
    pa = _pyarrow()
    return pa is not None and isinstance(value, pa.RecordBatch)


@functools.cache
def _pyarrow() -> Any:
    try:
        import pyarrow
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        return None
    return pyarrow


def _arrow_columns(batch: Any, capacity: int) -> dict[str, Column]:
    """Summaries of one RecordBatch: integer and float columns straight from Arrow into numpy
    (no pandas), the others through ``to_pandas()`` as :func:`_frame_columns` reads them."""
    pa = _pyarrow()
    plan = _arrow_plan(batch.schema)
    out: dict[str, Column] = {}
    others: list[int] = []
    for position, dtype in enumerate(plan):
        if dtype is None:
            others.append(position)
        elif dtype:
            array = batch.column(position)
            if pa.types.is_decimal(array.type):  # a number, as pandas' ArrowDtype column is
                values = _decimal_floats(array)
            else:
                if array.null_count and pa.types.is_integer(array.type):
                    dtype = "float64"  # as to_pandas() gives an integer column with nulls
                values = array.to_numpy(zero_copy_only=False)
            out[str(batch.schema.names[position])] = _numeric_summary(values, dtype)
    if not others:
        return out
    rest = _frame_columns(batch.select(others).to_pandas(), capacity)
    order = [str(name) for name in batch.schema.names]
    merged = {**out, **rest}
    return {name: merged[name] for name in order if name in merged} | merged


@functools.lru_cache(maxsize=64)
def _arrow_plan(schema: Any) -> tuple[str | None, ...]:
    """Per field of an Arrow schema: the pandas dtype of a column read straight into numpy,
    ``None`` for one read through pandas, ``""`` for an index column pandas would not show."""
    pa = _pyarrow()
    metadata = schema.pandas_metadata or {}
    hidden = {name for name in metadata.get("index_columns", []) if isinstance(name, str)}
    dtypes = schema.empty_table().to_pandas().dtypes
    plan: list[str | None] = []
    for column in schema:
        if column.name in hidden:
            plan.append("")
            continue
        unique = list(schema.names).count(column.name) == 1
        dtype = dtypes[column.name] if unique and column.name in dtypes.index else None
        kind = column.type
        if pa.types.is_decimal(kind):  # read in Arrow, named as pandas names an Arrow decimal
            plan.append(str(pd.ArrowDtype(kind)))
            continue
        direct = (
            (pa.types.is_integer(kind) or pa.types.is_float32(kind) or pa.types.is_float64(kind))
            and isinstance(dtype, np.dtype)
            and dtype.kind in "iuf"
        )
        plan.append(str(dtype) if direct else None)
    return tuple(plan)


# ---------------------------------------------------------------------------------- merging
def _merge_column_maps(
    a: dict[str, Column],
    b: dict[str, Column],
    *,
    eps: float,
    capacity: int,
    misra_gries: bool,
    what: str,
    other: str,
    this: str,
) -> dict[str, Column]:
    changes = _schema_changes(a, b, other=other, this=this)
    for name in list(changes):
        # A column with no observed value carries no type evidence: it takes the other's type.
        if name in a and name in b and (_is_empty(a[name]) or _is_empty(b[name])):
            del changes[name]
    if changes:
        raise SchemaMismatchError(_mismatch_message(what, changes), columns=changes)
    return {
        name: _merge_columns(a[name], b[name], eps=eps, capacity=capacity, misra_gries=misra_gries)
        for name in a
    }


def _is_empty(column: Column) -> bool:
    """True when a column summary holds only missing values."""
    return column.n_rows == column.n_missing


def _merge_columns(a: Column, b: Column, *, eps: float, capacity: int, misra_gries: bool) -> Column:
    if a.kind != b.kind or ColumnType(a.kind, a.dtype).family != ColumnType(b.kind, b.dtype).family:
        # Only reachable when a side is all missing: it takes the other side's type. When both
        # are, categorical wins as in pandas.concat, then the smaller dtype name (any order).
        full, empty = sorted(
            (a, b),
            key=lambda column: (_is_empty(column), column.kind != "categorical", column.dtype),
        )
        return _with_missing(full, empty.n_missing)
    dtype = _common_dtype(a.kind, a.dtype, b.dtype)
    if isinstance(a, _Counted) or isinstance(b, _Counted):
        assert isinstance(a, NumericColumn)
        assert isinstance(b, NumericColumn)
        return _merge_counted(a, b, dtype, eps)
    if isinstance(a, NumericColumn) and isinstance(b, NumericColumn):
        mean, std = _merge_moments(a, b)
        return NumericColumn(
            dtype,
            a.n_missing + b.n_missing,
            a.n_inf + b.n_inf,
            mean,
            std,
            _combined(a.sketch, b.sketch, eps=eps, streaming=misra_gries),
        )
    assert isinstance(a, CategoricalColumn)
    assert isinstance(b, CategoricalColumn)
    counts = dict(a.top)
    for value, count in b.top:
        counts[value] = counts.get(value, 0) + count
    top, dropped = _reduce_counts(counts, capacity, misra_gries=misra_gries)
    n_other = a.n_other + b.n_other + dropped
    distinct = None
    if n_other:
        ha, hb = _distinct_hashes(a), _distinct_hashes(b)
        if ha is not None and hb is not None:
            distinct = _as_tuple(_bottom_k(np.concatenate((ha, hb))))
    return CategoricalColumn(dtype, a.n_missing + b.n_missing, n_other, top, distinct)


def _combined(
    a: QuantileSketch, b: QuantileSketch, *, eps: float, streaming: bool
) -> QuantileSketch:
    """The union of two sketches: pruned to ``eps`` when merging fingerprints, and while
    streaming only once it holds more than :data:`_STREAM_ITEMS` values (so a column with few
    distinct values stays exact, and a large one costs one prune per few batches)."""
    both = a.combine(b)
    if streaming and len(both) <= _STREAM_ITEMS:
        return both
    return both.prune(eps)


def _with_missing(column: Column, extra: int) -> Column:
    if isinstance(column, _Counted):
        return replace(column, n_missing=column.n_missing + extra)
    if isinstance(column, NumericColumn):
        return NumericColumn(
            column.dtype,
            column.n_missing + extra,
            column.n_inf,
            column.mean,
            column.std,
            column.sketch,
        )
    return CategoricalColumn(
        column.dtype, column.n_missing + extra, column.n_other, column.top, column.distinct
    )


def _common_dtype(kind: str, a: str, b: str) -> str:
    """The dtype ``pandas.concat`` gives two columns of these dtypes, if it keeps their type.

    Otherwise (e.g. numpy and pyarrow datetimes concatenate to ``object``) the smaller name, so
    that the result is the same in either order.
    """
    if a == b:
        return a
    try:
        common = str(pd.concat([pd.Series([], dtype=a), pd.Series([], dtype=b)]).dtype)
    except (TypeError, ValueError):
        return min(a, b)
    if kind == "numeric" and (
        common == "object" or ColumnType(kind, common).family != ColumnType(kind, a).family
    ):
        return min(a, b)
    return common


def _merge_moments(a: NumericColumn, b: NumericColumn) -> tuple[float | None, float | None]:
    na, nb = a.n_finite, b.n_finite
    if nb == 0:
        return a.mean, a.std
    if na == 0:
        return b.mean, b.std
    if a.mean is None or b.mean is None or a.std is None or b.std is None:
        return None, None
    n = na + nb
    with np.errstate(over="ignore", invalid="ignore"):
        delta = b.mean - a.mean
        mean = a.mean + delta * (nb / n)
        # Scaled so that squaring values near the float limit cannot overflow.
        scale = max(abs(a.std), abs(b.std), abs(delta))
        if not math.isfinite(scale):
            return _finite_or_none(mean), None
        if scale == 0:
            return _finite_or_none(mean), 0.0
        sa, sb, d = a.std / scale, b.std / scale, delta / scale
        std = scale * math.sqrt((sa * sa * na + sb * sb * nb + d * d * (na * nb / n)) / n)
    return _finite_or_none(mean), _finite_or_none(std)


# ---------------------------------------------------------------------------------- (de)serialising
def _column_to_dict(name: str, column: Column, *, compress: bool) -> dict[str, Any]:
    head = {"name": name, "kind": column.kind, "dtype": column.dtype}
    if isinstance(column, NumericColumn):
        sketch = column.sketch
        return {
            **head,
            "n_missing": column.n_missing,
            "n_inf": column.n_inf,
            "n_finite": sketch.n,
            "mean": column.mean,
            "std": column.std,
            "min": column.min,
            "max": column.max,
            "sketch": sketch.encode(compress=compress),
        }
    out = {
        **head,
        "n_missing": column.n_missing,
        "n_other": column.n_other,
        "values": [value for value, _ in column.top],
        "counts": [count for _, count in column.top],
    }
    if column.distinct is not None:
        hashes = np.asarray(column.distinct, dtype="<u8")
        out["distinct"] = (
            pack(hashes) if compress else base64.b64encode(hashes.tobytes()).decode("ascii")
        )
    return out


def _column_from_dict(entry: Any, position: int) -> tuple[str, Column]:
    where = f"column entry {position}"
    if not isinstance(entry, Mapping):
        raise InvalidInputError(f"{where} must be a JSON object, got {type(entry).__name__}")
    name = _get(entry, "name", str, where)
    where = f"column {_shown(name, 80)}"
    kind = _get(entry, "kind", str, where)
    dtype = _get(entry, "dtype", str, where)
    n_missing = _get(entry, "n_missing", int, where)
    if kind == "numeric":
        n_inf = _get(entry, "n_inf", int, where)
        n_finite = _get(entry, "n_finite", int, where)
        mean = _get(entry, "mean", float, where, optional=True)
        std = _get(entry, "std", float, where, optional=True)
        low = _get(entry, "min", float, where, optional=True)
        high = _get(entry, "max", float, where, optional=True)
        encoded = _get(entry, "sketch", Mapping, where)
        try:
            sketch = QuantileSketch.decode(encoded, n_finite)
        except (KeyError, ValueError, TypeError) as exc:
            raise InvalidInputError(f"{where} has an unreadable sketch: {exc}") from exc
        if (low, high) != (sketch.minimum, sketch.maximum):
            raise InvalidInputError(
                f"{where} states min/max {low!r}/{high!r} but its sketch spans "
                f"{sketch.minimum!r}/{sketch.maximum!r}"
            )
        return name, NumericColumn(dtype, n_missing, n_inf, mean, std, sketch)
    if kind == "categorical":
        n_other = _get(entry, "n_other", int, where)
        values = _get(entry, "values", list, where)
        counts = _get(entry, "counts", list, where)
        if len(values) != len(counts):
            raise InvalidInputError(
                f"{where} lists {len(values)} values but {len(counts)} counts; they must pair up"
            )
        if not all(isinstance(value, str) for value in values):
            raise InvalidInputError(f"{where} values must all be strings")
        if not all(_is_int(count) and 1 <= count <= MAX_COUNT for count in counts):
            shown = str(counts[:5])[:80]
            raise InvalidInputError(
                f"{where} counts must all be integers in [1, 2**53], got {shown}..."
            )
        if len(set(values)) != len(values):
            raise InvalidInputError(f"{where} lists a value twice")
        top = tuple(sorted(zip(values, counts, strict=True), key=lambda item: (-item[1], item[0])))
        distinct = None
        if entry.get("distinct") is not None:
            try:
                hashes = unpack(entry["distinct"], "<u8", DISTINCT_K)
            except ValueError as exc:
                raise InvalidInputError(
                    f"{where} has an unreadable distinct sketch: {exc}"
                ) from exc
            if not np.all(hashes[1:] > hashes[:-1]):
                raise InvalidInputError(f"{where}: distinct hashes must be strictly increasing")
            distinct = tuple(int(h) for h in hashes)
        return name, CategoricalColumn(dtype, n_missing, n_other, top, distinct)
    raise InvalidInputError(f"{where} has kind {_shown(kind)}; allowed: {list(KINDS)}")


def _shown(value: Any, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters: a hostile value can be megabytes long."""
    if isinstance(value, int) and value.bit_length() > 64:
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _is_int(value: Any) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


_SCAN_CHUNK = 1 << 20
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


def _check_json_shape(raw: bytes) -> None:
    """Refuse a document too large, too deep or with too many objects, before parsing it.

    The brackets outside strings are counted with numpy, so a document nested a million deep
    (which would exhaust the parser's recursion) or holding millions of tiny objects (which would
    take gigabytes as Python objects) is refused in one pass over its bytes.
    """
    if len(raw) > MAX_JSON_BYTES:
        raise InvalidInputError(
            f"a fingerprint JSON of {len(raw):,} bytes is larger than the {MAX_JSON_BYTES:,} "
            f"bytes one may have"
        )
    skeleton = np.frombuffer(_JSON_STRING.sub(b'""', raw), dtype=np.uint8)
    depth, level, containers = 0, 0, 0
    for start in range(0, skeleton.shape[0], _SCAN_CHUNK):  # a few MB at a time
        part = skeleton[start : start + _SCAN_CHUNK]
        opens = (part == ord("[")) | (part == ord("{"))
        closes = (part == ord("]")) | (part == ord("}"))
        levels = level + np.cumsum(opens.view(np.int8) - closes.view(np.int8), dtype=np.int64)
        if levels.shape[0]:
            depth, level = max(depth, int(levels.max())), int(levels[-1])
        containers += int(np.count_nonzero(opens))
    if depth > MAX_DEPTH:
        raise InvalidInputError(
            f"a fingerprint JSON is nested {depth} deep, more than the {MAX_DEPTH} levels one "
            f"may have (it has 4)"
        )
    if containers > 2 * MAX_COLUMNS + 2:
        raise InvalidInputError(
            f"a fingerprint JSON holds {containers:,} objects and lists, more than the "
            f"{2 * MAX_COLUMNS + 2:,} of {MAX_COLUMNS:,} columns"
        )


def _get(
    data: Mapping[str, Any], key: str, kind: type, where: str, *, optional: bool = False
) -> Any:
    """``data[key]`` checked against ``kind``; counts (``int``) must also be >= 0."""
    if key not in data:
        raise InvalidInputError(f"{where} is missing the key {key!r}")
    value = data[key]
    if optional and value is None:
        return None
    if kind is int:
        if not _is_int(value) or not 0 <= value <= MAX_COUNT:
            raise InvalidInputError(
                f"{where}: {key} must be an integer in [0, 2**53], got {_shown(value)}"
            )
        return int(value)
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInputError(f"{where}: {key} must be a number, got {_shown(value)}")
        try:
            number = float(value)
        except OverflowError:  # an integer beyond the floats
            number = math.inf
        if not math.isfinite(number):
            raise InvalidInputError(f"{where}: {key} must be finite, got {_shown(value)}")
        return number
    if not isinstance(value, kind):
        raise InvalidInputError(
            f"{where}: {key} must be of type {kind.__name__}, got {type(value).__name__}"
        )
    return value


# ---------------------------------------------------------------------------------- checks
def _check_frame(df: Any, what: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise InvalidInputError(f"{what} must be a pandas DataFrame, got {type(df).__name__}")
    _check_names([str(column) for column in df.columns], what)


def _check_names(columns: list[str], what: str) -> None:
    names = Counter(columns)
    duplicated = sorted(name for name, count in names.items() if count > 1)
    if duplicated:
        raise InvalidInputError(
            f"{what} has duplicate column names {duplicated}; every column needs its own name"
        )


def _check_fingerprint(name: str, value: Any) -> None:
    if not isinstance(value, DataFingerprint):
        raise InvalidInputError(f"{name} must be a DataFingerprint, got {type(value).__name__}")


def _check_count(name: str, value: Any, *, minimum: int) -> None:
    if not _is_int(value) or value < minimum:
        raise InvalidInputError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _check_probabilities(q: Any) -> np.ndarray:
    try:
        probabilities = np.asarray(q, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"q must be a probability or an array of them: {exc}") from exc
    if not np.all((probabilities >= 0.0) & (probabilities <= 1.0)):
        raise InvalidInputError(f"q must lie in [0, 1], got {q!r}")
    return probabilities
