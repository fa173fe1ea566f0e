"""Decoding a hybrid sketch (``SketchConfig(method="hybrid")``): a dense low-degree component plus q-SFT peeling
of what it leaves, refitted in turn.

Real models are rarely sparse in the Fourier basis: a splice CNN, a tree ensemble or a Potts model has thousands of
small first- and second-order coefficients, which q-SFT must peel one bin at a time (slow, and what it misses is
lost). A hybrid plan spends part of its budget on uniformly random queries (blocks ``r0, r1, ...`` of the plan,
cached and resumed like the q-SFT blocks) and decodes in rounds:

1. **dense**: constant + every first-order + pairwise ANOVA table, and a table for every triple of positions
   within :data:`TRIPLE_WINDOW` of each other (the motif-scale interactions of a convolutional or motif-scanning
   model), fitted on the random queries by backfitting (:func:`~shapzero_core.sketch.lowdeg.fit_low_degree`; pairs,
   then triples, screened by energy when there are more parameters than the samples support). The triples are
   kept only when they lower the validation NMSE of the dense part (on a model without such interactions they
   shrink to noise and are dropped);
2. **sparse**: the q-SFT blocks minus the dense prediction (no new queries: the block sequences are known) are
   transformed, peeled and refitted at the noise level tuned on the validation half of the held-out set
   (:mod:`~shapzero_core.sketch.tuning`; every first-order frequency joins the refit, so the q-SFT samples
   correct the dense component's first order too);
3. **alternate**: the dense tables are refitted on the random queries minus the sparse part's higher-order terms
   (the ones the dense component cannot represent), and the sparse part again on the new residual, while the
   validation NMSE improves (at most :data:`MAX_ROUNDS` rounds; a model of exactly these two kinds converges to
   its exact transform);
4. **keep what helps**: the sparse part is kept only when it lowers the validation NMSE of the dense one alone.

The sketch is the sum of both spectra (orders 0-3 from the dense tables, exact by
:func:`~shapzero_core.sketch.lowdeg.lowdeg_to_fourier`), so the closed-form explain path is unchanged. The report's
``components`` list what each part captured: cumulative held-out R^2 (on the half of the held-out set never used
for a choice), coefficients and energy by order.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..progress import CancelToken, ProgressCallback
from .decode import subsampled_transforms
from .lowdeg import LowDegreeFit, fit_low_degree, lowdeg_to_fourier
from .plan import SketchPlan
from .tuning import Decoder, component, default_noise, nmse, predict_terms, r2, tune

__all__ = ["DENSE_TOL", "MAX_ROUNDS", "ROUNDOFF", "TRIPLE_WINDOW", "combine", "decode_hybrid"]

MAX_ROUNDS = 4  # alternations of the dense and sparse parts after the first fit
#: Triples ``i < j < k`` with ``k - i <= TRIPLE_WINDOW`` get a dense table (measured on the zoo at 250k random
#: queries, dense part alone: demo CNN SHAP error 0.274 (pairs) -> 0.215 (window 4) -> 0.172 (7) -> 0.167 (10,
#: twice the triples); PWM max-scan 0.631 -> 0.529 and tree 0.050 -> 0.046 at 7).
TRIPLE_WINDOW = 7
#: Backfitting stops when a pass lowers the residual sum of squares by less than this (relative): on the zoo's CNN
#: the SHAP values agree to 4 digits with 1e-10 at 0.7x the time, while an exact model's residual keeps falling
DENSE_TOL = 1e-4
ROUNDOFF = 1e-8  # relative size below which a combined coefficient is round-off
_IMPROVE = 1e-3  # a round must lower the validation NMSE by this relative amount to count
_EXACT = 1e-12  # validation NMSE of a fit exact within round-off


def combine(parts: list[tuple[np.ndarray, np.ndarray]], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Sum several spectra: ``int8 (K, n)`` locations and ``complex128 (K,)`` coefficients, unique locations.

    Coefficients within round-off of zero (``<= ROUNDOFF`` times the largest non-constant one: what an exact fit
    leaves in tables and bins that hold nothing) are dropped; the zero frequency is always kept."""
    parts = [(np.asarray(loc, np.int8).reshape(-1, n), np.asarray(c, np.complex128)) for loc, c in parts]
    allk = np.concatenate([p[0] for p in parts] + [np.zeros((1, n), np.int8)])
    allc = np.concatenate([p[1] for p in parts] + [np.zeros(1, np.complex128)])
    uniq, inv = np.unique(allk, axis=0, return_inverse=True)
    val = np.zeros(uniq.shape[0], np.complex128)
    np.add.at(val, inv.ravel(), allc)
    const = ~uniq.any(axis=1)
    big = float(np.abs(val[~const]).max(initial=0.0))
    keep = (np.abs(val) > ROUNDOFF * big) | const
    return uniq[keep].astype(np.int8), val[keep]


