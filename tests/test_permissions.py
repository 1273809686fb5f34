"""Who may write an advice: a real basic-auth ``mlflow server``, real users, no mocks.

One ``mlflow server --app-name basic-auth`` per module (``tests/auth_server.py``), whose
``default_permission`` is READ. Its users, made by the admin through MLflow's API, each with a
distinctive password (``pw-<uuid>``):

- ``reader``: READ on everything (the default);
- ``editor``: EDIT on the registered models it advises, and EDIT on the advisor experiment
  (``staleness/<model>``) where the admin created it; where none exists yet the editor creates it;
- ``half``: EDIT on the registered model, READ only on its existing advisor experiment.

The promise under test (README, "The CLI"; the issue's permission check): before the first
write the advisor checks the user's permission on the registered model and on the advisor
experiment; without EDIT it says "no permission to write advice for model 'X' ..." (exit 1, one
line) and writes nothing, no experiment and no run; ``--dry-run`` works with READ; wrong
credentials give one line naming the server and the user, never the password. No password ever
reaches stdout, stderr, the logs, a tag, an artifact, the report or the dry-run plan, not even
one given inside the tracking URI (``http://user:password@host``).

Every case runs through the API (``Advisor(...).advise``, credentials in the environment, logs
captured) and through the CLI in a subprocess. At the end of the module a table of the cases
and what was observed is printed to the terminal (and written to ``permission-cases.txt`` in the
module's temporary folder).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow
import mlflow.telemetry
import pandas as pd
import pytest
from auth_server import AuthServer, User, credentials, new_password
from mlflow.entities import ViewType
from registry_helpers import (
    TARGET,
    client_for,
    make_frame,
    predictions_with_error,
    register_version,
    snapshot,
    unique_name,
)

from mlflow_staleness import CostModel, StalenessError
from mlflow_staleness.adapter import advisor_experiment
from mlflow_staleness.advisor import Advisor

PREDICTION = "prediction"
#: A retrain costs 50 EUR, a wrong prediction 1 EUR, 1,000 predictions per window.
COST = CostModel(compute_cost=50, error_cost=1.0, predictions_per_step=1000, currency="EUR")
COST_FLAGS = ("--retrain-cost", "50", "--error-cost", "1", "--predictions-per-step", "1000")
#: The machine is shared with other test runs; a basic-auth request can take a second.
SERVER_TIMEOUT = 60
PROCESS_TIMEOUT = 600
DENIED = "no permission to write advice for model '{}'"
#: MLflow's telemetry off: it would try the internet from the test process and the CLI.
NO_TELEMETRY = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
#: A URL carrying user information (``scheme://user:password@host``).
USERINFO = re.compile(rb"https?://[^/\s\"'<>@]+@")


# ---------------------------------------------------------------------------------- the world
@dataclass
class Outcome:
    case: str
    via: str
    expected: str
    observed: str = "(not reached)"
    seconds: float = 0.0


@dataclass
class World:
    """The module's server, users, data, and the outcomes for the final table."""

    server: AuthServer
    reader: User
    editor: User
    half: User
    frame: pd.DataFrame
    data: Path
    folder: Path
    #: a model the admin advised once, so that its advisor experiment exists
    shared: str = ""
    shared_experiment_id: str = ""
    #: every password (and wrong password) used in the module
    secrets: list[str] = field(default_factory=list)
    #: models holding an advice (for the report and the final scan)
    advised: list[str] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def uri(self) -> str:
        return self.server.uri

    @property
    def admin(self) -> User:
        return self.server.admin

    def register(self, prefix: str) -> str:
        """A new registered model with one served version (alias champion), made by the admin;
        the version's run holds a reference (fingerprint, val_loss), no logged model."""
        name = unique_name(prefix)
        with credentials(self.admin):
            register_version(
                self.uri, name, make_frame(seed=1), val_loss=0.1, alias="champion", log_model=False
            )
        return name

    def snapshot(self, name: str) -> dict[str, Any]:
        """Everything the advisor could write for ``name``, read as the admin."""
        with credentials(self.admin):
            return snapshot(self.uri, name)

    def runs_about(self, name: str) -> list[str]:
        """Ids of runs anywhere on the server that the advisor made for ``name``."""
        with credentials(self.admin):
            client = client_for(self.uri)
            ids = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
            runs = client.search_runs(
                ids, f"tags.`staleness.model` = '{name}'", run_view_type=ViewType.ALL
            )
        return [run.info.run_id for run in runs]

    def history(self, name: str) -> list[dict]:
        with credentials(self.admin):
            return Advisor(name, tracking_uri=self.uri, server_timeout=SERVER_TIMEOUT).history()

    def outcome(self, case: str, via: str, expected: str) -> Outcome:
        record = Outcome(case, via, expected)
        self.outcomes.append(record)
        return record


