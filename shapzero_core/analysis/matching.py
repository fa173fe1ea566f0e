"""Naming motifs: TOMTOM (``memelite``) against a motif database, JASPAR CORE by default (``pyjaspar`` ships
the JASPAR releases as SQLite files, so this works offline).

A :class:`MotifDatabase` holds probability matrices ``(4, w)`` (A, C, G, T rows) with their ids and names;
:func:`load_jaspar` reads one JASPAR collection for a taxon, :func:`read_meme_database` any MEME-format file.
:func:`tomtom_matches` compares query PPMs with every target (both strands) and reports, per query, the best
targets with TOMTOM's p-value, the E-value (p times the number of targets) and the q-value (Benjamini-Hochberg
over the query's p-values against all targets, as MEME's Tomtom reports).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "DEFAULT_JASPAR_RELEASE",
    "JASPAR_TAX_GROUPS",
    "MATCH_COLUMNS",
    "MotifDatabase",
    "load_jaspar",
    "read_meme_database",
    "tomtom_matches",
    "write_meme",
]

DEFAULT_JASPAR_RELEASE = "JASPAR2024"
"""The JASPAR release used unless another is asked for (a fixed release keeps results reproducible)."""

JASPAR_TAX_GROUPS = ("vertebrates", "plants", "insects", "nematodes", "fungi", "urochordates", "diatoms",
                     "trematodes", "dictyostelium", "cnidaria", "oomycota")
"""Taxonomic groups of the JASPAR CORE collection."""

MATCH_COLUMNS = ["motif", "rank", "target_id", "target_name", "p_value", "e_value", "q_value", "offset", "overlap",
                 "strand"]


@dataclass(frozen=True)
class MotifDatabase:
    """Target motifs for TOMTOM.

    Attributes
    ----------
    ids, names : tuple of str
        E.g. ``"MA0139.2"``, ``"CTCF"``.
    matrices : tuple of numpy.ndarray
        ``float64 (4, w)`` probability matrices (rows A, C, G, T; columns sum to 1).
    source : str
        ``"JASPAR2024 CORE vertebrates"`` or the file name.
    """

    ids: tuple[str, ...]
    names: tuple[str, ...]
    matrices: tuple[np.ndarray, ...]
    source: str

    def __len__(self) -> int:
        return len(self.ids)

    def index(self, motif_id: str) -> int:
        """Position of ``motif_id`` (``"MA0139"`` matches any version)."""
        for i, m in enumerate(self.ids):
            if m == motif_id or m.split(".")[0] == motif_id:
                return i
        raise KeyError(f"{motif_id!r} is not in {self.source}")


def _jaspar_path(release: str) -> str:
    try:
        from pyjaspar import jaspar_releases
        from pyjaspar.utils import get_jaspardb_path
    except ImportError as e:  # pragma: no cover - a dependency of the project
        raise ImportError("JASPAR needs the 'pyjaspar' package: pip install pyjaspar") from e
    if release not in jaspar_releases:
        raise ValueError(f"unknown JASPAR release {release!r}; pyjaspar ships {', '.join(sorted(jaspar_releases))}")
    return get_jaspardb_path(jaspar_releases[release])


@functools.lru_cache(maxsize=8)
def load_jaspar(release: str = DEFAULT_JASPAR_RELEASE, collection: str = "CORE",
                tax_group: str | None = "vertebrates") -> MotifDatabase:
    """One JASPAR collection (latest version of every matrix) from the database pyjaspar ships (no network).

    Parameters
    ----------
    release : str
        E.g. ``"JASPAR2024"`` (default), ``"JASPAR2026"``.
    collection : str
        ``"CORE"`` (default) or ``"UNVALIDATED"``.
    tax_group : str or None
        One of :data:`JASPAR_TAX_GROUPS` (default ``"vertebrates"``); None for every taxon.

    Returns
    -------
    MotifDatabase
        Counts turned into probabilities (columns sum to 1). Cached per arguments.
    """
    if tax_group is not None and tax_group not in JASPAR_TAX_GROUPS:
        raise ValueError(f"unknown JASPAR taxon {tax_group!r}; choose one of {', '.join(JASPAR_TAX_GROUPS)}")
    path = _jaspar_path(release)
    from pyjaspar import jaspardb

    db = jaspardb(sqlite_db_path=path)
    kw = {"collection": collection}
    if tax_group is not None:
        kw["tax_group"] = [tax_group]
    motifs = db.fetch_motifs(**kw)
    ids, names, mats = [], [], []
    for m in motifs:
        c = np.array([m.counts[let] for let in "ACGT"], dtype=np.float64)
        tot = c.sum(axis=0, keepdims=True)
        tot[tot == 0] = 1.0
        ids.append(str(m.matrix_id))
        names.append(str(m.name))
        mats.append(c / tot)
    if not ids:
        raise ValueError(f"{release} has no {collection} matrices for {tax_group}")
    label = f"{release} {collection} {tax_group or 'all taxa'}"
    return MotifDatabase(tuple(ids), tuple(names), tuple(mats), label)


def read_meme_database(path: str | os.PathLike[str]) -> MotifDatabase:
    """A MEME-format motif file (``MOTIF <id> <name>`` + ``letter-probability matrix``) as a database."""
    from memelite.io import read_meme

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such motif file")
    try:
        motifs = read_meme(str(p))
    except Exception as e:
        raise ValueError(f"{p}: not a readable MEME motif file ({type(e).__name__}: {e})") from e
    if not motifs:
        raise ValueError(f"{p}: no MOTIF found (expected MEME format)")
    ids, names, mats = [], [], []
    for key, pwm in motifs.items():
        parts = str(key).split()
        ids.append(parts[0])
        names.append(" ".join(parts[1:]) or parts[0])
        mats.append(np.asarray(pwm, dtype=np.float64))
    return MotifDatabase(tuple(ids), tuple(names), tuple(mats), p.name)


def _bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values of each row of ``p``."""
    m = p.shape[1]
    order = np.argsort(p, axis=1)
    ps = np.take_along_axis(p, order, axis=1)
    q = ps * m / np.arange(1, m + 1)
    q = np.minimum.accumulate(q[:, ::-1], axis=1)[:, ::-1]
    out = np.empty_like(q)
    np.put_along_axis(out, order, np.minimum(q, 1.0), axis=1)
    return out


