"""Exports that other tools can read: tidy and wide tables, TF-MoDISco arrays, figures, a JSON run record.

Every table keeps the original sequence ids (``seq_id``) and uses 1-based positions.

Tables
------
``shap_long``      ``seq_id, sequence, position, letter, shap, stderr`` (one row per sequence and position;
                   ``stderr`` is the value's uncertainty, empty when unknown: see ``run.json``'s
                   ``stderr`` entry for its kind)
``interactions``   ``seq_id, positions, letters, order, index, value`` (``positions`` is a string of
                   1-based positions joined by ``","``, e.g. ``"3,7"``; letters in the same order)
``shap_wide``      one row per sequence: ``seq_id, sequence, prediction, shap_1 .. shap_n``, ``stderr_1 ..
                   stderr_n`` when known, and the input file's other columns
summaries          position x letter summary, split-interaction summary, top interactions, spaced repeats
                   (see :mod:`shapzero_core.analysis`)
``motifs/``        with ``ExportConfig(motifs=True)`` (CLI ``--motifs``) or a given motif search: TF-MoDISco
                   motifs named against JASPAR (:func:`shapzero_core.analysis.write_motifs`: motifs.meme,
                   matches.tsv, motifs.tsv, motif_seqlets.tsv, modisco.h5, logos)

TF-MoDISco
----------
``modisco_ohe.npz`` (one-hot), ``modisco_shap.npz`` (SHAP value on the carried letter, zeros elsewhere) and
``modisco_hyp_shap.npz`` (hypothetical SHAP values, see :func:`shapzero_core.analysis.hypothetical_shap`),
each ``float32 (N, 4, L)`` under the key ``arr_0``, the layout ``modisco motifs -s ohe.npz -a shap.npz``
expects. The sequence ids in row order are in ``modisco_ids.txt``.

Run record
----------
``run.json``: format name and version, program versions, the sketch (file, sha256, n, q, number of
coefficients), the sequences (file, format, accepted / rejected counts, notes), parameters, timings, and
every written file with its size and sha256.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .analysis import (
    Explanation,
    difference_summary,
    explain_sequences,
    hypothetical_shap,
    pairwise_summary,
    position_letter_summary,
    repeat_spacing_summary,
    select,
    spaced_repeats,
    split_interaction_summary,
    top_interactions,
)
from .background import Background
from .fourier import FourierSketch
from .sequences import SequenceSet

__all__ = [
    "EXPORT_FORMAT",
    "EXPORT_FORMAT_VERSION",
    "ExportConfig",
    "ExportResult",
    "TableWriter",
    "csv_safe",
    "export_all",
    "interaction_table",
    "modisco_arrays",
    "pairwise_summary_table",
    "read_table",
    "shap_table",
    "stderr_note",
    "wide_table",
    "write_modisco",
    "write_table",
]

EXPORT_FORMAT = "shapzero-export"
EXPORT_FORMAT_VERSION = 1
TABLE_FORMATS = ("csv", "parquet")


# ============================================================================================== tables
def shap_table(expl: Explanation) -> pd.DataFrame:
    """Tidy SHAP values: ``seq_id, sequence, position`` (1-based), ``letter, shap, stderr``; ``N * n`` rows.

    ``stderr`` is ``expl.stderr`` (NaN when the explanation has none): the standard error of a refined
    value, or the calibrated per-position error of a sketch-only value (``expl.stderr_kind``).

    With a template (:attr:`Explanation.template`) every position is listed (full coordinates) and a column
    ``fixed`` is True at the template's fixed positions, whose ``shap`` (and ``stderr``) is exactly 0.
    """
    N, n = expl.X.shape
    letters = np.array(list(expl.alphabet.letters))
    seqs = np.asarray(expl.sequences, dtype=object)
    se = expl.stderr.ravel() if expl.stderr is not None else np.full(N * n, np.nan)
    df = pd.DataFrame(
        {
            "seq_id": np.repeat(np.asarray(expl.ids, dtype=object), n),
            "sequence": np.repeat(seqs, n),
            "position": np.tile(np.arange(1, n + 1, dtype=np.int64), N),
            "letter": letters[expl.X.ravel().astype(np.intp)],
            "shap": expl.shap.ravel(),
            "stderr": se,
        }
    )
    if expl.template is not None:
        df["fixed"] = np.tile(expl.template.fixed_mask(), N)
    return df


def stderr_note(expl: Explanation) -> str:
    """One line saying what the ``stderr`` column of the tables means for this explanation."""
    if expl.stderr_kind == "refined":
        return ("standard errors of SHAP values refined with the model (unbiased estimates; the sketch as a "
                "control variate)")
    if expl.stderr_kind == "trust check":
        return ("sketch-only values: the trust check's de-biased RMS error of the sketch at each position over "
                "random sequences (a calibrated typical error, not a per-value guarantee)")
    if expl.background is not None:
        return ("unknown: the trust check's error bars describe the uniform background, not "
                f"{expl.background.description}")
    return ("unknown: the sketch has no trust check (run 'shapzero sketch' without --no-check, or refine "
            "with 'shapzero explain --refine --model SPEC')")


def interaction_table(
    expl: Explanation, min_order: int = 2, min_abs: float = 0.0, top_per_sequence: int | None = None
) -> pd.DataFrame:
    """Tidy interaction values: ``seq_id, positions, letters, order, index, value``.

    Parameters
    ----------
    expl : Explanation
        With interactions.
    min_order : int
        Smallest order written (default 2; order-1 Möbius terms are not SHAP values).
    min_abs : float
        Drop values with ``|value| <= min_abs`` (0 drops exact zeros only).
    top_per_sequence : int, optional
        Keep only the this many largest ``|value|`` of each sequence (None: all; the full table has up to
        ``N * G`` rows).

    Returns
    -------
    pandas.DataFrame
        One row per (sequence, position set) kept, grouped by sequence in input order.
    """
    inter = expl.interactions
    if inter is None:
        raise ValueError("this explanation has no interactions (explain with with_interactions=True)")
    cols = ["seq_id", "positions", "letters", "order", "index", "value"]
    orders = inter.orders
    sel_cols = np.flatnonzero(orders >= min_order)
    keep = np.abs(inter.values[:, sel_cols]) > min_abs  # (N, G_sel)
    if top_per_sequence is not None and 0 < top_per_sequence < sel_cols.size:
        k = int(top_per_sequence)
        part = np.argpartition(-np.abs(inter.values[:, sel_cols]), k - 1, axis=1)[:, :k]
        top = np.zeros_like(keep)
        np.put_along_axis(top, part, True, axis=1)
        keep &= top
    keep_full = np.zeros(inter.values.shape, dtype=bool)
    keep_full[:, sel_cols] = keep
    frames = []
    table = np.frombuffer(expl.alphabet.letters.encode("ascii"), dtype=np.uint8)
    ids = np.asarray(expl.ids, dtype=object)
    for d in np.unique(orders[orders >= min_order]):
        gcols = np.flatnonzero(orders == d)
        S = np.array([inter.sets[g] for g in gcols], dtype=np.intp)  # (G_d, d)
        V = inter.values[:, gcols]  # (N, G_d)
        r, c = np.nonzero(keep_full[:, gcols])
        if r.size == 0:
            continue
        L = expl.X[r[:, None], S[c]]  # (M, d) letter codes
        codes, inv = np.unique(L, axis=0, return_inverse=True)
        strs = np.array([table[row].tobytes().decode("ascii") for row in codes.astype(np.intp)], dtype=object)
        pos_str = np.array([",".join(str(p + 1) for p in inter.sets[g]) for g in gcols], dtype=object)
        frames.append(
            pd.DataFrame(
                {
                    "_r": r,
                    "_g": gcols[c],
                    "seq_id": ids[r],
                    "positions": pos_str[c],
                    "letters": strs[inv.ravel()],
                    "order": np.int64(d),
                    "index": inter.index,
                    "value": V[r, c],
                }
            )
        )
    if not frames:
        return pd.DataFrame({c: [] for c in cols})
    out = pd.concat(frames, ignore_index=True).sort_values(["_r", "order", "_g"], kind="stable")
    return out[cols].reset_index(drop=True)


def wide_table(expl: Explanation) -> pd.DataFrame:
    """One row per sequence: ``seq_id, sequence, prediction, shap_1 .. shap_n``, ``stderr_1 .. stderr_n``
    (when the explanation has them) and the extra columns.

    An input column whose name the table already uses (e.g. a measured ``prediction``, or ``shap_3``) is kept
    under a new name (``prediction_input``, ``shap_3_input``, ...); ``frame.attrs["renamed_columns"]`` maps the
    original names to the new ones and ``frame.attrs["notes"]`` says so in words.
    """
    df = pd.DataFrame({"seq_id": expl.ids, "sequence": expl.sequences, "prediction": expl.predictions})
    shap = pd.DataFrame(expl.shap, columns=[f"shap_{i}" for i in range(1, expl.n + 1)])
    parts = [df, shap]
    if expl.stderr is not None:
        parts.append(pd.DataFrame(expl.stderr, columns=[f"stderr_{i}" for i in range(1, expl.n + 1)]))
    extra = expl.extra.reset_index(drop=True)
    taken = {c for p in parts for c in p.columns}
    renamed: dict[str, str] = {}
    for c in extra.columns:
        if c in taken:
            new, k = f"{c}_input", 2
            while new in taken or new in extra.columns:
                new, k = f"{c}_input_{k}", k + 1
            renamed[str(c)] = new
            taken.add(new)
    out = pd.concat([*parts, extra.rename(columns=renamed)], axis=1)
    out.attrs["renamed_columns"] = renamed
    out.attrs["notes"] = [f"input column {old!r} is {new!r} in this table (the name is taken by the explanation)"
                          for old, new in renamed.items()]
    return out


def _parquet_safe(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object and out[c].map(lambda v: isinstance(v, tuple)).any():
            out[c] = out[c].map(lambda v: ",".join(map(str, v)) if isinstance(v, tuple) else v)
    return out


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$|^[+-]?(?:inf|nan)$", re.IGNORECASE)


def _defuse(v: Any) -> Any:
    if isinstance(v, str) and v.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(v):
        return "'" + v
    return v


def csv_safe(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every text cell (and column name) that a spreadsheet would run as a formula defused.

    Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (e.g. an id ``=HYPERLINK(...)``)
    gets a leading ``'``, which spreadsheets show as text (OWASP's advice for CSV injection); plain numbers such
    as ``-0.5`` are left alone, and so is every numeric column. Parquet files keep the values as they are.
    """
    out = df.copy(deep=False)
    out.columns = [_defuse(c) for c in out.columns]
    for i in range(out.shape[1]):
        col = out.iloc[:, i]
        if col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
            try:
                fix = {v: _defuse(v) for v in pd.unique(col) if _defuse(v) is not v}  # few distinct values
            except TypeError:  # unhashable cells: check every one
                out.isetitem(i, col.map(_defuse))
                continue
            if fix:
                out.isetitem(i, col.map(lambda v, fix=fix: fix.get(v, v) if isinstance(v, str) else v))
    return out


