"""Spaced repeats among grouped interactions (microhomology: the same letters at two position sets shifted
by d) and their spacing summary."""

from __future__ import annotations

import numpy as np
import pandas as pd


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
