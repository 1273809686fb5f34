"""The advisor against real MLflow: a ``mlflow server`` and an embedded SQLite store, no mocks.

Every test that talks to MLflow through a store runs twice, through the ``tracking_uri``
fixture: once against the session's real server (HTTP, proxied artifacts) and once against a
fresh SQLite store in the test's own folder (one arithmetic check uses the SQLite store only).
Model names are unique per test, since the server is shared by the session.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
import time
import warnings
from collections.abc import Iterator
from html import escape
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow_servers import free_port
from registry_helpers import (
    TARGET,
    client_for,
    make_frame,
    predictions_with_error,
    register_runless_version,
    register_version,
    snapshot,
    unique_name,
    using,
)
from sklearn.linear_model import LogisticRegression

from mlflow_staleness import CostModel, DataFingerprint, SchemaMismatchError
from mlflow_staleness.adapter import (
    NEW_RUN,
    RegistryReader,
    StageDeprecationWarning,
    Write,
    advisor_experiment,
    log_reference,
)
from mlflow_staleness.advice_log import window_tag
from mlflow_staleness.advisor import Advisor
from mlflow_staleness.exceptions import InvalidInputError, RegistryError, ServerError
from mlflow_staleness.recommendation import Recommendation

#: A retrain costs 50 EUR; a wrong prediction 1 EUR on 1,000 predictions per window:
#: alpha = 50 / (1 * 1000) = 0.05 in loss units.
COST = CostModel(compute_cost=50, error_cost=1.0, predictions_per_step=1000, currency="EUR")
COST_SETTINGS = {
    "compute_cost": 50,
    "error_cost": 1.0,
    "predictions_per_step": 1000,
    "currency": "EUR",
}
METRIC_FIELDS = (
    "cost_per_step",
    "accumulated_cost",
    "retrain_cost",
    "staleness_per_step",
    "accumulated_staleness",
    "break_even_steps",
    "confidence",
    "uncertainty",
    "measured_loss",
)
VOLATILE_KEYS = {"staleness.advice_id", "staleness.evaluated_at"}
HTTP_SETTINGS = (
    "MLFLOW_HTTP_REQUEST_TIMEOUT",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR",
)


# ---------------------------------------------------------------------------------- fixtures
@pytest.fixture(autouse=True)
def _restore_http_settings() -> Iterator[None]:
    """The advisor bounds MLflow's requests through the ``MLFLOW_HTTP_REQUEST_*`` variables;
    should they ever leak (see ``test_the_server_timeout_does_not_leak_into_the_process``), one
    test's ``server_timeout`` must not slow down or break the next ones."""
    saved = {key: os.environ.get(key) for key in HTTP_SETTINGS}
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, fully migrated SQLite store. Creating one runs MLflow's migrations (3-6 s);
    each SQLite test copies this file instead."""
    path = tmp_path_factory.mktemp("sqlite-template") / "mlflow.db"
    client = client_for(f"sqlite:///{path}")
    client.search_experiments()
    client.search_registered_models()
    return path


@pytest.fixture
def sqlite_store(sqlite_uri: str, sqlite_template: Path) -> str:
    """A fresh SQLite store in the test's folder (``sqlite_uri``), copied from the template."""
    path = Path(sqlite_uri.removeprefix("sqlite:///"))
    shutil.copyfile(sqlite_template, path)
    # The template's Default experiment keeps its artifacts in the template's folder; move them
    # to this test's folder, where MLflow would have put them for a store created here.
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute(
            "UPDATE experiments SET artifact_location = ? WHERE experiment_id = 0",
            (str(path.parent / "mlruns" / "0"),),
        )
    return sqlite_uri


@pytest.fixture(params=["server", "sqlite"])
def tracking_uri(request: pytest.FixtureRequest) -> str:
    """The session's real ``mlflow server``, or a fresh SQLite store in the test's folder."""
    if request.param == "server":
        return request.getfixturevalue("mlflow_server").uri
    return request.getfixturevalue("sqlite_store")


# ---------------------------------------------------------------------------------- helpers
def _without_cost(advice: dict) -> dict:
    """An advice document (history row, ``history()``) without the cost model it carries."""
    return {k: v for k, v in advice.items() if k != "cost"}


def _advisor(name: str, uri: str, **kwargs: Any) -> Advisor:
    kwargs.setdefault("cost", COST)
    return Advisor(name, tracking_uri=uri, **kwargs)


def _advise(
    advisor: Advisor, frame: pd.DataFrame, error_rate: float, window: str, seed: int = 0, **kw: Any
) -> Recommendation:
    """Advise on ``frame`` with its labels and predictions wrong on ``error_rate`` of the rows."""
    predictions = predictions_with_error(frame[TARGET], error_rate, seed=seed)
    return advisor.advise(frame, labels=TARGET, predictions=predictions, window=window, **kw)


def _only_run(uri: str, name: str):
    client = client_for(uri)
    experiment = client.get_experiment_by_name(advisor_experiment(name))
    assert experiment is not None, f"no advisor experiment for {name}"
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 1, [r.info.run_name for r in runs]
    return runs[0]