def _print_table(world: World, config: pytest.Config) -> None:
    """The cases and what was observed, on the terminal (past pytest's output capture) and in
    ``permission-cases.txt`` beside the server's folder."""
    lines = [
        "",
        "permission cases against a basic-auth mlflow server (default READ)",
        f"{'case':<34} {'via':<4} {'expected':<30} {'s':>5}  observed",
    ]
    for o in world.outcomes:
        observed = o.observed
        for secret in world.secrets:  # a leak shows as such, not as the password itself
            observed = observed.replace(secret, "<PASSWORD>")
        observed = observed if len(observed) <= 150 else observed[:147] + "..."
        lines.append(f"{o.case:<34} {o.via:<4} {o.expected:<30} {o.seconds:5.1f}  {observed}")
    text = "\n".join(lines)
    (world.folder / "permission-cases.txt").write_text(text + "\n", encoding="utf-8")
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None:
        return
    disabled = capture.global_and_fixture_disabled() if capture else contextlib.nullcontext()
    with disabled:
        reporter.write_line(text)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest):
    folder = tmp_path_factory.mktemp("permissions")
    saved = dict(os.environ)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    # MLflow's telemetry thread (started by ``import mlflow``) unsets _MLFLOW_TELEMETRY_SESSION_ID
    # when it cannot fetch its configuration (no internet here); landing while requests iterates
    # os.environ, that failed this fixture once with a KeyError. Off first, then nothing to unset.
    os.environ.update(NO_TELEMETRY)
    mlflow.telemetry.set_telemetry_client()
    server = AuthServer(folder / "server")
    server.start()
    try:
        reader = server.create_user("reader")
        editor = server.create_user("editor")
        half = server.create_user("half")
        frame = make_frame(n=300, seed=7)
        frame[PREDICTION] = predictions_with_error(frame[TARGET], 0.1, seed=7)
        data = folder / "window.parquet"
        frame.to_parquet(data, index=False)
        world = World(server, reader, editor, half, frame, data, folder)
        world.secrets = [server.admin.password, reader.password, editor.password, half.password]

        # The admin advises once on the shared model: its advisor experiment now exists, owned
        # by the admin. The editor gets EDIT on both; half gets EDIT on the model, READ on the
        # experiment.
        world.shared = world.register("perm-shared")
        with credentials(server.admin):
            Advisor(world.shared, cost=COST, tracking_uri=world.uri).advise(
                frame, labels=TARGET, predictions=PREDICTION, window="w0-admin"
            )
            experiment = client_for(world.uri).get_experiment_by_name(
                advisor_experiment(world.shared)
            )
        assert experiment is not None, "the admin's advice made no advisor experiment"
        world.shared_experiment_id = experiment.experiment_id
        world.advised.append(world.shared)
        server.grant(editor, "registered_model", world.shared, "EDIT")
        server.grant(editor, "experiment", world.shared_experiment_id, "EDIT")
        server.grant(half, "registered_model", world.shared, "EDIT")
        server.grant(half, "experiment", world.shared_experiment_id, "READ")
        # what the server itself resolves: the preconditions of the cases below
        resolved = {
            (user.username, kind): server.permission(user, kind, resource)
            for user in (reader, editor, half)
            for kind, resource in (
                ("registered_model", world.shared),
                ("experiment", world.shared_experiment_id),
            )
        }
        assert resolved == {
            ("reader", "registered_model"): "READ",
            ("reader", "experiment"): "READ",
            ("editor", "registered_model"): "EDIT",
            ("editor", "experiment"): "EDIT",
            ("half", "registered_model"): "EDIT",
            ("half", "experiment"): "READ",
        }, resolved
        yield world
        _print_table(world, request.config)
    finally:
        server.stop()
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(autouse=True)
def _clean_environment() -> Iterator[None]:
    """No test leaves credentials, a tracking URI or MLflow's request bounds behind."""
    saved = dict(os.environ)
    for key in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        os.environ.pop(key, None)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every log record at DEBUG, MLflow's too (its logger does not propagate to the root)."""
    caplog.set_level(logging.DEBUG)
    mlflow_logger = logging.getLogger("mlflow")
    level = mlflow_logger.level
    mlflow_logger.addHandler(caplog.handler)
    mlflow_logger.setLevel(logging.DEBUG)
    try:
        yield caplog
    finally:
        mlflow_logger.removeHandler(caplog.handler)
        mlflow_logger.setLevel(level)


