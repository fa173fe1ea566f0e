"""An example sequence model for the README: a guide-RNA-like score of 26-letter DNA sequences.

Two ways to use it (from the repository's top folder):

* as a Python function, ``--model examples.my_model:score`` (``module:function`` also finds modules in the
  current directory): it takes ``int8 (N, 26)`` letter codes (A, C, G, T = 0, 1, 2, 3) and returns
  ``float64 (N,)``;
* as a program, ``--model "cmd:python examples/my_model.py"``: it reads one sequence per line on stdin and
  prints one number per line.
"""

from __future__ import annotations

import sys

import numpy as np

N_LEN = 26


def score(X: np.ndarray) -> np.ndarray:
    """GC content, minus 0.5 per ``TT`` pair, plus 1 for a ``G`` at position 21 (1-based) next to a ``G`` at 22."""
    X = np.asarray(X)
    gc = ((X == 1) | (X == 2)).sum(axis=1)
    tt = ((X[:, :-1] == 3) & (X[:, 1:] == 3)).sum(axis=1)
    gg = (X[:, 20] == 2) & (X[:, 21] == 2)
    return (gc - 0.5 * tt + 1.0 * gg).astype(np.float64)


def main() -> None:
    codes = {c: i for i, c in enumerate("ACGT")}
    for line in sys.stdin:
        x = np.array([[codes[c] for c in line.strip()]], dtype=np.int8)
        print(float(score(x)[0]), flush=True)


if __name__ == "__main__":
    main()
