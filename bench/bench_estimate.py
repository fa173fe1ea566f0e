"""Benchmark: the Sketch page's time estimate against the measured time of the same sketch.

For each model (the demo models and a few zoo families) and sketch method, the sketch runs at 100k, 250k and
500k training queries in turn. Before each run two estimates are made with
:func:`shapzero_core.sketch.estimate.estimate_sketch_time`, as the app makes them:

* **cold**: no earlier sketch (the cost model's default seconds per unit, scaled by this machine's
  :func:`machine_speed`), query time at the rate measured on 50,000 random sequences (the app's probe);
* **warm**: with the decode times of this model's earlier runs in this benchmark (the app keeps them in the
  workspace's ``timings.json``) and the query rate of its last run; the 100k run has no history yet.

The measured time is the wall time of ``sketch_model`` (queries + decoding). The ratio is measured ÷
estimated: 1 is exact, 2 means the sketch took twice as long as announced. The summary gives the median and
the worst ratio (as max(r, 1/r)) of each kind.

Run:  python bench/bench_estimate.py [--json estimate.json] [--models guide_rna,cnn] [--methods qsft,hybrid]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
from bench_zoo import header

from shapzero_core.demos import get_demo
from shapzero_core.sketch import plan_for_budget, plan_sketch, sketch_model
from shapzero_core.sketch.estimate import decode_units, estimate_sketch_time, machine_speed
from shapzero_core.zoo import get_family

MODELS = ("guide_rna", "repair", "cnn", "tree", "offtarget")
METHODS = ("qsft", "hybrid")
BUDGETS = (100_000, 250_000, 500_000)
TEST_SIZE = 2_000


def load(name: str) -> Any:
    """A demo model by name, else a zoo family (seed 0)."""
    try:
        return get_demo(name).load_model()
    except (KeyError, ValueError):
        return get_family(name, seed=0)


def probe_rate(model: Any, num: int = 50_000) -> float:
    """Sequences per second on ``num`` random sequences (best of two calls), like the app's probe."""
    if hasattr(model, "probe_throughput"):
        return float(model.probe_throughput())
    X = np.random.default_rng(0).integers(0, model.alphabet.q, size=(num, model.n)).astype(np.uint8)
    best = np.inf
    for _ in range(2):
        t = time.perf_counter()
        model(X)
        best = min(best, time.perf_counter() - t)
    return num / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--json", type=Path, default=None, help="write the rows here")
    args = ap.parse_args()

    print(header())
    speed = machine_speed(refresh=True)
    print(f"machine speed {speed:.2f} (1 = the machine the defaults were measured on)\n")
    print("| model (n, q) | method | budget | cold estimate s | warm estimate s | measured s (query / decode) "
          "| ratio cold | ratio warm |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    rows: list[dict[str, Any]] = []
    for name in args.models.split(","):
        model = load(name)
        n, q = model.n, model.alphabet.q
        rate = probe_rate(model)
        for method in args.methods.split(","):
            history: list[tuple[float, float]] = []
            last_rate: float | None = None
            for budget in BUDGETS:
                cfg = plan_for_budget(budget, n, q, method=method, test_size=TEST_SIZE)
                plan = plan_sketch(n, q, cfg)
                cold = estimate_sketch_time(plan, rate, speed=speed)
                warm = estimate_sketch_time(plan, last_rate or rate, history=history) if history else None
                t = time.perf_counter()
                sk = sketch_model(model, n=n, alphabet=model.alphabet, config=cfg)
                took = time.perf_counter() - t
                tq, td = sk.report["time"]["query"], sk.report["time"]["decode"]
                history.append((decode_units(plan), td))
                last_rate = plan.num_queries / tq if tq > 0 else None
                row = {"model": name, "n": n, "q": q, "method": method, "budget": budget,
                       "queries": plan.num_queries, "cold_s": cold.total_s, "warm_s": warm.total_s if warm else None,
                       "measured_s": took, "query_s": tq, "decode_s": td, "ratio_cold": took / cold.total_s,
                       "ratio_warm": took / warm.total_s if warm else None, "load_average": os.getloadavg()[0]}
                rows.append(row)
                w = "–" if warm is None else f"{warm.total_s:.1f}"
                rw = "–" if warm is None else f"{row['ratio_warm']:.2f}"
                print(f"| {name} ({n}, {q}) | {method} | {budget // 1000}k | {cold.total_s:.1f} | {w} | "
                      f"{took:.1f} ({tq:.1f} / {td:.1f}) | {row['ratio_cold']:.2f} | {rw} |", flush=True)
                if args.json:
                    args.json.write_text(json.dumps({"header": header(), "speed": speed, "rows": rows}, indent=1))

    def worst(r: list[float]) -> float:
        return max(max(x, 1 / x) for x in r)

    def close(kind: str) -> int:  # within a factor 1.5, or within 1 s (a sub-second sketch)
        return sum(1 for r in rows if r[f"{kind}_s"] is not None
                   and (1 / 1.5 <= r[f"ratio_{kind}"] <= 1.5 or abs(r["measured_s"] - r[f"{kind}_s"]) <= 1.0))

    cold = [r["ratio_cold"] for r in rows]
    warm = [r["ratio_warm"] for r in rows if r["ratio_warm"] is not None]
    print(f"\ncold: median ratio {np.median(cold):.2f}, worst {worst(cold):.2f}× off; within 1.5× or 1 s: "
          f"{close('cold')} of {len(cold)}")
    if warm:
        print(f"warm: median ratio {np.median(warm):.2f}, worst {worst(warm):.2f}× off; within 1.5× or 1 s: "
              f"{close('warm')} of {len(warm)}")
    print(f"load average now {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
