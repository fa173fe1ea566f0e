"""Model page (demo model, ONNX upload good and bad, inference-server allow-list, test prediction) and the
home page's demo path (guide-RNA model, quick sketch in the background, demo sequences)."""

from __future__ import annotations

import time

from app_helpers import app_with

from shapzero_core.demos import get_demo
from studio_ui import jobs, state


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_load_the_demo_model_and_predict_a_typed_sequence():
    at = app_with(page="pages/1_Model.py")
    at.selectbox(key="model_demo_pick").set_value("guide_rna")
    at.button(key="model_demo_load").click().run()
    assert not at.exception and not at.error
    assert _metric(at, "Sequence length n") == "26"
    assert _metric(at, "Input") == "one-hot"  # a word; the layout code NLQ and the detail are in its help
    assert _metric(at, "Throughput").endswith("seq/s")
    seq = "ACGTACGTACGTACGTACGTACGAGG"
    at.text_input(key="model_test_seq").set_value(seq).run()
    model = get_demo("guide_rna").load_model()
    want = float(model(model.alphabet.encode([seq]))[0])
    assert f"Model prediction: **{want:.6g}**" in " ".join(m.value for m in at.markdown)
    at.text_input(key="model_test_seq").set_value("ACGTN").run()
    assert not at.exception and at.error


def test_upload_an_onnx_model_and_a_broken_one():
    demo = get_demo("guide_rna")
    at = app_with(page="pages/1_Model.py")
    at.radio(key="model_source").set_value("ONNX file").run()
    at.file_uploader(key="model_onnx_upload").set_value(("guide.onnx", demo.onnx_path.read_bytes(),
                                                         "application/octet-stream")).run()
    at.button(key="model_onnx_load").click().run()
    assert not at.exception and not at.error
    assert at.session_state[state.MODEL_LABEL] == "ONNX guide.onnx"
    assert _metric(at, "Sequence length n") == "26"
    at.file_uploader(key="model_onnx_upload").set_value(("broken.onnx", b"\x08\x01garbage",
                                                         "application/octet-stream")).run()
    at.button(key="model_onnx_load").click().run()
    assert not at.exception
    assert at.error


def test_an_inference_server_off_the_allow_list_is_refused(monkeypatch):
    monkeypatch.setenv("SHAPZERO_ALLOWED_HOSTS", "127.0.0.1")
    at = app_with(page="pages/1_Model.py")
    at.radio(key="model_source").set_value("Inference server").run()
    at.text_input(key="model_server_url").set_value("http://example.org:8000/v2/models/guide").run()
    at.button(key="model_server_load").click().run()
    assert not at.exception
    assert at.error and "example.org" in at.error[0].value


def test_try_the_demo_gives_logos_and_heatmaps():
    at = app_with()
    at.button(key="try_demo").click().run()
    assert not at.exception and not at.error
    job = jobs.get_job(at.session_state[state.JOB])
    t0 = time.time()
    while not job.finished_ and time.time() - t0 < 60:
        time.sleep(0.1)
    assert job.status == "done", job.error
    at.run()
    assert not at.exception
    assert any("The demo is ready" in s.value for s in at.success)
    sk = at.session_state[state.SKETCH]
    assert sk.n == 26 and sk.report["r2"] > 0.99
    assert len(at.session_state[state.SEQS]) == 1000
    at.switch_page("pages/4_Logos.py").run()
    assert not at.exception and len(at.get("plotly_chart")) == 2
    at.switch_page("pages/5_Interactions.py").run()
    assert not at.exception and len(at.get("plotly_chart")) >= 2


def test_the_output_unit_typed_on_the_model_page_survives_other_pages():
    at = app_with(page="pages/1_Model.py")
    at.selectbox(key="model_demo_pick").set_value("guide_rna")
    at.button(key="model_demo_load").click().run()
    at.text_input(key="model_output_unit").set_value("editing efficiency").run()
    assert at.session_state[state.OUTPUT_UNIT] == "editing efficiency"
    at.switch_page("pages/4_Logos.py").run()
    at.switch_page("pages/1_Model.py").run()
    assert not at.exception
    assert at.text_input(key="model_output_unit").value == "editing efficiency"
    assert at.session_state[state.OUTPUT_UNIT] == "editing efficiency"
