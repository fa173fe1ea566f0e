"""Write the zoo's ground-truth SHAP files ``bench/zoo_truth/<family>.npz`` (deterministic, resumable).

For each family (``--family``, default all) and its 30 query sequences (``model.query_sequences(30)``):

* ``exact`` families: from the exact spectrum (``potts``, ``protein_potts``: ``shapley.shap_values`` of
  ``model.exact_sketch()``) or the product-game closed form (``offtarget``); standard errors 0;
* the others: permutation Monte Carlo (:func:`shapzero_core.zoo.permutation_shap`): antithetic walk pairs
  with fresh uniform completions, added in batches until the noise floor ``||stderr|| / ||shap||`` over
  all 30 x n values is at most ``--floor`` (default 0.015). The walks are seeded by the family and the
  model seed, so a rerun gives the same file.

A family whose file exists and matches the current model (fingerprint outputs and query sequences) is
skipped unless ``--force``. Prints one summary row per family (method, walks, calls, noise floor, time).

Run:  python bench/make_zoo_truth.py [--family pwm_max,cnn] [--floor 0.015] [--force]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from shapzero_core.zoo import (
    StaleTruthError,
    get_family,
    list_families,
    load_truth,
    permutation_shap,
    save_truth,
    truth_path,
)

N_QUERIES = 30


def make(family: str, seed: int, floor: float, force: bool, max_pairs: int) -> dict:
    model = get_family(family, seed=seed)
    path = truth_path(family, seed)
    if path.is_file() and not force:
        try:
            t = load_truth(family, seed, model=model)
            return {"family": family, "status": "kept", "method": t.method, "walks": t.walks,
                    "calls": t.calls_per_sequence, "floor": t.noise_floor, "seconds": t.seconds}
        except (StaleTruthError, ValueError) as e:
            print(f"{family}: {e}; recomputing", flush=True)
    X = model.query_sequences(N_QUERIES)
    t0 = time.perf_counter()
    if model.truth_method == "exact":
        shap = model.exact_shap(X)
        assert shap is not None, family
        se = np.zeros_like(shap)
        walks = calls = 0
        extra = {"exact_route": "product-game closed form" if family == "offtarget" else
                 "exact spectrum + shapley.shap_values"}
    else:
        def progress(pairs: int, fl: float) -> None:
            if pairs % 2048 < 2048 // 16 or fl <= floor:
                print(f"  {family}: {2 * pairs:,} walks, noise floor {fl:.4f}", flush=True)

        mc_seed = int.from_bytes(family.encode(), "little") % (2**31) + 1_000_003 * seed
        r = permutation_shap(model, X, model.alphabet.q, seed=mc_seed, target_floor=floor, max_pairs=max_pairs,
                             progress=progress)
        shap, se, walks, calls = r.shap, r.stderr, r.walks, r.calls_per_sequence
        extra = {"target_floor": floor, "mc_seed": mc_seed, "estimator": "antithetic permutation walks, fresh "
                 "uniform completion per walk, stderr from the spread of pair means"}
    dt = time.perf_counter() - t0
    extra["load_average"] = os.getloadavg()[0]
    save_truth(path, model, X, shap, se, model.truth_method, walks=walks, calls_per_sequence=calls, seconds=dt,
               extra=extra)
    t = load_truth(family, seed, model=model)
    return {"family": family, "status": "written", "method": t.method, "walks": walks, "calls": calls,
            "floor": t.noise_floor, "seconds": dt}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--family", default="all", help="comma-separated families (default all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--floor", type=float, default=0.015, help="target noise floor of Monte Carlo truth")
    ap.add_argument("--max-pairs", type=int, default=1 << 16, help="at most this many walk pairs per sequence")
    ap.add_argument("--force", action="store_true", help="recompute even if the file is current")
    a = ap.parse_args(argv)
    fams = list_families() if a.family == "all" else [f.strip() for f in a.family.split(",") if f.strip()]
    unknown = sorted(set(fams) - set(list_families()))
    if unknown:
        ap.error(f"unknown families {', '.join(unknown)}; families: {', '.join(list_families())}")
    print(f"load average {os.getloadavg()[0]:.2f}; {N_QUERIES} query sequences per family", flush=True)
    rows = [make(f, a.seed, a.floor, a.force, a.max_pairs) for f in fams]
    print("\n| family | method | walks / sequence | model calls / sequence | noise floor | seconds | file |")
    print("|---|---|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['family']} | {r['method']} | {r['walks']:,} | {r['calls']:,} | {r['floor']:.4f} | "
              f"{r['seconds']:.1f} | {r['status']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
