"""Build the demo models into this folder: ``python demo_models/build.py`` (or ``--out DIR``).

Deterministic and offline: no downloads, no torch. The models are defined in
:mod:`shapzero_core.demos` (so an installed package can also rebuild them in memory); this script only
writes them out: ``<name>.onnx`` for every demo, plus ``<name>.spectrum.npz`` (and its readable
``.json`` header) with the exact Fourier spectrum of the two low-degree models. See README.md.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from shapzero_core.demos import write_demo_files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent,
                        help="output folder (default: the folder of this script)")
    args = parser.parse_args()
    for path in write_demo_files(args.out):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        print(f"{path}  {path.stat().st_size:>8} bytes  sha256 {digest}…")


if __name__ == "__main__":
    main()
