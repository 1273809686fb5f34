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

from mlflow_staleness.adapter.connection import mlflow_errors
from mlflow_staleness.advice import VersionEvidence, WindowRecord
from mlflow_staleness.exceptions import InvalidInputError, RegistryError
from mlflow_staleness.fingerprint import DataFingerprint
from mlflow_staleness.losses import to_loss

__all__ = [
    "ADVICE_PATH",
    "ADVISOR_RUN",
    "FINGERPRINT_PATH",
    "HISTORY_PATH",
    "AdvisorState",
    "ModelInfo",
    "RegistryReader",
    "advisor_experiment",
]

FINGERPRINT_PATH = "staleness/fingerprint.json"
HISTORY_PATH = "history.json"
ADVICE_PATH = "advice.json"
PLOT_PATH = "staleness.png"
REPORT_PATH = "report.html"
ADVISOR_RUN = "advisor"
MAX_FINGERPRINT_BYTES = 64 * 1024 * 1024
_CONTEXTS = ("validation", "eval", "training", "train")
_BATCH = 100


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
    """The advisor run of a model, if any, and its complete history."""

    experiment_id: str | None = None
    run_id: str | None = None
    history: list[WindowRecord] = field(default_factory=list)
    latest_advice_id: str | None = None
    dropped: int = 0  # history rows of unfinished advice, ignored


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


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

    # ------------------------------------------------------------------ the registered model
    def model(self, name: str) -> ModelInfo:
        """The registered model's tags and aliases; a clear error if it does not exist."""
        with mlflow_errors(f"reading registered model {name!r}", self.uri):
            try:
                model = self.client.get_registered_model(name)
            except MlflowException as exc:
                if str(getattr(exc, "error_code", "")) == "RESOURCE_DOES_NOT_EXIST":
                    raise RegistryError(
                        f"no registered model named {name!r} at {self.uri}. Check the name "
                        f"(names are case-sensitive), or register the model first."
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
    def versions(self, name: str, *, loss_key: str | None = None) -> list[VersionEvidence]:
        """Every version of ``name`` with its validation loss and reference columns.

        ``loss_key`` names the loss metric; without it, the key recorded by ``log_reference``
        on the run is used, else ``val_loss``.
        """
        with mlflow_errors(f"reading the versions of {name!r}", self.uri):
            found = list(
                _pages(self.client.search_model_versions, filter_string=f"name={_quote(name)}")
            )
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
            logged = self._logged_models(experiments, model_ids)
        evidence = [self._evidence(v, runs, logged, loss_key) for v in found]
        return sorted(evidence, key=lambda v: v.number)

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

    def _evidence(self, version, runs: dict, logged: dict, loss_key: str | None) -> VersionEvidence:
        notes: list[str] = []
        status = str(version.status or "READY")
        if status != "READY":
            notes.append(f"registration is {status}")
        val_loss, columns = None, None
        run = runs.get(version.run_id) if version.run_id else None
        key = loss_key
        if version.run_id and run is None:
            notes.append(f"source run {version.run_id} not found")
        elif run is not None and run.info.lifecycle_stage == "deleted":
            notes.append(f"source run {version.run_id} is deleted")
            run = None
        if run is not None:
            tags = run.data.tags
            key = loss_key or tags.get("staleness.loss_key") or "val_loss"
            greater = tags.get("staleness.greater_is_better", "false") == "true"
            value = run.data.metrics.get(key)
            if value is None:
                notes.append(f"no {key!r} metric on its run")
            elif not math.isfinite(value):
                notes.append(f"its {key!r} metric is {value}")
            else:
                val_loss = to_loss(value, greater_is_better=greater)
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
                    val_loss = float(latest.value)
                else:
                    notes.append(f"its {key!r} metric is {latest.value}")
        return VersionEvidence(
            version=str(version.version),
            created_ms=int(version.creation_timestamp or 0),
            status=status,
            run_id=version.run_id or None,
            val_loss=val_loss,
            stage=version.current_stage or None,
            notes=tuple(notes),
            reference_columns=columns,
            metric=(run.data.tags.get("staleness.metric") if run is not None else None),
        )

    # ------------------------------------------------------------------ fingerprints
    def fingerprint(self, version: VersionEvidence) -> tuple[DataFingerprint | None, str | None]:
        """The version's reference fingerprint, or None and a note saying why not."""
        if not version.run_id:
            return None, "no fingerprint: the version has no source run"
        with tempfile.TemporaryDirectory() as tmp:
            try:
                path = mlflow.artifacts.download_artifacts(
                    run_id=version.run_id,
                    artifact_path=FINGERPRINT_PATH,
                    dst_path=tmp,
                    tracking_uri=self.uri,
                )
            except (MlflowException, OSError):
                return None, "no fingerprint artifact (log_reference was not used)"
            file = Path(path)
            if file.stat().st_size > MAX_FINGERPRINT_BYTES:
                return None, f"fingerprint artifact larger than {MAX_FINGERPRINT_BYTES} bytes"
            try:
                return DataFingerprint.from_json(file.read_bytes()), None
            except (InvalidInputError, ValueError, RecursionError) as exc:
                return None, f"unreadable fingerprint artifact: {str(exc)[:200]}"

    # ------------------------------------------------------------------ the advisor's history
    def advisor_state(self, name: str) -> AdvisorState:
        """The advisor run and its history; rows of unfinished advice are dropped."""
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
            runs = self.client.search_runs(
                [experiment.experiment_id],
                filter_string=f"tags.mlflow.runName = {_quote(ADVISOR_RUN)}",
                order_by=["attributes.start_time ASC"],
                max_results=5,
            )
        if not runs:
            return AdvisorState(experiment_id=experiment.experiment_id)
        run = runs[0]
        latest = run.data.tags.get("staleness.advice_id") or None
        text = self.download_text(run.info.run_id, HISTORY_PATH)
        rows: list[WindowRecord] = []
        dropped = 0
        if text:
            try:
                stored = json.loads(text)
                raw = stored["windows"]
            except (ValueError, KeyError, TypeError) as exc:
                raise InvalidInputError(
                    f"the advisor history of {name!r} (run {run.info.run_id}, {HISTORY_PATH}) "
                    f"is unreadable: {exc!r}. Delete the advisor run to start afresh."
                ) from exc
            for item in raw:
                record = WindowRecord.from_dict(item)
                advice = record.advice
                if advice is not None and not (
                    advice.get("confirmed") or advice.get("advice_id") == latest
                ):
                    dropped += 1
                    previous = item.get("previous_advice")
                    trusted = isinstance(previous, dict) and previous.get("confirmed")
                    record = WindowRecord(
                        record.seq,
                        record.window,
                        record.first_seen_ms,
                        record.served_version,
                        record.measured,
                        record.drift,
                        previous if trusted else None,
                    )
                rows.append(record)
        return AdvisorState(experiment.experiment_id, run.info.run_id, rows, latest, dropped)

    def download_text(self, run_id: str, path: str) -> str | None:
        """An artifact's text, or None when the run has no such artifact."""
        with tempfile.TemporaryDirectory() as tmp:
            try:
                local = mlflow.artifacts.download_artifacts(
                    run_id=run_id, artifact_path=path, dst_path=tmp, tracking_uri=self.uri
                )
            except MlflowException as exc:
                if str(getattr(exc, "error_code", "")) in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"):
                    return None
                with mlflow_errors(f"downloading {path} of run {run_id}", self.uri):
                    raise
            except OSError:
                return None
            return Path(local).read_text(encoding="utf-8")

    def _say(self, message: str, loud: bool = False) -> None:
        if self.progress or loud:
            print(message, file=sys.stderr)


def _model_id(source: str | None) -> str | None:
    """The logged-model id in a version's ``models:/m-...`` source, if that is what it is."""
    if source and source.startswith("models:/m-"):
        return source[len("models:/") :].split("/")[0]
    return None


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
