"""Backgrounds: "compared with what?" — SHAP values and interactions against a chosen letter distribution.

The uniform game (method.md §2.1) fills the positions outside a coalition with uniformly random letters. With
a *background* ``p`` (one letter distribution per position, independent across positions: a
position-specific letter-frequency table, e.g. the frequencies of the sequences at hand) the explained game is

    v_x(S) = E_{z_i ~ p_i independently} f(x_S, z_rest).

The sketch itself is background-free: every Fourier term ``F[k] w^{<k,x>}`` is a product over its support, so
its game is a product game and everything has a closed form (method.md §2.7). With ``a_i = w^{k_i x_i}``,
``b_i = E_{p_i} w^{k_i z}`` and ``c_i = a_i - b_i``:

* Möbius coefficient (Harsanyi dividend) of ``U ⊆ supp k``: ``F[k] prod_{i in U} c_i prod_{i in supp k \\ U} b_i``;
* SHAP value of ``j in supp k``:
  ``sum_{U ∋ j} dividend / |U| = F[k] c_j ∫_0^1 prod_{i in supp k, i != j} (b_i + t c_i) dt``.

The integrand is a polynomial of degree ``|k| - 1`` in ``t``, so Gauss-Legendre quadrature with
``ceil(|k| / 2)`` nodes is exact: the cost per coefficient is ``O(|k|^2)`` (not the ``2^|k|`` of summing over
subsets), vectorised per degree with prefix/suffix products (no division). Interactions need every subset of
every support (``2^|k|`` dividends per coefficient); that is where a background gets slow: sketches with
terms of order above 16 are refused there, as for the all-order indices. The uniform background (``b = 0``)
keeps the fast path of :mod:`shapzero_core.shapley` and gives identical values.

A :class:`Background` holds the table ``probs (n, q)`` in the sketch's coordinates. :func:`resolve_background`
is the one way in: ``None`` / ``"uniform"``, an ``(n, q)`` table, or sequences (a :class:`SequenceSet` or an
``int`` array) whose per-position letter frequencies, with a pseudocount, are used; with a template, tables
and sequences of the template's full length are restricted to its free positions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from .fourier import _CHUNK_ELEMS, FourierSketch

if TYPE_CHECKING:  # pragma: no cover
    from .sequences import SequenceSet

__all__ = [
    "DEFAULT_PSEUDOCOUNT",
    "Background",
    "background_baseline",
    "background_hypothetical",
    "background_mobius",
    "background_shap",
    "load_background",
    "resolve_background",
]

DEFAULT_PSEUDOCOUNT = 0.5
"""Pseudocount added to every letter count of a data background (Jeffreys' prior: no letter gets probability 0)."""

_SUM_TOL = 1e-6  # rows of a given table must sum to 1 within this (then they are renormalised exactly)
MAX_SUBSET_DEGREE = 16
"""Largest term order whose 2^d subsets are enumerated (all-order SII / Banzhaf, interactions under a background)."""


def group_by_support(B: np.ndarray) -> tuple[tuple[tuple[int, ...], ...], sp.csr_matrix]:
    """The distinct position sets of the rows of ``B`` and the matrix that sums rows into them.

    Parameters
    ----------
    B : numpy.ndarray
        ``bool (R, n)``: the positions of each row (a term's support, or a subset of it).

    Returns
    -------
    sets : tuple of tuple of int
        The ``G`` distinct sets (sorted 0-based tuples), ordered by (size, positions).
    S : scipy.sparse.csr_matrix
        ``(R, G)`` with a 1 where row ``r`` has the set ``sets[g]``: ``values (N, R) @ S`` sums by set.
    """
    uniq, inv = np.unique(B, axis=0, return_inverse=True)
    inv = inv.ravel()
    sets = [tuple(int(i) for i in np.flatnonzero(row)) for row in uniq]
    order = sorted(range(len(sets)), key=lambda g: (len(sets[g]), sets[g]))
    rank = np.empty(len(sets), dtype=np.intp)
    rank[order] = np.arange(len(sets))
    R = B.shape[0]
    S = sp.csr_matrix((np.ones(R), (np.arange(R), rank[inv])), shape=(R, len(sets)))
    return tuple(sets[g] for g in order), S


@dataclass(frozen=True)
class Background:
    """Independent per-position letter distributions that fill the positions outside a coalition.

    Attributes
    ----------
    probs : numpy.ndarray
        ``float64 (n, q)`` in the sketch's coordinates (its free positions with a template); rows sum to 1.
    source : str
        ``"uniform"``, ``"table"`` or ``"data"`` (letter frequencies of sequences).
    description : str
        One line for run records, e.g. ``"data: letter frequencies of 1,000 sequences (pseudocount 0.5)"``.
    pseudocount : float or None
        The pseudocount of a data background.
    n_sequences : int or None
        How many sequences a data background was counted from.
    """

    probs: np.ndarray = field(repr=False)
    source: str
    description: str
    pseudocount: float | None = None
    n_sequences: int | None = None

    @property
    def is_uniform(self) -> bool:
        """True when every row is uniform (the explained game is the sketch's own)."""
        q = self.probs.shape[1]
        return bool(np.allclose(self.probs, 1.0 / q, rtol=0, atol=1e-12))

    def to_record(self) -> dict[str, Any]:
        """JSON-serialisable summary for run records (the table itself rounded to 6 digits)."""
        return {"source": self.source, "description": self.description, "pseudocount": self.pseudocount,
                "n_sequences": self.n_sequences, "probs": np.round(self.probs, 6).tolist()}


def _uniform(n: int, q: int) -> Background:
    return Background(np.full((n, q), 1.0 / q), "uniform", "uniform: every letter equally likely at every position")


def _free_columns(sketch: FourierSketch, width: int, what: str) -> np.ndarray | None:
    """Columns to keep from something of ``width`` positions: None = all (it is already in sketch coordinates)."""
    if width == sketch.n:
        return None
    tpl = sketch.template
    if tpl is not None and width == tpl.n:
        return np.asarray(tpl.free)
    extra = f" (or the template's full length {tpl.n})" if tpl is not None else ""
    raise ValueError(f"the background {what} has {width} positions; the sketch explains {sketch.n}{extra}")


def resolve_background(
    sketch: FourierSketch,
    background: Background | str | np.ndarray | SequenceSet | None,
    pseudocount: float = DEFAULT_PSEUDOCOUNT,
) -> Background:
    """Turn what a user gives into a :class:`Background` for ``sketch``.

    Parameters
    ----------
    sketch : FourierSketch
    background : None, "uniform", Background, numpy.ndarray or SequenceSet
        ``None`` / ``"uniform"``: the uniform game. A ``float (n, q)`` array: per-position letter probabilities
        (rows must be non-negative and sum to 1 within 1e-6). An ``int (N, n)`` array of letter codes or a
        :class:`~shapzero_core.sequences.SequenceSet`: their per-position letter frequencies with
        ``pseudocount`` added to every count. With a template, tables and sequences may have the template's
        full length (restricted to its free positions).
    pseudocount : float
        Added to every letter count of a data background (default 0.5).

    Returns
    -------
    Background

    Raises
    ------
    ValueError
        Wrong shape, alphabet or length, negative entries, rows that do not sum to 1, no sequences, or an
        unknown name.
    """
    from .sequences import SequenceSet

    n, q = sketch.n, sketch.q
    if background is None:
        return _uniform(n, q)
    if isinstance(background, Background):
        if background.probs.shape != (n, q):
            raise ValueError(f"the background has shape {background.probs.shape}; the sketch needs ({n}, {q})")
        return background
    if isinstance(background, str):
        if background.strip().lower() == "uniform":
            return _uniform(n, q)
        raise ValueError(f"unknown background {background!r}: give 'uniform', a table (n, q) of letter "
                         "probabilities or sequences")
    pc = _checked_pseudocount(pseudocount)
    if isinstance(background, SequenceSet):
        if background.alphabet.letters != sketch.alphabet.letters:
            raise ValueError(f"the background sequences use the alphabet {background.alphabet.letters}; the sketch "
                             f"uses {sketch.alphabet.letters}")
        X = np.asarray(background.X)
        if len(background) == 0:
            raise ValueError("the background sequences are empty: give at least one sequence")
        X = X.reshape(len(background), background.n)
        return _from_codes(sketch, X, pc)
    arr = np.asarray(background)
    if arr.ndim != 2:
        raise ValueError(f"the background must be a table (n, q) or sequences (N, n); got shape {arr.shape}")
    if np.issubdtype(arr.dtype, np.integer):
        if arr.shape[0] == 0:
            raise ValueError("the background sequences are empty: give at least one sequence")
        return _from_codes(sketch, arr, pc)
    if not np.issubdtype(arr.dtype, np.floating):
        raise ValueError(f"the background table must hold numbers, got dtype {arr.dtype}")
    if arr.shape[1] != q:
        raise ValueError(f"the background table has {arr.shape[1]} columns; the alphabet {sketch.alphabet.letters} "
                         f"has {q} letters")
    cols = _free_columns(sketch, arr.shape[0], "table")
    P = np.array(arr if cols is None else arr[cols], dtype=np.float64)
    if not np.isfinite(P).all() or (P < 0).any():
        raise ValueError("the background table has negative or non-finite entries")
    sums = P.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > _SUM_TOL)
    if bad.size:
        raise ValueError(f"row {int(bad[0]) + 1} of the background table sums to {sums[bad[0]]:.6g}, not 1 "
                         f"({bad.size} such rows): give letter probabilities")
    P /= sums[:, None]
    return Background(P, "table", f"table of per-position letter probabilities ({P.shape[0]} x {q})")


