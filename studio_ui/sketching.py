"""The background sketch: start it, watch it (fragments polling the job record), cancel it, adopt its
result into the session, and find what an interrupted run left in the query cache.

The worker thread runs :func:`shapzero_core.sketch.sketch_model` with the persistent workspace query cache
(``<workspace>/cache``), so a sketch cancelled or cut off by an app restart resumes where it stopped when
it is started again with the same model and budget: finished blocks are read back, never re-queried.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import streamlit as st

from shapzero_core import FourierSketch
from shapzero_core.sketch.plan import RANDOM_BLOCK

from . import core, jobs, state

ADOPTED = "sz_job_adopted"


def cache_root() -> Path:
    """``<workspace>/cache``: the sketch query cache (one folder per model and plan)."""
    p = core.workspace_dir() / "cache"
    p.mkdir(parents=True, exist_ok=True)
    return p


def sketches_dir() -> Path:
    """``<workspace>/sketches``: finished sketches, saved automatically."""
    p = core.workspace_dir() / "sketches"
    p.mkdir(parents=True, exist_ok=True)
    return p


def _safe_id(model: Any) -> str | None:
    ident = getattr(model, "identity", None)
    if not isinstance(ident, str) or not ident:
        return None
    return "".join(ch for ch in ident if ch.isalnum())[:16] or "model"  # QueryCache's folder rule


def cached_queries(plan: Any, model: Any) -> tuple[int, int]:
    """``(finished blocks, total blocks incl. the test set)`` already in the workspace cache for this model
    and plan (0 if nothing is cached or the model has no stable identity)."""
    names = _cached_block_names(plan, model)
    return len(names), len(plan.block_names)


def cached_query_count(plan: Any, model: Any) -> int:
    """Model queries of this plan already in the workspace cache (exact: blocks differ in size)."""
    return sum(plan.block_length(nm) for nm in _cached_block_names(plan, model))


def _cached_block_names(plan: Any, model: Any) -> list[str]:
    sid = _safe_id(model)
    if sid is None:
        return []
    manifest = cache_root() / f"{sid}-{plan.hash[:16]}" / "manifest.json"
    try:
        blocks = json.loads(manifest.read_text("utf-8")).get("blocks", {})
    except (OSError, ValueError):
        return []
    known = set(plan.block_names)
    return [nm for nm in blocks if nm in known]


# ------------------------------------------------------------------------------------- time estimates
_TIMINGS_KEEP = 50


def _timings_path() -> Path:
    return core.workspace_dir() / "timings.json"


def _timings() -> list[dict[str, Any]]:
    try:
        rows = json.loads(_timings_path().read_text("utf-8"))
        return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []
    except (OSError, ValueError):
        return []


def record_timing(model: Any, plan: Any, report: dict[str, Any]) -> None:
    """Remember how long this sketch's decode took and how fast the model answered (the next estimates use
    them). Never fails the sketch: a workspace that cannot be written only loses the record."""
    from shapzero_core.sketch.estimate import decode_units

    t = report.get("time") or {}
    q = report.get("queries") or {}
    row = {"method": plan.config.method, "units": decode_units(plan), "decode_s": float(t.get("decode", 0.0)),
           "identity": str(getattr(model, "identity", "") or ""), "queried": int(q.get("queried", 0)),
           "query_s": float(t.get("query", 0.0)), "when": time.time()}
    rows = [*_timings(), row][-_TIMINGS_KEEP:]
    path = _timings_path()
    try:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(rows), "utf-8")
        tmp.replace(path)
    except OSError:
        pass


def measured_rate(model: Any) -> float | None:
    """Queries per second of this model's last sketch that queried at least 10,000 (None if none)."""
    ident = str(getattr(model, "identity", "") or "")
    if not ident:
        return None
    for r in reversed(_timings()):
        if r.get("identity") == ident and r.get("queried", 0) >= 10_000 and r.get("query_s", 0) > 0:
            return float(r["queried"]) / float(r["query_s"])
    return None


def estimate(model: Any, plan: Any, probe_rate: float | None, trust_check: bool) -> Any:
    """:class:`~shapzero_core.sketch.estimate.SketchTimeEstimate` of sketching ``plan`` now: queries not yet
    cached at the model's measured rate (of its last sketch, else the probe), decode from earlier runs of the
    same method on this machine (of this model if there are any: decoding time depends on the model), and the
    trust check's calls."""
    from shapzero_core.refine import expected_calls
    from shapzero_core.sketch.estimate import estimate_sketch_time

    calls = expected_calls(plan.n, plan.q, TRUST_SEQS, TRUST_CALLS) if trust_check else 0
    rows = [r for r in _timings() if r.get("method") == plan.config.method and r.get("units") and r.get("decode_s")]
    ident = str(getattr(model, "identity", "") or "")
    same = [r for r in rows if ident and r.get("identity") == ident]  # decoding depends on the model
    history = [(float(r["units"]), float(r["decode_s"])) for r in (same or rows)]
    return estimate_sketch_time(plan, measured_rate(model) or probe_rate,
                                cached_queries=cached_query_count(plan, model), check_calls=calls,
                                history=history, history_of="this model" if same else "other models")


