"""A dense low-degree component (constant + every first-order + pairwise term, optionally local triples) fitted on
uniform random queries.

Under uniform sampling the q-ary Fourier basis is orthogonal, so the least-squares fit of an additive-plus-pairwise
model is well conditioned and needs no matrix: *backfitting* over ANOVA tables converges in a few passes. Per
position ``i`` the table ``g_i(a)`` is the mean of the partial residual over the samples with ``x_i = a``; per pair
``(i, j)`` the table ``h_ij(a, b)`` is the mean over ``x_i * q + x_j`` (one ``np.bincount`` each), centred
(first order) or doubly centred (pairs) so that each table is a pure ANOVA effect. Triples ``(i, j, k)`` (e.g. every
triple within a window of positions, :func:`local_triples`: the motif-scale interactions of a convolutional model)
are tables over ``(x_i q + x_j) q + x_k``, triply centred, fitted jointly with the pairs once those have settled. Every table is shrunk by a
positive-part James-Stein factor ``max(0, 1 - noise / energy)`` (the noise energy a table of pure noise would
have, from the residual variance and the cell counts), so tables of noise do not enter.

The centred tables are exactly q-ary Fourier coefficients of order 1, 2 and 3 (:func:`lowdeg_to_fourier`):
``F[k e_i] = q^-1 sum_a g_i(a) w^{-k a}``, ``F[k_i e_i + k_j e_j] = q^-2 sum_{a,b} h_ij(a, b) w^{-(k_i a + k_j b)}``
and likewise ``q^-3`` times the 3-d transform of a triple table (``k``'s non-zero), so the closed-form explain path
of :class:`~shapzero_core.fourier.FourierSketch` is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

__all__ = ["LowDegreeFit", "all_pairs", "fit_low_degree", "local_triples", "lowdeg_to_fourier"]

_CHUNK = 65_536  # rows per chunk of LowDegreeFit.predict
_PAIR_PASSES_BEFORE_TRIPLES = 2


_EMPTY3 = np.zeros((0, 3), np.int64)


@dataclass(frozen=True)
class LowDegreeFit:
    """A fitted constant + first-order + pairwise (+ triple) model.

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
    triples : numpy.ndarray
        ``int64 (T, 3)`` position triples ``i < j < k`` with a table (empty: none).
    tables3 : numpy.ndarray
        ``float64 (T, q, q, q)`` triply centred triple tables (every axis sums to 0).
    """

    q: int
    n: int
    mean: float
    first: np.ndarray
    pairs: np.ndarray
    tables: np.ndarray
    passes: int
    triples: np.ndarray = field(default_factory=lambda: _EMPTY3.copy())
    tables3: np.ndarray = field(default_factory=lambda: np.zeros((0, 1, 1, 1)))

    def lower(self) -> LowDegreeFit:
        """The same fit without its triple tables (orders 0-2 only)."""
        return replace(self, triples=_EMPTY3.copy(), tables3=np.zeros((0, self.q, self.q, self.q)))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """``float64 (N,)`` values of the fitted model at ``X`` (``int (N, n)`` letter codes), in row chunks
        (memory ``O(chunk * n)`` beyond the output)."""
        X = np.asarray(X)
        y = np.full(X.shape[0], self.mean)
        q = self.q
        flat = self.tables.reshape(len(self.pairs), q * q)
        flat3 = self.tables3.reshape(len(self.triples), q**3)
        for s in range(0, X.shape[0], _CHUNK):
            XT = np.ascontiguousarray(X[s : s + _CHUNK].T).astype(np.int32)  # (n, rows)
            out = y[s : s + _CHUNK]
            for i in range(self.n):
                out += self.first[i, XT[i]]
            for p, (i, j) in enumerate(self.pairs):
                out += flat[p, XT[i] * q + XT[j]]
            for t, (i, j, k) in enumerate(self.triples):
                out += flat3[t, (XT[i] * q + XT[j]) * q + XT[k]]
        return y


def all_pairs(n: int) -> np.ndarray:
    """``int64 (n (n - 1) / 2, 2)``: every pair ``i < j``."""
    i, j = np.triu_indices(n, 1)
    return np.stack([i, j], axis=1).astype(np.int64)


def local_triples(n: int, window: int) -> np.ndarray:
    """``int64 (T, 3)``: every triple ``i < j < k < n`` with ``k - i <= window`` (``window >= 2``; all triples when
    ``window >= n - 1``)."""
    if window < 2:
        raise ValueError(f"a triple window must be at least 2 positions, got {window}")
    rows = [(i, j, k) for i in range(n) for j in range(i + 1, min(n, i + window + 1))
            for k in range(j + 1, min(n, i + window + 1))]
    return np.array(rows, np.int64).reshape(-1, 3)


def _centre(h: np.ndarray) -> np.ndarray:
    """The pure interaction part of a table: centred along every axis (the ANOVA projection)."""
    for ax in range(h.ndim):
        h = h - h.mean(axis=ax, keepdims=True)
    return h


def fit_low_degree(
    X: np.ndarray,
    y: np.ndarray,
    q: int,
    *,
    pairs: np.ndarray | str | None = "all",
    triples: np.ndarray | int | None = None,
    max_params: float = 0.25,
    passes: int = 6,
    tol: float = 1e-10,
    shrink: bool = True,
) -> LowDegreeFit:
    """Backfit constant + first-order + pairwise (+ triple) ANOVA tables on uniform random queries.

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
    triples : None, int or numpy.ndarray
        ``None``: no triples; an int ``w``: every triple within ``w`` positions (:func:`local_triples`), screened
        by energy on the residual of the pairwise fit to the parameters left within ``max_params * N``; an
        ``int (T, 3)`` array: exactly these triples (``i < j < k``).
    max_params : float
        Parameters allowed per sample when screening pairs and triples.
    passes : int
        Maximum backfitting passes (of the pairwise fit, and again of the joint fit with triples).
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
    # one contiguous int16 row per position (2 bytes per letter, not 8; int32 when a triple code needs it); pair
    # and triple codes are formed on the fly, so memory stays O(N n) bytes whatever the number of tables
    XT = np.ascontiguousarray(X.T).astype(np.int16 if q**3 < 2**15 else np.int32)
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
        P = _check_groups(pairs, 2, n, "pairs")
    if triples is None:
        T3 = _EMPTY3.copy()
    elif isinstance(triples, (int, np.integer)):
        T3 = local_triples(n, int(triples))
    else:
        T3 = _check_groups(triples, 3, n, "triples")
    groups = [_Group(XT, P, q, N), _Group(XT, T3[:0], q, N)]

    def table(g: _Group, m: int, c: np.ndarray) -> np.ndarray:
        t = _centre((np.bincount(c, weights=r + g.tables[m][c], minlength=g.cells) /
                     np.maximum(g.counts[m], 1.0)).reshape((q,) * g.order)).ravel()
        if shrink:
            e = float(np.sum(t**2))
            t = t * (max(0.0, 1.0 - g.noise * s2() / e) if e > 0 else 0.0)
        return t

    def screen(g: _Group, budget: float, forced: bool) -> None:
        """Keep the strongest tables of ``g`` within ``budget`` parameters (all of them when they fit)."""
        if forced or len(g.sites) * (q - 1) ** g.order <= budget:
            return
        energy = np.array([float(np.sum(table(g, m, g.code(m)) ** 2)) for m in range(len(g.sites))])
        keep = int(max(0.0, budget) // (q - 1) ** g.order)
        keep = max(1, keep) if g.order == 2 else keep  # at least the strongest pair
        sel = np.sort(np.argsort(-energy, kind="stable")[:keep])
        g.select(sel[energy[sel] > 0])

    def backfit(active: list[_Group], passes: int) -> int:
        nonlocal mean, r
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
            for g in active:
                for m in range(len(g.sites)):
                    c = g.code(m)
                    t = table(g, m, c)
                    r -= (t - g.tables[m])[c]
                    g.tables[m] = t
            new = float(np.sum(r**2))
            if abs(rss - new) <= tol * max(rss, 1e-300):
                break
            rss = new
        return done

    screen(groups[0], max_params * N, forced=not isinstance(pairs, str))
    # with triples to come, a few passes settle the pairs enough to screen the triples on their residual; the
    # joint passes then refine both
    done = backfit(groups[:1], min(passes, _PAIR_PASSES_BEFORE_TRIPLES) if len(T3) else passes)
    if len(T3):
        left = max_params * N - n * (q - 1) - len(groups[0].sites) * (q - 1) ** 2
        forced = not isinstance(triples, (int, np.integer))
        if not forced and left < (q - 1) ** 3:  # no room for a single table (q = 20): not even counted
            T3 = T3[:0]
        groups[1] = _Group(XT, T3, q, N)
        screen(groups[1], left, forced=forced)
        if len(groups[1].sites):
            done += backfit(groups, passes)
        else:  # no triple kept: the pairs get the passes they would have had alone
            done += backfit(groups[:1], passes - done)
    g2, g3 = groups
    return LowDegreeFit(q=int(q), n=int(n), mean=mean, first=first, pairs=g2.sites,
                        tables=g2.tables.reshape(-1, q, q), passes=done, triples=g3.sites,
                        tables3=g3.tables.reshape(-1, q, q, q))


def _check_groups(sites: np.ndarray, order: int, n: int, name: str) -> np.ndarray:
    S = np.asarray(sites, dtype=np.int64).reshape(-1, order)
    if S.size and (S.min() < 0 or S.max() >= n or np.any(np.diff(S, axis=1) <= 0)):
        raise ValueError(f"{name} must be increasing positions (i < j{' < k' if order == 3 else ''}) in 0..{n - 1}")
    return S


class _Group:
    """The tables of one order (pairs or triples) during a fit: sites, cell counts, flat tables, noise energy."""

    def __init__(self, XT: np.ndarray, sites: np.ndarray, q: int, N: int) -> None:
        self.XT, self.q, self.order = XT, q, sites.shape[1]
        self.cells = q**self.order
        self.sites = sites
        self.counts = [np.bincount(self.code(m), minlength=self.cells).astype(np.float64) for m in range(len(sites))]
        self.tables = np.zeros((len(sites), self.cells))
        # times the residual variance: the energy of a table of pure noise ((q - 1)^d free cells, q^d / N each)
        self.noise = (q - 1) ** self.order * self.cells / N

    def code(self, m: int) -> np.ndarray:
        c = self.XT[self.sites[m, 0]]
        for pos in self.sites[m, 1:]:
            c = c * self.q + self.XT[pos]
        return c

    def select(self, sel: np.ndarray) -> None:
        self.sites = self.sites[sel]
        self.counts = [self.counts[m] for m in sel]
        self.tables = self.tables[sel]


def lowdeg_to_fourier(fit: LowDegreeFit, *, drop: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The exact q-ary Fourier coefficients of a :class:`LowDegreeFit` (orders 0-2, and 3 on its triples).

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
    if len(fit.triples):
        H3 = np.fft.fftn(fit.tables3, axes=(1, 2, 3)) / q**3  # (T, q, q, q)
        t, a, b, c = np.nonzero(np.abs(H3[:, 1:, 1:, 1:]) > drop)
        K3 = np.zeros((t.size, n), np.int8)
        rows = np.arange(t.size)
        for col, k in enumerate((a, b, c)):
            K3[rows, fit.triples[t, col]] = k + 1
        locs.append(K3)
        vals.append(H3[t, a + 1, b + 1, c + 1])
    return np.concatenate(locs), np.concatenate(vals)
