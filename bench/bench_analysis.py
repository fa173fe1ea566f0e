"""Benchmark: summaries across many explained sequences (shapzero_core.analysis).

A random real sketch with K coefficients of orders 1-5 (conjugate pairs) at n = 40, q = 4; N random
sequences. Times (median of --repeat runs) every summary of the analysis module and compares the two
grouping-heavy ones against straightforward peers measured in the same run on the same data:

* position x letter summary: pandas ``melt`` + ``groupby`` and a per-sequence Python loop;
* top interactions across sequences: pandas ``groupby`` over the tidy (sequence, set) table, with the
  letter combinations as integer codes (the fair version; string letters would be slower still).

Results are checked to agree before any time is printed. Target: all summaries for N = 10,000 in < 2 s.

Run:  python bench/bench_analysis.py [--N 10000] [--n 40] [--K 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import pandas as pd
from _planted import random_sketch

from shapzero_core import DNA
from shapzero_core.analysis import (
    explain_sequences,
    hypothetical_shap,
    position_letter_summary,
    repeat_spacing_summary,
    spaced_repeats,
    split_interaction_summary,
    top_interactions,
)
from shapzero_core.sequences import random_sequences


def median_time(fn, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, float(np.median(times))


# ---------------------------------------------------------------------------------------------- peers
def peer_pandas_position_letter(ex) -> pd.DataFrame:
    N, n = ex.X.shape
    df = pd.DataFrame({"position": np.tile(np.arange(n), N), "letter": ex.X.ravel(), "shap": ex.shap.ravel()})
    return df.groupby(["position", "letter"])["shap"].agg(["mean", "count", "std"])


def peer_loop_position_letter(ex) -> np.ndarray:
    n, q = ex.n, ex.alphabet.q
    s = np.zeros((n, q))
    c = np.zeros((n, q))
    for x, phi in zip(ex.X.tolist(), ex.shap.tolist(), strict=True):  # per-sequence loop, as in research code
        for i in range(n):
            s[i, x[i]] += phi[i]
            c[i, x[i]] += 1
    with np.errstate(invalid="ignore"):
        return s / c


def peer_pandas_top(ex, min_order: int = 2) -> pd.DataFrame:
    inter = ex.interactions
    q = ex.alphabet.q
    frames = []
    for d in range(min_order, int(inter.orders.max()) + 1):
        cols = np.flatnonzero(inter.orders == d)
        if cols.size == 0:
            continue
        S = np.array([inter.sets[c] for c in cols])
        code = np.zeros((ex.N, cols.size), dtype=np.int64)
        for j in range(d):
            code = code * q + ex.X[:, S[:, j]]
        v = inter.values[:, cols].ravel()
        frames.append(pd.DataFrame({"set": np.tile(cols, ex.N), "code": code.ravel(), "value": v,
                                    "pos": v > 0, "neg": v < 0, "abs": np.abs(v)}))
    df = pd.concat(frames, ignore_index=True)
    return df.groupby(["set", "code"]).agg(
        mean=("value", "mean"), count=("value", "size"), std=("value", "std"), npos=("pos", "sum"),
        nneg=("neg", "sum"), mean_abs=("abs", "mean"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--N", type=int, default=10_000)
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--K", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-slow-peers", action="store_true", help="skip the pandas groupby peer of top interactions")
    a = ap.parse_args()

    load0 = os.getloadavg()
    sk = random_sketch(a.n, a.K)
    seqs = random_sequences(a.N, a.n, DNA, seed=1)
    ex, t_explain = median_time(lambda: explain_sequences(sk, seqs), a.repeat)
    G = len(ex.interactions.sets)

    rows: list[tuple[str, float]] = []
    pls, t = median_time(lambda: position_letter_summary(ex), a.repeat)
    rows.append(("position x letter summary", t))
    _, t = median_time(lambda: split_interaction_summary(ex, min_order=2), a.repeat)
    rows.append(("split-interaction summary (order >= 2)", t))
    top, t = median_time(lambda: top_interactions(ex, k=None, min_order=2), a.repeat)
    rows.append(("top interactions, all combinations", t))
    reps, t = median_time(lambda: spaced_repeats(top, include_mismatched=True), a.repeat)
    rows.append(("spaced repeats + spacing summary", t))
    _, t2 = median_time(lambda: repeat_spacing_summary(reps), a.repeat)
    rows[-1] = (rows[-1][0], rows[-1][1] + t2)
    total = sum(t for _, t in rows)
    _, t_hyp = median_time(lambda: hypothetical_shap(sk, seqs.X), 1)

    # peers, checked against ours first
    pdf, t_pd = median_time(lambda: peer_pandas_position_letter(ex), a.repeat)
    np.testing.assert_allclose(pdf["mean"].to_numpy().reshape(a.n, 4), pls.mean, rtol=1e-9, atol=1e-12)
    loop, t_loop = median_time(lambda: peer_loop_position_letter(ex), 1)
    np.testing.assert_allclose(loop, pls.mean, rtol=1e-9, atol=1e-12)
    if not a.skip_slow_peers:
        ptop, t_ptop = median_time(lambda: peer_pandas_top(ex), 1)
        assert len(ptop) == len(top)
        np.testing.assert_allclose(np.sort(ptop["mean"].to_numpy()), np.sort(top["mean"].to_numpy()), atol=1e-9)
    load1 = os.getloadavg()

    print(f"bench_analysis: N={a.N} sequences, n={a.n}, q=4, K={sk.num_coefficients} coefficients "
          f"(orders {sk.count_by_order()}), G={G} interaction sets, {len(top):,} (set, letters) combinations "
          "(motifs: TF-MoDISco, see bench/bench_motifs.py)")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average "
          f"{load0[0]:.2f} before / {load1[0]:.2f} after; median of {a.repeat} runs")
    print()
    print(f"| {'phase':50s} | {'seconds':>8s} | {'per 1k seqs (ms)':>16s} |")
    print(f"|{'-' * 52}|{'-' * 10}|{'-' * 18}|")
    for name, t in rows:
        print(f"| {name:50s} | {t:8.3f} | {1000 * t / a.N * 1000:16.2f} |")
    print(f"| {'ALL SUMMARIES (target < 2 s)':50s} | {total:8.3f} | {1000 * total / a.N * 1000:16.2f} |")
    print(f"| {'(context) explain: SHAP + all-order interactions':50s} | {t_explain:8.3f} | "
          f"{1000 * t_explain / a.N * 1000:16.2f} |")
    print(f"| {'(context) hypothetical SHAP for TF-MoDISco':50s} | {t_hyp:8.3f} | "
          f"{1000 * t_hyp / a.N * 1000:16.2f} |")
    print()
    print(f"| {'same result computed by':52s} | {'seconds':>8s} | {'ratio vs ours':>13s} |")
    print(f"|{'-' * 54}|{'-' * 10}|{'-' * 15}|")
    t_pl = rows[0][1]
    print(f"| {'position x letter: ours (bincount)':52s} | {t_pl:8.3f} | {1.0:13.1f} |")
    print(f"| {'position x letter: pandas melt + groupby':52s} | {t_pd:8.3f} | {t_pd / t_pl:13.1f} |")
    print(f"| {'position x letter: Python loop over sequences':52s} | {t_loop:8.3f} | {t_loop / t_pl:13.1f} |")
    t_top = rows[2][1]
    print(f"| {'top interactions: ours (bincount on int keys)':52s} | {t_top:8.3f} | {1.0:13.1f} |")
    if not a.skip_slow_peers:
        print(f"| {'top interactions: pandas groupby (int keys)':52s} | {t_ptop:8.3f} | {t_ptop / t_top:13.1f} |")


if __name__ == "__main__":
    main()
