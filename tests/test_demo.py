"""``mlflow-staleness demo``: the embedded ELEC2 demo, end to end in a SQLite store (no server).

One demo run takes some 15-20 s: the first runs in-process (CliRunner), the second on the same
folder as a real ``mlflow-staleness`` process, the way a user runs it again.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import warnings
from pathlib import Path

import mlflow
import pytest
from click.testing import CliRunner, Result
from mlflow import MlflowClient
from pandas.errors import Pandas4Warning

from mlflow_staleness import Recommendation
from mlflow_staleness.cli import main
from mlflow_staleness.demo import DEMO_MODEL, MARKER, run_demo

with warnings.catch_warnings():
    # Importing mlflow.pyfunc (which the demo's mlflow.sklearn.log_model does lazily) makes MLflow
    # 3.17 build its own Responses-agent schema, which warns "Any type hint is inferred as AnyType"
    # at import time. Not ours to fix; import it here once so the warning cannot fire in a test.
    warnings.filterwarnings(
        "ignore", message=r".*Any type hint is inferred as AnyType", category=UserWarning
    )
    import mlflow.pyfunc
    import mlflow.sklearn


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty current directory."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return cwd


def _demo(*args: str) -> Result:
    with warnings.catch_warnings():
        _ignore_mlflow_pandas_warnings()
        return CliRunner().invoke(main, list(args))


def _ignore_mlflow_pandas_warnings() -> None:
    """Two pandas 3.1 deprecations inside MLflow 3.17, not ours to fix: its dataset digest
    (``mlflow.data.from_pandas``, called by ``log_reference``) calls ``DataFrame.all(0)``
    positionally, and saving an input example compares an index with a range."""
    for message in (
        "Starting with pandas version 4.0 all arguments of all",
        "Operation with range is deprecated",
    ):
        warnings.filterwarnings("ignore", message=message, category=Pandas4Warning)


def _check_exit(result: Result, code: int) -> None:
    detail = f"exit {result.exit_code}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    if result.exc_info is not None and not isinstance(result.exception, SystemExit):
        import traceback

        detail += "\n" + "".join(traceback.format_exception(*result.exc_info))
    assert result.exit_code == code, detail


def _versions(client: MlflowClient) -> list:
    return sorted(
        client.search_model_versions(filter_string=f"name='{DEMO_MODEL}'"),
        key=lambda v: int(v.version),
    )


def test_demo_runs_in_its_folder_and_starts_afresh(workdir: Path) -> None:
    result = _demo("demo", "--dir", "demo")
    _check_exit(result, 0)
    out = result.stdout
    folder = (workdir / "demo").resolve()
    uri = f"sqlite:///{folder / 'mlflow.db'}"

    # the report: the final advice with its reason, three costs, and how to look at it
    lines = out.splitlines()
    final = next(line for line in lines if line.startswith("Final advice for "))
    assert final.startswith(f"Final advice for {DEMO_MODEL} v")
    reason = lines[lines.index(final) + 1]
    assert reason.startswith("  reason: ")
    assert len(reason) > len("  reason: ") + 10
    assert any(line.startswith("  advised (") and "EUR" in line for line in lines)
    assert any(line.startswith("  never retrain:") and "EUR" in line for line in lines)
    assert any(line.startswith("  retrain every window:") and "EUR" in line for line in lines)
    assert f"  mlflow ui --backend-store-uri {uri} --port 5000" in lines
    assert any(line.startswith("window ") for line in lines)  # progress, without -q

    # nothing outside the folder: no mlruns, no mlflow.db in the current directory
    assert sorted(p.name for p in workdir.iterdir()) == ["demo"]
    assert (folder / MARKER).is_file()
    assert (folder / "mlflow.db").is_file()

    # the store holds the model, whose versions carry complete staleness.* advice
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    versions = _versions(client)
    assert versions
    advised = [v for v in versions if v.tags.get("staleness.advice_id")]
    assert advised
    for version in advised:
        rec = Recommendation.from_tags(version.tags)
        assert (rec.model_name, rec.version) == (DEMO_MODEL, str(version.version))
    # the final advice of the report is the one on its version's tags
    number, rest = final[len(f"Final advice for {DEMO_MODEL} v") :].split(" on window ", 1)
    window, action = rest.split(": ", 1)
    last = Recommendation.from_tags(client.get_model_version(DEMO_MODEL, number).tags)
    assert (last.window, last.action.upper()) == (window, action.split(" ")[0])
    assert reason == f"  reason: {last.reason}"
    # every run's artifacts live under the folder too
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(experiments)
    assert runs
    for run in runs:
        assert run.info.artifact_uri.startswith(folder.as_uri()), run.info.artifact_uri
    assert _counts(folder) == (len(versions), len(runs))
    first_runs = _run_ids(folder)
    assert first_runs == {run.info.run_id for run in runs}

    # A second run on the same folder, as a user runs it (a new process), starts afresh: as many
    # versions, none of the old runs. (This process's MLflow keeps its store for the URI cached,
    # so the new database is read with sqlite3.)
    script = shutil.which("mlflow-staleness", path=str(Path(sys.executable).parent))
    command = [script] if script else [sys.executable, "-m", "mlflow_staleness.cli"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    again = subprocess.run(
        [*command, "-q", "demo", "--dir", "demo"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert not any(line.startswith("window ") for line in again.stdout.splitlines())
    assert f"  mlflow ui --backend-store-uri {uri} --port 5000" in again.stdout.splitlines()
    assert _counts(folder) == (len(versions), len(runs))
    assert not first_runs & _run_ids(folder)
    assert sorted(p.name for p in workdir.iterdir()) == ["demo"]


def test_run_demo_twice_in_one_process_starts_afresh(workdir: Path) -> None:
    """``run_demo`` (public) run again on its folder in the same process, e.g. in a notebook.

    MLflow caches one store per URI per process (an ``lru_cache``), and that store's SQLAlchemy
    engine would still hold the deleted database; so the second run in a process writes to a new
    file name (``mlflow-2.db``). The caller's MLflow settings are left as they were.
    """
    folder = workdir / "demo"
    before = os.environ.get("MLFLOW_TRACKING_URI"), mlflow.get_tracking_uri()
    first = _quiet_run_demo(folder)
    counts = _counts(folder, _database(first.tracking_uri))
    second = _quiet_run_demo(folder)
    assert second.tracking_uri != first.tracking_uri  # a new file: MLflow caches the old store
    assert not Path(_database(first.tracking_uri)).exists()
    assert _counts(folder, _database(second.tracking_uri)) == counts
    assert (os.environ.get("MLFLOW_TRACKING_URI"), mlflow.get_tracking_uri()) == before


def _database(uri: str) -> str:
    return uri.removeprefix("sqlite:///")


def _quiet_run_demo(folder: Path):
    with warnings.catch_warnings():
        _ignore_mlflow_pandas_warnings()
        return run_demo(folder, n_windows=4, say=lambda _message: None)


def _counts(folder: Path, database: str = "mlflow.db") -> tuple[int, int]:
    """(versions of the demo model, runs) in the folder's database, read without MLflow."""
    with contextlib.closing(sqlite3.connect(folder / database)) as db:
        versions = db.execute(
            "SELECT COUNT(*) FROM model_versions WHERE name = ?", (DEMO_MODEL,)
        ).fetchone()[0]
        runs = db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    return versions, runs


def _run_ids(folder: Path) -> set[str]:
    with contextlib.closing(sqlite3.connect(folder / "mlflow.db")) as db:
        return {row[0] for row in db.execute("SELECT run_uuid FROM runs")}


def test_demo_refuses_a_folder_that_is_not_its_own(workdir: Path) -> None:
    mine = workdir / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("precious\n", encoding="utf-8")
    (mine / "sub").mkdir()
    result = _demo("demo", "--dir", "mine")
    _check_exit(result, 1)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: 'mine' exists and is not a demo folder")
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt", "sub"]
    assert (mine / "notes.txt").read_text(encoding="utf-8") == "precious\n"
    assert sorted(p.name for p in workdir.iterdir()) == ["mine"]


def test_demo_refuses_a_file(workdir: Path) -> None:
    (workdir / "demo").write_text("a file\n", encoding="utf-8")
    result = _demo("demo", "--dir", "demo")
    _check_exit(result, 1)
    assert result.stderr.startswith("error: 'demo' is a file")
    assert (workdir / "demo").read_text(encoding="utf-8") == "a file\n"
