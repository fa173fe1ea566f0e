"""Build the demo models into this folder: ``python demo_models/build.py`` (or ``--out DIR``).

Deterministic and offline: no downloads, no torch. The models are defined in
:mod:`shapzero_core.demos` (so an installed package can also rebuild them in memory); this script only
writes them out: ``<name>.onnx`` for every demo, plus ``<name>.spectrum.npz`` (and its readable
``.json`` header) with the exact Fourier spectrum of the two low-degree models, and
``<name>.sequences.fasta``: 200 example sequences of the demo's length for the README's examples.
See README.md.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from shapzero_core.demos import list_demos, write_demo_files
from shapzero_core.sequences import SequenceSet, to_fasta

EXAMPLE_SEQUENCES = 200


def write_example_sequences(out: Path) -> list[Path]:
    """``<name>.sequences.fasta`` for every demo: ``EXAMPLE_SEQUENCES`` random sequences of its length."""
    paths = []
    for demo in list_demos():
        seqs = demo.sequences(EXAMPLE_SEQUENCES, seed=1)
        named = SequenceSet.from_codes(seqs.X, demo.alphabet, ids=[f"{demo.name}_{i + 1:03d}" for i in
                                                                   range(len(seqs))])
        path = out / f"{demo.name}.sequences.fasta"
        path.write_text(to_fasta(named, width=0))
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent,
                        help="output folder (default: the folder of this script)")
    args = parser.parse_args()
    for path in [*write_demo_files(args.out), *write_example_sequences(args.out)]:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        print(f"{path}  {path.stat().st_size:>8} bytes  sha256 {digest}…")


if __name__ == "__main__":
    main()
