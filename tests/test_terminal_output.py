"""Nothing from data reaches the terminal as a control sequence (issue 11, defect 7).

Column names, category values, model names and file names are data; an ESC (colour, cursor,
OSC title), a C1 control (CSI is 0x9b), a bell, a newline or a bidirectional override in one is
printed as a visible escape (``\\x1b``) on stdout and stderr, in results and in errors alike.
``--json`` output is JSON with every non-ASCII character escaped.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from bad_inputs import LABEL, PRED, reference_frame, window_frame
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from registry_helpers import register_version, unique_name

from mlflow_staleness import CostModel
from mlflow_staleness._terminal import terminal_safe
from mlflow_staleness.cli import main

#: Everything a terminal acts on: C0 (but newline), DEL, C1, line separators, bidi controls.
RAW_CONTROL = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
OSC_TITLE = "\x1b]0;pwned\x07"
COLOUR = "\x1b[31mRED\x1b[0m"
CSI_C1 = "\x9b2J"
BIDI = "\u202egnp.exe"
COST = CostModel(compute_cost=100, error_cost=1.0, predictions_per_step=100, currency="EUR")


def _clean(text: str) -> None:
    found = RAW_CONTROL.findall(text)
    assert not found, f"raw control characters {found!r} in {text!r}"


def _run(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, args)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def hostile_model(sqlite_uri: str) -> str:
    """A model whose reference has a column with an OSC sequence in its name."""
    name = unique_name("term")
    reference = reference_frame().rename(columns={"x3": f"x3{OSC_TITLE}"})
    register_version(sqlite_uri, name, reference, target=LABEL, alias="champion", log_model=False)
    return name


def test_advice_output_escapes_column_and_category_names(
    sqlite_uri: str, hostile_model: str, tmp_path: Path
) -> None:
    frame = window_frame().rename(columns={"x3": f"x3{OSC_TITLE}"})
    frame["plan"] = [COLOUR, CSI_C1, BIDI, "free"] * (len(frame) // 4)
    data = tmp_path / "window.parquet"
    frame.to_parquet(data)
    code, out, err = _run(
        ["advise", hostile_model, "--data", str(data), "--target", LABEL,
         "--predictions-col", PRED, "--tracking-uri", sqlite_uri, "--window", "w1",
         "--retrain-cost", "100", "--error-cost", "1", "--predictions-per-step", "100"]
    )  # fmt: skip
    assert code == 0, err
    _clean(out)
    _clean(err)
    assert "\\x1b[31mRED" in out  # the unseen category, shown as an escape


def test_an_error_naming_a_hostile_column_is_one_clean_line(
    sqlite_uri: str, hostile_model: str, tmp_path: Path
) -> None:
    data = tmp_path / "window.parquet"
    window_frame().to_parquet(data)  # no "x3<OSC>" column: the error names it
    code, _, err = _run(
        ["advise", hostile_model, "--data", str(data), "--target", LABEL,
         "--predictions-col", PRED, "--tracking-uri", sqlite_uri, "--window", "w1",
         "--retrain-cost", "100", "--error-cost", "1", "--predictions-per-step", "100"]
    )  # fmt: skip
    assert code == 1
    [line] = err.strip().splitlines()
    _clean(line)
    assert "x3\\x1b]0;pwned\\x07" in line


def test_a_usage_error_echoing_a_hostile_option_is_escaped() -> None:
    code, _, err = _run(["advise", "m", "--data", "d.csv", f"--bogus{COLOUR}"])
    assert code == 2
    _clean(err)
    assert "\\x1b[31m" in err


def test_json_output_has_no_raw_control_characters(tmp_path: Path) -> None:
    frame = pd.DataFrame({f"a{OSC_TITLE}": [COLOUR, CSI_C1, BIDI], "n\nl": [1.0, 2.0, 3.0]})
    data = tmp_path / "hostile.parquet"
    frame.to_parquet(data)
    code, out, err = _run(["fingerprint", str(data)])
    assert code == 0, err
    _clean(out)
    _clean(err)
    assert set(json.loads(out)["columns"][0]) >= {"name", "values"}
    assert json.loads(out)["columns"][0]["name"] == f"a{OSC_TITLE}"


def test_a_hostile_file_name_in_the_progress_line_is_escaped(tmp_path: Path) -> None:
    data = tmp_path / f"x{COLOUR}.csv"
    data.write_text("a,b\n1,2\n", encoding="utf-8")
    code, _, err = _run(["-v", "fingerprint", str(data)])
    assert code == 0, err
    _clean(err.replace("\r", ""))


# ---------------------------------------------------------------------------------- properties
CONTROLS = st.sampled_from(
    ["\x1b", "\x07", "\x9b", "\x85", "\x00", "\x7f", "\r", "\t", "\n", "\u202e", "\u2028"]
)
HOSTILE_TEXT = st.lists(st.one_of(CONTROLS, st.text(max_size=4)), max_size=12).map("".join)


@settings(max_examples=500, deadline=None)
@given(text=HOSTILE_TEXT)
def test_terminal_safe_leaves_no_control_character_and_keeps_plain_text(text: str) -> None:
    safe = terminal_safe(text)
    _clean(safe)
    assert "\n" not in safe
    if not RAW_CONTROL.search(text) and "\n" not in text:
        assert safe == text


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(names=st.lists(HOSTILE_TEXT.filter(bool), min_size=1, max_size=3, unique=True),
       value=HOSTILE_TEXT)  # fmt: skip
def test_the_cli_never_prints_a_control_character_from_column_names_or_values(
    tmp_path: Path, names: list[str], value: str
) -> None:
    data = tmp_path / "data.parquet"
    frame = pd.DataFrame({name: [value, "x"] for name in names})
    frame.to_parquet(data)
    code, out, err = _run(["fingerprint", str(data), "--exclude", names[0]])
    _clean(out)
    _clean(err)
    assert code in (0, 1), err
