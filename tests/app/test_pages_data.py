"""Pages with a planted sketch and sequences loaded: upload (good, partly rejected, bad), selection shared
across pages, logos, interactions (cell details, every index), motifs, export downloads (real bytes)."""

from __future__ import annotations

import io
import zipfile

import pytest
import streamlit as st
from app_helpers import app_with, planted_sketch

from studio_ui import state


def _text(at) -> str:
    return " ".join(m.value for m in at.markdown)


def _frames(at, *cols: str) -> list:
    """The dataframes on the page that have all these columns."""
    return [d.value for d in at.dataframe if set(cols) <= set(d.value.columns)]


# ---------------------------------------------------------------------------------------------- sequences
def test_upload_a_good_fasta_file_explains_every_sequence(sketch):
    fasta = "".join(f">g{i} group=x\n{'ACGT' * 3}\n" for i in range(5)).encode()
    at = app_with(sketch, page="pages/3_Sequences.py")
    at.file_uploader(key="seq_upload").set_value(("guides.fa", fasta, "text/plain")).run()
    assert not at.exception and not at.error
    assert "5 sequences of length 12" in _text(at)
    table = next(d for d in at.dataframe if d.key and d.key.startswith("seq_table_"))
    assert list(table.value["seq_id"]) == [f"g{i}" for i in range(5)]
    assert {"prediction", "top SHAP", "strongest interaction"} <= set(table.value.columns)


def test_upload_with_bad_rows_lists_the_reasons(sketch):
    csv = b"id,sequence,label\na,ACGTACGTACGT,1\nb,ACGNACGTACGT,0\nc,ACGT,1\nd,TTTTACGTACGT,0\n"
    at = app_with(sketch, page="pages/3_Sequences.py")
    at.file_uploader(key="seq_upload").set_value(("guides.csv", csv, "text/csv")).run()
    assert not at.exception and not at.error
    (rej,) = [t.value for t in at.table if "reason" in t.value.columns]  # a few rows: a table, reasons wrap
    assert list(rej["id"]) == ["b", "c"]
    assert rej["reason"].iloc[0].startswith("letter:") and rej["reason"].iloc[1].startswith("length:")
    table = next(d for d in at.dataframe if d.key and d.key.startswith("seq_table_")).value
    assert list(table["seq_id"]) == ["a", "d"] and "label" in table.columns


def test_many_rejected_rows_are_a_grid_with_the_reason_before_the_sequence(sketch):
    rows = "".join(f"bad{i},ACGNACGTACGT\n" for i in range(25)) + "good,ACGTACGTACGT\n"
    at = app_with(sketch, page="pages/3_Sequences.py")
    at.file_uploader(key="seq_upload").set_value(("many.csv", ("id,sequence\n" + rows).encode(), "text/csv")).run()
    assert not at.exception
    (rej,) = _frames(at, "reason")
    assert len(rej) == 25 and not [t for t in at.table if "reason" in t.value.columns]


@pytest.mark.parametrize("content", [b"", b"\x00\x01\x02binary\xff", b">only_header\n"])
def test_a_bad_file_is_an_error_message_not_a_traceback(sketch, content):
    at = app_with(sketch, page="pages/3_Sequences.py")
    at.file_uploader(key="seq_upload").set_value(("bad.fa", content, "text/plain")).run()
    assert not at.exception
    assert at.error and "bad.fa" in at.error[0].value


def test_random_sequences_and_search(sketch):
    at = app_with(sketch, page="pages/3_Sequences.py")
    at.number_input(key="random_n").set_value(50)
    at.button(key="random_go").click().run()
    assert not at.exception
    assert "50 sequences of length 12" in _text(at)
    at.text_input(key="seq_search").set_value("rand_1").run()
    table = next(d for d in at.dataframe if d.key and d.key.startswith("seq_table_")).value
    assert set(table["seq_id"]) == {"rand_1", *(f"rand_{i}" for i in range(10, 20))}
    at.text_input(key="seq_search").set_value("prediction > 1e9").run()
    table = next(d for d in at.dataframe if d.key and d.key.startswith("seq_table_")).value
    assert len(table) == 0


