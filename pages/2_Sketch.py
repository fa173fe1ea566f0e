"""Sketch: plan the model queries for a budget (exact count, estimated time), run the sketch in the
background with live progress and cancel, resume from the workspace cache, see its quality; save the
sketch, or load a saved one instead."""

from pathlib import Path

import streamlit as st

from shapzero_core import FourierSketch, SketchFileError
from shapzero_core.dask_executor import configured_scheduler
from shapzero_core.errors import ModelError, SketchError
from shapzero_core.report_figures import order_table, orders_plotly, quality_scatter_plotly
from shapzero_core.sketch import plan_for_budget, plan_sketch
from studio_ui import core, models_ui, refining, sketching, state
from studio_ui import widgets as w

METHOD_LABELS = {"hybrid": "Dense + sparse", "qsft": "Sparse only (q-SFT)"}

w.page_frame("sketch")
w.header("Sketch", "The sketch queries the model once on a designed set of sequences and recovers its sparse "
         "Fourier transform; every explanation afterwards comes from the sketch, with no model calls.")

model = state.get_model()
job = sketching.current_job()
running = job is not None and not job.finished_

tab_run, tab_load = st.tabs(["Sketch the model", "Load a saved sketch"])
with tab_run:
    if model is None:
        st.info("Load a model first (a demo model, an ONNX file or an inference server), or load a saved "
                "sketch in the other tab.")
        w.page_link("model", "Load a model", ":material/model_training:")
    else:
        n, q = int(model.n), model.alphabet.q
        st.markdown(f"Model: **{state.model_label()}** · n = {n}"
                    + (" free positions" if getattr(model, "template", None) is not None else "")
                    + f", alphabet {model.alphabet.letters} (q = {q})")
        if not running:
            for i, run in enumerate(sketching.cached_runs(model)):
                pl = run["plan"]

                def _resume(pl=pl) -> None:
                    st.session_state["sketch_budget"] = int(pl["num_train_queries"])
                    st.session_state["sketch_test_size"] = int(pl["num_test_queries"])
                    st.session_state["sketch_seed"] = int(pl["seed"])
                    st.session_state["sketch_method"] = METHOD_LABELS[str(pl.get("method", "qsft"))]

                r1, r2 = st.columns([4, 1], vertical_alignment="center")
                r1.info(f"An unfinished sketch of this model is in the workspace cache: "
                        f"{METHOD_LABELS[str(pl.get('method', 'qsft'))]}, a plan of {pl['num_train_queries']:,} "
                        f"training + {pl['num_test_queries']:,} held-out queries (what its budget allowed), "
                        f"{run['done']} of {run['total']} query blocks done.")
                r2.button("Use this plan", key=f"sketch_resume_{i}", on_click=_resume,
                          help="Sets the budget, test queries and seed of that run; Start then resumes it.")
        c1, c2, c3 = st.columns(3)
        budget = int(c1.number_input("Budget (training queries)", min_value=(n + 1) * q, max_value=10**10,
                                     value=max(500_000, (n + 1) * q), step=100_000, key="sketch_budget",
                                     help="The most model queries the sketch may use to recover the transform. "
                                          "More queries resolve more coefficients."))
        test_size = int(c2.number_input("Held-out test queries", 0, 1_000_000, 10_000, step=1_000,
                                        key="sketch_test_size",
                                        help="Random sequences queried on top of the budget, to tune the noise "
                                             "threshold and to measure R² of the sketch."))
        seed = int(c3.number_input("Seed", 0, 2**31 - 1, 0, key="sketch_seed"))
        method_label = st.radio(
            "Method", list(METHOD_LABELS.values()), index=0, horizontal=True, key="sketch_method",
            help="Dense + sparse: half the budget goes to random sequences that fit every single-position effect, "
                 "every pair of positions and every triple of nearby positions (within 7) directly; the "
                 "designed q-SFT queries then find the sparse "
                 "higher-order interactions left over. Best for most trained models (CNNs, tree ensembles, "
                 "pairwise models). Sparse only: the paper's q-SFT algorithm alone; exact for models with a few "
                 "strong interactions of any order.")
        method = next(k for k, v in METHOD_LABELS.items() if v == method_label)
        try:
            config = plan_for_budget(budget, n, q, seed=seed, test_size=test_size, method=method)
            plan = plan_sketch(n, q, config)
        except (SketchError, ValueError) as e:
            st.error(str(e))
            plan = None
    if model is not None and plan is not None:
        rate = models_ui.throughput(model)
        if rate is None and not running:
            try:
                with st.spinner("Measuring the model's throughput…"):
                    rate = models_ui.measure_throughput(model)
            except ModelError as e:
                st.error(f"The model failed on test sequences: {e}")
        done_blocks, all_blocks = sketching.cached_queries(plan, model)
        check = refining.trust_check_option(n, q)
        eta = sketching.estimate(model, plan, rate, check)
        m1, m2, m3 = st.columns(3)
        m1.metric("Model queries", f"{plan.num_queries:,}",
                  help=f"{plan.num_train_queries:,} training + {plan.num_test_queries:,} held-out")
        m2.metric("Estimated time", core.format_duration(eta.total_s) if eta.total_s is not None else "—",
                  help="queries not yet cached at the model's measured speed, plus decoding and the trust check")
        m3.metric("Already cached", f"{done_blocks} of {all_blocks} blocks",
                  help="Query blocks of this model and plan in the workspace cache; Start resumes from them.")
        st.caption("Estimated: "
                   + (f"model queries {core.format_duration(eta.query_s)}" if eta.query_s is not None
                      else "model queries unknown (no measured speed)")
                   + f", decoding {core.format_duration(eta.decode_s)} ({eta.basis})"
                   + (f", trust check {core.format_duration(eta.check_s)}" if eta.check_s else "") + ".")
        if plan.num_random_queries:
            st.caption(f"{plan.num_random_queries:,} random sequences for the dense part, "
                       f"{plan.num_qsft_queries:,} designed q-SFT queries for the sparse part.")
        with st.expander("Advanced: the plan's parameters"):
            st.markdown(f"{plan.summary()}.\n\n"
                        f"- **b = {plan.b}**: each group of designed queries sorts the model's terms into "
                        f"q^b = {plan.num_bins:,} bins (more bins separate more terms);\n"
                        f"- **C = {plan.config.num_subsample}** groups, each a different way of sorting;\n"
                        f"- **P = {plan.config.num_repeat}** delay sets per group, to tell a bin holding one term "
                        "from a bin holding several.")
        if done_blocks and done_blocks == all_blocks and not running:
            st.info(f"All {all_blocks} query blocks of this plan are in the workspace cache: Start decodes them "
                    "again without querying the model.")
        elif done_blocks and not running:
            st.info(f"{done_blocks} of {all_blocks} query blocks of this plan are already cached (an earlier run "
                    "was cancelled or interrupted): Start resumes and queries only the rest.")
        try:
            dask_addr = configured_scheduler()
        except ValueError as e:
            st.error(str(e))
            dask_addr = None
        use_dask = False
        if dask_addr:
            portable = bool(getattr(model, "spec", ""))
            use_dask = st.checkbox(
                f"Run the queries on the Dask cluster at {dask_addr}", key="sketch_use_dask", disabled=not portable,
                help="The model travels to the workers as its spec (demo models, ONNX files, servers); "
                     "the time estimate above is for this machine." if portable else
                     "This model cannot be rebuilt on the workers (it has no spec).")
        if st.button("Start sketch", key="sketch_start", type="primary", icon=":material/play_arrow:",
                     disabled=running):
            try:
                sketching.start_sketch(model, config, f"sketch of {state.model_label()} (budget {budget:,})",
                                       dask_address=dask_addr if use_dask else None, trust_check=check, eta=eta)
            except (SketchError, ValueError) as e:
                st.error(str(e))
            else:
                st.rerun()
    sketching.progress_panel("sketch")
    sketching.last_job_message()
    if job is not None and job.status == "done" and job.info.get("saved"):
        st.caption(f"Saved in the workspace: `{job.info['saved']}`")

