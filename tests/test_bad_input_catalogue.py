"""A catalogue of bad input, each case through the Python API and the CLI, against a real server.

Issue 5, part 1. Every case runs twice: through the Python API (``Advisor``,
``advise_after_evaluate``, ``Advisor.configure``, ``read_table`` for files) and through
``mlflow-staleness`` in-process (click's ``CliRunner`` on ``mlflow_staleness.cli.main``), against
the session's real ``mlflow server`` (``mlflow_server`` in ``conftest.py``). Test ids are
``test_bad_input[<case>-api]`` and ``test_bad_input[<case>-cli]``.

A case that must **fail** passes when:

- the API raises a :class:`~mlflow_staleness.exceptions.StalenessError` whose message is one line
  and matches the case's fragments (what was expected and what came: the column, the value, the
  file, the limit);
- the CLI exits 1, with exactly one ``error: ...`` line on stderr matching the same fragments;
- no write request reaches the server: the case talks to it through a ``CountingProxy``, and no
  PUT, PATCH, DELETE or non-search POST may pass (a bad input is refused before the first write,
  not by the server in the middle of the writes);
- ``registry_helpers.snapshot`` of the model (versions, their tags, aliases, stage and status; the
  model's tags and aliases; the advisor runs' tags, metric histories and artifacts) is the same
  after the attempt as before. Most models hold a complete advice before the bad one is tried
  (one good ``advise`` on window ``prior``), so there is an advisor run whose metrics and
  artifacts must not move.

Two cases must **succeed** gracefully: unseen categories in a categorical column (the advice is
written, and names the column: as the most drifted feature, or in its reason or evidence) and
extra columns (accepted, the advice written).

One case is a **graceful refusal**, by decision: a served version whose run has no loss metric,
no fingerprint, and no labels given. The advisor knows nothing about it; the right answer is
``insufficient-evidence`` (confidence 0), not an error: it is an advice a team can gate on. With
``--fail-on-retrain --min-confidence 0.5`` the CLI exits 4. What it must never do is write a
wrong advice: any ``staleness.action`` tag it leaves says ``insufficient-evidence``.

A deleted source run of the served version (no labels given) and a served run whose loss metric
is NaN are in the issue's must-fail list: the advisor must refuse with a line naming the run or
the metric, rather than advise on whatever evidence is left (a deleted run's artifacts stay
downloadable until ``mlflow gc``, so its fingerprint must not be used either).

Registry states MLflow offers no API for: a version whose registration is
``PENDING_REGISTRATION`` or ``FAILED_REGISTRATION``. The server's own store creates every version
``READY`` at once (``create_model_version(..., await_creation_for=0)`` does not help), so the
catalogue sets ``model_versions.status`` in the session server's SQLite store directly
(``bad_inputs.set_version_status``); the server reads that column afresh on every request.

Limits: a window label of 10 000 characters is refused before any write (it is beyond the
8 000 characters MLflow allows a run tag value, and no window label is that long by design); one
of 100 001 characters is beyond even a model-version tag value (100 000). A model name longer than
490 characters makes the advisor experiment's name ``staleness/<name>`` longer than the 500
MLflow allows, though the registry accepts the model itself; the advisor must say so before it
creates anything.

Over-long values (issue 11, defect 1): new text values of 40,000 characters, a feature named by
25,000 and 1,500 columns with unseen categories must **succeed**, with every tag the model holds
within its kind's budget (5,000 characters for registry tags, 8,000 for run tags) and at least
one value cut visibly (``… (+N chars)`` or ``… (+N items)``); a currency of 120,000 characters
is refused before any write. Stored settings (defect 2): the per-key leftovers of an interrupted
``configure`` (a total and its parts) must not stop an advice; a damaged settings document is
refused with a line naming ``configure --reset``.

The last test asserts the catalogue's size (>= 30 failing cases, >= 2 succeeding) and prints
``bad inputs tried: N, state changed: M`` (M must be 0).
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import tomllib
from bad_inputs import (
    BOTH_QUOTES_NAME,
    LABEL,
    LONG_CURRENCY,
    PRED,
    QUOTE_NAME,
    column_frames,
    reference_frame,
    replace_fingerprint,
    set_version_status,
    window_frame,
    with_hostile_column,
    with_lists_and_ids,
    with_long_name,
    with_long_values,
    with_many_columns,
    write_files,
)
from click.testing import CliRunner
from mlflow_servers import CountingProxy, MlflowServer
from registry_helpers import client_for, register_version, snapshot, unique_name

from mlflow_staleness import CostModel, advise_after_evaluate
from mlflow_staleness.advisor import Advisor
from mlflow_staleness.cli import main
from mlflow_staleness.data_files import read_table
from mlflow_staleness.exceptions import StalenessError
from mlflow_staleness.settings import read_cost_file

#: Costs stored on most models with ``configure``: alpha = 100 / (1 * 100) = 1 loss-window.
COST_SETTINGS = {
    "retrain_cost": 100.0,
    "error_cost": 1.0,
    "predictions_per_step": 100.0,
    "currency": "EUR",
}
WINDOW = "bad-window"
PRIOR_WINDOW = "prior"
MARCH = "2026-03-01"
#: Seconds a bad fingerprint may take to be refused (bounded time).
FINGERPRINT_SECONDS = 30.0
HTTP_SETTINGS = (
    "MLFLOW_TRACKING_URI",
    "MLFLOW_HTTP_REQUEST_TIMEOUT",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR",
)


# ---------------------------------------------------------------------------------- registry states
@dataclass(frozen=True)
class World:
    """A registered model in some state: its name, and its served version and source run."""

    name: str
    version: str = ""
    run_id: str = ""


def _served_model(
    uri: str,
    prefix: str,
    *,
    name: str | None = None,
    configure: bool = True,
    advise: bool = True,
    reference: bool = True,
    val_loss: float | None = 0.1,
    frame: pd.DataFrame | None = None,
) -> World:
    """One version (no logged model: the data carries the predictions) behind ``champion``;
    costs stored with ``configure``; one complete advice on window ``prior``."""
    name = name or unique_name(prefix)
    version = register_version(
        uri,
        name,
        reference_frame() if frame is None else frame,
        target=LABEL,
        val_loss=val_loss,
        with_reference=reference,
        alias="champion",
        log_model=False,
    )
    run_id = client_for(uri).get_model_version(name, version).run_id
    if configure:
        Advisor(name, tracking_uri=uri).configure(COST_SETTINGS)
    if advise:
        Advisor(name, tracking_uri=uri).advise(
            window_frame(), labels=LABEL, predictions=PRED, window=PRIOR_WINDOW
        )
    return World(name, version, run_id)


def _dated_model(uri: str, prefix: str) -> World:
    """A served model with one complete advice, on window ``MARCH`` (defect 10)."""
    world = _served_model(uri, prefix, advise=False)
    Advisor(world.name, tracking_uri=uri).advise(
        window_frame(), labels=LABEL, predictions=PRED, window=MARCH
    )
    return world


def _unregistered(worlds: Worlds) -> World:
    return World(unique_name("bad-unknown"))


def _without_versions(worlds: Worlds) -> World:
    name = unique_name("bad-empty")
    client_for(worlds.uri).create_registered_model(name)
    # costs stored, so that the missing versions are the only problem
    Advisor(name, tracking_uri=worlds.uri).configure(COST_SETTINGS)
    return World(name)


def _registration(status: str) -> Callable[[Worlds], World]:
    def build(worlds: Worlds) -> World:
        first = _served_model(worlds.uri, f"bad-{status.lower()}")
        version = register_version(
            worlds.uri, first.name, reference_frame(seed=3), target=LABEL, alias="champion",
            log_model=False,
        )  # fmt: skip
        set_version_status(worlds.server.backend_store_uri, first.name, version, status)
        assert client_for(worlds.uri).get_model_version(first.name, version).status == status
        return World(first.name, version)

    return build


def _deleted_run(worlds: Worlds) -> World:
    world = _served_model(worlds.uri, "bad-deleted-run")
    client_for(worlds.uri).delete_run(world.run_id)
    return world


def _nan_loss(worlds: Worlds) -> World:
    world = _served_model(worlds.uri, "bad-nan-loss")
    client = client_for(worlds.uri)
    client.log_metric(world.run_id, "val_loss", math.nan, step=1)
    assert math.isnan(client.get_run(world.run_id).data.metrics["val_loss"])
    return world


def _settings_left(tags: dict[str, str]) -> Callable[[Worlds], World]:
    """A served model whose stored settings are ``tags``, set directly (defect 2): what an
    interrupted ``configure`` of an older version left, or a damaged settings document."""

    def build(worlds: Worlds) -> World:
        world = _served_model(worlds.uri, "bad-settings", configure=False, advise=False)
        client = client_for(worlds.uri)
        for key, value in tags.items():
            client.set_registered_model_tag(world.name, key, value)
        return world

    return build


#: An older version's per-key settings with both the total and a part: an interrupted change.
LEFTOVER_SETTINGS = {
    "staleness.config.retrain_cost": "100.0",
    "staleness.config.compute_cost": "60.0",
    "staleness.config.people_cost": "40.0",
    "staleness.config.error_cost": "1.0",
    "staleness.config.predictions_per_step": "100.0",
}


def _bad_fingerprint(kind: str) -> Callable[[Worlds], World]:
    def build(worlds: Worlds) -> World:
        world = _served_model(worlds.uri, f"bad-fp-{kind}")
        replace_fingerprint(worlds.uri, world.run_id, kind)
        return world

    return build


BUILDERS: dict[str, Callable[[Worlds], World]] = {
    "shared": lambda w: _served_model(w.uri, "bad-shared"),
    "unknown": _unregistered,
    "no-versions": _without_versions,
    "unconfigured": lambda w: _served_model(
        w.uri, "bad-unconfigured", configure=False, advise=False
    ),
    "pending": _registration("PENDING_REGISTRATION"),
    "failed": _registration("FAILED_REGISTRATION"),
    "deleted-run": _deleted_run,
    "nan-loss": _nan_loss,
    **{
        f"fp-{kind}": _bad_fingerprint(kind)
        for kind in (
            "corrupt",
            "oversized",
            "nested",
            "newer",
            "wrong-types",
            "zlib-bomb",
            "huge-count",
        )
    },
    # issue 11: names MLflow's filter parser takes only unescaped (defect 5), a reference with a
    # terminal escape in a column name (defect 7), lists and ids in the reference (defect 9)
    "quote-name": lambda w: _served_model(w.uri, "", name=unique_name(QUOTE_NAME), advise=False),
    "both-quotes-name": lambda w: _served_model(
        w.uri, "", name=unique_name(BOTH_QUOTES_NAME), advise=False
    ),
    "hostile-ref": lambda w: _served_model(  # no prior advice: the window lacks the column
        w.uri, "bad-hostile", frame=with_hostile_column(reference_frame()), advise=False
    ),
    "lists-ids": lambda w: _served_model(
        w.uri,
        "bad-lists-ids",
        advise=False,
        frame=with_lists_and_ids(reference_frame(), arrays=False, id_prefix="ref-"),
    ),
    "hostile-names": lambda w: _served_model(w.uri, "bad-hostile-names", advise=False),
    # 600 characters: the registry takes it, "staleness/<name>" is over MLflow's 500
    "long-name": lambda w: _served_model(
        w.uri, "", name=unique_name("bad-long") + "-" + "n" * 600, advise=False
    ),
    "unseen": lambda w: _served_model(w.uri, "bad-unseen", advise=False),
    # issue 11, defect 3: a world per case that succeeds; an advised history for the flag
    "text-predictions": lambda w: _served_model(w.uri, "bad-text-pred", advise=False),
    "probabilities": lambda w: _served_model(w.uri, "bad-probabilities", advise=False),
    "implausible": lambda w: _served_model(w.uri, "bad-implausible"),
    # issue 11, defect 10: one advice on March 1st
    "march": lambda w: _dated_model(w.uri, "bad-late"),
    "march-spelled": lambda w: _dated_model(w.uri, "bad-instant"),
    "extra": lambda w: _served_model(w.uri, "bad-extra", advise=False),
    "no-loss": lambda w: _served_model(
        w.uri, "bad-no-loss", advise=False, reference=False, val_loss=None
    ),
    # issue 11, defect 1: references with the columns whose window values are over-long
    "long-values": lambda w: _served_model(
        w.uri, "bad-long-values", advise=False, frame=with_long_values(reference_frame(), new=False)
    ),
    "long-feature-name": lambda w: _served_model(
        w.uri, "bad-long-feature", advise=False, frame=with_long_name(reference_frame(), shift=0.0)
    ),
    "many-columns": lambda w: _served_model(
        w.uri, "bad-many-columns", advise=False, frame=with_many_columns(reference_frame(), "old")
    ),
    # defect 2: settings an interrupted configure left, and a damaged settings document
    "leftover-settings": _settings_left(LEFTOVER_SETTINGS),
    "damaged-settings": _settings_left({"staleness.config": '{"format": 1, "settings": '}),
}


class Worlds:
    """Registry states, each built on first use and shared by the API and CLI runs of a case."""

    def __init__(self, server: MlflowServer) -> None:
        self.server = server
        self.uri = server.uri
        self._built: dict[str, World] = {}

    def get(self, key: str) -> World:
        if key not in self._built:
            self._built[key] = BUILDERS[key](self)
        return self._built[key]


# ---------------------------------------------------------------------------------- the catalogue
@dataclass(frozen=True)
class Ctx:
    uri: str
    world: World
    files: dict[str, Path]


@dataclass(frozen=True)
class Case:
    """One bad (or unusual) input: how to try it through the API and the CLI, and what to see.

    ``fragments`` are regular expressions the one-line message must match; ``{name}`` and
    ``{run_id}`` stand for the world's model name and served run (escaped).
    """

    id: str
    group: str
    world: str
    api: Callable[[Ctx], Any]
    cli: Callable[[Ctx], list[str]]
    fragments: tuple[str, ...] = ()
    outcome: str = "fail"  # "fail", "succeed", "late" or "insufficient"
    evidence: str = ""  # for "succeed": a fragment the advice's evidence must hold
    loss: float | None = None  # for "succeed": the measured loss the advice must report
    window: str | None = None  # for "succeed": the (normalised) window the advice must name
    plain: bool = False  # the CLI prints the advice as text, not JSON
    cut: bool = False  # for "succeed": some written value was cut to its budget, visibly
    exit_code: int = 1
    seconds: float | None = None  # a bound on the time to refuse it


Arg = str | Callable[[Ctx], str]


def _frame(data: str) -> pd.DataFrame:
    if data == "good":
        return window_frame()
    if data == "features-only":
        return window_frame().drop(columns=[LABEL, PRED])
    return column_frames()[data]


def api_advise(
    data: str = "good",
    *,
    labels: str | None = LABEL,
    predictions: str | None = PRED,
    window: str = WINDOW,
    cost: Callable[[], CostModel] | None = None,
    apply: bool = False,
    **advisor_options: Any,
) -> Callable[[Ctx], Any]:
    """``Advisor(...).advise(frame)`` on a frame of ``bad_inputs`` (built inside the call)."""

    def run(ctx: Ctx) -> Any:
        options = dict(advisor_options)
        if cost is not None:
            options["cost"] = cost()
        advisor = Advisor(ctx.world.name, tracking_uri=ctx.uri, **options)
        frame = _frame(data)
        return advisor.advise(
            frame, labels=labels, predictions=predictions, window=window, apply=apply
        )

    return run


def api_file(key: str) -> Callable[[Ctx], Any]:
    """The API on a file: ``read_table`` it, then advise on the frame."""

    def run(ctx: Ctx) -> Any:
        frame = read_table(ctx.files[key])
        advisor = Advisor(ctx.world.name, tracking_uri=ctx.uri)
        return advisor.advise(frame, labels=LABEL, predictions=PRED, window=WINDOW)

    return run


def api_evaluate(data: str) -> Callable[[Ctx], Any]:
    """``advise_after_evaluate`` with an evaluation's metrics, on a frame without predictions."""

    def run(ctx: Ctx) -> Any:
        frame = _frame(data).drop(columns=[PRED])
        return advise_after_evaluate(
            {"accuracy_score": 0.9},
            ctx.world.name,
            frame,
            targets=LABEL,
            window=WINDOW,
            tracking_uri=ctx.uri,
        )

    return run


