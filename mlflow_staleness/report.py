"""The report a person reads: one self-contained HTML page per advice.

The advisor logs it as ``report.html`` on the advisor run, where the MLflow UI shows it inline, and
``mlflow-staleness report MODEL --out FILE`` writes the same page from the latest complete advice.
It holds the decision and its reason in one sentence, the staleness plots (a PNG embedded as a
``data:`` URI), the top drifting features, the cost parts, and the confidence with the evidence it
rests on.

The page fetches nothing: no script, no external style, font or image, and a Content Security Policy
that forbids them, so it opens the same offline, in a mail attachment or behind a proxy. Every text
that comes from users (model, feature and version names, reasons) is HTML-escaped. It does not
import MLflow.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

from mlflow_staleness.exceptions import InvalidInputError
from mlflow_staleness.plots import plot_history

__all__ = ["COST_KEY", "advice_document", "history_plot_rows", "render_report"]

#: The key of the cost model inside an advice document (``advice.json``, ``history.json``).
COST_KEY = "cost"

_HEADLINES = {
    "keep": "Keep the served model",
    "retrain": "Retrain now",
    "promote": "Promote the newer version",
    "rollback": "Roll back to the older version",
    "insufficient-evidence": "Not enough evidence to advise",
}
_COLOURS = {
    "keep": "#1b7f3b",
    "retrain": "#b42318",
    "promote": "#175cd3",
    "rollback": "#175cd3",
    "insufficient-evidence": "#7a5a00",
}
_EVIDENCE = {
    "measured": "the served version's loss measured on this window's labels",
    "own-baseline": "its own loss on its first window after deployment, as the baseline",
    "validation": "its logged validation loss, as the baseline",
    "fingerprint": "the drift of this window's data from its training-data fingerprint",
    "similarity": "drift turned into loss with a fitted loss-per-drift",
    "measured-reference": "a measured window as the reference loss",
    "features": "feature drift alone",
    "age-curve": "the loss of versions of different ages on the same windows (age curve)",
}
_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
_STYLE = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2939;
       max-width: 980px; margin: 24px auto; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #eaecf0; padding-bottom: 4px; }
.meta { color: #475467; margin: 0 0 16px; }
.decision { border-left: 6px solid var(--c); background: #f9fafb; padding: 12px 16px; }
.decision .action { color: var(--c); font-weight: 700; font-size: 18px; }
table { border-collapse: collapse; }
td, th { padding: 4px 14px 4px 0; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th { color: #475467; font-weight: 600; }
img { max-width: 100%; border: 1px solid #eaecf0; }
.missing { color: #b42318; }
footer { margin-top: 32px; color: #667085; font-size: 13px; }
code { font-size: 13px; }
"""


def advice_document(advice: Mapping[str, Any], cost: Mapping[str, Any] | None) -> dict[str, Any]:
    """An advice (``Recommendation.to_dict()``) with the cost model it was computed with.

    ``cost`` is a settings layer (``settings.cost_settings``): the four retrain parts, the error
    cost, the predictions per window and the currency.
    """
    document = dict(advice)
    if cost is not None:
        document[COST_KEY] = dict(cost)
    return document


