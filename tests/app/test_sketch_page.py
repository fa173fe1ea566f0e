"""Sketch page: plan and estimate before starting, start in the background, cancel, resume from the
workspace cache, quality report; loading a saved sketch (good and bad file)."""

from __future__ import annotations

import time

import pytest
from app_helpers import PlantedModel, app_with, planted_sketch

from studio_ui import jobs, state


def _wait(job_id: str, timeout: float = 30.0) -> jobs.JobRecord:
    job = jobs.get_job(job_id)
    t0 = time.time()
    while not job.finished_ and time.time() - t0 < timeout:
        time.sleep(0.05)
    assert job.finished_, job.snapshot()
    return job


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_start_cancel_resume_and_quality():
    truth = planted_sketch(n=10, K=20, max_order=2, seed=3)
    model = PlantedModel(truth, delay=0.15)
    at = app_with()
    at.session_state[state.MODEL] = model
    at.session_state[state.MODEL_LABEL] = "planted test model"
    at.switch_page("pages/2_Sketch.py").run()
    assert not at.exception
    assert at.radio(key="sketch_method").value == "Dense + sparse"  # the default
    at.radio(key="sketch_method").set_value("Sparse only (q-SFT)")
    at.number_input(key="sketch_budget").set_value(7000)
    at.number_input(key="sketch_test_size").set_value(400).run()
    # before starting: the exact queries and the estimated time
    assert _metric(at, "Model queries") == f"{9 * 11 * 64 + 400:,}"  # b=3, C=P=3 -> 9 blocks of 11*64, + test
    # queries at the measured speed (6,736 / 5,000 per second), decoding from the cost model, the trust check
    cap = " ".join(c.value for c in at.caption)
    assert "Estimated: model queries 1.3 s, decoding" in cap and "from the cost model of this release" in cap
    assert "trust check" in cap
    assert _metric(at, "Estimated time") != "—"
    assert _metric(at, "Already cached") == "0 of 10 blocks"

    at.button(key="sketch_start").click().run()
    assert not at.exception
    job_id = at.session_state[state.JOB]
    time.sleep(0.4)
    at.run()
    at.button(key="sketch_cancel").click().run()
    job = _wait(job_id)
    assert job.status == "cancelled"
    at.run()
    assert any("cancelled" in w.value for w in at.warning)
    done = int(_metric(at, "Already cached").split()[0])
    assert 0 < done < 10
    calls_before = model.calls

    # after an app restart the session is empty: the same model offers the unfinished run's plan
    at = app_with()
    at.session_state[state.MODEL] = model
    at.session_state[state.MODEL_LABEL] = "planted test model"
    at.switch_page("pages/2_Sketch.py").run()
    assert any("An unfinished sketch of this model" in m.value for m in at.info)
    assert any("Sparse only (q-SFT), a plan of 6,336 training + 400 held-out queries" in m.value for m in at.info)
    at.button(key="sketch_resume_0").click().run()
    assert at.radio(key="sketch_method").value == "Sparse only (q-SFT)"
    assert at.number_input(key="sketch_budget").value == 9 * 11 * 64
    assert at.number_input(key="sketch_test_size").value == 400
    assert _metric(at, "Already cached") == f"{done} of 10 blocks"

    at.button(key="sketch_start").click().run()
    job = _wait(at.session_state[state.JOB])
    assert job.status == "done", job.error
    at.run()
    assert not at.exception
    sk = at.session_state[state.SKETCH]
    rep = sk.report
    assert rep["queries"]["cached"] > 0  # resumed: the finished blocks were not queried again
    # the blocks not cached, then the trust check: f(x) of its 16 random sequences and their first 4 walk
    # pairs (one batch each); the sketch is exact, so the zero-residual shortcut ends the check there
    assert model.calls - calls_before == 10 - done + 2
    assert rep["trust"]["level"] == "trustworthy"
    assert any(s.value.startswith("Trust check: sketch values trustworthy") for s in at.success)
    assert rep["r2"] > 0.999
    # every block is cached now: no "resumes" banner, and no query time left to estimate
    assert _metric(at, "Already cached") == "10 of 10 blocks"
    assert not any("Start resumes" in m.value for m in at.info)
    assert any("All 10 query blocks of this plan are in the workspace cache" in m.value for m in at.info)
    cap = " ".join(c.value for c in at.caption)
    assert "Estimated: model queries 0.0 s" in cap  # nothing left to query
    assert "from 1 earlier sketch of this model on this machine" in cap  # the finished run's decode time is the basis now
    assert float(_metric(at, "Held-out R²")) > 0.999
    # the engineer's numbers (NMSE, b / C / P, noise) are under "Advanced", not among the page's metrics
    assert not any("NMSE" in m.label for m in at.metric)
    adv = [e for e in at.expander if e.label.startswith("Advanced: errors and parameters")]
    assert adv and any("NMSE" in m.value and "b = 3, C = 3, P = 3" in m.value for m in adv[0].markdown)
    assert at.get("plotly_chart")  # scatter and orders
    assert any(b.label == "Save the sketch (.npz)" for b in at.get("download_button"))


