"""Figures with one shared style: plotly for the screen, matplotlib / logomaker for export.

Every figure exists twice, built from the same data with the same colours, font and axis conventions:
``*_plotly`` returns a :class:`plotly.graph_objects.Figure` for the app, ``*_matplotlib`` returns a
:class:`matplotlib.figure.Figure` that :func:`save_figure` writes as SVG (editable text,
``svg.fonttype = "none"``), PDF (TrueType fonts, ``pdf.fonttype = 42``) and PNG at 300 dpi. The font is
DejaVu Sans (free, shipped with matplotlib). Positions are **1-based** on every axis.

Logos are drawn from a matrix (``pandas.DataFrame``, rows = 1-based positions, columns = letters), the
logomaker contract: positive values stack upwards (largest on top), negative values downwards with the
letters flipped. In plotly every letter is the real DejaVu Sans glyph outline (a filled SVG path shape)
stretched to its box, so the screen logo reads like the exported one. Helpers build the matrices:
:func:`saliency_matrix` (one sequence: only the carried letter, height = its SHAP value) and
:func:`pwm_matrix` (motif PWM as probabilities or information content).

Positions fixed by a template (:mod:`shapzero_core.template`) are drawn on a grey band with their letter in
grey (``fixed=`` of the logo functions): they are not players and their SHAP value is 0.

Interaction matrices are drawn as square-marker scatters (plotly heatmaps do not report clicks to
Streamlit); each marker carries ``customdata = [i, j, letters, value]`` with 1-based positions.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .alphabet import Alphabet

__all__ = [
    "DIVERGING",
    "FIXED_COLOR",
    "FONT_FAMILY",
    "MPL_STYLE",
    "NEGATIVE_COLOR",
    "POSITIVE_COLOR",
    "interaction_heatmap_matplotlib",
    "interaction_heatmap_plotly",
    "letter_colors",
    "logo_matplotlib",
    "logo_plotly",
    "pair_labels",
    "plotly_template",
    "pwm_matrix",
    "saliency_matrix",
    "save_figure",
    "top_interactions_matplotlib",
    "top_interactions_plotly",
]

# ---------------------------------------------------------------------------------------------- style
FONT_FAMILY = "DejaVu Sans"
POSITIVE_COLOR = "#B2182B"  # raises the prediction
NEGATIVE_COLOR = "#2166AC"  # lowers it
FIXED_COLOR = "#9E9E9E"  # letters fixed by a template (not players)
FIXED_BAND = "#EEEEEE"
DIVERGING = "RdBu_r"  # matplotlib colormap name; the plotly scale below samples the same colours
_DIVERGING_STOPS = ["#053061", "#2166AC", "#4393C3", "#92C5DE", "#D1E5F0", "#F7F7F7",
                    "#FDDBC7", "#F4A582", "#D6604D", "#B2182B", "#67001F"]
PLOTLY_DIVERGING = [[i / (len(_DIVERGING_STOPS) - 1), c] for i, c in enumerate(_DIVERGING_STOPS)]
_NUCLEOTIDE = {"A": "#109648", "C": "#255C99", "G": "#F7B32B", "T": "#D62839", "U": "#D62839"}
_PROTEIN_GROUPS = {
    "#222222": "AVLIPWFM",  # hydrophobic
    "#109648": "GSTYC",  # polar
    "#255C99": "KRH",  # basic
    "#D62839": "DE",  # acidic
    "#7B2D8B": "NQ",  # amide
}
_FALLBACK = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C",
             "#CCB974", "#64B5CD"]
MPL_STYLE: dict[str, Any] = {
    "font.family": "sans-serif",
    "font.sans-serif": [FONT_FAMILY],
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.fonttype": "none",
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "savefig.dpi": 300,
    "savefig.bbox": "tight",
    "figure.dpi": 100,
}
_GLYPH_WIDTH = 0.9


def letter_colors(alphabet: Alphabet | str) -> dict[str, str]:
    """Colour of every letter (nucleotides: A green, C blue, G orange, T/U red; proteins by chemistry)."""
    letters = alphabet.letters if isinstance(alphabet, Alphabet) else str(alphabet)
    out: dict[str, str] = {}
    prot = {ch: col for col, chars in _PROTEIN_GROUPS.items() for ch in chars}
    nuc = set(letters) <= set(_NUCLEOTIDE)
    for i, ch in enumerate(letters):
        if nuc:
            out[ch] = _NUCLEOTIDE[ch]
        elif ch in prot:
            out[ch] = prot[ch]
        else:
            out[ch] = _FALLBACK[i % len(_FALLBACK)]
    return out


def plotly_template() -> Any:
    """The plotly layout template of the shared style (white background, DejaVu Sans)."""
    import plotly.graph_objects as go

    return go.layout.Template(
        layout=go.Layout(
            font={"family": f"{FONT_FAMILY}, Verdana, sans-serif", "size": 13, "color": "#222222"},
            paper_bgcolor="white",
            plot_bgcolor="white",
            xaxis={"showgrid": False, "zeroline": False, "linecolor": "#444444", "ticks": "outside"},
            yaxis={"showgrid": False, "zeroline": True, "zerolinecolor": "#888888", "linecolor": "#444444",
                   "ticks": "outside"},
            margin={"l": 60, "r": 20, "t": 50, "b": 50},
            colorway=[POSITIVE_COLOR, NEGATIVE_COLOR, *_FALLBACK],
        )
    )


def _position_ticks(n: int) -> list[int]:
    step = 1 if n <= 30 else 2 if n <= 60 else 5 if n <= 150 else 10
    ticks = list(range(1, n + 1, step))
    if ticks[-1] != n and n - ticks[-1] >= step / 2:
        ticks.append(n)
    return ticks


# ---------------------------------------------------------------------------------------------- matrices
def saliency_matrix(values: np.ndarray, sequence: str, alphabet: Alphabet) -> pd.DataFrame:
    """Logo matrix of one sequence: the carried letter gets its SHAP value, the others 0.

    Parameters
    ----------
    values : numpy.ndarray
        ``float (n,)`` SHAP values.
    sequence : str
        The sequence (length ``n``).
    alphabet : Alphabet

    Returns
    -------
    pandas.DataFrame
        ``(n, q)``, index 1-based positions, columns the letters.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    codes = alphabet.encode_one(sequence, n=values.size)
    M = np.zeros((values.size, alphabet.q))
    M[np.arange(values.size), codes] = values
    return _frame(M, alphabet.letters)


