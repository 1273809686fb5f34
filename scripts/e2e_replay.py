#!/usr/bin/env python
"""End-to-end replay through MLflow: the advisor, driven window by window on a SQLite store,
decides exactly as ``backtest.replay`` of the same policy on the matrix of the same models.

For one stream (cut into ``T`` windows), the script trains one scikit-learn gradient-boosting
model per window (first 80% of the window, in time order; the rest is its validation split), and
measures every model on every later window with the advisor's own loss (an error rate, or the
mean absolute error of a regression). That is the loss matrix ``L``.

Then it runs the team's loop against a real MLflow registry (SQLite, under a temporary folder):

1. warm-up: for windows ``0 .. warmup-1``, record the window's labels (the versions that exist
   are scored on it), train and register the window's model with ``log_reference``, point
   ``champion`` at it;
2. for every later window ``w``: ``advise`` on the window's data with its labels (every version
   is scored); when the advice is ``retrain``, register the window's model and ``advise`` again
   with it as the candidate (the gate), ``--promote``-style: a ``promote`` moves ``champion``.

Finally it replays the same policy on ``L`` (label delay 1, the same warm-up, no drift scores:
with labels in hand the advisor decides for the next window, whose data it has not seen) and
checks, step by step, that the advisor's actions are the replay's, and that the cost of the
schedule the loop followed equals the replay's to 1e-9. The loop follows the engine's action
(``Recommendation.engine_action``); a ``rollback`` (or a promotion of a version measured better)
is advice the engine does not give, and the report lists it.

Usage::

    .venv/bin/python scripts/e2e_replay.py --streams elec2 elecdemand_vic2014 covertype
    .venv/bin/python scripts/e2e_replay.py --streams circles-sudden-early-s0 --windows 14

It writes ``benchmarks/decisions/e2e.md`` (``--out``) and exits 1 if any stream disagrees.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
# MLflow's hint that an inferred signature has integer columns: the windows hold no missing values.
warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer column")

REPO = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("mlflow_staleness") is None:
    sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from decision_streams import catalogue  # noqa: E402

from mlflow_staleness.backtest import oracle_cost, replay  # noqa: E402
from mlflow_staleness.backtest.datasets import DATASETS, load_dataset  # noqa: E402
from mlflow_staleness.backtest.loss_matrix import TRAIN_FRACTION, window_bounds  # noqa: E402
from mlflow_staleness.costs import CostModel, schedule_cost  # noqa: E402
from mlflow_staleness.losses import measure  # noqa: E402
from mlflow_staleness.policies import DEFAULT, make_policy  # noqa: E402

WARMUP = 5
SEED = 0
TARGET = "y"
MODEL = "e2e"
TOLERANCE = 1e-9
DEFAULT_OUT = REPO / "benchmarks" / "decisions" / "e2e.md"
#: What HistGradientBoosting models hold, for loading them back (the script trained them).
TRUSTED = (
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn._loss.link.IdentityLink",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.link.MultinomialLogit",
    "sklearn._loss.loss.HalfSquaredError",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss.loss.HalfMultinomialLoss",
    "sklearn._loss.link.Interval",
    "numpy.dtype",
)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Outcome:
    """One stream's loop through MLflow, against the replay."""

    stream: str
    metric: str
    windows: int
    alpha: float
    steps: int = 0
    agree: int = 0
    retrains: int = 0
    deploys: int = 0
    switches: list[str] = field(default_factory=list)
    disagreements: list[str] = field(default_factory=list)
    loop_cost: float = math.nan
    replay_cost: float = math.nan
    oracle: float = math.nan
    seconds: float = 0.0

    @property
    def equal(self) -> bool:
        return not self.disagreements and abs(self.loop_cost - self.replay_cost) <= TOLERANCE


