"""Benchmark: our sketch engine (shapzero_core.sketch) against the `shapzero` 0.0.4 package from PyPI.

Planted real functions ``f(x) = mu + sum_t Re(c_t w^{<k_t, x>})`` (q = 4, n = 20 / 26 / 40, degrees 1-4,
20-60 terms; exact spectrum known) are sketched by both at the *same* plan size (same b, C, P, hence the
same number of training queries; both add 10,000 held-out test queries). Noisy rows add i.i.d. Gaussian
noise to every model query (fixed seed). Each method runs in a fresh subprocess (``--worker``) so that its
peak memory is its own.

Per row and method:

* model queries actually made (counted by the wrapping callable: train + test + probes/fingerprints);
* decode + tuning wall time, model time excluded. Ours: ``report["time"]["decode"]`` (FFTs, noise tuning,
  refit; the model is never called there). Package: wall time of ``compute_fourier_transform`` minus its
  query-index generation and sample phases (``commands.get_qary_indices`` and
  ``commands.compute_fourier_samples``, which hold every model call), i.e. subsampled transforms, the noise
  heuristic, the tuning grid and the final run -- as the package ships it, so this includes its pickle I/O
  and the scatter plot it saves after every test evaluation. A stricter column compares our whole
  decode + tuning with the package's peeling decoder alone (``QSFT.transform``, summed over every tuning
  point). CPU time (``time.process_time``) is shown next to wall time because the machine may be shared.
  "other" = the remaining non-model time (query generation, disk I/O of the package's pickles);
* peak memory: the worker's peak resident set size during the sketch call minus its RSS just before it
  (after imports and building the planted model), in MB: VmHWM from /proc/self/status, reset to the
  current RSS just before the call by writing 5 to /proc/self/clear_refs. (``ru_maxrss`` is not used: on
  Linux a child inherits the RSS high-water mark of the process it was forked from.) Interpreter and
  library imports are not counted; the model's own allocations are;
* held-out R^2 of the recovered transform on 5,000 fresh uniformly random sequences against the TRUE
  noiseless function (same sequences for both);
* support: true non-zero frequencies recovered / false frequencies (any |F[k]| > 1e-9 * max that is not in
  the planted support; the mean is not counted);
* SHAP relative L2 error on 200 random sequences against exact SHAP values of the planted spectrum (both
  computed with ``shapzero_core.shapley.shap_values``; the package transform is its dict plus the mean).

The package's callable input: it probes a callable with an ``(10, n)`` integer array first and then calls
it with ``(N, n)`` int arrays of codes in its own encoding A=0, C=1, G=2, T=3 -- the same codes as our DNA
alphabet, so both methods explain the very same function and no conversion is needed (checked at run
time: the worker asserts integer arrays of shape (N, n) with codes in [0, q)).

Run:  python bench/bench_sketch.py [--quick] [--rows 0,1] [--json results.json]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

Q = 4
N_R2 = 5_000
N_SHAP = 200


@dataclass(frozen=True)
class Row:
    """One benchmark setting."""

    name: str
    n: int
    terms: int  # planted terms Re(c w^<k,x>) (each one k / -k pair, or one self-conjugate k)
    max_degree: int
    noise_frac: float  # noise sd / signal sd (0 = noiseless)
    b: int
    C: int = 3
    P: int = 3
    seed: int = 0


ROWS = [
    Row("n=20, 20 terms, noiseless", 20, 20, 3, 0.0, 5, seed=1),
    Row("n=20, 20 terms, noise 20%", 20, 20, 3, 0.2, 5, seed=1),
    Row("n=26, 40 terms, noiseless", 26, 40, 4, 0.0, 5, seed=2),
    Row("n=26, 40 terms, noise 30%", 26, 40, 4, 0.3, 5, seed=2),
    Row("n=40, 60 terms, noiseless", 40, 60, 4, 0.0, 5, seed=3),
    Row("n=40, 60 terms, noise 20%", 40, 60, 4, 0.2, 5, seed=3),
]
QUICK_ROWS = [
    Row("n=20, 15 terms, noiseless (quick)", 20, 15, 3, 0.0, 4, seed=1),
    Row("n=20, 15 terms, noise 20% (quick)", 20, 15, 3, 0.2, 4, seed=1),
]


# ============================================================================================ planted model
def planted_spectrum(row: Row):
    """The planted function's exact spectrum as a FourierSketch (conjugate-symmetric, so f is real).

    Degrees are spread over 1..max_degree (more low-order terms), |c| log-uniform in [0.3, 1.5] with a
    random phase (real for self-conjugate k, whose F[k] must be real), mean 1.0.
    """
    from shapzero_core import DNA, FourierSketch

    rng = np.random.default_rng([row.seed, row.n, row.terms])
    n = row.n
    w = np.array([1.0 / d for d in range(1, row.max_degree + 1)])
    seen: set[bytes] = set()
    locs: list[np.ndarray] = [np.zeros(n, np.int8)]
    coefs: list[complex] = [1.0 + 0j]
    made = 0
    while made < row.terms:
        d = int(rng.choice(np.arange(1, row.max_degree + 1), p=w / w.sum()))
        k = np.zeros(n, dtype=np.int8)
        k[rng.choice(n, size=d, replace=False)] = rng.integers(1, Q, size=d)
        kc = ((-k.astype(np.int16)) % Q).astype(np.int8)
        if k.tobytes() in seen or kc.tobytes() in seen:
            continue
        seen.update((k.tobytes(), kc.tobytes()))
        c = np.exp(rng.uniform(np.log(0.3), np.log(1.5))) * np.exp(2j * np.pi * rng.uniform())
        if np.array_equal(k, kc):  # Re(c w^<k,x>) = Re(c) w^<k,x> here (w^<k,x> = +-1)
            locs.append(k)
            coefs.append(complex(c.real))
        else:  # Re(c w^<k,x>) = c/2 w^<k,x> + conj(c)/2 w^<-k,x>
            locs += [k, kc]
            coefs += [c / 2, np.conj(c) / 2]
        made += 1
    return FourierSketch(np.array(locs), np.array(coefs), DNA)


def signal_sd(sk) -> float:
    nz = sk.degrees > 0
    return float(np.sqrt(np.sum(np.abs(sk.coefficients[nz]) ** 2)))


class CountingModel:
    """The planted function (+ Gaussian noise per query), counting queries and timing itself."""

    def __init__(self, sk, noise_sd: float, seed: int):
        self.sk = sk
        self.n = sk.n
        self.noise_sd = noise_sd
        self.rng = np.random.default_rng([seed, 99])
        self.queries = 0
        self.calls = 0
        self.seconds = 0.0
        self.dtypes: set[str] = set()  # what the caller passed (the package: integer arrays)
        self.name = "planted"
        self.identity = f"planted-{seed}-{sk.n}-{noise_sd}"  # no fingerprint queries in our engine

    def __call__(self, X):
        t0 = time.perf_counter()
        X = np.asarray(X)
        self.dtypes.add(str(X.dtype))
        if X.ndim != 2 or X.shape[1] != self.n or not np.issubdtype(X.dtype, np.integer):
            raise TypeError(f"expected an integer array (N, {self.n}), got {X.dtype} {X.shape}")
        if X.size and (X.min() < 0 or X.max() >= Q):
            raise ValueError("codes outside [0, q)")
        y = self.sk.predict(X.astype(np.int8))
        if self.noise_sd > 0:
            y = y + self.rng.normal(0.0, self.noise_sd, size=y.shape)
        self.queries += X.shape[0]
        self.calls += 1
        self.seconds += time.perf_counter() - t0
        return y


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> bool:
    """Reset the peak RSS (VmHWM) of this process to its current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


