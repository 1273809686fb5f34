"""Screenshots of the advice in the MLflow UI, from the demo's store, checked before they are kept.

    python scripts/screenshot_ui.py --out DIR [--demo-dir DIR] [--chromium /usr/bin/chromium]
                                    [--timeout 90] [--server-timeout 60] [--fresh-demo]
                                    [--report-artifact report.html]

Runs the demo first when its store (``DIR/mlflow.db``) is absent, serves that store with a real
``mlflow server`` on a free loopback port, and drives Debian's chromium through Playwright (never
a browser Playwright downloads) to take three PNGs into ``--out``:

- ``model-version.png``: the served version's page (alias ``champion``) with its ``staleness.*``
  tags; the tags table, which MLflow caps at a few rows, is expanded to show them all.
- ``advisor-metrics.png``: the advisor run's "Model metrics" tab (one chart per metric).
- ``report.png``: the advisor run's artifact view with ``report.html`` rendered inline.

Before each shot the page must hold the expected texts (the reason is read from the version's
``staleness.reason`` tag), the network must be idle, and no loading indicator may be visible in the
viewport (see ``SPINNER_SELECTOR``). Each PNG is then checked not to be blank. ``manifest.json``
records, per shot, the URL and the checks passed; ``model-version.txt`` (and one ``.txt`` per
shot) holds the page's rendered text.

Exit codes: 0 done, 1 failed (one line says what and where), 77 chromium or playwright missing.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_NO_BROWSER = 0, 1, 77
LOOPBACK = "127.0.0.1"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
SERVING_ALIAS = "champion"
REPORT_ARTIFACT = "report.html"
VIEWPORT = {"width": 1400, "height": 1000}
MAX_PAGE_HEIGHT = 4000  # the version page grows to fit its tags table, up to this many pixels
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

#: What MLflow 3.17's UI shows while it loads. Its components come from Databricks' "Du Bois"
#: design system, an Ant Design fork whose class prefix is ``du-bois-light-`` (``-dark-`` in dark
#: mode): a spinning ``Spin`` carries ``*-spin-spinning`` with a ``*-spin-dot`` inside (the wrapper
#: classes ``*-spin-container`` / ``*-spin-nested-loading`` stay after loading, so they do not
#: count), legacy skeletons are ``*-skeleton``, table and generic skeletons are
#: ``role="status" aria-busy="true"``, and a few placeholders carry a ``data-testid`` with
#: "loading" or "skeleton" (``mlflow-artifact-view-skeleton``, ``source-model-loading``). An image
#: that has not loaded (or failed to: it would show as a broken icon) counts too.
SPINNER_SELECTOR = ", ".join(
    [
        '[class*="spin-spinning"]',
        '[class*="spin-dot"]',
        '[class*="skeleton" i]',
        '[class*="loading" i]:not([class*="nested-loading"])',
        '[role="progressbar"]',
        '[aria-busy="true"]',
        '[data-testid*="spinner" i]',
        '[data-testid*="loading" i]',
        '[data-testid*="skeleton" i]',
        "img",  # counted only while it has not loaded (or failed to)
    ]
)

# Spinners count only when rendered and inside the viewport: what is outside is not in the shot,
# and MLflow loads a chart only once it is scrolled into view, so one further down spins for ever.
_VISIBLE_SPINNERS_JS = """(selector) => {
  const found = [];
  const width = window.innerWidth, height = window.innerHeight;
  for (const el of document.querySelectorAll(selector)) {
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) continue;
    if (r.bottom <= 0 || r.right <= 0 || r.top >= height || r.left >= width) continue;
    if (el.checkVisibility &&
        !el.checkVisibility({opacityProperty: true, visibilityProperty: true})) continue;
    if (el.tagName === 'IMG' && el.complete && el.naturalWidth > 0) continue;
    const cls = (el.getAttribute('class') || '').trim().split(/\\s+/).slice(0, 3).join('.');
    const attrs = ['role', 'aria-busy', 'data-testid']
      .filter(a => el.hasAttribute(a)).map(a => ` ${a}=${el.getAttribute(a)}`).join('');
    found.push(`<${el.tagName.toLowerCase()}${cls ? ' class=' + cls : ''}${attrs}>` +
               ` at (${Math.round(r.left)}, ${Math.round(r.top)})`);
  }
  return found;
}"""

# UI preferences, stored before MLflow's scripts run: no telemetry worker (a SharedWorker whose
# script request never completes for Playwright, so the network would never look idle), no
# assistant panel over the page, and the "Model training" layout rather than the GenAI one.
_UI_PREFERENCES_JS = """try {
  localStorage.setItem('mlflow.settings.telemetry.enabled_v1', 'false');
  localStorage.setItem('mlflow.telemetry.info.alert.dismissed_v1', 'true');
  localStorage.setItem('mlflow.assistant.fab.autoOpenedOnFirstLoad_v1', 'true');
  localStorage.setItem('mlflow.assistant.panelOpen_v1', 'false');
  localStorage.setItem('mlflow.workflowType_v1', JSON.stringify('machine_learning'));
} catch (e) {}"""

# The version page caps its tags table at 280 px with a scroll bar; lift the cap so that every
# staleness.* tag is on the page, and return the height the page needs to show all of it.
_EXPAND_TAGS_JS = """() => {
  const section = document.querySelector('[data-testid="tags-section"]');
  if (!section) return null;
  for (const el of section.querySelectorAll('*')) {
    const style = getComputedStyle(el);
    if (['auto', 'scroll'].includes(style.overflowY) && el.scrollHeight > el.clientHeight) {
      el.style.maxHeight = 'none';
      el.style.overflowY = 'visible';
    }
  }
  const main = section.closest('main') || document.scrollingElement;
  const top = main.getBoundingClientRect().top;
  return Math.ceil(top + main.scrollHeight + 16);
}"""

_IN_VIEW_JS = """(text) => {
  const cells = Array.from(document.querySelectorAll('td, [role=cell], span, div'))
    .filter(el => el.childElementCount === 0 && el.textContent.trim() === text);
  return cells.some(el => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.top >= 0 && r.bottom <= window.innerHeight;
  });
}"""


class ShotError(RuntimeError):
    """A screenshot could not be taken or did not pass its checks."""


class BrowserMissingError(ShotError):
    """Chromium or the playwright package is not there (exit code 77)."""


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# ----------------------------------------------------------------------------- the MLflow server
def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"


# urllib would otherwise honour HTTP(S)_PROXY for loopback addresses.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class MlflowServer:
    """``mlflow server`` (this interpreter's MLflow) on a free loopback port over a SQLite store.

    Its output goes to ``log_path``; it runs in its own process group, which ``stop()`` ends.
    Telemetry is off (``MLFLOW_DISABLE_TELEMETRY``, ``DO_NOT_TRACK``).
    """

    def __init__(
        self, database: Path, artifacts: Path, log_path: Path, *, startup_timeout: float = 60.0
    ) -> None:
        self.database = database.resolve()
        self.artifacts = artifacts.resolve()
        self.log_path = log_path
        self.startup_timeout = startup_timeout
        self.port = free_port()
        self.uri = f"http://{LOOPBACK}:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.startup_seconds: float | None = None

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            f"sqlite:///{self.database}",
            "--artifacts-destination",
            str(self.artifacts),
            "--host",
            LOOPBACK,
            "--port",
            str(self.port),
            "--workers",
            "1",
        ]

    def start(self) -> MlflowServer:
        env = dict(os.environ)
        env.pop("MLFLOW_TRACKING_URI", None)
        env.update(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command(),
                cwd=self.log_path.parent,  # whatever the server writes relative to CWD stays here
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: stop() takes the workers down too
            )
        try:
            self._wait_healthy(started)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def _wait_healthy(self, started: float) -> None:
        assert self.process is not None
        while True:
            code = self.process.poll()
            if code is not None:
                raise ShotError(
                    f"mlflow server exited with code {code} before answering /health "
                    f"(log: {self.log_path})"
                )
            with (
                contextlib.suppress(urllib.error.URLError, OSError, http.client.HTTPException),
                _DIRECT.open(f"{self.uri}/health", timeout=2) as response,
            ):
                if response.status == 200:
                    return
            if time.monotonic() - started > self.startup_timeout:
                raise ShotError(
                    f"mlflow server did not answer {self.uri}/health within "
                    f"{self.startup_timeout:.0f} s (log: {self.log_path})"
                )
            time.sleep(0.25)

    def stop(self, timeout: float = 15.0) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        # the leader is gone; make sure no worker of its group outlives it
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)

    def __enter__(self) -> MlflowServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ----------------------------------------------------------------------------- the demo's store
def ensure_demo(folder: Path, *, fresh: bool = False) -> tuple[Path, bool]:
    """The demo's SQLite file under ``folder``; runs the demo first when it is absent (or
    ``fresh``). Returns the file and whether the demo ran."""
    database = folder / "mlflow.db"
    if database.is_file() and not fresh:
        return database.resolve(), False
    from mlflow_staleness.demo import run_demo
    from mlflow_staleness.exceptions import InvalidInputError

    say(f"running the demo into {folder} (about 20 s) ...")
    try:
        result = run_demo(folder, say=lambda line: say(f"  demo: {line}"))
    except InvalidInputError as exc:
        raise ShotError(
            f"cannot make the demo store in {str(folder)!r} (--demo-dir): {exc}"
        ) from exc
    return Path(result.tracking_uri[len("sqlite:///") :]).resolve(), True


@dataclass
class Targets:
    """What the shots show, read from the server with MlflowClient."""

    model: str
    version: str
    action: str
    reason: str
    experiment_id: str
    run_id: str
    run_name: str
    artifacts: list[str]
    report_reason: str  # the reason of the latest advice, the one report.html holds
    metrics: list[str] = field(default_factory=list)


def find_targets(tracking_uri: str, model: str) -> Targets:
    """The served version of ``model`` (alias ``champion``), its advice, and the advisor run."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from mlflow_staleness.adapter.reading import ADVISOR_RUN, advisor_experiment

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    try:
        served = client.get_model_version_by_alias(model, SERVING_ALIAS)
    except MlflowException as exc:
        raise ShotError(f"no version of {model!r} behind alias {SERVING_ALIAS!r}: {exc}") from exc
    versions = client.search_model_versions(f"name = '{model}'")
    advised = [v for v in versions if "staleness.action" in (v.tags or {})]
    if not advised:
        raise ShotError(f"no version of {model!r} has staleness.* tags: was it ever advised?")

    def seq(version: Any) -> tuple[int, int]:
        return int(version.tags.get("staleness.window_seq", -1) or -1), int(version.version)

    latest = max(advised, key=seq)
    if "staleness.action" not in (served.tags or {}):
        say(
            f"  v{served.version} (alias {SERVING_ALIAS}) has no staleness.* tags; showing "
            f"v{latest.version}, the version the latest advice is about"
        )
        served = latest
    experiment = client.get_experiment_by_name(advisor_experiment(model))
    if experiment is None:
        raise ShotError(f"no advisor experiment {advisor_experiment(model)!r} at {tracking_uri}")
    runs = client.search_runs(
        [experiment.experiment_id], filter_string=f"attributes.run_name = '{ADVISOR_RUN}'"
    )
    if not runs:
        raise ShotError(f"no run named {ADVISOR_RUN!r} in experiment {experiment.name!r}")
    run = runs[0]
    return Targets(
        model=model,
        version=str(served.version),
        action=served.tags["staleness.action"],
        reason=served.tags.get("staleness.reason", ""),
        experiment_id=experiment.experiment_id,
        run_id=run.info.run_id,
        run_name=run.info.run_name or ADVISOR_RUN,
        artifacts=sorted(a.path for a in client.list_artifacts(run.info.run_id)),
        report_reason=latest.tags.get("staleness.reason", ""),
        metrics=sorted(run.data.metrics),
    )


