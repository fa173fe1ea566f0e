"""The ``--background`` / ``--pseudocount`` options shared by ``shapzero explain`` and ``shapzero export``."""

from __future__ import annotations

import argparse
from typing import Any

from . import UserError


def add_background_arguments(p: argparse.ArgumentParser) -> None:
    """Add ``--background uniform|data|FILE`` and ``--pseudocount A``."""
    g = p.add_argument_group("background (what fills the positions outside a coalition: 'compared with what?')")
    g.add_argument("--background", default="uniform", metavar="uniform|data|FILE",
                   help="uniform letters (default); 'data': the letter frequencies of the explained sequences per "
                        "position; FILE: a .npy table (n, q), a .tsv/.csv table with one column per letter and one "
                        "row per position, or a sequence file whose letter frequencies are used")
    g.add_argument("--pseudocount", type=float, default=None, metavar="A",
                   help="added to every letter count of a frequency background (default 0.5)")


def resolve_background_argument(args: argparse.Namespace, sketch: Any, seqs: Any) -> Any:
    """The :class:`~shapzero_core.background.Background` the options name (one-line ``UserError`` otherwise)."""
    from ..background import DEFAULT_PSEUDOCOUNT, load_background

    pc = DEFAULT_PSEUDOCOUNT if args.pseudocount is None else args.pseudocount
    if args.pseudocount is not None and args.background.strip().lower() == "uniform":
        raise UserError("--pseudocount goes with --background data or a sequence file")
    try:
        return load_background(args.background, sketch, seqs, pseudocount=pc)
    except ValueError as e:
        raise UserError(f"--background: {e}") from None
