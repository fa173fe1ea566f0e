"""Shared widgets: page guards with friendly messages, the sequence picker, the interaction-index
controls, plotly charts, and the session summary in the sidebar.

Widget keys are stable (the browser tests use them); every page has exactly one ``st.title``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from shapzero_core import INDICES

from . import cache, core, state

#: name -> (script, sidebar label, icon). Streamlit's pages/ mechanism: the URL of ``pages/1_Model.py`` is
#: ``/Model``; the home page is the entry point ``app.py`` at ``/``.
PAGES: dict[str, tuple[str, str, str]] = {
    "home": ("app.py", "Home", ":material/home:"),
    "model": ("pages/1_Model.py", "Model", ":material/model_training:"),
    "sketch": ("pages/2_Sketch.py", "Sketch", ":material/bolt:"),
    "sequences": ("pages/3_Sequences.py", "Sequences", ":material/table_rows:"),
    "logos": ("pages/4_Logos.py", "Logos", ":material/text_fields:"),
    "interactions": ("pages/5_Interactions.py", "Interactions", ":material/grid_on:"),
    "motifs": ("pages/6_Motifs.py", "Motifs", ":material/pattern:"),
    "export": ("pages/7_Export.py", "Export", ":material/download:"),
}
INDEX = "sz_index"
ORDER = "sz_order"
#: Number formats of the summary statistics columns in tables.
STAT_COLUMNS = {
    "mean": st.column_config.NumberColumn(format="%.4g"),
    "value": st.column_config.NumberColumn(format="%.4g"),
    "std": st.column_config.NumberColumn(format="%.2g"),
    "mean_abs": st.column_config.NumberColumn("mean |value|", format="%.4g"),
    "frac_positive": st.column_config.NumberColumn("share positive", format="%.2f"),
    "sign_consistency": st.column_config.NumberColumn("sign consistency", format="%.2f"),
}
PLOTLY_CONFIG = {"displaylogo": False, "toImageButtonOptions": {"format": "svg"}}


def page_link(name: str, label: str, icon: str | None = None) -> None:
    """A link to one of the app's pages (plain text where page links are unavailable)."""
    try:
        st.page_link(PAGES[name][0], label=label, icon=icon)
    except Exception:  # e.g. a test harness that runs a page script alone
        st.markdown(f"**{label}**")


def favicon() -> Any:
    """The browser-tab icon, drawn here (a ``:material/...:`` icon would be fetched from fonts.gstatic.com;
    the app needs no network at run time)."""
    from PIL import Image, ImageDraw

    im = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    d.rounded_rectangle((2, 2, 62, 62), radius=14, fill="#B2182B")
    for x0, h, col in ((12, 30, "#FFFFFF"), (27, 42, "#FDDBC7"), (42, 20, "#FFFFFF")):
        d.rectangle((x0, 54 - h, x0 + 10, 54), fill=col)
    return im


def page_frame(name: str) -> None:
    """What every page script does first: page config, the sidebar (navigation, a running sketch's progress,
    the session summary) and adopting a sketch that finished in the background.

    Every page, ``app.py`` included, calls it, so a page opened directly by its URL on a freshly started
    server is complete (Streamlit's ``pages/`` mechanism runs the page script alone).
    """
    from . import sketching  # imported here: sketching imports this module

    _, label, _ = PAGES[name]
    title = "SHAP zero Studio" if name == "home" else f"{label} · SHAP zero Studio"
    st.set_page_config(page_title=title, page_icon=favicon(), layout="wide")
    sketching.adopt_finished_job()
    with st.sidebar:
        for key, (_, lab, icon) in PAGES.items():
            page_link(key, lab, icon)
        st.divider()
        # the progress line and the summary keep their places whether a sketch runs or not: when the progress
        # fragment disappeared (the sketch finished), the summary moved up one place and the old one stayed
        # below it (the summary drawn twice)
        with st.container():
            sketching.sidebar_progress()
        slot = st.empty()

    def draw_summary() -> None:
        with slot.container():
            session_summary()

    draw_summary()
    notice_slot = st.empty()
    draws = [0]

    def draw_notice() -> None:
        text = state.notice()
        if not text:
            notice_slot.empty()
            return
        with notice_slot.container():
            c1, c2 = st.columns([12, 1], vertical_alignment="center")
            c1.warning(text, icon=":material/move_item:")
            draws[0] += 1  # the notice may be redrawn in the same run: each draw its own widget key
            c2.button("OK", key=f"notice_ok_{draws[0]}", on_click=state.dismiss_notice,
                      help="Dismiss this notice (what was set aside stays listed in the sidebar)")

    def on_change() -> None:
        draw_summary()
        draw_notice()

    draw_notice()
    st.session_state[state.ON_CHANGE] = on_change  # the page body may change the session after this


