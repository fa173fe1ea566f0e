"""Benchmark: the dense low-degree component alone (``shapzero_core.sketch.lowdeg``) on zoo families.

Per family and number of uniform random queries: fit time, held-out R^2 on 5,000 fresh sequences, SHAP rel. L2
and Pearson against ``bench/zoo_truth``, number of coefficients, per triple window (``--windows``: 0 = pairs
only; w = every triple within w positions, as the hybrid's ``TRIPLE_WINDOW``). No q-SFT part: this measures what
the dense component alone captures (the hybrid adds q-SFT peeling of the residual on top). The hybrid's window
of 7 was chosen from ``--families cnn,pwm_max,tree --queries 250k --windows 0,4,7,10``.

Run:  python bench/bench_lowdeg.py [--families potts,cnn] [--queries 100k,250k] [--windows 0,7]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from shapzero_core import FourierSketch, shap_values
from shapzero_core.sketch.hybrid import DENSE_TOL
from shapzero_core.sketch.lowdeg import fit_low_degree, lowdeg_to_fourier
from shapzero_core.zoo import get_family, load_truth


def _count(s: str) -> int:
    s = s.strip().lower()
    return int(float(s[:-1]) * 1_000) if s.endswith("k") else int(float(s[:-1]) * 1e6) if s.endswith("m") else int(s)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--families", default="potts,cnn,tree,protein_potts")
    ap.add_argument("--queries", default="100k,250k")
    ap.add_argument("--windows", default="0,7", help="triple windows (0: pairs only)")
    a = ap.parse_args(argv)
    windows = [int(w) for w in a.windows.split(",") if w.strip()]
    print("| family | n | q | random queries | triple window | fit s | pairs kept | triples kept | coefs | R² | "
          "SHAP rel. L2 | Pearson |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for f in [s.strip() for s in a.families.split(",") if s.strip()]:
        model = get_family(f)
        truth = load_truth(f, model=model)
        q, n = model.alphabet.q, model.n
        rng = np.random.default_rng(777)
        Xe = rng.integers(0, q, size=(5_000, n), dtype=np.int8)
        ye = model(Xe)
        for N in [_count(s) for s in a.queries.split(",") if s.strip()]:
            X = np.random.default_rng([0, 3, N]).integers(0, q, size=(N, n), dtype=np.int8)
            y = model(X)
            for w in windows:
                t0 = time.perf_counter()
                fit = fit_low_degree(X, y, q, triples=w if w >= 2 else None, tol=DENSE_TOL)
                locs, coefs = lowdeg_to_fourier(fit)
                dt = time.perf_counter() - t0
                sk = FourierSketch(locs, coefs, model.alphabet)
                pred = sk.predict(Xe)
                r2 = 1 - float(np.sum((pred - ye) ** 2)) / float(np.sum((ye - ye.mean()) ** 2))
                phi = shap_values(sk, truth.X)
                err = float(np.linalg.norm(phi - truth.shap) / np.linalg.norm(truth.shap))
                pear = float(np.corrcoef(phi.ravel(), truth.shap.ravel())[0, 1])
                print(f"| {f} | {n} | {q} | {N:,} | {w or '-'} | {dt:.1f} | {len(fit.pairs)} | {len(fit.triples)} | "
                      f"{sk.num_coefficients:,} | {r2:.3f} | {err:.3f} | {pear:.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
