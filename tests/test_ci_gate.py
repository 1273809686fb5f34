"""``examples/ci/staleness-gate.sh``, the CI gate, run as CI runs it (``bash``, a subprocess)
against the session's real ``mlflow server``; nothing is mocked.

Each registered version is a run with its reference (``log_reference``) and no logged model; the
data files carry the served version's predictions in ``pred`` (all right: a keep advice under
cheap-to-keep costs; all wrong: a retrain advice under a cheap retrain), so the CLI loads no model.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from mlflow_servers import MlflowServer, free_port
from registry_helpers import (
    TARGET,
    client_for,
    make_frame,
    register_version,
    snapshot,
    unique_name,
)

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "ci" / "staleness-gate.sh"
WORKFLOW = ROOT / "examples" / "ci" / "github-workflow.yml"
BIN = Path(sys.executable).parent
#: alpha = 100 / (1 * 100) = 1 loss-window: a perfect window is kept.
KEEP_COSTS = "--retrain-cost 100 --error-cost 1 --predictions-per-step 100"
#: alpha = 1 / (1 * 100) = 0.01 loss-windows: an all-wrong window is retrained.
RETRAIN_COSTS = "--retrain-cost 1 --error-cost 1 --predictions-per-step 100"
REQUIRED = ("MLFLOW_TRACKING_URI", "STALENESS_MODEL", "STALENESS_DATA")


# ---------------------------------------------------------------------------------- helpers
def _cli() -> str:
    script = shutil.which("mlflow-staleness", path=str(BIN))
    return script or f"{sys.executable} -m mlflow_staleness.cli"


def _env(uri: str | None, **variables: str) -> dict[str, str]:
    """This process's environment without MLflow's or the gate's variables, with the venv's
    ``bin`` first on PATH, the gate's CLI pointed at this interpreter's, and ``variables``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "STALENESS_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["STALENESS_CLI"] = _cli()
    if uri is not None:
        env["MLFLOW_TRACKING_URI"] = uri
    env.update(variables)
    return env


def _gate(
    env: dict[str, str], cwd: Path, *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        check=False,
    )