# ----------------------------------------------------------------------------- page checks
class NetworkWatch:
    """Requests a page has in flight, from Playwright's request events.

    Used instead of Playwright's ``networkidle``, which also waits for the lifecycle events of
    every subframe: MLflow shows an HTML artifact in a sandboxed ``blob:`` iframe, and that
    frame's load events sometimes never reached Playwright (chromium 156, Playwright 1.65), so
    ``networkidle`` never came: in about half the runs for the report page, with nothing in flight.
    Long-lived streams (event sources, web sockets) and worker scripts, whose request Playwright
    never sees finish, are not counted.
    """

    def __init__(self, page: Any) -> None:
        self.in_flight: dict[int, str] = {}
        self.last_change = time.monotonic()
        page.on("request", self._started)
        page.on("requestfinished", self._ended)
        page.on("requestfailed", self._ended)

    def _started(self, request: Any) -> None:
        if request.resource_type in ("eventsource", "websocket") or request.url.endswith(
            ".worker.js"
        ):
            return
        self.in_flight[id(request)] = request.url
        self.last_change = time.monotonic()

    def _ended(self, request: Any) -> None:
        if self.in_flight.pop(id(request), None) is not None:
            self.last_change = time.monotonic()

    def quiet_for(self) -> float:
        """Seconds since the last request started or ended with none in flight (0 if busy)."""
        return 0.0 if self.in_flight else time.monotonic() - self.last_change