def api_configure(settings: Callable[[Ctx], dict[str, Any]]) -> Callable[[Ctx], Any]:
    def run(ctx: Ctx) -> Any:
        return Advisor(ctx.world.name, tracking_uri=ctx.uri).configure(settings(ctx))

    return run


def _toml(key: str) -> Callable[[Ctx], dict[str, Any]]:
    return lambda ctx: tomllib.loads(ctx.files[key].read_text(encoding="utf-8"))


def _file(key: str) -> Callable[[Ctx], str]:
    return lambda ctx: str(ctx.files[key])


def cli_advise(
    data: str = "good",
    *extra: Arg,
    target: str | None = LABEL,
    pred: str | None = PRED,
    window: str = WINDOW,
) -> Callable[[Ctx], list[str]]:
    """``mlflow-staleness advise MODEL --data FILE ...``."""

    def args(ctx: Ctx) -> list[str]:
        out = ["advise", ctx.world.name, "--data", str(ctx.files[data])]
        if target is not None:
            out += ["--target", target]
        if pred is not None:
            out += ["--predictions-col", pred]
        out += ["--window", window]
        out += [item(ctx) if callable(item) else item for item in extra]
        return [*out, "--tracking-uri", ctx.uri]

    return args


def cli_configure(*extra: Arg) -> Callable[[Ctx], list[str]]:
    def args(ctx: Ctx) -> list[str]:
        given = [item(ctx) if callable(item) else item for item in extra]
        return ["configure", ctx.world.name, *given, "--tracking-uri", ctx.uri]

    return args


