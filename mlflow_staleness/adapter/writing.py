"""Writing an advice back into MLflow, as a plan that can be printed (``--dry-run``) or executed.

Every value of a plan is fitted to MLflow's limit for its kind when the plan is made, and the
whole plan is checked against those budgets before its first write
(:mod:`~mlflow_staleness.adapter.budget`), so that a dry run refuses exactly what the real run
would. The order matters, since MLflow writes one request at a time and has no transactions:

1. the advisor experiment and run, when they do not exist yet;
2. the advice's fact ``advice/<advice_id>.json`` and the ``history.json`` cache (neither is read
   as part of the history before step 6 names the fact);
3. ``staleness.advice_id`` on the served version is emptied: from here until step 7 its display
   copies are marked incomplete, never paired with an older advice's id;
4. the ``staleness.*`` tags on the served version;
5. one batch of run tags: ``staleness.window.<key>`` = the advice id (the advice is complete)
   and ``staleness.advice_id``;
6. what shows the latest advice to people: the summary tag on the registered model, the metrics
   ``staleness.<field>`` at step = the window's sequence number, ``advice.json``,
   ``staleness.png`` and ``report.html``;
7. ``staleness.advice_id`` on the version: its display copies are complete too;
8. alias or stage moves, only when asked, and last (**action last**): whatever moves, a
   complete advice that is shown as the current one recommended it.

A cut anywhere before step 5 leaves the window's previous complete advice as the one readers
show (:mod:`mlflow_staleness.advice_log`), and no summary, chart, page or ``advice.json`` of
the unfinished one; a re-run then completes a new one. A cut before or between the moves of
step 8 leaves each alias and stage where it was or where the complete advice says; running the
same command again judges the same candidate again (a re-advised window's own earlier verdict
does not count as judged) and completes the move; :class:`ActionError` says so. Before the first
write, the user's permission to write on the model and the advisor experiment is checked.
"""

from __future__ import annotations

import contextlib
import html
import json
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities import Metric, RunTag
from mlflow.exceptions import MlflowException

from mlflow_staleness.adapter.budget import budget_of, check_plan, fit, fit_list
from mlflow_staleness.adapter.connection import mlflow_errors
from mlflow_staleness.adapter.reading import (
    ADVICE_PATH,
    ADVISOR_RUN,
    HISTORY_PATH,
    PLOT_PATH,
    REPORT_PATH,
    AdvisorState,
    advisor_experiment,
    advisor_runs,
)
from mlflow_staleness.advice_log import (
    MEASUREMENT_TAG_PREFIX,
    advice_fact_path,
    cache_document,
    measurement_fact_path,
    window_tag,
)
from mlflow_staleness.exceptions import ActionError, StalenessError
from mlflow_staleness.recommendation import ADVICE_ID_TAG, TAG_PREFIX, Recommendation
from mlflow_staleness.redaction import redact

__all__ = ["ACTION_KINDS", "NEW_RUN", "StageDeprecationWarning", "Write", "execute", "plan_advice"]

#: Stands for the advisor run's id in a plan made before the run exists.
NEW_RUN = "<new advisor run>"
SUMMARY_TAG = TAG_PREFIX + "summary"
_METRIC_FIELDS = (
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


class StageDeprecationWarning(FutureWarning):
    """Model stages are deprecated since MLflow 2.9; aliases replace them."""


def _redacted_json(text: str) -> str:
    """A JSON document with every string in it redacted, still JSON. Masking the raw text would
    miss a secret that JSON escapes (a quote, a backslash) and could break the document (a
    secret that is also a piece of its syntax). Text that is not JSON is redacted as text."""
    try:
        document = json.loads(text)
    except ValueError:
        return redact(text)

    def walk(value):
        if isinstance(value, str):
            return redact(value)
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, dict):
            return {redact(k): walk(v) for k, v in value.items()}
        return value

    cleaned = walk(document)
    return text if cleaned == document else json.dumps(cleaned, indent=1, sort_keys=True)