def pair_labels(sequence: str) -> list[list[str]]:
    """``(n, n)`` labels ``"<letter at i><letter at j>"`` of one sequence, for the interaction heatmap."""
    return [[a + b for b in sequence] for a in sequence]


def pwm_matrix(pwm: np.ndarray, alphabet: Alphabet, mode: str = "information") -> pd.DataFrame:
    """Logo matrix of a motif PWM ``(L, q)``: ``"probability"`` or ``"information"`` (bits, letters scaled
    by ``p * (log2 q - H)``)."""
    P = np.asarray(pwm, dtype=np.float64)
    if P.ndim != 2 or P.shape[1] != alphabet.q:
        raise ValueError(f"pwm must have shape (L, {alphabet.q}), got {P.shape}")
    if mode == "probability":
        M = P
    elif mode == "information":
        with np.errstate(divide="ignore", invalid="ignore"):
            H = -np.nansum(np.where(P > 0, P * np.log2(P), 0.0), axis=1)
        M = P * (np.log2(alphabet.q) - H)[:, None]
    else:
        raise ValueError(f"mode must be 'information' or 'probability', got {mode!r}")
    return _frame(M, alphabet.letters)


def _frame(M: np.ndarray, letters: str) -> pd.DataFrame:
    df = pd.DataFrame(M, columns=list(letters), index=np.arange(1, M.shape[0] + 1))
    df.index.name = "position"
    return df


def _check_matrix(matrix: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(matrix, pd.DataFrame) or matrix.shape[0] == 0 or matrix.shape[1] == 0:
        raise ValueError("a logo needs a non-empty DataFrame (rows = positions, columns = letters)")
    bad = [c for c in matrix.columns if not (isinstance(c, str) and len(c) == 1)]
    if bad:
        raise ValueError(f"logo columns must be single letters, got {bad[:5]}")
    M = matrix.to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(M)):
        raise ValueError("logo values must be finite (replace NaN by 0 first)")
    return matrix


