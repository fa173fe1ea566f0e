"""Interactions across sequences: pairwise position x position summaries, top interactions of any order with
their letters, and the sequences that carry a letter combination."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from ..alphabet import Alphabet
from ..fourier import _CHUNK_ELEMS
from .explanation import Explanation, _as_index, _need_interactions
from .positions import std_from_moments


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
        std = std_from_moments(s1, s2, cnt)
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
