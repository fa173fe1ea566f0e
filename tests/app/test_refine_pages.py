"""Trust every value in the app: the trust check on the Sketch page, "Refine with the model" on the Logos page
(model calls stated before it runs, progress, cancel, the refined logo with error bars beside the sketch's)."""

from __future__ import annotations

import json
import time

import numpy as np
from app_helpers import PlantedModel, app_with, planted_sketch

from shapzero_core import FourierSketch, shap_values
from shapzero_core.refine import expected_calls
from shapzero_core.sequences import random_sequences
from studio_ui import jobs, state


def _wait(job_id: str, timeout: float = 60.0) -> jobs.JobRecord:
    job = jobs.get_job(job_id)
    t0 = time.time()
    while not job.finished_ and time.time() - t0 < timeout:
        time.sleep(0.05)
    assert job.finished_, job.snapshot()
    return job


def _chart(at, key: str) -> dict:
    for c in at.get("plotly_chart"):
        if (c.proto.id and key in c.proto.id) or getattr(c, "key", None) == key:
            return json.loads(c.proto.spec)
    raise AssertionError(f"no chart {key}: {[c.proto.id for c in at.get('plotly_chart')]}")


def _partial(truth: FourierSketch) -> FourierSketch:
    """The truth without its order >= 2 coefficients: a sketch whose SHAP values are visibly off."""
    keep = truth.degrees <= 1
    return FourierSketch(truth.locations[keep], truth.coefficients[keep], truth.alphabet)


TRUTH = planted_sketch(n=10, K=40, max_order=3, seed=5)
SEQS = random_sequences(30, 10, seed=2)


def _with_model(sketch, model, page, seqs=SEQS):
    at = app_with(sketch, seqs)
    at.session_state[state.MODEL] = model
    at.session_state[state.MODEL_LABEL] = "planted test model"
    at.switch_page(page).run()
    assert not at.exception
    return at


def test_sketch_page_runs_the_trust_check_of_a_loaded_sketch():
    at = _with_model(_partial(TRUTH), PlantedModel(TRUTH), "pages/2_Sketch.py")
    start = at.button(key="sketch_trust_start")
    assert "model calls" in start.label
    start.click().run()
    job = _wait(at.session_state[state.TRUST_JOB])
    assert job.status == "done", job.error
    at.run()
    assert not at.exception
    trust = at.session_state[state.SKETCH].metadata["trust"]
    assert trust["level"] in ("approximate", "unreliable") and trust["n_seqs"] == 16
    boxes = [b.value for b in at.warning]
    assert any(b.startswith("Trust check: sketch values") for b in boxes)
    assert "Error of the sketch" in str(_chart(at, "sketch_trust_chart"))


def test_trust_check_needs_a_model():
    at = app_with(_partial(TRUTH), SEQS, page="pages/2_Sketch.py")
    assert not at.exception
    assert any("This sketch has no trust check" in m.value and "Load the model" in m.value for m in at.info)


def test_refine_the_selected_sequence_and_see_error_bars():
    sketch = _partial(TRUTH)
    model = PlantedModel(TRUTH)
    at = _with_model(sketch, model, "pages/4_Logos.py")
    # the model calls are stated before anything runs
    calls = at.number_input(key="logo_refine_calls").value
    stated = next(m.value for m in at.metric if m.label == "Model calls to refine")
    assert stated == f"{expected_calls(10, 4, 1, calls):,}"
    assert model.calls == 0
    at.button(key="logo_refine_start").click().run()
    job = _wait(at.session_state[state.REFINE_JOB])
    assert job.status == "done", job.error
    at.run()
    assert not at.exception
    fig = _chart(at, "logo_refined_chart")
    assert "Refined SHAP logo of rand_1" in json.dumps(fig["layout"]["title"])
    bars = [t for t in fig["data"] if t.get("name") == "error bars"]
    assert bars and len(bars[0]["error_y"]["array"]) == 10 and max(bars[0]["error_y"]["array"]) > 0
    # the refined values are the model's own, within their standard errors (the sketch's are off)
    tab = next(d for d in at.dataframe if "refined SHAP" in d.value.columns).value
    exact = shap_values(TRUTH, SEQS.X[:1])[0]
    z = (tab["refined SHAP"].to_numpy() - exact) / tab["stderr"].to_numpy()
    assert np.mean(np.abs(z) <= 3) >= 0.9
    assert np.abs(tab["refined SHAP"] - exact).mean() < np.abs(tab["sketch SHAP"] - exact).mean()
    assert any("Refined with" in c.value for c in at.caption)


