#!/usr/bin/env bash
# staleness-gate.sh: fail a CI job when mlflow-staleness advises retraining the served version of
# a registered model. Plain bash and python3 (for reading the advice's JSON); drop it into any CI.
#
# It runs
#   mlflow-staleness advise "$STALENESS_MODEL" --data "$STALENESS_DATA" [--target ...]
#       [--predictions-col ...] [--window ...] $STALENESS_EXTRA_ARGS "$@" --fail-on-retrain --json
# which writes the advice into MLflow (unless --dry-run is among the extra arguments), and turns
# its exit code into a verdict a person can read in the CI log.
#
# Usage:
#   MLFLOW_TRACKING_URI=https://mlflow.example.com STALENESS_MODEL=fraud \
#   STALENESS_DATA=today.parquet STALENESS_TARGET=is_fraud \
#       bash examples/ci/staleness-gate.sh [MORE ADVISE FLAGS ...]
#
# Environment variables:
#   MLFLOW_TRACKING_URI        required: the tracking server. MLFLOW_TRACKING_USERNAME and
#                              MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN) are read by
#                              the CLI as usual.
#   STALENESS_MODEL            required: the registered model's name.
#   STALENESS_DATA             required: Parquet or CSV file with the current window's data.
#   STALENESS_TARGET           optional: label column; measures the served version's loss.
#   STALENESS_PREDICTIONS_COL  optional: column of the served version's predictions (without it
#                              the advisor loads the version to predict).
#   STALENESS_WINDOW           optional: the window's label (the CLI's default: today, UTC).
#   STALENESS_EXTRA_ARGS       optional: more `advise` flags, split on whitespace (no quoting), e.g.
#                              "--cost-file costs.toml --min-confidence 0.5 --server-timeout 60".
#   STALENESS_JSON_OUT         optional: file to save the advice's JSON in (e.g. a CI artifact).
#   STALENESS_CLI              optional: the CLI command [default: mlflow-staleness]; split on
#                              whitespace, so "python3 -m mlflow_staleness.cli" works too.
#   STALENESS_PYTHON           optional: the Python that reads the JSON [default: python3].
# Positional arguments are appended to the `advise` command line as they are (quoting kept).
# Costs not given as flags come from what `mlflow-staleness configure MODEL ...` stored.
#
# Exit codes (those of the CLI, passed through):
#   0  gate passed: keep (or insufficient evidence when --min-confidence is not given)
#   1  error: a bad value, file, cost, registry state, or the tracking server could not be
#      reached. Not a retrain advice.
#   2  misuse: a required variable is missing, the CLI is not found, or a flag was refused.
#      Not a retrain advice.
#   3  gate FAILED: retrain (or promote) is advised
#   4  gate FAILED: --min-confidence was given and the advice is below it, or the evidence is
#      insufficient
#   other: the CLI died unexpectedly; its code is passed through.

set -euo pipefail

gate=staleness-gate

