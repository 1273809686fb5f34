"""Post-evaluation hook: advise right after ``mlflow.models.evaluate``, on the demo's store.

A team that scores each new window of labelled data with ``mlflow.models.evaluate`` adds one call
after it, ``advise_after_evaluate``: the evaluation's accuracy becomes the served version's loss on
the window, the same data is fingerprinted for drift, and the advice (keep / retrain / promote,
with its reason and numbers) is written back into MLflow.

Run it from the repository root:

    .venv/bin/python examples/post_evaluation_hook.py [--dir mlflow-staleness-hook-demo]

It builds the demo's store in ``--dir`` (the demo's ELEC2 stream, advised window by window, with
the last window held out), then evaluates the served version (``champion``) on that last window
and advises. Look at the result in the MLflow UI:

    .venv/bin/mlflow ui --backend-store-uri sqlite:///mlflow-staleness-hook-demo/mlflow.db
"""

from __future__ import annotations

import argparse
import sys
import warnings

import mlflow

from mlflow_staleness import advise_after_evaluate
from mlflow_staleness.demo import DEMO_MODEL, TARGET, WINDOW_ROWS, load_demo_stream, run_demo

DEMO_WINDOWS = 11  # of the 12 in the demo's slice: the 12th is the window evaluated here


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="mlflow-staleness-hook-demo", help="the demo's folder")
    args = parser.parse_args(argv)

    # 1. The demo's store: a registered model served through the `champion` alias, its costs
    #    configured, and the advice of 10 earlier windows.
    def say(message: str) -> None:
        print(message, file=sys.stderr)

    demo = run_demo(args.dir, n_windows=DEMO_WINDOWS, say=say)

    # 2. This window's labelled data: the one the demo held out.
    stream = load_demo_stream()
    held_out = stream.iloc[DEMO_WINDOWS * WINDOW_ROWS : (DEMO_WINDOWS + 1) * WINDOW_ROWS]
    window = str(held_out["timestamp"].iloc[0].date())
    data = held_out.drop(columns=["timestamp"]).astype("float64").reset_index(drop=True)
    data[TARGET] = data[TARGET].astype("int64")  # a class label, as evaluate expects

    # 3. The team's evaluation, as it already runs it.
    mlflow.set_tracking_uri(demo.tracking_uri)
    mlflow.set_experiment("evaluations")
    with mlflow.start_run(run_name=f"evaluate-{window}"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's notes on the default evaluator's plots
        result = mlflow.models.evaluate(
            f"models:/{DEMO_MODEL}@champion",
            data=data,
            targets=TARGET,
            model_type="classifier",
            evaluators=["default"],
        )
    say(
        f"evaluated {DEMO_MODEL}@champion on window {window}: accuracy "
        f"{result.metrics['accuracy_score']:.3f}"
    )

    # 4. The hook: one call.
    rec = advise_after_evaluate(result, DEMO_MODEL, data, targets=TARGET, window=window)

    print(f"{rec.action}: {rec.reason}")
    print(
        f"model {rec.model_name} v{rec.version}, window {rec.window}: "
        f"{rec.cost_per_step:,.2f} {rec.currency}/window stale, "
        f"{rec.accumulated_cost:,.2f} accumulated, retrain {rec.retrain_cost:,.2f}, "
        f"confidence {rec.confidence:.2f}"
    )
    print(
        f"written to MLflow: version tags staleness.*, report.html on advisor run "
        f"{rec.advisor_run_id}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