def visible_spinners(page: Any) -> list[str]:
    """Loading indicators rendered inside the viewport of the page or one of its frames."""
    found: list[str] = []
    for frame in page.frames:
        with contextlib.suppress(Exception):  # a frame may go away while we look
            found += frame.evaluate(_VISIBLE_SPINNERS_JS, SPINNER_SELECTOR)
    return found


def frames_loading(page: Any) -> list[str]:
    """Frames of the page whose document has not finished loading."""
    loading = []
    for frame in page.frames:
        with contextlib.suppress(Exception):
            state = frame.evaluate("() => document.readyState")
            if state != "complete":
                loading.append(f"{frame.url[:80]} ({state})")
    return loading


def page_text(page: Any) -> str:
    """The rendered text of the page and of its frames (an inline HTML artifact is an iframe)."""
    parts = []
    for frame in page.frames:
        with contextlib.suppress(Exception):
            parts.append(frame.evaluate("() => document.body ? document.body.innerText : ''"))
    return "\n".join(parts)


def check_page(
    page: Any,
    texts: Sequence[str],
    timeout: float,
    *,
    what: str = "page",
    network: NetworkWatch | None = None,
    settle: float = 0.5,
) -> dict[str, Any]:
    """Wait until ``page`` has finished loading; raise ``ShotError`` if it does not in time.

    Finished means: every text in ``texts`` is in the rendered text (whitespace-insensitive, frames
    included); the network is idle (with ``network``, no request in flight for ``settle`` seconds,
    else Playwright's ``networkidle``); and, on two looks ``settle`` seconds apart, no loading
    indicator is visible in the viewport and every frame's document is complete. Returns what was
    checked.
    """
    started = time.monotonic()
    deadline = started + timeout

    def left() -> float:
        return max(deadline - time.monotonic(), 0.0)

    wanted = [_normalise(t) for t in texts]
    missing = wanted
    while True:
        body = _normalise(page_text(page))
        missing = [t for t in wanted if t not in body]
        if not missing:
            break
        if not left():
            shown = ", ".join(repr(t if len(t) <= 80 else t[:77] + "...") for t in missing)
            raise ShotError(f"{what}: {shown} not on the page after {timeout:.0f} s")
        page.wait_for_timeout(250)

    texts_at = time.monotonic() - started
    if network is None:
        try:
            page.wait_for_load_state("networkidle", timeout=max(left(), 0.001) * 1000)
        except Exception as exc:
            raise ShotError(f"{what}: the network was not idle after {timeout:.0f} s") from exc
    else:
        while network.quiet_for() < settle:
            if not left():
                busy = ", ".join(list(network.in_flight.values())[:3])
                raise ShotError(
                    f"{what}: the network was not idle after {timeout:.0f} s; in flight: "
                    f"{busy or '(none, but never quiet for long)'}"
                )
            page.wait_for_timeout(100)

    idle_at = time.monotonic() - started
    clear_looks = 0
    while True:
        spinners = visible_spinners(page)
        frames = frames_loading(page)
        clear_looks = 0 if spinners or frames else clear_looks + 1
        if clear_looks >= 2:
            break
        if spinners and not left():
            raise ShotError(
                f"{what}: a loading indicator is still visible after {timeout:.0f} s: "
                + "; ".join(spinners[:3])
            )
        if frames and not left():
            raise ShotError(
                f"{what}: a frame is still loading after {timeout:.0f} s: " + "; ".join(frames[:3])
            )
        page.wait_for_timeout(settle * 1000)
    return {
        "texts_found": list(texts),
        "network_idle": True,
        "spinner_absent": True,
        "seconds_to_texts": round(texts_at, 2),
        "seconds_to_network_idle": round(idle_at, 2),
        "seconds_to_ready": round(time.monotonic() - started, 2),
    }


