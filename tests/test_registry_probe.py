"""The CLI's quick question "is there a model of this name?", asked before MLflow is imported,
against a real ``mlflow server`` and a real SQLite store: only a plain "no such model" counts."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

from mlflow_servers import MlflowServer, free_port
from registry_helpers import client_for, unique_name

from mlflow_staleness._registry_probe import model_is_missing


def test_a_server_says_plainly_which_names_are_missing(mlflow_server: MlflowServer) -> None:
    name = unique_name("probe")
    odd = name + ' quote\'s "and" 100%_&?#'
    for each in (name, odd):
        client_for(mlflow_server.uri).create_registered_model(each)
    assert model_is_missing(mlflow_server.uri, name + "-nope")
    assert not model_is_missing(mlflow_server.uri, name)
    assert not model_is_missing(mlflow_server.uri, odd)


def test_any_doubt_is_left_to_the_advisor() -> None:
    unreachable = f"http://127.0.0.1:{free_port()}"
    assert not model_is_missing(unreachable, "m", timeout=0.5)
    assert not model_is_missing("sqlite:////no/such/folder/mlflow.db", "m")
    assert not model_is_missing("databricks", "m")
    assert not model_is_missing(None, "m")


def test_a_sqlite_store_is_read_only_and_answers(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLAlchemy 2.1 on MLflow's own ORM models
        client_for(uri).create_registered_model("present")
    before = (tmp_path / "mlflow.db").read_bytes()
    assert model_is_missing(uri, "absent")
    assert not model_is_missing(uri, "present")
    assert (tmp_path / "mlflow.db").read_bytes() == before


def test_a_wrong_name_is_reported_without_importing_mlflow(
    mlflow_server: MlflowServer, tmp_path: Path
) -> None:
    data = tmp_path / "window.csv"
    data.write_text("x1,x2\n1,2\n", encoding="utf-8")
    code = (
        "import sys\n"
        "from mlflow_staleness.cli import main\n"
        "try:\n"
        f"    main(['advise', 'no-such-model', '--data', {str(data)!r}, '--tracking-uri', "
        f"{mlflow_server.uri!r}])\n"
        "except SystemExit as exc:\n"
        "    print('EXIT', exc.code, [m for m in ('mlflow', 'pandas') if m in sys.modules])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert "EXIT 1 []" in done.stdout, (done.stdout, done.stderr)
    assert "no registered model named 'no-such-model'" in done.stderr