def _cost(**changes: Any) -> Callable[[], CostModel]:
    def build() -> CostModel:
        parts = {"compute_cost": 100, "error_cost": 1, "predictions_per_step": 100}
        return CostModel(**{**parts, "currency": "EUR", **changes})

    return build


LONG_WINDOW = "w" * 10_000
LONGER_WINDOW = "w" * 100_001
LONG_ALIAS = "a" * 300
FILE = ("files", "shared")

CATALOGUE: list[Case] = [
    # ---- files: read_table, then advise (API); --data FILE (CLI)
    Case("missing-file", *FILE, api_file("missing"), cli_advise("missing"),
         (r"no-such-file\.parquet", r"(?i)does not exist|not found|no such")),
    Case("empty-file", *FILE, api_file("empty"), cli_advise("empty"),
         (r"empty\.parquet", r"(?i)empty|0 bytes")),
    Case("header-only-csv", *FILE, api_file("header-only"), cli_advise("header-only"),
         (r"header-only\.csv", r"(?i)no rows|no data rows")),
    Case("zero-row-parquet", *FILE, api_file("zero-rows"), cli_advise("zero-rows"),
         (r"zero-rows\.parquet", r"(?i)no rows")),
    Case("truncated-parquet", *FILE, api_file("truncated-parquet"),
         cli_advise("truncated-parquet"), (r"truncated\.parquet", r"Parquet")),
    Case("corrupt-parquet", *FILE, api_file("corrupt-parquet"), cli_advise("corrupt-parquet"),
         (r"corrupt\.parquet", r"Parquet")),
    Case("latin-1-csv", *FILE, api_file("latin-1"), cli_advise("latin-1"),
         (r"latin-1\.csv", r"UTF-8")),
    Case("utf-16-csv", *FILE, api_file("utf-16"), cli_advise("utf-16"),
         (r"utf-16\.csv", r"UTF-8")),
    Case("semicolon-csv", *FILE, api_file("semicolon"), cli_advise("semicolon"),
         (r"semicolon\.csv", r"';'|semicolon")),
    Case("unsupported-suffix", *FILE, api_file("wrong-suffix"), cli_advise("wrong-suffix"),
         (r"data\.xlsx", r"(?i)parquet|csv")),
    # ---- columns: the frame (API, some through advise_after_evaluate); a file of it (CLI)
    Case("missing-column", "columns", "shared", api_advise("missing-column"),
         cli_advise("missing-column"), (r"'x2'",)),
    Case("renamed-column", "columns", "shared", api_advise("renamed-column"),
         cli_advise("renamed-column"), (r"'x3'",)),
    Case("changed-type-float-to-string", "columns", "shared", api_advise("changed-type"),
         cli_advise("changed-type"), (r"'x1'", r"(?i)type")),
    Case("all-nan-column", "columns", "shared", api_evaluate("all-nan-column"),
         cli_advise("all-nan-column"), (r"'x2'", r"(?i)missing|NaN")),
    Case("infinities", "columns", "shared", api_advise("infinities"),
         cli_advise("infinities"), (r"'x3'", r"(?i)infinit|inf")),
    Case("mixed-types-in-a-column", "columns", "shared", api_evaluate("mixed-types"),
         cli_advise("mixed-types"), (r"'x1'",)),
    Case("label-column-missing", "columns", "shared", api_advise(labels="nope_label"),
         cli_advise(target="nope_label"), (r"nope_label",)),
    Case("predictions-column-missing", "columns", "shared", api_advise(predictions="nope_pred"),
         cli_advise(pred="nope_pred"), (r"nope_pred",)),
    Case("labels-all-nan", "columns", "shared", api_advise("labels-all-nan"),
         cli_advise("labels-all-nan"), (r"(?i)label",)),
    # ---- costs: CostModel / configure (API); flags, --cost-file, configure (CLI)
    Case("negative-cost", "costs", "shared", api_advise(cost=_cost(compute_cost=-5)),
         cli_advise("good", "--compute-cost=-5"), (r"compute[_-]cost", r"-5")),
    Case("nan-cost", "costs", "shared", api_advise(cost=_cost(error_cost=math.nan)),
         cli_advise("good", "--error-cost", "nan"), (r"error[_-]cost", r"(?i)\bnan\b")),
    Case("infinite-cost", "costs", "shared", api_advise(cost=_cost(error_cost=math.inf)),
         cli_advise("good", "--error-cost", "inf"), (r"error[_-]cost", r"(?i)\binf")),
    Case("text-cost", "costs", "shared", api_advise(cost=_cost(error_cost="lots")),
         cli_advise("good", "--error-cost", "lots"), (r"error[_-]cost", r"lots")),
    Case("zero-traffic", "costs", "shared", api_advise(cost=_cost(predictions_per_step=0)),
         cli_advise("good", "--predictions-per-step", "0"),
         (r"predictions[_-]per[_-]step", r"\b0\b")),
    Case("cost-file-unknown-key", "costs", "shared", api_configure(_toml("cost-unknown")),
         cli_advise("good", "--cost-file", _file("cost-unknown")), (r"bogus_cost",)),
    Case("cost-file-negative", "costs", "shared", api_configure(_toml("cost-negative")),
         cli_advise("good", "--cost-file", _file("cost-negative")),
         (r"retrain_cost", r"-5")),
    Case("cost-file-not-toml", "costs", "shared",
         lambda ctx: read_cost_file(ctx.files["cost-not-toml"]),
         cli_advise("good", "--cost-file", _file("cost-not-toml")),
         (r"not-toml\.toml", r"TOML")),
    Case("configure-negative-cost", "costs", "shared",
         api_configure(lambda ctx: {"retrain_cost": -5}), cli_configure("--retrain-cost=-5"),
         (r"retrain[_-]cost", r"-5")),
    Case("no-costs-anywhere", "costs", "unconfigured", api_advise(), cli_advise(),
         (r"retrain[_-]cost", r"configure")),
    # ---- registry
    Case("unknown-model", "registry", "unknown", api_advise(), cli_advise(), (r"{name}",)),
    Case("unknown-alias", "registry", "shared", api_advise(alias="nope"),
         cli_advise("good", "--alias", "nope"), (r"'nope'", r"(?i)alias")),
    Case("model-without-versions", "registry", "no-versions", api_advise(), cli_advise(),
         (r"{name}", r"(?i)no versions")),
    Case("pending-registration", "registry", "pending", api_advise(), cli_advise(),
         (r"PENDING_REGISTRATION",)),
    Case("failed-registration", "registry", "failed", api_advise(), cli_advise(),
         (r"FAILED_REGISTRATION",)),
    Case("deleted-source-run", "registry", "deleted-run",
         api_advise("features-only", labels=None, predictions=None),
         cli_advise("features-only", target=None, pred=None),
         (r"{run_id}", r"(?i)deleted")),
    Case("nan-loss-metric", "registry", "nan-loss", api_advise(), cli_advise(),
         (r"val_loss", r"(?i)\bnan\b")),
    Case("corrupt-fingerprint", "registry", "fp-corrupt", api_advise(), cli_advise(),
         (r"(?i)fingerprint", r"(?i)json"), seconds=FINGERPRINT_SECONDS),
    Case("oversized-fingerprint", "registry", "fp-oversized", api_advise(), cli_advise(),
         (r"(?i)fingerprint", r"16 ?Mi?B|16777216|16,777,216"), seconds=FINGERPRINT_SECONDS),
    Case("deeply-nested-fingerprint", "registry", "fp-nested", api_advise(), cli_advise(),
         (r"(?i)fingerprint", r"(?i)nest|deep|depth"), seconds=FINGERPRINT_SECONDS),
    Case("newer-format-fingerprint", "registry", "fp-newer", api_advise(), cli_advise(),
         (r"(?i)fingerprint", r"\b99\b"), seconds=FINGERPRINT_SECONDS),
    Case("wrong-typed-fingerprint", "registry", "fp-wrong-types", api_advise(), cli_advise(),
         (r"(?i)fingerprint", r"columns"), seconds=FINGERPRINT_SECONDS),
    # ---- issue 11: each class of defect that is an input
    Case("zlib-bomb-fingerprint", "registry", "fp-zlib-bomb", api_advise(), cli_advise(),
         (r"(?i)fingerprint", r"more than 1024 values"), seconds=FINGERPRINT_SECONDS),
    Case("huge-count-fingerprint", "registry", "fp-huge-count", api_advise(), cli_advise(),
         (r"(?i)fingerprint", r"n_rows", r"2\*\*53"), seconds=FINGERPRINT_SECONDS),
    Case("hostile-column-missing", "columns", "hostile-ref", api_advise(), cli_advise(),
         (r"note", r"(?i)missing|lacks")),
    Case("duplicate-csv-header", *FILE, api_file("duplicate-header"),
         cli_advise("duplicate-header"), (r"duplicate-header\.csv", r"'x3' twice")),
    Case("cost-file-key-twice", "costs", "shared",
         lambda ctx: read_cost_file(ctx.files["cost-twice"]),
         cli_advise("good", "--cost-file", _file("cost-twice")),
         (r"retrain_cost twice", r"\[costs\]")),
    Case("currency-with-newline", "costs", "shared", api_advise(cost=_cost(currency="EU\nR")),
         cli_advise("good", "--currency", "EU\nR"), (r"^(error: )?currency", r"one line")),
    Case("costs-underflow", "costs", "shared",
         api_advise(cost=_cost(error_cost=1e-300, predictions_per_step=1e-300)),
         cli_advise("good", "--error-cost", "1e-300", "--predictions-per-step", "1e-300"),
         (r"error_cost \* predictions_per_step", r"underflows")),
    Case("costs-overflow", "costs", "shared",
         api_advise(cost=_cost(error_cost=1e200, predictions_per_step=1e200)),
         cli_advise("good", "--error-cost", "1e200", "--predictions-per-step", "1e200"),
         (r"error_cost \* predictions_per_step", r"overflows")),
    Case("window-label-10k-chars", "registry", "shared", api_advise(window=LONG_WINDOW),
         cli_advise(window=LONG_WINDOW),
         (r"(?i)\bwindow\b", r"(?i)long|length|limit|at most|exceed|characters")),
    Case("window-label-over-tag-limit", "registry", "shared", api_advise(window=LONGER_WINDOW),
         cli_advise(window=LONGER_WINDOW),
         (r"(?i)\bwindow\b", r"(?i)long|length|limit|at most|exceed|characters")),
    Case("alias-300-chars", "registry", "shared", api_advise(alias=LONG_ALIAS),
         cli_advise("good", "--alias", LONG_ALIAS), (r"(?i)alias", r"255|(?i:at most|long)")),
    Case("set-alias-300-chars", "registry", "shared",
         api_advise(set_alias=LONG_ALIAS, apply=True),
         cli_advise("good", "--set-alias", LONG_ALIAS),
         (r"set[_-]alias", r"255|(?i:at most|long)")),
    Case("model-name-too-long", "registry", "long-name", api_advise(), cli_advise(),
         (r"(?i)name", r"(?i)long|length|limit|at most|exceed|500")),
    # ---- must succeed gracefully
    Case("unseen-categories", "columns", "unseen", api_advise("unseen-categories", window="w-api"),
         cli_advise("unseen-categories", "--json", window="w-cli"), outcome="succeed",
         exit_code=0),
    Case("extra-columns", "columns", "extra", api_advise("extra-columns", window="w-api"),
         cli_advise("extra-columns", "--json", window="w-cli"), outcome="succeed", exit_code=0),
    Case("quote-and-backslash-in-model-name", "registry", "quote-name",
         api_advise(window="w-api"), cli_advise("good", "--json", window="w-cli"),
         outcome="succeed", exit_code=0),
    Case("both-quotes-in-model-name", "registry", "both-quotes-name",
         api_advise(window="w-api"), cli_advise("good", "--json", window="w-cli"),
         outcome="succeed", exit_code=0),
    Case("terminal-escapes-in-names-and-values", "columns", "hostile-names",
         api_advise("hostile-names", window="w-api"), cli_advise("hostile-names", window="w-cli"),
         outcome="succeed", exit_code=0, evidence="unseen categories in 'plan'", plain=True),
    Case("lists-and-new-ids", "columns", "lists-ids",
         api_advise("lists-and-new-ids", window="w-api"),
         cli_advise("lists-and-new-ids", "--json", window="w-cli"),
         outcome="succeed", exit_code=0, evidence="'user_id' looks like an identifier"),
    # ---- issue 11, defect 1: values over MLflow's limits are cut to their kind's budget
    Case("new-text-values-of-40000-chars", "columns", "long-values",
         api_advise("long-values", window="w-api"),
         cli_advise("long-values", "--json", window="w-cli"),
         outcome="succeed", exit_code=0, evidence="unseen categories in 'note'", cut=True),
    Case("feature-name-of-25000-chars", "columns", "long-feature-name",
         api_advise("long-name", window="w-api"),
         cli_advise("long-name", "--json", window="w-cli"),
         outcome="succeed", exit_code=0, cut=True),
    Case("1500-columns-with-unseen-values", "columns", "many-columns",
         api_advise("many-columns", window="w-api"),
         cli_advise("many-columns", "--json", window="w-cli"),
         outcome="succeed", exit_code=0, evidence="unseen categories in 'c1499'", cut=True),
    Case("currency-of-120000-chars", "costs", "shared",
         api_advise(cost=_cost(currency=LONG_CURRENCY)),
         cli_advise("good", "--currency", LONG_CURRENCY),
         (r"currency", r"at most \d+ characters", r"120000")),
    Case("configure-currency-of-120000-chars", "costs", "shared",
         api_configure(lambda ctx: {"currency": LONG_CURRENCY}),
         cli_configure("--currency", LONG_CURRENCY),
         (r"currency", r"at most \d+ characters", r"120000")),
    # ---- defect 2: what an interrupted configure leaves never makes a model unadvisable
    Case("interrupted-configure-leftovers", "registry", "leftover-settings",
         api_advise(window="w-api"), cli_advise("good", "--json", window="w-cli"),
         outcome="succeed", exit_code=0),
    Case("damaged-settings-document", "registry", "damaged-settings", api_advise(),
         cli_advise(), (r"staleness\.config", r"configure .*--reset")),
    # ---- issue 11, defect 3: labels and predictions aligned by type, or refused
    Case("labels-yes-no-against-0-1", "columns", "shared", api_advise("labels-yes-no"),
         cli_advise("labels-yes-no"),
         (r"labels are text \('no', 'yes'\)", r"predictions are numbers \(0, 1\)")),
    Case("predictions-as-numeric-text", "columns", "text-predictions",
         api_advise("predictions-as-text", window="w-api"),
         cli_advise("predictions-as-text", "--json", window="w-cli"), outcome="succeed",
         exit_code=0, evidence="numbers written as text", loss=0.1),
    Case("probabilities-for-classes", "columns", "probabilities",
         api_advise("probabilities", window="w-api"),
         cli_advise("probabilities", "--json", window="w-cli"), outcome="succeed",
         exit_code=0, evidence="class 1 where >= 0.5", loss=0.1),
    Case("implausible-loss", "columns", "implausible",
         api_advise("flipped-predictions", window="w-api", set_alias="retrain-recommended",
                    apply=True),
         cli_advise("flipped-predictions", "--json", "--set-alias", "retrain-recommended",
                    window="w-cli"),
         outcome="succeed", exit_code=0, evidence="implausible loss: ", loss=0.9),
    # ---- issue 11, defect 10: a time axis
    Case("late-window", "registry", "march", api_advise(window="2026-01-01"),
         cli_advise("good", "--json", window="2026-02-01"), outcome="late", exit_code=0),
    Case("one-instant-spelled-another-way", "registry", "march-spelled",
         api_advise(window="2026-02-28T19:00:00-05:00"),
         cli_advise("good", "--json", window="2026-03-01T00:00:00+00:00"), outcome="succeed",
         exit_code=0, window=MARCH),
    # ---- a graceful refusal: no loss metric, no fingerprint, no labels
    Case("no-loss-metric-no-evidence", "registry", "no-loss",
         api_advise("features-only", labels=None, predictions=None, window="w-api"),
         cli_advise("features-only", "--json", "--fail-on-retrain", "--min-confidence", "0.5",
                    target=None, pred=None, window="w-cli"),
         outcome="insufficient", exit_code=4),
]  # fmt: skip
CASES = {case.id: case for case in CATALOGUE}
assert len(CASES) == len(CATALOGUE), "case ids must be unique"

RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
#: (case id, surface, whether the model's state changed, whether a write was attempted) for
#: every failing case tried.
TRIED: list[tuple[str, str, bool, bool]] = []


# ---------------------------------------------------------------------------------- fixtures
@pytest.fixture(autouse=True)
def _restore_environment() -> Iterator[None]:
    """The advisor bounds MLflow's requests through ``MLFLOW_HTTP_REQUEST_*`` variables; keep
    such changes, and any tracking URI, from leaking between cases."""
    saved = {key: os.environ.get(key) for key in HTTP_SETTINGS}
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="module")
def worlds(mlflow_server: MlflowServer) -> Worlds:
    return Worlds(mlflow_server)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bad-inputs")
    out = write_files(folder)
    costs = "retrain_cost = 100\nerror_cost = 1\npredictions_per_step = 100\n"
    for key, text in {
        "cost-unknown": costs + "bogus_cost = 3\n",
        "cost-negative": "retrain_cost = -5\nerror_cost = 1\npredictions_per_step = 100\n",
        "cost-not-toml": "retrain_cost: 100\n[[[costs\n",
        "cost-twice": costs + "[costs]\nretrain_cost = 200\n",
    }.items():
        out[key] = folder / f"{key}.toml"
        out[key].write_text(text, encoding="utf-8")
    return out