def test_refine_a_filtered_subset_and_cancel():
    sketch = _partial(TRUTH)
    at = _with_model(sketch, PlantedModel(TRUTH), "pages/4_Logos.py")
    at.radio(key="logo_subset").set_value("Prediction range").run()
    lo, hi = at.slider(key="logo_pred_range").value
    at.slider(key="logo_pred_range").set_value((lo, (lo + hi) / 2)).run()
    at.radio(key="logo_refine_scope").set_value("subset").run()
    assert not at.exception
    preds = sketch.predict(SEQS.X)
    k = int(((preds >= lo) & (preds <= (lo + hi) / 2)).sum())
    calls = at.number_input(key="logo_refine_calls").value
    assert next(m.value for m in at.metric if m.label == "Model calls to refine") == f"{expected_calls(10, 4, k, calls):,}"
    at.button(key="logo_refine_start").click().run()
    job = _wait(at.session_state[state.REFINE_JOB])
    assert job.status == "done", job.error
    at.run()
    assert len(at.session_state[state.REFINED]["rows"]) == k
    assert any(f"Refined so far: {k} sequence(s)" in c.value for c in at.caption)
    assert any(b.label.startswith("Download the refined values") for b in at.get("download_button"))

    # a slow model: start, cancel while it runs
    slow = PlantedModel(TRUTH, delay=0.3)
    at.session_state[state.MODEL] = slow
    at.run()
    at.number_input(key="logo_refine_calls").set_value(20_000).run()
    at.button(key="logo_refine_start").click().run()
    time.sleep(0.5)
    at.run()
    at.button(key="logo_refine_cancel").click().run()
    job = _wait(at.session_state[state.REFINE_JOB])
    assert job.status == "cancelled"
    at.run()
    assert not at.exception
    assert any("Refining was cancelled" in w.value for w in at.warning)


def test_sketch_only_error_bars_come_from_the_trust_check():
    from shapzero_core.refine import check_sketch, with_trust

    sketch = _partial(TRUTH)
    checked = with_trust(sketch, check_sketch(PlantedModel(TRUTH), sketch, n_seqs=4, calls_per_seq=600))
    at = app_with(checked, SEQS, page="pages/4_Logos.py")
    assert not at.exception
    fig = _chart(at, "logo_one_chart")
    assert any(t.get("name") == "error bars" for t in fig["data"])
    assert any("the trust check's error" in c.value for c in at.caption)
    assert any("Load the model on the Model page" in m.value for m in at.info)  # no model: no refine button
    # a sketch without a check: no whiskers, and the page says why
    at = app_with(sketch, SEQS, page="pages/4_Logos.py")
    fig = _chart(at, "logo_one_chart")
    assert not any(t.get("name") == "error bars" for t in fig["data"])
    assert any("has no trust check" in c.value for c in at.caption)


def test_an_exact_sketch_says_why_it_has_no_whiskers():
    from shapzero_core.refine import check_sketch, with_trust

    checked = with_trust(TRUTH, check_sketch(PlantedModel(TRUTH), TRUTH, n_seqs=4, calls_per_seq=600))
    at = app_with(checked, SEQS, page="pages/4_Logos.py")
    assert not at.exception
    assert any("found no error at any position" in c.value for c in at.caption)
    assert not any("Whiskers: ±2" in c.value for c in at.caption)