@dataclass(frozen=True)
class Write:
    """One write of an advice: what it does, to what, with which key and value."""

    kind: str
    target: str
    key: str = ""
    value: str = ""
    payload: bytes = field(default=b"", repr=False, compare=False)

    def __post_init__(self) -> None:
        """No credentials in what is written: the value and a text payload are redacted
        (:func:`~mlflow_staleness.redaction.redact`); an image is bytes, left as it is."""
        object.__setattr__(self, "value", redact(self.value))
        if self.payload and not self.key.endswith(".png"):
            try:
                text = self.payload.decode("utf-8")
            except UnicodeDecodeError:
                return
            cleaned = _redacted_json(text) if self.key.endswith(".json") else redact(text)
            if cleaned != text:
                object.__setattr__(self, "payload", cleaned.encode("utf-8"))

    def describe(self) -> str:
        """One line for ``--dry-run``."""
        if self.kind == "log-artifact":
            return f"{self.kind:<17} {self.target}: {self.key} ({len(self.payload)} bytes)"
        detail = f"{self.key} = {self.value}" if self.value else self.key
        return f"{self.kind:<17} {self.target}: {detail}".rstrip(": ")


def plan_advice(
    rec: Recommendation,
    *,
    state: AdvisorState,
    fact: dict,
    plot: bytes,
    report: bytes,
    aliases: dict[str, str],
    set_alias: str | None = None,
    serving_alias: str | None = None,
    transition_stage: str | None = None,
    apply: bool = False,
    current: bool = True,
) -> list[Write]:
    """Every write of ``rec``, in order; ``fact`` is its :func:`~advice_log.advice_fact`.

    With ``current=False`` (a late window, older than the newest advised one) the advice goes
    into the history only: its fact, the history cache, its window's tag and its metrics. Nothing
    shows it as the current advice: no version or model tag, no run-level ``advice_id``, no
    ``advice.json``, plot or report, and no alias or stage moves.
    """
    model, version = rec.model_name, rec.version
    run = state.run_id or NEW_RUN
    on_run = f"advisor run {run}"
    on_version = f"model {model!r} version {version}"
    writes = _run_writes(state, model)
    advice = json.dumps(rec.to_dict(), indent=1, sort_keys=True).encode()
    cache = cache_document(model, [*state.facts, fact])
    writes += [
        Write("log-artifact", on_run, advice_fact_path(rec.advice_id), payload=_json(fact)),
        Write("log-artifact", on_run, HISTORY_PATH, payload=cache),
    ]
    tags = _version_tags(rec)
    final = tags.pop(ADVICE_ID_TAG)
    if not current:
        writes += [_run_tags(on_run, {window_tag(rec.window): final}), _metrics(rec, on_run)]
        check_plan(writes)
        return writes
    writes.append(_tag("set-version-tag", on_version, ADVICE_ID_TAG, ""))
    writes += [_tag("set-version-tag", on_version, key, value) for key, value in tags.items()]
    complete = {window_tag(rec.window): final, ADVICE_ID_TAG: final}
    writes.append(_run_tags(on_run, complete))
    writes.append(_tag("set-model-tag", f"model {model!r}", SUMMARY_TAG, rec.summary()))
    writes.append(_metrics(rec, on_run))
    writes += [
        Write("log-artifact", on_run, ADVICE_PATH, payload=advice),
        Write("log-artifact", on_run, PLOT_PATH, payload=plot),
        Write("log-artifact", on_run, REPORT_PATH, payload=report),
    ]
    writes.append(_tag("set-version-tag", on_version, ADVICE_ID_TAG, final))
    if apply:  # last: only a complete advice, shown as the current one, moves anything
        writes += _actions(rec, aliases, set_alias, serving_alias, transition_stage)
    check_plan(writes)
    return writes


def _tag(kind: str, target: str, key: str, value: str) -> Write:
    """A tag write whose value is fitted to its kind's budget (cut visibly when over it)."""
    return Write(kind, target, key, fit(value, budget_of(kind)))


def _version_tags(rec: Recommendation) -> dict[str, str]:
    """``rec.to_tags()`` with its lists fitted to a version tag's budget as JSON lists (cut
    items, and ``"… (+N items)"`` for those left out), so that they stay readable."""
    tags = rec.to_tags()
    budget = budget_of("set-version-tag")
    tags[TAG_PREFIX + "evidence"] = fit_list(list(rec.evidence), budget)
    pairs = [[name, score] for name, score in rec.top_features]
    tags[TAG_PREFIX + "top_features"] = fit_list(pairs, budget)
    return tags


