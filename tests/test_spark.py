"""Specification of Spark fingerprints: a real local Spark (``local[2]``), nothing mocked.

Skipped, saying why, where pyspark or a Java runtime is absent (``.ci/run`` installs both).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from registry_helpers import (
    TARGET,
    client_for,
    make_frame,
    register_version,
    unique_name,
    using,
)

from mlflow_staleness import Advisor, CostModel
from mlflow_staleness.adapter import log_reference
from mlflow_staleness.adapter.reading import FINGERPRINT_PATH
from mlflow_staleness.exceptions import InvalidInputError
from mlflow_staleness.fingerprint import CategoricalColumn, DataFingerprint, NumericColumn
from mlflow_staleness.spark import fingerprint_spark, is_spark_dataframe

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed (the 'spark' extra)")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip(
        "no Java runtime (Debian's default-jre-headless) for Spark", allow_module_level=True
    )

PROBABILITIES = np.linspace(0.0, 1.0, 201)
# pyspark 4.3 warns on import of its pandas helpers under pandas 3; the fingerprint goes through
# mapInArrow (Arrow batches, no pandas conversion in Spark), and the tests check the results.
pytestmark = pytest.mark.filterwarnings(
    "ignore:PySpark does not yet fully support pandas >= 3.0.0:FutureWarning"
)


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("mlflow-staleness-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    yield session
    session.stop()


def sample(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    floats = rng.lognormal(0.0, 1.0, n)
    floats[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "amount": floats,
            "age": rng.integers(18, 90, n),
            "clicks": rng.integers(0, 10**7, n),
            "plan": rng.choice(["free", "pro", "team"], n, p=[0.7, 0.2, 0.1]),
            "active": rng.random(n) < 0.3,
        }
    )


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Path]:
    frame = sample(20_000, seed=0)
    path = tmp_path_factory.mktemp("spark") / "table.parquet"
    frame.to_parquet(path, index=False)
    return frame, path


def worst_rank_gap(data: np.ndarray, estimates: np.ndarray, q: np.ndarray) -> float:
    finite = np.sort(data[np.isfinite(data)])
    below = np.searchsorted(finite, estimates, side="left") / finite.shape[0]
    at_or_below = np.searchsorted(finite, estimates, side="right") / finite.shape[0]
    return float(np.max(np.maximum(np.maximum(below - q, q - at_or_below), 0.0)))


def assert_equal_within_certified_error(got: DataFingerprint, frame: pd.DataFrame) -> None:
    expected = DataFingerprint.from_frame(frame)
    assert got.n_rows == expected.n_rows
    assert list(got.columns) == list(expected.columns)
    for name, want in expected.columns.items():
        column = got.columns[name]
        assert column.kind == want.kind, name
        if isinstance(want, NumericColumn):
            assert isinstance(column, NumericColumn)
            assert (column.n_missing, column.n_inf, column.min, column.max) == (
                want.n_missing,
                want.n_inf,
                want.min,
                want.max,
            )
            assert column.mean == pytest.approx(want.mean, rel=1e-9)
            data = frame[name].to_numpy(dtype=float, na_value=np.nan)
            gap = worst_rank_gap(data, column.quantile(PROBABILITIES), PROBABILITIES)
            assert gap <= column.rank_error + 1e-12
            assert column.rank_error <= 0.005
        else:
            assert isinstance(column, CategoricalColumn)
            assert isinstance(want, CategoricalColumn)
            assert (column.counts, column.n_missing, column.n_other) == (
                want.counts,
                want.n_missing,
                want.n_other,
            )


@pytest.mark.parametrize("partitions", [1, 2, 7, 64])
def test_spark_fingerprint_equals_the_pandas_one_within_the_certified_error(
    spark, table: tuple[pd.DataFrame, Path], partitions: int
) -> None:
    frame, path = table
    df = spark.read.parquet(str(path)).repartition(partitions)
    assert df.rdd.getNumPartitions() == partitions
    assert_equal_within_certified_error(fingerprint_spark(df), frame)


def test_spark_fingerprint_leaves_out_excluded_columns(
    spark, table: tuple[pd.DataFrame, Path]
) -> None:
    frame, path = table
    got = fingerprint_spark(spark.read.parquet(str(path)), exclude=["active", "not_there"])
    assert list(got.columns) == ["amount", "age", "clicks", "plan"]
    assert_equal_within_certified_error(got, frame.drop(columns="active"))


def test_spark_fingerprint_with_empty_partitions_counts_only_the_rows(spark) -> None:
    frame = sample(30, seed=1)
    df = spark.createDataFrame(frame.astype({"plan": object})).repartition(16)
    assert fingerprint_spark(df).n_rows == 30


def test_unsupported_spark_columns_are_refused_by_name(spark) -> None:
    df = spark.sql("SELECT 1.0 AS x, map('a', 1) AS m, CAST('ab' AS BINARY) AS b")
    with pytest.raises(InvalidInputError, match=r"'m' \(map<string,int>\), 'b' \(binary\)"):
        fingerprint_spark(df)
    assert list(fingerprint_spark(df, exclude=["m", "b"]).columns) == ["x"]


def test_an_empty_spark_dataframe_is_refused(spark) -> None:
    with pytest.raises(InvalidInputError, match="has no rows"):
        fingerprint_spark(spark.sql("SELECT 1.0 AS x WHERE false"))


def test_a_pandas_frame_is_not_a_spark_dataframe(spark) -> None:
    assert is_spark_dataframe(spark.sql("SELECT 1 AS x"))
    with pytest.raises(InvalidInputError, match="needs a pyspark DataFrame, got DataFrame"):
        fingerprint_spark(pd.DataFrame({"x": [1]}))


# ---------------------------------------------------------------------------------- MLflow
def test_log_reference_takes_a_spark_dataframe_where_it_lives(spark, sqlite_uri: str) -> None:
    frame = make_frame(n=2000, seed=1)
    client = client_for(sqlite_uri)
    experiment = client.create_experiment("spark-reference")
    fingerprints = {}
    for how, data in (("pandas", frame), ("spark", spark.createDataFrame(frame))):
        run_id = client.create_run(experiment).info.run_id
        with using(sqlite_uri):
            fingerprints[how] = log_reference(
                data, target=TARGET, loss=0.1, run_id=run_id, tracking_uri=sqlite_uri
            )
        run = client.get_run(run_id)
        assert run.data.metrics["val_loss"] == 0.1
        assert run.data.tags["staleness.metric"] == "error_rate"  # a 0/1 float label
        logged = client.download_artifacts(run_id, FINGERPRINT_PATH)
        assert DataFingerprint.from_json(Path(logged).read_text()) == fingerprints[how]
        (dataset,) = run.inputs.dataset_inputs
        assert dataset.dataset.name == "staleness-reference"
        assert {"x1", "x2", "x3", TARGET} <= set(dataset.dataset.schema and _names(dataset))
    assert list(fingerprints["spark"].columns) == ["x1", "x2", "x3"]
    assert_equal_within_certified_error(fingerprints["spark"], frame.drop(columns=TARGET))


def test_advise_takes_a_spark_dataframe_and_refuses_labels_on_it(spark, sqlite_uri: str) -> None:
    name = unique_name("spark")
    register_version(sqlite_uri, name, make_frame(seed=1), alias="champion", log_model=False)
    current = make_frame(n=3000, seed=2, shift=0.8).drop(columns=TARGET)
    cost = CostModel(compute_cost=50, error_cost=1.0, predictions_per_step=1000)
    advisor = Advisor(name, tracking_uri=sqlite_uri, cost=cost)
    from_pandas = advisor.advise(current, window="w1", dry_run=True)
    from_spark = advisor.advise(spark.createDataFrame(current), window="w1", dry_run=True)
    assert from_spark.action == from_pandas.action
    assert [f for f, _ in from_spark.top_features] == [f for f, _ in from_pandas.top_features]
    for (_, a), (_, b) in zip(from_spark.top_features, from_pandas.top_features, strict=True):
        assert a == pytest.approx(b, abs=0.05)
    with pytest.raises(InvalidInputError, match="labels cannot be measured on a Spark DataFrame"):
        advisor.advise(spark.createDataFrame(make_frame(seed=3)), labels=TARGET, dry_run=True)


def _names(dataset_input: object) -> list[str]:
    """The column names of a logged dataset's schema (MLflow's JSON of the schema)."""
    import json

    schema = json.loads(dataset_input.dataset.schema)  # type: ignore[attr-defined]
    columns = schema.get("mlflow_colspec", schema)
    return [column["name"] for column in columns]