def _artifact_bytes(uri: str, run_id: str, path: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        local = client_for(uri).download_artifacts(run_id, path, tmp)
        return Path(local).read_bytes()


def _version_tags(uri: str, name: str, version: str) -> dict[str, str]:
    return dict(client_for(uri).get_model_version(name, version).tags)


def _aliases(uri: str, name: str) -> dict[str, str]:
    # The SQLite store gives the versions as int, the server as str.
    return {k: str(v) for k, v in client_for(uri).get_registered_model(name).aliases.items()}


def _staleness_tags(tags: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if k.startswith("staleness.")}


def _normalised(plan: list[Write]) -> list[tuple[str, str, str, str]]:
    """The plan without the advice's identity (its id names its fact and its completion tags)."""

    def key(write: Write) -> str:
        if write.key.startswith("advice/"):
            return "advice/<id>.json"
        return "<advice id tags>" if write.kind == "set-run-tags" else write.key

    return [
        (w.kind, w.target, key(w), "<volatile>" if w.key in VOLATILE_KEYS else w.value)
        for w in plan
    ]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------------- log_reference
def test_log_reference_in_the_active_run(tracking_uri: str) -> None:
    frame = make_frame(seed=1)
    client = client_for(tracking_uri)
    experiment_id = client.create_experiment(unique_name("reference"))
    with using(tracking_uri), mlflow.start_run(experiment_id=experiment_id) as run:
        fingerprint = log_reference(frame, target=TARGET, loss=0.125)
    stored = client.get_run(run.info.run_id)

    paths = [a.path for a in client.list_artifacts(run.info.run_id, "staleness")]
    assert paths == ["staleness/fingerprint.json"]
    logged = DataFingerprint.from_json(
        _artifact_bytes(tracking_uri, run.info.run_id, "staleness/fingerprint.json")
    )
    assert logged.to_json() == fingerprint.to_json()
    assert TARGET not in logged.to_json(), "the target is left out of the fingerprint"
    assert stored.data.metrics == {"val_loss": 0.125}
    assert stored.data.tags["staleness.loss_key"] == "val_loss"
    assert stored.data.tags["staleness.metric"] == "error_rate"  # a 0/1 label
    assert stored.data.tags["staleness.greater_is_better"] == "false"
    [dataset_input] = stored.inputs.dataset_inputs
    assert {t.key: t.value for t in dataset_input.tags} == {"mlflow.data.context": "validation"}
    assert dataset_input.dataset.name == "staleness-reference"
    schema = json.loads(dataset_input.dataset.schema)["mlflow_colspec"]
    assert [c["name"] for c in schema] == list(frame.columns)


def test_log_reference_with_a_run_id(tracking_uri: str) -> None:
    frame = make_frame(seed=2)
    client = client_for(tracking_uri)
    experiment_id = client.create_experiment(unique_name("reference"))
    run_id = client.create_run(experiment_id).info.run_id
    assert mlflow.active_run() is None

    log_reference(
        frame,
        target=TARGET,
        loss=0.9,
        loss_name="val_accuracy",
        run_id=run_id,
        metric="accuracy",
        tracking_uri=tracking_uri,
    )
    stored = client.get_run(run_id)
    assert stored.data.metrics == {"val_accuracy": 0.9}
    assert {k: v for k, v in stored.data.tags.items() if k.startswith("staleness.")} == {
        "staleness.loss_key": "val_accuracy",
        "staleness.metric": "accuracy",
        "staleness.greater_is_better": "true",  # the default direction of accuracy
        "staleness.loss": "0.9",  # the reference's own loss, read before any metric history
        "staleness.target": TARGET,
    }
    assert [a.path for a in client.list_artifacts(run_id, "staleness")] == [
        "staleness/fingerprint.json"
    ]
    [dataset_input] = stored.inputs.dataset_inputs
    assert {t.key: t.value for t in dataset_input.tags} == {"mlflow.data.context": "validation"}

    # The advisor reads the loss back as 1 - accuracy, under the recorded key.
    name = unique_name()
    client.create_registered_model(name)
    client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id)
    [evidence] = RegistryReader(client).versions(name)
    assert evidence.val_loss == pytest.approx(0.1)
    assert evidence.metric == "accuracy"
    # the reference's columns, less the target log_reference recorded
    assert evidence.reference_columns == tuple(c for c in frame.columns if c != TARGET)


def test_log_reference_without_a_run_is_an_error() -> None:
    assert mlflow.active_run() is None
    with pytest.raises(InvalidInputError, match="found no run"):
        log_reference(make_frame(), target=TARGET, loss=0.1)


