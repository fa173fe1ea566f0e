"""Trust every value: refine SHAP values with the model (the sketch as a control variate), check a sketch.

The explained game is the sketch's (method.md §2.1): interventional SHAP with a uniform background,
``v_x(S) = E_z f(x_S, z_rest)``. Let ``g`` be the sketch. Then ``phi(f) = phi(g) + phi(f - g)``: the first
term is the sketch's exact closed form (:func:`~shapzero_core.shapley.shap_values`), the second is
estimated without bias by permutation walks on the *residual* ``r = f - g``:

* a **walk** is a uniformly random permutation ``pi`` of the positions and a uniformly random completion
  ``z``; ``h_0 = z`` and ``h_t`` is ``h_{t-1}`` with position ``pi_t`` set to ``x_{pi_t}`` (``h_n = x``).
  The marginal of position ``pi_t`` is ``r(h_t) - r(h_{t-1})``; its expectation over ``(pi, z)`` is the
  Shapley value of ``pi_t`` in the residual game (``h_t`` is ``x`` on the first ``t`` positions of ``pi``
  and uniform elsewhere).
* a step whose inserted letter equals the completion's (``x_i = z_i``) changes nothing: its marginal is
  exactly 0 and the model is **not** queried. A walk needs ``r`` at ``z`` and at ``d - 1`` interior points,
  ``d = #{i : x_i != z_i}`` (``r(x)`` is queried once per sequence).
* the **antithetic partner** walks the reversed permutation from the same ``z``; it shares ``z`` and
  ``x`` and needs ``d - 1`` more points. A pair costs ``2 d - 1`` model calls (0 if ``z = x``), on average
  ``2 n (q - 1) / q - 1 + q^-n``; the mean of the pair's two marginal vectors is one independent sample.

With ``m`` pairs the estimate is ``phi(g) + mean of the m pair samples`` and its standard error is the
sample standard deviation of the pair samples over ``sqrt(m)``, **t-corrected**: multiplied by
``sqrt(nu / (nu - 2))`` with ``nu = m - 1`` (the variance of a Student t), so that the z-score
``(estimate - truth) / stderr`` has mean square 1 for Gaussian pair samples at any ``m``.

At least ``min_pairs = 16`` pairs are used (``16 (2 n (q-1)/q - 1) + 1`` calls: 609 at n = 26, q = 4). Why
16: a position's marginal is exactly 0 whenever the completion carries the sequence's letter (probability
``1/q`` per walk), so the pair samples are far from Gaussian at small ``m``. Against brute force (q = 4,
n = 7, 2,100 values, 10 seeds) 8 pairs gave mean z^2 up to 1.71, and an infinite z in one seed (a value
whose letter every completion matched: zero sample variance, probability ``4^-8`` per value); 12 pairs up
to 1.21; 16 pairs 1.00-1.08 with >= 94.4 % of the values within +-2 stderr (``tests/test_refine.py``).

**Zero-residual shortcut**: a sequence whose residual is zero to round-off (``|f - g| <= 1e-6 max |f|``)
at ``x`` and at every point of its first 4 pairs stops there (``4 (2 n (q-1)/q - 1) + 1`` calls, 153 at
n = 26): the sketch is exact there and nothing is left to estimate. A sketch that is exact at all those
points but wrong elsewhere (a rare region it missed) would go unnoticed for that sequence -- the price
of the shortcut, which only a residual that vanishes on ~150 random walk points can trigger.

Unbiasedness: with ``calls_per_seq`` the number of pairs is fixed before anything is drawn,
``m = floor((calls_per_seq - 1) / expected pair cost)``, so the estimate is exactly unbiased and the
counted calls vary around ``calls_per_seq`` (by a few percent: ``d`` is binomial). Stopping on a cost
that depends on the drawn ``z`` would bias it towards cheap walks. With ``target_se`` a sequence stops as
soon as every value's standard error is below the target (checked after 16 pairs, then in rounds), or at
``m`` pairs; this sequential rule depends on the estimated variance only, which for Gaussian samples is
independent of the mean.

Limitation of any sample-based error bar: an effect of the residual that no walk hits (a sharp threshold
reached by few completions) leaves every pair sample of that value equal, and its standard error 0
(``RefinedShap.no_variation`` flags such values; so are positions the residual does not depend on,
which are exactly right). The value itself stays unbiased; more calls make such misses rarer.

The **trust check** (:func:`check_sketch`) refines random uniform sequences and compares the sketch's
values with the refined ones. The refined values carry their own noise, so the squared error is
de-biased: ``E ||phi_s - phi_r||^2 = ||phi_s - phi||^2 + sum se^2``. Its verdict:

* ``trustworthy`` if the median de-biased relative L2 error is <= 0.10 (and the check's own noise floor
  is <= 0.10, so the claim is resolved);
* ``approximate`` if it is <= 0.50 (refine the sequences you report);
* ``unreliable`` above 0.50 (use refined values).

It also gives the **sketch-only error bars**: the de-biased root-mean-square error of the sketch's value
at each position across the check's random sequences (``position_rmse``, stored in the sketch's report
and header). It is a calibrated estimate of the typical error at that position over random sequences,
not a guarantee for one value: refine a sequence to get its own error bars.
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import ModelError
from .executors import DEFAULT_BATCH_SIZE
from .fourier import FourierSketch
from .progress import CancelToken, ProgressCallback, null_progress
from .shapley import shap_values
from .sketch.plan import QueryChunk
from .sketch.run import evaluate_chunk, run_chunks, runs_in_process, task_window

__all__ = [
    "APPROXIMATE_MAX",
    "MIN_PAIRS",
    "TRUSTWORTHY_MAX",
    "RefinedShap",
    "TrustReport",
    "check_sketch",
    "expected_calls",
    "minimum_calls",
    "pair_cost",
    "refine_shap",
    "sketch_error_bars",
    "trust_info",
    "with_trust",
]

MIN_PAIRS = 16
_CHECK_PAIRS = 4  # pairs of the zero-residual check, before the rest
_ZERO_RESIDUAL = 1e-6  # |f - g| <= this * max |f| at every point: zero to the round-off of float32 models
TRUSTWORTHY_MAX = 0.10  # median de-biased relative L2 error of the sketch's values
APPROXIMATE_MAX = 0.50
_ROUND_ROWS = 1 << 19  # walk points built per round (x n bytes, plus int16 ranks)
_TRUST_KEY = "trust"


# ================================================================================================ results
@dataclass(frozen=True)
class RefinedShap:
    """SHAP values estimated with the model, the sketch as a control variate (see the module docstring).

    Attributes
    ----------
    values : numpy.ndarray
        ``float64 (N, n)``: unbiased estimates of the SHAP values of the model itself.
    stderr : numpy.ndarray
        ``float64 (N, n)``: their standard errors (t-corrected; 0 where every walk gave the same marginal,
        e.g. a position the residual does not depend on).
    sketch_values : numpy.ndarray
        ``float64 (N, n)``: the sketch's closed-form values of the same sequences.
    model_calls : int
        Model evaluations made (counted, not estimated): ``calls_per_seq.sum()``.
    calls_per_seq : numpy.ndarray
        ``int64 (N,)``: model evaluations per sequence (its ``f(x)`` included).
    pairs : numpy.ndarray
        ``int64 (N,)``: antithetic walk pairs per sequence.
    model_predictions : numpy.ndarray
        ``float64 (N,)``: ``f(x)`` from the model.
    X : numpy.ndarray
        ``int8 (N, n)``: the sequences.
    target_se : float or None
        The requested standard error (None: a fixed number of pairs).
    no_variation : numpy.ndarray
        ``bool (N, n)``: every walk gave this value the same marginal (to round-off), so its ``stderr`` is 0:
        the residual does not depend on the position -- or an effect rarer than these walks could see
        (a sharp threshold hit by few completions). The estimate is still unbiased; only its error bar
        cannot show such an unseen effect. More calls make it rarer.
    """

    values: np.ndarray
    stderr: np.ndarray
    sketch_values: np.ndarray
    model_calls: int
    calls_per_seq: np.ndarray
    pairs: np.ndarray = field(repr=False)
    model_predictions: np.ndarray = field(repr=False)
    X: np.ndarray = field(repr=False)
    target_se: float | None = None
    no_variation: np.ndarray | None = field(default=None, repr=False)

    @property
    def N(self) -> int:
        """Number of sequences."""
        return int(self.values.shape[0])

    @property
    def n(self) -> int:
        """Sequence length."""
        return int(self.values.shape[1])


def pair_cost(n: int, q: int) -> float:
    """Expected model calls of one antithetic walk pair: ``2 n (q - 1) / q - 1 + q^-n``."""
    return 2.0 * n * (q - 1) / q - 1.0 + float(q) ** (-n)


def _max_pairs(calls_per_seq: int, n: int, q: int) -> int:
    return math.floor((calls_per_seq - 1) / pair_cost(n, q))


def minimum_calls(n: int, q: int, min_pairs: int = MIN_PAIRS) -> int:
    """The smallest ``calls_per_seq`` :func:`refine_shap` accepts: ``min_pairs`` pairs plus ``f(x)``."""
    c = math.ceil(1 + min_pairs * pair_cost(n, q))
    return c if _max_pairs(c, n, q) >= min_pairs else c + 1


def expected_calls(n: int, q: int, num_sequences: int, calls_per_seq: int = 2048, min_pairs: int = MIN_PAIRS) -> int:
    """Model calls :func:`refine_shap` is expected to make without ``target_se`` (stated before running).

    ``num_sequences * (1 + pairs * pair_cost(n, q))`` with the number of pairs fixed by ``calls_per_seq``;
    the counted calls differ by a few percent (the cost of a walk depends on its random completion), and
    are far fewer for sequences where the sketch is exact (the zero-residual shortcut stops after 4 pairs).
    """
    m = max(_max_pairs(int(calls_per_seq), n, q), int(min_pairs))
    return round(num_sequences * (1 + m * pair_cost(n, q)))


# ================================================================================================ refine
def _seq_rng(seed: int, x: np.ndarray) -> np.random.Generator:
    """The walk generator of one sequence: depends on the seed and the sequence only, so a sequence gets
    the same estimate whichever other sequences are refined with it (and whatever the batching)."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), *x.astype(np.int64).tolist()]))