def cached_runs(model: Any, limit: int = 5) -> list[dict[str, Any]]:
    """Unfinished runs of this model in the workspace cache, newest first: ``plan`` (the plan's numbers:
    ``num_train_queries``, ``num_test_queries``, ``seed``, ``b``...), ``done`` and ``total`` blocks."""
    sid = _safe_id(model)
    if sid is None:
        return []
    out = []
    for d in sorted(cache_root().glob(f"{sid}-*"), key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            m = json.loads((d / "manifest.json").read_text("utf-8"))
            plan = dict(m["plan"])
            rand = int(plan.get("random_queries", 0))
            total = (int(plan["num_subsample"]) * int(plan["num_repeat"]) + -(-rand // RANDOM_BLOCK)
                     + (1 if plan["num_test_queries"] else 0))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        done = len(m.get("blocks", {}))
        if done < total:
            out.append({"plan": plan, "done": done, "total": total, "dir": str(d)})
        if len(out) >= limit:
            break
    return out


def _slug(text: str) -> str:
    s = "".join(ch if ch.isalnum() else "_" for ch in text).strip("_")
    return "_".join(filter(None, s.split("_")))[:60] or "sketch"


def start_sketch(model: Any, config: Any, label: str, dask_address: str | None = None,
                 trust_check: bool = True, eta: Any = None) -> jobs.JobRecord:
    """Start sketching ``model`` with ``config`` in a worker thread; the session remembers the job.

    With ``dask_address`` the query blocks run on that Dask scheduler's workers (the model travels as its
    ``spec``); otherwise in the worker thread itself. With ``trust_check`` the finished sketch is checked
    (:func:`shapzero_core.refine.check_sketch`, progress stage ``refine``) and the check goes into its
    report; a check that fails or is cancelled leaves the sketch without one (``info["check"]`` says why)."""
    from shapzero_core.sketch import plan_sketch, sketch_model

    n = int(model.n)
    plan = plan_sketch(n, model.alphabet.q, config)
    root = cache_root()
    out_dir = sketches_dir()

    def work(rec: jobs.JobRecord) -> FourierSketch:
        kw = {"n": n, "alphabet": model.alphabet, "config": config, "cache_dir": str(root),
              "progress": rec.progress, "cancel": rec.cancel_token}
        if dask_address:
            from argparse import Namespace

            from shapzero_core.dask_executor import dask_executor_from_options

            rec.progress("query", 0, plan.num_queries, f"connecting to the Dask scheduler {dask_address}")
            with dask_executor_from_options(Namespace(dask_scheduler=dask_address), timeout=20) as ex:
                sk = sketch_model(model, executor=ex, **kw)
        else:
            sk = sketch_model(model, **kw)
        record_timing(model, plan, dict(sk.report or {}))
        if trust_check:
            sk = _checked(model, sk, rec)
        sk = sk.with_metadata(model={"name": getattr(model, "name", ""), "identity": getattr(model, "identity", ""),
                                     "spec": _spec_text(model)})
        path = out_dir / f"{_slug(getattr(model, 'name', 'model'))}_b{config.b}_{time.strftime('%Y%m%d-%H%M%S')}.npz"
        try:
            sk.save(path)
            rec.info["saved"] = str(path)
        except OSError as e:  # a full disk must not lose the result
            rec.info["save_error"] = str(e)
        return sk

    if eta is None:
        from . import models_ui

        eta = estimate(model, plan, models_ui.throughput(model), trust_check)
    rec = jobs.start_job(label, work, info={"plan": plan.describe(), "summary": plan.summary(),
                                            "queries": plan.num_queries, "dask": dask_address,
                                            "estimate": {"query_s": eta.query_s, "decode_s": eta.decode_s,
                                                         "check_s": eta.check_s, "total_s": eta.total_s}})
    rec.progress("query", 0, plan.num_queries, "starting")
    st.session_state[state.JOB] = rec.id
    return rec


def _checked(model: Any, sk: FourierSketch, rec: jobs.JobRecord) -> FourierSketch:
    """``sk`` with its trust check, run in the job (a failed or cancelled check keeps the sketch)."""
    from shapzero_core import Cancelled
    from shapzero_core.errors import ModelError
    from shapzero_core.refine import check_sketch, with_trust

    try:
        rep = check_sketch(model, sk, n_seqs=TRUST_SEQS, calls_per_seq=TRUST_CALLS, progress=rec.progress,
                           cancel=rec.cancel_token)
    except Cancelled:
        rec.info["check"] = "the trust check was cancelled; the sketch is kept without it"
        return sk
    except (ModelError, ValueError) as e:
        rec.info["check"] = f"the trust check failed: {e}"
        return sk
    rec.info["check"] = rep.verdict
    return with_trust(sk, rep)


#: The trust check of the app: random sequences and model calls per sequence.
TRUST_SEQS = 16
TRUST_CALLS = 4096


def _spec_text(model: Any) -> str:
    spec = getattr(model, "spec", "")
    return spec if isinstance(spec, str) and len(spec) < 500 else ""


def current_job() -> jobs.JobRecord | None:
    """This session's sketch job (running or last)."""
    return jobs.get_job(st.session_state.get(state.JOB))


def adopt_finished_job() -> None:
    """If this session's job finished since the last run, use its sketch (once)."""
    job = current_job()
    if job is None or job.status != "done" or st.session_state.get(ADOPTED) == job.id:
        return
    st.session_state[ADOPTED] = job.id
    state.offer_sketch(job.result, job.label)  # set aside if another model was chosen meanwhile


def sidebar_progress() -> None:
    """A compact progress line in the sidebar while this session's sketch runs."""
    job = current_job()
    if job is None or job.finished_:
        return

    @st.fragment(run_every=1.0)
    def _poll() -> None:
        s = job.snapshot()
        if s["status"] != "running":
            st.rerun()
        frac = s["query_done"] / s["query_total"] if s["query_total"] else 0.0
        st.progress(min(frac, 1.0), text=f"Sketching: {s['stage']} · {frac:.0%}")

    _poll()


def draw_progress(s: dict[str, Any]) -> None:
    """Queries done, rate, ETA and stage of a job snapshot."""
    qd, qt = s["query_done"], s["query_total"]
    frac = qd / qt if qt else 0.0
    st.progress(min(frac, 1.0), text=f"{s['label']}: {s['stage']} — {s['message']}")
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Queries done", f"{core.format_count(qd)} / {core.format_count(qt)}", help=f"{qd:,} of {qt:,}")
    c2.metric("Rate", f"{core.format_count(s['rate'])}/s" if s["rate"] else "—")
    left, how = time_left(s)
    c3.metric("Time left", core.format_duration(left) if left is not None else "—", help=how)
    c4.metric("Elapsed", core.format_duration(s["elapsed"]))


def time_left(s: dict[str, Any]) -> tuple[float | None, str]:
    """Seconds left of a running sketch job snapshot (every stage: queries at the measured rate, then the
    decode estimate minus its time so far, then the trust check), and how it was computed."""
    est = s["info"].get("estimate") or {}
    decode, check = est.get("decode_s"), est.get("check_s") or 0.0
    stage = s["stage"]
    if stage == "refine":  # the trust check: its own model calls at their measured rate
        return s["eta"], "the trust check's remaining model calls at their measured rate"
    if stage in ("query", "starting"):
        q = s["eta"] if s["eta"] is not None else est.get("query_s")
        if q is None or decode is None:
            return None, "not known yet"
        return q + decode + check, "queries left at the measured rate + estimated decoding + trust check"
    if decode is None:
        return None, "not known"
    spent = s.get("compute_elapsed") or 0.0
    if spent > decode:
        return None, f"decoding takes longer than estimated ({core.format_duration(decode)})"
    return decode - spent + check, "estimated decoding left + trust check"


def progress_panel(key: str) -> None:
    """Live progress of this session's job with a Cancel button (a fragment polling every 0.5 s)."""
    job = current_job()
    if job is None or job.finished_:
        return

    @st.fragment(run_every=0.5)
    def _panel() -> None:
        s = job.snapshot()
        if s["status"] != "running":
            st.rerun()
        draw_progress(s)
        if s["cancel_requested"]:
            st.caption("Cancelling at the next check point… finished query blocks stay cached.")
        else:
            st.button("Cancel", key=f"{key}_cancel", icon=":material/stop:", on_click=job.cancel)

    _panel()


def last_job_message() -> None:
    """How this session's last job ended (cancelled / failed), if it did not succeed."""
    job = current_job()
    if job is None or not job.finished_:
        return
    s = job.snapshot()
    if s["status"] == "cancelled":
        st.warning(f"The sketch was cancelled after {s['query_done']:,} of {s['query_total']:,} queries. "
                   "Finished query blocks are cached: start it again with the same budget to resume.")
    elif s["status"] == "failed":
        st.error(f"The sketch failed: {s['error']}")