def _outside_dense(locs: np.ndarray, coefs: np.ndarray, dense: LowDegreeFit) -> tuple[np.ndarray, np.ndarray]:
    """The terms of a sparse part the dense tables cannot hold: order >= 4, or order 2 / 3 on a pair / triple
    without a table."""
    nz = locs != 0
    deg = nz.sum(1)
    out = deg >= 4
    n = locs.shape[1]
    for order, sites in ((2, dense.pairs), (3, dense.triples)):
        rows = np.flatnonzero(deg == order)
        if not rows.size:
            continue
        pos = np.nonzero(nz[rows])[1].reshape(-1, order)  # increasing positions per row
        key = np.ravel_multi_index(tuple(pos.T), (n,) * order)
        have = np.ravel_multi_index(tuple(sites.T), (n,) * order) if len(sites) else np.zeros(0, np.int64)
        out[rows] = ~np.isin(key, have)
    return locs[out], coefs[out]


def _components(dense: LowDegreeFit, sparse: tuple[np.ndarray, np.ndarray] | None, X: np.ndarray,
                y: np.ndarray, q: int) -> list[dict[str, Any]]:
    """Cumulative held-out R^2 (on ``X, y``), coefficients and energy by order of each part."""
    fin = y.size >= 2
    first = LowDegreeFit(q, dense.n, dense.mean, dense.first, dense.pairs[:0], dense.tables[:0], 0)
    d2 = dense.predict(X)
    dl, dc = lowdeg_to_fourier(dense)
    rows = [
        component("constant", dl[:1], dc[:1], r2(np.full(X.shape[0], dense.mean), y) if fin else None),
        component("first order (every position)", dl, dc, r2(first.predict(X), y) if fin else None, (1,)),
        component(f"pairwise ({len(dense.pairs):,} pairs)", dl, dc,
                  (r2(dense.lower().predict(X), y) if len(dense.triples) else r2(d2, y)) if fin else None, (2,)),
    ]
    if len(dense.triples):
        rows.append(component(f"third order ({len(dense.triples):,} triples within {TRIPLE_WINDOW} positions)",
                              dl, dc, r2(d2, y) if fin else None, (3,)))
    rows[0]["coefficients"] = 1
    if sparse is not None:
        sl, sc = sparse
        rows.append(component(f"q-SFT peeling of the residual ({int(sl.any(axis=1).sum()):,} coefficients)", sl, sc,
                              r2(d2 + predict_terms(sl, sc, X, q), y) if fin else None))
    return rows