def _describe(X: np.ndarray, s: int, alphabet_letters: str) -> str:
    seq = "".join(alphabet_letters[c] for c in X[s]) if X.shape[1] <= 60 else ""
    return f"sequence {s} (row {s} of X{', ' + seq if seq else ''})"


class _Walks:
    """One round of antithetic walk pairs for pieces ``(sequence, pairs)``: the points to query and how
    their residuals become pair samples."""

    def __init__(self, X: np.ndarray, pieces: list[tuple[int, int]], gens: dict[int, np.random.Generator],
                 q: int) -> None:
        n = X.shape[1]
        self.pieces = pieces
        seq = np.concatenate([np.full(k, s, dtype=np.int64) for s, k in pieces])
        Z = np.concatenate([gens[s].integers(0, q, size=(k, n), dtype=np.int8) for s, k in pieces])
        U = np.concatenate([gens[s].random((k, n)) for s, k in pieces])
        self._build(X, seq, Z, U)

    def _build(self, X: np.ndarray, seq: np.ndarray, Z: np.ndarray, U: np.ndarray) -> None:
        n = X.shape[1]
        P = seq.size
        xs = X[seq]  # (P, n)
        D = Z != xs
        order = np.argsort(U, axis=1, kind="stable")  # pi: positions in walk order
        Dpi = np.take_along_axis(D, order, axis=1)
        c = (np.cumsum(Dpi, axis=1, dtype=np.int16) - 1).astype(np.int16)
        rk = np.empty((P, n), dtype=np.int16)  # rank of a differing position in the walk order; -1 if x_i = z_i
        np.put_along_axis(rk, order, np.where(Dpi, c, np.int16(-1)), axis=1)
        d = D.sum(axis=1).astype(np.int64)
        # forward walk: u_k = x on the first k differing positions, k = 0..d-1 (u_d = x is known)
        pu = np.repeat(np.arange(P), d)
        ku = np.arange(pu.size) - np.repeat(np.cumsum(d) - d, d)
        rows_u = np.where(rk[pu] < ku[:, None], xs[pu], Z[pu])
        # reversed walk: v_j = x on the last j differing positions, j = 1..d-1 (v_0 = z, v_d = x)
        dv = np.maximum(d - 1, 0)
        pv = np.repeat(np.arange(P), dv)
        jv = np.arange(pv.size) - np.repeat(np.cumsum(dv) - dv, dv) + 1
        rows_v = np.where(rk[pv] >= (d[pv] - jv)[:, None], xs[pv], Z[pv])
        self.rows = np.ascontiguousarray(np.concatenate([rows_u, rows_v]), dtype=np.int8)
        self.owner = np.concatenate([seq[pu], seq[pv]])
        self.seq, self.rk, self.d = seq, rk, d
        self.pu, self.ku, self.pv, self.jv = pu, ku, pv, jv

    def samples(self, r_rows: np.ndarray, r_x: np.ndarray) -> np.ndarray:
        """``float64 (P, n)`` pair samples from the residuals at the points (``r_rows``) and at ``x``
        (``r_x``, per sequence)."""
        _P, n = self.rk.shape
        rx = r_x[self.seq]
        nu = self.pu.size
        ru = np.repeat(rx[:, None], n + 1, axis=1)
        ru[self.pu, self.ku] = r_rows[:nu]
        rv = np.repeat(rx[:, None], n + 1, axis=1)
        rv[:, 0] = ru[:, 0]
        rv[self.pv, self.jv] = r_rows[nu:]
        rk = self.rk.astype(np.int64)
        on = rk >= 0
        a = np.where(on, rk, 0)
        w1 = np.take_along_axis(ru, a + 1, axis=1) - np.take_along_axis(ru, a, axis=1)
        jj = np.where(on, self.d[:, None] - rk, 1)
        w2 = np.take_along_axis(rv, jj, axis=1) - np.take_along_axis(rv, jj - 1, axis=1)
        return np.where(on, 0.5 * (w1 + w2), 0.0)