with tab_load:
    up = st.file_uploader("Sketch file (.npz)", type=["npz"], key="sketch_upload", max_upload_size=500)
    if up is not None and st.session_state.get("sz_last_sketch_upload") != up.file_id:
        try:
            sk_new = FourierSketch.load(up.getvalue(), name=up.name)
        except SketchFileError as e:
            st.error(str(e))
        else:
            st.session_state["sz_last_sketch_upload"] = up.file_id
            state.set_sketch(sk_new, f"file {up.name}")
            st.success(f"Loaded {up.name}: {sk_new.num_coefficients:,} coefficients, n = {sk_new.n}.")
    saved = sorted(sketching.sketches_dir().glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)[:30]
    if saved:
        pick = st.selectbox("Or a sketch saved in the workspace", saved, format_func=lambda p: Path(p).name,
                            key="sketch_saved_pick")
        if st.button("Load this sketch", key="sketch_saved_load"):
            try:
                sk_new = FourierSketch.load(pick)
            except SketchFileError as e:
                st.error(str(e))
            else:
                state.set_sketch(sk_new, f"workspace {Path(pick).name}")
                st.success(f"Loaded {Path(pick).name}.")

sk = state.get_sketch()
st.divider()
st.subheader("The current sketch")
if sk is None:
    st.info("No sketch yet.")
    st.stop()
