"""Reading a registered model, its versions' evidence and the advisor's history, in batches.

The number of requests does not grow with the number of versions where MLflow has a batch call:
versions come in pages of ``search_model_versions``, their source runs from one ``search_runs``
with a run-id filter (per 100 runs), and run-less versions' metrics from one
``search_logged_models`` with a model-id filter. Only the served version's fingerprint artifact is
downloaded.
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException

from mlflow_staleness._bounded import (
    HISTORY_LIMIT_ENV,
    MAX_FACT_BYTES,
    check_document,
    check_size,
    history_limit,
)
from mlflow_staleness.adapter.connection import mlflow_errors, public_uri
from mlflow_staleness.advice import VersionEvidence, WindowRecord
from mlflow_staleness.advice_log import (
    MEASUREMENT_TAG_PREFIX,
    WINDOW_TAG_PREFIX,
    advice_fact_path,
    assemble,
    measurement_fact_path,
    newest,
    parse_fact,
    read_cache,
)
from mlflow_staleness.eligibility import withdrawn_reason
from mlflow_staleness.exceptions import InvalidInputError, RegistryError
from mlflow_staleness.fingerprint import MAX_JSON_BYTES, DataFingerprint
from mlflow_staleness.losses import to_loss
from mlflow_staleness.metric_names import (
    TRAINING_PREFIX,
    MetricValue,
    loss_key_direction,
    loss_kind,
    validation_loss,
)

__all__ = [
    "ADVICE_PATH",
    "ADVISOR_RUN",
    "FINGERPRINT_PATH",
    "HISTORY_PATH",
    "AdvisorState",
    "ModelInfo",
    "ModelSignatureInfo",
    "RegistryReader",
    "advisor_experiment",
]

FINGERPRINT_PATH = "staleness/fingerprint.json"
HISTORY_PATH = "history.json"
ADVICE_PATH = "advice.json"
PLOT_PATH = "staleness.png"
REPORT_PATH = "report.html"
ADVISOR_RUN = "advisor"
MAX_FINGERPRINT_BYTES = MAX_JSON_BYTES  # checked before the download, then again
_CONTEXTS = ("validation", "eval", "training", "train")
_BATCH = 100
_ABSENT = object()  # a listing without the file


def advisor_experiment(model_name: str) -> str:
    """The experiment that holds the advisor run of ``model_name``."""
    return f"staleness/{model_name}"


@dataclass(frozen=True)
class ModelInfo:
    """A registered model: its tags and aliases (alias -> version)."""

    name: str
    tags: dict[str, str]
    aliases: dict[str, str]


@dataclass(frozen=True)
class AdvisorState:
    """The advisor run of a model (the oldest, when there are several), and its history.

    ``facts`` are the complete facts the history was assembled from (they are cached again in
    the ``history.json`` of the next write).
    """

    experiment_id: str | None = None
    run_id: str | None = None
    history: list[WindowRecord] = field(default_factory=list)
    facts: list[dict] = field(default_factory=list)


def advisor_runs(client: MlflowClient, experiment_id: str) -> list:
    """The active advisor runs of an experiment, oldest first."""
    runs = client.search_runs(
        [experiment_id],
        filter_string=f"tags.mlflow.runName = {_quote(ADVISOR_RUN)}",
        run_view_type=ViewType.ACTIVE_ONLY,
        order_by=["attributes.start_time ASC"],
        max_results=50,
    )
    return sorted(runs, key=lambda r: (r.info.start_time or 0, r.info.run_id))


def _quote(value: str) -> str:
    """``value`` as a string literal that MLflow's filter parser reads back unchanged.

    MLflow (3.17, ``mlflow/utils/search_utils.py``) lexes a filter with sqlparse and then only
    strips the two quote characters of a literal (``_strip_quotes``): nothing inside is
    unescaped, so a backslash or a doubled quote stays in the value. A value is therefore quoted
    with a quote character it does not contain, and never escaped. A value holding both quote
    characters has no literal; :func:`_name_filter` handles it.
    """
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    raise ValueError(f"{value!r} holds both quote characters; MLflow's filters cannot quote it")


def _name_filter(name: str) -> tuple[str, bool]:
    """A ``search_model_versions`` filter for the versions of ``name``, and whether it is exact.

    When ``name`` holds both ``'`` and ``"``, no ``name = ...`` filter can say it, so a ``LIKE``
    pattern with ``_`` in place of each quote and backslash (a backslash escapes in LIKE on
    PostgreSQL and MySQL) matches a superset, which the caller narrows to ``name`` exactly.
    """
    if "'" not in name or '"' not in name:
        return f"name = {_quote(name)}", True
    pattern = "".join("_" if c in "'\\\"" else c for c in name)
    return f"name LIKE '{pattern}'", False


def _chunks(items: Sequence[str], size: int = _BATCH) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _pages(call, **kwargs) -> Iterator:
    token = None
    while True:
        page = call(page_token=token, **kwargs)
        yield from page
        token = page.token
        if not token:
            return


#: With ``progress=None``, reading at least this many versions says so on stderr.
MANY_VERSIONS = 200


class RegistryReader:
    """Reads what the advice needs from a tracking server or store.

    ``progress``: ``True`` says on stderr what is being read, ``False`` never, ``None`` only for a
    long read (:data:`MANY_VERSIONS` versions or more).
    """

    def __init__(self, client: MlflowClient, *, progress: bool | None = False) -> None:
        self.client = client
        self.uri = client.tracking_uri
        self.progress = progress
        self._roots: dict[str, str] = {}  # run id -> the run's artifact URI
        self._listings: dict[tuple[str, str], dict[str, int | None]] = {}  # (run, folder) -> sizes

    def _artifact_uri(self, run_id: str, path: str) -> str:
        """The URI of a run's artifact, from the run's own artifact root.

        MLflow 3's ``runs:/`` repository also searches the run's logged models on every listing
        and download (``search_logged_models``, which servers before 3.0 answer with 404); the
        advisor reads only run artifacts, so it goes to the run's artifact root directly.
        """
        return f"{self._run_root(run_id).rstrip('/')}/{path}"

    def _run_root(self, run_id: str) -> str:
        root = self._roots.get(run_id)
        if root is None:
            root = self._roots[run_id] = self.client.get_run(run_id).info.artifact_uri
        return root

    # ------------------------------------------------------------------ the registered model
    def model(self, name: str) -> ModelInfo:
        """The registered model's tags and aliases; a clear error if it does not exist."""
        with mlflow_errors(f"reading registered model {name!r}", self.uri):
            try:
                model = self.client.get_registered_model(name)
            except MlflowException as exc:
                if str(getattr(exc, "error_code", "")) == "RESOURCE_DOES_NOT_EXIST":
                    raise RegistryError(
                        f"no registered model named {name!r} at {public_uri(self.uri)}. Check the "
                        f"name (names are case-sensitive), or register the model first."
                    ) from exc
                raise
        aliases = {str(a): str(v) for a, v in (model.aliases or {}).items()}
        return ModelInfo(name=name, tags=dict(model.tags or {}), aliases=aliases)

    def model_names(
        self, filter_string: str | None = None, *, tag_prefix: str | None = None
    ) -> list[str]:
        """Names of registered models matching ``filter_string`` (``name LIKE 'fraud-%'``),
        and, with ``tag_prefix``, carrying a tag that starts with it (one search, no reads)."""
        with mlflow_errors("listing registered models", self.uri):
            return sorted(
                m.name
                for m in _pages(self.client.search_registered_models, filter_string=filter_string)
                if tag_prefix is None or any(k.startswith(tag_prefix) for k in (m.tags or {}))
            )

    # ------------------------------------------------------------------ versions
    def versions(
        self, name: str, *, loss_key: str | None = None, metric: str | None = None
    ) -> list[VersionEvidence]:
        """Every version of ``name`` with its validation loss and reference columns.

        ``loss_key`` names the loss metric; without it, the key recorded by ``log_reference``
        on the run is used, else ``val_loss``. ``metric`` is the loss kind (``--metric``);
        without it, the one ``log_reference`` recorded.

        A version without that evidence (nobody called ``log_reference``) is read further
        (:mod:`mlflow_staleness.metric_names`): its logged model's metrics and the evaluation
        runs linked to it give the loss kind and a validation loss. That costs two batched
        searches, made only when such a version exists.
        """
        with mlflow_errors(f"reading the versions of {name!r}", self.uri):
            filter_string, exact = _name_filter(name)
            found = [
                v
                for v in _pages(self.client.search_model_versions, filter_string=filter_string)
                if exact or v.name == name
            ]
            loud = self.progress is True or (self.progress is None and len(found) >= MANY_VERSIONS)
            if loud:
                self._say(f"read {len(found)} versions of {name!r}; reading their runs ...", True)
            run_ids = [v.run_id for v in found if v.run_id]
            model_ids = [_model_id(v.source) for v in found if not v.run_id and _model_id(v.source)]
            experiments = (
                [
                    e.experiment_id
                    for e in _pages(self.client.search_experiments, view_type=ViewType.ALL)
                ]
                if run_ids or model_ids
                else []
            )
            runs = self._runs(experiments, run_ids, loud=loud)
            unprepared = [
                _model_id(v.source)
                for v in found
                if v.run_id and _model_id(v.source) and _unprepared(runs.get(v.run_id), loss_key)
            ]
            logged = self._logged_models(experiments, [*model_ids, *unprepared])
            evaluations = self._evaluation_runs(experiments, unprepared) if unprepared else {}
        evidence = [self._evidence(v, runs, logged, loss_key, metric, evaluations) for v in found]
        return sorted(evidence, key=lambda v: v.number)

    def _evaluation_runs(
        self, experiments: list[str], model_ids: Sequence[str]
    ) -> dict[str, list[MetricValue]]:
        """Metrics of the runs of ``mlflow.models.evaluate`` that evaluated one of ``model_ids``.

        MLflow links such a run to the model only through its ``mlflow.datasets`` tag
        (``[{"name": ..., "hash": ..., "model": "m-..."}]``); one search finds them all.
        """
        wanted = set(model_ids)
        found: dict[str, list[MetricValue]] = {}
        for run in _pages(
            self.client.search_runs,
            experiment_ids=experiments,
            filter_string='tags.`mlflow.datasets` LIKE \'%"model":"m-%\'',
            run_view_type=ViewType.ACTIVE_ONLY,
            max_results=1000,
        ):
            try:
                linked = json.loads(run.data.tags.get("mlflow.datasets", "[]"))
                models = {str(d.get("model")) for d in linked if isinstance(d, dict)}
            except (ValueError, TypeError, AttributeError):
                continue
            for model_id in models & wanted:
                found.setdefault(model_id, []).extend(
                    MetricValue(
                        key,
                        float(value),
                        f"evaluation run {run.info.run_id}",
                        int(run.info.start_time or 0),
                    )
                    for key, value in run.data.metrics.items()
                )
        return found

    def _runs(self, experiments: list[str], run_ids: Sequence[str], *, loud: bool = False) -> dict:
        runs = {}
        wanted = sorted(set(run_ids))
        for chunk in _chunks(wanted, _BATCH):
            if loud and len(wanted) > len(chunk):
                self._say(f"  runs {len(runs) + len(chunk)}/{len(wanted)}", True)
            ids = ", ".join(_quote(r) for r in chunk)
            for run in _pages(
                self.client.search_runs,
                experiment_ids=experiments,
                filter_string=f"attributes.run_id IN ({ids})",
                run_view_type=ViewType.ALL,
                max_results=1000,
            ):
                runs[run.info.run_id] = run
                self._roots[run.info.run_id] = run.info.artifact_uri
        return runs

    def _logged_models(self, experiments: list[str], model_ids: Sequence[str]) -> dict:
        models = {}
        for chunk in _chunks(sorted(set(model_ids))):
            ids = ", ".join(_quote(m) for m in chunk)
            for model in _pages(
                self.client.search_logged_models,
                experiment_ids=experiments,
                filter_string=f"model_id IN ({ids})",
            ):
                models[model.model_id] = model
        return models

    def _evidence(
        self,
        version,
        runs: dict,
        logged: dict,
        loss_key: str | None,
        metric: str | None = None,
        evaluations: dict | None = None,
    ) -> VersionEvidence:
        notes: list[str] = []
        status = str(version.status or "READY")
        if status != "READY":
            notes.append(f"registration is {status}")
        val_loss, columns, bad_loss, deleted, missing = None, None, None, False, False
        run = runs.get(version.run_id) if version.run_id else None
        key = loss_key
        if version.run_id and run is None:
            notes.append(f"source run {version.run_id} not found")
            missing = True
        elif run is not None and run.info.lifecycle_stage == "deleted":
            notes.append(f"source run {version.run_id} is deleted")
            run, deleted = None, True
        read = ""  # the value, step and direction the validation loss was read with
        if run is not None:
            tags = run.data.tags
            reference_key = tags.get("staleness.loss_key")
            key = loss_key or reference_key or "val_loss"
            reference = None
            if reference_key:
                recorded = tags.get("staleness.greater_is_better", "false") == "true"
                reference = (reference_key, recorded)
            # The reference's own loss wins over a metric history of the same key (autolog's
            # epochs, logged at later steps than log_reference's step 0): read from its tag.
            own = _reference_loss(tags) if key == reference_key else None
            value = run.data.metrics.get(key)
            if own is not None and (value is None or math.isfinite(value)):
                value = own  # a non-finite value logged on the key still makes the loss bad
            else:
                own = None
            if value is None:
                notes.append(f"no {key!r} metric on its run")
            elif not math.isfinite(value):
                notes.append(f"its {key!r} metric is {value}")
                bad_loss = f"{key!r} is {value}"
            else:
                greater, said = loss_key_direction(key, metric=metric, reference=reference)
                val_loss = to_loss(value, greater_is_better=greater)
                at = (
                    "as log_reference logged it"
                    if own is not None
                    else f"at step {_step(run, key)}"
                )
                read = f" = {value:g} {at}, direction from {said}"
            columns = _reference_columns(run.inputs.dataset_inputs if run.inputs else [])
            target = tags.get("staleness.target")
            if columns and target:
                columns = tuple(c for c in columns if c != target)
        elif not version.run_id:
            model = logged.get(_model_id(version.source) or "")
            key = loss_key or "val_loss"
            values = [m for m in (model.metrics or []) if m.key == key] if model else []
            if model is None:
                notes.append("no source run and no logged model")
            elif not values:
                notes.append(f"no source run, and no {key!r} metric on its logged model")
            else:
                latest = max(values, key=lambda m: (m.step, m.timestamp))
                if math.isfinite(latest.value):
                    greater, said = loss_key_direction(key, metric=metric)
                    val_loss = to_loss(latest.value, greater_is_better=greater)
                    read = f" = {latest.value:g} at step {latest.step}, direction from {said}"
                else:
                    notes.append(f"its {key!r} metric is {latest.value}")
                    bad_loss = f"{key!r} is {latest.value}"
        tags = run.data.tags if run is not None else {}
        val_source, optimistic = None, False
        if val_loss is not None:
            optimistic = key.startswith(TRAINING_PREFIX)
            where = f"training run {version.run_id}" if run is not None else "its logged model"
            val_source = f"{key!r}{read} of {where}"
            if optimistic:
                val_source = f"{val_source} (training data: optimistic)"
        kind, kind_source = metric, "the metric setting" if metric else None
        if kind is None and tags.get("staleness.metric"):
            kind, kind_source = tags["staleness.metric"], "log_reference"
        if kind is None or (val_loss is None and bad_loss is None and loss_key is None):
            values = _metric_values(version, run, logged, evaluations or {})
            if kind is None:
                found = loss_kind(
                    [m.key for m in values], estimator_class=tags.get("estimator_class")
                )
                if found is not None:
                    kind, kind_source = found
            if kind is not None and val_loss is None and bad_loss is None and loss_key is None:
                discovered = validation_loss(kind, values)
                if discovered is not None:
                    val_loss, val_source = discovered.loss, discovered.source
                    optimistic = discovered.optimistic
                    notes = [n for n in notes if not n.startswith("no ")]
        return VersionEvidence(
            metric_source=kind_source,
            val_source=val_source,
            optimistic=optimistic,
            target=tags.get("staleness.target"),
            version=str(version.version),
            created_ms=int(version.creation_timestamp or 0),
            status=status,
            run_id=version.run_id or None,
            val_loss=val_loss,
            stage=version.current_stage or None,
            notes=tuple(notes),
            reference_columns=columns,
            metric=kind,
            run_deleted=deleted,
            bad_loss=bad_loss,
            run_missing=missing,
            withdrawn=withdrawn_reason(dict(version.tags or {})),
            model=str(version.name) if version.name else None,
        )

    # ------------------------------------------------------------------ the model's signature
    def signature(self, name: str, version: str) -> ModelSignatureInfo | None:
        """The version's model signature and flavours, from its ``MLmodel`` file (one small
        download, nothing loaded); None when the model has no readable ``MLmodel``."""
        with tempfile.TemporaryDirectory() as tmp:
            try:
                root = self.client.get_model_version_download_uri(name, version)
                local = mlflow.artifacts.download_artifacts(
                    artifact_uri=f"{root.rstrip('/')}/MLmodel",
                    dst_path=tmp,
                    tracking_uri=self.uri,
                )
                with open(local, "rb") as file:  # at most the bound is read into memory
                    raw = file.read(MAX_FINGERPRINT_BYTES + 1)
                if len(raw) > MAX_FINGERPRINT_BYTES:
                    return None  # no MLmodel file is that large: not one to trust
                text = raw.decode("utf-8")
            except Exception:
                # Extra evidence, not required: a version logged without a model (or a server
                # that cannot serve the file) is advised on without it, as before.
                return None
        return _parse_mlmodel(text)

    # ------------------------------------------------------------------ fingerprints
    def fingerprint(self, version: VersionEvidence) -> tuple[DataFingerprint | None, str | None]:
        """The version's reference fingerprint, or None and a note saying why there is none.

        A version logged without a reference still gets advice (with a note). A fingerprint that
        is there but cannot be trusted (larger than :data:`MAX_FINGERPRINT_BYTES`, not JSON,
        nested too deeply, of the wrong types, or of a newer format) is an error: its size is
        checked before it is downloaded, and it is parsed as JSON only, never unpickled.
        """
        if not version.run_id:
            return None, "no fingerprint: the version has no source run"
        where = f"the fingerprint of version {version.version} (run {version.run_id})"
        folder, _, file_name = FINGERPRINT_PATH.rpartition("/")
        with mlflow_errors(f"listing {where}", self.uri):
            try:
                listed = mlflow.artifacts.list_artifacts(
                    artifact_uri=self._artifact_uri(version.run_id, folder), tracking_uri=self.uri
                )
            except Exception as exc:  # only "no such folder" means no fingerprint
                if not _is_missing(exc):
                    raise
                listed = []
        entry = next(
            (a for a in listed if a.path.rpartition("/")[2] == file_name and not a.is_dir), None
        )
        if entry is None:
            return None, "no fingerprint artifact (log_reference was not used)"
        if entry.file_size is not None and entry.file_size > MAX_FINGERPRINT_BYTES:
            raise InvalidInputError(
                f"{where} is {entry.file_size:,} bytes, more than the {MAX_FINGERPRINT_BYTES:,} "
                f"a fingerprint may have; it was not downloaded. Log the reference again with "
                f"mlflow_staleness.log_reference"
            )
        with tempfile.TemporaryDirectory() as tmp:
            with mlflow_errors(f"downloading {where}", self.uri):
                path = mlflow.artifacts.download_artifacts(
                    artifact_uri=self._artifact_uri(version.run_id, FINGERPRINT_PATH),
                    dst_path=tmp,
                    tracking_uri=self.uri,
                )
            file = Path(path)
            if file.stat().st_size > MAX_FINGERPRINT_BYTES:
                raise InvalidInputError(
                    f"{where} is larger than the {MAX_FINGERPRINT_BYTES:,} bytes a fingerprint "
                    f"may have. Log the reference again with mlflow_staleness.log_reference"
                )
            try:
                return DataFingerprint.from_json(file.read_bytes()), None
            except (InvalidInputError, ValueError, RecursionError) as exc:
                detail = " ".join(str(exc).split())[:200] or type(exc).__name__
                if isinstance(exc, RecursionError):
                    detail = "the JSON is nested too deeply"
                raise InvalidInputError(
                    f"{where} is unreadable: {detail}. Expected the JSON that "
                    f"mlflow_staleness.log_reference writes; log the reference again"
                ) from None

    # ------------------------------------------------------------------ the advisor's history
    def advisor_state(self, name: str) -> AdvisorState:
        """The advisor run(s) and the complete history; facts without their tag are ignored.

        Every active run named ``advisor`` in the advisor experiment counts (two advisors that
        started at once may each have made one); new writes go to the oldest. See
        :mod:`mlflow_staleness.advice_log` for why the history is read this way.
        """
        with mlflow_errors(f"reading the advisor history of {name!r}", self.uri):
            experiment = self.client.get_experiment_by_name(advisor_experiment(name))
            if experiment is None:
                return AdvisorState()
            if experiment.lifecycle_stage == "deleted":
                raise RegistryError(
                    f"the advisor experiment {advisor_experiment(name)!r} (id "
                    f"{experiment.experiment_id}) is deleted, so no advice can be written. "
                    f"Restore it (mlflow experiments restore --experiment-id "
                    f"{experiment.experiment_id}) or delete it for good (mlflow gc)"
                )
            runs = advisor_runs(self.client, experiment.experiment_id)
        self._roots.update((run.info.run_id, run.info.artifact_uri) for run in runs)
        if not runs:
            return AdvisorState(experiment_id=experiment.experiment_id)
        wanted: dict[tuple[str, str], list[str]] = {}  # (kind, id) -> runs whose tag names it
        claims: dict[str, list[str]] = {}  # window tag -> advice ids
        for run in runs:
            for key, value in run.data.tags.items():
                if key.startswith(WINDOW_TAG_PREFIX) and value:
                    wanted.setdefault(("advice", value), []).append(run.info.run_id)
                    claims.setdefault(key, []).append(value)
                elif key.startswith(MEASUREMENT_TAG_PREFIX):
                    fact_id = key[len(MEASUREMENT_TAG_PREFIX) :]
                    wanted.setdefault(("measurement", fact_id), []).append(run.info.run_id)
        known: dict[tuple[str, str], dict] = {}
        if wanted:
            for run in runs:
                run_id = run.info.run_id
                way = (
                    f"If the advisor wrote it (a history of thousands of windows), set "
                    f"{HISTORY_LIMIT_ENV} above its size; else it was replaced: delete the "
                    f"advisor run (mlflow runs delete --run-id {run_id}) to start a new history"
                )
                text = self.download_text(run_id, HISTORY_PATH, limit=(history_limit(), way))
                known.update(read_cache(text))
                if all(key in known for key in wanted):
                    break
        for (kind, fact_id), holders in sorted(wanted.items()):
            if (kind, fact_id) in known:
                continue
            path = advice_fact_path(fact_id) if kind == "advice" else measurement_fact_path(fact_id)
            way = (
                f"The advisor writes facts of a few KB, so it was replaced: restore it, or delete "
                f"the advisor run (mlflow runs delete --run-id {holders[0]}) to start a new history"
            )
            text = self.download_text(holders[0], path, limit=(MAX_FACT_BYTES, way))
            fact = parse_fact(text, kind, fact_id)
            if fact is not None:  # a tag without its fact: only if the artifacts were deleted
                known[(kind, fact_id)] = fact
        advice = []
        for ids in claims.values():
            fact = newest(known[("advice", i)] for i in set(ids) if ("advice", i) in known)
            if fact is not None:
                advice.append(fact)
        measurements = [f for (kind, _), f in known.items() if kind == "measurement"]
        primary = runs[0]
        return AdvisorState(
            experiment.experiment_id,
            primary.info.run_id,
            assemble(advice, measurements),
            facts=[*advice, *measurements],
        )

    def download_text(
        self, run_id: str, path: str, *, limit: tuple[int, str] | None = None
    ) -> str | None:
        """An artifact's text, or None when the run has no such artifact.

        With ``limit`` (a size in bytes and the way forward to name), the artifact is one of the
        advisor's JSON documents and is bounded (:mod:`mlflow_staleness._bounded`): its size is
        checked from the folder's listing before the download (one listing per folder), on disk
        before it is read, and its nesting before it is parsed; over a bound is an error.
        """
        what = f"{path} of the advisor run {run_id}"
        if limit is not None:
            size = self._listed_size(run_id, path)
            if size is _ABSENT:
                return None
            check_size(size, what, *limit)
        with (
            tempfile.TemporaryDirectory() as tmp,
            mlflow_errors(f"downloading {path} of run {run_id}", self.uri),
        ):
            try:
                local = mlflow.artifacts.download_artifacts(
                    artifact_uri=self._artifact_uri(run_id, path),
                    dst_path=tmp,
                    tracking_uri=self.uri,
                )
            except Exception as exc:
                if _is_missing(exc):
                    return None
                raise
            file = Path(local)
            if limit is None:
                return file.read_text(encoding="utf-8")
            check_size(file.stat().st_size, what, *limit)
            raw = file.read_bytes()
        check_document(raw, what, *limit)
        return raw.decode("utf-8", errors="replace")

    def _listed_size(self, run_id: str, path: str) -> int | object | None:
        """The size of a run's artifact from its folder's listing (read once per folder):
        ``_ABSENT`` when the folder lists no such file, None when the store gives no size."""
        folder, _, file_name = path.rpartition("/")
        key = (run_id, folder)
        if key not in self._listings:
            with mlflow_errors(f"listing the artifacts of run {run_id}", self.uri):
                uri = self._artifact_uri(run_id, folder) if folder else self._run_root(run_id)
                try:
                    listed = mlflow.artifacts.list_artifacts(
                        artifact_uri=uri, tracking_uri=self.uri
                    )
                except Exception as exc:
                    if not _is_missing(exc):
                        raise
                    listed = []
            self._listings[key] = {
                a.path.rpartition("/")[2]: a.file_size for a in listed or [] if not a.is_dir
            }
        return self._listings[key].get(file_name, _ABSENT)

    def _say(self, message: str, loud: bool = False) -> None:
        if self.progress or loud:
            print(message, file=sys.stderr)