# ---------------------------------------------------------------------------------- advise
@pytest.mark.parametrize("how", ["configure", "cost"])
def test_advise_writes_the_advice_back(tracking_uri: str, how: str) -> None:
    name = unique_name()
    # One variant registers a logged model, the other a bare version (faster).
    register_version(
        tracking_uri,
        name,
        make_frame(seed=1),
        val_loss=0.1,
        alias="champion",
        log_model=how == "configure",
    )
    if how == "configure":
        stored = Advisor(name, tracking_uri=tracking_uri).configure(COST_SETTINGS)
        assert stored == {
            "staleness.config.compute_cost": "50.0",
            "staleness.config.error_cost": "1.0",
            "staleness.config.predictions_per_step": "1000.0",
            "staleness.config.currency": "EUR",
        }
        advisor = Advisor(name, tracking_uri=tracking_uri)
    else:
        advisor = Advisor(name, cost=COST, tracking_uri=tracking_uri)
    current = make_frame(seed=2)

    rec = _advise(advisor, current, 0.3, "2026-01-05")

    assert (rec.model_name, rec.version, rec.window, rec.window_seq) == (
        name,
        "1",
        "2026-01-05",
        0,
    )
    assert (rec.currency, rec.retrain_cost, rec.retrain_cost_loss) == ("EUR", 50.0, 0.05)
    assert rec.measured_loss == pytest.approx(0.3)
    assert rec.alias == "champion"
    assert rec.complete
    run = _only_run(tracking_uri, name)
    assert rec.advisor_run_id == run.info.run_id
    assert run.info.run_name == "advisor"
    assert run.data.tags["staleness.advice_id"] == rec.advice_id
    assert run.data.tags["staleness.model"] == name

    # The served version's tags are a complete copy of the advice.
    tags = _version_tags(tracking_uri, name, "1")
    for key in (
        "action",
        "strategy",
        "reason",
        "confidence",
        "cost_per_step",
        "accumulated_cost",
        "retrain_cost",
        "break_even_steps",
        "evaluated_at",
        "data_digest",
        "advisor_run_id",
        "advice_id",
    ):
        assert tags[f"staleness.{key}"], key
    assert tags["staleness.action"] == rec.action
    assert tags["staleness.advisor_run_id"] == run.info.run_id
    assert tags["staleness.retrain_cost"] == "50.0 EUR"
    assert _staleness_tags(tags) == rec.to_tags()
    assert Recommendation.from_tags(tags) == rec

    model = client_for(tracking_uri).get_registered_model(name)
    assert model.tags["staleness.summary"] == rec.summary()
    if how == "configure":
        document = json.loads(model.tags["staleness.config"])
        assert document["settings"]["compute_cost"] == 50.0
    else:
        assert not any(k.startswith("staleness.config") for k in model.tags)

    # Metrics at step = the window's sequence number.
    numbers = rec.to_dict()
    expected = {f"staleness.{f}": numbers[f] for f in METRIC_FIELDS if numbers[f] is not None}
    expected["staleness.retrain_advised"] = float(rec.action in ("retrain", "promote"))
    assert run.data.metrics == pytest.approx(expected)
    history = client_for(tracking_uri).get_metric_history(run.info.run_id, "staleness.confidence")
    assert [(m.step, m.value) for m in history] == [(0, rec.confidence)]

    # Artifacts: the advice's fact, the history cache, the advice, the plot, the report.
    client = client_for(tracking_uri)
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert artifacts == {"advice", "advice.json", "history.json", "staleness.png", "report.html"}
    assert [a.path for a in client.list_artifacts(run.info.run_id, "advice")] == [
        f"advice/{rec.advice_id}.json"
    ]
    advice = json.loads(_artifact_bytes(tracking_uri, run.info.run_id, "advice.json"))
    assert advice == rec.to_dict()
    fact = json.loads(
        _artifact_bytes(tracking_uri, run.info.run_id, f"advice/{rec.advice_id}.json")
    )
    assert (fact["format"], fact["kind"], fact["id"]) == (2, "advice", rec.advice_id)
    assert (fact["window"], fact["served_version"]) == ("2026-01-05", "1")
    assert fact["measured"] == {"1": pytest.approx(0.3)}
    assert set(fact["drift"]) == {"1"}  # the version has a fingerprint
    assert _without_cost(fact["advice"]) == rec.to_dict()
    assert fact["advice"]["cost"]["compute_cost"] == 50.0  # the cost model it used
    cache = json.loads(_artifact_bytes(tracking_uri, run.info.run_id, "history.json"))
    assert (cache["format"], cache["model"]) == (2, name)
    assert cache["advice"] == {rec.advice_id: fact}
    # the run tag that makes the advice complete names it for its window
    assert run.data.tags[window_tag("2026-01-05")] == rec.advice_id
    png = _artifact_bytes(tracking_uri, run.info.run_id, "staleness.png")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_advising_a_window_twice_keeps_one_row(tracking_uri: str) -> None:
    name = unique_name()
    register_version(
        tracking_uri, name, make_frame(seed=1), val_loss=0.1, alias="champion", log_model=False
    )
    advisor = _advisor(name, tracking_uri)
    current = make_frame(seed=2)

    first = _advise(advisor, current, 0.3, "w1")
    second = _advise(advisor, current, 0.2, "w1", seed=1)

    assert second.window_seq == first.window_seq == 0
    assert second.advisor_run_id == first.advisor_run_id
    assert second.advice_id != first.advice_id
    assert second.measured_loss == pytest.approx(0.2)
    [row] = Advisor(name, tracking_uri=tracking_uri).history()
    assert _without_cost(row) == second.to_dict()
    assert Recommendation.from_tags(_version_tags(tracking_uri, name, "1")) == second

    third = _advise(advisor, make_frame(seed=3), 0.25, "w2")
    assert third.window_seq == 1
    assert third.advisor_run_id == first.advisor_run_id
    rows = Advisor(name, tracking_uri=tracking_uri).history()
    assert [r["advice_id"] for r in rows] == [second.advice_id, third.advice_id]
    assert _without_cost(rows[1]) == third.to_dict()
    assert Recommendation.from_tags(_version_tags(tracking_uri, name, "1")) == third
    run = _only_run(tracking_uri, name)
    history = client_for(tracking_uri).get_metric_history(run.info.run_id, "staleness.confidence")
    assert sorted(m.step for m in history) == [0, 0, 1]
    assert run.data.tags["staleness.advice_id"] == third.advice_id


