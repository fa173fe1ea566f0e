"""Export: every figure as SVG / PDF / PNG (300 dpi), every table as CSV / Parquet, the sketch, a JSON
record of the run, or everything as one zip. Files are rendered only when their button is clicked."""

import streamlit as st

from shapzero_core.export import (
    background_record,
    interaction_table,
    pairwise_summary_table,
    shap_table,
    wide_table,
)
from shapzero_core.figures import (
    interaction_heatmap_matplotlib,
    logo_matplotlib,
    saliency_matrix,
    top_interactions_matplotlib,
)
from shapzero_core.report_figures import orders_matplotlib, quality_scatter_matplotlib
from studio_ui import cache, core, exports, motifs_ui, state
from studio_ui import widgets as w

w.page_frame("export")
w.header("Export", "Figures for a paper (SVG with editable text, PDF, PNG at 300 dpi), tables for "
         "spreadsheets and scripts (CSV, Parquet, 1-based positions, original sequence ids), the sketch file "
         "and a JSON record of how everything was made.")
sk = w.require_sketch()
ctx = cache.context()
index, order = w.current_index()


def _model_info() -> dict | None:
    model = state.get_model()
    if model is None:
        return sk.metadata.get("model")
    info = {"label": state.model_label(), "name": getattr(model, "name", ""),
            "identity": getattr(model, "identity", "")}
    try:
        info["describe"] = model.describe()
    except Exception as e:  # a model that cannot describe itself still exports
        info["describe_error"] = str(e)
    return info


record = exports.run_record(sk, state.sketch_source(), ctx.seqs if ctx else None, _model_info(),
                            {"index": index, "order": order, "selected_sequence":
                             ctx.seqs.ids[state.selected_row()] if ctx else None,
                             "background": background_record(ctx.background if ctx else None)})


def buttons(downloads: list, cols) -> None:
    for d, c in zip(downloads, cols, strict=False):
        with c:
            st.download_button(d.label, d.make, file_name=d.file_name, mime=d.mime, key=d.key,
                               on_click="ignore", icon=":material/download:")


def row(title: str, caption: str, downloads: list) -> None:
    c = st.columns([4, 1, 1, 1], vertical_alignment="center")
    c[0].markdown(f"**{title}**  \n{caption}")
    buttons(downloads, c[1:])


st.subheader("Sketch and run record")
sketch_files = [exports.Download("dl_sketch_npz", "NPZ", "sketch.npz", exports.MIME["npz"], sk.to_bytes),
                exports.Download("dl_run_json", "JSON", "run.json", exports.MIME["json"],
                                 lambda: exports.json_bytes(record))]
row("Sketch", f"{sk.num_coefficients:,} terms, n={sk.n} (.npz, no pickle; load it on the Sketch page)", sketch_files)
rep = sk.report or {}
fig_rows: list[tuple[str, str, list]] = []
if rep.get("holdout", {}).get("y_true"):
    ho = rep["holdout"]
    fig_rows.append(("Sketch quality", "sketch prediction vs model on held-out sequences",
                     exports.figure_downloads("sketch_quality", lambda: quality_scatter_matplotlib(
                         ho["y_true"], ho["y_pred"], r2=rep.get("r2")))))
fig_rows.append(("Coefficients by order", "number and energy of the sketch's coefficients per order",
                 exports.figure_downloads("sketch_orders", lambda: orders_matplotlib(
                     sk.count_by_order(), sk.energy_by_order()))))

if ctx is None:
    st.subheader("Figures")
    for t, c, d in fig_rows:
        row(t, c, d)
    st.info("Load sequences to export logos, interaction maps, motifs and tables.")
    w.page_link("sequences", "Load sequences", ":material/table_rows:")
    st.stop()