def test_selecting_a_row_selects_the_sequence_for_the_other_pages(sketch, seqs):
    at = app_with(sketch, seqs, page="pages/3_Sequences.py")
    key = next(d for d in at.dataframe if d.key and d.key.startswith("seq_table_")).key
    at.session_state[key] = {"selection": {"rows": [7], "columns": []}}
    at.run()
    assert not at.exception
    assert at.session_state[state.SELECTED] == 7
    at.switch_page("pages/4_Logos.py").run()
    assert at.selectbox(key="logo_seq").value == 7
    assert "SHAP logo of rand_8" in str(at.get("plotly_chart")[0].proto.spec)


# ---------------------------------------------------------------------------------------------- logos
def test_logos_of_one_sequence_and_of_a_subset(sketch, seqs):
    at = app_with(sketch, seqs, page="pages/4_Logos.py")
    assert not at.exception and len(at.get("plotly_chart")) == 2
    at.selectbox(key="logo_seq").set_value(3).run()
    assert at.session_state[state.SELECTED] == 3
    at.radio(key="logo_subset").set_value("A label column").run()
    at.selectbox(key="logo_label_col").set_value("group").run()
    at.multiselect(key="logo_label_vals").set_value(["on"]).run()
    assert not at.exception
    assert "100 sequences with group in ['on']" in str(at.get("plotly_chart")[1].proto.spec)
    at.toggle(key="logo_same_axis").set_value(True).run()
    assert not at.exception
    at.toggle(key="logo_show_split").set_value(True).run()
    assert not at.exception and len(at.get("plotly_chart")) == 3


# ---------------------------------------------------------------------------------------------- interactions
@pytest.mark.parametrize("index", ["mobius", "faith-shap", "sii", "stii", "banzhaf"])
def test_interactions_for_every_index(sketch, seqs, index):
    at = app_with(sketch, seqs, page="pages/5_Interactions.py")
    at.selectbox(key="inter_index").set_value(index).run()
    assert not at.exception and not at.error
    assert len(at.get("plotly_chart")) >= 2
    assert _frames(at, "positions", "letters", "order")


def test_orders_slider_follows_the_index_and_the_table_shows_every_order(sketch, seqs):
    """After STII order 2 (pairs only), Möbius "all" offers and shows every order again (one slider key kept the
    2-2 range, so the table silently showed pairs only); the meanings of the indices are one click away."""
    at = app_with(sketch, seqs, page="pages/5_Interactions.py")
    at.selectbox(key="inter_index").set_value("stii").run()
    top = _frames(at, "positions", "letters", "order")[-1]
    assert set(top["order"]) == {2}
    at.selectbox(key="inter_index").set_value("mobius").run()
    assert at.selectbox(key="inter_order").value == "all"
    slider = at.select_slider(key="top_orders_mobius_None")
    assert slider.value == (2, 3)  # every order of interaction of the planted sketch (up to 3)
    top = _frames(at, "positions", "letters", "order")[-1]
    assert set(top["order"]) == {2, 3}
    assert any(e.label == "What does this mean?" for e in at.expander)
    assert "Möbius (all orders)" in " ".join(m.value for m in at.markdown)
    assert not any("no interactions above pairs" in c.value for c in at.caption)  # this sketch has triples


def test_the_picked_cell_is_marked_on_both_maps_and_the_maps_resize(sketch, seqs):
    at = app_with(sketch, seqs, page="pages/5_Interactions.py")
    at.number_input(key="inter_pair_i").set_value(2).run()
    at.number_input(key="inter_pair_j").set_value(5).run()
    assert not at.exception
    maps = [c for c in at.get("plotly_chart") if "pairwise" in str(c.proto.spec) or "over" in str(c.proto.spec)]
    import json

    specs = [json.loads(c.proto.spec) for c in maps[:2]]
    for spec in specs:
        (mark,) = [t for t in spec["data"] if t.get("name") == "picked cell"]
        assert sorted(zip(mark["x"], mark["y"], strict=True)) == [(2, 5), (5, 2)]  # (x=j, y=i) and its mirror
        assert spec["layout"]["width"] == 500
    seq = seqs.sequences[0]  # the selected sequence: its letters are on hover in both maps
    for spec in specs:
        i, j, letters, _v = spec["data"][0]["customdata"][0]
        assert letters == seq[int(i) - 1] + seq[int(j) - 1]
    at.select_slider(key="inter_map_size").set_value("large").run()
    assert not at.exception
    widths = [json.loads(c.proto.spec)["layout"].get("width") for c in at.get("plotly_chart")]
    assert widths.count(760) == 2


