"""Action last, and no credentials in anything the advisor prints or writes.

**Action last.** An alias or stage move is the last write of an advice, after the advice is
complete and shown as the current one. So at every cut point the serving alias points where it
was, or to a version that a complete advice recommended; a move that fails after the advice is
complete is reported as such (``ActionError``; the CLI exits 1 with one line saying the advice is
complete, what did not move, and to run the same command again), and running it again makes the
move. Checked here on a real ``mlflow server`` through a fault proxy that answers the move with a
500 without forwarding it, through the API and the CLI, with ``registry_helpers.snapshot`` before
and after; the cut sweeps over every write of a promote and a rollback are in
``tests/test_faults.py``.

**Redaction.** One function (:func:`mlflow_staleness.redaction.redact`) removes URL user-info,
secret environment variables' values, ``Authorization`` credentials and query-string tokens from
every error, CLI line, log line, tag and artifact. Property tests generate the class (a secret in
each of these forms, inside arbitrary text, never survives; text without credentials is
unchanged); end-to-end, a server that hangs is reached with ``http://user:password@host`` (MLflow's
own message then quotes the password: the premise is asserted), and a full advice against a real
``basic-auth`` server with credentials in the URI, in ``MLFLOW_TRACKING_PASSWORD`` and in
``MLFLOW_TRACKING_TOKEN`` (with a cut connection as well) is scanned: stdout, stderr, every log
record, the exceptions, every tag, every artifact, ``history --json`` and ``report --out``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import subprocess
import sys
import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from auth_server import AuthServer, new_password
from click.testing import CliRunner
from fault_proxy import FaultProxy
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from mlflow_servers import MlflowServer, free_port
from registry_helpers import (
    TARGET,
    client_for,
    make_frame,
    predictions_with_error,
    register_version,
    snapshot,
    unique_name,
)

from mlflow_staleness import CostModel
from mlflow_staleness.adapter.writing import Write
from mlflow_staleness.advisor import Advisor
from mlflow_staleness.cli import main
from mlflow_staleness.exceptions import (
    ActionError,
    NoPermissionError,
    ServerError,
    StalenessError,
)
from mlflow_staleness.redaction import (
    MASK,
    SECRET_VARIABLES,
    _searchable,
    redact,
    secrets_in_environment,
)

COST = CostModel(compute_cost=50, error_cost=1.0, predictions_per_step=1000, currency="EUR")
CLI_COST = ["--retrain-cost", "50", "--error-cost", "1", "--predictions-per-step", "1000"]
SERVING = "champion"
_HTTP = ("MLFLOW_HTTP_REQUEST_TIMEOUT", "MLFLOW_HTTP_REQUEST_MAX_RETRIES")


@contextlib.contextmanager
def environment(values: dict[str, str | None]) -> Iterator[None]:
    """Set (or, for None, remove) environment variables inside the block."""
    saved = {key: os.environ.get(key) for key in values}
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def no_secret_variables() -> dict[str, str | None]:
    """Every variable of this environment that redaction treats as a secret, to be removed."""
    return {name: None for name in os.environ if secrets_in_environment({name: "long-value"})}


# ---------------------------------------------------------------------------- redaction: the class
_TOKEN68 = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~+/"
_USERINFO = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&+,;=:%@"
_QUERY = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%+/="
FORMS = {
    # form -> (alphabet of the secret, how it is embedded, environment it needs)
    "url user-info": (_USERINFO, "http://alice:{s}@127.0.0.1:5000/api/2.0/mlflow", None),
    "url user-info, https, no user": (_USERINFO, "https://{s}@mlflow.example.com/", None),
    "authorization basic": (_TOKEN68, "Authorization: Basic {s}", None),
    "authorization header in a dict": (_TOKEN68, "{{'Authorization': 'Bearer {s}'}}", None),
    "authorization json": (_TOKEN68, '{{"authorization": "Token {s}"}}', None),
    "bearer alone": (_TOKEN68, "sent Bearer {s} to the server", None),
    "query token": (_QUERY, "https://h/x?token={s}&window=w1", None),
    "query access_token": (_QUERY, "https://h/x?a=1&access_token={s}", None),
    "query sig (Azure SAS)": (_QUERY, "https://acct.blob/c/f?sv=2020&sig={s}", None),
    "query X-Amz-Signature": (_QUERY, "https://s3/b/k?X-Amz-Signature={s}#frag", None),
    "query password": (_QUERY, "http://h/p?user=a&password={s}", None),
    "MLFLOW_TRACKING_TOKEN": (None, "the token is {s}, the end", "MLFLOW_TRACKING_TOKEN"),
    "MLFLOW_TRACKING_PASSWORD": (None, "login {s} refused", "MLFLOW_TRACKING_PASSWORD"),
    "AWS_SECRET_ACCESS_KEY": (None, "key={s}", "AWS_SECRET_ACCESS_KEY"),
    "any *_TOKEN variable": (None, "{s}", "MY_SERVICE_TOKEN"),
    "password of MLFLOW_TRACKING_URI": (None, "bad password {s}", "uri"),
}
_PRINTABLE = st.characters(min_codepoint=0x20, max_codepoint=0x2FF, blacklist_characters="*")
_SURROUNDING = st.text(_PRINTABLE, max_size=60)


@settings(max_examples=400, deadline=None)
@given(
    form=st.sampled_from(sorted(FORMS)),
    data=st.data(),
    before=_SURROUNDING,
    after=_SURROUNDING,
    separators=st.tuples(*[st.sampled_from(["", " ", "\n", ", ", "\t"])] * 2),
)
def test_a_secret_in_any_text_never_survives_redaction(
    form: str, data: st.DataObject, before: str, after: str, separators: tuple[str, str]
) -> None:
    alphabet, template, variable = FORMS[form]
    if alphabet is None:  # a variable's value is masked whatever its characters
        secret = data.draw(st.text(_PRINTABLE, min_size=4, max_size=40), label="secret")
        assume(secret.strip() == secret and secret.strip())
        assume(_searchable(secret))  # "true" or "none" as a secret would mask every such word
    else:
        secret = data.draw(st.text(alphabet, min_size=8, max_size=40), label="secret")
    assume(secret not in before and secret not in after)
    text = f"{before}{separators[0]}{template.format(s=secret)}{separators[1]}{after}"
    env: dict[str, str | None] = no_secret_variables()
    if variable == "uri":
        # a URI holds its password percent-encoded; the text may quote it either way
        env["MLFLOW_TRACKING_URI"] = f"http://bob:{urllib.parse.quote(secret, safe='')}@h:5000"
    elif variable is not None:
        env[variable] = secret
    with environment(env):
        redacted = redact(text)
    assert secret not in redacted, (form, text, redacted)
    assert MASK in redacted


_PLAIN = st.characters(min_codepoint=0x20, max_codepoint=0x2FF, blacklist_characters=":@=?&;#%*")


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(_PLAIN, max_size=120),
    port=st.integers(1, 65535),
    run=st.text("0123456789abcdef", min_size=1, max_size=32),
)
def test_text_without_credentials_is_unchanged(text: str, port: int, run: str) -> None:
    assume("bearer" not in text.lower() and "authorization" not in text.lower())
    lines = [
        text,
        f"{text} (tracking URI http://127.0.0.1:{port}/api/2.0/mlflow/runs/get?run_id={run})",
        f"the tracking server http://mlflow:{port} answered HTTP 500: {text}",
        f"window 2026-01-05: keep v3 (error rate 0.12, 1,355.00 EUR/window); {text}",
    ]
    with environment(no_secret_variables()):
        for line in lines:
            assert redact(line) == line


# The user-info rule as a regex, which is what the scan in ``redaction`` computes: the scheme
# before '://' (if any: a bare '://x@' is masked too) is kept, and the user-info runs to the
# last '@' before a character a user-info never holds. The regex is quadratic on long words, so
# the module scans instead.
_USERINFO_REGEX = re.compile(r"(?P<scheme>(?:[A-Za-z][A-Za-z0-9+.\-]*)?://)[^/\s?#\"'<>()\[\]{}]*@")


_PIECES = [*"ab0:/@ .?#'", "://", "http://", "u:p@"]


@settings(max_examples=500, deadline=None)
@given(text=st.lists(st.sampled_from(_PIECES), max_size=30).map("".join))
def test_the_user_info_scan_masks_what_the_regex_masks(text: str) -> None:
    from mlflow_staleness.redaction import _mask_userinfo

    expected = _USERINFO_REGEX.sub(lambda m: m.group("scheme") + MASK + "@", text)
    assert _mask_userinfo(text) == expected


def test_every_write_of_a_plan_is_redacted_but_images() -> None:
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    url = f"http://alice:{secret}@host:5000"
    tag = Write("set-version-tag", "model 'm' version 1", "staleness.evidence", f"from {url}")
    artifact = Write("log-artifact", "advisor run r", "advice.json", payload=url.encode())
    image = Write("log-artifact", "advisor run r", "staleness.png", payload=url.encode())
    assert secret not in tag.value
    assert "http://***@host:5000" in tag.value
    assert secret not in artifact.payload.decode()
    assert image.payload == url.encode()  # bytes of an image are left as they are


def test_every_error_of_the_package_is_redacted() -> None:
    secret = f"tok-{uuid.uuid4().hex}"
    with environment({"MLFLOW_TRACKING_TOKEN": secret}):
        error = ServerError(f"failed: http://u:p4ssw0rd@h/x?token=abc123 with {secret}")
    for hidden in ("p4ssw0rd", secret, "abc123"):
        assert hidden not in str(error)
    assert str(error).startswith("failed: http://***@h/x?token=***")
    assert {"MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_PASSWORD"} <= set(SECRET_VARIABLES)


# ---------------------------------------------------------------------------- a hanging server
@pytest.fixture(scope="module")
def hanging_api() -> Iterator[int]:
    """Answers ``/health``; every other request hangs: a slow server. Yields its port."""
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/health"):
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"OK")
                return
            release.wait(60)

        do_POST = do_GET  # noqa: N815

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    release.set()
    server.shutdown()
    server.server_close()


@contextlib.contextmanager
def all_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
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


def test_a_slow_server_with_a_password_in_the_uri_never_prints_it(
    hanging_api: int,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    password = new_password("pw-slow")
    uri = f"http://alice:{password}@127.0.0.1:{hanging_api}"
    data = tmp_path / "window.csv"
    make_frame(50).to_csv(data, index=False)
    env = {"MLFLOW_TRACKING_URI": uri, **dict.fromkeys(_HTTP)}
    with environment(env), all_logs(caplog):
        result = CliRunner().invoke(
            main, ["-v", "advise", "m", "--data", str(data), *CLI_COST, "--server-timeout", "2"]
        )
        with pytest.raises(ServerError) as caught:
            Advisor("m", cost=COST, server_timeout=2).advise(make_frame(50), window="w1")
    # the premise: MLflow's own message quotes the password
    assert password in str(caught.value.__cause__)
    printed = result.stdout + result.stderr + caplog.text + "".join(capfd.readouterr())
    assert result.exit_code == 1, printed
    assert f"127.0.0.1:{hanging_api}" in result.stderr  # the server is still named
    assert password not in printed
    assert password not in str(caught.value)
    assert password not in " ".join(str(r.getMessage()) for r in caplog.records)


# ---------------------------------------------------------------------------- action last
@pytest.fixture
def proxy(mlflow_server: MlflowServer) -> Iterator[FaultProxy]:
    with FaultProxy(mlflow_server.uri) as running:
        yield running


def _promotable(uri: str) -> str:
    """v1 serves; the newer v2 validates far better: the advice is promote v2."""
    name = unique_name("last")
    register_version(uri, name, make_frame(seed=1), val_loss=0.1, alias=SERVING, log_model=False)
    register_version(uri, name, make_frame(seed=2), val_loss=0.05, log_model=False)
    return name


def _move_seq(proxy: FaultProxy, advise) -> int:
    """The number of the alias move in an advice's requests (counted on a twin model)."""
    proxy.reset()
    advise()
    found = [r.seq for r in proxy.forwarded if r.kind == "set-alias"]
    total = len(proxy.forwarded)
    proxy.reset()
    assert found == [total], "the alias move is not the last request"
    return found[0]