def header(title: str, intro: str) -> None:
    """The page's single title and a one-line explanation."""
    st.title(title)
    st.caption(intro)


def require_sketch():
    """The session's sketch, or a friendly message with links and ``st.stop()``."""
    sk = state.get_sketch()
    if sk is None:
        st.info("There is no sketch yet. Start with **Try the demo** on the home page, or load a model and "
                "sketch it (or load a saved sketch).")
        c1, c2, c3 = st.columns(3)
        with c1:
            page_link("home", "Home: try the demo", ":material/home:")
        with c2:
            page_link("model", "Load a model", ":material/model_training:")
        with c3:
            page_link("sketch", "Sketch or load a sketch", ":material/bolt:")
        st.stop()
    return sk


def require_context() -> cache.Ctx:
    """Sketch and sequences that fit together, or a friendly message and ``st.stop()``."""
    sk = require_sketch()
    seqs = state.get_sequences()
    if seqs is None or len(seqs) == 0:
        st.info("No sequences are loaded yet. Upload a file or generate random sequences on the Sequences page.")
        page_link("sequences", "Load sequences", ":material/table_rows:")
        st.stop()
    ctx = cache.context()
    if ctx is None:
        st.warning(
            f"The loaded sequences ({seqs.n} letters, {seqs.alphabet.letters}) do not fit the sketch "
            f"({sk.sequence_length} letters, {sk.alphabet.letters}). Load sequences of length {sk.sequence_length}."
        )
        page_link("sequences", "Load sequences", ":material/table_rows:")
        st.stop()
    return ctx


_BG_LABELS = {"uniform": "Uniform letters", "data": "Letter frequencies of the loaded sequences",
              "table": "A table of letter probabilities (upload)"}
_BG_MAX_BYTES = 1024 * 1024


def background_selector(ctx: cache.Ctx, key: str) -> cache.Ctx:
    """"Compared with what?": the background the SHAP values are measured against, shared by every page.

    Returns the context to draw with (the same one unless a table was just uploaded)."""
    import os
    import tempfile

    from shapzero_core.background import load_background

    st.session_state[key] = state.background_choice()

    def changed() -> None:
        st.session_state[state.BACKGROUND] = st.session_state[key]
        state._changed()

    st.radio("Compared with", list(_BG_LABELS), format_func=_BG_LABELS.__getitem__, key=key, horizontal=True,
             on_change=changed,
             help="The letters that fill the positions a SHAP value leaves out. Uniform: every letter equally "
                  "likely (the sketch's own game). Frequencies: each position's letters as often as in your "
                  "sequences (pseudocount 0.5), so a value says how a letter differs from a typical sequence.")
    if st.session_state[key] == "table":
        up = st.file_uploader("Letter probabilities: .tsv/.csv with one column per letter and one row per "
                              "position, or .npy (positions x letters)", type=["tsv", "csv", "npy"],
                              key=key + "_file")
        if up is not None:
            data = up.getvalue()
            if len(data) > _BG_MAX_BYTES:
                st.error(f"{up.name} is larger than 1 MB: a table of letter probabilities is a few kB.")
            else:
                suffix = os.path.splitext(up.name)[1].lower()
                with tempfile.TemporaryDirectory() as tmp:
                    path = os.path.join(tmp, "background" + suffix)
                    with open(path, "wb") as fh:
                        fh.write(data)
                    try:
                        bg = load_background(path, ctx.sketch)
                    except ValueError as e:
                        st.error(f"{up.name}: {str(e).replace(path, up.name)}")
                        bg = None
                if bg is not None:
                    old = st.session_state.get(state.BACKGROUND_TABLE)
                    if old is None or old[0] != up.name or not np.array_equal(old[1], bg.probs):
                        st.session_state[state.BACKGROUND_TABLE] = (up.name, bg.probs)
                        st.session_state[state.BACKGROUND] = "table"
                        state._changed()
                        ctx = cache.context() or ctx
        elif st.session_state.get(state.BACKGROUND_TABLE) is None:
            st.caption("No table yet: the values below use uniform letters.")
    if ctx.background is not None:
        st.caption(f"Values against {ctx.background.description}; the prediction of the empty coalition is the "
                   f"sketch's mean over that background.")
    return ctx


