"""scripts/screenshot_ui.py: its page and image checks, and the script end to end.

The browser tests drive Debian's chromium through Playwright (never a downloaded browser) and skip,
saying why, when chromium or the playwright package is absent. The end-to-end test makes a fresh
demo store, serves it with a real ``mlflow server`` and takes the three shots (about 1-2 minutes).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "screenshot_ui.py"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("screenshot_ui", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


shots = _load_script()


def _find_chromium() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def _browser_missing() -> str | None:
    """Why the browser tests cannot run, or None."""
    if _find_chromium() is None:
        return "chromium not found at /usr/bin/chromium nor on PATH"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[ui]')"
    return None


@pytest.fixture(scope="module")
def chromium() -> str:
    reason = _browser_missing()
    if reason:
        pytest.skip(reason)
    path = _find_chromium()
    assert path is not None
    return path


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[object]:
    """One chromium (persistent context, fresh profile, as the script launches it)."""
    from playwright.sync_api import sync_playwright

    with (
        tempfile.TemporaryDirectory(prefix="test-screenshot-ui-") as profile,
        sync_playwright() as playwright,
    ):
        context = shots._launch(playwright, chromium, profile)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    page = browser.new_page()
    try:
        yield page
    finally:
        page.close()


TEXTS = ["staleness.action", "keep v3: stale by 0.01/step; keep"]
TAGS = (
    "<h1>Version 3</h1><table><tr><td>staleness.action</td><td>keep</td></tr>"
    "<tr><td>staleness.reason</td><td>keep v3: stale by 0.01/step;\n keep</td></tr></table>"
)
# What MLflow 3.17's UI renders while loading (copied from its DOM; the sizes come from its CSS).
SPINNERS = {
    "du-bois spin": (
        '<div class="du-bois-light-spin du-bois-light-spin-spinning du-bois-enable-animation" '
        'style="display:inline-block;width:16px;height:20px"><span role="img" '
        'class="anticon du-bois-light-spin-dot du-bois-enable-animation" '
        'style="display:inline-block;width:20px;height:20px;background:#2272b4"></span></div>'
    ),
    "legacy skeleton": (
        '<div class="du-bois-light-skeleton"><h3 class="du-bois-light-skeleton-title" '
        'style="width:300px;height:16px;background:#eee"></h3></div>'
    ),
    "table skeleton": (
        '<div role="status" aria-busy="true" style="width:400px">'
        '<div style="height:8px;background:rgba(31,38,45,.1)"></div></div>'
    ),
    "progress bar": '<div role="progressbar" style="width:200px;height:4px;background:#2272b4">',
}


def _show(page, body: str) -> None:
    page.set_content(f"<!doctype html><html><body>{body}</body></html>")


# ----------------------------------------------------------------------------- check_page
@pytest.mark.parametrize("kind", sorted(SPINNERS))
def test_a_visible_spinner_fails_the_check(page, kind: str) -> None:
    _show(page, TAGS + SPINNERS[kind])
    with pytest.raises(shots.ShotError, match="loading indicator is still visible"):
        shots.check_page(page, TEXTS, timeout=2, what="test page")


def test_the_text_without_a_spinner_passes(page) -> None:
    _show(page, TAGS)
    checks = shots.check_page(page, TEXTS, timeout=5, what="test page")
    assert checks["spinner_absent"] is True
    assert checks["texts_found"] == TEXTS


def test_missing_text_fails_the_check(page) -> None:
    _show(page, TAGS.replace("staleness.action", "staleness.other"))
    with pytest.raises(shots.ShotError, match=r"'staleness.action' not on the page"):
        shots.check_page(page, TEXTS, timeout=2, what="test page")


def test_the_check_waits_for_the_text_and_for_the_spinner_to_go(page) -> None:
    _show(
        page,
        '<div id="content"></div>'
        + SPINNERS["du-bois spin"].replace("<div ", '<div id="spinner" ', 1)
        + "<script>"
        + f"setTimeout(() => {{ document.getElementById('content').innerHTML = {TAGS!r}; }}, 400);"
        + "setTimeout(() => document.getElementById('spinner').remove(), 1500);"
        + "</script>",
    )
    checks = shots.check_page(page, TEXTS, timeout=10, what="test page")
    assert checks["seconds_to_ready"] >= 1.0


@pytest.mark.parametrize(
    "body",
    [
        # MLflow keeps these wrappers around loaded content
        '<div class="du-bois-light-spin-nested-loading"><div class="du-bois-light-spin-container">'
        + TAGS
        + "</div></div>",
        # hidden, or below the viewport (MLflow loads a chart only once it is scrolled into view)
        TAGS + SPINNERS["du-bois spin"].replace("display:inline-block", "display:none", 1),
        TAGS + '<div style="margin-top:3000px">' + SPINNERS["du-bois spin"] + "</div>",
    ],
    ids=["loaded wrappers", "hidden spinner", "spinner below the viewport"],
)
def test_what_is_not_a_visible_spinner(page, body: str) -> None:
    _show(page, body)
    assert shots.check_page(page, TEXTS, timeout=5, what="test page")["spinner_absent"]


def test_text_inside_an_iframe_counts(page) -> None:
    """report.html is shown in an iframe; its text is looked for there too."""
    _show(page, "<h1>report.html</h1><iframe srcdoc='<p>keep v3: stale by 0.01/step; keep</p>'>")
    shots.check_page(page, ["report.html", TEXTS[1]], timeout=5, what="test page")


# ----------------------------------------------------------------------------- check_png
def test_check_png_rejects_a_blank_page(tmp_path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (1400, 1000), "white").save(tmp_path / "blank.png")
    with pytest.raises(shots.ShotError, match="looks blank"):
        shots.check_png(tmp_path / "blank.png")


def test_check_png_rejects_a_mostly_blank_page_and_a_tiny_one(tmp_path: Path) -> None:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (1400, 1000), "white")
    draw = ImageDraw.Draw(image)
    for i in range(40):  # a few small specks of colour: still blank to the eye
        draw.point((i * 10, 5), fill=(i * 6, 0, 0))
    image.save(tmp_path / "specks.png")
    with pytest.raises(shots.ShotError, match="looks blank"):
        shots.check_png(tmp_path / "specks.png")
    Image.new("RGB", (40, 30), "white").save(tmp_path / "tiny.png")
    with pytest.raises(shots.ShotError, match="too small"):
        shots.check_png(tmp_path / "tiny.png")


def test_check_png_accepts_a_chart(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 5))
    axes.plot([0, 1, 2, 3], [0.2, 0.25, 0.4, 0.21], marker="o")
    axes.set_title("staleness.cost_per_step")
    figure.savefig(tmp_path / "chart.png")
    plt.close(figure)
    checks = shots.check_png(tmp_path / "chart.png")
    assert checks["colours"] >= 16


# ----------------------------------------------------------------------------- the script
def test_exit_77_without_chromium(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no-chromium"
    code = shots.main(["--out", str(tmp_path / "out"), "--chromium", str(missing)])
    assert code == 77
    assert f"chromium not found at {missing}" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def _served_reason(database: Path) -> tuple[str, str]:
    """The served version and its staleness.reason tag, read from the store directly."""
    import sqlalchemy.exc

    with warnings.catch_warnings():  # see the sqlite_uri fixture in conftest.py
        warnings.filterwarnings(
            "ignore",
            message=r"The ``noload`` loader strategy is deprecated",
            category=sqlalchemy.exc.SADeprecationWarning,
        )
        import mlflow.store.tracking.sqlalchemy_store  # noqa: F401
    from mlflow import MlflowClient

    from mlflow_staleness.demo import DEMO_MODEL

    uri = f"sqlite:///{database}"
    version = MlflowClient(tracking_uri=uri, registry_uri=uri).get_model_version_by_alias(
        DEMO_MODEL, "champion"
    )
    return str(version.version), version.tags["staleness.reason"]


def test_the_script_end_to_end(chromium: str, tmp_path: Path) -> None:
    out, demo = tmp_path / "out", tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    command = [sys.executable, str(SCRIPT), "--out", str(out), "--demo-dir", str(demo)]
    result = subprocess.run(
        [*command, "--chromium", chromium, "--timeout", "90", "--server-timeout", "120"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "starting mlflow server on 127.0.0.1:" in result.stderr
    assert (demo / "mlflow.db").is_file()  # the demo ran first: its store was absent

    manifest = json.loads((out / "manifest.json").read_text())
    files = ["model-version.png", "advisor-metrics.png", "report.png"]
    assert [s["file"] for s in manifest["shots"]] == files
    for name in files:
        assert shots.check_png(out / name)["colours"] >= 16
    for shot in manifest["shots"]:
        assert shot["checks"]["spinner_absent"] is True
        assert shot["url"].startswith("http://127.0.0.1:")

    version, reason = _served_reason(demo / "mlflow.db")
    page = manifest["shots"][0]
    assert page["path"] == f"/#/models/elec2-price-direction/versions/{version}"
    text = re.sub(r"\s+", " ", (out / page["text_file"]).read_text())
    assert "staleness.action" in text
    assert re.sub(r"\s+", " ", reason) in text
    assert manifest["shots"][1]["path"].endswith("/model-metrics")
    assert manifest["shots"][2]["path"].endswith("/artifacts/report.html")
    report = re.sub(r"\s+", " ", (out / "report.txt").read_text())
    assert re.sub(r"\s+", " ", reason) in report
