"""An ``mlflow server`` of the oldest supported MLflow (2.22), from its own virtualenv.

The project's own environment has MLflow 3; the old server runs from a separate virtualenv under
``.venv-mlflow-2.22`` at the repository root, created (with ``pip install "mlflow==2.22.*"``)
on first use and reused after. MLflow 2.22 does not work with SQLAlchemy 2.1, so that is pinned
below 2.1 there. :func:`old_server_python` returns None, with the reason, when the virtualenv
cannot be made (no network to the package index, say), so that the tests can skip saying why.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mlflow_servers import MlflowServer

OLD_MLFLOW = "2.22"
REQUIREMENTS = (f"mlflow=={OLD_MLFLOW}.*", "sqlalchemy<2.1")
VENV = Path(__file__).resolve().parent.parent / f".venv-mlflow-{OLD_MLFLOW}"


def old_server_python() -> tuple[Path | None, str]:
    """The old virtualenv's interpreter (made if needed), or None and why it cannot be had."""
    python = VENV / "bin" / "python"
    marker = VENV / "installed.txt"
    if marker.is_file() and marker.read_text() == "\n".join(REQUIREMENTS):
        return python, ""
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        result = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *REQUIREMENTS],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=900,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"cannot create {VENV}: {exc}"
    if result.returncode != 0:
        tail = " ".join(result.stderr.split()[-40:])
        return None, f"pip could not install {', '.join(REQUIREMENTS)}: {tail}"
    marker.write_text("\n".join(REQUIREMENTS))
    return python, ""


class OldMlflowServer(MlflowServer):
    """:class:`MlflowServer`, run by another interpreter (an old MLflow's)."""

    def __init__(self, directory: str | Path, python: Path, **kwargs: object) -> None:
        super().__init__(directory, **kwargs)
        self.python = str(python)

    def command(self) -> list[str]:
        return [
            self.python,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            self.backend_store_uri,
            "--artifacts-destination",
            str(self.artifacts_destination),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "1",
        ]
