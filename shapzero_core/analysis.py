"""Summaries across many explained sequences: logos, top interactions, motifs, spaced repeats, subsets.

Everything here is computed from an :class:`Explanation` (SHAP values, interaction values, predictions and
the sequences they belong to) with numpy grouping (``bincount`` / ``unique`` over integer keys): there is
no Python loop over sequences, only over structure (interaction orders, motif lengths, motifs).

Conventions: positions are 0-based in arrays and **1-based in every table** (columns ``position``,
``positions``, ``start``, ``end``); a letter combination is written as the letters at the (sorted)
positions, e.g. positions ``(3, 7)`` with letters ``"GC"`` means G at 3 and C at 7.

Main entry points
-----------------
* :func:`explain_sequences` -> :class:`Explanation`
* :func:`position_letter_summary`, :func:`split_interaction_summary`, :func:`difference_summary`
* :func:`top_interactions`, :func:`spaced_repeats`, :func:`repeat_spacing_summary`
* :func:`find_seqlets`, :func:`find_motifs`
* :func:`select` (boolean masks for subsets by ids, a label column, or a prediction range)
* :func:`hypothetical_shap` (SHAP value each letter *would* get at each position, for TF-MoDISco)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .alphabet import Alphabet
from .fourier import _CHUNK_ELEMS, FourierSketch
from .sequences import SequenceSet
from .shapley import Interactions, baseline, interactions, shap_values

__all__ = [
    "Explanation",
    "Motif",
    "MotifResult",
    "PositionLetterSummary",
    "SplitSummary",
    "carriers",
    "difference_summary",
    "explain_sequences",
    "find_motifs",
    "find_seqlets",
    "hypothetical_shap",
    "pairwise_summary",
    "position_letter_summary",
    "repeat_spacing_summary",
    "select",
    "spaced_repeats",
    "split_interaction_summary",
    "top_interactions",
]


# ============================================================================================== explanation
@dataclass(frozen=True)
class Explanation:
    """SHAP values and interactions of a set of sequences, with their ids.

    Attributes
    ----------
    ids : list of str
        Sequence ids (length ``N``).
    X : numpy.ndarray
        ``int8 (N, n)`` letter codes.
    alphabet : Alphabet
    shap : numpy.ndarray
        ``float64 (N, n)`` SHAP values.
    predictions : numpy.ndarray
        ``float64 (N,)`` sketch predictions ``f(x)``; ``shap.sum(1) == predictions - baseline``.
    baseline : float
        ``F[0]``, the value of the empty coalition.
    interactions : Interactions or None
        Interaction values ``(N, G)`` of one index (``None`` if not computed).
    extra : pandas.DataFrame
        ``N`` rows of other per-sequence columns (labels from the input file...).
    """

    ids: list[str]
    X: np.ndarray
    alphabet: Alphabet
    shap: np.ndarray
    predictions: np.ndarray
    baseline: float
    interactions: Interactions | None = None
    extra: pd.DataFrame = field(default_factory=pd.DataFrame)

    def __post_init__(self) -> None:
        N = len(self.ids)
        if self.X.shape[0] != N or self.shap.shape != self.X.shape or self.predictions.shape != (N,):
            raise ValueError(
                f"inconsistent shapes: {N} ids, X {self.X.shape}, shap {self.shap.shape}, "
                f"predictions {self.predictions.shape}"
            )
        if self.interactions is not None and self.interactions.values.shape[0] != N:
            raise ValueError("interactions have a different number of sequences")
        if len(self.extra) != N:
            object.__setattr__(self, "extra", pd.DataFrame(index=pd.RangeIndex(N)))

    @property
    def N(self) -> int:
        """Number of sequences."""
        return len(self.ids)

    @property
    def n(self) -> int:
        """Sequence length."""
        return int(self.X.shape[1])

    @property
    def sequences(self) -> list[str]:
        """The sequences as strings."""
        return self.alphabet.decode(self.X) if self.N else []

    def subset(self, mask: np.ndarray | Sequence[int] | Sequence[bool]) -> Explanation:
        """The explanation restricted to a boolean mask of length ``N`` or to 0-based row indices."""
        idx = _as_index(mask, self.N)
        inter = self.interactions
        if inter is not None:
            inter = Interactions(
                sets=inter.sets,
                values=inter.values[idx],
                index=inter.index,
                order=inter.order,
                X=inter.X[idx],
                alphabet=inter.alphabet,
            )
        return Explanation(
            ids=[self.ids[i] for i in idx],
            X=self.X[idx],
            alphabet=self.alphabet,
            shap=self.shap[idx],
            predictions=self.predictions[idx],
            baseline=self.baseline,
            interactions=inter,
            extra=self.extra.iloc[idx].reset_index(drop=True),
        )


def _as_index(which: np.ndarray | Sequence[int] | Sequence[bool] | None, N: int) -> np.ndarray:
    if which is None:
        return np.arange(N)
    idx = np.asarray(which)
    if idx.dtype == bool:
        if idx.shape != (N,):
            raise ValueError(f"mask has shape {idx.shape}, expected ({N},)")
        return np.flatnonzero(idx)
    idx = idx.astype(np.intp).ravel()
    if idx.size and (idx.min() < 0 or idx.max() >= N):
        raise ValueError(f"row indices must lie in [0, {N})")
    return idx


def explain_sequences(
    sketch: FourierSketch,
    seqs: SequenceSet | np.ndarray,
    index: str = "mobius",
    order: int | None = None,
    with_interactions: bool = True,
) -> Explanation:
    """Explain every sequence: SHAP values, predictions and (optionally) interactions.

    Parameters
    ----------
    sketch : FourierSketch
    seqs : SequenceSet or numpy.ndarray
        The sequences (an ``int (N, n)`` array gets ids ``seq_1..seq_N``).
    index, order
        Interaction index and maximal order, see :func:`shapzero_core.shapley.interactions`.
    with_interactions : bool
        Skip the interactions if False.

    Returns
    -------
    Explanation
    """
    if isinstance(seqs, SequenceSet):
        if seqs.alphabet.letters != sketch.alphabet.letters:
            raise ValueError(
                f"the sequences use the alphabet {seqs.alphabet.letters} but the sketch uses "
                f"{sketch.alphabet.letters}"
            )
        if len(seqs) and seqs.n != sketch.n:
            raise ValueError(f"the sequences have length {seqs.n} but the sketch explains length {sketch.n}")
        ids, X, extra = list(seqs.ids), seqs.X, seqs.extra
    else:
        X = sketch.check_sequences(seqs)
        ids, extra = [f"seq_{i + 1}" for i in range(X.shape[0])], pd.DataFrame(index=pd.RangeIndex(X.shape[0]))
    X = sketch.check_sequences(np.asarray(X).reshape(len(ids), sketch.n))
    phi = shap_values(sketch, X)
    b = baseline(sketch)
    pred = phi.sum(axis=1) + b  # efficiency: sum_i phi_i = f(x) - F[0]
    inter = interactions(sketch, X, index=index, order=order) if with_interactions else None
    return Explanation(ids, X, sketch.alphabet, phi, pred, b, inter, extra.reset_index(drop=True))


# ============================================================================================== subsets
def select(
    expl: Explanation,
    ids: Iterable[str] | None = None,
    column: str | None = None,
    equals: object | Iterable[object] | None = None,
    between: tuple[float | None, float | None] | None = None,
    prediction_range: tuple[float | None, float | None] | None = None,
) -> np.ndarray:
    """A boolean mask ``(N,)`` selecting a subset; all given conditions must hold.

    Parameters
    ----------
    expl : Explanation
    ids : iterable of str, optional
        Keep these sequence ids (unknown ids raise ``ValueError`` naming a few of them).
    column : str, optional
        A column of ``expl.extra`` (e.g. a label from the input table), used with ``equals`` or ``between``.
    equals : value or iterable of values, optional
        Keep rows whose ``column`` equals (one of) these.
    between : (low, high), optional
        Keep rows with ``low <= column <= high`` (either bound may be None).
    prediction_range : (low, high), optional
        Keep rows whose prediction lies in ``[low, high]``.
    """
    mask = np.ones(expl.N, dtype=bool)
    if ids is not None:
        want = set(map(str, ids))
        known = set(expl.ids)
        missing = want - known
        if missing:
            raise ValueError(f"unknown sequence ids: {', '.join(sorted(missing)[:5])}" +
                             (f" and {len(missing) - 5} more" if len(missing) > 5 else ""))
        mask &= np.fromiter((i in want for i in expl.ids), dtype=bool, count=expl.N)
    if column is not None:
        if column not in expl.extra.columns:
            raise ValueError(
                f"no column {column!r}; available: {', '.join(map(repr, expl.extra.columns)) or 'none'}"
            )
        col = expl.extra[column]
        if equals is not None:
            vals = list(equals) if isinstance(equals, list | tuple | set) else [equals]
            mask &= col.isin(vals).to_numpy()
        if between is not None:
            num = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
            lo, hi = between
            ok = ~np.isnan(num)
            if lo is not None:
                ok &= num >= lo
            if hi is not None:
                ok &= num <= hi
            mask &= ok
        if equals is None and between is None:
            raise ValueError("column needs equals= or between=")
    if prediction_range is not None:
        lo, hi = prediction_range
        if lo is not None:
            mask &= expl.predictions >= lo
        if hi is not None:
            mask &= expl.predictions <= hi
    return mask


# ============================================================================================== logos
@dataclass(frozen=True)
class PositionLetterSummary:
    """Mean SHAP at each position over the sequences carrying each letter.

    Attributes
    ----------
    mean : numpy.ndarray
        ``float64 (n, q)``; NaN where no sequence carries the letter.
    std : numpy.ndarray
        ``float64 (n, q)`` population standard deviation (NaN where count is 0).
    count : numpy.ndarray
        ``int64 (n, q)`` number of sequences carrying letter ``a`` at position ``i``.
    alphabet : Alphabet
    """

    mean: np.ndarray
    std: np.ndarray
    count: np.ndarray
    alphabet: Alphabet

    def matrix(self, fill: float = 0.0) -> pd.DataFrame:
        """``(n, q)`` DataFrame for a logo: index = 1-based position, columns = letters, NaN -> ``fill``."""
        return _matrix(np.nan_to_num(self.mean, nan=fill), self.alphabet)

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: ``position`` (1-based), ``letter``, ``mean``, ``std``, ``sem``, ``count``."""
        n, q = self.mean.shape
        cnt = self.count.ravel()
        with np.errstate(invalid="ignore", divide="ignore"):
            sem = self.std.ravel() / np.sqrt(cnt)
        return pd.DataFrame(
            {
                "position": np.repeat(np.arange(1, n + 1), q),
                "letter": np.tile(list(self.alphabet.letters), n),
                "mean": self.mean.ravel(),
                "std": self.std.ravel(),
                "sem": sem,
                "count": cnt,
            }
        )