def tomtom_matches(queries: Sequence[np.ndarray], names: Sequence[str], database: MotifDatabase,
                   top: int = 3) -> pd.DataFrame:
    """The best database matches of every query motif (TOMTOM, both strands).

    Parameters
    ----------
    queries : sequence of numpy.ndarray
        ``float (w, 4)`` probability matrices (rows = motif columns, A C G T), e.g. trimmed TF-MoDISco PPMs.
    names : sequence of str
        A name per query (the ``motif`` column).
    database : MotifDatabase
    top : int
        Matches kept per query (by p-value).

    Returns
    -------
    pandas.DataFrame
        :data:`MATCH_COLUMNS`: ``rank`` 1..top, ``target_id``, ``target_name``, ``p_value``, ``e_value``
        (``p * len(database)``), ``q_value`` (Benjamini-Hochberg over all targets), ``offset``, ``overlap``,
        ``strand`` (``+`` or ``-``: the target's strand relative to the query).
    """
    if len(queries) != len(names):
        raise ValueError(f"{len(queries)} queries but {len(names)} names")
    if not queries:
        return pd.DataFrame({c: [] for c in MATCH_COLUMNS})
    from memelite import tomtom

    Q = [np.ascontiguousarray(np.asarray(q, dtype=np.float64).T) for q in queries]
    for q, nm in zip(Q, names, strict=True):
        if q.ndim != 2 or q.shape[0] != 4 or q.shape[1] < 1:
            raise ValueError(f"query {nm!r} must have shape (w, 4), got {q.T.shape}")
    T = [np.ascontiguousarray(t) for t in database.matrices]
    p, _scores, offsets, overlaps, strands = tomtom(Q, T)
    p = np.asarray(p, dtype=np.float64)
    qv = _bh(p)
    M = len(database)
    k = min(int(top), M)
    rows = []
    for i, nm in enumerate(names):
        order = np.argsort(p[i], kind="stable")[:k]
        for r, j in enumerate(order, start=1):
            rows.append((nm, r, database.ids[j], database.names[j], float(p[i, j]), float(p[i, j] * M),
                         float(qv[i, j]), int(offsets[i, j]), int(overlaps[i, j]),
                         "-" if int(strands[i, j]) else "+"))
    return pd.DataFrame(rows, columns=MATCH_COLUMNS)


def write_meme(path: str | os.PathLike[str], ppms: Sequence[np.ndarray], names: Sequence[str],
               background: Sequence[float] = (0.25, 0.25, 0.25, 0.25)) -> Path:
    """Write probability matrices ``(w, 4)`` as a MEME motif file (readable by Tomtom, FIMO, memelite)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    lines = ["MEME version 4", "", "ALPHABET= ACGT", "", "strands: + -", "",
             "Background letter frequencies", "A {:.3f} C {:.3f} G {:.3f} T {:.3f}".format(*background), ""]
    for ppm, nm in zip(ppms, names, strict=True):
        P = np.asarray(ppm, dtype=np.float64)
        lines.append(f"MOTIF {nm}")
        lines.append(f"letter-probability matrix: alength= 4 w= {P.shape[0]} nsites= 1 E= 0")
        lines.extend(" ".join(f"{v:.6f}" for v in row) for row in P)
        lines.append("")
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p