def stream_windows(name: str, T: int, data_dir: Path | None) -> tuple[list[pd.DataFrame], str]:
    """The stream's windows (features and ``y``) and the advisor's loss for it."""
    streams = {s.name: s for s in catalogue()}
    if name not in streams:
        raise SystemExit(f"unknown stream {name!r}; valid: {', '.join(streams)}")
    spec = streams[name].spec
    if name in DATASETS:
        frame, _ = load_dataset(name, data_dir or REPO.parent / "shared" / "data")
    else:
        frame = spec.load()
    features = spec.feature_columns(frame)
    ordered = frame.sort_values(spec.time_column, kind="stable").reset_index(drop=True)
    data = ordered[features].copy()
    for column in features:
        kind = data[column].dtype
        if pd.api.types.is_bool_dtype(kind):
            data[column] = data[column].astype(float)
        elif pd.api.types.is_datetime64_any_dtype(kind):
            data[column] = data[column].astype("int64") / 1e9
        elif not pd.api.types.is_numeric_dtype(kind) or isinstance(kind, pd.CategoricalDtype):
            codes = data[column].astype(str).astype("category").cat.codes
            data[column] = codes.astype(float)
        else:
            data[column] = data[column].astype(float)
    metric = "error_rate" if spec.loss == "error_rate" else "mae"
    target = ordered[spec.target]
    data[TARGET] = target.astype(int) if metric == "error_rate" else target.astype(float)
    bounds = window_bounds(len(data), T)
    return [data.iloc[bounds[w] : bounds[w + 1]].reset_index(drop=True) for w in range(T)], metric


