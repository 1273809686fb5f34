"""``mlflow-staleness``: the advisor on the command line, with exit codes CI can gate on.

Numeric options are typed (``--help`` shows ``FLOAT`` / ``INTEGER`` and their defaults) but checked
here, so that a bad value, file, cost, registry state or server problem exits with 1 and one line
on stderr; click's own exit code 2 is left for misuse of the command line (an unknown or missing
option, conflicting flags).

Only click and the package's small modules are imported at start-up: MLflow, pandas, numpy and
scikit-learn are imported inside the commands that need them, so ``--help`` answers at once.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from mlflow_staleness import __version__
from mlflow_staleness._terminal import terminal_safe
from mlflow_staleness.exceptions import InvalidInputError, RegistryError, StalenessError
from mlflow_staleness.redaction import redact

#: The losses ``--metric`` names (:data:`mlflow_staleness.losses.METRICS`, spelled out here so
#: that ``--help`` imports no numpy; a test keeps the two equal).
METRIC_NAMES = ("error_rate", "accuracy", "mae", "mse", "rmse")

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_RETRAIN = 3
EXIT_LOW_CONFIDENCE = 4

#: ``advise --all``: models advised at once (each mostly waits for the server).
DEFAULT_JOBS = 4
MAX_JOBS = 32

EXIT_CODES = """\b
Exit codes:
  0  success
  1  a bad value, file, cost, registry state or server problem (one line on stderr)
  2  misuse of the command line: unknown or missing option, conflicting flags
  3  --fail-on-retrain was given and the advice is retrain, promote or rollback
  4  --min-confidence was given and the advice is below it, or insufficient-evidence
