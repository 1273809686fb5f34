"""Models nobody prepared: autologged scikit-learn versions, with and without an evaluation run.

A team that never called ``log_reference`` still has evidence in MLflow: ``mlflow.sklearn.autolog``
logs training metrics and the training dataset, and ``mlflow.models.evaluate`` logs held-out
metrics on an evaluation run of its own. The advisor finds and uses them
(:mod:`mlflow_staleness.metric_names`): the loss kind from the metric names, a validation loss
(an evaluation's, else the optimistic training metric, marked so), and says which it used.

One embedded SQLite store per module; the models are real autologged scikit-learn models on
scikit-learn's own real datasets (diabetes progression for regression, wine cultivars for a
three-class classification).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from registry_helpers import client_for, unique_name, using
from sklearn.datasets import load_diabetes, load_wine
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LogisticRegression, Ridge

from mlflow_staleness import Advisor, CostModel, advise_after_evaluate
from mlflow_staleness.adapter import RegistryReader
from mlflow_staleness.cli import main

COST = CostModel(compute_cost=100, error_cost=1.0, predictions_per_step=100)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A SQLite store and an experiment whose artifacts live next to it."""
    folder = tmp_path_factory.mktemp("unprepared")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLAlchemy 2.1 on MLflow's own ORM models
        experiment = client_for(uri).create_experiment(
            "team", artifact_location=(folder / "artifacts").as_uri()
        )
    return uri, experiment


def _regression() -> pd.DataFrame:
    data = load_diabetes(as_frame=True)
    return data.frame.rename(columns={"target": "y"})


def _classification() -> pd.DataFrame:
    data = load_wine(as_frame=True)
    frame = data.frame.rename(columns={"target": "y"})
    return frame.sample(frac=1.0, random_state=0).reset_index(drop=True)


def _autolog_version(
    store: tuple[str, str],
    name: str,
    estimator,
    train: pd.DataFrame,
    *,
    evaluate: pd.DataFrame | None = None,
    model_type: str = "regressor",
) -> str:
    """Train with ``mlflow.sklearn.autolog()`` as a team would, register the logged model, and
    optionally evaluate it with ``mlflow.models.evaluate`` on another run; the version."""
    uri, experiment = store
    with using(uri), warnings.catch_warnings():
        # autolog and evaluate warn about pickles, feature names and pandas 4 in MLflow's own code
        warnings.simplefilter("ignore")
        mlflow.sklearn.autolog(silent=True)
        try:
            with mlflow.start_run(experiment_id=experiment) as run:
                estimator.fit(train.drop(columns=["y"]), train["y"])
        finally:
            mlflow.sklearn.autolog(disable=True)
        [model] = client_for(uri).search_logged_models(
            experiment_ids=[experiment], filter_string=f"source_run_id = '{run.info.run_id}'"
        )
        version = mlflow.register_model(f"models:/{model.model_id}", name).version
        client_for(uri).set_registered_model_alias(name, "champion", version)
        if evaluate is not None:
            with mlflow.start_run(experiment_id=experiment):
                mlflow.models.evaluate(
                    f"models:/{name}/{version}", data=evaluate, targets="y", model_type=model_type
                )
    return str(version)


def _evidence(uri: str, name: str, **kwargs):
    return RegistryReader(client_for(uri)).versions(name, **kwargs)[-1]


# ---------------------------------------------------------------------------------- regression
def test_an_autologged_regressor_is_judged_by_mae_with_its_optimistic_training_loss(
    store: tuple[str, str],
) -> None:
    uri, _ = store
    frame = _regression()
    name = unique_name("autolog-reg")
    model = RandomForestRegressor(n_estimators=20, random_state=0)
    _autolog_version(store, name, model, frame.iloc[:300])

    evidence = _evidence(uri, name)
    assert evidence.metric == "mae"
    assert evidence.metric_source == "metric names (training_mean_absolute_error)"
    assert evidence.optimistic
    assert "'training_mean_absolute_error'" in evidence.val_source
    assert evidence.reference_columns == tuple(c for c in frame.columns if c != "y")

    window = frame.iloc[300:400]
    rec = Advisor(name, cost=COST, tracking_uri=uri).advise(
        window, labels="y", window="w1", dry_run=True
    )
    true_mae = float(np.mean(np.abs(window["y"] - model.predict(window.drop(columns=["y"])))))
    assert rec.action != "insufficient-evidence"
    assert rec.measured_loss == pytest.approx(true_mae)  # an MAE, never an error rate of 1.0
    assert rec.measured_loss > evidence.val_loss  # the training loss was optimistic
    assert "training data: optimistic" in rec.reason
    assert "loss mae from metric names" in rec.reason
    assert 0 < rec.confidence < 1