# ---------------------------------------------------------------------------------- helpers
def _no_secret(world: World, text: str | bytes, where: str) -> None:
    data = text.encode() if isinstance(text, str) else text
    for secret in world.secrets:
        assert secret.encode() not in data, f"a password appears in {where}"
    found = USERINFO.search(data)
    assert found is None, f"a URL with user information appears in {where}: {found.group()!r}"


def _logged(world: World, logs: pytest.LogCaptureFixture, where: str) -> None:
    text = logs.text + "\n".join(
        "".join(traceback.format_exception(*r.exc_info)) for r in logs.records if r.exc_info
    )
    _no_secret(world, text, f"the log output of {where}")


def _command() -> list[str]:
    script = shutil.which("mlflow-staleness", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "mlflow_staleness.cli"]


@dataclass
class Cli:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def error_line(self) -> str:
        """The one ``error: ...`` line the CLI promises on exit 1."""
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, f"expected one error line, got:\n{self.stderr}"
        assert lines[0].startswith("error: "), self.stderr
        return lines[0]

    def summary(self) -> str:
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        first = lines[0] if lines else (self.stdout.splitlines() or [""])[0]
        return f"exit {self.returncode}: {first}"


def _cli(
    world: World,
    user: User | None,
    *args: Any,
    uri: str | None = None,
    record: Outcome | None = None,
    name: str | None = None,
    before: dict[str, Any] | None = None,
    server_timeout: float = SERVER_TIMEOUT,
) -> Cli:
    """``mlflow-staleness ARGS --tracking-uri URI`` in a subprocess, as ``user``.

    The outcome goes to ``record`` first (with what was written to model ``name`` since
    ``before``), then the output is checked for passwords."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(NO_TELEMETRY)
    if user is not None:
        env.update(user.env())
    command = [*_command(), *map(str, args), "--tracking-uri", uri or world.uri]
    command += ["--server-timeout", str(server_timeout)]
    started = time.monotonic()
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=PROCESS_TIMEOUT,
        check=False,
    )
    done = Cli(result.returncode, result.stdout, result.stderr, time.monotonic() - started)
    if record is not None:
        record.seconds = done.seconds
        record.observed = done.summary()
        if name is not None and before is not None:
            record.observed = _written(before, world.snapshot(name)) + " | " + record.observed
    _no_secret(world, done.stdout, f"the stdout of {args[:2]}")
    _no_secret(world, done.stderr, f"the stderr of {args[:2]}")
    return done


def _advise_args(world: World, name: str, window: str, *extra: str) -> list[Any]:
    return [
        "advise",
        name,
        "--data",
        world.data,
        "--target",
        TARGET,
        "--predictions-col",
        PREDICTION,
        *COST_FLAGS,
        "--window",
        window,
        *extra,
    ]


def _api_advise(world: World, user: User, name: str, window: str, **kwargs: Any):
    """``Advisor(name).advise(...)`` as ``user``: (the advisor, the recommendation or the error,
    seconds)."""
    started = time.monotonic()
    advisor = Advisor(name, cost=COST, tracking_uri=world.uri, server_timeout=SERVER_TIMEOUT)
    with credentials(user):
        try:
            result: Any = advisor.advise(
                world.frame, labels=TARGET, predictions=PREDICTION, window=window, **kwargs
            )
        except Exception as exc:  # the caller asserts on it
            result = exc
    return advisor, result, time.monotonic() - started


def _api_summary(result: Any) -> str:
    if isinstance(result, BaseException):
        return f"{type(result).__name__}: {str(result).splitlines()[0] if str(result) else ''}"
    return f"returned {result.action} (advice {result.advice_id})"


def _error_text(error: BaseException) -> str:
    return "".join(traceback.format_exception(error))


def _written(before: dict[str, Any], after: dict[str, Any]) -> str:
    """What changed between two snapshots, in a few words."""
    if before == after:
        return "nothing written"
    parts = []
    if before["advisor_experiment"] is None and after["advisor_experiment"] is not None:
        parts.append(
            f"created the advisor experiment with {len(after['advisor_experiment']['runs'])} run(s)"
        )
    elif before["advisor_experiment"] != after["advisor_experiment"]:
        parts.append("changed the advisor experiment/run")
    if before["versions"] != after["versions"]:
        parts.append("changed version tags")
    if before["model"] != after["model"]:
        parts.append("changed the registered model")
    return "WROTE: " + ", ".join(parts)


def _assert_nothing_written(world: World, name: str, before: dict[str, Any]) -> str:
    after = world.snapshot(name)
    written = _written(before, after)
    if before["advisor_experiment"] is None:
        assert after["advisor_experiment"] is None, f"{written}: {after['advisor_experiment']}"
        assert world.runs_about(name) == [], f"{written}: runs made for {name}"
    assert after == before, written
    return written


def _assert_advice_written(world: World, name: str, advice_id: str, window: str) -> None:
    after = world.snapshot(name)
    tags = after["versions"]["1"]["tags"]
    assert tags.get("staleness.advice_id") == advice_id, tags
    assert tags.get("staleness.window") == window, tags
    assert after["advisor_experiment"] is not None
    assert after["advisor_experiment"]["runs"], "no advisor run"
    rows = [(row["window"], row["advice_id"]) for row in world.history(name)]
    assert (window, advice_id) in rows, rows


# ---------------------------------------------------------------------------------- 1. reader
@pytest.mark.parametrize("via", ["api", "cli"])
def test_reader_is_refused_and_nothing_is_written(
    world: World, via: str, logs: pytest.LogCaptureFixture
) -> None:
    name = world.register(f"perm-reader-{via}")
    before = world.snapshot(name)
    assert before["advisor_experiment"] is None
    record = world.outcome("1 reader (READ everywhere)", via, "refused, nothing written")
    expected = DENIED.format(name)
    if via == "api":
        _, result, record.seconds = _api_advise(world, world.reader, name, "w1")
        record.observed = _api_summary(result)
        _logged(world, logs, "the reader's advise")
        if isinstance(result, BaseException):
            _no_secret(world, _error_text(result), "the error")
        record.observed = _written(before, world.snapshot(name)) + " | " + record.observed
        assert isinstance(result, StalenessError), record.observed
        assert expected in str(result), str(result)
    else:
        args = _advise_args(world, name, "w1")
        done = _cli(world, world.reader, *args, record=record, name=name, before=before)
        assert done.returncode == 1, (done.stdout, done.stderr)
        assert expected in done.error_line()
        assert done.stdout == ""
    _assert_nothing_written(world, name, before)


# ---------------------------------------------------------------------------------- 2. dry run
@pytest.mark.parametrize("via", ["api", "cli"])
def test_reader_dry_run_shows_the_plan_and_writes_nothing(
    world: World, via: str, logs: pytest.LogCaptureFixture
) -> None:
    name = world.register(f"perm-dry-{via}")
    before = world.snapshot(name)
    record = world.outcome("2 reader --dry-run", via, "plan printed, nothing written")
    if via == "api":
        advisor, result, record.seconds = _api_advise(world, world.reader, name, "w1", dry_run=True)
        record.observed = _api_summary(result)
        _logged(world, logs, "the reader's dry run")
        if isinstance(result, BaseException):
            _no_secret(world, _error_text(result), "the error")
        record.observed = _written(before, world.snapshot(name)) + " | " + record.observed
        assert not isinstance(result, BaseException), _error_text(result)
        assert result.action in ("keep", "retrain", "promote")
        plan = advisor.last_plan
        kinds = [write.kind for write in plan]
        assert kinds[0] == "create-experiment", kinds
        assert any(w.key == "staleness.advice_id" for w in plan), kinds
        for write in plan:
            _no_secret(world, write.describe(), "the dry-run plan")
            _no_secret(world, write.payload, f"the planned artifact {write.key}")
    else:
        args = _advise_args(world, name, "w1", "--dry-run")
        done = _cli(world, world.reader, *args, record=record, name=name, before=before)
        assert done.returncode == 0, (done.stdout, done.stderr)
        assert done.stdout.startswith("dry run: "), done.stdout
        assert "writes planned, none made" in done.stdout
        assert "create-experiment" in done.stdout
        assert "staleness.advice_id" in done.stdout
    _assert_nothing_written(world, name, before)


# ---------------------------------------------------------------------------------- 3. editor
def test_editor_creates_the_advisor_experiment_and_writes(
    world: World, logs: pytest.LogCaptureFixture
) -> None:
    """EDIT on the registered model, no advisor experiment yet: the editor may create it."""
    name = world.register("perm-editor-new")
    world.server.grant(world.editor, "registered_model", name, "EDIT")
    assert world.snapshot(name)["advisor_experiment"] is None
    record = world.outcome("3 editor, no advisor experiment", "api", "advice written")
    _, result, record.seconds = _api_advise(world, world.editor, name, "w1")
    record.observed = _api_summary(result)
    _logged(world, logs, "the editor's advise")
    assert not isinstance(result, BaseException), _error_text(result)
    world.advised.append(name)
    _assert_advice_written(world, name, result.advice_id, "w1")
    record.observed = "advice written, history has the row | " + record.observed


def test_editor_writes_into_the_existing_advisor_experiment(world: World) -> None:
    """EDIT on the registered model and on the advisor experiment the admin created."""
    name = world.shared
    record = world.outcome("3 editor, EDIT on existing exp.", "cli", "advice written")
    args = _advise_args(world, name, "w2-editor", "--json")
    done = _cli(world, world.editor, *args, record=record)
    assert done.returncode == 0, (done.stdout, done.stderr)
    advice = json.loads(done.stdout)
    _assert_advice_written(world, name, advice["advice_id"], "w2-editor")
    windows = [row["window"] for row in world.history(name)]
    assert windows == ["w0-admin", "w2-editor"], windows
    record.observed = "advice written, history has the row | " + record.observed


# ---------------------------------------------------------------------------------- 4. half
@pytest.mark.parametrize("via", ["api", "cli"])
def test_read_only_on_the_advisor_experiment_is_refused(
    world: World, via: str, logs: pytest.LogCaptureFixture
) -> None:
    """EDIT on the model is not enough when the existing advisor experiment is READ only."""
    name = world.shared
    experiment = advisor_experiment(name)
    before = world.snapshot(name)
    assert before["advisor_experiment"] is not None
    record = world.outcome("4 half (EDIT model, READ exp.)", via, "refused, names the exp.")
    if via == "api":
        _, result, record.seconds = _api_advise(world, world.half, name, f"w3-half-{via}")
        record.observed = _api_summary(result)
        _logged(world, logs, "half's advise")
        if isinstance(result, BaseException):
            _no_secret(world, _error_text(result), "the error")
        record.observed = _written(before, world.snapshot(name)) + " | " + record.observed
        assert isinstance(result, StalenessError), record.observed
        message = str(result)
    else:
        args = _advise_args(world, name, f"w3-half-{via}")
        done = _cli(world, world.half, *args, record=record, name=name, before=before)
        assert done.returncode == 1, (done.stdout, done.stderr)
        message = done.error_line()
        assert done.stdout == ""
    assert DENIED.format(name) in message, message
    assert experiment in message, message
    _assert_nothing_written(world, name, before)


# ---------------------------------------------------------------------------------- 5. wrong
@pytest.mark.parametrize("who", ["wrong-password", "unknown-user"])
@pytest.mark.parametrize("via", ["api", "cli"])
def test_wrong_credentials_one_clear_line(
    world: World, via: str, who: str, logs: pytest.LogCaptureFixture
) -> None:
    user = User(
        "editor" if who == "wrong-password" else unique_name("nobody"), new_password("pw-wrong")
    )
    world.secrets.append(user.password)
    name = world.shared
    before = world.snapshot(name)
    record = world.outcome(f"5 {who}", via, "one line: server, user")
    if via == "api":
        _, result, record.seconds = _api_advise(world, user, name, f"w4-{who}")
        record.observed = _api_summary(result)
        record.observed = _written(before, world.snapshot(name)) + " | " + record.observed
        _logged(world, logs, "an advise with wrong credentials")
        assert isinstance(result, StalenessError), record.observed
        _no_secret(world, _error_text(result), "the error")
        message = str(result)
        assert len(message.splitlines()) == 1, message
    else:
        args = _advise_args(world, name, f"w4-{who}")
        done = _cli(world, user, *args, record=record, name=name, before=before)
        assert done.returncode == 1, (done.stdout, done.stderr)
        message = done.error_line()
    assert world.uri in message, message
    assert f"'{user.username}'" in message or f" {user.username} " in message, message
    assert re.search(r"credential|authenticat", message, re.IGNORECASE), message
    _assert_nothing_written(world, name, before)


# ---------------------------------------------------------------------------------- 6. leaks
def test_credentials_in_the_tracking_uri_are_never_printed_or_written(world: World) -> None:
    """MLflow's client accepts ``http://user:password@host`` (requests sends it as basic auth).
    Whatever the advisor does with such a URI, the password never reaches its output, its
    errors or anything it writes."""
    name = world.register("perm-userinfo")
    world.server.grant(world.editor, "registered_model", name, "EDIT")
    before = world.snapshot(name)
    host = world.uri.removeprefix("http://")
    uri = f"http://{world.editor.username}:{world.editor.password}@{host}"
    record = world.outcome("6 user:password@ in the URI", "cli", "no password anywhere")
    args = _advise_args(world, name, "w5-userinfo")
    # a short bound: a URI the advisor cannot reach should not hold the module up for a minute
    done = _cli(
        world, None, *args, uri=uri, record=record, name=name, before=before, server_timeout=15
    )
    assert done.returncode in (0, 1), (done.stdout, done.stderr)
    if done.returncode == 1:
        line = done.error_line()
        assert host in line, line  # the server is still named, without the credentials
        _assert_nothing_written(world, name, before)
    else:
        world.advised.append(name)
        after = world.snapshot(name)
        assert after["versions"]["1"]["tags"].get("staleness.window") == "w5-userinfo"


def test_a_reader_in_the_tracking_uri_is_refused_before_any_write(world: World) -> None:
    """With ``http://reader:password@host`` and no MLFLOW_TRACKING_USERNAME, the pre-check asks
    about the URI's user: the reader is refused before the first write, as with the variables."""
    name = world.register("perm-userinfo-reader")
    before = world.snapshot(name)
    host = world.uri.removeprefix("http://")
    uri = f"http://{world.reader.username}:{world.reader.password}@{host}"
    record = world.outcome("6 reader:password@ in the URI", "cli", "refused, nothing written")
    args = _advise_args(world, name, "w6-userinfo")
    done = _cli(world, None, *args, uri=uri, record=record, name=name, before=before)
    assert done.returncode == 1, (done.stdout, done.stderr)
    line = done.error_line()
    assert DENIED.format(name) in line, line
    assert f"user {world.reader.username!r}" in line, line
    assert host in line, line
    _assert_nothing_written(world, name, before)