# ============================================================================================ workers
def run_ours(row: Row, model: CountingModel, workdir: Path) -> dict:
    from shapzero_core import DNA, SketchConfig, sketch_model

    cfg = SketchConfig(b=row.b, num_subsample=row.C, num_repeat=row.P, seed=0)
    cpu: dict[str, float] = {}

    def progress(stage: str, done: int, total: int, message: str) -> None:
        if stage in ("decode", "done") and stage not in cpu:
            cpu[stage] = time.process_time()

    t0 = time.perf_counter()
    sk = sketch_model(model, n=row.n, alphabet=DNA, config=cfg, progress=progress)
    wall = time.perf_counter() - t0
    rep = sk.report
    decode = float(rep["time"]["decode"])
    return {
        "locations": sk.locations.tolist(),
        "coefficients_re": sk.coefficients.real.tolist(),
        "coefficients_im": sk.coefficients.imag.tolist(),
        "train_queries_planned": int(rep["queries"]["train"]),
        "wall": wall,
        "decode": decode,
        "decode_cpu": cpu["done"] - cpu["decode"],  # the model is not called after the "decode" event
        "other": wall - decode - model.seconds,
        "noise_sd": rep["noise_sd"],
        "own_r2": rep["r2"],
        "tuning_points": len(rep["tuning"]),
    }