def test_an_evaluation_run_gives_the_validation_loss_and_the_hook_asks_for_mae(
    store: tuple[str, str],
) -> None:
    uri, _ = store
    frame = _regression()
    name = unique_name("autolog-reg-eval")
    model = RandomForestRegressor(n_estimators=20, random_state=0)
    _autolog_version(
        store, name, model, frame.iloc[:250], evaluate=frame.iloc[250:320], model_type="regressor"
    )

    evidence = _evidence(uri, name)
    held_out = frame.iloc[250:320]
    expected = float(np.mean(np.abs(held_out["y"] - model.predict(held_out.drop(columns=["y"])))))
    assert evidence.val_loss == pytest.approx(expected)
    assert not evidence.optimistic
    assert "'mean_absolute_error' of evaluation run" in evidence.val_source

    window = frame.iloc[320:420]
    with using(uri), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = mlflow.models.evaluate(
            f"models:/{name}@champion", data=window, targets="y", model_type="regressor"
        )
    rec = advise_after_evaluate(
        result, name, window, targets="y", window="w1", cost=COST, tracking_uri=uri, dry_run=True
    )
    assert rec.action != "insufficient-evidence"
    assert rec.measured_loss == pytest.approx(result.metrics["mean_absolute_error"])
    assert "evaluation run" in rec.reason
    assert "optimistic" not in rec.reason


def test_the_metric_setting_names_the_loss_and_its_training_metric(
    store: tuple[str, str],
) -> None:
    uri, _ = store
    frame = _regression()
    name = unique_name("autolog-reg-mse")
    _autolog_version(store, name, RandomForestRegressor(n_estimators=5), frame.iloc[:200])
    evidence = _evidence(uri, name, metric="rmse")
    assert (evidence.metric, evidence.metric_source) == ("rmse", "the metric setting")
    assert "'training_root_mean_squared_error'" in evidence.val_source


# ---------------------------------------------------------------------------------- classification
@pytest.mark.parametrize("evaluated", [False, True], ids=["autolog-only", "with-evaluate"])
def test_an_autologged_classifier_is_judged_by_its_error_rate(
    store: tuple[str, str], evaluated: bool
) -> None:
    uri, _ = store
    frame = _classification()
    name = unique_name("autolog-clf")
    model = LogisticRegression(max_iter=5000)
    _autolog_version(
        store,
        name,
        model,
        frame.iloc[:100],
        evaluate=frame.iloc[100:140] if evaluated else None,
        model_type="classifier",
    )
    evidence = _evidence(uri, name)
    assert evidence.metric == "error_rate"
    assert evidence.metric_source.startswith("metric names (")
    assert evidence.optimistic is not evaluated
    assert 0 <= evidence.val_loss <= 1

    window = frame.iloc[140:]
    rec = Advisor(name, cost=COST, tracking_uri=uri).advise(
        window, labels="y", window="w1", dry_run=True
    )
    expected = float(np.mean(model.predict(window.drop(columns=["y"])) != window["y"]))
    assert rec.action != "insufficient-evidence"
    assert rec.measured_loss == pytest.approx(expected)
    assert ("evaluation run" in rec.reason) is evaluated
    assert 0 < rec.confidence < 1


