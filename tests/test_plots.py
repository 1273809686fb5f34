"""Tests of the advice-history plot: a real, decodable PNG whatever the rows hold."""

from __future__ import annotations

import io
import math
import subprocess
import sys

import matplotlib.image as mpimg
import numpy as np
import pytest

from mlflow_staleness.exceptions import InvalidInputError
from mlflow_staleness.plots import plot_history

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _rows(n: int, *, retrain_every: int = 5) -> list[dict]:
    rows, acc, version = [], 0.0, 1
    for t in range(n):
        cost = 10.0 + 3.0 * (t % retrain_every)
        acc += cost
        action = "retrain" if t % retrain_every == retrain_every - 1 else "keep"
        rows.append(
            {
                "seq": t,
                "window": f"2024-W{t:02d}",
                "cost_per_step": cost,
                "accumulated_cost": acc,
                "action": action,
                "version": str(version),
            }
        )
        if action == "retrain":
            acc, version = 0.0, version + 1
    return rows


def _decode(png: bytes) -> np.ndarray:
    assert png[:8] == PNG_MAGIC
    return mpimg.imread(io.BytesIO(png), format="png")


def _assert_drawn(png: bytes) -> np.ndarray:
    image = _decode(png)
    assert image.ndim == 3
    assert image.shape[:2] == (500, 900)
    assert image.shape[2] in (3, 4)
    assert np.ptp(image[..., :3]) > 0.1, "the image is one flat colour"
    return image


def test_returns_a_decodable_png_with_content():
    png = plot_history(_rows(8), retrain_cost=40.0, currency="EUR", model_name="churn")
    _assert_drawn(png)


def test_empty_rows_still_give_a_png():
    png = plot_history([], retrain_cost=100.0, currency="EUR", model_name="churn")
    image = _assert_drawn(png)
    # The text "no advice yet" sits in the middle: the centre band is not blank.
    centre = image[230:270, 350:550, :3]
    assert np.ptp(centre) > 0.1


def test_nan_and_none_values_are_skipped():
    rows = _rows(10)
    rows[0]["cost_per_step"] = math.nan
    rows[1]["accumulated_cost"] = None
    rows[2]["cost_per_step"] = None
    rows[3]["accumulated_cost"] = float("inf")
    rows[4]["version"] = None  # a retrain window with an unknown version
    rows[5]["version"] = math.nan
    rows[6]["cost_per_step"] = np.float64("nan")
    del rows[7]["accumulated_cost"]
    png = plot_history(rows, retrain_cost=40.0, currency="EUR", model_name="churn")
    _assert_drawn(png)


def test_every_value_missing_still_draws():
    rows = [
        {
            "seq": t,
            "window": f"w{t}",
            "cost_per_step": None,
            "accumulated_cost": math.nan,
            "action": "insufficient-evidence",
            "version": None,
        }
        for t in range(4)
    ]
    _assert_drawn(plot_history(rows, retrain_cost=0.0, currency="EUR", model_name="m"))


def test_a_hundred_windows_draw():
    # how fast is a benchmark's question, not a test's (these machines are noisy)
    png = plot_history(_rows(100), retrain_cost=40.0, currency="USD", model_name="fraud")
    _assert_drawn(png)


@pytest.mark.parametrize(
    "text",
    [
        "$x$",
        "<script>alert(1)</script>",
        "cost $ and $$ and \\$ and $\\frac{1}{0}$",
        "a_b^c {} % & # \\",
        "emoji 🚀 and CJK 模型",
        "multi\nline\ttab",
    ],
)
def test_any_characters_in_user_text(text):
    rows = _rows(6)
    for row in rows:
        row["window"] = f"{text} {row['seq']}"
        row["version"] = f"{text}{row['version']}"
    png = plot_history(rows, retrain_cost=40.0, currency=text, model_name=text)
    _assert_drawn(png)
    # And in the empty picture's title.
    _assert_drawn(plot_history([], retrain_cost=1.0, currency=text, model_name=text))


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf, -math.inf, None, "100", True])
def test_invalid_retrain_cost_is_refused(bad):
    with pytest.raises(InvalidInputError, match="retrain_cost must be a finite number >= 0"):
        plot_history(_rows(3), retrain_cost=bad, currency="EUR", model_name="churn")


def test_invalid_retrain_cost_is_refused_even_without_rows():
    with pytest.raises(InvalidInputError, match="retrain_cost"):
        plot_history([], retrain_cost=-5, currency="EUR", model_name="churn")


def test_non_numeric_cost_is_refused():
    rows = _rows(3)
    rows[1]["cost_per_step"] = "lots"
    with pytest.raises(InvalidInputError, match=r"rows\[1\]\['cost_per_step'\]"):
        plot_history(rows, retrain_cost=1.0, currency="EUR", model_name="churn")


def test_rows_must_be_mappings():
    with pytest.raises(InvalidInputError, match=r"rows\[0\] must be a mapping"):
        plot_history([("a", 1)], retrain_cost=1.0, currency="EUR", model_name="churn")


def test_writes_to_path(tmp_path):
    target = tmp_path / "history.png"
    png = plot_history(_rows(7), retrain_cost=40.0, currency="EUR", model_name="churn", path=target)
    assert target.read_bytes() == png
    _assert_drawn(target.read_bytes())
    # A str path works too.
    other = tmp_path / "again.png"
    assert plot_history([], retrain_cost=1.0, currency="EUR", model_name="m", path=str(other))
    assert other.read_bytes()[:8] == PNG_MAGIC


def test_integer_and_numpy_numbers_are_accepted():
    rows = _rows(4)
    rows[0]["cost_per_step"] = 3
    rows[1]["accumulated_cost"] = np.float32(12.5)
    rows[2]["cost_per_step"] = np.int64(7)
    _assert_drawn(plot_history(rows, retrain_cost=np.float64(20), currency="EUR", model_name="m"))


def test_does_not_touch_pyplot_or_import_mlflow():
    code = (
        "import sys; import mlflow_staleness.plots as p; "
        "p.plot_history([], retrain_cost=1.0, currency='EUR', model_name='m'); "
        "assert 'mlflow' not in sys.modules, 'mlflow imported'; "
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