def _evaluate(model: Any, rows: np.ndarray, owner: np.ndarray, q: int, X: np.ndarray, letters: str,
              executor: cf.Executor | None, batch_size: int, cancel: CancelToken | None,
              on_calls: Callable[[int], None]) -> np.ndarray:
    """``f`` at every row through the sketch's chunk runner; a model error names the sequence."""
    out = np.empty(rows.shape[0], dtype=np.float64)
    chunks = [QueryChunk("refine", s, min(s + batch_size, rows.shape[0]), q, 0, X=rows[s : s + batch_size])
              for s in range(0, rows.shape[0], batch_size)]

    def on_result(ch: QueryChunk, y: np.ndarray) -> None:
        out[ch.start : ch.stop] = y
        on_calls(ch.stop - ch.start)

    def locate(e: ModelError, ch: QueryChunk) -> ModelError:
        row = getattr(e, "row", None)
        owners = owner[ch.start : ch.stop]
        if row is not None:
            s = int(owners[row])
        else:
            s = None
            for cand in np.unique(owners):  # which sequence's points make the model fail (error path only)
                sub = ch.X[owners == cand]
                try:
                    evaluate_chunk(model, QueryChunk("refine", 0, sub.shape[0], q, 0, X=sub))
                except ModelError:
                    s = int(cand)
                    break
                except Exception:
                    s = int(cand)
                    break
        if s is None:
            lo, hi = int(owners.min()), int(owners.max())
            where = f"sequences {lo}-{hi} (rows of X)"
        else:
            where = _describe(X, s, letters)
        return ModelError(f"refining {where}: {e}")

    confirm = getattr(model, "confirm_in_step", None)  # an external program: its answers must be in step
    local = runs_in_process(executor)
    run_chunks(model, chunks, executor, task_window(executor), on_result, cancel, locate=locate,
               what="refining", confirm_each=callable(confirm) and not local)
    if callable(confirm) and local:
        confirm()
    return out