def _is_missing(exc: BaseException) -> bool:
    """Whether an artifact read failed only because the artifact is not there."""
    if isinstance(exc, MlflowException):
        return str(getattr(exc, "error_code", "")) in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND")
    if isinstance(exc, FileNotFoundError | NotADirectoryError):
        return True
    response = getattr(exc, "response", None)  # requests' HTTPError from an artifact server
    return getattr(response, "status_code", None) == 404


def _model_id(source: str | None) -> str | None:
    """The logged-model id in a version's ``models:/m-...`` source, if that is what it is."""
    if source and source.startswith("models:/m-"):
        return source[len("models:/") :].split("/")[0]
    return None


@dataclass(frozen=True)
class ModelSignatureInfo:
    """What a version's ``MLmodel`` says: its input columns, its output's type and name (if it
    has one), and its flavours."""

    inputs: tuple[str, ...] = ()
    output_type: str | None = None
    output_name: str | None = None
    flavors: tuple[str, ...] = ()


def _parse_mlmodel(text: str) -> ModelSignatureInfo | None:
    """The signature of an ``MLmodel`` file's text (YAML), or None if it is not readable."""
    import yaml

    try:
        data = yaml.safe_load(text)
        signature = data.get("signature") or {}
        inputs = json.loads(signature.get("inputs") or "[]")
        outputs = json.loads(signature.get("outputs") or "[]")
    except (yaml.YAMLError, ValueError, TypeError, AttributeError):
        return None
    columns = tuple(str(c["name"]) for c in inputs if isinstance(c, dict) and "name" in c)
    output_type, output_name = None, None
    if outputs and isinstance(outputs[0], dict):
        first = outputs[0]
        output_name = first.get("name")
        output_type = first.get("type")
        if output_type == "tensor":
            output_type = (first.get("tensor-spec") or {}).get("dtype")
    flavors = tuple(map(str, data.get("flavors") or {}))
    return ModelSignatureInfo(columns, output_type, output_name, flavors)