def train(window: pd.DataFrame, metric: str) -> tuple[object, pd.DataFrame, float]:
    """A model on the window's first 80%, its validation split and validation loss."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    cut = math.floor(TRAIN_FRACTION * len(window))
    fit, valid = window.iloc[:cut], window.iloc[cut:]
    kind = (
        HistGradientBoostingClassifier if metric == "error_rate" else HistGradientBoostingRegressor
    )
    model = kind(random_state=SEED).fit(fit.drop(columns=[TARGET]), fit[TARGET])
    return model, valid, loss_of(model, valid, metric)


def loss_of(model: object, frame: pd.DataFrame, metric: str) -> float:
    features = frame.drop(columns=[TARGET])
    return measure(metric, frame[TARGET].to_numpy(), model.predict(features))  # type: ignore[attr-defined]


def run_stream(
    name: str, T: int, windows_of_loss: float, data_dir: Path | None, folder: Path
) -> Outcome:
    from mlflow_staleness.adapter.demo_store import DemoStore
    from mlflow_staleness.advisor import Advisor

    start = time.perf_counter()
    windows, metric = stream_windows(name, T, data_dir)
    trained = [train(w, metric) for w in windows]
    L = np.full((T, T), np.nan)
    for i, (model, _, _) in enumerate(trained):
        for t in range(i + 1, T):
            L[i, t] = loss_of(model, windows[t], metric)
    val = np.array([v for _, _, v in trained])
    # The retrain cost, in loss units: this many windows' worth of a fresh model's loss.
    alpha = float(windows_of_loss * np.mean([L[t - 1, t] for t in range(1, T)]))
    outcome = Outcome(name, metric, T, alpha)
    log(f"{name}: {T} windows of {len(windows[0]):,} rows, metric {metric}, alpha {alpha:g}")

    store = DemoStore(folder)
    store.prepare_advisor(MODEL)
    advisor = Advisor(
        MODEL,
        cost=CostModel(compute_cost=alpha),
        tracking_uri=store.uri,
        strategy=DEFAULT,
        score_versions=10_000,
    )
    labels = [f"w{w:03d}" for w in range(T)]

    def register(w: int) -> str:
        model, valid, loss = trained[w]
        return store.register(
            model,
            MODEL,
            valid,
            TARGET,
            loss,
            f"train-{labels[w]}",
            metric=metric,
            trusted_types=TRUSTED,
        )

    for w in range(WARMUP):
        if w >= 1:
            advisor.record(windows[w], labels=TARGET, window=labels[w])
        store.set_alias(MODEL, "champion", register(w))

    result = replay(make_policy(DEFAULT), L, alpha, val_loss=val, label_delay=1, warmup=WARMUP)
    expected: dict[int, list[str]] = {}
    for decision in result.decisions:
        expected.setdefault(decision.step, []).append(decision.action)

    theta = np.zeros(T, dtype=bool)
    paid = np.zeros(T, dtype=bool)
    for w in range(WARMUP, T - 1):
        step = w + 1
        rec = advisor.advise(windows[w], labels=TARGET, window=labels[w], candidate="none")
        got = [rec.engine_action or rec.action]
        if rec.action != rec.engine_action:
            outcome.switches.append(f"step {step}: {rec.action} v{rec.candidate_version}")
        if rec.engine_action == "retrain":
            paid[step] = True
            version = register(w)
            verdict = advisor.advise(
                windows[w], labels=TARGET, window=labels[w], candidate=version, apply=True
            )
            got.append(verdict.engine_action or verdict.action)
            theta[step] = verdict.engine_action == "deploy"
        outcome.steps += 1
        if got == expected.get(step, []):
            outcome.agree += 1
        else:
            outcome.disagreements.append(f"step {step}: loop {got}, replay {expected.get(step)}")
    s = slice(WARMUP - 1, T)
    outcome.loop_cost = schedule_cost(L[s, s], theta[s], alpha, retrained=paid[s])
    outcome.replay_cost = result.cost
    _, outcome.oracle = oracle_cost(L, alpha, warmup=WARMUP)
    outcome.retrains, outcome.deploys = int(paid.sum()), int(theta.sum())
    outcome.seconds = time.perf_counter() - start
    log(
        f"{name}: {outcome.agree}/{outcome.steps} steps agree, loop cost "
        f"{outcome.loop_cost:.6f}, replay {outcome.replay_cost:.6f}, {outcome.seconds:.0f} s"
    )
    return outcome


def report(outcomes: Sequence[Outcome]) -> str:
    rows = [
        "| stream | loss | windows | alpha | steps agreeing | retrains | deploys | loop cost "
        "| replay cost | difference | loop cost / oracle | advice the engine does not give |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for o in outcomes:
        rows.append(
            f"| {o.stream} | {o.metric} | {o.windows} | {o.alpha:.4g} | {o.agree}/{o.steps} | "
            f"{o.retrains} | {o.deploys} | {o.loop_cost:.6f} | {o.replay_cost:.6f} | "
            f"{abs(o.loop_cost - o.replay_cost):.1e} | {o.loop_cost / o.oracle:.3f} | "
            f"{'; '.join(o.switches) or 'none'} |"
        )
    problems = [f"- {o.stream}: {d}" for o in outcomes for d in o.disagreements]
    verdict = (
        "**The loop through MLflow took the replay's action at every step, and its cost equals "
        "the replay's.**"
        if all(o.equal for o in outcomes)
        else "**The loop and the replay disagree:**\n\n" + "\n".join(problems)
    )
    return (
        "# End-to-end replay through MLflow\n\n"
        f"The advisor (`{DEFAULT}`, its defaults) driven window by window on a SQLite registry: "
        "advise with the window's labels, register and judge the candidate when told to "
        "retrain, promote when told to; against `replay` of the same policy on the matrix of "
        f"the same models (warm-up {WARMUP}, label delay 1; alpha is one window's worth of a fresh "
        "model's loss). Produced by `scripts/e2e_replay.py`."
        "\n\n" + "\n".join(rows) + "\n\n" + verdict + "\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--streams", nargs="+", default=["elec2", "elecdemand_vic2014", "covertype"]
    )
    parser.add_argument("--windows", type=int, default=40, help="T (default %(default)s)")
    parser.add_argument(
        "--retrain-cost",
        type=float,
        default=1.0,
        help="the retrain cost, in windows' worth of a fresh model's loss (default %(default)s)",
    )
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    outcomes = []
    for name in args.streams:
        with tempfile.TemporaryDirectory(prefix="e2e-") as folder:
            outcomes.append(
                run_stream(name, args.windows, args.retrain_cost, args.data_dir, Path(folder))
            )
    text = report(outcomes)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text, end="")
    return 0 if all(o.equal for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