def test_dry_run_writes_nothing_and_plans_the_real_writes(tracking_uri: str) -> None:
    name = unique_name()
    register_version(
        tracking_uri, name, make_frame(seed=1), val_loss=0.1, alias="champion", log_model=False
    )
    advisor = _advisor(name, tracking_uri)
    current = make_frame(seed=2)
    before = snapshot(tracking_uri, name)
    assert before["advisor_experiment"] is None

    dry = _advise(advisor, current, 0.3, "w1", dry_run=True)
    dry_plan = list(advisor.last_plan)

    assert snapshot(tracking_uri, name) == before
    assert dry.advisor_run_id is None  # there is no advisor run yet
    assert [w.kind for w in dry_plan[:2]] == ["create-experiment", "create-run"]
    # the completion marker after every tag, then what shows the advice, then its display id
    kinds = [w.kind for w in dry_plan]
    completion = kinds.index("set-run-tags")
    assert "set-version-tag" not in kinds[completion + 1 : -1]
    assert set(kinds[completion + 1 : -1]) == {"set-model-tag", "log-metrics", "log-artifact"}
    assert kinds[-1] == "set-version-tag"
    assert json.loads(dry_plan[completion].payload) == {
        window_tag("w1"): dry.advice_id,
        "staleness.advice_id": dry.advice_id,
    }
    assert dry_plan[-1].key == "staleness.advice_id"

    real = _advise(advisor, current, 0.3, "w1")
    real_plan = list(advisor.last_plan)
    run_id = real.advisor_run_id
    assert run_id
    assert run_id != NEW_RUN

    # The same writes, in the same order, with the same values bar the advice's identity.
    assert _normalised(dry_plan) == _normalised(real_plan)
    assert dataclasses.replace(dry, advice_id="", evaluated_at="", advisor_run_id=run_id) == (
        dataclasses.replace(real, advice_id="", evaluated_at="")
    )

    # And the real run made exactly the planned writes.
    after = snapshot(tracking_uri, name)
    version_writes = {
        w.key: w.value.replace(NEW_RUN, run_id) for w in real_plan if w.kind == "set-version-tag"
    }
    assert _staleness_tags(after["versions"]["1"]["tags"]) == version_writes
    model_writes = {w.key: w.value for w in real_plan if w.kind == "set-model-tag"}
    assert after["model"]["tags"] == {**before["model"]["tags"], **model_writes}
    assert after["model"]["aliases"] == before["model"]["aliases"]
    [run] = after["advisor_experiment"]["runs"].values()
    artifacts = {
        w.key: _sha(w.payload.decode().replace(NEW_RUN, run_id).encode())
        if w.key.endswith(".json")
        else _sha(w.payload.decode().replace(escape(NEW_RUN), run_id).encode())
        if w.key.endswith(".html")
        else _sha(w.payload)
        for w in real_plan
        if w.kind == "log-artifact"
    }
    assert run["artifacts"] == artifacts
    [metrics] = [w for w in real_plan if w.kind == "log-metrics"]
    assert {k: [(step, value) for step, _, value in v] for k, v in run["metrics"].items()} == {
        k: [(0, v)] for k, v in json.loads(metrics.payload).items()
    }
    [run_tags] = [json.loads(w.payload) for w in real_plan if w.kind == "set-run-tags"]
    assert {k: v for k, v in run["tags"].items() if k in run_tags} == run_tags

    # A dry run on an existing advisor run plans no creation and still writes nothing.
    _advise(advisor, make_frame(seed=3), 0.3, "w2", dry_run=True)
    assert snapshot(tracking_uri, name) == after
    assert advisor.last_plan[0].kind == "log-artifact"
    assert {w.target for w in advisor.last_plan if w.target.startswith("advisor run")} == {
        f"advisor run {run_id}"
    }


# ---------------------------------------------------------------------------------- which version
def test_the_champion_is_advised(tracking_uri: str) -> None:
    name = unique_name()
    register_version(tracking_uri, name, make_frame(seed=1), alias="champion", log_model=False)
    register_version(tracking_uri, name, make_frame(seed=2), log_model=False)

    rec = _advise(_advisor(name, tracking_uri), make_frame(seed=3), 0.2, "w1")

    assert rec.version == "1"
    assert "not set" not in rec.reason
    assert _version_tags(tracking_uri, name, "1")["staleness.advice_id"] == rec.advice_id
    assert not _staleness_tags(_version_tags(tracking_uri, name, "2"))


def test_without_a_champion_the_newest_version_is_advised(tracking_uri: str) -> None:
    name = unique_name()
    register_version(tracking_uri, name, make_frame(seed=1), log_model=False)
    register_version(tracking_uri, name, make_frame(seed=2), log_model=False)

    rec = _advise(_advisor(name, tracking_uri), make_frame(seed=3), 0.2, "w1")

    assert rec.version == "2"
    assert "alias 'champion' is not set" in rec.reason
    assert "newest version v2" in rec.reason
    assert not _staleness_tags(_version_tags(tracking_uri, name, "1"))


