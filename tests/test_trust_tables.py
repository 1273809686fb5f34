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
``registry_helpers.snapshot`` before and after every refusal; one case against a real
``mlflow server`` (``counting_proxy``: the oversized history is never downloaded), and one on a
local Spark. The file is in ``QUICK_EXCLUDED`` (it starts a server).
"""

from __future__ import annotations

import json
import os
import re
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import numpy as np
import pandas as pd
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
from mlflow_staleness.data_files import fingerprint_file
from mlflow_staleness.exceptions import InvalidInputError
from mlflow_staleness.fingerprint import DataFingerprint, distance
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


# ---------------------------------------------------------------------------------- bounded reads
#: Peak memory a refused read may reach in a subprocess (the CLI with MLflow imported takes
#: about 200 MB before it reads anything; parsing a 39 MB history took 1.2 GB before the bound).
MEMORY_BOUND_MB = 400


def _advised(uri: str) -> tuple[str, Advisor, str]:
    """A model advised on two windows; its advisor run id."""
    name, advisor = _model(uri)
    for seed, label in enumerate(["w1", "w2"], start=1):
        _advise(advisor, label, seed=seed)
    run_id = RegistryReader(client_for(uri)).advisor_state(name).run_id
    return name, advisor, run_id


def _plant(uri: str, run_id: str, path: str, payload: bytes, tmp_path) -> None:
    """Replace the artifact ``path`` of the run with ``payload`` (as anyone with write access
    to the run could)."""
    folder, _, file_name = path.rpartition("/")
    local = tmp_path / "plant" / file_name
    local.parent.mkdir(exist_ok=True)
    local.write_bytes(payload)
    client_for(uri).log_artifact(run_id, str(local), artifact_path=folder or None)


def _big_history(name: str, megabytes: int) -> bytes:
    """A ``history.json`` cache of the advisor's own format, ``megabytes`` large (as text: the
    test itself stays small)."""
    entry = (
        '"a{i:08d}": {{"format": 2, "kind": "advice", "id": "a{i:08d}", "written_ms": 1, '
        '"window": "w", "first_seen_ms": 1, "served_version": "1", "measured": {{"1": 0.1}}, '
        '"drift": {{"1": 0.01}}, "advice": {{"advice_id": "a{i:08d}", "reason": "{pad}"}}}}'
    )
    count = megabytes * 1_000_000 // 300 + 1
    entries = ",\n".join(entry.format(i=i, pad="x" * 80) for i in range(count))
    head = json.dumps({"format": 2, "model": name, "measurement": {}})[:-1]
    return f'{head}, "advice": {{{entries}}}}}'.encode()


_MEASURED_CLI = """
import runpy, sys
sys.argv = ["mlflow-staleness", *sys.argv[1:]]
try:
    runpy.run_module("mlflow_staleness.cli", run_name="__main__")
finally:
    # VmHWM: the peak resident memory of this program (ru_maxrss would include the memory of
    # the test process it was forked from)
    status = open("/proc/self/status").read().split("VmHWM:")[1].split()[0]
    print(f"peak-rss-mb {int(status) // 1024}", file=sys.stderr)
"""


def _cli_measured(*args: str) -> tuple[int, str, int]:
    """Run the CLI in a subprocess: exit code, its stderr without the measurement, peak MB."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", _MEASURED_CLI, *args], capture_output=True, text=True, timeout=300
    )
    lines = result.stderr.strip().splitlines()
    peak = int(lines[-1].split()[-1])
    return result.returncode, "\n".join(lines[:-1]), peak