def _check_model(model: Any, sketch: FourierSketch) -> None:
    if not callable(model):
        raise TypeError(f"model must be callable (int8 (N, n) -> float (N,)), got {type(model).__name__}")
    mn = getattr(model, "n", None)
    if isinstance(mn, int | np.integer) and int(mn) != sketch.n:
        raise ValueError(f"the model takes sequences of length {mn} but the sketch has n = {sketch.n}")
    ma = getattr(model, "alphabet", None)
    letters = getattr(ma, "letters", None)
    if isinstance(letters, str) and letters != sketch.alphabet.letters:
        raise ValueError(f"the model's alphabet {letters} differs from the sketch's {sketch.alphabet.letters}")


def refine_shap(
    model: Callable[[np.ndarray], Any],
    sketch: FourierSketch,
    X: np.ndarray,
    *,
    calls_per_seq: int = 2048,
    target_se: float | None = None,
    seed: int = 0,
    executor: cf.Executor | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    min_pairs: int = MIN_PAIRS,
    batch_size: int | None = None,
) -> RefinedShap:
    """Unbiased SHAP values of the model itself, with standard errors; the sketch is the control variate.

    Parameters
    ----------
    model : callable
        ``int8 (N, n) -> float (N,)``, the model the sketch was made from (any ModelFn).
    sketch : FourierSketch
        Its sketch. An empty sketch (no coefficients) gives plain permutation Monte Carlo.
    X : numpy.ndarray
        ``int (N, n)`` sequences to explain.
    calls_per_seq : int
        Model calls per sequence (``f(x)`` included): fixes the number of antithetic pairs,
        ``floor((calls_per_seq - 1) / pair_cost(n, q))``, before anything is drawn (exactly unbiased; the
        counted calls vary by a few percent). Must buy at least ``min_pairs`` pairs.
    target_se : float, optional
        Stop a sequence once every value's standard error is below this (checked after ``min_pairs``
        pairs, then in rounds), or at the pairs ``calls_per_seq`` buys.
    seed : int
        Walks of a sequence depend on ``seed`` and the sequence only.
    executor : concurrent.futures.Executor, optional
        Where model calls run (as for :func:`~shapzero_core.sketch.sketch_model`); calls of all sequences
        are batched together.
    progress : callable, optional
        ``progress("refine", calls done, calls expected, message)`` after every batch.
    cancel : CancelToken, optional
        Checked between batches; raises :class:`~shapzero_core.progress.Cancelled`.
    min_pairs : int
        Fewest pairs per sequence (default 16, at least 4; see the module docstring) unless the
        zero-residual shortcut stops it after 4.
    batch_size : int, optional
        Model calls per task (default: ``executor.batch_size`` or 4,096).

    Returns
    -------
    RefinedShap

    Raises
    ------
    ModelError
        The model raised or returned invalid output; the message names the sequence.
    Cancelled
        ``cancel`` was set.
    ValueError
        ``calls_per_seq`` too small for ``min_pairs`` pairs, a bad ``target_se``, or sequences / model that
        do not fit the sketch.
    """
    _check_model(model, sketch)
    X = sketch.check_sequences(X)
    N, n, q = X.shape[0], sketch.n, sketch.q
    min_pairs = int(min_pairs)
    if min_pairs < 4:
        raise ValueError(f"min_pairs must be >= 4 (the t-corrected standard error needs 3 degrees of freedom), "
                         f"got {min_pairs}")
    calls_per_seq = int(calls_per_seq)
    cost = pair_cost(n, q)
    m_max = _max_pairs(calls_per_seq, n, q)
    if m_max < min_pairs:
        need = math.ceil(1 + min_pairs * cost)
        raise ValueError(f"calls_per_seq={calls_per_seq} buys {max(m_max, 0)} antithetic walk pairs per sequence "
                         f"(one pair costs {cost:.1f} model calls on average at n={n}, q={q}); at least "
                         f"{min_pairs} are needed for a standard error: use calls_per_seq >= {need}")
    if target_se is not None:
        target_se = float(target_se)
        if not (target_se > 0 and math.isfinite(target_se)):
            raise ValueError(f"target_se must be a positive number, got {target_se}")
    bs = int(batch_size or getattr(executor, "batch_size", None) or DEFAULT_BATCH_SIZE)
    if bs < 1:
        raise ValueError(f"batch_size must be >= 1, got {bs}")
    progress = progress or null_progress
    letters = sketch.alphabet.letters

    phi_g = shap_values(sketch, X)
    calls = np.zeros(N, dtype=np.int64)
    state = {"done": 0, "total": 0}

    def on_calls(k: int) -> None:
        state["done"] += k
        state["total"] = max(state["total"], state["done"])
        progress("refine", state["done"], state["total"],
                 f"{state['done']:,}/{state['total']:,} model calls ({active_text()})")

    active = np.ones(N, dtype=bool)

    def active_text() -> str:
        return f"{int(active.sum()):,} of {N:,} sequences refining"

    first = min_pairs if target_se is not None else m_max
    state["total"] = round(N * (1 + first * cost))
    progress("refine", 0, state["total"], f"refining {N:,} sequences: about {state['total']:,} model calls")
    if N == 0:
        z = np.zeros((0, n))
        return RefinedShap(z, z.copy(), phi_g, 0, calls, np.zeros(0, np.int64), np.zeros(0), X, target_se,
                           np.zeros((0, n), dtype=bool))

    fx = _evaluate(model, X, np.arange(N), q, X, letters, executor, bs, cancel, on_calls)
    calls += 1
    r_x = fx - sketch.predict(X)
    gens: dict[int, np.random.Generator] = {}
    m = np.zeros(N, dtype=np.int64)
    mean = np.zeros((N, n))
    M2 = np.zeros((N, n))
    absmax = np.abs(fx)  # largest |f| and |f - g| seen per sequence (the zero-residual shortcut)
    rmax = np.abs(r_x)
    want = np.full(N, min(_CHECK_PAIRS, first), dtype=np.int64)
    per_round = max(1, int(_ROUND_ROWS // max(cost, 1.0)))
    t0 = time.perf_counter()
    stage = 0

    while True:
        todo = np.flatnonzero(want > 0)
        if todo.size == 0:
            break
        # the rounds of this stage: pieces (sequence, pairs) of at most `per_round` pairs in all
        pieces_all: list[tuple[int, int]] = []
        for s in todo:
            k = int(want[s])
            while k > 0:
                take = min(k, per_round)
                pieces_all.append((int(s), take))
                k -= take
        state["total"] = state["done"] + round(sum(k for _, k in pieces_all) * cost)
        if stage == 0:
            state["total"] += round(N * max(first - _CHECK_PAIRS, 0) * cost)
        start = 0
        while start < len(pieces_all):
            tot, stop = 0, start
            while stop < len(pieces_all) and (tot == 0 or tot + pieces_all[stop][1] <= per_round):
                tot += pieces_all[stop][1]
                stop += 1
            pieces = pieces_all[start:stop]
            start = stop
            if cancel is not None:
                cancel.raise_if_cancelled("refining")
            for s, _ in pieces:
                if s not in gens:
                    gens[s] = _seq_rng(seed, X[s])
            w = _Walks(X, pieces, gens, q)
            if w.rows.shape[0]:
                f_rows = _evaluate(model, w.rows, w.owner, q, X, letters, executor, bs, cancel, on_calls)
                r_rows = f_rows - sketch.predict(w.rows)
                np.maximum.at(absmax, w.owner, np.abs(f_rows))
                np.maximum.at(rmax, w.owner, np.abs(r_rows))
            else:
                r_rows = np.zeros(0)
            calls += np.bincount(w.owner, minlength=N)
            Y = w.samples(r_rows, r_x)
            # merge each piece's samples into its sequence's running mean / sum of squares (Chan et al.)
            bounds = np.cumsum([0] + [k for _, k in pieces])
            for j, (s, k) in enumerate(pieces):
                Yb = Y[bounds[j] : bounds[j + 1]]
                mb = Yb.mean(axis=0)
                M2b = ((Yb - mb) ** 2).sum(axis=0)
                ma, tot_m = m[s], m[s] + k
                delta = mb - mean[s]
                mean[s] += delta * (k / tot_m)
                M2[s] += M2b + delta**2 * (ma * k / tot_m)
                m[s] = tot_m
        want[:] = 0
        if stage == 0:
            # zero residual (to round-off) at every point of the first pairs: nothing is left to estimate
            active &= ~(rmax <= _ZERO_RESIDUAL * absmax)
            stage = 1
            goal = first if target_se is None else min_pairs
            want[active] = np.maximum(goal - m[active], 0)
            if want.any():
                continue
        if target_se is None:
            break
        se_max = np.sqrt(M2.max(axis=1) / (m * np.maximum(m - 3, 1)))
        done_now = ((se_max < target_se) & (m >= min_pairs)) | (m >= m_max)
        active &= ~done_now
        for s in np.flatnonzero(active):
            need = math.ceil(1.1 * m[s] * (se_max[s] / target_se) ** 2)
            want[s] = min(max(need - m[s], math.ceil(m[s] / 4), 2), m_max - m[s])
    active[:] = False
    se = np.sqrt(M2 / (m * np.maximum(m - 3, 1))[:, None])
    values = phi_g + mean
    total = int(calls.sum())
    progress("refine", state["done"], state["done"],
             f"refined {N:,} sequences with {total:,} model calls in {time.perf_counter() - t0:.1f} s")
    flat = np.sqrt(M2) <= _ZERO_RESIDUAL * 1e-3 * np.maximum(absmax, 1e-300)[:, None]
    return RefinedShap(values=values, stderr=se, sketch_values=phi_g, model_calls=total, calls_per_seq=calls,
                       pairs=m, model_predictions=fx, X=X, target_se=target_se, no_variation=flat)


# ================================================================================================ check
@dataclass(frozen=True)
class TrustReport:
    """How far the sketch's SHAP values can be trusted, measured against refined values.

    Attributes
    ----------
    rel_l2 : numpy.ndarray
        ``float64 (S,)``: per random sequence, the de-biased relative L2 error of the sketch's SHAP values,
        ``sqrt(max(||phi_s - phi_r||^2 - sum se^2, 0) / max(||phi_r||^2 - sum se^2, tiny))``.
    rel_l2_raw : numpy.ndarray
        ``float64 (S,)``: ``||phi_s - phi_r|| / ||phi_r||`` (includes the refined values' noise).
    noise_floor : numpy.ndarray
        ``float64 (S,)``: the refined values' own relative error, ``sqrt(sum se^2) / ||phi||``; errors
        below it are not resolved.
    pearson : numpy.ndarray
        ``float64 (S,)``: Pearson correlation of the sketch's values with the refined ones (NaN if constant).
    position_rmse : numpy.ndarray
        ``float64 (n,)``: de-biased RMS error of the sketch's value at each position over the sequences
        (``sqrt(max(mean((phi_s - phi_r)^2 - se^2), 0))``): the sketch-only error bars.
    median_rel_l2, median_noise_floor, median_pearson : float
    level : str
        ``"trustworthy"``, ``"approximate"`` or ``"unreliable"`` (thresholds :data:`TRUSTWORTHY_MAX`,
        :data:`APPROXIMATE_MAX`).
    verdict : str
        One line, e.g. ``"sketch values trustworthy (est. rel. error 0.03)"``.
    model_calls : int
    calls_per_seq : int
        Requested calls per sequence.
    seed : int
    refined : RefinedShap
        The refined values of the random sequences (``refined.X``).
    """

    rel_l2: np.ndarray
    rel_l2_raw: np.ndarray
    noise_floor: np.ndarray
    pearson: np.ndarray
    position_rmse: np.ndarray
    median_rel_l2: float
    median_noise_floor: float
    median_pearson: float
    level: str
    verdict: str
    model_calls: int
    calls_per_seq: int
    seed: int
    refined: RefinedShap = field(repr=False)

    @property
    def n_seqs(self) -> int:
        """Number of random sequences checked."""
        return int(self.rel_l2.shape[0])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (stored in the sketch's report as ``report["trust"]``)."""

        def fl(a: np.ndarray) -> list[float | None]:
            return [None if not np.isfinite(v) else round(float(v), 6) for v in np.asarray(a, dtype=float)]

        def one(v: float) -> float | None:
            return None if not math.isfinite(v) else round(float(v), 6)

        return {
            "level": self.level,
            "verdict": self.verdict,
            "median_rel_l2": one(self.median_rel_l2),
            "median_noise_floor": one(self.median_noise_floor),
            "median_pearson": one(self.median_pearson),
            "n_seqs": self.n_seqs,
            "calls_per_seq": self.calls_per_seq,
            "model_calls": self.model_calls,
            "seed": self.seed,
            "rel_l2": fl(self.rel_l2),
            "rel_l2_raw": fl(self.rel_l2_raw),
            "noise_floor": fl(self.noise_floor),
            "pearson": fl(self.pearson),
            "position_rmse": fl(self.position_rmse),
            "thresholds": {"trustworthy": TRUSTWORTHY_MAX, "approximate": APPROXIMATE_MAX},
            "error_bars": "position_rmse: de-biased RMS error of the sketch's SHAP value at each position over "
                          "random uniform sequences (a calibrated typical error, not a per-value guarantee)",
        }


#: A relative error below this is floating-point round-off of an exact sketch (shown as 0).
ROUNDOFF_REL = 1e-9


def _verdict(e: float, floor: float) -> tuple[str, str]:
    if not math.isfinite(e):
        return "unreliable", "sketch values unreliable (the check could not measure an error): use refined values"
    if e <= TRUSTWORTHY_MAX and floor <= TRUSTWORTHY_MAX:
        shown = "0: exact within round-off" if e < ROUNDOFF_REL else f"{e:.2g}"
        return "trustworthy", f"sketch values trustworthy (est. rel. error {shown})"
    if e <= APPROXIMATE_MAX:
        extra = (f"; the check resolves errors down to {floor:.2g} only" if e <= TRUSTWORTHY_MAX else "")
        return "approximate", f"sketch values approximate ({e:.2g}{extra}): refine the sequences you report"
    return "unreliable", f"sketch values unreliable ({e:.2g}): use refined values"


def trust_statistics(phi_s: np.ndarray, phi_r: np.ndarray, se: np.ndarray) -> dict[str, np.ndarray]:
    """De-biased comparison of sketch values with refined values (see :class:`TrustReport`).

    Parameters
    ----------
    phi_s, phi_r, se : numpy.ndarray
        ``float64 (S, n)``: sketch values, refined values, their standard errors.

    Returns
    -------
    dict
        ``rel_l2``, ``rel_l2_raw``, ``noise_floor``, ``pearson`` (each ``(S,)``) and ``position_rmse``
        (``(n,)``).
    """
    v = (se**2).sum(axis=1)
    err2 = ((phi_s - phi_r) ** 2).sum(axis=1)
    ref2 = (phi_r**2).sum(axis=1)
    tiny = 1e-300
    norm2 = np.maximum(ref2 - v, tiny)
    rel = np.sqrt(np.maximum(err2 - v, 0.0) / norm2)
    raw = np.sqrt(err2 / np.maximum(ref2, tiny))
    floor = np.sqrt(v / norm2)
    a = phi_s - phi_s.mean(axis=1, keepdims=True)
    b = phi_r - phi_r.mean(axis=1, keepdims=True)
    den = np.sqrt((a**2).sum(axis=1) * (b**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        pr = np.where(den > 0, (a * b).sum(axis=1) / np.where(den > 0, den, 1.0), np.nan)
    both_zero = (ref2 <= tiny) & (err2 <= tiny)  # a model without any effect, sketched as such
    rel = np.where(both_zero, 0.0, rel)
    raw = np.where(both_zero, 0.0, raw)
    floor = np.where(both_zero, 0.0, floor)
    pos = np.sqrt(np.maximum(((phi_s - phi_r) ** 2 - se**2).mean(axis=0), 0.0))
    return {"rel_l2": rel, "rel_l2_raw": raw, "noise_floor": floor, "pearson": pr, "position_rmse": pos}


def check_sketch(
    model: Callable[[np.ndarray], Any],
    sketch: FourierSketch,
    n_seqs: int = 16,
    calls_per_seq: int = 4096,
    seed: int = 0,
    *,
    executor: cf.Executor | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    batch_size: int | None = None,
) -> TrustReport:
    """The trust check: refine ``n_seqs`` random uniform sequences and compare the sketch's values with them.

    Parameters
    ----------
    model : callable
        The model the sketch was made from.
    sketch : FourierSketch
    n_seqs : int
        Random uniform sequences (drawn from ``seed``).
    calls_per_seq : int
        Model calls per sequence for the refined values (``n_seqs * calls_per_seq`` in all, about); raised to
        the minimum of ``MIN_PAIRS`` walk pairs when that costs more (long sequences).
    seed : int
    executor, progress, cancel, batch_size
        As for :func:`refine_shap` (progress stage ``"refine"``).

    Returns
    -------
    TrustReport
        Per-sequence de-biased relative L2 errors and Pearson correlations, the per-position RMS error
        (the sketch-only error bars) and a one-line verdict.
    """
    n_seqs = int(n_seqs)
    if n_seqs < 2:
        raise ValueError(f"n_seqs must be >= 2, got {n_seqs}")
    calls_per_seq = max(int(calls_per_seq), minimum_calls(sketch.n, sketch.q))
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 20250513]))
    X = rng.integers(0, sketch.q, size=(n_seqs, sketch.n), dtype=np.int8)
    ref = refine_shap(model, sketch, X, calls_per_seq=calls_per_seq, seed=seed, executor=executor,
                      progress=progress, cancel=cancel, batch_size=batch_size)
    st = trust_statistics(ref.sketch_values, ref.values, ref.stderr)
    med = float(np.median(st["rel_l2"]))
    floor = float(np.median(st["noise_floor"]))
    pr = st["pearson"]
    med_r = float(np.nanmedian(pr)) if np.isfinite(pr).any() else float("nan")
    level, verdict = _verdict(med, floor)
    return TrustReport(rel_l2=st["rel_l2"], rel_l2_raw=st["rel_l2_raw"], noise_floor=st["noise_floor"],
                       pearson=pr, position_rmse=st["position_rmse"], median_rel_l2=med,
                       median_noise_floor=floor, median_pearson=med_r, level=level, verdict=verdict,
                       model_calls=ref.model_calls, calls_per_seq=int(calls_per_seq), seed=int(seed), refined=ref)


# ================================================================================================ storage
def with_trust(sketch: FourierSketch, trust: TrustReport | Mapping[str, Any]) -> FourierSketch:
    """A copy of ``sketch`` with the trust check in its report (``report["trust"]``; saved in the header).

    A sketch without a report (e.g. an exact spectrum) gets it as ``metadata["trust"]``.
    """
    info = trust.to_dict() if isinstance(trust, TrustReport) else dict(trust)
    rep = sketch.report
    if rep is not None:
        return sketch.with_metadata(report={**dict(rep), _TRUST_KEY: info})
    return sketch.with_metadata(**{_TRUST_KEY: info})


def trust_info(sketch: FourierSketch) -> dict[str, Any] | None:
    """The stored trust check of a sketch (see :func:`with_trust`), or None."""
    rep = sketch.report
    info = rep.get(_TRUST_KEY) if rep is not None else None
    if info is None:
        info = sketch.metadata.get(_TRUST_KEY)
    return dict(info) if isinstance(info, Mapping) else None


def sketch_error_bars(sketch: FourierSketch, num_sequences: int) -> np.ndarray | None:
    """Calibrated standard errors of sketch-only SHAP values, ``float64 (num_sequences, n)``, or None.

    Every sequence gets the trust check's ``position_rmse`` (the de-biased RMS error of the sketch's value at
    each position over random uniform sequences). A calibrated typical error, not a per-value guarantee;
    None when the sketch has no trust check.
    """
    info = trust_info(sketch)
    pos = info.get("position_rmse") if info else None
    if not isinstance(pos, list) or len(pos) != sketch.n:
        return None
    arr = np.array([np.nan if v is None else float(v) for v in pos], dtype=np.float64)
    return np.broadcast_to(arr, (int(num_sequences), sketch.n)).copy()