@pytest.mark.parametrize(
    "case", ["named-alias-missing", "stored-alias-missing", "unknown-model", "no-versions"]
)
def test_registry_errors_write_nothing(tracking_uri: str, case: str) -> None:
    name = unique_name()
    kwargs: dict[str, Any] = {}
    if case == "named-alias-missing":
        register_version(tracking_uri, name, make_frame(), alias="champion", log_model=False)
        kwargs["alias"] = "production"
        match = "alias 'production' is not set.*champion -> v1"
    elif case == "stored-alias-missing":
        register_version(tracking_uri, name, make_frame(), alias="champion", log_model=False)
        Advisor(name, tracking_uri=tracking_uri).configure({**COST_SETTINGS, "alias": "production"})
        match = "alias 'production' is not set"
    elif case == "unknown-model":
        match = f"no registered model named '{name}'"
    else:
        client_for(tracking_uri).create_registered_model(name)
        match = "has no versions"
    before = snapshot(tracking_uri, name)
    advisor = _advisor(name, tracking_uri, **kwargs)

    with pytest.raises(RegistryError, match=match):
        _advise(advisor, make_frame(seed=3), 0.2, "w1")

    assert snapshot(tracking_uri, name) == before
    with pytest.raises(RegistryError, match=match):
        _advise(advisor, make_frame(seed=3), 0.2, "w1", dry_run=True)


# ---------------------------------------------------------------------------------- thin evidence
def test_a_version_without_a_reference_is_advised_with_less_evidence(tracking_uri: str) -> None:
    with_ref, without_ref = unique_name("ref"), unique_name("noref")
    for name, reference in ((with_ref, True), (without_ref, False)):
        register_version(
            tracking_uri,
            name,
            make_frame(seed=1),
            val_loss=0.1,
            with_reference=reference,
            alias="champion",
            log_model=False,
        )
    current = make_frame(seed=2, shift=0.5)

    # Only the thin advice is written; the others are dry runs (the same advice, fewer requests).
    full = _advise(_advisor(with_ref, tracking_uri), current, 0.3, "w1", dry_run=True)
    thin = _advise(_advisor(without_ref, tracking_uri), current, 0.3, "w1")

    assert "missing: no fingerprint artifact (log_reference was not used)" in thin.evidence
    assert not any(e.startswith("missing:") for e in full.evidence)
    assert "fingerprint" in full.evidence
    assert "fingerprint" not in thin.evidence
    assert full.top_features
    assert not thin.top_features
    assert thin.measured_loss == pytest.approx(0.3)
    assert Recommendation.from_tags(_version_tags(tracking_uri, without_ref, "1")) == thin

    # Without labels, the measured history still gives an advice, with less confidence where the
    # reference is missing; a version with no history, no labels and no reference gets none.
    blind_full = _advisor(with_ref, tracking_uri).advise(
        current.drop(columns=[TARGET]), window="w2", dry_run=True
    )
    blind_thin = _advisor(without_ref, tracking_uri).advise(
        current.drop(columns=[TARGET]), window="w2", dry_run=True
    )
    assert blind_full.action != "insufficient-evidence"
    assert blind_thin.action != "insufficient-evidence"
    assert "fingerprint" in blind_full.evidence
    assert blind_thin.confidence < blind_full.confidence or blind_full.confidence == 0.0
    fresh_name = unique_name("blank")
    register_version(
        tracking_uri,
        fresh_name,
        make_frame(seed=1),
        val_loss=None,
        with_reference=False,
        alias="champion",
        log_model=False,
    )
    blank = _advisor(fresh_name, tracking_uri).advise(
        current.drop(columns=[TARGET]), window="w1", dry_run=True
    )
    assert blank.action == "insufficient-evidence"


def test_missing_evidence_lowers_the_confidence(sqlite_store: str) -> None:
    """``VersionEvidence``: "a version with notes still takes part, with less weight in the
    confidence". Two versions alike but for the reference, advised on the same labelled window.
    (Arithmetic, not storage: one store is enough.)"""
    tracking_uri = sqlite_store
    with_ref, without_ref = unique_name("ref"), unique_name("noref")
    for name, reference in ((with_ref, True), (without_ref, False)):
        register_version(
            tracking_uri,
            name,
            make_frame(seed=1),
            val_loss=0.1,
            with_reference=reference,
            alias="champion",
            log_model=False,
        )
    current = make_frame(seed=2, shift=0.5)

    full = _advise(_advisor(with_ref, tracking_uri), current, 0.3, "w1")
    thin = _advise(_advisor(without_ref, tracking_uri), current, 0.3, "w1")

    assert any(e.startswith("missing:") for e in thin.evidence)
    assert thin.confidence < full.confidence


def test_no_loss_no_fingerprint_no_labels_is_insufficient_evidence(tracking_uri: str) -> None:
    name = unique_name()
    register_version(
        tracking_uri,
        name,
        make_frame(seed=1),
        val_loss=None,
        with_reference=False,
        alias="champion",
        log_model=False,
    )

    rec = _advisor(name, tracking_uri).advise(
        make_frame(seed=2).drop(columns=[TARGET]), window="w1"
    )

    assert rec.action == "insufficient-evidence"
    assert rec.confidence == 0.0
    assert "missing: no 'val_loss' metric on its run" in rec.evidence
    assert "missing: no fingerprint artifact (log_reference was not used)" in rec.evidence
    assert rec.measured_loss is None
    tags = _version_tags(tracking_uri, name, "1")
    assert tags["staleness.action"] == "insufficient-evidence"
    assert Recommendation.from_tags(tags) == rec