rep = sk.report or {}
st.markdown(f"**{state.sketch_source()}** · n = {sk.n}, alphabet {sk.alphabet.letters}, "
            f"{sk.num_coefficients:,} terms, average prediction over random sequences {sk.mean:.4g}")
if sk.template is not None:
    st.caption(f"Template `{sk.template.pattern}`: {sk.template.describe()}. The sketch covers the free positions; "
               "explanations, tables and logos use the full 1-based positions.")


def _fmt(v, spec=".4f") -> str:
    if v is None:
        return "—"
    if spec == "nmse":
        return f"{v:.2e}" if 0 < abs(v) < 1e-3 else f"{v:.4f}"
    return format(v, spec)


def _refit_delta(rep) -> str | None:
    if rep.get("r2") is None or rep.get("r2_before_refit") is None:
        return None
    d = rep["r2"] - rep["r2_before_refit"]
    return f"{d:+.4f} by the refit" if abs(d) >= 5e-5 else None


if rep:
    qd = rep.get("queries", {})
    k1, k2, k3, k4 = st.columns(4)
    k1.metric("Held-out R²", _fmt(rep.get("r2")), delta=_refit_delta(rep), delta_color="normal")
    k2.metric("Terms found", f"{sk.num_coefficients:,}",
              help="Fourier coefficients of the sketch (interactions of any order between positions)")
    k3.metric("Model queries", f"{qd.get('train', 0) + qd.get('test', 0):,}",
              help=f"queried now {qd.get('queried', 0):,}, read from the cache {qd.get('cached', 0):,}")
    k4.metric("Time", core.format_duration(rep.get("time", {}).get("total")))
    st.caption("Held-out R²: the share of the model's variation on sequences never used for sketching that the "
               "sketch reproduces (1 = all of it; below ~0.9, check the trust panel below before reading values).")
    with st.expander("Advanced: errors and parameters of the sketch"):
        st.markdown(f"- held-out NMSE (mean squared error ÷ variance of the model's output) "
                    f"{_fmt(rep.get('nmse'), 'nmse')}; before the least-squares refit: R² "
                    f"{_fmt(rep.get('r2_before_refit'))}, NMSE {_fmt(rep.get('nmse_before_refit'), 'nmse')}\n"
                    f"- plan: b = {rep.get('b')}, C = {rep.get('num_subsample')}, P = {rep.get('num_repeat')}\n"
                    f"- noise level the decoder tuned to (σ): {_fmt(rep.get('noise_sd'), '.3g')}")
else:
    st.caption("This sketch has no quality report (it was not sketched from a model here, e.g. an exact "
               "spectrum).")
g1, g2 = st.columns([1, 1])
ho = rep.get("holdout") or {}
with g1:
    if ho.get("y_true"):
        w.plotly(quality_scatter_plotly(ho["y_true"], ho["y_pred"], r2=rep.get("r2")), key="sketch_scatter")
    else:
        st.caption("No held-out predictions to plot.")
with g2:
    w.plotly(orders_plotly(sk.count_by_order(), sk.energy_by_order()), key="sketch_orders")
    t = order_table(sk.count_by_order(), sk.energy_by_order())
    w.dataframe({"order": t["order"], "coefficients": t["coefficients"],
                  "share of energy": [f"{e:.1%}" for e in t["energy_share"]]}, hide_index=True,
                 key="sketch_order_table")
comps = rep.get("components") or []
if comps:
    st.markdown("**What each part of the sketch captured**")
    w.dataframe({"part": [c["component"] for c in comps],
                  "coefficients": [c["coefficients"] for c in comps],
                  "held-out R² up to this part": [_fmt(c.get("heldout_r2")) for c in comps],
                  "energy by order": [", ".join(f"order {k}: {v:.3g}" for k, v in c["energy_by_order"].items()) or "—"
                                      for c in comps]},
                 hide_index=True, key="sketch_components")
    hyb = rep.get("hybrid") or {}
    if hyb and not hyb.get("sparse_kept", True):
        st.caption("The q-SFT part did not improve the fit on validation sequences, so the sketch is the dense "
                   "part alone.")
refining.trust_panel(sk)
sk = state.get_sketch() or sk
st.download_button("Save the sketch (.npz)", sk.to_bytes, file_name="sketch.npz", mime="application/octet-stream",
                   key="sketch_download", on_click="ignore", icon=":material/download:")
