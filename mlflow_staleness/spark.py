"""Fingerprints of Spark DataFrames, computed where the data lives.

:func:`fingerprint_spark` runs one streaming summary per partition on the executors
(``mapInArrow``: Arrow record batches, read straight into numpy as in
:meth:`~mlflow_staleness.fingerprint.DataFingerprint.from_batches`), sends each partition's
summary (a few kB per column, never a row) to the driver, and merges them there in partition
order. The result equals the fingerprint of the same rows as one pandas DataFrame within the
certified rank error (at most 0.005), on any number of partitions.

pyspark is an optional dependency (``pip install "mlflow-staleness[spark]"``); this module imports
it only when a Spark DataFrame is fingerprinted. :func:`is_spark_dataframe` never imports it.

Notes
-----
Supported column types: numbers (byte, short, int, long, float, double, decimal), boolean,
string, date and timestamp. Maps, binary columns, structs and arrays have no comparable
distribution in a fingerprint and are refused by name; drop them, or turn them into text first
(``F.to_json(column)``).
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Iterator
from typing import Any

from mlflow_staleness.exceptions import InvalidInputError
from mlflow_staleness.fingerprint import DataFingerprint, _Stream

__all__ = ["fingerprint_data", "fingerprint_spark", "is_spark_dataframe", "spark_labels_error"]

#: Spark type names (``DataType.typeName()``) a fingerprint cannot summarise.
UNSUPPORTED = ("map", "binary", "struct", "array", "variant", "udt")


def is_spark_dataframe(value: Any) -> bool:
    """True for a pyspark DataFrame (classic or Spark Connect), without importing pyspark.

    Examples
    --------
    >>> import pandas as pd
    >>> is_spark_dataframe(pd.DataFrame({"x": [1]}))
    False
    """
    return any(
        cls.__name__ == "DataFrame" and cls.__module__.startswith("pyspark.sql")
        for cls in type(value).__mro__
    )


def fingerprint_data(data: Any) -> DataFingerprint:
    """The fingerprint of a pandas DataFrame, or of a Spark DataFrame where its data lives.

    The one place where the advisor and ``log_reference`` tell the two apart.

    Examples
    --------
    >>> import pandas as pd
    >>> fingerprint_data(pd.DataFrame({"x": [1.0, 2.0]})).n_rows
    2
    """
    if is_spark_dataframe(data):
        return fingerprint_spark(data)
    return DataFingerprint.from_frame(data)


def spark_labels_error(what: str) -> InvalidInputError:
    """The refusal of labels or predictions with a Spark DataFrame, saying what to do instead."""
    return InvalidInputError(
        f"{what} cannot be measured on a Spark DataFrame here (it would collect its rows to the "
        f"driver); evaluate the served version where the data lives (mlflow.models.evaluate) and "
        f"pass its metrics (metrics=...), or pass a pandas DataFrame"
    )


def fingerprint_spark(df: Any, *, exclude: Iterable[str] = (), top_k: int = 20) -> DataFingerprint:
    """Fingerprint a Spark DataFrame per partition on the executors, merged on the driver.

    Parameters
    ----------
    df
        A ``pyspark.sql.DataFrame`` with at least one row, e.g. ``spark.read.table(...)``.
    exclude
        Columns to leave out (a target, an id); names the frame does not have are ignored.
    top_k
        How many most frequent values each categorical column lists.

    Returns
    -------
    DataFingerprint
        With the rank error certified as for :meth:`DataFingerprint.from_batches`.

    Raises
    ------
    InvalidInputError
        If ``df`` is not a Spark DataFrame, has no rows, keeps no column after ``exclude``, or
        has columns of an unsupported type (named, with their types).
    """
    return _merge_partitions(_partition_summaries(df, exclude, int(top_k)), int(top_k))


def _partition_summaries(
    df: Any, exclude: Iterable[str], top_k: int
) -> list[tuple[int, int, bytes]]:
    """The executors' side: ``(partition, rows, pickled summary)`` per partition."""
    if not is_spark_dataframe(df):
        raise InvalidInputError(
            f"fingerprint_spark needs a pyspark DataFrame, got {type(df).__name__}"
        )
    dropped = {exclude} if isinstance(exclude, str) else set(exclude)
    kept = [field for field in df.schema.fields if field.name not in dropped]
    if not kept:
        raise InvalidInputError(
            f"the Spark DataFrame has only the column(s) {df.columns}, all excluded; expected at "
            f"least one column left: exclude fewer columns"
        )
    refused = [
        f"{field.name!r} ({field.dataType.simpleString()})"
        for field in kept
        if field.dataType.typeName() in UNSUPPORTED
    ]
    if refused:
        raise InvalidInputError(
            f"column(s) {', '.join(refused)} of the Spark DataFrame have a type a fingerprint "
            f"cannot summarise; allowed: numbers, boolean, string, date and timestamp columns: "
            f"drop them, or turn them into text with pyspark.sql.functions.to_json"
        )
    if len(kept) < len(df.schema.fields):
        df = df.select(*[df[field.name] for field in kept])

    def summarise(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa
        from pyspark import TaskContext

        stream = _Stream(top_k)
        for batch in batches:
            stream.add(batch)
        context = TaskContext.get()
        part = context.partitionId() if context is not None else 0
        state = pickle.dumps(stream, protocol=pickle.HIGHEST_PROTOCOL)
        yield pa.RecordBatch.from_pydict(
            {"part": [part], "rows": [stream.n_rows], "state": [state]},
            schema=pa.schema([("part", pa.int64()), ("rows", pa.int64()), ("state", pa.binary())]),
        )

    rows = df.mapInArrow(summarise, "part long, rows long, state binary").collect()
    return [(row["part"], row["rows"], row["state"]) for row in rows]


def _merge_partitions(parts: list[tuple[int, int, bytes]], top_k: int) -> DataFingerprint:
    """The driver's side: the partitions' summaries merged in partition order."""
    parts = sorted(parts)
    if not parts or sum(rows for _, rows, _ in parts) == 0:
        raise InvalidInputError(
            "the Spark DataFrame has no rows; expected at least one row to fingerprint"
        )
    whole = _Stream(top_k)
    for _, _, state in parts:
        # Our own executors' summaries of this job, never data from outside.
        whole.absorb(pickle.loads(state))
    return whole.finish()
