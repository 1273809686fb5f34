"""Rules about the package as a whole."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "mlflow_staleness"


def test_importing_the_engine_does_not_import_mlflow():
    code = (
        "import sys, mlflow_staleness, mlflow_staleness.backtest, mlflow_staleness.estimators, "
        "mlflow_staleness.policies, mlflow_staleness.fingerprint, mlflow_staleness.advice, "
        "mlflow_staleness.recommendation, mlflow_staleness.settings, mlflow_staleness.losses, "
        "mlflow_staleness.data_files, mlflow_staleness.plots, mlflow_staleness.cli\n"
        "leaked = sorted(m for m in sys.modules if m == 'mlflow' or m.startswith('mlflow.'))\n"
        "print(','.join(leaked))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_package_declares_what_it_exports():
    import mlflow_staleness

    missing = [name for name in mlflow_staleness.__all__ if not hasattr(mlflow_staleness, name)]
    assert missing == []


def _imports_mlflow(path: Path) -> list[int]:
    """Line numbers of ``import mlflow...`` / ``from mlflow... import`` statements in a file."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        if any(n == "mlflow" or n.startswith("mlflow.") for n in names):
            lines.append(node.lineno)
    return lines


def test_only_the_adapter_imports_mlflow():
    offenders = {
        str(path.relative_to(PACKAGE)): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if "adapter" not in path.relative_to(PACKAGE).parts and (lines := _imports_mlflow(path))
    }
    assert offenders == {}
    assert _imports_mlflow(PACKAGE / "adapter" / "connection.py")  # the check does see imports
