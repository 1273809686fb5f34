"""Error messages that say what really happened (issue 11, defect 8).

- A server that fails on a write (here a real ``mlflow server`` whose artifact store is a file,
  so that every upload fails) is reported with its HTTP status, or as a connection it closed
  in the middle of the request, never as a server that "did not answer".
- A failing ``configure`` names the settings, not "the advice".
- A cost file that gives a key at the top level and under ``[costs]`` is refused, naming both.
- A control character in a setting (a newline in the currency) is blamed on that setting.
- A CSV header naming a column twice is refused, naming the column (Parquet refuses it too).
- Costs whose product or ratio leaves the floats (``1e-300 * 1e-300``) are refused with a
  line, never a ``ZeroDivisionError``; a Hypothesis property covers every figure.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from bad_inputs import LABEL, PRED, reference_frame, window_frame
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from mlflow_servers import CountingProxy, MlflowServer
from registry_helpers import client_for, register_version, snapshot, unique_name

from mlflow_staleness import CostModel
from mlflow_staleness.adapter import Write, execute
from mlflow_staleness.advisor import Advisor
from mlflow_staleness.cli import main
from mlflow_staleness.data_files import fingerprint_file, read_table
from mlflow_staleness.exceptions import (
    InvalidCostError,
    InvalidInputError,
    ServerError,
    StalenessError,
)
from mlflow_staleness.settings import read_cost_file

COST = CostModel(compute_cost=100, error_cost=1.0, predictions_per_step=100, currency="EUR")


# ---------------------------------------------------------------------------------- (a) a 500
@pytest.fixture(scope="module")
def broken_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """A real server whose artifact store cannot be written: a file where its folder was."""
    with MlflowServer(tmp_path_factory.mktemp("broken_store")) as server:
        shutil.rmtree(server.artifacts_destination)
        server.artifacts_destination.write_text("not a folder")
        yield server


@pytest.fixture(scope="module")
def broken_model(broken_store: MlflowServer) -> str:
    """A served version with no artifacts (its registration writes only to the database)."""
    name = unique_name("broken")
    register_version(
        broken_store.uri, name, reference_frame(), target=LABEL, alias="champion",
        log_model=False, with_reference=False,
    )  # fmt: skip
    return name


def _advise(uri: str, name: str) -> ServerError:
    advisor = Advisor(name, cost=COST, tracking_uri=uri, server_timeout=10)
    with pytest.raises(ServerError) as caught:
        advisor.advise(window_frame(), labels=LABEL, predictions=PRED, window="w1")
    return caught.value


def test_a_500_from_the_server_is_reported_with_its_status(
    broken_store: MlflowServer, broken_model: str
) -> None:
    """Through a proxy that reads the whole upload, the client sees the server's 500 answers."""
    with CountingProxy(broken_store.uri) as proxy:
        message = str(_advise(proxy.uri, broken_model))
    assert "answered HTTP 500 (Internal Server Error)" in message
    assert "writing the advice (log-artifact advice/" in message
    assert "did not answer" not in message
    assert "its log says why" in message


def test_a_server_that_breaks_off_an_upload_is_not_called_silent(
    broken_store: MlflowServer, broken_model: str
) -> None:
    """Directly, the server answers 500 before it reads the upload and closes the connection."""
    message = str(_advise(broken_store.uri, broken_model))
    assert "did not answer" not in message
    assert ("answered HTTP 500" in message) or ("closed the connection" in message), message


def test_a_failing_configure_names_the_settings(sqlite_uri: str) -> None:
    name = unique_name("configure")
    client_for(sqlite_uri).create_registered_model(name)
    # a model that is gone by the time the settings are written: the server refuses the write
    client_for(sqlite_uri).delete_registered_model(name)
    write = Write("set-model-tag", f"model {name!r}", "staleness.config", "{}")
    with pytest.raises(StalenessError, match=r"^storing the settings \(set-model-tag ") as caught:
        execute(client_for(sqlite_uri), [write], model_name=name)
    assert "advice" not in str(caught.value)


