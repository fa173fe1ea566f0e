"""Decoding one set of subsampled transforms: peel, symmetrise, refit, and the noise level tuned on held-out
sequences (shared by the q-SFT and hybrid sketches of :mod:`shapzero_core.sketch.run`).

``Decoder.fit(noise_sd)`` peels the transforms at one noise level (method.md §3.5), adds every first-order
frequency and refits the support by least squares on all training samples, pruning coefficients within
``PRUNE_SE`` standard errors of zero. ``tune`` scores a coarse grid of noise levels, then zooms, by NMSE on
validation sequences and keeps the largest level on the plateau of the best.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np

from ..fourier import term_values
from ..progress import CancelToken, ProgressCallback
from .decode import peel, refit, symmetrize, synthesize
from .plan import SketchPlan

__all__ = ["Decoder", "candidate_noise", "component", "default_noise", "nmse", "predict_terms", "r2", "tune"]

GAMMA = 0.5
PRUNE_SE = 4.0  # refit coefficients within this many standard errors of zero are dropped
PLATEAU = 1e-3  # noise levels within this relative validation NMSE of the best count as equally good


def nmse(pred: np.ndarray, y: np.ndarray, mu: float) -> float:
    den = float(np.sum((y - mu) ** 2))
    return float(np.sum((pred - y) ** 2) / den) if den > 0 else float(np.sum((pred - y) ** 2) > 0)


def r2(pred: np.ndarray, y: np.ndarray) -> float:
    den = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - float(np.sum((pred - y) ** 2)) / den if den > 0 else float("nan")


def predict_terms(locs: np.ndarray, coefs: np.ndarray, X: np.ndarray, q: int) -> np.ndarray:
    if locs.shape[0] == 0:
        return np.zeros(X.shape[0])
    out = np.empty(X.shape[0])
    step = max(1, 1_000_000 // locs.shape[0])
    for s in range(0, X.shape[0], step):
        out[s : s + step] = term_values(locs, coefs, X[s : s + step], q).sum(1)
    return out


def component(name: str, locs: np.ndarray, coefs: np.ndarray, r2_heldout: float | None,
              orders: tuple[int, ...] | None = None) -> dict[str, Any]:
    """One row of a sketch report's ``components``: what a part of the spectrum holds.

    Parameters
    ----------
    name : str
    locs, coefs : numpy.ndarray
        ``int (K, n)`` frequencies and ``complex (K,)`` coefficients of the part.
    r2_heldout : float or None
        Held-out R^2 of the sketch up to and including this part.
    orders : tuple of int, optional
        Count only these orders (e.g. ``(1,)`` for the first-order tables); the zero frequency never counts.
    """
    deg = (np.asarray(locs) != 0).sum(1)
    keep = deg > 0 if orders is None else np.isin(deg, orders)
    e = np.abs(np.asarray(coefs)[keep]) ** 2
    d = deg[keep]
    return {"component": name, "coefficients": int(keep.sum()), "heldout_r2": r2_heldout,
            "energy_by_order": {str(int(k)): float(e[d == k].sum()) for k in np.unique(d)}}


class Decoder:
    """Peel / symmetrise / refit for one set of transforms, scored on validation sequences."""

    def __init__(self, U: np.ndarray, mu: float, plan: SketchPlan, do_refit: bool):
        self.U, self.mu, self.plan, self.do_refit = U, mu, plan, do_refit
        self._refits: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}  # support -> refit (noise levels share them)

    def fit(self, noise_sd: float) -> dict[str, Any]:
        plan = self.plan
        pr = peel(self.U, plan, noise_sd, gamma=GAMMA)
        zero = np.zeros((1, plan.n), np.int8)
        locs, peeled = symmetrize(np.concatenate([zero, pr.locations]), np.concatenate([[0j], pr.coefficients]),
                                  plan.q)
        out = {"noise_sd": noise_sd, "peel": pr, "locations": locs, "coefficients": peeled,
               "peeled_locations": locs, "peeled": peeled}
        if self.do_refit:
            # every first-order frequency joins the refit: n (q - 1) cheap columns that carry most of a dense
            # model's SHAP values; the insignificant ones are pruned again
            support = np.unique(np.concatenate([locs, self.first_order]), axis=0)
            key = support.tobytes()
            if key not in self._refits:
                self._refits[key] = self._refit(support)
            out["locations"], out["coefficients"] = self._refits[key]
        return out

    @cached_property
    def first_order(self) -> np.ndarray:
        """``int8 (n (q - 1), n)``: every frequency with one non-zero entry."""
        n, q = self.plan.n, self.plan.q
        K = np.zeros((n * (q - 1), n), np.int8)
        K[np.arange(n * (q - 1)), np.repeat(np.arange(n), q - 1)] = np.tile(np.arange(1, q, dtype=np.int8), n)
        return K

    def _refit(self, locs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Least squares on the support, then drop coefficients within ``PRUNE_SE`` standard errors of 0
        (noise peeled as a coefficient at a low threshold) and solve again on what is left."""
        plan = self.plan
        for attempt in range(3):
            c = refit(self.U, plan, locs)
            locs, c = symmetrize(locs, c, plan.q)  # exact symmetry (the LS solution is symmetric up to round-off)
            if attempt == 2:
                break
            resid = self.U - synthesize(plan, locs, c, self.U.shape)
            se = np.sqrt(float(np.mean(resid.real**2 + resid.imag**2)) / (plan.C * self.U.shape[2]))
            floor = max(PRUNE_SE * se, 1e-12 * float(np.abs(c).max(initial=0.0)))  # round-off of exact fits
            keep = (np.abs(c) > floor) | ~locs.any(axis=1)
            if keep.all():
                break
            locs = locs[keep]
        return locs, c

    def with_mean(self, locs: np.ndarray, coefs: np.ndarray) -> np.ndarray:
        c = coefs.copy()
        c[~locs.any(axis=1)] += self.mu
        return c