def check_png(
    path: str | os.PathLike[str],
    *,
    min_size: tuple[int, int] = (200, 150),
    min_colours: int = 16,
    max_dominant_share: float = 0.97,
) -> dict[str, Any]:
    """Raise ``ShotError`` unless ``path`` is a PNG of a sensible size that is not blank: at least
    ``min_colours`` distinct colours, and no single colour over ``max_dominant_share`` of it."""
    from PIL import Image

    path = Path(path)
    try:
        with Image.open(path) as image:
            kind = image.format
            rgb = image.convert("RGB")
    except (OSError, ValueError) as exc:
        raise ShotError(f"{path}: not a readable image ({exc})") from exc
    if kind != "PNG":
        raise ShotError(f"{path}: a {kind} image, not a PNG")
    width, height = rgb.size
    if width < min_size[0] or height < min_size[1]:
        raise ShotError(f"{path}: {width}x{height} is too small for a page")
    counts = rgb.getcolors(maxcolors=width * height) or []
    colours = len(counts)
    dominant = max(n for n, _ in counts) / (width * height)
    if colours < min_colours or dominant > max_dominant_share:
        raise ShotError(
            f"{path}: looks blank ({colours} colours, the commonest covers {dominant:.1%})"
        )
    return {
        "width": width,
        "height": height,
        "colours": colours,
        "dominant_colour_share": round(dominant, 4),
    }