usage() {
    sed -n '2,/^$/{s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

if [[ ${1:-} == "-h" || ${1:-} == "--help" ]]; then
    usage
    exit 0
fi

# ------------------------------------------------------------------------- required inputs
missing=()
for variable in MLFLOW_TRACKING_URI STALENESS_MODEL STALENESS_DATA; do
    if [[ -z ${!variable:-} ]]; then
        missing+=("$variable")
    fi
done
if ((${#missing[@]} > 0)); then
    {
        echo "$gate: required environment variable(s) not set: ${missing[*]}"
        echo "$gate: set MLFLOW_TRACKING_URI (the tracking server), STALENESS_MODEL (the" \
            "registered model) and STALENESS_DATA (the window's Parquet or CSV file);" \
            "see the top of $0. Nothing was run. This is not a retrain advice."
    } >&2
    exit 2
fi

read -r -a cli <<<"${STALENESS_CLI:-mlflow-staleness}"
if ((${#cli[@]} == 0)) || ! command -v "${cli[0]}" >/dev/null 2>&1; then
    {
        echo "$gate: the CLI '${STALENESS_CLI:-mlflow-staleness}' was not found on PATH."
        echo "$gate: install it (pip install mlflow-staleness) or point STALENESS_CLI at it." \
            "Nothing was run. This is not a retrain advice."
    } >&2
    exit 2
fi
python=${STALENESS_PYTHON:-python3}

# ------------------------------------------------------------------------- the command
model=$STALENESS_MODEL
args=(advise "$model" --data "$STALENESS_DATA")
if [[ -n ${STALENESS_TARGET:-} ]]; then
    args+=(--target "$STALENESS_TARGET")
fi
if [[ -n ${STALENESS_PREDICTIONS_COL:-} ]]; then
    args+=(--predictions-col "$STALENESS_PREDICTIONS_COL")
fi
if [[ -n ${STALENESS_WINDOW:-} ]]; then
    args+=(--window "$STALENESS_WINDOW")
fi
read -r -a extra <<<"${STALENESS_EXTRA_ARGS:-}"
if ((${#extra[@]} > 0)); then
    args+=("${extra[@]}")
fi
if (($# > 0)); then
    args+=("$@")
fi
args+=(--fail-on-retrain --json)

workdir=$(mktemp -d "${TMPDIR:-/tmp}/staleness-gate.XXXXXX")
trap 'rm -rf "$workdir"' EXIT

code=0
"${cli[@]}" "${args[@]}" >"$workdir/stdout" 2>"$workdir/stderr" || code=$?

if [[ -n ${STALENESS_JSON_OUT:-} && -s $workdir/stdout ]]; then
    cp "$workdir/stdout" "$STALENESS_JSON_OUT"
fi

# ------------------------------------------------------------------------- reading the advice
# describe MODE: format the advice (the JSON of Recommendation.to_dict on the CLI's stdout) for
# MODE pass (one line), retrain (exit 3) or confidence (exit 4). Fails when it cannot be read.
describe() {
    "$python" - "$1" "$workdir/stdout" <<'PY'
import json
import sys

mode, path = sys.argv[1], sys.argv[2]
try:
    with open(path, encoding="utf-8") as handle:
        documents = [line for line in handle.read().splitlines() if line.startswith("{")]
    if not documents:
        raise ValueError("no JSON advice on the CLI's stdout")
    rec = json.loads(documents[-1])
    if not isinstance(rec, dict):
        raise ValueError("the CLI's JSON is not an object")
except (OSError, ValueError) as exc:
    sys.exit(f"cannot read the advice: {exc}")

currency = rec.get("currency") or ""
model, version = rec.get("model_name", "?"), rec.get("version", "?")
action, reason = rec.get("action", "?"), rec.get("reason", "")


def money(key):
    value = rec.get(key)
    return "infinite" if value is None else f"{float(value):,.2f} {currency}".rstrip()


def number(key, spec, missing="n/a"):
    value = rec.get(key)
    return missing if value is None else format(float(value), spec)


if mode == "pass":
    print(f"staleness gate passed: {action} for {model} v{version}: {reason}")
    sys.exit(0)

confidence = number("confidence", ".2f")
evidence = ", ".join(rec.get("evidence") or []) or "none"
run_id = rec.get("advisor_run_id")
alias = rec.get("alias")
lines = []
if mode == "retrain" and action == "promote":
    candidate = rec.get("candidate_version") or "?"
    lines.append(
        f"staleness gate FAILED: promote advised for model {model} version {version} "
        f"(a newer version, {candidate}, should replace it): {reason}"
    )
elif mode == "retrain":
    lines.append(
        f"staleness gate FAILED: retrain advised for model {model} version {version}: {reason}"
    )
elif action == "insufficient-evidence":
    lines.append(
        f"staleness gate FAILED: insufficient evidence to advise on model {model} "
        f"version {version}: {reason}"
    )
else:
    lines.append(
        f"staleness gate FAILED: confidence {confidence} in the {action} advice for model "
        f"{model} version {version} is below --min-confidence: {reason}"
    )
measured = rec.get("measured_loss")
measured_text = "" if measured is None else f"; measured loss {float(measured):.4f}"
lines += [
    f"  window:            {rec.get('window', '?')}"
    + (f" (version {version} served through alias '{alias}')" if alias else ""),
    f"  cost per window:   {money('cost_per_step')} of staleness "
    f"({number('staleness_per_step', '.4f')} loss per window{measured_text})",
    f"  accumulated cost:  {money('accumulated_cost')} since the version was deployed",
    f"  retrain cost:      {money('retrain_cost')} (break-even after "
    f"{number('break_even_steps', '.3g', 'infinitely many')} windows of this staleness)",
    f"  confidence:        {confidence} (evidence: {evidence})",
]
if run_id:
    lines.append(
        f"  advisor run:       {run_id} (experiment 'staleness/{model}': report.html, "
        "advice.json, history.json, staleness.png)"
    )
lines.append("what to do next:")
if mode == "retrain" and action == "promote":
    lines.append(
        f"  - point the serving alias of {model} at version {rec.get('candidate_version')} "
        "(or re-run with --promote in STALENESS_EXTRA_ARGS to let the advisor move it)"
    )
elif mode == "retrain":
    lines.append(
        f"  - retrain {model} on recent data and register the new version; the next gate run "
        f"compares it with version {version} and advises promote when it is better"
    )
else:
    lines += [
        "  - this is not a retrain advice: give the advisor more evidence (labels through "
        "STALENESS_TARGET, log_reference() at training time) or lower --min-confidence",
    ]
lines.append(
    f"  - read the full advice: report.html on the advisor run above (or `mlflow-staleness "
    f"report {model} --out report.html`), the staleness.* tags on {model} version {version}, "
    f"and `mlflow-staleness history {model}` for every window"
    if run_id and rec.get("advice_id")
    else "  - nothing was recorded (a dry run): re-run without --dry-run to write the advice "
    "and its report into MLflow"
)
lines += [
    f"  - if the costs are wrong, correct them (`mlflow-staleness configure {model} ...`, or "
    "--cost-file in STALENESS_EXTRA_ARGS) and re-run; add --dry-run to STALENESS_EXTRA_ARGS to "
    "advise without writing anything",
]
print("\n".join(lines))
PY
}

# The CLI's own messages (warnings, "retrain recommended: ...") go to the log as they are.
show_cli_stderr() {
    if [[ -s $workdir/stderr ]]; then
        cat "$workdir/stderr" >&2
    fi
}

case $code in
0)
    show_cli_stderr
    if message=$(describe pass 2>"$workdir/describe"); then
        echo "$message"
    else
        echo "staleness gate passed: mlflow-staleness exited 0 for $model" \
            "($(cat "$workdir/describe"))"
    fi
    exit 0
    ;;
3 | 4)
    show_cli_stderr
    mode=retrain
    if ((code == 4)); then
        mode=confidence
    fi
    if message=$(describe "$mode" 2>"$workdir/describe"); then
        echo "$message" >&2
    elif ((code == 3)); then
        echo "staleness gate FAILED: retrain advised for model $model" \
            "(see the CLI's message above; $(cat "$workdir/describe"))" >&2
    else
        echo "staleness gate FAILED: the advice for model $model is below --min-confidence" \
            "or has insufficient evidence (see above; $(cat "$workdir/describe"))" >&2
    fi
    exit "$code"
    ;;
1 | 2)
    {
        if ((code == 1)); then
            echo "staleness gate ERROR (exit 1): mlflow-staleness could not advise on model" \
                "$model. This is an error of the gate's inputs or of the tracking server," \
                "NOT a retrain advice; nothing was written. The CLI said:"
        else
            echo "staleness gate ERROR (exit 2): mlflow-staleness refused its command line" \
                "(check STALENESS_EXTRA_ARGS and the script's arguments). This is an error of" \
                "the gate's inputs, NOT a retrain advice; nothing was written. The CLI said:"
        fi
        show_cli_stderr
        echo "check: MLFLOW_TRACKING_URI and its credentials, STALENESS_MODEL=$model," \
            "STALENESS_DATA=$STALENESS_DATA, the costs (flags, --cost-file, configure)."
    } >&2
    exit "$code"
    ;;
*)
    {
        echo "staleness gate ERROR (exit $code): mlflow-staleness ended unexpectedly." \
            "NOT a retrain advice. The CLI said:"
        show_cli_stderr
    } >&2
    exit "$code"
    ;;
esac