def _split_pair(
    matrix: pd.DataFrame, below: pd.DataFrame | None
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    matrix = _check_matrix(matrix)
    if below is None:
        return matrix, None
    below = _check_matrix(below)
    if below.shape != matrix.shape or list(below.columns) != list(matrix.columns):
        raise ValueError(f"below must have the shape and columns of matrix, got {below.shape} vs {matrix.shape}")
    if (below.to_numpy() > 0).any():
        raise ValueError("below must hold values <= 0 (the negative parts)")
    return matrix.clip(lower=0.0), below


# ---------------------------------------------------------------------------------------------- plotly logo
@functools.lru_cache(maxsize=256)
def _glyph(letter: str) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Outline of a DejaVu Sans Bold letter normalised to the unit box, as (codes, vertices) polygons."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath

    tp = TextPath((0, 0), letter, size=1, prop=FontProperties(family=FONT_FAMILY, weight="bold"))
    v = tp.vertices.copy()
    ext = tp.get_extents()
    w = max(ext.x1 - ext.x0, 1e-9)
    h = max(ext.y1 - ext.y0, 1e-9)
    v[:, 0] = (v[:, 0] - ext.x0) / w
    v[:, 1] = (v[:, 1] - ext.y0) / h
    return ((np.asarray(tp.codes).copy(), v),)


def _glyph_path(letter: str, x0: float, x1: float, y0: float, y1: float, flip: bool) -> str:
    """SVG path string of ``letter`` stretched to the box [x0, x1] x [y0, y1] (flipped upside down if asked)."""
    ((codes, v),) = _glyph(letter)
    xs = x0 + v[:, 0] * (x1 - x0)
    ys = (y1 - v[:, 1] * (y1 - y0)) if flip else (y0 + v[:, 1] * (y1 - y0))
    parts: list[str] = []
    i = 0
    while i < len(codes):
        c = codes[i]
        if c == 1:  # MOVETO
            parts.append(f"M{xs[i]:.4f},{ys[i]:.5g}")
            i += 1
        elif c == 2:  # LINETO
            parts.append(f"L{xs[i]:.4f},{ys[i]:.5g}")
            i += 1
        elif c == 3:  # CURVE3: control, end
            parts.append(f"Q{xs[i]:.4f},{ys[i]:.5g} {xs[i + 1]:.4f},{ys[i + 1]:.5g}")
            i += 2
        elif c == 4:  # CURVE4: two controls, end
            parts.append(
                f"C{xs[i]:.4f},{ys[i]:.5g} {xs[i + 1]:.4f},{ys[i + 1]:.5g} {xs[i + 2]:.4f},{ys[i + 2]:.5g}"
            )
            i += 3
        else:  # CLOSEPOLY (79) or STOP
            parts.append("Z")
            i += 1
    return " ".join(parts)


def _stack(matrix: pd.DataFrame) -> list[tuple[int, str, float, float, float]]:
    """Boxes (position, letter, y0, y1, value) of a logo: big on top above 0, big at the bottom below 0."""
    M = matrix.to_numpy(dtype=np.float64)
    letters = [str(c) for c in matrix.columns]
    positions = [int(p) for p in matrix.index]
    boxes: list[tuple[int, str, float, float, float]] = []
    for r, pos in enumerate(positions):  # loops over positions x letters of one logo (n*q boxes)
        row = M[r]
        up = 0.0
        for j in np.argsort(row, kind="stable"):
            if row[j] > 0:
                boxes.append((pos, letters[j], up, up + row[j], row[j]))
                up += row[j]
        down = 0.0
        for j in np.argsort(-row, kind="stable"):
            if row[j] < 0:
                boxes.append((pos, letters[j], down + row[j], down, row[j]))
                down += row[j]
    return boxes


def logo_plotly(
    matrix: pd.DataFrame,
    title: str = "",
    ylabel: str = "SHAP value",
    colors: Mapping[str, str] | None = None,
    height: int = 300,
    below: pd.DataFrame | None = None,
    fixed: Mapping[int, str] | None = None,
    errors: np.ndarray | None = None,
) -> Any:
    """A sequence logo as a plotly figure (letter glyphs as filled path shapes, hover per letter).

    Parameters
    ----------
    matrix : pandas.DataFrame
        ``(n, q)``: index = 1-based positions, columns = letters (see :func:`saliency_matrix`,
        :meth:`shapzero_core.analysis.PositionLetterSummary.matrix`, :func:`pwm_matrix`).
    title, ylabel : str
    colors : mapping letter -> colour, optional
        Default :func:`letter_colors`.
    height : int
        Pixels.
    below : pandas.DataFrame, optional
        A second matrix of the same shape drawn below the axis (its values must be <= 0) while only the
        positive part of ``matrix`` is drawn above: the paper's split-interaction summary, where each
        letter has a positive and a negative part (:meth:`SplitSummary.matrix`).
    fixed : mapping 1-based position -> letter, optional
        Positions fixed by a template (:attr:`Explanation.fixed`): drawn on a grey band with their letter in
        grey (they are not players: their value is 0); a second invisible trace ``fixed`` carries their hover.
    errors : numpy.ndarray, optional
        ``float (n,)`` half-widths of error whiskers drawn at each position's net height (the row sum of
        ``matrix``), e.g. ``2 * stderr`` of one sequence's SHAP values (NaN: no whisker).

    Returns
    -------
    plotly.graph_objects.Figure
        One invisible scatter trace carries the hover text and ``customdata = [position, letter, value]``;
        the letters are ``layout.shapes`` (type ``path``). With ``errors`` a second trace named
        ``"error bars"`` draws the whiskers (``error_y``).
    """
    import plotly.graph_objects as go

    matrix, below = _split_pair(matrix, below)
    colors = dict(colors or letter_colors("".join(map(str, matrix.columns))))
    boxes = _stack(matrix) + (_stack(below) if below is not None else [])
    half = _GLYPH_WIDTH / 2
    shapes = []
    for pos, let, y0, y1, val in boxes:
        if y1 - y0 <= 0:
            continue
        shapes.append(
            {
                "type": "path",
                "path": _glyph_path(let, pos - half, pos + half, y0, y1, flip=val < 0),
                "fillcolor": colors.get(let, "#555555"),
                "line": {"width": 0},
                "layer": "above",
            }
        )
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[b[0] for b in boxes],
            y=[(b[2] + b[3]) / 2 for b in boxes],
            mode="markers",
            marker={"size": 14, "opacity": 0},
            customdata=[[b[0], b[1], b[4]] for b in boxes],
            hovertemplate="position %{customdata[0]}<br>letter %{customdata[1]}<br>"
            + ylabel
            + " %{customdata[2]:.4g}<extra></extra>",
            showlegend=False,
            name="letters",
        )
    )
    positions = [int(p) for p in matrix.index]
    M = matrix.to_numpy(dtype=np.float64)
    B = below.to_numpy(dtype=np.float64) if below is not None else M
    top = float(np.clip(M, 0, None).sum(axis=1).max())
    bottom = float(np.clip(B, None, 0).sum(axis=1).min())
    if errors is not None:
        err = _check_errors(errors, M.shape[0])
        net = M.sum(axis=1)
        fig.add_trace(
            go.Scatter(
                x=positions,
                y=net,
                mode="markers",
                marker={"size": 3, "color": "#222222"},
                error_y={"type": "data", "array": np.nan_to_num(err).tolist(), "color": "#222222",
                         "thickness": 1.2, "width": 4},
                customdata=np.stack([positions, net, err], axis=1).tolist(),
                hovertemplate="position %{customdata[0]}<br>" + ylabel
                + " %{customdata[1]:.4g} ± %{customdata[2]:.2g}<extra></extra>",
                showlegend=False,
                name="error bars",
            )
        )
        top = max(top, float(np.nanmax(net + np.nan_to_num(err), initial=top)))
        bottom = min(bottom, float(np.nanmin(net - np.nan_to_num(err), initial=bottom)))
    pad = 0.05 * max(top - bottom, 1e-12)
    if fixed:
        span = top - bottom if top > bottom else 1.0
        top = max(top, 0.12 * span)
        fx = sorted((int(p), str(let)) for p, let in fixed.items() if int(p) in positions)
        for pos, let in fx:
            shapes.insert(0, {"type": "rect", "xref": "x", "yref": "paper", "x0": pos - 0.5, "x1": pos + 0.5,
                              "y0": 0, "y1": 1, "fillcolor": FIXED_BAND, "line": {"width": 0}, "layer": "below"})
            shapes.append({"type": "path", "path": _glyph_path(let, pos - half, pos + half, 0.0, 0.12 * span, False),
                           "fillcolor": FIXED_COLOR, "line": {"width": 0}, "layer": "above"})
        fig.add_trace(go.Scatter(
            x=[p for p, _ in fx], y=[0.06 * span] * len(fx), mode="markers", marker={"size": 14, "opacity": 0},
            customdata=[[p, let] for p, let in fx], name="fixed", showlegend=False,
            hovertemplate="position %{customdata[0]}<br>%{customdata[1]} fixed by the template<extra></extra>"))
    fig.update_layout(
        template=plotly_template(),
        title={"text": title},
        shapes=shapes,
        height=height,
        xaxis={
            "title": {"text": "position"},
            "range": [min(positions) - 0.6, max(positions) + 0.6],
            "tickmode": "array",
            "tickvals": _position_ticks(max(positions)) if min(positions) == 1 else positions,
        },
        yaxis={"title": {"text": ylabel}, "range": [bottom - pad, top + pad]},
    )
    return fig


