"""The scale and engine benchmark scripts run end to end on small inputs and write their reports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
COVERTYPE = REPO.parent / "shared" / "data" / "covertype.parquet"


def run(script: str, *args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / script), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.slow
def test_the_scale_benchmark_writes_times_ratios_and_accuracy(tmp_path: Path) -> None:
    if not COVERTYPE.exists():
        pytest.skip(f"{COVERTYPE} is absent (the shared datasets)")
    out = tmp_path / "results.md"
    args = ["--sizes", "20000", "--runs", "1", "--tools", "floor,files,frames"]
    done = run(
        "benchmark_scale.py", *args, "--scratch", tmp_path, "--out", out, "--data", COVERTYPE
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = out.read_text()
    for heading in ("## Time and memory", "## Ratios within a run", "## Accuracy"):
        assert heading in report
    assert "| 20,000 |" in report
    assert "worst rank gap" in report
    assert "Evidently DataDriftPreset" not in report.split("## Ratios")[0]  # not asked for


def test_the_engine_benchmark_writes_a_row_per_policy(tmp_path: Path) -> None:
    out = tmp_path / "engine.md"
    done = run(
        "benchmark_engine.py",
        "--sizes",
        "30",
        "--policies",
        "cumulative,never",
        "--repeats",
        "1",
        "--out",
        out,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = out.read_text()
    assert "| cumulative |" in report
    assert "| never |" in report
    assert "replay T=30" in report
