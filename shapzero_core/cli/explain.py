"""``shapzero explain``: SHAP values (and interactions) of a sequence file from a saved sketch, as tidy tables."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import UserError
from ._background import add_background_arguments, resolve_background_argument

_TABLE_FORMATS = ("csv", "parquet")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``explain`` sub-command."""
    p = subparsers.add_parser(
        "explain",
        help="explain sequences with a sketch (no model calls): tidy SHAP and interaction tables",
        description=(
            "Write into DIR: shap_long.csv (seq_id, sequence, position (1-based), letter, shap, stderr), shap_wide.csv "
            "(one row per sequence: prediction, shap_1..shap_n, stderr_1..stderr_n, plus the file's other columns), "
            "interactions.csv with --interactions (seq_id, positions, letters, order, index, value) and "
            "rejected.csv listing every rejected record with its reason. For figures, summaries and "
            "TF-MoDISco arrays use 'shapzero export'. Without --refine the values come from the sketch alone "
            "(no model calls) and stderr is the sketch's calibrated per-position error from its trust check; "
            "with --refine --model SPEC every value is re-estimated with the model (unbiased) and stderr is "
            "its standard error."
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
    add_background_arguments(p)
    ref = p.add_argument_group(
        "refine with the model (unbiased SHAP values with standard errors; the sketch as a control variate)")
    ref.add_argument("--refine", action="store_true",
                     help="estimate every SHAP value with the model too: shap = refined value, stderr = its standard "
                          "error, model_calls per sequence in shap_wide")
    ref.add_argument("--model", default=None, metavar="SPEC", help="the sketched model (required with --refine)")
    budget = ref.add_mutually_exclusive_group()
    budget.add_argument("--calls-per-seq", type=int, default=None, metavar="K",
                        help="model calls per sequence (default 2048)")
    budget.add_argument("--target-se", type=float, default=None, metavar="E",
                        help="stop each sequence once every stderr is below E (at most 16x the default calls)")
    ref.add_argument("--seed", type=int, default=0, help="seed of the random walks (default 0)")
    ref.add_argument("--workers", type=int, default=1, help="local worker threads calling the model (default 1)")
    p.set_defaults(func=run)


_CHUNK_CELLS = 250_000  # table cells (sequences x (positions + interaction sets)) explained and written at once


def run(args: argparse.Namespace) -> int:
    """Run ``shapzero explain``; returns the exit code. Sequences are explained and written in chunks, so memory
    stays bounded whatever the number of sequences."""
    import numpy as np

    from ..analysis import explain_sequences
    from ..export import TableWriter, interaction_table, shap_table, stderr_note, wide_table, write_table
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
    if args.refine and not args.model:
        raise UserError("--refine needs --model SPEC (the model the sketch was made from)")
    if not args.refine and (args.model or args.calls_per_seq or args.target_se):
        raise UserError("--model, --calls-per-seq and --target-se go with --refine")
    if args.calls_per_seq is not None and args.calls_per_seq < 1:
        raise UserError("--calls-per-seq must be >= 1")
    if args.target_se is not None and not args.target_se > 0:
        raise UserError("--target-se must be > 0")
    if args.workers < 1:
        raise UserError("--workers must be >= 1")
    if args.refine and args.background.strip().lower() != "uniform":
        raise UserError("--refine explains the uniform background (the model's refined values); drop --background "
                        "or --refine")
    sketch = FourierSketch.load(args.sketch)
    seqs = read_sequences(args.sequences, alphabet=sketch.alphabet, n=sketch.sequence_length, template=sketch.template, format=args.seq_format,
                          seq_column=args.seq_column, id_column=args.id_column,
                          max_bytes=int(args.max_mb * 1024 * 1024))
    if len(seqs) == 0:
        reasons = "; ".join(seqs.rejected["reason"].astype(str).head(3))
        raise UserError(f"{args.sequences}: no usable sequence of length {sketch.sequence_length} ({len(seqs.rejected)} rejected, "
                        f"e.g. {reasons})")
    background = resolve_background_argument(args, sketch, seqs)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    sets = int(np.unique(sketch.locations != 0, axis=0).shape[0]) if args.interactions else 0
    # in chunks (one when refining: the model calls, not the tables, are then what costs)
    step = len(seqs) if args.refine else max(1, _CHUNK_CELLS // (sketch.n + sets))
    names = ["shap_long", "shap_wide", *(["interactions"] if args.interactions else [])]
    writers = {name: TableWriter(out / name, formats) for name in names}
    notes: list[str] = []
    try:
        for start in range(0, len(seqs), step):
            part = seqs.subset(np.arange(start, min(start + step, len(seqs))))
            expl = explain_sequences(sketch, part, index=args.interactions or "mobius", order=args.order,
                                     with_interactions=args.interactions is not None, background=background)
            if args.refine:
                expl = _refine(args, sketch, expl)
            writers["shap_long"].write(shap_table(expl))
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
    print(f"background: {background.description}", file=sys.stderr)
    print(f"stderr: {stderr_note(expl)}", file=sys.stderr)
    print(f"wrote {', '.join(str(p) for p in written)}")
    return 0


def _refine(args: argparse.Namespace, sketch, expl):
    """Refine every sequence of ``expl`` with the model (progress on stderr)."""
    import numpy as np

    from ..analysis import refined_explanation
    from ..executors import LocalExecutor
    from ..models import load_model
    from ..refine import expected_calls, refine_shap
    from .sketch import ProgressBar

    tpl = sketch.template
    if tpl is not None:  # the full-length model, restricted to the sketch's free positions
        from ..models import with_template

        model = load_model(args.model, n=tpl.n, alphabet=sketch.alphabet)
        if getattr(model, "template", None) is None:
            model = with_template(model, tpl)
    else:
        model = load_model(args.model, n=sketch.n, alphabet=sketch.alphabet)
    X_sketch = tpl.restrict(expl.X, check=False) if tpl is not None else expl.X
    calls = args.calls_per_seq or (16 * 2048 if args.target_se else 2048)
    print(f"refining {expl.N:,} sequences with {getattr(model, 'name', args.model)}: "
          + (f"about {expected_calls(sketch.n, sketch.q, expl.N, calls):,} model calls" if not args.target_se else
             f"until every stderr < {args.target_se:g} (at most {calls:,} calls per sequence)"), file=sys.stderr)
    ex = LocalExecutor(args.workers) if args.workers > 1 else None
    try:
        r = refine_shap(model, sketch, X_sketch, calls_per_seq=calls, target_se=args.target_se, seed=args.seed,
                        executor=ex, progress=ProgressBar())
    finally:
        if ex is not None:
            ex.shutdown(wait=False, cancel_futures=True)
    print(f"refined {r.N:,} sequences with {r.model_calls:,} model calls ({r.model_calls / max(r.N, 1):,.0f} per "
          f"sequence); median stderr {float(np.median(r.stderr)) if r.stderr.size else 0:.3g}", file=sys.stderr)
    return refined_explanation(expl, r)
