"""The advisor: read a registered model, decide for the served version, write the advice back.

Examples
--------
A post-evaluation hook, after the team scored fresh labelled data::

    from mlflow_staleness import Advisor, CostModel

    advisor = Advisor("fraud", cost=CostModel(compute_cost=300, people_cost=500,
                                               error_cost=2.0, predictions_per_step=50_000))
    rec = advisor.advise(todays_rows, labels="is_fraud", window="2026-11-28")
    print(rec.action, rec.reason)
"""

from __future__ import annotations

import dataclasses
import re
import time
import warnings
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from mlflow_staleness.adapter import (
    NEW_RUN,
    AdvisorState,
    ModelInfo,
    RegistryReader,
    StageDeprecationWarning,
    VersionScorer,
    Write,
    connect,
    execute,
    plan_advice,
)
from mlflow_staleness.adapter.connection import DEFAULT_TIMEOUT, request_bounds
from mlflow_staleness.adapter.permissions import check_write_permission
from mlflow_staleness.adapter.reading import advisor_experiment
from mlflow_staleness.advice import VersionEvidence, WindowRecord, compute_advice, merge_window
from mlflow_staleness.advice_log import advice_fact, measurement_fact
from mlflow_staleness.costs import CostModel
from mlflow_staleness.data_files import check_usable
from mlflow_staleness.eligibility import Ineligible, eligible, ineligibility
from mlflow_staleness.exceptions import InvalidInputError, RegistryError, SchemaMismatchError
from mlflow_staleness.fingerprint import distance
from mlflow_staleness.losses import (
    EVALUATION_KEYS,
    evaluate,
    loss_flag,
    loss_from_evaluation,
)
from mlflow_staleness.metric_names import OPTIMISTIC_WEIGHT, signature_kind
from mlflow_staleness.plots import plot_history
from mlflow_staleness.recommendation import MAX_REASON, Recommendation, new_advice_id, utc_now
from mlflow_staleness.report import advice_document, history_plot_rows, render_report
from mlflow_staleness.settings import Settings, cost_settings, resolve
from mlflow_staleness.spark import fingerprint_data, is_spark_dataframe, spark_labels_error
from mlflow_staleness.windows import normalise

__all__ = ["Advisor"]

DEFAULT_SCORED_VERSIONS = 3
#: The longest window label: it is written into tags, the reason and the summary.
MAX_WINDOW = 200
#: MLflow's limit on an experiment name (the advisor experiment is ``staleness/<model>``).
MAX_EXPERIMENT_NAME = 500


@dataclasses.dataclass(frozen=True)
class _Context:
    info: ModelInfo
    settings: Settings
    versions: list[VersionEvidence]
    served: VersionEvidence
    note: str
    state: AdvisorState


