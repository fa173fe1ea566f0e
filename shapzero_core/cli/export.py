"""``shapzero export``: explain a sequence file with a saved sketch and write every export format."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import UserError
from ._background import add_background_arguments, resolve_background_argument

_FIGURE_FORMATS = ("svg", "pdf", "png")
_TABLE_FORMATS = ("csv", "parquet")


def _csv_list(allowed: tuple[str, ...]):
    def parse(text: str) -> tuple[str, ...]:
        items = tuple(t.strip().lower() for t in text.split(",") if t.strip())
        if text.strip().lower() == "none":
            return ()
        bad = [t for t in items if t not in allowed]
        if bad:
            raise argparse.ArgumentTypeError(f"unknown format(s) {', '.join(bad)}; choose from {', '.join(allowed)}")
        return items

    return parse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``export`` sub-command."""
    p = subparsers.add_parser(
        "export",
        help="explain sequences with a sketch and write tables, TF-MoDISco arrays, figures and a run record",
        description=(
            "Explain every sequence of FILE with the sketch S.npz (no model calls) and write into DIR: tidy and "
            "wide SHAP tables, per-sequence interactions, position x letter and split-interaction summaries, top "
            "interactions with letters, spaced repeats (CSV and Parquet), TF-MoDISco .npz "
            "arrays (N, 4, L), figures (SVG, PDF, PNG 300 dpi) and run.json. Positions are 1-based; tables "
            "keep the sequence ids of FILE."
        ),
    )
    p.add_argument("--sketch", required=True, type=Path, help="sketch file (.npz) written by 'shapzero sketch'")
    p.add_argument("--sequences", required=True, type=Path, help="FASTA / CSV / TSV / text file (.gz allowed)")
    p.add_argument("--out", required=True, type=Path, help="output folder (created if missing)")
    p.add_argument("--format", dest="seq_format", choices=["fasta", "csv", "tsv", "txt"], default=None,
                   help="sequence file format (default: from the name or content)")
    p.add_argument("--seq-column", default=None, help="CSV/TSV column holding the sequences")
    p.add_argument("--id-column", default=None, help="CSV/TSV column holding the ids")
    p.add_argument("--index", default="mobius", choices=["mobius", "faith-shap", "sii", "stii", "banzhaf"],
                   help="interaction index (default mobius = all-order Faith-Shap)")
    p.add_argument("--order", type=int, default=None, help="maximal interaction order (default: all)")
    p.add_argument("--tables", type=_csv_list(_TABLE_FORMATS), default=_TABLE_FORMATS,
                   help="table formats, comma separated (default csv,parquet)")
    p.add_argument("--figures", type=_csv_list(_FIGURE_FORMATS), default=_FIGURE_FORMATS,
                   help="figure formats, comma separated, or 'none' (default svg,pdf,png)")
    p.add_argument("--top", type=int, default=50, help="rows of top_interactions (default 50)")
    p.add_argument("--interactions-min-order", type=int, default=2,
                   help="smallest order in the per-sequence interaction table (default 2)")
    p.add_argument("--interactions-min-abs", type=float, default=0.0,
                   help="drop per-sequence interaction values with |value| <= this (default 0)")
    p.add_argument("--interactions-per-sequence", type=int, default=50,
                   help="keep the K largest |value| per sequence in the interaction table; 0 keeps all (default 50)")
    p.add_argument("--logos", type=int, default=3, help="SHAP logo figures for the first K sequences (default 3)")
    p.add_argument("--no-modisco", action="store_true", help="skip the TF-MoDISco arrays")
    p.add_argument("--motifs", action="store_true",
                   help="also run TF-MoDISco + TOMTOM against JASPAR and write motifs/ (see 'shapzero motifs')")
    p.add_argument("--compare", nargs=3, metavar=("COLUMN", "A", "B"), default=None,
                   help="difference logo of sequences with COLUMN == A minus COLUMN == B")
    p.add_argument("--max-mb", type=float, default=200.0, help="largest sequence file in MB (default 200)")
    p.add_argument("--quiet", action="store_true", help="print only errors")
    add_background_arguments(p)
    p.set_defaults(func=run)


def _coerce(value: str, column_values) -> object:
    """Match a command-line string to the column's type (numbers stay numbers)."""
    for v in column_values:
        if str(v) == value:
            return v
    return value


def run(args: argparse.Namespace) -> int:
    """Run ``shapzero export``; returns the exit code."""
    from ..export import ExportConfig, export_all
    from ..fourier import FourierSketch
    from ..sequences import read_sequences

    if args.top < 1 or args.logos < 0 or args.interactions_per_sequence < 0:
        raise UserError("--top must be >= 1, --logos and --interactions-per-sequence >= 0")
    if args.max_mb <= 0:
        raise UserError("--max-mb must be positive")
    sketch = FourierSketch.load(args.sketch)
    seqs = read_sequences(
        args.sequences,
        alphabet=sketch.alphabet,
        n=sketch.sequence_length, template=sketch.template,
        format=args.seq_format,
        seq_column=args.seq_column,
        id_column=args.id_column,
        max_bytes=int(args.max_mb * 1024 * 1024),
    )
    if len(seqs) == 0:
        reasons = "; ".join(seqs.rejected["reason"].astype(str).head(3))
        raise UserError(
            f"{args.sequences}: no sequence of length {sketch.sequence_length} in the {sketch.alphabet.name} alphabet "
            f"({len(seqs.rejected)} rejected, e.g. {reasons})"
        )
    compare_values = None
    compare_column = None
    if args.compare:
        compare_column = args.compare[0]
        if compare_column not in seqs.extra.columns:
            cols = ", ".join(map(repr, seqs.extra.columns)) or "none"
            raise UserError(f"--compare: no column {compare_column!r} in {args.sequences} (columns: {cols})")
        col = seqs.extra[compare_column].unique()
        compare_values = (_coerce(args.compare[1], col), _coerce(args.compare[2], col))
    cfg = ExportConfig(
        index=args.index,
        order=args.order,
        table_formats=tuple(args.tables),
        figure_formats=tuple(args.figures),
        interactions_min_order=args.interactions_min_order,
        interactions_min_abs=args.interactions_min_abs,
        interactions_per_sequence=args.interactions_per_sequence or None,
        top_k=args.top,
        logos_for=args.logos,
        modisco=not args.no_modisco,
        motifs=args.motifs,
        compare_column=compare_column,
        compare_values=compare_values,
        background=resolve_background_argument(args, sketch, seqs),
    )

    def progress(stage: str, done: int, total: int, message: str) -> None:
        if not args.quiet:
            print(f"[{done}/{total}] {message}", file=sys.stderr)

    res = export_all(sketch, seqs, args.out, cfg, sketch_source=args.sketch, progress=progress)
    if not args.quiet:
        n_files = sum(len(v) for v in res.files.values())
        print(seqs.summary())
        print(f"wrote {n_files} files to {res.out_dir} (record: {res.out_dir / 'run.json'})")
    return 0