def sequence_picker(ctx: cache.Ctx, key: str) -> int:
    """Selectbox of sequence ids bound to the session's selected sequence; returns the 0-based row."""
    row = state.selected_row()
    st.session_state[key] = row
    ids = ctx.seqs.ids

    def changed() -> None:
        state.set_selected(int(st.session_state[key]))

    st.selectbox("Sequence", range(len(ids)), format_func=lambda r: ids[r], key=key, on_change=changed,
                 help="The selected sequence is shared by all pages; select a row on the Sequences page too.")
    return state.selected_row()


def index_controls(sketch_max_order: int, key_prefix: str) -> tuple[str, int | None]:
    """Interaction index and order, shared by the Interactions and Export pages.

    Returns ``(index, order)`` where ``order`` is None for "all orders".
    """
    cur = st.session_state.get(INDEX, "mobius")
    st.session_state[f"{key_prefix}_index"] = cur if cur in INDICES else "mobius"

    def idx_changed() -> None:
        st.session_state[INDEX] = st.session_state[f"{key_prefix}_index"]
        st.session_state.pop(ORDER, None)

    c1, c2 = st.columns([2, 1])
    with c1:
        index = st.selectbox("Interaction index", INDICES, format_func=core.INDEX_LABELS.get,
                             key=f"{key_prefix}_index", on_change=idx_changed)
    needs_order = index in ("faith-shap", "stii")
    hi = max(2, sketch_max_order)
    opts: list[Any] = list(range(2, hi + 1)) if needs_order else ["all", *range(1, hi + 1)]
    default = 2 if needs_order else ("all" if index == "mobius" else 2)
    cur_o = st.session_state.get(ORDER, default)
    st.session_state[f"{key_prefix}_order"] = cur_o if cur_o in opts else default

    def ord_changed() -> None:
        st.session_state[ORDER] = st.session_state[f"{key_prefix}_order"]

    with c2:
        order = st.selectbox("Order ℓ" if needs_order else "Highest order", opts, key=f"{key_prefix}_order",
                             on_change=ord_changed,
                             help="Faith-Shap and STII are defined for an order ℓ; for the other indices this "
                                  "only limits which orders are computed and shown.")
    if sketch_max_order <= 2:
        st.caption("This sketch has no interactions above pairs, so every index gives the same pairwise values: "
                   "the indices differ only in how they share interactions of three or more positions.")
    with st.expander("What does this mean?"):
        st.markdown(INDEX_MEANINGS)
    return index, (None if order == "all" else int(order))


#: The interaction indices in plain words (the "What does this mean?" expander of the index controls).
INDEX_MEANINGS = """
An **interaction** between positions says how much the letters there change the prediction *together*, beyond
what each does alone. The indices answer slightly different questions when three or more positions interact:

- **Möbius (all orders)** — the pure effect of each set of positions, with nothing shared out: a triple's effect
  appears only at the triple. Adding every set's value over the positions of a sequence gives its prediction.
- **Faith-Shap (order ℓ)** — the best summary using sets of at most ℓ positions: larger sets are shared out among
  their subsets of size ℓ. With ℓ = 2, pairwise values that also account for triples and beyond.
- **STII (order ℓ)** — Shapley-Taylor: sets smaller than ℓ keep their pure effect, sets larger than ℓ are shared
  equally among their ℓ-subsets; the values add up to the prediction.
- **SII** — the Shapley interaction index: the average extra effect of a pair over every context of the other
  positions. Does not add up to the prediction.
- **Banzhaf** — as SII but every context counts equally (not weighted by size).

Values are in the model's output units, measured against the background (by default every sequence equally likely). Positive: the two
letters together raise the prediction; negative: they lower it.
"""


def current_index() -> tuple[str, int | None]:
    """The index / order last chosen on the Interactions page (default Möbius, all orders)."""
    index = st.session_state.get(INDEX, "mobius")
    order = st.session_state.get(ORDER, 2 if index in ("faith-shap", "stii") else
                                 (None if index == "mobius" else 2))
    return index, (None if order in (None, "all") else int(order))


def logo_range(matrix: Any, below: Any = None) -> tuple[float, float]:
    """The y range :func:`shapzero_core.figures.logo_plotly` gives a logo matrix (5 % padding)."""
    import numpy as np

    M = np.asarray(matrix, dtype=float)
    B = np.asarray(below, dtype=float) if below is not None else M
    top = float(np.clip(M, 0, None).sum(axis=1).max())
    bottom = float(np.clip(B, None, 0).sum(axis=1).min())
    pad = 0.05 * max(top - bottom, 1e-12)
    return bottom - pad, top + pad