def _a_pair(sketch) -> tuple[int, int]:
    """1-based positions of the first order-2 coefficient of the sketch."""
    k = next(k for k in sketch.locations if (k != 0).sum() == 2)
    i, j = (int(p) + 1 for p in k.nonzero()[0])
    return i, j


def test_a_cell_shows_its_letter_pairs(sketch, seqs):
    i, j = _a_pair(sketch)
    at = app_with(sketch, seqs, page="pages/5_Interactions.py")
    at.number_input(key="inter_pair_i").set_value(i)
    at.number_input(key="inter_pair_j").set_value(j).run()
    assert not at.exception
    pairs = _frames(at, "letters", "mean", "count", "sign_consistency")[0]
    assert len(pairs) == 16 and all(len(s) == 2 for s in pairs["letters"])
    assert pairs["count"].sum() == len(seqs)
    s = seqs.sequences[0]
    assert f"**{s[i - 1]}** at {i} and **{s[j - 1]}** at {j}" in _text(at)
    at.radio(key="top_scope").set_value("the selected sequence").run()
    assert not at.exception


def test_a_click_on_the_map_is_read_as_row_y_and_column_x():
    from studio_ui.core import cell_from_selection

    sel = {"selection": {"points": [{"x": 9, "y": 4, "point_index": 0}], "point_indices": [0], "box": [],
                         "lasso": []}}
    assert cell_from_selection(sel) == (4, 9)
    assert cell_from_selection({"selection": {"points": []}}) is None
    assert cell_from_selection(None) is None


# ---------------------------------------------------------------------------------------------- motifs
def test_motifs_page_runs_tf_modisco_and_says_when_there_are_too_few_seqlets(sketch, seqs):
    import time

    at = app_with(sketch, seqs, page="pages/6_Motifs.py")
    assert not at.exception
    at.button(key="motif_run").click().run()
    from studio_ui import motifs_ui

    job = motifs_ui.jobs.get_job(at.session_state[motifs_ui.JOB])
    t0 = time.time()
    while not job.finished_ and time.time() - t0 < 300:
        time.sleep(0.5)
    at.run()
    assert not at.exception and job.status == "failed"
    assert any("seqlets in 200 sequences; it needs more than 100 of one sign" in m.value for m in at.warning)



# ---------------------------------------------------------------------------------------------- export
MAGIC = {"svg": b"<?xml", "pdf": b"%PDF", "png": b"\x89PNG", "csv": None, "parquet": b"PAR1", "npz": b"PK",
         "json": b"{", "zip": b"PK"}