def test_a_runless_version_reads_its_loss_from_the_logged_model(tracking_uri: str) -> None:
    name = unique_name()
    version, model_id = register_runless_version(tracking_uri, name, make_frame(seed=1), 0.1)
    client = client_for(tracking_uri)
    client.set_registered_model_alias(name, "champion", version)
    registered = client.get_model_version(name, version)
    assert not registered.run_id
    assert registered.source.startswith(f"models:/{model_id}")
    metrics = client.get_logged_model(model_id).metrics
    assert [(m.key, m.value) for m in metrics] == [("val_loss", 0.1)]

    [evidence] = RegistryReader(client).versions(name)
    assert evidence.val_loss == 0.1
    assert evidence.notes == ()

    rec = _advise(_advisor(name, tracking_uri), make_frame(seed=2), 0.3, "w1")

    assert rec.version == version
    assert rec.measured_loss == pytest.approx(0.3)
    assert "validation" in rec.evidence  # measured against the logged model's val_loss
    assert "missing: no fingerprint: the version has no source run" in rec.evidence
    # a cold start: 0.3 measured - 0.1 validation, beyond two prior noise levels (20% of 0.1)
    assert rec.staleness_per_step == pytest.approx(0.3 - 0.1 - 2 * 0.2 * 0.1)


def test_a_lost_column_is_a_schema_mismatch_and_writes_nothing(tracking_uri: str) -> None:
    name = unique_name()
    register_version(tracking_uri, name, make_frame(seed=1), alias="champion", log_model=False)
    before = snapshot(tracking_uri, name)
    current = make_frame(seed=2).drop(columns=["x2"])
    advisor = _advisor(name, tracking_uri)

    with pytest.raises(SchemaMismatchError, match="'x2'") as caught:
        _advise(advisor, current, 0.2, "w1")
    assert "x2" in caught.value.columns
    with pytest.raises(SchemaMismatchError, match="'x2'"):
        advisor.advise(current.drop(columns=[TARGET]), window="w1")

    assert snapshot(tracking_uri, name) == before


def test_a_dataset_input_without_a_fingerprint_is_checked_on_its_features(
    tracking_uri: str,
) -> None:
    """A team that logs its validation set the standard MLflow way (``mlflow.log_input``,
    context ``validation``) but does not call ``log_reference``: without a fingerprint, the
    advisor checks the current data against the dataset's columns. The label column is one of
    them (MLflow's dataset schema covers the whole frame); it is not a feature the current data
    must carry."""
    name = unique_name()
    register_version(
        tracking_uri,
        name,
        make_frame(seed=1),
        with_reference=False,
        log_dataset=True,
        alias="champion",
        log_model=False,
    )
    [evidence] = RegistryReader(client_for(tracking_uri)).versions(name)
    assert evidence.reference_columns == ("x1", "x2", "x3", TARGET)
    advisor = _advisor(name, tracking_uri)
    current = make_frame(seed=2)

    # The same columns as the reference, the label passed as labels: nothing is lost.
    rec = _advise(advisor, current, 0.2, "w1")
    assert "missing: no fingerprint artifact (log_reference was not used)" in rec.evidence

    before = snapshot(tracking_uri, name)
    with pytest.raises(SchemaMismatchError, match="'x2'") as caught:
        _advise(advisor, current.drop(columns=["x2"]), 0.2, "w2")
    assert set(caught.value.columns) == {"x2"}
    assert snapshot(tracking_uri, name) == before

    # Without labels the target is unknown, so a column of the dataset missing from the data is
    # reported as missing evidence, not as an error.
    rec = advisor.advise(current.drop(columns=[TARGET]), window="w3", dry_run=True)
    assert f"missing: reference column(s) '{TARGET}' not in the data" in rec.evidence


# ---------------------------------------------------------------------------------- apply
def test_apply_points_set_alias_at_a_retrain_and_removes_it_on_keep(tracking_uri: str) -> None:
    name = unique_name()
    register_version(
        tracking_uri, name, make_frame(seed=1), val_loss=0.1, alias="champion", log_model=False
    )
    advisor = _advisor(name, tracking_uri, set_alias="retrain-recommended")

    # 0.4 measured against 0.1 validation: stale by far more than alpha = 0.05.
    first = _advise(advisor, make_frame(seed=2), 0.4, "w1", dry_run=True)
    assert first.action == "retrain"
    assert not [w for w in advisor.last_plan if "alias" in w.kind]  # no apply, no alias move
    _advise(advisor, make_frame(seed=2), 0.4, "w1", dry_run=True, apply=True)
    assert [w for w in advisor.last_plan if "alias" in w.kind] == [
        Write("set-alias", f"model {name!r}", "retrain-recommended", "1")
    ]

    again = _advise(advisor, make_frame(seed=2), 0.4, "w1", apply=True)
    assert again.action == "retrain"
    assert _aliases(tracking_uri, name) == {
        "champion": "1",
        "retrain-recommended": "1",
    }

    # Back to its validation loss: the staleness accumulated in w1 is still unpaid, so retrain.
    still = _advise(advisor, make_frame(seed=3), 0.1, "w2", dry_run=True, apply=True)
    assert still.action == "retrain"

    # A retrained version takes over; its advice is keep, and the alias goes.
    register_version(
        tracking_uri, name, make_frame(seed=3), val_loss=0.1, alias="champion", log_model=False
    )
    later = _advise(advisor, make_frame(seed=3), 0.1, "w2", apply=True)
    assert (later.action, later.version) == ("keep", "2")
    assert [w for w in advisor.last_plan if "alias" in w.kind] == [
        Write("delete-alias", f"model {name!r}", "retrain-recommended", "1")
    ]
    assert _aliases(tracking_uri, name) == {"champion": "2"}