def merge_logo_shapes(fig: Any) -> Any:
    """Join the letter shapes of a logo (:func:`shapzero_core.figures.logo_plotly`, one SVG path per
    letter) into one path per colour: the same picture, but the browser draws 4 shapes instead of n * q."""
    shapes = list(fig.layout.shapes or ())
    if len(shapes) <= 8:
        return fig
    groups: dict[tuple, list[str]] = {}
    for sh in shapes:
        if sh.type != "path":
            return fig
        groups.setdefault((sh.fillcolor, sh.layer), []).append(sh.path)
    fig.layout.shapes = [
        {"type": "path", "path": " ".join(paths), "fillcolor": color, "line": {"width": 0}, "layer": layer}
        for (color, layer), paths in groups.items()
    ]
    return fig


def drop_zero_cells(fig: Any, background: str = "#F7F7F7") -> Any:
    """Keep only the non-zero cells of an interaction map (the engine's square-marker scatter) and paint
    the plot background in the colour of 0, so the map looks the same with far fewer markers (the browser
    draws every marker as an SVG path; a sparse sketch has few interacting pairs)."""
    import numpy as np

    tr = fig.data[0]
    vals = np.asarray(tr.marker.color, dtype=float)
    keep = np.flatnonzero(vals != 0)
    cd = np.asarray(tr.customdata, dtype=object)
    tr.update(x=np.asarray(tr.x)[keep], y=np.asarray(tr.y)[keep], customdata=cd[keep],
              marker={"color": vals[keep]},
              # a clicked cell gets an outline; the others stay readable (plotly would fade them to 0.2)
              selected={"marker": {"opacity": 1.0}}, unselected={"marker": {"opacity": 0.8}})
    fig.update_layout(plot_bgcolor=background)
    fig.update_yaxes(constrain="domain")  # the painted area is exactly the cells
    n = round(fig.layout.xaxis.range[1] - 0.5)  # the engine's axis range is [0.5, n + 0.5]
    diag = np.arange(1, n + 1)
    fig.add_scatter(x=diag, y=diag, mode="markers", hoverinfo="skip", showlegend=False, name="diagonal",
                    marker={"symbol": "square", "size": tr.marker.size, "color": "white", "line": {"width": 0}},
                    unselected={"marker": {"opacity": 1.0}})
    return fig


def sparse_ticks(fig: Any, n: int) -> None:
    """Position ticks at 1, 5, 10, ... on both axes of an interaction map when ``n > 20`` (readable)."""
    if n > 20:
        step = 5 if n <= 60 else 10
        ticks = [1, *range(step, n + 1, step)]
        fig.update_xaxes(tickvals=ticks, tickangle=0)
        fig.update_yaxes(tickvals=ticks)


def plotly(fig: Any, key: str, **kwargs: Any) -> Any:
    """``st.plotly_chart`` with the app's config and without Streamlit's theme (the engine's style); logos
    are drawn with one path per letter colour (:func:`merge_logo_shapes`)."""
    merge_logo_shapes(fig)
    clear_of_toolbar(fig)
    return st.plotly_chart(fig, key=key, theme=None, config=PLOTLY_CONFIG, **kwargs)


#: Height of plotly's toolbar (modebar) at the top of a chart, px.
TOOLBAR_PX = 30


def clear_of_toolbar(fig: Any) -> Any:
    """Put the chart's title just above the plot area, below the toolbar row (the toolbar sits in the top
    ``TOOLBAR_PX`` of the chart and drew over titles that started at the top). Returns ``fig``."""
    text = fig.layout.title.text
    if not text:
        return fig
    lines = str(text).count("<br>") + 1
    need = TOOLBAR_PX + 10 + 20 * lines
    fig.update_layout(title={"y": 1.0, "yref": "paper", "yanchor": "bottom", "pad": {"b": 8}},
                      margin={"t": max(int(fig.layout.margin.t or 0), need)})
    return fig


def session_summary(container: Any = None) -> None:
    """Where the session stands: model, sketch, sequences, selected sequence."""
    c = container or st
    model = state.get_model()
    sk = state.get_sketch()
    seqs = state.get_sequences()
    lines = [
        f"**Model:** {state.model_label() or '—'}" if model is not None else "**Model:** none",
        (f"**Sketch:** n={sk.n}{f' free of {sk.sequence_length}' if sk.template is not None else ''}, "
         f"{sk.num_coefficients:,} terms{_r2_note(sk)} · {state.sketch_source()}"
         if sk is not None else "**Sketch:** none"),
        (f"**Sequences:** {len(seqs):,} of length {seqs.n} · {seqs.source}" if seqs is not None
         else "**Sequences:** none"),
    ]
    if seqs is not None and len(seqs):
        lines.append(f"**Selected:** {seqs.ids[state.selected_row()]}")
    aside = state.aside_summary()
    if aside:
        lines.append("**Set aside** (does not fit): " + "; ".join(aside))
    c.markdown("  \n".join(lines))


