"""Real MLflow servers for the tests, and a counting reverse proxy to put in front of them.

``MlflowServer`` runs ``mlflow server`` (the same interpreter's MLflow) as a subprocess on a free
loopback port, with a SQLite backend store and proxied artifacts (``mlflow-artifacts:`` URIs), so
all artifact traffic goes through the server's HTTP API too.

``CountingProxy`` forwards every request to a target base URL and records ``(method, path)`` for
each, so a test can assert how many round-trips the code under test made.

``Service`` and ``LoopbackThreadedServer`` are the start/stop plumbing these and the other test
services (``fault_proxy``, ``auth_server``, ``postgres_server``) share.

Everything binds to 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit

LOOPBACK = "127.0.0.1"

# Headers that describe one hop of the connection, not the message (RFC 9110 section 7.6.1), plus
# Content-Length, which the proxy recomputes because it always sends a complete body, and Expect.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "expect",  # the proxy has already answered any 100-continue itself
    }
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


class Service:
    """Something a test starts and stops; ``with Service(...) as service:`` does both."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class LoopbackThreadedServer(Service):
    """A ``socketserver`` server on a free loopback port, served from a daemon thread.

    Subclasses name ``server_class`` and ``handler_class``; a handler reaches the subclass's
    instance as ``self.server.owner``.
    """

    server_class: type[socketserver.BaseServer]
    handler_class: type[socketserver.BaseRequestHandler]

    def __init__(self) -> None:
        self._server: socketserver.BaseServer | None = None
        self._thread: threading.Thread | None = None
        self.port: int | None = None
        self.uri: str | None = None

    def start(self) -> Self:
        if self._server is not None:
            raise RuntimeError(f"{type(self).__name__} already started")
        server = self.server_class((LOOPBACK, 0), self.handler_class)
        server.owner = self
        self._server = server
        self.port = server.server_address[1]
        self.uri = f"http://{LOOPBACK}:{self.port}"
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"{type(self).__name__}:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


