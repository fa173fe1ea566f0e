"""Redraw times in Chromium with 10,000 sequences and a planted sketch of ~1,000 coefficients at n = 40
(loaded through the Sketch page's "Load a saved sketch" uploader): switching the selected sequence on the
Logos and Interactions pages, and switching pages, each timed from the click until the new content is
shown, every chart is drawn and Streamlit's running indicator is gone.

The numbers go to ``test-output/e2e/redraw_times.json`` and the log; the issue's target (< 1 s) is
reported, not asserted. The only assertion on time is a loose sanity bound (a hung page)."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time

import pytest
from e2e_server import planted_sketch
from e2e_ui import (
    INTER_PICKER_KEY,
    LOGO_PICKER_KEY,
    OUT,
    PAGES,
    SEQ_SUMMARY,
    SEQ_UPLOAD_KEY,
    SKETCH_LOAD_TAB,
    SKETCH_LOADED,
    SKETCH_UPLOAD_KEY,
    assert_no_exception,
    go,
    key_css,
    settled,
    shot,
)

from shapzero_core.sequences import random_sequences, to_fasta

pytestmark = pytest.mark.e2e

N, n, K = 10_000, 40, 1000
REPEAT = 2  # page switches (each of 8 pages)
PICKS = 5  # sequence switches on each of Logos and Interactions
TARGET_S = 1.0  # issue 5 item 10 (reported)
SANITY_S = 10.0  # asserted: a redraw slower than this is a hung page, not a slow one
SWITCH_PAGES = ["Sequences", "Logos", "Interactions", "Motifs", "Export", "Sketch", "Model", "Home"]


def _pick_next(page, key: str, chart_title_part: str) -> float:
    """Choose another sequence in the selectbox ``key``; seconds from the choice until the redraw is over."""
    title = page.locator(".gtitle", has_text=chart_title_part).first
    old = title.text_content()
    page.locator(f"{key_css(key)} input[role=combobox]").click()
    page.get_by_role("option").first.wait_for()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    t = time.perf_counter()
    page.keyboard.press("Enter")
    t0 = time.monotonic()
    while title.text_content() == old and time.monotonic() - t0 < 30:
        page.wait_for_timeout(10)
    dt = settled(page) - t
    assert title.text_content() != old, f"choosing another sequence in {key!r} did not redraw the chart"
    return dt


def test_redraw_times_10k_sequences(server, page, tmp_path):
    sk = planted_sketch(n, K, max_order=5, seed=3)
    sk.save(tmp_path / "sketch.npz")
    fasta = tmp_path / "seqs_10k.fasta"
    fasta.write_text(to_fasta(random_sequences(N, n, seed=11), width=0))

    page.goto(server.url)
    settled(page, PAGES["Home"].title, grace=0.3)
    go(page, "Sketch")
    page.get_by_role("tab", name=SKETCH_LOAD_TAB).click()
    page.locator(f"{key_css(SKETCH_UPLOAD_KEY)} input[type=file]").set_input_files(str(tmp_path / "sketch.npz"))
    page.get_by_text(SKETCH_LOADED.format(name="sketch.npz")).wait_for(timeout=60_000)
    settled(page, PAGES["Sketch"].title)
    assert_no_exception(page, "Sketch page after loading a sketch file")
    shot(page, "redraw_1_sketch_loaded")

    go(page, "Sequences")
    t = time.perf_counter()
    page.locator(f"{key_css(SEQ_UPLOAD_KEY)} input[type=file]").set_input_files(str(fasta))
    page.get_by_text(SEQ_SUMMARY.format(N=N, n=n)).wait_for(timeout=120_000)
    first = {"upload and explain 10,000 sequences": settled(page, PAGES["Sequences"].title, timeout=120) - t}
    assert_no_exception(page, "Sequences page with 10,000 sequences")
    shot(page, "redraw_2_sequences_10k")

    for label in SWITCH_PAGES:  # first visits: explanations and summaries are computed once, then cached
        first[f"first visit {label}"] = go(page, label, timeout=120)
        assert_no_exception(page, f"{label} with 10,000 sequences")

    warm: dict[str, list[float]] = {}
    for _ in range(REPEAT):
        for label in SWITCH_PAGES:
            warm.setdefault(f"switch to page {label}", []).append(go(page, label))
    go(page, "Logos")
    warm["Logos: select another sequence"] = [_pick_next(page, LOGO_PICKER_KEY, "SHAP logo of")
                                              for _ in range(PICKS)]
    shot(page, "redraw_3_logos_10k")
    go(page, "Interactions")
    warm["Interactions: select another sequence"] = [_pick_next(page, INTER_PICKER_KEY, "pairwise")
                                                     for _ in range(PICKS)]
    shot(page, "redraw_4_interactions_10k")
    assert_no_exception(page, "Interactions page after switching sequences")

    slowest = max(max(v) for v in warm.values())
    record = {
        "what": "browser redraw times (s) from the click until the new content is drawn and the script is done",
        "N": N, "n": n, "K": sk.num_coefficients, "page_switch_repeats": REPEAT, "sequence_switches": PICKS,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average_1_5_15_min": [round(x, 2) for x in os.getloadavg()]},
        "first_visits": {k: round(v, 3) for k, v in first.items()},
        "warm": {k: {"median": round(statistics.median(v), 3), "max": round(max(v), 3),
                     "all": [round(x, 3) for x in v]} for k, v in warm.items()},
        "slowest_warm": round(slowest, 3),
        "target_s": TARGET_S,
        "target_met": slowest < TARGET_S,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "redraw_times.json").write_text(json.dumps(record, indent=1))
    print(f"\nbrowser redraws, N = {N:,}, n = {n}, K = {sk.num_coefficients} (median / max of the repeats):")
    for k, v in first.items():
        print(f"  {k:<44} {v:6.2f} s")
    for k, v in warm.items():
        print(f"  {k:<44} {statistics.median(v):6.2f} s {max(v):6.2f} s")
    print(f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"  slowest warm redraw {slowest:.2f} s; target < {TARGET_S:g} s "
          f"{'met' if slowest < TARGET_S else 'NOT met'}")
    assert slowest < SANITY_S, f"a redraw took {slowest:.1f} s (sanity bound {SANITY_S:g} s): {record['warm']}"
