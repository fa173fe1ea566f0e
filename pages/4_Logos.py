"""Logos: the SHAP logo of the selected sequence and mean-SHAP logos across all or filtered sequences."""

import pandas as pd
import streamlit as st

from shapzero_core.analysis import select
from shapzero_core.figures import logo_plotly, saliency_matrix
from studio_ui import cache, refining, state
from studio_ui import widgets as w

w.page_frame("logos")
w.header("Logos", "Letters scaled by their SHAP value: above the axis they raise the prediction, below they "
         "lower it. Positions are 1-based.")
ctx = w.require_context()
ctx = w.background_selector(ctx, "logo_background")
ex = cache.explanation(ctx)

same = st.toggle("Same y-axis for both logos", value=False, key="logo_same_axis",
                 help="Off: each logo uses its own scale. On: both share one scale, so heights compare directly.")
row = w.sequence_picker(ctx, "logo_seq")
seq = ex.sequences[row]
one_slot = st.container()

st.subheader("Across sequences")
labels = [c for c in ex.extra.columns if c not in ("description", "original_id")]
modes = ["All sequences", "Prediction range", *(["A label column"] if labels else [])]
mode = st.radio("Average over", modes, horizontal=True, key="logo_subset")
mask = None
what = f"all {ex.N:,} sequences"
try:
    if mode == "Prediction range":
        lo, hi = float(ex.predictions.min()), float(ex.predictions.max())
        if hi > lo:
            r = st.slider("Prediction between", lo, hi, (lo, hi), key="logo_pred_range")
            mask = select(ex, prediction_range=r)
            what = f"{int(mask.sum()):,} sequences with sketch prediction in [{r[0]:.3g}, {r[1]:.3g}]"
    elif mode == "A label column":
        col = st.selectbox("Column", labels, key="logo_label_col")
        vals = ex.extra[col]
        if pd.api.types.is_numeric_dtype(vals) and vals.nunique() > 12:
            lo, hi = float(vals.min()), float(vals.max())
            r = st.slider(f"{col} between", lo, hi, (lo, hi), key="logo_label_range")
            mask = select(ex, column=col, between=r)
            what = f"{int(mask.sum()):,} sequences with {col} in [{r[0]:.3g}, {r[1]:.3g}]"
        else:
            choice = st.multiselect(f"{col} is", sorted(vals.dropna().unique().tolist(), key=str),
                                    key="logo_label_vals")
            if choice:
                mask = select(ex, column=col, equals=choice)
                what = f"{int(mask.sum()):,} sequences with {col} in {choice}"
except ValueError as e:
    st.error(str(e))
    mask = None
if mask is not None and not mask.any():
    st.warning("No sequence matches; showing all sequences.")
    mask, what = None, f"all {ex.N:,} sequences"

pls = cache.position_letter(ctx, ctx.key, mask, cache.mask_key(mask))
M_one = saliency_matrix(ex.shap[row], seq, ex.alphabet)
M_all = pls.matrix()
yr = None
if same:
    (a0, a1), (b0, b1) = w.logo_range(M_one), w.logo_range(M_all)
    yr = (min(a0, b0), max(a1, b1))


def _logo(matrix, title: str, ylabel: str):
    fig = logo_plotly(matrix, title=title, ylabel=ylabel, height=300, fixed=ex.fixed)
    if yr is not None:
        fig.update_yaxes(range=list(yr))
    return fig


title_all = f"Mean SHAP by position and letter over {what}"
fig_all = cache.figure(("logo_all", ctx.key, cache.mask_key(mask), title_all, yr, state.output_unit()),
                       lambda: _logo(M_all, title_all, state.in_units("mean SHAP")))
with one_slot:
    st.markdown(f"Sketch prediction f(x) = **{ex.predictions[row]:.4f}** = baseline {ex.baseline:.4f} + sum of "
                f"SHAP {ex.shap[row].sum():+.4f} (from the sketch, not a model call)")
    refining.sequence_logos(ctx, ex, row, yr)
    st.caption(f"Sequence: `{seq}`")
    if ctx.background is None:
        refining.refine_controls(ctx, row, mask, what)
    else:
        st.caption("Refining with the model explains the uniform background: choose *Uniform letters* to refine.")
w.plotly(fig_all, key="logo_all_chart")
st.caption("Each letter's height is the mean SHAP value at that position over the sequences carrying it; "
           "letters never seen at a position are left out."
           + (f" Grey letters on grey bands are fixed by the template ({', '.join(f'{v} at {k}' for k, v in ex.fixed.items())}): "
              "they are not players, their SHAP value is 0." if ex.fixed else ""))

if st.toggle("Show the interactions split over their positions (order ≥ 2)", key="logo_show_split"):
    split = cache.split_summary(ctx, ctx.key, mask, cache.mask_key(mask))
    w.plotly(cache.figure(("logo_split", ctx.key, cache.mask_key(mask), state.output_unit()), lambda: logo_plotly(
        split.matrix("positive"), below=split.matrix("negative"), ylabel=state.in_units("mean split value"),
        title="Positive parts of the interactions up, negative parts down", height=300, fixed=ex.fixed)),
        key="logo_split_chart")
    st.caption("Every interaction of order d is shared equally among its d positions; the positive and the "
               "negative parts are averaged separately, so opposite effects do not cancel.")