def _checked_pseudocount(pseudocount: float) -> float:
    pc = float(pseudocount)
    if not np.isfinite(pc) or pc < 0:
        raise ValueError(f"the pseudocount must be a number >= 0, got {pseudocount!r}")
    return pc


def _from_codes(sketch: FourierSketch, X: np.ndarray, pc: float, label: str = "data") -> Background:
    q = sketch.q
    cols = _free_columns(sketch, X.shape[1], "sequences")
    Xs = X if cols is None else X[:, cols]
    if Xs.size and (Xs.min() < 0 or Xs.max() >= q):
        raise ValueError(f"the background sequences hold letter codes outside [0, {q})")
    Xs = Xs.astype(np.int64)
    counts = np.zeros((Xs.shape[1], q), dtype=np.float64)
    for j in range(Xs.shape[1]):
        counts[j] = np.bincount(Xs[:, j], minlength=q)
    counts += pc
    tot = counts.sum(axis=1, keepdims=True)
    if (tot <= 0).any():
        raise ValueError("a background from one sequence needs a pseudocount > 0")
    N = int(X.shape[0])
    return Background(counts / tot, "data", f"{label}: letter frequencies of {N:,} sequences (pseudocount {pc:g})",
                      pseudocount=pc, n_sequences=N)


# ============================================================================================== kernels
@dataclass(frozen=True)
class _Group:
    """Coefficients of one degree ``d``: positions ``P (K, d)``, frequencies ``k (K, d)``, ``F (K,)``, and
    ``b (K, d)`` complex background expectations ``E_p w^{k z}``."""

    d: int
    P: np.ndarray
    k: np.ndarray
    F: np.ndarray
    b: np.ndarray


