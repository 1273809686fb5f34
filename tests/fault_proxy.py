"""A loopback HTTP proxy that forwards to a real ``mlflow server`` and breaks on demand.

``FaultProxy`` listens on a free port of 127.0.0.1 and forwards every HTTP/1.1 request it reads
(request line, headers, a ``Content-Length`` or chunked body) to ``target``, one upstream
connection per request, and relays the response; client connections are kept alive, as the
``requests`` library expects. It numbers the requests it forwards (1, 2, ...) and records each one
(:class:`Request`): method, path, query, and for writes what kind of write it is (``kind``, with
the tag key or artifact path in ``key``), so that a test can say what a cut interrupted.

Two faults, armed with :meth:`FaultProxy.arm` (and cleared with :meth:`FaultProxy.reset`):

``cut_after=N``
    The N-th request is forwarded and the server's whole response is read (so the server has
    committed whatever the request did); then the client connection is closed WITHOUT relaying the
    response. From then on the network is down: every new connection is closed as soon as it is
    accepted, and a request arriving on a kept-alive connection is read (and recorded as
    ``refused``) and its connection closed, without forwarding, until ``reset()``.
``drop_nth=N``
    Only the N-th response is dropped the same way; the requests after it pass. A client that
    retries (MLflow retries POSTs too) then sends the committed request a second time.

``fail_nth=N``
    The N-th request is answered with a 500 and never forwarded: the server did nothing. Later
    requests pass (a client that retries sends it again, and gets through).
``chaos=Chaos(rate, seed)``
    Each numbered request, with probability ``rate`` (seeded, so a run can be replayed), gets one
    of three faults, drawn evenly: ``500`` (answered with a 500, not forwarded), ``timeout``
    (forwarded, so the server commits it, then held for ``hold`` seconds without an answer and
    closed) or ``cut`` (forwarded, then the connection closed without the answer). The faults
    injected are counted by kind in :attr:`FaultProxy.faults`; the network stays up.

Requests to ``uncounted`` paths (by default MLflow's capability probe
``/api/3.0/mlflow/server-info``, which its client makes at first contact and again whenever its
cache of the answer expires) pass through and are recorded with ``seq`` 0, without a number:
otherwise every N after one would shift by one from one run of the same advice to the next.

Everything binds to 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import random
import socket
import socketserver
import threading
import time
from collections import Counter
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from mlflow_servers import HOP_BY_HOP, LoopbackThreadedServer

_MAX_LINE = 65536
_MAX_JSON_PEEK = 1 << 20  # request bodies up to 1 MiB are parsed to name the write

#: Write endpoints of MLflow's REST API (the part after ``/mlflow/``), by method.
_WRITES = {
    ("POST", "experiments/create"): "create-experiment",
    ("POST", "runs/create"): "create-run",
    ("POST", "runs/update"): "update-run",
    ("POST", "runs/set-tag"): "set-run-tag",
    ("POST", "runs/log-metric"): "log-metric",
    ("POST", "runs/log-parameter"): "log-param",
    ("POST", "model-versions/set-tag"): "set-version-tag",
    ("DELETE", "model-versions/delete-tag"): "delete-version-tag",
    ("POST", "model-versions/transition-stage"): "transition-stage",
    ("POST", "registered-models/set-tag"): "set-model-tag",
    ("DELETE", "registered-models/delete-tag"): "delete-model-tag",
    ("POST", "registered-models/alias"): "set-alias",
    ("DELETE", "registered-models/alias"): "delete-alias",
}
#: Paths forwarded without a number (see the module's docstring).
UNCOUNTED = frozenset({"/api/3.0/mlflow/server-info", "/api/2.0/mlflow/server-info"})
#: POST endpoints that only read (MLflow searches with POST).
_POST_READS = ("/search", "/get", "-search", "server-info")


@dataclass
class Request:
    """One request the proxy saw.

    ``seq`` numbers the forwarded requests from 1 (0 for a refused or an uncounted one);
    ``endpoint`` is the path of a non-GET request (empty for reads by GET); ``kind`` is ``read``
    or the write it makes (``create-experiment``, ``create-run``, ``log-artifact``,
    ``log-metrics`` and ``set-run-tag`` for the two kinds of ``runs/log-batch``,
    ``set-version-tag``, ``set-model-tag``, ``set-alias``, ``delete-alias`` ...); ``key`` is the
    tag key(s), alias, experiment name or artifact path; ``outcome`` is ``relayed``, ``cut``,
    ``dropped``, ``refused``, ``error`` (the upstream failed; a 502 was relayed) or ``pending``
    while it is in flight.
    """

    seq: int
    method: str
    path: str
    query: str
    endpoint: str
    kind: str
    key: str
    outcome: str = "pending"
    status: int | None = None
    fault: str = ""  # the fault injected on it ("500", "timeout", "cut"), if one was

    @property
    def is_write(self) -> bool:
        return self.kind != "read"

    def describe(self) -> str:
        what = f"{self.kind} {self.key}".rstrip()
        return f"#{self.seq} {self.method} {self.path} [{what}] -> {self.outcome}"


@dataclass(frozen=True)
class Chaos:
    """Random faults on a share ``rate`` of the requests: see the module's docstring."""

    rate: float = 0.05
    seed: int = 0
    kinds: tuple[str, ...] = ("500", "timeout", "cut")
    hold: float = 3.0