def _scan_server(world: World) -> int:
    """Every tag of every registered model and version, every param and tag of every advisor
    run and every byte of its artifacts, as the admin: no password, no URL with credentials.
    Returns the number of artifact files read."""
    files = 0
    with credentials(world.admin):
        client = client_for(world.uri)
        for model in client.search_registered_models(max_results=1000):
            _no_secret(world, repr(dict(model.tags)), f"the tags of model {model.name}")
            for version in client.search_model_versions(f"name='{model.name}'"):
                full = client.get_model_version(model.name, version.version)
                where = f"the tags of {model.name} v{version.version}"
                _no_secret(world, repr(dict(full.tags)), where)
        experiments = client.search_experiments(
            view_type=ViewType.ALL, filter_string="name LIKE 'staleness/%'"
        )
        assert experiments, "no advisor experiment on the server"
        for experiment in experiments:
            _no_secret(world, repr(experiment.tags), f"the tags of {experiment.name}")
            runs = client.search_runs([experiment.experiment_id], run_view_type=ViewType.ALL)
            for run in runs:
                where = f"advisor run {run.info.run_id} of {experiment.name}"
                _no_secret(world, repr(run.data.tags), f"the tags of {where}")
                _no_secret(world, repr(run.data.params), f"the params of {where}")
                with tempfile.TemporaryDirectory() as tmp:
                    root = Path(
                        mlflow.artifacts.download_artifacts(
                            run_id=run.info.run_id, dst_path=tmp, tracking_uri=world.uri
                        )
                    )
                    for path in sorted(p for p in root.rglob("*") if p.is_file()):
                        files += 1
                        _no_secret(world, path.read_bytes(), f"artifact {path.name} of {where}")
    return files


