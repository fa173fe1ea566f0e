"""``sketch_model``: query a model block by block (cached, resumable, cancellable), then decode its sparse
Fourier transform, tune the noise threshold on held-out sequences and refit by least squares.

Phases and their progress stages:

``query``   every training block and the test set, chunk by chunk through the executor; each finished block
            is cached (see :mod:`shapzero_core.sketch.cache`) before the next progress event. A model whose
            answers can go out of step (an external program: it has ``confirm_in_step``) confirms them first,
            when each block finishes (in the task itself on other processes); a block it cannot confirm (a
            protocol error, a crash mid-batch) is not cached and is queried again.
``decode``  the b-dimensional FFTs of all blocks.
``tune``    one peeling (+ refit) per candidate noise level, scored by NMSE on the *validation* half of the
            held-out sequences (skipped when ``noise_sd`` is given).
``refit``   least squares of the chosen support on all training samples.
``done``    the report is complete; R^2 and NMSE are measured on the *other* half of the held-out
            sequences, never used for any choice (all of them when nothing was tuned).
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as _dt
import hashlib
import platform
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..alphabet import DNA, Alphabet, get_alphabet
from ..errors import ModelError
from ..executors import DEFAULT_BATCH_SIZE
from ..fourier import FourierSketch
from ..progress import CancelToken, ProgressCallback, null_progress
from .cache import QueryCache
from .decode import subsampled_transforms
from .hybrid import decode_hybrid
from .plan import QueryChunk, SketchConfig, SketchPlan, plan_for_budget, plan_sketch
from .tuning import Decoder, component, default_noise, nmse, predict_terms, r2, tune

__all__ = ["evaluate_chunk", "model_identity", "run_chunks", "sketch_model", "task_window"]

_FINGERPRINT_SIZE = 16
_HOLDOUT_POINTS = 500


class _BadOutput(ModelError):
    def __init__(self, message: str, row: int | None = None) -> None:
        super().__init__(message)
        self.row = row


def evaluate_chunk(model: Callable[[np.ndarray], Any], chunk: QueryChunk, confirm: bool = False) -> np.ndarray:
    """Evaluate one chunk of queries (an executor task; module level so that it pickles by name).

    Parameters
    ----------
    model : callable
        ``int8 (N, n) -> float (N,)``.
    chunk : QueryChunk
    confirm : bool
        Call ``model.confirm_in_step()`` (if it has one) after the chunk, so that its answers are known to be
        in step when they return (tasks on other processes, where the sketch cannot confirm them later).

    Returns
    -------
    numpy.ndarray
        ``float64 (stop - start,)``.

    Raises
    ------
    ModelError
        If the model raises, returns the wrong shape, or NaN / inf.
    """
    X = chunk.sequences()
    N = X.shape[0]
    try:
        y = model(X)
        if confirm and callable(getattr(model, "confirm_in_step", None)):
            model.confirm_in_step()
    except ModelError:
        raise
    except Exception as e:
        raise ModelError(f"the model raised {type(e).__name__}: {e}") from e
    try:
        y = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise _BadOutput(f"the model returned something that is not numbers ({type(y).__name__}: {e})") from e
    if y.shape not in ((N,), (N, 1)):
        raise _BadOutput(f"the model returned shape {y.shape} for {N} sequences (expected ({N},))")
    y = y.reshape(N)
    bad = ~np.isfinite(y)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise _BadOutput(f"the model returned {y[first]} (NaN/inf) for {int(bad.sum())} of {N} sequences", row=first)
    return y


def model_identity(model: Any, n: int, alphabet: Alphabet) -> tuple[str, int]:
    """A stable identity for the query cache, and the model queries it cost.

    Uses ``model.identity`` when the model has one (adapters of :mod:`shapzero_core.models` do). Otherwise
    the identity is a fingerprint: sha256 of the callable's qualified name and its outputs on 16 fixed
    random sequences, so a changed model never reuses a cache.
    """
    ident = getattr(model, "identity", None)
    if isinstance(ident, str) and ident:
        return ident, 0
    rng = np.random.default_rng(20241025)
    X = rng.integers(0, alphabet.q, size=(_FINGERPRINT_SIZE, n), dtype=np.int8)
    y = evaluate_chunk(model, QueryChunk("fingerprint", 0, _FINGERPRINT_SIZE, alphabet.q, 1, X=X))
    name = f"{getattr(model, '__module__', '')}:{getattr(model, '__qualname__', type(model).__qualname__)}"
    h = hashlib.sha256(name.encode() + np.round(y, 10).tobytes() + alphabet.letters.encode())
    return h.hexdigest(), _FINGERPRINT_SIZE


# ================================================================================================ queries
def run_chunks(
    model: Any,
    chunks: Iterable[QueryChunk],
    executor: cf.Executor | None,
    window: int,
    on_result: Callable[[QueryChunk, np.ndarray], None],
    cancel: CancelToken | None,
    *,
    locate: Callable[[ModelError, QueryChunk], ModelError] | None = None,
    what: str = "the sketch",
    confirm_each: bool = False,
) -> None:
    """Evaluate chunks inline or through ``executor`` with at most ``window`` tasks in flight.

    The one path every model query takes (the sketch's blocks, :func:`shapzero_core.refine.refine_shap`'s
    walks): ``on_result(chunk, values)`` is called in this thread for every finished chunk; ``cancel`` is
    checked between chunks (raises :class:`~shapzero_core.progress.Cancelled` naming ``what``); a
    :class:`ModelError` of a chunk is re-raised as ``locate(error, chunk)`` (default: names the query block
    and rows). On a cancel, chunks already running finish; on a model error, every chunk already submitted
    (at most ``window``) finishes; their results still reach ``on_result`` before the exception propagates. ``confirm_each``: every task confirms its answers
    (``evaluate_chunk(..., confirm=True)``), for models that run in other processes.
    """
    locate = locate or _located
    extra = {"confirm": True} if confirm_each else {}
    if executor is None:
        for ch in chunks:
            if cancel is not None:
                cancel.raise_if_cancelled(what)
            try:
                y = evaluate_chunk(model, ch)
            except ModelError as e:
                raise locate(e, ch) from e
            on_result(ch, y)
        return
    it = iter(chunks)
    pending: dict[cf.Future, QueryChunk] = {}

    def fill() -> None:
        while len(pending) < window:
            ch = next(it, None)
            if ch is None:
                return
            pending[executor.submit(evaluate_chunk, model, ch, **extra)] = ch

    try:
        fill()
        while pending:
            if cancel is not None:
                cancel.raise_if_cancelled(what)
            done, _ = cf.wait(list(pending), timeout=0.1, return_when=cf.FIRST_COMPLETED)
            for f in done:
                ch = pending.pop(f)
                try:
                    y = f.result()
                except ModelError as e:
                    raise locate(e, ch) from e
                on_result(ch, y)
            fill()
    except BaseException as exc:
        if not isinstance(exc, ModelError):  # a cancel / interrupt: tasks not started yet are dropped
            for f in pending:
                f.cancel()
        # a model error: the (at most ``window``) tasks already submitted still run, so what the cache keeps
        # does not depend on which of them a worker had started; tasks already running finish their batch
        done, _ = cf.wait(list(pending))
        for f in done:  # keep what they queried: a block they complete is cached before the error propagates
            if not f.cancelled() and f.exception() is None:
                try:
                    on_result(pending[f], f.result())
                except ModelError:  # a block the model cannot confirm is not cached: it is queried again
                    pass
        raise


def runs_in_process(executor: cf.Executor | None) -> bool:
    """Whether tasks call the very model object given (inline, thread pools) rather than a copy elsewhere."""
    return executor is None or isinstance(executor, cf.ThreadPoolExecutor) or getattr(executor, "kind", None) == "thread"


def task_window(executor: cf.Executor | None) -> int:
    """Tasks in flight for :func:`run_chunks`: twice the workers (LocalExecutor / DaskExecutor:
    ``max_workers``; concurrent.futures pools: ``_max_workers``), so workers never wait and a cancel waits
    for at most one batch per worker."""
    workers = getattr(executor, "max_workers", None) or getattr(executor, "_max_workers", None) or 1
    return max(2, 2 * int(workers))


def _located(e: ModelError, ch: QueryChunk) -> ModelError:
    where = "the held-out test set" if ch.block == "test" else f"query block {ch.block}"
    msg = f"{where}, rows {ch.start}-{ch.stop - 1}: {e}"
    row = getattr(e, "row", None)
    if row is not None:
        x = ch.sequences()[row]
        msg += f" (first bad sequence: codes {''.join(map(str, x.tolist()))})" if x.size <= 60 else ""
    return ModelError(msg + "; the blocks finished so far are kept in the query cache")


def _query_all(
    plan: SketchPlan,
    model: Any,
    cache: QueryCache | None,
    executor: cf.Executor | None,
    batch_size: int,
    progress: ProgressCallback,
    cancel: CancelToken | None,
) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    names = plan.block_names
    sizes = {nm: plan.block_length(nm) for nm in names}
    values: dict[str, np.ndarray] = {}
    if cache is not None:
        for nm in names:
            v = cache.load(nm)
            if v is not None:
                values[nm] = v
        for msg in cache.problems:
            progress("query", 0, plan.num_queries, msg)
    cached = sum(sizes[nm] for nm in values)
    todo = [nm for nm in names if nm not in values]
    total = plan.num_queries
    state = {"done": cached, "t0": time.perf_counter(), "queried": 0, "unconfirmable": False}
    progress("query", cached, total,
             f"{cached:,} of {total:,} queries cached, {total - cached:,} to go" if cached else
             f"querying the model: {total:,} queries in {len(names)} blocks")
    buffers: dict[str, np.ndarray] = {}
    filled: dict[str, int] = {}
    # a model whose answers can go out of step (confirm_in_step) confirms them before a block is cached: here
    # when the block is finished (the model runs in this process), else in each task on the worker
    confirm = getattr(model, "confirm_in_step", None)
    confirm = confirm if callable(confirm) else None
    in_process = runs_in_process(executor)
    confirm_here = confirm is not None and in_process

    def chunks() -> Iterable[QueryChunk]:
        for nm in todo:
            yield from plan.chunks(nm, batch_size)

    def on_result(ch: QueryChunk, y: np.ndarray) -> None:
        buf = buffers.get(ch.block)
        if buf is None:
            buf = buffers[ch.block] = np.empty(sizes[ch.block], dtype=np.float64)
            filled[ch.block] = 0
        buf[ch.start : ch.stop] = y
        filled[ch.block] += ch.stop - ch.start
        state["done"] += ch.stop - ch.start
        state["queried"] += ch.stop - ch.start
        if filled[ch.block] == sizes[ch.block]:
            values[ch.block] = buffers.pop(ch.block)
            if confirm_here:
                # every model call is covered by the first confirmation after it, so a block whose own
                # confirmation passes (and none before failed) was answered in step; after a failure nothing more
                # is cached (other blocks may hold answers the failed confirmation covered)
                try:
                    if state["unconfirmable"]:
                        raise ModelError("an earlier confirmation failed")
                    confirm()  # raises if the answers may be out of step
                except ModelError as e:
                    state["unconfirmable"] = True
                    del values[ch.block]
                    where = "the held-out test set" if ch.block == "test" else f"query block {ch.block}"
                    raise ModelError(f"{where}: {e}; the block is not cached (blocks finished before are)") from e
            if cache is not None:
                cache.save(ch.block, values[ch.block])
        dt = time.perf_counter() - state["t0"]
        rate = state["queried"] / dt if dt > 0 else 0.0
        left = total - state["done"]
        eta = f", ETA {left / rate:,.0f} s" if rate > 0 else ""
        progress("query", state["done"], total, f"{state['done']:,}/{total:,} queries ({rate:,.0f}/s{eta})")

    run_chunks(model, chunks(), executor, task_window(executor), on_result, cancel,
               confirm_each=confirm is not None and not in_process)
    stats = {"cached": cached, "queried": state["queried"], "damaged_blocks": len(cache.problems) if cache else 0}
    return values, stats


def _decode_qsft(plan: SketchPlan, values: dict[str, np.ndarray], Xv: np.ndarray, yv: np.ndarray,
                 Xr: np.ndarray, yr: np.ndarray, noise_sd: float | None, progress: ProgressCallback,
                 cancel: CancelToken | None) -> dict[str, Any]:
    """Transforms of every block, peeling at the tuned (or given) noise level, refit (see the module docstring).
    Returns the dict of :func:`~shapzero_core.sketch.hybrid.decode_hybrid` (one component)."""
    progress("decode", 0, 1, f"transforms of {plan.num_blocks} blocks ({plan.num_bins:,} bins each)")
    V = np.stack([values[plan.block_name(c, p)] for c, p in plan.blocks]).reshape(
        plan.C, plan.P, plan.n + 1, plan.num_bins)
    U, mu = subsampled_transforms(V, plan)
    del V
    progress("decode", 1, 1, "transforms done")
    dec = Decoder(U, mu, plan, plan.config.refit)
    if noise_sd is None and yv.size >= 2:
        fit, trail = tune(dec, Xv, yv, progress, cancel)
    else:
        sig = noise_sd if noise_sd is not None else default_noise(U, plan)
        if cancel is not None:
            cancel.raise_if_cancelled("the sketch")
        fit, trail = dec.fit(sig), []
    locs = fit["locations"]
    coefs = dec.with_mean(locs, fit["coefficients"])
    comp = component(f"q-SFT peeling ({int(locs.any(axis=1).sum()):,} coefficients)", locs, coefs,
                     r2(predict_terms(locs, coefs, Xr, plan.q), yr) if yr.size >= 2 else None)
    return {"locations": locs, "coefficients": coefs, "peeled_locations": fit["peeled_locations"],
            "peeled": dec.with_mean(fit["peeled_locations"], fit["peeled"]), "noise_sd": float(fit["noise_sd"]),
            "trail": trail, "peel": fit["peel"], "components": [comp]}


# ================================================================================================ entry
def _resolve(model: Any, n: int | None, alphabet: Alphabet | str | None) -> tuple[int, Alphabet]:
    if not callable(model):
        raise TypeError(f"model must be callable (int8 (N, n) -> float (N,)), got {type(model).__name__}")
    alpha = get_alphabet(alphabet) if alphabet is not None else getattr(model, "alphabet", None) or DNA
    if not isinstance(alpha, Alphabet):
        alpha = get_alphabet(alpha)
    mn = getattr(model, "n", None)
    if n is None:
        if not isinstance(mn, int | np.integer) or mn < 1:
            raise ValueError("the sequence length n is not known: pass n=... (the model does not state it)")
        n = int(mn)
    elif isinstance(mn, int | np.integer) and mn != n:
        raise ValueError(f"n={n} but the model takes sequences of length {mn}")
    return int(n), alpha


def sketch_model(
    model: Callable[[np.ndarray], Any],
    n: int | None = None,
    alphabet: Alphabet | str | None = None,
    config: SketchConfig | None = None,
    budget: int | None = None,
    executor: cf.Executor | None = None,
    cache_dir: str | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    batch_size: int | None = None,
    method: str | None = None,
) -> FourierSketch:
    """Sketch a model's sparse q-ary Fourier transform (q-SFT with SHAP zero's decoder, plus a refit).

    Parameters
    ----------
    model : callable
        ``int8 (N, n)`` letter codes -> ``float (N,)`` scores. Its ``n``, ``alphabet``, ``identity`` and
        ``name`` attributes are used when present (the adapters of :mod:`shapzero_core.models` have them).
    n : int, optional
        Sequence length (default: ``model.n``).
    alphabet : Alphabet or str, optional
        Default: ``model.alphabet``, else DNA.
    config : SketchConfig, optional
        The plan's parameters. Give ``config`` or ``budget`` (training queries, see :func:`plan_for_budget`).
    budget : int, optional
    executor : concurrent.futures.Executor, optional
        Where the query chunks run (:class:`~shapzero_core.executors.LocalExecutor`,
        :class:`~shapzero_core.dask_executor.DaskExecutor`...). Default: inline, in this thread.
    cache_dir : path, optional
        Root of the query cache. A repeated call with the same model and plan resumes: finished blocks are
        read back (verified), never queried again.
    progress : callable, optional
        ``progress(stage, done, total, message)``; stages ``query``, ``decode``, ``tune``, ``refit``, ``done``.
    cancel : CancelToken, optional
        Checked between chunks and tuning steps; raises :class:`~shapzero_core.progress.Cancelled`.
    batch_size : int, optional
        Queries per task (default: ``executor.batch_size`` or 4,096).
    method : {"qsft", "hybrid"}, optional
        With ``budget``: the plan's method (:func:`plan_for_budget`; default ``"qsft"``, the paper's sketch;
        ``"hybrid"`` adds a dense order <= 3 part fitted on uniformly random queries). With ``config`` it
        must be omitted or equal ``config.method``.

    Returns
    -------
    FourierSketch
        The transform of the model itself (``F[0]`` is the mean). ``sketch.report`` holds the queries used,
        the parameters, held-out R^2 / NMSE before and after the refit, coefficients and energy by order,
        the noise-tuning trail and wall times (see the module docstring).

    Raises
    ------
    ModelError
        The model raised or returned invalid output; the message names the block and rows. Every block
        finished before is in the cache.
    Cancelled
        ``cancel`` was set.
    """
    t_start = time.perf_counter()
    n, alpha = _resolve(model, n, alphabet)
    q = alpha.q
    if (config is None) == (budget is None):
        raise ValueError("give exactly one of config=SketchConfig(...) or budget=<training queries>")
    if config is None:
        config = plan_for_budget(int(budget), n, q, method=method or "qsft")  # type: ignore[arg-type]
    elif method is not None and method != config.method:
        raise ValueError(f"method={method!r} contradicts config.method={config.method!r}; give one of them")
    plan = plan_sketch(n, q, config)
    progress = progress or null_progress
    bs = int(batch_size or getattr(executor, "batch_size", None) or DEFAULT_BATCH_SIZE)
    if bs < 1:
        raise ValueError(f"batch_size must be >= 1, got {bs}")
    name = str(getattr(model, "name", "") or getattr(model, "__name__", "") or type(model).__name__)
    ident, probe = model_identity(model, n, alpha)
    cache = QueryCache(cache_dir, plan, ident, name) if cache_dir is not None else None

    t0 = time.perf_counter()
    values, qstats = _query_all(plan, model, cache, executor, bs, progress, cancel)
    t_query = time.perf_counter() - t0

    t0 = time.perf_counter()
    Xt, yt = plan.test_sequences, values.get("test", np.zeros(0))
    tuned = config.noise_sd is None and yt.size >= 2
    if tuned:  # the first half chooses (noise level, rounds, components), the second only reports
        half = yt.size // 2
        Xv, yv, Xr, yr = Xt[:half], yt[:half], Xt[half:], yt[half:]
    else:
        Xv, yv, Xr, yr = Xt[:0], yt[:0], Xt, yt
    if config.method == "hybrid":
        fit = decode_hybrid(plan, values, Xv, yv, Xr, yr, config.noise_sd, progress, cancel)
    else:
        fit = _decode_qsft(plan, values, Xv, yv, Xr, yr, config.noise_sd, progress, cancel)
    progress("refit", 1, 1, f"{fit['locations'].shape[0]} coefficients (least squares on all training samples)"
             if config.refit else "no refit")
    locs, coefs = fit["locations"], fit["coefficients"]
    peeled_locs, peeled = fit["peeled_locations"], fit["peeled"]
    t_decode = time.perf_counter() - t0
    trail = fit["trail"]

    sketch = FourierSketch(locs, coefs, alpha)
    quality: dict[str, Any] = {"r2": None, "nmse": None, "r2_before_refit": None, "nmse_before_refit": None,
                               "holdout": {"y_true": [], "y_pred": []}, "holdout_size": int(yr.size)}
    if yr.size >= 2:
        mu = float(np.concatenate([values[nm] for nm in plan.block_names if nm != "test"]).mean())
        pred = sketch.predict(Xr)
        pred0 = predict_terms(peeled_locs, peeled, Xr, q)
        quality.update(r2=r2(pred, yr), nmse=nmse(pred, yr, mu), r2_before_refit=r2(pred0, yr),
                       nmse_before_refit=nmse(pred0, yr, mu))
        m = min(_HOLDOUT_POINTS, yr.size)
        quality["holdout"] = {"y_true": yr[:m].round(10).tolist(), "y_pred": pred[:m].round(10).tolist()}
    pr = fit["peel"]
    report = {
        "model": {"name": name, "identity": ident},
        "plan": plan.describe(),
        "plan_hash": plan.hash,
        "config": config.to_dict(),
        "b": plan.b,
        "num_subsample": plan.C,
        "num_repeat": plan.P,
        "noise_sd": float(fit["noise_sd"]),
        "noise_sd_tuned": tuned,
        "tuning": trail,
        "method": config.method,
        "components": fit["components"],
        **({"hybrid": fit["hybrid"]} if "hybrid" in fit else {}),
        "queries": {"train": plan.num_train_queries, "test": plan.num_test_queries, "queried": qstats["queried"],
                    "random": plan.num_random_queries, "qsft": plan.num_qsft_queries,
                    "cached": qstats["cached"], "fingerprint": probe, "damaged_blocks": qstats["damaged_blocks"]},
        **quality,
        "num_coefficients": sketch.num_coefficients,
        "count_by_order": {str(k): v for k, v in sketch.count_by_order().items()},
        "energy_by_order": {str(k): v for k, v in sketch.energy_by_order().items()},
        "peeling": {"iterations": pr.iterations, "remaining_multitons": pr.remaining_multitons},
        "time": {"query": t_query, "decode": t_decode, "total": time.perf_counter() - t_start},
        "cache_dir": str(cache.dir) if cache is not None else None,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
    }
    r2_out = report["r2"]
    progress("done", 1, 1, f"{sketch.num_coefficients} coefficients" +
             (f", held-out R^2 {r2_out:.4f}" if r2_out is not None else ""))
    template = getattr(model, "template", None)
    if template is not None and hasattr(template, "pattern"):  # models.with_template: record the fixed letters
        return sketch.with_metadata(report=report, template=str(template.pattern))
    return sketch.with_metadata(report=report)