class Advisor:
    """Advice for one registered model, written back into MLflow.

    Parameters
    ----------
    model_name
        The registered model.
    cost
        The cost model; default: the one stored by ``mlflow-staleness configure``.
    strategy
        A policy name (``forecast``, ``cumulative``, ``threshold``, ``periodic`` ...); default:
        the stored one, else ``forecast``.
    alias
        The alias of the served version. Default: the stored one, else ``champion``; when the
        default ``champion`` is not set, the newest version is advised and the reason says so.
        An alias named here (or stored) that does not exist is an error.
    tracking_uri
        Default: ``MLFLOW_TRACKING_URI``, else MLflow's default.
    loss_key
        The validation-loss metric of the versions' runs; default: the stored one, else what
        ``log_reference`` recorded, else ``val_loss``, else the evaluation or autolog metric of
        the loss (:mod:`mlflow_staleness.metric_names`). The direction belongs to the key: the
        reference's own key keeps the one ``log_reference`` recorded, a known score name
        (``val_accuracy``) is read as ``1 - value``, a known loss name as it is, any other key
        by ``metric``; without ``metric`` such a key is refused
        (:func:`mlflow_staleness.metric_names.loss_key_direction`).
    metric
        How the loss is measured (``error_rate``, ``accuracy``, ``mae``, ``mse``, ``rmse``);
        default: the stored one, else what ``log_reference`` recorded, else what the logged
        metric names, the estimator class or the model signature say (``docs/metrics.md``).
    set_alias
        With ``apply=True``: an alias (e.g. ``retrain-recommended``) pointed at the served version
        while the advice is retrain, and removed when it returns to keep. It must differ from the
        serving alias.
    transition_stage
        With ``apply=True`` and a promote advice: also move the candidate to this stage
        (``Staging`` or ``Production``; not ``Archived``, which may not serve; stages are
        deprecated in MLflow since 2.9, for older setups).
    promote_alias
        With ``apply=True`` and a promote advice: point the serving alias at the candidate.
    server_timeout
        Seconds to wait for the tracking server before giving up.
    score_versions
        When labels are given without predictions, also score up to this many other versions
        (loaded through ``mlflow.pyfunc``): the age curve of staleness comes from versions of
        different ages measured on the same windows.
    overrides
        Layers of settings below the arguments above and above the stored configuration,
        highest priority first (the CLI passes its flags, then its cost file); see
        :mod:`mlflow_staleness.settings`.
    progress
        Say on stderr what is being read: ``True`` always, ``False`` never, ``None`` for long
        reads only (hundreds of versions).
    client
        A tracking client another advisor already connected (``client``), to share one
        connection among many models; by default the advisor connects on first use.
    """

    def __init__(
        self,
        model_name: str,
        cost: CostModel | None = None,
        strategy: str | None = None,
        alias: str | None = None,
        tracking_uri: str | None = None,
        *,
        loss_key: str | None = None,
        metric: str | None = None,
        set_alias: str | None = None,
        transition_stage: str | None = None,
        promote_alias: bool = True,
        server_timeout: float = DEFAULT_TIMEOUT,
        score_versions: int = DEFAULT_SCORED_VERSIONS,
        overrides: Sequence[dict[str, Any]] = (),
        progress: bool | None = False,
        client: Any = None,
    ) -> None:
        if not isinstance(model_name, str) or not model_name.strip():
            raise InvalidInputError(f"model_name must be a non-empty string, got {model_name!r}")
        if cost is not None and not isinstance(cost, CostModel):
            raise InvalidInputError(f"cost must be a CostModel, got {type(cost).__name__}")
        self.model_name = model_name
        self.cost = cost
        self.strategy = strategy
        self.tracking_uri = tracking_uri
        self.loss_key = loss_key
        self.metric = metric
        self.set_alias = _alias_name("set_alias", set_alias)
        self.alias = _alias_name("alias", alias)
        self.transition_stage = _stage_name(transition_stage)
        self.promote_alias = promote_alias
        self.server_timeout = server_timeout
        self.score_versions = score_versions
        self.overrides = list(overrides)
        self.progress = progress
        self.last_plan: list[Write] = []
        self._client = client
        self._scorer: VersionScorer | None = None

    # ------------------------------------------------------------------ plumbing
    @property
    def client(self):
        """The tracking client, connected on first use within the server timeout."""
        if self._client is None:
            self._client = connect(self.tracking_uri, timeout=self.server_timeout)
        return self._client

    def _reader(self) -> RegistryReader:
        return RegistryReader(self.client, progress=self.progress)

    def _layer(self) -> dict[str, Any]:
        layer: dict[str, Any] = {"strategy": self.strategy, "alias": self.alias}
        layer["loss_key"] = self.loss_key
        layer["metric"] = self.metric
        if self.cost is not None:
            layer.update(cost_settings(self.cost))
        return {k: v for k, v in layer.items() if v is not None}

    def _context(self, *, require_cost: bool = True) -> _Context:
        reader = self._reader()
        info = reader.model(self.model_name)
        settings = resolve(
            [self._layer(), *self.overrides],
            stored_tags=info.tags,
            model_name=repr(self.model_name),
            require_cost=require_cost,
        )
        versions = reader.versions(
            self.model_name, loss_key=settings.loss_key, metric=settings.metric
        )
        if not versions:
            raise RegistryError(
                f"registered model {self.model_name!r} has no versions: register a version "
                f"before asking for advice"
            )
        _alias_name("alias", settings.alias)  # a stored or --alias value, checked like ours
        served, note = self._served(info, settings, versions)
        _check_recorded_evidence(served, self.model_name, settings.alias)
        fingerprint, missing = reader.fingerprint(served)
        notes = served.notes + ((missing,) if missing else ())
        served = dataclasses.replace(served, fingerprint=fingerprint, notes=notes)
        versions = [served if v.version == served.version else v for v in versions]
        return _Context(
            info, settings, versions, served, note, reader.advisor_state(self.model_name)
        )

    def _served(
        self, info: ModelInfo, settings: Settings, versions: Sequence[VersionEvidence]
    ) -> tuple[VersionEvidence, str]:
        by_number = {v.version: v for v in versions}
        alias = settings.alias
        if alias in info.aliases:
            served = by_number.get(info.aliases[alias])
            if served is None:
                raise RegistryError(
                    f"alias {alias!r} of {self.model_name!r} points at version "
                    f"{info.aliases[alias]}, which does not exist"
                )
            note = ""
        elif settings.alias_given:
            known = ", ".join(f"{a} -> v{v}" for a, v in sorted(info.aliases.items())) or "none"
            raise RegistryError(
                f"alias {alias!r} is not set on model {self.model_name!r} (its aliases: {known}). "
                f"Set it with `mlflow models` / MlflowClient.set_registered_model_alias, or name "
                f"an existing alias with --alias"
            )
        else:
            ready = [v for v in versions if eligible(v, self.model_name)] or list(versions)
            served = max(ready, key=lambda v: v.number)
            note = f"alias {alias!r} is not set, so the newest version v{served.version} is advised"
        return served, note

    def _write(self, plan: list[Write], experiment_id: str | None) -> str:
        """Check that this user may write all of it, then make the writes in order."""
        check_write_permission(
            self.client, self.model_name, experiment_id, advisor_experiment(self.model_name)
        )
        return execute(self.client, plan, model_name=self.model_name)

    # ------------------------------------------------------------------ measuring
    def _split(
        self, data: pd.DataFrame, labels: Any, predictions: Any
    ) -> tuple[pd.DataFrame, np.ndarray | None, np.ndarray | None]:
        if is_spark_dataframe(data):  # fingerprinted where it lives (fingerprint_data below)
            if labels is not None or predictions is not None:
                raise spark_labels_error("labels" if labels is not None else "predictions")
            return data, None, None
        if not isinstance(data, pd.DataFrame):
            raise InvalidInputError(
                f"current_data must be a pandas DataFrame, got {type(data).__name__}"
            )
        drop = []
        if isinstance(labels, str) and isinstance(predictions, str) and labels == predictions:
            raise InvalidInputError(
                f"labels and predictions name the same column {labels!r}: its loss against "
                f"itself is 0 whatever the model does. Name the served version's predictions "
                f"column with --predictions-col (predictions=), or leave it out to load the "
                f"version and predict"
            )

        def column_or_array(value: Any, what: str) -> np.ndarray | None:
            if value is None:
                return None
            if what == "predictions" and isinstance(value, pd.DataFrame) and value.shape[1] > 1:
                # class probabilities: the column names are the class list (losses.evaluate)
                if len(value) != len(data):
                    raise InvalidInputError(
                        f"{what} has {len(value)} rows for {len(data)} rows of data"
                    )
                return value
            if isinstance(value, str):
                if value not in data.columns:
                    raise InvalidInputError(
                        f"{what} column {value!r} is not in the data; its columns are "
                        f"{list(map(str, data.columns))[:20]}"
                    )
                drop.append(value)
                return data[value].to_numpy()
            try:
                array = np.asarray(value)
            except ValueError:  # rows of different lengths
                array = np.asarray(list(value), dtype=object)
            # one value per row; predictions may also be one row of class probabilities per row
            keep_2d = what == "predictions" and array.ndim == 2 and array.shape[0] == len(data)
            array = array if keep_2d else array.ravel()
            if array.shape[0] != len(data):
                raise InvalidInputError(
                    f"{what} has {array.shape[0]} values for {len(data)} rows of data"
                )
            return array

        y = column_or_array(labels, "labels")
        p = column_or_array(predictions, "predictions")
        if p is not None and y is None:
            raise InvalidInputError("predictions were given without labels: pass labels too")
        features = data.drop(columns=drop)
        if features.shape[1] == 0:
            raise InvalidInputError("the data has no feature columns besides labels/predictions")
        check_usable(features, name="current data")
        return features, y, p

    def _measure(
        self,
        ctx: _Context,
        features: pd.DataFrame,
        labels: np.ndarray,
        predictions: np.ndarray | None,
        served: VersionEvidence,
    ) -> tuple[dict[str, float], tuple[str, ...]]:
        """The losses measured on the window, by version, and how the served version's labels
        and predictions were read (see :func:`mlflow_staleness.losses.evaluate`)."""
        metric = served.metric or "error_rate"
        _check_labels_fit(metric, labels, served)
        if self._scorer is None:
            self._scorer = VersionScorer(self.client, self.model_name)
        # Given predictions are the served version's only; versions are loaded (and then the
        # other versions scored too) only when none were given.
        load = predictions is None
        classes = None
        if load:
            predictions, classes = self._scorer.predict_with_classes(served.version, features)
        result = evaluate(metric, labels, predictions, classes=classes)
        if result.thin:
            # too few rows to act on: no loss joins the history, the advice rests on drift alone
            note = f"loss of v{served.version} not measured: {result.thin}"
            return {}, (*result.notes, note)
        measured = {served.version: result.loss}
        notes = list(result.notes)
        if load and self.score_versions:
            others = [
                v
                for v in sorted(ctx.versions, key=lambda v: -v.number)
                if v.version != served.version and eligible(v, self.model_name) and v.run_id
            ][: self.score_versions]
            for version in others:
                try:
                    scored, classes = self._scorer.predict_with_classes(version.version, features)
                    other = evaluate(version.metric or metric, labels, scored, classes=classes)
                except InvalidInputError as exc:
                    # another version that cannot be loaded, or whose predictions do not match
                    # the labels, adds no evidence: said, never skipped silently
                    notes.append(f"v{version.version} not scored on this window: {exc}")
                    continue
                if other.thin:
                    notes.append(f"v{version.version} not scored on this window: {other.thin}")
                    continue
                measured[version.version] = other.loss
        return measured, tuple(notes)

    # ------------------------------------------------------------------ the API
    def advise(
        self,
        current_data: pd.DataFrame,
        labels: Any = None,
        predictions: Any = None,
        window: str | None = None,
        dry_run: bool = False,
        apply: bool = False,
        *,
        metrics: Mapping[str, float] | None = None,
        metric_key: str | None = None,
        greater_is_better: bool | None = None,
        candidate: str | int | None = None,
    ) -> Recommendation:
        """Advise on ``current_data``; write the advice back unless ``dry_run``.

        Parameters
        ----------
        current_data
            The window's data: the features the model serves on, plus optionally the label and
            prediction columns named by ``labels`` / ``predictions``. A Spark DataFrame is
            fingerprinted where it lives (:mod:`mlflow_staleness.spark`); its loss then comes
            from ``metrics``, not from labels.
        labels, predictions
            A column name of ``current_data`` or an array. With labels, the served version's loss
            on the window is measured and joins the history; its predictions come from
            ``predictions`` when given, else from loading the version through ``mlflow.pyfunc``.
            Class probabilities (2-D) are read through the model's class list: a DataFrame's
            column names, else the loaded model's ``classes_`` or signature output names
            (:func:`mlflow_staleness.losses.evaluate`); labels and predictions must be different
            columns. Rows with a missing label or prediction are dropped and counted; when fewer
            than ``losses.MIN_ROWS`` rows or ``losses.MIN_SHARE`` of the window are left, no loss
            is recorded and the advice rests on drift alone, saying so.
        window
            The window's label (a date, say); default: today's UTC date. Advising twice on the
            same window replaces its advice. A label that is an ISO 8601 date or date-time is
            normalised to UTC and placed on the time axis (:mod:`mlflow_staleness.windows`); a
            window older than the newest one is advised on the history up to it and shown
            nowhere as the current advice (no version tag, summary, ``advice.json`` or alias
            move). Other labels keep the order of arrival.
        dry_run
            Write nothing; :attr:`last_plan` holds the writes that would have been made.
        apply
            Also move aliases (``set_alias``; the serving alias on promote) or the stage.
        metrics, metric_key, greater_is_better
            Instead of labels: the metrics of ``mlflow.models.evaluate`` of the served version on
            this window's labelled data (``EvaluationResult.metrics``). The served version's loss
            is read from them (``accuracy_score`` for an error rate, ``mean_absolute_error`` for
            MAE ...; or the metric named by ``metric_key``, a score when ``greater_is_better``). See
            :func:`mlflow_staleness.advise_after_evaluate`.
        candidate
            A version to judge now against the served one (the policy's gate): ``promote`` it or
            keep the served version. Default: the newest ready version when it is newer than the
            served one and no advice has judged it yet (a version registered after a retrain
            advice is judged on the next call, even on the same window). Pass ``"none"`` to
            advise on the served version alone.
        """
        if metrics is not None and labels is not None:
            raise InvalidInputError(
                "give either labels or the evaluation's metrics, not both: each measures the "
                "served version's loss on the window"
            )
        evaluation = None if metrics is None else (metrics, metric_key, greater_is_better)
        with request_bounds(self.server_timeout):
            rec, plan, ctx = self._prepare(
                current_data, labels, predictions, window, apply, evaluation, candidate
            )
            self.last_plan = plan
            if dry_run:
                return dataclasses.replace(rec, advisor_run_id=ctx.state.run_id)
            run_id = self._write(plan, ctx.state.experiment_id)
        return dataclasses.replace(rec, advisor_run_id=run_id)

    def _prepare(
        self,
        data: pd.DataFrame,
        labels: Any,
        predictions: Any,
        window: str | None,
        apply: bool,
        evaluation: tuple[Mapping[str, Any], str | None, bool | None] | None = None,
        candidate: str | int | None = None,
    ) -> tuple[Recommendation, list[Write], _Context]:
        window = _window_label(window)
        _check_experiment_name(self.model_name)
        features, y, p = self._split(data, labels, predictions)
        ctx = self._context()
        if self.set_alias is not None and self.set_alias == ctx.settings.alias:
            raise InvalidInputError(
                f"set_alias {self.set_alias!r} is the alias of the served version: keep advice "
                f"would remove it. Name another alias, e.g. 'retrain-recommended'"
            )
        served = ctx.served
        consumed = {c for c in (labels, predictions) if isinstance(c, str)}
        load = y is not None and p is None  # the served version will be loaded to predict
        signature = None
        if load or served.metric_source is None:
            signature = self._reader().signature(self.model_name, served.version)
        served = _settle_metric(served, signature)
        ctx = dataclasses.replace(
            ctx,
            served=served,
            versions=[served if v.version == served.version else v for v in ctx.versions],
        )
        _check_columns(served, signature, features, consumed, labelled=y is not None)
        if served.fingerprint is None and served.reference_columns:
            # The dataset input's schema covers the whole frame, its target included; only when
            # labels were given is it known which columns are not features.
            lost = [
                c
                for c in served.reference_columns
                if c not in features.columns and c not in consumed
            ]
            if lost and y is None:
                served = dataclasses.replace(
                    served,
                    notes=(
                        *served.notes,
                        f"reference column(s) {', '.join(map(repr, lost))} not in the data",
                    ),
                )
                lost = []
            if lost:
                raise SchemaMismatchError(
                    f"the current data lacks column(s) {', '.join(map(repr, lost))} of version "
                    f"{served.version}'s reference dataset",
                    columns=dict.fromkeys(lost, "missing from current data"),
                )
        hint = ""
        target = served.target or (signature.output_name if signature is not None else None)
        if y is None and evaluation is None and target and target in features.columns:
            hint = (
                f"the data holds {target!r}, the label column of v{served.version}'s reference: "
                f"pass it as labels (--target {target}) to measure the loss"
            )
            spark = is_spark_dataframe(features)
            features = features.drop(target) if spark else features.drop(columns=[target])
        fingerprint = fingerprint_data(features)
        measured, read_as = (
            self._measure(ctx, features, y, p, served) if y is not None else ({}, ())
        )
        thin = next((n for n in read_as if n.startswith(f"loss of v{served.version} not")), "")
        if thin:
            thin += (
                "; advised without it: fix the labels or predictions (e.g. their join) and "
                "advise again"
            )
        if evaluation is not None:
            metrics, key, greater = evaluation
            metric = served.metric or "error_rate"
            if key is None and served.metric_source == ASSUMED and metric in EVALUATION_KEYS:
                # nothing said how the loss is measured: the evaluation's own metrics do
                found = next(
                    (m for m in ("mae", "rmse", "mse") if EVALUATION_KEYS[m][0] in metrics), None
                )
                if found is not None:
                    metric = found
                    source = f"the evaluation's metrics ({EVALUATION_KEYS[found][0]})"
                    served = dataclasses.replace(served, metric=found, metric_source=source)
            loss = loss_from_evaluation(metric, metrics, key=key, greater_is_better=greater)
            measured = {served.version: loss}
        drift = {}
        if served.fingerprint is not None:
            drift[served.version] = distance(served.fingerprint, fingerprint).score
        now_ms = int(time.time() * 1000)
        record, history = merge_window(
            ctx.state.history,
            window,
            now_ms,
            served_version=served.version,
            measured=measured,
            drift=drift,
        )
        later = [r.window for r in history if r.seq > record.seq]
        note = ctx.note
        if later:
            # A late window is advised on the history up to it, as it would have been in time;
            # it is kept in the history but shown nowhere as the current advice, and moves nothing.
            late = (
                f"late window {window!r}, advised on the history up to it (the newest window is "
                f"{later[-1]!r}): recorded in the history only, no version tag, alias or stage "
                f"moved"
            )
            note = f"{note}; {late}" if note else late
            apply = False
            candidate = "none" if candidate is None else candidate
        judged = _candidate(
            candidate, ctx.versions, served, history, self.model_name, window=record.window
        )
        warning, lifted = _implausible_loss(served, history, record, judged)
        if warning is not None:  # a loss that is likely a data error moves nothing
            apply = False
        if lifted:
            read_as = (*read_as, lifted)
        rec = compute_advice(
            model_name=self.model_name,
            versions=ctx.versions,
            served=served,
            history=history,
            current=record,
            current_fingerprint=fingerprint,
            cost=ctx.settings.cost,
            strategy=ctx.settings.strategy,
            alias=ctx.settings.alias,
            note="; ".join(n for n in (note, hint, thin) if n),
            evaluated_at=utc_now(),
            advice_id=new_advice_id(),
            candidate=judged,
            loss_notes=read_as,
            loss_warning=warning,
        )
        _check_target(rec, ctx.versions, self.model_name)
        rec = _state_evidence(rec, served, measured_now=bool(measured))
        rec = dataclasses.replace(rec, advisor_run_id=ctx.state.run_id or NEW_RUN)
        document = advice_document(rec.to_dict(), cost_settings(ctx.settings.cost))
        advised = dataclasses.replace(record, advice=document)
        rows = [(advised if r.seq == record.seq else r).to_dict() for r in history]
        plot = plot_history(
            history_plot_rows(rows),
            retrain_cost=rec.retrain_cost,
            currency=rec.currency,
            model_name=self.model_name,
        )
        plan = plan_advice(
            rec,
            state=ctx.state,
            fact=advice_fact(advised, int(time.time() * 1000)),
            plot=plot,
            report=render_report(self.model_name, rows, plot_png=plot).encode("utf-8"),
            aliases=ctx.info.aliases,
            set_alias=self.set_alias,
            serving_alias=ctx.settings.alias if self.promote_alias else None,
            transition_stage=self.transition_stage,
            apply=apply,
            current=not later,
        )
        return rec, plan, ctx

    def record(
        self,
        data: pd.DataFrame,
        labels: Any,
        predictions: Any = None,
        window: str | None = None,
        dry_run: bool = False,
    ) -> dict[str, float]:
        """Record a past window's measured loss (late labels) without advising; return it.

        A window never advised takes its place on the time axis when its label is a time (see
        :mod:`mlflow_staleness.windows`), else it comes after every window seen so far.
        """
        with request_bounds(self.server_timeout):
            return self._record(data, labels, predictions, window, dry_run)

    def _record(
        self, data: pd.DataFrame, labels: Any, predictions: Any, window: str | None, dry_run: bool
    ) -> dict[str, float]:
        if labels is None:
            raise InvalidInputError("record needs labels: the point is to measure the loss")
        window = _window_label(window)
        _check_experiment_name(self.model_name)
        features, y, p = self._split(data, labels, predictions)
        ctx = self._context(require_cost=False)
        old = next((r for r in ctx.state.history if r.window == window), None)
        served = ctx.served
        if old is not None and old.served_version:
            served = next((v for v in ctx.versions if v.version == old.served_version), served)
        if served.metric_source is None:  # the loss kind settled as advise settles it
            served = _settle_metric(
                served, self._reader().signature(self.model_name, served.version)
            )
        measured, read_as = self._measure(ctx, features, y, p, served)
        if not measured:
            thin = "; ".join(n for n in read_as if n.startswith(f"loss of v{served.version} not"))
            raise InvalidInputError(
                f"nothing recorded: {thin}; fix the labels or predictions (e.g. their join) and "
                f"record again"
            )
        now_ms = int(time.time() * 1000)
        record, _ = merge_window(
            ctx.state.history, window, now_ms, served_version=served.version, measured=measured
        )
        # the fact holds this measurement only: a concurrent advice's newer losses stay newer
        fact = measurement_fact(
            dataclasses.replace(record, measured=measured), new_advice_id(), now_ms
        )
        from mlflow_staleness.adapter.writing import record_plan

        plan = record_plan(self.model_name, ctx.state, fact)
        self.last_plan = plan
        if not dry_run:
            self._write(plan, ctx.state.experiment_id)
        return measured

    def history(self) -> list[dict]:
        """One row per advised window (the latest complete advice), oldest first.

        Windows are on the time axis (see :mod:`mlflow_staleness.windows`): a row's
        ``window_seq`` is the window's place now, which a late window inserted before it moves.
        """
        with request_bounds(self.server_timeout):
            reader = self._reader()
            reader.model(self.model_name)  # an unknown model is an error, not an empty history
            state = reader.advisor_state(self.model_name)
        return [{**r.advice, "window_seq": r.seq} for r in state.history if r.advice is not None]

    def report(self) -> str:
        """The HTML report of the latest complete advice, as logged in ``report.html``.

        It is built from the advisor's trusted history (an advice whose writes were cut short is
        never shown), so it is the same page as the artifact of the latest complete advice.
        """
        with request_bounds(self.server_timeout):
            reader = self._reader()
            reader.model(self.model_name)
            state = reader.advisor_state(self.model_name)
        rows = [r.to_dict() for r in state.history if r.advice is not None]
        return render_report(self.model_name, rows)

    def configure(
        self, settings: dict[str, Any], *, dry_run: bool = False, reset: bool = False
    ) -> dict[str, str]:
        """Store settings on the registered model, as one document in one tag (atomic).

        The new settings are merged over the stored ones (a total replaces stored parts, all four
        parts replace a stored total); with ``reset``, the stored ones are dropped first, and
        with ``reset`` and no settings, nothing is stored any more. Per-key tags of older
        versions are removed. Returns the stored configuration after the change, as
        ``staleness.config.<key>`` = text.
        """
        from mlflow_staleness.adapter.writing import configure_plan
        from mlflow_staleness.settings import (
            check_layer,
            config_tags,
            merge,
            settings_document,
            stored_settings,
        )

        layer = check_layer(settings, "the arguments")
        with request_bounds(self.server_timeout):
            info = self._reader().model(self.model_name)
            stored = {} if reset else stored_settings(info.tags)
            merged = merge([(stored, "the stored configuration"), (layer, "the arguments")])
            resolve([merged], model_name=repr(self.model_name), require_cost=False)
            document = None
            if merged:
                revision = _revision(info.tags) + 1
                document = settings_document(merged, revision=revision)
            plan = configure_plan(self.model_name, info.tags, document)
            self.last_plan = plan
            if not dry_run:
                self._write(plan, None)
        return config_tags(merged)