def test_an_oversized_history_is_refused_before_it_is_parsed(sqlite_uri, tmp_path) -> None:
    name, advisor, run_id = _advised(sqlite_uri)
    payload = _big_history(name, 39)
    assert len(payload) > 39_000_000
    _plant(sqlite_uri, run_id, "history.json", payload, tmp_path)
    before = snapshot(sqlite_uri, name)
    expected = (
        rf"history.json of the advisor run {run_id} is {len(payload):,} bytes, more than the "
        rf"16,777,216 bytes the advisor reads; it was not parsed\. If the advisor wrote it .*"
        rf"set MLFLOW_STALENESS_MAX_HISTORY_BYTES above its size; else it was replaced: delete "
        rf"the advisor run \(mlflow runs delete --run-id {run_id}\) to start a new history"
    )
    for call in (advisor.history, advisor.report, lambda: _advise(advisor, "w3", seed=3)):
        with pytest.raises(InvalidInputError, match=expected):
            call()
    code, stderr, peak = _cli_measured("history", name, "--tracking-uri", sqlite_uri)
    assert code == 1, stderr
    assert len(stderr.splitlines()) == 1, stderr
    assert re.search(expected, stderr), stderr
    assert peak < MEMORY_BOUND_MB, f"{peak} MB"
    out = CliRunner().invoke(main, ["report", name, "--out", str(tmp_path / "r.html"),
                                    "--tracking-uri", sqlite_uri])  # fmt: skip
    assert out.exit_code == 1, out.stderr
    assert re.search(expected, out.stderr), out.stderr
    assert not (tmp_path / "r.html").exists()
    assert snapshot(sqlite_uri, name) == before


def test_a_history_over_the_limit_the_environment_sets_is_refused(
    sqlite_uri, tmp_path, monkeypatch
) -> None:
    name, advisor, _ = _advised(sqlite_uri)
    before = snapshot(sqlite_uri, name)
    monkeypatch.setenv("MLFLOW_STALENESS_MAX_HISTORY_BYTES", "100")
    with pytest.raises(InvalidInputError, match=r"history\.json .* more than the 100 bytes"):
        advisor.history()
    monkeypatch.setenv("MLFLOW_STALENESS_MAX_HISTORY_BYTES", "lots")
    out = CliRunner().invoke(main, ["history", name, "--tracking-uri", sqlite_uri])
    assert out.exit_code == 1
    assert out.stderr.strip() == (
        "error: MLFLOW_STALENESS_MAX_HISTORY_BYTES must be a whole number of bytes above 0, "
        "got 'lots'; unset it to use the default of 16,777,216"
    )
    monkeypatch.setenv("MLFLOW_STALENESS_MAX_HISTORY_BYTES", str(50 * 1024 * 1024))
    assert [h["window"] for h in advisor.history()] == ["w1", "w2"]
    assert snapshot(sqlite_uri, name) == before


def test_an_over_nested_history_is_refused_before_it_is_parsed(sqlite_uri, tmp_path) -> None:
    name, advisor, run_id = _advised(sqlite_uri)
    _plant(sqlite_uri, run_id, "history.json", b"[" * 200_000 + b"]" * 200_000, tmp_path)
    before = snapshot(sqlite_uri, name)
    expected = rf"history\.json of the advisor run {run_id} is nested 200000 deep, more than the 16"
    with pytest.raises(InvalidInputError, match=expected):
        advisor.history()
    out = CliRunner().invoke(main, ["history", name, "--tracking-uri", sqlite_uri])
    assert out.exit_code == 1, out.stderr
    assert re.search(expected, out.stderr), out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert snapshot(sqlite_uri, name) == before


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b'{"x": "' + b"y" * 2_000_000 + b'"}', r"is 2,000,009 bytes, more than the 1,048,576"),
        (b"{" + b'"a":{' * 5000 + b"}" * 5001, r"is nested 5001 deep, more than the 16 levels"),
    ],
    ids=["oversized", "over-nested"],
)
def test_a_damaged_advice_fact_is_refused_before_it_is_parsed(
    sqlite_uri, tmp_path, payload, expected
) -> None:
    name, advisor, run_id = _advised(sqlite_uri)
    advice_id = advisor.history()[-1]["advice_id"]
    _plant(sqlite_uri, run_id, "history.json", b"{}", tmp_path)  # the cache misses it: a download
    _plant(sqlite_uri, run_id, f"advice/{advice_id}.json", payload, tmp_path)
    before = snapshot(sqlite_uri, name)
    where = rf"advice/{advice_id}\.json of the advisor run {run_id} "
    way = r"restore it, or delete the advisor run \(mlflow runs delete --run-id "
    with pytest.raises(InvalidInputError, match=where + expected + ".*" + way):
        advisor.history()
    code, stderr, peak = _cli_measured("history", name, "--tracking-uri", sqlite_uri)
    assert code == 1, stderr
    assert len(stderr.splitlines()) == 1, stderr
    assert re.search(where + expected + ".*" + way, stderr), stderr
    assert peak < MEMORY_BOUND_MB, f"{peak} MB"
    out = CliRunner().invoke(
        main, ["advise", name, "--window", "w3", "--data", str(_window_file(tmp_path)),
               "--target", TARGET, "--predictions-col", "pred", *COSTS,
               "--tracking-uri", sqlite_uri],
    )  # fmt: skip
    assert out.exit_code == 1, out.stderr
    assert re.search(where + expected, out.stderr), out.stderr
    assert snapshot(sqlite_uri, name) == before


