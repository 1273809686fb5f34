"""Bounded waiting: a server that does not answer costs a bounded time and a message naming it.

Two fake servers on loopback stand for the failures a real one has: one accepts connections and
never answers (a hung process, a firewall that drops), one answers ``/health`` but hangs on every
API call (a stuck database behind a live web server). The advisor must give up within its
``--server-timeout`` (each request: two tries of half the bound, a second apart), or within
MLflow's own ``MLFLOW_HTTP_REQUEST_TIMEOUT`` / ``MLFLOW_HTTP_REQUEST_MAX_RETRIES`` when the user
set them, name the URI, and say what to do.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from mlflow.exceptions import MlflowException
from mlflow_servers import free_port
from registry_helpers import make_frame

from mlflow_staleness.adapter.connection import mlflow_errors
from mlflow_staleness.cli import main
from mlflow_staleness.exceptions import ServerError

COSTS = ["--retrain-cost", "10", "--error-cost", "1", "--predictions-per-step", "100"]
HTTP_SETTINGS = (
    "MLFLOW_HTTP_REQUEST_TIMEOUT",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR",
)


@pytest.fixture(scope="module")
def silent_server() -> Iterator[str]:
    """Accepts TCP connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(sock.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    sock.close()


@pytest.fixture(scope="module")
def hanging_api() -> Iterator[str]:
    """Answers ``/health``; every other request hangs (until the server stops)."""
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/health"):
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"OK")
                return
            release.wait(120)

        do_POST = do_GET  # noqa: N815

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bounded") / "window.parquet"
    make_frame(50).drop(columns=["label"]).to_parquet(path)
    return path


def _advise(
    uri: str, data: Path, *extra: str, monkeypatch: pytest.MonkeyPatch, env: dict | None = None
) -> tuple[float, str, int]:
    """Run the CLI in this process (MLflow is imported already, so only waiting is timed)."""
    for key in HTTP_SETTINGS:
        monkeypatch.delenv(key, raising=False)
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    args = ["advise", "model", "--data", str(data), "--tracking-uri", uri, *COSTS, *extra]
    start = time.monotonic()
    result = CliRunner().invoke(main, args)
    return time.monotonic() - start, result.stderr, result.exit_code


@pytest.mark.parametrize("bound", [2, 6])
def test_a_silent_server_costs_the_bound(
    silent_server: str, data: Path, monkeypatch: pytest.MonkeyPatch, bound: int
) -> None:
    seconds, stderr, code = _advise(
        silent_server, data, "--server-timeout", str(bound), monkeypatch=monkeypatch
    )
    assert code == 1, stderr
    [line] = [x for x in stderr.splitlines() if x.strip()]
    assert silent_server in line
    assert f"within {bound} s" in line
    assert "--server-timeout" in line  # what to do
    assert bound - 1 <= seconds < bound + 8, seconds


def test_a_hanging_api_costs_about_the_bound(
    hanging_api: str, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seconds, stderr, code = _advise(
        hanging_api, data, "--server-timeout", "4", monkeypatch=monkeypatch
    )
    assert code == 1, stderr
    [line] = [x for x in stderr.splitlines() if x.strip()]
    assert hanging_api in line
    assert "did not answer" in line
    # two tries of 2 s each and a second between them
    assert 4 <= seconds < 4 + 8, seconds


def test_mlflows_own_settings_are_honoured(
    hanging_api: str, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user who set MLflow's variables gets them: here, one try of 1 s, whatever the bound."""
    env = {"MLFLOW_HTTP_REQUEST_TIMEOUT": "1", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}
    seconds, stderr, code = _advise(
        hanging_api, data, "--server-timeout", "60", env=env, monkeypatch=monkeypatch
    )
    assert code == 1, stderr
    assert hanging_api in stderr
    assert seconds < 1 + 8, seconds  # not the 60 s of --server-timeout


@pytest.mark.parametrize("port", [56403, 40301, 403])
def test_a_port_with_403_or_401_in_it_is_not_a_refusal(port: int) -> None:
    """Regression: a read timeout on port 56403 was reported as "the server refused it"."""
    uri = f"http://127.0.0.1:{port}"
    timeout = MlflowException(
        f"API request to {uri}/api/2.0/mlflow/registered-models/get failed with exception "
        f"HTTPConnectionPool(host='127.0.0.1', port={port}): Max retries exceeded with url: "
        f"/api/2.0/mlflow/registered-models/get?name=model (Caused by ReadTimeoutError("
        f"\"HTTPConnectionPool(host='127.0.0.1', port={port}): Read timed out.\"))"
    )
    with (
        pytest.raises(ServerError, match=f"server {uri} did not answer"),
        mlflow_errors("reading registered model 'model'", uri),
    ):
        raise timeout
    other = MlflowException(
        f"API request to {uri}/api/2.0/mlflow/x failed with exception "
        f"HTTPConnectionPool(host='127.0.0.1', port={port}): connection reset by peer"
    )
    # a reset connection: the server broke the request off (issue 11, defect 8), no refusal
    with (
        pytest.raises(ServerError, match="closed the connection") as caught,
        mlflow_errors("reading", uri),
    ):
        raise other
    assert "refused" not in str(caught.value)


@pytest.mark.parametrize(
    ("status", "expected"), [(401, "refused the credentials"), (403, "the server refused it")]
)
def test_a_real_401_or_403_is_still_a_refusal(status: int, expected: str) -> None:
    uri = "http://127.0.0.1:56403"
    refused = MlflowException(
        f"API request to endpoint /api/2.0/mlflow/registered-models/get failed with error code "
        f"{status} != 200. Response body: 'nope'"
    )
    with (
        pytest.raises(ServerError, match=expected),
        mlflow_errors("reading registered model 'model'", uri),
    ):
        raise refused