#: CSV numbers: 12 significant digits, so that round-off (0.7499999999999938) does not reach the file; the
#: values are sums of float64 terms and are not more precise than that. Parquet keeps every bit.
CSV_FLOAT_FORMAT = "%.12g"


def write_table(df: pd.DataFrame, path: str | os.PathLike[str], formats: Iterable[str] = TABLE_FORMATS) -> list[Path]:
    """Write ``df`` as ``<path>.csv`` and/or ``<path>.parquet`` (tuples of positions become ``"3,7"``).

    CSV cells that a spreadsheet would run as formulas are defused with a leading ``'`` (:func:`csv_safe`);
    CSV numbers have 12 significant digits (:data:`CSV_FLOAT_FORMAT`).
    """
    stem = Path(path)
    stem = stem.with_suffix("") if stem.suffix in (".csv", ".parquet") else stem
    stem.parent.mkdir(parents=True, exist_ok=True)
    safe = _parquet_safe(df)
    out = []
    for fmt in formats:
        p = stem.with_name(stem.name + "." + fmt)
        if fmt == "csv":
            csv_safe(safe).to_csv(p, index=False, float_format=CSV_FLOAT_FORMAT)
        elif fmt == "parquet":
            safe.to_parquet(p, index=False)
        else:
            raise ValueError(f"unknown table format {fmt!r}; choose csv or parquet")
        out.append(p)
    return out