def run_package(row: Row, model: CountingModel, workdir: Path) -> dict:
    import shapzero
    from shapzero.fourier import commands
    from shapzero.fourier.qsft import QSFT

    phase: dict[str, float] = {}
    phase_cpu: dict[str, float] = {}

    def timed(name, fn):
        def wrapper(*a, **kw):
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                return fn(*a, **kw)
            finally:
                phase[name] = phase.get(name, 0.0) + time.perf_counter() - t0
                phase_cpu[name] = phase_cpu.get(name, 0.0) + time.process_time() - c0
        return wrapper

    for nm in ("get_qary_indices", "compute_fourier_samples"):
        setattr(commands, nm, timed(nm, getattr(commands, nm)))
    QSFT.transform = timed("peel", QSFT.transform)  # the peeling decoder alone (no I/O, no plots, no scoring)
    exp = workdir / "pkg_exp"
    params = {"b": row.b, "num_subsample": row.C, "num_repeat": row.P}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        ex = shapzero.init(Q, row.n, str(exp), model=model, fourier_params=dict(params))
        t0, c0 = time.perf_counter(), time.process_time()
        F = ex.compute_fourier_transform(verbose=False)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if not F:
        F = {}
    locs = np.array([list(k) for k in F], dtype=np.int64).reshape(-1, row.n)
    vals = np.array([complex(v) for v in F.values()], dtype=np.complex128)
    mean = complex(np.load(exp / "train" / "samples" / "train_mean.npy"))
    locs = np.concatenate([np.zeros((1, row.n), np.int64), locs])
    vals = np.concatenate([[mean], vals])
    prep = phase.get("get_qary_indices", 0.0) + phase.get("compute_fourier_samples", 0.0)
    phase_cpu.pop("peel", None)
    decode = wall - prep
    decode_cpu = cpu - sum(phase_cpu.values())  # every model call is inside the two timed phases
    log = out.getvalue()
    summary = exp / "helper_results.txt"
    noise = [ln.strip() for ln in summary.read_text().splitlines() if "noise" in ln.lower()] if summary.exists() else []
    return {
        "locations": locs.tolist(),
        "coefficients_re": vals.real.tolist(),
        "coefficients_im": vals.imag.tolist(),
        "wall": wall,
        "decode": decode,
        "decode_cpu": decode_cpu,
        "peel_only": phase.get("peel", 0.0),
        "other": prep - model.seconds,
        "log_tail": log.splitlines()[-3:],
        "noise_sd": noise[-1] if noise else None,
    }


