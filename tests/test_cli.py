"""The ``mlflow-staleness`` command line against a real MLflow server: every exit code.

Exit codes (``mlflow_staleness.cli.EXIT_CODES``): 0 success, 1 a bad value/file/cost/registry
state/server (one line on stderr, nothing written), 2 misuse of the command line, 3
``--fail-on-retrain`` and the advice is retrain, 4 ``--min-confidence`` not met.

One sklearn model is logged once per module (with its reference, via ``log_reference``) and
registered under a fresh name for each test that needs a model, since the server is shared by the
whole session. The data files carry a ``pred`` column, so the CLI never loads a model.

Writing one advice makes about sixty requests (one per tag), some seconds on the test server, so
the tests only write where the write is what they check and use ``--dry-run`` elsewhere.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner, Result
from mlflow import MlflowClient
from mlflow_servers import MlflowServer, free_port
from pandas.errors import Pandas4Warning
from sklearn.linear_model import LogisticRegression

from mlflow_staleness import DataFingerprint, Recommendation, __version__, log_reference
from mlflow_staleness.adapter import RegistryReader
from mlflow_staleness.cli import main

with warnings.catch_warnings():
    # Importing mlflow.pyfunc (which mlflow.sklearn.log_model does lazily) makes MLflow 3.17 build
    # its own Responses-agent schema, which warns "Any type hint is inferred as AnyType" at import
    # time. Not ours to fix; import it here once so that the warning cannot fire inside a test.
    warnings.filterwarnings(
        "ignore", message=r".*Any type hint is inferred as AnyType", category=UserWarning
    )
    import mlflow.pyfunc
    import mlflow.sklearn

FEATURES = ("x1", "x2")
#: Costs under which a perfect window is kept: alpha = 100 / (1 * 100) = 1 loss-window.
KEEP_COSTS = ("--retrain-cost", "100", "--error-cost", "1", "--predictions-per-step", "100")
#: Costs under which a bad window is retrained: alpha = 1 / (1 * 100) = 0.01 loss-windows.
RETRAIN_COSTS = ("--retrain-cost", "1", "--error-cost", "1", "--predictions-per-step", "100")
LABELS = ("--target", "y", "--predictions-col", "pred")


# ---------------------------------------------------------------------------------- helpers
def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _frame(n: int = 200, seed: int = 0, *, wrong: bool = False) -> pd.DataFrame:
    """Float features, an integer label ``y`` and predictions ``pred`` (all right, or all wrong)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({name: rng.normal(size=n) for name in FEATURES})
    frame["y"] = (frame["x1"] > 0).astype("int64")
    frame["pred"] = 1 - frame["y"] if wrong else frame["y"]
    return frame


def _parquet(path: Path, frame: pd.DataFrame) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)
    return path


@contextmanager
def _fluent_uri(uri: str) -> Iterator[None]:
    """Point MLflow's fluent API (start_run, log_model, register_model) at ``uri`` for a block.

    ``mlflow.set_tracking_uri`` also exports ``MLFLOW_TRACKING_URI`` (and the registry's
    variable), which the CLI would then pick up; both the module state and the environment are
    put back afterwards. MLflow has no public way to read "nothing set", hence the private reads.
    """
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    saved_env = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    saved = tracking_utils._tracking_uri, registry_utils._registry_uri
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(saved[0])
        mlflow.set_registry_uri(saved[1])
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@dataclass
class Registry:
    """The session's server, and one logged model (with its reference) to register by name."""

    uri: str
    client: MlflowClient
    model_uri: str

    def register(self, prefix: str, *, alias: str | None = "champion") -> str:
        """A new registered model holding one version of the logged model; its name."""
        name = _unique(prefix)
        with _fluent_uri(self.uri):
            version = mlflow.register_model(self.model_uri, name)
        if alias:
            self.client.set_registered_model_alias(name, alias, version.version)
        return name

    def snapshot(self, name: str) -> tuple:
        """Everything an advice could write for ``name``: model and version tags, aliases, and
        whether the advisor experiment exists."""
        model = self.client.get_registered_model(name)
        versions = {
            v.version: dict(v.tags)
            for v in self.client.search_model_versions(filter_string=f"name='{name}'")
        }
        experiment = self.client.get_experiment_by_name(f"staleness/{name}")
        return dict(model.tags), dict(model.aliases), versions, experiment is not None

    def version_tags(self, name: str, version: str = "1") -> dict[str, str]:
        return dict(self.client.get_model_version(name, version).tags)


