"""The app with a template (fixed letters): the Model page's template field, greyed fixed positions on the
Logos page, the Sequences page's template check; and the Motifs page of a protein sketch."""

from __future__ import annotations

import numpy as np
from app_helpers import PlantedModel, app_with, planted_sketch

from shapzero_core import FourierSketch, get_alphabet
from shapzero_core.sequences import random_sequences
from studio_ui import state

PATTERN = "....GG......"


def templated_sketch() -> FourierSketch:
    base = planted_sketch(n=10, K=20)
    return base.with_metadata(template=PATTERN)


def test_model_page_applies_a_template():
    model = PlantedModel(planted_sketch())
    at = app_with(page="pages/1_Model.py")
    at.session_state[state.MODEL] = model
    at.session_state[state.MODEL_LABEL] = "planted"
    at.run()
    assert not at.exception
    at.text_input(key="model_template").set_value("..GG").run()
    at.button(key="model_template_apply").click().run()
    assert any("has 4 positions but the model takes sequences of length 12" in e.value for e in at.error)
    at.text_input(key="model_template").set_value(PATTERN).run()
    at.button(key="model_template_apply").click().run()
    assert not at.exception
    m = at.session_state[state.MODEL]
    assert m.template.pattern == PATTERN and m.n == 10 and m.base is model
    X = np.zeros((3, 10), dtype=np.int8)
    full = np.zeros((3, 12), dtype=np.int8)
    full[:, [4, 5]] = 2
    np.testing.assert_allclose(m(X), model(full))
    assert "template" in at.session_state[state.MODEL_LABEL]


def test_logos_grey_the_fixed_positions_and_sequences_are_checked():
    sk = templated_sketch()
    seqs = random_sequences(50, 12, template=PATTERN, seed=2)
    at = app_with(sk, seqs, page="pages/4_Logos.py")
    assert not at.exception
    spec = str(at.get("plotly_chart")[0].proto.spec)
    assert "fixed by the template" in spec
    assert any("fixed by the template" in c.value for c in at.caption)
    at.switch_page("pages/3_Sequences.py").run()
    csv = b"id,sequence\na,ACGTGGACGTAC\nb,ACGTAAACGTAC\nc,ACGTACGTAC\n"
    at.file_uploader(key="seq_upload").set_value(("t.csv", csv, "text/csv")).run()
    assert not at.exception
    s = at.session_state[state.SEQS]
    assert s.ids == ["a", "c"] and s.sequences[1] == "ACGTGGACGTAC"
    (rej,) = [t.value for t in at.table if "reason" in t.value.columns]  # a few rejected rows: a table
    assert "template: position 5 is 'A' but the template fixes 'G'" in " ".join(map(str, rej["reason"]))


def test_motifs_page_of_a_protein_sketch_shows_spaced_repeats_only():
    prot = get_alphabet("protein")
    sk = FourierSketch(np.array([[0, 3, 0, 0, 0, 0], [1, 2, 0, 0, 0, 0]], dtype=np.int8), np.array([1.0, 0.5]), prot)
    seqs = random_sequences(30, 6, prot, seed=0)
    at = app_with(sk, seqs, page="pages/6_Motifs.py")
    assert not at.exception
    assert any("TF-MoDISco and JASPAR are for DNA and RNA" in m.value for m in at.info)


def test_export_page_offers_the_motifs_of_a_finished_run(sketch, seqs, monkeypatch):
    """A finished TF-MoDISco run of this sketch and these sequences: the Export page offers its tables and zip."""
    import io
    import json
    import zipfile

    import pandas as pd
    import streamlit as st

    from shapzero_core.analysis import ModiscoMotif, MotifSearch
    from shapzero_core.analysis.matching import MATCH_COLUMNS
    from studio_ui import core, jobs, motifs_ui

    ppm = np.full((6, 4), 0.25)
    ppm[:, 2] = 0.7
    ppm /= ppm.sum(1, keepdims=True)
    m = ModiscoMotif(name="pos_patterns.pattern_0", sign=1, ppm=ppm, cwm=ppm * 0.1, hcwm=ppm * 0.1, trim=(0, 6),
                     num_seqlets=25, num_sequences=25,
                     seqlets=pd.DataFrame({"motif": ["pos_patterns.pattern_0"], "seq": [0], "seq_id": [seqs.ids[0]],
                                           "start": [2], "end": [7], "strand": ["+"], "letters": ["GGGGGG"],
                                           "contribution": [0.5]}),
                     matches=pd.DataFrame([["pos_patterns.pattern_0", 1, "MA0000.1", "TEST", 1e-5, 1e-2, 1e-3, 0, 6,
                                            "+"]], columns=MATCH_COLUMNS))
    res = MotifSearch([m], len(seqs), {"positive": 25, "negative": 0}, {"window": 5}, "JASPAR2024 CORE vertebrates",
                      {"modisco": 1.0})
    key = json.dumps([core.sketch_key(sketch), core.sequences_key(seqs), {}])
    rec = jobs.start_job("test motifs", lambda r: res, info={"key": key})
    rec.thread.join(5)
    made: dict = {}
    real = st.download_button

    def spy(label, data, file_name=None, *a, key=None, **kw):
        made[key] = (file_name, data)
        return real(label, data, file_name, *a, key=key, **kw)

    monkeypatch.setattr(st, "download_button", spy)
    at = app_with(sketch, seqs)
    at.session_state[motifs_ui.JOB] = rec.id
    at.switch_page("pages/7_Export.py").run()
    assert not at.exception
    assert {"dl_motifs_zip", "dl_motifs_csv", "dl_motif_matches_csv", "dl_motif_carriers_csv", "dl_motif_1_svg"} <= set(made)
    z = zipfile.ZipFile(io.BytesIO(made["dl_motifs_zip"][1]()))
    names = set(z.namelist())
    assert {"motifs/motifs.meme", "motifs/matches.tsv", "motifs/motif_seqlets.tsv"} <= names
    assert "MA0000.1" in z.read("motifs/matches.tsv").decode()
