"""Trust every value: the trust check on the Sketch page, and "Refine with the model" on the Logos page.

Both run in background jobs like the sketch (:mod:`studio_ui.jobs`: a worker thread, a fragment polling the
record, a Cancel button). Refined values are kept in the session per (sketch, sequences, model) and drawn
beside the sketch's: the refined logo of a sequence has whiskers of +-2 standard errors; the sketch's own
logo has whiskers of +-2 times the trust check's calibrated per-position error, when the sketch has one.

Widget keys: Sketch page ``sketch_trust_start``, ``sketch_trust_cancel``, chart ``sketch_trust_chart``;
Logos page radio ``logo_refine_scope``, number ``logo_refine_calls``, buttons ``logo_refine_start`` and
``logo_refine_cancel``, chart ``logo_refined_chart`` (title "Refined SHAP logo of <id>"), table
``logo_refined_table``, download ``logo_refined_download``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from shapzero_core import FourierSketch
from shapzero_core.figures import logo_plotly, saliency_matrix
from shapzero_core.refine import MIN_PAIRS, expected_calls, minimum_calls, trust_info

from . import cache, core, jobs, models_ui, sketching, state
from . import widgets as w

MAX_REFINE_SEQS = 2000
DEFAULT_CALLS = 2048
_ADOPTED = "sz_refine_adopted"
_TRUST_ADOPTED = "sz_trust_adopted"


# ---------------------------------------------------------------------------------------------- model
def model_for(sketch: FourierSketch) -> tuple[Any | None, str]:
    """The session's model if it can refine this sketch's values, else ``(None, why not)``; a model that
    fits but is not the one the sketch came from is returned with a warning text."""
    model = state.get_model()
    if model is None:
        return None, "Load the model on the Model page to refine values with it (the sketch alone needs none)."
    n, letters = getattr(model, "n", None), getattr(getattr(model, "alphabet", None), "letters", None)
    if n != sketch.n or letters != sketch.alphabet.letters:
        return None, (f"The loaded model takes {n} letters of {letters}; the sketch explains {sketch.n} letters of "
                      f"{sketch.alphabet.letters}. Load the model this sketch was made from.")
    made_from = None
    for m in (sketch.metadata.get("model"), (sketch.report or {}).get("model")):
        if isinstance(m, dict) and m.get("identity"):
            made_from = m["identity"]
            break
    ident = getattr(model, "identity", None)
    if made_from and ident and made_from != ident:
        return model, ("The loaded model is not the one this sketch was made from: refined values explain the "
                       "loaded model.")
    return model, ""


def _call_text(calls: int, model: Any) -> str:
    rate = models_ui.throughput(model)
    return f" (about {core.format_duration(calls / rate)} at {rate:,.0f} calls/s)" if rate else ""


# ---------------------------------------------------------------------------------------------- trust check
def _trust_job() -> jobs.JobRecord | None:
    return jobs.get_job(st.session_state.get(state.TRUST_JOB))


def adopt_trust() -> None:
    """If this session's trust-check job finished, put its result into the session's sketch (once)."""
    job = _trust_job()
    if job is None or job.status != "done" or st.session_state.get(_TRUST_ADOPTED) == job.id:
        return
    st.session_state[_TRUST_ADOPTED] = job.id
    sk = state.get_sketch()
    if sk is not None and core.sketch_key(sk) == job.info.get("skey"):
        from shapzero_core.refine import with_trust

        state.set_sketch(with_trust(sk, job.result), state.sketch_source())


def start_trust_check(model: Any, sketch: FourierSketch) -> jobs.JobRecord:
    """Run the trust check of ``sketch`` with ``model`` in a worker thread."""
    from shapzero_core.refine import check_sketch

    def work(rec: jobs.JobRecord) -> Any:
        return check_sketch(model, sketch, n_seqs=sketching.TRUST_SEQS, calls_per_seq=sketching.TRUST_CALLS,
                            progress=rec.progress, cancel=rec.cancel_token)

    total = expected_calls(sketch.n, sketch.q, sketching.TRUST_SEQS, sketching.TRUST_CALLS)
    rec = jobs.start_job("trust check", work, info={"skey": core.sketch_key(sketch)})
    rec.progress("refine", 0, total, "starting")
    st.session_state[state.TRUST_JOB] = rec.id
    return rec


def _job_panel(job: jobs.JobRecord, cancel_key: str, what: str) -> None:
    @st.fragment(run_every=0.5)
    def _panel() -> None:
        s = job.snapshot()
        if s["status"] != "running":
            st.rerun()
        sketching.draw_progress(s)
        if s["cancel_requested"]:
            st.caption(f"Cancelling {what} at the next batch of model calls…")
        else:
            st.button("Cancel", key=cancel_key, icon=":material/stop:", on_click=job.cancel)

    _panel()


def trust_panel(sk: FourierSketch) -> None:
    """The Sketch page's trust check: verdict, errors, per-position error bars; or a button to run it."""
    adopt_trust()
    sk = state.get_sketch() or sk
    st.subheader("Trust check")
    info = trust_info(sk)
    job = _trust_job()
    if job is not None and not job.finished_:
        _job_panel(job, "sketch_trust_cancel", "the trust check")
        return
    if job is not None and job.status in ("failed", "cancelled"):
        st.warning(f"The trust check was {job.status}" + (f": {job.error}" if job.error else "."))
    if info is None:
        st.caption(f"The trust check refines {sketching.TRUST_SEQS} random sequences with the model "
                   f"({sketching.TRUST_CALLS:,} model calls each) and measures how far the sketch's SHAP values "
                   "are from them; its per-position error becomes the error bars of sketch-only values.")
        model, why = model_for(sk)
        if model is None:
            st.info(f"This sketch has no trust check. {why}")
            return
        if why:
            st.warning(why)
        total = expected_calls(sk.n, sk.q, sketching.TRUST_SEQS, sketching.TRUST_CALLS)
        if st.button(f"Run the trust check (about {total:,} model calls{_call_text(total, model)})",
                     key="sketch_trust_start", icon=":material/verified:"):
            start_trust_check(model, sk)
            st.rerun()
        return
    level = info.get("level")
    if level == "trustworthy":
        st.success(f"Trust check: {info.get('verdict')}", icon=":material/verified:")
    else:  # a finding about the sketch, not an error of the app
        st.warning(f"Trust check: {info.get('verdict')}",
                   icon=":material/warning:" if level == "approximate" else ":material/report:")
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Est. relative error", _num(info.get("median_rel_l2")),
              help="Median over the random sequences of the de-biased relative L2 error of the sketch's SHAP "
                   "values against values refined with the model (the refined values' own noise subtracted).")
    c2.metric("Noise floor", _num(info.get("median_noise_floor")),
              help="The refined values' own relative error: smaller sketch errors are not resolved.")
    c3.metric("Pearson r", _num(info.get("median_pearson"), ".3f"),
              help="Median per-sequence correlation of the sketch's values with the refined ones.")
    c4.metric("Model calls", core.format_count(info.get("model_calls")),
              help=f"{info.get('n_seqs')} random sequences × about {info.get('calls_per_seq'):,} calls")
    pos = info.get("position_rmse") or []
    if pos:
        import plotly.graph_objects as go

        from shapzero_core.figures import plotly_template

        fig = go.Figure(go.Bar(x=list(range(1, len(pos) + 1)), y=[v or 0 for v in pos], marker_color="#555555",
                               hovertemplate="position %{x}<br>RMS error %{y:.3g}<extra></extra>"))
        fig.update_layout(template=plotly_template(), height=220, title={"text": "Error of the sketch's SHAP "
                          "value by position (the error bars of sketch-only values)"},
                          xaxis={"title": {"text": "position"}}, yaxis={"title": {"text": "RMS error"}})
        w.plotly(fig, key="sketch_trust_chart")
    st.caption(f"Thresholds: trustworthy ≤ {info.get('thresholds', {}).get('trustworthy', 0.1)}, approximate ≤ "
               f"{info.get('thresholds', {}).get('approximate', 0.5)} (median de-biased relative L2 error). The "
               "per-position error is a calibrated typical error over random sequences, not a guarantee for one "
               "value: refine the sequences you report (Logos page).")