def test_no_password_in_anything_written_or_printed(
    world: World, logs: pytest.LogCaptureFixture
) -> None:
    """Reports, dry-run plans (verbose, MLflow's logs on stderr) and the whole server's state."""
    record = world.outcome("6 leak scan", "both", "no password anywhere")
    started = time.monotonic()
    checked: list[str] = []

    # the report, written by a READ user: through the CLI (a file) and the API (a string)
    for name in world.advised:
        out = world.folder / f"report-{name}.html"
        done = _cli(world, world.reader, "-v", "report", name, "--out", out)
        assert done.returncode == 0, (done.stdout, done.stderr)
        page = out.read_bytes()
        assert b"<html" in page.lower()
        _no_secret(world, page, f"the report of {name}")
        checked.append(f"report {name}")
    with credentials(world.reader):
        page = Advisor(world.shared, tracking_uri=world.uri, server_timeout=SERVER_TIMEOUT).report()
    _no_secret(world, page, "Advisor.report()")
    _logged(world, logs, "Advisor.report()")

    # a verbose dry run by each user: the plan on stdout, MLflow's logs on stderr
    for user in (world.reader, world.editor, world.half):
        args = _advise_args(world, world.shared, "w6-dry", "--dry-run")
        done = _cli(world, user, "-v", *args)
        assert done.returncode == 0, (user.username, done.stdout, done.stderr)
        assert "writes planned, none made" in done.stdout
        checked.append(f"dry run {user.username}")

    files = _scan_server(world)
    assert files >= 4 * len(world.advised), files  # history, advice, plot, report per advice
    record.seconds = time.monotonic() - started
    record.observed = f"clean: {len(checked)} outputs, {files} artifact files, all tags"