def _window_file(tmp_path):
    frame = make_frame(seed=3)
    frame["pred"] = predictions_with_error(frame[TARGET], 0.1, seed=3).astype("int64")
    path = tmp_path / "window.parquet"
    frame.to_parquet(path, index=False)
    return path


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("[" * 50_000 + "]" * 50_000, r"is 100,000 bytes, more than the 16,384 bytes"),
        ('{"s":' * 2000 + "1" + "}" * 2000, r"is nested 2000 deep, more than the 16 levels"),
    ],
    ids=["oversized", "over-nested"],
)
def test_a_damaged_settings_document_is_refused_in_one_line(sqlite_uri, value, expected) -> None:
    name, advisor = _model(sqlite_uri)
    client_for(sqlite_uri).set_registered_model_tag(name, "staleness.config", value)
    before = snapshot(sqlite_uri, name)
    message = r"the model's stored settings \(tag staleness\.config\) " + expected
    way = r".*configure MODEL --reset` and configure again"
    with pytest.raises(InvalidInputError, match=message + way):
        advisor.configure({"currency": "USD"})
    out = CliRunner().invoke(main, ["configure", name, "--currency", "USD",
                                    "--tracking-uri", sqlite_uri])  # fmt: skip
    assert out.exit_code == 1, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert re.search(message, out.stderr), out.stderr
    assert snapshot(sqlite_uri, name) == before


# ---------------------------------------------------------------------------------- configure
def test_configure_prints_what_it_stores_one_document_in_one_tag(sqlite_uri) -> None:
    """``configure`` names the one tag it writes and the settings that document holds, exactly;
    a dry run prints the same and writes nothing."""
    name, _ = _model(sqlite_uri)
    args = ["configure", name, "--retrain-cost", "800", "--error-cost", "2", "--currency", "EUR"]
    before = snapshot(sqlite_uri, name)
    dry = CliRunner().invoke(main, [*args, "--dry-run", "--tracking-uri", sqlite_uri])
    assert dry.exit_code == 0, dry.stderr
    assert snapshot(sqlite_uri, name) == before
    out = CliRunner().invoke(main, [*args, "--tracking-uri", sqlite_uri])
    assert out.exit_code == 0, out.stderr
    tags = snapshot(sqlite_uri, name)["model"]["tags"]
    assert [k for k in tags if k.startswith("staleness.config")] == ["staleness.config"]
    document = json.loads(tags["staleness.config"])
    assert out.stderr.strip() == (
        f"stored on registered model {name!r} as one tag, staleness.config (a JSON document, "
        f"revision {document['revision']}), holding:"
    )
    assert dry.stderr.strip() == out.stderr.strip().replace("stored", "would store", 1)
    shown = dict(line.strip().split(" = ", 1) for line in out.stdout.splitlines())
    assert shown == {k: str(v) for k, v in document["settings"].items()}
    assert dry.stdout == out.stdout
    assert "staleness.config." not in out.stdout + out.stderr  # no per-key tags are written


# ---------------------------------------------------------------------------------- decimals
NUMPY_TYPES = [
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16",
    "UInt32", "UInt64", "Float32", "Float64",
]  # fmt: skip
#: (precision, scale) of the decimals generated: money, rates, the widest decimal128 and a
#: decimal256 beyond it (Spark holds up to 38 digits).
DECIMALS = [(12, 2), (9, 6), (38, 0), (38, 10), (50, 4)]