def _promotable(uri: str) -> str:
    """v1 is the champion; the newer v2 validates far better."""
    name = unique_name()
    register_version(uri, name, make_frame(seed=1), val_loss=0.1, alias="champion", log_model=False)
    register_version(uri, name, make_frame(seed=2), val_loss=0.05, log_model=False)
    return name


def test_apply_promote_moves_the_champion(tracking_uri: str) -> None:
    name = _promotable(tracking_uri)
    client = client_for(tracking_uri)
    advisor = _advisor(name, tracking_uri)

    rec = _advise(advisor, make_frame(seed=3), 0.3, "w1", dry_run=True)
    assert (rec.action, rec.version, rec.candidate_version) == ("promote", "1", "2")
    assert not [w for w in advisor.last_plan if "alias" in w.kind]  # no apply, no alias move

    applied = _advise(advisor, make_frame(seed=3), 0.3, "w1", apply=True)
    assert (applied.action, applied.candidate_version) == ("promote", "2")
    assert _aliases(tracking_uri, name) == {"champion": "2"}
    assert _version_tags(tracking_uri, name, "1")["staleness.candidate_version"] == "2"
    assert client.get_model_version(name, "2").current_stage == "None"


def test_apply_transition_stage_warns_and_moves_the_stage(tracking_uri: str) -> None:
    name = _promotable(tracking_uri)
    # ours warns when the stage is asked for, before anything is read or written
    with pytest.warns(StageDeprecationWarning):
        advisor = _advisor(name, tracking_uri, transition_stage="staging")
    assert advisor.transition_stage == "Staging"  # MLflow's spelling

    # MLflow may warn about stages too when the transition is made
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        rec = _advise(advisor, make_frame(seed=3), 0.3, "w1", apply=True)

    assert (rec.action, rec.candidate_version) == ("promote", "2")
    client = client_for(tracking_uri)
    assert client.get_model_version(name, "2").current_stage == "Staging"
    assert client.get_model_version(name, "1").current_stage == "None"


# ---------------------------------------------------------------------------------- record
def test_record_adds_late_labels_to_a_past_window(tracking_uri: str) -> None:
    name = unique_name()
    register_version(
        tracking_uri, name, make_frame(seed=1), val_loss=0.1, alias="champion", log_model=False
    )
    advisor = _advisor(name, tracking_uri)
    past = make_frame(seed=2)
    early = advisor.advise(past.drop(columns=[TARGET]), window="w1")  # no labels yet
    latest = _advise(advisor, make_frame(seed=3), 0.2, "w2")
    before = snapshot(tracking_uri, name)

    predictions = predictions_with_error(past[TARGET], 0.3)
    planned = advisor.record(
        past, labels=TARGET, predictions=predictions, window="w1", dry_run=True
    )
    assert planned == {"1": pytest.approx(0.3)}
    assert snapshot(tracking_uri, name) == before
    measured = advisor.record(past, labels=TARGET, predictions=predictions, window="w1")
    assert measured == {"1": pytest.approx(0.3)}

    state = RegistryReader(client_for(tracking_uri)).advisor_state(name)
    rows = {r.window: r for r in state.history}
    assert list(rows) == ["w1", "w2"]
    assert rows["w1"].measured == {"1": pytest.approx(0.3)}
    assert rows["w1"].advice["advice_id"] == early.advice_id
    assert rows["w2"].measured == {"1": pytest.approx(0.2)}
    assert [r["advice_id"] for r in advisor.history()] == [early.advice_id, latest.advice_id]

    # No new advice: only the measurement's fact, the history cache and its tag were written.
    after = snapshot(tracking_uri, name)
    assert after["model"] == before["model"]
    assert after["versions"] == before["versions"]
    [(run_id, run_after)] = after["advisor_experiment"]["runs"].items()
    run_before = before["advisor_experiment"]["runs"][run_id]
    assert run_after["metrics"] == run_before["metrics"]
    new_tags = set(run_after["tags"]) - set(run_before["tags"])
    [measurement_tag] = new_tags
    assert measurement_tag.startswith("staleness.measurement.")
    assert run_after["tags"][measurement_tag] == window_tag("w1")
    assert {k: v for k, v in run_after["tags"].items() if k not in new_tags} == run_before["tags"]
    changed = {
        path
        for path in run_after["artifacts"]
        if run_after["artifacts"][path] != run_before["artifacts"].get(path)
    }
    measurement_id = measurement_tag.rsplit(".", 1)[1]
    assert changed == {"history.json", f"measurements/{measurement_id}.json"}


# ---------------------------------------------------------------------------------- scoring
def test_labels_without_predictions_score_versions_through_pyfunc(tracking_uri: str) -> None:
    name = unique_name()
    first, second = make_frame(seed=1), make_frame(seed=2, shift=0.3)
    register_version(tracking_uri, name, first, val_loss=0.1, alias="champion")
    register_version(tracking_uri, name, second, val_loss=0.1)
    current = make_frame(seed=3, shift=0.6)

    rec = _advisor(name, tracking_uri).advise(current, labels=TARGET, window="w1")

    features, labels = current.drop(columns=[TARGET]), current[TARGET]

    def error(frame: pd.DataFrame) -> float:
        model = LogisticRegression().fit(frame.drop(columns=[TARGET]), frame[TARGET])
        return float(np.mean(model.predict(features) != labels))

    assert rec.version == "1"
    assert rec.measured_loss == pytest.approx(error(first))
    [row] = RegistryReader(client_for(tracking_uri)).advisor_state(name).history
    assert row.measured == {"1": pytest.approx(error(first)), "2": pytest.approx(error(second))}


