"""Planted-motif models to check motif discovery end to end: the best match of a JASPAR matrix (e.g. CTCF,
MA0139) at any offset on either strand (a PWM scan), and sequences that carry sampled sites of it.

::

    from shapzero_core.pwm_scan import PwmScan, jaspar_ppm, sequences_with_instances

    ppm = jaspar_ppm("MA0139")                     # (w, 4) from pyjaspar's offline JASPAR2024
    model = PwmScan(ppm, n=30)                     # int8 (N, 30) -> best log2-odds score over offsets, strands
    X, offsets = sequences_with_instances(ppm, 2000, 30)

Used by ``tests/test_motifs_modisco.py`` and ``bench/bench_motifs.py``: the sketch of such a model is
approximate (a maximum over offsets is not sparse), which is realistic, and TF-MoDISco on its hypothetical SHAP
values must give back the planted matrix as the best TOMTOM match.
"""

from __future__ import annotations

import hashlib

import numpy as np

from .analysis.matching import load_jaspar

__all__ = ["PwmScan", "jaspar_ppm", "sequences_with_instances"]


def jaspar_ppm(motif_id: str = "MA0139", release: str = "JASPAR2024") -> np.ndarray:
    """``float64 (w, 4)`` letter probabilities of a JASPAR CORE vertebrate matrix."""
    db = load_jaspar(release, "CORE", "vertebrates")
    return db.matrices[db.index(motif_id)].T.copy()


class PwmScan:
    """``f(x)`` = the best log2-odds score of the motif over every offset and both strands (``n`` letters).

    Parameters
    ----------
    ppm : numpy.ndarray
        ``float (w, 4)`` letter probabilities (A, C, G, T).
    n : int
        Sequence length (at least ``w``).
    pseudocount : float
        Added to every probability before the log-odds against a uniform background.
    """

    def __init__(self, ppm: np.ndarray, n: int, pseudocount: float = 0.01) -> None:
        P = (ppm + pseudocount) / (ppm + pseudocount).sum(axis=1, keepdims=True)
        self.W = np.log2(P / 0.25)  # (w, 4)
        self.Wrc = self.W[::-1, ::-1]  # reverse complement (A<->T, C<->G)
        self.n = n
        self.w = self.W.shape[0]
        self.identity = f"pwm-scan-{n}-" + hashlib.sha256(self.W.tobytes()).hexdigest()[:16]

    def scores(self, X: np.ndarray) -> np.ndarray:
        """``float64 (N, 2 (n - w + 1))``: the score at every offset, forward and reverse strand."""
        X = np.asarray(X, dtype=np.intp)
        cols = np.arange(self.w)
        out = np.empty((X.shape[0], 2 * (self.n - self.w + 1)))
        for o in range(self.n - self.w + 1):
            win = X[:, o : o + self.w]
            out[:, 2 * o] = self.W[cols, win].sum(axis=1)
            out[:, 2 * o + 1] = self.Wrc[cols, win].sum(axis=1)
        return out

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """``int (N, n)`` codes -> ``float64 (N,)`` best score."""
        return self.scores(X).max(axis=1)


def sequences_with_instances(ppm: np.ndarray, N: int, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``int8 (N, n)`` uniform random sequences, each with one instance sampled from ``ppm`` at a random offset
    and strand; also the offsets."""
    rng = np.random.default_rng(seed)
    w = ppm.shape[0]
    X = rng.integers(0, 4, size=(N, n)).astype(np.int8)
    offs = rng.integers(0, n - w + 1, N)
    cum = np.cumsum(ppm, axis=1)
    inst = (rng.random((N, w, 1)) > cum[None, :, :]).sum(axis=2).astype(np.int8)  # (N, w) sampled letters
    rc = rng.random(N) < 0.5
    inst[rc] = 3 - inst[rc, ::-1]
    for s in range(N):
        X[s, offs[s] : offs[s] + w] = inst[s]
    return X, offs