def decode_hybrid(plan: SketchPlan, values: dict[str, np.ndarray], Xv: np.ndarray, yv: np.ndarray,
                  Xr: np.ndarray, yr: np.ndarray, noise_sd: float | None, progress: ProgressCallback,
                  cancel: CancelToken | None) -> dict[str, Any]:
    """Decode a hybrid plan's queries (see the module docstring).

    Parameters
    ----------
    plan : SketchPlan
        A plan with ``config.method == "hybrid"``.
    values : dict
        ``float64`` values of every block of ``plan.block_names`` (``"c{c}_p{p}"``, ``"r{i}"``, ``"test"``).
    Xv, yv : numpy.ndarray
        ``int8 (V, n)`` / ``float64 (V,)`` validation sequences (tuning and every choice); may be empty.
    Xr, yr : numpy.ndarray
        ``int8 (R, n)`` / ``float64 (R,)`` report sequences (never used for a choice).
    noise_sd : float or None
        Fixed noise level of the bin tests, or None to tune it on ``Xv``.

    Returns
    -------
    dict
        ``locations`` ``int8 (K, n)``, ``coefficients`` ``complex128 (K,)`` (the model's transform, ``F[0]`` the
        mean), ``peeled_locations`` / ``peeled`` (the same before the refit), ``noise_sd``, ``trail`` (tuning),
        ``peel`` (the last peeling), ``components`` (see :func:`_components`) and ``hybrid`` (rounds and choices).
    """
    n, q, cfg = plan.n, plan.q, plan.config
    Xrand = plan.random_sequences()
    yrand = np.concatenate([values[nm] for nm in plan.random_blocks])
    V = np.stack([values[plan.block_name(c, p)] for c, p in plan.blocks])  # (C P, (n + 1) q^b)
    Xblocks = [plan.block_sequences(c, p) for c, p in plan.blocks]
    total = 2 + MAX_ROUNDS
    # triples only where a validation set can say whether they help
    tri: np.ndarray | int | None = TRIPLE_WINDOW if n >= 3 and yv.size >= 2 else None
    progress("dense", 0, total, f"first-order, pairwise{' and local triple' if tri else ''} tables from "
             f"{yrand.size:,} random queries")

    def fit_dense(target: np.ndarray) -> LowDegreeFit:
        return fit_low_degree(Xrand, target, q, triples=tri, tol=DENSE_TOL)

    def residual_transforms(dense: LowDegreeFit) -> tuple[np.ndarray, float]:
        R = np.stack([v - dense.predict(Xb) for v, Xb in zip(V, Xblocks, strict=True)])
        return subsampled_transforms(R.reshape(plan.C, plan.P, n + 1, plan.num_bins), plan)

    def checked() -> None:
        if cancel is not None:
            cancel.raise_if_cancelled("the sketch")

    dense = fit_dense(yrand)
    dv = dense.predict(Xv) if yv.size else np.zeros(0)
    s_without_triples = None
    if len(dense.triples):
        lower = dense.lower()
        dv_lower = lower.predict(Xv)
        s_without_triples = nmse(dv_lower, yv, float(yv.mean()))
        if not nmse(dv, yv, float(yv.mean())) < s_without_triples * (1 - _IMPROVE):
            dense, dv = lower, dv_lower
    tri = dense.triples if len(dense.triples) else None  # later rounds refit exactly these (or none)
    dense0 = dense
    checked()
    progress("dense", 1, total, f"{len(dense.pairs):,} pair and {len(dense.triples):,} triple tables kept; "
             "transforms of the residual")
    U, mu = residual_transforms(dense)
    dec = Decoder(U, mu, plan, cfg.refit)
    # a dense part exact within round-off leaves nothing to peel: one fit at a fixed level, not a tuning sweep
    # (on a 2M-query dense Potts model the sweep refitted round-off for 350 s)
    dense_exact = yv.size >= 2 and nmse(dv, yv, float(yv.mean())) < _EXACT
    if noise_sd is None and yv.size >= 2 and not dense_exact:
        fit, trail = tune(dec, Xv, yv - dv, progress, cancel)
    else:
        sig = noise_sd if noise_sd is not None else default_noise(U, plan)
        checked()
        fit, trail = dec.fit(sig), []
    sig = float(fit["noise_sd"])

    def score(dense: LowDegreeFit, dec: Decoder, fit: dict[str, Any] | None) -> float:
        if yv.size < 2:
            return float("nan")
        pred = dense.predict(Xv)
        if fit is not None:
            pred = pred + predict_terms(fit["locations"], dec.with_mean(fit["locations"], fit["coefficients"]), Xv, q)
        return nmse(pred, yv, float(yv.mean()))

    best = (score(dense, dec, fit), dense, dec, fit)
    rounds = [{"round": 0, "pairs": len(dense.pairs), "sparse_coefficients": int(fit["locations"].shape[0]),
               "validation_nmse": best[0]}]
    for k in range(1, MAX_ROUNDS + 1):
        if not np.isfinite(best[0]) or best[0] < _EXACT:
            break
        checked()
        progress("dense", 1 + k, total, f"round {k}: dense tables refitted around the sparse part")
        _, dense_k, _, fit_k = best
        hl, hc = _outside_dense(fit_k["locations"], fit_k["coefficients"], dense_k)
        dense = fit_dense(yrand - predict_terms(hl, hc, Xrand, q) if hl.shape[0] else yrand)
        U, mu = residual_transforms(dense)
        dec = Decoder(U, mu, plan, cfg.refit)
        fit = dec.fit(sig)
        s = score(dense, dec, fit)
        rounds.append({"round": k, "pairs": len(dense.pairs), "sparse_coefficients": int(fit["locations"].shape[0]),
                       "validation_nmse": s})
        if not s < best[0] * (1 - _IMPROVE):
            if s < best[0]:
                best = (s, dense, dec, fit)
            break
        best = (s, dense, dec, fit)
    s_best, dense, dec, fit = best
    s_dense = score(dense0, dec, None)
    keep_sparse = not (np.isfinite(s_best) and s_dense <= s_best)
    progress("dense", total, total, "sparse part kept" if keep_sparse else
             "the q-SFT part did not improve the validation fit: dense component alone")
    final = dense if keep_sparse else dense0
    dl, dc = lowdeg_to_fourier(final)
    if keep_sparse:
        sparse = (fit["locations"], dec.with_mean(fit["locations"], fit["coefficients"]))
        peeled = (fit["peeled_locations"], dec.with_mean(fit["peeled_locations"], fit["peeled"]))
        locs, coefs = combine([(dl, dc), sparse], n)
        plocs, pcoefs = combine([(dl, dc), peeled], n)
    else:
        sparse = None
        locs, coefs = plocs, pcoefs = combine([(dl, dc)], n)
    comps = _components(final, sparse, Xr, yr, q)
    return {
        "locations": locs, "coefficients": coefs, "peeled_locations": plocs, "peeled": pcoefs,
        "noise_sd": sig, "trail": trail, "peel": fit["peel"], "components": comps,
        "hybrid": {"random_queries": int(yrand.size), "qsft_queries": plan.num_qsft_queries,
                   "pairs": len(final.pairs), "triples": len(final.triples),
                   "validation_nmse_without_triples": s_without_triples, "rounds": rounds,
                   "sparse_kept": bool(keep_sparse), "validation_nmse_dense_only": s_dense,
                   "validation_nmse": s_best if keep_sparse else s_dense},
    }
