"""The CLI benchmark's table (``scripts/benchmark_cli.py``): its columns and how a target is judged.

The benchmark itself starts a server and runs the CLI many times; it is a script, not a timed test.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "benchmark_cli.py"


def _module():
    spec = importlib.util.spec_from_file_location("benchmark_cli", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_table_shows_every_phase_and_judges_scoring_apart() -> None:
    bench = _module()
    phases = {"cpu": 2.0, "process start and exit": 0.5, "imports": 1.0, "requests": 0.2}
    phases |= {"model loading": 4.0, "scoring": 0.5, "other": 0.3, "requests_n": 26}
    results = [
        ("--help", None, {"wall": 0.2, "code": 0, "phases": {"cpu": 0.1}}),
        ("advise, wrong model name", 2.0, {"wall": 2.5, "code": 1, "phases": {"cpu": 0.2}}),
        ("advise, model loaded", 3.0, {"wall": 6.5, "code": 0, "phases": phases}),
    ]
    text = bench.render(results, repeat=3)
    header = next(line for line in text.splitlines() if line.startswith("| case"))
    for column in ("wall s", "cpu s", "imports", "store start-up", "model loading", "scoring"):
        assert column in header
    rows = {line.split(" | ")[0][2:]: line for line in text.splitlines() if line.startswith("| ")}
    assert "< 2 ✗" in rows["advise, wrong model name"]
    assert "< 3 ✓" in rows["advise, model loaded"]  # 6.5 s minus 4.5 s of loading and scoring
    assert "| 26 |" in rows["advise, model loaded"]