def _revision(tags: Mapping[str, str]) -> int:
    """The stored document's revision; 0 when none is stored or it cannot be read (reset)."""
    from mlflow_staleness.settings import stored_revision

    try:
        return stored_revision(tags)
    except InvalidInputError:
        return 0


_RESERVED_ALIAS = re.compile(r"^(latest|v\d+)$", re.IGNORECASE)
_ALIAS = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
STAGES = ("Staging", "Production", "Archived")


def _alias_name(what: str, alias: str | None) -> str | None:
    """Check an alias name against MLflow's rules before anything is written."""
    if alias is None:
        return None
    if not isinstance(alias, str) or not _ALIAS.match(alias) or _RESERVED_ALIAS.match(alias):
        raise InvalidInputError(
            f"{what} {alias!r} is not a valid MLflow alias: use letters, digits, '_' and '-' "
            f"(at most 255), and not 'latest' or 'v<number>'"
        )
    return alias


def _stage_name(stage: str | None) -> str | None:
    """Check a stage name, warn that stages are deprecated; return MLflow's spelling."""
    if stage is None:
        return None
    match = next((s for s in STAGES if isinstance(stage, str) and s.lower() == stage.lower()), None)
    if match is None:
        raise InvalidInputError(
            f"transition_stage {stage!r} is not a stage; MLflow's stages are {', '.join(STAGES)}"
        )
    if match == "Archived":  # the version put into service would break the eligibility rule
        raise InvalidInputError(
            "transition_stage 'Archived' would archive the version a promote puts into service, "
            "and an archived version may not serve (mlflow_staleness.eligibility): use Staging or "
            "Production"
        )
    warnings.warn(
        "model stages are deprecated since MLflow 2.9; prefer aliases (set_alias / --set-alias)",
        StageDeprecationWarning,
        stacklevel=3,
    )
    return match


