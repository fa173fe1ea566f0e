"""Benchmark: this project against the explainers biologists use today (shap, shapiq, the shapzero package).

Every method explains the SAME game: interventional SHAP with a uniform background over all 4^n sequences,
v_x(S) = E_{z ~ Unif} f(x_S, z_rest) (method.md §2.1). Peers get integer-coded features and a background
of uniformly random sequences (``--background`` rows, stated in the tables); a finite background is itself an
approximation of the uniform game, so its error floor is part of the peer's error (method.md: about 0.2 for
32 rows). shapiq estimators are also run on an unbiased version of the game (every coalition is evaluated
once at a FRESH uniformly random completion z: 1 model call per coalition, no background floor).

Models: the demo models (a) guide_rna n=26, (b) repair n=40 (exact planted spectra -> exact SHAP values and
interactions by the closed forms, method.md §2.4/§2.5) and (c) the dense CNN (ground truth: permutation
Monte-Carlo with >= 2^18 model calls per sequence on a subset, antithetic, fresh uniform z per permutation).
If ``shapzero_core.demos`` is missing, stand-in planted models of the same structure are used (and said so).

Per method: model evaluations (counted by wrapping the model), wall time split into one-time and
per-sequence parts, SHAP accuracy vs the ground truth (Pearson r, relative L2 error) and, for interaction
estimators, top-10 pairwise agreement and relative L2 error of the order-2 values (Faith-Shap order 2 /
SII) vs exact. Slow peers are measured on a few sequences and their per-sequence costs are extrapolated
linearly to N = 100 / 1,000 / 10,000 (the tables say "measured on m"). This project is measured at every N.

Run:  python bench/bench_peers.py            (full, <= 30 min on 2 cores)
      python bench/bench_peers.py --quick    (a few minutes: fewer settings, fewer sequences)
      python bench/bench_peers.py --models guide_rna --out results.md
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import io
import math
import os
import platform
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from shapzero_core import DNA, FourierSketch, interactions, shap_values

Q = 4
NS = (100, 1_000, 10_000)
TARGET_FLOOR = 0.05  # matched accuracy: peers must reach max(our SHAP rel. L2 error, this)
LOOSE = 0.3  # a loose tolerance: the cheapest peer setting with SHAP rel. L2 <= this is also reported
EMPTY_EVALS = 1 << 18  # one-time estimate of the model mean (empty coalition) for the fresh-z games
# Sketch training budgets (this project and the package). Planted demos: the smallest of 100k / 250k / 400k
# whose held-out R^2 is 1.0000 (what a user sees without ground truth) — 100k for both. The dense CNN: two
# budgets (R^2 about 0.50 and 0.64).
DEFAULT_BUDGETS = {
    "guide_rna": (100_000,),
    "repair": (100_000,),
    "cnn": (500_000, 2_000_000),
}


# ----------------------------------------------------------------------------------------------- models
class Counted:
    """Wrap a model ``int8 (N, n) -> float (N,)``; count evaluated rows and time spent in the model."""

    def __init__(self, f: Callable[[np.ndarray], np.ndarray], n: int, name: str = "model") -> None:
        self.f = f
        self.n = n
        self.name = name
        self.alphabet = DNA
        self.calls = 0
        self.seconds = 0.0
        ident = getattr(f, "identity", None)
        if ident is not None:
            self.identity = ident

    def __call__(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim == 1:
            X = X[None, :]
        X = np.rint(X).astype(np.int8) if X.dtype.kind == "f" else X.astype(np.int8, copy=False)
        t0 = time.perf_counter()
        y = np.asarray(self.f(X), dtype=np.float64).reshape(-1)
        self.seconds += time.perf_counter() - t0
        self.calls += X.shape[0]
        return y

    def reset(self) -> None:
        self.calls = 0
        self.seconds = 0.0


@dataclass
class BenchModel:
    name: str
    title: str
    n: int
    f: Callable[[np.ndarray], np.ndarray]
    spectrum: FourierSketch | None
    source: str  # "demo" or "stand-in"
    sketch_budget: int | None = None
    extra: dict = field(default_factory=dict)


def _planted(
    n: int, supports: list[tuple[int, ...]], per_support: int, scale: float, seed: int
) -> FourierSketch:
    """Real planted spectrum: for every support T, ``per_support`` frequency vectors (+ conjugates)."""
    rng = np.random.default_rng(seed)
    coefs: dict[bytes, complex] = {}
    locs: dict[bytes, np.ndarray] = {}
    for T in supports:
        for _ in range(per_support):
            k = np.zeros(n, dtype=np.int8)
            k[list(T)] = rng.integers(1, Q, size=len(T))
            kc = ((-k.astype(np.int16)) % Q).astype(np.int8)
            if k.tobytes() in coefs or kc.tobytes() in coefs:
                continue
            c = complex(rng.normal(), rng.normal()) * scale / len(T)
            if np.array_equal(k, kc):
                c = complex(c.real * math.sqrt(2), 0.0)
                coefs[k.tobytes()], locs[k.tobytes()] = c, k
            else:
                coefs[k.tobytes()], locs[k.tobytes()] = c, k
                coefs[kc.tobytes()], locs[kc.tobytes()] = c.conjugate(), kc
    keys = list(coefs)
    return FourierSketch(np.array([locs[b] for b in keys]), np.array([coefs[b] for b in keys]), DNA)


def standin_guide() -> FourierSketch:
    """n=26, orders 1-2 (first order everywhere, pairs mostly adjacent)."""
    n = 26
    rng = np.random.default_rng(11)
    sup: list[tuple[int, ...]] = [(i,) for i in range(n)]
    sup += [(i, i + 1) for i in range(n - 1)]
    sup += [tuple(sorted(rng.choice(n, 2, replace=False).tolist())) for _ in range(15)]
    return _planted(n, sup, 2, 1.0, seed=1)


def standin_repair() -> FourierSketch:
    """n=40, orders 2-4 around the cut (positions 14-25)."""
    n = 40
    rng = np.random.default_rng(12)
    sup: list[tuple[int, ...]] = []
    for o, cnt in ((2, 40), (3, 10), (4, 30)):
        for _ in range(cnt):
            sup.append(tuple(sorted(rng.choice(np.arange(14, 26), o, replace=False).tolist())))
    sup += [(i,) for i in range(16, 24)]
    return _planted(n, sup, 2, 1.0, seed=2)


def standin_cnn() -> Callable[[np.ndarray], np.ndarray]:
    """Dense nonlinear n=40 model: tanh of a position-weight + convolutional pair score."""
    rng = np.random.default_rng(13)
    n, w = 40, 5
    W1 = rng.normal(size=(n, Q)) * 0.4
    K2 = rng.normal(size=(w, Q, Q)) * 0.3

    def f(X: np.ndarray) -> np.ndarray:
        X = X.astype(np.int64)
        s = W1[np.arange(n), X].sum(1)
        for d in range(1, w + 1):
            s = s + np.tanh(K2[d - 1][X[:, :-d], X[:, d:]].sum(1))
        return np.tanh(s / 2) * 3

    return f


def load_models(names: list[str]) -> list[BenchModel]:
    demos = None
    if importlib.util.find_spec("shapzero_core.demos") is not None:
        demos = importlib.import_module("shapzero_core.demos")
    out = []
    for name in names:
        if demos is not None:
            d = demos.get_demo(name)
            model = d.load_model()
            spec = d.load_spectrum()
            out.append(
                BenchModel(
                    name,
                    d.title,
                    int(d.n),
                    model,
                    spec,
                    "demo",
                    extra={"budget": getattr(d, "sketch_budget", None)},
                )
            )
            continue
        if name == "guide_rna":
            sk = standin_guide()
            out.append(
                BenchModel(name, "stand-in guide (planted, orders 1-2)", 26, sk.predict, sk, "stand-in")
            )
        elif name == "repair":
            sk = standin_repair()
            out.append(
                BenchModel(name, "stand-in repair (planted, orders 2-4)", 40, sk.predict, sk, "stand-in")
            )
        elif name == "cnn":
            out.append(BenchModel(name, "stand-in dense CNN-like model", 40, standin_cnn(), None, "stand-in"))
        else:
            raise SystemExit(f"--models: unknown model {name!r} (guide_rna, repair, cnn)")
    return out


# ----------------------------------------------------------------------------------------------- truth
@dataclass
class Truth:
    X: np.ndarray  # (m, n) sequences with ground truth
    phi: np.ndarray  # (m, n)
    fsii: np.ndarray | None  # (m, n, n) Faith-Shap order 2 (order-2 part)
    sii: np.ndarray | None  # (m, n, n)
    mobius: np.ndarray | None  # (m, n, n)
    kind: str  # "exact" or "MC (...)"
    floor: float = 0.0  # estimated relative L2 error of the ground truth itself


def exact_truth(spec: FourierSketch, X: np.ndarray) -> Truth:
    return Truth(
        X,
        shap_values(spec, X),
        interactions(spec, X, "faith-shap", 2).pairwise(),
        interactions(spec, X, "sii", 2).pairwise(),
        interactions(spec, X, "mobius", 2).pairwise(),
        "exact",
    )


def mc_permutation_shap(
    f: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    evals: int,
    rng: np.random.Generator,
    chunk: int = 1 << 16,
) -> tuple[np.ndarray, np.ndarray]:
    """Permutation Monte-Carlo SHAP under the uniform background (antithetic permutation pairs, fresh z).

    Each permutation costs n+1 model calls: z -> ... -> x, switching one position per step in permutation
    order. Returns (phi (n,), standard error (n,)).
    """
    n = x.shape[0]
    P = max(2, evals // (n + 1))
    P -= P % 2
    sums = np.zeros(n)
    sq = np.zeros(n)
    done = 0
    per = max(2, (chunk // (n + 1)) // 2 * 2)
    while done < P:
        p = min(per, P - done)
        perms = np.argsort(rng.random((p // 2, n)), axis=1)
        perms = np.concatenate([perms, perms[:, ::-1]])
        z = rng.integers(0, Q, size=(p // 2, n), dtype=np.int8)
        z = np.concatenate([z, z])
        path = np.repeat(z[:, None, :], n + 1, axis=1)  # (p, n+1, n)
        steps = np.zeros((p, n + 1, n), dtype=bool)
        rank = np.empty_like(perms)
        rank[np.arange(p)[:, None], perms] = np.arange(n)
        steps[:, 1:, :] = rank[:, None, :] < np.arange(1, n + 1)[None, :, None]
        path = np.where(steps, x[None, None, :], path)
        y = f(path.reshape(-1, n)).reshape(p, n + 1)
        d = np.diff(y, axis=1)  # (p, n): contribution of the position switched at step j
        contrib = np.empty((p, n))
        contrib[np.arange(p)[:, None], perms] = d
        pair = 0.5 * (contrib[: p // 2] + contrib[p // 2 :])  # antithetic pairs are the iid units
        sums += pair.sum(0)
        sq += (pair**2).sum(0)
        done += p
    units = P // 2
    mean = sums / units
    var = np.maximum(sq / units - mean**2, 0.0)
    return mean, np.sqrt(var / units)


def mc_truth(f: Callable[[np.ndarray], np.ndarray], X: np.ndarray, evals: int, seed: int) -> Truth:
    rng = np.random.default_rng(seed)
    phis, ses = [], []
    for x in X:
        p, s = mc_permutation_shap(f, x, evals, rng)
        phis.append(p)
        ses.append(s)
    phi, se = np.array(phis), np.array(ses)
    floor = float(np.sqrt((se**2).sum()) / np.linalg.norm(phi))
    return Truth(X, phi, None, None, None, f"MC permutation, {evals:,} calls/seq", floor)


# ----------------------------------------------------------------------------------------------- metrics
def pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel(), b.ravel()
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def rel_l2(est: np.ndarray, ref: np.ndarray) -> float:
    return float(np.linalg.norm(est - ref) / max(np.linalg.norm(ref), 1e-300))


def pair_metrics(est: np.ndarray, ref: np.ndarray, k: int = 10) -> tuple[float, float]:
    """(top-k agreement of |order-2 values| per sequence, averaged; relative L2 of the upper triangles).

    Tie-robust: an estimated top-k pair counts as correct if its true |value| is at least the k-th largest
    true |value| (within 1e-9 relative). Planted models have many pairs of exactly equal size (e.g. the GC
    window of ``guide_rna``), so a plain set intersection would penalise an exact answer for tie order.
    """
    n = ref.shape[1]
    iu = np.triu_indices(n, 1)
    E, R = est[:, iu[0], iu[1]], ref[:, iu[0], iu[1]]
    kk = min(k, E.shape[1])
    agree = []
    for e, r in zip(E, R, strict=True):
        ar = np.abs(r)
        kth = np.sort(ar)[::-1][kk - 1]
        top_e = np.argsort(-np.abs(e), kind="stable")[:kk]
        agree.append(float(np.mean(ar[top_e] >= kth - 1e-9 * max(ar.max(), 1e-300))))
    return float(np.mean(agree)), rel_l2(E, R)


# ----------------------------------------------------------------------------------------------- results
@dataclass
class Result:
    model: str
    method: str
    setting: str
    kind: str  # "values" or "interactions"
    index: str  # "SV", "FSII-2", "SII", "Möbius"
    m: int  # sequences measured
    evals_once: int
    evals_per_seq: float
    t_once: float
    t_per_seq: float
    r: float = float("nan")
    err: float = float("nan")
    top10: float = float("nan")
    ierr: float = float("nan")
    note: str = ""
    amortized: bool = False  # one-time sketch (this project / package) vs per-sequence sampler
    fixed_bg: bool = False  # accuracy floored by a finite background


# ----------------------------------------------------------------------------------------------- games
def fixed_bg_game(f: Counted, x: np.ndarray, bg: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    B = bg.shape[0]

    def game(C: np.ndarray) -> np.ndarray:
        C = np.atleast_2d(np.asarray(C, dtype=bool))
        out = np.empty(C.shape[0])
        step = max(1, (1 << 17) // B)
        for s in range(0, C.shape[0], step):
            c = C[s : s + step]
            rows = np.where(c[:, None, :], x[None, None, :], bg[None, :, :]).reshape(-1, x.shape[0])
            out[s : s + step] = f(rows).reshape(c.shape[0], B).mean(1)
        return out

    return game


def fresh_game(
    f: Counted, x: np.ndarray, rng: np.random.Generator, v_empty: float
) -> Callable[[np.ndarray], np.ndarray]:
    """Unbiased uniform game: each coalition at one fresh uniform completion (1 model call).

    The empty coalition (every position random) is the model mean, estimated ONCE for all sequences
    (``v_empty``, a one-time cost): a single noisy f(z) there would enter the efficiency constraint of the
    regression estimators and floor their error.
    """

    def game(C: np.ndarray) -> np.ndarray:
        C = np.atleast_2d(np.asarray(C, dtype=bool))
        z = rng.integers(0, Q, size=C.shape, dtype=np.int8)
        out = np.empty(C.shape[0])
        empty = ~C.any(1)
        if (~empty).any():
            out[~empty] = f(np.where(C[~empty], x[None, :], z[~empty]))
        out[empty] = v_empty
        return out

    return game


def _iv_values(iv, n: int) -> np.ndarray:
    return np.array([float(iv[(i,)]) for i in range(n)])


def _iv_pairs(iv, n: int) -> np.ndarray:
    M = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            M[i, j] = M[j, i] = float(iv[(i, j)])
    return M


# ----------------------------------------------------------------------------------------------- peers
def quiet() -> contextlib.AbstractContextManager:
    return contextlib.redirect_stdout(io.StringIO())


def run_shap_kernel(f: Counted, truth: Truth, bg: np.ndarray, nsamples: int, model: str) -> Result:
    import shap

    f.reset()
    t0 = time.perf_counter()
    ex = shap.KernelExplainer(lambda A: f(A), bg.astype(np.float64))
    t_once, e_once = time.perf_counter() - t0, f.calls
    with warnings.catch_warnings():  # warm-up (first-call overheads), neither timed nor counted
        warnings.simplefilter("ignore")
        ex.shap_values(bg[:1].astype(np.float64), nsamples=64, l1_reg=False, silent=True)
    f.reset()
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        phi = np.array(
            [
                np.asarray(
                    ex.shap_values(
                        x.astype(np.float64)[None, :], nsamples=nsamples, l1_reg=False, silent=True
                    )
                ).reshape(-1)
                for x in truth.X
            ]
        )
    dt = time.perf_counter() - t0
    m = truth.X.shape[0]
    return Result(
        model,
        "shap.KernelExplainer",
        f"B={bg.shape[0]}, nsamples={nsamples}",
        "values",
        "SV",
        m,
        e_once,
        f.calls / m,
        t_once,
        dt / m,
        pearson(phi, truth.phi),
        rel_l2(phi, truth.phi),
        fixed_bg=True,
    )


def run_shap_permutation(f: Counted, truth: Truth, bg: np.ndarray, max_evals: int, model: str) -> Result:
    import shap

    f.reset()
    t0 = time.perf_counter()
    ex = shap.PermutationExplainer(
        lambda A: f(A), shap.maskers.Independent(bg, max_samples=bg.shape[0]), seed=0
    )
    t_once, e_once = time.perf_counter() - t0, f.calls
    with warnings.catch_warnings():  # warm-up (numba compilation etc.), neither timed nor counted
        warnings.simplefilter("ignore")
        ex(bg[:1], max_evals=2 * bg.shape[1] + 2, silent=True)
    f.reset()
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        phi = np.array(ex(truth.X, max_evals=max_evals, silent=True).values)
    dt = time.perf_counter() - t0
    m = truth.X.shape[0]
    return Result(
        model,
        "shap.PermutationExplainer",
        f"B={bg.shape[0]}, max_evals={max_evals}",
        "values",
        "SV",
        m,
        e_once,
        f.calls / m,
        t_once,
        dt / m,
        pearson(phi, truth.phi),
        rel_l2(phi, truth.phi),
        fixed_bg=True,
    )


SHAPIQ_VALUES = {"KernelSHAP": ("KernelSHAP", {}), "PermutationSamplingSV": ("PermutationSamplingSV", {})}
SHAPIQ_INTER = {
    "RegressionFSII": ("RegressionFSII", {"max_order": 2}, "FSII-2"),
    "KernelSHAPIQ": ("KernelSHAPIQ", {"max_order": 2, "index": "SII"}, "SII"),
    "PermutationSamplingSII": ("PermutationSamplingSII", {"max_order": 2, "index": "SII"}, "SII"),
}


def run_shapiq(
    f: Counted,
    truth: Truth,
    which: str,
    budget: int,
    bg: np.ndarray | None,
    model: str,
    interactions_: bool,
    seed: int = 0,
) -> Result:
    import shapiq

    n = truth.X.shape[1]
    spec = SHAPIQ_INTER[which] if interactions_ else SHAPIQ_VALUES[which]
    cls = getattr(shapiq, spec[0])
    rng = np.random.default_rng(seed)
    f.reset()
    t0 = time.perf_counter()
    v_empty = float(f(rng.integers(0, Q, size=(EMPTY_EVALS, n), dtype=np.int8)).mean()) if bg is None else 0.0
    t_once, e_once = time.perf_counter() - t0, f.calls
    with warnings.catch_warnings():  # warm-up, neither timed nor counted
        warnings.simplefilter("ignore")
        cls(n, random_state=seed, **spec[1]).approximate(
            min(budget, 4 * n + 8), fixed_bg_game(f, truth.X[0], truth.X[:1])
        )
    f.reset()
    phis, pairs = [], []
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for s, x in enumerate(truth.X):
            approx = cls(n, random_state=seed + s, **spec[1])
            game = fresh_game(f, x, rng, v_empty) if bg is None else fixed_bg_game(f, x, bg)
            iv = approx.approximate(budget, game)
            phis.append(_iv_values(iv, n))
            if interactions_:
                pairs.append(_iv_pairs(iv, n))
    dt = time.perf_counter() - t0
    m = truth.X.shape[0]
    bgs = "fresh uniform z per coalition" if bg is None else f"B={bg.shape[0]}"
    res = Result(
        model,
        f"shapiq {which}",
        f"{bgs}, budget={budget:,}",
        "interactions" if interactions_ else "values",
        spec[2] if interactions_ else "SV",
        m,
        e_once,
        f.calls / m,
        t_once,
        dt / m,
        fixed_bg=bg is not None,
    )
    if not interactions_:
        phi = np.array(phis)
        res.r, res.err = pearson(phi, truth.phi), rel_l2(phi, truth.phi)
    else:
        ref = truth.fsii if spec[2] == "FSII-2" else truth.sii
        if ref is not None:
            res.top10, res.ierr = pair_metrics(np.array(pairs), ref)
        if which == "RegressionFSII":  # order-1 FSII-2 values are not SHAP values; SII order 1 = SV
            res.note = "order-1 terms are FSII, not SV"
        else:
            phi = np.array(phis)
            res.r, res.err = pearson(phi, truth.phi), rel_l2(phi, truth.phi)
    return res


def run_mc(f: Counted, truth: Truth, evals: int, model: str, seed: int = 1) -> Result:
    rng = np.random.default_rng(seed)
    f.reset()
    t0 = time.perf_counter()
    phi = np.array([mc_permutation_shap(f, x, evals, rng)[0] for x in truth.X])
    dt = time.perf_counter() - t0
    m = truth.X.shape[0]
    return Result(
        model,
        "permutation MC (reference sampler)",
        f"fresh uniform z, {evals:,} calls",
        "values",
        "SV",
        m,
        0,
        f.calls / m,
        0.0,
        dt / m,
        pearson(phi, truth.phi),
        rel_l2(phi, truth.phi),
    )


def run_package(f: Counted, truth: Truth, budget: int, model: str, m_explain: int) -> list[Result]:
    """shapzero 0.0.4: its own q-SFT sketch (budget = training queries) then its per-sequence explainer."""
    import shapzero

    n = truth.X.shape[1]
    tmp = tempfile.mkdtemp(prefix="bench_shapzero_pkg_")
    try:
        f.reset()
        t0 = time.perf_counter()
        with quiet(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ex = shapzero.init(Q, n, tmp, model=lambda A: f(np.asarray(A)))
            ex.compute_fourier_transform(budget=budget, verbose=False)
        t_once, e_once = time.perf_counter() - t0, f.calls
        p = ex.run_params
        setting = f"budget={budget:,} (b={p['b']}, C={p['num_subsample']}, P={p['num_repeat']})"
        Xs = truth.X[:m_explain]
        seqs = ["".join("ACGT"[int(v)] for v in x) for x in Xs]
        out = []
        for kind in ("shap_value", "interaction"):
            t0 = time.perf_counter()
            with quiet():
                res = ex.explain(seqs, explanation=kind)
            dt = (time.perf_counter() - t0) / len(seqs)
            if kind == "shap_value":
                phi = np.zeros(Xs.shape)
                for s, d in enumerate(res):
                    for key, val in d.items():
                        phi[s, int(key[0])] = float(np.real(val))
                ref = truth.phi[:m_explain]
                out.append(
                    Result(
                        model,
                        "shapzero 0.0.4 package",
                        setting,
                        "values",
                        "SV",
                        len(seqs),
                        e_once,
                        0.0,
                        t_once,
                        dt,
                        pearson(phi, ref),
                        rel_l2(phi, ref),
                        amortized=True,
                    )
                )
            else:
                M = np.zeros((len(seqs), n, n))
                for s, d in enumerate(res):
                    for key, val in d.items():
                        if len(key) == 2:
                            i, j = int(key[0]), int(key[1])
                            M[s, i, j] = M[s, j, i] = float(np.real(val))
                r = Result(
                    model,
                    "shapzero 0.0.4 package",
                    setting,
                    "interactions",
                    "Möbius",
                    len(seqs),
                    e_once,
                    0.0,
                    t_once,
                    dt,
                    amortized=True,
                    note="all-order Faith-Shap (Möbius), order-2 part",
                )
                if truth.mobius is not None:
                    r.top10, r.ierr = pair_metrics(M, truth.mobius[:m_explain])
                out.append(r)
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ----------------------------------------------------------------------------------------------- ours
def sketch_engine():
    if importlib.util.find_spec("shapzero_core.sketch") is None:
        return None
    try:
        return importlib.import_module("shapzero_core.sketch")
    except Exception as e:  # pragma: no cover - reported in the output
        print(f"# shapzero_core.sketch failed to import: {e!r}", file=sys.stderr)
        return None


def run_ours(
    f: Counted, bm: BenchModel, truth: Truth, budget: int, X_all: np.ndarray
) -> tuple[list[Result], dict]:
    eng = sketch_engine()
    if eng is None:
        return [], {"missing": True}
    f.reset()
    t0 = time.perf_counter()
    cfg = eng.plan_for_budget(budget, bm.n, Q, seed=0)
    sk = eng.sketch_model(f, n=bm.n, alphabet=DNA, config=cfg)
    t_once, e_once = time.perf_counter() - t0, f.calls
    rep = dict(sk.report or {})
    q = rep.get("queries", {})
    setting = (
        f"b={cfg.b}, C={cfg.num_subsample}, P={cfg.num_repeat} ({q.get('train', '?'):,} train + "
        f"{q.get('test', '?'):,} test)"
        if q
        else f"b={cfg.b}"
    )
    shap_values(sk, X_all[:10])  # warm-up
    jobs = {
        "SV": lambda X: shap_values(sk, X),
        "FSII-2": lambda X: interactions(sk, X, "faith-shap", 2).pairwise(),
        "SII": lambda X: interactions(sk, X, "sii", 2).pairwise(),
        "Möbius": lambda X: interactions(sk, X, "mobius"),  # all orders, what the package's explain returns
    }
    times: dict[str, dict[int, float]] = {k: {} for k in jobs}
    for N in NS:
        X = X_all[:N]
        for key, job in jobs.items():
            best = math.inf
            for _ in range(5):  # best of 5 (explain is deterministic; this removes scheduler noise)
                t0 = time.perf_counter()
                job(X)
                best = min(best, time.perf_counter() - t0)
            times[key][N] = best
    Nmax = NS[-1]
    phi = shap_values(sk, truth.X)
    res = [
        Result(
            bm.name,
            "this project (sketch_model + closed form)",
            setting,
            "values",
            "SV",
            Nmax,
            e_once,
            0.0,
            t_once,
            times["SV"][Nmax] / Nmax,
            pearson(phi, truth.phi),
            rel_l2(phi, truth.phi),
            amortized=True,
        )
    ]
    for idx, name in (("FSII-2", "faith-shap"), ("SII", "sii")):
        r = Result(
            bm.name,
            "this project (sketch_model + closed form)",
            setting,
            "interactions",
            idx,
            Nmax,
            e_once,
            0.0,
            t_once,
            times[idx][Nmax] / Nmax,
            amortized=True,
        )
        ref = truth.fsii if idx == "FSII-2" else truth.sii
        if ref is not None:
            r.top10, r.ierr = pair_metrics(interactions(sk, truth.X, name, 2).pairwise(), ref)
        res.append(r)
    info = {
        "budget": budget,
        "sketch": sk,
        "times": times,
        "report": rep,
        "t_once": t_once,
        "e_once": e_once,
        "config": cfg,
    }
    return res, info


# ----------------------------------------------------------------------------------------------- tables
def fmt_n(x: float) -> str:
    if x != x:
        return "–"
    if x >= 1e6:
        return f"{x / 1e6:,.2f} M"
    if x >= 1e4:
        return f"{x / 1e3:,.0f} k"
    return f"{x:,.0f}"


def fmt_t(s: float) -> str:
    if s != s:
        return "–"
    if s >= 100:
        return f"{s:,.0f} s"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms"
    return f"{s * 1e6:.1f} µs"


def fmt_f(v: float, d: int = 3) -> str:
    return "–" if v != v else (f"{v:.{d}f}" if abs(v) >= 10 ** (-d) or v == 0 else f"{v:.1e}")


def values_table(rs: list[Result]) -> str:
    lines = [
        "| method | setting | m | model evals one-time | model evals / seq | time one-time | time / seq | "
        "SHAP r | SHAP rel. L2 |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rs:
        lines.append(
            f"| {r.method} | {r.setting} | {r.m:,} | {fmt_n(r.evals_once)} | {fmt_n(r.evals_per_seq)} | "
            f"{fmt_t(r.t_once)} | {fmt_t(r.t_per_seq)} | {fmt_f(r.r, 4)} | {fmt_f(r.err)} |"
        )
    return "\n".join(lines)


def inter_table(rs: list[Result]) -> str:
    lines = [
        "| method | index | setting | m | model evals one-time | model evals / seq | time / seq | "
        "top-10 pairs agree | order-2 rel. L2 | SHAP rel. L2 (order-1) |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rs:
        lines.append(
            f"| {r.method} | {r.index} | {r.setting} | {r.m:,} | {fmt_n(r.evals_once)} | "
            f"{fmt_n(r.evals_per_seq)} | {fmt_t(r.t_per_seq)} | {fmt_f(r.top10, 2)} | {fmt_f(r.ierr)} | "
            f"{fmt_f(r.err) if r.err == r.err else (r.note or '–')} |"
        )
    return "\n".join(lines)


def pick_matched(rs: list[Result], target: float, key: str = "err") -> tuple[Result | None, str]:
    """Cheapest setting (evals/seq) reaching error <= target; else the most accurate one (flagged)."""
    ok = [r for r in rs if getattr(r, key) == getattr(r, key) and getattr(r, key) <= target]
    if ok:
        return min(ok, key=lambda r: r.evals_per_seq), "reaches target"
    valid = [r for r in rs if getattr(r, key) == getattr(r, key)]
    if not valid:
        return None, ""
    best = min(valid, key=lambda r: getattr(r, key))
    return (
        best,
        f"best measured err {getattr(best, key):.3f} > target (peer LESS accurate; ratio is a lower bound)",
    )


def amortized_table(
    ours: Result,
    ours_times: dict[int, float],
    peers: dict[str, list[Result]],
    target: float,
    key: str = "err",
) -> tuple[str, list[dict]]:
    """One row per peer family at its matched setting; ratios = peer total / this project's total for N."""
    hdr = (
        "| method (matched setting) | err | m | evals / seq | time / seq | est. evals / seq for target | "
        + " | ".join(f"evals ratio N={N:,}" for N in NS)
        + " | "
        + " | ".join(f"time ratio N={N:,}" for N in NS)
        + " | break-even N (evals / time) |"
    )
    lines = [hdr, "|---|---:|---:|---:|---:|---:|" + "---:|" * (2 * len(NS)) + "---:|"]
    oe = ours.evals_once
    ot = {N: ours.t_once + ours_times[N] for N in NS}
    lines.append(
        f"| **this project**: {ours.setting} | {fmt_f(getattr(ours, key))} | {ours.m:,} | "
        f"0 (+{fmt_n(oe)} once) | {fmt_t(ours.t_per_seq)} (+{fmt_t(ours.t_once)} once) | – | "
        + " | ".join("1×" for _ in NS)
        + " | "
        + " | ".join(f"({fmt_t(ot[N])})" for N in NS)
        + " | – |"
    )
    rows = []
    for fam, rs in peers.items():
        best, why = pick_matched(rs, target, key)
        if best is None:
            continue
        matched = why == "reaches target"
        e_seq, t_seq = best.evals_per_seq, best.t_per_seq
        interpolated = False
        if matched and not best.fixed_bg:
            # the measured grid is coarse: a cheaper setting of the family just above the target says how many
            # evaluations the target really needs (err ~ evals^-1/2 between the two); charge that, not the
            # more accurate measured setting
            lower = [r for r in rs if getattr(r, key) == getattr(r, key) and getattr(r, key) > target
                     and r.evals_per_seq < e_seq and not r.fixed_bg]
            if lower:
                lo = max(lower, key=lambda r: r.evals_per_seq)
                need_e = lo.evals_per_seq * (getattr(lo, key) / target) ** 2
                if need_e < e_seq:
                    t_seq *= need_e / e_seq
                    e_seq, interpolated = need_e, True
        be_e = math.ceil(oe / e_seq) if e_seq > 0 else math.inf
        be_t = math.ceil(ours.t_once / (t_seq - ours.t_per_seq)) if t_seq > ours.t_per_seq else math.inf
        if interpolated:
            need = f"≈{fmt_n(e_seq)} (interpolated; charged)"
        elif matched:
            need = "reached"
        elif best.fixed_bg:
            need = f"unreachable (B={best.setting.split(',')[0][2:]} floor)"
        else:
            need = f"≈{fmt_n(e_seq * (getattr(best, key) / target) ** 2)}"
        er = {N: (N * e_seq + best.evals_once) / oe for N in NS}
        tr = {N: (N * t_seq + best.t_once) / ot[N] for N in NS}
        flag = "" if matched else " †"
        lines.append(
            f"| {fam}: {best.setting}{flag} | {fmt_f(getattr(best, key))} | {best.m} | {fmt_n(e_seq)} | "
            f"{fmt_t(t_seq)} | {need} | "
            + " | ".join(f"{er[N]:,.1f}×" for N in NS)
            + " | "
            + " | ".join(f"{tr[N]:,.1f}×" for N in NS)
            + f" | {be_e:,} / {be_t if be_t == math.inf else f'{be_t:,}'} |"
        )
        for N in NS:
            rows.append(
                {
                    "family": fam,
                    "N": N,
                    "evals_ratio": er[N],
                    "time_ratio": tr[N],
                    "matched": matched,
                    "err": getattr(best, key),
                    "setting": best.setting,
                    "be_e": be_e,
                    "be_t": be_t,
                    "e_seq": e_seq,
                }
            )
    return "\n".join(lines), rows


