"""The time axis of the advisor's history (issue 11, defect 10).

Window labels that are times are normalised to UTC and ordered by time, whatever the order in
which they were advised or recorded; one instant spelled several ways is one window; labels that
are not times keep the order of arrival. A late window is advised on the history up to it and
shown nowhere as the current advice. Against a real SQLite store (``sqlite_uri``).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
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
from mlflow_staleness.advice_log import assemble
from mlflow_staleness.advisor import Advisor
from mlflow_staleness.cli import main
from mlflow_staleness.windows import as_time, normalise, order_windows

COST = CostModel(compute_cost=100, error_cost=1.0, predictions_per_step=100, currency="EUR")


def _model(uri: str) -> tuple[str, Advisor]:
    name = unique_name("time")
    register_version(uri, name, make_frame(seed=1), val_loss=0.1, alias="champion", log_model=False)
    return name, Advisor(name, tracking_uri=uri, cost=COST)


def _advise(advisor: Advisor, window: str, seed: int, error_rate: float = 0.1, **kw):
    frame = make_frame(seed=seed)
    predictions = predictions_with_error(frame[TARGET], error_rate, seed=seed)
    return advisor.advise(frame, labels=TARGET, predictions=predictions, window=window, **kw)


def _windows(uri: str, name: str) -> list[tuple[int, str]]:
    state = RegistryReader(client_for(uri)).advisor_state(name)
    return [(r.seq, r.window) for r in state.history]


# ---------------------------------------------------------------------------------- labels
@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("2026-03-01", "2026-03-01"),
        ("2026-03-01T00:00:00+00:00", "2026-03-01"),
        ("2026-02-28T19:00:00-05:00", "2026-03-01"),
        ("2026-03-01T00:00:00Z", "2026-03-01"),
        ("2026-03-01 12:30", "2026-03-01T12:30:00Z"),
        ("2026-03-01T12:30:00.250+02:00", "2026-03-01T10:30:00.250000Z"),
        ("batch-7", "batch-7"),
        ("20260301", "20260301"),  # only the extended form is a time
        ("2026-13-01", "2026-13-01"),  # not a date: a label like any other
    ],
)
def test_a_time_label_is_normalised_to_utc_and_any_other_label_is_kept(
    label: str, expected: str
) -> None:
    assert normalise(label) == expected


def test_a_late_time_label_goes_before_the_earliest_later_time_and_moves_nothing() -> None:
    arrived = ["w0", "2026-03-01", "w1", "2026-01-01", "2026-02-01T06:00:00Z"]
    assert order_windows(arrived) == [
        "w0",
        "2026-01-01",
        "2026-02-01T06:00:00Z",
        "2026-03-01",
        "w1",  # arrived after 2026-03-01, so it stays after it: the newest window
    ]
    # issue 17, defect 9: the late 2026-01-01 must not push 2026-01-05 past w2
    assert order_windows(["w1", "2026-01-05", "w2", "2026-01-01"]) == [
        "w1",
        "2026-01-01",
        "2026-01-05",
        "w2",
    ]
    assert order_windows(["c", "a", "b"]) == ["c", "a", "b"]
    assert as_time("0001-01-01T00:00:00+01:00") is None  # before year 1 in UTC: not a time


MOMENTS = st.datetimes(
    min_value=datetime(1900, 1, 1),
    max_value=datetime(2200, 1, 1),
    timezones=st.sampled_from(
        [
            None,
            timezone.utc,
            timezone(timedelta(hours=-5)),
            timezone(timedelta(hours=5, minutes=30)),
        ]
    ),
)


def _spell(moment: datetime, how: int) -> str:
    if how == 0 and moment.tzinfo is None:
        return moment.date().isoformat()
    if how == 1:
        return moment.isoformat(sep=" ")
    return moment.isoformat()


LABELS = st.one_of(
    st.builds(_spell, MOMENTS, st.integers(0, 2)),
    st.text(alphabet="abcw-_0123456789", min_size=1, max_size=8),
)


@settings(max_examples=300, deadline=None)
@given(labels=st.lists(LABELS, max_size=12, unique_by=normalise))
def test_the_time_axis_sorts_time_labels_and_never_moves_a_window_already_seen(
    labels: list[str],
) -> None:
    ordered = order_windows(labels)
    assert sorted(ordered) == sorted(labels)  # a permutation
    times = [as_time(label) for label in ordered]
    assert [t for t in times if t is not None] == sorted(t for t in times if t is not None)
    others = [label for label in labels if as_time(label) is None]
    assert [label for label in ordered if as_time(label) is None] == others  # order of arrival
    assert order_windows(ordered) == ordered  # the rule applied to its own output keeps it
    for n in range(len(labels) + 1):
        before = order_windows(labels[:n])
        # a window that arrives never moves those already seen
        assert [label for label in ordered if label in before] == before
    for label in labels:
        assert normalise(normalise(label)) == normalise(label)
        assert as_time(normalise(label)) == as_time(label)  # the same instant


@settings(max_examples=200, deadline=None)
@given(moments=st.lists(MOMENTS, min_size=1, max_size=8), how=st.integers(0, 2))
def test_windows_merged_in_any_order_end_in_time_order(moments: list[datetime], how: int) -> None:
    history: list[WindowRecord] = []
    for i, moment in enumerate(moments):
        _, history = merge_window(history, _spell(moment, how), i)
    windows = [r.window for r in sorted(history, key=lambda r: r.seq)]
    assert windows == order_windows(sorted(windows, key=lambda w: as_time(w)))
    assert len(windows) == len({as_time(_spell(m, how)) for m in moments})
    assert [r.seq for r in sorted(history, key=lambda r: r.seq)] == list(range(len(windows)))


# ---------------------------------------------------------------------------------- the advisor
def test_windows_advised_out_of_order_are_placed_by_time(sqlite_uri: str) -> None:
    name, advisor = _model(sqlite_uri)
    march = _advise(advisor, "2026-03-01", seed=3)
    tags_after_march = snapshot(sqlite_uri, name)["versions"]
    january = _advise(advisor, "2026-01-01", seed=1)
    february = _advise(advisor, "2026-02-01", seed=2)

    assert _windows(sqlite_uri, name) == [(0, "2026-01-01"), (1, "2026-02-01"), (2, "2026-03-01")]
    # the late windows are advised on the history up to them, not on March's
    assert (january.window_seq, february.window_seq) == (0, 1)
    assert january.action == "keep", january.reason
    assert "late window '2026-01-01'" in january.reason
    assert "the newest window is '2026-03-01'" in february.reason
    # ... and shown nowhere as the current advice: the version, the model's summary and the
    # advisor run's latest advice id still show March's
    assert snapshot(sqlite_uri, name)["versions"] == tags_after_march
    assert march.action in snapshot(sqlite_uri, name)["model"]["tags"]["staleness.summary"]
    client = client_for(sqlite_uri)
    run_id = RegistryReader(client).advisor_state(name).run_id
    assert client.get_run(run_id).data.tags["staleness.advice_id"] == march.advice_id
    history = advisor.history()
    assert [(h["window"], h["window_seq"]) for h in history] == [
        ("2026-01-01", 0),
        ("2026-02-01", 1),
        ("2026-03-01", 2),
    ]
    assert history[-1]["advice_id"] == march.advice_id


def test_a_late_window_moves_no_alias(sqlite_uri: str) -> None:
    name, advisor = _model(sqlite_uri)
    _advise(advisor, "2026-03-01", seed=3)
    late = Advisor(name, tracking_uri=sqlite_uri, cost=COST, set_alias="retrain-recommended")
    rec = _advise(late, "2026-01-01", seed=1, error_rate=0.6, apply=True)
    assert "no version tag, alias or stage moved" in rec.reason
    assert "retrain-recommended" not in client_for(sqlite_uri).get_registered_model(name).aliases


def test_one_instant_spelled_three_ways_is_one_window(sqlite_uri: str) -> None:
    name, advisor = _model(sqlite_uri)
    spellings = ["2026-03-01", "2026-03-01T00:00:00+00:00", "2026-02-28T19:00:00-05:00"]
    recs = [_advise(advisor, label, seed=i) for i, label in enumerate(spellings)]
    assert {rec.window for rec in recs} == {"2026-03-01"}
    assert _windows(sqlite_uri, name) == [(0, "2026-03-01")]
    assert [h["advice_id"] for h in advisor.history()] == [recs[-1].advice_id]


def test_record_of_a_window_never_advised_takes_its_place_in_time(sqlite_uri: str) -> None:
    name, advisor = _model(sqlite_uri)
    for day, seed in (("2026-01-02", 2), ("2026-01-03", 3)):
        _advise(advisor, day, seed=seed)
    frame = make_frame(seed=1)
    predictions = predictions_with_error(frame[TARGET], 0.1, seed=1)
    advisor.record(frame, labels=TARGET, predictions=predictions, window="2026-01-01T00:00Z")
    assert _windows(sqlite_uri, name) == [(0, "2026-01-01"), (1, "2026-01-02"), (2, "2026-01-03")]
    after = _advise(advisor, "2026-01-04", seed=4)
    assert (after.window_seq, after.action) == (3, "keep"), after.reason


def test_labels_that_are_not_times_keep_the_order_of_arrival(sqlite_uri: str) -> None:
    name, advisor = _model(sqlite_uri)
    for label, seed in (("w-c", 1), ("w-a", 2), ("w-b", 3)):
        _advise(advisor, label, seed=seed)
    assert _windows(sqlite_uri, name) == [(0, "w-c"), (1, "w-a"), (2, "w-b")]


def test_the_cli_records_and_advises_on_the_time_axis(sqlite_uri: str, tmp_path) -> None:
    name, advisor = _model(sqlite_uri)
    _advise(advisor, "2026-01-03", seed=3)
    frame = make_frame(seed=1)
    frame["pred"] = predictions_with_error(frame[TARGET], 0.1, seed=1).astype("int64")
    data = tmp_path / "window.parquet"
    frame.to_parquet(data, index=False)
    common = ["--data", str(data), "--target", TARGET, "--predictions-col", "pred"]
    uri = ["--tracking-uri", sqlite_uri]

    recorded = CliRunner().invoke(
        main, ["record", name, "--window", "2026-01-01T01:00:00+01:00", *common, *uri]
    )
    assert recorded.exit_code == 0, recorded.stderr
    assert recorded.stdout.strip() == "window 2026-01-01: v1 loss 0.1000"
    costs = ["--compute-cost", "100", "--error-cost", "1", "--predictions-per-step", "100"]
    late = CliRunner().invoke(
        main, ["advise", name, "--window", "2026-01-02", "--json", *common, *costs, *uri]
    )
    assert late.exit_code == 0, late.stderr
    assert "late window '2026-01-02'" in json.loads(late.stdout)["reason"]
    assert _windows(sqlite_uri, name) == [(0, "2026-01-01"), (1, "2026-01-02"), (2, "2026-01-03")]


def test_a_history_written_before_labels_were_normalised_reads_as_one_window() -> None:
    def fact(fact_id: str, window: str, written: int) -> dict:
        return {
            "format": 2, "kind": "advice", "id": fact_id, "written_ms": written,
            "window": window, "first_seen_ms": written, "served_version": "1",
            "measured": {"1": 0.1}, "drift": {}, "advice": {"advice_id": fact_id},
        }  # fmt: skip

    rows = assemble(
        [fact("a", "2026-03-01", 10), fact("b", "2026-02-28T19:00:00-05:00", 20),
         fact("c", "2026-01-01T00:00:00+00:00", 30)],
        [],
    )  # fmt: skip
    assert [(r.seq, r.window, r.advice["advice_id"]) for r in rows] == [
        (0, "2026-01-01", "c"),
        (1, "2026-03-01", "b"),  # the newest advice of the window counts
    ]
