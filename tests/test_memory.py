"""Peak memory, measured (issue 15.1): a subprocess reads a generated sequence file of ~50 MB (FASTA and plain
text) and reports its peak RSS above what the interpreter and the imports already took (see ``rss.py``); ``shapzero explain``
on ten times more sequences needs only a few more MB (it explains and writes in chunks). Files are generated
in ``tmp_path``."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from rss import PROBE

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]

MB = 2**20

RSS = PROBE

READ = RSS + textwrap.dedent("""
    import sys
    import numpy, pandas
    from shapzero_core.sequences import read_sequences
    base = start_peak()
    s = read_sequences(sys.argv[1])
    print(len(s), s.n, peak() - base)
""")


def _fasta(path, N: int, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    letters = np.frombuffer(b"ACGT", np.uint8)
    with open(path, "wb") as f:
        for s in range(0, N, 100_000):
            m = min(100_000, N - s)
            rows = letters[rng.integers(0, 4, size=(m, n))]
            body = np.concatenate([rows, np.full((m, 1), 10, np.uint8)], axis=1)
            heads = [f">read_{i:07d} sample=A\n".encode() for i in range(s, s + m)]
            f.write(b"".join(h + bytes(r) for h, r in zip(heads, body, strict=True)))


def _txt(path, N: int, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    rows = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, size=(N, n))]
    path.write_bytes(np.concatenate([rows, np.full((N, 1), 10, np.uint8)], axis=1).tobytes())


@pytest.mark.parametrize(("kind", "N", "n"), [("fasta", 800_000, 40), ("txt", 1_600_000, 30)])
def test_reading_a_large_file_peaks_within_4x_its_encoded_size(tmp_path, kind, N, n):
    p = tmp_path / f"big.{'fa' if kind == 'fasta' else 'txt'}"
    (_fasta if kind == "fasta" else _txt)(p, N, n)
    size = p.stat().st_size
    assert 45 * MB < size < 100 * MB
    out = subprocess.run([sys.executable, "-c", READ, str(p)], capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr
    got_N, got_n, peak = map(int, out.stdout.split())
    assert (got_N, got_n) == (N, n)
    encoded = N * n
    assert peak <= 4 * encoded + 32 * MB, f"peak {peak / MB:.0f} MB for {encoded / MB:.0f} MB encoded"


EXPLAIN = RSS + textwrap.dedent("""
    import sys
    import numpy, pandas, pyarrow
    from shapzero_core.cli import main
    import shapzero_core.cli.explain as explain
    explain._CHUNK_CELLS = 50_000  # 2,500 sequences per chunk here: both runs below are many chunks long
    base = start_peak()
    rc = main(["explain", "--sketch", sys.argv[1], "--sequences", sys.argv[2], "--out", sys.argv[3]])
    print(rc, peak() - base)
""")


def test_explain_memory_does_not_grow_with_the_number_of_sequences(tmp_path):
    from shapzero_core.fourier import FourierSketch

    rng = np.random.default_rng(0)
    n, K = 20, 200
    L = np.zeros((K, n), np.int8)
    for r in range(K):
        pos = rng.choice(n, rng.integers(1, 4), replace=False)
        L[r, pos] = rng.integers(1, 4, pos.size)
    FourierSketch(L, rng.normal(size=K) + 0j).save(tmp_path / "s.npz")
    peaks = {}
    for N in (6_000, 60_000):
        _txt(tmp_path / f"s{N}.txt", N, n, seed=N)
        out = subprocess.run([sys.executable, "-c", EXPLAIN, str(tmp_path / "s.npz"), str(tmp_path / f"s{N}.txt"),
                              str(tmp_path / f"out{N}")], capture_output=True, text=True, timeout=240)
        assert out.returncode == 0, out.stderr
        rc, peaks[N] = map(int, out.stdout.split()[-2:])
        assert rc == 0
        assert sum(1 for _ in open(tmp_path / f"out{N}" / "shap_long.csv")) == N * n + 1
    # ten times the sequences (1.2 M table rows instead of 120 k): only the sequences themselves cost more
    assert peaks[60_000] - peaks[6_000] <= 4 * 54_000 * n + 24 * MB, peaks