ex = cache.explanation(ctx, index, order)
r = state.selected_row()
sid, seq = ex.ids[r], ex.sequences[r]
pls = cache.position_letter(ctx, ctx.key, None, "all")
split = cache.split_summary(ctx, ctx.key, None, "all")
pidx = cache.pair_index(ctx, ctx.key, index, order)
M = core.pair_matrix(ex.interactions, r, pidx)
P = cache.pairwise(ctx, ctx.key, index, order, "mean_abs")
top_all = cache.top_all(ctx, ctx.key, index, order, 2, None)
motif_res = motifs_ui.last_result(ctx)  # the Motifs page's TF-MoDISco run, if any
reps = cache.repeats(ctx, ctx.key)
seq_table = cache.sequence_table(ctx, ctx.key)
label = core.INDEX_LABELS[index].split(" (")[0]
st.caption(f"Selected sequence: **{sid}** · interaction index: **{core.INDEX_LABELS[index]}**"
           f"{'' if order is None else f', order {order}'} (change them on the Sequences / Interactions pages)")

fig_rows = [
    ("SHAP logo of the selected sequence", sid, exports.figure_downloads(
        "logo_selected", lambda: logo_matplotlib(
            saliency_matrix(ex.shap[r], seq, ex.alphabet), errors=None if ex.stderr is None else 2 * ex.stderr[r], fixed=ex.fixed,
            ylabel=state.in_units("SHAP value"),
            title=f"SHAP logo of {sid}" + ("" if ex.stderr is None else " (whiskers: ±2 × trust-check error)")))),
    ("Mean SHAP logo", f"all {ex.N:,} sequences", exports.figure_downloads(
        "logo_mean", lambda: logo_matplotlib(pls.matrix(), ylabel=state.in_units("mean SHAP"), fixed=ex.fixed,
                                             title=f"Mean SHAP by position and letter (N={ex.N:,})"))),
    ("Split-interaction logo", "interactions of order ≥ 2, positive up, negative down",
     exports.figure_downloads("logo_split", lambda: logo_matplotlib(
         split.matrix("positive"), below=split.matrix("negative"), ylabel=state.in_units("mean split value"),
         title="Interactions split over their positions", fixed=ex.fixed))),
    ("Interaction map of the selected sequence", f"pairwise {label}, {sid}", exports.figure_downloads(
        "heatmap_selected", lambda: interaction_heatmap_matplotlib(M, title=f"{sid}: pairwise {label}",
                                                                   colorbar_title=state.in_units("value"), sequential=False))),
    ("Interaction map across sequences", f"mean |pairwise {label}|", exports.figure_downloads(
        "heatmap_mean_abs", lambda: interaction_heatmap_matplotlib(
            P, title=f"Mean |pairwise {label}| (N={ex.N:,})", colorbar_title=state.in_units("mean |value|"), sequential=True))),
]
if len(top_all):
    fig_rows.append(("Top interactions", "20 largest |mean| across sequences, with letters",
                     exports.figure_downloads("top_interactions", lambda: top_interactions_matplotlib(
                         top_all, k=20, title="Top interactions across sequences"))))
for i, m in enumerate(motif_res.motifs[:5] if motif_res is not None else []):
    b = m.best_match
    fig_rows.append((f"Motif {m.name}: {m.consensus}",
                     f"{m.num_seqlets} seqlets, contribution logo" + (f"; best match {b['target_id']} "
                                                                       f"{b['target_name']}" if b else ""),
                     exports.figure_downloads(f"motif_{i + 1}", lambda m=m: logo_matplotlib(
                         m.frame("cwm"), ylabel="contribution", title=f"{m.name}: {m.consensus}"))))
fig_rows += [x for x in [
    ("Sketch quality", "sketch prediction vs model on held-out sequences",
     exports.figure_downloads("sketch_quality", lambda: quality_scatter_matplotlib(
         rep["holdout"]["y_true"], rep["holdout"]["y_pred"], r2=rep.get("r2"))))
    if rep.get("holdout", {}).get("y_true") else None,
    ("Coefficients by order", "number and energy of the sketch's coefficients per order",
     exports.figure_downloads("sketch_orders", lambda: orders_matplotlib(sk.count_by_order(), sk.energy_by_order()))),
] if x is not None]

st.subheader("Figures")
for t, c, d in fig_rows:
    row(t, c, d)