def _check_experiment_name(model_name: str) -> None:
    """The advisor experiment's name must fit MLflow's limit (checked before any read)."""
    if len(advisor_experiment(model_name)) > MAX_EXPERIMENT_NAME:
        raise InvalidInputError(
            f"model name of {len(model_name)} characters is too long for its advisor "
            f"experiment {advisor_experiment(model_name)[:40]!r}...: MLflow allows "
            f"{MAX_EXPERIMENT_NAME} characters in an experiment name, so the model name may "
            f"have at most {MAX_EXPERIMENT_NAME - len(advisor_experiment(''))}"
        )


#: How the loss kind is described when nothing logged says what it is.
ASSUMED = "assumed: nothing logged says how the loss is measured; pass --metric (metric=)"


def _settle_metric(served: VersionEvidence, signature: Any) -> VersionEvidence:
    """The served version with its loss kind settled: found in the registry, else from its
    model signature's output type, else ``error_rate``, stated as assumed."""
    if served.metric_source is not None and served.metric:
        return served
    output = signature.output_type if signature is not None else None
    kind = signature_kind(output)
    if kind is not None:
        return dataclasses.replace(
            served, metric=kind, metric_source=f"the model signature (output {output})"
        )
    return dataclasses.replace(served, metric=served.metric or "error_rate", metric_source=ASSUMED)