# ---------------------------------------------------------------------------------------------- matplotlib
def _mpl():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _new_figure(width: float, height: float):
    plt = _mpl()
    with plt.rc_context(MPL_STYLE):
        fig = plt.figure(figsize=(width, height))
        ax = fig.add_subplot(1, 1, 1)
    return fig, ax


def logo_matplotlib(
    matrix: pd.DataFrame,
    title: str = "",
    ylabel: str = "SHAP value",
    colors: Mapping[str, str] | None = None,
    width: float | None = None,
    height: float = 2.2,
    below: pd.DataFrame | None = None,
    fixed: Mapping[int, str] | None = None,
    errors: np.ndarray | None = None,
) -> Any:
    """The same logo as :func:`logo_plotly` (including ``below``, ``errors`` and the greyed
    ``fixed`` positions), drawn with logomaker (for
    SVG / PDF / PNG export).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import logomaker

    matrix, below = _split_pair(matrix, below)
    colors = dict(colors or letter_colors("".join(map(str, matrix.columns))))
    n = matrix.shape[0]
    plt = _mpl()
    with plt.rc_context(MPL_STYLE):
        fig, ax = _new_figure(width or max(4.0, 0.22 * n + 1.2), height)
        df = matrix.copy()
        df.index = df.index.astype(int)
        for part in [df] if below is None else [df, below.set_axis(df.index, axis=0)]:
            logomaker.Logo(
                part,
                ax=ax,
                color_scheme=colors,
                font_name=FONT_FAMILY,
                flip_below=True,
                width=_GLYPH_WIDTH,
                stack_order="big_on_top",
            )
        if below is not None:
            lo = float(np.clip(below.to_numpy(), None, 0).sum(axis=1).min())
            hi = float(np.clip(df.to_numpy(), 0, None).sum(axis=1).max())
            pad = 0.05 * max(hi - lo, 1e-12)
            ax.set_ylim(lo - pad, hi + pad)
        if errors is not None:
            err = _check_errors(errors, n)
            net = df.to_numpy(dtype=np.float64).sum(axis=1)
            ax.errorbar(df.index.to_numpy(), net, yerr=np.nan_to_num(err), fmt="none", ecolor="#222222",
                        elinewidth=0.8, capsize=1.5, zorder=5)
            lo0, hi0 = ax.get_ylim()
            lo1 = min(lo0, float(np.min(net - np.nan_to_num(err))))
            hi1 = max(hi0, float(np.max(net + np.nan_to_num(err))))
            if (lo1, hi1) != (lo0, hi0):
                pad = 0.05 * max(hi1 - lo1, 1e-12)
                ax.set_ylim(lo1 - pad, hi1 + pad)
        ax.axhline(0, color="#888888", lw=0.6)
        if fixed:
            lo, hi = ax.get_ylim()
            span = hi - lo if hi > lo else 1.0
            for pos, let in sorted((int(p), str(v)) for p, v in fixed.items()):
                if pos not in set(df.index):
                    continue
                ax.axvspan(pos - 0.5, pos + 0.5, color=FIXED_BAND, zorder=0, lw=0)
                ax.text(pos, 0, let, color=FIXED_COLOR, ha="center", va="bottom", fontweight="bold",
                        fontsize=9, zorder=3)
            ax.set_ylim(lo, max(hi, lo + 0.15 * span))
        ax.set_xticks(_position_ticks(int(df.index.max())) if int(df.index.min()) == 1 else list(df.index))
        ax.set_xlim(int(df.index.min()) - 0.6, int(df.index.max()) + 0.6)
        ax.set_xlabel("position")
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title)
    return fig


def _check_errors(errors: np.ndarray, n: int) -> np.ndarray:
    err = np.asarray(errors, dtype=np.float64).reshape(-1)
    if err.shape != (n,):
        raise ValueError(f"errors must have one half-width per position ({n}), got shape {np.shape(errors)}")
    if np.any(err[np.isfinite(err)] < 0):
        raise ValueError("errors are half-widths and must be >= 0")
    return err


def _symmetric_limit(M: np.ndarray) -> float:
    m = float(np.nanmax(np.abs(M))) if M.size else 0.0
    return m if m > 0 else 1.0


#: Sequential scale of maps whose values are never negative (e.g. mean |interaction|): white to dark red,
#: the upper half of the diverging scale, so that "more" looks the same on both kinds of map.
_SEQUENTIAL_STOPS = _DIVERGING_STOPS[len(_DIVERGING_STOPS) // 2:]
PLOTLY_SEQUENTIAL = [[i / (len(_SEQUENTIAL_STOPS) - 1), c] for i, c in enumerate(_SEQUENTIAL_STOPS)]


def _sequential_cmap() -> Any:
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list("shapzero_sequential", _SEQUENTIAL_STOPS)


def _color_range(vals: np.ndarray, sequential: bool | None) -> tuple[bool, float, float]:
    """``(sequential, lo, hi)`` of a map: a diverging scale symmetric about 0, or (for values that are all
    >= 0, or ``sequential=True``) a sequential one from 0 to the largest value."""
    finite = vals[np.isfinite(vals)]
    seq = bool(finite.size and finite.min() >= 0) if sequential is None else bool(sequential)
    lim = _symmetric_limit(finite)
    return (True, 0.0, lim) if seq else (False, -lim, lim)


def mpl_position_ticks(n: int, inches: float, fontsize: float = 9.0) -> list[int]:
    """1-based position ticks for a matplotlib axis ``inches`` long whose labels do not run together: the
    step (1, 2, 5, 10, 20, 50...) is the smallest whose labels, at ``fontsize`` points, fit with a gap."""
    label_in = (len(str(n)) * 0.6 + 1.2) * fontsize / 72  # digits plus a space either side
    fit = max(1, int(inches / label_in))
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000):
        ticks = [1, *range(step, n + 1, step)] if step > 1 else list(range(1, n + 1))
        if len(ticks) <= fit:
            return ticks
    return [1, n]


def interaction_heatmap_plotly(
    matrix: np.ndarray,
    letters: Sequence[Sequence[str]] | None = None,
    title: str = "",
    colorbar_title: str = "interaction",
    size: int = 520,
    sequential: bool | None = None,
) -> Any:
    """Position x position interaction matrix as a square-marker scatter (clickable in Streamlit).

    Parameters
    ----------
    matrix : numpy.ndarray
        ``float (n, n)`` symmetric values (e.g. ``Interactions.pairwise()[s]`` or its mean); the
        diagonal is not drawn.
    letters : (n, n) nested sequence of str, optional
        Label of each cell, e.g. the letter pair ``"GC"`` of one sequence.
    title, colorbar_title : str
    size : int
        Figure width and height in pixels.
    sequential : bool, optional
        Colour scale: diverging about 0 (signed values) or sequential from 0 (values that cannot be negative,
        e.g. mean |value|). Default: sequential when every off-diagonal value is >= 0.

    Returns
    -------
    plotly.graph_objects.Figure
        One scatter trace; ``x = j`` and ``y = i`` (1-based), ``customdata = [i, j, letters, value]``.
    """
    import plotly.graph_objects as go

    M = np.asarray(matrix, dtype=np.float64)
    if M.ndim != 2 or M.shape[0] != M.shape[1]:
        raise ValueError(f"matrix must be square (n, n), got shape {M.shape}")
    n = M.shape[0]
    ii, jj = np.nonzero(~np.eye(n, dtype=bool))
    vals = M[ii, jj]
    labels = [str(letters[i][j]) for i, j in zip(ii, jj, strict=True)] if letters is not None else [""] * ii.size
    seq, lo, hi = _color_range(vals, sequential)
    marker_px = max(3, int((size - 120) / max(n, 1)))
    fig = go.Figure(
        go.Scatter(
            x=jj + 1,
            y=ii + 1,
            mode="markers",
            marker={
                "symbol": "square",
                "size": marker_px,
                "color": vals,
                "colorscale": PLOTLY_SEQUENTIAL if seq else PLOTLY_DIVERGING,
                "cmin": lo,
                "cmax": hi,
                "colorbar": {"title": {"text": colorbar_title, "side": "right"}, "thickness": 14},  # beside: a long
                # title (with the unit) would widen the bar and squeeze the map
                "line": {"width": 0},
            },
            customdata=np.stack([ii + 1, jj + 1, np.asarray(labels, dtype=object), vals], axis=1),
            hovertemplate="positions %{customdata[0]} × %{customdata[1]} %{customdata[2]}"
            "<br>value %{customdata[3]:.4g}<extra></extra>",
            showlegend=False,
            name="pairs",
        )
    )
    ticks = _position_ticks(n)
    fig.update_layout(
        template=plotly_template(),
        title={"text": title},
        width=size,
        height=size,
        xaxis={"title": {"text": "position"}, "range": [0.5, n + 0.5], "tickvals": ticks, "constrain": "domain"},
        yaxis={"title": {"text": "position"}, "range": [n + 0.5, 0.5], "tickvals": ticks, "scaleanchor": "x",
               "zeroline": False},
        clickmode="event+select",
    )
    return fig


def interaction_heatmap_matplotlib(
    matrix: np.ndarray, title: str = "", colorbar_title: str = "interaction", size: float = 4.2,
    sequential: bool | None = None,
) -> Any:
    """The same interaction matrix for export (same colours and scale rule as
    :func:`interaction_heatmap_plotly`, 1-based ticks spaced so their labels never touch, diagonal blank)."""
    M = np.asarray(matrix, dtype=np.float64).copy()
    if M.ndim != 2 or M.shape[0] != M.shape[1]:
        raise ValueError(f"matrix must be square (n, n), got shape {M.shape}")
    n = M.shape[0]
    seq, lo, hi = _color_range(M[~np.eye(n, dtype=bool)], sequential)
    M[np.eye(n, dtype=bool)] = np.nan
    plt = _mpl()
    with plt.rc_context(MPL_STYLE):
        fig, ax = _new_figure(size + 0.8, size)
        cmap = (_sequential_cmap() if seq else plt.get_cmap(DIVERGING)).with_extremes(bad="white")
        im = ax.imshow(M, cmap=cmap, vmin=lo, vmax=hi, extent=(0.5, n + 0.5, n + 0.5, 0.5),
                       interpolation="nearest")
        ticks = mpl_position_ticks(n, 0.8 * size, float(MPL_STYLE["font.size"]))
        ax.set_xticks(ticks)
        ax.set_yticks(ticks)
        ax.set_xlabel("position")
        ax.set_ylabel("position")
        cb = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        cb.set_label(colorbar_title)
        if title:
            ax.set_title(title)
    return fig


def _bar_labels(table: pd.DataFrame) -> list[str]:
    return [
        f"{','.join(map(str, p))} {s}"
        for p, s in zip(table["positions"], table["letters"], strict=True)
    ]


def _bar_data(table: pd.DataFrame, k: int, value: str) -> pd.DataFrame:
    need = {"positions", "letters", value}
    if not need <= set(table.columns):
        raise ValueError(f"table needs columns {sorted(need)}, got {list(table.columns)}")
    return table.head(k).iloc[::-1]


def top_interactions_plotly(table: pd.DataFrame, k: int = 20, value: str = "mean", title: str = "") -> Any:
    """Horizontal bar chart of the top interactions (rows of :func:`shapzero_core.analysis.top_interactions`
    or ``Interactions.top``), labelled ``"<1-based positions> <letters>"``, red up / blue down."""
    import plotly.graph_objects as go

    t = _bar_data(table, k, value)
    vals = t[value].to_numpy(dtype=float)
    labels = _bar_labels(t)
    fig = go.Figure(
        go.Bar(
            x=vals,
            y=labels,
            orientation="h",
            marker={"color": [POSITIVE_COLOR if v >= 0 else NEGATIVE_COLOR for v in vals]},
            customdata=np.stack([labels, t.get("count", pd.Series([np.nan] * len(t))).to_numpy()], axis=1)
            if len(t) else None,
            hovertemplate="%{y}<br>value %{x:.4g}<extra></extra>",
            showlegend=False,
        )
    )
    fig.update_layout(
        template=plotly_template(),
        title={"text": title},
        height=max(250, 22 * len(t) + 100),
        xaxis={"title": {"text": value}, "zeroline": True, "zerolinecolor": "#888888"},
        yaxis={"title": {"text": "positions (1-based) and letters"}, "type": "category", "automargin": True},
    )
    return fig


def top_interactions_matplotlib(table: pd.DataFrame, k: int = 20, value: str = "mean", title: str = "") -> Any:
    """The same bar chart for export."""
    t = _bar_data(table, k, value)
    vals = t[value].to_numpy(dtype=float)
    plt = _mpl()
    with plt.rc_context(MPL_STYLE):
        fig, ax = _new_figure(5.0, max(1.6, 0.22 * len(t) + 0.8))
        ax.barh(np.arange(len(t)), vals, color=[POSITIVE_COLOR if v >= 0 else NEGATIVE_COLOR for v in vals])
        ax.set_yticks(np.arange(len(t)))
        ax.set_yticklabels(_bar_labels(t))
        ax.axvline(0, color="#888888", lw=0.6)
        ax.set_xlabel(value)
        ax.set_ylabel("positions (1-based) and letters")
        if title:
            ax.set_title(title)
    return fig


# ---------------------------------------------------------------------------------------------- saving
def save_figure(
    fig: Any, path: str | os.PathLike[str], formats: Iterable[str] = ("svg", "pdf", "png")
) -> list[Path]:
    """Write a matplotlib figure in each format, next to ``path`` (its suffix is replaced).

    SVG keeps text as text (``svg.fonttype = "none"``), PDF embeds TrueType fonts (``pdf.fonttype = 42``),
    PNG is 300 dpi. Returns the written paths. The figure is closed afterwards.
    """
    plt = _mpl()
    stem = Path(path)
    stem = stem.with_suffix("") if stem.suffix.lower() in (".svg", ".pdf", ".png") else stem
    stem.parent.mkdir(parents=True, exist_ok=True)
    out: list[Path] = []
    try:
        with plt.rc_context(MPL_STYLE):
            for fmt in formats:
                fmt = fmt.lower().lstrip(".")
                if fmt not in ("svg", "pdf", "png"):
                    raise ValueError(f"unknown figure format {fmt!r}; choose svg, pdf or png")
                p = stem.with_name(stem.name + "." + fmt)
                fig.savefig(p, format=fmt, dpi=300, metadata={"Date": None} if fmt in ("svg", "pdf") else None)
                out.append(p)
    finally:
        plt.close(fig)
    return out
