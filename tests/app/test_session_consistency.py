"""The session's (model, sketch, sequences) stay consistent: choosing a model that the sketch or sequences do
not fit sets them aside with a notice (and the sidebar says so), no page draws them, and they come back when a
model they fit is chosen again."""

from __future__ import annotations

from app_helpers import app_with

from shapzero_core.demos import get_demo
from studio_ui import state


def _load_demo(at, name: str):
    at.switch_page("pages/1_Model.py").run()
    at.radio(key="model_source").set_value("Demo model").run()
    at.selectbox(key="model_demo_pick").set_value(name)
    at.button(key="model_demo_load").click().run()
    assert not at.exception, at.exception
    return at


def _get(at, key: str):
    try:
        return at.session_state[key]
    except KeyError:
        return None


def _sidebar_text(at) -> str:
    return " ".join(m.value for m in at.sidebar.markdown)


def _session(name: str):
    demo = get_demo(name)
    model = demo.load_model()
    sk = demo.load_spectrum().with_metadata(model={"name": name, "identity": model.identity})
    return model, sk, demo.sequences(50, seed=0)


def test_another_length_sets_sketch_and_sequences_aside_and_brings_them_back():
    model, sk, seqs = _session("guide_rna")
    at = app_with(sk, seqs)
    at.session_state[state.MODEL] = model
    at.session_state[state.MODEL_LABEL] = "demo: guide"
    _load_demo(at, "cnn")  # n = 40: the n = 26 sketch and sequences do not fit
    assert _get(at, state.SKETCH) is None and _get(at, state.SEQS) is None
    notice = " ".join(w.value for w in at.warning)
    assert "Set aside" in notice and "length 26" in notice and "(40 letters of ACGT)" in notice
    side = _sidebar_text(at)
    assert "**Sketch:** none" in side and "**Sequences:** none" in side and "Set aside" in side
    assert side.count("**Model:**") == 1  # the summary is drawn once
    # no page draws the old sketch or sequences
    at.switch_page("pages/4_Logos.py").run()
    assert not at.exception and any("no sketch" in i.value.lower() for i in at.info)
    # dismiss the notice: it goes, the sidebar still lists what is aside
    at.switch_page("pages/1_Model.py").run()
    next(b for b in at.button if b.label == "OK").click().run()
    assert not any("Set aside" in w.value for w in at.warning)
    assert "Set aside" in _sidebar_text(at)
    # back to the guide model: both come back
    _load_demo(at, "guide_rna")
    assert at.session_state[state.SKETCH] is not None and at.session_state[state.SKETCH].sequence_length == 26
    assert at.session_state[state.SEQS].n == 26
    assert any("Brought back" in w.value for w in at.warning)
    assert "Set aside" not in _sidebar_text(at)
    at.switch_page("pages/4_Logos.py").run()
    assert not at.exception and not any("no sketch" in i.value.lower() for i in at.info)


def test_same_length_but_another_model_sets_only_the_sketch_aside():
    model, sk, seqs = _session("repair")  # n = 40, like the CNN demo
    at = app_with(sk, seqs)
    at.session_state[state.MODEL] = model
    at.session_state[state.MODEL_LABEL] = "demo: repair"
    _load_demo(at, "cnn")
    assert _get(at, state.SKETCH) is None
    assert at.session_state[state.SEQS].n == 40  # the sequences fit the CNN: they stay
    notice = " ".join(w.value for w in at.warning)
    assert "made from another model" in notice and "sequences" not in notice.split("Set aside")[1].split("(")[0]
