"""Motifs: TF-MoDISco on the sketch's hypothetical SHAP values, every motif named by TOMTOM against JASPAR and
linked to the sequences that carry it; spaced repeats among the interactions."""

import streamlit as st

from shapzero_core.analysis import ModiscoConfig, repeat_spacing_summary
from shapzero_core.analysis.matching import DEFAULT_JASPAR_RELEASE, JASPAR_TAX_GROUPS
from shapzero_core.figures import logo_plotly, pwm_matrix
from studio_ui import cache, core, motifs_ui, state
from studio_ui import widgets as w

w.page_frame("motifs")
w.header("Motifs", "Motifs the field recognises: TF-MoDISco finds recurring high-contribution patterns in the "
         "hypothetical SHAP values of your sequences, and TOMTOM names each against JASPAR. Select a motif to "
         "see its logo, its matches and the sequences carrying it.")
ctx = w.require_context()
ex = cache.explanation(ctx)

if ex.alphabet.q != 4:
    st.info(f"TF-MoDISco and JASPAR are for DNA and RNA; this sketch's alphabet has {ex.alphabet.q} letters, so this "
            "page shows the spaced repeats among the interactions only.")
else:
    with st.expander("TF-MoDISco and JASPAR settings"):
        s1, s2, s3, s4 = st.columns(4)
        taxon = s1.selectbox("JASPAR taxon", list(JASPAR_TAX_GROUPS), key="motif_taxon")
        release = s2.selectbox("JASPAR release", [DEFAULT_JASPAR_RELEASE, "JASPAR2026", "JASPAR2022", "JASPAR2020"],
                               key="motif_release")
        min_seqlets = int(s3.number_input("Fewest seqlets of one sign", 10, 10_000, 100, step=10,
                                          key="motif_min_seqlets",
                                          help="TF-MoDISco's min_metacluster_size: it looks for motifs of one "
                                               "sign only with more seqlets than this."))
        leiden = int(s4.number_input("Leiden runs", 1, 100, 10, key="motif_leiden_runs",
                                     help="Clusterings per step (TF-MoDISco's default 50; more is slower)."))
    cfg = ModiscoConfig(min_metacluster_size=min_seqlets, n_leiden_runs=leiden, jaspar_release=release,
                        tax_group=taxon)
    job = motifs_ui.current_job()
    running = job is not None and not job.finished_
    res = motifs_ui.result_for(ctx, cfg)
    c1, c2 = st.columns([1, 3], vertical_alignment="center")
    c1.button("Find motifs", key="motif_run", type="primary", icon=":material/search:", disabled=running,
              on_click=lambda: motifs_ui.start(ctx, cfg))
    c2.caption(f"TF-MoDISco on {ex.N:,} sequences of {ex.n} letters, then TOMTOM against {release} CORE {taxon}. "
               "It needs hundreds to thousands of sequences and takes from seconds to minutes.")
    if running:
        @st.fragment(run_every=1.0)
        def _poll() -> None:
            s = job.snapshot()
            if s["status"] != "running":
                st.rerun()
            st.progress(0.5 if s["stage"] == "modisco" else (0.9 if s["stage"] == "tomtom" else 0.1),
                        text=f"{s['message'] or 'starting'} · {core.format_duration(s['elapsed'])}")

        _poll()
    elif job is not None and job.status == "failed":
        msg = job.error or "failed"
        if "seqlets in" in msg:  # TooFewSeqletsError: say how many and what to do
            st.warning(msg)
        else:
            st.error(f"TF-MoDISco failed: {msg}")

    if res is not None:
        for note in res.notes:
            st.info(note)
        st.caption(f"{len(res.motifs)} motifs from {res.num_sequences:,} sequences (window {res.settings['window']}, "
                   f"flank {res.settings['flank']}) · matched against {res.database} · TF-MoDISco "
                   f"{core.format_duration(res.timings.get('modisco'))}")
        if res.motifs:
            table = res.to_frame()
            table["sign"] = table["sign"].map({1: "raises", -1: "lowers"})
            ev = w.dataframe(
                table, hide_index=True, key="motif_table", on_select="rerun", selection_mode="single-row",
                column_config={"num_seqlets": "seqlets", "num_sequences": "sequences",
                               "best_match_id": "best JASPAR match", "best_match_name": "name",
                               "best_p_value": st.column_config.NumberColumn("p value", format="%.2e"),
                               "best_q_value": st.column_config.NumberColumn("q value", format="%.2e")})
            rows = ev.selection.rows if ev is not None else []
            i = rows[0] if rows else 0
            m = res.motifs[i]
            best = m.best_match
            st.subheader(f"{m.name}: {m.consensus}" + (f" — {best['target_name']} ({best['target_id']}, q = "
                                                        f"{best['q_value']:.2g})" if best else ""))
            l1, l2 = st.columns(2)
            with l1:
                f = logo_plotly(m.frame("cwm"), title="Contribution (mean SHAP of each letter)",
                                ylabel="contribution", height=260)
                f.update_xaxes(title_text="motif column")
                w.plotly(f, key="motif_cwm_chart")
            with l2:
                f = logo_plotly(pwm_matrix(m.ppm, ex.alphabet), title="Letters of its seqlets", ylabel="bits",
                                height=260)
                f.update_xaxes(title_text="motif column")
                w.plotly(f, key="motif_ppm_chart")
            st.markdown("**Best TOMTOM matches**")
            w.dataframe(m.matches.drop(columns="motif"), hide_index=True, key=f"motif_matches_{i}",
                         column_config={c: st.column_config.NumberColumn(format="%.2e")
                                        for c in ("p_value", "e_value", "q_value")})
            st.markdown(f"**{m.num_sequences:,} sequences carry {m.name}** ({m.num_seqlets:,} seqlets; positions "
                        "1-based). Select one to make it the selected sequence.")
            carriers = m.seqlets
            cev = w.dataframe(carriers[["seq_id", "start", "end", "strand", "letters", "contribution"]],
                               hide_index=True, key=f"motif_carriers_{i}", on_select="rerun",
                               selection_mode="single-row", height=260,
                               column_config={"contribution": st.column_config.NumberColumn("sum of SHAP",
                                                                                             format="%.4g")})
            crow = cev.selection.rows if cev is not None else []
            if crow:
                state.set_selected(int(carriers["seq_number"].iloc[crow[0]]) - 1)
                st.success(f"Selected {carriers['seq_id'].iloc[crow[0]]}.")
                k1, k2 = st.columns(2)
                with k1:
                    w.page_link("logos", "Its SHAP logo", ":material/text_fields:")
                with k2:
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
    w.dataframe(summ, hide_index=True, key="repeat_summary_table",
                 column_config={"mean_value": st.column_config.NumberColumn("mean value (repeats)", format="%.4g"),
                                "mismatched_mean_value": st.column_config.NumberColumn("mean value (mismatched)",
                                                                                       format="%.4g"),
                                "frac_positive": st.column_config.NumberColumn("share positive", format="%.2f")})
    top = reps[reps["is_repeat"]].head(50)
    w.dataframe(top.assign(positions=top["positions"].map(lambda p: ",".join(map(str, p))),
                            unit_positions=top["unit_positions"].map(lambda p: ",".join(map(str, p)))),
                 hide_index=True, key="repeat_table")
