"""Motifs: recurring high-SHAP patterns across sequences and spaced repeats, linked to the sequences that
carry them."""

import streamlit as st

from shapzero_core.analysis import repeat_spacing_summary
from shapzero_core.figures import logo_plotly, pwm_matrix, saliency_matrix
from studio_ui import cache, state
from studio_ui import widgets as w

w.page_frame("motifs")
w.header("Motifs", "Runs of neighbouring positions with large SHAP values of one sign (seqlets), grouped by "
         "their letters into motifs. Select a motif to see its logo and the sequences carrying it.")
ctx = w.require_context()
ex = cache.explanation(ctx)

with st.expander("Motif search settings"):
    s1, s2, s3, s4 = st.columns(4)
    quantile = s1.slider("|SHAP| above this quantile", 0.5, 0.99, 0.9, 0.01, key="motif_quantile",
                         help="A position joins a seqlet when its |SHAP| is above this quantile of all |SHAP|.")
    mism = s2.number_input("Mismatches allowed", 0, 3, 1, key="motif_mismatches")
    min_sl = s3.number_input("Fewest seqlets per motif", 2, 1000, 5, key="motif_min_seqlets")
    max_len = s4.number_input("Longest seqlet", 2, 30, 12, key="motif_max_length")
seqlets, res = cache.motifs(ctx, ctx.key, float(quantile), int(mism), int(min_sl), int(max_len))
st.caption(f"{len(seqlets):,} seqlets in {ex.N:,} sequences, {len(res.motifs)} motifs.")

if not res.motifs:
    st.info("No motif found with these settings; lower the quantile or the number of seqlets per motif.")
else:
    table = res.to_frame()
    table["sign"] = table["sign"].map({1: "raises", -1: "lowers"})
    ev = st.dataframe(table, hide_index=True, key="motif_table", on_select="rerun", selection_mode="single-row",
                      column_config={"mean_score": st.column_config.NumberColumn("mean score", format="%.4g"),
                                     "common_start": "most common start", "num_seqlets": "seqlets",
                                     "num_sequences": "sequences"})
    rows = ev.selection.rows if ev is not None else []
    m = res.motifs[rows[0] if rows else 0]
    st.subheader(f"{m.name}: {m.consensus} ({'raises' if m.sign > 0 else 'lowers'} the prediction)")
    c1, c2 = st.columns(2)
    with c1:
        f = logo_plotly(pwm_matrix(m.pwm, ex.alphabet), title="Letters of its seqlets", ylabel="bits", height=260)
        f.update_xaxes(title_text="motif column")
        w.plotly(f, key="motif_pwm_chart")
    with c2:
        cons = saliency_matrix(m.contribution, m.consensus, ex.alphabet)
        f = logo_plotly(cons, title="Mean SHAP per column", ylabel="mean SHAP", height=260)
        f.update_xaxes(title_text="motif column (consensus letters)")
        w.plotly(f, key="motif_contrib_chart")
    carriers = res.carriers[res.carriers["motif"] == m.name]
    st.markdown(f"**{m.num_sequences:,} sequences carry {m.name}** ({m.num_seqlets:,} seqlets). "
                "Select one to make it the selected sequence.")
    cev = st.dataframe(carriers[["seq_id", "start", "end", "letters", "score"]], hide_index=True,
                       key=f"motif_carriers_{m.name}", on_select="rerun", selection_mode="single-row", height=260,
                       column_config={"score": st.column_config.NumberColumn("sum of SHAP", format="%.4g")})
    crow = cev.selection.rows if cev is not None else []
    if crow:
        state.set_selected(int(carriers["seq"].iloc[crow[0]]))
        st.success(f"Selected {carriers['seq_id'].iloc[crow[0]]}.")
        l1, l2 = st.columns(2)
        with l1:
            w.page_link("logos", "Its SHAP logo", ":material/text_fields:")
        with l2:
            w.page_link("interactions", "Its interactions", ":material/grid_on:")

st.subheader("Spaced repeats")
st.caption("Even-order interactions whose two halves carry the same letters a fixed distance apart (e.g. "
           "the same dinucleotide at i, i+1 and i+d, i+d+1), summarised by spacing d; compared with spaced "
           "pairs whose letters differ.")
reps = cache.repeats(ctx, ctx.key)
if len(reps) == 0 or not reps["is_repeat"].any():
    st.info("No spaced repeats among the interactions.")
else:
    summ = repeat_spacing_summary(reps)
    st.dataframe(summ, hide_index=True, key="repeat_summary_table",
                 column_config={"mean_value": st.column_config.NumberColumn("mean value (repeats)", format="%.4g"),
                                "mismatched_mean_value": st.column_config.NumberColumn("mean value (mismatched)",
                                                                                       format="%.4g"),
                                "frac_positive": st.column_config.NumberColumn("share positive", format="%.2f")})
    top = reps[reps["is_repeat"]].head(50)
    st.dataframe(top.assign(positions=top["positions"].map(lambda p: ",".join(map(str, p))),
                            unit_positions=top["unit_positions"].map(lambda p: ",".join(map(str, p)))),
                 hide_index=True, key="repeat_table")
