"""The demo, the embedded default: a real drifting stream advised window by window, no server.

ELEC2 (the last 12,000 half-hours of the New South Wales electricity market, 1997-1998; the
target is whether the price went up) is cut into windows of 1,000 rows (about three weeks). A first
version is trained on the first window and registered with its reference. Then, window by window,
the advisor measures the served version on the window's labels, advises, and writes the advice back
into a SQLite tracking store under one folder. When it says retrain, the demo trains a new version
on the latest window, registers it, and asks again at once: the policy's gate judges the new
version, and a ``promote`` moves the ``champion`` alias (``apply=True``). The new version serves
from the next window on.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier

from mlflow_staleness._files import write_atomic
from mlflow_staleness.costs import CostModel
from mlflow_staleness.exceptions import InvalidInputError
from mlflow_staleness.recommendation import Recommendation
from mlflow_staleness.settings import cost_settings

__all__ = ["DEMO_COST", "DEMO_MODEL", "DemoResult", "load_demo_stream", "run_demo"]

DEMO_MODEL = "elec2-price-direction"
DEFAULT_DIR = Path("mlflow-staleness-demo")
MARKER = ".mlflow-staleness-demo"
TARGET = "target"
WINDOW_ROWS = 1_000
#: Windows that each train a version before the first advice.
WARMUP = 3
#: A retrain costs 500 EUR in all; a wrong price call costs 0.5 EUR on 10,000 calls per window.
DEMO_COST = CostModel(
    compute_cost=100,
    people_cost=300,
    data_cost=50,
    risk_cost=50,
    error_cost=0.5,
    predictions_per_step=10_000,
    currency="EUR",
)


@dataclass(frozen=True)
class DemoResult:
    """What the demo did: the advice per window and what each schedule cost."""

    folder: Path
    tracking_uri: str
    advice: list[Recommendation]
    retrains: int
    cost_advised: float
    cost_never: float
    cost_always: float
    seconds: float


def load_demo_stream() -> pd.DataFrame:
    """The demo's slice of ELEC2, shipped as package data (``scripts/make_demo_slice.py``)."""
    path = resources.files("mlflow_staleness") / "data" / "elec2_demo.parquet"
    with resources.as_file(path) as file:
        return pd.read_parquet(file)


def _prepare(folder: Path) -> Path:
    folder = Path(folder)
    if folder.exists():
        if not folder.is_dir():
            raise InvalidInputError(f"{str(folder)!r} is a file; choose a folder with --dir")
        if any(folder.iterdir()) and not (folder / MARKER).exists():
            raise InvalidInputError(
                f"{str(folder)!r} exists and is not a demo folder (no {MARKER} in it); the demo "
                f"starts afresh by deleting its folder, so choose a new or empty one with --dir"
            )
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    write_atomic(folder / MARKER, "created by `mlflow-staleness demo`; safe to delete\n")
    return folder.resolve()


_USED: set[Path] = set()


def _database_name(folder: Path) -> str:
    """``mlflow.db``, or ``mlflow-2.db`` ... when this process already used that file.

    MLflow caches one store per URI in a process; a second demo in the same process (a notebook,
    say) would reach the deleted database through it, so it gets a new file name.
    """
    for n in range(1, 10_000):
        name = "mlflow.db" if n == 1 else f"mlflow-{n}.db"
        if folder / name not in _USED:
            _USED.add(folder / name)
            return name
    raise InvalidInputError(f"the demo ran too often in this process on {str(folder)!r}")


def _train(frame: pd.DataFrame) -> tuple[RandomForestClassifier, pd.DataFrame, float]:
    """Fit on the first 80% of a window (in time order); validate on the rest."""
    cut = int(len(frame) * 0.8)
    train, valid = frame.iloc[:cut], frame.iloc[cut:]
    model = RandomForestClassifier(
        n_estimators=40, max_depth=12, min_samples_leaf=2, n_jobs=1, random_state=0
    )
    model.fit(train.drop(columns=[TARGET]), train[TARGET])
    val_loss = float(np.mean(model.predict(valid.drop(columns=[TARGET])) != valid[TARGET]))
    return model, valid, val_loss


def _error(model: RandomForestClassifier, frame: pd.DataFrame) -> float:
    return float(np.mean(model.predict(frame.drop(columns=[TARGET])) != frame[TARGET]))