# ---------------------------------------------------------------------------------- (c) [costs]
def test_a_key_at_the_top_level_and_under_costs_is_refused_naming_both(tmp_path: Path) -> None:
    file = tmp_path / "costs.toml"
    file.write_text("retrain_cost = 100\n[costs]\nretrain_cost = 200\nerror_cost = 1\n")
    with pytest.raises(InvalidInputError, match=r"retrain_cost twice: 100 .* 200 under \[costs\]"):
        read_cost_file(file)


def test_top_level_and_costs_keys_that_differ_still_merge(tmp_path: Path) -> None:
    file = tmp_path / "costs.toml"
    file.write_text("currency = 'EUR'\n[costs]\nretrain_cost = 200\nerror_cost = 1\n")
    assert read_cost_file(file) == {"currency": "EUR", "retrain_cost": 200.0, "error_cost": 1.0}


# ---------------------------------------------------------------------------------- (d) currency
@pytest.mark.parametrize("currency", ["EU\nR", "EUR\x1b[31m", "E\u2028UR", "€" * 21])
def test_a_bad_currency_is_blamed_on_the_currency(currency: str) -> None:
    with pytest.raises(InvalidCostError, match=r"^currency must be one line"):
        CostModel(compute_cost=1, error_cost=1, predictions_per_step=1, currency=currency)


def test_a_newline_in_a_stored_setting_names_the_setting(tmp_path: Path) -> None:
    file = tmp_path / "costs.toml"
    file.write_text('loss_key = "val\\nloss"\n')
    with pytest.raises(InvalidInputError, match=r"^loss_key in cost file .* one line"):
        read_cost_file(file)


# ---------------------------------------------------------------------------------- (e) headers
@pytest.mark.parametrize(
    ("header", "column"), [("x1,x3,x3", "x3"), ("a,b,a,c", "a"), ('"q",q', "q")]
)
def test_a_csv_header_naming_a_column_twice_is_refused(
    tmp_path: Path, header: str, column: str
) -> None:
    file = tmp_path / "dup.csv"
    file.write_text(f"{header}\n" + ",".join("1" * (header.count(",") + 1)) + "\n")
    for read in (read_table, fingerprint_file):
        with pytest.raises(InvalidInputError, match=rf"the column '{column}' twice in its header"):
            read(file)


def test_a_header_with_a_name_like_a_renamed_duplicate_is_accepted(tmp_path: Path) -> None:
    file = tmp_path / "ok.csv"
    file.write_text("x3,x3.1\n1,2\n")
    assert list(read_table(file).columns) == ["x3", "x3.1"]


# ---------------------------------------------------------------------------------- (f) floats
def test_costs_that_underflow_are_refused_by_the_cli_with_one_line(
    sqlite_uri: str, tmp_path: Path
) -> None:
    name = unique_name("tiny")
    register_version(
        sqlite_uri, name, reference_frame(), target=LABEL, alias="champion", log_model=False
    )
    data = tmp_path / "w.parquet"
    window_frame().to_parquet(data)
    before = snapshot(sqlite_uri, name)
    result = CliRunner().invoke(
        main,
        ["advise", name, "--data", str(data), "--target", LABEL, "--predictions-col", PRED,
         "--tracking-uri", sqlite_uri, "--retrain-cost", "100", "--error-cost", "1e-300",
         "--predictions-per-step", "1e-300"],
    )  # fmt: skip
    assert result.exit_code == 1, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "error_cost * predictions_per_step = 1e-300 * 1e-300" in line
    assert "underflows" in line
    assert snapshot(sqlite_uri, name) == before


FIGURE = st.one_of(
    st.floats(min_value=0.0, allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, 5e-324, 1e-300, 1e-160, 1e154, 1e300, 1.7976931348623157e308]),
)


@settings(max_examples=500, deadline=None)
@given(parts=st.lists(FIGURE, min_size=4, max_size=4), error_cost=FIGURE, traffic=FIGURE)
def test_any_figures_give_a_finite_cost_model_or_an_invalid_cost_error(
    parts: list[float], error_cost: float, traffic: float
) -> None:
    try:
        cost = CostModel(*parts, error_cost=error_cost, predictions_per_step=traffic)
    except InvalidCostError as exc:
        refusal = str(exc)
    else:
        assert math.isfinite(cost.alpha)
        assert math.isfinite(cost.retrain_cost)
        assert 0 < cost.loss_unit_price < math.inf
        return
    assert len(refusal.splitlines()) == 1
