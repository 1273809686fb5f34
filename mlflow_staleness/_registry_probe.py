"""Is there a registered model of this name? Asked before MLflow is imported (a few seconds).

The CLI asks this first, so that a mistyped model name is reported at once, not after MLflow,
pandas and the tracking client have been started. Only a plain answer counts: the REST API's
``RESOURCE_DOES_NOT_EXIST`` (or no such row in a SQLite store). Anything else (a login, custom TLS,
a proxy, another backend, an error) leaves the question to the full advisor, which asks again and
reports it its own way. Standard library only; read only.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import sqlite3
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

__all__ = ["model_is_missing"]

#: Variables under which MLflow's client talks to a server in ways this probe does not copy.
_LEAVE_TO_MLFLOW = (
    "MLFLOW_TRACKING_INSECURE_TLS",
    "MLFLOW_TRACKING_SERVER_CERT_PATH",
    "MLFLOW_TRACKING_CLIENT_CERT_PATH",
    "MLFLOW_TRACKING_AUTH",
)


def model_is_missing(tracking_uri: str | None, name: str, *, timeout: float = 2.0) -> bool:
    """True only when the store says plainly that no registered model is named ``name``."""
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or ""
    if os.environ.get("MLFLOW_REGISTRY_URI") not in (None, "", uri):
        return False  # the registry lives elsewhere
    try:
        if uri.startswith(("http://", "https://")):
            return _http_missing(uri, name, timeout)
        if uri.startswith("sqlite:///"):
            return _sqlite_missing(uri, name)
    except Exception:  # any doubt: the advisor asks again and says what went wrong
        return False
    return False


def _http_missing(uri: str, name: str, timeout: float) -> bool:
    if any(os.environ.get(v) for v in _LEAVE_TO_MLFLOW):
        return False
    parts = urllib.parse.urlsplit(uri)
    if parts.username or parts.password:
        return False
    query = urllib.parse.urlencode({"name": name})
    request = urllib.request.Request(
        f"{uri.rstrip('/')}/api/2.0/mlflow/registered-models/get?{query}"
    )
    user = os.environ.get("MLFLOW_TRACKING_USERNAME")
    password = os.environ.get("MLFLOW_TRACKING_PASSWORD")
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    if user and password:
        pair = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        request.add_header("Authorization", f"Basic {pair}")
    elif token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            return False
    except urllib.error.HTTPError as exc:
        if exc.code != 404:
            return False
        body = json.loads(exc.read(65536).decode("utf-8", errors="replace") or "{}")
        return body.get("error_code") == "RESOURCE_DOES_NOT_EXIST"


def _sqlite_missing(uri: str, name: str) -> bool:
    path = Path(urllib.parse.unquote(uri[len("sqlite:///") :].split("?")[0])).expanduser()
    if not path.is_file():
        return False
    with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=1)) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        if "registered_models" not in tables:
            return False
        row = db.execute("SELECT 1 FROM registered_models WHERE name = ?", (name,)).fetchone()
    return row is None