def worker(method: str, row: Row, out_path: Path) -> None:
    sk = planted_spectrum(row)
    noise_sd = row.noise_frac * signal_sd(sk)
    model = CountingModel(sk, noise_sd, row.seed)
    if method == "ours":
        import shapzero_core.sketch  # noqa: F401  (imports before the RSS baseline)
        fn = run_ours
    else:
        import shapzero  # noqa: F401
        fn = run_package
    with tempfile.TemporaryDirectory(prefix=f"bench_sketch_{method}_") as td:
        rss0 = _status_mb("VmRSS")
        reset = _reset_peak()
        res = fn(row, model, Path(td))
        res["peak_mb"] = _status_mb("VmHWM") - rss0
        res["peak_reset"] = reset
        res["rss_before_mb"] = rss0
    res.update(queries=model.queries, model_calls=model.calls, model_seconds=model.seconds, noise_sd_true=noise_sd,
               input_dtypes=sorted(model.dtypes))
    out_path.write_text(json.dumps(res))


# ============================================================================================ evaluation
def evaluate(row: Row, res: dict) -> dict:
    from shapzero_core import DNA, FourierSketch, shap_values

    true = planted_spectrum(row)
    locs = np.array(res["locations"], dtype=np.int64).reshape(-1, row.n)
    coefs = np.array(res["coefficients_re"]) + 1j * np.array(res["coefficients_im"])
    est = FourierSketch(locs.astype(np.int8), coefs, DNA)
    rng = np.random.default_rng(12345)
    X = rng.integers(0, Q, size=(N_R2, row.n), dtype=np.int8)
    y = true.predict(X)
    yh = est.predict(X)
    r2 = 1.0 - float(np.sum((yh - y) ** 2) / np.sum((y - y.mean()) ** 2))
    Xs = X[:N_SHAP]
    phi_t, phi_e = shap_values(true, Xs), shap_values(est, Xs)
    shap_err = float(np.linalg.norm(phi_e - phi_t) / np.linalg.norm(phi_t))
    tkeys = {k.tobytes() for k, d in zip(true.locations, true.degrees, strict=True) if d > 0}
    big = np.abs(est.coefficients) > 1e-9 * max(float(np.abs(est.coefficients).max(initial=0.0)), 1e-300)
    ekeys = {k.tobytes() for k, d, g in zip(est.locations, est.degrees, big, strict=True) if d > 0 and g}
    return {"r2": r2, "shap_err": shap_err, "found": len(tkeys & ekeys), "true": len(tkeys),
            "false": len(ekeys - tkeys)}


def run_row(row: Row, method: str, timeout: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench_sketch_") as td:
        out = Path(td) / "out.json"
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", method, "--row", json.dumps(asdict(row)),
               "--out", str(out)]
        t0 = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        dt = time.perf_counter() - t0
        if p.returncode != 0 or not out.exists():
            raise RuntimeError(f"{method} worker failed on {row.name} (exit {p.returncode}):\n{p.stderr[-3000:]}")
        res = json.loads(out.read_text())
    res["process_seconds"] = dt
    res.update(evaluate(row, res))
    return res