class TableWriter:
    """Write one table in pieces (same columns each time) to ``<path>.csv`` and/or ``<path>.parquet``.

    What :func:`write_table` writes, without ever holding the whole table: CSV pieces are appended (one
    header), Parquet pieces become row groups of one file. Use as a context manager or call :meth:`close`.

    Parameters
    ----------
    path : path
        File name without (or with) the ``.csv`` / ``.parquet`` suffix.
    formats : iterable of str
        ``"csv"`` and/or ``"parquet"``.
    """

    def __init__(self, path: str | os.PathLike[str], formats: Iterable[str] = TABLE_FORMATS) -> None:
        stem = Path(path)
        stem = stem.with_suffix("") if stem.suffix in (".csv", ".parquet") else stem
        self.formats = tuple(formats)
        bad = [f for f in self.formats if f not in TABLE_FORMATS]
        if bad:
            raise ValueError(f"unknown table format {bad[0]!r}; choose csv or parquet")
        stem.parent.mkdir(parents=True, exist_ok=True)
        self.paths = [stem.with_name(stem.name + "." + f) for f in self.formats]
        self._csv: Any = None
        self._parquet: Any = None
        self._empty: pd.DataFrame | None = None
        self.rows = 0

    def write(self, df: pd.DataFrame) -> None:
        """Append the rows of ``df`` (an empty piece only fixes the columns if nothing else comes)."""
        if len(df) == 0:
            if self._empty is None:
                self._empty = df
            return
        safe = _parquet_safe(df)
        for fmt, p in zip(self.formats, self.paths, strict=True):
            if fmt == "csv":
                first = self._csv is None
                if first:
                    self._csv = p.open("w", encoding="utf-8", newline="")
                csv_safe(safe).to_csv(self._csv, index=False, header=first, float_format=CSV_FLOAT_FORMAT)
            else:
                import pyarrow as pa
                import pyarrow.parquet as pq

                table = pa.Table.from_pandas(safe, preserve_index=False)
                if self._parquet is None:
                    self._parquet = pq.ParquetWriter(p, table.schema)
                elif table.schema != self._parquet.schema:
                    try:
                        table = table.cast(self._parquet.schema)
                    except (pa.ArrowInvalid, ValueError) as e:
                        raise ValueError(f"{p}: a piece of the table has other column types than the first ({e})") from e
                self._parquet.write_table(table)
        self.rows += len(df)

    def close(self) -> list[Path]:
        """Finish the files; returns their paths."""
        if self._csv is None and self._parquet is None and self._empty is not None:
            write_table(self._empty, self.paths[0].with_suffix(""), self.formats)
        if self._csv is not None:
            self._csv.close()
        if self._parquet is not None:
            self._parquet.close()
        self._csv = self._parquet = None
        return list(self.paths)

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a table written by :func:`write_table` (ids kept as strings)."""
    p = Path(path)
    if p.suffix == ".parquet":
        return pd.read_parquet(p)
    return pd.read_csv(p, dtype={"seq_id": str, "positions": str, "letters": str, "sequence": str},
                       keep_default_na=False, na_values=[""])


# ============================================================================================== modisco
def modisco_arrays(expl: Explanation, sketch: FourierSketch | None = None) -> dict[str, np.ndarray]:
    """TF-MoDISco inputs, each ``float32 (N, q, L)``.

    Returns
    -------
    dict
        ``"ohe"`` one-hot; ``"shap"`` SHAP value on the carried letter (``ohe * phi``); with a sketch also
        ``"hyp_shap"``, the hypothetical SHAP values of every letter.
    """
    ohe = expl.alphabet.one_hot(expl.X, layout="NQL", dtype=np.float32)
    out = {"ohe": ohe, "shap": (ohe * expl.shap[:, None, :]).astype(np.float32)}
    if sketch is not None:
        out["hyp_shap"] = hypothetical_shap(sketch, expl.X, background=expl.background)
    return out


def write_modisco(
    expl: Explanation, out_dir: str | os.PathLike[str], sketch: FourierSketch | None = None, prefix: str = "modisco"
) -> list[Path]:
    """Write :func:`modisco_arrays` as ``<prefix>_<name>.npz`` (key ``arr_0``) plus ``<prefix>_ids.txt``."""
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, arr in modisco_arrays(expl, sketch).items():
        p = d / f"{prefix}_{name}.npz"
        np.savez_compressed(p, arr)  # positional -> key "arr_0"
        paths.append(p)
    ids = d / f"{prefix}_ids.txt"
    ids.write_text("".join(f"{i}\n" for i in expl.ids), encoding="utf-8")
    paths.append(ids)
    return paths


# ============================================================================================== everything
@dataclass(frozen=True)
class ExportConfig:
    """What :func:`export_all` writes.

    Attributes
    ----------
    index : str
        Interaction index (``"mobius"``, ``"faith-shap"``, ``"sii"``, ``"stii"``, ``"banzhaf"``).
    order : int or None
        Maximal interaction order (None: all; required for faith-shap / stii, default 2 there).
    table_formats : tuple of str
        ``("csv", "parquet")`` or a subset.
    figure_formats : tuple of str
        ``("svg", "pdf", "png")`` or a subset; empty to skip figures.
    interactions_min_order, interactions_min_abs, interactions_per_sequence
        Filters of the per-sequence interaction table (unfiltered it has up to ``N * G`` rows; by default
        the 50 largest ``|value|`` of each sequence are kept, None keeps all).
    top_k : int
        Rows of the top-interactions table (all combinations go to ``top_interactions_all``).
    logos_for : int
        Write a SHAP logo figure for the first this many sequences.
    modisco : bool
        Write the TF-MoDISco arrays (only for 4-letter alphabets).
    motifs : bool
        Also run TF-MoDISco + TOMTOM (:func:`~shapzero_core.analysis.discover_motifs`, tens of seconds to
        minutes) and write ``motifs/`` (4-letter alphabets only; too few seqlets becomes a note in
        ``run.json``).
    compare_column, compare_values
        Optional difference logo between two values of an input column.
    background : optional
        What the values are measured against (default uniform): anything
        :func:`~shapzero_core.analysis.explain_sequences` takes (``"data"``, a table, a
        :class:`~shapzero_core.background.Background`); recorded in ``run.json``.
    """

    index: str = "mobius"
    order: int | None = None
    table_formats: tuple[str, ...] = TABLE_FORMATS
    figure_formats: tuple[str, ...] = ("svg", "pdf", "png")
    interactions_min_order: int = 2
    interactions_min_abs: float = 0.0
    interactions_per_sequence: int | None = 50
    top_k: int = 50
    logos_for: int = 3
    modisco: bool = True
    motifs: bool = False
    compare_column: str | None = None
    compare_values: tuple[Any, Any] | None = None
    background: Any = None


def background_record(bg: Background | None) -> dict[str, Any]:
    """The background entry of a run record (``{"source": "uniform", ...}`` for the uniform game)."""
    if bg is None:
        return {"source": "uniform", "description": "uniform: every letter equally likely at every position"}
    return bg.to_record()


@dataclass(frozen=True)
class ExportResult:
    """Written files and the run record.

    Attributes
    ----------
    out_dir : pathlib.Path
    files : dict
        Name -> list of paths written for it.
    record : dict
        The JSON run record (also in ``run.json``).
    explanation : Explanation
    """

    out_dir: Path
    files: dict[str, list[Path]]
    record: dict[str, Any]
    explanation: Explanation = field(repr=False)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def program_versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Versions of Python and of the packages behind a result (for run records); ``extra`` adds packages."""
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("shapzero-studio", "numpy", "pandas", "pyarrow", "matplotlib", "logomaker", "plotly", *extra):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def pairwise_summary_table(mean_abs: np.ndarray, mean: np.ndarray) -> pd.DataFrame:
    """The pairwise summary as a table: one row per pair ``i < j`` (1-based ``position_i``, ``position_j``)
    with ``mean_abs`` and ``mean`` from the ``float (n, n)`` matrices of :func:`pairwise_summary`."""
    A, M = np.asarray(mean_abs, dtype=np.float64), np.asarray(mean, dtype=np.float64)
    if A.shape != M.shape or A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"two square matrices of one shape expected, got {A.shape} and {M.shape}")
    iu, ju = np.triu_indices(A.shape[0], 1)
    return pd.DataFrame({"position_i": iu + 1, "position_j": ju + 1, "mean_abs": A[iu, ju], "mean": M[iu, ju]})