# ---------------------------------------------------------------------------------- the CLI
@pytest.fixture(scope="module")
def cli_model(store: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict:
    frame = _regression()
    name = unique_name("autolog-cli")
    _autolog_version(store, name, RandomForestRegressor(n_estimators=10), frame.iloc[:300])
    folder = tmp_path_factory.mktemp("cli-unprepared")
    window = frame.iloc[300:400]
    files = {
        "window": folder / "window.csv",
        "no_bmi": folder / "no_bmi.csv",
        "features": folder / "features.csv",
    }
    window.to_csv(files["window"], index=False)
    window.drop(columns=["bmi", "bp"]).to_csv(files["no_bmi"], index=False)
    window.drop(columns=["y"]).to_csv(files["features"], index=False)
    return {"name": name, "uri": store[0], **files}


def _cli(model: dict, data: Path, *extra: str) -> tuple[int, str, str]:
    args = ["advise", model["name"], "--data", str(data), "--tracking-uri", model["uri"]]
    args += ["--retrain-cost", "100", "--error-cost", "1", "--predictions-per-step", "100"]
    result = CliRunner().invoke(main, [*args, "--dry-run", "--json", *extra])
    return result.exit_code, result.stdout, result.stderr


def test_cli_advises_an_autologged_regressor_on_its_labels(cli_model: dict) -> None:
    code, out, err = _cli(cli_model, cli_model["window"], "--target", "y")
    assert code == 0, err
    rec = json.loads(out.strip().splitlines()[-1])
    assert rec["action"] != "insufficient-evidence"
    assert rec["measured_loss"] > 1.0  # an MAE of a disease score, not an error rate
    assert "loss mae from metric names" in rec["reason"]

    code, out, _ = _cli(cli_model, cli_model["window"], "--target", "y", "--metric", "mse")
    assert code == 0
    assert "loss mse from the metric setting" in json.loads(out.splitlines()[-1])["reason"]


def test_cli_names_missing_columns_in_one_line_before_loading_the_model(cli_model: dict) -> None:
    code, out, err = _cli(cli_model, cli_model["no_bmi"], "--target", "y")
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "'bmi', 'bp'" in lines[0]
    assert "model signature" in lines[0] or "reference" in lines[0]
    assert "nothing was loaded" in lines[0]
    assert out == ""


def test_cli_hints_at_the_target_column_given_without_target(
    store: tuple[str, str], tmp_path: Path
) -> None:
    """A version whose reference names its label column (``log_reference(target=...)``, or a
    signature with a named output): data that holds it, given without --target, gets a hint."""
    from mlflow_staleness import log_reference

    uri, experiment = store
    frame = _classification()
    name = unique_name("hint")
    with using(uri), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with mlflow.start_run(experiment_id=experiment):
            model = LogisticRegression(max_iter=5000).fit(frame.drop(columns=["y"]), frame["y"])
            mlflow.sklearn.log_model(
                model, name="model", registered_model_name=name, pip_requirements=["sklearn"]
            )
            log_reference(frame, target="y", loss=0.05)
        client_for(uri).set_registered_model_alias(name, "champion", "1")
    data = tmp_path / "window.csv"
    frame.to_csv(data, index=False)
    args = ["advise", name, "--data", str(data), "--tracking-uri", uri, "--dry-run", "--json"]
    args += ["--retrain-cost", "100", "--error-cost", "1", "--predictions-per-step", "100"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.stderr
    reason = json.loads(result.stdout.splitlines()[-1])["reason"]
    assert "pass it as labels (--target y)" in reason


def test_configure_metric_is_used_by_later_advice(cli_model: dict) -> None:
    configure = ["configure", cli_model["name"], "--metric", "rmse"]
    result = CliRunner().invoke(main, [*configure, "--tracking-uri", cli_model["uri"]])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == ["  metric = rmse"]
    code, out, err = _cli(cli_model, cli_model["window"], "--target", "y")
    assert code == 0, err
    reason = json.loads(out.splitlines()[-1])["reason"]
    assert "loss rmse from the metric setting" in reason
    assert "'training_root_mean_squared_error'" in reason


def test_a_regressor_evaluation_is_read_as_mae_when_nothing_else_says_so(
    store: tuple[str, str],
) -> None:
    """No autolog, no signature, no reference: the loss kind is unknown, and an evaluation with
    model_type="regressor" is read as MAE, never asked for accuracy_score."""
    uri, experiment = store
    frame = _regression()
    name = unique_name("bare-reg")
    with using(uri), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with mlflow.start_run(experiment_id=experiment):
            model = Ridge().fit(frame.drop(columns=["y"]), frame["y"])
            mlflow.sklearn.log_model(
                model, name="model", registered_model_name=name, pip_requirements=["sklearn"]
            )
    metrics = {"mean_absolute_error": 41.5, "r2_score": 0.3, "root_mean_squared_error": 50.0}
    rec = advise_after_evaluate(
        metrics,
        name,
        frame.iloc[:100],
        targets="y",
        window="w1",
        cost=COST,
        tracking_uri=uri,
        dry_run=True,
    )
    assert rec.measured_loss == 41.5
    assert "loss mae from the evaluation's metrics (mean_absolute_error)" in rec.reason