def trust_check_option(n: int, q: int) -> bool:
    """The Sketch page's checkbox: run the trust check after the sketch (its model calls stated)."""
    total = expected_calls(n, q, sketching.TRUST_SEQS, sketching.TRUST_CALLS)
    return st.checkbox(f"Trust check after sketching (about {total:,} more model calls; far fewer for an exact "
                       "sketch)", value=True, key="sketch_trust_check",
                       help=f"Refines {sketching.TRUST_SEQS} random sequences with the model and measures how far "
                            "the sketch's SHAP values are from them; the verdict and the sketch-only error bars go "
                            "into the sketch's report.")


def _num(v: Any, spec: str = ".3g") -> str:
    return "—" if v is None else format(float(v), spec)


# ---------------------------------------------------------------------------------------------- refine
def _store_key(ctx: cache.Ctx, model: Any) -> tuple[str, str, str]:
    return (ctx.skey, ctx.qkey, str(getattr(model, "identity", "") or id(model)))


def refined_rows(ctx: cache.Ctx) -> dict[int, dict[str, Any]]:
    """Refined values of this session's sketch, sequences and model so far: row -> ``values``, ``stderr``,
    ``calls`` (empty if none)."""
    store = st.session_state.get(state.REFINED)
    model = state.get_model()
    if not store or model is None or store.get("key") != _store_key(ctx, model):
        return {}
    return store["rows"]


