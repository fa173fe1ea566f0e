"""Seqlets (high-|SHAP| windows) and motifs (recurring seqlets with PWMs), and hypothetical contributions
for TF-MoDISco."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..alphabet import Alphabet
from ..fourier import _CHUNK_ELEMS, FourierSketch
from .explanation import Explanation, _as_index

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

    Summed over the letters, ``H`` is 0 at every position (each term with ``k_i != 0`` averages out over
    ``delta``), the mean-centred convention TF-MoDISco expects.

    Parameters
    ----------
    sketch : FourierSketch
    X : numpy.ndarray
        ``int (N, L)`` sequences as for :func:`~shapzero_core.analysis.explain_sequences` (with a template:
        full length, or its free positions).

    Returns
    -------
    numpy.ndarray
        ``float32 (N, q, L)``; with a template, full coordinates and 0 at the fixed positions (their letter
        cannot change).
    """
    from .explanation import full_codes

    tpl = sketch.template
    if tpl is not None:
        Xf = tpl.restrict(full_codes(sketch, X), check=False)
        return tpl.to_full(_hypothetical_free(sketch, Xf), axis=2)
    return _hypothetical_free(sketch, sketch.check_sequences(X))


def _hypothetical_free(sketch: FourierSketch, X: np.ndarray) -> np.ndarray:
    """:func:`hypothetical_shap` in the sketch's own coordinates (``X`` validated ``int8 (N, n)``)."""
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
