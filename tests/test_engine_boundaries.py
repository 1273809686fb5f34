"""Rules about the package as a whole."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_engine_does_not_import_mlflow():
    code = (
        "import sys, mlflow_staleness, mlflow_staleness.backtest, mlflow_staleness.estimators, "
        "mlflow_staleness.policies, mlflow_staleness.fingerprint\n"
        "leaked = sorted(m for m in sys.modules if m == 'mlflow' or m.startswith('mlflow.'))\n"
        "print(','.join(leaked))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_package_declares_what_it_exports():
    import mlflow_staleness

    missing = [name for name in mlflow_staleness.__all__ if not hasattr(mlflow_staleness, name)]
    assert missing == []