def _complete_promote_shown(uri: str, name: str, window: str) -> dict:
    [row] = [r for r in Advisor(name, tracking_uri=uri).history() if r["window"] == window]
    assert (row["action"], row["candidate_version"]) == ("promote", "2"), row
    return row


def _changed(before: dict, after: dict) -> set[str]:
    """What an advice changed: 'aliases', 'model tags', 'version N tags', 'advisor runs'."""
    changed = set()
    if before["model"]["aliases"] != after["model"]["aliases"]:
        changed.add("aliases")
    if before["model"]["tags"] != after["model"]["tags"]:
        changed.add("model tags")
    for version, state in after["versions"].items():
        if state != before["versions"].get(version):
            changed.add(f"version {version}")
    if before["advisor_experiment"] != after["advisor_experiment"]:
        changed.add("advisor runs")
    return changed


def test_a_failed_promote_after_a_complete_advice_moves_nothing_and_a_rerun_moves_it_api(
    mlflow_server: MlflowServer, proxy: FaultProxy
) -> None:
    uri = mlflow_server.uri
    frame = make_frame(seed=3)
    predictions = predictions_with_error(frame[TARGET], 0.3)

    def advise(name: str, timeout: float = 120) -> object:
        advisor = Advisor(
            name, cost=COST, tracking_uri=proxy.uri, server_timeout=timeout, promote_alias=True
        )
        return advisor.advise(
            frame, labels=TARGET, predictions=predictions, window="w1", apply=True
        )

    move = _move_seq(proxy, lambda: advise(_promotable(uri)))
    name = _promotable(uri)
    before = snapshot(uri, name)
    proxy.arm(fail_nth=move)
    with (
        environment({"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}),
        pytest.raises(ActionError) as caught,
    ):
        advise(name, timeout=10)
    proxy.reset()
    after = snapshot(uri, name)
    message = str(caught.value)
    assert "is written and complete" in message, message
    assert "run the same command again" in message, message
    assert caught.value.pending == ("setting alias 'champion' to v2",)
    # the advice is complete and current; the alias is where it was
    assert after["model"]["aliases"] == before["model"]["aliases"] == {SERVING: "1"}
    assert _changed(before, after) == {"model tags", "version 1", "advisor runs"}
    row = _complete_promote_shown(uri, name, "w1")
    assert row["advice_id"] == caught.value.advice_id
    assert after["versions"]["1"]["tags"]["staleness.advice_id"] == caught.value.advice_id

    rec = advise(name)  # the same command again
    assert (rec.action, rec.candidate_version) == ("promote", "2")
    assert snapshot(uri, name)["model"]["aliases"] == {SERVING: "2"}
    assert _complete_promote_shown(uri, name, "w1")["advice_id"] == rec.advice_id


def test_a_failed_promote_after_a_complete_advice_moves_nothing_and_a_rerun_moves_it_cli(
    mlflow_server: MlflowServer, proxy: FaultProxy, tmp_path: Path
) -> None:
    uri = mlflow_server.uri
    frame = make_frame(seed=3)
    data = tmp_path / "window.csv"
    frame.assign(p=predictions_with_error(frame[TARGET], 0.3)).to_csv(data, index=False)

    def advise(name: str, timeout: float = 120):
        args = ["advise", name, "--data", str(data), "--target", TARGET, "--predictions-col", "p"]
        args += ["--window", "w1", "--promote", "--tracking-uri", proxy.uri, *CLI_COST]
        return CliRunner().invoke(main, [*args, "--server-timeout", str(timeout)])

    move = _move_seq(proxy, lambda: advise(_promotable(uri)))
    name = _promotable(uri)
    before = snapshot(uri, name)
    proxy.arm(fail_nth=move)
    with environment({"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}):
        failed = advise(name, timeout=10)
    proxy.reset()
    after = snapshot(uri, name)
    [line] = failed.stderr.splitlines()
    assert failed.exit_code == 1, failed.output
    assert line.startswith("error: the advice "), line
    assert "is written and complete" in line, line
    assert "setting alias 'champion' to v2 failed" in line, line
    assert "injected 500" in line, line  # the server's answer is named
    assert line.endswith("run the same command again to complete the move"), line
    assert after["model"]["aliases"] == before["model"]["aliases"] == {SERVING: "1"}
    assert _changed(before, after) == {"model tags", "version 1", "advisor runs"}
    _complete_promote_shown(uri, name, "w1")

    again = advise(name)
    assert again.exit_code == 0, again.output
    assert "PROMOTE" in again.stdout
    assert snapshot(uri, name)["model"]["aliases"] == {SERVING: "2"}


def test_the_moves_are_the_last_writes_of_every_plan(sqlite_uri: str) -> None:
    """Dry runs of promote, retrain with --set-alias, keep removing it, with a stage: in each,
    every move comes after every other write."""
    name = _promotable(sqlite_uri)
    frame = make_frame(seed=3)
    plans = {}
    for key, error, kw in [
        ("promote", 0.3, {"promote_alias": True}),
        ("retrain", 0.4, {"set_alias": "retrain-recommended"}),
    ]:
        advisor = Advisor(name, cost=COST, tracking_uri=sqlite_uri, **kw)
        advisor.advise(
            frame,
            labels=TARGET,
            predictions=predictions_with_error(frame[TARGET], error),
            window="w1",
            dry_run=True,
            apply=True,
            candidate=None if key == "promote" else "none",
        )
        plans[key] = [w.kind for w in advisor.last_plan]
    for key, kinds in plans.items():
        moves = [i for i, k in enumerate(kinds) if k in ("set-alias", "delete-alias")]
        assert moves, (key, kinds)
        assert moves == list(range(len(kinds) - len(moves), len(kinds))), (key, kinds)


# ---------------------------------------------------------------------------- credentials, e2e
@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthServer]:
    server = AuthServer(tmp_path_factory.mktemp("trust_auth"))
    with environment({"MLFLOW_TRACKING_URI": None}):
        server.start()
    try:
        yield server
    finally:
        server.stop()


def _artifact_texts(uri: str, run_id: str, folder: Path) -> dict[str, str]:
    client = client_for(uri)
    local = Path(client.download_artifacts(run_id, "", str(folder)))
    return {
        str(p.relative_to(local)): p.read_text("utf-8", errors="replace")
        for p in local.rglob("*")
        if p.is_file()
    }


def test_a_run_with_credentials_prints_and_writes_no_secret(
    auth_server: AuthServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    admin = auth_server.admin
    token = f"tok-{uuid.uuid4().hex}"
    secrets = [admin.password, token]
    env = {
        "MLFLOW_TRACKING_USERNAME": admin.username,
        "MLFLOW_TRACKING_PASSWORD": admin.password,
        "MLFLOW_TRACKING_TOKEN": token,
        "MLFLOW_TRACKING_URI": None,
        **dict.fromkeys(_HTTP),
    }
    printed: list[str] = []
    with environment(env), FaultProxy(auth_server.uri) as proxy, all_logs(caplog):
        uri = f"http://{admin.username}:{admin.password}@127.0.0.1:{proxy.port}"
        name = _promotable(auth_server.uri)
        frame = make_frame(seed=3)
        data = tmp_path / "window.csv"
        frame.assign(p=predictions_with_error(frame[TARGET], 0.3)).to_csv(data, index=False)
        advisor = Advisor(name, cost=COST, tracking_uri=uri, promote_alias=True)
        rec = advisor.advise(
            frame,
            labels=TARGET,
            predictions=predictions_with_error(frame[TARGET], 0.3),
            window="w1",
            apply=True,
        )
        assert rec.action == "promote"
        server = ["--tracking-uri", uri, "--server-timeout", "60"]
        base = ["advise", name, "--data", str(data), "--target", TARGET, "--predictions-col", "p"]
        runs = [
            ["-v", *base, "--window", "w2", *CLI_COST, *server],
            ["-v", *base, "--window", "w3", "--json", "--dry-run", *CLI_COST, *server],
            ["history", name, "--json", *server],
            ["report", name, "--out", str(tmp_path / "report.html"), *server],
        ]
        for args in runs:
            result = CliRunner().invoke(main, args)
            assert result.exit_code == 0, result.output
            printed += [result.stdout, result.stderr]
        # a cut connection in the middle of an advice: MLflow's message quotes the URL
        with environment({"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}):
            proxy.arm(cut_after=12)
            cut = CliRunner().invoke(main, [*base, "--window", "w4", *CLI_COST, *server])
            proxy.arm(cut_after=12)
            with pytest.raises(StalenessError) as caught:
                advisor.advise(
                    frame,
                    labels=TARGET,
                    predictions=predictions_with_error(frame[TARGET], 0.2),
                    window="w5",
                )
            proxy.reset()
        assert cut.exit_code == 1, cut.output
        printed += [cut.stdout, cut.stderr, str(caught.value), repr(caught.value)]
        printed.append((tmp_path / "report.html").read_text("utf-8"))
        state = snapshot(auth_server.uri, name)
        written = json.dumps(state, default=str)
        artifacts = {}
        for run_id in state["advisor_experiment"]["runs"]:
            artifacts |= _artifact_texts(auth_server.uri, run_id, tmp_path / run_id)
    printed += [caplog.text, *(r.getMessage() for r in caplog.records), *capfd.readouterr()]
    assert {"advice.json", "report.html", "history.json"} <= set(artifacts), sorted(artifacts)
    for secret in secrets:
        assert not [text for text in printed if secret in text], "a secret was printed"
        assert secret not in written, "a secret was written in a tag"
        leaked = [path for path, text in artifacts.items() if secret in text]
        assert not leaked, f"a secret was written in {leaked}"


def test_the_window_after_a_promote_is_advised(sqlite_uri: str) -> None:
    """After a promote, the next window is served by a version younger than the windows the
    age curve was fitted on; a window with no model in it once crashed the forecast (IndexError)."""
    name = _promotable(sqlite_uri)
    frame = make_frame(seed=3)
    predictions = predictions_with_error(frame[TARGET], 0.3)
    advisor = Advisor(name, cost=COST, tracking_uri=sqlite_uri, promote_alias=True)
    first = advisor.advise(frame, labels=TARGET, predictions=predictions, window="w1", apply=True)
    assert first.action == "promote"
    assert str(client_for(sqlite_uri).get_registered_model(name).aliases[SERVING]) == "2"
    for window in ("w2", "w3"):
        rec = advisor.advise(frame, labels=TARGET, predictions=predictions, window=window)
        assert rec.version == "2"
        assert rec.action in ("keep", "retrain", "rollback", "insufficient-evidence"), rec.reason


# ---------------------------------------------------------------------------- soak with faults
@pytest.mark.faults
def test_a_short_soak_with_random_faults_keeps_every_invariant(tmp_path: Path) -> None:
    """``scripts/soak_faults.py`` on 20 windows (the full run is 200): random 500s, timeouts and
    cut connections on 5% of the requests; after every window, the alias was moved only by a
    complete advice, no incomplete advice is shown, and no secret was printed."""
    out = tmp_path / "soak.json"
    script = Path(__file__).resolve().parents[1] / "scripts" / "soak_faults.py"
    done = subprocess.run(
        [sys.executable, str(script), "--windows", "20", "--seed", "1", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert out.is_file(), done.stderr[-3000:]
    counts = json.loads(out.read_text(encoding="utf-8"))
    print(json.dumps(counts, indent=1))
    assert done.returncode == 0, counts
    assert counts["faults injected, total"] > 0, counts  # the premise: faults were injected
    assert counts["advice calls"] >= counts["windows"], counts
    assert counts["invariant violations"] == 0, counts["violations"]
    assert counts["secrets printed"] == 0, counts["leaks"]
    assert counts.get("windows given up", 0) <= 1, counts


def test_a_server_failing_on_the_permission_question_is_not_a_refusal(
    auth_server: AuthServer,
) -> None:
    """A 500 on ``users/permissions/get`` says nothing about the permission: a ServerError that
    names the answer and the way forward, not "no permission", and nothing written."""
    admin = auth_server.admin
    env = {**admin.env(), "MLFLOW_TRACKING_URI": None, **dict.fromkeys(_HTTP)}
    with environment(env), FaultProxy(auth_server.uri) as proxy:
        name = _promotable(auth_server.uri)
        frame = make_frame(seed=3)
        predictions = predictions_with_error(frame[TARGET], 0.3)

        def advise(model: str) -> object:
            return Advisor(model, cost=COST, tracking_uri=proxy.uri, server_timeout=30).advise(
                frame, labels=TARGET, predictions=predictions, window="w1"
            )

        proxy.reset()
        advise(_promotable(auth_server.uri))  # a twin: where is the question among the requests
        [question] = [r.seq for r in proxy.forwarded if r.path.endswith("permissions/get")][:1]
        before = snapshot(auth_server.uri, name)
        proxy.arm(fail_nth=question)
        retries = environment({"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"})
        with retries, pytest.raises(ServerError) as caught:
            advise(name)
        proxy.reset()
        after = snapshot(auth_server.uri, name)
    message = str(caught.value)
    assert not isinstance(caught.value, NoPermissionError), message
    assert "answered HTTP 500" in message, message
    assert message.endswith("run the same command again (the server's log says why it failed)")
    assert after == before


def test_a_plain_word_set_as_a_secret_never_breaks_a_document() -> None:
    """``USE_TOKEN=true`` or a numeric ``*_PASSWORD`` must not turn JSON into ``***``; a secret
    that JSON escapes (a quote, a backslash) is still masked inside a JSON artifact, which stays
    JSON."""
    document = {"retrain": True, "note": None, "window": 12345, "reason": 'pass p"ss\\w here'}
    env = no_secret_variables() | {
        "USE_TOKEN": "true",
        "DB_PASSWORD": "12345",
        "OTHER_SECRET": "null",
        "MY_SERVICE_TOKEN": 'p"ss\\w',
    }
    with environment(env):
        text = json.dumps(document, indent=1, sort_keys=True)
        assert redact(text).count("true") == 1
        write = Write("log-artifact", "run r", "advice/a.json", payload=text.encode())
    written = json.loads(write.payload)
    assert written["retrain"] is True
    assert written["window"] == 12345  # a number in a JSON artifact is no string to mask
    assert 'p"ss\\w' not in written["reason"]
    assert written["reason"] == f"pass {MASK} here"
