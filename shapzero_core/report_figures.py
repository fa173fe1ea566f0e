"""Figures of a sketch's quality report, in the shared style of :mod:`shapzero_core.figures`.

* :func:`quality_scatter_plotly` / :func:`quality_scatter_matplotlib`: the sketch's prediction against the
  model's value on held-out sequences (``report["holdout"]``), with the identity line and R².
* :func:`orders_plotly` / :func:`orders_matplotlib`: number of coefficients and share of the energy
  (sum of ``|F[k]|^2``, the mean excluded) at each interaction order.

Both come from plain numbers (lists or arrays, dicts keyed by order), so they also draw a report read back
from a sketch file's JSON header.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .figures import MPL_STYLE, NEGATIVE_COLOR, POSITIVE_COLOR, _mpl, _new_figure, plotly_template

__all__ = ["order_table", "orders_matplotlib", "orders_plotly", "quality_scatter_matplotlib",
           "quality_scatter_plotly"]


def _xy(y_true: Sequence[float], y_pred: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=np.float64).ravel()
    p = np.asarray(y_pred, dtype=np.float64).ravel()
    if t.shape != p.shape:
        raise ValueError(f"y_true has {t.size} values but y_pred has {p.size}")
    return t, p


def _limits(t: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    if t.size == 0:
        return 0.0, 1.0
    lo, hi = float(min(t.min(), p.min())), float(max(t.max(), p.max()))
    pad = 0.04 * max(hi - lo, 1e-12)
    return lo - pad, hi + pad


def _title(r2: float | None, n: int) -> str:
    return f"Held-out sequences (N={n:,})" + (f", R² = {r2:.4f}" if r2 is not None else "")


def quality_scatter_plotly(y_true: Sequence[float], y_pred: Sequence[float], r2: float | None = None,
                           size: int = 420) -> Any:
    """Sketch prediction (y) vs model value (x) on held-out sequences, with the identity line.

    Parameters
    ----------
    y_true, y_pred : sequence of float
        Equal lengths (``report["holdout"]["y_true"]`` / ``["y_pred"]``).
    r2 : float, optional
        Shown in the title.
    size : int
        Width and height in pixels.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    import plotly.graph_objects as go

    t, p = _xy(y_true, y_pred)
    lo, hi = _limits(t, p)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", line={"color": "#888888", "dash": "dash"},
                             hoverinfo="skip", showlegend=False, name="y = x"))
    fig.add_trace(go.Scatter(x=t, y=p, mode="markers", marker={"size": 5, "color": NEGATIVE_COLOR, "opacity": 0.6},
                             hovertemplate="model %{x:.4g}<br>sketch %{y:.4g}<extra></extra>", showlegend=False,
                             name="held-out"))
    fig.update_layout(template=plotly_template(), title={"text": _title(r2, t.size)}, width=size, height=size,
                      xaxis={"title": {"text": "model"}, "range": [lo, hi]},
                      yaxis={"title": {"text": "sketch"}, "range": [lo, hi], "scaleanchor": "x"})
    return fig


def quality_scatter_matplotlib(y_true: Sequence[float], y_pred: Sequence[float], r2: float | None = None,
                               size: float = 3.4) -> Any:
    """The same scatter for export (:func:`shapzero_core.figures.save_figure`)."""
    t, p = _xy(y_true, y_pred)
    lo, hi = _limits(t, p)
    plt = _mpl()
    with plt.rc_context(MPL_STYLE):
        fig, ax = _new_figure(size, size)
        ax.plot([lo, hi], [lo, hi], ls="--", color="#888888", lw=0.8)
        ax.scatter(t, p, s=6, color=NEGATIVE_COLOR, alpha=0.6, linewidths=0)
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_aspect("equal")
        ax.set_xlabel("model")
        ax.set_ylabel("sketch")
        ax.set_title(_title(r2, t.size))
    return fig


def order_table(count_by_order: Mapping[Any, int], energy_by_order: Mapping[Any, float]) -> dict[str, list]:
    """``{"order", "coefficients", "energy_share"}`` lists for orders >= 1 (keys may be int or str)."""
    cnt = {int(k): int(v) for k, v in count_by_order.items()}
    en = {int(k): float(v) for k, v in energy_by_order.items()}
    orders = sorted(o for o in set(cnt) | set(en) if o >= 1)
    total = sum(en.get(o, 0.0) for o in orders)
    return {
        "order": orders,
        "coefficients": [cnt.get(o, 0) for o in orders],
        "energy_share": [en.get(o, 0.0) / total if total > 0 else 0.0 for o in orders],
    }


def orders_plotly(count_by_order: Mapping[Any, int], energy_by_order: Mapping[Any, float], height: int = 300) -> Any:
    """Bars: coefficients per order (left) and share of the energy per order (right)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    t = order_table(count_by_order, energy_by_order)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("coefficients", "share of energy"))
    fig.add_trace(go.Bar(x=t["order"], y=t["coefficients"], marker_color=NEGATIVE_COLOR, showlegend=False,
                         hovertemplate="order %{x}: %{y} coefficients<extra></extra>"), 1, 1)
    fig.add_trace(go.Bar(x=t["order"], y=t["energy_share"], marker_color=POSITIVE_COLOR, showlegend=False,
                         hovertemplate="order %{x}: %{y:.1%} of the energy<extra></extra>"), 1, 2)
    fig.update_layout(template=plotly_template(), height=height)
    fig.update_xaxes(title_text="order", tickmode="array", tickvals=t["order"])
    fig.update_yaxes(tickformat=".0%", row=1, col=2)
    return fig


def orders_matplotlib(count_by_order: Mapping[Any, int], energy_by_order: Mapping[Any, float]) -> Any:
    """The same bars for export."""
    t = order_table(count_by_order, energy_by_order)
    plt = _mpl()
    with plt.rc_context(MPL_STYLE):
        fig, _ax = _new_figure(6.0, 2.4)
        fig.clf()
        a1, a2 = fig.subplots(1, 2)
        a1.bar(t["order"], t["coefficients"], color=NEGATIVE_COLOR)
        a1.set_xlabel("order")
        a1.set_ylabel("coefficients")
        a2.bar(t["order"], [100 * e for e in t["energy_share"]], color=POSITIVE_COLOR)
        a2.set_xlabel("order")
        a2.set_ylabel("share of energy (%)")
        for a in (a1, a2):
            a.set_xticks(t["order"])
            a.spines["top"].set_visible(False)
            a.spines["right"].set_visible(False)
        fig.tight_layout()
    return fig
