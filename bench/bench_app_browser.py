"""Benchmark in a real browser: redraw times with 10,000 sequences and a 1,000-coefficient sketch (n = 40).

Uploads a random sketch (.npz) and 10,000 random sequences (FASTA) through the pages of a running app, then
times, from the click to the finished page (script done, every chart drawn, the expected title shown):
switching pages and switching the selected sequence on the Logos and Interactions pages. Drives Debian's
Chromium (``/usr/bin/chromium``) with Playwright.

Run:  streamlit run app.py --server.port 8765 &
      python bench/bench_app_browser.py --url http://127.0.0.1:8765
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from shapzero_core.sequences import random_sequences, to_fasta

PAGES = ["Sequences", "Logos", "Interactions", "Motifs", "Export", "Sketch", "Model", "Home"]


def _random_sketch(n: int, K: int):
    spec = importlib.util.spec_from_file_location("bench_app", Path(__file__).with_name("bench_app.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod.random_sketch(n, K)


def settled(page, title: str | None = None, text: str | None = None, timeout: float = 60.0) -> None:
    """Wait until the script run is over and the page shows what it should."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        # the app's script state (the status widget is hidden by toolbarMode = "minimal"); elements of the
        # previous run still on screen are marked stale
        ok = page.locator('[data-testid="stApp"][data-test-script-state="running"], [data-stale="true"]').count() == 0
        if ok and title is not None:
            ok = page.locator("h1", has_text=title).count() > 0
        if ok and text is not None:
            ok = page.locator(".gtitle", has_text=text).count() > 0
        if ok:
            ok = page.locator('[data-testid="stPlotlyChart"]').count() <= page.locator(".main-svg").count()
        if ok:
            return
        page.wait_for_timeout(25)
    page.screenshot(path="test-output/bench_browser_timeout.png")
    raise TimeoutError(f"page did not settle: {title} {text}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8765")
    ap.add_argument("--N", type=int, default=10_000)
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--K", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    d = Path(tempfile.mkdtemp(prefix="shapzero-browser-bench-"))
    sk = _random_sketch(args.n, args.K)
    sk.save(d / "sketch.npz")
    (d / "seqs.fa").write_text(to_fasta(random_sequences(args.N, args.n, seed=1), width=0))
    rows: list[tuple[str, list[float]]] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.goto(f"{args.url}/Sketch")
        settled(page, "Sketch")
        page.get_by_role("tab", name="Load a saved sketch").click()
        page.locator('[data-testid="stFileUploader"] input[type=file]').first.set_input_files(str(d / "sketch.npz"))
        page.get_by_text("Loaded sketch.npz").wait_for(timeout=60_000)
        def link(name: str):  # the app's own sidebar links (st.page_link), else Streamlit's navigation
            return page.locator('[data-testid="stSidebar"] a[data-testid="stPageLink-NavLink"], '
                                '[data-testid="stSidebarNav"] a').filter(has=page.get_by_text(name, exact=True))

        link("Sequences").first.click()
        settled(page, "Sequences")
        t0 = time.perf_counter()
        page.locator('[data-testid="stFileUploader"] input[type=file]').first.set_input_files(str(d / "seqs.fa"))
        page.get_by_text(f"{args.N:,} sequences of length {args.n}").wait_for(timeout=120_000)
        settled(page, "Sequences")
        print(f"upload + explain {args.N:,} sequences (first time): {time.perf_counter() - t0:.2f} s")

        def click_page(name: str) -> float:
            t = time.perf_counter()
            link(name).first.click()
            settled(page, "SHAP zero Studio" if name == "Home" else name)
            return time.perf_counter() - t

        print("first visits:", ", ".join(f"{name} {click_page(name):.2f} s" for name in PAGES))
        for name in PAGES:
            rows.append((f"switch to page {name}", [click_page(name) for _ in range(args.repeat)]))

        def pick(label_key: str, prefix: str) -> float:
            """Open the sequence box, move two options down, choose: time from the choice to the redraw."""
            title = page.locator(".gtitle", has_text=prefix).first
            old = title.text_content()
            box = page.locator(f".st-key-{label_key} input[role=combobox]").first
            box.click()
            page.get_by_role("option").first.wait_for(timeout=30_000)
            page.keyboard.press("ArrowDown")
            page.keyboard.press("ArrowDown")
            t = time.perf_counter()
            page.keyboard.press("Enter")
            t1 = time.time()
            while time.time() - t1 < 30 and title.text_content() == old:
                page.wait_for_timeout(20)
            settled(page)
            assert title.text_content() != old, "the selection did not change"
            return time.perf_counter() - t

        click_page("Logos")
        rows.append(("Logos: select another sequence", [pick("logo_seq", "SHAP logo of") for _ in range(args.repeat)]))
        click_page("Interactions")
        rows.append(("Interactions: select another sequence",
                     [pick("inter_seq", "pairwise") for _ in range(args.repeat)]))
        browser.close()
    print(f"\nwarm redraws in Chromium (N = {args.N:,}, n = {args.n}, K = {sk.num_coefficients}), "
          f"median / max of {args.repeat}:")
    for label, ts in rows:
        print(f"  {label:<42} {statistics.median(ts):6.2f} s {max(ts):6.2f} s")
    worst = max(max(ts) for _, ts in rows)
    med = max(statistics.median(ts) for _, ts in rows)
    print(f"slowest median: {med:.2f} s -> target <= 0.5 s: {'met' if med <= 0.5 else 'NOT met'}; "
          f"slowest single redraw {worst:.2f} s")


if __name__ == "__main__":
    main()