def _invoke(args: list[str] | tuple[str, ...], expect: int, **kwargs) -> Result:
    """Run the CLI in-process; assert the exit code, showing everything when it differs."""
    result = CliRunner().invoke(main, [str(a) for a in args], **kwargs)
    detail = (
        f"args {args}\nexit {result.exit_code}\nstdout:\n{result.stdout}\n"
        f"stderr:\n{result.stderr}\nexception: {result.exception!r}"
    )
    if result.exc_info is not None and not isinstance(result.exception, SystemExit):
        import traceback

        detail += "\n" + "".join(traceback.format_exception(*result.exc_info))
    assert result.exit_code == expect, detail
    if expect != 0:
        # a deliberate exit, never an unexpected exception that CliRunner turned into exit 1
        assert isinstance(result.exception, SystemExit), detail
    return result


def _one_error_line(result: Result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    return lines[0]


def _advise(registry: Registry, model: str, data: Path, *extra: str, costs=KEEP_COSTS) -> list:
    return [
        "advise",
        model,
        "--data",
        data,
        *LABELS,
        *costs,
        *extra,
        "--tracking-uri",
        registry.uri,
    ]


# ---------------------------------------------------------------------------------- fixtures
@pytest.fixture(autouse=True)
def _restore_environment() -> Iterator[None]:
    """The advisor sets MLFLOW_HTTP_REQUEST_* with os.environ.setdefault when it connects (so do
    MLflow's set_*_uri); keep such changes from leaking out of each test."""
    saved = dict(os.environ)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="module")