def _check_columns(
    served: VersionEvidence,
    signature: Any,
    features: pd.DataFrame,
    consumed: set,
    *,
    labelled: bool,
) -> None:
    """Refuse data that lacks a column the served version needs, in one line, before any model
    is loaded: the columns of its fingerprint, else of its signature's inputs."""
    if served.fingerprint is not None:
        needed, whose = tuple(served.fingerprint.columns), "reference"
    elif signature is not None and signature.inputs:
        needed, whose = signature.inputs, "model signature"
    else:
        return
    lost = [c for c in needed if c not in features.columns and c not in consumed]
    if lost:
        shown = ", ".join(map(repr, lost[:20])) + (
            f" and {len(lost) - 20} more" if len(lost) > 20 else ""
        )
        raise SchemaMismatchError(
            f"the current data lacks column(s) {shown} of version {served.version}'s {whose} "
            f"(nothing was loaded). Pass data with the columns the model was trained on",
            columns=dict.fromkeys(lost, "missing from current data"),
        )


def _check_labels_fit(metric: str, labels: Any, served: VersionEvidence) -> None:
    """An error rate on labels that are fractional numbers means nothing: refuse it."""
    if metric not in ("error_rate", "accuracy"):
        return
    values = np.asarray(labels)
    if values.dtype.kind != "f":
        return
    finite = values[np.isfinite(values)]
    if finite.size and not np.all(finite == np.round(finite)):
        raise InvalidInputError(
            f"the labels are fractional numbers, but v{served.version}'s loss is taken as "
            f"{metric} ({served.metric_source or 'log_reference'}): an error rate of a number "
            f"means nothing. Say how it is measured: `configure --metric mae` (or mse, rmse) "
            f"stores it for every command; advise also takes --metric"
        )