# ---------------------------------------------------------------------------------- helpers
def _patterns(case: Case, world: World) -> list[str]:
    values = {"{name}": re.escape(world.name), "{run_id}": re.escape(world.run_id or "-")}
    out = []
    for fragment in case.fragments:
        for placeholder, value in values.items():
            fragment = fragment.replace(placeholder, value)
        out.append(fragment)
    return out


def _unmatched(message: str, patterns: list[str]) -> list[str]:
    return [p for p in patterns if not re.search(p, message)]


def _short(text: str, limit: int = 400) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def _invoke(args: list[str]) -> tuple[int, str, str, BaseException | None]:
    result = CliRunner().invoke(main, args)
    crash = None
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        crash = result.exception
    return result.exit_code, result.stdout, result.stderr, crash


def _changes(before: dict, after: dict) -> str:
    """Where two snapshots differ, briefly."""
    lines = []
    if before.get("model") != after.get("model"):
        lines.append(f"model: {before.get('model')} -> {after.get('model')}")
    for version in sorted(set(before["versions"]) | set(after["versions"])):
        a, b = before["versions"].get(version), after["versions"].get(version)
        if a != b:
            keys = sorted(
                k
                for k in set((a or {}).get("tags", {})) | set((b or {}).get("tags", {}))
                if (a or {}).get("tags", {}).get(k) != (b or {}).get("tags", {}).get(k)
            )
            lines.append(f"version {version}: tags changed {keys}")
    if before["advisor_experiment"] != after["advisor_experiment"]:
        lines.append("advisor experiment/runs changed (metrics, artifacts or tags)")
    return "; ".join(lines)