def _dtype_values(draw, dtype: str, n: int) -> list:
    if dtype.lower().startswith(("int", "uint")):
        info = np.iinfo(dtype.lower())
        return draw(st.lists(st.integers(int(info.min), int(info.max)), min_size=n, max_size=n))
    bits = {"float16": 16, "float32": 32}.get(dtype.lower(), 64)
    floats = st.floats(allow_nan=False, allow_infinity=False, width=bits)
    return draw(st.lists(floats, min_size=n, max_size=n))


@st.composite
def numeric_columns(draw) -> tuple[str, pd.Series, np.ndarray]:
    """A column of one numeric type pandas or Arrow holds, with missing values where the type
    allows them; and its values as float64 (what every path must summarise)."""
    import pyarrow as pa

    n = draw(st.integers(1, 40))
    kind = draw(st.sampled_from(["numpy", "decimal-object", "decimal-arrow"]))
    if kind == "numpy":
        dtype = draw(st.sampled_from(NUMPY_TYPES))
        values = _dtype_values(draw, dtype, n)
        series = pd.Series(values, dtype=dtype.lower())
        if dtype[0].isupper():  # nullable: some missing
            series = series.astype(dtype)
            missing = draw(st.lists(st.booleans(), min_size=n, max_size=n))
            series[np.array(missing)] = pd.NA
        floats = series.astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)
        return dtype, series, floats
    precision, scale = draw(st.sampled_from(DECIMALS))
    digits = st.integers(-(10 ** min(precision, 30)) + 1, 10 ** min(precision, 30) - 1)
    values = [
        None if missing else Decimal(v).scaleb(-scale)
        for v, missing in zip(
            draw(st.lists(digits, min_size=n, max_size=n)),
            draw(st.lists(st.booleans(), min_size=n, max_size=n)),
            strict=True,
        )
    ]
    floats = np.array([np.nan if v is None else float(v) for v in values])
    if kind == "decimal-object":
        return f"Decimal({precision}, {scale})", pd.Series(values, dtype=object), floats
    arrow = pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)
    series = pd.Series(pa.array(values, arrow), dtype=pd.ArrowDtype(arrow))
    return str(arrow), series, floats


def _agree(found: DataFingerprint, floats: np.ndarray, where: str, *, rel: float = 0.0) -> None:
    """``found`` summarises ``floats`` as the float64 column does: a number, the same counts,
    the same quantiles (``rel``: a text round trip may move a float32 in its last digit)."""
    expected = DataFingerprint.from_frame(pd.DataFrame({"x": floats}))
    column, want = found.columns["x"], expected.columns["x"]
    if np.isnan(floats).all():  # no value, no type evidence (merging ignores such a column's)
        assert column.n_missing == column.n_rows == len(floats), where
        return
    assert column.kind == "numeric", f"{where}: {column.kind} ({column.dtype})"
    assert (column.n_rows, column.n_missing, column.n_inf) == (
        want.n_rows,
        want.n_missing,
        want.n_inf,
    ), where
    if want.n_finite:
        q = np.linspace(0, 1, 11)
        np.testing.assert_allclose(found.quantile("x", q), expected.quantile("x", q), rtol=rel)
        assert distance(expected, found).score <= 1e-6, where


@settings(max_examples=150, deadline=None)
@given(column=numeric_columns())
def test_every_numeric_type_is_a_number_on_the_pandas_parquet_and_csv_paths(
    tmp_path_factory, column
) -> None:
    label, series, floats = column
    frame = pd.DataFrame({"x": series})
    _agree(DataFingerprint.from_frame(frame), floats, f"pandas {label}")
    folder = tmp_path_factory.mktemp("numbers")
    if label != "float16":  # Parquet has no float16 pandas writes
        frame.to_parquet(folder / "x.parquet", index=False)
        _agree(fingerprint_file(folder / "x.parquet")[0], floats, f"Parquet {label}")
    if not np.isnan(floats).all():  # an all-empty CSV column has no type to read
        frame.to_csv(folder / "x.csv", index=False)
        # pandas writes a float32 in its own shortest text (4.986395e+07 for 49863952), which is
        # another float64: the file holds those numbers, so the file path must summarise them
        text = pd.read_csv(folder / "x.csv", dtype=str, keep_default_na=False)["x"]
        written = np.array([float(t) if t else np.nan for t in text])
        _agree(fingerprint_file(folder / "x.csv")[0], written, f"CSV {label}")


