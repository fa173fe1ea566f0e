"""Benchmark: refined SHAP values (the sketch as a control variate) vs plain permutation Monte Carlo.

Both estimators explain the same game (interventional SHAP, uniform background) with the SAME walks:
antithetic permutation pairs with a shared fresh uniform completion, steps whose letter equals the
completion's not queried. Plain permutation MC is :func:`refine_shap` with an empty sketch (no control
variate); ``refine_shap`` uses the model's sketch.

Models (``--models``):
  cnn        the demo CNN (``demo:cnn``, n = 40, dense), sketched with a 500k budget (held-out R^2 about 0.6)
  pwm        a PWM max-scan (n = 30, one 8-letter motif, score = best window's log-odds): never sparse
  offtarget  an off-target-style model around one guide (n = 23: 20-nt spacer, N, GG PAM): the product of
             per-position mismatch penalties (CFD-like, seed mismatches cost most) -- every order of
             interaction; exact SHAP values by a closed form for product games
  guide      the demo guide-RNA model with its exact spectrum as the sketch (the zero-residual case)

Ground truth: exact for ``offtarget`` (product game: phi_i = (a_i(x_i) - mean a_i) sum_S w(|S|) prod ...)
and ``guide`` (closed form on the exact spectrum); for ``cnn`` and ``pwm`` refine_shap with the sketch and
2^17 model calls per sequence (its own stderr is subtracted from every squared error and added to every
z-score's variance).

Columns: calls per sequence each method needs for a pooled relative L2 error <= 0.1 (from the measured
errors at calls = 1k .. 32k per sequence: err^2 ~ A / calls for an unbiased sampler, A fitted on all
of them; the raw errors are printed too), their ratio, the coverage of +-2 stderr and mean z^2 over all
values and budgets, and the trust check (16 random sequences, 4,096 calls each): its de-biased median
relative L2 error of the sketch's values against the true one on the same sequences.

Run:  python bench/bench_refine.py                 (all models, about 10 min on 2 cores)
      python bench/bench_refine.py --quick         (fewer sequences and budgets)
      python bench/bench_refine.py --models offtarget,pwm
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from shapzero_core import DNA, FourierSketch, check_sketch, refine_shap, shap_values, sketch_model
from shapzero_core.refine import pair_cost

Q = 4
TARGET = 0.1
TRUTH_CALLS = 1 << 17


# ----------------------------------------------------------------------------------------------- models
class Counted:
    """Count every sequence a model is called on (independently of refine_shap's own count)."""

    def __init__(self, f: Callable[[np.ndarray], np.ndarray], n: int, name: str) -> None:
        self.f, self.n, self.name, self.alphabet = f, n, name, DNA
        self.calls = 0

    def __call__(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        self.calls += X.shape[0]
        return np.asarray(self.f(X), dtype=np.float64).reshape(-1)


def pwm_model(n: int = 30, width: int = 8, seed: int = 3) -> tuple[Callable, np.ndarray]:
    """Best window's log-odds score of one sharp motif (Dirichlet(0.3) letter probabilities)."""
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.full(Q, 0.3), size=width)
    W = np.log((P + 1e-3) / 0.25)  # (width, 4) log-odds

    def f(X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.intp)
        s = np.stack([W[np.arange(width), X[:, t : t + width]].sum(axis=1) for t in range(n - width + 1)])
        return s.max(axis=0)

    return f, W


def offtarget_tables(seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Per-position factor tables ``a (23, 4)`` of the off-target model and its guide ``(23,)``."""
    rng = np.random.default_rng(seed)
    n = 23
    guide = rng.integers(0, Q, size=n)
    guide[21:] = 2  # GG PAM (G = 2)
    a = np.ones((n, Q))
    w = 0.2 + 0.75 * (np.arange(20) / 19) ** 2  # mismatch penalty: distal 0.2 ... PAM-proximal 0.95
    for i in range(20):
        a[i] = 1 - w[i]
        a[i, guide[i]] = 1.0
    for i in (21, 22):  # PAM: G or almost nothing
        a[i] = 0.05
        a[i, 2] = 1.0
    return a, guide  # position 20 (N) has no effect


def product_model(a: np.ndarray) -> Callable:
    def f(X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.intp)
        return np.prod(a[np.arange(a.shape[0]), X], axis=1)

    return f


def product_shap(a: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Exact SHAP values of ``f(x) = prod_i a_i(x_i)`` under the uniform background.

    ``v(S) = prod_{i in S} a_i(x_i) prod_{i not in S} mean(a_i)``, so ``phi_i = (a_i(x_i) - mean a_i)
    sum_k w(k) e_k`` with ``e_k`` the degree-k coefficient of ``prod_{j != i} (mean a_j + a_j(x_j) t)`` and
    ``w(k) = k! (n - k - 1)! / n!``.
    """
    n = a.shape[0]
    X = np.asarray(X, dtype=np.intp)
    b = a[np.arange(n), X]  # (N, n)
    c = a.mean(axis=1)  # (n,)
    w = np.array([math.factorial(k) * math.factorial(n - k - 1) / math.factorial(n) for k in range(n)])
    phi = np.empty(b.shape)
    for i in range(n):
        poly = np.zeros((X.shape[0], n))
        poly[:, 0] = 1.0
        for j in range(n):
            if j == i:
                continue
            new = poly * c[j]
            new[:, 1:] += poly[:, :-1] * b[:, j : j + 1]
            poly = new
        phi[:, i] = (b[:, i] - c[i]) * (poly @ w)
    return phi


@dataclass
class Case:
    name: str
    title: str
    model: Counted
    sketch: FourierSketch
    X: np.ndarray
    truth: np.ndarray
    truth_se: np.ndarray
    truth_fn: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
    sketch_note: str


def _truth_by_refine(model: Counted, sketch: FourierSketch, calls: int) -> Callable:
    def fn(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r = refine_shap(model, sketch, X, calls_per_seq=calls, seed=987_654)
        return r.values, r.stderr

    return fn


def build(name: str, n_seqs: int, truth_calls: int, method: str = "hybrid") -> Case:
    t0 = time.perf_counter()
    if name == "cnn":
        from shapzero_core.demos import get_demo

        demo = get_demo("cnn")
        model = Counted(demo.load_model(), 40, "demo cnn")
        sk = sketch_model(model, budget=500_000, method=method)
        X = np.asarray(demo.sequences(n_seqs, seed=11).X)
        truth_fn = _truth_by_refine(model, sk, truth_calls)
        note = f"{method} budget 500k, R^2 {sk.report['r2']:.2f}"
        title = "demo CNN (n = 40)"
    elif name == "pwm":
        f, W = pwm_model()
        model = Counted(f, 30, "pwm max-scan")
        sk = sketch_model(model, n=30, budget=500_000, method=method)
        rng = np.random.default_rng(12)
        X = rng.integers(0, Q, size=(n_seqs, 30))
        cons = W.argmax(axis=1)
        for s in range(n_seqs):  # every explained sequence carries the motif's consensus somewhere
            t = rng.integers(0, 30 - W.shape[0] + 1)
            X[s, t : t + W.shape[0]] = cons
        truth_fn = _truth_by_refine(model, sk, truth_calls)
        note = f"{method} budget 500k, R^2 {sk.report['r2']:.2f}"
        title = "PWM max-scan (n = 30, width 8)"
    elif name == "offtarget":
        a, guide = offtarget_tables()
        model = Counted(product_model(a), 23, "off-target")
        sk = sketch_model(model, n=23, budget=500_000, method=method)
        rng = np.random.default_rng(13)
        X = np.tile(guide, (n_seqs, 1))
        for s in range(n_seqs):  # the guide with 1-4 spacer mismatches
            k = 1 + s % 4
            pos = rng.choice(20, size=k, replace=False)
            X[s, pos] = (X[s, pos] + rng.integers(1, Q, size=k)) % Q

        def truth_fn(X):
            return product_shap(a, X), np.zeros(X.shape)

        note = f"{method} budget 500k, R^2 {sk.report['r2']:.2f}"
        title = "off-target around one guide (n = 23)"
    elif name == "guide":
        from shapzero_core.demos import get_demo

        demo = get_demo("guide_rna")
        model = Counted(demo.load_model(), 26, "demo guide_rna")
        sk = demo.load_spectrum()
        X = np.asarray(demo.sequences(n_seqs, seed=14).X)

        def truth_fn(X):
            return shap_values(sk, X), np.zeros(X.shape)

        note = "exact spectrum"
        title = "demo guide_rna (n = 26)"
    else:
        raise SystemExit(f"unknown model {name!r}")
    model.calls = 0
    truth, tse = truth_fn(X)
    print(f"  {name}: built in {time.perf_counter() - t0:.0f} s ({note}); truth "
          f"{'exact' if not tse.any() else f'relative stderr {np.sqrt((tse**2).sum() / (truth**2).sum()):.3g}'}",
          flush=True)
    return Case(name, title, model, sk, X, truth, tse, truth_fn, note)


# ----------------------------------------------------------------------------------------------- measure
def measure(case: Case, grid: list[int]) -> dict:
    n = case.X.shape[1]
    empty = FourierSketch(np.zeros((0, n), dtype=np.int8), np.zeros(0), DNA)
    out: dict = {"grid": grid}
    norm2 = float((case.truth**2).sum() - (case.truth_se**2).sum())
    for method, sk in (("plain", empty), ("refine", case.sketch)):
        errs, A, z2, cover, calls_used = [], [], [], [], []
        for c in grid:
            case.model.calls = 0
            t0 = time.perf_counter()
            r = refine_shap(case.model, sk, case.X, calls_per_seq=c, seed=c)
            dt = time.perf_counter() - t0
            assert case.model.calls == r.model_calls, "refine_shap's call count differs from the model's"
            e2 = float(((r.values - case.truth) ** 2).sum() - (case.truth_se**2).sum())
            err = math.sqrt(max(e2, 0.0) / norm2)
            per_seq = r.model_calls / case.X.shape[0]
            errs.append((c, per_seq, err, dt))
            A.append(max(e2, 0.0) / norm2 * per_seq)
            se = np.sqrt(r.stderr**2 + case.truth_se**2)
            ok = se > 0
            z = (r.values - case.truth)[ok] / se[ok]
            z2.append(z**2)
            cover.append(np.abs(z) <= 2)
            calls_used.append(per_seq)
        out[method] = {
            "errs": errs,
            "needed": float(np.mean(A)) / TARGET**2,
            "mean_z2": float(np.mean(np.concatenate(z2))),
            "coverage": float(np.mean(np.concatenate(cover))),
            "values": int(np.concatenate(z2).size),
        }
    s_vals = shap_values(case.sketch, case.X)
    out["sketch_rel_l2"] = float(np.linalg.norm(s_vals - case.truth) / math.sqrt(norm2))
    return out


def trust(case: Case, n_seqs: int, calls: int) -> dict:
    case.model.calls = 0
    rep = check_sketch(case.model, case.sketch, n_seqs=n_seqs, calls_per_seq=calls, seed=0)
    X = rep.refined.X
    truth, tse = case.truth_fn(X)
    s_vals = shap_values(case.sketch, X)
    e2 = ((s_vals - truth) ** 2).sum(axis=1) - (tse**2).sum(axis=1)
    n2 = (truth**2).sum(axis=1) - (tse**2).sum(axis=1)
    true_rel = np.sqrt(np.maximum(e2, 0) / np.maximum(n2, 1e-300))
    return {"est": rep.median_rel_l2, "true": float(np.median(true_rel)), "verdict": rep.verdict,
            "floor": rep.median_noise_floor, "calls": rep.model_calls / n_seqs}


def zero_residual(case: Case) -> dict:
    case.model.calls = 0
    r = refine_shap(case.model, case.sketch, case.X, calls_per_seq=2048, target_se=1e-3)
    err = float(np.linalg.norm(r.values - case.truth) / np.linalg.norm(case.truth))
    return {"calls": r.model_calls / case.X.shape[0], "max_se": float(r.stderr.max()), "err": err,
            "pairs": int(r.pairs.max())}


# ----------------------------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="cnn,pwm,offtarget,guide")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seqs", type=int, default=None, help="explained sequences per model (default 8; quick 4)")
    ap.add_argument("--method", default="hybrid", choices=["hybrid", "qsft"],
                    help="how the control-variate sketch is made (default: hybrid, the app's and CLI's default)")
    args = ap.parse_args()
    n_seqs = args.seqs or (4 if args.quick else 8)
    grid = [1024, 4096, 16384] if args.quick else [1024, 2048, 4096, 8192, 16384, 32768]
    truth_calls = TRUTH_CALLS // (4 if args.quick else 1)
    load0 = os.getloadavg()
    print("# bench_refine")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, numpy {np.__version__}; load average at start "
          f"{load0[0]:.2f} / {load0[1]:.2f} / {load0[2]:.2f}")
    print(f"explained sequences per model: {n_seqs}; budgets (calls/seq): {grid}; truth for cnn/pwm: refine "
          f"with {truth_calls:,} calls/seq\n")
    rows, raw, zrows = [], [], []
    t_all = time.perf_counter()
    for name in [m.strip() for m in args.models.split(",") if m.strip()]:
        case = build(name, n_seqs, truth_calls, args.method)
        if name == "guide":
            zr = zero_residual(case)
            tr = trust(case, 16, 4096)
            zrows.append((case, zr, tr))
            continue
        res = measure(case, grid)
        tr = trust(case, 16 if not args.quick else 8, 4096)
        rows.append((case, res, tr))
        for method in ("plain", "refine"):
            for c, per_seq, err, dt in res[method]["errs"]:
                raw.append((case.name, method, c, per_seq, err, dt))
        print(f"  {name}: done", flush=True)
    print()
    print("| model (sketch) | sketch's SHAP rel. L2 | calls/seq for rel. L2 <= 0.1: plain MC | refine | ratio | "
          "+-2 stderr coverage: plain / refine | mean z^2: plain / refine | trust check: est. / true median "
          "rel. L2 | verdict |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for case, res, tr in rows:
        p, r = res["plain"], res["refine"]
        print(f"| {case.title} ({case.sketch_note}) | {res['sketch_rel_l2']:.3f} | {p['needed']:,.0f} | "
              f"{r['needed']:,.0f} | {p['needed'] / r['needed']:.2f}x | {p['coverage']:.1%} / {r['coverage']:.1%} | "
              f"{p['mean_z2']:.2f} / {r['mean_z2']:.2f} | {tr['est']:.3f} / {tr['true']:.3f} "
              f"({tr['est'] / tr['true']:.2f}x) | {tr['verdict']} |")
    for case, zr, tr in zrows:
        print(f"| {case.title} ({case.sketch_note}) | 0 | – | {zr['calls']:,.0f} (target_se 1e-3: "
              f"{zr['pairs']} pairs, max stderr {zr['max_se']:.1g}) | – | – | – | {tr['est']:.2g} / 0 | "
              f"{tr['verdict']} ({tr['calls']:,.0f} calls/seq) |")
    if raw:
        print("\nMeasured errors (pooled relative L2 vs the truth, de-biased for the truth's noise):\n")
        print("| model | method | calls_per_seq | counted calls/seq | rel. L2 | time (s) |")
        print("|---|---|---:|---:|---:|---:|")
        for name, method, c, per_seq, err, dt in raw:
            print(f"| {name} | {method} | {c:,} | {per_seq:,.0f} | {err:.4f} | {dt:.2f} |")
    n_info = {"cnn": 40, "pwm": 30, "offtarget": 23}
    print("\nExpected model calls of one antithetic pair (2 n (q - 1) / q - 1): "
          + ", ".join(f"{k} {pair_cost(v, Q):.1f}" for k, v in n_info.items()))
    load1 = os.getloadavg()
    print(f"\ntotal {time.perf_counter() - t_all:.0f} s; load average at the end {load1[0]:.2f} / {load1[1]:.2f} / "
          f"{load1[2]:.2f}")


if __name__ == "__main__":
    main()