def _write_requests(requests: list[tuple[str, str]]) -> list[str]:
    """The requests that change something: any PUT, PATCH or DELETE, and every POST but
    MLflow's searches (``.../search``), which only read."""
    return [
        f"{method} {path}"
        for method, path in requests
        if method in ("PUT", "PATCH", "DELETE")
        or (method == "POST" and not path.rstrip("/").endswith("/search"))
    ]


def _feature_name(item: Any) -> str:
    """A top feature of ``Recommendation.to_dict``: a ``{"feature", "score"}`` mapping, or a
    ``[name, score]`` pair."""
    return str(item["feature"]) if isinstance(item, dict) else str(item[0])


def _actions(state: dict) -> set[str]:
    return {
        v["tags"]["staleness.action"]
        for v in state["versions"].values()
        if "staleness.action" in v["tags"]
    }


# ---------------------------------------------------------------------------------- the test
@pytest.mark.parametrize("surface", ["api", "cli"])
@pytest.mark.parametrize("case_id", list(CASES))
def test_bad_input(
    case_id: str,
    surface: str,
    worlds: Worlds,
    files: dict[str, Path],
    counting_proxy: CountingProxy,
    request: pytest.FixtureRequest,
) -> None:
    case = CASES[case_id]
    world = worlds.get(case.world)
    # The case talks to the server through a counting proxy, so that a write it attempts shows
    # even when the server refuses it; the snapshots go to the server directly.
    ctx = Ctx(counting_proxy.uri, world, files)
    before = snapshot(worlds.uri, world.name)
    counting_proxy.reset()

    outcome: Any = None
    error: BaseException | None = None
    cli: tuple[int, str, str, BaseException | None] | None = None
    started = time.monotonic()
    if surface == "api":
        try:
            outcome = case.api(ctx)
        except Exception as exc:  # judged below, after the state is captured
            error = exc
    else:
        cli = _invoke(case.cli(ctx))
    elapsed = time.monotonic() - started
    if cli is not None:  # whatever came from data, no control character reaches the terminal
        raw = RAW_CONTROL.findall(cli[1] + cli[2])
        assert not raw, f"{case.id} [cli] printed raw control characters {raw!r}"
    writes = _write_requests(counting_proxy.requests)
    after = snapshot(worlds.uri, world.name)
    # What came, as user properties of the test (in a JUnit report with junit_family=xunit1):
    # the message, or the exit code and stderr (record_property would warn under xunit2).
    note = request.node.user_properties.append
    if cli is not None:
        note(("outcome", f"exit {cli[0]}: {_short(cli[2].strip(), 1000)}"))
    elif error is not None:
        note(("outcome", f"{type(error).__name__}: {_short(str(error), 1000)}"))
    else:
        note(("outcome", f"returned {_short(repr(outcome), 1000)}"))
    note(("write_requests", len(writes)))
    note(("state_changed", after != before))
    note(("seconds", round(elapsed, 2)))

    if case.outcome == "fail":
        TRIED.append((case.id, surface, after != before, bool(writes)))
        _check_failure(case, world, surface, outcome, error, cli, elapsed)
        assert not writes, f"{case.id} [{surface}] attempted writes before failing: {writes}"
        assert after == before, (
            f"{case.id} [{surface}] changed the state: {_changes(before, after)}"
        )
    elif case.outcome == "succeed":
        _check_success(case, worlds.uri, world, surface, outcome, error, cli, after)
    elif case.outcome == "late":
        _check_late(case, worlds.uri, world, surface, outcome, error, cli, before, after)
    else:
        _check_insufficient(case, world, surface, outcome, error, cli, before, after)


