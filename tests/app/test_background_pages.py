"""The background selector ("Compared with") on the Logos and Interactions pages: uniform / the loaded
sequences' frequencies / an uploaded table; the values drawn and exported are the engine's for that background,
the choice is shared by the pages, and a bad table is an error message."""

from __future__ import annotations

import io
import json

import numpy as np
from app_helpers import app_with

from shapzero_core.analysis import explain_sequences
from studio_ui import state


def _logo_text(at) -> str:
    return " ".join(str(c.proto.spec) for c in at.get("plotly_chart"))


def test_data_background_changes_values_and_is_shared(sketch, seqs):
    at = app_with(sketch, seqs, page="pages/4_Logos.py")
    assert not at.exception
    radio = at.radio(key="logo_background")
    assert radio.value == "uniform"
    uniform_f = next(m.value for m in at.markdown if m.value.startswith("Sketch prediction f(x)"))
    radio.set_value("data").run()
    assert not at.exception and not at.error
    assert at.session_state[state.BACKGROUND] == "data"
    data_f = next(m.value for m in at.markdown if m.value.startswith("Sketch prediction f(x)"))
    want = explain_sequences(sketch, seqs, background="data", with_interactions=False)
    assert f"baseline {want.baseline:.4f}" in data_f and data_f != uniform_f
    assert any("letter frequencies of 200 sequences" in c.value for c in at.caption)
    assert any("uniform background" in c.value for c in at.caption)  # refine is for the uniform game
    at.switch_page("pages/5_Interactions.py").run()
    assert not at.exception
    assert at.radio(key="inter_background").value == "data"
    at.switch_page("pages/7_Export.py").run()  # its run record carries the background (export.background_record)
    assert not at.exception


def test_uploaded_table_and_a_bad_one(sketch, seqs):
    at = app_with(sketch, seqs, page="pages/5_Interactions.py")
    at.radio(key="inter_background").set_value("table").run()
    assert not at.exception
    P = np.random.default_rng(0).dirichlet(np.ones(4), size=sketch.n)
    buf = io.BytesIO()
    np.save(buf, P)
    at.file_uploader(key="inter_background_file").set_value(("gc.npy", buf.getvalue(), "application/octet-stream")).run()
    assert not at.exception and not at.error
    name, probs = at.session_state[state.BACKGROUND_TABLE]
    assert name == "gc.npy"
    np.testing.assert_allclose(probs, P)
    assert any("table from gc.npy" in c.value for c in at.caption)
    bad = b"A\tC\tG\tT\n" + b"1\t1\t1\t1\n" * (sketch.n - 1)  # one row short
    at.file_uploader(key="inter_background_file").set_value(("short.tsv", bad, "text/plain")).run()
    assert not at.exception
    assert at.error and "short.tsv" in at.error[0].value and "positions" in at.error[0].value
    assert json.dumps(at.session_state[state.BACKGROUND_TABLE][0]) == '"gc.npy"'  # the good table stays
