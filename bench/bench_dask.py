"""Speed-up of a sketch on a local Dask cluster: a slow model (sleeps 2 ms per sequence) with 1, 2, 4 workers.

Usage::

    python bench/bench_dask.py                      # n=10, b=3: 6,336 training + 1,000 test queries
    python bench/bench_dask.py --workers 1 2 4 8 --sleep-ms 2 --batch-size 128

The model is ``bench_dask:sleepy`` (this file imported as a module), so worker processes rebuild it from
its spec. Every run uses the same plan and seed; the sketches must be identical (checked, also against an
inline run in this process), so only the wall time may differ. Wall time is the whole ``sketch_model`` call
(queries, decoding, refit), the fastest of ``--repeat`` runs; starting the cluster and loading the model on
its workers (``DaskExecutor.preload``) is timed separately. The model sleeps, so it is not CPU
bound: more workers than cores can still help, until the per-task overhead or the decoding dominates.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np

SLEEP_PER_SEQUENCE = float(os.environ.get("BENCH_DASK_SLEEP_MS", "2")) / 1000.0


def sleepy(X: np.ndarray) -> np.ndarray:
    """A planted landscape that sleeps ``BENCH_DASK_SLEEP_MS`` (default 2) ms per sequence.

    ``int8 (N, n)`` DNA codes (n >= 8) -> ``float64 (N,)``.
    """
    time.sleep(SLEEP_PER_SEQUENCE * len(X))
    X = np.asarray(X)
    return (
        0.3
        + 1.0 * (X[:, 0] == 2)
        + 0.8 * (X[:, 1] == 1) * (X[:, 4] == 3)
        - 0.6 * (X[:, 2] == 0)
        + 0.4 * (X[:, 3] == 1) * (X[:, 6] == 2) * (X[:, 7] == 0)
        - 0.25 * (X[:, 5] == 3)
    ).astype(np.float64)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4], help="local Dask worker counts (default 1 2 4)")
    p.add_argument("--n", type=int, default=10, help="sequence length (default 10)")
    p.add_argument("--b", type=int, default=3, help="log_q of the bins per block (default 3)")
    p.add_argument("--test-size", type=int, default=1000, help="held-out sequences (default 1000)")
    p.add_argument("--sleep-ms", type=float, default=2.0, help="model time per sequence, ms (default 2)")
    p.add_argument("--batch-size", type=int, default=128, help="queries per task (default 128)")
    p.add_argument("--repeat", type=int, default=2, help="sketches per worker count; the fastest is shown "
                   "(default 2: other work on the machine only ever slows a run down)")
    p.add_argument("--no-inline", action="store_true", help="skip the inline reference run (in this process)")
    args = p.parse_args(argv)

    # the workers read the sleep from the environment they inherit (spawned processes)
    os.environ["BENCH_DASK_SLEEP_MS"] = str(args.sleep_ms)
    import importlib

    bench = importlib.import_module("bench_dask")  # this file as a module: its functions have a spec
    from shapzero_core import SketchConfig, plan_sketch, sketch_model
    from shapzero_core.dask_executor import DaskExecutor
    from shapzero_core.models import load_model

    bench.SLEEP_PER_SEQUENCE = args.sleep_ms / 1000.0
    model = load_model("bench_dask:sleepy", n=args.n)
    config = SketchConfig(b=args.b, seed=0, test_size=args.test_size)
    plan = plan_sketch(args.n, 4, config)
    Q = plan.num_queries
    print(f"plan: {plan.summary()}")
    print(f"model: {model.spec}, {args.sleep_ms:g} ms per sequence -> {Q * args.sleep_ms / 1000:.1f} s of model time; "
          f"batch {args.batch_size} queries per task")
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}")

    results = []  # (label, workers, startup, wall, query time, sketch)
    if not args.no_inline:
        t = time.perf_counter()
        s = sketch_model(model, config=config, batch_size=args.batch_size)
        results.append(("inline (this process)", 0, 0.0, time.perf_counter() - t, s.report["time"]["query"], s))
        print(f"  inline: {results[-1][3]:.2f} s", flush=True)
    for w in args.workers:
        t0 = time.perf_counter()
        with DaskExecutor(n_workers=w, processes=True) as ex:
            ex.client.wait_for_workers(w, timeout=60)
            ex.preload(model)  # imports and model loading on the workers: part of the start-up, not of the sketch
            startup = time.perf_counter() - t0
            threads = ex.total_threads()
            walls = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                s = sketch_model(model, config=config, executor=ex, batch_size=args.batch_size)
                walls.append(time.perf_counter() - t)
        wall = min(walls)
        results.append((f"Dask, {w} worker{'s' if w > 1 else ''}", w, startup, wall, s.report["time"]["query"], s))
        print(f"  {w} workers ({threads} threads): {', '.join(f'{x:.2f}' for x in walls)} s "
              f"(cluster start {startup:.1f} s)", flush=True)

    ref = results[0][5]
    identical = all(np.array_equal(r[5].locations, ref.locations) and np.array_equal(r[5].coefficients,
                                                                                      ref.coefficients)
                    for r in results)
    base = next((r[3] for r in results if r[1] == 1), results[0][3])
    print()
    print("| run | cluster start (s) | wall time (s) | queries/s | speed-up vs 1 worker | efficiency |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, w, startup, wall, _tq, _s in results:
        sp = base / wall
        eff = f"{sp / w:.0%}" if w else "-"
        start = f"{startup:.1f}" if w else "-"
        print(f"| {label} | {start} | {wall:.2f} | {Q / wall:,.0f} | {sp:.2f}x | {eff} |")
    print()
    print(f"{Q:,} queries per run; sketches identical across all runs: {identical} "
          f"({ref.num_coefficients} coefficients, held-out R^2 {ref.report['r2']:.4f})")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
