"""``shapzero motifs``: TF-MoDISco motifs of a sketch's hypothetical contributions, named by TOMTOM against
JASPAR."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import UserError

_FIGURE_FORMATS = ("svg", "pdf", "png")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``motifs`` sub-command."""
    p = subparsers.add_parser(
        "motifs",
        help="TF-MoDISco motifs of the sketch's hypothetical SHAP values, matched to JASPAR with TOMTOM",
        description=(
            "Compute the hypothetical SHAP value of every letter at every position of every sequence of FILE "
            "(closed form, no model calls), run TF-MoDISco (modisco-lite) on them with the one-hot sequences, and "
            "match every motif with TOMTOM (memelite) against JASPAR CORE (pyjaspar, offline). Write into DIR: "
            "motifs.meme (the trimmed motifs), matches.tsv (best matches: ID, name, p, E and q value), motifs.tsv, "
            "motif_seqlets.tsv (the sequences carrying each motif, 1-based positions), modisco.h5 (TF-MoDISco's "
            "format), logos/ and motifs.json. TF-MoDISco needs hundreds to thousands of sequences."
        ),
    )
    p.add_argument("--sketch", required=True, type=Path, help="sketch file (.npz) of a DNA / RNA model")
    p.add_argument("--sequences", required=True, type=Path, help="FASTA / CSV / TSV / text file (.gz allowed)")
    p.add_argument("--out", required=True, type=Path, help="output folder (created if missing)")
    p.add_argument("--release", default=None, help="JASPAR release shipped by pyjaspar (default JASPAR2024)")
    p.add_argument("--collection", default="CORE", help="JASPAR collection (default CORE)")
    p.add_argument("--taxon", default="vertebrates",
                   help="JASPAR taxonomic group: vertebrates (default), plants, insects, nematodes, fungi, "
                        "urochordates, ... or 'all'")
    p.add_argument("--database", type=Path, default=None, metavar="FILE.meme",
                   help="match against this MEME motif file instead of JASPAR")
    p.add_argument("--no-match", action="store_true", help="skip TOMTOM")
    p.add_argument("--top", type=int, default=3, help="matches per motif (default 3)")
    p.add_argument("--window", type=int, default=None, help="TF-MoDISco sliding window (default: from the length)")
    p.add_argument("--flank", type=int, default=None, help="TF-MoDISco flank (default: from the length)")
    p.add_argument("--trim-window", type=int, default=None, help="motif width after trimming (default: from the length)")
    p.add_argument("--min-seqlets", type=int, default=100,
                   help="fewest seqlets of one sign to look for motifs (TF-MoDISco's min_metacluster_size, 100)")
    p.add_argument("--leiden-runs", type=int, default=10, help="Leiden clusterings per step (default 10)")
    p.add_argument("--figures", default="svg,pdf,png", help="logo formats, comma separated, or 'none'")
    p.add_argument("--format", dest="seq_format", choices=["fasta", "csv", "tsv", "txt"], default=None)
    p.add_argument("--seq-column", default=None, help="CSV/TSV column holding the sequences")
    p.add_argument("--id-column", default=None, help="CSV/TSV column holding the ids")
    p.add_argument("--max-mb", type=float, default=200.0, help="largest sequence file in MB (default 200)")
    p.add_argument("--quiet", action="store_true", help="print only errors and the summary line")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``shapzero motifs``; returns the exit code."""
    from ..analysis.matching import DEFAULT_JASPAR_RELEASE, load_jaspar, read_meme_database
    from ..analysis.modisco import ModiscoConfig, TooFewSeqletsError, discover_motifs, write_motifs
    from ..export import program_versions
    from ..fourier import FourierSketch
    from ..sequences import read_sequences

    figs = () if args.figures.strip().lower() == "none" else tuple(
        f.strip().lower() for f in args.figures.split(",") if f.strip())
    bad = [f for f in figs if f not in _FIGURE_FORMATS]
    if bad:
        raise UserError(f"--figures: unknown format(s) {', '.join(bad)}; choose from svg, pdf, png or 'none'")
    if args.top < 1 or args.min_seqlets < 1 or args.leiden_runs < 1:
        raise UserError("--top, --min-seqlets and --leiden-runs must be >= 1")
    sketch = FourierSketch.load(args.sketch)
    if sketch.q != 4:
        raise UserError(f"{args.sketch}: TF-MoDISco and JASPAR are for DNA / RNA; this sketch has {sketch.q} letters "
                        "(for proteins, 'shapzero export' writes the spaced repeats of the interactions)")
    tpl = sketch.template
    seqs = read_sequences(args.sequences, alphabet=sketch.alphabet, n=sketch.sequence_length, format=args.seq_format,
                          seq_column=args.seq_column, id_column=args.id_column,
                          max_bytes=int(args.max_mb * 1024 * 1024), template=tpl)
    if len(seqs) == 0:
        reasons = "; ".join(seqs.rejected["reason"].astype(str).head(3))
        raise UserError(f"{args.sequences}: no usable sequence of length {sketch.sequence_length} "
                        f"({len(seqs.rejected)} rejected, e.g. {reasons})")
    release = args.release or DEFAULT_JASPAR_RELEASE
    taxon = None if args.taxon.lower() in ("all", "any", "none") else args.taxon.lower()
    if args.no_match:
        database = None
    elif args.database is not None:
        database = read_meme_database(args.database)
    else:
        database = load_jaspar(release, args.collection.upper(), taxon)
    cfg = ModiscoConfig(window=args.window, flank=args.flank, trim_window=args.trim_window,
                        min_metacluster_size=args.min_seqlets, n_leiden_runs=args.leiden_runs, top_matches=args.top,
                        jaspar_release=release, collection=args.collection.upper(), tax_group=taxon)

    def progress(stage: str, done: int, total: int, message: str) -> None:
        if not args.quiet:
            print(f"{stage}: {message}", file=sys.stderr)

    if not args.quiet:
        print(seqs.summary(), file=sys.stderr)
    try:
        res = discover_motifs(sketch, seqs, cfg, database=database, progress=progress)
    except TooFewSeqletsError as e:
        raise UserError(str(e)) from None
    files = write_motifs(res, args.out, figs)
    record = {"format": "shapzero-motifs", "format_version": 1, "sketch": str(args.sketch),
              "sequences": {"file": str(args.sequences), "accepted": len(seqs), "rejected": len(seqs.rejected)},
              "template": tpl.pattern if tpl is not None else None, "database": res.database,
              "settings": res.settings, "seqlet_counts": res.seqlet_counts, "timings_s": res.timings,
              "notes": list(res.notes), "versions": program_versions(("modisco-lite", "memelite", "pyjaspar")),
              "motifs": json.loads(res.to_frame().to_json(orient="records")),
              "files": [str(p.relative_to(args.out)) for ps in files.values() for p in ps]}
    (args.out / "motifs.json").write_text(json.dumps(record, indent=1, default=str), encoding="utf-8")
    for note in res.notes:
        print(f"note: {note}", file=sys.stderr)
    best = [f"{m.name} -> {m.best_match['target_id']} {m.best_match['target_name']} (q = {m.best_match['q_value']:.2g})"
            if m.best_match else m.name for m in res.motifs]
    print(f"{len(res.motifs)} motifs in {len(seqs):,} sequences" + (": " + "; ".join(best) if best else "")
          + f"; wrote {args.out}")
    return 0