def machine_info() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    vers = []
    for mod in ("numpy", "shap", "shapiq", "shapzero", "onnxruntime"):
        try:
            from importlib.metadata import version

            vers.append(f"{mod} {version(mod)}")
        except Exception:
            vers.append(f"{mod} (not installed)")
    return (
        f"- machine: {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}\n"
        f"- Python {platform.python_version()}; " + ", ".join(vers)
    )


# ----------------------------------------------------------------------------------------------- main
@dataclass(frozen=True)
class Plan:
    m_peer: int  # sequences per peer setting
    m_slow: int  # sequences for slow peers (shap.Kernel, interactions)
    m_pkg: int
    kernel_ns: tuple[tuple[int, int], ...]  # (background rows, nsamples)
    perm_evals: tuple[tuple[int, int], ...]  # (background rows, max_evals)
    shapiq_fixed: tuple[int, ...]  # coalition budgets with the fixed background
    shapiq_fresh: tuple[int, ...]
    shapiq_inter: tuple[int, ...]
    mc_evals: tuple[int, ...]
    truth_evals: int
    truth_m: int
    package_dense: bool = (
        True  # run the shapzero package on the dense CNN too (its noise tuning is slow there)
    )


FULL = Plan(
    m_peer=8,
    m_slow=4,
    m_pkg=5,
    kernel_ns=((32, 128), (32, 512), (32, 2048), (128, 2048)),
    perm_evals=((32, 256), (32, 1024), (32, 4096)),
    shapiq_fixed=(512, 2048),
    shapiq_fresh=(1024, 4096, 16384, 65536),
    shapiq_inter=(4096, 16384),
    mc_evals=(1024, 4096, 16384, 65536, 262144),
    truth_evals=1 << 18,
    truth_m=8,
)
QUICK = Plan(
    m_peer=2,
    m_slow=2,
    m_pkg=2,
    kernel_ns=((32, 512),),
    perm_evals=((32, 1024),),
    shapiq_fixed=(512,),
    shapiq_fresh=(4096, 16384),
    shapiq_inter=(4096,),
    mc_evals=(1024, 4096, 16384),
    truth_evals=1 << 18,
    truth_m=2,
    package_dense=False,
)