def run_demo(
    folder: str | Path = DEFAULT_DIR,
    *,
    n_windows: int = 12,
    say: Callable[[str], None] = print,
) -> DemoResult:
    """Run the demo in ``folder`` (deleted and recreated); return what it did."""
    from mlflow_staleness.adapter.demo_store import DemoStore
    from mlflow_staleness.advisor import Advisor

    start = time.monotonic()
    folder = _prepare(Path(folder))
    stream = load_demo_stream()
    labels = stream["timestamp"].dt.date.astype(str)
    frame = stream.drop(columns=["timestamp"]).astype("float64")
    windows = [
        (labels.iloc[i], frame.iloc[i : i + WINDOW_ROWS].reset_index(drop=True))
        for i in range(0, min(len(frame), n_windows * WINDOW_ROWS), WINDOW_ROWS)
    ]
    if len(windows) < WARMUP + 1:
        raise InvalidInputError(
            f"the demo needs at least {WARMUP + 1} windows, got n_windows={n_windows}"
        )
    say(f"ELEC2 slice: {len(frame):,} half-hours, {len(windows)} windows of {WINDOW_ROWS:,} rows")
    store = DemoStore(folder, database=_database_name(folder))
    store.prepare_advisor(DEMO_MODEL)

    # A team's registry holds a few versions trained over time: the first WARMUP windows each
    # train one, and the labels of each window are recorded against the versions that exist.
    advisor = Advisor(
        DEMO_MODEL, tracking_uri=store.uri, set_alias="retrain-recommended", score_versions=20
    )
    c = DEMO_COST
    models: dict[str, RandomForestClassifier] = {}
    for i, (label, window) in enumerate(windows[:WARMUP]):
        if i:
            advisor.record(window, labels=TARGET, window=label)
        model, valid, val_loss = _train(window)
        version = store.register(model, DEMO_MODEL, valid, TARGET, val_loss, f"train-{label}")
        store.set_alias(DEMO_MODEL, "champion", version)
        models[version] = model
        if i == 0:
            advisor.configure(cost_settings(c))
        say(f"window {label}: trained and registered v{version} (validation error {val_loss:.3f})")

    advice: list[Recommendation] = []
    first_model, previous = model, windows[WARMUP - 1][1]
    cost_never = cost_always = cost_advised = 0.0
    retrains = 0
    for label, window in windows[WARMUP:]:
        rec = advisor.advise(window, labels=TARGET, window=label, apply=True)
        advice.append(rec)
        served_loss = rec.measured_loss if rec.measured_loss is not None else float("nan")
        cost_advised += c.to_money(served_loss)
        cost_never += c.to_money(_error(first_model, window))
        fresh, _, _ = _train(previous)
        cost_always += c.to_money(_error(fresh, window)) + c.retrain_cost
        say(
            f"window {label}: v{rec.version} served, error {served_loss:.3f}; "
            f"{rec.action} ({rec.cost_per_step:,.0f} {c.currency}/window stale, "
            f"{rec.accumulated_cost:,.0f} accumulated, confidence {rec.confidence:.2f})"
        )
        if rec.action == "retrain":
            model, valid, val_loss = _train(window)
            version = store.register(model, DEMO_MODEL, valid, TARGET, val_loss, f"train-{label}")
            models[version] = model
            retrains += 1
            cost_advised += c.retrain_cost
            say(f"    retrained: registered v{version} (validation error {val_loss:.3f})")
            verdict = advisor.advise(
                window, labels=TARGET, window=label, apply=True, candidate=version
            )
            advice.append(verdict)
            if verdict.action == "promote":
                say(f"    promoted v{version}: the champion alias now points at it")
            else:
                say(f"    kept v{rec.version}: {verdict.reason}")
        elif rec.action in ("promote", "rollback"):
            say(f"    {rec.action}: the champion alias now points at v{rec.candidate_version}")
        previous = window
    return DemoResult(
        folder=folder,
        tracking_uri=store.uri,
        advice=advice,
        retrains=retrains,
        cost_advised=cost_advised,
        cost_never=cost_never,
        cost_always=cost_always,
        seconds=time.monotonic() - start,
    )


def report(result: DemoResult) -> str:
    """The demo's closing lines: the final advice, what it cost, how to look at it."""
    last = result.advice[-1]
    currency = last.currency
    lines = [
        "",
        f"Final advice for {last.model_name} v{last.version} on window {last.window}: "
        f"{last.action.upper()} (confidence {last.confidence:.2f})",
        f"  reason: {last.reason}",
        "",
        f"Cost over {len(result.advice)} windows (staleness as errors x price, plus retrains):",
        f"  advised ({result.retrains} retrains): {result.cost_advised:>10,.0f} {currency}",
        f"  never retrain:          {result.cost_never:>10,.0f} {currency}",
        f"  retrain every window:   {result.cost_always:>10,.0f} {currency}",
        "",
        f"Done in {result.seconds:.0f} s. Look at it in the MLflow UI (model version tags "
        f"staleness.*, the advisor run's metrics and artifacts):",
        f"  mlflow ui --backend-store-uri {result.tracking_uri} --port 5000",
    ]
    return "\n".join(lines)