_INJECTED_500 = b'{"error_code": "INTERNAL_ERROR", "message": "fault proxy: injected 500"}'


def classify(method: str, path: str, body: bytes | None) -> tuple[str, str]:
    """``(kind, key)`` of a request to MLflow's REST API; see :class:`Request`."""
    if "/mlflow-artifacts/artifacts/" in path and method == "PUT":
        return "log-artifact", unquote(path.split("/mlflow-artifacts/artifacts/", 1)[1])
    if method in ("GET", "HEAD", "OPTIONS"):
        return "read", ""
    endpoint = path.split("/mlflow/", 1)[1] if "/mlflow/" in path else path.lstrip("/")
    payload = _json(body)
    if (method, endpoint) == ("POST", "runs/log-batch"):
        metrics = payload.get("metrics") or []
        tags = payload.get("tags") or []
        params = payload.get("params") or []
        if metrics:
            return "log-metrics", ",".join(sorted({str(m.get("key")) for m in metrics}))
        if tags:
            return "set-run-tag", ",".join(str(t.get("key")) for t in tags)
        if params:
            return "log-params", ",".join(str(p.get("key")) for p in params)
        return "log-batch-empty", ""
    kind = _WRITES.get((method, endpoint))
    if kind is None:
        if method == "POST" and any(marker in endpoint for marker in _POST_READS):
            return "read", ""
        return f"write:{endpoint}", ""
    if kind == "create-experiment":
        return kind, str(payload.get("name", ""))
    if kind in ("set-alias", "delete-alias"):
        return kind, str(payload.get("alias", ""))
    return kind, str(payload.get("key", ""))


def _json(body: bytes | None) -> dict:
    if not body or len(body) > _MAX_JSON_PEEK:
        return {}
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class _Incoming:
    """One request read off a client connection."""

    def __init__(self, method: str, target: str, version: str, headers, body: bytes | None):
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body

    @property
    def wants_close(self) -> bool:
        connection = (self.headers.get("Connection") or "").lower()
        return "close" in connection or self.version == "HTTP/1.0"