def _metrics(rec: Recommendation, on_run: str) -> Write:
    """The advice's numbers as one metrics batch at step = the window's sequence number."""
    numbers = rec.to_dict()
    metrics = {
        f"{TAG_PREFIX}{name}": numbers[name]
        for name in _METRIC_FIELDS
        if numbers.get(name) is not None
    }
    metrics[f"{TAG_PREFIX}retrain_advised"] = float(
        rec.action in ("retrain", "promote", "rollback")
    )
    return Write(
        "log-metrics",
        on_run,
        f"step {rec.window_seq} (window {rec.window})",
        ", ".join(f"{k}={v!r}" for k, v in metrics.items()),
        payload=json.dumps(metrics).encode(),
    )


def _run_writes(state: AdvisorState, model: str) -> list[Write]:
    writes = []
    if state.experiment_id is None:
        writes.append(Write("create-experiment", advisor_experiment(model)))
    if state.run_id is None:
        writes.append(Write("create-run", advisor_experiment(model), "run name", ADVISOR_RUN))
    return writes


def _run_tags(on_run: str, tags: dict[str, str]) -> Write:
    """Run tags in one ``log_batch`` request: all of them are written, or none."""
    budget = budget_of("set-run-tags")
    tags = {key: fit(value, budget) for key, value in tags.items()}
    described = ", ".join(f"{k} = {v}" for k, v in tags.items())
    return Write("set-run-tags", on_run, described, payload=_json(tags))


def _json(document: dict) -> bytes:
    return json.dumps(document, indent=1, sort_keys=True).encode()


def _actions(
    rec: Recommendation,
    aliases: dict[str, str],
    set_alias: str | None,
    serving_alias: str | None,
    transition_stage: str | None,
) -> list[Write]:
    model = f"model {rec.model_name!r}"
    writes = []
    if set_alias:
        if rec.action == "retrain" and aliases.get(set_alias) != rec.version:
            writes.append(Write("set-alias", model, set_alias, rec.version))
        elif rec.action == "keep" and set_alias in aliases:
            writes.append(Write("delete-alias", model, set_alias, aliases[set_alias]))
    if rec.action in ("promote", "rollback") and rec.candidate_version:
        if serving_alias and aliases.get(serving_alias) != rec.candidate_version:
            writes.append(Write("set-alias", model, serving_alias, rec.candidate_version))
        if transition_stage:
            writes.append(
                Write(
                    "transition-stage",
                    f"{model} version {rec.candidate_version}",
                    "stage",
                    transition_stage,
                )
            )
    return writes


def execute(client: MlflowClient, writes: list[Write], *, model_name: str) -> str:
    """Check the whole plan against MLflow's limits, then make the writes in order; return the
    advisor run's id."""
    check_plan(writes)
    uri = client.tracking_uri
    prefix = "advisor run "
    run_id = next((w.target[len(prefix) :] for w in writes if w.target.startswith(prefix)), NEW_RUN)
    experiment_id = None
    purpose = _purpose(writes)
    completed = ""  # the advice id, once the run tags that make the advice complete are written
    for index, write in enumerate(writes):
        if write.kind in ACTION_KINDS and completed:
            _execute_action(client, writes, index, run_id, model_name, completed, uri)
            continue
        with mlflow_errors(f"{purpose} ({write.kind} {write.key})", uri):
            if write.kind == "create-experiment":
                experiment_id = _create_experiment(client, write.target)
            elif write.kind == "create-run":
                if experiment_id is None:
                    experiment_id = client.get_experiment_by_name(write.target).experiment_id
                run_id = _create_run(client, experiment_id, model_name)
            else:
                _with_race_retries(_execute_one, client, write, run_id, model_name)
        if write.kind == "set-run-tags" and ADVICE_ID_TAG in json.loads(write.payload):
            completed = json.loads(write.payload)[ADVICE_ID_TAG]
    return run_id


#: The writes that move something a deployment reads: always the last ones of an advice.
ACTION_KINDS = frozenset({"set-alias", "delete-alias", "transition-stage"})