def _refine_job() -> jobs.JobRecord | None:
    return jobs.get_job(st.session_state.get(state.REFINE_JOB))


def adopt_refined(ctx: cache.Ctx) -> bool:
    """If this session's refine job finished, keep its values (once). True if values were adopted now."""
    job = _refine_job()
    if job is None or job.status != "done" or st.session_state.get(_ADOPTED) == job.id:
        return False
    st.session_state[_ADOPTED] = job.id
    model = state.get_model()
    key = tuple(job.info.get("key", ()))
    if model is None or key != _store_key(ctx, model):
        return False
    store = st.session_state.get(state.REFINED)
    if not store or store.get("key") != key:
        store = {"key": key, "rows": {}}
    r = job.result
    tpl = ctx.sketch.template
    values, stderr = (tpl.to_full(r.values), tpl.to_full(r.stderr)) if tpl is not None else (r.values, r.stderr)
    for j, row in enumerate(job.info["rows"]):
        store["rows"][int(row)] = {"values": values[j], "stderr": stderr[j], "calls": int(r.calls_per_seq[j]),
                                   "flat": int(r.no_variation[j].sum()) if r.no_variation is not None else 0}
    st.session_state[state.REFINED] = store
    return True


def start_refine(ctx: cache.Ctx, model: Any, rows: np.ndarray, calls_per_seq: int) -> jobs.JobRecord:
    """Refine the sequences at ``rows`` with ``model`` in a worker thread."""
    from shapzero_core.refine import refine_shap

    sketch = ctx.sketch
    X = np.asarray(ctx.seqs.X)[rows]
    if sketch.template is not None:  # the sketch and the (templated) model work on the free positions
        X = sketch.template.restrict(X, check=False)

    def work(rec: jobs.JobRecord) -> Any:
        return refine_shap(model, sketch, X, calls_per_seq=calls_per_seq, progress=rec.progress,
                           cancel=rec.cancel_token)

    total = expected_calls(sketch.n, sketch.q, len(rows), calls_per_seq)
    label = f"refining {len(rows):,} sequence{'s' if len(rows) != 1 else ''}"
    rec = jobs.start_job(label, work, info={"rows": [int(r) for r in rows], "key": list(_store_key(ctx, model))})
    rec.progress("refine", 0, total, "starting")
    st.session_state[state.REFINE_JOB] = rec.id
    return rec


