"""One picture of a model's advice history: staleness against the retrain cost.

The top panel shows what staleness cost in each advised window; the bottom panel shows the
staleness accumulated since the served version was deployed, against the retrain cost: where the
line crosses the dashed break-even line, a retrain has paid for itself.

Drawing uses matplotlib's object API only (:class:`~matplotlib.figure.Figure` with an Agg canvas),
so no global pyplot state is read or changed and this module is safe to call from a server. It does
not import MLflow.
"""

from __future__ import annotations

import io
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from numbers import Real
from typing import TYPE_CHECKING, Any

from mlflow_staleness._files import write_atomic

if TYPE_CHECKING:
    from matplotlib.figure import Figure
from mlflow_staleness.exceptions import InvalidInputError

__all__ = ["plot_history"]

_FIGSIZE = (9.0, 5.0)
_DPI = 100
_MAX_TICKS = 12
_MAX_LABEL_CHARS = 24
_RETRAIN_ACTIONS = frozenset({"retrain", "promote", "rollback"})

# User text is drawn literally: no mathtext for "$...$", no TeX even if the caller's rcParams ask.
_LITERAL: dict[str, Any] = {"parse_math": False, "usetex": False}


def plot_history(
    rows: Sequence[Mapping[str, Any]],
    *,
    retrain_cost: float,
    currency: str,
    model_name: str,
    path: str | os.PathLike[str] | None = None,
) -> bytes:
    """Draw the advice history of one model as a PNG and return its bytes.

    Parameters
    ----------
    rows
        One mapping per advised window, in order, with keys ``seq`` (int), ``window`` (label),
        ``cost_per_step`` (staleness cost of the served model in that window, money),
        ``accumulated_cost`` (staleness accumulated since the served version was deployed,
        money), ``action`` (``keep``, ``retrain``, ``promote``, ``rollback`` or
        ``insufficient-evidence``) and
        ``version`` (the served model version). A missing, ``None`` or non-finite number is
        skipped; the window keeps its place on the x axis.
    retrain_cost
        What one retrain costs, in ``currency``; drawn as the break-even line. Finite, ``>= 0``.
    currency
        Shown in the axis labels, e.g. ``"EUR"``.
    model_name
        Shown in the title. Any characters are drawn literally (``$`` is not mathtext).
    path
        When given, the PNG is also written there.

    Returns
    -------
    bytes
        The PNG image (about 900 x 500 pixels).

    Raises
    ------
    InvalidInputError
        If ``retrain_cost`` is not a finite number ``>= 0``, a row is not a mapping, or a cost
        is neither a number nor ``None``.

    Examples
    --------
    >>> rows = [
    ...     {"seq": 1, "window": "2024-01", "cost_per_step": 40.0, "accumulated_cost": 40.0,
    ...      "action": "keep", "version": "2"},
    ...     {"seq": 2, "window": "2024-02", "cost_per_step": 70.0, "accumulated_cost": 110.0,
    ...      "action": "retrain", "version": "2"},
    ...     {"seq": 3, "window": "2024-03", "cost_per_step": 5.0, "accumulated_cost": 5.0,
    ...      "action": "keep", "version": "3"},
    ... ]
    >>> png = plot_history(rows, retrain_cost=100.0, currency="EUR", model_name="churn")
    >>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
    """
    retrain = _check_retrain_cost(retrain_cost)
    if isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, Sequence):
        raise InvalidInputError(f"rows must be a sequence of mappings, got {type(rows).__name__}")
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise InvalidInputError(f"rows[{i}] must be a mapping, got {type(row).__name__}")
    currency = str(currency)
    title = f"{model_name}: staleness against the retrain cost"

    from matplotlib.backends.backend_agg import FigureCanvasAgg  # imported when drawing only
    from matplotlib.figure import Figure

    fig = Figure(figsize=_FIGSIZE, dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    # A label with a character DejaVu Sans lacks is drawn as a box; matplotlib also warns, which
    # is noise for the caller (and an error under strict warning filters).
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from", category=UserWarning)
        if rows:
            _draw_history(fig, rows, retrain=retrain, currency=currency, title=title)
        else:
            ax = fig.add_subplot()
            ax.set_axis_off()
            ax.set_title(title, **_LITERAL)
            ax.text(
                0.5,
                0.5,
                "no advice yet",
                ha="center",
                va="center",
                fontsize=14,
                color="0.4",
                transform=ax.transAxes,
            )
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=_DPI)
    png = buf.getvalue()
    if path is not None:
        write_atomic(path, png)
    return png


