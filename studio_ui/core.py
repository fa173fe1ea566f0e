"""Plain helpers of the app (no Streamlit here, so they are unit-tested directly).

Content keys identify a sketch or a sequence set by what it holds (cache keys of every explanation and
summary); table builders turn an :class:`~shapzero_core.analysis.Explanation` into what the pages show.
Positions are **1-based** in everything a user sees.
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shapzero_core import FourierSketch, Interactions
from shapzero_core.analysis import Explanation
from shapzero_core.sequences import SequenceSet

__all__ = [
    "INDEX_LABELS",
    "PairIndex",
    "cell_from_selection",
    "filter_table",
    "format_duration",
    "higher_order_with_pair",
    "pair_index",
    "pair_matrix",
    "sequence_table",
    "sequence_top",
    "sequences_key",
    "sketch_key",
    "workspace_dir",
]

#: Interaction indices as the app names them (engine name -> label).
INDEX_LABELS: dict[str, str] = {
    "mobius": "Möbius (all-order Faith-Shap)",
    "faith-shap": "Faith-Shap of order ℓ",
    "sii": "Shapley interaction index (SII)",
    "stii": "Shapley-Taylor (STII) of order ℓ",
    "banzhaf": "Banzhaf interaction index",
}

WORKSPACE_ENV = "SHAPZERO_WORKSPACE"


def workspace_dir() -> Path:
    """The app's persistent workspace: ``$SHAPZERO_WORKSPACE`` or ``~/.shapzero/workspace`` (created).

    It holds the sketch query cache (``cache/``, so a sketch interrupted by an app restart resumes),
    saved sketches (``sketches/``) and the last sketch runs (``runs/``).
    """
    root = os.environ.get(WORKSPACE_ENV) or str(Path.home() / ".shapzero" / "workspace")
    p = Path(root).expanduser()
    p.mkdir(parents=True, exist_ok=True)
    return p


# ---------------------------------------------------------------------------------------------- keys
def sketch_key(sketch: FourierSketch) -> str:
    """Stable 16-hex-digit content key of a sketch (alphabet, locations, coefficients, and the error bars of
    its trust check, which every explanation carries)."""
    from shapzero_core.refine import trust_info

    h = hashlib.sha256()
    h.update(sketch.alphabet.letters.encode())
    h.update(np.ascontiguousarray(sketch.locations).tobytes())
    h.update(np.ascontiguousarray(sketch.coefficients).tobytes())
    trust = trust_info(sketch)
    if trust is not None:
        h.update(repr(trust.get("position_rmse")).encode())
    return h.hexdigest()[:16]


def sequences_key(seqs: SequenceSet) -> str:
    """Stable 16-hex-digit content key of a sequence set (alphabet, codes, ids, extra columns)."""
    h = hashlib.sha256()
    h.update(seqs.alphabet.letters.encode())
    h.update(str(np.asarray(seqs.X).shape).encode())
    h.update(np.ascontiguousarray(seqs.X).tobytes())
    h.update("\x00".join(seqs.ids).encode())
    if len(seqs.extra.columns):
        h.update("\x00".join(map(str, seqs.extra.columns)).encode())
        h.update(pd.util.hash_pandas_object(seqs.extra.astype(str), index=False).to_numpy().tobytes())
    return h.hexdigest()[:16]


# ---------------------------------------------------------------------------------------------- tables
def _top_shap_strings(expl: Explanation, k: int = 3) -> list[str]:
    N, n = expl.shap.shape
    if N == 0:
        return []
    k = min(k, n)
    order = np.argsort(-np.abs(expl.shap), axis=1, kind="stable")[:, :k]  # (N, k)
    vals = np.take_along_axis(expl.shap, order, axis=1)
    lets = np.array(list(expl.alphabet.letters))[np.take_along_axis(expl.X, order, axis=1).astype(np.intp)]
    out = []
    for r in range(N):  # string formatting of k items per row (cached by the caller)
        out.append(" · ".join(f"{lets[r, c]}{order[r, c] + 1} {vals[r, c]:+.3g}" for c in range(k)))
    return out


def _strongest_interaction(inter: Interactions) -> tuple[list[str], np.ndarray]:
    N = inter.values.shape[0]
    cols = np.flatnonzero(inter.orders >= 2)
    if cols.size == 0 or N == 0:
        return [""] * N, np.zeros(N)
    V = inter.values[:, cols]
    j = np.argmax(np.abs(V), axis=1)
    val = V[np.arange(N), j]
    letters = inter.alphabet.letters
    X = inter.X
    text = []
    for r in range(N):
        s = inter.sets[cols[j[r]]]
        if val[r] == 0:
            text.append("")
            continue
        text.append("·".join(f"{letters[X[r, p]]}{p + 1}" for p in s) + f" {val[r]:+.3g}")
    return text, val


def sequence_table(expl: Explanation) -> pd.DataFrame:
    """The Sequences page table: one row per sequence.

    Columns: ``row`` (0-based, hidden in the app), ``seq_id``, ``sequence``, ``prediction`` (sketch),
    the input file's label columns, ``top SHAP`` (the 3 largest ``|SHAP|`` as ``<letter><position>
    <value>``), ``strongest interaction`` (largest ``|value|`` of order >= 2 with its letters) and
    ``|strongest interaction|`` (for sorting).
    """
    df = pd.DataFrame(
        {
            "row": np.arange(expl.N),
            "seq_id": expl.ids,
            "sequence": expl.sequences,
            "prediction": expl.predictions,
        }
    )
    extra = expl.extra.reset_index(drop=True)
    extra = extra[[c for c in extra.columns if c not in df.columns]]
    df = pd.concat([df, extra], axis=1)
    df["top SHAP"] = _top_shap_strings(expl)
    if expl.interactions is not None:
        text, val = _strongest_interaction(expl.interactions)
        df["strongest interaction"] = text
        df["|strongest interaction|"] = np.abs(val)
    return df


def filter_table(df: pd.DataFrame, query: str) -> pd.DataFrame:
    """Rows whose id, sequence or any text/label column contains ``query`` (case-insensitive).

    A query like ``prediction > 0.5`` (a numeric column, ``<``, ``<=``, ``>``, ``>=`` or ``=``, a number)
    filters on that column instead.
    """
    q = (query or "").strip()
    if not q:
        return df
    for op in ("<=", ">=", "<", ">", "="):
        if op in q:
            col, _, num = q.partition(op)
            col = col.strip()
            try:
                x = float(num)
            except ValueError:
                break
            if col in df.columns and pd.api.types.is_numeric_dtype(df[col]):
                v = df[col].to_numpy(dtype=float)
                m = {"<=": v <= x, ">=": v >= x, "<": v < x, ">": v > x, "=": np.isclose(v, x)}[op]
                return df[m]
            break
    mask = np.zeros(len(df), dtype=bool)
    for c in df.columns:
        if c == "row":
            continue
        s = df[c]
        if s.dtype == object or pd.api.types.is_string_dtype(s):
            mask |= s.astype(str).str.contains(q, case=False, regex=False).to_numpy()
    return df[mask]


# ---------------------------------------------------------------------------------------------- pairs
@dataclass(frozen=True)
class PairIndex:
    """Where the order-2 sets of an :class:`Interactions` are: columns and their 0-based positions."""

    cols: np.ndarray
    ii: np.ndarray
    jj: np.ndarray
    n: int


def pair_index(inter: Interactions) -> PairIndex:
    """The order-2 columns of ``inter`` and their position pairs."""
    cols = np.flatnonzero(inter.orders == 2)
    ii = np.array([inter.sets[c][0] for c in cols], dtype=np.intp)
    jj = np.array([inter.sets[c][1] for c in cols], dtype=np.intp)
    return PairIndex(cols, ii, jj, inter.n)


def cell_from_selection(selection: Any) -> tuple[int, int] | None:
    """The clicked cell ``(i, j)`` (1-based; ``i`` = row = y, ``j`` = column = x) of a plotly selection
    state (``{"selection": {"points": [{"x": .., "y": ..}, ...]}}``) of an interaction map, or None."""
    try:
        pts = selection["selection"]["points"]
        p = pts[0]
        return round(float(p["y"])), round(float(p["x"]))
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def pair_matrix(inter: Interactions, row: int, index: PairIndex | None = None) -> np.ndarray:
    """``float64 (n, n)`` symmetric order-2 values of one sequence (0 diagonal), without the ``(N, n, n)``
    array of :meth:`Interactions.pairwise`."""
    pi = index or pair_index(inter)
    M = np.zeros((pi.n, pi.n))
    v = inter.values[row, pi.cols]
    M[pi.ii, pi.jj] = v
    M[pi.jj, pi.ii] = v
    return M


def _one(inter: Interactions, row: int) -> Interactions:
    return Interactions(sets=inter.sets, values=inter.values[row : row + 1], index=inter.index,
                        order=inter.order, X=inter.X[row : row + 1], alphabet=inter.alphabet)


def sequence_top(inter: Interactions, row: int, k: int = 20, min_order: int = 2,
                 max_order: int | None = None) -> pd.DataFrame:
    """Top ``k`` interactions of one sequence: ``positions`` (1-based), ``letters``, ``order``, ``value``."""
    t = _one(inter, row).top(k, min_order=min_order, max_order=max_order)
    return t.drop(columns="seq")


def higher_order_with_pair(inter: Interactions, row: int, i: int, j: int, k: int = 10) -> pd.DataFrame:
    """Sets of order >= 3 that contain the 1-based positions ``i`` and ``j`` in one sequence, by |value|."""
    a, b = i - 1, j - 1
    cols = [c for c, s in enumerate(inter.sets) if len(s) >= 3 and a in s and b in s]
    letters = inter.alphabet.letters
    X = inter.X[row]
    recs = [
        (tuple(p + 1 for p in inter.sets[c]), "".join(letters[X[p]] for p in inter.sets[c]),
         len(inter.sets[c]), float(inter.values[row, c]))
        for c in cols
    ]
    df = pd.DataFrame(recs, columns=["positions", "letters", "order", "value"])
    df = df[df["value"] != 0]
    return df.reindex(df["value"].abs().sort_values(ascending=False).index).head(k).reset_index(drop=True)


# ---------------------------------------------------------------------------------------------- text
def format_duration(seconds: float | None) -> str:
    """``"< 0.1 s"``, ``"0.4 s"``, ``"42 s"``, ``"3 min 10 s"``, ``"2 h 05 min"`` (``"0.0 s"`` for nothing at
    all); ``"unknown"`` for None / inf / NaN."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "unknown"
    if 0 < seconds < 0.05:
        return "< 0.1 s"  # not "0.0 s": something that takes time
    if seconds < 10:
        return f"{seconds:.1f} s"
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m} min {s:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"


def format_count(x: float | None) -> str:
    """A count short enough for a metric tile: ``"950"``, ``"59.4 k"``, ``"1.27 M"``, ``"3.98 G"``."""
    if x is None or not math.isfinite(x):
        return "—"
    for scale, unit in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if abs(x) >= scale:
            v = x / scale
            return f"{v:.3g}{unit}" if v < 100 else f"{v:.0f}{unit}"
    return f"{x:.0f}"
