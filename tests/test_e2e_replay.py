"""The advisor through MLflow decides exactly as ``replay`` of the same policy (issue 13).

``scripts/e2e_replay.py`` drives the advisor window by window on a real SQLite registry
(register, advise with labels, judge the candidate, promote), and compares every step and the
cost with ``replay`` on the matrix of the same models. Here on two small synthetic streams, one
classification and one regression; the full run on real streams is in
``benchmarks/decisions/e2e.md``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_loop_through_mlflow_takes_the_replays_action_at_every_step(tmp_path):
    out = tmp_path / "e2e.md"
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "e2e_replay.py"),
            "--streams",
            "circles-sudden-early-s0",
            "friedman-gra-s0",
            "--windows",
            "12",
            "--out",
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    text = out.read_text()
    assert "took the replay's action at every step, and its cost equals the replay's" in text
    rows = [line for line in text.splitlines() if line.startswith(("| circles", "| friedman"))]
    assert len(rows) == 2
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[4] == "6/6"
        assert cells[7] == cells[8]  # loop cost == replay cost, printed to 1e-6
        assert float(cells[9]) <= 1e-9