def test_export_buttons_produce_the_files(sketch, seqs, monkeypatch):
    made: dict[str, tuple[str, object]] = {}
    real = st.download_button

    def spy(label, data, file_name=None, *a, key=None, **kw):
        made[key] = (file_name, data)
        return real(label, data, file_name, *a, key=key, **kw)

    monkeypatch.setattr(st, "download_button", spy)
    at = app_with(sketch, seqs, page="pages/7_Export.py")
    assert not at.exception
    keys = set(made)
    for name in ("logo_selected", "logo_mean", "logo_split", "heatmap_selected", "heatmap_mean_abs",
                 "sketch_orders"):
        assert {f"dl_{name}_svg", f"dl_{name}_pdf", f"dl_{name}_png"} <= keys
    for name in ("sequences", "shap_wide", "shap_long", "interactions", "top_interactions",
                 "split_interaction_summary", "pairwise_summary"):
        assert {f"dl_{name}_csv", f"dl_{name}_parquet"} <= keys
    assert {"dl_sketch_npz", "dl_run_json", "dl_all_zip", "dl_modisco_zip"} <= keys
    # every table, the sketch, the record and the zip; figures: all formats of two, one format of the others
    # (logomaker needs ~1 s a figure; the zip renders every figure of export_all in all three formats)
    fig_keys = sorted(k for k in made if k.rsplit("_", 1)[1] in ("svg", "pdf", "png"))
    stems = sorted({k.rsplit("_", 1)[0] for k in fig_keys})
    full = {"dl_logo_selected", "dl_sketch_orders"}
    render = [k for k in made if k not in fig_keys]
    render += [k for k in fig_keys if k.rsplit("_", 1)[0] in full]
    render += [f"{stem}_{('svg', 'pdf', 'png')[i % 3]}" for i, stem in enumerate(stems) if stem not in full]
    for key in render:
        fname, data = made[key]
        b = data() if callable(data) else data
        b = b.encode() if isinstance(b, str) else b
        assert len(b) > 0, key
        magic = MAGIC[fname.rsplit(".", 1)[1]]
        assert magic is None or b.startswith(magic), (key, b[:10])
        if key == "dl_logo_selected_svg":
            assert b"<text" in b or b"font" in b  # editable text
        if key == "dl_modisco_zip":
            z = zipfile.ZipFile(io.BytesIO(b))
            assert sorted(z.namelist()) == ["modisco_hyp_shap.npz", "modisco_ids.txt", "modisco_ohe.npz",
                                            "modisco_shap.npz"]
            import numpy as np

            with np.load(io.BytesIO(z.read("modisco_shap.npz")), allow_pickle=False) as arr:
                assert arr["arr_0"].shape == (len(seqs), 4, seqs.n)
        if key == "dl_all_zip":  # every file of every button, under the same name (zips unpacked)
            names = set(zipfile.ZipFile(io.BytesIO(b)).namelist())
            singles = {fname for k, (fname, _d) in made.items() if k != "dl_all_zip"}
            base = {n.rsplit("/", 1)[1] for n in names}
            assert {f for f in singles if not f.endswith(".zip")} <= base
            assert "shapzero_export/modisco/modisco_shap.npz" in names
            assert {"shapzero_export/sketch.npz", "shapzero_export/run.json",
                    "shapzero_export/figures/logo_selected.svg", "shapzero_export/tables/sequences.csv",
                    "shapzero_export/tables/pairwise_summary.parquet"} <= names


def test_a_pairs_only_sketch_says_why_every_index_looks_the_same(seqs):
    sk = planted_sketch(max_order=2)
    at = app_with(sk, seqs, page="pages/5_Interactions.py")
    assert any("no interactions above pairs" in c.value for c in at.caption)


def test_the_model_output_unit_labels_every_axis(sketch, seqs):
    """The unit named on the Model page ("editing efficiency") is on the logo axes and the map colour bars."""
    at = app_with(sketch, seqs)
    at.session_state[state.OUTPUT_UNIT] = "editing efficiency"
    at.switch_page("pages/4_Logos.py").run()
    assert not at.exception
    specs = [str(c.proto.spec) for c in at.get("plotly_chart")]
    assert all("SHAP value (editing efficiency)" in s or "mean SHAP (editing efficiency)" in s for s in specs)
    at.switch_page("pages/5_Interactions.py").run()
    assert not at.exception
    specs = " ".join(str(c.proto.spec) for c in at.get("plotly_chart"))
    assert "value (editing efficiency)" in specs and "mean |value| (editing efficiency)" in specs


def test_tables_show_words_not_snake_case_names(sketch, seqs):
    """Every page table labels its snake_case columns in words (the data and the downloads keep the names)."""
    import json

    at = app_with(sketch, seqs, page="pages/3_Sequences.py")
    table = next(d for d in at.dataframe if d.key and d.key.startswith("seq_table_"))
    cfg = json.loads(table.proto.columns)
    assert cfg["seq_id"]["label"] == "id"
    assert cfg["prediction"]["label"] == "sketch prediction" and "no model call" in cfg["prediction"]["help"]
    assert "seq_id" in table.value.columns
    at.switch_page("pages/5_Interactions.py").run()
    for d in at.dataframe:
        cfg = json.loads(d.proto.columns or "{}")
        for c in d.value.columns:
            if "_" in str(c) and not str(c).startswith("_"):
                assert cfg.get(str(c), {}).get("label"), (d.key, c)