def bench_model(bm: BenchModel, plan: Plan, args: argparse.Namespace, out: list[str]) -> list[dict]:
    n = bm.n
    f = Counted(bm.f, n, bm.name)
    rng = np.random.default_rng(2026)
    X_all = rng.integers(0, Q, size=(NS[-1], n), dtype=np.int8)
    bg = np.random.default_rng(7).integers(0, Q, size=(args.background, n), dtype=np.int8)
    m_truth = max(plan.m_peer, plan.m_pkg) if bm.spectrum is not None else plan.truth_m
    t0 = time.perf_counter()
    if bm.spectrum is not None:
        truth = exact_truth(bm.spectrum, X_all[: NS[-1]])
        sub = exact_truth(bm.spectrum, X_all[:m_truth])
    else:
        sub = mc_truth(f, X_all[:m_truth], plan.truth_evals, seed=5)
        truth = sub
    t_truth = time.perf_counter() - t0
    print(f"[{bm.name}] ground truth: {sub.kind} ({t_truth:.1f} s)", file=sys.stderr, flush=True)

    def sub_truth(m: int) -> Truth:
        return Truth(
            sub.X[:m],
            sub.phi[:m],
            None if sub.fsii is None else sub.fsii[:m],
            None if sub.sii is None else sub.sii[:m],
            None if sub.mobius is None else sub.mobius[:m],
            sub.kind,
            sub.floor,
        )

    budgets = [args.budget] if args.budget else list(DEFAULT_BUDGETS.get(bm.name, (400_000,)))
    vals: list[Result] = []
    inter: list[Result] = []

    def log(r: Result) -> None:
        print(
            f"[{bm.name}] {r.method} {r.index} {r.setting}: evals/seq {r.evals_per_seq:,.0f}, "
            f"t/seq {r.t_per_seq:.3g}s, err {r.err:.3g}, ierr {r.ierr:.3g}",
            file=sys.stderr,
            flush=True,
        )

    runs: list[tuple[list[Result], dict]] = []
    for budget in budgets:
        ours, info = run_ours(f, bm, truth if bm.spectrum is not None else sub, budget, X_all)
        for r in ours:
            log(r)
        if ours:
            vals.append(ours[0])
            inter.extend(ours[1:])
            runs.append((ours, info))
    budget = budgets[0]

    if not args.skip_package and (bm.spectrum is not None or plan.package_dense):
        try:
            pk = run_package(f, sub_truth(plan.m_pkg), budget, bm.name, plan.m_pkg)
            for r in pk:
                log(r)
            vals.append(pk[0])
            inter.append(pk[1])
        except Exception as e:
            out.append(f"shapzero package failed on {bm.name}: {e!r}")

    peers_v: dict[str, list[Result]] = {}
    t_sub = sub_truth(plan.m_slow)
    t_peer = sub_truth(plan.m_peer)
    bg_big = np.random.default_rng(8).integers(
        0, Q, size=(max(b for b, _ in plan.kernel_ns), n), dtype=np.int8
    )
    for B, ns in plan.kernel_ns:
        r = run_shap_kernel(f, t_sub, bg if B == args.background else bg_big[:B], ns, bm.name)
        log(r)
        vals.append(r)
        peers_v.setdefault("shap.KernelExplainer", []).append(r)
    for B, me in plan.perm_evals:
        r = run_shap_permutation(f, t_peer, bg if B == args.background else bg_big[:B], me, bm.name)
        log(r)
        vals.append(r)
        peers_v.setdefault("shap.PermutationExplainer", []).append(r)
    for which in SHAPIQ_VALUES:
        for b in plan.shapiq_fixed:
            r = run_shapiq(f, t_peer, which, b, bg, bm.name, False)
            log(r)
            vals.append(r)
            peers_v.setdefault(f"shapiq {which} (B={args.background})", []).append(r)
        for b in plan.shapiq_fresh:
            r = run_shapiq(f, t_peer, which, b, None, bm.name, False)
            log(r)
            vals.append(r)
            peers_v.setdefault(f"shapiq {which} (fresh z)", []).append(r)
    for ev in plan.mc_evals:
        r = run_mc(f, t_peer, ev, bm.name)
        log(r)
        vals.append(r)
        peers_v.setdefault("permutation MC (fresh z)", []).append(r)

    peers_i: dict[str, list[Result]] = {}
    if bm.spectrum is not None:
        for which in SHAPIQ_INTER:
            for b in plan.shapiq_inter:
                r = run_shapiq(f, t_sub, which, b, None, bm.name, True)
                log(r)
                inter.append(r)
                peers_i.setdefault(f"shapiq {which} (fresh z)", []).append(r)
            b = plan.shapiq_fixed[-1]
            r = run_shapiq(f, t_sub, which, b, bg, bm.name, True)
            log(r)
            inter.append(r)
            peers_i.setdefault(f"shapiq {which} (B={args.background})", []).append(r)

    # ------------------------------------------------------------------ print
    out.append(f"\n## Model {bm.name}: {bm.title} (n={n}, q=4; {bm.source})\n")
    gt = (
        f"exact (closed form on the planted spectrum, {bm.spectrum.num_coefficients} coefficients, "
        f"orders {sorted(bm.spectrum.count_by_order())})"
        if bm.spectrum is not None
        else f"{sub.kind} on {sub.X.shape[0]} sequences (ground-truth rel. standard error ≈ {sub.floor:.3f})"
    )
    out.append(
        f"Ground truth: {gt}. Peers' background: {args.background} uniformly random sequences (B) or a "
        f"fresh uniform completion per coalition (fresh z). m = sequences the row was measured on; peer "
        f"costs for N sequences are m-measured per-sequence costs × N (linear extrapolation).\n"
    )
    if not runs:
        out.append("**this project: shapzero_core.sketch not available in this tree — row missing.**\n")
    for _ours, info in runs:
        rep = info["report"]
        out.append(
            f"This project's sketch at budget {info['budget']:,}: {fmt_n(info['e_once'])} model evaluations "
            f"(counted), {fmt_t(info['t_once'])} one-time; held-out R² {rep.get('r2', float('nan')):.4f}, "
            f"{rep.get('num_coefficients', '?')} coefficients by order {rep.get('count_by_order', '')}.\n"
        )
    out.append("### SHAP values\n")
    out.append(values_table(vals))
    out.append("\n### Pairwise interactions (order 2)\n")
    out.append(inter_table(inter) if inter else "(no exact interaction ground truth for this model)")
    if bm.spectrum is None:
        out.append("\n(no interaction ground truth for this model: interaction accuracy is not measured)")
    summaries: list[dict] = []
    for ours, info in runs:
        ours_sv = ours[0]
        summary: dict = {"model": bm.name, "ours": ours_sv, "rows": []}
        target = max(ours_sv.err, TARGET_FLOOR, sub.floor)
        summary["target"] = target
        out.append(
            f"\n### Amortized cost, SHAP values, sketch budget {info['budget']:,} (matched accuracy: peer "
            f"SHAP rel. L2 ≤ {target:.3f} = max(ours {ours_sv.err:.2g}, {TARGET_FLOOR}"
            + (f", ground-truth floor {sub.floor:.3f}" if sub.floor else "")
            + "))\n"
        )
        tab, rows = amortized_table(ours_sv, info["times"]["SV"], peers_v, target)
        out.append(tab)
        out.append(
            "\nRatios are peer total / this project's total for N sequences (evals: model evaluations; time: "
            "wall time incl. the one-time sketch). † no measured setting reached the target: the most "
            "accurate setting is charged, so the peer is charged LESS than it would need (the ratio is a "
            "lower bound); 'est. evals / seq for target' extrapolates that setting with err ∝ evals^-1/2."
        )
        summary["rows"] = rows
        loose = max(LOOSE, target)  # never compare against a peer held to a tighter tolerance than ours
        allp = [r for rs in peers_v.values() for r in rs if r.err == r.err and r.err <= loose]
        allp = allp or [r for rs in peers_v.values() for r in rs]
        cheap = min(allp, key=lambda r: r.evals_per_seq)
        summary["cheapest"] = {
            "loose": loose,
            "label": f"{cheap.method}: {cheap.setting}",
            "err": cheap.err,
            **{N: (N * cheap.evals_per_seq + cheap.evals_once) / ours_sv.evals_once for N in NS},
        }
        if peers_i:
            o_i = next(r for r in ours if r.index == "FSII-2")
            t_i = max(o_i.ierr, TARGET_FLOOR)
            out.append(
                f"\n### Amortized cost, order-2 interactions, sketch budget {info['budget']:,} (matched: "
                f"order-2 rel. L2 ≤ {t_i:.3f})\n"
            )
            tab_i, rows_i = amortized_table(o_i, info["times"]["FSII-2"], peers_i, t_i, key="ierr")
            out.append(tab_i)
            summary["rows_i"] = rows_i
        pk = [r for r in vals if r.method.startswith("shapzero 0.0.4")]
        if pk:
            summary["pkg_speedup"] = pk[0].t_per_seq / ours_sv.t_per_seq
            summary["pkg_speedup_i"] = next(
                r for r in inter if r.method.startswith("shapzero 0.0.4")
            ).t_per_seq / (info["times"]["Möbius"][NS[-1]] / NS[-1])
        summary["budget"] = info["budget"]
        summaries.append(summary)
    return summaries


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a few minutes: fewer settings and sequences")
    ap.add_argument("--models", default="guide_rna,repair,cnn", help="comma list of guide_rna, repair, cnn")
    ap.add_argument("--background", type=int, default=32, help="rows of the uniformly random peer background")
    ap.add_argument("--budget", type=int, default=None, help="sketch training-query budget (both sketchers)")
    ap.add_argument("--skip-package", action="store_true", help="do not run the shapzero 0.0.4 package")
    ap.add_argument("--out", default=None, help="also write the markdown to this file")
    args = ap.parse_args()
    plan = QUICK if args.quick else FULL
    t_start = time.perf_counter()
    out: list[str] = [f"# bench_peers ({'quick' if args.quick else 'full'} run)\n", machine_info()]
    models = load_models([s.strip() for s in args.models.split(",") if s.strip()])
    if any(m.source == "stand-in" for m in models):
        out.append("- NOTE: shapzero_core.demos not found: stand-in planted models were used.")
    summaries = [s for bm in models for s in bench_model(bm, plan, args, out)]

    head = [
        "\n## Headline (SHAP values; ratios = peer's total for N sequences / this project's total, same run)\n",
        "| model | this project: one-time evals, SHAP rel. L2, SHAP explain / seq | cheapest sampling peer at "
        "matched accuracy (setting) | its SHAP rel. L2 | evals ratio N=1,000 | evals ratio N=10,000 | "
        "time ratio N=1,000 | time ratio N=10,000 | break-even N (evals / time) | cheapest peer setting with "
        f"SHAP rel. L2 ≤ max({LOOSE}, ours): evals ratio N=1,000 / 10,000 | explain time / seq: shapzero 0.0.4 ÷ "
        "ours (SHAP / all-order interactions) |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    goals = ["\n## Goals\n"]
    for s in summaries:
        o = s.get("ours")
        if o is None or not s["rows"]:
            continue
        matched = [r for r in s["rows"] if r["matched"]]
        pool = matched or s["rows"]
        by_n = {N: min((r for r in pool if r["N"] == N), key=lambda r: r["evals_ratio"]) for N in NS}
        w = by_n[10_000]
        r1 = next(r for r in pool if r["N"] == 1_000 and r["family"] == w["family"])
        c = s["cheapest"]
        pk = f"{s['pkg_speedup']:,.0f}× / {s['pkg_speedup_i']:,.0f}×" if "pkg_speedup" in s else "–"
        be_t = w["be_t"] if w["be_t"] == math.inf else f"{w['be_t']:,}"
        head.append(
            f"| {s['model']} (sketch budget {s['budget']:,}) | {fmt_n(o.evals_once)}, {fmt_f(o.err)}, "
            f"{fmt_t(o.t_per_seq)} | {w['family']} ({w['setting']}){'' if w['matched'] else ' †'} | "
            f"{w['err']:.3f} | {r1['evals_ratio']:,.1f}× | {w['evals_ratio']:,.1f}× | "
            f"{r1['time_ratio']:,.1f}× | {w['time_ratio']:,.1f}× | {w['be_e']:,} / {be_t} | "
            f"{c[1_000]:,.1f}× / {c[10_000]:,.1f}× ({c['label']}, err {c['err']:.3f}) | {pk} |"
        )
        for N, need in ((1_000, 10), (10_000, 100)):
            b = by_n[N]
            acc = (
                "matched: the peer is at least as accurate as the target"
                if b["matched"]
                else "no peer reached the target; lower bound"
            )
            ok = b["evals_ratio"] >= need
            goals.append(
                f"- {s['model']} (budget {s['budget']:,}), N={N:,}: {b['evals_ratio']:,.1f}× fewer model "
                f"evaluations than the cheapest sampling peer at matched accuracy, {b['family']} "
                f"({b['setting']}; err {b['err']:.3f} vs ours {o.err:.2g}; {acc}); "
                f"{c[N]:,.1f}× vs the cheapest peer setting with err ≤ {c['loose']:.2f} ({c['label']}, err "
                f"{c['err']:.3f}); goal ≥ {need}× — {'MET' if ok else 'NOT MET'}"
            )
        if "pkg_speedup" in s:
            ok = min(s["pkg_speedup"], s["pkg_speedup_i"]) >= 1000
            goals.append(
                f"- {s['model']} (budget {s['budget']:,}): explain time per sequence {s['pkg_speedup']:,.0f}× "
                f"(SHAP values) and {s['pkg_speedup_i']:,.0f}× (all-order interactions) lower than the "
                f"shapzero 0.0.4 package's; goal ≥ 1,000× — {'MET' if ok else 'NOT MET'}"
            )
    head.append(
        "\nMatched accuracy: SHAP rel. L2 ≤ max(this project's error, 0.05, ground-truth floor). † no peer "
        "reached it; the cheapest family's most accurate setting is charged (ratio = lower bound). Peer "
        "costs are per-sequence costs measured on m sequences × N (linear extrapolation)."
    )
    out.extend(head)
    out.extend(goals)
    out.append(f"\nTotal run time: {time.perf_counter() - t_start:,.0f} s")
    text = "\n".join(out)
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
