"""``shapzero explain``: SHAP values (and interactions) of a sequence file from a saved sketch, as tidy tables."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import UserError

_TABLE_FORMATS = ("csv", "parquet")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``explain`` sub-command."""
    p = subparsers.add_parser(
        "explain",
        help="explain sequences with a sketch (no model calls): tidy SHAP and interaction tables",
        description=(
            "Write into DIR: shap.csv (seq_id, sequence, position (1-based), letter, shap), shap_wide.csv "
            "(one row per sequence: prediction and shap_1..shap_n, plus the file's other columns), "
            "interactions.csv with --interactions (seq_id, positions, letters, order, index, value) and "
            "rejected.csv listing every rejected record with its reason. For figures, summaries and "
            "TF-MoDISco arrays use 'shapzero export'."
        ),
    )
    p.add_argument("--sketch", required=True, type=Path, help="sketch file (.npz) written by 'shapzero sketch'")
    p.add_argument("--sequences", required=True, type=Path, help="FASTA / CSV / TSV / text file (.gz allowed)")
    p.add_argument("--out", required=True, type=Path, help="output folder (created if missing)")
    p.add_argument("--interactions", default=None, metavar="INDEX",
                   choices=["mobius", "faith-shap", "sii", "stii", "banzhaf"],
                   help="also write interactions of this index (mobius = all-order Faith-Shap)")
    p.add_argument("--order", type=int, default=None, metavar="L",
                   help="maximal interaction order (faith-shap / stii need it; default: all orders)")
    p.add_argument("--min-order", type=int, default=2, help="smallest interaction order written (default 2)")
    p.add_argument("--per-sequence", type=int, default=0, metavar="K",
                   help="keep the K largest |interaction| per sequence (default 0 = all)")
    p.add_argument("--tables", default="csv", help="table formats, comma separated: csv, parquet (default csv)")
    p.add_argument("--format", dest="seq_format", choices=["fasta", "csv", "tsv", "txt"], default=None)
    p.add_argument("--seq-column", default=None, help="CSV/TSV column holding the sequences")
    p.add_argument("--id-column", default=None, help="CSV/TSV column holding the ids")
    p.add_argument("--max-mb", type=float, default=200.0, help="largest sequence file in MB (default 200)")
    p.set_defaults(func=run)


_CHUNK_CELLS = 250_000  # table cells (sequences x (positions + interaction sets)) explained and written at once


def run(args: argparse.Namespace) -> int:
    """Run ``shapzero explain``; returns the exit code. Sequences are explained and written in chunks, so memory
    stays bounded whatever the number of sequences."""
    import numpy as np

    from ..analysis import explain_sequences
    from ..export import TableWriter, interaction_table, shap_table, wide_table, write_table
    from ..fourier import FourierSketch
    from ..sequences import read_sequences

    formats = tuple(t.strip().lower() for t in args.tables.split(",") if t.strip())
    bad = [f for f in formats if f not in _TABLE_FORMATS]
    if bad or not formats:
        raise UserError(f"--tables: unknown format(s) {', '.join(bad) or '(none)'}; choose from csv, parquet")
    if args.order is not None and args.order < 1:
        raise UserError("--order must be >= 1")
    if args.interactions in ("faith-shap", "stii") and args.order is None:
        raise UserError(f"--interactions {args.interactions} needs --order L (the maximal order)")
    sketch = FourierSketch.load(args.sketch)
    seqs = read_sequences(args.sequences, alphabet=sketch.alphabet, n=sketch.n, format=args.seq_format,
                          seq_column=args.seq_column, id_column=args.id_column,
                          max_bytes=int(args.max_mb * 1024 * 1024))
    if len(seqs) == 0:
        reasons = "; ".join(seqs.rejected["reason"].astype(str).head(3))
        raise UserError(f"{args.sequences}: no usable sequence of length {sketch.n} ({len(seqs.rejected)} rejected, "
                        f"e.g. {reasons})")
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    sets = int(np.unique(sketch.locations != 0, axis=0).shape[0]) if args.interactions else 0
    step = max(1, _CHUNK_CELLS // (sketch.n + sets))
    names = ["shap", "shap_wide", *(["interactions"] if args.interactions else [])]
    writers = {name: TableWriter(out / name, formats) for name in names}
    notes: list[str] = []
    try:
        for start in range(0, len(seqs), step):
            part = seqs.subset(np.arange(start, min(start + step, len(seqs))))
            expl = explain_sequences(sketch, part, index=args.interactions or "mobius", order=args.order,
                                     with_interactions=args.interactions is not None)
            writers["shap"].write(shap_table(expl))
            wide = wide_table(expl)
            notes = notes or list(wide.attrs.get("notes", []))
            writers["shap_wide"].write(wide)
            if args.interactions:
                writers["interactions"].write(interaction_table(expl, min_order=args.min_order,
                                                                top_per_sequence=args.per_sequence or None))
    finally:
        written = [p for name in names for p in writers[name].close()]
    if len(seqs.rejected):
        written += write_table(seqs.rejected, out / "rejected", formats)
    print(seqs.summary(), file=sys.stderr)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"wrote {', '.join(str(p) for p in written)}")
    return 0
