"""``shapzero sketch``: sketch a model's sparse Fourier transform (resumable; live progress on stderr)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import TextIO

from . import UserError

DEFAULT_CACHE = Path(".shapzero") / "cache"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``sketch`` sub-command."""
    p = subparsers.add_parser(
        "sketch",
        help="sketch a model once (q-SFT); the result explains any sequence with no further model calls",
        description=(
            "Query MODEL on C*P*(n+1)*q^b structured sequences plus a held-out test set, decode its sparse "
            "q-ary Fourier transform and write it to OUT (.npz, no pickle). Finished query blocks are cached: "
            "re-running the same command after an interruption resumes where it stopped. Then a trust check "
            "refines a few random sequences with the model and says how far the sketch's SHAP values can be "
            "trusted (--no-check skips it)."
        ),
    )
    p.add_argument("--model", required=True, metavar="SPEC",
                   help="model.onnx | module:function | 'cmd:<command line>' | http(s)://host:port/v2/models/NAME | demo:NAME")
    p.add_argument("--length", type=int, default=None, metavar="N", help="sequence length (default: from the model)")
    p.add_argument("--alphabet", default=None, help="dna | rna | protein | the letters, e.g. ACGT (default: from the model, else dna)")
    p.add_argument("--template", default=None, metavar="PATTERN",
                   help="fixed letters: one character per position, a letter where it is fixed, '.' where it is free "
                        "(e.g. 25 dots, GG, 3 dots); only the free positions are sketched and explained")
    size = p.add_argument_group("size (give --budget, or --b with optional --subsample/--repeat)")
    size.add_argument("--budget", type=int, default=None, metavar="Q", help="training queries at most (the plan is chosen for it)")
    size.add_argument("--b", type=int, default=None, metavar="B", help="subsampling dimension: q^b bins per group")
    size.add_argument("--subsample", type=int, default=3, metavar="C", help="subsampling groups (default 3)")
    size.add_argument("--repeat", type=int, default=3, metavar="P", help="random offsets (default 3)")
    size.add_argument("--method", choices=("hybrid", "qsft"), default="hybrid",
                      help="hybrid (default): dense first-order + pairwise tables fitted on uniformly random queries, "
                           "q-SFT on what they leave (trained models are dense at low order: CNNs, tree ensembles, "
                           "Potts models); qsft: the paper's q-SFT peeling alone")
    size.add_argument("--random-fraction", type=float, default=0.5, metavar="F",
                      help="hybrid with --budget: share of the budget spent on random queries (default 0.5)")
    size.add_argument("--random-queries", type=int, default=None, metavar="R",
                      help="hybrid with --b: random queries of the dense part (default: as many as the q-SFT blocks)")
    p.add_argument("--noise-sd", type=float, default=None, help="noise level of the bin tests (default: tuned on held-out sequences)")
    p.add_argument("--test-size", type=int, default=10_000, help="held-out random sequences (default 10,000)")
    p.add_argument("--no-refit", action="store_true", help="skip the least-squares refit of the recovered coefficients")
    p.add_argument("--seed", type=int, default=0, help="seed of every random choice (default 0)")
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE, metavar="DIR",
                   help=f"query cache root (default {DEFAULT_CACHE}); the same command resumes from it")
    p.add_argument("--no-cache", action="store_true", help="do not cache queries (no resume)")
    p.add_argument("--workers", type=int, default=1, help="local worker threads evaluating query batches (default 1)")
    p.add_argument("--processes", action="store_true", help="local workers are processes instead of threads")
    p.add_argument("--batch-size", type=int, default=None, help="queries per model call (default 4096)")
    from ..dask_executor import add_dask_options

    add_dask_options(p)
    p.add_argument("--plan-only", action="store_true", help="print the plan (exact number of queries) and stop")
    chk = p.add_argument_group("trust check (refines random sequences with the model; its verdict and the sketch-only "
                               "error bars go into the sketch's report and header)")
    chk.add_argument("--no-check", action="store_true", help="skip the trust check")
    chk.add_argument("--check-seqs", type=int, default=16, metavar="S", help="random sequences checked (default 16)")
    chk.add_argument("--check-calls", type=int, default=4096, metavar="K",
                     help="model calls per checked sequence (default 4096)")
    p.add_argument("--out", type=Path, default=None, metavar="OUT.npz", help="output sketch file (required unless --plan-only)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=run)


def _fmt_time(s: float) -> str:
    s = max(0, int(s))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m{sec:02d}s" if m else f"{sec}s")


class ProgressBar:
    """Progress events -> one live line on a terminal, or a line every few seconds on a pipe / log."""

    def __init__(self, stream: TextIO | None = None, width: int = 28, every: float = 5.0) -> None:
        self.stream, self.width, self.every = stream or sys.stderr, width, every
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.t0 = time.perf_counter()
        self.first: int | None = None
        self.last_print = 0.0
        self.open_line = False

    def __call__(self, stage: str, done: int, total: int, message: str) -> None:
        now = time.perf_counter()
        if stage != getattr(self, "_bar_stage", stage):  # a new bar (the trust check's model calls after the sketch's)
            self.first, self.t0 = None, now
        if stage in ("query", "refine") and total > 0:
            self._bar_stage = stage
            if self.first is None:
                self.first = done
            frac = done / total
            fill = int(frac * self.width)
            rate = (done - self.first) / (now - self.t0) if now > self.t0 and done > self.first else 0.0
            eta = f", ETA {_fmt_time((total - done) / rate)}" if rate > 0 and done < total else ""
            label = "query" if stage == "query" else "check"
            line = (f"{label} [{'#' * fill}{'-' * (self.width - fill)}] {100 * frac:5.1f}% {done:,}/{total:,} "
                    f"({rate:,.0f}/s{eta})")
            if "cache" in message and "querying" not in message:  # cache notes and damage reports
                self._line(message)
            if self.tty:
                self.stream.write("\r" + line.ljust(100))
                self.stream.flush()
                self.open_line = done < total
                if done >= total:
                    self.stream.write("\n")
            elif done >= total or now - self.last_print >= self.every or done == self.first:
                self._line(line)
                self.last_print = now
        else:
            self._line(f"{stage}: {message}" if stage != "done" else message)

    def _line(self, text: str) -> None:
        if self.open_line:
            self.stream.write("\n")
            self.open_line = False
        self.stream.write(text + "\n")
        self.stream.flush()


def check_output_path(path: Path, flag: str = "--out", suffix: str = ".npz") -> Path:
    """The file that will be written for ``path`` (``suffix`` appended if missing), checked before any work:
    not a folder, its folder creatable (no file in the way) and writable."""
    p = path if path.suffix == suffix else path.with_name(path.name + suffix)
    if p.is_dir():
        raise UserError(f"{flag} {path}: is a folder; give a file name, e.g. {p / ('sketch' + suffix)}")
    anc = p.parent
    while not anc.exists() and anc != anc.parent:
        anc = anc.parent
    if not anc.is_dir():
        raise UserError(f"{flag} {path}: {anc} is a file, not a folder; choose another output path")
    if not os.access(anc, os.W_OK | os.X_OK):
        raise UserError(f"{flag} {path}: cannot write in {anc} (permission denied); choose another output path")
    return p


def _executor(args: argparse.Namespace):
    from ..dask_executor import dask_executor_from_options
    from ..executors import LocalExecutor

    ex = dask_executor_from_options(args)
    if ex is not None:
        if args.batch_size:
            ex.batch_size = args.batch_size
        return ex
    if args.workers < 1:
        raise UserError("--workers must be >= 1")
    if args.workers == 1 and not args.processes:
        return None
    return LocalExecutor(args.workers, "process" if args.processes else "thread",
                         batch_size=args.batch_size or 4096)


def run(args: argparse.Namespace) -> int:
    """Run ``shapzero sketch``; returns the exit code."""
    from ..alphabet import get_alphabet
    from ..errors import ModelError
    from ..models import load_model
    from ..sketch import SketchConfig, plan_for_budget, plan_sketch, sketch_model

    if (args.budget is None) == (args.b is None):
        raise UserError("give either --budget Q or --b B (with optional --subsample C --repeat P)")
    if args.out is None and not args.plan_only:
        raise UserError("--out OUT.npz is required (or use --plan-only)")
    if args.out is not None and not args.plan_only:
        check_output_path(args.out)  # before hours of queries, not after
    if args.batch_size is not None and args.batch_size < 1:
        raise UserError("--batch-size must be >= 1")
    if not args.no_check and args.check_seqs < 2:
        raise UserError("--check-seqs must be >= 2 (or use --no-check)")
    alphabet = get_alphabet(args.alphabet) if args.alphabet else None
    model = load_model(args.model, n=args.length, alphabet=alphabet)
    n = args.length or getattr(model, "n", None)
    if not n:
        raise UserError(f"the model {args.model!r} does not state its sequence length: give --length N")
    if args.template:
        from ..models import with_template

        model = with_template(model, args.template)
        if getattr(model, "template", None) is not None:
            n = model.n  # the free positions
    alphabet = alphabet or model.alphabet
    common = {"noise_sd": args.noise_sd, "seed": args.seed, "test_size": args.test_size, "refit": not args.no_refit}
    if args.method == "qsft" and args.random_queries is not None:
        raise UserError("--random-queries is for --method hybrid")
    if args.budget is not None:
        if args.random_queries is not None:
            raise UserError("--random-queries goes with --b; with --budget use --random-fraction")
        config = plan_for_budget(args.budget, n, alphabet.q, method=args.method,
                                 random_fraction=args.random_fraction, **common)
    else:
        rand = 0
        if args.method == "hybrid":
            rand = args.random_queries if args.random_queries is not None else (
                args.subsample * args.repeat * (n + 1) * alphabet.q**args.b)
        config = SketchConfig(b=args.b, num_subsample=args.subsample, num_repeat=args.repeat, method=args.method,
                              random_queries=rand, **common)
    plan = plan_sketch(n, alphabet.q, config)
    log = (lambda s: None) if args.quiet else (lambda s: print(s, file=sys.stderr))
    log(f"model: {getattr(model, 'name', args.model)} (n={n}, alphabet {alphabet.letters})"
        + (f"; template {model.template.describe()}" if getattr(model, "template", None) is not None else ""))
    log(f"plan: {plan.summary()}")
    if args.plan_only:
        print(plan.summary())
        return 0
    cache = None if args.no_cache else args.cache
    executor = _executor(args)
    try:
        if hasattr(executor, "preload"):
            log(f"loading the model on every worker of {executor!r}")
            executor.preload(model)  # a worker that cannot load the model fails before any query
        bar = None if args.quiet else ProgressBar()
        sketch = sketch_model(model, n=n, alphabet=alphabet, config=config, executor=executor, cache_dir=cache,
                              progress=bar, batch_size=args.batch_size)
        trust = None
        if not args.no_check:
            from ..refine import check_sketch, expected_calls

            log(f"trust check: refining {args.check_seqs} random sequences with the model (about "
                f"{expected_calls(n, alphabet.q, args.check_seqs, args.check_calls):,} model calls; --no-check skips it)")
            try:
                trust = check_sketch(model, sketch, n_seqs=args.check_seqs, calls_per_seq=args.check_calls,
                                     seed=args.seed, executor=executor, progress=bar, batch_size=args.batch_size)
            except (ModelError, ValueError) as e:  # the sketch is done: keep it, say why it is unchecked
                print(f"shapzero: warning: the trust check failed ({' '.join(str(e).split())}); the sketch is "
                      "written without it", file=sys.stderr)
    except KeyboardInterrupt:
        if cache is not None:
            print(f"shapzero: interrupted; finished blocks are cached in {cache} — run the same command "
                  "again to resume", file=sys.stderr)
        raise
    finally:
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
    if trust is not None:
        from ..refine import with_trust

        sketch = with_trust(sketch, trust)
    sketch = sketch.with_metadata(model_spec=args.model if not os.path.isfile(args.model) else Path(args.model).name)
    out = sketch.save(args.out)
    rep = sketch.report or {}
    r2 = rep.get("r2")
    log(f"held-out R^2 {r2:.4f} (before refit {rep.get('r2_before_refit'):.4f}), NMSE {rep.get('nmse'):.4g}"
        if r2 is not None else "no held-out test set (--test-size 0): quality not measured")
    log(f"coefficients by order: {rep.get('count_by_order')}")
    for c in rep.get("components") or []:
        cr2 = c.get("heldout_r2")
        log(f"  {c['component']}: held-out R^2 {cr2:.4f}" if cr2 is not None else f"  {c['component']}")
    hyb = rep.get("hybrid")
    if hyb is not None and not hyb.get("sparse_kept", True):
        log("  (the q-SFT part did not improve the fit on validation sequences and was left out)")
    if trust is not None:
        log(f"trust check ({trust.n_seqs} random sequences, {trust.model_calls:,} model calls): {trust.verdict}; "
            f"median Pearson {trust.median_pearson:.3f}, noise floor {trust.median_noise_floor:.2g}")
    print(f"wrote {out} ({sketch.num_coefficients} coefficients)")
    return 0
