"""Screenshots of every page of a running app (demo path, then every page; and the empty-session deep links).

Drives Debian's Chromium (``/usr/bin/chromium``, never a downloaded browser) with Playwright.

Run:  streamlit run app.py --server.port 8765 &
      python bench/app_screenshots.py --url http://127.0.0.1:8765 --out test-output/screenshots
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

PAGES = ["Model", "Sketch", "Sequences", "Logos", "Interactions", "Motifs", "Export"]


def wait_idle(page, timeout: float = 60.0) -> None:
    """Wait until Streamlit has finished running the script (no 'running' indicator) and charts are drawn."""
    page.wait_for_timeout(500)
    t0 = time.time()
    while time.time() - t0 < timeout:
        if page.locator('[data-testid="stApp"][data-test-script-state="running"], [data-stale="true"]').count() == 0:
            break
        page.wait_for_timeout(200)
    t0 = time.time()
    while time.time() - t0 < timeout:  # every chart drawn
        if page.locator('[data-testid="stPlotlyChart"]').count() <= page.locator(".js-plotly-plot").count():
            break
        page.wait_for_timeout(200)
    page.wait_for_timeout(2000)  # tables and buttons are drawn after the charts
    page.mouse.move(5, 5)  # no tooltip in the picture
    page.wait_for_timeout(300)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8765")
    ap.add_argument("--out", default="test-output/screenshots")
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--height", type=int, default=2000)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        ctx = browser.new_context(viewport={"width": args.width, "height": args.height})
        page = ctx.new_page()
        # empty-session deep links
        for name in PAGES:
            page.goto(f"{args.url}/{name[:1].upper() + name[1:]}")
            wait_idle(page)
            page.screenshot(path=str(out / f"empty_{name.lower()}.png"), full_page=True)
        # the demo path
        page.goto(args.url)
        wait_idle(page)
        page.screenshot(path=str(out / "home_fresh.png"), full_page=True)
        t0 = time.time()
        page.get_by_role("button", name="Try the demo").click()
        page.get_by_text("The demo is ready").wait_for(timeout=90_000)
        print(f"demo ready after {time.time() - t0:.1f} s")
        wait_idle(page)
        page.screenshot(path=str(out / "home_demo.png"), full_page=True)
        for name in PAGES:
            page.locator('[data-testid="stSidebar"] a[data-testid="stPageLink-NavLink"], '  # the app's own links,
                         '[data-testid="stSidebarNav"] a').filter(  # else Streamlit's navigation
                has=page.get_by_text(name, exact=True)).first.click()
            wait_idle(page)
            page.screenshot(path=str(out / f"{name.lower()}.png"), full_page=True)
            print("shot", name)
        browser.close()


if __name__ == "__main__":
    main()
