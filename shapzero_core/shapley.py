"""Exact Shapley values and interaction indices from a sparse Fourier transform (no model calls).

The explained game is interventional SHAP with a uniform background (method.md §2.1)::

    v_x(S) = E_{z ~ Unif} f(x_S, z_rest) = sum_{k : supp(k) ⊆ S} F[k] w^{<k,x>}

so its Möbius transform (Harsanyi dividends, = all-order Faith-Shap) is
``a_x(T) = sum_{supp(k) = T} Re(F[k] w^{<k,x>})`` and the Shapley value is
``phi_i(x) = sum_{k_i != 0} Re(F[k] w^{<k,x>}) / |supp k|`` (method.md §2.2, §2.4). Every other index is a
fixed linear map of the Möbius coefficients (method.md §2.5)::

    SII(S)      = sum_{T ⊇ S} a(T) / (|T| - |S| + 1)
    Banzhaf(S)  = sum_{T ⊇ S} a(T) / 2^(|T| - |S|)
    STII_l(S)   = sum_{T ⊇ S} a(T) / C(|T|, l)   if |S| = l;   a(S) if |S| < l
    FSI_l(S)    = a(S) + (-1)^(l-|S|) |S|/(l+|S|) C(l,|S|) sum_{T ⊋ S, |T| > l} C(|T|-1, l) / C(|T|+l-1, l+|S|) a(T)

All of it is vectorised: one BLAS product gives ``<k,x>`` for a chunk of sequences and all coefficients,
a table lookup gives the real term values ``(N, K)``, and dense / sparse matrix products give SHAP values
and interaction values. There is no Python loop over sequences or coefficients in the hot path; the only
Python loop enumerates the distinct supports of the sketch once (structure, not data).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from math import comb

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .alphabet import Alphabet
from .background import (
    DEFAULT_PSEUDOCOUNT,
    MAX_SUBSET_DEGREE,
    Background,
    background_baseline,
    background_mobius,
    background_shap,
    group_by_support,
    resolve_background,
)
from .fourier import _CHUNK_ELEMS, FourierSketch, term_values

__all__ = ["INDICES", "Interactions", "baseline", "interactions", "shap_values"]

INDICES: tuple[str, ...] = ("mobius", "faith-shap", "sii", "stii", "banzhaf")
_ALIASES = {
    "mobius": "mobius",
    "möbius": "mobius",
    "moebius": "mobius",
    "faith-shap-all": "mobius",
    "faith-shap": "faith-shap",
    "faithshap": "faith-shap",
    "fsi": "faith-shap",
    "fsii": "faith-shap",
    "sii": "sii",
    "stii": "stii",
    "shapley-taylor": "stii",
    "banzhaf": "banzhaf",
    "bii": "banzhaf",
}


def _non_uniform(sketch: FourierSketch, background: object, pseudocount: float) -> Background | None:
    """The resolved background, or None for the uniform game (the fast path)."""
    if background is None or (isinstance(background, str) and background.strip().lower() == "uniform"):
        return None
    bg = resolve_background(sketch, background, pseudocount)  # type: ignore[arg-type]
    return None if bg.is_uniform else bg


def baseline(sketch: FourierSketch, background: object = None, pseudocount: float = DEFAULT_PSEUDOCOUNT) -> float:
    """The value of the empty coalition: ``F[0]`` (the model's mean over all sequences) for the uniform
    background, ``E_{z ~ p} f(z)`` for a background ``p`` (see :mod:`shapzero_core.background`).

    Efficiency: ``shap_values(sketch, X, bg).sum(1) == sketch.predict(X) - baseline(sketch, bg)``.
    """
    bg = _non_uniform(sketch, background, pseudocount)
    return sketch.mean if bg is None else background_baseline(sketch, bg)


def _nonzero_part(sketch: FourierSketch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    deg = sketch.degrees
    keep = deg > 0
    return sketch.locations[keep], sketch.coefficients[keep], deg[keep]


def _chunks(N: int, K: int) -> range:
    step = max(1, _CHUNK_ELEMS // max(K, 1))
    return range(0, N, step)


def shap_values(sketch: FourierSketch, X: np.ndarray, background: object = None,
                pseudocount: float = DEFAULT_PSEUDOCOUNT) -> np.ndarray:
    """Exact SHAP values (interventional, against a background; uniform by default).

    Parameters
    ----------
    sketch : FourierSketch
        Sparse transform of the model, ``K`` coefficients over sequences of length ``n``.
    X : numpy.ndarray
        ``int (N, n)`` letter codes in ``[0, q)``.
    background : None, "uniform", Background, numpy.ndarray or SequenceSet
        What fills the positions outside a coalition: uniform letters (default), a table ``(n, q)`` of
        per-position letter probabilities, or sequences whose per-position frequencies are used (with
        ``pseudocount``). See :func:`shapzero_core.background.resolve_background`. A non-uniform background
        costs ``O(|k|^2)`` per coefficient instead of ``O(|k|)``.
    pseudocount : float
        For a background given as sequences.

    Returns
    -------
    numpy.ndarray
        ``float64 (N, n)``: ``phi[s, i]`` is the SHAP value of position ``i`` (0-based) in sequence ``s``.
        Rows sum to ``sketch.predict(X) - baseline(sketch, background)``.
    """
    X = sketch.check_sequences(X)
    bg = _non_uniform(sketch, background, pseudocount)
    if bg is not None:
        return background_shap(sketch, X, bg)
    loc, coef, deg = _nonzero_part(sketch)
    N = X.shape[0]
    out = np.zeros((N, sketch.n), dtype=np.float64)
    if loc.shape[0] == 0:
        return out
    W = (loc != 0).astype(np.float64) / deg[:, None]  # (K, n)
    step = _chunks(N, loc.shape[0]).step
    for s in range(0, N, step):
        out[s : s + step] = term_values(loc, coef, X[s : s + step], sketch.q) @ W
    return out


def _canonical_index(index: str) -> str:
    key = str(index).strip().lower()
    if key not in _ALIASES:
        raise ValueError(f"unknown interaction index {index!r}; choose one of {', '.join(INDICES)}")
    return _ALIASES[key]


def _mobius_values(
    sketch: FourierSketch, X: np.ndarray
) -> tuple[tuple[tuple[int, ...], ...], np.ndarray]:
    """Möbius coefficients ``a_x(T)`` for every distinct nonempty support ``T`` of the sketch.

    Returns the supports (sorted 0-based tuples, ordered by (size, positions)) and ``float64 (N, G)``.
    """
    loc, coef, _ = _nonzero_part(sketch)
    N = X.shape[0]
    if loc.shape[0] == 0:
        return (), np.zeros((N, 0))
    sets, S = group_by_support(loc != 0)
    A = np.empty((N, len(sets)), dtype=np.float64)
    step = _chunks(N, loc.shape[0]).step
    for s in range(0, N, step):
        T = term_values(loc, coef, X[s : s + step], sketch.q)
        A[s : s + step] = np.asarray(S.T @ T.T).T
    return sets, A


def _transfer(
    supports: tuple[tuple[int, ...], ...], index: str, order: int | None
) -> tuple[tuple[tuple[int, ...], ...], sp.csr_matrix]:
    """Output sets and the sparse matrix ``W (G, G_out)`` with ``index_values = a @ W``."""
    G = len(supports)
    if index == "mobius":
        keep = [g for g, T in enumerate(supports) if order is None or len(T) <= order]
        W = sp.csr_matrix((np.ones(len(keep)), (keep, np.arange(len(keep)))), shape=(G, len(keep)))
        return tuple(supports[g] for g in keep), W

    max_deg = max((len(T) for T in supports), default=0)
    if order is None and max_deg > MAX_SUBSET_DEGREE:
        raise ValueError(
            f"the sketch has interactions of order {max_deg}; all-order {index} would enumerate 2^{max_deg} "
            "subsets per coefficient: pass order=<max order> to limit it"
        )
    l = order  # noqa: E741  (the paper's letter for the order)

    def weight(s: int, t: int, same: bool) -> float:
        if index == "sii":
            return 1.0 / (t - s + 1)
        if index == "banzhaf":
            return 0.5 ** (t - s)
        if index == "stii":
            if s == l:
                return 1.0 / comb(t, l)
            return 1.0 if same else 0.0
        # faith-shap
        if same:
            return 1.0
        if t <= l:
            return 0.0
        return (
            (-1) ** (l - s) * s / (l + s) * comb(l, s) * comb(t - 1, l) / comb(t + l - 1, l + s)
        )

    out_index: dict[tuple[int, ...], int] = {}
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    max_s = order if order is not None else max_deg
    for g, T in enumerate(supports):
        t = len(T)
        for s in range(1, min(t, max_s) + 1):
            if index == "stii" and s < l and s != t:
                continue  # lower-order STII terms are a(S) only
            for Sset in itertools.combinations(T, s):
                w = weight(s, t, s == t)
                if w == 0.0:
                    continue
                col = out_index.setdefault(Sset, len(out_index))
                rows.append(g)
                cols.append(col)
                vals.append(w)
    sets = list(out_index)
    perm = sorted(range(len(sets)), key=lambda c: (len(sets[c]), sets[c]))
    newcol = np.empty(len(sets), dtype=np.intp)
    newcol[perm] = np.arange(len(sets))
    W = sp.csr_matrix(
        (np.asarray(vals), (np.asarray(rows, dtype=np.intp), newcol[np.asarray(cols, dtype=np.intp)])),
        shape=(G, len(sets)),
    )
    return tuple(sets[c] for c in perm), W


@dataclass(frozen=True)
class Interactions:
    """Interaction values of many sequences for one index.

    Attributes
    ----------
    sets : tuple of tuple of int
        The position sets (sorted, 0-based), ordered by (size, positions). Sets not listed are 0.
    values : numpy.ndarray
        ``float64 (N, len(sets))``: ``values[s, j]`` is the index value of ``sets[j]`` in sequence ``s``.
    index : str
        One of ``"mobius"``, ``"faith-shap"``, ``"sii"``, ``"stii"``, ``"banzhaf"``.
    order : int or None
        Maximal order ``l`` (None: all orders).
    X : numpy.ndarray
        ``int8 (N, n)`` the explained sequences.
    alphabet : Alphabet
    """

    sets: tuple[tuple[int, ...], ...]
    values: np.ndarray
    index: str
    order: int | None
    X: np.ndarray
    alphabet: Alphabet

    @property
    def n(self) -> int:
        """Sequence length."""
        return int(self.X.shape[1])

    @property
    def orders(self) -> np.ndarray:
        """``int64 (len(sets),)``: size of each set."""
        return np.array([len(s) for s in self.sets], dtype=np.int64)

    def column(self, positions: tuple[int, ...]) -> np.ndarray:
        """``float64 (N,)`` values of one position set (0-based); zeros if the set is absent."""
        key = tuple(sorted(int(p) for p in positions))
        try:
            j = self.sets.index(key)
        except ValueError:
            return np.zeros(self.values.shape[0])
        return self.values[:, j].copy()

    def pairwise(self) -> np.ndarray:
        """Order-2 values as a symmetric matrix.

        Returns
        -------
        numpy.ndarray
            ``float64 (N, n, n)``; entry ``[s, i, j] = [s, j, i]`` is the value of ``{i, j}``; the diagonal is 0.
        """
        N, n = self.X.shape
        M = np.zeros((N, n, n), dtype=np.float64)
        idx = [j for j, s in enumerate(self.sets) if len(s) == 2]
        if idx:
            ii = np.array([self.sets[j][0] for j in idx])
            jj = np.array([self.sets[j][1] for j in idx])
            M[:, ii, jj] = self.values[:, idx]
            M[:, jj, ii] = self.values[:, idx]
        return M

    def top(
        self,
        k: int = 10,
        min_order: int = 2,
        max_order: int | None = None,
        per_sequence: bool = False,
    ) -> pd.DataFrame:
        """The ``k`` largest interactions by absolute value.

        Parameters
        ----------
        k : int
            Number of rows (per sequence if ``per_sequence``).
        min_order, max_order : int
            Restrict to sets of these sizes (default: order >= 2).
        per_sequence : bool
            If True, the top ``k`` of every sequence; else the top ``k`` over all (sequence, set) pairs.

        Returns
        -------
        pandas.DataFrame
            Columns ``seq`` (row of ``X``), ``positions`` (tuple, **1-based**), ``letters`` (str, the letters
            at those positions), ``order``, ``value``; sorted by ``|value|`` descending.
        """
        orders = self.orders
        cols = np.flatnonzero((orders >= min_order) & ((orders <= max_order) if max_order else True))
        empty = pd.DataFrame({"seq": [], "positions": [], "letters": [], "order": [], "value": []})
        if cols.size == 0 or self.values.shape[0] == 0 or k <= 0:
            return empty
        V = np.abs(self.values[:, cols])
        if per_sequence:
            kk = min(k, cols.size)
            part = np.argpartition(-V, kk - 1, axis=1)[:, :kk]
            seq = np.repeat(np.arange(V.shape[0]), kk)
            cj = part.ravel()
        else:
            flat = V.ravel()
            kk = min(k, flat.size)
            part = np.argpartition(-flat, kk - 1)[:kk]
            seq, cj = np.unravel_index(part, V.shape)
        sel = cols[cj]
        vals = self.values[seq, sel]
        letters = self.alphabet.letters
        rows = {
            "seq": seq.astype(np.int64),
            "positions": [tuple(p + 1 for p in self.sets[j]) for j in sel],
            "letters": ["".join(letters[self.X[s, p]] for p in self.sets[j]) for s, j in zip(seq, sel, strict=True)],
            "order": orders[sel],
            "value": vals,
        }
        df = pd.DataFrame(rows)
        key = ["seq"] if per_sequence else []
        df["_abs"] = -np.abs(df["value"])
        return df.sort_values([*key, "_abs"], kind="stable").drop(columns="_abs").reset_index(drop=True)


def interactions(
    sketch: FourierSketch, X: np.ndarray, index: str = "mobius", order: int | None = None,
    background: object = None, pseudocount: float = DEFAULT_PSEUDOCOUNT,
) -> Interactions:
    """Exact interaction values of every sequence in ``X``.

    Parameters
    ----------
    sketch : FourierSketch
        Sparse transform of the model.
    X : numpy.ndarray
        ``int (N, n)`` letter codes.
    index : {"mobius", "faith-shap", "sii", "stii", "banzhaf"}
        ``"mobius"`` (default) is the Möbius transform of the game = all-order Faith-Shap (what the SHAP zero
        paper reports); ``"faith-shap"`` is Faith-Shap truncated at ``order``; ``"sii"`` the Shapley
        interaction index; ``"stii"`` Shapley-Taylor of order ``order``; ``"banzhaf"`` the Banzhaf
        interaction index.
    order : int, optional
        Maximal order. Required meaning for ``"faith-shap"`` and ``"stii"`` (default 2 there); for the
        others it limits the sets returned (default: all orders).
    background, pseudocount
        As for :func:`shap_values`. Under a non-uniform background every nonempty subset of every support
        gets a Möbius coefficient (``2^|k|`` per coefficient; terms of order above 16 are refused).

    Returns
    -------
    Interactions
        ``values`` is ``float64 (N, G)`` over the position sets ``sets`` (order >= 1; the empty set is
        ``baseline(sketch)``).
    """
    name = _canonical_index(index)
    if order is not None:
        order = int(order)
        if order < 1:
            raise ValueError(f"order must be >= 1, got {order}")
    if name in ("faith-shap", "stii") and order is None:
        order = 2
    X = sketch.check_sequences(X)
    bg = _non_uniform(sketch, background, pseudocount)
    supports, A = _mobius_values(sketch, X) if bg is None else background_mobius(sketch, X, bg)
    sets, W = _transfer(supports, name, order)
    values = np.asarray(A @ W) if len(sets) else np.zeros((X.shape[0], 0))
    return Interactions(sets=sets, values=values, index=name, order=order, X=X, alphabet=sketch.alphabet)