def test_decimal_money_drifts_as_floats_do_not_as_categories(tmp_path) -> None:
    """The issue's case: a money column as Python ``Decimal`` values, as Parquet ``decimal128``
    and as pandas' Arrow decimal, on the same distribution, drifts as little as floats do."""
    import pyarrow as pa

    rng = np.random.default_rng(7)
    a, b = (np.round(rng.normal(120, 15, 3000), 2) for _ in range(2))
    floats = distance(*(DataFingerprint.from_frame(pd.DataFrame({"x": v})) for v in (a, b)))
    assert floats.score < 0.1

    def decimals(values):
        return [Decimal(f"{v:.2f}") for v in values]

    objects = [DataFingerprint.from_frame(pd.DataFrame({"x": decimals(v)})) for v in (a, b)]
    arrow = pd.ArrowDtype(pa.decimal128(38, 2))
    arrows = [
        DataFingerprint.from_frame(pd.DataFrame({"x": pd.Series(decimals(v), dtype=arrow)}))
        for v in (a, b)
    ]
    pa_table = pa.table({"x": pa.array(decimals(b), pa.decimal128(38, 2))})
    import pyarrow.parquet as pq

    pq.write_table(pa_table, tmp_path / "b.parquet")
    from_file = fingerprint_file(tmp_path / "b.parquet")[0]
    for reference, current in [objects, arrows, (objects[0], from_file), (arrows[0], from_file)]:
        assert reference.columns["x"].kind == current.columns["x"].kind == "numeric"
        assert distance(reference, current).score == pytest.approx(floats.score, abs=1e-9)


def test_a_column_of_decimals_mixed_with_text_stays_a_category() -> None:
    """Only columns of numbers are numbers: one text value keeps the column categorical."""
    frame = pd.DataFrame({"x": [Decimal("1.5"), "n/a", Decimal("2")] * 10})
    assert DataFingerprint.from_frame(frame).columns["x"].kind == "categorical"
    huge = pd.DataFrame({"x": [10**400, -(10**400), 5]})  # beyond float64: infinities, counted
    column = DataFingerprint.from_frame(huge).columns["x"]
    assert (column.kind, column.n_inf, column.n_finite) == ("numeric", 2, 1)


SPARK_COLUMNS = {  # Arrow type of each column, as Spark reads it from Parquet
    "byte": "int8", "short": "int16", "int": "int32", "long": "int64", "float": "float32",
    "double": "float64", "money": (12, 2), "wide": (38, 0), "rate": (38, 10),
}  # fmt: skip


# pyspark warns on import of its pandas helpers under pandas 3 (as in tests/test_spark.py); the
# fingerprint goes through mapInArrow, and the test checks the results
@pytest.mark.filterwarnings(
    "ignore:PySpark does not yet fully support pandas >= 3.0.0:FutureWarning"
)
def test_spark_decimals_are_numbers_as_on_the_pandas_and_file_paths(tmp_path) -> None:
    """Spark's ``DecimalType`` (and every Spark number type) gives the same summary as the pandas
    and Parquet paths and as the same values as float64. A small example set: Spark is slow."""
    pytest.importorskip("pyspark", reason="pyspark is not installed (the 'spark' extra)")
    import shutil

    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java runtime for Spark")
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyspark.sql import SparkSession

    from mlflow_staleness.spark import fingerprint_spark

    rng = np.random.default_rng(3)
    n = 500
    arrays, floats = {}, {}
    for name, kind in SPARK_COLUMNS.items():
        if isinstance(kind, tuple):
            precision, scale = kind
            top = 10 ** min(precision, 18)
            digits = rng.integers(-top + 1, top, n).tolist()  # unscaled, up to 38 digits:
            values = [Decimal(d * 10 ** max(0, precision - 18)).scaleb(-scale) for d in digits]
            values[::17] = [None] * len(values[::17])
            arrays[name] = pa.array(values, pa.decimal128(precision, scale))
            floats[name] = np.array([np.nan if v is None else float(v) for v in values])
        else:
            info = np.iinfo(kind) if kind.startswith("int") else None
            raw = rng.integers(info.min, info.max, n) if info else rng.normal(0, 1e3, n)
            arrays[name] = pa.array(raw.astype(kind))
            floats[name] = raw.astype(kind).astype("float64")
    table = pa.table(arrays)
    pq.write_table(table, tmp_path / "numbers.parquet")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("mlflow-staleness-decimals")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    try:
        df = spark.read.parquet(str(tmp_path / "numbers.parquet")).repartition(3)
        assert {f.dataType.typeName() for f in df.schema.fields} >= {"decimal"}
        from_spark = fingerprint_spark(df)
    finally:
        spark.stop()
    from_pandas = DataFingerprint.from_frame(table.to_pandas())
    from_file = fingerprint_file(tmp_path / "numbers.parquet")[0]
    for name in SPARK_COLUMNS:
        for where, found in (("Spark", from_spark), ("pandas", from_pandas), ("file", from_file)):
            column = DataFingerprint(
                n_rows=found.n_rows, columns={"x": found.columns[name]}, top_k=found.top_k
            )
            # Spark merges partition sketches: within the certified rank error, not exactly
            _agree_within(column, floats[name], f"{where} {name}", exact=where != "Spark")


