"""Benchmark: does the trust check tell the truth? (issue 13's goal: on the zoo families, the trust check's
reported median relative L2 error is within a factor 1.5 of the true one.)

For each zoo family (``shapzero_core.zoo``) the default sketch (``plan_for_budget(budget)``) is made with a
fresh query cache, then :func:`shapzero_core.check_sketch` runs with its defaults (16 random uniform
sequences, 4,096 model calls each). Its reported median de-biased relative L2 error is compared with the true
median per-sequence relative L2 error of the sketch's SHAP values:

* ``true (check seqs)``: on the trust check's own random sequences, against exact SHAP values, for the
  families whose exact values are known (potts, protein_potts, offtarget: ``ZooModel.exact_shap``);
* ``true (zoo queries)``: on the 30 query sequences of ``bench/zoo_truth/<family>.npz`` (exact or
  permutation Monte Carlo; the off-target queries are near-guide targets, not uniform sequences, so that
  column asks a different question there).

``ratio`` is reported / true (the check-sequence truth where there is one, otherwise the zoo queries'); the
goal is 1/1.5 <= ratio <= 1.5.

Run:  python bench/bench_trust.py [--families potts,cnn] [--budget 500k] [--json trust.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time

import numpy as np

from shapzero_core import check_sketch, plan_for_budget, shap_values, sketch_model
from shapzero_core.zoo import get_family, list_families, load_truth


def per_seq_rel_l2(phi: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """``float64 (N,)``: ``||phi_s - phi_t|| / ||phi_t||`` per row."""
    return np.linalg.norm(phi - truth, axis=1) / np.maximum(np.linalg.norm(truth, axis=1), 1e-300)


def parse_budget(s: str) -> int:
    s = s.strip().lower()
    mult = {"k": 1_000, "m": 1_000_000}.get(s[-1:], 1)
    return int(float(s[:-1] if mult > 1 else s) * mult)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--families", default=",".join(list_families()))
    ap.add_argument("--budget", default="500k")
    ap.add_argument("--json", default=None, help="write the rows here")
    args = ap.parse_args()
    budget = parse_budget(args.budget)
    rows = []
    print(f"# trust check vs truth, budget {budget:,}; {platform.node()} {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f}")
    hdr = (f"{'family':<14} {'n':>3} {'q':>3} {'R2':>6} {'reported':>9} {'true(chk)':>10} {'true(zoo)':>10} "
           f"{'ratio':>6} {'floor':>6} {'verdict':<12} {'calls':>8} {'s':>6}")
    print(hdr)
    for fam in args.families.split(","):
        model = get_family(fam)
        truth = load_truth(fam, model=model)
        with tempfile.TemporaryDirectory() as tmp:
            cfg = plan_for_budget(budget, model.n, model.alphabet.q)
            sk = sketch_model(model, config=cfg, cache_dir=tmp)
        t0 = time.perf_counter()
        rep = check_sketch(model, sk)
        secs = time.perf_counter() - t0
        zoo_true = float(np.median(per_seq_rel_l2(shap_values(sk, truth.X), truth.shap)))
        exact = model.exact_shap(rep.refined.X)
        chk_true = (float(np.median(per_seq_rel_l2(shap_values(sk, rep.refined.X), exact)))
                    if exact is not None else float("nan"))
        ref = chk_true if np.isfinite(chk_true) else zoo_true
        ratio = rep.median_rel_l2 / ref if ref > 0 else float("nan")
        r2 = (sk.report or {}).get("r2")
        r2 = float("nan") if r2 is None else float(r2)
        row = dict(family=fam, n=model.n, q=model.alphabet.q, budget=budget, r2=r2,
                   reported=rep.median_rel_l2, true_check=chk_true, true_zoo=zoo_true, ratio=ratio,
                   floor=rep.median_noise_floor, level=rep.level, calls=rep.model_calls, seconds=secs)
        rows.append(row)
        print(f"{fam:<14} {model.n:>3} {model.alphabet.q:>3} {r2:>6.3f} {rep.median_rel_l2:>9.3f} "
              f"{chk_true:>10.3f} {zoo_true:>10.3f} {ratio:>6.2f} {rep.median_noise_floor:>6.3f} "
              f"{rep.level:<12} {rep.model_calls:>8,} {secs:>6.1f}", flush=True)
        if args.json:
            with open(args.json, "w") as fh:
                json.dump(rows, fh, indent=1)
    ok = [r for r in rows if np.isfinite(r["ratio"]) and 1 / 1.5 <= r["ratio"] <= 1.5]
    print(f"# within a factor 1.5: {len(ok)} of {len(rows)} families")


if __name__ == "__main__":
    main()