Codes 3 and 4 apply under --dry-run too; 3 wins over 4.
"""


class _SafeStream:
    """A text stream that removes credentials (:func:`~mlflow_staleness.redaction.redact`) and
    escapes control characters on their way to the terminal: MLflow's log lines and Python's
    warnings, written to ``sys.stderr``, pass through it too.

    Newlines (the lines the CLI prints) and carriage returns (the progress line rewritten in
    place) pass; every value from data is printed through :func:`terminal_safe` first anyway.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        if isinstance(text, str):
            text = terminal_safe(redact(text), keep="\n\r")
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _SafeGroup(click.Group):
    """The command group, printing everything (click's own usage errors too) through
    :class:`_SafeStream`."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _SafeStream(sys.stdout), _SafeStream(sys.stderr)
        try:
            return super().main(*args, **kwargs)
        finally:
            sys.stdout, sys.stderr = saved


def _echo(message: str = "", *, err: bool = False, file: Any = None) -> None:
    """Print one line: every control character in it (a newline from data too) escaped."""
    click.echo(terminal_safe(redact(message)), err=err, file=file)


class Failure(click.ClickException):
    """A problem with a value, file, cost, registry or server: exit code 1."""

    exit_code = EXIT_ERROR

    def show(self, file: Any = None) -> None:
        _echo(f"error: {self.format_message()}", err=True)


@contextmanager
def failures() -> Iterator[None]:
    """Turn the package's errors (and bad values) into exit code 1 with one line."""
    try:
        yield
    except StalenessError as exc:
        raise Failure(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from exc
    except (ValueError, OSError) as exc:
        raise Failure(
            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        ) from exc


def _number(name: str, text: Any, *, minimum: float = 0.0) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise Failure(f"{name} must be a number, got {text!r}") from None
    if not math.isfinite(value) or value < minimum:
        raise Failure(f"{name} must be a finite number >= {minimum:g}, got {text!r}")
    return value


class _Number(click.types.FloatParamType):
    """A number option: ``FLOAT`` (or ``INTEGER``) in ``--help``; a bad value is a bad value.

    click's own number types exit with 2 (misuse); a negative, non-finite or non-numeric value is
    a bad value like any other (exit 1, one line), so the check is :func:`_number`'s.
    """

    def __init__(self, minimum: float = 0.0, *, integer: bool = False) -> None:
        self.minimum = minimum
        self.integer = integer
        self.name = "integer" if integer else "float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, float) and not isinstance(value, bool):
            return value
        name = param.opts[0] if param is not None and param.opts else "value"
        number = _number(name, value, minimum=self.minimum)
        if self.integer and number is not None and number != int(number):
            raise Failure(f"{name} must be a whole number, got {value!r}")
        return int(number) if self.integer and number is not None else number


NUMBER = _Number()


def _cost_layer(options: dict[str, Any]) -> dict[str, Any]:
    """The settings given as flags; ``--retrain-cost`` with its parts is misuse (exit 2)."""
    parts = ("compute_cost", "people_cost", "data_cost", "risk_cost")
    given = [p for p in parts if options.get(p) is not None]
    if options.get("retrain_cost") is not None and given:
        flags = ", ".join("--" + p.replace("_", "-") for p in given)
        raise click.UsageError(f"give --retrain-cost or its parts ({flags}), not both")
    layer: dict[str, Any] = {}
    for key in ("retrain_cost", *parts, "error_cost", "predictions_per_step"):
        value = _number("--" + key.replace("_", "-"), options.get(key))
        if value is not None:
            layer[key] = value
    for key in ("currency", "alias", "loss_key", "metric", "strategy"):
        if options.get(key) is not None:
            layer[key] = options[key]
    return layer


def cost_options(function: Callable) -> Callable:
    """The cost and setting flags shared by ``advise`` and ``configure``."""
    options = [
        click.option(
            "--retrain-cost", type=NUMBER, help="Total money of one retrain (or give its parts)."
        ),
        click.option("--compute-cost", type=NUMBER, help="Retrain part: compute."),
        click.option("--people-cost", type=NUMBER, help="Retrain part: people's time."),
        click.option("--data-cost", type=NUMBER, help="Retrain part: data and labels."),
        click.option(
            "--risk-cost",
            type=NUMBER,
            help="Retrain part: deployment risk (also the switching risk).",
        ),
        click.option(
            "--error-cost", type=NUMBER, help="Money lost per unit of loss per prediction."
        ),
        click.option("--predictions-per-step", type=NUMBER, help="Predictions served per window."),
        click.option("--currency", help="Shown with money, e.g. EUR.  [default: USD]"),
        click.option("--alias", help="Alias of the served version.  [default: champion]"),
        click.option(
            "--loss-key",
            help="Validation-loss metric of the versions' runs.  [default: what log_reference "
            "recorded, else val_loss, else the autolog / evaluation metric of --metric]",
        ),
        click.option(
            "--metric",
            type=click.Choice(METRIC_NAMES),
            help="How the model's loss is measured.  [default: what log_reference recorded, "
            "else from the metric names, the signature and the estimator; docs/metrics.md]",
        ),
        click.option(
            "--strategy",
            help="forecast, cumulative, threshold, periodic ...  [default: forecast]",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def server_options(function: Callable) -> Callable:
    """``--tracking-uri`` and ``--server-timeout``."""
    function = click.option(
        "--server-timeout",
        type=_Number(0.1),
        default=30.0,
        show_default=True,
        help="Seconds to wait for the tracking server before giving up.",
    )(function)
    return click.option(
        "--tracking-uri",
        envvar="MLFLOW_TRACKING_URI",
        help="Tracking server or store [default: $MLFLOW_TRACKING_URI, else MLflow's default].",
    )(function)


def _check_name(model: str, options: dict[str, Any]) -> None:
    """Report a wrong model name at once: asked before MLflow and pandas are imported
    (:mod:`mlflow_staleness._registry_probe`; any doubt is left to the advisor)."""
    from mlflow_staleness._registry_probe import model_is_missing

    uri = options.get("tracking_uri") or os.environ.get("MLFLOW_TRACKING_URI")
    timeout = min(2.0, _number("--server-timeout", options.get("server_timeout")) or 2.0)
    if model_is_missing(uri, model, timeout=timeout):
        raise RegistryError(
            f"no registered model named {model!r} at {uri}. Check the name (names are "
            f"case-sensitive), or register the model first."
        )


def _advisor(
    model: str, tracking_uri: str | None, server_timeout: float, ctx: click.Context, **kw: Any
):
    from mlflow_staleness.advisor import Advisor

    timeout = _number("--server-timeout", server_timeout, minimum=0.1)
    return Advisor(
        model,
        tracking_uri=tracking_uri,
        server_timeout=timeout,
        progress=_progress(ctx),
        **kw,
    )


# ---------------------------------------------------------------------------------- the group
@click.group(
    cls=_SafeGroup, epilog=EXIT_CODES, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(__version__, prog_name="mlflow-staleness")
@click.option("-v", "--verbose", is_flag=True, help="Say more on stderr (MLflow's logs too).")
@click.option("-q", "--quiet", is_flag=True, help="Print only the result.")
@click.pass_context
def main(ctx: click.Context, verbose: bool, quiet: bool) -> None:
    """Retrain now, or keep the model in service? Advice as a cost trade-off, written to MLflow."""
    ctx.ensure_object(dict)
    ctx.obj.update(verbose=verbose, quiet=quiet)
    level = logging.INFO if verbose else logging.WARNING
    # MLflow sets its own logger level when it is imported (later, lazily), from this variable
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", logging.getLevelName(level))
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(level)


def _progress(ctx: click.Context) -> bool | None:
    """Progress on stderr: always with -v, never with -q, else for long steps only."""
    if ctx.obj.get("verbose"):
        return True
    return False if ctx.obj.get("quiet") else None


def _say(ctx: click.Context, message: str) -> None:
    if not ctx.obj.get("quiet"):
        _echo(message, err=True)


# ---------------------------------------------------------------------------------- advise
@main.command(epilog=EXIT_CODES)
@click.argument("model", required=False)
@click.option("--data", "data_path", required=True, help="Parquet or CSV of the window's data.")
@click.option("--target", help="Label column: measures the served version's loss.")
@click.option("--predictions-col", help="Column of the served version's predictions.")
@click.option("--window", help="The window's label [default: today's UTC date].")
@cost_options
@click.option("--cost-file", help="TOML file of costs (below the flags, above the stored ones).")
@click.option("--json", "as_json", is_flag=True, help="Print the advice as JSON on stdout.")
@click.option("--dry-run", is_flag=True, help="Print every write it would make; make none.")
@click.option(
    "--fail-on-retrain", is_flag=True, help="Exit 3 when the advice is retrain/promote/rollback."
)
@click.option(
    "--min-confidence",
    type=NUMBER,
    help="Exit 4 when the confidence is below this (0..1; the share of such advice that was "
    "right on the decision benchmark).",
)
@click.option(
    "--set-alias", help="Point this alias at the served version while retrain is advised."
)
@click.option(
    "--transition-stage", help="On promote, move the candidate to this stage (deprecated)."
)
@click.option(
    "--candidate",
    help="Version to judge against the served one now (promote or keep), or 'none'.  "
    "[default: the newest version registered since the last advice, if any]",
)
@click.option(
    "--promote",
    is_flag=True,
    help="On promote or rollback, point the serving alias at the candidate.",
)
@click.option("--all", "all_models", is_flag=True, help="Advise every configured model.")
@click.option("--filter", "filter_string", help="With --all: e.g. \"name LIKE 'fraud-%'\".")
@click.option(
    "--jobs",
    type=_Number(1, integer=True),
    help=f"With --all: models advised at once.  [default: {DEFAULT_JOBS}]",
)
@server_options
@click.pass_context
def advise(ctx: click.Context, model: str | None, **options: Any) -> None:
    """Advise on MODEL's served version with the data of one window.

    With --all, advise every model configured with `configure` (and matching --filter); --data is
    then one file for all, or a folder of MODEL.parquet / MODEL.csv files.
    """
    if options["all_models"] == bool(model):
        raise click.UsageError("give a MODEL or --all, not both and not neither")
    for option in ("filter_string", "jobs"):
        if options[option] is not None and not options["all_models"]:
            raise click.UsageError(f"--{option.split('_')[0]} goes with --all")
    if options["all_models"] and options["candidate"] is not None:
        raise click.UsageError("--candidate names a version of one model: not with --all")
    if (options["jobs"] or 0) > MAX_JOBS:
        raise Failure(f"--jobs must be at most {MAX_JOBS}, got {options['jobs']}")
    minimum = None
    with failures():
        minimum = _number("--min-confidence", options["min_confidence"])
        if minimum is not None and minimum > 1:
            raise Failure(f"--min-confidence must lie in [0, 1], got {options['min_confidence']!r}")
    layers = [_cost_layer(options)]
    if options["cost_file"]:
        with failures():
            from mlflow_staleness.settings import read_cost_file

            layers.append(read_cost_file(options["cost_file"]))
    if options["all_models"]:
        ctx.exit(_advise_all(ctx, layers, minimum, options))
    with failures():
        rec, plan = _advise_one(ctx, model, layers, options, Path(options["data_path"]))
    _show_advice(rec, plan, options)
    ctx.exit(_exit_code(rec, options["fail_on_retrain"], minimum))


def _advise_one(
    ctx: click.Context, model: str, layers: list, options: dict, data: Path, shared: Any = None
):
    """The advice of one model (and its write plan); printing is :func:`_show_advice`'s.

    ``shared`` is ``--all``'s connection, shared by its worker threads: the names come from the
    registry (so they are not checked again), and no worker draws a progress line.
    """
    if shared is None:
        _check_name(model, options)
    from mlflow_staleness.data_files import read_table

    frame = read_table(data, progress=_progress(ctx) if shared is None else False)
    advisor = _advisor(
        model,
        options["tracking_uri"],
        options["server_timeout"],
        ctx,
        overrides=layers,
        set_alias=options["set_alias"],
        transition_stage=options["transition_stage"],
        promote_alias=options["promote"],
        client=shared,
    )
    apply = bool(options["set_alias"] or options["transition_stage"] or options["promote"])
    rec = advisor.advise(
        frame,
        labels=options["target"],
        predictions=options["predictions_col"],
        window=options["window"],
        dry_run=options["dry_run"],
        apply=apply,
        candidate=options["candidate"],
    )
    return rec, advisor.last_plan if options["dry_run"] else []


def _show_advice(rec, plan: list, options: dict) -> None:
    if options["dry_run"]:
        out = sys.stderr if options["as_json"] else sys.stdout
        _echo(f"dry run: {len(plan)} writes planned, none made:", file=out)
        for write in plan:
            _echo(f"  {write.describe()}", file=out)
    if options["as_json"]:
        _echo(json.dumps(rec.to_dict(), sort_keys=True))
    else:
        _print_advice(rec)


def _print_advice(rec) -> None:
    c = rec.currency
    _echo(f"{rec.model_name} v{rec.version}, window {rec.window}: {rec.action.upper()}")
    _echo(f"  reason:      {rec.reason}")
    _echo(
        f"  staleness:   {rec.cost_per_step:,.2f} {c}/window ({rec.staleness_per_step:.4f} loss), "
        f"{rec.accumulated_cost:,.2f} {c} accumulated since deploy"
    )
    _echo(
        f"  retrain:     {rec.retrain_cost:,.2f} {c}; break-even after "
        f"{rec.break_even_steps:.1f} windows of this staleness"
    )
    _echo(f"  confidence:  {rec.confidence:.2f} (evidence: {', '.join(rec.evidence) or 'none'})")
    if rec.top_features:
        top = ", ".join(f"{n} {s:.2f}" for n, s in rec.top_features)
        _echo(f"  drifting:    {top}")
    if rec.advisor_run_id:
        _echo(f"  advisor run: {rec.advisor_run_id}")


def _exit_code(rec, fail_on_retrain: bool, minimum: float | None) -> int:
    if fail_on_retrain and rec.action in ("retrain", "promote", "rollback"):
        _echo(f"retrain recommended: {rec.reason}", err=True)
        return EXIT_RETRAIN
    if minimum is not None and (rec.action == "insufficient-evidence" or rec.confidence < minimum):
        _echo(
            f"confidence {rec.confidence:.2f} is below --min-confidence {minimum:g} "
            f"({rec.action}): {rec.reason}",
            err=True,
        )
        return EXIT_LOW_CONFIDENCE
    return EXIT_OK


def _advise_all(ctx: click.Context, layers: list, minimum: float | None, options: dict) -> int:
    """Advise every configured model, ``--jobs`` at a time; one failure never stops the others.

    The models share one connection. Each advice is printed whole when it completes, with a
    progress line on stderr; the summary at the end names every model's action or error.
    """
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from mlflow_staleness.adapter import RegistryReader
    from mlflow_staleness.adapter.connection import request_bounds
    from mlflow_staleness.settings import SETTINGS_TAG

    timeout = _number("--server-timeout", options["server_timeout"], minimum=0.1)
    with failures(), request_bounds(timeout):
        advisor = _advisor("-", options["tracking_uri"], options["server_timeout"], ctx)
        reader = RegistryReader(advisor.client)
        # the settings document, or the per-key tags of older versions
        names = reader.model_names(options["filter_string"], tag_prefix=SETTINGS_TAG)
    if not names:
        _echo(
            "error: no configured model matches; run `mlflow-staleness configure` first", err=True
        )
        return EXIT_ERROR
    data = Path(options["data_path"])

    def one(name: str) -> tuple[Any, float]:
        start = time.monotonic()
        with failures():
            advice = _advise_one(
                ctx, name, layers, options, _model_data(data, name), shared=advisor.client
            )
        return advice, time.monotonic() - start

    codes = {}
    # the request bounds go around the whole pool: they are process-wide environment variables
    with request_bounds(timeout):
        pool = ThreadPoolExecutor(options["jobs"] or DEFAULT_JOBS)
        try:
            futures = {pool.submit(one, name): name for name in names}
            for done, future in enumerate(as_completed(futures), 1):
                name = futures.pop(future)  # nothing of a finished model's advice is kept
                try:
                    (rec, plan), seconds = future.result()
                    _show_advice(rec, plan, options)
                    code = _exit_code(rec, options["fail_on_retrain"], minimum)
                    codes[name] = (code, rec.action)
                    outcome = f"{rec.action} ({seconds:.1f} s)"
                except Exception as exc:  # one model's failure, or a bug, never stops the others
                    if isinstance(exc, Failure):
                        message = exc.format_message()
                    else:
                        message = f"{type(exc).__name__}: {exc}"
                    _echo(f"error: {name}: {message}", err=True)
                    codes[name] = (EXIT_ERROR, f"error: {message}")
                    outcome = "error"
                _say(ctx, f"[{done}/{len(names)}] {name}: {outcome}")
        finally:  # on Ctrl-C, the models not yet started are not started
            pool.shutdown(wait=True, cancel_futures=True)
    failed = sum(code == EXIT_ERROR for code, _ in codes.values())
    _echo(f"summary: {len(names)} models, {failed} failed", err=True)
    for name in names:
        code, action = codes[name]
        _echo(f"  {name}: {action} (exit {code})", err=True)
    found = {code for code, _ in codes.values()}
    for code in (EXIT_ERROR, EXIT_RETRAIN, EXIT_LOW_CONFIDENCE):
        if code in found:
            return code
    return EXIT_OK


def _model_data(data: Path, name: str) -> Path:
    """With --all: one file for every model, or MODEL.parquet / MODEL.csv in a folder."""
    if not data.is_dir():
        return data
    for suffix in (".parquet", ".csv"):
        if (data / f"{name}{suffix}").exists():
            return data / f"{name}{suffix}"
    return data / f"{name}.parquet"


# ---------------------------------------------------------------------------------- configure
@main.command()
@click.argument("model")
@cost_options
@click.option("--cost-file", help="TOML file of costs to store.")
@click.option(
    "--reset",
    is_flag=True,
    help="Drop every stored setting first (alone: store none); repairs any stored state.",
)
@click.option("--dry-run", is_flag=True, help="Print the settings it would store; write none.")
@server_options
@click.pass_context
def configure(ctx: click.Context, model: str, **options: Any) -> None:
    """Store MODEL's costs and settings in one tag, so that advise needs only the data.

    The settings given are merged over the stored ones; with --reset they replace them (and
    --reset alone removes them all).
    """
    layer = _cost_layer(options)
    with failures():
        _check_name(model, options)
        if options["cost_file"]:
            from mlflow_staleness.settings import merge, read_cost_file

            file = read_cost_file(options["cost_file"])
            layer = merge([(file, "the cost file"), (layer, "the flags")])
        if not layer and not options["reset"]:
            raise Failure(
                "nothing to configure: give at least one setting, e.g. --retrain-cost, or --reset"
            )
        advisor = _advisor(model, options["tracking_uri"], options["server_timeout"], ctx)
        tags = advisor.configure(layer, dry_run=options["dry_run"], reset=options["reset"])
    from mlflow_staleness.settings import CONFIG_PREFIX, SETTINGS_TAG

    # What is stored is one JSON document in one tag (the README's "Settings"), so that is what
    # is named; the settings it holds follow, one per line, as ``key = value``.
    verb = "would store" if options["dry_run"] else "stored"
    written = next(
        (w.value for w in advisor.last_plan if w.kind == "set-model-tag" and w.key == SETTINGS_TAG),
        None,
    )
    if not tags:
        removed = " (its tag removed)" if advisor.last_plan else ""
        _say(ctx, f"{verb} no settings on registered model {model!r}{removed} (reset)")
    elif written is None:
        _say(ctx, f"registered model {model!r} already holds these settings in tag {SETTINGS_TAG}:")
    else:
        revision = json.loads(written)["revision"]
        _say(
            ctx,
            f"{verb} on registered model {model!r} as one tag, {SETTINGS_TAG} "
            f"(a JSON document, revision {revision}), holding:",
        )
    for key, value in tags.items():
        _echo(f"  {key.removeprefix(CONFIG_PREFIX)} = {value}")


# ---------------------------------------------------------------------------------- record
@main.command()
@click.argument("model")
@click.option("--window", required=True, help="The past window the labels belong to.")
@click.option("--data", "data_path", required=True, help="Parquet or CSV with the labels.")
@click.option("--target", default="target", show_default=True, help="Label column.")
@click.option("--predictions-col", help="Column of the served version's predictions.")
@click.option("--dry-run", is_flag=True, help="Print the writes; make none.")
@server_options
@click.pass_context
def record(ctx: click.Context, model: str, **options: Any) -> None:
    """Record a past window's measured loss (late labels) without advising."""
    with failures():
        _check_name(model, options)
        from mlflow_staleness.data_files import read_table

        frame = read_table(Path(options["data_path"]))
        advisor = _advisor(model, options["tracking_uri"], options["server_timeout"], ctx)
        measured = advisor.record(
            frame,
            labels=options["target"],
            predictions=options["predictions_col"],
            window=options["window"],
            dry_run=options["dry_run"],
        )
    from mlflow_staleness.windows import normalise

    window = normalise(options["window"].strip())  # the window as recorded (a time in UTC)
    for version, loss in measured.items():
        _echo(f"window {window}: v{version} loss {loss:.4f}")


# ---------------------------------------------------------------------------------- history
@main.command()
@click.argument("model")
@click.option("--json", "as_json", is_flag=True, help="JSON lines, one per window.")
@server_options
@click.pass_context
def history(ctx: click.Context, model: str, **options: Any) -> None:
    """A table of MODEL's past advice: one row per window, the latest complete advice."""
    with failures():
        _check_name(model, options)
        advisor = _advisor(model, options["tracking_uri"], options["server_timeout"], ctx)
        rows = advisor.history()
    if options["as_json"]:
        for row in rows:
            _echo(json.dumps(row, sort_keys=True))
        return
    if not rows:
        _say(ctx, f"no advice recorded for {model!r} yet")
        return
    # the window column is as wide as the longest label: a label cut short would name another
    # window than the one every other surface names
    width = max(20, *(len(row["window"]) for row in rows))
    _echo(
        f"{'window':<{width}} {'ver':>4} {'action':<22} {'cost/window':>12} {'accumulated':>12} "
        f"{'conf':>5}"
    )
    for row in rows:
        cost = row.get("cost_per_step")
        acc = row.get("accumulated_cost")
        _echo(
            f"{row['window']:<{width}} {row['version']:>4} {row['action']:<22} "
            f"{_money(cost):>12} {_money(acc):>12} {row['confidence']:>5.2f}"
        )


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


# ---------------------------------------------------------------------------------- report
@main.command()
@click.argument("model")
@click.option("--out", required=True, help="Write the HTML report to this file.")
@server_options
@click.pass_context
def report(ctx: click.Context, model: str, out: str, **options: Any) -> None:
    """Write the HTML report of MODEL's latest complete advice to --out.

    It is the same page the advisor logs as report.html on its run: the decision and its reason,
    the staleness plots, the top drifting features, the cost parts and the evidence.
    """
    with failures():
        target = Path(out)
        if target.is_dir():
            raise InvalidInputError(f"--out {out!r} is a folder: name a file, e.g. report.html")
        if not target.parent.is_dir():
            raise InvalidInputError(
                f"--out {out!r}: folder {str(target.parent)!r} does not exist; create it first"
            )
        advisor = _advisor(model, options["tracking_uri"], options["server_timeout"], ctx)
        page = advisor.report()
        _write_out(out, page)
    _say(
        ctx,
        f"wrote the report of {model!r} to {target} ({len(page):,} bytes): open it in a browser",
    )


def _write_out(out: str, text: str) -> None:
    """Write ``--out`` atomically: a fresh temporary file in its folder, renamed over it."""
    from mlflow_staleness._files import write_atomic

    try:
        write_atomic(out, redact(text))
    except OSError as exc:
        raise InvalidInputError(f"cannot write --out {out!r}: {exc.strerror or exc}") from exc


# ---------------------------------------------------------------------------------- fingerprint
@main.command()
@click.argument("path")
@click.option("--exclude", multiple=True, help="Column to leave out (the target, say).")
@click.option("--out", help="Write the fingerprint JSON here instead of stdout.")
@click.pass_context
def fingerprint(ctx: click.Context, path: str, exclude: tuple[str, ...], out: str | None) -> None:
    """Fingerprint a Parquet or CSV file (streamed in chunks) as JSON."""
    with failures():
        from mlflow_staleness.data_files import fingerprint_file

        fp, rows = fingerprint_file(Path(path), exclude=exclude, progress=_progress(ctx))
        text = fp.to_json()
        if out:
            _write_out(out, text)
        else:
            _echo(text)
    _say(ctx, f"{path}: {rows:,} rows, {len(fp.columns)} columns, digest {fp.digest}")


# ---------------------------------------------------------------------------------- backtest
@main.command()
@click.argument("path")
@click.option("--target", required=True, help="Label column.")
@click.option("--time-column", required=True, help="Column that orders the rows in time.")
@click.option(
    "--windows",
    "n_windows",
    type=_Number(8, integer=True),
    default=20,
    show_default=True,
    help="Number of windows to cut the rows into, in time order (at least 8).",
)
@click.option(
    "--alpha",
    type=NUMBER,
    default=0.1,
    show_default=True,
    help="The retrain cost in loss units: R / (error_cost x predictions per window). With "
    "retrain 400, error 0.02 and 200,000 predictions per window, alpha = 0.1: one retrain costs "
    "as much as serving one window with an error rate 0.1 higher.",
)
@click.option(
    "--loss",
    type=click.Choice(["error_rate", "mae"]),
    default="error_rate",
    show_default=True,
    help="error_rate for a class label, mae for a number.",
)
@click.pass_context
def backtest(ctx: click.Context, path: str, **options: Any) -> None:
    """Replay every strategy on a file against the optimal schedule in hindsight."""
    with failures():
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        from mlflow_staleness.backtest import build_loss_matrix, oracle_cost, replay
        from mlflow_staleness.data_files import read_table
        from mlflow_staleness.policies import POLICIES, make_policy

        n, alpha = options["n_windows"], options["alpha"]
        frame = read_table(Path(path))
        estimator = (
            HistGradientBoostingRegressor(max_iter=50)
            if options["loss"] == "mae"
            else HistGradientBoostingClassifier(max_iter=50)
        )
        _say(ctx, f"training one model per window on {len(frame):,} rows ...")
        matrix = build_loss_matrix(
            frame,
            options["time_column"],
            options["target"],
            int(n),
            estimator,
            loss=options["loss"],
        )
        L, val_loss, _ = matrix
        _, best = oracle_cost(L, alpha)
        _echo(f"{'strategy':<12} {'cost/oracle':>11} {'retrains':>9}")
        for name in sorted(POLICIES):
            result = replay(make_policy(name), L, alpha, val_loss=val_loss)
            _echo(f"{name:<12} {result.cost / best:>11.3f} {result.n_retrains:>9}")
        _echo(f"(alpha {alpha:g} loss-windows, {int(n)} windows, oracle cost {best:.4f})")


# ---------------------------------------------------------------------------------- demo
@main.command()
@click.option(
    "--dir",
    "folder",
    default="mlflow-staleness-demo",
    show_default=True,
    help="Folder for the SQLite store and every artifact; recreated on each run.",
)
@click.pass_context
def demo(ctx: click.Context, folder: str) -> None:
    """Advise on a real drifting stream (ELEC2) in an embedded SQLite store: no server needed."""
    from mlflow_staleness.demo import report, run_demo

    with failures():
        say = (lambda _m: None) if ctx.obj.get("quiet") else _echo
        result = run_demo(Path(folder), say=say)
    click.echo(report(result))  # many lines; _SafeStream escapes the rest


if __name__ == "__main__":  # pragma: no cover
    main()
