"""Long steps say so on stderr: reading many versions, fingerprinting a large file.

The CLI shows progress for long reads by default, always with ``-v`` and never with ``-q``; the
thresholds are lowered here so that a small real store counts as "many versions".
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from registry_helpers import make_frame, register_bare_versions, unique_name

from mlflow_staleness.adapter import reading
from mlflow_staleness.cli import main

COSTS = ("--retrain-cost", "100", "--error-cost", "1", "--predictions-per-step", "100")


@pytest.fixture
def store(sqlite_uri: str, tmp_path: Path) -> tuple[str, str, Path]:
    name = unique_name("progress")
    register_bare_versions(sqlite_uri, name, 4, make_frame(seed=1))
    data = tmp_path / "window.parquet"
    make_frame(seed=2).drop(columns=["label"]).to_parquet(data)
    return sqlite_uri, name, data


def _advise(store, *flags: str) -> str:
    uri, name, data = store
    args = [*flags, "advise", name, "--data", str(data), "--dry-run", "--tracking-uri", uri]
    result = CliRunner().invoke(main, [*args, *COSTS])
    assert result.exit_code == 0, result.output
    return result.stderr


def test_many_versions_show_progress_by_default(store, monkeypatch) -> None:
    assert "versions of" not in _advise(store)  # 4 versions: not a long read
    monkeypatch.setattr(reading, "MANY_VERSIONS", 3)
    monkeypatch.setattr(reading, "_BATCH", 2)  # two batches of runs
    said = _advise(store)
    assert f"read 4 versions of {store[1]!r}; reading their runs" in said
    assert "runs 2/4" in said
    assert "runs 4/4" in said
    assert "versions of" not in _advise(store, "-q")


def test_verbose_always_shows_progress(store) -> None:
    assert "read 4 versions" in _advise(store, "-v")


def test_a_large_file_shows_progress(tmp_path: Path, monkeypatch) -> None:
    from mlflow_staleness import data_files

    path = tmp_path / "big.csv"
    make_frame(5000, seed=3).to_csv(path, index=False)
    monkeypatch.setattr(data_files, "PROGRESS_MIN_BYTES", 1000)
    result = CliRunner().invoke(main, ["fingerprint", str(path), "--exclude", "label"])
    assert result.exit_code == 0, result.output
    assert "big.csv" in result.stderr
    assert "rows" in result.stderr
    quiet = CliRunner().invoke(main, ["-q", "fingerprint", str(path), "--exclude", "label"])
    assert "rows" not in quiet.stderr