def _check_failure(
    case: Case,
    world: World,
    surface: str,
    outcome: Any,
    error: BaseException | None,
    cli: tuple[int, str, str, BaseException | None] | None,
    elapsed: float,
) -> None:
    patterns = _patterns(case, world)
    where = f"{case.id} [{surface}]"
    if surface == "api":
        assert error is not None, (
            f"{where}: expected a StalenessError, the call returned {outcome!r}"
        )
        assert isinstance(error, StalenessError), (
            f"{where}: expected a StalenessError, got {type(error).__module__}."
            f"{type(error).__name__}: {_short(str(error))}"
        )
        message = str(error)
        assert message.strip(), f"{where}: empty message ({type(error).__name__})"
        assert len(message.strip().splitlines()) == 1, f"{where}: not one line: {message!r}"
    else:
        assert cli is not None
        code, stdout, stderr, crash = cli
        assert crash is None, f"{where}: the CLI crashed: {type(crash).__name__}: {crash}"
        assert code == 1, (
            f"{where}: exit {code}, expected 1; stdout {_short(stdout)!r}; "
            f"stderr {_short(stderr)!r}"
        )
        lines = stderr.strip().splitlines()
        one_line = f"{where}: expected exactly one 'error: ...' line on stderr, got {stderr!r}"
        assert len(lines) == 1, _short(one_line, 600)
        assert lines[0].startswith("error: "), _short(one_line, 600)
        message = lines[0]
    missing = _unmatched(message, patterns)
    assert not missing, f"{where}: message {_short(message)!r} does not match {missing}"
    if case.seconds is not None:
        assert elapsed < case.seconds, f"{where}: took {elapsed:.1f} s (bound {case.seconds} s)"


def _check_success(
    case: Case,
    uri: str,
    world: World,
    surface: str,
    outcome: Any,
    error: BaseException | None,
    cli: tuple[int, str, str, BaseException | None] | None,
    after: dict,
) -> None:
    where = f"{case.id} [{surface}]"
    advice, stdout = _completed(where, surface, outcome, error, cli)
    if advice is None:
        if case.plain:  # the text output; the advice itself is read back below
            window = "w-cli"
            rows = Advisor(world.name, tracking_uri=uri).history()
            advice = next(row for row in rows if row["window"] == window)
            assert f"window {window}: {advice['action'].upper()}" in stdout, stdout
        else:
            advice = json.loads(stdout)
    assert advice["action"] in ("keep", "retrain", "promote"), advice
    # written, and complete: the version's display copy and the history show this advice
    tags = after["versions"][world.version]["tags"]
    assert tags.get("staleness.advice_id") == advice["advice_id"], f"{where}: not written"
    history = Advisor(world.name, tracking_uri=uri).history()
    rows = [row for row in history if row["window"] == advice["window"]]
    assert [row["advice_id"] for row in rows] == [advice["advice_id"]], history
    _check_budgets(where, after, cut=case.cut)
    if case.evidence:
        assert any(case.evidence in item for item in advice["evidence"]), (
            f"{where}: no {case.evidence!r} in the evidence {advice['evidence']}"
        )
    if case.loss is not None:
        assert advice["measured_loss"] == pytest.approx(case.loss, abs=1e-9), advice
    if case.window is not None:
        assert advice["window"] == case.window, advice
    if case.id == "implausible-loss":  # flagged, and no alias moved
        assert "implausible" in (advice["loss_warning"] or ""), advice
        assert "retrain-recommended" not in after["model"]["aliases"], after["model"]
    if case.id == "unseen-categories":
        # the advice names the column and the category it never saw
        assert "unseen categories in 'plan': 'enterprise'" in advice["evidence"], (
            f"{where}: the column 'plan' with unseen categories is not named: evidence "
            f"{advice['evidence']}, top features {advice['top_features']}"
        )


