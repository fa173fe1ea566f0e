"""Benchmark: explain many sequences from a sparse Fourier sketch (no model calls).

A random sketch with K coefficients of orders 1-5 at n = 40, q = 4 (conjugate pairs, so the model is real);
N random sequences; time SHAP values, all-order (Möbius) interactions and the pairwise matrix, per phase
and per sequence, with peak traced memory. If the `shapzero` 0.0.4 package is installed (bench extra),
its explainer (per-sequence localized Möbius transform) runs on a few sequences of the same sketch, its
per-sequence time is extrapolated linearly to N, and the SHAP values of both are compared.

Run:  python bench/bench_explain.py [--n 40] [--K 1000] [--N 10000] [--pkg-seqs 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import tracemalloc

import numpy as np
from _planted import random_sketch

from shapzero_core import FourierSketch, baseline, interactions, shap_values


def timed(fn, *args, **kw):
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    dt = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, dt, peak


def package_explain(sk: FourierSketch, X: np.ndarray):
    """The shapzero 0.0.4 package's explainer on the same transform; None if it is not installed."""
    try:
        from shapzero.shap.shap_explainer import shap_explainer  # type: ignore[import-not-found]
    except Exception:
        return None
    F = {tuple(int(v) for v in k): complex(c) for k, c in zip(sk.locations, sk.coefficients, strict=True)}
    expl = shap_explainer(F, q=sk.q, n=sk.n)
    phi = np.zeros(X.shape, dtype=float)
    t0 = time.perf_counter()
    res = [expl.explain(x.astype(np.int64), explanation="shap_value") for x in X]  # one sequence per call
    dt = time.perf_counter() - t0
    for s, d in enumerate(res):
        for key, val in d.items():
            phi[s, int(key[0])] = float(np.real(val))
    return phi, dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--K", type=int, default=1000)
    ap.add_argument("--N", type=int, default=10_000)
    ap.add_argument("--pkg-seqs", type=int, default=5, help="sequences explained by the shapzero package")
    args = ap.parse_args()

    sk = random_sketch(args.n, args.K)
    X = np.random.default_rng(1).integers(0, 4, size=(args.N, args.n)).astype(np.int8)
    shap_values(sk, X[:10])  # warm-up (imports, BLAS threads)

    phi, t_shap, m_shap = timed(shap_values, sk, X)
    inter, t_mob, m_mob = timed(interactions, sk, X, "mobius")
    _pair, t_pair, m_pair = timed(inter.pairwise)
    total = t_shap + t_mob + t_pair
    eff = np.abs(phi.sum(1) - (sk.predict(X) - sk.mean)).max()

    print(f"# bench_explain: n={args.n}, q=4, K={sk.num_coefficients} coefficients (orders 1-5), "
          f"N={args.N} sequences")
    print(f"# machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}")
    print()
    print("| phase | total (s) | per sequence (µs) | peak memory (MB) |")
    print("|---|---:|---:|---:|")
    for name, t, m in [
        ("SHAP values (N × n)", t_shap, m_shap),
        (f"all-order interactions (N × {len(inter.sets)} sets)", t_mob, m_mob),
        ("pairwise matrix (N × n × n)", t_pair, m_pair),
        ("**total**", total, max(m_shap, m_mob, m_pair)),
    ]:
        print(f"| {name} | {t:.3f} | {1e6 * t / args.N:.1f} | {m / 2**20:.0f} |")
    print()
    print(f"efficiency check max |sum(phi) - (f(x) - F[0])| = {eff:.2e}")
    background_rows(sk, X, t_shap, t_mob)

    if args.pkg_seqs <= 0:
        print("--pkg-seqs 0: peer comparison skipped")
        return
    pk = package_explain(sk, X[: args.pkg_seqs])
    if pk is None:
        print("shapzero 0.0.4 package not installed (pip install -e '.[bench]'): peer comparison skipped")
        return
    phi_pkg, t_pkg = pk
    per_pkg = t_pkg / args.pkg_seqs
    per_ours = t_shap / args.N
    err = np.abs(phi_pkg - phi[: args.pkg_seqs]).max()
    print()
    print("| SHAP values | per sequence | time for N (s) | ratio |")
    print("|---|---:|---:|---:|")
    print(f"| shapzero 0.0.4 package (measured on {args.pkg_seqs} seqs, extrapolated) | {per_pkg * 1e3:.1f} ms | "
          f"{per_pkg * args.N:,.0f} | 1× |")
    print(f"| shapzero_core closed form | {per_ours * 1e6:.1f} µs | {t_shap:.3f} | {per_pkg / per_ours:,.0f}× faster |")
    print(f"max |difference| between the two: {err:.1e}")


def background_rows(sk: FourierSketch, X: np.ndarray, t_shap: float, t_mob: float) -> None:
    """SHAP values and all-order interactions against the sequences' own letter frequencies ("data"
    background, closed form of shapzero_core.background) next to the uniform background's, same sketch and
    sequences; plus a dense order-2 sketch (every pair, ~7,000 coefficients at n = 40)."""
    from shapzero_core.background import resolve_background

    N = X.shape[0]
    bg = resolve_background(sk, X)
    (phi_b, t_b, m_b) = timed(shap_values, sk, X, background=bg)
    (inter_b, t_ib, m_ib) = timed(interactions, sk, X, background=bg)
    eff = np.abs(phi_b.sum(1) - (sk.predict(X) - baseline(sk, bg))).max()
    rng = np.random.default_rng(7)
    n, q = sk.n, sk.q
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    loc = np.zeros((len(pairs) * (q - 1) ** 2, n), dtype=np.int8)
    r = 0
    for i, j in pairs:
        for a in range(1, q):
            for b in range(1, q):
                loc[r, i], loc[r, j] = a, b
                r += 1
    dense = FourierSketch(loc, rng.normal(size=len(loc)) + 1j * rng.normal(size=len(loc)), alphabet=sk.alphabet)
    (_, t_du, _) = timed(shap_values, dense, X)
    (_, t_db, m_db) = timed(shap_values, dense, X, background=resolve_background(dense, X))
    print()
    print(f"Backgrounds (N = {N:,}): uniform vs the sequences' own letter frequencies ('data', pseudocount 0.5)")
    print()
    print("| what | uniform (s) | data background (s) | ratio | peak memory, data (MB) |")
    print("|---|---:|---:|---:|---:|")
    print(f"| SHAP values, K = {sk.num_coefficients:,} (orders 1-5) | {t_shap:.3f} | {t_b:.3f} | "
          f"{t_b / t_shap:.1f}× | {m_b / 2**20:.0f} |")
    print(f"| all-order interactions ({len(inter_b.sets):,} sets under the background) | {t_mob:.3f} | {t_ib:.3f} | "
          f"{t_ib / t_mob:.1f}× | {m_ib / 2**20:.0f} |")
    print(f"| SHAP values, dense order 2, K = {dense.num_coefficients:,} | {t_du:.3f} | {t_db:.3f} | "
          f"{t_db / t_du:.1f}× | {m_db / 2**20:.0f} |")
    print(f"efficiency check (data background) max |sum(phi) - (f(x) - v(empty))| = {eff:.2e}")


if __name__ == "__main__":
    main()