def candidate_noise(U: np.ndarray, plan: SketchPlan) -> np.ndarray:
    """Coarse grid of noise levels: per-entry bin-test cutoffs from the largest bin energy down 12 decades,
    plus the package's heuristic (5 % of the median |U|) and 0."""
    B, PL = plan.num_bins, U.shape[2]
    e = (np.abs(U) ** 2).sum(2) / PL  # per-entry energy of every bin
    emax = float(e.max())
    if emax <= 0:
        return np.array([0.0])
    tau = emax * np.logspace(-0.5, -12, 16)
    sig = np.sqrt(tau * B / (1 + GAMMA))
    c0 = 0.05 * float(np.median(np.abs(U)))
    pkg = np.sqrt(max(c0 - 1e-9, 0.0) * B / (1 + GAMMA))
    return np.unique(np.concatenate([sig, [pkg, 0.0]]))[::-1]


def default_noise(U: np.ndarray, plan: SketchPlan) -> float:
    """The noise level used without tuning: the second-smallest candidate (0 when every bin is exactly 0)."""
    cand = candidate_noise(U, plan)
    return float(cand[-2]) if cand.size >= 2 else float(cand[0])


def tune(dec: Decoder, Xv: np.ndarray, yv: np.ndarray, progress: ProgressCallback,
          cancel: CancelToken | None, max_rounds: int = 2) -> tuple[dict[str, Any], list[dict[str, float]]]:
    """Pick the noise level with the smallest validation NMSE (coarse grid, then zoom)."""
    plan = dec.plan
    tried: dict[float, tuple[float, dict[str, Any]]] = {}

    def score(sig: float) -> float:
        if sig in tried:
            return tried[sig][0]
        if cancel is not None:
            cancel.raise_if_cancelled("the sketch")
        fit = dec.fit(float(sig))
        pred = predict_terms(fit["locations"], dec.with_mean(fit["locations"], fit["coefficients"]), Xv, plan.q)
        tried[sig] = (nmse(pred, yv, dec.mu), fit)
        return tried[sig][0]

    grid = candidate_noise(dec.U, plan)
    total = len(grid) + 8 * max_rounds
    step = 0
    for sig in grid:
        step += 1
        v = score(float(sig))
        progress("tune", step, total, f"noise_sd {sig:.3g}: validation NMSE {v:.3g}")
        if v < 1e-12:
            break
    for _ in range(max_rounds):
        best = min(tried, key=lambda s: tried[s][0])
        if tried[best][0] < 1e-12:
            break
        sigs = sorted(tried)
        i = sigs.index(best)
        lo = sigs[i - 1] if i > 0 else best / 3
        hi = sigs[i + 1] if i + 1 < len(sigs) else best * 3
        lo = max(lo, best / 30) if best > 0 else lo
        zoom = np.geomspace(max(lo, 1e-300), hi, 10)[1:-1] if hi > 0 else []
        before = tried[best][0]
        for sig in zoom:
            step += 1
            v = score(float(sig))
            progress("tune", step, total, f"noise_sd {sig:.3g}: validation NMSE {v:.3g}")
        if min(v for v, _ in tried.values()) >= before * (1 - 1e-3):
            break
    # the largest noise level on the plateau of the best validation NMSE: a lower threshold only adds noise
    # peeled as (often high-order) coefficients without improving the fit
    vmin = min(v for v, _ in tried.values())
    best = max(s for s, (v, _) in tried.items() if v <= vmin * (1 + PLATEAU) + 1e-15)
    trail = [{"noise_sd": float(s), "nmse": float(tried[s][0])} for s in sorted(tried)]
    return tried[best][1], trail