def _state_evidence(
    rec: Recommendation, served: VersionEvidence, *, measured_now: bool
) -> Recommendation:
    """Say in the advice which evidence of a version nobody prepared was used, and account for
    an optimistic (training) validation loss (:mod:`mlflow_staleness.metric_names`)."""
    if rec.action == "insufficient-evidence":
        return rec
    used = []
    if served.metric_source == ASSUMED:
        used.append(f"loss {served.metric} {ASSUMED}")
    elif served.metric_source not in (None, "log_reference"):
        used.append(f"loss {served.metric} from {served.metric_source}")
    if served.val_source and (
        served.optimistic or served.metric_source not in (None, "log_reference")
    ):
        used.append(f"validation loss {served.val_source}")
    # the key, step and direction the validation loss was read with: always in the evidence
    read = (f"validation loss {served.val_source}",) if served.val_source else ()
    if not used:
        if read and read[0] not in rec.evidence:
            return dataclasses.replace(rec, evidence=(*rec.evidence, *read))
        return rec
    evidence = (*rec.evidence, *(r for r in read if r not in used), *used)
    confidence, uncertainty = rec.confidence, rec.uncertainty
    if served.optimistic and served.val_loss is not None:
        confidence *= OPTIMISTIC_WEIGHT
        if not measured_now:
            uncertainty = float(np.hypot(uncertainty, served.val_loss))
    reason = f"{rec.reason} [evidence: {'; '.join(used)}]"
    if len(reason) > MAX_REASON:
        reason = reason[: MAX_REASON - 3] + "..."
    return dataclasses.replace(
        rec, evidence=evidence, confidence=confidence, uncertainty=uncertainty, reason=reason
    )


