"""Sequences: upload or generate sequences, see rejected rows, browse and select explained sequences."""

import zlib

import numpy as np
import streamlit as st

from shapzero_core import DNA
from shapzero_core.sequences import SequenceFileError, random_sequences, read_sequences
from studio_ui import cache, state
from studio_ui import widgets as w
from studio_ui.core import filter_table

w.page_frame("sequences")
w.header("Sequences", "Upload the sequences to explain (FASTA, CSV, TSV or one per line) or generate random "
         "ones. Every sequence is explained from the sketch at once; select a row to look at it on the "
         "other pages.")

sk = state.get_sketch()
model = state.get_model()
alphabet = sk.alphabet if sk is not None else (getattr(model, "alphabet", None) or DNA)
template = sk.template if sk is not None else getattr(model, "template", None)
n_fixed = sk.sequence_length if sk is not None else (template.n if template is not None else getattr(model, "n", None))
if template is not None:
    st.caption(f"Template: `{template.pattern}` ({template.describe()}). Sequences of {template.n} letters must carry "
               f"its fixed letters (others are rejected with the reason); sequences of its {template.num_free} free "
               "positions are completed with them.")
if sk is None:
    st.info("No sketch yet: you can load sequences now, explanations appear once a sketch is loaded.")
    w.page_link("sketch", "Sketch a model or load a sketch", ":material/bolt:")

up_col, gen_col = st.columns([3, 2], gap="large")
with up_col:
    st.subheader("Upload a file")
    up = st.file_uploader(
        "Sequence file (FASTA, CSV, TSV or TXT; .gz allowed)", key="seq_upload",
        type=["fa", "fasta", "fna", "fas", "csv", "tsv", "tab", "txt", "seq", "gz"],
        help=f"Sequences must have {n_fixed} letters from {alphabet.letters}." if n_fixed else
             f"Letters from {alphabet.letters}; the most common length is used.",
    )
    if up is not None and st.session_state.get(state.LAST_UPLOAD) != up.file_id:
        st.session_state[state.LAST_UPLOAD] = up.file_id
        try:
            seqs = read_sequences(up.getvalue(), alphabet=alphabet, n=n_fixed, name=up.name, template=template)
        except (SequenceFileError, ValueError) as e:
            st.session_state["sz_upload_error"] = str(e)
        else:
            st.session_state.pop("sz_upload_error", None)
            if len(seqs) == 0:
                st.session_state["sz_upload_error"] = (
                    f"{up.name}: no sequence was accepted ({len(seqs.rejected)} rejected); see the reasons below.")
                st.session_state["sz_rejected_only"] = seqs.rejected
            else:
                st.session_state.pop("sz_rejected_only", None)
                state.set_sequences(seqs)
    if st.session_state.get("sz_upload_error"):
        st.error(st.session_state["sz_upload_error"])
        rej = st.session_state.get("sz_rejected_only")
        if rej is not None and len(rej):
            w.rejected_table(rej, key="rejected_only_table")

with gen_col:
    st.subheader("Or generate random sequences")
    with st.form("random_form", border=False):
        c1, c2, c3 = st.columns(3)
        N = c1.number_input("How many", 1, 100_000, 1000, step=100, key="random_n")
        n_len = c2.number_input("Length", 1, 1000, int(n_fixed or 26), key="random_len", disabled=n_fixed is not None)
        seed = c3.number_input("Seed", 0, 2**31 - 1, 0, key="random_seed")
        if st.form_submit_button("Generate random sequences", key="random_go"):
            st.session_state.pop("sz_upload_error", None)
            state.set_sequences(random_sequences(int(N), int(n_fixed or n_len), alphabet, seed=int(seed),
                                                 template=template))

seqs = state.get_sequences()
if seqs is None:
    st.stop()

st.divider()
st.markdown(f"**{seqs.summary()}**")
if len(seqs.rejected):
    with st.expander(f"Rejected rows ({len(seqs.rejected):,}) and the reasons", expanded=True):
        w.rejected_table(seqs.rejected, key="rejected_table")

if sk is None:
    w.dataframe(seqs.to_frame(), hide_index=True, key="raw_table")
    st.stop()
ctx = cache.context()
if ctx is None:
    st.warning(f"These sequences have {seqs.n} letters but the sketch explains {sk.sequence_length}; load sequences "
               f"of length {sk.sequence_length}.")
    st.stop()

table = cache.sequence_table(ctx, ctx.key)
query = st.text_input("Search", key="seq_search", placeholder="id, letters, label…  or  prediction > 0.5",
                      help="Substring of the id, sequence or any text column; or `<column> > <number>`.")
view = filter_table(table, query)
sel_row = state.selected_row()
st.caption(f"{len(view):,} of {len(table):,} sequences · click a row to select it · click a column header to "
           "sort · prediction = the sketch's f(x); top SHAP = letter, 1-based position, SHAP value")
default_rows = [int(p) for p in np.flatnonzero(view["row"].to_numpy() == sel_row)]
event = w.dataframe(
    view,
    key=f"seq_table_{zlib.crc32(query.encode()):08x}",
    on_select="rerun",
    selection_mode="single-row",
    selection_default={"selection": {"rows": default_rows, "columns": []}} if default_rows else None,
    hide_index=True,
    column_order=[c for c in view.columns if c != "row"],
    column_config={
        "prediction": st.column_config.NumberColumn("sketch prediction", format="%.4f",
                                                    help="f(x) computed from the sketch (no model call)"),
        "|strongest interaction|": st.column_config.NumberColumn(format="%.4f"),
        "sequence": st.column_config.TextColumn("sequence", width="large"),
    },
    height=420,
)
rows = event.selection.rows if event is not None else []
if rows:
    new = int(view["row"].iloc[rows[0]])
    if new != sel_row:
        state.set_selected(new)
        sel_row = new

ex = cache.explanation(ctx)
c1, c2, c3 = st.columns(3)
c1.metric("Selected sequence", ex.ids[sel_row])
c2.metric("Sketch prediction f(x)", f"{ex.predictions[sel_row]:.4f}",
          help="Computed from the sketch, not by calling the model (the Model page predicts with the model)")
c3.metric("Baseline (average prediction)", f"{ex.baseline:.4f}",
          help="What every SHAP value is measured from: the sketch's average prediction over the background "
               "(uniformly random sequences unless another is chosen)")
st.code(ex.sequences[sel_row], language=None)
l1, l2, l3 = st.columns(3)
with l1:
    w.page_link("logos", "Its SHAP logo", ":material/text_fields:")
with l2:
    w.page_link("interactions", "Its interactions", ":material/grid_on:")
with l3:
    w.page_link("motifs", "Motifs across sequences", ":material/pattern:")
