"""Motifs the field recognises: TF-MoDISco (``modisco-lite``) on the sketch's hypothetical contributions, every
motif named by TOMTOM against JASPAR (:mod:`.matching`).

::

    from shapzero_core.analysis import discover_motifs, write_motifs

    res = discover_motifs(sketch, seqs)            # hypothetical SHAP (closed form) -> TF-MoDISco -> TOMTOM
    res.to_frame()                                 # motif, sign, seqlets, sequences, consensus, best match, q
    res.motifs[0].matches                          # target_id, target_name, p_value, e_value, q_value
    res.motifs[0].seqlets                          # the sequences that carry it (seq_id, start, end, strand)
    write_motifs(res, "motifs/")                   # motifs.meme, matches.tsv, modisco.h5, logos

The scores are :func:`~shapzero_core.analysis.hypothetical_shap` (the SHAP value every letter would have at
every position, ``(N, 4, L)``, no model calls); TF-MoDISco takes them with the one-hot sequences (its
``contrib_scores`` are their product). TF-MoDISco's window sizes are made for sequences of hundreds of
letters; :class:`ModiscoConfig` sizes them from the sequence length ``L`` (window ``L/3`` up to 21,
flank ``L/10`` up to 10) unless given. It needs enough seqlets (``min_metacluster_size`` of one sign, default
100): hundreds to thousands of sequences. With a template (:mod:`shapzero_core.template`) everything is in
full coordinates and fixed positions have zero contribution. DNA / RNA only (``q = 4``).
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..fourier import FourierSketch
from ..sequences import SequenceSet
from .matching import (
    DEFAULT_JASPAR_RELEASE,
    MATCH_COLUMNS,
    MotifDatabase,
    load_jaspar,
    tomtom_matches,
    write_meme,
)
from .motifs import hypothetical_shap

__all__ = ["SEQLET_COLUMNS", "ModiscoConfig", "ModiscoMotif", "MotifSearch", "TooFewSeqletsError",
           "discover_motifs", "write_motifs"]

SEQLET_COLUMNS = ["motif", "seq_number", "seq_id", "start", "end", "strand", "letters", "contribution"]
_MIN_LENGTH = 12


class TooFewSeqletsError(ValueError):
    """TF-MoDISco found too few seqlets to build any motif; the message says how many and what to do."""


@dataclass(frozen=True)
class ModiscoConfig:
    """TF-MoDISco and TOMTOM settings (``None`` = sized from the sequence length).

    Attributes
    ----------
    window : int or None
        ``sliding_window_size``: width of the windows whose summed contribution selects seqlets
        (default ``clip(L // 3, 5, 21)``; TF-MoDISco's own default 21 is for long sequences).
    flank : int or None
        ``flank_size`` added on each side of a seqlet (default ``clip(L // 10, 2, 10)``).
    trim_window : int or None
        ``trim_to_window_size``: motifs are trimmed to this many columns (default ``clip(L // 2, 6, 30)``).
    min_metacluster_size : int
        Fewest seqlets of one sign for TF-MoDISco to look for motifs of that sign (its default, 100).
    target_seqlet_fdr : float
        False-discovery rate of the seqlet threshold (TF-MoDISco's default 0.2).
    n_leiden_runs : int
        Leiden clusterings per step (TF-MoDISco's default is 50; 10 gave the same motifs in our tests at a
        fifth of the time).
    final_min_cluster_size : int
        Fewest seqlets in a reported motif (TF-MoDISco's default 20).
    max_seqlets_per_metacluster : int
    trim_threshold : float
        Motif columns whose total |contribution| is below this fraction of the largest are trimmed before
        TOMTOM (TF-MoDISco's report uses 0.3).
    top_matches : int
        Database matches kept per motif.
    jaspar_release, collection, tax_group : str
        The JASPAR database (default JASPAR2024, CORE, vertebrates).
    """

    window: int | None = None
    flank: int | None = None
    trim_window: int | None = None
    min_metacluster_size: int = 100
    target_seqlet_fdr: float = 0.2
    n_leiden_runs: int = 10
    final_min_cluster_size: int = 20
    max_seqlets_per_metacluster: int = 20_000
    trim_threshold: float = 0.3
    top_matches: int = 3
    jaspar_release: str = DEFAULT_JASPAR_RELEASE
    collection: str = "CORE"
    tax_group: str | None = "vertebrates"

    def sized(self, L: int) -> dict[str, int]:
        """The window, flank and trim sizes used for sequences of length ``L``."""
        flank = self.flank if self.flank is not None else int(np.clip(L // 10, 2, 10))
        window = self.window if self.window is not None else int(np.clip(L // 3, 5, 21))
        trim = self.trim_window if self.trim_window is not None else int(np.clip(L // 2, 6, 30))
        return {"window": window, "flank": flank, "trim_window": trim}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ModiscoMotif:
    """One TF-MoDISco motif and its database matches.

    Attributes
    ----------
    name : str
        ``pos_patterns.pattern_<i>`` / ``neg_patterns.pattern_<i>`` (TF-MoDISco's names).
    sign : int
        +1 (the motif raises the prediction) or -1.
    ppm : numpy.ndarray
        ``float64 (w, 4)`` letter probabilities of its aligned seqlets (TF-MoDISco's ``sequence``).
    cwm : numpy.ndarray
        ``float64 (w, 4)`` mean contribution (SHAP) of each letter at each column (``contrib_scores``).
    hcwm : numpy.ndarray
        ``float64 (w, 4)`` mean hypothetical contribution (``hypothetical_contribs``).
    trim : tuple of int
        ``(start, stop)`` columns kept for TOMTOM (0-based, stop exclusive).
    num_seqlets, num_sequences : int
    seqlets : pandas.DataFrame
        :data:`SEQLET_COLUMNS`: ``seq_number`` (1-based row of the input), ``seq_id``, ``start`` / ``end``
        (1-based, inclusive, full positions), ``strand`` (``+``, or ``-`` when the motif is read on the reverse strand), ``letters``
        (the sequence there, forward strand), ``contribution`` (sum of SHAP over the seqlet).
    matches : pandas.DataFrame
        :data:`~shapzero_core.analysis.matching.MATCH_COLUMNS`, best first.
    """

    name: str
    sign: int
    ppm: np.ndarray
    cwm: np.ndarray
    hcwm: np.ndarray
    trim: tuple[int, int]
    num_seqlets: int
    num_sequences: int
    seqlets: pd.DataFrame
    matches: pd.DataFrame

    @property
    def consensus(self) -> str:
        """Most probable letter of each trimmed column."""
        return "".join("ACGT"[j] for j in self.ppm[self.trim[0] : self.trim[1]].argmax(axis=1))

    @property
    def trimmed_ppm(self) -> np.ndarray:
        """``(w', 4)`` the columns sent to TOMTOM."""
        return self.ppm[self.trim[0] : self.trim[1]]

    @property
    def best_match(self) -> dict[str, Any] | None:
        """The first row of :attr:`matches` as a dict, or None."""
        return None if self.matches.empty else self.matches.iloc[0].to_dict()

    def frame(self, which: str = "cwm", letters: str = "ACGT") -> pd.DataFrame:
        """``(w, 4)`` logo matrix (index = 1-based motif column): ``"cwm"``, ``"hcwm"`` or ``"ppm"``."""
        M = {"cwm": self.cwm, "hcwm": self.hcwm, "ppm": self.ppm}[which]
        df = pd.DataFrame(M, columns=list(letters), index=np.arange(1, M.shape[0] + 1))
        df.index.name = "column"
        return df


@dataclass(frozen=True)
class MotifSearch:
    """What :func:`discover_motifs` found.

    Attributes
    ----------
    motifs : list of ModiscoMotif
        Positive motifs first, each sign by number of seqlets.
    num_sequences : int
    seqlet_counts : dict
        ``{"positive": .., "negative": ..}``: seqlets in the reported motifs of each sign.
    settings : dict
        The TF-MoDISco / TOMTOM settings used (sizes resolved).
    database : str
        The motif database (e.g. ``"JASPAR2024 CORE vertebrates"``; empty when not matched).
    timings : dict
        Seconds: ``hypothetical``, ``modisco``, ``tomtom``.
    notes : tuple of str
        E.g. why no motif was reported.
    """

    motifs: list[ModiscoMotif]
    num_sequences: int
    seqlet_counts: dict[str, int]
    settings: dict[str, Any]
    database: str
    timings: dict[str, float]
    notes: tuple[str, ...] = ()
    _raw: tuple[Any, Any, int] | None = field(default=None, repr=False, compare=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per motif: ``motif, sign, num_seqlets, num_sequences, consensus, length, best_match_id,
        best_match_name, best_p_value, best_q_value``."""
        rows = []
        for m in self.motifs:
            b = m.best_match or {}
            rows.append({"motif": m.name, "sign": m.sign, "num_seqlets": m.num_seqlets,
                         "num_sequences": m.num_sequences, "consensus": m.consensus,
                         "length": m.trim[1] - m.trim[0], "best_match_id": b.get("target_id"),
                         "best_match_name": b.get("target_name"), "best_p_value": b.get("p_value"),
                         "best_q_value": b.get("q_value")})
        cols = ["motif", "sign", "num_seqlets", "num_sequences", "consensus", "length", "best_match_id",
                "best_match_name", "best_p_value", "best_q_value"]
        return pd.DataFrame(rows, columns=cols)

    def matches(self) -> pd.DataFrame:
        """Every motif's matches in one table (:data:`MATCH_COLUMNS`)."""
        frames = [m.matches for m in self.motifs if len(m.matches)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({c: [] for c in MATCH_COLUMNS})

    def seqlets(self) -> pd.DataFrame:
        """Every motif's seqlets in one table (:data:`SEQLET_COLUMNS`: ``seq_number`` is the 1-based row of the
        sequence in the explained set, ``start``/``end`` 1-based inclusive positions)."""
        frames = [m.seqlets for m in self.motifs if len(m.seqlets)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({c: [] for c in SEQLET_COLUMNS})


def _resolve_inputs(sketch: FourierSketch, seqs: SequenceSet | np.ndarray) -> tuple[list[str], np.ndarray]:
    from .explanation import full_codes

    if isinstance(seqs, SequenceSet):
        ids = list(seqs.ids)
        X = full_codes(sketch, seqs.X)
    else:
        X = full_codes(sketch, np.asarray(seqs))
        ids = [f"seq_{i + 1}" for i in range(X.shape[0])]
    return ids, X


def _trim(cwm: np.ndarray, threshold: float) -> tuple[int, int]:
    score = np.abs(cwm).sum(axis=1)
    keep = np.flatnonzero(score >= threshold * score.max()) if score.max() > 0 else np.arange(score.size)
    return int(keep.min()), int(keep.max()) + 1


def _count_seqlets(contrib: np.ndarray, s: dict[str, int], cfg: ModiscoConfig) -> tuple[int, int]:
    """Positive / negative seqlets TF-MoDISco's extraction keeps (its own code, for the message)."""
    from modiscolite import extract_seqlets

    with contextlib.redirect_stdout(io.StringIO()):
        coords, thr = extract_seqlets.extract_seqlets(
            attribution_scores=contrib, window_size=s["window"], flank=s["flank"],
            suppress=int(0.5 * s["window"]) + s["flank"], target_fdr=cfg.target_seqlet_fdr,
            min_passing_windows_frac=0.03, max_passing_windows_frac=0.2, weak_threshold_for_counting_sign=0.8)
    pos = neg = 0
    cs = np.concatenate([np.zeros((contrib.shape[0], 1)), np.cumsum(contrib, axis=1)], axis=1)
    for c in coords:
        a = cs[c.example_idx, c.end - s["flank"]] - cs[c.example_idx, c.start + s["flank"]]
        pos += a > thr
        neg += a < -thr
    return int(pos), int(neg)


def discover_motifs(
    sketch: FourierSketch,
    seqs: SequenceSet | np.ndarray,
    config: ModiscoConfig | None = None,
    database: MotifDatabase | str | None = "jaspar",
    progress: Callable[[str, int, int, str], None] | None = None,
) -> MotifSearch:
    """TF-MoDISco motifs of the sketch's hypothetical contributions, named by TOMTOM.

    Parameters
    ----------
    sketch : FourierSketch
        A DNA / RNA sketch (``q = 4``).
    seqs : SequenceSet or numpy.ndarray
        The sequences to look in (``int (N, L)``; with a template, full length). Hundreds to thousands.
    config : ModiscoConfig, optional
    database : MotifDatabase, "jaspar" or None
        ``"jaspar"`` (default): :func:`~shapzero_core.analysis.matching.load_jaspar` with the config's release,
        collection and taxon; None: no matching.
    progress : callable, optional
        ``progress(stage, done, total, message)`` with stages ``hypothetical``, ``modisco``, ``tomtom``.

    Returns
    -------
    MotifSearch

    Raises
    ------
    ValueError
        Not a 4-letter alphabet, or sequences shorter than 12 letters.
    TooFewSeqletsError
        Fewer than ``min_metacluster_size`` seqlets of either sign: the message gives the counts and asks for
        more sequences.
    """
    cfg = config or ModiscoConfig()
    if sketch.q != 4:
        raise ValueError(f"TF-MoDISco and JASPAR are for DNA / RNA (4 letters); this sketch has {sketch.q} letters "
                         f"({sketch.alphabet.letters}): use the spaced repeats of the interactions instead")
    ids, X = _resolve_inputs(sketch, seqs)
    N, L = X.shape
    if L < _MIN_LENGTH:
        raise ValueError(f"sequences of {L} letters are too short for TF-MoDISco (at least {_MIN_LENGTH})")
    if N == 0:
        raise ValueError("no sequences to look for motifs in")
    s = cfg.sized(L)
    if s["window"] + 2 * s["flank"] > L - 2:
        raise ValueError(f"window {s['window']} + 2 x flank {s['flank']} does not fit sequences of {L} letters")
    prog = progress or (lambda *a: None)
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    prog("hypothetical", 0, 1, f"hypothetical SHAP of {N:,} sequences (closed form)")
    H = hypothetical_shap(sketch, X)  # (N, 4, L) float32
    hyp = np.ascontiguousarray(np.transpose(H, (0, 2, 1)), dtype=np.float32)  # (N, L, 4)
    ohe = np.eye(4, dtype=np.float32)[X.astype(np.intp)]
    timings["hypothetical"] = round(time.perf_counter() - t0, 3)

    t0 = time.perf_counter()
    prog("modisco", 0, 1, f"TF-MoDISco on {N:,} sequences of {L} letters")
    from modiscolite import tfmodisco

    with contextlib.redirect_stdout(io.StringIO()), _modisco_errors(N):
        pos, neg = tfmodisco.TFMoDISco(
            ohe, hyp, sliding_window_size=s["window"], flank_size=s["flank"],
            min_metacluster_size=cfg.min_metacluster_size, target_seqlet_fdr=cfg.target_seqlet_fdr,
            max_seqlets_per_metacluster=cfg.max_seqlets_per_metacluster, n_leiden_runs=cfg.n_leiden_runs,
            trim_to_window_size=s["trim_window"], initial_flank_to_add=s["flank"], final_flank_to_add=0,
            final_min_cluster_size=cfg.final_min_cluster_size, verbose=False)
    timings["modisco"] = round(time.perf_counter() - t0, 3)
    prog("modisco", 1, 1, "TF-MoDISco done")
    contrib = (ohe * hyp).sum(axis=2)
    notes: list[str] = []
    counts = {"positive": sum(len(p.seqlets) for p in pos or []), "negative": sum(len(p.seqlets) for p in neg or [])}
    if pos is None and neg is None:
        npos, nneg = _count_seqlets(contrib, s, cfg)
        raise TooFewSeqletsError(
            f"TF-MoDISco found {npos} positive and {nneg} negative seqlets in {N:,} sequences; it needs more than "
            f"{cfg.min_metacluster_size} of one sign to build motifs: explain more sequences (hundreds to "
            "thousands) or lower min_metacluster_size")
    if not (pos or neg):
        notes.append("TF-MoDISco found seqlets but no motif passed its filters (support, information content)")

    db: MotifDatabase | None
    if isinstance(database, str):
        if database != "jaspar":
            raise ValueError(f"database must be a MotifDatabase, 'jaspar' or None, got {database!r}")
        db = load_jaspar(cfg.jaspar_release, cfg.collection, cfg.tax_group)
    else:
        db = database

    letters = sketch.alphabet.letters
    table = np.frombuffer(letters.encode("ascii"), dtype=np.uint8)
    motifs: list[ModiscoMotif] = []
    for label, sign, pats in (("pos_patterns", 1, pos), ("neg_patterns", -1, neg)):
        for i, pat in enumerate(pats or []):
            name = f"{label}.pattern_{i}"
            cwm = np.asarray(pat.contrib_scores, dtype=np.float64)
            rows = []
            for sl in pat.seqlets:
                a, b = int(sl.start), int(sl.end)
                a0, b0 = max(a, 0), min(b, L)
                rows.append((name, int(sl.example_idx) + 1, ids[int(sl.example_idx)], a0 + 1, b0,
                             "-" if sl.is_revcomp else "+",
                             table[X[int(sl.example_idx), a0:b0].astype(np.intp)].tobytes().decode("ascii"),
                             float(contrib[int(sl.example_idx), a0:b0].sum())))
            sl_df = pd.DataFrame(rows, columns=SEQLET_COLUMNS)
            motifs.append(ModiscoMotif(
                name=name, sign=sign, ppm=np.asarray(pat.sequence, dtype=np.float64), cwm=cwm,
                hcwm=np.asarray(pat.hypothetical_contribs, dtype=np.float64), trim=_trim(cwm, cfg.trim_threshold),
                num_seqlets=len(pat.seqlets), num_sequences=int(sl_df["seq_number"].nunique()), seqlets=sl_df,
                matches=pd.DataFrame({c: [] for c in MATCH_COLUMNS})))

    t0 = time.perf_counter()
    if db is not None and motifs:
        prog("tomtom", 0, 1, f"TOMTOM against {db.source} ({len(db)} matrices)")
        m = tomtom_matches([mt.trimmed_ppm for mt in motifs], [mt.name for mt in motifs], db, top=cfg.top_matches)
        motifs = [_with_matches(mt, m[m["motif"] == mt.name].reset_index(drop=True)) for mt in motifs]
        prog("tomtom", 1, 1, "matched")
    timings["tomtom"] = round(time.perf_counter() - t0, 3)
    settings = {**cfg.to_dict(), **s, "sequence_length": L}
    return MotifSearch(motifs=motifs, num_sequences=N, seqlet_counts=counts, settings=settings,
                       database=db.source if db is not None else "", timings=timings, notes=tuple(notes),
                       _raw=(pos, neg, s["window"]))


@contextlib.contextmanager
def _modisco_errors(N: int):
    """TF-MoDISco's failures on degenerate scores as one clear ValueError."""
    try:
        yield
    except ValueError as e:
        if "empty sequence" in str(e):  # every seqlet filtered before clustering (identical contributions)
            raise ValueError(f"TF-MoDISco could not cluster the seqlets of these {N:,} sequences: their "
                             "contributions are too uniform (e.g. an exact model whose sites all score the "
                             "same); try more varied sequences") from e
        raise


def _with_matches(m: ModiscoMotif, matches: pd.DataFrame) -> ModiscoMotif:
    from dataclasses import replace

    return replace(m, matches=matches)


def write_motifs(result: MotifSearch, out_dir: str | os.PathLike[str],
                 figure_formats: tuple[str, ...] = ("svg", "pdf", "png")) -> dict[str, list[Path]]:
    """Write a motif search: ``motifs.meme`` (trimmed PPMs, the TOMTOM queries), ``matches.tsv``,
    ``motifs.tsv`` (one row per motif), ``motif_seqlets.tsv`` (the sequences carrying each motif), ``modisco.h5``
    (TF-MoDISco's own format, readable by ``modisco report``) and logos (``logos/<motif>_cwm`` contribution
    logo and ``logos/<motif>_ppm`` information logo, in ``figure_formats``).

    Returns
    -------
    dict
        Name -> paths written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, list[Path]] = {}
    names = [m.name for m in result.motifs]
    files["meme"] = [write_meme(out / "motifs.meme", [m.trimmed_ppm for m in result.motifs], names)]
    for key, frame, fname in (("matches", result.matches(), "matches.tsv"), ("motifs", result.to_frame(), "motifs.tsv"),
                              ("seqlets", result.seqlets(), "motif_seqlets.tsv")):
        p = out / fname
        frame.to_csv(p, sep="\t", index=False)
        files[key] = [p]
    if result._raw is not None:
        from modiscolite.io import save_hdf5

        pos, neg, window = result._raw
        p = out / "modisco.h5"
        save_hdf5(str(p), pos, neg, window)
        files["h5"] = [p]
    if figure_formats and result.motifs:
        from ..alphabet import DNA
        from ..figures import logo_matplotlib, pwm_matrix, save_figure

        paths: list[Path] = []
        for m in result.motifs:
            stem = m.name.replace(".", "_")
            best = m.best_match
            tag = f" · best match {best['target_id']} {best['target_name']} (q = {best['q_value']:.2g})" if best else ""
            paths += save_figure(logo_matplotlib(m.frame("cwm"), ylabel="contribution (SHAP)",
                                                 title=f"{m.name}: {m.num_seqlets} seqlets{tag}"),
                                 out / "logos" / f"{stem}_cwm", figure_formats)
            paths += save_figure(logo_matplotlib(pwm_matrix(m.ppm, DNA), ylabel="bits", title=f"{m.name}: letters"),
                                 out / "logos" / f"{stem}_ppm", figure_formats)
        files["logos"] = paths
    return files
