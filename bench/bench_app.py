"""Benchmark: app redraw times with 10,000 sequences and a 1,000-coefficient sketch at n = 40.

Drives the app in-process with Streamlit's AppTest (the script run and the serialisation of every element,
no browser): the first visit of every page (explanations and summaries computed once, then cached), then
warm redraws: switching the selected sequence on the Logos, Interactions and Sequences pages, and switching
between pages. Target: every warm redraw < 1 s. Last, the Export page's "Download everything" zip is built
(every figure in three formats and every table in two; target <= 10 s).

Run:  python bench/bench_app.py [--N 10000] [--n 40] [--K 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import streamlit as st
from _planted import random_sketch
from streamlit.testing.v1 import AppTest

from shapzero_core import DNA
from shapzero_core.sequences import random_sequences
from studio_ui import core, state, widgets

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGES = ["sequences", "logos", "interactions", "motifs", "export", "sketch", "model"]


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--N", type=int, default=10_000)
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--K", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    os.environ.setdefault("SHAPZERO_WORKSPACE", tempfile.mkdtemp(prefix="shapzero-bench-"))
    sk = random_sketch(args.n, args.K)
    seqs = random_sequences(args.N, args.n, DNA, seed=1)

    made: dict[str, tuple[str, object]] = {}  # the Export page's downloads, to build the zip afterwards
    real = st.download_button

    def spy(label, data, file_name=None, *a, key=None, **kw):
        made[key] = (file_name, data)
        return real(label, data, file_name, *a, key=key, **kw)

    st.download_button = spy
    at = AppTest.from_file(APP, default_timeout=600)
    at.session_state[state.SKETCH] = sk
    at.session_state[state.SKETCH_KEY] = core.sketch_key(sk)
    at.session_state[state.SKETCH_SOURCE] = "random benchmark sketch"
    at.session_state[state.SEQS] = seqs
    at.session_state[state.SEQS_KEY] = core.sequences_key(seqs)
    at.session_state[state.SELECTED] = 0
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"N = {args.N:,} sequences, n = {args.n}, K = {sk.num_coefficients} coefficients "
          f"(orders {sorted(sk.count_by_order())}), repeat = {args.repeat}\n")
    rows: list[tuple[str, float, float]] = []
    t_home = timed(at.run)
    print(f"{'home, first run':<48} {t_home:8.3f} s")

    def go(page: str):
        return lambda: at.switch_page(widgets.PAGES[page][0]).run()

    print("\nfirst visit (explanations / summaries computed and cached):")
    for p in PAGES:
        t = timed(go(p))
        assert not at.exception, (p, at.exception)
        print(f"  {p:<46} {t:8.3f} s")

    def warm(label: str, fn) -> None:
        ts = [timed(fn) for _ in range(args.repeat)]
        assert not at.exception, (label, at.exception)
        rows.append((label, statistics.median(ts), max(ts)))

    rng = np.random.default_rng(0)
    for p in ("logos", "interactions"):
        go(p)()
        key = "logo_seq" if p == "logos" else "inter_seq"
        warm(f"{p}: select another sequence", lambda key=key: at.selectbox(key=key).set_value(
            int(rng.integers(args.N))).run())
    go("sequences")()

    def select_row() -> None:
        k = next(d.key for d in at.dataframe if d.key and d.key.startswith("seq_table_"))
        at.session_state[k] = {"selection": {"rows": [int(rng.integers(args.N))], "columns": []}}
        at.run()

    warm("sequences: select a row of the table", select_row)
    for p in PAGES:
        warm(f"switch to page {p}", go(p))
    go("interactions")()
    t = timed(lambda: at.selectbox(key="inter_index").set_value("sii").run())
    print(f"\ninteractions: first switch to SII (order 2), computed for all sequences: {t:.3f} s")
    for idx in ("mobius", "sii"):
        warm(f"interactions: switch to index {idx} (cached)", lambda idx=idx: at.selectbox(
            key="inter_index").set_value(idx).run())

    print(f"\nwarm redraws (median / max of {args.repeat}):")
    print(f"  {'action':<46} {'median':>8} {'max':>8}")
    for label, med, mx in rows:
        print(f"  {label:<46} {med:7.3f}s {mx:7.3f}s")
    worst = max(mx for _, _, mx in rows)
    print(f"\nslowest warm redraw: {worst:.3f} s -> target < 1 s: {'met' if worst < 1 else 'NOT met'}")

    import io
    import zipfile

    go("export")()
    t0 = time.perf_counter()
    data = made["dl_all_zip"][1]()
    t = time.perf_counter() - t0
    files = len(zipfile.ZipFile(io.BytesIO(data)).namelist())
    print(f"export: 'Download everything' zip, {files} files, {len(data) / 1e6:.1f} MB: {t:.2f} s -> target <= 10 s: "
          f"{'met' if t <= 10 else 'NOT met'}")


if __name__ == "__main__":
    main()
