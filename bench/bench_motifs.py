"""Motif discovery from a sketch: hypothetical SHAP (closed form) -> TF-MoDISco -> TOMTOM against JASPAR.

A PWM-scan model of JASPAR's CTCF (MA0139, best match at any offset and strand, n = 30) is sketched once; then
N sequences, each carrying one sampled CTCF site, are searched for motifs for each N. The peer of the
hypothetical contributions is what they replace: explaining every single-letter variant (3 n variants per
sequence, each explained with the same closed form), checked equal first.

    python bench/bench_motifs.py                 # N = 1,000, 2,000 and 10,000
    python bench/bench_motifs.py --sizes 1000    # quicker

Prints one table; timings are wall seconds on this machine (with its load average).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from shapzero_core import shap_values
from shapzero_core.analysis import ModiscoConfig, TooFewSeqletsError, discover_motifs, hypothetical_shap
from shapzero_core.pwm_scan import PwmScan, jaspar_ppm, sequences_with_instances
from shapzero_core.sketch import SketchConfig, sketch_model


def variants_peer(sk, X):
    """Hypothetical SHAP by explaining each single-letter variant: (N, 4, n)."""
    N, n = X.shape
    H = np.zeros((N, 4, n))
    for i in range(n):
        for a in range(4):
            V = X.copy()
            V[:, i] = a
            H[:, a, i] = shap_values(sk, V)[:, i]
    return H


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,2000,10000")
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--b", type=int, default=5)
    a = ap.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")]
    load0 = os.getloadavg()
    ppm = jaspar_ppm("MA0139")
    t0 = time.perf_counter()
    sk = sketch_model(PwmScan(ppm, a.n), n=a.n, config=SketchConfig(b=a.b, num_subsample=3, num_repeat=3,
                                                                     test_size=2000))
    t_sketch = time.perf_counter() - t0
    rep = sk.report
    print(f"bench_motifs: CTCF (MA0139) PWM scan, n={a.n}; sketch b={a.b}: {rep['queries']['train']:,} queries, "
          f"{sk.num_coefficients} coefficients {sk.count_by_order()}, held-out R^2 {rep['r2']:.3f}, "
          f"{t_sketch:.1f} s")
    discover_motifs(sk, sequences_with_instances(ppm, 300, a.n, seed=0)[0], ModiscoConfig(min_metacluster_size=10))
    print("(warm-up run done: numba kernels compiled and cached)")
    rows = []
    for N in sizes:
        X, _ = sequences_with_instances(ppm, N, a.n, seed=1)
        t0 = time.perf_counter()
        H = hypothetical_shap(sk, X)
        t_hyp = time.perf_counter() - t0
        t0 = time.perf_counter()
        Hp = variants_peer(sk, X[: min(N, 1000)])
        t_peer = (time.perf_counter() - t0) * N / min(N, 1000)
        np.testing.assert_allclose(H[: min(N, 1000)], Hp, atol=1e-4)
        t0 = time.perf_counter()
        try:
            res = discover_motifs(sk, X)
            tm = res.timings
            if res.motifs:
                found = res.motifs[0]
                best = found.best_match
                what = (f"{len(res.motifs)} motifs; top: {found.num_seqlets} seqlets -> {best['target_id']} "
                        f"{best['target_name']} q={best['q_value']:.1e}") if best else f"{len(res.motifs)} motifs"
            else:
                what = "no motif: " + "; ".join(res.notes)
        except TooFewSeqletsError as e:
            what, tm = str(e)[:80], {"modisco": float("nan"), "tomtom": float("nan")}
        total = time.perf_counter() - t0
        rows.append((N, t_hyp, t_peer, tm["modisco"], tm["tomtom"], total, what))
    load1 = os.getloadavg()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average "
          f"{load0[0]:.2f} before / {load1[0]:.2f} after")
    print()
    print("| N sequences | hypothetical SHAP (s) | peer: explain 3n variants (s) | ratio | TF-MoDISco (s) | "
          "TOMTOM (s) | total motif search (s) | result |")
    print("|---:|---:|---:|---:|---:|---:|---:|---|")
    for N, th, tp, tmo, ttt, tot, what in rows:
        print(f"| {N:,} | {th:.3f} | {tp:.2f} | {tp / th:.0f}x | {tmo:.1f} | {ttt:.2f} | {tot:.1f} | {what} |")


if __name__ == "__main__":
    main()