st.subheader("Tables")
tables = [
    ("Sequences", "id, sequence, prediction, labels, top SHAP, strongest interaction",
     "sequences", lambda: seq_table.drop(columns="row")),
    ("SHAP values, wide", "one row per sequence: shap_1 … shap_n", "shap_wide", lambda: wide_table(ex)),
    ("SHAP values, long", "seq_id, position, letter, shap", "shap_long", lambda: shap_table(ex)),
    ("Interactions per sequence", f"{label}, the 50 largest |value| of each sequence", "interactions",
     lambda: interaction_table(ex, top_per_sequence=50)),
    ("Top interactions", "all letter combinations across sequences", "top_interactions", lambda: top_all),
    ("Position × letter summary", "mean, std, count of SHAP", "position_letter_summary", pls.to_frame),
    ("Split-interaction summary", "interactions of order ≥ 2 split over their positions, by letter",
     "split_interaction_summary", split.to_frame),
    ("Pairwise summary", f"mean |value| and mean of pairwise {label} per pair of positions", "pairwise_summary",
     lambda: pairwise_summary_table(P, cache.pairwise(ctx, ctx.key, index, order, "mean"))),
    *([("Motifs", f"{len(motif_res.motifs)} TF-MoDISco motifs with their best JASPAR match", "motifs",
        motif_res.to_frame),
       ("Motif matches", "TOMTOM matches of every motif (ID, name, p, E, q value)", "motif_matches",
        motif_res.matches),
       ("Motif carriers", "the seqlets of each motif, with sequence ids", "motif_carriers", motif_res.seqlets)]
      if motif_res is not None else []),
    ("Spaced repeats", "even-order interactions with repeated letters", "spaced_repeats", lambda: reps),
]
if len(ctx.seqs.rejected):
    tables.append(("Rejected rows", "rows of the sequence file that were not used, with reasons",
                   "rejected_sequences", lambda: ctx.seqs.rejected))
# the zip holds exactly the files of the buttons on this page, under the same names
everything: list[tuple[str, exports.Download]] = [("", d) for d in sketch_files]
everything += [("figures", d) for _t, _c, ds in fig_rows for d in ds]
for t, c, name, fn in tables:
    c_ = st.columns([4, 1, 1, 1], vertical_alignment="center")
    c_[0].markdown(f"**{t}**  \n{c}")
    ds = exports.table_downloads(name, fn)
    buttons(ds, c_[1:3])
    everything += [("tables", d) for d in ds]

if ex.alphabet.q == 4:
    d = exports.Download("dl_modisco_zip", "ZIP", "modisco.zip", exports.MIME["zip"], lambda: exports.modisco_zip(ex, sk))
    row("TF-MoDISco arrays", "one-hot, SHAP and hypothetical SHAP, float32 (N, 4, L) npz files and the ids (.zip)",
        [d])
    everything.append(("", d))

if motif_res is not None:
    d = exports.Download("dl_motifs_zip", "ZIP", "motifs.zip", exports.MIME["zip"],
                         lambda: motifs_ui.motifs_zip(motif_res))
    row("TF-MoDISco motifs", "motifs.meme, matches.tsv, motifs.tsv, motif_seqlets.tsv, modisco.h5 and logos (.zip)",
        [d])
    everything.append(("", d))
elif ex.alphabet.q == 4:
    st.caption("TF-MoDISco motifs named against JASPAR: run them on the Motifs page to export them here.")

st.subheader("Everything")
c_ = st.columns([4, 3], vertical_alignment="center")
c_[0].markdown(f"**Every file of this page** ({len(everything)} files: the sketch and run record, figures in SVG, "
               "PDF and PNG, tables in CSV and Parquet, TF-MoDISco arrays) as one zip, under the same names as the "
               "buttons above, in `figures/` and `tables/`.")
with c_[1]:
    st.download_button("Download everything (.zip)", lambda: exports.zip_downloads(everything),
                       file_name="shapzero_export.zip", mime=exports.MIME["zip"], key="dl_all_zip",
                       on_click="ignore", icon=":material/folder_zip:", type="primary")