#: The value budgets of issue 11, defect 1 (``mlflow_staleness.adapter.budget``): MLflow's
#: smallest limits among the servers the advisor supports.
RUN_TAG_BUDGET, REGISTRY_TAG_BUDGET = 8_000, 5_000


def _check_budgets(where: str, after: dict, *, cut: bool) -> None:
    """Every tag value the model holds fits its kind's budget; with ``cut``, one was cut to it,
    visibly (``…`` and a count of what was left out)."""
    written = [*after["model"]["tags"].values()]
    written += [v for version in after["versions"].values() for v in version["tags"].values()]
    over = [len(v) for v in written if len(v) > REGISTRY_TAG_BUDGET]
    assert not over, f"{where}: registry tag values over {REGISTRY_TAG_BUDGET}: {over}"
    runs = (after["advisor_experiment"] or {}).get("runs", {}).values()
    over = [len(v) for run in runs for v in run["tags"].values() if len(v) > RUN_TAG_BUDGET]
    assert not over, f"{where}: run tag values over {RUN_TAG_BUDGET}: {over}"
    if cut:
        marked = [v for v in written if re.search(r"… \(\+\d+ (chars|items)\)", v)]
        assert marked, f"{where}: no value was cut visibly"


def _completed(
    where: str,
    surface: str,
    outcome: Any,
    error: BaseException | None,
    cli: tuple[int, str, str, BaseException | None] | None,
) -> tuple[dict | None, str]:
    """A case that must succeed did: the API's advice (and no output), or the CLI's output of a
    clean exit 0 (and no advice: the caller reads it from the output)."""
    if surface == "api":
        assert error is None, f"{where}: raised {type(error).__name__}: {_short(str(error))}"
        return outcome.to_dict(), ""
    assert cli is not None
    code, stdout, stderr, crash = cli
    assert crash is None, f"{where}: the CLI crashed: {type(crash).__name__}: {crash}"
    assert code == 0, f"{where}: exit {code}, stderr {_short(stderr)!r}"
    return None, stdout


def _check_late(
    case: Case,
    uri: str,
    world: World,
    surface: str,
    outcome: Any,
    error: BaseException | None,
    cli: tuple[int, str, str, BaseException | None] | None,
    before: dict,
    after: dict,
) -> None:
    """A window older than the newest advised one: advised on the history up to it, kept in
    the history in its place, and shown nowhere as the current advice (defect 10)."""
    where = f"{case.id} [{surface}]"
    advice, stdout = _completed(where, surface, outcome, error, cli)
    advice = advice if advice is not None else json.loads(stdout)
    assert "late window" in advice["reason"], advice["reason"]
    # the version and the model still show the newest window's advice
    assert after["versions"] == before["versions"], _changes(before, after)
    assert after["model"] == before["model"], _changes(before, after)
    history = Advisor(world.name, tracking_uri=uri).history()
    windows = [row["window"] for row in history]
    assert windows == sorted(windows), windows
    assert windows[-1] == MARCH, windows
    [row] = [row for row in history if row["window"] == advice["window"]]
    assert row["advice_id"] == advice["advice_id"], row


def _check_insufficient(
    case: Case,
    world: World,
    surface: str,
    outcome: Any,
    error: BaseException | None,
    cli: tuple[int, str, str, BaseException | None] | None,
    before: dict,
    after: dict,
) -> None:
    where = f"{case.id} [{surface}]"
    if surface == "api":
        assert error is None, f"{where}: raised {type(error).__name__}: {_short(str(error))}"
        advice = outcome.to_dict()
    else:
        assert cli is not None
        code, stdout, stderr, crash = cli
        assert crash is None, f"{where}: the CLI crashed: {type(crash).__name__}: {crash}"
        assert code == case.exit_code, (
            f"{where}: exit {code}, expected {case.exit_code}; stderr {_short(stderr)!r}"
        )
        assert "insufficient-evidence" in stderr, stderr
        advice = json.loads(stdout)
    assert advice["action"] == "insufficient-evidence", advice
    assert advice["confidence"] < 0.5, advice
    assert any("val_loss" in item for item in advice["evidence"]), advice["evidence"]
    # never a wrong advice: whatever it wrote says insufficient-evidence
    assert _actions(after) <= {"insufficient-evidence"}, _actions(after)
    assert _actions(before) <= {"insufficient-evidence"}


# ---------------------------------------------------------------------------------- the figures
def test_catalogue_size_and_state_summary(capsys: pytest.CaptureFixture[str]) -> None:
    failing = [case for case in CATALOGUE if case.outcome == "fail"]
    succeeding = [case for case in CATALOGUE if case.outcome == "succeed"]
    assert len(failing) >= 30, len(failing)
    assert len(succeeding) >= 2, len(succeeding)
    groups = {case.group for case in failing}
    assert groups == {"files", "columns", "costs", "registry"}, groups

    tried = sorted({case_id for case_id, *_ in TRIED})
    changed = sorted({case_id for case_id, _, moved, _ in TRIED if moved})
    attempted = sorted({case_id for case_id, _, _, wrote in TRIED if wrote})
    runs = [f"{case_id} [{surface}]" for case_id, surface, moved, _ in TRIED if moved]
    line = (
        f"bad inputs tried: {len(tried)}, state changed: {len(changed)} "
        f"({len(TRIED)} runs through the API and the CLI; writes attempted in "
        f"{len(attempted)} case(s); catalogue: {len(failing)} failing, {len(succeeding)} "
        f"succeeding, {len(CATALOGUE) - len(failing) - len(succeeding)} graceful refusal)"
    )
    with capsys.disabled():
        print(f"\n{line}")
    assert not changed, f"{line}; changed by: {', '.join(runs)}"