# ---------------------------------------------------------------------------------- the server
def test_an_unreachable_server_is_a_server_error_within_the_timeout() -> None:
    uri = f"http://127.0.0.1:{free_port()}"
    advisor = Advisor("fraud", cost=COST, tracking_uri=uri, server_timeout=2)
    start = time.monotonic()

    with pytest.raises(ServerError) as caught:
        advisor.advise(make_frame(), window="w1")

    assert time.monotonic() - start < 5
    message = str(caught.value)
    assert uri in message
    assert "within 2 s" in message


def test_the_server_timeout_does_not_leak_into_the_process(
    mlflow_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``server_timeout`` bounds the advisor's own requests. It must not change every later
    MLflow call of the process: the user's own calls, or a later Advisor with another
    ``server_timeout`` (which would silently get the first one's bound)."""
    for key in HTTP_SETTINGS:
        monkeypatch.delenv(key, raising=False)

    with pytest.raises(RegistryError, match="no registered model"):
        Advisor(unique_name(), tracking_uri=mlflow_server.uri, server_timeout=2).history()

    assert {key: os.environ.get(key) for key in HTTP_SETTINGS} == dict.fromkeys(HTTP_SETTINGS)


# ---------------------------------------------------------------------------------- review fixes
def test_a_cut_re_advise_keeps_the_windows_previous_complete_advice(sqlite_uri: str) -> None:
    """A re-advise of a window cut after its history write (before its advice id) must leave the
    window's previous complete advice as the one the history shows."""
    from mlflow_staleness.adapter import execute

    name = unique_name()
    register_version(sqlite_uri, name, make_frame(seed=1), val_loss=0.1, alias="champion")
    advisor = _advisor(name, sqlite_uri)
    first = _advise(advisor, make_frame(seed=2), 0.1, "w1")
    [row] = advisor.history()
    assert row["advice_id"] == first.advice_id

    second = _advise(advisor, make_frame(seed=2), 0.4, "w1", dry_run=True)
    plan = advisor.last_plan
    # everything before the completion marker is written: the fact, the cache, the tags
    cut = next(i for i, w in enumerate(plan) if w.kind == "set-run-tags")
    execute(client_for(sqlite_uri), plan[:cut], model_name=name)

    [row] = advisor.history()
    assert row["advice_id"] == first.advice_id != second.advice_id
    # and the completed re-advise then replaces it
    third = _advise(advisor, make_frame(seed=2), 0.4, "w1")
    [row] = advisor.history()
    assert row["advice_id"] == third.advice_id


def test_configure_changes_the_form_of_the_retrain_cost(sqlite_uri: str) -> None:
    name = unique_name()
    register_version(sqlite_uri, name, make_frame(seed=1), alias="champion", log_model=False)
    advisor = Advisor(name, tracking_uri=sqlite_uri)
    # settings can be stored a piece at a time, costs missing at first
    assert advisor.configure({"alias": "champion"}) == {"staleness.config.alias": "champion"}
    advisor.configure(
        {
            "compute_cost": 10,
            "people_cost": 20,
            "data_cost": 0,
            "risk_cost": 5,
            "error_cost": 1,
            "predictions_per_step": 100,
        }
    )
    stored = advisor.configure({"retrain_cost": 80})
    assert stored["staleness.config.retrain_cost"] == "80.0"
    tags = client_for(sqlite_uri).get_registered_model(name).tags
    settings = json.loads(tags["staleness.config"])["settings"]
    assert not any(k.endswith(("compute_cost", "people_cost", "risk_cost")) for k in settings)
    with pytest.raises(InvalidInputError, match="risk_cost"):
        advisor.configure({"risk_cost": 1})  # a part over the stored total: ambiguous


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"set_alias": "latest"}, "not a valid MLflow alias"),
        ({"set_alias": "bad name"}, "not a valid MLflow alias"),
        ({"alias": "v3"}, "not a valid MLflow alias"),
        ({"transition_stage": "Prod"}, "not a stage"),
    ],
)
def test_bad_alias_or_stage_names_fail_before_anything_is_read(
    kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(InvalidInputError, match=match):
        Advisor("anything", tracking_uri="http://127.0.0.1:9", **kwargs)


def test_set_alias_may_not_be_the_serving_alias(sqlite_uri: str) -> None:
    name = unique_name()
    register_version(sqlite_uri, name, make_frame(seed=1), alias="champion", log_model=False)
    before = snapshot(sqlite_uri, name)
    advisor = _advisor(name, sqlite_uri, set_alias="champion")
    with pytest.raises(InvalidInputError, match="alias of the served version"):
        _advise(advisor, make_frame(seed=2), 0.1, "w1", apply=True)
    assert snapshot(sqlite_uri, name) == before


def test_the_serving_alias_moves_on_promote_only_when_asked(sqlite_uri: str) -> None:
    name = _promotable(sqlite_uri)
    advisor = _advisor(name, sqlite_uri, set_alias="retrain-recommended", promote_alias=False)
    rec = _advise(advisor, make_frame(seed=3), 0.3, "w1", apply=True)
    assert rec.action == "promote"
    assert _aliases(sqlite_uri, name)["champion"] == "1"