def package_available() -> bool:
    try:
        import shapzero  # noqa: F401
    except Exception:
        return False
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="two small rows (n=20, b=4), about a minute")
    ap.add_argument("--rows", default=None, help="comma-separated row indices of the full table")
    ap.add_argument("--json", default=None, help="also write all measurements to this JSON file")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per worker process")
    ap.add_argument("--worker", choices=["ours", "package"], help=argparse.SUPPRESS)
    ap.add_argument("--row", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.worker:
        worker(args.worker, Row(**json.loads(args.row)), Path(args.out))
        return

    rows = QUICK_ROWS if args.quick else ROWS
    if args.rows:
        rows = [rows[int(i)] for i in args.rows.split(",")]
    have_pkg = package_available()
    t_start = time.perf_counter()
    results = []
    for row in rows:
        ours = run_row(row, "ours", args.timeout)
        pkg = run_row(row, "package", args.timeout) if have_pkg else None
        results.append({"row": asdict(row), "ours": ours, "package": pkg})
        print(f"# done: {row.name} ({time.perf_counter() - t_start:.0f} s)", file=sys.stderr, flush=True)
    total = time.perf_counter() - t_start

    print(f"# bench_sketch: q={Q}, planted sparse real functions, same (b, C, P) for both methods; "
          f"R^2 on {N_R2:,} fresh noiseless sequences, SHAP rel. L2 error on {N_SHAP} sequences")
    print(f"# machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}" + ("" if have_pkg else "; shapzero package NOT installed (pip install "
                                       "-e '.[bench]'): package columns skipped"))
    print()
    print("| row | (b,C,P) | method | model queries | sketch wall (s) | decode+tune wall (s) | decode+tune CPU (s) | "
          "other non-model (s) | peak mem (MB) | 1 - R^2 | support found / false | SHAP rel. err |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        row = Row(**r["row"])
        for label, m in (("ours", r["ours"]), ("shapzero 0.0.4", r["package"])):
            if m is None:
                continue
            print(f"| {row.name} | ({row.b},{row.C},{row.P}) | {label} | {m['queries']:,} | {m['wall']:.2f} | "
                  f"{m['decode']:.2f} | {m['decode_cpu']:.2f} | {m['other']:.2f} | {m['peak_mb']:.0f} | {1 - m['r2']:.2e} | "
                  f"{m['found']}/{m['true']} / {m['false']} | {m['shap_err']:.2e} |")
    if have_pkg:
        print()
        print("| row | time ratio ours/package (decode+tune wall) | (CPU) | ours / package peeling only | R^2 ours - package | (1-R^2) ours / package | "
              "SHAP err ours / package | goal R^2 | goal time <= 1/5 |")
        print("|---|---:|---:|---:|---:|---:|---:|---|---|")
        ok_r2 = ok_t = True
        for r in results:
            row, o, p = Row(**r["row"]), r["ours"], r["package"]
            ratio = o["decode"] / p["decode"]
            d = o["r2"] - p["r2"]
            need_higher = row.noise_frac > 0
            g_r2 = (d > 0) if need_higher else (d >= -1e-9)
            g_t = ratio <= 0.2 and o["decode_cpu"] <= 0.2 * p["decode_cpu"]
            ok_r2 &= g_r2
            ok_t &= g_t
            serr = o["shap_err"] / p["shap_err"] if p["shap_err"] > 0 else float("inf")
            e_o, e_p = 1 - o["r2"], 1 - p["r2"]
            rerr = f"{e_o / e_p:.3g}" if e_p > 0 else ("both 0" if e_o == 0 else "inf")
            cratio = o["decode_cpu"] / p["decode_cpu"]
            pratio = o["decode"] / p["peel_only"] if p["peel_only"] > 0 else float("inf")
            print(f"| {row.name} | {ratio:.3f} | {cratio:.3f} | {pratio:.3f} | {d:+.2e} | {rerr} | {serr:.3g} | "
                  f"{'met' if g_r2 else 'NOT met'}{' (higher needed)' if need_higher else ''} | "
                  f"{'met' if g_t else 'NOT met'} |")
        print()
        print(f"Goals: R^2 >= package on every row and higher on noisy rows: {'MET' if ok_r2 else 'NOT MET'}; "
              f"decode+tune <= 1/5 of the package's: {'MET' if ok_t else 'NOT MET'}.")
    dts = sorted({d for r in results for m in (r["ours"], r["package"]) if m for d in m["input_dtypes"]})
    print(f"Model inputs seen by the wrapping callable (both methods): {', '.join(dts)} arrays of codes 0..3.")
    print(f"Whole run: {total:.0f} s (each method in its own process; worker wall times include imports).")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