def _check_recorded_evidence(
    served: VersionEvidence, model_name: str | None = None, alias: str | None = None
) -> None:
    """The served version must pass the eligibility rule every version put into service passes
    (:func:`mlflow_staleness.eligibility.ineligibility`): a deleted source run, a non-finite
    loss, a registration not ready, an archived or withdrawn version is an error to fix, not
    weaker evidence to advise on."""
    problem = ineligibility(served, model_name)
    if problem is None:
        return
    why = {
        "run-deleted": ": its validation loss and fingerprint cannot be trusted",
        "loss": ": expected a finite number",
    }.get(problem.kind, "")
    where = f"point {alias!r} at an eligible version" if alias else "serve an eligible version"
    error = InvalidInputError if problem.kind == "loss" else RegistryError
    raise error(
        f"the served version {served.version} of {model_name or 'the model'!r} cannot be "
        f"advised on: {problem.reason}{why}. To go on, {problem.fix}, or {where}"
    )


def _check_target(rec: Recommendation, versions: Sequence[VersionEvidence], model: str) -> None:
    """The last line of the eligibility rule: an advice that would put a version into service
    (``promote``, ``rollback``) names an eligible one. Every path that chooses a version applies
    the rule first; this holds it at the one place an alias or stage can move."""
    if rec.action not in ("promote", "rollback"):
        return
    target = next((v for v in versions if v.version == rec.candidate_version), None)
    problem = (
        ineligibility(target, model)
        if target is not None
        else Ineligible(str(rec.candidate_version), "it is not a version of the model", "", "")
    )
    if problem is not None:
        raise RegistryError(
            f"internal error: the advice would {rec.action} v{rec.candidate_version}, but "
            f"{problem.reason}; nothing was written. Advise with --candidate none, and report "
            f"this"
        )