def refine_controls(ctx: cache.Ctx, row: int, mask: np.ndarray | None, what: str) -> None:
    """"Refine with the model" for the selected sequence or the filtered subset: the model calls it makes
    (stated before it runs), start, progress, cancel."""
    if adopt_refined(ctx):
        # the job finished after this run drew the sequence's logos (a fast job, or a busy machine): draw them
        # again with its values, or nothing would trigger another run
        st.rerun()
    sk = ctx.sketch
    st.subheader("Refine with the model")
    st.caption("Refined values are unbiased estimates of the model's own SHAP values (the sketch serves as a "
               "control variate: a good sketch makes them cheap), each with a standard error.")
    job = _refine_job()
    if job is not None and not job.finished_:
        _job_panel(job, "logo_refine_cancel", "refining")
        return
    if job is not None and job.status in ("failed", "cancelled"):  # until the next refine starts
        st.warning(f"Refining was {job.status}" + (f": {job.error}" if job.error else "."))
    model, why = model_for(sk)
    if model is None:
        st.info(why)
        return
    if why:
        st.warning(why)
    sub = np.flatnonzero(mask) if mask is not None else np.arange(ctx.seqs.X.shape[0])
    seq_id = ctx.seqs.ids[row]
    options = ["selected", "subset"]
    labels = {"selected": f"The selected sequence ({seq_id})", "subset": f"The {len(sub):,} sequences below ({what})"}
    c1, c2 = st.columns([2, 1])
    scope = c1.radio("Refine", options, format_func=labels.get, key="logo_refine_scope", horizontal=True)
    lo = minimum_calls(sk.n, sk.q)
    calls = int(c2.number_input("Model calls per sequence", min_value=lo, max_value=1_000_000,
                                value=max(DEFAULT_CALLS, lo), step=512, key="logo_refine_calls",
                                help=f"More calls, smaller error bars (they shrink as 1/√calls). At least {lo:,}: "
                                     f"{MIN_PAIRS} antithetic walk pairs for a reliable standard error."))
    rows = np.array([row]) if scope == "selected" else sub
    if len(rows) > MAX_REFINE_SEQS:
        st.warning(f"{len(rows):,} sequences is more than the app refines at once ({MAX_REFINE_SEQS:,}): narrow the "
                   "subset, or use the command line (`shapzero explain --refine`).")
        return
    total = expected_calls(sk.n, sk.q, len(rows), calls)
    st.metric("Model calls to refine", f"{total:,}",
              help=f"{len(rows):,} sequence(s) × about {total // max(len(rows), 1):,} calls (the exact count depends "
                   "on the random walks: steps that change nothing are not queried; a sequence where the sketch "
                   "is exact stops after a check of 4 walk pairs)")
    st.caption(f"About **{total:,} model calls**{_call_text(total, model)}.")
    if st.button("Refine with the model", key="logo_refine_start", type="primary", icon=":material/model_training:"):
        start_refine(ctx, model, rows, calls)
        st.rerun()
    done = refined_rows(ctx)
    if done:
        n_calls = sum(v["calls"] for v in done.values())
        st.caption(f"Refined so far: {len(done):,} sequence(s), {n_calls:,} model calls. Select a refined sequence "
                   "to see its refined logo beside the sketch's.")
        st.download_button("Download the refined values (.csv)", lambda: refined_table(ctx, done).to_csv(index=False),
                           file_name="refined_shap.csv", mime="text/csv", key="logo_refined_download",
                           on_click="ignore", icon=":material/download:")


