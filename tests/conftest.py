"""Loss-matrix factories shared by the engine tests.

Each factory takes a ``seed`` and builds its own ``np.random.default_rng(seed)``; nothing global is
touched. They are session-scoped fixtures returning plain functions, so Hypothesis tests can use
them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# Two cores shared with servers and other workers: how long an example takes says nothing about
# the code under test, so no per-example deadline and no "generation is slow" health check.
settings.register_profile(
    "shared-machine", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("shared-machine")
# In CI, Hypothesis draws the same examples every run, so a red build is reproducible; locally it
# keeps exploring new ones.
settings.register_profile(
    "ci", parent=settings.get_profile("shared-machine"), derandomize=True, print_blob=True
)

# MLflow's telemetry thread, which cannot reach the internet here, removes an environment
# variable while other threads read the environment (a rare KeyError in requests); tests and the
# processes they start send no telemetry.
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
os.environ["DO_NOT_TRACK"] = "true"
# Two test workers on two cores: scikit-learn's gradient boosting would start a thread per core in
# each, and oversubscribed OpenMP threads make it 20-40 times slower, for the same results. The
# processes the tests start inherit this.
os.environ.setdefault("OMP_NUM_THREADS", "1")
if os.environ.get("CI"):
    settings.load_profile("ci")

# The long suites (fault sweeps, the benchmark scripts, PostgreSQL) run first: ``.ci/run`` runs
# ``pytest -n 2`` with ``--dist loadfile``, which hands out whole files in collection order, so
# starting the longest files first lets the two workers end together.
LONG_MARKERS = ("faults", "slow", "postgres")


#: Files left out of the quick local run (``pytest -m quick``, see the README): they start real
#: ``mlflow server`` processes (or an old MLflow, PostgreSQL, Chromium), run the benchmark
#: scripts, or fuzz for minutes. Everything else, and every doctest, is marked ``quick``.
QUICK_EXCLUDED = frozenset(
    {
        "test_advisor_mlflow.py",
        "test_bad_input_catalogue.py",
        "test_benchmark_scripts.py",
        "test_bounded_waiting.py",
        "test_ci_gate.py",
        "test_cli.py",
        "test_concurrency.py",
        "test_demo.py",
        "test_e2e_replay.py",
        "test_engine_boundaries.py",
        "test_faults.py",
        "test_trust_actions.py",
        "test_fingerprint_reader.py",
        "test_fuzz_frames.py",
        "test_hooks.py",
        "test_local_files.py",
        "test_messages.py",
        "test_mlflow_servers.py",
        "test_model_names.py",
        "test_old_server.py",
        "test_permissions.py",
        "test_readme.py",
        "test_report.py",
        "test_request_counts.py",
        "test_screenshot_ui.py",
        "test_trust_tables.py",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the quick tests; put the files marked ``faults``, ``slow`` or ``postgres`` first and
    keep every file's order."""
    rank: dict[Path, int] = {}
    for item in items:
        marked = [i for i, name in enumerate(LONG_MARKERS) if item.get_closest_marker(name)]
        item_rank = min(marked, default=len(LONG_MARKERS))
        rank[item.path] = min(rank.get(item.path, item_rank), item_rank)
        if not marked and item.path.name not in QUICK_EXCLUDED:
            item.add_marker(pytest.mark.quick)
    items.sort(key=lambda item: rank[item.path])  # a stable sort keeps each file's order


def _age(T: int) -> np.ndarray:
    """``age[i, t] = t - i``: how old model ``m_i`` is when it serves window ``t``."""
    return np.arange(T)[None, :] - np.arange(T)[:, None]


def random_losses(seed: int, T: int, *, quantised: bool = False) -> np.ndarray:
    """Losses in ``[0, 1]`` with no structure, NaN on and below the diagonal.

    ``quantised`` draws multiples of 1/4, which floats add exactly: ties between schedules are
    then common and exact.
    """
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 5, size=(T, T)) / 4 if quantised else rng.random((T, T))
    return np.where(_age(T) > 0, values, np.nan)


def drifting_losses(seed: int, T: int, *, noise: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    """A drifting stream: each window has its own difficulty, models get worse with age at a
    random rate, plus noise. Returns ``(L, val_loss)``; ``val_loss[i]`` is near window ``i``'s
    fresh loss."""
    rng = np.random.default_rng(seed)
    difficulty = 0.1 + 0.05 * rng.random(T)
    slope = rng.uniform(0.005, 0.05)
    age = _age(T)
    values = difficulty[None, :] + slope * age + noise * rng.standard_normal((T, T))
    L = np.where(age > 0, np.clip(values, 0.0, None), np.nan)
    val_loss = np.clip(difficulty + noise * rng.standard_normal(T), 0.0, None)
    return L, val_loss


def age_only_losses(curve: np.ndarray) -> np.ndarray:
    """``L[i, t] = curve[t - i]``: the loss depends only on the model's age."""
    curve = np.asarray(curve, dtype=float)
    T = curve.shape[0]
    age = _age(T)
    return np.where(age > 0, curve[np.clip(age, 0, T - 1)], np.nan)


@pytest.fixture(scope="session")
def make_random_losses() -> Callable[..., np.ndarray]:
    return random_losses


@pytest.fixture(scope="session")
def make_drifting_losses() -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    return drifting_losses


@pytest.fixture(scope="session")
def make_age_only_losses() -> Callable[[np.ndarray], np.ndarray]:
    return age_only_losses


# --- Real MLflow servers (see tests/mlflow_servers.py) -------------------------------------------
# Imported here rather than at the top so this section stays self-contained.

import warnings  # noqa: E402
from collections.abc import Iterator  # noqa: E402

from mlflow_servers import CountingProxy, MlflowServer  # noqa: E402


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """One real ``mlflow server`` per test session (SQLite backend, proxied artifacts); starting
    it takes about 10-15 s."""
    with MlflowServer(tmp_path_factory.mktemp("mlflow_server")) as server:
        yield server


@pytest.fixture
def counting_proxy(mlflow_server: MlflowServer) -> Iterator[CountingProxy]:
    """A fresh ``CountingProxy`` in front of the session's ``mlflow_server``."""
    with CountingProxy(mlflow_server.uri) as proxy:
        yield proxy


@pytest.fixture
def sqlite_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """``sqlite:///<tmp_path>/mlflow.db`` for an embedded MLflow store.

    Changes into ``tmp_path``, because such a store's default artifact root is ``./mlruns``.
    MLflow 3.17's SQLAlchemy models use ``lazy="noload"``, which SQLAlchemy 2.1 deprecates with a
    warning when the store module is first imported; that one warning is ignored here, since it
    is not ours to fix and ``filterwarnings = error`` would otherwise turn it into a failure.
    """
    import sqlalchemy.exc

    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message=r"The ``noload`` loader strategy is deprecated",
            category=sqlalchemy.exc.SADeprecationWarning,
        )
        import mlflow.store.tracking.sqlalchemy_store  # noqa: F401
    return f"sqlite:///{tmp_path / 'mlflow.db'}"
