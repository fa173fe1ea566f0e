"""Interactions: position x position maps (selected sequence and across sequences), the letter pairs behind
a clicked cell, and the top interactions of any order with their letters."""

import numpy as np
import streamlit as st

from shapzero_core.figures import interaction_heatmap_plotly, pair_labels, top_interactions_plotly
from studio_ui import cache, core, state
from studio_ui import widgets as w

w.page_frame("interactions")
w.header("Interactions", "How pairs of positions act together. Click a cell of either map to see the "
         "letter pairs behind it. Positions are 1-based.")
ctx = w.require_context()
ctx = w.background_selector(ctx, "inter_background")
sk = ctx.sketch
max_order = max(sk.count_by_order()) if sk.num_coefficients else 2
index, order = w.index_controls(max_order, "inter")
try:
    ex = cache.explanation(ctx, index, order)
except ValueError as e:
    st.error(str(e))
    st.stop()
inter = ex.interactions
row = w.sequence_picker(ctx, "inter_seq")
seq = ex.sequences[row]
pidx = cache.pair_index(ctx, ctx.key, index, order)

PAIR_I, PAIR_J = "inter_pair_i", "inter_pair_j"


def _clicked(chart_key: str) -> None:
    cell = core.cell_from_selection(st.session_state.get(chart_key))
    if cell is not None:
        st.session_state[PAIR_I], st.session_state[PAIR_J] = cell


stat = st.radio("Across sequences, show", ["mean |value|", "mean value"], horizontal=True, key="inter_stat",
                help="Under a uniform background the plain mean of an interaction over random sequences is "
                     "close to 0 (opposite letters cancel); mean |value| shows how strongly two positions "
                     "interact whatever the letters.")
size = w.MAP_SIZES[st.select_slider("Map size", list(w.MAP_SIZES), value="medium", key="inter_map_size",
                                     help="Width of each map in pixels (larger cells at large n)")]
cell = (st.session_state.get(PAIR_I), st.session_state.get(PAIR_J))  # the cell picked below (or clicked)
c1, c2 = st.columns(2, gap="medium") if size <= w.MAP_SIZES["medium"] else (st.container(), st.container())
label = core.INDEX_LABELS[index].split(" (")[0]
with c1:
    M = core.pair_matrix(inter, row, pidx)
    fig = interaction_heatmap_plotly(M, pair_labels(seq), title=f"{ex.ids[row]}: pairwise {label}",
                                     colorbar_title=state.in_units("value"), size=size,
                                     sequential=False)
    w.sparse_ticks(fig, n=ex.n)
    w.drop_zero_cells(fig)
    w.mark_cell(fig, *cell)
    w.plotly(fig, key="heat_seq", on_select=lambda: _clicked("heat_seq"), selection_mode="points")
with c2:
    P = cache.pairwise(ctx, ctx.key, index, order, "mean_abs" if stat == "mean |value|" else "mean")

    def _agg_map():
        f = interaction_heatmap_plotly(P, pair_labels(seq), title=f"{stat} over {ex.N:,} sequences",
                                       colorbar_title=state.in_units(stat), size=size,
                                       sequential=stat == "mean |value|")  # never negative: from 0
        f.data[0].hovertemplate = ("positions %{customdata[0]} × %{customdata[1]}<br>" + stat
                                   + " %{customdata[3]:.4g}<br>(selected sequence: %{customdata[2]})<extra></extra>")
        w.sparse_ticks(f, n=ex.n)
        return w.drop_zero_cells(f)

    fig = cache.figure(("pair_map", ctx.key, index, order, stat, state.output_unit(), size, row), _agg_map)
    w.plotly(w.mark_cell(fig, *cell, copy=True), key="heat_all", on_select=lambda: _clicked("heat_all"),
             selection_mode="points")

st.subheader("The letter pairs behind a cell")
n = ex.n
_best = np.unravel_index(int(np.argmax(np.abs(P))), P.shape) if P.size and np.abs(P).max() > 0 else (0, min(1, n - 1))
for _k, _d in ((PAIR_I, int(min(_best)) + 1), (PAIR_J, int(max(_best)) + 1)):
    if not 1 <= int(st.session_state.get(_k, _d)) <= n:
        st.session_state[_k] = _d
    st.session_state.setdefault(_k, _d)
b1, b2, b3 = st.columns([1, 1, 3])
i = int(b1.number_input("Position i", 1, n, key=PAIR_I))
j = int(b2.number_input("Position j", 1, n, key=PAIR_J))
if i == j:
    st.info("Pick two different positions (click an off-diagonal cell).")
else:
    a, b = sorted((i, j))
    v = M[a - 1, b - 1]
    b3.markdown(f"In **{ex.ids[row]}**: **{seq[a - 1]}** at {a} and **{seq[b - 1]}** at {b} → "
                f"pairwise {label} **{v:+.4g}**")
    t1, t2 = st.columns(2, gap="medium")
    with t1:
        st.markdown(f"Across all {ex.N:,} sequences, by the letters at {a} and {b}")
        pl = cache.pair_letters(ctx, ctx.key, index, order, a, b)
        if len(pl) == 0:
            st.caption(f"Positions {a} and {b} do not interact in this index (no order-2 term on this pair).")
        w.dataframe(pl[["letters", "mean", "std", "count", "sign_consistency"]], hide_index=True,
                     key="pair_letters_table",
                     column_config={"letters": st.column_config.TextColumn(f"letters at {a},{b}"),
                                    **w.STAT_COLUMNS})
    with t2:
        st.markdown(f"Higher-order sets containing {a} and {b} in {ex.ids[row]}")
        ho = core.higher_order_with_pair(inter, row, a, b)
        if len(ho):
            w.dataframe(ho, hide_index=True, key="pair_higher_table")
        else:
            st.caption("None.")

st.subheader("Top interactions")
orders_present = sorted({int(o) for o in inter.orders if o >= 1}) or [2]
lo_default = 2 if max(orders_present) >= 2 else 1
d1, d2, d3 = st.columns([2, 2, 1])
scope = d1.radio("Of", ["all sequences", "the selected sequence"], horizontal=True, key="top_scope")
# keyed by index and order: another index has other orders, and its slider starts at its full range (one key
# kept the pairs-only range of STII order 2 for Möbius "all", so the table silently showed pairs only)
o_lo, o_hi = (d2.select_slider("Orders", orders_present, value=(lo_default, max(orders_present)),
                               key=f"top_orders_{index}_{order}") if len(orders_present) > 1
              else (orders_present[0],) * 2)
k = int(d3.number_input("Rows", 5, 500, 20, step=5, key="top_k"))
if scope == "all sequences":
    top = cache.top_all(ctx, ctx.key, index, order, int(o_lo), int(o_hi)).head(k)
    st.caption("Grouped by positions and the letters carried there: mean value over the sequences that carry "
               "them, how many do, and the share whose value has the sign of the mean.")
else:
    top = core.sequence_top(inter, row, k=k, min_order=int(o_lo), max_order=int(o_hi))
if len(top) == 0:
    st.info("No interactions of these orders.")
else:
    value = "mean" if "mean" in top.columns else "value"
    w.dataframe(top.assign(positions=top["positions"].map(lambda p: ",".join(map(str, p)))),
                 hide_index=True, key="top_table", column_config=w.STAT_COLUMNS)
    if st.toggle("Show as a bar chart", key="top_as_chart"):
        w.plotly(top_interactions_plotly(top, k=min(k, 30), value=value, title=""), key="top_chart")