def test_load_a_saved_sketch_and_reject_a_bad_one(sketch):
    at = app_with(page="pages/2_Sketch.py")
    at.file_uploader(key="sketch_upload").set_value(("mine.npz", sketch.to_bytes(), "application/octet-stream")).run()
    assert not at.exception and not at.error
    assert at.session_state[state.SKETCH].num_coefficients == sketch.num_coefficients
    assert any("Loaded mine.npz" in s.value for s in at.success)
    at.file_uploader(key="sketch_upload").set_value(("broken.npz", b"not a zip", "application/octet-stream")).run()
    assert not at.exception
    assert at.error and "broken.npz" in at.error[0].value


def test_a_budget_below_the_smallest_plan_is_a_message():
    model = PlantedModel(planted_sketch(n=10, K=10, max_order=2))
    at = app_with()
    at.session_state[state.MODEL] = model
    at.session_state[state.MODEL_LABEL] = "planted"
    at.switch_page("pages/2_Sketch.py").run()
    at.number_input(key="sketch_budget").set_value(44)  # the widget's minimum: (n+1)*q
    at.run()
    assert not at.exception  # too small for dense + sparse: one message
    assert any("too small for a hybrid sketch" in e.value for e in at.error)
    at.radio(key="sketch_method").set_value("Sparse only (q-SFT)").run()
    assert not at.exception and not at.error
    assert _metric(at, "Model queries").endswith(f"{44 + 10_000:,}")


def test_sketch_on_a_dask_cluster_named_by_the_environment(monkeypatch):
    """$SHAPZERO_DASK_SCHEDULER makes the page offer the cluster; the demo model travels as its spec."""
    distributed = pytest.importorskip("distributed")
    from shapzero_core.demos import get_demo

    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                                  host="127.0.0.1") as cluster:
        monkeypatch.setenv("SHAPZERO_DASK_SCHEDULER", cluster.scheduler_address)
        at = app_with()
        at.session_state[state.MODEL] = get_demo("guide_rna").load_model()
        at.session_state[state.MODEL_LABEL] = "guide demo"
        at.switch_page("pages/2_Sketch.py").run()
        at.number_input(key="sketch_budget").set_value(30_000)
        at.number_input(key="sketch_test_size").set_value(500).run()
        at.checkbox(key="sketch_use_dask").check().run()
        at.button(key="sketch_start").click().run()
        job = _wait(at.session_state[state.JOB], timeout=60)
        assert job.status == "done", job.error
        assert job.info["dask"] == cluster.scheduler_address
        at.run()
        assert not at.exception
        assert at.session_state[state.SKETCH].report["queries"]["queried"] > 0


def test_dense_plus_sparse_sketch_shows_its_parts():
    """The default method: the plan says how many random and designed queries it makes; after the run a table
    says what each part captured (held-out R² up to it)."""
    truth = planted_sketch(n=8, K=20, max_order=3, seed=5)
    model = PlantedModel(truth)
    at = app_with()
    at.session_state[state.MODEL] = model
    at.session_state[state.MODEL_LABEL] = "planted test model"
    at.switch_page("pages/2_Sketch.py").run()
    at.number_input(key="sketch_budget").set_value(40_000)
    at.number_input(key="sketch_test_size").set_value(1_000).run()
    assert not at.exception
    assert any("random sequences for the dense part" in c.value for c in at.caption)
    assert _metric(at, "Model queries") == "41,000"
    at.button(key="sketch_start").click().run()
    job = _wait(at.session_state[state.JOB], timeout=60)
    assert job.status == "done", job.error
    at.run()
    assert not at.exception
    rep = at.session_state[state.SKETCH].report
    assert rep["method"] == "hybrid" and rep["queries"]["train"] == 40_000
    table = next(d.value for d in at.dataframe if "part" in d.value.columns)
    assert list(table["part"])[:3] == ["constant", "first order (every position)",
                                        f"pairwise ({rep['hybrid']['pairs']} pairs)"]
    assert float(list(table["held-out R² up to this part"])[-1]) > 0.999