def _child_environment(extra_env: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("MLFLOW_TRACKING_URI", None)
    # no telemetry: the server would try to fetch its configuration from the internet
    env.update({"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"})
    # no job runner: since 3.x the server forks about eight huey consumers (each a full MLflow
    # import, ~240 MB) for GenAI jobs the registry never uses; a test may still turn it back on
    env.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    env.update(extra_env or {})
    return env


@functools.cache
def _server_has_workers_option() -> bool:
    """Whether this MLflow's ``mlflow server`` accepts ``--workers``.

    Asks ``mlflow server --help`` (about 3 s, once per process) rather than importing
    ``mlflow.cli``: that import pulls in the whole server and the SQLAlchemy store, which warns.
    """
    result = subprocess.run(
        [sys.executable, "-m", "mlflow", "server", "--help"],
        capture_output=True,
        text=True,
        env=_child_environment(),
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )
    return "--workers" in result.stdout


def _tail(path: Path, lines: int = 60) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"
    return "\n".join(text.splitlines()[-lines:])


# urllib would otherwise honour HTTP(S)_PROXY for loopback addresses.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class MlflowServer(Service):
    """``mlflow server`` in a subprocess, stored under ``directory``.

    Use as a context manager, or call ``start()`` / ``stop()``. ``uri`` is
    ``http://127.0.0.1:PORT``. ``extra_args`` are appended to the command line (e.g.
    ``["--app-name", "basic-auth"]``); ``extra_env`` is added to the child's environment, which
    is otherwise a copy of ``os.environ`` without ``MLFLOW_TRACKING_URI``.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        extra_args: Iterable[str] = (),
        extra_env: Mapping[str, str] | None = None,
        startup_timeout: float = 90.0,
    ) -> None:
        self.directory = Path(directory).resolve()
        self.extra_args = list(extra_args)
        self.extra_env = dict(extra_env or {})
        self.startup_timeout = startup_timeout
        self.port = free_port()
        self.uri = f"http://{LOOPBACK}:{self.port}"
        self.backend_store_uri = f"sqlite:///{self.directory / 'mlflow.db'}"
        self.artifacts_destination = self.directory / "artifacts"
        self.log_path = self.directory / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.startup_seconds: float | None = None
        self._log_file = None

    def command(self) -> list[str]:
        cmd = [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            self.backend_store_uri,
            "--artifacts-destination",
            str(self.artifacts_destination),
            "--host",
            LOOPBACK,
            "--port",
            str(self.port),
        ]
        if _server_has_workers_option():
            cmd += ["--workers", "1"]
        return cmd + self.extra_args

    def environment(self) -> dict[str, str]:
        return _child_environment(self.extra_env)

    def log_tail(self, lines: int = 60) -> str:
        return _tail(self.log_path, lines)

    def start(self) -> MlflowServer:
        if self.process is not None:
            raise RuntimeError("MlflowServer already started")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.artifacts_destination.mkdir(parents=True, exist_ok=True)
        self._log_file = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        started = time.monotonic()
        self.process = subprocess.Popen(
            self.command(),
            cwd=self.directory,  # anything the server writes relative to CWD stays here
            env=self.environment(),
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: stop() takes the workers down too
        )
        try:
            self._wait_healthy(started)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def _wait_healthy(self, started: float) -> None:
        assert self.process is not None
        deadline = started + self.startup_timeout
        while True:
            code = self.process.poll()
            if code is not None:
                raise RuntimeError(
                    f"mlflow server exited with code {code} before answering /health; "
                    f"log {self.log_path}:\n{self.log_tail()}"
                )
            with (
                contextlib.suppress(urllib.error.URLError, OSError, http.client.HTTPException),
                _DIRECT.open(f"{self.uri}/health", timeout=2) as response,
            ):
                if response.status == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"mlflow server did not answer /health within {self.startup_timeout:.0f} s; "
                    f"log {self.log_path}:\n{self.log_tail()}"
                )
            time.sleep(0.2)

    def stop(self, timeout: float = 15.0) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        elif process is not None:
            # The leader is gone; make sure no worker of its group outlives it.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the requests library expects
    server: _ProxyHTTPServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _read_request_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip(), 16)
                if size == 0:
                    # Skip trailers up to the blank line.
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()  # CRLF after each chunk
        length = self.headers.get("Content-Length")
        if length is not None:
            return self.rfile.read(int(length))
        return None

    def _proxy(self) -> None:
        self.server.owner._record(self.command, self.path)
        body = self._read_request_body()
        target = self.server.owner.target
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["Host"] = target.netloc
        if body is not None:
            headers["Content-Length"] = str(len(body))
        connection_class = (
            http.client.HTTPSConnection if target.scheme == "https" else http.client.HTTPConnection
        )
        upstream = connection_class(target.hostname, target.port, timeout=120)
        try:
            upstream.request(self.command, target.path.rstrip("/") + self.path, body, headers)
            response = upstream.getresponse()
            payload = response.read()
            status, reason, upstream_headers = response.status, response.reason, response.headers
            upstream_length = response.getheader("Content-Length")
        except (OSError, http.client.HTTPException) as exc:
            message = f"proxy error: {exc!r}".encode()
            self.send_response(502)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(message)))
            self.end_headers()
            self.wfile.write(message)
            return
        finally:
            upstream.close()

        self.send_response_only(status, reason)
        for key, value in upstream_headers.items():
            if key.lower() not in HOP_BY_HOP:
                self.send_header(key, value)
        no_body = self.command == "HEAD" or status in (204, 304) or 100 <= status < 200
        if self.command == "HEAD" and upstream_length is not None:
            self.send_header("Content-Length", upstream_length)
        elif not no_body:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if not no_body:
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _proxy  # noqa: N815


class _ProxyHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    owner: CountingProxy


class CountingProxy(LoopbackThreadedServer):
    """A reverse proxy on a free loopback port that forwards everything to ``target`` and records
    each request as ``(method, path)``; ``path`` excludes the query string (see
    ``full_requests()`` for it).
    """

    server_class = _ProxyHTTPServer
    handler_class = _ProxyHandler

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = urlsplit(target.rstrip("/"))
        if self.target.scheme not in ("http", "https") or not self.target.hostname:
            raise ValueError(f"not an http(s) base URL: {target!r}")
        self._lock = threading.Lock()
        self._requests: list[tuple[str, str]] = []

    def _record(self, method: str, target: str) -> None:
        with self._lock:
            self._requests.append((method, target))

    @property
    def requests(self) -> list[tuple[str, str]]:
        """A copy of the ``(method, path)`` pairs seen so far, in arrival order."""
        return [(method, urlsplit(target).path) for method, target in self.full_requests()]

    def full_requests(self) -> list[tuple[str, str]]:
        """Like ``requests``, but with the query string kept."""
        with self._lock:
            return list(self._requests)

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()

    def count(self, prefix: str | None = None) -> int:
        """How many requests were seen, or how many had a path starting with ``prefix``."""
        return sum(1 for _, path in self.requests if prefix is None or path.startswith(prefix))