def _draw_history(
    fig: Figure, rows: Sequence[Mapping[str, Any]], *, retrain: float, currency: str, title: str
) -> None:
    n = len(rows)
    xs = range(n)
    per_step = [_number(row, "cost_per_step", i) for i, row in enumerate(rows)]
    accumulated = [_number(row, "accumulated_cost", i) for i, row in enumerate(rows)]

    ax_top, ax_bottom = fig.subplots(2, 1, sharex=True, height_ratios=(1, 1.3))
    fig.suptitle(title, **_LITERAL)

    # Top: staleness cost per window.
    bar_x = [x for x, v in zip(xs, per_step, strict=True) if v is not None]
    bar_h = [v for v in per_step if v is not None]
    ax_top.bar(bar_x, bar_h, width=0.8, color="tab:orange", alpha=0.85)
    ax_top.set_ylabel(f"cost per window ({currency})", **_LITERAL)
    ax_top.axhline(0.0, color="0.5", linewidth=0.6)
    ax_top.grid(axis="y", alpha=0.3)

    # Bottom: accumulated staleness against the break-even line.
    acc_x = [x for x, v in zip(xs, accumulated, strict=True) if v is not None]
    acc_y = [v for v in accumulated if v is not None]
    ax_bottom.plot(
        acc_x,
        acc_y,
        color="tab:blue",
        marker="o",
        markersize=3,
        linewidth=1.5,
        label="accumulated staleness",
    )
    ax_bottom.axhline(
        retrain, color="tab:red", linestyle="--", linewidth=1.2, label="retrain cost (break-even)"
    )
    act_x = [
        x
        for x, row, v in zip(xs, rows, accumulated, strict=True)
        if v is not None and str(row.get("action", "")).strip().lower() in _RETRAIN_ACTIONS
    ]
    act_y = [accumulated[x] for x in act_x]
    if act_x:
        ax_bottom.scatter(
            act_x,
            act_y,
            marker="^",
            s=60,
            color="tab:green",
            edgecolors="black",
            linewidths=0.6,
            zorder=3,
            label="retrain / promote advised",
        )
    ax_bottom.set_ylabel(f"accumulated staleness ({currency})", **_LITERAL)
    ax_bottom.set_xlabel("window")
    ax_bottom.grid(axis="y", alpha=0.3)
    top = max([retrain, *acc_y, 0.0])
    bottom = min([0.0, *acc_y])
    span = (top - bottom) or 1.0
    ax_bottom.set_ylim(bottom - 0.05 * span if bottom < 0 else 0.0, top + 0.12 * span)
    # Below the plot, so it never hides the line or the version labels.
    fig.legend(loc="outside lower center", ncols=3, fontsize="small", frameon=False)

    # Where the served version changes: a thin line between the windows, and its name (a name
    # is left out when it would overlap the previous one; the line is always drawn).
    previous: str | None = None
    px_per_window = _FIGSIZE[0] * _DPI * 0.9 / n
    free_from = -math.inf
    for x, row in enumerate(rows):
        version = _text(row.get("version"))
        if version is None:
            continue
        if previous is not None and version != previous:
            for ax in (ax_top, ax_bottom):
                ax.axvline(x - 0.5, color="0.35", linewidth=0.8, alpha=0.8)
            name = _shorten(version if version[:1] in {"v", "V"} else f"v{version}", 12)
            if x >= free_from:
                free_from = x + (len(name) * 5.5 + 6) / px_per_window
                ax_bottom.text(
                    x - 0.45,
                    0.98,
                    name,
                    transform=ax_bottom.get_xaxis_transform(),
                    ha="left",
                    va="top",
                    fontsize=8,
                    color="0.25",
                    **_LITERAL,
                )
        previous = version

    # x ticks: the window labels, thinned out to about a dozen.
    step = max(1, math.ceil(n / _MAX_TICKS))
    ticks = list(range(0, n, step))
    labels = [_shorten(_window_label(rows[t]), _MAX_LABEL_CHARS) for t in ticks]
    ax_bottom.set_xticks(ticks, labels, rotation=30, ha="right", fontsize=8, **_LITERAL)
    ax_bottom.set_xlim(-0.6, n - 0.4)


def _check_retrain_cost(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise InvalidInputError(
            f"retrain_cost must be a finite number >= 0, got {type(value).__name__} {value!r}"
        )
    cost = float(value)
    if not math.isfinite(cost) or cost < 0:
        raise InvalidInputError(f"retrain_cost must be a finite number >= 0, got {cost!r}")
    return cost


def _number(row: Mapping[str, Any], key: str, index: int) -> float | None:
    """The row's number under ``key``, or ``None`` when it is missing, ``None`` or not finite."""
    value = row.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Real):
        try:
            value = float(value)  # numpy scalars, Decimal
        except (TypeError, ValueError):
            raise InvalidInputError(
                f"rows[{index}][{key!r}] must be a number or None, got {type(value).__name__} "
                f"{value!r}"
            ) from None
    number = float(value)
    return number if math.isfinite(number) else None


def _text(value: Any) -> str | None:
    """A version as text, or ``None`` when it is missing or NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _window_label(row: Mapping[str, Any]) -> str:
    label = _text(row.get("window"))
    if label is None:
        label = _text(row.get("seq"))
    return label if label is not None else ""


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())  # newlines and tabs would break the tick layout
    return text if len(text) <= limit else text[: limit - 1] + "…"