def registry(mlflow_server: MlflowServer) -> Registry:
    """A tiny LogisticRegression logged once, with its reference (validation loss 0.2)."""
    frame = _frame(seed=1)
    valid = frame.loc[:, [*FEATURES, "y"]]
    model = LogisticRegression().fit(valid.loc[:, list(FEATURES)], valid["y"])
    with _fluent_uri(mlflow_server.uri):
        # create_experiment, not set_experiment: the latter sets a process-wide active experiment
        # (and MLFLOW_EXPERIMENT_ID), which later tests' start_run(run_id=...) would trip on
        experiment_id = MlflowClient(mlflow_server.uri).create_experiment(_unique("cli-training"))
        with mlflow.start_run(experiment_id=experiment_id):
            info = mlflow.sklearn.log_model(model, name="model", pip_requirements=["scikit-learn"])
            with warnings.catch_warnings():
                # MLflow 3.17's dataset digest calls DataFrame.all(0) positionally, which pandas
                # 3.1 deprecates (Pandas4Warning) inside mlflow.data.from_pandas. Not ours.
                warnings.filterwarnings(
                    "ignore",
                    message="Starting with pandas version 4.0 all arguments of all",
                    category=Pandas4Warning,
                )
                log_reference(valid, target="y", loss=0.2)
    client = MlflowClient(tracking_uri=mlflow_server.uri, registry_uri=mlflow_server.uri)
    return Registry(mlflow_server.uri, client, info.model_uri)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Data files: good (predictions all right), bad (all wrong), and broken ones."""
    folder = tmp_path_factory.mktemp("cli-data")
    good = _frame()
    files = {
        "good": _parquet(folder / "good.parquet", good),
        "good2": _parquet(folder / "good2.parquet", _frame(seed=2)),
        "bad": _parquet(folder / "bad.parquet", _frame(wrong=True)),
        "no_x2": _parquet(folder / "no_x2.parquet", good.drop(columns=["x2"])),
        "nan_x2": _parquet(folder / "nan_x2.parquet", good.assign(x2=np.nan)),
        "missing": folder / "missing.parquet",
        "empty": folder / "empty.parquet",
        "garbage": folder / "garbage.parquet",
        "bad_toml": folder / "bad.toml",
    }
    files["empty"].write_bytes(b"")
    files["garbage"].write_bytes(b"\x00\xffnot parquet at all\x13\x37" * 50)
    files["bad_toml"].write_text("retrain_cost = 5\nbogus = 1\n", encoding="utf-8")
    return files


@pytest.fixture(scope="module")
def shared(registry: Registry) -> str:
    """A model only advised with --dry-run or refused: no test writes to it."""
    return registry.register("cli-shared")


# ---------------------------------------------------------------------------------- exit 0
def test_advise_keep_text_then_json_matches_version_tags_and_history(
    registry: Registry, files: dict[str, Path]
) -> None:
    name = registry.register("cli-history")

    text = _invoke(_advise(registry, name, files["good"], "--window", "2026-01-01"), 0)
    assert f"{name} v1, window 2026-01-01: KEEP" in text.stdout
    reason = next(line for line in text.stdout.splitlines() if "reason:" in line)
    assert "keep v1" in reason
    assert registry.version_tags(name)["staleness.action"] == "keep"

    # the same window again replaces its advice; JSON on stdout, one document
    again = _invoke(_advise(registry, name, files["good"], "--window", "2026-01-01", "--json"), 0)
    assert len(again.stdout.strip().splitlines()) == 1
    first = json.loads(again.stdout)
    assert first["action"] == "keep"
    assert first["advice_id"]
    assert first["window"] == "2026-01-01"

    second_run = _advise(registry, name, files["good2"], "--window", "2026-01-08", "--json")
    second = json.loads(_invoke(second_run, 0).stdout)
    assert second["window_seq"] == first["window_seq"] + 1
    tags = registry.version_tags(name)
    assert tags["staleness.advice_id"] == second["advice_id"]
    assert Recommendation.from_tags(tags) == Recommendation.from_dict(second)
    assert second["advisor_run_id"] == tags["staleness.advisor_run_id"]

    # history: one row per window (the replaced advice only once), through $MLFLOW_TRACKING_URI
    table = _invoke(["history", name], 0, env={"MLFLOW_TRACKING_URI": registry.uri}).stdout
    rows = table.strip().splitlines()
    assert rows[0].split()[:3] == ["window", "ver", "action"]
    assert [row.split()[:3] for row in rows[1:]] == [
        ["2026-01-01", "1", "keep"],
        ["2026-01-08", "1", "keep"],
    ]
    lines = _invoke(["history", name, "--json", "--tracking-uri", registry.uri], 0).stdout
    history = [json.loads(line) for line in lines.strip().splitlines()]
    assert [(h["window"], h["advice_id"]) for h in history] == [
        ("2026-01-01", first["advice_id"]),
        ("2026-01-08", second["advice_id"]),
    ]


def test_history_of_a_model_never_advised(registry: Registry, shared: str) -> None:
    result = _invoke(["history", shared, "--tracking-uri", registry.uri], 0)
    assert result.stdout == ""
    assert "no advice recorded" in result.stderr
    assert _invoke(["history", shared, "--json", "--tracking-uri", registry.uri], 0).stdout == ""


def _record(registry: Registry, name: str, data: Path) -> Result:
    args = ["record", name, "--window", "2026-02-01", "--data", data, *LABELS]
    result = _invoke([*args, "--tracking-uri", registry.uri], 0)
    assert result.stdout.strip() == "window 2026-02-01: v1 loss 1.0000"
    state = RegistryReader(registry.client).advisor_state(name)
    assert [(r.window, dict(r.measured), r.advice) for r in state.history] == [
        ("2026-02-01", {"1": 1.0}, None)
    ]
    # record writes no advice, so the version carries no staleness tags
    assert not any(k.startswith("staleness.") for k in registry.version_tags(name))
    return result


def test_record_late_labels(registry: Registry, files: dict[str, Path]) -> None:
    """Recording a measured loss needs no costs, and ``record`` has no cost flags.

    Fails today (package bug): ``Advisor.record`` builds its context through
    ``Advisor._context``, whose ``settings.resolve`` insists on retrain_cost, error_cost and
    predictions_per_step, so ``record`` on a model that was never configured exits 1 with
    "no retrain_cost, ... pass --retrain-cost ...": flags that ``record`` does not accept.
    """
    _record(registry, registry.register("cli-record"), files["bad"])


def test_record_late_labels_of_a_configured_model(
    registry: Registry, files: dict[str, Path]
) -> None:
    name = registry.register("cli-record-configured")
    _invoke(["-q", "configure", name, *KEEP_COSTS, "--tracking-uri", registry.uri], 0)
    _record(registry, name, files["bad"])


def test_fingerprint_prints_json_that_reads_back(files: dict[str, Path], tmp_path: Path) -> None:
    result = _invoke(["fingerprint", files["good"], "--exclude", "y"], 0)
    fp = DataFingerprint.from_json(result.stdout)
    assert list(fp.schema) == ["x1", "x2", "pred"]
    assert fp.n_rows == 200
    assert "200 rows" in result.stderr
    out = tmp_path / "fp.json"
    _invoke(["-q", "fingerprint", files["good"], "--exclude", "y", "--out", out], 0)
    assert DataFingerprint.from_json(out.read_text()) == fp


def test_version_and_help() -> None:
    assert _invoke(["--version"], 0).stdout.strip() == f"mlflow-staleness, version {__version__}"
    for args in (["--help"], ["advise", "--help"]):
        text = _invoke(args, 0).stdout
        assert "Exit codes:" in text
        for code in (
            "0  success",
            "1  a bad value",
            "2  misuse",
            "3  --fail-on-retrain",
            "4  --min",
        ):
            assert code in text, (args, code)
    assert "--fail-on-retrain" in _invoke(["advise", "-h"], 0).stdout


# ---------------------------------------------------------------------------------- configure
def test_configure_then_advise_with_stored_costs_and_overrides(
    registry: Registry, files: dict[str, Path], tmp_path: Path
) -> None:
    name = registry.register("cli-configure")
    stored = _invoke(
        [
            "configure",
            name,
            *KEEP_COSTS,
            "--currency",
            "EUR",
            "--tracking-uri",
            registry.uri,
        ],
        0,
    )
    assert "  retrain_cost = 100.0" in stored.stdout.splitlines()
    tags = registry.client.get_registered_model(name).tags
    settings = json.loads(tags["staleness.config"])["settings"]
    assert (settings["retrain_cost"], settings["currency"]) == (100.0, "EUR")

    plain = ["advise", name, "--data", files["good"], "--window", "w1", "--json"]

    def dry(*extra: object) -> dict:
        args = [*plain, "--dry-run", *extra, "--tracking-uri", registry.uri]
        result = _invoke(args, 0)
        assert result.stderr.startswith("dry run: ")
        return json.loads(result.stdout)

    # only the model and the data: the stored costs apply
    rec = dry()
    assert (rec["retrain_cost"], rec["currency"], rec["retrain_cost_loss"]) == (100.0, "EUR", 1.0)

    cost_file = tmp_path / "costs.toml"
    cost_file.write_text("retrain_cost = 20\nerror_cost = 2\n", encoding="utf-8")
    parts_file = tmp_path / "parts.toml"
    parts_file.write_text(
        "[costs]\ncompute_cost = 10\npeople_cost = 5\ndata_cost = 0\nrisk_cost = 0\n",
        encoding="utf-8",
    )
    some_parts = tmp_path / "some-parts.toml"
    some_parts.write_text("risk_cost = 5\n", encoding="utf-8")

    # a flag beats the stored value
    assert dry("--retrain-cost", "7")["retrain_cost"] == 7.0
    # the cost file beats the stored values ...
    from_file = dry("--cost-file", cost_file)
    assert (from_file["retrain_cost"], from_file["retrain_cost_loss"]) == (20.0, 0.1)
    assert from_file["currency"] == "EUR"  # ... and the stored currency stays
    # ... and flags beat the cost file
    both = dry("--cost-file", cost_file, "--retrain-cost", "7", "--error-cost", "0.5")
    assert (both["retrain_cost"], both["retrain_cost_loss"]) == (7.0, 0.14)
    # all four parts in the cost file replace the stored total
    assert dry("--cost-file", parts_file)["retrain_cost"] == 15.0
    # one part over the stored total is ambiguous (a breakdown, or an addition?): refused
    refused = _invoke(
        [*plain, "--dry-run", "--cost-file", some_parts, "--tracking-uri", registry.uri],
        1,
    )
    assert "risk_cost" in _one_error_line(refused)
    assert "total" in _one_error_line(refused)
    # the dry runs wrote nothing
    assert not any(k.startswith("staleness.") for k in registry.version_tags(name))


# ---------------------------------------------------------------------------------- exit 3
def test_fail_on_retrain_exits_3_and_writes(registry: Registry, files: dict[str, Path]) -> None:
    name = registry.register("cli-retrain")
    args = _advise(registry, name, files["bad"], "--fail-on-retrain", costs=RETRAIN_COSTS)
    result = _invoke([*args, "--window", "2026-03-01"], 3)
    assert "RETRAIN" in result.stdout
    tags = registry.version_tags(name)
    assert tags["staleness.action"] == "retrain"
    assert result.stderr.strip() == f"retrain recommended: {tags['staleness.reason']}"


def test_fail_on_retrain_under_dry_run_writes_nothing(
    registry: Registry, shared: str, files: dict[str, Path]
) -> None:
    before = registry.snapshot(shared)
    args = _advise(registry, shared, files["bad"], "--fail-on-retrain", "--dry-run", "--json")
    result = _invoke([*args, *RETRAIN_COSTS], 3)  # later flags win: the retrain costs
    rec = json.loads(result.stdout)
    assert rec["action"] == "retrain"
    assert "dry run: " in result.stderr
    assert "set-version-tag" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == f"retrain recommended: {rec['reason']}"
    assert registry.snapshot(shared) == before


def test_retrain_without_fail_on_retrain_exits_0(
    registry: Registry, shared: str, files: dict[str, Path]
) -> None:
    args = _advise(registry, shared, files["bad"], "--dry-run", costs=RETRAIN_COSTS)
    result = _invoke(args, 0)
    assert ": RETRAIN" in result.stdout
    assert result.stdout.startswith("dry run: ")


# ---------------------------------------------------------------------------------- exit 4
def test_min_confidence_not_met_exits_4(
    registry: Registry, shared: str, files: dict[str, Path]
) -> None:
    before = registry.snapshot(shared)
    args = _advise(registry, shared, files["good"], "--dry-run", "--json")
    rec = json.loads(_invoke(args, 0).stdout)
    assert rec["action"] == "keep"
    assert rec["confidence"] < 0.99
    result = _invoke([*args, "--min-confidence", "0.99"], 4)
    assert "is below --min-confidence 0.99 (keep)" in result.stderr
    # 3 wins over 4
    bad = _advise(registry, shared, files["bad"], "--dry-run", "--fail-on-retrain")
    _invoke([*bad, *RETRAIN_COSTS, "--min-confidence", "0.99"], 3)
    assert registry.snapshot(shared) == before


def test_insufficient_evidence_exits_4(registry: Registry, files: dict[str, Path]) -> None:
    # a version whose run logged no reference: no fingerprint, no validation loss; no labels
    name = _unique("cli-bare")
    run = registry.client.create_run("0")
    registry.client.set_terminated(run.info.run_id)
    registry.client.create_registered_model(name)
    source = f"{run.info.artifact_uri}/model"
    registry.client.create_model_version(name, source=source, run_id=run.info.run_id)
    args = ["advise", name, "--data", files["good"], *KEEP_COSTS, "--dry-run", "--json"]
    args += ["--tracking-uri", registry.uri]
    rec = json.loads(_invoke(args, 0).stdout)
    assert rec["action"] == "insufficient-evidence"
    result = _invoke([*args, "--min-confidence", "0"], 4)
    assert "(insufficient-evidence)" in result.stderr


# ---------------------------------------------------------------------------------- exit 1
def _cases() -> list:
    """(id, how to build the arguments, a fragment of the error line)."""
    bad_cost = [*KEEP_COSTS[:2], "--error-cost", "-1", *KEEP_COSTS[4:]]
    text_cost = ["--retrain-cost", "abc", *KEEP_COSTS[2:]]
    return [
        (
            "unknown-model",
            lambda r, m, f: _advise(r, m + "-nope", f["good"]),
            "no registered model",
        ),
        (
            "missing-alias",
            lambda r, m, f: _advise(r, m, f["good"], "--alias", "gone"),
            "alias 'gone' is not set",
        ),
        ("missing-file", lambda r, m, f: _advise(r, m, f["missing"]), "does not exist"),
        ("empty-file", lambda r, m, f: _advise(r, m, f["empty"]), "is empty (0 bytes)"),
        ("garbage-file", lambda r, m, f: _advise(r, m, f["garbage"]), "not a readable Parquet"),
        (
            "absent-target",
            lambda r, m, f: [*_advise(r, m, f["good"]), "--target", "label"],
            "'label' is not in the data",
        ),
        ("missing-reference-column", lambda r, m, f: _advise(r, m, f["no_x2"]), "'x2'"),
        ("all-nan-column", lambda r, m, f: _advise(r, m, f["nan_x2"]), "'x2' are entirely missing"),
        (
            "negative-cost",
            lambda r, m, f: _advise(r, m, f["good"], costs=bad_cost),
            "--error-cost must be a finite number >= 0, got '-1'",
        ),
        (
            "non-numeric-cost",
            lambda r, m, f: _advise(r, m, f["good"], costs=text_cost),
            "--retrain-cost must be a number, got 'abc'",
        ),
        (
            "cost-file-unknown-key",
            lambda r, m, f: _advise(r, m, f["good"], "--cost-file", f["bad_toml"]),
            "unknown setting(s) 'bogus'",
        ),
        (
            "min-confidence-above-1",
            lambda r, m, f: _advise(r, m, f["good"], "--min-confidence", "2"),
            "--min-confidence must lie in [0, 1]",
        ),
        (
            "unknown-strategy",
            lambda r, m, f: _advise(r, m, f["good"], "--strategy", "magic"),
            "unknown strategy 'magic'",
        ),
    ]


@pytest.mark.parametrize(
    ("build", "fragment"), [c[1:] for c in _cases()], ids=[c[0] for c in _cases()]
)
def test_bad_input_exits_1_with_one_line_and_writes_nothing(
    registry: Registry, shared: str, files: dict[str, Path], build, fragment: str
) -> None:
    before = registry.snapshot(shared)
    result = _invoke(build(registry, shared, files), 1)
    line = _one_error_line(result)
    assert fragment in line
    assert result.stdout == ""
    assert registry.snapshot(shared) == before
    unknown = registry.client.search_registered_models(filter_string=f"name='{shared}-nope'")
    assert list(unknown) == []


def test_model_without_versions_exits_1(registry: Registry, files: dict[str, Path]) -> None:
    name = _unique("cli-empty")
    registry.client.create_registered_model(name)
    before = registry.snapshot(name)
    line = _one_error_line(_invoke(_advise(registry, name, files["good"]), 1))
    assert f"registered model {name!r} has no versions" in line
    assert registry.snapshot(name) == before


def test_unreachable_server_exits_1_quickly(files: dict[str, Path]) -> None:
    uri = f"http://127.0.0.1:{free_port()}"
    args = ["advise", "some-model", "--data", files["good"], *LABELS, *KEEP_COSTS]
    start = time.monotonic()
    result = _invoke([*args, "--tracking-uri", uri, "--server-timeout", "2"], 1)
    elapsed = time.monotonic() - start
    assert elapsed < 10, elapsed
    line = _one_error_line(result)
    assert uri in line
    assert "within 2 s" in line


# ---------------------------------------------------------------------------------- exit 2
@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        pytest.param(["advise", "m", "--data", "x.parquet", "--bogus"], "--bogus", id="unknown"),
        pytest.param(["advise", "m"], "--data", id="missing-data"),
        pytest.param(
            ["advise", "m", "--data", "x.parquet", "--retrain-cost", "5", "--compute-cost", "3"],
            "not both",
            id="total-and-part",
        ),
        pytest.param(["advise", "m", "--data", "x.parquet", "--all"], "not both", id="model+all"),
        pytest.param(
            ["advise", "m", "--data", "x.parquet", "--jobs", "2"],
            "--jobs goes with --all",
            id="jobs-without-all",
        ),
        pytest.param(
            ["advise", "--all", "--data", "x", "--candidate", "2"],
            "not with --all",
            id="all+candidate",
        ),
        pytest.param(["advise", "--data", "x.parquet"], "MODEL or --all", id="neither"),
        pytest.param(["configure", "m", "--retrain-cost", "1", "--people-cost", "2"], "not both"),
        pytest.param(["nonsense"], "No such command", id="unknown-command"),
    ],
)
def test_misuse_exits_2(args: list[str], fragment: str) -> None:
    # an unreachable URI: misuse is refused before any server is asked
    uri = f"http://127.0.0.1:{free_port()}"
    result = _invoke([*args, "--tracking-uri", uri] if args[0] != "nonsense" else args, 2)
    assert "Error:" in result.stderr
    assert fragment in result.stderr
    assert result.stdout == ""


# ---------------------------------------------------------------------------------- --all
def test_advise_all_configured_models(registry: Registry, tmp_path: Path) -> None:
    prefix = _unique("cli-all")
    keep, retrain = f"{prefix}-a", f"{prefix}-b"
    for name in (keep, retrain):
        with _fluent_uri(registry.uri):
            version = mlflow.register_model(registry.model_uri, name)
        registry.client.set_registered_model_alias(name, "champion", version.version)
        _invoke(["-q", "configure", name, *RETRAIN_COSTS, "--tracking-uri", registry.uri], 0)
    unconfigured = registry.register(f"{prefix}-c")  # matches the filter, but is not configured
    data = tmp_path / "data"
    _parquet(data / f"{keep}.parquet", _frame())
    _parquet(data / f"{retrain}.parquet", _frame(wrong=True))
    args = ["advise", "--all", "--filter", f"name LIKE '{prefix}%'", "--data", data, *LABELS]
    args += ["--window", "2026-04-01", "--tracking-uri", registry.uri]

    result = _invoke([*args, "--fail-on-retrain", "--jobs", "2"], 3)
    summary = result.stderr[result.stderr.index("summary:") :]
    assert "summary: 2 models, 0 failed" in summary
    assert f"{keep}: keep (exit 0)" in summary
    assert f"{retrain}: retrain (exit 3)" in summary
    assert f"[2/2] {keep}: keep" in result.stderr or f"[2/2] {retrain}: retrain" in result.stderr
    # each advice is printed whole, however the two models' work interleaved
    blocks = result.stdout.split(f"{keep} v")[1].split(f"{retrain} v")
    assert all(block.count("reason:") == 1 for block in blocks if block.strip())
    assert unconfigured not in result.stderr + result.stdout
    assert registry.version_tags(keep)["staleness.action"] == "keep"
    assert registry.version_tags(retrain)["staleness.action"] == "retrain"

    again = _invoke([*args, "--dry-run"], 0)
    assert f"{retrain}: retrain (exit 0)" in again.stderr

    # a model whose data is missing fails alone, and the summary names it and why
    broken = f"{prefix}-d"
    with _fluent_uri(registry.uri):
        version = mlflow.register_model(registry.model_uri, broken)
    registry.client.set_registered_model_alias(broken, "champion", version.version)
    _invoke(["-q", "configure", broken, *RETRAIN_COSTS, "--tracking-uri", registry.uri], 0)
    mixed = _invoke([*args, "--dry-run", "--jobs", "3"], 1)
    summary = mixed.stderr[mixed.stderr.index("summary:") :]
    assert "summary: 3 models, 1 failed" in summary
    assert f"{keep}: keep (exit 0)" in summary
    assert f"{retrain}: retrain (exit 0)" in summary
    assert f"{broken}: error: " in summary
    assert f"{broken}.parquet" in summary

    # a filter that matches nothing configured is an error, not a silent success
    none = ["advise", "--all", "--filter", f"name LIKE '{prefix}-c%'", "--data", data]
    line = _one_error_line(_invoke([*none, "--tracking-uri", registry.uri], 1))
    assert "no configured model matches" in line


# ---------------------------------------------------------------------------------- subprocess
def _command() -> list[str]:
    script = shutil.which("mlflow-staleness", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "mlflow_staleness.cli"]


def test_real_subprocess_exit_codes(registry: Registry, files: dict[str, Path]) -> None:
    keep, retrain = registry.register("cli-proc-keep"), registry.register("cli-proc-retrain")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    runs = {
        0: _advise(registry, keep, files["good"], "--window", "w1"),
        3: _advise(registry, retrain, files["bad"], "--fail-on-retrain", "--dry-run")
        + list(RETRAIN_COSTS),
        1: _advise(registry, keep + "-nope", files["good"]),
        2: ["advise", keep, "--data", files["good"], "--no-such-flag"],
    }
    # all four at once: each pays the interpreter's start and MLflow's import
    started = {
        code: subprocess.Popen(
            [*_command(), *map(str, args)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        for code, args in runs.items()
    }
    done = {}
    for code, process in started.items():
        try:
            out, err = process.communicate(timeout=120)
        finally:
            process.kill()
        done[code] = (process.returncode, out, err)
    for code, (returncode, out, err) in done.items():
        assert returncode == code, (code, out, err)

    _, out, err = done[0]
    assert f"{keep} v1, window w1: KEEP" in out
    assert "reason:" in out
    assert registry.version_tags(keep)["staleness.action"] == "keep"

    _, out, err = done[3]
    assert ": RETRAIN" in out
    assert "retrain recommended: retrain v1" in err
    assert not any(k.startswith("staleness.") for k in registry.version_tags(retrain))

    _, out, err = done[1]
    assert out == ""
    errors = [line for line in err.splitlines() if line.strip()]
    assert len(errors) == 1, err
    assert errors[0].startswith(f"error: no registered model named '{keep}-nope'")

    _, out, err = done[2]
    assert out == ""
    assert "Error: No such option '--no-such-flag'" in err


# ---------------------------------------------------------------------------------- backtest
def test_backtest_replays_every_strategy_on_a_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 2400
    t = np.arange(n)
    x = rng.normal(size=n)
    # the relation between x and y turns slowly: an old model gets worse with age
    y = (x * np.cos(t / n * np.pi) + 0.3 * rng.normal(size=n) > 0).astype(int)
    path = tmp_path / "stream.csv"
    pd.DataFrame({"ts": t, "x": x, "noise": rng.normal(size=n), "y": y}).to_csv(path, index=False)
    result = _invoke(
        ["backtest", path, "--target", "y", "--time-column", "ts", "--windows", "10"], 0
    )
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["strategy", "cost/oracle", "retrains"]
    ratios = {line.split()[0]: float(line.split()[1]) for line in lines[1:] if line[0] != "("}
    assert set(ratios) >= {"forecast", "cumulative", "threshold", "periodic", "never", "always"}
    assert all(ratio >= 1.0 - 1e-9 for ratio in ratios.values())  # nothing beats the oracle
    assert "alpha 0.1" in lines[-1]


def test_backtest_refuses_too_few_windows(tmp_path: Path) -> None:
    path = tmp_path / "stream.csv"
    pd.DataFrame({"ts": range(100), "x": range(100), "y": [0, 1] * 50}).to_csv(path, index=False)
    result = _invoke(
        ["backtest", path, "--target", "y", "--time-column", "ts", "--windows", "3"], 1
    )
    assert "--windows" in _one_error_line(result)


# ---------------------------------------------------------------------------------- --candidate
def test_candidate_is_judged_by_the_gate_when_named_and_skipped_with_none(
    registry: Registry, files: dict[str, Path]
) -> None:
    name = registry.register("cli-candidate")
    with _fluent_uri(registry.uri):
        mlflow.register_model(registry.model_uri, name)  # v2: registered after the last advice
    args = _advise(registry, name, files["good"], "--dry-run", "--json", "--window", "w1")
    judged = json.loads(_invoke([*args, "--candidate", "2"], 0).stdout.splitlines()[-1])
    assert judged["candidate_version"] == "2"
    assert judged["action"] in ("promote", "keep")
    assert "gate on the new v2" in judged["reason"]
    automatic = json.loads(_invoke(args, 0).stdout.splitlines()[-1])
    assert automatic["candidate_version"] == "2"  # auto by default, as the API does
    alone = json.loads(_invoke([*args, "--candidate", "none"], 0).stdout.splitlines()[-1])
    assert alone["candidate_version"] is None
    line = _one_error_line(_invoke([*args, "--candidate", "7"], 1))
    assert "candidate version '7' does not exist" in line


# ---------------------------------------------------------------------------------- --help words
def test_numeric_options_show_a_number_type_and_their_defaults() -> None:
    advise_help = " ".join(_invoke(["advise", "--help"], 0).stdout.split())
    for option in ("--retrain-cost", "--error-cost", "--min-confidence", "--server-timeout"):
        assert f"{option} FLOAT" in advise_help, option
    assert "[default: 30.0]" in advise_help
    assert "[default: champion]" in advise_help
    assert "val_loss" in advise_help
    assert "--candidate" in advise_help
    assert "--metric [error_rate|accuracy|mae|mse|rmse]" in advise_help
    backtest_help = " ".join(_invoke(["backtest", "--help"], 0).stdout.split())
    assert "--windows INTEGER" in backtest_help
    assert "--alpha FLOAT" in backtest_help
    assert "R / (error_cost x predictions per window)" in backtest_help
    assert "[default: 0.1]" in backtest_help
    assert "TEXT" not in backtest_help.split("--alpha")[1].split("--loss")[0]


def test_metric_names_of_the_cli_are_the_losses_it_measures() -> None:
    from mlflow_staleness.cli import METRIC_NAMES
    from mlflow_staleness.losses import METRICS

    assert sorted(METRIC_NAMES) == sorted(METRICS)


def test_help_imports_neither_mlflow_nor_pandas_nor_sklearn() -> None:
    code = (
        "import sys\n"
        "from mlflow_staleness.cli import main\n"
        "try:\n"
        "    main(['advise', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('mlflow', 'pandas', 'numpy', 'sklearn') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert "HEAVY []" in done.stdout, done.stdout[-500:]