def _candidate(
    asked: str | int | None,
    versions: Sequence[VersionEvidence],
    served: VersionEvidence,
    history: Sequence[WindowRecord],
    model_name: str | None = None,
    *,
    window: str | None = None,
) -> VersionEvidence | None:
    """The version the gate judges now: the one asked for, else the newest eligible version
    newer than the served one that no advice has judged yet; None for none. A version asked for
    that is not eligible (:func:`mlflow_staleness.eligibility.ineligibility`) is an error.

    The advice on ``window`` itself (the one being advised again) does not count as a judgement:
    advising a window again replaces its advice, so the same command gives the same verdict, and
    a move that failed after its advice was complete is made by running the command again."""
    if isinstance(asked, str) and asked.strip().lower() == "none":
        return None
    by_version = {v.version: v for v in versions}
    if asked is not None:
        key = str(asked).strip().removeprefix("v")
        version = by_version.get(key)
        if version is None:
            known = ", ".join(sorted(by_version, key=int)) or "none"
            raise RegistryError(
                f"candidate version {asked!r} does not exist (versions: {known}); name a "
                f"registered version, or 'none'"
            )
        if version.version == served.version:
            raise InvalidInputError(
                f"candidate v{version.version} is the served version: a candidate is judged "
                f"against it. Name another version, or pass --candidate none (candidate='none') "
                f"to advise on the served version alone"
            )
        problem = ineligibility(version, model_name)
        if problem is not None:
            raise RegistryError(
                f"candidate v{version.version} cannot be put into service: {problem.reason}. "
                f"To go on, {problem.fix}, or pass --candidate none (candidate='none') to "
                f"advise on the served version alone"
            )
        return version
    judged = {
        str(r.advice.get("candidate_version"))
        for r in history
        if r.advice is not None
        and r.advice.get("candidate_version") is not None
        and not r.advice.get("loss_warning")  # a flagged advice moved nothing: judge it again
        and r.window != window
    }
    served_before = {r.served_version for r in history if r.served_version}
    newer = [
        v
        for v in versions
        if eligible(v, model_name)
        and v.number > served.number
        and v.version not in judged
        and v.version not in served_before
    ]
    return max(newer, key=lambda v: v.number) if newer else None


def _implausible_loss(
    served: VersionEvidence,
    history: Sequence[WindowRecord],
    current: WindowRecord,
    candidate: VersionEvidence | None = None,
) -> tuple[str | None, str]:
    """``(warning, note)`` for the served version's loss on ``current``, against its validation
    loss and its losses on the windows before (:func:`mlflow_staleness.losses.loss_flag`): a
    flagged loss is no new normal until its level persists; a candidate judged now whose loss
    (on ``current``, else its validation loss) is normal lifts the flag."""
    loss = current.measured.get(served.version)
    if loss is None:
        return None, ""
    earlier = [
        (r.measured[served.version], bool((r.advice or {}).get("loss_warning")))
        for r in sorted(history, key=lambda r: r.seq)
        if r.seq < current.seq and served.version in r.measured
    ]
    candidate_loss = None
    if candidate is not None:
        candidate_loss = current.measured.get(candidate.version, candidate.val_loss)
    return loss_flag(
        served.metric or "error_rate",
        loss,
        served.val_loss,
        earlier,
        candidate=None if candidate is None else f"v{candidate.version}",
        candidate_loss=candidate_loss,
    )


def _window_label(window: str | None) -> str:
    if window is None:
        return datetime.now(timezone.utc).date().isoformat()
    if not isinstance(window, str | int) or isinstance(window, bool) or not str(window).strip():
        raise InvalidInputError(f"window must be a non-empty label, got {window!r}")
    label = str(window).strip()
    if len(label) > MAX_WINDOW or not label.isprintable():
        raise InvalidInputError(
            f"window must be a label of at most {MAX_WINDOW} printable characters (it is written "
            f"into MLflow tags), got {len(label)} characters {label[:40]!r}..."
        )
    return normalise(label)