def export_all(
    sketch: FourierSketch,
    seqs: SequenceSet,
    out_dir: str | os.PathLike[str],
    config: ExportConfig | None = None,
    sketch_source: str | os.PathLike[str] | None = None,
    progress: Callable[[str, int, int, str], None] | None = None,
    motif_search: Any = None,
) -> ExportResult:
    """Explain ``seqs`` with ``sketch`` and write every table, array and figure into ``out_dir``.

    Parameters
    ----------
    sketch : FourierSketch
    seqs : SequenceSet
        From :func:`shapzero_core.sequences.read_sequences`; its rejected rows are written too.
    out_dir : path
        Created if missing; existing files of the same names are replaced.
    config : ExportConfig, optional
    sketch_source : path, optional
        The sketch file, recorded (with its sha256) in ``run.json``.
    progress : callable, optional
        ``progress(stage, done, total, message)``.
    motif_search : MotifSearch, optional
        A finished :func:`~shapzero_core.analysis.discover_motifs` result to write into ``motifs/`` (e.g. the
        app's); otherwise ``config.motifs`` decides whether to run one.

    Returns
    -------
    ExportResult
    """
    cfg = config or ExportConfig()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tf = cfg.table_formats
    files: dict[str, list[Path]] = {}
    timings: dict[str, float] = {}
    steps = 6
    done = 0

    def step(name: str) -> None:
        nonlocal done
        if progress is not None:
            progress("export", done, steps, name)
        done += 1

    def timed(name: str, fn: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        r = fn()
        timings[name] = round(time.perf_counter() - t0, 4)
        return r

    if len(seqs) == 0:
        raise ValueError(f"no sequences to export from {seqs.source} (all {len(seqs.rejected)} rejected)")
    step("explain")
    expl = timed("explain", lambda: explain_sequences(sketch, seqs, index=cfg.index, order=cfg.order,
                                                      background=cfg.background))

    step("tables")
    files["shap_long"] = timed("shap_long", lambda: write_table(shap_table(expl), out / "shap_long", tf))
    wide = wide_table(expl)
    files["shap_wide"] = timed("shap_wide", lambda: write_table(wide, out / "shap_wide", tf))
    files["interactions"] = timed(
        "interactions",
        lambda: write_table(
            interaction_table(expl, cfg.interactions_min_order, cfg.interactions_min_abs,
                              cfg.interactions_per_sequence),
            out / "interactions", tf,
        ),
    )
    if len(seqs.rejected):
        files["rejected"] = write_table(seqs.rejected, out / "rejected_sequences", ("csv",))

    step("summaries")
    t0 = time.perf_counter()
    pls = position_letter_summary(expl)
    split = split_interaction_summary(expl, min_order=2)
    top_all = top_interactions(expl, k=None, min_order=2)
    top = top_all.head(cfg.top_k)
    reps = spaced_repeats(top_all, include_mismatched=True)
    timings["summaries"] = round(time.perf_counter() - t0, 4)
    files["position_letter"] = write_table(pls.to_frame(), out / "position_letter_summary", tf)
    files["split_interactions"] = write_table(split.to_frame(), out / "split_interaction_summary", tf)
    files["top_interactions"] = write_table(top, out / "top_interactions", tf)
    files["top_interactions_all"] = write_table(top_all, out / "top_interactions_all", tf)
    files["spaced_repeats"] = write_table(reps, out / "spaced_repeats", tf)
    files["repeat_spacing"] = write_table(repeat_spacing_summary(reps), out / "repeat_spacing_summary", tf)
    motif_notes: list[str] = []
    if motif_search is None and cfg.motifs and expl.alphabet.q == 4:
        from .analysis import TooFewSeqletsError, discover_motifs

        t0 = time.perf_counter()
        try:
            motif_search = discover_motifs(sketch, seqs, progress=progress)
        except TooFewSeqletsError as e:
            motif_notes.append(str(e))
        timings["motifs"] = round(time.perf_counter() - t0, 4)
    if motif_search is not None:
        from .analysis import write_motifs

        for name, paths in write_motifs(motif_search, out / "motifs", cfg.figure_formats).items():
            files[f"motifs_{name}"] = paths
        motif_notes.extend(motif_search.notes)
    diff = None
    if cfg.compare_column is not None:
        if cfg.compare_values is None or len(cfg.compare_values) != 2:
            raise ValueError("compare_values needs exactly two values of the compare column")
        a, b = cfg.compare_values
        ma = select(expl, column=cfg.compare_column, equals=[a])
        mb = select(expl, column=cfg.compare_column, equals=[b])
        if not ma.any() or not mb.any():
            raise ValueError(
                f"column {cfg.compare_column!r} has {int(ma.sum())} rows equal to {a!r} and {int(mb.sum())} "
                f"equal to {b!r}; both subsets need sequences"
            )
        diff, _, _ = difference_summary(expl, ma, mb)
        files["difference_logo"] = write_table(diff.reset_index(), out / "difference_logo", tf)
    if expl.interactions is not None:
        files["pairwise_summary"] = write_table(
            pairwise_summary_table(pairwise_summary(expl, "mean_abs"), pairwise_summary(expl, "mean")),
            out / "pairwise_summary", tf,
        )

    step("modisco")
    if cfg.modisco and expl.alphabet.q == 4:
        files["modisco"] = timed("modisco", lambda: write_modisco(expl, out, sketch))

    step("figures")
    if cfg.figure_formats:
        files["figures"] = timed(
            "figures", lambda: _write_figures(expl, pls, split, top, diff, out / "figures", cfg)
        )

    step("record")
    record = {
        "format": EXPORT_FORMAT,
        "format_version": EXPORT_FORMAT_VERSION,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "versions": program_versions(),
        "sketch": {
            "file": str(sketch_source) if sketch_source is not None else None,
            "sha256": _sha256(Path(sketch_source)) if sketch_source is not None and Path(sketch_source).is_file()
            else None,
            "n": sketch.n,
            "q": sketch.q,
            "template": sketch.template.pattern if sketch.template is not None else None,
            "sequence_length": sketch.sequence_length,
            "alphabet": sketch.alphabet.to_dict(),
            "num_coefficients": sketch.num_coefficients,
            "count_by_order": {str(k): v for k, v in sketch.count_by_order().items()},
            "baseline": expl.baseline,
            "model": sketch.metadata.get("model"),
            "trust": _trust_summary(sketch),
        },
        "sequences": {
            "file": seqs.source,
            "format": seqs.format,
            "accepted": len(seqs),
            "rejected": len(seqs.rejected),
            "notes": list(seqs.notes),
        },
        "stderr": {"kind": expl.stderr_kind or None, "meaning": stderr_note(expl)},
        "background": background_record(expl.background),
        "parameters": {
            "index": expl.interactions.index if expl.interactions is not None else None,
            "order": expl.interactions.order if expl.interactions is not None else None,
            "interaction_sets": len(expl.interactions.sets) if expl.interactions is not None else 0,
            "interactions_min_order": cfg.interactions_min_order,
            "interactions_min_abs": cfg.interactions_min_abs,
            "interactions_per_sequence": cfg.interactions_per_sequence,
            "top_k": cfg.top_k,
            "compare": [cfg.compare_column, list(cfg.compare_values)] if cfg.compare_column else None,
            "positions": "1-based",
            "modisco_layout": "(N, 4, L) float32 under key arr_0" if "modisco" in files else None,
        },
        "counts": {
            "top_interaction_combinations": len(top_all),
            "motifs": len(motif_search.motifs) if motif_search is not None else None,
            "spaced_repeat_patterns": int(reps["is_repeat"].sum()) if len(reps) else 0,
        },
        "notes": list(wide.attrs.get("notes", [])),
        "motifs": None if motif_search is None and not motif_notes else {
            "database": motif_search.database if motif_search is not None else None,
            "settings": motif_search.settings if motif_search is not None else None,
            "best_matches": json.loads(motif_search.to_frame().to_json(orient="records"))
            if motif_search is not None else [],
            "notes": motif_notes,
        },
        "timings_s": timings,
        "files": [
            {"name": name, "path": str(p.relative_to(out)), "bytes": p.stat().st_size, "sha256": _sha256(p)}
            for name, paths in files.items() for p in paths
        ],
    }
    rec_path = out / "run.json"
    tmp = rec_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, rec_path)
    files["record"] = [rec_path]
    if progress is not None:
        progress("export", steps, steps, "done")
    return ExportResult(out_dir=out, files=files, record=record, explanation=expl)