def _execute_action(
    client: MlflowClient,
    writes: list[Write],
    index: int,
    run_id: str,
    model_name: str,
    advice_id: str,
    uri: str,
) -> None:
    """Make the move ``writes[index]`` of the complete advice ``advice_id``; when it fails, an
    :class:`ActionError` that says the advice is complete, what moved, what did not, and that
    running the same command again completes it."""
    write = writes[index]
    moves = [w for w in writes if w.kind in ACTION_KINDS]
    position = moves.index(write)
    try:
        with mlflow_errors(f"{write.kind} {write.key}", uri):
            _with_race_retries(_execute_one, client, write, run_id, model_name)
    except StalenessError as exc:
        done = tuple(_move(w) for w in moves[:position])
        pending = tuple(_move(w) for w in moves[position:])
        made = f"; done before it: {', '.join(done)}" if done else ""
        raise ActionError(
            f"the advice {advice_id} is written and complete, but {pending[0]} failed ({exc})"
            f"{made}; not done: {', '.join(pending)}. Every alias and stage is where it was or "
            f"where this advice says: run the same command again to complete the move",
            advice_id=advice_id,
            done=done,
            pending=pending,
        ) from exc


def _move(write: Write) -> str:
    """A move in words: ``setting alias 'champion' to v2``."""
    if write.kind == "set-alias":
        return f"setting alias {write.key!r} to v{write.value}"
    if write.kind == "delete-alias":
        return f"removing alias {write.key!r} (from v{write.value})"
    return f"moving {write.target.removeprefix('model ')} to stage {write.value!r}"


def _purpose(writes: list[Write]) -> str:
    """What a plan writes, for its error messages: settings, a measurement or an advice."""
    if writes and all(w.kind in ("set-model-tag", "delete-model-tag") for w in writes):
        return "storing the settings"
    if any(w.kind == "log-artifact" and w.key.startswith("measurements/") for w in writes):
        return "recording the measurement"
    return "writing the advice"


#: How SQL stores report two writers inserting the same tag at once (SQLite, PostgreSQL, MySQL).
_RACE = ("UNIQUE constraint failed", "duplicate key value", "IntegrityError", "Duplicate entry")
_RACE_TRIES = 6


def _with_race_retries(write, *args) -> None:
    """Run one write, again when a concurrent advisor inserted the same key at the same moment.

    Setting a tag (or logging a metric) is idempotent, but MLflow's SQL stores answer a clash of
    two inserts of one key with a 400, which its client does not retry.
    """
    for attempt in range(_RACE_TRIES):
        try:
            write(*args)
            return
        except MlflowException as exc:
            if attempt == _RACE_TRIES - 1 or not any(m in str(exc) for m in _RACE):
                raise
            time.sleep(random.uniform(0.05, 0.3) * (attempt + 1))


def _create_experiment(client: MlflowClient, name: str) -> str:
    """Create the advisor experiment, or take the one another advisor created meanwhile."""
    try:
        return client.create_experiment(
            name, artifact_location=_local_artifact_root(client.tracking_uri, name)
        )
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
        experiment = client.get_experiment_by_name(name)
        if experiment is None or experiment.lifecycle_stage != "active":
            raise
        return experiment.experiment_id


def _create_run(client: MlflowClient, experiment_id: str, model_name: str) -> str:
    """Create the advisor run; when another advisor made one first, use that one instead.

    Two advisors that start at once may still both keep their own run (each saw only its own);
    readers take the facts of every advisor run, so nothing is lost, only less tidy.
    """
    run = client.create_run(
        experiment_id, run_name=ADVISOR_RUN, tags={f"{TAG_PREFIX}model": model_name}
    )
    oldest = advisor_runs(client, experiment_id)[0].info.run_id
    if oldest != run.info.run_id:
        # still empty: nothing of the advice is lost; a user who may not delete runs leaves an
        # empty extra run, which readers take in with the others
        with contextlib.suppress(MlflowException):
            client.delete_run(run.info.run_id)
        return oldest
    return run.info.run_id


def _local_artifact_root(uri: str, experiment: str) -> str | None:
    """For a SQLite store, ``<folder of the database>/mlruns/<experiment>``; else None.

    MLflow's default for such a store is ``./mlruns`` of whatever directory the advisor runs in;
    keeping the advisor's artifacts beside the database keeps the store in one place.
    """
    if not uri.startswith("sqlite:///"):
        return None
    database = Path(uri[len("sqlite:///") :]).expanduser().resolve()
    folder = database.parent / "mlruns" / experiment.replace("/", "_")
    return folder.as_uri()


