"""The ``shapzero`` command line.

Each sub-command lives in its own module of this package and exposes
``register(subparsers) -> None``, which adds its parser and sets ``func`` (a callable taking the parsed
``argparse.Namespace`` and returning an exit code). User errors (bad files, bad arguments, bad
sequences, a model that fails or returns NaN) exit with code 2 and a single line saying what to fix; they never print a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ..errors import ModelError, SketchError
from ..progress import Cancelled

__all__ = ["UserError", "main"]

# sub-command modules, in the order they appear in --help
_COMMAND_MODULES: tuple[str, ...] = ("models", "sketch", "explain", "export", "motifs")


class UserError(Exception):
    """An error the user can fix; printed as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every registered sub-command."""
    parser = argparse.ArgumentParser(
        prog="shapzero",
        description="SHAP zero Studio: sketch a sequence model once, explain any sequence for free.",
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"shapzero-studio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in _COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{mod}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``shapzero`` console script. Returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except (KeyboardInterrupt, Cancelled):
        print("shapzero: interrupted", file=sys.stderr)
        return 130
    except (UserError, ValueError, OSError, ModelError, SketchError, ImportError) as e:
        msg = " ".join(str(e).split()) or type(e).__name__
        if isinstance(e, OSError) and e.filename is not None and str(e.filename) not in msg:
            msg = f"{e.filename}: {msg}"
        print(f"shapzero: error: {msg}", file=sys.stderr)
        return 2
    except MemoryError:
        print("shapzero: error: out of memory; use a smaller input (or --batch-size / a smaller budget)",
              file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