def history_plot_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The rows of :func:`~mlflow_staleness.plots.plot_history` from ``history.json`` rows."""
    return [
        {
            "seq": row["seq"],
            "window": row["window"],
            "cost_per_step": row["advice"].get("cost_per_step"),
            "accumulated_cost": row["advice"].get("accumulated_cost"),
            "action": row["advice"].get("action"),
            "version": row["advice"].get("version"),
        }
        for row in rows
        if row.get("advice")
    ]


def render_report(
    model_name: str,
    rows: Sequence[Mapping[str, Any]],
    *,
    plot_png: bytes | None = None,
) -> str:
    """The HTML report of the latest advice in ``rows`` (``history.json`` rows, oldest first).

    ``plot_png`` is the history plot when the caller drew it already; otherwise it is drawn here.

    Examples
    --------
    >>> advice = {
    ...     "model_name": "churn", "version": "3", "action": "retrain", "strategy": "forecast",
    ...     "reason": "stale by 0.02/window; retrain <now>", "window": "2026-11", "window_seq": 1,
    ...     "currency": "EUR", "cost_per_step": 80.0, "accumulated_cost": 410.0,
    ...     "retrain_cost": 400.0, "staleness_per_step": 0.02, "accumulated_staleness": 0.1,
    ...     "retrain_cost_loss": 0.1, "break_even_steps": 5.0, "uncertainty": 0.004,
    ...     "confidence": 0.8, "evidence": ["measured"],
    ...     "top_features": [{"feature": "<b>age</b>", "score": 1.7}], "advice_id": "0f3c",
    ... }
    >>> page = render_report("churn", [{"seq": 1, "window": "2026-11", "advice": advice}])
    >>> "retrain &lt;now&gt;" in page and "&lt;b&gt;age&lt;/b&gt;" in page and "<b>" not in page
    True
    """
    advised = [row for row in rows if isinstance(row, Mapping) and row.get("advice")]
    if not advised:
        raise InvalidInputError(
            f"model {model_name!r} has no complete advice yet, so there is nothing to report: "
            f"run `mlflow-staleness advise {model_name} --data FILE` first"
        )
    advice = advised[-1]["advice"]
    currency = str(advice.get("currency") or "")
    if plot_png is None:
        plot_png = plot_history(
            history_plot_rows(advised),
            retrain_cost=_finite(advice.get("retrain_cost")) or 0.0,
            currency=currency,
            model_name=model_name,
        )
    action = str(advice.get("action", ""))
    colour = _COLOURS.get(action, "#344054")
    title = f"Staleness advice: {model_name} v{advice.get('version', '?')}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        f'<meta name="staleness-advice-id" content="{_e(advice.get("advice_id", ""))}">',
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="meta">window {_e(advice.get("window", ""))} · strategy '
        f"{_e(advice.get('strategy', ''))} · evaluated {_e(advice.get('evaluated_at', ''))}</p>",
        f'<div class="decision" style="--c: {colour}" id="decision">'
        f'<span class="action">{_e(_HEADLINES.get(action, action))}.</span> '
        f'<span id="reason">{_e(advice.get("reason", ""))}</span></div>',
        "<h2>The numbers</h2>",
        _table(_numbers(advice, currency)),
        "<h2>Staleness against the retrain cost</h2>",
        "<p>Top: what staleness cost in each advised window. Bottom: staleness accumulated since "
        "the served version was deployed; where it crosses the dashed break-even line, a retrain "
        "has paid for itself.</p>",
        f'<img alt="staleness cost per window and accumulated staleness against the retrain '
        f'cost" src="data:image/png;base64,{base64.b64encode(plot_png).decode("ascii")}">',
        "<h2>Top drifting features</h2>",
        _features(advice.get("top_features") or ()),
        "<h2>Cost parts</h2>",
        _costs(advice.get(COST_KEY), currency, advice.get("retrain_cost")),
        "<h2>Confidence and evidence</h2>",
        _evidence(advice),
        f"<footer>advice id <code>{_e(advice.get('advice_id', ''))}</code> · advisor run "
        f"<code>{_e(advice.get('advisor_run_id') or '')}</code> · data digest "
        f"<code>{_e(advice.get('data_digest', ''))}</code>. This advice is complete when the "
        f"advisor run's <code>staleness.advice_id</code> tag has this id.</footer>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


# ---------------------------------------------------------------------------------- sections
def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _money(value: Any, currency: str) -> str:
    number = _finite(value)
    return "—" if number is None else f"{number:,.2f} {currency}".strip()


def _plain(value: Any, digits: int = 4) -> str:
    number = _finite(value)
    return "—" if number is None else f"{number:.{digits}g}"


def _break_even(value: Any) -> str:
    number = _finite(value)
    # None is how an advice document spells infinity: staleness never pays for a retrain
    return "not reached at this rate" if number is None else f"{number:.3g}"


def _numbers(advice: Mapping[str, Any], currency: str) -> list[tuple[str, str]]:
    rows = [
        ("staleness cost per window", _money(advice.get("cost_per_step"), currency)),
        ("accumulated staleness cost", _money(advice.get("accumulated_cost"), currency)),
        ("retrain cost", _money(advice.get("retrain_cost"), currency)),
        ("break-even (windows)", _break_even(advice.get("break_even_steps"))),
        ("staleness per window (loss)", _plain(advice.get("staleness_per_step"))),
        ("accumulated staleness (loss)", _plain(advice.get("accumulated_staleness"))),
        ("measured loss on this window", _plain(advice.get("measured_loss"))),
        ("confidence", _plain(advice.get("confidence"), 2)),
        ("uncertainty (loss per window)", _plain(advice.get("uncertainty"))),
    ]
    if advice.get("alias"):
        rows.append(("served through alias", str(advice["alias"])))
    if advice.get("candidate_version"):
        rows.append(("candidate version", f"v{advice['candidate_version']}"))
    return rows


def _table(rows: Sequence[tuple[str, str]], header: tuple[str, str] | None = None) -> str:
    head = f"<tr><th>{_e(header[0])}</th><th>{_e(header[1])}</th></tr>" if header else ""
    body = "".join(f'<tr><td>{_e(k)}</td><td class="num">{_e(v)}</td></tr>' for k, v in rows)
    return f"<table>{head}{body}</table>"


def _features(items: Sequence[Any]) -> str:
    rows = []
    for item in items:
        if isinstance(item, Mapping):
            name, score = item.get("feature"), item.get("score")
        elif isinstance(item, Sequence) and len(item) == 2:
            name, score = item
        else:
            continue
        rows.append((str(name), _plain(score, 3)))
    if not rows:
        return "<p>No fingerprint of the served version's data, so no drift per feature.</p>"
    return _table(rows, ("feature", "drift score"))


def _costs(cost: Any, currency: str, retrain_cost: Any) -> str:
    if not isinstance(cost, Mapping):
        return f"<p>Retrain cost {_e(_money(retrain_cost, currency))} (parts not recorded).</p>"
    parts = [
        (label, _money(cost.get(key), currency))
        for label, key in (
            ("compute", "compute_cost"),
            ("people", "people_cost"),
            ("data and labels", "data_cost"),
            ("deployment risk", "risk_cost"),
        )
    ]
    parts.append(("retrain cost in all", _money(retrain_cost, currency)))
    parts.append(("price of one unit of loss per prediction", _money(cost.get("error_cost"), "")))
    parts.append(("predictions per window", _plain(cost.get("predictions_per_step"), 8)))
    return _table(parts)


def _evidence(advice: Mapping[str, Any]) -> str:
    items = []
    for item in advice.get("evidence") or ():
        text = str(item)
        if text.startswith("missing: "):
            items.append(f'<li class="missing">missing: {_e(text[len("missing: ") :])}</li>')
        else:
            items.append(f"<li>{_e(_EVIDENCE.get(text, text))}</li>")
    listed = f"<ul>{''.join(items)}</ul>" if items else "<p>No evidence was recorded.</p>"
    return f"<p>Confidence {_e(_plain(advice.get('confidence'), 2))} (0 to 1), from:</p>{listed}"
