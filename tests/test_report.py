"""The HTML report: self-contained, escaped, complete; logged on each advice, written by the CLI.

The pure rendering is checked on hand-made advice; the integration tests advise against a real
SQLite tracking store, then compare the ``report.html`` artifact with ``mlflow-staleness report``,
and check that a report never shows an advice whose writes were cut short.
"""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from pathlib import Path

import mlflow
import pytest
from click.testing import CliRunner
from registry_helpers import (
    TARGET,
    client_for,
    make_frame,
    predictions_with_error,
    register_version,
    snapshot,
    unique_name,
    using,
)

from mlflow_staleness import CostModel
from mlflow_staleness.advisor import Advisor
from mlflow_staleness.cli import main
from mlflow_staleness.exceptions import InvalidInputError
from mlflow_staleness.report import advice_document, render_report

COST = CostModel(
    compute_cost=50, people_cost=20, data_cost=5, risk_cost=1, error_cost=1.0,
    predictions_per_step=1000, currency="EUR",
)  # fmt: skip
EVIL = "<script>alert(1)</script>"


def _advice(**changes) -> dict:
    advice = {
        "model_name": "churn",
        "version": "3",
        "action": "retrain",
        "strategy": "forecast",
        "reason": "stale by 0.02/window: retrain (in money: 80.00 EUR/window)",
        "window": "2026-11",
        "window_seq": 2,
        "currency": "EUR",
        "cost_per_step": 80.0,
        "accumulated_cost": 410.0,
        "retrain_cost": 400.0,
        "staleness_per_step": 0.02,
        "accumulated_staleness": 0.1,
        "retrain_cost_loss": 0.1,
        "break_even_steps": 5.0,
        "uncertainty": 0.004,
        "confidence": 0.8,
        "evidence": ["age-curve", "measured", "missing: no fingerprint"],
        "top_features": [{"feature": "tenure", "score": 1.7}, {"feature": "plan", "score": 0.4}],
        "advice_id": "abc123",
        "advisor_run_id": "run42",
        "measured_loss": 0.31,
    }
    advice.update(changes)
    return advice


def _rows(advice: dict) -> list[dict]:
    earlier = {**advice, "action": "keep", "cost_per_step": 30.0, "accumulated_cost": 30.0}
    return [
        {"seq": 1, "window": "2026-10", "advice": earlier},
        {"seq": 2, "window": "2026-11", "advice": advice},
        {"seq": 3, "window": "2026-12", "advice": None},  # labels recorded, no advice
    ]