def _groups(sketch: FourierSketch, bg: Background) -> list[_Group]:
    q = sketch.q
    w = np.exp(2j * np.pi * np.arange(q) / q)
    Btab = bg.probs @ w[np.outer(np.arange(q), np.arange(q)) % q]  # (n, q): E_{p_i} w^{v z}
    loc = sketch.locations.astype(np.int64)
    deg = sketch.degrees
    out = []
    for d in np.unique(deg[deg > 0]):
        sel = np.flatnonzero(deg == d)
        L = loc[sel]
        P = np.nonzero(L)[1].reshape(len(sel), int(d))  # row-major: positions of each row, increasing
        k = np.take_along_axis(L, P, axis=1)
        out.append(_Group(int(d), P, k, sketch.coefficients[sel].astype(np.complex128), Btab[P, k]))
    return out


def _excluded_integrals(g: _Group, c: np.ndarray) -> np.ndarray:
    """``∫_0^1 prod_{s' != s} (b_s' + t c_s') dt`` for every slot ``s``: ``complex (N, K, d)``."""
    d = g.d
    if d == 1:
        return np.ones_like(c)
    t, wt = np.polynomial.legendre.leggauss((d + 1) // 2)
    t, wt = (t + 1) / 2, wt / 2  # on [0, 1]
    G = g.b[None, :, :, None] + c[..., None] * t  # (N, K, d, R)
    ones = np.ones_like(G[:, :, :1])
    pre = np.concatenate([ones, np.cumprod(G[:, :, :-1], axis=2)], axis=2)
    suf = np.concatenate([np.cumprod(G[:, :, :0:-1], axis=2)[:, :, ::-1], ones], axis=2)
    return (pre * suf) @ wt


def _scatter(g: _Group, n: int) -> sp.csr_matrix:
    K, d = g.P.shape
    return sp.csr_matrix((np.ones(K * d), (np.arange(K * d), g.P.ravel())), shape=(K * d, n))


def _step(N: int, K: int, d: int) -> int:
    return max(1, _CHUNK_ELEMS // max(1, K * d * max(1, (d + 1) // 2)))


def _chunks_by_group(sketch: FourierSketch, X: np.ndarray, bg: Background):
    """For every degree group and chunk of ``X``: ``(group, scatter (K d, n), rows slice, c (Nc, K, d),
    F * integral (Nc, K, d))`` with ``c = a - b`` and the excluded-slot integrals times ``F``."""
    q = sketch.q
    N = X.shape[0]
    w = np.exp(2j * np.pi * np.arange(q) / q)
    for g in _groups(sketch, bg):
        M = _scatter(g, sketch.n)
        step = _step(N, *g.P.shape)
        for s in range(0, N, step):
            Xc = X[s : s + step].astype(np.int64)
            c = w[(g.k[None] * Xc[:, g.P]) % q] - g.b[None]
            yield g, M, slice(s, s + Xc.shape[0]), c, g.F[None, :, None] * _excluded_integrals(g, c)


def background_shap(sketch: FourierSketch, X: np.ndarray, bg: Background) -> np.ndarray:
    """SHAP values of the background game (see the module docstring).

    Parameters
    ----------
    sketch : FourierSketch
    X : numpy.ndarray
        ``int8 (N, n)`` validated letter codes in the sketch's coordinates.
    bg : Background

    Returns
    -------
    numpy.ndarray
        ``float64 (N, n)``; rows sum to ``sketch.predict(X) - background_baseline(sketch, bg)``.
    """
    out = np.zeros((X.shape[0], sketch.n), dtype=np.float64)
    for _, M, rows, c, FI in _chunks_by_group(sketch, X, bg):
        out[rows] += np.asarray((FI * c).real.reshape(c.shape[0], -1) @ M)
    return out


def background_baseline(sketch: FourierSketch, bg: Background) -> float:
    """``v(∅) = E_{z ~ p} f(z)`` of the sketch: ``F[0] + sum_k Re(F[k] prod_i b_i)``."""
    total = sketch.mean
    for g in _groups(sketch, bg):
        total += float((g.F * np.prod(g.b, axis=1)).real.sum())
    return total


def background_hypothetical(sketch: FourierSketch, X: np.ndarray, bg: Background) -> np.ndarray:
    """SHAP value every letter would receive at every position under the background, the rest unchanged.

    Returns
    -------
    numpy.ndarray
        ``float32 (N, q, n)``: ``H[s, a, j] = phi_j(x_s with x_j := a)`` (the integral over the other
        positions does not depend on ``x_j``, so every letter costs one product).
    """
    q = sketch.q
    out = np.zeros((X.shape[0], q, sketch.n), dtype=np.float32)
    w = np.exp(2j * np.pi * np.arange(q) / q)
    for g, M, rows, c, FI in _chunks_by_group(sketch, X, bg):
        for a in range(q):
            ca = w[(g.k * a) % q] - g.b  # (K, d): c with letter a at every slot
            out[rows, a] += np.asarray((FI * ca[None]).real.reshape(c.shape[0], -1) @ M, dtype=np.float32)
    return out


def background_mobius(
    sketch: FourierSketch, X: np.ndarray, bg: Background
) -> tuple[tuple[tuple[int, ...], ...], np.ndarray]:
    """Möbius coefficients of the background game for every nonempty subset of every support.

    Returns the position sets (sorted 0-based tuples, ordered by (size, positions)) and ``float64 (N, G)``,
    as :func:`shapzero_core.shapley.interactions` expects.

    Raises
    ------
    ValueError
        If the sketch has a term of order above 16 (``2^d`` subsets per coefficient).
    """
    q, n = sketch.q, sketch.n
    N = X.shape[0]
    groups = _groups(sketch, bg)
    dmax = max((g.d for g in groups), default=0)
    if dmax > MAX_SUBSET_DEGREE:
        raise ValueError(f"the sketch has interactions of order {dmax}; under a non-uniform background every one "
                         f"of its 2^{dmax} subsets gets a value: too many (limit {MAX_SUBSET_DEGREE})")
    # every (group, mask) block of rows, with the set each row lands on
    blocks = []
    keys = []
    for gi, g in enumerate(groups):
        for m in range(1, 1 << g.d):
            slots = np.array([s for s in range(g.d) if m >> s & 1])
            B = np.zeros((g.P.shape[0], n), dtype=bool)
            np.put_along_axis(B, g.P[:, slots], True, axis=1)
            blocks.append((gi, slots))
            keys.append(B)
    if not keys:
        return (), np.zeros((N, 0))
    sets, S = group_by_support(np.concatenate(keys))
    R = S.shape[0]
    A = np.zeros((N, len(sets)), dtype=np.float64)
    w = np.exp(2j * np.pi * np.arange(q) / q)
    step = max(1, _CHUNK_ELEMS // max(1, R))
    for s in range(0, N, step):
        Xc = X[s : s + step].astype(np.int64)
        cs = [w[(g.k[None] * Xc[:, g.P]) % q] - g.b[None] for g in groups]
        cols = []
        for gi, slots in blocks:
            g = groups[gi]
            mask = np.zeros(g.d, dtype=bool)
            mask[slots] = True
            vals = g.F[None] * np.prod(cs[gi][:, :, mask], axis=2) * np.prod(g.b[:, ~mask], axis=1)[None]
            cols.append(vals.real)
        A[s : s + step] = np.asarray(S.T @ np.concatenate(cols, axis=1).T).T
    return sets, A


# ============================================================================================== files
def load_background(
    spec: str,
    sketch: FourierSketch,
    sequences: SequenceSet | None = None,
    pseudocount: float = DEFAULT_PSEUDOCOUNT,
    max_bytes: int = 200 * 1024 * 1024,
) -> Background:
    """A background named on a command line: ``uniform``, ``data`` or a file.

    Parameters
    ----------
    spec : str
        ``"uniform"``; ``"data"`` (the letter frequencies of ``sequences``, the sequences being explained); or
        a path: ``.npy`` (a float table ``(n, q)``, read with ``allow_pickle=False``), a ``.tsv`` / ``.csv``
        table whose columns are the alphabet's letters (one row per position, an optional ``position`` column;
        rows are normalised if they hold counts), or any sequence file :func:`~shapzero_core.sequences.read_sequences`
        reads (its letter frequencies, with ``pseudocount``).
    sketch : FourierSketch
    sequences : SequenceSet, optional
        Needed for ``"data"``.
    pseudocount : float
    max_bytes : int
        Largest file read.

    Raises
    ------
    ValueError
        A clear one-line reason (unknown name, missing file, bad table, no usable sequence).
    """
    import os

    import pandas as pd

    from .sequences import read_sequences

    key = spec.strip()
    if key.lower() == "uniform":
        return resolve_background(sketch, None)
    if key.lower() == "data":
        if sequences is None or len(sequences) == 0:
            raise ValueError("background 'data' uses the explained sequences' letter frequencies: there are none")
        if sequences.alphabet.letters != sketch.alphabet.letters:
            raise ValueError(f"the sequences use the alphabet {sequences.alphabet.letters}; the sketch uses "
                             f"{sketch.alphabet.letters}")
        return _from_codes(sketch, np.asarray(sequences.X).reshape(len(sequences), sequences.n),
                           _checked_pseudocount(pseudocount), "data (the explained sequences)")
    if not os.path.isfile(key):
        raise ValueError(f"background {spec!r}: not 'uniform', 'data' or an existing file")
    if os.path.getsize(key) > max_bytes:
        raise ValueError(f"background file {spec} is larger than {max_bytes / 2**20:.0f} MB")
    low = key.lower()
    if low.endswith(".npy"):
        try:
            arr = np.load(key, allow_pickle=False)
        except (ValueError, OSError) as e:
            raise ValueError(f"background file {spec}: not a numeric .npy table ({e})") from e
        bg = resolve_background(sketch, np.asarray(arr, dtype=np.float64) if arr.dtype.kind in "fiu" else arr)
        return Background(bg.probs, "table", f"table from {os.path.basename(key)}")
    letters = list(sketch.alphabet.letters)
    if low.endswith((".tsv", ".csv", ".tsv.gz", ".csv.gz")):
        sep = "\t" if ".tsv" in low else ","
        try:
            head = pd.read_csv(key, sep=sep, nrows=0)
        except (ValueError, OSError, pd.errors.ParserError) as e:
            raise ValueError(f"background file {spec}: unreadable table ({e})") from e
        cols = [str(c).strip().upper() for c in head.columns]
        if set(letters) <= set(cols):
            df = pd.read_csv(key, sep=sep)
            df.columns = cols
            if "POSITION" in df.columns:
                df = df.sort_values("POSITION")
            try:
                T = df[letters].to_numpy(dtype=np.float64)
            except ValueError as e:
                raise ValueError(f"background file {spec}: the letter columns must hold numbers ({e})") from e
            if (T < 0).any() or not np.isfinite(T).all():
                raise ValueError(f"background file {spec}: negative or missing entries")
            sums = T.sum(axis=1, keepdims=True)
            if (sums <= 0).any():
                raise ValueError(f"background file {spec}: a row with no weight")
            bg = resolve_background(sketch, T / sums)
            return Background(bg.probs, "table", f"table from {os.path.basename(key)}")
    seqs = read_sequences(key, alphabet=sketch.alphabet, n=sketch.sequence_length, template=sketch.template,
                          max_bytes=max_bytes)
    if len(seqs) == 0:
        raise ValueError(f"background file {spec}: no usable sequence of length {sketch.sequence_length}")
    return _from_codes(sketch, np.asarray(seqs.X).reshape(len(seqs), seqs.n), _checked_pseudocount(pseudocount),
                       f"data ({os.path.basename(key)})")
