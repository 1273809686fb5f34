"""Scale benchmark: fingerprint and compare two large tables, against peers and the read floor.

Issue 12. The inputs are the shared covertype table (``../shared/data/covertype.parquet``, 55
columns without its row index), its first half tiled to ``n`` rows as the *reference* and its
second half tiled to ``n`` rows as the *current* data (covertype drifts along the file), written
as Parquet with row groups of 262,144 rows to a scratch folder outside the repository.

For each size every tool runs in its own process, one after the other, and the parent records
the process's wall time (interpreter start and imports included: what a scheduled job pays)
and its peak RSS (``wait4``):

- ``floor``: stream both files with pyarrow (``iter_batches``) and do nothing else;
- ``files``: :func:`mlflow_staleness.data_files.fingerprint_file` on both files, then
  :func:`mlflow_staleness.fingerprint.distance`;
- ``frames``: ``pandas.read_parquet`` both files, ``DataFingerprint.from_frame``, ``distance``;
- ``evidently``: ``Report([DataDriftPreset()])`` on the two frames (Evidently 0.7.23);
- ``whylogs``: ``why.log`` profiles of both frames and ``calculate_drift_scores``
  (whylogs 1.6.4).

Peers run from their own virtual environments under ``benchmark-cache/`` (created here on first
use, with the pandas they need: Evidently needs pandas < 3; the product is never pinned back).
A watcher kills a tool whose resident memory passes ``--memory-gb`` and records that it did not
fit. Each comparison is a ratio within one run, reported as the median over ``--runs`` runs.

Accuracy: at 1e6 rows (or the largest size run up to it) the fingerprint's quantiles of every
column of the reference file against the exact ones (the worst rank gap), and the Spearman
correlation of the per-column drift ranking with Evidently's (and whylogs') per-column scores.

Run (about 25 minutes on 2 cores with the defaults; a quick check in about a minute)::

    .venv/bin/python scripts/benchmark_scale.py
    .venv/bin/python scripts/benchmark_scale.py --sizes 1e5 --runs 1 --out /tmp/scale.md

Only the standard library is imported at the top: the same file runs each tool, in the tool's
own interpreter.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data" / "covertype.parquet"
DEFAULT_OUT = REPO / "benchmarks" / "scale" / "results.md"
CACHE = REPO / "benchmark-cache"
ROW_GROUP = 262_144
TOOLS = ("floor", "files", "frames", "evidently", "whylogs")
#: Not run by default: needs the 'spark' extra and a Java runtime.
OPTIONAL_TOOLS = ("spark",)
PEERS = {
    "evidently": ("venv-evidently", ["evidently==0.7.23", "pandas<3", "pyarrow"]),
    "whylogs": ("venv-whylogs", ["whylogs[viz]==1.6.4", "pandas<3", "pyarrow"]),
}
#: Probabilities at which the fingerprint's quantiles are checked against the exact ones.
CHECK_GRID = [i / 100 for i in range(1, 100)]


# ---------------------------------------------------------------------------------- the tools
def tool_floor(reference: str, current: str) -> dict:
    import pyarrow.parquet as pq

    rows = 0
    for path in (reference, current):
        with pq.ParquetFile(path) as reader:
            for batch in reader.iter_batches(batch_size=100_000):
                rows += batch.num_rows
    return {"rows": rows}


def tool_files(reference: str, current: str) -> dict:
    from mlflow_staleness.data_files import fingerprint_file
    from mlflow_staleness.fingerprint import distance

    ref, _ = fingerprint_file(reference, progress=False)
    cur, _ = fingerprint_file(current, progress=False)
    return {"scores": dict(distance(ref, cur).columns)}


def tool_frames(reference: str, current: str) -> dict:
    import pandas as pd

    from mlflow_staleness.fingerprint import DataFingerprint, distance

    ref = DataFingerprint.from_frame(pd.read_parquet(reference))
    cur = DataFingerprint.from_frame(pd.read_parquet(current))
    return {"scores": dict(distance(ref, cur).columns)}


def tool_evidently(reference: str, current: str) -> dict:
    import pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset

    ref, cur = pd.read_parquet(reference), pd.read_parquet(current)
    snapshot = Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref)
    scores = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric.get("config", {})
        if config.get("type", "").endswith("ValueDrift"):
            scores[config["column"]] = float(metric["value"])
    return {"scores": scores}


def tool_whylogs(reference: str, current: str) -> dict:
    import pandas as pd
    import whylogs as why
    from whylogs.viz.drift.column_drift_algorithms import calculate_drift_scores

    ref = why.log(pd.read_parquet(reference)).profile().view()
    cur = why.log(pd.read_parquet(current)).profile().view()
    drift = calculate_drift_scores(target_view=cur, reference_view=ref, with_thresholds=True)
    return {"scores": {name: float(entry["statistic"]) for name, entry in drift.items() if entry}}


def tool_spark(reference: str, current: str) -> dict:
    """Both files through a local Spark (``local[2]``), timed in three parts: starting the JVM
    and session, the per-partition summaries on the executors (``mapInArrow``, reading the
    files included), and the merge on the driver."""
    import time as clock

    import pyspark.sql.functions  # noqa: F401 (imported before the clock: Python-side start)
    from pyspark.sql import SparkSession

    from mlflow_staleness import spark as spark_fingerprints
    from mlflow_staleness.fingerprint import distance

    started = clock.perf_counter()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.range(1).collect()  # the JVM and a first job
    split = {"jvm_start_s": clock.perf_counter() - started, "partitions_s": 0.0, "merge_s": 0.0}
    fingerprints = []
    for path in (reference, current):
        frame = session.read.parquet(path)
        begin = clock.perf_counter()
        parts = spark_fingerprints._partition_summaries(frame, (), 20)
        middle = clock.perf_counter()
        fingerprints.append(spark_fingerprints._merge_partitions(parts, 20))
        split["partitions_s"] += middle - begin
        split["merge_s"] += clock.perf_counter() - middle
        split["partitions"] = len(parts)
    session.stop()
    return {"scores": dict(distance(*fingerprints).columns), **split}


def run_tool(name: str, reference: str, current: str, out: str) -> None:
    """The child process: run one tool and write what it found as JSON."""
    started = time.perf_counter()
    result = globals()[f"tool_{name}"](reference, current)
    result["work_s"] = time.perf_counter() - started
    result["peak_gb"] = _high_water_gb(Path("/proc/self/status").read_text())
    Path(out).write_text(json.dumps(result), encoding="utf-8")


# ---------------------------------------------------------------------------------- the inputs
def build_inputs(data: Path, rows: int, folder: Path) -> tuple[Path, Path]:
    """The reference (first half, tiled) and current (second half, tiled) files of ``rows``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    paths = folder / "reference.parquet", folder / "current.parquet"
    if all(path.exists() and pq.ParquetFile(path).metadata.num_rows == rows for path in paths):
        return paths
    table = pq.read_table(data)
    table = table.drop_columns([name for name in ("row_order",) if name in table.column_names])
    half = table.num_rows // 2
    for path, part in zip(paths, (table.slice(0, half), table.slice(half)), strict=True):
        size = part.num_rows
        temporary = path.with_suffix(".partial")
        with pq.ParquetWriter(temporary, part.schema) as writer:
            for start in range(0, rows, ROW_GROUP):
                stop = min(start + ROW_GROUP, rows)
                pieces, position = [], start
                while position < stop:  # tile: wrap around the half table
                    offset = position % size
                    take = min(size - offset, stop - position)
                    pieces.append(part.slice(offset, take))
                    position += take
                writer.write_table(pa.concat_tables(pieces), row_group_size=ROW_GROUP)
        temporary.replace(path)
    return paths