#: The run tag in which ``log_reference`` records the reference's own loss, as logged.
REFERENCE_LOSS_TAG = "staleness.loss"


def _reference_loss(tags: dict) -> float | None:
    """The loss ``log_reference`` recorded in its tag (None for a reference logged before the
    tag existed, or a tag that is not a number)."""
    try:
        return float(tags[REFERENCE_LOSS_TAG])
    except (KeyError, TypeError, ValueError):
        return None


def _step(run, key: str) -> int:
    """The step of the latest value of ``key`` that the run's data holds (0 when not known)."""
    found = [m for m in getattr(run.data, "_metric_objs", []) if m.key == key]
    return max((int(m.step or 0) for m in found), default=0)


def _unprepared(run, loss_key: str | None) -> bool:
    """Whether a version's source run lacks what ``log_reference`` records (its loss or kind)."""
    if run is None or run.info.lifecycle_stage == "deleted":
        return False
    tags = run.data.tags
    key = loss_key or tags.get("staleness.loss_key") or "val_loss"
    return key not in run.data.metrics or "staleness.metric" not in tags


def _metric_values(version, run, logged: dict, evaluations: dict) -> list[MetricValue]:
    """Every metric logged about a version: its training run's, its logged model's (those of
    another run come from an evaluation), and those of evaluation runs linked to it."""
    values = []
    if run is not None:
        origin = f"training run {run.info.run_id}"
        values += [MetricValue(k, float(v), origin) for k, v in run.data.metrics.items()]
    model_id = _model_id(version.source)
    model = logged.get(model_id or "")
    for m in (model.metrics or []) if model is not None else []:
        if run is not None and m.run_id == run.info.run_id:
            continue  # the training run's own, read above
        origin = f"evaluation run {m.run_id}" if m.run_id else "its logged model"
        values.append(MetricValue(m.key, float(m.value), origin, int(m.timestamp or 0)))
    values += evaluations.get(model_id or "", [])
    return values


def _reference_columns(inputs: Iterable) -> tuple[str, ...] | None:
    """Column names of the run's reference dataset input (validation first)."""
    best: tuple[int, tuple[str, ...]] | None = None
    for item in inputs:
        context = next((t.value for t in item.tags if t.key == "mlflow.data.context"), None)
        if context not in _CONTEXTS:
            continue
        try:
            schema = json.loads(item.dataset.schema or "{}")
            columns = tuple(c["name"] for c in schema.get("mlflow_colspec", []) if "name" in c)
        except (ValueError, TypeError, KeyError):
            continue
        rank = _CONTEXTS.index(context)
        if columns and (best is None or rank < best[0]):
            best = (rank, columns)
    return None if best is None else best[1]
