"""The README's Python examples run as written, each in a fresh interpreter (as a user would run
it, and so that its MLflow settings, such as ``mlflow.set_experiment``, stay out of this
process)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_python_block_of_the_readme_runs(tmp_path: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert blocks, "the README has no Python example"
    for number, block in enumerate(blocks):
        run = subprocess.run(
            [sys.executable, "-c", block],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert run.returncode == 0, f"README block {number} failed:\n{run.stderr[-3000:]}"
        assert not (tmp_path / "mlruns").exists(), "a README example wrote into ./mlruns"