def _trust_summary(sketch: FourierSketch) -> dict[str, Any] | None:
    from .refine import trust_info

    info = trust_info(sketch)
    if info is None:
        return None
    return {k: info.get(k) for k in ("level", "verdict", "median_rel_l2", "median_noise_floor", "n_seqs",
                                     "calls_per_seq", "model_calls")}


def _write_figures(expl, pls, split, top, diff, fig_dir: Path, cfg: ExportConfig) -> list[Path]:
    from .figures import (
        interaction_heatmap_matplotlib,
        logo_matplotlib,
        saliency_matrix,
        save_figure,
        top_interactions_matplotlib,
    )

    ff = cfg.figure_formats
    paths: list[Path] = []
    paths += save_figure(
        logo_matplotlib(pls.matrix(), title=f"Mean SHAP by position and letter (N={expl.N})", ylabel="mean SHAP",
                        fixed=expl.fixed),
        fig_dir / "logo_position_letter", ff,
    )
    paths += save_figure(
        logo_matplotlib(split.matrix("positive"), below=split.matrix("negative"), ylabel="mean split value",
                        title="Interactions of order >= 2 split over their positions (positive up, negative down)",
                        fixed=expl.fixed),
        fig_dir / "logo_split_interactions", ff,
    )
    for s in range(min(cfg.logos_for, expl.N)):
        bars = 2 * expl.stderr[s] if expl.stderr is not None else None
        paths += save_figure(
            logo_matplotlib(saliency_matrix(expl.shap[s], expl.sequences[s], expl.alphabet),
                            title=f"SHAP logo of {expl.ids[s]}" + (" (whiskers: ±2 s.e.)" if bars is not None else ""),
                            errors=bars, fixed=expl.fixed),
            fig_dir / f"logo_seq_{s + 1}", ff,
        )
    if expl.interactions is not None:
        P = pairwise_summary(expl, "mean_abs")
        paths += save_figure(
            interaction_heatmap_matplotlib(P, title=f"Mean |pairwise {expl.interactions.index} interaction|",
                                           colorbar_title="mean |interaction|", sequential=True),
            fig_dir / "interaction_heatmap", ff,
        )
    if len(top):
        paths += save_figure(top_interactions_matplotlib(top, k=20, title="Top interactions across sequences"),
                             fig_dir / "top_interactions", ff)
    if diff is not None:
        paths += save_figure(
            logo_matplotlib(diff, title=f"Difference logo: {cfg.compare_column} {cfg.compare_values[0]} - "
                            f"{cfg.compare_values[1]}", ylabel="SHAP difference"),
            fig_dir / "difference_logo", ff,
        )
    return paths
