"""Connecting to a tracking server with a bounded wait, and turning MLflow's errors into ours."""

from __future__ import annotations

import contextlib
import http
import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from mlflow_staleness.exceptions import RegistryError, ServerError
from mlflow_staleness.redaction import register_secret

__all__ = [
    "DEFAULT_TIMEOUT",
    "connect",
    "mlflow_errors",
    "request_bounds",
    "tracking_uri_of",
]

#: Seconds the advisor waits for a tracking server before giving up (``--server-timeout``).
DEFAULT_TIMEOUT = 30.0
#: The oldest MLflow tracking server the advisor supports (and is tested against).
MIN_SERVER_VERSION = (2, 22)
_VERSION = re.compile(r"^\s*(\d+)\.(\d+)(?:\.(\d+))?")
_NOT_FOUND = {"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "ENDPOINT_NOT_FOUND"}
_DENIED = {"PERMISSION_DENIED", "UNAUTHENTICATED", "CUSTOMER_UNAUTHORIZED"}
# An HTTP status in MLflow's message ("failed with error code 403 != 200"), never a digit run
# inside a port or a path: "127.0.0.1:56403", "port=403" and ":403/" are not a refusal.
_STATUS = re.compile(r"(?<![\d:/.=])(40[13])(?![\d/])")


def public_uri(uri: str) -> str:
    """``uri`` without the user name and password it may carry, for messages.

    >>> public_uri("http://alice:secret@127.0.0.1:5000/")
    'http://127.0.0.1:5000/'
    """
    parts = urllib.parse.urlsplit(uri)
    if parts.username is None and parts.password is None:
        return uri
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def tracking_uri_of(tracking_uri: str | None) -> str:
    """The tracking URI in use: the one given, else ``MLFLOW_TRACKING_URI``, else MLflow's."""
    return tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or mlflow.get_tracking_uri()


def connect(tracking_uri: str | None = None, *, timeout: float = DEFAULT_TIMEOUT) -> MlflowClient:
    """A client for the tracking server, after checking that it answers within ``timeout`` s.

    MLflow's own retries can wait for minutes on a dead server, so the advisor probes the server
    first, and bounds each request inside :func:`request_bounds`.
    """
    uri = tracking_uri_of(tracking_uri)
    with contextlib.suppress(ValueError):
        register_secret(urllib.parse.urlsplit(uri).password)  # masked in all that follows
    if uri.startswith(("http://", "https://")):
        _probe(uri, timeout)
    if uri.startswith("sqlite:///"):
        database = Path(uri[len("sqlite:///") :].split("?")[0]).expanduser()
        if not database.is_file():
            raise ServerError(
                f"no MLflow database at {str(database)!r} (tracking URI {public_uri(uri)}); check "
                f"the path in MLFLOW_TRACKING_URI or --tracking-uri"
            )
    with mlflow_errors(f"connecting to the tracking store {public_uri(uri)}", uri):
        try:
            return MlflowClient(tracking_uri=uri, registry_uri=uri)
        except (TypeError, ValueError) as exc:
            raise ServerError(f"cannot use the tracking URI {public_uri(uri)!r}: {exc}") from exc


@contextlib.contextmanager
def request_bounds(timeout: float) -> Iterator[None]:
    """Bound each of MLflow's requests inside the block by about ``timeout`` seconds in all.

    MLflow reads ``MLFLOW_HTTP_REQUEST_TIMEOUT`` / ``MLFLOW_HTTP_REQUEST_MAX_RETRIES`` /
    ``MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR`` at each request; its defaults (120 s, 7 retries with
    exponential backoff) can wait for many minutes on a server that accepts connections but does
    not answer. Inside the block each request gets two tries of half the bound each, a second
    apart; a value the user set is honoured instead, and the others are removed after it.
    """
    wanted = {
        "MLFLOW_HTTP_REQUEST_TIMEOUT": str(max(1, round(timeout / 2))),
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
        "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    }
    added = [name for name in wanted if name not in os.environ]
    for name in added:
        os.environ[name] = wanted[name]
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def _probe(uri: str, timeout: float) -> None:
    """Wait until the server answers HTTP at all, for at most ``timeout`` seconds."""
    start = time.monotonic()
    uri = public_uri(uri)  # /health needs no login; urllib reads user:password@ as a host
    url = uri.rstrip("/") + "/health"
    last = "no answer"
    answered = False
    while not answered:
        left = timeout - (time.monotonic() - start)
        if left <= 0:
            raise ServerError(
                f"could not reach the MLflow tracking server at {uri} within {timeout:g} s "
                f"(last error: {last}). Check that the server runs and MLFLOW_TRACKING_URI (or "
                f"--tracking-uri) points at it; --server-timeout raises the bound."
            )
        try:
            with urllib.request.urlopen(url, timeout=max(0.1, min(left, 10.0))):
                answered = True
        except urllib.error.HTTPError:
            answered = True  # it answered; whatever /health says, the API calls will tell
        except (OSError, ValueError) as exc:
            last = str(getattr(exc, "reason", exc)) or type(exc).__name__
            time.sleep(min(1.0, max(0.0, timeout - (time.monotonic() - start))))
    check_server_version(uri, server_version(uri, max(1.0, timeout - (time.monotonic() - start))))


def server_version(uri: str, timeout: float) -> str | None:
    """The MLflow version a tracking server states at ``/version``, or None if it states none.

    A proxy or a hosted service may not answer ``/version``; the advisor then goes on, and an
    API the server lacks fails with its own error rather than weaker evidence. The question
    waits at most 2 s (``/version`` is a constant): a server that answers ``/health`` but not
    this costs little of the request bound.
    """
    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/version", timeout=min(timeout, 2.0)) as r:
            text = r.read(64).decode("ascii", errors="replace")
    except (OSError, ValueError):
        return None
    return text.strip() if _VERSION.match(text) else None


def check_server_version(uri: str, version: str | None) -> None:
    """Refuse a tracking server older than :data:`MIN_SERVER_VERSION`.

    >>> check_server_version("http://mlflow:5000", "2.22.5")
    >>> check_server_version("http://mlflow:5000", "2.17.2")
    Traceback (most recent call last):
    ...
    mlflow_staleness.exceptions.ServerError: the tracking server at http://mlflow:5000 runs \
MLflow 2.17.2; mlflow-staleness supports MLflow servers 2.22 and newer ...
    """
    match = _VERSION.match(version or "")
    if match is None:
        return
    if (int(match.group(1)), int(match.group(2))) < MIN_SERVER_VERSION:
        oldest = ".".join(map(str, MIN_SERVER_VERSION))
        raise ServerError(
            f"the tracking server at {public_uri(uri)} runs MLflow {version}; mlflow-staleness "
            f"supports MLflow servers {oldest} and newer (tested with 2.22 and 3.x), so it "
            f"reads nothing from this one rather than advise on partial evidence. Upgrade the "
            f"server to MLflow {oldest} or newer"
        )


@contextlib.contextmanager
def mlflow_errors(what: str, uri: str = "") -> Iterator[None]:
    """Translate MLflow and network errors raised inside the block into one-line errors."""
    uri_user = urllib.parse.unquote(urllib.parse.urlsplit(uri).username or "")
    uri = public_uri(uri)
    try:
        yield
    except MlflowException as exc:
        code = str(getattr(exc, "error_code", ""))
        message = str(exc.message if hasattr(exc, "message") else exc).splitlines()[0][:300]
        if code in _NOT_FOUND:
            raise RegistryError(f"{what}: {message}") from exc
        full = str(exc.message if hasattr(exc, "message") else exc)
        answer = _server_answer(full)
        if answer is not None and answer[0] not in (401, 403):
            raise ServerError(f"{what}: {_answered(uri, *answer)}") from exc
        if answer is None and _CLOSED.search(full):
            raise ServerError(f"{what}: {_closed(uri)}") from exc
        if "Max retries exceeded" in message or "timed out" in message.lower():
            raise ServerError(
                f"{what}: the tracking server {uri or ''} did not answer ({message})"
            ) from exc
        status = {match.group(1) for match in _STATUS.finditer(message)}
        user = os.environ.get("MLFLOW_TRACKING_USERNAME") or uri_user
        if code == "UNAUTHENTICATED" or "401" in status:
            who = f"of user {user!r}" if user else "(none were given)"
            raise ServerError(
                f"{what}: the tracking server {uri} refused the credentials {who} (HTTP 401). "
                f"Check MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD"
            ) from exc
        if code in _DENIED or "403" in status:
            raise ServerError(
                f"{what}: the server refused it ({message}). Check the credentials "
                f"(MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD) and permissions."
            ) from exc
        raise ServerError(f"{what}: MLflow error {code or ''}: {message}") from exc
    except OSError as exc:
        response = getattr(exc, "response", None)  # requests' HTTPError (an artifact request)
        status = getattr(response, "status_code", None)
        if isinstance(status, int) and status >= 400:
            said = _said(getattr(response, "text", "") or "")
            raise ServerError(f"{what}: {_answered(uri, status, said, False)}") from exc
        if _CLOSED.search(str(exc)):
            raise ServerError(f"{what}: {_closed(uri)}") from exc
        raise ServerError(f"{what}: network error talking to {uri or 'the server'}: {exc}") from exc


# MLflow's client retries 5xx answers and then reports only "too many 500 error responses"; an
# answer it does not retry comes with the body ("error code 400 != 200. Response body: '...'").
_RETRIED = re.compile(r"too many (\d{3}) error responses")
_ANSWERED = re.compile(r"error code (\d{3}) != 200\. Response body: '(.*)'", re.DOTALL)
# A server that fails on a request while the client still sends its body (an upload to an
# artifact store it cannot write) answers and closes: the client sees the connection reset.
_CLOSED = re.compile(r"Connection aborted|ConnectionResetError|RemoteDisconnected|reset by peer")


def _server_answer(message: str) -> tuple[int, str, bool] | None:
    """``(status, what the server said, retried)`` from an MLflow error, if the server answered."""
    retried = _RETRIED.search(message)
    if retried:
        return int(retried.group(1)), "", True
    answered = _ANSWERED.search(message)
    if answered:
        return int(answered.group(1)), _said(answered.group(2)), False
    return None


def _said(body: str) -> str:
    """The server's own message in an answer's body (MLflow's JSON ``message``, else the text)."""
    try:
        text = str(json.loads(body).get("message", body))
    except (ValueError, AttributeError):
        text = re.sub(r"<[^>]*>", " ", body)  # an HTML error page: its words
    return " ".join(text.split())[:300]


def _answered(uri: str, status: int, said: str, retried: bool) -> str:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "error"
    text = f"the tracking server {uri} answered HTTP {status} ({phrase})"
    text += " on every try" if retried else ""
    if said:
        text += f": {said}"
    if status >= 500:
        text += (
            ". The server failed on this request: its log says why (an artifact store it cannot "
            "write, a full disk or a database error are common causes)"
        )
    return text


def _closed(uri: str) -> str:
    return (
        f"the tracking server {uri} closed the connection in the middle of the request, before "
        f"an answer could be read. A server that fails on a request (for example writing to an "
        f"artifact store it cannot write) does this; its log says why"
    )
