"""A dense low-degree component (constant + every first-order + pairwise term) fitted on uniform random queries.

Under uniform sampling the q-ary Fourier basis is orthogonal, so the least-squares fit of an additive-plus-pairwise
model is well conditioned and needs no matrix: *backfitting* over ANOVA tables converges in a few passes. Per
position ``i`` the table ``g_i(a)`` is the mean of the partial residual over the samples with ``x_i = a``; per pair
``(i, j)`` the table ``h_ij(a, b)`` is the mean over ``x_i * q + x_j`` (one ``np.bincount`` each), centred
(first order) or doubly centred (pairs) so that each table is a pure ANOVA effect. Every table is shrunk by a
positive-part James-Stein factor ``max(0, 1 - noise / energy)`` (the noise energy a table of pure noise would
have, from the residual variance and the cell counts), so tables of noise do not enter.

The centred tables are exactly q-ary Fourier coefficients of order 1 and 2 (:func:`lowdeg_to_fourier`):
``F[k e_i] = q^-1 sum_a g_i(a) w^{-k a}`` and ``F[k_i e_i + k_j e_j] = q^-2 sum_{a,b} h_ij(a, b) w^{-(k_i a + k_j b)}``
(``k``'s non-zero), so the closed-form explain path of :class:`~shapzero_core.fourier.FourierSketch` is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["LowDegreeFit", "all_pairs", "fit_low_degree", "lowdeg_to_fourier"]

_CHUNK = 65_536  # rows per chunk of LowDegreeFit.predict


@dataclass(frozen=True)
class LowDegreeFit:
    """A fitted constant + first-order + pairwise model.

    Attributes
    ----------
    q, n : int
    mean : float
        The constant term ``F[0]``.
    first : numpy.ndarray
        ``float64 (n, q)`` centred first-order tables (each row sums to 0).
    pairs : numpy.ndarray
        ``int64 (P, 2)`` position pairs ``i < j`` with a table.
    tables : numpy.ndarray
        ``float64 (P, q, q)`` doubly centred pair tables (every row and column sums to 0).
    passes : int
        Backfitting passes run.
    """

    q: int
    n: int
    mean: float
    first: np.ndarray
    pairs: np.ndarray
    tables: np.ndarray
    passes: int

    def predict(self, X: np.ndarray) -> np.ndarray:
        """``float64 (N,)`` values of the fitted model at ``X`` (``int (N, n)`` letter codes), in row chunks
        (memory ``O(chunk * n)`` beyond the output)."""
        X = np.asarray(X)
        y = np.full(X.shape[0], self.mean)
        flat = self.tables.reshape(len(self.pairs), self.q * self.q)
        for s in range(0, X.shape[0], _CHUNK):
            XT = np.ascontiguousarray(X[s : s + _CHUNK].T).astype(np.int16)  # (n, rows)
            out = y[s : s + _CHUNK]
            for i in range(self.n):
                out += self.first[i, XT[i]]
            for p, (i, j) in enumerate(self.pairs):
                out += flat[p, XT[i] * self.q + XT[j]]
        return y


def all_pairs(n: int) -> np.ndarray:
    """``int64 (n (n - 1) / 2, 2)``: every pair ``i < j``."""
    i, j = np.triu_indices(n, 1)
    return np.stack([i, j], axis=1).astype(np.int64)


def _centre2(h: np.ndarray) -> np.ndarray:
    return h - h.mean(axis=1, keepdims=True) - h.mean(axis=0, keepdims=True) + h.mean()


def fit_low_degree(
    X: np.ndarray,
    y: np.ndarray,
    q: int,
    *,
    pairs: np.ndarray | str | None = "all",
    max_params: float = 0.25,
    passes: int = 6,
    tol: float = 1e-10,
    shrink: bool = True,
) -> LowDegreeFit:
    """Backfit constant + first-order + pairwise ANOVA tables on uniform random queries.

    Parameters
    ----------
    X : numpy.ndarray
        ``int (N, n)`` letter codes, uniformly random.
    y : numpy.ndarray
        ``float (N,)`` model values.
    q : int
    pairs : "all", None or numpy.ndarray
        ``"all"``: every pair, screened by energy when ``(q - 1)^2 * C(n, 2)`` exceeds ``max_params * N``
        (then only the strongest pairs within that many parameters are kept); ``None``: first order only;
        an ``int (P, 2)`` array: exactly these pairs.
    max_params : float
        Parameters allowed per sample when screening pairs.
    passes : int
        Maximum backfitting passes.
    tol : float
        Stop when a pass changes the residual sum of squares by less than ``tol`` (relative).
    shrink : bool
        James-Stein shrinkage of every table (off: plain least squares by backfitting).

    Returns
    -------
    LowDegreeFit
    """
    X = np.asarray(X)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"X must be (N, n) and y (N,), got {X.shape} and {y.shape}")
    N, n = X.shape
    # one contiguous int16 row per position (2 bytes per letter, not 8); pair codes x_i q + x_j are formed on
    # the fly, so memory stays O(N n) bytes whatever the number of pairs
    XT = np.ascontiguousarray(X.T).astype(np.int16)
    if N < 2:
        raise ValueError(f"the low-degree fit needs at least 2 random queries, got {N}")
    mean = float(y.mean())
    r = y - mean
    first = np.zeros((n, q))
    cnt1 = [np.bincount(XT[i], minlength=q).astype(np.float64) for i in range(n)]

    def s2() -> float:
        return float(np.mean(r**2))

    def table1(i: int) -> np.ndarray:
        part = r + first[i, XT[i]]
        t = np.bincount(XT[i], weights=part, minlength=q) / np.maximum(cnt1[i], 1.0)
        t = t - t.mean()
        if shrink:
            noise = (q - 1) * s2() * q / N
            e = float(np.sum(t**2))
            t = t * (max(0.0, 1.0 - noise / e) if e > 0 else 0.0)
        return t

    # first order alone, to a fixed point (also the residual the pair screening looks at)
    for _ in range(2):
        for i in range(n):
            t = table1(i)
            r -= t[XT[i]] - first[i, XT[i]]
            first[i] = t
    if isinstance(pairs, str):
        if pairs != "all":
            raise ValueError(f"pairs must be 'all', None or an (P, 2) array, got {pairs!r}")
        P = all_pairs(n)
    elif pairs is None:
        P = np.zeros((0, 2), np.int64)
    else:
        P = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        if P.size and (P.min() < 0 or P.max() >= n or np.any(P[:, 0] >= P[:, 1])):
            raise ValueError(f"pairs must be (i, j) with 0 <= i < j < n={n}")
    def code(p: int) -> np.ndarray:
        i, j = P[p]
        return XT[i] * q + XT[j]

    cnt2 = [np.bincount(code(p), minlength=q * q).astype(np.float64) for p in range(len(P))]
    tables = np.zeros((len(P), q, q))
    noise2 = (q - 1) ** 2 * q * q / N  # times the residual variance: energy of a pure-noise pair table

    def table2(p: int, c: np.ndarray) -> np.ndarray:
        part = r + tables[p].ravel()[c]
        t = _centre2((np.bincount(c, weights=part, minlength=q * q) / np.maximum(cnt2[p], 1.0)).reshape(q, q))
        if shrink:
            e = float(np.sum(t**2))
            t = t * (max(0.0, 1.0 - noise2 * s2() / e) if e > 0 else 0.0)
        return t

    if isinstance(pairs, str) and len(P) * (q - 1) ** 2 > max_params * N:
        energy = np.array([float(np.sum(table2(p, code(p)) ** 2)) for p in range(len(P))])
        keep = max(1, int(max_params * N // (q - 1) ** 2))
        sel = np.sort(np.argsort(-energy, kind="stable")[:keep])
        sel = sel[energy[sel] > 0]
        P = P[sel]
        cnt2 = [cnt2[p] for p in sel]
        tables = np.zeros((len(P), q, q))
    rss = float(np.sum(r**2))
    done = 0
    for done in range(1, passes + 1):  # noqa: B007 (reported)
        shift = float(r.mean())  # the constant is backfitted too: the tables' sample means are not exactly 0
        mean += shift
        r -= shift
        for i in range(n):
            t = table1(i)
            r -= t[XT[i]] - first[i, XT[i]]
            first[i] = t
        for p in range(len(P)):
            c = code(p)
            t = table2(p, c)
            r -= (t - tables[p]).ravel()[c]
            tables[p] = t
        new = float(np.sum(r**2))
        if abs(rss - new) <= tol * max(rss, 1e-300):
            rss = new
            break
        rss = new
    return LowDegreeFit(q=int(q), n=int(n), mean=mean, first=first, pairs=P, tables=tables, passes=done)


def lowdeg_to_fourier(fit: LowDegreeFit, *, drop: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The exact q-ary Fourier coefficients of a :class:`LowDegreeFit` (orders 0, 1, 2).

    Parameters
    ----------
    fit : LowDegreeFit
    drop : float
        Coefficients with ``|F[k]| <= drop`` are left out (0: only exact zeros, from shrunk-away tables).

    Returns
    -------
    locations : numpy.ndarray
        ``int8 (K, n)``; row 0 is the zero frequency.
    coefficients : numpy.ndarray
        ``complex128 (K,)``; conjugate-symmetric (the model is real).
    """
    q, n = fit.q, fit.n
    locs = [np.zeros((1, n), np.int8)]
    vals = [np.array([fit.mean], np.complex128)]
    G = np.fft.fft(fit.first, axis=1) / q  # (n, q): F[k e_i] = q^-1 sum_a g(a) w^{-k a}
    ii, kk = np.nonzero(np.abs(G[:, 1:]) > drop)
    K1 = np.zeros((ii.size, n), np.int8)
    K1[np.arange(ii.size), ii] = kk + 1
    locs.append(K1)
    vals.append(G[ii, kk + 1])
    if len(fit.pairs):
        H = np.fft.fft2(fit.tables, axes=(1, 2)) / (q * q)  # (P, q, q)
        p, a, b = np.nonzero(np.abs(H[:, 1:, 1:]) > drop)
        K2 = np.zeros((p.size, n), np.int8)
        K2[np.arange(p.size), fit.pairs[p, 0]] = a + 1
        K2[np.arange(p.size), fit.pairs[p, 1]] = b + 1
        locs.append(K2)
        vals.append(H[p, a + 1, b + 1])
    return np.concatenate(locs), np.concatenate(vals)
