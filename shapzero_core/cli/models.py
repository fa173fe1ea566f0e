"""``shapzero models``: inspect a model spec (layout, n, alphabet, outputs, throughput) and list the demos."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from . import UserError

_SPEC_HELP = (
    "model spec: an .onnx file, demo:<name> (guide_rna, repair, cnn), module:function, 'cmd:<command line>', "
    "http(s)://host:port/v2/models/<name>, or a JSON object {\"model\": SPEC, options...}"
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``models`` sub-command with ``inspect`` and ``list``."""
    p = subparsers.add_parser(
        "models",
        help="inspect a model (layout, length, alphabet, outputs, throughput) or list the demo models",
        description="Inspect what SHAP zero Studio detects about a model, or list the built-in demo models.",
    )
    sub = p.add_subparsers(dest="models_command", metavar="ACTION")
    ins = sub.add_parser(
        "inspect",
        help="load a model, print its detected input layout, length, alphabet and outputs, and time it",
        description="Load SPEC, print what was detected (input layout, n, alphabet, outputs), one test "
        "prediction and the measured throughput on random sequences.",
    )
    ins.add_argument("spec", metavar="SPEC", help=_SPEC_HELP)
    ins.add_argument("--length", "-n", type=int, default=None,
                     help="sequence length (needed when the model does not fix it: callables, programs)")
    ins.add_argument("--alphabet", default=None, help="dna, rna, protein, or the letters (default: detected / DNA)")
    ins.add_argument("--layout", default=None, choices=["NLQ", "NQL", "codes", "flat", "strings"],
                     help="override the detected input layout (ONNX, servers)")
    ins.add_argument("--output", default=None, help="output tensor name or index (multi-output models)")
    ins.add_argument("--task", type=int, default=None, help="value index within the output (multi-task models)")
    ins.add_argument("--batch-size", type=int, default=None, help="sequences per model call")
    ins.add_argument("--seconds", type=float, default=1.0, help="time spent measuring throughput (default 1; 0 skips)")
    ins.add_argument("--allow-host", action="append", default=None, metavar="HOST",
                     help="refuse inference servers on other hosts (repeatable; default: any host)")
    ins.add_argument("--json", action="store_true", help="print the description as JSON")
    ins.set_defaults(func=run_inspect)
    ls = sub.add_parser("list", help="list the demo models", description="List the built-in demo models.")
    ls.add_argument("--json", action="store_true", help="print as JSON")
    ls.set_defaults(func=run_list)
    p.set_defaults(func=lambda args: _no_action(p))


def _no_action(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _output(value: str | None) -> str | int | None:
    if value is None:
        return None
    return int(value) if value.strip().lstrip("-").isdigit() else value


def _fmt_io(items: list[dict[str, Any]] | None) -> list[str]:
    out = []
    for it in items or []:
        shape = it.get("shape")
        shape_txt = "[" + ", ".join("N" if i == 0 and not isinstance(d, int) else ("?" if d in (None, -1) or
                                    isinstance(d, str) else str(d)) for i, d in enumerate(shape or [])) + "]"
        out.append(f"{it.get('name')} {it.get('type') or it.get('datatype', '')} {shape_txt}".strip())
    return out


def run_inspect(args: argparse.Namespace) -> int:
    """Run ``shapzero models inspect``; returns the exit code."""
    import numpy as np

    from ..models import load_model

    if args.length is not None and args.length < 1:
        raise UserError("--length must be >= 1")
    if args.seconds < 0:
        raise UserError("--seconds must be >= 0")
    model = load_model(args.spec, n=args.length, alphabet=args.alphabet, layout=args.layout,
                       output=_output(args.output), task=args.task, batch_size=args.batch_size,
                       allowed_hosts=args.allow_host)
    try:
        info = model.describe()
        example = None
        if model.n is not None:
            X = np.random.default_rng(0).integers(0, model.alphabet.q, size=(4, model.n), dtype=np.int8)
            y = model(X)
            example = {"sequence": model.alphabet.decode(X[:1])[0], "prediction": float(y[0])}
            if args.seconds > 0:
                info["throughput"] = model.probe_throughput(seconds=args.seconds)
        info["example"] = example
    finally:
        close = getattr(model, "close", None)
        if callable(close):
            close()
    if args.json:
        print(json.dumps(info, indent=1, default=str))
        return 0
    rows: list[tuple[str, str]] = [
        ("model", f"{info.get('name')} ({info.get('kind')})"),
        ("spec", str(info.get("spec"))),
        ("identity", str(info.get("identity"))),
    ]
    ins = _fmt_io(info.get("inputs"))
    if ins:
        rows.append(("input", "; ".join(ins)))
    if "layout" in info:
        note = info.get("layout_note") or info.get("input_source") or ""
        src = info.get("layout_source")
        rows.append(("layout", f"{info['layout']}" + (f" ({src}: {note})" if src else (f" ({note})" if note else ""))))
    rows.append(("length n", str(info.get("n")) if info.get("n") is not None else "not fixed (pass --length)"))
    rows.append(("alphabet", f"{info.get('alphabet_name')} ({info.get('alphabet')}, q={info.get('q')})"))
    outs = _fmt_io(info.get("outputs"))
    if outs:
        chosen = info.get("output")
        task = info.get("task")
        marked = [o + ("  <- used" + (f", task {task}" if task is not None else "") if o.split(" ")[0] == chosen
                       else "") for o in outs]
        rows.append(("outputs", marked[0]))
        rows += [("", o) for o in marked[1:]]
    if info.get("command"):
        rows.append(("command", str(info["command"])))
    rows.append(("batch size", str(info.get("batch_size"))))
    if example is not None:
        rows.append(("test", f"{example['sequence']} -> {example['prediction']:.6g}"))
    if "throughput" in info:
        rows.append(("throughput", f"{info['throughput']:,.0f} sequences/s (random sequences, {args.seconds:g} s)"))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    """Run ``shapzero models list``; returns the exit code."""
    from ..demos import list_demos

    items = [{"spec": f"demo:{d.name}", "name": d.name, "title": d.title, "n": d.n, "alphabet": d.alphabet.name,
              "layout": d.layout, "exact_spectrum": d.has_spectrum, "source": d.source, "description": d.description}
             for d in list_demos()]
    if args.json:
        print(json.dumps(items, indent=1))
        return 0
    for it in items:
        truth = "exact spectrum" if it["exact_spectrum"] else "no ground truth (dense)"
        print(f"{it['spec']:<16} n={it['n']:<3} {it['alphabet']}  {it['title']}; {truth}")
    return 0