def _agree_within(found: DataFingerprint, floats: np.ndarray, where: str, *, exact: bool) -> None:
    if exact:
        _agree(found, floats, where)
        return
    expected = DataFingerprint.from_frame(pd.DataFrame({"x": floats}))
    column, want = found.columns["x"], expected.columns["x"]
    assert column.kind == "numeric", f"{where}: {column.kind} ({column.dtype})"
    assert (column.n_missing, column.n_inf, column.min, column.max) == (
        want.n_missing,
        want.n_inf,
        want.min,
        want.max,
    ), where
    assert column.mean == pytest.approx(want.mean, rel=1e-9), where
    assert distance(expected, found).score <= 0.02, where


def test_an_oversized_advice_json_is_never_read_and_an_oversized_cost_file_is_refused(
    sqlite_uri, tmp_path
) -> None:
    """``advice.json`` is for people (the advisor reads the facts), so a planted 20 MB one costs
    nothing; a cost file is read only up to its bound."""
    name, advisor, run_id = _advised(sqlite_uri)
    _plant(sqlite_uri, run_id, "advice.json", b"[" * 20_000_000, tmp_path)
    before = snapshot(sqlite_uri, name)
    assert [h["window"] for h in advisor.history()] == ["w1", "w2"]
    costs = tmp_path / "costs.toml"
    costs.write_text("retrain_cost = 100\n" + "# padding\n" * 5000)
    out = CliRunner().invoke(
        main, ["configure", name, "--cost-file", str(costs), "--tracking-uri", sqlite_uri]
    )
    assert out.exit_code == 1, out.stderr
    assert out.stderr.strip() == (
        f"error: cost file {str(costs)!r} is 50,019 bytes, more than the 16,384 bytes the "
        f"advisor reads; it was not parsed. A cost file holds a dozen settings; give the path of "
        f"the right file"
    )
    assert snapshot(sqlite_uri, name) == before


def test_on_a_server_an_oversized_history_is_never_downloaded(counting_proxy, tmp_path) -> None:
    """Against a real ``mlflow server`` (proxied artifacts): the size comes from the artifact
    listing, so the planted 39 MB ``history.json`` is refused without one byte of it fetched."""
    uri = counting_proxy.uri
    name, advisor, run_id = _advised(uri)
    _plant(uri, run_id, "history.json", _big_history(name, 39), tmp_path)
    before = snapshot(uri, name)
    counting_proxy.reset()
    with pytest.raises(InvalidInputError, match=r"history\.json of the advisor run .* bytes, more"):
        advisor.history()
    out = CliRunner().invoke(main, ["history", name, "--tracking-uri", uri])
    assert out.exit_code == 1, out.stderr
    assert "it was not parsed" in out.stderr
    fetched = [path for method, path in counting_proxy.requests if path.endswith("history.json")]
    assert fetched == [], fetched
    assert snapshot(uri, name) == before