# ----------------------------------------------------------------------------- the shots
@dataclass
class Shot:
    file: str
    title: str
    path: str  # the part of the URL after the host, e.g. "/#/models/NAME/versions/3"
    texts: list[str]
    prepare: Callable[[Any, Targets], dict[str, Any]] | None = None
    height: int = VIEWPORT["height"]  # of the viewport


def _quote(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def plan_shots(targets: Targets, report_artifact: str) -> list[Shot]:
    t = targets
    run = f"/#/experiments/{t.experiment_id}/runs/{t.run_id}"
    chart_metrics = ["staleness.accumulated_cost", "staleness.cost_per_step"]
    return [
        Shot(
            "model-version.png",
            "model version page",
            f"/#/models/{_quote(t.model)}/versions/{t.version}",
            [f"Version {t.version}", "staleness.action", "staleness.reason", t.reason],
            prepare=_expand_tags,
        ),
        Shot(
            "advisor-metrics.png",
            "advisor run metrics",
            f"{run}/model-metrics",
            # the legend "<run> (<metric>)" appears once a chart has its data
            [t.run_name, *chart_metrics, *(f"{t.run_name} ({m})" for m in chart_metrics)],
        ),
        Shot(
            "report.png",
            f"advisor run artifact {report_artifact}",
            f"{run}/artifacts/{report_artifact}",
            [report_artifact, *([t.report_reason] if report_artifact.endswith(".html") else [])],
            height=1500,  # the artifact view grows with the window: the report's plot fits too
        ),
    ]


def _expand_tags(page: Any, targets: Targets) -> dict[str, Any]:
    """Show every tag: lift the tags table's height cap and make the viewport as tall as the
    page; then check that staleness.action and staleness.reason are in view."""
    needed = page.evaluate(_EXPAND_TAGS_JS)
    if needed is None:
        raise ShotError("model version page: no tags section ([data-testid=tags-section])")
    height = int(min(max(needed, VIEWPORT["height"]), MAX_PAGE_HEIGHT))
    page.set_viewport_size({"width": VIEWPORT["width"], "height": height})
    page.wait_for_timeout(300)
    in_view = {
        key: page.evaluate(_IN_VIEW_JS, key) for key in ("staleness.action", "staleness.reason")
    }
    if not all(in_view.values()):
        hidden = [k for k, ok in in_view.items() if not ok]
        raise ShotError(f"model version page: tag {', '.join(hidden)} not in view")
    return {"viewport_height": height, "tags_in_view": sorted(in_view)}


def _launch(playwright: Any, chromium: str, profile: str) -> Any:
    return playwright.chromium.launch_persistent_context(
        user_data_dir=profile,
        executable_path=chromium,
        headless=True,
        args=CHROMIUM_ARGS,
        viewport=VIEWPORT,
    )


def take_shots(
    base_url: str,
    targets: Targets,
    out: Path,
    *,
    chromium: str,
    timeout: float,
    report_artifact: str = REPORT_ARTIFACT,
) -> list[dict[str, Any]]:
    """Take, check and record the three shots; return their manifest entries."""
    from playwright.sync_api import sync_playwright

    shots = plan_shots(targets, report_artifact)
    if report_artifact not in targets.artifacts:
        say(f"  note: the advisor run has no {report_artifact}: shot {len(shots)} will fail")
    entries = []
    with (
        tempfile.TemporaryDirectory(prefix="screenshot-ui-profile-") as profile,
        sync_playwright() as playwright,
    ):
        context = _launch(playwright, chromium, profile)
        try:
            context.add_init_script(_UI_PREFERENCES_JS)
            for number, shot in enumerate(shots, 1):
                url = base_url + shot.path
                say(f"shot {number}/{len(shots)} {shot.title} {url} ...")
                if shot.file == "report.png" and report_artifact not in targets.artifacts:
                    raise ShotError(
                        f"{shot.title}: the advisor run {targets.run_id} has no "
                        f"{report_artifact!r} artifact (it has: {', '.join(targets.artifacts)}); "
                        f"a demo store made before the package logged it? rerun with --fresh-demo"
                    )
                try:
                    entry = _take_one(context, shot, url, targets, out, timeout)
                except ShotError:
                    raise
                except Exception as exc:  # Playwright's errors carry a multi-line call log
                    first = (str(exc).strip().splitlines() or [""])[0]
                    raise ShotError(f"{shot.title} ({url}): {type(exc).__name__}: {first}") from exc
                entries.append(entry)
        finally:
            context.close()
    return entries


def _take_one(
    context: Any, shot: Shot, url: str, targets: Targets, out: Path, timeout: float
) -> dict[str, Any]:
    started = time.monotonic()
    what = f"{shot.title} ({url})"
    page = context.new_page()
    try:
        page.set_viewport_size({"width": VIEWPORT["width"], "height": shot.height})
        network = NetworkWatch(page)
        page.goto(url, wait_until="domcontentloaded", timeout=timeout * 1000)
        checks = check_page(page, shot.texts, timeout, what=what, network=network)
        extra = shot.prepare(page, targets) if shot.prepare else {}
        if extra:  # the page changed: look again before the shot
            check_page(page, shot.texts, timeout, what=what, network=network)
        text_file = Path(shot.file).with_suffix(".txt").name
        (out / text_file).write_text(page_text(page), encoding="utf-8")
        page.screenshot(path=str(out / shot.file))
    finally:
        page.close()
    png = check_png(out / shot.file)
    seconds = time.monotonic() - started
    say(
        f"  ok: {shot.file} {png['width']}x{png['height']}, {png['colours']} colours, "
        f"ready after {checks['seconds_to_ready']:.1f} s, {seconds:.1f} s in all"
    )
    return {
        "file": shot.file,
        "title": shot.title,
        "url": url,
        "path": shot.path,
        "text_file": text_file,
        "checks": {**checks, **extra, "png": png},
        "seconds": round(seconds, 2),
    }


# ----------------------------------------------------------------------------- the command
def check_browser(chromium: str) -> None:
    """Raise ``BrowserMissingError`` unless ``chromium`` is an executable and playwright imports."""
    if not (os.path.isfile(chromium) and os.access(chromium, os.X_OK)):
        raise BrowserMissingError(f"chromium not found at {chromium}")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        raise BrowserMissingError(
            f"chromium not found at {chromium}: the playwright package is missing ({exc}); "
            f'pip install -e ".[ui]" (never `playwright install`: it downloads a browser)'
        ) from exc


def parse_args(argv: Iterable[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Screenshots of the advice in the MLflow UI (model version tags, advisor "
        "metrics, the HTML report), checked for loading spinners and blank images."
    )
    parser.add_argument("--out", required=True, type=Path, help="folder for the PNGs")
    parser.add_argument(
        "--demo-dir",
        type=Path,
        default=Path("mlflow-staleness-demo"),
        help="the demo's folder; the demo runs first when DIR/mlflow.db is absent",
    )
    parser.add_argument("--chromium", default=DEFAULT_CHROMIUM, help="the chromium executable")
    parser.add_argument(
        "--timeout", type=float, default=90.0, help="seconds each page may take to load"
    )
    parser.add_argument(
        "--server-timeout",
        type=float,
        default=60.0,
        help="seconds mlflow server may take to answer /health",
    )
    parser.add_argument(
        "--fresh-demo", action="store_true", help="rerun the demo even if its store is there"
    )
    parser.add_argument(
        "--report-artifact",
        default=REPORT_ARTIFACT,
        help="the advisor artifact of the third shot (default: report.html)",
    )
    return parser.parse_args(None if argv is None else list(argv))


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Everything but the exit code; returns the manifest."""
    check_browser(args.chromium)
    # requests (MlflowClient) would otherwise send loopback traffic to a configured proxy
    os.environ["NO_PROXY"] = ",".join(
        filter(None, [os.environ.get("NO_PROXY", ""), LOOPBACK, "localhost"])
    )
    from mlflow_staleness.demo import DEMO_MODEL

    started = time.monotonic()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    database, ran_demo = ensure_demo(args.demo_dir, fresh=args.fresh_demo)
    demo_seconds = time.monotonic() - started
    folder = database.parent
    server = MlflowServer(
        database,
        folder / "artifacts",
        out / "mlflow-server.log",
        startup_timeout=args.server_timeout,
    )
    say(f"starting mlflow server on {LOOPBACK}:{server.port} (log: {server.log_path}) ...")
    try:
        with server:
            say(f"  up after {server.startup_seconds:.1f} s")
            targets = find_targets(server.uri, DEMO_MODEL)
            say(
                f"  {targets.model} v{targets.version} ({SERVING_ALIAS}): {targets.action}; "
                f"advisor run {targets.run_id} in experiment {targets.experiment_id}"
            )
            shots_started = time.monotonic()
            entries = take_shots(
                server.uri,
                targets,
                out,
                chromium=args.chromium,
                timeout=args.timeout,
                report_artifact=args.report_artifact,
            )
            shots_seconds = time.monotonic() - shots_started
            server_seconds = server.startup_seconds
    except BaseException:
        if server.log_path.exists():
            say(f"last lines of {server.log_path}:")
            say("\n".join(f"  | {line}" for line in _tail(server.log_path).splitlines()))
        raise
    import mlflow

    manifest = {
        "mlflow_version": mlflow.__version__,
        "demo_dir": str(folder),
        "demo_ran": ran_demo,
        "model": targets.model,
        "version": targets.version,
        "alias": SERVING_ALIAS,
        "action": targets.action,
        "reason": targets.reason,
        "experiment_id": targets.experiment_id,
        "advisor_run_id": targets.run_id,
        "timings_seconds": {
            "demo": round(demo_seconds, 1),
            "server_startup": round(server_seconds or 0.0, 1),
            "shots": round(shots_seconds, 1),
            "total": round(time.monotonic() - started, 1),
        },
        "shots": entries,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest


def main(argv: Iterable[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        manifest = run(args)
    except BrowserMissingError as exc:
        say(str(exc))
        return EXIT_NO_BROWSER
    except KeyboardInterrupt:
        say("screenshot_ui: interrupted")
        return EXIT_FAILED
    except ShotError as exc:
        say(f"screenshot_ui: error: {' '.join(str(exc).split())}")
        return EXIT_FAILED
    except Exception as exc:  # Playwright's and MLflow's errors add a multi-line call log
        first = (str(exc).strip().splitlines() or [""])[0]
        message = f"{type(exc).__name__}: {first}"
        say(f"screenshot_ui: error: {message}")
        return EXIT_FAILED
    say(
        f"done in {manifest['timings_seconds']['total']:.0f} s: "
        + ", ".join(s["file"] for s in manifest["shots"])
        + f" and manifest.json in {args.out}"
    )
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