def _detail(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


def _register(uri: str, prefix: str) -> tuple[str, str]:
    """A new registered model with one version (validation loss 0.2) behind ``champion``."""
    name = unique_name(prefix)
    version = register_version(
        uri, name, make_frame(seed=1), val_loss=0.2, alias="champion", log_model=False
    )
    return name, version


def _money(tag: str) -> str:
    """``'1.0 USD'`` (a money tag) as the gate prints it: ``'1.00 USD'``."""
    amount, currency = tag.split()
    return f"{float(amount):,.2f} {currency}"


def _recording_cli(folder: Path) -> tuple[str, Path]:
    """A CLI that appends its arguments (one per line) to a log file, then runs the real one;
    returns (the command for STALENESS_CLI, the log file, absent until the CLI runs)."""
    log = folder / "cli-calls.log"
    wrapper = folder / "recording-cli"
    wrapper.write_text(
        f"#!/usr/bin/env bash\nprintf '%s\\n' \"$@\" >> '{log}'\nexec {_cli()} \"$@\"\n",
        encoding="utf-8",
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return str(wrapper), log


# ---------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The window's data: ``good`` (the served predictions all right) and ``bad`` (all wrong)."""
    folder = tmp_path_factory.mktemp("gate-data")
    frame = make_frame(n=200, seed=2)
    paths = {"good": folder / "good.parquet", "bad": folder / "bad.parquet"}
    frame.assign(pred=frame[TARGET]).to_parquet(paths["good"], index=False)
    frame.assign(pred=1.0 - frame[TARGET]).to_parquet(paths["bad"], index=False)
    return paths


def _advise_env(uri: str, name: str, data: Path, costs: str, **more: str) -> dict[str, str]:
    return _env(
        uri,
        STALENESS_MODEL=name,
        STALENESS_DATA=str(data),
        STALENESS_TARGET=TARGET,
        STALENESS_PREDICTIONS_COL="pred",
        STALENESS_EXTRA_ARGS=costs,
        **more,
    )


# ---------------------------------------------------------------------------------- outcomes
def test_keep_advice_passes_the_gate_and_is_written(
    mlflow_server: MlflowServer, files: dict[str, Path], tmp_path: Path
) -> None:
    name, version = _register(mlflow_server.uri, "gate-keep")
    saved = tmp_path / "advice.json"
    env = _advise_env(
        mlflow_server.uri,
        name,
        files["good"],
        KEEP_COSTS,
        STALENESS_WINDOW="2026-05-04",
        STALENESS_JSON_OUT=str(saved),
    )
    result = _gate(env, tmp_path)
    assert result.returncode == 0, _detail(result)

    tags = client_for(mlflow_server.uri).get_model_version(name, version).tags
    assert tags["staleness.action"] == "keep"
    assert tags["staleness.window"] == "2026-05-04"
    reason = tags["staleness.reason"]
    assert reason
    assert result.stdout.splitlines() == [
        f"staleness gate passed: keep for {name} v{version}: {reason}"
    ]
    assert "FAILED" not in result.stderr
    assert "ERROR" not in result.stderr
    # the advice JSON the gate read is the one written to MLflow
    assert json.loads(saved.read_text())["advice_id"] == tags["staleness.advice_id"]


def test_retrain_advice_fails_the_gate_with_its_numbers(
    mlflow_server: MlflowServer, files: dict[str, Path], tmp_path: Path
) -> None:
    name, version = _register(mlflow_server.uri, "gate-retrain")
    env = _advise_env(mlflow_server.uri, name, files["bad"], RETRAIN_COSTS)
    result = _gate(env, tmp_path)
    assert result.returncode == 3, _detail(result)
    assert "passed" not in result.stdout

    tags = client_for(mlflow_server.uri).get_model_version(name, version).tags
    assert tags["staleness.action"] == "retrain"
    reason = tags["staleness.reason"]
    lines = result.stderr.splitlines()
    headline = f"staleness gate FAILED: retrain advised for model {name} version {version}: "
    assert headline + reason in lines, _detail(result)

    def value(label: str, words: int = 2) -> str:
        """The first ``words`` words after ``label`` on the one line that starts with it."""
        found = [text for text in lines if text.strip().startswith(label)]
        assert len(found) == 1, (label, result.stderr)
        return " ".join(found[0].split(label, 1)[1].split()[:words])

    assert value("cost per window:") == _money(tags["staleness.cost_per_step"])
    assert value("accumulated cost:") == _money(tags["staleness.accumulated_cost"])
    assert _money(tags["staleness.retrain_cost"]) == "1.00 USD"
    assert value("retrain cost:") == "1.00 USD"
    assert value("confidence:", 1) == f"{float(tags['staleness.confidence']):.2f}"
    assert value("advisor run:", 1) == tags["staleness.advisor_run_id"]
    assert "what to do next:" in lines
    assert any(f"retrain {name}" in text for text in lines), result.stderr
    assert any("report.html on the advisor run" in text for text in lines), result.stderr


def test_low_confidence_fails_the_gate_with_exit_4_and_positional_flags(
    mlflow_server: MlflowServer, files: dict[str, Path], tmp_path: Path
) -> None:
    """Flags after the script's name reach ``advise``: a dry run (nothing written) whose
    confidence cannot reach 0.99."""
    name, version = _register(mlflow_server.uri, "gate-confidence")
    before = snapshot(mlflow_server.uri, name)
    env = _advise_env(mlflow_server.uri, name, files["good"], KEEP_COSTS)
    result = _gate(env, tmp_path, "--min-confidence", "0.99", "--dry-run")
    assert result.returncode == 4, _detail(result)
    assert "passed" not in result.stdout
    headline = next(text for text in result.stderr.splitlines() if "gate FAILED" in text)
    assert f"in the keep advice for model {name} version {version}" in headline
    assert "below --min-confidence" in headline
    assert "not a retrain advice" in result.stderr
    assert "retrain advised" not in result.stderr
    assert "nothing was recorded (a dry run)" in result.stderr
    assert snapshot(mlflow_server.uri, name) == before


# ---------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "missing",
    [*[(name,) for name in REQUIRED], REQUIRED],
    ids=[*REQUIRED, "all"],
)
def test_missing_variable_exits_2_without_running_the_cli(
    mlflow_server: MlflowServer,
    files: dict[str, Path],
    tmp_path: Path,
    missing: tuple[str, ...],
) -> None:
    name, _ = _register(mlflow_server.uri, "gate-missing")
    before = snapshot(mlflow_server.uri, name)
    cli, calls = _recording_cli(tmp_path)
    env = _advise_env(mlflow_server.uri, name, files["bad"], RETRAIN_COSTS, STALENESS_CLI=cli)
    for variable in missing:
        if variable == "STALENESS_DATA":
            env[variable] = ""  # set but empty counts as missing
        else:
            del env[variable]
    result = _gate(env, tmp_path)
    assert result.returncode == 2, _detail(result)
    assert result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert "required environment variable(s) not set" in first
    assert set(re.findall(r"[A-Z_]{5,}", first.split(":", 2)[2])) == set(missing)
    assert "not a retrain advice" in result.stderr
    assert not calls.exists(), "the CLI ran"
    assert not (tmp_path / "mlruns").exists()
    assert snapshot(mlflow_server.uri, name) == before


def test_arguments_reach_the_cli_and_a_refused_flag_is_exit_2(
    files: dict[str, Path], tmp_path: Path
) -> None:
    """The command line the gate builds, seen by a recording CLI; the real CLI then refuses
    the unknown flag before asking any server (exit 2)."""
    cli, calls = _recording_cli(tmp_path)
    env = _advise_env(
        f"http://127.0.0.1:{free_port()}",
        "some model",
        files["good"],
        "--cost-file  costs.toml",
        STALENESS_WINDOW="w 1",
        STALENESS_CLI=cli,
    )
    result = _gate(env, tmp_path, "--no-such-flag", "two words")
    assert result.returncode == 2, _detail(result)
    assert calls.read_text().splitlines() == [
        "advise",
        "some model",
        "--data",
        str(files["good"]),
        "--target",
        TARGET,
        "--predictions-col",
        "pred",
        "--window",
        "w 1",
        "--cost-file",
        "costs.toml",
        "--no-such-flag",
        "two words",
        "--fail-on-retrain",
        "--json",
    ]
    assert result.stderr.startswith("staleness gate ERROR (exit 2)")
    assert "NOT a retrain advice" in result.stderr
    assert "No such option" in result.stderr  # the CLI's own message, passed through
    assert result.stdout == ""


def test_unreachable_server_is_an_error_not_a_retrain(
    files: dict[str, Path], tmp_path: Path
) -> None:
    uri = f"http://127.0.0.1:{free_port()}"
    env = _advise_env(uri, "some-model", files["bad"], f"{RETRAIN_COSTS} --server-timeout 2")
    start = time.monotonic()
    result = _gate(env, tmp_path)
    elapsed = time.monotonic() - start
    assert result.returncode == 1, _detail(result)
    assert elapsed < 60, elapsed
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("staleness gate ERROR (exit 1)")
    assert "NOT a retrain advice" in lines[0]
    assert "tracking server" in lines[0]
    # the CLI's one error line, passed through, names the server it could not reach
    errors = [text for text in lines if text.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    assert uri in errors[0]
    assert "retrain advised" not in result.stderr
    assert not (tmp_path / "mlruns").exists()


# ---------------------------------------------------------------------------------- files
def test_github_workflow_runs_the_gate_script() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as True
    assert {"schedule", "workflow_dispatch", "pull_request"} <= set(triggers)
    assert triggers["schedule"][0]["cron"]

    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    runs = [step["run"] for step in steps if "run" in step]
    gate_runs = [run for run in runs if "staleness-gate.sh" in run]
    assert gate_runs == ["bash examples/ci/staleness-gate.sh"]
    assert (ROOT / gate_runs[0].split()[1]).resolve() == SCRIPT
    uses = [step["uses"] for step in steps if "uses" in step]
    assert any(use.startswith("actions/checkout@") for use in uses)
    setup = next(step for step in steps if step.get("uses", "").startswith("actions/setup-python"))
    assert str(setup["with"]["python-version"]) == "3.11"
    assert any("pip install mlflow-staleness" in run for run in runs)

    (job,) = workflow["jobs"].values()
    env = job["env"]
    for variable in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        assert env[variable] == f"${{{{ secrets.{variable} }}}}"
    # every gate setting the workflow gives is one the script reads
    script = SCRIPT.read_text(encoding="utf-8")
    for variable in env:
        if variable.startswith("STALENESS_"):
            assert f"${{{variable}" in script or f"${variable}" in script, variable


def test_script_is_valid_bash_and_documented() -> None:
    check = subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stderr
    text = SCRIPT.read_text(encoding="utf-8")
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    header = text.split("\n\n", 1)[0]
    for variable in (*REQUIRED, "STALENESS_TARGET", "STALENESS_WINDOW", "STALENESS_EXTRA_ARGS"):
        assert variable in header, variable
    if shutil.which("shellcheck"):
        lint = subprocess.run(
            ["shellcheck", str(SCRIPT)], capture_output=True, text=True, check=False
        )
        assert lint.returncode == 0, lint.stdout