def peer_python(tool: str) -> Path:
    """The interpreter of a peer's own virtual environment, created on first use."""
    folder, requirements = PEERS[tool]
    venv = CACHE / folder
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    if marker.exists() and marker.read_text() == json.dumps(requirements):
        return python
    print(f"creating {venv} with {' '.join(requirements)}", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *requirements], check=True)
    marker.write_text(json.dumps(requirements))
    return python


def peer_version(tool: str) -> str:
    python = peer_python(tool) if tool in PEERS else Path(sys.executable)
    package = {"evidently": "evidently", "whylogs": "whylogs"}.get(tool, "mlflow-staleness")
    code = (
        f"import importlib.metadata as m; print(m.version({package!r}), 'with pandas', "
        f"m.version('pandas'))"
    )
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


# ---------------------------------------------------------------------------------- measuring
def measure(tool: str, reference: Path, current: Path, limit_gb: float, timeout: float) -> dict:
    """Run one tool in its own process; wall time, peak RSS, and what it returned."""
    python = peer_python(tool) if tool in PEERS else Path(sys.executable)
    out = CACHE / f"result-{tool}-{os.getpid()}.json"
    out.unlink(missing_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2")}
    command = [str(python), str(Path(__file__).resolve()), "--tool", tool]
    command += [str(reference), str(current), str(out)]
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    killed: list[str] = []
    seen = [0.0]  # the largest VmHWM the watcher read
    watcher = threading.Thread(
        target=_watch, args=(child.pid, limit_gb, timeout, started, killed, seen), daemon=True
    )
    watcher.start()
    _, status, _ = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    stderr = child.stderr.read().decode("utf-8", "replace") if child.stderr else ""
    record = {"tool": tool, "wall_s": wall, "peak_gb": seen[0], "status": "ok"}
    if killed:
        record["status"] = killed[0]
    elif child.returncode != 0:
        record["status"] = f"failed (exit {child.returncode}): {stderr.strip()[-300:]}"
    else:
        record.update(json.loads(out.read_text(encoding="utf-8")))
    out.unlink(missing_ok=True)
    return record


def _high_water_gb(status: str) -> float:
    """Peak resident memory of this process image (``VmHWM``), in GB.

    Not ``ru_maxrss``: Linux carries that over from the forked parent across ``exec``, so
    every tool would show at least the parent's memory.
    """
    line = next((line for line in status.splitlines() if line.startswith("VmHWM:")), None)
    return int(line.split()[1]) * 1024 / 1e9 if line else 0.0


def _watch(
    pid: int, limit_gb: float, timeout: float, started: float, killed: list[str], seen: list[float]
) -> None:
    status = Path(f"/proc/{pid}/status")
    while True:
        try:
            text = status.read_text()
        except OSError:
            return
        if "State:\tZ" in text:
            return
        rss = next((line for line in text.splitlines() if line.startswith("VmRSS:")), None)
        gigabytes = int(rss.split()[1]) * 1024 / 1e9 if rss else 0.0
        seen[0] = max(seen[0], _high_water_gb(text))
        elapsed = time.perf_counter() - started
        why = None
        if gigabytes > limit_gb:
            why = f"did not fit: killed at {limit_gb:g} GB after {elapsed:.0f} s"
        elif elapsed > timeout:
            why = f"did not finish: killed after {timeout:.0f} s"
        if why:
            killed.append(why)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            return
        time.sleep(0.05)


# ---------------------------------------------------------------------------------- accuracy
def quantile_accuracy(reference: Path) -> dict:
    """The fingerprint's quantiles of every column against exact ones: the worst rank gap."""
    import numpy as np
    import pyarrow.parquet as pq

    from mlflow_staleness.data_files import fingerprint_file

    fingerprint, _ = fingerprint_file(reference, progress=False)
    grid = np.asarray(CHECK_GRID)
    worst, certified, column_worst = 0.0, 0.0, ""
    with pq.ParquetFile(reference) as reader:
        names = reader.schema_arrow.names
    for name in names:
        exact = np.sort(pq.read_table(reference, columns=[name]).column(0).to_numpy())
        exact = exact.astype(np.float64)
        summary = fingerprint.columns[name]
        estimates = summary.quantile(grid)
        below = np.searchsorted(exact, estimates, side="left") / exact.shape[0]
        at_or_below = np.searchsorted(exact, estimates, side="right") / exact.shape[0]
        gap = float(np.max(np.maximum(np.maximum(below - grid, grid - at_or_below), 0.0)))
        if gap >= worst:
            worst, column_worst = gap, name
        certified = max(certified, summary.rank_error)
    return {
        "rows": fingerprint.n_rows,
        "columns": len(names),
        "worst_gap": worst,
        "worst_column": column_worst,
        "certified": certified,
    }


def spearman(a: dict[str, float], b: dict[str, float]) -> float | None:
    from scipy.stats import spearmanr

    shared = sorted(set(a) & set(b))
    if len(shared) < 3:
        return None
    value = spearmanr([a[k] for k in shared], [b[k] for k in shared]).statistic
    return float(value)


# ---------------------------------------------------------------------------------- the report
def _fmt_size(rows: int) -> str:
    exponent = len(str(rows)) - 1
    return f"1e{exponent}" if rows == 10**exponent else f"{rows:,}"


def _cell(records: list[dict]) -> str:
    done = [r for r in records if r["status"] == "ok"]
    if not records:
        return "not run"
    if len(done) < len(records):
        failed = next(r for r in records if r["status"] != "ok")
        return failed["status"]
    walls = [r["wall_s"] for r in done]
    peaks = [r["peak_gb"] for r in done]
    span = f"{min(walls):.2f}-{max(walls):.2f} s" if len(walls) > 1 else f"{walls[0]:.2f} s"
    return f"{statistics.median(walls):.2f} s ({span}), {statistics.median(peaks):.2f} GB"


def _ratio(runs: list[dict[str, dict]], top: str, bottom: str) -> str:
    ratios = [
        run[top]["wall_s"] / run[bottom]["wall_s"]
        for run in runs
        if top in run
        and bottom in run
        and run[top]["status"] == "ok"
        and run[bottom]["status"] == "ok"
    ]
    if not ratios:
        return "-"
    return f"{statistics.median(ratios):.2f}x (n={len(ratios)})"


def _work_ratio(runs: list[dict[str, dict]], top: str, bottom: str) -> str:
    ratios = [
        run[top]["work_s"] / run[bottom]["work_s"]
        for run in runs
        if run.get(top, {}).get("status") == "ok" and run.get(bottom, {}).get("status") == "ok"
    ]
    return f"{statistics.median(ratios):.2f}x" if ratios else "-"


def write_report(out: Path, results: dict, meta: dict) -> None:
    lines = [
        "# Scale benchmark (issue 12)",
        "",
        f"Written by `scripts/benchmark_scale.py {meta['argv']}` on {meta['date']}.",
        "",
        f"Machine: {meta['machine']}. **This machine is shared with other engineers' jobs**: "
        f"the load average was {meta['load_before']} before and {meta['load_after']} after the "
        "run, on 2 cores, so absolute times are noisy (easily 2x between runs). Compare the "
        "ratios, each taken within one run, over absolute seconds.",
        "",
        "Input: covertype (`../shared/data/covertype.parquet`, 55 integer columns without its "
        "row index), first half tiled to *n* rows as the reference, second half as the current "
        f"data, Parquet (pyarrow's default snappy compression) with row groups of {ROW_GROUP:,}"
        " rows. Wall time is the whole process (interpreter start and imports included), peak "
        "RSS (`VmHWM`); each cell: median (min-max over runs), median peak RSS.",
        "",
        "Versions: " + ", ".join(f"{tool} {version}" for tool, version in meta["versions"].items()),
        "",
        "## Time and memory",
        "",
        "| rows per side | " + " | ".join(meta["tool_names"][t] for t in meta["tools"]) + " |",
        "|---|" + "---|" * len(meta["tools"]),
    ]
    for rows, runs in results.items():
        cells = [_cell([run[t] for run in runs if t in run]) for t in meta["tools"]]
        lines.append(f"| {_fmt_size(rows)} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Ratios within a run (median over runs)",
        "",
        "| rows per side | files / floor | frames / floor | Evidently / files | "
        "whylogs / files | work only (imports and start left out): files / floor, "
        "Evidently / files, whylogs / files |",
        "|---|---|---|---|---|---|",
    ]
    for rows, runs in results.items():
        work_cell = ", ".join(
            _work_ratio(runs, top, bottom)
            for top, bottom in (("files", "floor"), ("evidently", "files"), ("whylogs", "files"))
        )
        lines.append(
            f"| {_fmt_size(rows)} | {_ratio(runs, 'files', 'floor')} | "
            f"{_ratio(runs, 'frames', 'floor')} | {_ratio(runs, 'evidently', 'files')} | "
            f"{_ratio(runs, 'whylogs', 'files')} | {work_cell} |"
        )
    lines += ["", "## Accuracy", ""]
    accuracy = meta.get("accuracy")
    if accuracy:
        lines.append(
            f"Quantiles of the reference fingerprint ({_fmt_size(accuracy['rows'])} rows, "
            f"{accuracy['columns']} columns, probabilities 0.01..0.99) against the exact ones: "
            f"worst rank gap **{accuracy['worst_gap']:.5f}** (column "
            f"`{accuracy['worst_column']}`), certified bound {accuracy['certified']:.5f}."
        )
    lines += [
        "",
        "Drift ranking: Spearman correlation of the per-column scores of `files` with the "
        "peers' per-column scores (Evidently: Wasserstein distance (normed) for numeric "
        "columns, Jensen-Shannon for columns with few values; whylogs: the KS statistic), "
        "first run:",
        "",
        "| rows per side | vs Evidently | vs whylogs | files vs frames |",
        "|---|---|---|---|",
    ]
    for rows, runs in results.items():
        first = runs[0]
        ours = first.get("files", {}).get("scores")
        cells = []
        for peer in ("evidently", "whylogs", "frames"):
            theirs = first.get(peer, {}).get("scores")
            value = spearman(ours, theirs) if ours and theirs else None
            cells.append("-" if value is None else f"{value:.3f}")
        lines.append(f"| {_fmt_size(rows)} | " + " | ".join(cells) + " |")
    spark_runs = [
        (rows, run["spark"])
        for rows, runs in results.items()
        for run in runs
        if run.get("spark", {}).get("status") == "ok"
    ]
    if spark_runs:
        lines += [
            "",
            "## Spark: where the time goes",
            "",
            "Both files through a local Spark (`local[2]`), the process timed in parts: starting "
            "the JVM and the session (with a first job), the per-partition summaries on the "
            "executors (`mapInArrow`; reading the files included), the merge on the driver.",
            "",
            "| rows per side | process | JVM and session start | per-partition work | "
            "merge on the driver | partitions per file | peak RSS (driver's Python) |",
            "|---|---|---|---|---|---|---|",
        ]
        for rows, record in spark_runs:
            lines.append(
                f"| {_fmt_size(rows)} | {record['wall_s']:.1f} s | {record['jvm_start_s']:.1f} s"
                f" | {record['partitions_s']:.1f} s | {record['merge_s']:.2f} s | "
                f"{record['partitions']} | {record['peak_gb']:.2f} GB |"
            )
    if meta.get("not_run"):
        lines += ["", "## Not run", ""] + [f"- {line}" for line in meta["not_run"]]
    lines.append("")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines), encoding="utf-8")


