"""The test helpers in ``mlflow_servers``: a real MLflow server and a counting reverse proxy."""

from __future__ import annotations

import json
import os
import sys
import threading
import urllib.request
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from mlflow import MlflowClient
from mlflow_servers import CountingProxy, MlflowServer, free_port

API = "/api/2.0/mlflow/"
ARTIFACTS_API = "/api/2.0/mlflow-artifacts/artifacts"


def _unique(prefix: str) -> str:
    # The server lives for the whole session, so names must not collide between tests.
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _client(proxy: CountingProxy) -> MlflowClient:
    return MlflowClient(tracking_uri=proxy.uri, registry_uri=proxy.uri)


# --- CountingProxy against a tiny echo server (no MLflow involved) ------------------------------


class _EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _echo(self) -> None:
        if self.path.startswith("/missing"):
            body = b"nope"
            self.send_response(404)
        else:
            length = int(self.headers.get("Content-Length", 0))
            body = json.dumps(
                {
                    "method": self.command,
                    "path": self.path,
                    "body": self.rfile.read(length).decode(),
                    "x_test": self.headers.get("X-Test"),
                    "transfer_encoding": self.headers.get("Transfer-Encoding"),
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Echo", "yes")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _echo  # noqa: N815


@pytest.fixture
def echo_uri() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_free_port_is_bindable() -> None:
    import socket

    port = free_port()
    assert 0 < port < 65536
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_proxy_forwards_method_path_query_headers_and_body(echo_uri: str) -> None:
    with CountingProxy(echo_uri) as proxy, requests.Session() as session:
        assert proxy.uri == f"http://127.0.0.1:{proxy.port}"
        # One keep-alive session for all requests, as MLflow's client does.
        posted = session.post(
            f"{proxy.uri}/a/b?x=1&y=2", data=b"payload", headers={"X-Test": "hi"}, timeout=10
        )
        chunked = session.put(f"{proxy.uri}/c", data=iter([b"chun", b"ked"]), timeout=10)
        head = session.head(f"{proxy.uri}/d", timeout=10)
        missing = session.get(f"{proxy.uri}/missing/x", timeout=10)
        deleted = session.delete(f"{proxy.uri}/e", timeout=10)

    assert posted.status_code == 200
    assert posted.headers["X-Echo"] == "yes"
    assert posted.json() == {
        "method": "POST",
        "path": "/a/b?x=1&y=2",
        "body": "payload",
        "x_test": "hi",
        "transfer_encoding": None,
    }
    # A chunked request body reaches the target whole, with a Content-Length instead.
    assert chunked.json()["body"] == "chunked"
    assert chunked.json()["transfer_encoding"] is None
    assert head.status_code == 200
    assert head.content == b""
    assert int(head.headers["Content-Length"]) > 0
    assert (missing.status_code, missing.content) == (404, b"nope")
    assert deleted.json()["method"] == "DELETE"

    assert proxy.requests == [
        ("POST", "/a/b"),
        ("PUT", "/c"),
        ("HEAD", "/d"),
        ("GET", "/missing/x"),
        ("DELETE", "/e"),
    ]
    assert proxy.full_requests()[0] == ("POST", "/a/b?x=1&y=2")
    assert proxy.count() == 5
    assert proxy.count("/missing") == 1
    proxy.reset()
    assert proxy.requests == []
    assert proxy.count() == 0


def test_proxy_answers_502_when_the_target_is_down() -> None:
    with CountingProxy(f"http://127.0.0.1:{free_port()}") as proxy:
        response = requests.get(f"{proxy.uri}/anything", timeout=10)
    assert response.status_code == 502
    assert proxy.requests == [("GET", "/anything")]


def test_proxy_requests_is_a_copy(echo_uri: str) -> None:
    with CountingProxy(echo_uri) as proxy:
        requests.get(f"{proxy.uri}/x", timeout=10)
        seen = proxy.requests
        seen.clear()
        assert proxy.requests == [("GET", "/x")]


# --- MlflowServer without starting MLflow --------------------------------------------------------


def test_server_environment_drops_tracking_uri_and_adds_extra_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://elsewhere.invalid")
    server = MlflowServer(tmp_path, extra_env={"MLFLOW_FLASK_SERVER_SECRET_KEY": "k"})
    env = server.environment()
    assert "MLFLOW_TRACKING_URI" not in env
    assert env["MLFLOW_FLASK_SERVER_SECRET_KEY"] == "k"
    assert os.environ["MLFLOW_TRACKING_URI"] == "http://elsewhere.invalid"  # untouched


def test_server_command_line(tmp_path: Path) -> None:
    server = MlflowServer(tmp_path, extra_args=["--app-name", "basic-auth"])
    cmd = server.command()
    assert cmd[:4] == [sys.executable, "-m", "mlflow", "server"]
    assert cmd[cmd.index("--backend-store-uri") + 1] == f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert cmd[cmd.index("--artifacts-destination") + 1] == str(tmp_path / "artifacts")
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--port") + 1] == str(server.port)
    assert cmd[cmd.index("--workers") + 1] == "1"  # MLflow 3.x has the option
    assert cmd[-2:] == ["--app-name", "basic-auth"]
    assert server.uri == f"http://127.0.0.1:{server.port}"


class _FakeServer(MlflowServer):
    """Runs a short Python script instead of MLflow, to exercise the start-up failure paths
    without paying for an MLflow import."""

    def __init__(self, directory: Path, script: str, **kwargs: object) -> None:
        super().__init__(directory, **kwargs)
        self.script = script

    def command(self) -> list[str]:
        return [sys.executable, "-c", self.script]


def test_server_that_exits_early_raises_with_the_log_tail(tmp_path: Path) -> None:
    script = "import sys; print('boom: bad option', flush=True); sys.exit(3)"
    server = _FakeServer(tmp_path, script)
    with pytest.raises(RuntimeError, match="exited with code 3") as info:
        server.start()
    assert "boom: bad option" in str(info.value)
    assert server.process is None


def test_server_that_never_answers_times_out_and_is_stopped(tmp_path: Path) -> None:
    script = "import time; print('still starting', flush=True); time.sleep(60)"
    server = _FakeServer(tmp_path, script, startup_timeout=1.0)
    with pytest.raises(RuntimeError, match=r"did not answer /health within 1 s") as info:
        server.start()
    assert "still starting" in str(info.value)
    assert server.process is None  # terminated, not left behind


# --- A real MLflow server, through the proxy -----------------------------------------------------


def test_server_answers_health(mlflow_server: MlflowServer) -> None:
    assert mlflow_server.uri.startswith("http://127.0.0.1:")
    assert mlflow_server.process is not None
    assert mlflow_server.process.poll() is None
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{mlflow_server.uri}/health", timeout=10) as response:
        assert response.status == 200
        assert response.read() == b"OK"


def test_client_calls_go_through_the_proxy(
    mlflow_server: MlflowServer, counting_proxy: CountingProxy
) -> None:
    client = _client(counting_proxy)
    experiment_name, model_name = _unique("exp"), _unique("model")

    experiment_id = client.create_experiment(experiment_name)
    assert counting_proxy.requests == [("POST", f"{API}experiments/create")]

    counting_proxy.reset()
    client.create_registered_model(model_name)
    assert counting_proxy.requests == [("POST", f"{API}registered-models/create")]

    counting_proxy.reset()
    assert client.get_registered_model(model_name).name == model_name
    assert client.get_experiment(experiment_id).name == experiment_name
    assert counting_proxy.full_requests() == [
        ("GET", f"{API}registered-models/get?name={model_name}"),
        ("GET", f"{API}experiments/get?experiment_id={experiment_id}"),
    ]
    assert counting_proxy.count(API) == counting_proxy.count() == 2
    assert counting_proxy.count(f"{API}registered-models/") == 1

    # The proxy only counts: the server itself has the objects.
    direct = MlflowClient(tracking_uri=mlflow_server.uri, registry_uri=mlflow_server.uri)
    assert direct.get_experiment_by_name(experiment_name).experiment_id == experiment_id
    assert direct.get_registered_model(model_name).name == model_name
    assert counting_proxy.count() == 2


def test_artifacts_go_through_the_proxy(
    mlflow_server: MlflowServer, counting_proxy: CountingProxy, tmp_path: Path
) -> None:
    client = _client(counting_proxy)
    run = client.create_run(client.create_experiment(_unique("artifacts")))
    run_id = run.info.run_id
    # Proxied artifacts: the run's root is an mlflow-artifacts: URI, resolved against the
    # client's tracking URI (the proxy), so uploads and downloads are HTTP calls through it.
    assert run.info.artifact_uri.startswith("mlflow-artifacts:/")

    counting_proxy.reset()
    client.log_text(run_id, "hello through the proxy", "notes/hello.txt")
    artifact_path = f"{ARTIFACTS_API}/{run.info.experiment_id}/{run_id}/artifacts/notes/hello.txt"
    assert ("PUT", artifact_path) in counting_proxy.requests
    assert counting_proxy.count(ARTIFACTS_API) == 1
    stored = mlflow_server.artifacts_destination / run.info.experiment_id / run_id / "artifacts"
    assert (stored / "notes" / "hello.txt").read_text() == "hello through the proxy"

    counting_proxy.reset()
    downloaded = client.download_artifacts(run_id, "notes/hello.txt", str(tmp_path))
    assert Path(downloaded).read_text() == "hello through the proxy"
    assert ("GET", artifact_path) in counting_proxy.requests

    counting_proxy.reset()
    assert [info.path for info in client.list_artifacts(run_id, "notes")] == ["notes/hello.txt"]
    assert counting_proxy.count(ARTIFACTS_API) == 1
    # Every request the client made went to the REST API, nothing else.
    assert all(path.startswith("/api/") for _, path in counting_proxy.requests)


def test_each_test_gets_a_fresh_proxy(counting_proxy: CountingProxy) -> None:
    assert counting_proxy.requests == []


# --- The embedded SQLite store -------------------------------------------------------------------


def test_sqlite_uri_keeps_everything_in_tmp_path(sqlite_uri: str, tmp_path: Path) -> None:
    assert sqlite_uri == f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert Path.cwd() == tmp_path
    client = MlflowClient(tracking_uri=sqlite_uri, registry_uri=sqlite_uri)
    run = client.create_run(client.create_experiment("embedded"))
    client.log_text(run.info.run_id, "local", "x.txt")
    client.create_registered_model("embedded-model")
    assert (tmp_path / "mlflow.db").is_file()
    assert [path.name for path in (tmp_path / "mlruns").rglob("x.txt")] == ["x.txt"]