def _fill(text: str, run_id: str) -> str:
    return text.replace(NEW_RUN, run_id)


def _registry(client: MlflowClient):
    """MLflow's registry client, for tag writes.

    ``MlflowClient.set_model_version_tag`` (and ``set_registered_model_tag``) first read the
    registered model to refuse prompts, one extra request per tag: an advice writes some thirty
    tags on a model it has just read, so it writes them through the registry client directly.
    """
    return client._get_registry_client()


def _execute_one(client: MlflowClient, write: Write, run_id: str, model_name: str) -> None:
    kind = write.kind
    if kind == "log-artifact":
        payload = write.payload
        if write.key.endswith(".json"):
            payload = _fill(payload.decode(), run_id).encode()
        elif write.key.endswith(".html"):
            text = payload.decode().replace(html.escape(NEW_RUN), html.escape(run_id))
            payload = text.encode()
        folder, _, name = write.key.rpartition("/")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            path.write_bytes(payload)
            client.log_artifact(run_id, str(path), artifact_path=folder or None)
    elif kind == "log-metrics":
        metrics = json.loads(write.payload)
        step = int(write.key.split()[1])
        now = int(time.time() * 1000)
        client.log_batch(
            run_id, metrics=[Metric(k, float(v), now, step) for k, v in metrics.items()]
        )
    elif kind == "set-version-tag":
        version = write.target.rsplit(" ", 1)[-1]
        _registry(client).set_model_version_tag(
            model_name, version, write.key, _fill(write.value, run_id)
        )
    elif kind == "set-model-tag":
        _registry(client).set_registered_model_tag(model_name, write.key, write.value)
    elif kind == "delete-model-tag":
        client.delete_registered_model_tag(model_name, write.key)
    elif kind == "set-run-tags":
        tags = json.loads(write.payload)
        client.log_batch(run_id, tags=[RunTag(k, v) for k, v in tags.items()])
    elif kind == "set-alias":
        client.set_registered_model_alias(model_name, write.key, write.value)
    elif kind == "delete-alias":
        client.delete_registered_model_alias(model_name, write.key)
    elif kind == "transition-stage":
        version = write.target.rsplit(" ", 1)[-1]
        client.transition_model_version_stage(model_name, version, write.value)
    else:  # pragma: no cover - plan_advice makes only the kinds above
        raise AssertionError(f"unknown write {kind!r}")


def record_plan(model_name: str, state: AdvisorState, fact: dict) -> list[Write]:
    """The writes of ``record``: the measurement's fact, the cache, then its tag."""
    writes = _run_writes(state, model_name)
    on_run = f"advisor run {state.run_id or NEW_RUN}"
    writes += [
        Write("log-artifact", on_run, measurement_fact_path(fact["id"]), payload=_json(fact)),
        Write(
            "log-artifact",
            on_run,
            HISTORY_PATH,
            payload=cache_document(model_name, [*state.facts, fact]),
        ),
        _run_tags(on_run, {MEASUREMENT_TAG_PREFIX + fact["id"]: window_tag(fact["window"])}),
    ]
    check_plan(writes)
    return writes


def configure_plan(model_name: str, current: dict[str, str], document: str | None) -> list[Write]:
    """The writes of ``configure``: the settings document in one tag, then the removal of the
    per-key tags of older versions (ignored once the document is there).

    With ``document`` None (``configure --reset``), every stored setting is removed, the
    document last: a reset cut short leaves the settings as they were, never older ones.
    """
    from mlflow_staleness.settings import CONFIG_PREFIX, SETTINGS_TAG

    target = f"model {model_name!r}"
    writes = []
    if document is not None and current.get(SETTINGS_TAG) != document:
        writes.append(Write("set-model-tag", target, SETTINGS_TAG, document))
    writes += [
        Write("delete-model-tag", target, key)
        for key in sorted(current)
        if key.startswith(CONFIG_PREFIX)
    ]
    if document is None and SETTINGS_TAG in current:
        writes.append(Write("delete-model-tag", target, SETTINGS_TAG))
    check_plan(writes)
    return writes