def _read_request(rfile, wfile) -> _Incoming | None:
    """The next request on the connection, or None at a clean end of the stream."""
    line = rfile.readline(_MAX_LINE + 1)
    while line in (b"\r\n", b"\n"):  # tolerate blank lines between requests
        line = rfile.readline(_MAX_LINE + 1)
    if not line:
        return None
    parts = line.decode("latin-1").rstrip("\r\n").split()
    if len(parts) != 3:
        raise ValueError(f"bad request line {line[:200]!r}")
    method, target, version = parts
    headers = http.client.parse_headers(rfile)
    if (headers.get("Expect") or "").lower() == "100-continue":
        wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        wfile.flush()
    body = None
    if "chunked" in (headers.get("Transfer-Encoding") or "").lower():
        chunks = []
        while True:
            size = int(rfile.readline(_MAX_LINE + 1).split(b";", 1)[0].strip(), 16)
            if size == 0:
                while rfile.readline(_MAX_LINE + 1) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                break
            chunk = rfile.read(size)
            if len(chunk) < size:
                raise ValueError("connection closed inside a chunk")
            chunks.append(chunk)
            rfile.readline(_MAX_LINE + 1)  # CRLF after each chunk
        body = b"".join(chunks)
    elif headers.get("Content-Length") is not None:
        length = int(headers["Content-Length"])
        body = rfile.read(length)
        if len(body) < length:
            raise ValueError("connection closed inside the body")
    return _Incoming(method, target, version, headers, body)


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        owner = self.server.owner
        if owner.down:
            owner._note_refused_connection()
            return  # closed at once: the network is down
        while True:
            try:
                incoming = _read_request(self.rfile, self.wfile)
            except (OSError, ValueError):
                return
            if incoming is None:
                return
            record, action = owner._admit(incoming)
            if action == "refuse":
                return
            if action == "fail":
                owner._done_forwarding()
                owner._finish(record, "failed", 500)
                headers = [("Content-Type", "application/json")]
                try:
                    self._send(incoming, 500, "Internal Server Error", headers, _INJECTED_500)
                except OSError:
                    return
                if incoming.wants_close:
                    return
                continue
            try:
                response = owner._forward(incoming)
            finally:
                owner._done_forwarding()
            if response is None:
                owner._finish(record, "error", 502)
                self._send(incoming, 502, "Bad Gateway", [], b"proxy: upstream failed")
                return
            status, reason, headers, payload = response
            if action == "hold":
                time.sleep(owner._chaos.hold if owner._chaos else 0)
                owner._finish(record, "held", status)
                self._abort()
                return
            if action in ("cut", "drop"):
                owner._finish(record, "cut" if action == "cut" else "dropped", status)
                self._abort()
                return
            owner._finish(record, "relayed", status)
            try:
                self._send(incoming, status, reason, headers, payload)
            except OSError:
                return
            if incoming.wants_close:
                return

    def _abort(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send(self, incoming: _Incoming, status: int, reason: str, headers, payload: bytes):
        lines = [f"HTTP/1.1 {status} {reason}"]
        lines += [f"{k}: {v}" for k, v in headers if k.lower() not in HOP_BY_HOP]
        no_body = incoming.method == "HEAD" or status in (204, 304) or 100 <= status < 200
        if not no_body:
            lines.append(f"Content-Length: {len(payload)}")
        if incoming.wants_close:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head if no_body else head + payload)
        self.wfile.flush()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    owner: FaultProxy