# ---------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1e5,1e6,1e7", help="rows per side, comma-separated")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument(
        "--peers-up-to", type=float, default=1e6, help="run Evidently and whylogs up to this size"
    )
    parser.add_argument("--frames-up-to", type=float, default=1e6)
    parser.add_argument("--memory-gb", type=float, default=8.0)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per tool run")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/mlflow-staleness-scale"))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--tool", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.tool:
        run_tool(*args.tool)
        return 0
    sizes = [int(float(size)) for size in args.sizes.split(",")]
    tools = [tool for tool in args.tools.split(",") if tool]
    CACHE.mkdir(exist_ok=True)
    tool_names = {
        "floor": "floor: pyarrow streams both files",
        "files": "mlflow-staleness from files",
        "frames": "mlflow-staleness from frames",
        "evidently": "Evidently DataDriftPreset",
        "whylogs": "whylogs profile + drift",
        "spark": "mlflow-staleness on a local Spark (local[2])",
    }
    meta = {
        "argv": " ".join(sys.argv[1:] if argv is None else argv),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} CPUs, {platform.machine()}, "
        f"Python {platform.python_version()}",
        "load_before": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "tools": tools,
        "tool_names": tool_names,
        "versions": {tool: peer_version(tool) for tool in ("files", *PEERS) if tool in tools},
        "not_run": [],
    }
    meta["versions"] = {
        ("mlflow-staleness (pandas)" if k == "files" else f"{k} (pandas)"): v
        for k, v in meta["versions"].items()
    }
    results: dict[int, list[dict[str, dict]]] = {}
    for rows in sizes:
        reference, current = build_inputs(args.data, rows, args.scratch / _fmt_size(rows))
        wanted = []
        for tool in tools:
            limit = args.peers_up_to if tool in PEERS else math_inf(tool, args)
            if rows > limit:
                meta["not_run"].append(
                    f"{tool_names[tool]} at {_fmt_size(rows)} rows (beyond "
                    f"--{'peers' if tool in PEERS else 'frames'}-up-to {limit:g}: time on this "
                    "shared machine)"
                )
            else:
                wanted.append(tool)
        results[rows] = []
        for run in range(args.runs):
            records = {}
            for tool in wanted:
                record = measure(tool, reference, current, args.memory_gb, args.timeout)
                records[tool] = record
                print(
                    f"{_fmt_size(rows)} run {run + 1}/{args.runs} {tool}: {record['wall_s']:.2f} s,"
                    f" {record['peak_gb']:.2f} GB, {record['status']}",
                    file=sys.stderr,
                )
            results[rows].append(records)
    accuracy_rows = max((rows for rows in sizes if rows <= 10**6), default=None)
    if accuracy_rows is not None and "files" in tools:
        reference = args.scratch / _fmt_size(accuracy_rows) / "reference.parquet"
        meta["accuracy"] = quantile_accuracy(reference)
    meta["load_after"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    write_report(args.out, results, meta)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def math_inf(tool: str, args: argparse.Namespace) -> float:
    """The largest size a tool of the product runs at."""
    return args.frames_up_to if tool == "frames" else float("inf")


if __name__ == "__main__":
    sys.exit(main())
