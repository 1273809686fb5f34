"""The oldest supported tracking server, MLflow 2.22, against this MLflow 3 client (issue 11, 11).

MLflow 3's client lists and downloads run artifacts through the ``runs:/`` repository, which also
searches the run's logged models, an API that 2.x servers answer with 404. The advisor reads run
artifacts from the run's artifact root instead, so the fingerprint is found on a 2.22 server;
and a server older than 2.22 is refused by the version it states, never read for weaker
evidence. The 2.22 server runs from its own virtualenv (``tests/old_server.py``); the tests skip,
saying why, when that cannot be installed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from bad_inputs import LABEL, PRED, reference_frame, window_frame
from click.testing import CliRunner
from old_server import OLD_MLFLOW, OldMlflowServer, old_server_python
from registry_helpers import register_version, snapshot, unique_name

from mlflow_staleness import CostModel
from mlflow_staleness.adapter import RegistryReader, connect
from mlflow_staleness.adapter.connection import check_server_version, server_version
from mlflow_staleness.advisor import Advisor
from mlflow_staleness.cli import main
from mlflow_staleness.exceptions import ServerError

COST = CostModel(compute_cost=100, error_cost=1.0, predictions_per_step=100, currency="EUR")


@pytest.fixture(scope="module")
def old_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OldMlflowServer]:
    python, why = old_server_python()
    if python is None:
        pytest.skip(f"no MLflow {OLD_MLFLOW} server: {why}")
    with OldMlflowServer(tmp_path_factory.mktemp("old_server"), python) as server:
        yield server


@pytest.fixture(scope="module")
def served(old_server: OldMlflowServer) -> str:
    """A model on the old server whose served version was logged with ``log_reference``."""
    name = unique_name("old-server")
    register_version(
        old_server.uri, name, reference_frame(), target=LABEL, alias="champion", log_model=False
    )
    return name


def test_the_old_server_states_its_version(old_server: OldMlflowServer) -> None:
    assert server_version(old_server.uri, 10.0).startswith(f"{OLD_MLFLOW}.")


def test_the_fingerprint_of_a_version_is_read_from_a_2_22_server(
    old_server: OldMlflowServer, served: str
) -> None:
    reader = RegistryReader(connect(old_server.uri))
    [version] = reader.versions(served)
    fingerprint, note = reader.fingerprint(version)
    assert note is None
    assert fingerprint is not None
    assert set(fingerprint.columns) == {"x1", "x2", "x3", "plan"}


def test_advice_on_a_2_22_server_rests_on_the_fingerprint_and_reads_back(
    old_server: OldMlflowServer, served: str
) -> None:
    advisor = Advisor(served, cost=COST, tracking_uri=old_server.uri)
    rec = advisor.advise(window_frame(), labels=LABEL, predictions=PRED, window="2026-01-01")
    assert "fingerprint" in rec.evidence
    assert not any("log_reference was not used" in item for item in rec.evidence)
    assert [row["advice_id"] for row in advisor.history()] == [rec.advice_id]
    assert rec.advice_id in advisor.report()


def test_the_cli_advises_on_a_2_22_server(
    old_server: OldMlflowServer, served: str, tmp_path
) -> None:
    data = tmp_path / "window.parquet"
    window_frame(seed=4).to_parquet(data)
    args = ["advise", served, "--data", str(data), "--target", LABEL, "--predictions-col", PRED]
    args += ["--window", "2026-01-02", "--json", "--tracking-uri", old_server.uri]
    args += ["--retrain-cost", "100", "--error-cost", "1", "--predictions-per-step", "100"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.stderr
    advice = json.loads(result.stdout)
    assert "fingerprint" in advice["evidence"]
    tags = snapshot(old_server.uri, served)["versions"]["1"]["tags"]
    assert tags["staleness.advice_id"] == advice["advice_id"]


@pytest.mark.parametrize("version", ["2.21.3", "2.9.2", "1.30.0"])
def test_a_server_older_than_2_22_is_refused_by_name_and_version(version: str) -> None:
    with pytest.raises(ServerError, match=rf"runs MLflow {version}; .* 2\.22 and newer"):
        check_server_version("http://mlflow.example:5000", version)


@pytest.mark.parametrize("version", ["2.22.0", "2.22.5", "3.0.1", "3.17.2", None, "nonsense"])
def test_a_supported_or_unstated_server_version_passes(version: str | None) -> None:
    check_server_version("http://mlflow.example:5000", version)


def test_a_server_below_the_minimum_is_refused_before_any_read_or_write(
    old_server: OldMlflowServer, served: str, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real 2.22 server, with the minimum raised to 3.0: the CLI exits 1 with one line
    naming the server and its version, and the registry is as it was."""
    import mlflow_staleness.adapter.connection as connection

    monkeypatch.setattr(connection, "MIN_SERVER_VERSION", (3, 0))
    data = tmp_path / "window.parquet"
    window_frame(seed=5).to_parquet(data)
    before = snapshot(old_server.uri, served)
    args = ["advise", served, "--data", str(data), "--target", LABEL, "--predictions-col", PRED]
    args += ["--tracking-uri", old_server.uri, "--retrain-cost", "100", "--error-cost", "1"]
    args += ["--predictions-per-step", "100", "--window", "2026-01-03"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: the tracking server at http://127.0.0.1:")
    assert f"runs MLflow {OLD_MLFLOW}." in line
    assert "3.0 and newer" in line
    assert snapshot(old_server.uri, served) == before
