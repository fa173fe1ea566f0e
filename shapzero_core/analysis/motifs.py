"""Hypothetical contributions (the SHAP value every letter would have at every position), the scores TF-MoDISco
takes (:mod:`.modisco`). Motif discovery itself is TF-MoDISco's (modisco-lite), which replaced this module's
own seqlet / k-mer grouping."""

from __future__ import annotations

import numpy as np

from ..background import DEFAULT_PSEUDOCOUNT, Background, background_hypothetical
from ..fourier import _CHUNK_ELEMS, FourierSketch
from ..shapley import _non_uniform


# ============================================================================================== modisco
def hypothetical_shap(sketch: FourierSketch, X: np.ndarray, background: object = None,
                      pseudocount: float = DEFAULT_PSEUDOCOUNT) -> np.ndarray:
    """SHAP value every letter would receive at every position, the rest of the sequence unchanged.

    ``H[s, a, i] = phi_i(x_s with x_i := a)``, computed in closed form from the sketch (no model calls):
    changing ``x_i`` by ``delta`` multiplies the term of ``k`` by ``w^{k_i delta}``, so
    ``H = Re(sum_{k: k_i != 0} F[k] w^{<k,x>} w^{k_i delta} / |k|)`` for ``delta = a - x_i``.
    ``H[s, x_si, i]`` is the ordinary SHAP value. This is what TF-MoDISco calls hypothetical
    contributions.

    Summed over the letters, ``H`` is 0 at every position (each term with ``k_i != 0`` averages out over
    ``delta``), the mean-centred convention TF-MoDISco expects.

    Parameters
    ----------
    sketch : FourierSketch
    X : numpy.ndarray
        ``int (N, L)`` sequences as for :func:`~shapzero_core.analysis.explain_sequences` (with a template:
        full length, or its free positions).
    background, pseudocount
        As for :func:`shapzero_core.shapley.shap_values` (default uniform). Under a non-uniform background the
        letters' values no longer sum to 0 at a position (the background's own letters are the reference).

    Returns
    -------
    numpy.ndarray
        ``float32 (N, q, L)``; with a template, full coordinates and 0 at the fixed positions (their letter
        cannot change).
    """
    from .explanation import full_codes

    tpl = sketch.template
    bg = _non_uniform(sketch, background, pseudocount)
    if tpl is not None:
        Xf = tpl.restrict(full_codes(sketch, X), check=False)
        return tpl.to_full(_hypothetical_free(sketch, Xf, bg), axis=2)
    return _hypothetical_free(sketch, sketch.check_sequences(X), bg)


def _hypothetical_free(sketch: FourierSketch, X: np.ndarray, bg: Background | None = None) -> np.ndarray:
    """:func:`hypothetical_shap` in the sketch's own coordinates (``X`` validated ``int8 (N, n)``)."""
    if bg is not None:
        return background_hypothetical(sketch, X, bg)
    q, n = sketch.q, sketch.n
    deg = sketch.degrees
    keep = deg > 0
    loc = sketch.locations[keep].astype(np.int64)
    coef = sketch.coefficients[keep]
    deg = deg[keep]
    N = X.shape[0]
    out = np.zeros((N, q, n), dtype=np.float32)
    if loc.shape[0] == 0 or N == 0:
        return out
    K = loc.shape[0]
    w = np.exp(2j * np.pi * np.arange(q) / q)
    # Wd[delta] (K, n): w^{k_i delta} [k_i != 0] / |k|
    Wd = np.stack([np.where(loc != 0, w[(loc * dl) % q], 0) / deg[:, None] for dl in range(q)])
    step = max(1, _CHUNK_ELEMS // (2 * K))
    cols = np.arange(n)
    for s0 in range(0, N, step):
        Xc = X[s0 : s0 + step].astype(np.int64)
        C = coef[None, :] * w[(Xc @ loc.T) % q]  # (Nc, K) complex terms F[k] w^{<k,x>}
        H = np.stack([(C @ Wd[dl]).real for dl in range(q)])  # (q_delta, Nc, n)
        for a in range(q):
            delta = (a - Xc) % q  # (Nc, n)
            out[s0 : s0 + step, a, :] = H[delta, np.arange(Xc.shape[0])[:, None], cols[None, :]]
    return out
