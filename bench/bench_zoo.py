"""Benchmark: the sketch on the model zoo (``shapzero_core.zoo``), against the zoo's ground-truth SHAP values.

For each family and budget (training queries: 100k, 500k, 2M) and each sketch method of :data:`METHODS`,
``sketch_model`` runs on the zoo model with a fresh query cache in a temporary folder. Per row:

* queries: every model call the sketch made (counted by a wrapper: training + held-out test + probes);
* sketch time, split into querying the model and decoding (FFTs, noise tuning, refit), from the report,
  and the process's CPU time (all threads) for the whole sketch: on a shared machine the CPU time is the
  steadier number;
* held-out R^2 on 5,000 fresh uniformly random sequences (not the engine's own test set);
* SHAP relative L2 error ``||phi_hat - phi|| / ||phi||`` over all 30 x n values of the 30 query sequences
  of ``bench/zoo_truth/<family>.npz`` and the Pearson correlation of the values (the truth's own noise
  floor ``||stderr|| / ||phi||`` is in the family header: no error below it is meaningful);
* the number of coefficients of the sketch.

Methods: ``before`` is today's engine (``plan_for_budget(budget)``, the default SketchConfig). A new sketch
is one more entry: ``"after": Method("...", overrides={"<SketchConfig field>": value})`` (applied with
``dataclasses.replace`` to the same plan), or ``Method("...", run=<callable(model, budget, cache_dir)>)``
for a method with its own planner. Rows print the methods side by side.

Rows are saved to ``--json`` after every sketch (``--load`` the same file to skip rows already measured:
e.g. measure "before" once, then add "after").

Run:  python bench/bench_zoo.py [--quick] [--families potts,cnn] [--budgets 100k,500k] [--methods before]
                                [--json zoo_results.json] [--load zoo_results.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shapzero_core import FourierSketch, __version__, plan_for_budget, shap_values, sketch_model
from shapzero_core.zoo import StaleTruthError, ZooModel, get_family, list_families, load_truth

BUDGETS = (100_000, 500_000, 2_000_000)
QUICK_FAMILIES = ("offtarget", "potts", "pwm_max")
QUICK_BUDGETS = (100_000,)
N_EVAL = 5_000


@dataclass(frozen=True)
class Method:
    """One way of sketching.

    Attributes
    ----------
    label : str
    overrides : dict
        SketchConfig fields replaced in ``plan_for_budget(budget, n, q)``.
    run : callable, optional
        ``run(model, budget, cache_dir) -> FourierSketch`` instead (a method with its own planner).
    """

    label: str
    overrides: dict[str, Any] = field(default_factory=dict)
    run: Callable[[Any, int, str], FourierSketch] | None = None

    def sketch(self, model: Any, budget: int, cache_dir: str) -> FourierSketch:
        if self.run is not None:
            return self.run(model, budget, cache_dir)
        cfg = plan_for_budget(budget, model.n, model.alphabet.q)
        if self.overrides:
            cfg = dataclasses.replace(cfg, **self.overrides)
        return sketch_model(model, config=cfg, cache_dir=cache_dir)


METHODS: dict[str, Method] = {
    "before": Method("today's engine (q-SFT peeling + noise tuning + refit)"),
    "hybrid": Method("hybrid: dense order<=2 tables on random queries + q-SFT on the residual (alternating refit)",
                     run=lambda model, budget, cache_dir: sketch_model(
                         model, config=plan_for_budget(budget, model.n, model.alphabet.q, method="hybrid"),
                         cache_dir=cache_dir)),
}


class Counting:
    """The model, counting the sequences it is asked about (attributes pass through)."""

    def __init__(self, model: ZooModel) -> None:
        self._model = model
        self.calls = 0

    def __call__(self, X: np.ndarray) -> np.ndarray:
        self.calls += int(np.shape(X)[0])
        return self._model(X)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


def parse_budget(s: str) -> int:
    s = s.strip().lower().replace("_", "").replace(",", "")
    mult = {"k": 1_000, "m": 1_000_000}.get(s[-1:], 1)
    return int(float(s[:-1] if mult > 1 else s) * mult)


def fmt_budget(b: int) -> str:
    return f"{b // 1_000_000}M" if b % 1_000_000 == 0 else f"{b // 1_000}k"


def run_row(family: str, model: ZooModel, truth: Any, budget: int, method: str, Xe: np.ndarray,
            ye: np.ndarray) -> dict[str, Any]:
    counted = Counting(model)
    with tempfile.TemporaryDirectory(prefix="bench_zoo_") as tmp:
        t0, c0 = time.perf_counter(), time.process_time()
        sk = METHODS[method].sketch(counted, budget, tmp)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    rep = sk.report or {}
    tm = rep.get("time", {})
    pred = sk.predict(Xe)
    r2 = 1.0 - float(np.sum((pred - ye) ** 2)) / float(np.sum((ye - ye.mean()) ** 2))
    phi = shap_values(sk, truth.X)
    err = float(np.linalg.norm(phi - truth.shap) / np.linalg.norm(truth.shap))
    pear = float(np.corrcoef(phi.ravel(), truth.shap.ravel())[0, 1]) if phi.std() > 0 else float("nan")
    return {"family": family, "n": model.n, "q": model.alphabet.q, "budget": budget, "method": method,
            "queries": counted.calls, "train_queries": rep.get("queries", {}).get("train"),
            "time_total": wall, "cpu_total": cpu, "time_query": tm.get("query"), "time_decode": tm.get("decode"),
            "r2": r2, "r2_engine": rep.get("r2"), "shap_rel_l2": err, "shap_pearson": pear,
            "coefficients": sk.num_coefficients, "b": rep.get("b"), "C": rep.get("num_subsample"),
            "P": rep.get("num_repeat"), "noise_floor": truth.noise_floor, "load_average": os.getloadavg()[0]}


def header() -> str:
    import onnxruntime

    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    la = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return (f"machine: {platform.machine()} {cpu}, {os.cpu_count()} cores, load average {la}\n"
            f"versions: shapzero-studio {__version__}, python {platform.python_version()}, numpy {np.__version__}, "
            f"onnxruntime {onnxruntime.__version__}")


def table(rows: list[dict[str, Any]], methods: list[str], truths: dict[str, Any]) -> str:
    key = {(r["family"], r["budget"], r["method"]): r for r in rows}
    present = {r["family"] for r in rows}
    fams = [f for f in list_families() if f in present] + sorted(present - set(list_families()))
    budgets = sorted({r["budget"] for r in rows})
    cols = ["queries", "time s (query/decode)", "CPU s", "R²", "SHAP rel. L2", "Pearson", "coefs"]
    head = "| family | n | q | budget | truth floor | " + " | ".join(f"{c} ({m})" for m in methods for c in cols) + " |"
    out = [head, "|" + "---|" * (5 + len(cols) * len(methods))]
    for f in fams:
        for b in budgets:
            cells = []
            any_row = None
            for m in methods:
                r = key.get((f, b, m))
                if r is None:
                    cells += ["-"] * len(cols)
                    continue
                any_row = r
                tq, td = r.get("time_query") or 0.0, r.get("time_decode") or 0.0
                cpu = r.get("cpu_total")
                cells += [f"{r['queries'] / 1e3:,.0f}k", f"{r['time_total']:,.0f} ({tq:,.0f}/{td:,.0f})",
                          "-" if cpu is None else f"{cpu:,.0f}",
                          f"{r['r2']:.3f}", f"{r['shap_rel_l2']:.3f}", f"{r['shap_pearson']:.3f}",
                          f"{r['coefficients']:,}"]
            if any_row is None:
                continue
            fl = truths[f].noise_floor if f in truths else any_row["noise_floor"]
            out.append(f"| {f} | {any_row['n']} | {any_row['q']} | {fmt_budget(b)} | {fl:.3f} | " + " | ".join(cells)
                       + " |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help=f"families {', '.join(QUICK_FAMILIES)} at 100k only")
    ap.add_argument("--families", default=None, help="comma-separated (default: all)")
    ap.add_argument("--budgets", default=None, help="comma-separated, e.g. 100k,500k,2M (default: all three)")
    ap.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated of {', '.join(METHODS)}")
    ap.add_argument("--json", default=None, help="save rows here (after every sketch)")
    ap.add_argument("--load", default=None, help="comma-separated JSON files of rows measured before (not run "
                    "again, but shown)")
    ap.add_argument("--table-only", action="store_true", help="print the table of the --load rows, run nothing")
    a = ap.parse_args(argv)
    fams = (list(QUICK_FAMILIES) if a.quick else list_families()) if a.families is None else \
        [f.strip() for f in a.families.split(",") if f.strip()]
    budgets = (list(QUICK_BUDGETS) if a.quick else list(BUDGETS)) if a.budgets is None else \
        [parse_budget(b) for b in a.budgets.split(",") if b.strip()]
    methods = [m.strip() for m in a.methods.split(",") if m.strip()]
    bad = [m for m in methods if m not in METHODS]
    if bad:
        ap.error(f"unknown methods {', '.join(bad)}; known: {', '.join(METHODS)}")
    rows: list[dict[str, Any]] = []
    for src in (a.load or "").split(","):
        if src.strip() and Path(src.strip()).is_file():
            seen = {(r["family"], r["budget"], r["method"]) for r in rows}
            rows += [r for r in json.loads(Path(src.strip()).read_text())["rows"]
                     if (r["family"], r["budget"], r["method"]) not in seen]
    print(header(), flush=True)
    done = {(r["family"], r["budget"], r["method"]) for r in rows}
    truths: dict[str, Any] = {}
    t_all = time.perf_counter()
    for f in fams:
        model = get_family(f)
        try:
            truth = truths[f] = load_truth(f, model=model)
        except (FileNotFoundError, StaleTruthError) as e:
            print(f"\n{f}: skipped: {e}", flush=True)
            continue
        if a.table_only:
            continue
        rng = np.random.default_rng(777)
        Xe = rng.integers(0, model.alphabet.q, size=(N_EVAL, model.n), dtype=np.int8)
        ye = model(Xe)
        print(f"\n{f}: {model.title}; truth {truth.method}, noise floor {truth.noise_floor:.4f}", flush=True)
        for b in budgets:
            for m in methods:
                if (f, b, m) in done or a.table_only:
                    continue
                r = run_row(f, model, truth, b, m, Xe, ye)
                rows.append(r)
                print(f"  {fmt_budget(b):>4} {m:>7}: {r['queries']:,} queries, {r['time_total']:.0f} s, CPU {r['cpu_total']:.0f} s "
                      f"(query {r['time_query']:.0f} / decode {r['time_decode']:.0f}), R² {r['r2']:.3f}, SHAP rel. "
                      f"L2 {r['shap_rel_l2']:.3f}, Pearson {r['shap_pearson']:.3f}, {r['coefficients']:,} "
                      f"coefficients (b={r['b']}, C={r['C']}, P={r['P']}; load {r['load_average']:.1f})", flush=True)
                if a.json:
                    Path(a.json).write_text(json.dumps({"header": header(), "rows": rows}, indent=1))
    print(f"\ntotal {time.perf_counter() - t_all:,.0f} s; load average now {os.getloadavg()[0]:.2f}")
    show = [r for r in rows if r["family"] in fams and r["budget"] in budgets]
    print(table(show, [m for m in METHODS if any(r["method"] == m for r in show)], truths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