class FaultProxy(LoopbackThreadedServer):
    """See the module's docstring. Use as a context manager, or ``start()`` / ``stop()``."""

    server_class = _Server
    handler_class = _Handler

    def __init__(
        self,
        target: str,
        *,
        upstream_timeout: float = 120.0,
        uncounted: frozenset[str] | set[str] = UNCOUNTED,
    ) -> None:
        super().__init__()
        self.target = urlsplit(target.rstrip("/"))
        if self.target.scheme != "http" or not self.target.hostname:
            raise ValueError(f"not an http base URL: {target!r}")
        self.upstream_timeout = upstream_timeout
        self.uncounted = frozenset(uncounted)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._requests: list[Request] = []
        self._forwarded = 0
        self._in_flight = 0
        self._refused_connections = 0
        self._cut_after: int | None = None
        self._drop_nth: int | None = None
        self._fail_nth: int | None = None
        self._chaos: Chaos | None = None
        self._random = random.Random(0)
        self._faults: Counter[str] = Counter()
        self._down = False

    # ------------------------------------------------------------------ control
    def arm(
        self,
        *,
        cut_after: int | None = None,
        drop_nth: int | None = None,
        fail_nth: int | None = None,
        chaos: Chaos | None = None,
    ) -> None:
        """Forget what was seen, bring the network up, and arm one fault (or none)."""
        if sum(v is not None for v in (cut_after, drop_nth, fail_nth, chaos)) > 1:
            raise ValueError("arm one fault at a time")
        for value in (cut_after, drop_nth, fail_nth):
            if value is not None and value < 1:
                raise ValueError(f"requests are numbered from 1, got {value}")
        with self._lock:
            self._requests.clear()
            self._forwarded = 0
            self._refused_connections = 0
            self._cut_after, self._drop_nth, self._fail_nth = cut_after, drop_nth, fail_nth
            self._chaos = chaos
            self._random = random.Random(chaos.seed if chaos else 0)
            self._faults = Counter()
            self._down = False

    @property
    def faults(self) -> Counter[str]:
        """The random faults injected since the last ``arm()``, by kind."""
        with self._lock:
            return Counter(self._faults)

    def forget(self) -> None:
        """Forget the requests seen (a long run's memory), keeping the armed fault and counts."""
        with self._lock:
            self._requests.clear()

    def reset(self) -> None:
        """No fault, the network up, nothing seen."""
        self.arm()

    @property
    def down(self) -> bool:
        """Whether a cut has happened (every connection is refused until ``reset()``)."""
        return self._down

    @property
    def requests(self) -> list[Request]:
        """Copies of the requests seen since the last ``arm()``/``reset()``, in arrival order."""
        with self._lock:
            return [Request(**vars(r)) for r in self._requests]

    @property
    def forwarded(self) -> list[Request]:
        """The numbered requests that reached the server (refused and uncounted ones left out):
        request N is ``forwarded[N - 1]``."""
        return [r for r in self.requests if r.seq > 0]

    @property
    def refused_connections(self) -> int:
        """Connections closed at once because the network was down."""
        with self._lock:
            return self._refused_connections

    def cut_request(self) -> Request | None:
        """The request whose response was cut or dropped, if one was."""
        return next((r for r in self.requests if r.outcome in ("cut", "dropped")), None)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until no request is being forwarded (a killed client's last request may still
        be on its way to the server); whether that happened within ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    # ------------------------------------------------------------------ used by the handler
    def _note_refused_connection(self) -> None:
        with self._lock:
            self._refused_connections += 1

    def _admit(self, incoming: _Incoming) -> tuple[Request, str]:
        split = urlsplit(incoming.target)
        kind, key = classify(incoming.method, split.path, incoming.body)
        with self._lock:
            record = Request(
                seq=0,
                method=incoming.method,
                path=split.path,
                query=split.query,
                endpoint="" if incoming.method == "GET" else split.path,
                kind=kind,
                key=key,
            )
            self._requests.append(record)
            if self._down:
                record.outcome = "refused"
                return record, "refuse"
            self._in_flight += 1
            if split.path in self.uncounted:
                return record, "forward"
            self._forwarded += 1
            record.seq = self._forwarded
            if self._cut_after is not None and record.seq == self._cut_after:
                self._down = True  # nothing gets through from now on, not even in parallel
                return record, "cut"
            if self._drop_nth is not None and record.seq == self._drop_nth:
                return record, "drop"
            if self._fail_nth is not None and record.seq == self._fail_nth:
                return record, "fail"
            if self._chaos is not None and self._random.random() < self._chaos.rate:
                record.fault = self._random.choice(self._chaos.kinds)
                self._faults[record.fault] += 1
                return record, {"500": "fail", "timeout": "hold", "cut": "drop"}[record.fault]
            return record, "forward"

    def _done_forwarding(self) -> None:
        with self._idle:
            self._in_flight -= 1
            if not self._in_flight:
                self._idle.notify_all()

    def _finish(self, record: Request, outcome: str, status: int | None) -> None:
        with self._lock:
            record.outcome, record.status = outcome, status

    def _forward(self, incoming: _Incoming):
        """``(status, reason, headers, body)`` of the server's whole response, or None."""
        target = self.target
        headers = {k: v for k, v in incoming.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["Host"] = target.netloc
        if incoming.body is not None:
            headers["Content-Length"] = str(len(incoming.body))
        upstream = http.client.HTTPConnection(
            target.hostname, target.port, timeout=self.upstream_timeout
        )
        try:
            upstream.request(
                incoming.method,
                target.path.rstrip("/") + incoming.target,
                incoming.body,
                headers,
            )
            response = upstream.getresponse()
            payload = response.read()
            return response.status, response.reason, list(response.getheaders()), payload
        except (OSError, http.client.HTTPException):
            return None
        finally:
            upstream.close()