class _Text(HTMLParser):
    """The text a browser would show, and every tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _parse(page: str) -> _Text:
    parser = _Text()
    parser.feed(page)
    return parser


def test_report_shows_decision_numbers_plot_features_costs_and_evidence() -> None:
    cost = {
        "compute_cost": 300.0,
        "people_cost": 80.0,
        "data_cost": 15.0,
        "risk_cost": 5.0,
        "error_cost": 0.5,
        "predictions_per_step": 10000.0,
        "currency": "EUR",
    }
    page = render_report("churn", _rows(advice_document(_advice(), cost)))
    parsed = _parse(page)
    text = " ".join(" ".join(parsed.text).split())
    assert "Retrain now. stale by 0.02/window: retrain (in money: 80.00 EUR/window)" in text
    for expected in (
        "80.00 EUR",  # cost per window
        "410.00 EUR",  # accumulated
        "400.00 EUR",  # retrain cost in all
        "300.00 EUR",  # compute part
        "80.00 EUR",  # people part
        "tenure 1.7",
        "plan 0.4",
        "Confidence 0.8",
        "age curve",
        "missing: no fingerprint",
        "abc123",
    ):
        assert expected in text, expected
    [image] = [attrs for tag, attrs in parsed.tags if tag == "img"]
    assert image["src"].startswith("data:image/png;base64,")
    png = base64.b64decode(image["src"].split(",", 1)[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(png) > 10_000
    meta = {attrs.get("name"): attrs.get("content") for tag, attrs in parsed.tags if tag == "meta"}
    assert meta["staleness-advice-id"] == "abc123"


def test_report_fetches_nothing() -> None:
    page = render_report("churn", _rows(_advice()))
    parsed = _parse(page)
    assert not [t for t, _ in parsed.tags if t in {"script", "link", "iframe", "object", "embed"}]
    for _, attrs in parsed.tags:
        for key in ("src", "href"):
            assert not attrs.get(key) or attrs[key].startswith("data:"), attrs
    assert not re.search(r"url\(|@import|https?://", page)
    csp = [a for t, a in parsed.tags if t == "meta" and a.get("http-equiv")]
    assert "default-src 'none'" in csp[0]["content"]


def test_user_text_is_escaped() -> None:
    advice = _advice(
        model_name=EVIL,
        version=EVIL,
        reason=f"drift in {EVIL}",
        top_features=[{"feature": EVIL, "score": 2.0}],
        evidence=[f"missing: {EVIL}"],
        window=EVIL,
    )
    page = render_report(EVIL, _rows(advice))
    assert "<script" not in page
    parsed = _parse(page)
    assert not [t for t, _ in parsed.tags if t == "script"]
    assert EVIL in "".join(parsed.text)  # shown as text


def test_a_report_needs_a_complete_advice() -> None:
    with pytest.raises(InvalidInputError, match=r"no complete advice yet.*mlflow-staleness advise"):
        render_report("churn", [{"seq": 1, "window": "w", "advice": None}])


def test_missing_numbers_and_parts_read_plainly() -> None:
    advice = _advice(break_even_steps=None, measured_loss=None, top_features=[], evidence=[])
    text = " ".join(_parse(render_report("churn", _rows(advice))).text)
    assert "not reached at this rate" in text
    assert "parts not recorded" in text
    assert "no drift per feature" in text
    assert "No evidence was recorded" in text


# ---------------------------------------------------------------------------------- in MLflow
def _advise(advisor: Advisor, error_rate: float, window: str, **kw):
    frame = make_frame(seed=7)
    predictions = predictions_with_error(frame[TARGET], error_rate)
    return advisor.advise(frame, labels=TARGET, predictions=predictions, window=window, **kw)


def _logged_report(uri: str, run_id: str, tmp_path: Path) -> str:
    with using(uri):
        path = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path="report.html", dst_path=str(tmp_path / run_id)
        )
    return Path(path).read_text(encoding="utf-8")


def _cli_report(uri: str, name: str, out: Path, expect: int = 0) -> str:
    result = CliRunner().invoke(main, ["report", name, "--out", str(out), "--tracking-uri", uri])
    assert result.exit_code == expect, result.output
    return result.output


def test_every_advice_logs_the_report_and_the_cli_writes_the_same(
    sqlite_uri: str, tmp_path: Path
) -> None:
    name = unique_name("report")
    register_version(sqlite_uri, name, make_frame(seed=1), val_loss=0.1, alias="champion")
    advisor = Advisor(name, cost=COST, tracking_uri=sqlite_uri)
    _advise(advisor, 0.1, "w1")
    rec = _advise(advisor, 0.3, "w2")
    logged = _logged_report(sqlite_uri, rec.advisor_run_id, tmp_path)
    out = tmp_path / "report.html"
    said = _cli_report(sqlite_uri, name, out)
    assert "wrote the report" in said
    assert out.read_text(encoding="utf-8") == logged
    text = " ".join(_parse(logged).text)
    assert rec.reason in text
    assert rec.advisor_run_id in text
    assert f'content="{rec.advice_id}"' in logged
    for part in ("50.00 EUR", "20.00 EUR", "5.00 EUR", "1.00 EUR", "76.00 EUR"):
        assert part in text, part


def test_a_cut_advice_never_shows_in_the_cli_report(sqlite_uri: str, tmp_path: Path) -> None:
    from mlflow_staleness.adapter import execute

    name = unique_name("report")
    register_version(sqlite_uri, name, make_frame(seed=1), val_loss=0.1, alias="champion")
    advisor = Advisor(name, cost=COST, tracking_uri=sqlite_uri)
    done = _advise(advisor, 0.1, "w1")
    pending = _advise(advisor, 0.45, "w2", dry_run=True)
    plan = advisor.last_plan
    # everything before the completion marker is written: the fact, the cache, the tags
    cut = next(i for i, w in enumerate(plan) if w.kind == "set-run-tags")
    execute(client_for(sqlite_uri), plan[:cut], model_name=name)
    logged = _logged_report(sqlite_uri, done.advisor_run_id, tmp_path)
    # report.html is written only after the advice is complete (issue 11, defect 1) ...
    assert f'content="{done.advice_id}"' in logged

    out = tmp_path / "report.html"
    _cli_report(sqlite_uri, name, out)
    page = out.read_text(encoding="utf-8")
    assert f'content="{done.advice_id}"' in page  # ... but the reader shows the complete one
    assert pending.advice_id not in page


def test_report_errors_write_nothing(sqlite_uri: str, tmp_path: Path) -> None:
    name = unique_name("report")
    register_version(sqlite_uri, name, make_frame(seed=1), val_loss=0.1, alias="champion")
    before = snapshot(sqlite_uri, name)
    said = _cli_report(sqlite_uri, name, tmp_path / "r.html", expect=1)
    assert "no complete advice yet" in said
    assert not (tmp_path / "r.html").exists()
    said = _cli_report(sqlite_uri, name, tmp_path / "missing" / "r.html", expect=1)
    assert "does not exist" in said
    said = _cli_report(sqlite_uri, "no-such-model", tmp_path / "r.html", expect=1)
    assert "no-such-model" in said
    assert snapshot(sqlite_uri, name) == before
    assert not list(tmp_path.glob("*.partial"))
    assert not list(tmp_path.glob(".*.partial"))