#: Up to this many rejected rows are a plain table whose reasons wrap (read whole); more are a scrolling grid.
REJECTED_AS_TABLE = 20


def rejected_table(rejected: pd.DataFrame, key: str) -> None:
    """The rejected rows of an upload with their reasons, readable in full: a plain table (text wraps) for a
    few rows, a grid with a wide reason column (full text on hover) for many. Inside a container ``key``."""
    names = {"row": "record", "line": "line in file"}
    with st.container(key=key):
        if len(rejected) <= REJECTED_AS_TABLE:
            st.table(rejected.rename(columns=names).set_index("record"))
            return
        st.dataframe(rejected, hide_index=True, width="stretch", column_config={
            "row": st.column_config.NumberColumn(names["row"], width="small"),
            "line": st.column_config.NumberColumn(names["line"], width="small"),
            "id": st.column_config.TextColumn("id", width="small"),
            "sequence": st.column_config.TextColumn("sequence", width="medium"),
            "reason": st.column_config.TextColumn("reason", width="large", help="Why the row was not read"),
        }, column_order=["row", "line", "id", "reason", "sequence"])


#: A model's input layout in words (the Model page's metric: short, the detail in its help).
LAYOUT_WORDS = {"NLQ": "one-hot", "NQL": "one-hot", "flat": "one-hot", "codes": "codes", "strings": "text"}
#: ... and the detail.
LAYOUT_DETAIL = {
    "NLQ": "one-hot array (sequences × positions × letters)",
    "NQL": "one-hot array (sequences × letters × positions)",
    "flat": "one-hot array flattened to (sequences × positions·letters)",
    "codes": "letter codes 0…q−1 (sequences × positions)",
    "strings": "sequence strings",
}


#: Interaction map widths (px) of the Interactions page's "Map size" control.
MAP_SIZES = {"small": 380, "medium": 500, "large": 760}


def mark_cell(fig: Any, i: int | None, j: int | None, copy: bool = False) -> Any:
    """Outline the cell (i, j) and its mirror (j, i) of an interaction map (1-based; nothing if not a valid
    off-diagonal cell). With ``copy`` the figure is copied first (a cached figure stays unmarked)."""
    if copy:
        import plotly.graph_objects as go

        fig = go.Figure(fig)
    try:
        i, j = int(i), int(j)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return fig
    n = round(fig.layout.xaxis.range[1] - 0.5)
    if i == j or not (1 <= i <= n and 1 <= j <= n):
        return fig
    px = fig.data[0].marker.size or 6
    fig.add_scatter(x=[j, i], y=[i, j], mode="markers", hoverinfo="skip", showlegend=False, name="picked cell",
                    marker={"symbol": "square-open", "size": px + 4, "color": "#111111", "line": {"width": 2}},
                    unselected={"marker": {"opacity": 1.0}})
    return fig


#: Column names of the engine's tables in words (any other ``snake_case`` name: its underscores as spaces).
COLUMN_WORDS = {
    "seq_id": "id", "seq_number": "sequence no.", "p_value": "p value", "e_value": "E value", "q_value": "q value",
    "target_id": "JASPAR ID", "target_name": "name", "num_seqlets": "seqlets", "num_sequences": "sequences",
    "frac_positive": "share positive", "sign_consistency": "sign consistency", "mean_abs": "mean |value|",
    "is_repeat": "repeat", "unit_positions": "repeat unit at", "best_match_id": "best JASPAR match",
    "best_match_name": "name",
}


def plain_columns(columns: Any) -> dict[str, str]:
    """Display labels of the ``snake_case`` columns among ``columns`` (the data keeps its names)."""
    return {str(c): COLUMN_WORDS.get(str(c), str(c).replace("_", " ")) for c in columns if "_" in str(c)}


def dataframe(data: Any, **kwargs: Any) -> Any:
    """``st.dataframe`` with every ``snake_case`` column shown in words (``column_config`` given wins)."""
    cols = data.columns if hasattr(data, "columns") else list(data)
    kwargs["column_config"] = {**plain_columns(cols), **(kwargs.get("column_config") or {})}
    return st.dataframe(data, **kwargs)


def _r2_note(sk: Any) -> str:
    """``", held-out R² 0.79"`` of a sketch with a quality report, else ``""``."""
    r2 = (sk.report or {}).get("r2")
    return f", held-out R² {r2:.2f}" if isinstance(r2, int | float) and r2 == r2 else ""
