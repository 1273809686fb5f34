"""``advise --all`` over a registry of many models, against a real ``mlflow server``.

A real ``mlflow server`` (SQLite store) is started per size and the registry is built through
it (not timed, not counted): every model gets ``--versions`` versions, the newest with
``log_reference``, the ``champion`` alias and stored costs. Each model's window
(``MODEL.parquet``, with labels and predictions, so that no model is loaded) goes in one folder.
Then ``mlflow-staleness advise --all`` runs as a subprocess through a counting proxy. Recorded:
wall time, seconds per model, requests per model (every request through the proxy), peak RSS of
the CLI process, and the exit code. Requests per model must not grow with the number of models or of
versions.

    python scripts/benchmark_fleet.py                          # 100 and 1000 models, 2 versions
    python scripts/benchmark_fleet.py --models 50 --versions 1 5 --jobs 1 4
"""

from __future__ import annotations

import argparse
import collections
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the real-server fixtures the tests use

from mlflow_servers import CountingProxy, MlflowServer  # noqa: E402
from registry_helpers import (  # noqa: E402
    TARGET,
    make_frame,
    predictions_with_error,
    register_bare_versions,
)

from mlflow_staleness.advisor import Advisor  # noqa: E402

OUT = ROOT / "benchmarks" / "fleet" / "results.md"
SETTINGS = {"retrain_cost": 500.0, "error_cost": 1.0, "predictions_per_step": 1000}


def build_registry(uri: str, folder: Path, models: int, versions: int) -> Path:
    """``models`` configured models at ``uri``, and a folder of their windows."""
    data = folder / "windows"
    data.mkdir()
    reference = make_frame(n=300, seed=0)
    for index in range(models):
        name = f"fleet-{index:04d}"
        register_bare_versions(uri, name, versions, reference)
        Advisor(name, tracking_uri=uri).configure(SETTINGS)
        window = make_frame(n=300, seed=index + 1, shift=0.3 * (index % 3))
        window["prediction"] = predictions_with_error(window[TARGET], 0.1 + 0.05 * (index % 4))
        window.to_parquet(data / f"{name}.parquet")
        if (index + 1) % 100 == 0:
            print(f"  built {index + 1}/{models} models", file=sys.stderr, flush=True)
    return data


def advise_all(uri: str, data: Path, jobs: int) -> dict:
    """One ``advise --all`` as a subprocess; its wall time, peak RSS and exit code."""
    command = [
        str(Path(sys.executable).with_name("mlflow-staleness")),
        "advise",
        "--all",
        "--data",
        str(data),
        "--target",
        TARGET,
        "--predictions-col",
        "prediction",
        "--window",
        "w1",
        "--tracking-uri",
        uri,
    ]
    if jobs:
        command += ["--jobs", str(jobs)]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    # a wrapper reports the peak RSS of this one CLI process (its only child) as its last line
    wrapper = (
        "import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
        "sys.exit(code)"
    )
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", wrapper, *command], capture_output=True, text=True, env=env
    )
    wall = time.perf_counter() - start
    *lines, peak_kb = done.stderr.splitlines()
    summary = [line for line in lines if line.startswith("  fleet-")]
    actions = collections.Counter(line.split(": ", 1)[1].split(" (")[0] for line in summary)
    return {
        "wall": wall,
        "rss_mb": int(peak_kb) / 1024,
        "exit": done.returncode,
        "actions": dict(actions),
        "stderr_tail": lines[-3:],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--versions", type=int, nargs="+", default=[2])
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    rows = []
    for versions in args.versions:
        for models in args.models:
            with tempfile.TemporaryDirectory(prefix="fleet-") as tmp:
                folder = Path(tmp)
                with MlflowServer(folder / "server") as server:
                    start = time.perf_counter()
                    data = build_registry(server.uri, folder, models, versions)
                    built = time.perf_counter() - start
                    print(f"{models} models x {versions} versions built in {built:.0f} s")
                    with CountingProxy(server.uri) as proxy:
                        for jobs in args.jobs:
                            proxy.reset()
                            result = advise_all(proxy.uri, data, jobs)
                            requests = len(proxy.requests)
                            row = {
                                "models": models,
                                "versions": versions,
                                "jobs": jobs,
                                "requests": requests,
                                **result,
                            }
                            rows.append(row)
                            print(
                                f"  jobs {jobs}: {result['wall']:.1f} s, "
                                f"{result['wall'] / models:.3f} s/model, "
                                f"{requests / models:.1f} requests/model, "
                                f"{result['rss_mb']:.0f} MB, exit {result['exit']}, "
                                f"{result['actions']}",
                                flush=True,
                            )
                            if result["exit"] not in (0, 3):
                                print("\n".join(result["stderr_tail"]), file=sys.stderr)
    write(rows, args)


def write(rows: list[dict], args: argparse.Namespace) -> None:
    lines = [
        "# `advise --all` over a registry of many models",
        "",
        "Measured by `scripts/benchmark_fleet.py`: a real `mlflow server` (SQLite store) behind a "
        "counting proxy; `mlflow-staleness advise --all` as a subprocess, every model with labels "
        "and predictions in its window (no model loading). Peak RSS is the CLI process's.",
        "",
        f"- machine: {os.cpu_count()} cores, {platform.platform()}, Python "
        f"{platform.python_version()}; shared with other jobs while measured, so times are noisy",
        f"- settings: models {args.models}, versions per model {args.versions}, jobs {args.jobs}",
        "",
        "| models | versions | jobs | wall s | s / model | requests | requests / model "
        "| peak RSS MB | exit | actions |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['models']} | {r['versions']} | {r['jobs']} | {r['wall']:.1f} | "
            f"{r['wall'] / r['models']:.3f} | {r['requests']} | "
            f"{r['requests'] / r['models']:.1f} | {r['rss_mb']:.0f} | {r['exit']} | "
            f"{', '.join(f'{k} {v}' for k, v in sorted(r['actions'].items()))} |"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