def refined_table(ctx: cache.Ctx, done: dict[int, dict[str, Any]]) -> pd.DataFrame:
    """Tidy table of refined values: ``seq_id, sequence, position, letter, shap, stderr, sketch_shap,
    model_calls`` (1-based positions)."""
    ex = cache.explanation(ctx)
    letters = ctx.sketch.alphabet.letters
    recs = []
    for row in sorted(done):
        v = done[row]
        seq = ex.sequences[row]
        for i in range(ex.n):
            recs.append((ex.ids[row], seq, i + 1, letters[ex.X[row, i]], float(v["values"][i]), float(v["stderr"][i]),
                         float(ex.shap[row, i]), v["calls"]))
    return pd.DataFrame(recs, columns=["seq_id", "sequence", "position", "letter", "shap", "stderr", "sketch_shap",
                                       "model_calls"])


def sequence_logos(ctx: cache.Ctx, ex: Any, row: int, same_range: tuple[float, float] | None) -> None:
    """The selected sequence's sketch logo (whiskers: the trust check's error bars, if any) and, when it was
    refined, its refined logo beside it (whiskers: +-2 standard errors) with a table of both."""
    adopt_refined(ctx)  # a refine job that finished since the last run (its fragment reran the page)
    seq = ex.sequences[row]
    M = saliency_matrix(ex.shap[row], seq, ex.alphabet)
    bars = 2 * ex.stderr[row] if ex.stderr is not None else None
    ref = refined_rows(ctx).get(row)
    figs = [logo_plotly(M, title=f"SHAP logo of {ex.ids[row]}", ylabel=state.in_units("SHAP value"), height=300,
                        errors=bars, fixed=ex.fixed)]
    if ref is not None:
        R = saliency_matrix(ref["values"], seq, ex.alphabet)
        figs.append(logo_plotly(R, title=f"Refined SHAP logo of {ex.ids[row]}", ylabel=state.in_units("SHAP value"),
                                height=300, errors=2 * ref["stderr"], fixed=ex.fixed))
    rng = same_range
    if len(figs) == 2 or rng is not None:  # the two logos of one sequence share their y axis
        lo = min(f.layout.yaxis.range[0] for f in figs)
        hi = max(f.layout.yaxis.range[1] for f in figs)
        if rng is not None:
            lo, hi = min(lo, rng[0]), max(hi, rng[1])
        for f in figs:
            f.update_yaxes(range=[lo, hi])
    if ref is None:
        w.plotly(figs[0], key="logo_one_chart")
        if bars is None:
            st.caption("This sketch has no trust check, so its values have no error bars yet (Sketch page); refine "
                       "the sequence for its own.")
        elif not np.any(bars > 1e-9 * max(float(np.abs(ex.shap[row]).max()), 1e-300)):
            st.caption("No whiskers: the trust check found no error at any position (the sketch is exact for "
                       "this model).")
        else:
            st.caption("Whiskers: ±2 × the trust check's error at each position (a calibrated typical error of "
                       "sketch-only values).")
        return
    if ex.n > 15:  # half-width logos: fewer position ticks
        step = 5 if ex.n <= 60 else 10
        for f in figs:
            f.update_xaxes(tickvals=[1, *range(step, ex.n + 1, step)])
    c1, c2 = st.columns(2)
    with c1:
        w.plotly(figs[0], key="logo_one_chart")
    with c2:
        w.plotly(figs[1], key="logo_refined_chart")
    flat = ref.get("flat", 0)
    st.caption(f"Refined with {ref['calls']:,} model calls; whiskers ±2 standard errors"
               + (f" ({flat} value(s) never changed in any walk: stderr 0 — the residual of the sketch does not "
                  "depend on them, or an effect rarer than the walks could see)" if flat else "")
               + ". Left: the sketch's values" + (" (whiskers ±2 × its trust-check error)" if bars is not None else "")
               + ".")
    tab = pd.DataFrame({
        "position": np.arange(1, ex.n + 1), "letter": list(seq), "sketch SHAP": ex.shap[row],
        **({"sketch stderr": ex.stderr[row]} if ex.stderr is not None else {}),
        "refined SHAP": ref["values"], "stderr": ref["stderr"],
    })
    w.dataframe(tab, hide_index=True, key="logo_refined_table",
                 column_config={c: st.column_config.NumberColumn(format="%.4g") for c in tab.columns[2:]})
