"""The post-evaluation hook: ``advise_after_evaluate`` after a real ``mlflow.models.evaluate``.

Against the session's real ``mlflow server``: a version is evaluated with MLflow's default
evaluator on a window, the hook turns the evaluation's accuracy into the window's measured loss,
and the advice (with ``report.html``) is written. Bad evaluations are refused before any write.
The example ``examples/post_evaluation_hook.py`` runs as documented, on the demo's store.
"""

from __future__ import annotations

import math
import subprocess
import sys
import warnings
from pathlib import Path

import mlflow
import numpy as np
import pytest
from registry_helpers import (
    FEATURES,
    TARGET,
    client_for,
    make_frame,
    register_version,
    snapshot,
    unique_name,
    using,
)

from mlflow_staleness import CostModel, advise_after_evaluate
from mlflow_staleness.adapter import RegistryReader, advisor_experiment
from mlflow_staleness.exceptions import InvalidInputError

REPO = Path(__file__).resolve().parents[1]
COST = CostModel(compute_cost=50, error_cost=1.0, predictions_per_step=1000, currency="EUR")


def _evaluate(uri: str, name: str, frame) -> mlflow.models.EvaluationResult:
    client = client_for(uri)
    experiment = client.get_experiment_by_name("hook-evaluations")
    experiment_id = (
        experiment.experiment_id if experiment else client.create_experiment("hook-evaluations")
    )
    data = frame.copy()
    data[TARGET] = data[TARGET].astype("int64")
    with using(uri), mlflow.start_run(experiment_id=experiment_id), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mlflow.models.evaluate(
            f"models:/{name}@champion",
            data=data,
            targets=TARGET,
            model_type="classifier",
            evaluators=["default"],
        )


def _artifact(uri: str, run_id: str, path: str, tmp_path: Path) -> str:
    with using(uri):
        local = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=path, dst_path=str(tmp_path)
        )
    return Path(local).read_text(encoding="utf-8")


def test_hook_records_the_evaluation_as_the_measured_loss(mlflow_server, tmp_path: Path) -> None:
    uri = mlflow_server.uri
    name = unique_name("hook")
    register_version(uri, name, make_frame(300, seed=1), val_loss=0.1, alias="champion")
    window = make_frame(300, seed=2, shift=1.5)
    result = _evaluate(uri, name, window)
    accuracy = result.metrics["accuracy_score"]

    rec = advise_after_evaluate(
        result, name, window, targets=TARGET, window="w-1", cost=COST, tracking_uri=uri
    )

    assert rec.measured_loss == pytest.approx(1.0 - accuracy)
    assert rec.window == "w-1"
    assert rec.version == "1"
    assert "measured" in rec.evidence
    tags = client_for(uri).get_model_version(name, "1").tags
    assert tags["staleness.action"] == rec.action
    assert tags["staleness.reason"] == rec.reason
    assert tags["staleness.advice_id"] == rec.advice_id
    # the report on the advisor run shows this advice
    page = _artifact(uri, rec.advisor_run_id, "report.html", tmp_path)
    assert f'content="{rec.advice_id}"' in page
    assert rec.advisor_run_id in page
    # the fingerprint left the label out: the drifting features are the model's features only
    assert {f for f, _ in rec.top_features} <= set(FEATURES)


def test_hook_accepts_the_metrics_mapping_and_a_named_score(mlflow_server) -> None:
    uri = mlflow_server.uri
    name = unique_name("hook")
    register_version(uri, name, make_frame(300, seed=3), val_loss=0.1, alias="champion")
    window = make_frame(200, seed=4)
    metrics = {"accuracy_score": 0.75, "f1_score": 0.6}
    rec = advise_after_evaluate(
        metrics, name, window, targets=TARGET, cost=COST, tracking_uri=uri, dry_run=True
    )
    assert rec.measured_loss == pytest.approx(0.25)
    named = advise_after_evaluate(
        metrics,
        name,
        window,
        targets=TARGET,
        metric_key="f1_score",
        greater_is_better=True,
        cost=COST,
        tracking_uri=uri,
        dry_run=True,
    )
    assert named.measured_loss == pytest.approx(0.4)


@pytest.mark.parametrize(
    ("evaluation", "kwargs", "fragment"),
    [
        ({"mean_absolute_error": 0.3}, {}, "has no metric 'accuracy_score'"),
        ({"accuracy_score": math.nan}, {}, "not a finite number"),
        ({"accuracy_score": "high"}, {}, "is not a number"),
        ({"f1_score": 0.5}, {"metric_key": "f1_score"}, "greater_is_better"),
        (["accuracy_score"], {}, "what mlflow.models.evaluate returned"),
        ({"accuracy_score": 0.9}, {"targets": "nope"}, "targets column 'nope'"),
    ],
)
def test_bad_evaluations_are_refused_before_any_write(
    mlflow_server, evaluation, kwargs, fragment
) -> None:
    uri = mlflow_server.uri
    name = unique_name("hook")
    register_version(uri, name, make_frame(300, seed=5), val_loss=0.1, alias="champion")
    before = snapshot(uri, name)
    kwargs = {"targets": TARGET, **kwargs}
    with pytest.raises(InvalidInputError, match=fragment.replace("(", r"\(")):
        advise_after_evaluate(
            evaluation, name, make_frame(100, seed=6), **kwargs, cost=COST, tracking_uri=uri
        )
    assert snapshot(uri, name) == before
    assert client_for(uri).get_experiment_by_name(advisor_experiment(name)) is None


def test_labels_and_metrics_together_are_refused(mlflow_server) -> None:
    from mlflow_staleness import Advisor

    with pytest.raises(InvalidInputError, match="not both"):
        Advisor("any", cost=COST, tracking_uri=mlflow_server.uri).advise(
            make_frame(10), labels=TARGET, metrics={"accuracy_score": 0.9}
        )


def test_the_example_runs_as_documented(tmp_path: Path) -> None:
    folder = tmp_path / "hook-demo"
    done = subprocess.run(
        [sys.executable, str(REPO / "examples" / "post_evaluation_hook.py"), "--dir", str(folder)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    first = done.stdout.splitlines()[0]
    action, reason = first.split(": ", 1)
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    client = client_for(uri)
    champion = client.get_model_version_by_alias("elec2-price-direction", "champion")
    assert champion.tags["staleness.action"] == action
    assert champion.tags["staleness.reason"] == reason
    assert champion.tags["staleness.window"] == "1998-11-16"
    # the evaluation's accuracy is the window's measured loss, in the advice and its history
    evaluation = client.search_runs([client.get_experiment_by_name("evaluations").experiment_id])[0]
    accuracy = evaluation.data.metrics["accuracy_score"]
    assert float(champion.tags["staleness.measured_loss"]) == pytest.approx(1.0 - accuracy)
    run_id = champion.tags["staleness.advisor_run_id"]
    last = RegistryReader(client).advisor_state("elec2-price-direction").history[-1]
    assert last.window == "1998-11-16"
    assert np.isclose(last.measured[str(champion.version)], 1.0 - accuracy)
    assert "report.html" in {a.path for a in client.list_artifacts(run_id)}