def _matrix(M: np.ndarray, alphabet: Alphabet) -> pd.DataFrame:
    df = pd.DataFrame(M, columns=list(alphabet.letters), index=np.arange(1, M.shape[0] + 1))
    df.index.name = "position"
    return df


def _grouped_stats(values: np.ndarray, X: np.ndarray, q: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per (position, letter) count, mean, std of ``values (N, n)`` grouped by ``X (N, n)``."""
    n = X.shape[1]
    key = (np.arange(n, dtype=np.int64) * q + X.astype(np.int64)).ravel()
    v = values.ravel()
    cnt = np.bincount(key, minlength=n * q).reshape(n, q)
    s1 = np.bincount(key, weights=v, minlength=n * q).reshape(n, q)
    s2 = np.bincount(key, weights=v * v, minlength=n * q).reshape(n, q)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(cnt > 0, s1 / cnt, np.nan)
        var = np.where(cnt > 0, s2 / cnt - mean**2, np.nan)
    return cnt.astype(np.int64), mean, np.sqrt(np.maximum(var, 0.0))


def position_letter_summary(expl: Explanation, mask: np.ndarray | None = None) -> PositionLetterSummary:
    """Mean SHAP value at every (position, letter) over the (selected) sequences carrying that letter.

    Parameters
    ----------
    expl : Explanation
    mask : numpy.ndarray, optional
        ``bool (N,)`` or row indices: restrict to a subset (see :func:`select`).

    Returns
    -------
    PositionLetterSummary
        ``mean``, ``std``, ``count`` of shape ``(n, q)``.
    """
    idx = _as_index(mask, expl.N)
    cnt, mean, std = _grouped_stats(expl.shap[idx], expl.X[idx], expl.alphabet.q)
    return PositionLetterSummary(mean=mean, std=std, count=cnt, alphabet=expl.alphabet)


@dataclass(frozen=True)
class SplitSummary:
    """The paper's interaction summary: every interaction value split equally over its positions.

    For each sequence and each interaction set ``T`` (orders in ``[min_order, max_order]``), ``value / |T|``
    is credited to every position of ``T`` with the letter the sequence carries there; positive and
    negative parts are accumulated separately and averaged over the sequences carrying the letter.

    Attributes
    ----------
    positive, negative : numpy.ndarray
        ``float64 (n, q)`` mean positive (>= 0) and negative (<= 0) parts; NaN where count is 0.
    count : numpy.ndarray
        ``int64 (n, q)``.
    min_order, max_order : int
    alphabet : Alphabet
    """

    positive: np.ndarray
    negative: np.ndarray
    count: np.ndarray
    min_order: int
    max_order: int
    alphabet: Alphabet

    @property
    def net(self) -> np.ndarray:
        """``positive + negative`` (with orders from 1 up, this is the mean SHAP value)."""
        return self.positive + self.negative

    def matrix(self, part: str = "net") -> pd.DataFrame:
        """``(n, q)`` logo matrix of ``"positive"``, ``"negative"`` or ``"net"`` (NaN -> 0)."""
        if part not in ("positive", "negative", "net"):
            raise ValueError(f"part must be 'positive', 'negative' or 'net', got {part!r}")
        return _matrix(np.nan_to_num(getattr(self, part), nan=0.0), self.alphabet)

    def to_frame(self) -> pd.DataFrame:
        """Tidy: ``position`` (1-based), ``letter``, ``positive``, ``negative``, ``net``, ``count``."""
        n, q = self.positive.shape
        return pd.DataFrame(
            {
                "position": np.repeat(np.arange(1, n + 1), q),
                "letter": np.tile(list(self.alphabet.letters), n),
                "positive": self.positive.ravel(),
                "negative": self.negative.ravel(),
                "net": self.net.ravel(),
                "count": self.count.ravel(),
            }
        )


def split_interaction_summary(
    expl: Explanation, min_order: int = 2, max_order: int | None = None, mask: np.ndarray | None = None
) -> SplitSummary:
    """Split interaction values over their positions and average positive and negative parts (see
    :class:`SplitSummary`). Requires ``expl.interactions``.

    With ``min_order=1`` and the ``"mobius"`` index this reproduces the SHAP summary exactly
    (``net == position_letter_summary(expl).mean``), since ``phi_i = sum_{T ∋ i} a(T) / |T|``.
    """
    inter = _need_interactions(expl)
    idx = _as_index(mask, expl.N)
    n, q = expl.n, expl.alphabet.q
    orders = inter.orders
    hi = int(orders.max()) if max_order is None and orders.size else (max_order or 0)
    cols = np.flatnonzero((orders >= min_order) & (orders <= hi))
    X = expl.X[idx]
    if cols.size:
        rows = np.repeat(np.arange(cols.size), orders[cols])
        members = np.concatenate([np.asarray(inter.sets[c], dtype=np.intp) for c in cols])
        Msplit = np.zeros((cols.size, n))
        np.add.at(Msplit, (rows, members), 1.0 / orders[cols][rows])
        V = inter.values[idx][:, cols]
        pos = np.maximum(V, 0.0) @ Msplit  # (N, n)
        neg = np.minimum(V, 0.0) @ Msplit
    else:
        pos = np.zeros(X.shape)
        neg = np.zeros(X.shape)
    cnt, mpos, _ = _grouped_stats(pos, X, q)
    _, mneg, _ = _grouped_stats(neg, X, q)
    return SplitSummary(mpos, mneg, cnt, int(min_order), int(hi), expl.alphabet)


def difference_summary(
    expl: Explanation, mask_a: np.ndarray, mask_b: np.ndarray
) -> tuple[pd.DataFrame, PositionLetterSummary, PositionLetterSummary]:
    """Difference logo: mean SHAP of subset A minus subset B at every (position, letter).

    Returns
    -------
    diff : pandas.DataFrame
        ``(n, q)`` matrix (index 1-based positions, columns letters); 0 where either subset lacks the letter.
    a, b : PositionLetterSummary
        The two summaries (for counts and spreads).
    """
    a = position_letter_summary(expl, mask_a)
    b = position_letter_summary(expl, mask_b)
    d = a.mean - b.mean
    return _matrix(np.nan_to_num(d, nan=0.0), expl.alphabet), a, b


# ============================================================================================== interactions
def pairwise_summary(expl: Explanation, stat: str = "mean_abs", mask: np.ndarray | None = None) -> np.ndarray:
    """Order-2 interactions aggregated over sequences into a symmetric ``(n, n)`` matrix.

    Parameters
    ----------
    expl : Explanation
        With interactions.
    stat : {"mean_abs", "mean", "rms"}
        ``mean_abs`` (default) is the mean ``|value|``: how strongly two positions interact whatever the
        letters. (Under a uniform background the plain ``mean`` of a Möbius interaction over random
        sequences is close to 0, since every Fourier term averages out; it is meaningful for subsets.)
    mask : numpy.ndarray, optional
        Restrict to a subset.

    Returns
    -------
    numpy.ndarray
        ``float64 (n, n)``, zero diagonal; pairs without an interaction are 0.
    """
    inter = _need_interactions(expl)
    idx = _as_index(mask, expl.N)
    n = expl.n
    out = np.zeros((n, n))
    cols = np.flatnonzero(inter.orders == 2)
    if cols.size == 0 or idx.size == 0:
        return out
    V = inter.values[idx][:, cols]
    if stat == "mean_abs":
        agg = np.abs(V).mean(axis=0)
    elif stat == "mean":
        agg = V.mean(axis=0)
    elif stat == "rms":
        agg = np.sqrt((V * V).mean(axis=0))
    else:
        raise ValueError(f"stat must be 'mean_abs', 'mean' or 'rms', got {stat!r}")
    ii = np.array([inter.sets[c][0] for c in cols])
    jj = np.array([inter.sets[c][1] for c in cols])
    out[ii, jj] = agg
    out[jj, ii] = agg
    return out


def _need_interactions(expl: Explanation) -> Interactions:
    if expl.interactions is None:
        raise ValueError("this explanation has no interactions (explain with with_interactions=True)")
    return expl.interactions


_TOP_COLUMNS = [
    "positions",
    "letters",
    "order",
    "mean",
    "std",
    "count",
    "frac_positive",
    "sign_consistency",
    "mean_abs",
]


def _group_order(
    values: np.ndarray, X: np.ndarray, S: np.ndarray, q: int
) -> tuple[np.ndarray, ...]:
    """Group ``values (N, G)`` of sets ``S (G, d)`` by (set, letters at the set).

    Returns set index, letter code, count, sum, sum of squares, #positive, #negative, sum of |value| per
    nonempty group.
    """
    N, G = values.shape
    d = S.shape[1]
    qd = q**d
    use_bincount = G * qd <= 8_000_000
    step = max(1, _CHUNK_ELEMS // max(N, 1))
    out_g, out_c, cnts, s1s, s2s, nps, nns, sas = [], [], [], [], [], [], [], []
    for g0 in range(0, G, step):
        Sg = S[g0 : g0 + step]
        Gc = Sg.shape[0]
        code = np.zeros((N, Gc), dtype=np.int64)
        for j in range(d):
            code *= q
            code += X[:, Sg[:, j]]
        key = (np.arange(Gc, dtype=np.int64) * qd + code).ravel()
        v = values[:, g0 : g0 + Gc].ravel()
        if use_bincount:
            m = Gc * qd
            cnt = np.bincount(key, minlength=m)
            nz = np.flatnonzero(cnt)
            s1 = np.bincount(key, weights=v, minlength=m)[nz]
            s2 = np.bincount(key, weights=v * v, minlength=m)[nz]
            npos = np.bincount(key, weights=(v > 0), minlength=m)[nz]
            nneg = np.bincount(key, weights=(v < 0), minlength=m)[nz]
            sabs = np.bincount(key, weights=np.abs(v), minlength=m)[nz]
            cnt = cnt[nz]
            ukey = nz
        else:
            ukey, inv, cnt = np.unique(key, return_inverse=True, return_counts=True)
            s1 = np.bincount(inv, weights=v)
            s2 = np.bincount(inv, weights=v * v)
            npos = np.bincount(inv, weights=(v > 0))
            nneg = np.bincount(inv, weights=(v < 0))
            sabs = np.bincount(inv, weights=np.abs(v))
        out_g.append(g0 + ukey // qd)
        out_c.append(ukey % qd)
        cnts.append(cnt)
        s1s.append(s1)
        s2s.append(s2)
        nps.append(npos)
        nns.append(nneg)
        sas.append(sabs)
    cat = np.concatenate
    return cat(out_g), cat(out_c), cat(cnts), cat(s1s), cat(s2s), cat(nps), cat(nns), cat(sas)


def _decode_codes(codes: np.ndarray, d: int, alphabet: Alphabet) -> list[str]:
    """Letter strings of integer codes written most-significant letter first (``d`` letters)."""
    q = alphabet.q
    digits = (codes[:, None] // q ** np.arange(d - 1, -1, -1, dtype=np.int64)) % q
    table = np.frombuffer(alphabet.letters.encode("ascii"), dtype=np.uint8)
    chars = table[digits.astype(np.intp)]
    return [r.tobytes().decode("ascii") for r in chars] if d else [""] * len(codes)


def top_interactions(
    expl: Explanation,
    k: int | None = 50,
    min_order: int = 2,
    max_order: int | None = None,
    positions: Iterable[int] | None = None,
    letters: str | None = None,
    min_count: int = 1,
    sign: str | None = None,
    sort: str = "abs_mean",
    mask: np.ndarray | None = None,
) -> pd.DataFrame:
    """Interactions across sequences, grouped by position set and the letters carried there.

    For every position set ``T`` and letter combination ``a`` present in the (selected) sequences:
    mean, spread and count of the interaction value over the sequences with ``x_T = a``, and how
    consistent its sign is. (For the ``"mobius"`` index, ``a_x(T)`` depends only on ``x_T``, so the
    spread is 0 and the sign is always consistent; other indices vary with the context.)

    Parameters
    ----------
    expl : Explanation
        With interactions.
    k : int or None
        Number of rows to return (None: all).
    min_order, max_order : int
        Orders to include.
    positions : iterable of int, optional
        **1-based** positions that must all be in the set.
    letters : str, optional
        Letters at the set's positions, in position order; ``.`` matches any letter (e.g. ``"G.C"``).
    min_count : int
        Drop combinations carried by fewer sequences.
    sign : {"positive", "negative"}, optional
        Keep only combinations with this sign of the mean.
    sort : {"abs_mean", "abs_total", "count"}
        Order by ``|mean|``, by ``|mean| * count`` (total effect over the sequences), or by count.
    mask : numpy.ndarray, optional
        Restrict to a subset of sequences.

    Returns
    -------
    pandas.DataFrame
        Columns ``positions`` (tuple, 1-based), ``letters``, ``order``, ``mean``, ``std``, ``count``,
        ``frac_positive``, ``sign_consistency`` (share of sequences whose value has the sign of the mean),
        ``mean_abs``.
    """
    inter = _need_interactions(expl)
    idx = _as_index(mask, expl.N)
    q = expl.alphabet.q
    orders = inter.orders
    want = None if positions is None else {int(p) - 1 for p in positions}
    if want is not None and any(p < 0 or p >= expl.n for p in want):
        raise ValueError(f"positions must be 1-based in [1, {expl.n}]")
    pattern = None
    if letters is not None:
        pattern = re.compile("".join("." if ch == "." else re.escape(ch) for ch in letters.upper()))
    frames = []
    X = expl.X[idx]
    V = inter.values[idx]
    hi = max_order if max_order is not None else (int(orders.max()) if orders.size else 0)
    for d in range(max(1, min_order), hi + 1):
        if pattern is not None and len(letters or "") != d:
            continue
        cols = np.flatnonzero(orders == d)
        if want is not None:
            cols = np.array([c for c in cols if want <= set(inter.sets[c])], dtype=np.intp)
        if cols.size == 0 or X.shape[0] == 0:
            continue
        S = np.array([inter.sets[c] for c in cols], dtype=np.intp).reshape(cols.size, d)
        g, code, cnt, s1, s2, npos, nneg, sabs = _group_order(V[:, cols], X, S, q)
        mean = s1 / cnt
        std = np.sqrt(np.maximum(s2 / cnt - mean**2, 0.0))
        frac_pos = npos / cnt
        consist = np.where(mean >= 0, npos, nneg) / cnt
        df = pd.DataFrame(
            {
                "_g": cols[g],
                "_code": code,
                "order": d,
                "mean": mean,
                "std": std,
                "count": cnt.astype(np.int64),
                "frac_positive": frac_pos,
                "sign_consistency": consist,
                "mean_abs": sabs / cnt,
            }
        )
        frames.append((df, d))
    out_frames = []
    for df, d in frames:
        if min_count > 1:
            df = df[df["count"] >= min_count]
        if sign == "positive":
            df = df[df["mean"] > 0]
        elif sign == "negative":
            df = df[df["mean"] < 0]
        elif sign is not None:
            raise ValueError(f"sign must be 'positive', 'negative' or None, got {sign!r}")
        codes = df["_code"].to_numpy()
        ucodes, uinv = np.unique(codes, return_inverse=True)
        lets = np.asarray(_decode_codes(ucodes, d, expl.alphabet), dtype=object)[uinv.ravel()]
        gset = df["_g"].to_numpy()
        ug, ginv = np.unique(gset, return_inverse=True)
        pos_of = np.empty(ug.size, dtype=object)
        pos_of[:] = [tuple(p + 1 for p in inter.sets[c]) for c in ug]
        df = df.assign(letters=lets, positions=pos_of[ginv.ravel()])
        if pattern is not None:
            df = df[[bool(pattern.fullmatch(s)) for s in df["letters"]]]
        out_frames.append(df)
    if not out_frames:
        return pd.DataFrame({c: [] for c in _TOP_COLUMNS})
    out = pd.concat(out_frames, ignore_index=True)
    absmean = out["mean"].abs()
    keys = {"abs_mean": absmean, "abs_total": absmean * out["count"], "count": out["count"]}
    if sort not in keys:
        raise ValueError(f"sort must be one of {', '.join(keys)}, got {sort!r}")
    out = out.assign(_key=-keys[sort]).sort_values(["_key", "order"], kind="stable")
    out = out[_TOP_COLUMNS].reset_index(drop=True)
    return out if k is None else out.head(int(k)).reset_index(drop=True)


def carriers(expl: Explanation, positions: Sequence[int], letters: str) -> np.ndarray:
    """``bool (N,)``: sequences carrying ``letters`` at the **1-based** ``positions`` (``.`` = any letter)."""
    pos = np.asarray([int(p) - 1 for p in positions], dtype=np.intp)
    if len(letters) != pos.size:
        raise ValueError(f"{pos.size} positions but {len(letters)} letters")
    ok = np.ones(expl.N, dtype=bool)
    for p, ch in zip(pos, letters.upper(), strict=True):
        if ch == ".":
            continue
        if ch not in expl.alphabet.letters:
            raise ValueError(f"letter {ch!r} is not in the alphabet {expl.alphabet.letters}")
        ok &= expl.X[:, p] == expl.alphabet.letters.index(ch)
    return ok


def spaced_repeats(table: pd.DataFrame, include_mismatched: bool = False) -> pd.DataFrame:
    """Spaced-repeat patterns among grouped interactions (output of :func:`top_interactions`, ``k=None``).

    A set of even order ``2m`` whose sorted positions split into two halves ``T1`` and ``T2 = T1 + d``
    (same shape, shifted by ``d``) is a *spaced pair*; it is a *repeat* when the letters on ``T2`` equal
    those on ``T1`` (e.g. microhomology: the same dinucleotide at ``i, i+1`` and ``i+d, i+d+1``).

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`top_interactions`.
    include_mismatched : bool
        Also return spaced pairs whose letters differ (``is_repeat`` False), for comparison.

    Returns
    -------
    pandas.DataFrame
        Columns ``spacing`` (d), ``unit`` (letters of T1), ``unit_positions`` (T1, 1-based), ``positions``,
        ``letters``, ``order``, ``is_repeat``, ``mean``, ``count``, ``sign_consistency``; sorted by |mean|.
    """
    cols = ["spacing", "unit", "unit_positions", "positions", "letters", "order", "is_repeat", "mean", "count",
            "sign_consistency"]
    if table.empty:
        return pd.DataFrame({c: [] for c in cols})
    t = table[(table["order"] >= 2) & (table["order"] % 2 == 0)]
    if t.empty:
        return pd.DataFrame({c: [] for c in cols})
    recs = []
    # loop over distinct position sets (structure), rows of the same set handled together
    for pos, grp in t.groupby("positions", sort=False):
        p = np.asarray(pos)
        m = p.size // 2
        diff = p[m:] - p[:m]
        if not np.all(diff == diff[0]) or diff[0] <= 0 or (m > 1 and p[m - 1] >= p[m]):
            continue
        dsp = int(diff[0])
        lets = grp["letters"].to_numpy(dtype=str)
        first = np.array([s[:m] for s in lets])
        second = np.array([s[m:] for s in lets])
        rep = first == second
        for j in range(len(grp)):
            if rep[j] or include_mismatched:
                r = grp.iloc[j]
                recs.append((dsp, first[j], tuple(int(x) for x in p[:m]), pos, r["letters"], int(r["order"]),
                             bool(rep[j]), float(r["mean"]), int(r["count"]), float(r["sign_consistency"])))
    out = pd.DataFrame(recs, columns=cols)
    if out.empty:
        return pd.DataFrame({c: [] for c in cols})
    out = out.assign(_k=-out["mean"].abs()).sort_values("_k", kind="stable").drop(columns="_k")
    return out.reset_index(drop=True)


def repeat_spacing_summary(repeats: pd.DataFrame) -> pd.DataFrame:
    """Per spacing ``d`` and order: number of repeat patterns, their count-weighted mean value, the share
    with a positive mean, and (if present) the same for mismatched spaced pairs.

    Parameters
    ----------
    repeats : pandas.DataFrame
        From :func:`spaced_repeats` (``include_mismatched=True`` adds the comparison columns).
    """
    cols = ["spacing", "order", "patterns", "mean_value", "frac_positive", "mismatched_mean_value"]
    if repeats.empty:
        return pd.DataFrame({c: [] for c in cols})
    r = repeats.assign(w=repeats["mean"] * repeats["count"], pos=(repeats["mean"] > 0).astype(float))
    rep = r[r["is_repeat"]].groupby(["spacing", "order"])
    out = pd.DataFrame(
        {
            "patterns": rep.size(),
            "mean_value": rep["w"].sum() / rep["count"].sum(),
            "frac_positive": rep["pos"].mean(),
        }
    )
    mis = r[~r["is_repeat"]].groupby(["spacing", "order"])
    if len(mis):
        out["mismatched_mean_value"] = mis["w"].sum() / mis["count"].sum()
    else:
        out["mismatched_mean_value"] = np.nan
    return out.reset_index()[cols]


# ============================================================================================== motifs
_SEQLET_COLUMNS = ["seq", "seq_id", "start", "end", "length", "sign", "letters", "score"]


def find_seqlets(
    expl: Explanation,
    threshold: float | None = None,
    min_length: int = 2,
    max_length: int = 12,
    mask: np.ndarray | None = None,
) -> pd.DataFrame:
    """Contiguous runs of same-sign SHAP values with ``|phi| >= threshold`` (seqlets).

    Parameters
    ----------
    expl : Explanation
    threshold : float, optional
        Default: the 90th percentile of ``|phi|`` over the selected sequences.
    min_length, max_length : int
        Runs shorter than ``min_length`` are dropped; longer than ``max_length`` are cut into pieces.
    mask : numpy.ndarray, optional
        Restrict to a subset of sequences.

    Returns
    -------
    pandas.DataFrame
        ``seq`` (row in ``expl``), ``seq_id``, ``start``, ``end`` (1-based, inclusive), ``length``,
        ``sign`` (+1/-1), ``letters``, ``score`` (sum of SHAP over the seqlet).
    """
    idx = _as_index(mask, expl.N)
    phi = expl.shap[idx]
    if phi.size == 0:
        return pd.DataFrame({c: [] for c in _SEQLET_COLUMNS})
    if threshold is None:
        threshold = float(np.quantile(np.abs(phi), 0.9))
    if threshold <= 0:
        threshold = np.finfo(float).tiny
    A = (np.sign(phi) * (np.abs(phi) >= threshold)).astype(np.int8)
    N, n = A.shape
    P = np.zeros((N, n + 2), dtype=np.int8)
    P[:, 1:-1] = A
    # pieces of at most max_length: cut a run where (offset from run start) % max_length == 0
    change = (P[:, 1:-1] != 0) & (P[:, 1:-1] != P[:, :-2])
    run_id = np.cumsum(change.ravel()).reshape(N, n)
    starts_r, starts_c = np.nonzero(change)
    run_start_col = np.zeros(int(run_id.max()) + 1, dtype=np.int64)
    run_start_col[run_id[starts_r, starts_c]] = starts_c
    offset = np.arange(n)[None, :] - run_start_col[run_id]
    start = (P[:, 1:-1] != 0) & (change | (offset % max_length == 0))
    end = (P[:, 1:-1] != 0) & ((P[:, 1:-1] != P[:, 2:]) | (offset % max_length == max_length - 1))
    sr, sc = np.nonzero(start)
    _er, ec = np.nonzero(end)
    length = ec - sc + 1
    keep = length >= min_length
    sr, sc, ec, length = sr[keep], sc[keep], ec[keep], length[keep]
    csum = np.concatenate([np.zeros((N, 1)), np.cumsum(phi, axis=1)], axis=1)
    score = csum[sr, ec + 1] - csum[sr, sc]
    letters = _window_letters(expl.X[idx], sr, sc, length, expl.alphabet)
    rows = idx[sr]
    return pd.DataFrame(
        {
            "seq": rows,
            "seq_id": [expl.ids[i] for i in rows],
            "start": sc + 1,
            "end": ec + 1,
            "length": length,
            "sign": A[sr, sc].astype(np.int64),
            "letters": letters,
            "score": score,
        }
    )


def _window_letters(X: np.ndarray, r: np.ndarray, c: np.ndarray, length: np.ndarray, alphabet: Alphabet) -> list:
    out = np.empty(r.size, dtype=object)
    table = np.frombuffer(alphabet.letters.encode("ascii"), dtype=np.uint8)
    for L in np.unique(length):
        sel = np.flatnonzero(length == L)
        W = X[r[sel][:, None], c[sel][:, None] + np.arange(L)[None, :]]
        codes, inv = np.unique(W, axis=0, return_inverse=True)
        strs = np.array([table[row].tobytes().decode("ascii") for row in codes.astype(np.intp)], dtype=object)
        out[sel] = strs[inv.ravel()]
    return out.tolist()


@dataclass(frozen=True)
class Motif:
    """A group of similar seqlets.

    Attributes
    ----------
    name : str
        ``motif_<rank>``.
    sign : int
        +1 (raises the prediction) or -1.
    consensus : str
        The most frequent k-mer of the group.
    pwm : numpy.ndarray
        ``float64 (L, q)`` letter frequencies at each motif column (rows sum to 1).
    contribution : numpy.ndarray
        ``float64 (L,)`` mean SHAP value at each motif column.
    num_seqlets : int
    num_sequences : int
        Distinct sequences carrying the motif.
    mean_score : float
        Mean seqlet score (sum of SHAP over the seqlet).
    common_start : int
        Most common 1-based start position.
    """

    name: str
    sign: int
    consensus: str
    pwm: np.ndarray
    contribution: np.ndarray
    num_seqlets: int
    num_sequences: int
    mean_score: float
    common_start: int

    def pwm_frame(self, alphabet: Alphabet) -> pd.DataFrame:
        """PWM as a DataFrame (index = 1-based motif column, columns = letters), for logos."""
        df = pd.DataFrame(self.pwm, columns=list(alphabet.letters), index=np.arange(1, self.pwm.shape[0] + 1))
        df.index.name = "column"
        return df


@dataclass(frozen=True)
class MotifResult:
    """Motifs and the seqlets carrying them.

    Attributes
    ----------
    motifs : list of Motif
        Sorted by number of seqlets.
    carriers : pandas.DataFrame
        The seqlets assigned to a motif: ``motif`` plus the :func:`find_seqlets` columns.
    alphabet : Alphabet
    """

    motifs: list[Motif]
    carriers: pd.DataFrame
    alphabet: Alphabet

    def to_frame(self) -> pd.DataFrame:
        """One row per motif: ``motif, sign, consensus, length, num_seqlets, num_sequences, mean_score,
        common_start``."""
        return pd.DataFrame(
            {
                "motif": [m.name for m in self.motifs],
                "sign": [m.sign for m in self.motifs],
                "consensus": [m.consensus for m in self.motifs],
                "length": [m.pwm.shape[0] for m in self.motifs],
                "num_seqlets": [m.num_seqlets for m in self.motifs],
                "num_sequences": [m.num_sequences for m in self.motifs],
                "mean_score": [m.mean_score for m in self.motifs],
                "common_start": [m.common_start for m in self.motifs],
            }
        )


def find_motifs(
    expl: Explanation,
    seqlets: pd.DataFrame | None = None,
    max_mismatches: int = 1,
    max_motifs: int = 20,
    min_seqlets: int = 5,
    mask: np.ndarray | None = None,
    **seqlet_options: float | int,
) -> MotifResult:
    """Group seqlets into motifs with a PWM each.

    Seqlets of the same sign and length are grouped greedily: the most frequent remaining k-mer becomes a
    motif's consensus and takes every remaining k-mer within ``max_mismatches`` letters of it, and within a
    quarter of its length (so 2- and 3-mers match exactly: one mismatch in ``AA`` would match half of all
    dinucleotides). Motifs with fewer than ``min_seqlets`` seqlets are dropped.

    Parameters
    ----------
    expl : Explanation
    seqlets : pandas.DataFrame, optional
        From :func:`find_seqlets` (computed with ``seqlet_options`` if omitted).
    max_mismatches, max_motifs, min_seqlets : int
    mask : numpy.ndarray, optional
        Restrict to a subset (only when ``seqlets`` is not given).

    Returns
    -------
    MotifResult
    """
    if seqlets is None:
        seqlets = find_seqlets(expl, mask=mask, **seqlet_options)  # type: ignore[arg-type]
    q = expl.alphabet.q
    cands: list[tuple[int, int, str, np.ndarray]] = []  # (sign, length, consensus, seqlet row indices)
    if len(seqlets):
        sl_len = seqlets["length"].to_numpy()
        sl_sign = seqlets["sign"].to_numpy()
        sl_seq = seqlets["seq"].to_numpy()
        sl_start = seqlets["start"].to_numpy() - 1
        for sgn in (1, -1):
            for L in np.unique(sl_len[sl_sign == sgn]):
                rows = np.flatnonzero((sl_sign == sgn) & (sl_len == L))
                W = expl.X[sl_seq[rows][:, None], sl_start[rows][:, None] + np.arange(L)[None, :]]
                kmers, inv, cnt = np.unique(W, axis=0, return_inverse=True, return_counts=True)
                inv = inv.ravel()
                remaining = np.ones(kmers.shape[0], dtype=bool)
                found = 0
                while remaining.any() and found < max_motifs:
                    rem = np.flatnonzero(remaining)
                    c = rem[np.argmax(cnt[rem])]
                    if cnt[c] < 1:
                        break
                    ham = (kmers[rem] != kmers[c]).sum(axis=1)
                    members = rem[ham <= min(max_mismatches, int(L) // 4)]
                    remaining[members] = False
                    member_rows = rows[np.isin(inv, members)]
                    if member_rows.size < min_seqlets:
                        if cnt[c] < min_seqlets:
                            break  # every remaining k-mer is rarer still
                        continue
                    cands.append((int(sgn), int(L), expl.alphabet.decode(kmers[c][None, :])[0], member_rows))
                    found += 1
    cands.sort(key=lambda t: -t[3].size)
    cands = cands[:max_motifs]
    motifs: list[Motif] = []
    carrier_frames = []
    for rank, (sgn, L, consensus, member_rows) in enumerate(cands, start=1):
        sl = seqlets.iloc[member_rows]
        s_seq = sl["seq"].to_numpy()
        s_start = sl["start"].to_numpy() - 1
        cols = s_start[:, None] + np.arange(L)[None, :]
        W = expl.X[s_seq[:, None], cols]
        pwm = np.stack([np.bincount(W[:, j], minlength=q) for j in range(L)]).astype(np.float64)
        pwm /= pwm.sum(axis=1, keepdims=True)
        contrib = expl.shap[s_seq[:, None], cols].mean(axis=0)
        starts, scnt = np.unique(s_start, return_counts=True)
        name = f"motif_{rank}"
        motifs.append(
            Motif(
                name=name,
                sign=sgn,
                consensus=consensus,
                pwm=pwm,
                contribution=contrib,
                num_seqlets=int(member_rows.size),
                num_sequences=int(np.unique(s_seq).size),
                mean_score=float(sl["score"].mean()),
                common_start=int(starts[np.argmax(scnt)] + 1),
            )
        )
        carrier_frames.append(sl.assign(motif=name))
    carriers_df = (
        pd.concat(carrier_frames, ignore_index=True)[["motif", *_SEQLET_COLUMNS]]
        if carrier_frames
        else pd.DataFrame({c: [] for c in ["motif", *_SEQLET_COLUMNS]})
    )
    return MotifResult(motifs=motifs, carriers=carriers_df, alphabet=expl.alphabet)


# ============================================================================================== modisco
def hypothetical_shap(sketch: FourierSketch, X: np.ndarray) -> np.ndarray:
    """SHAP value every letter would receive at every position, the rest of the sequence unchanged.

    ``H[s, a, i] = phi_i(x_s with x_i := a)``, computed in closed form from the sketch (no model calls):
    changing ``x_i`` by ``delta`` multiplies the term of ``k`` by ``w^{k_i delta}``, so
    ``H = Re(sum_{k: k_i != 0} F[k] w^{<k,x>} w^{k_i delta} / |k|)`` for ``delta = a - x_i``.
    ``H[s, x_si, i]`` is the ordinary SHAP value. This is what TF-MoDISco calls hypothetical
    contributions.

    Parameters
    ----------
    sketch : FourierSketch
    X : numpy.ndarray
        ``int (N, n)``.

    Returns
    -------
    numpy.ndarray
        ``float32 (N, q, n)``.
    """
    X = sketch.check_sequences(X)
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
