"""What the browser tests know about the app's UI, in ONE place: page labels, URL paths, titles, the
friendly empty-session messages, widget labels and keys — and the helpers that wait for Streamlit.

The page scripts are Streamlit's ``pages/1_Model.py`` ... (URLs ``/Model`` ...); if they move or are
renamed, only :data:`PAGES` changes. Tests navigate by clicking sidebar links by their label; the URL
paths are used only for deep links (and checked against the sidebar's links in the flow test).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

#: Where screenshots and the redraw-time record go (``test-output/`` is git-ignored).
OUT = Path(__file__).resolve().parents[2] / "test-output" / "e2e"
CHROMIUM = "/usr/bin/chromium"
VIEWPORT = {"width": 1400, "height": 1600}


@dataclass(frozen=True)
class PageInfo:
    label: str  # the sidebar link text
    url_path: str  # "" = the home page
    title: str  # the page's single h1
    empty_message: str  # what the page says on an empty session (substring, case-insensitive)


PAGES: dict[str, PageInfo] = {
    p.label: p
    for p in [
        PageInfo("Home", "", "SHAP zero Studio", "Model: none"),
        PageInfo("Model", "Model", "Model", "No model loaded yet"),
        PageInfo("Sketch", "Sketch", "Sketch", "Load a model first"),
        PageInfo("Sequences", "Sequences", "Sequences", "No sketch yet"),
        PageInfo("Logos", "Logos", "Logos", "There is no sketch yet"),
        PageInfo("Interactions", "Interactions", "Interactions", "There is no sketch yet"),
        PageInfo("Motifs", "Motifs", "Motifs", "There is no sketch yet"),
        PageInfo("Export", "Export", "Export", "There is no sketch yet"),
    ]
}

# ------------------------------------------------------------------------------------ widget labels / keys
TRY_DEMO = "Try the demo"
DEMO_READY = "The demo is ready"
PROGRESS_METRIC = "Queries done"  # the live progress panel's first metric
MODEL_PREDICTION = "Model prediction:"  # the Model page's test prediction
SKETCH_LOAD_TAB = "Load a saved sketch"
SKETCH_LOADED = "Loaded {name}"  # success message after a sketch upload
SKETCH_REPORT = "Held-out R²"  # metric of the current sketch's quality report
SEQ_UPLOAD_KEY = "seq_upload"  # st.file_uploader key on the Sequences page
SKETCH_UPLOAD_KEY = "sketch_upload"
SEQ_SUMMARY = "{N:,} sequences of length {n}"  # SequenceSet.summary() on the Sequences page
SEQ_TABLE_KEY_PREFIX = "seq_table_"  # the selectable table of sequences
SELECTED_METRIC = "Selected sequence"
LOGO_PICKER_KEY = "logo_seq"  # the "Sequence" selectbox on the Logos page
INTER_PICKER_KEY = "inter_seq"
LOGO_ONE_KEY = "logo_one_chart"
LOGO_ONE_TITLE = "SHAP logo of {sid}"
HEAT_SEQ_KEY = "heat_seq"  # the selected sequence's interaction map (square-marker scatter)
HEAT_TITLE = "pairwise"  # in the map's title: "<id>: pairwise <index>"
PAIR_I_KEY, PAIR_J_KEY = "inter_pair_i", "inter_pair_j"
PAIR_TEXT = "at {a} and"  # "In <id>: <L> at a and <L> at b → pairwise ..."
PAIR_TABLE_CAPTION = "by the letters at {a} and {b}"
EXPORT_SVG_KEY = "dl_logo_selected_svg"
EXPORT_PNG_KEY = "dl_logo_selected_png"
EXPORT_CSV_KEY = "dl_shap_long_csv"
EXPORT_FIGURES_HEADER = "Figures"

# Streamlit's own test ids
EXCEPTION = '[data-testid="stException"]'
ERROR_ALERT = '[data-testid="stAlertContentError"]'
# the app's script state drives Streamlit's running indicator (the status widget itself is hidden by
# toolbarMode = "minimal"); elements of the previous run still on screen are marked stale
RUNNING = '[data-testid="stApp"][data-test-script-state="running"], [data-stale="true"]'
# the sidebar's page links: the app draws its own (st.page_link; showSidebarNavigation = false), or
# Streamlit's own navigation
SIDEBAR_LINKS = ('[data-testid="stSidebar"] a[data-testid="stPageLink-NavLink"], '
                 '[data-testid="stSidebarNav"] a')
PLOTLY = '[data-testid="stPlotlyChart"]'
SKELETON = '[data-testid="stSkeleton"]'  # an element whose code is still loading


def key_css(key: str) -> str:
    """CSS selector of the element container Streamlit gives a widget with ``key``."""
    return f".st-key-{key}"


def url(base: str, label: str) -> str:
    return f"{base}/{PAGES[label].url_path}"


# ------------------------------------------------------------------------------------ waiting
_DONE_JS = """([running, skeleton, plotly, title]) => {
    if (document.querySelector(running) || document.querySelector(skeleton)) return false;
    if (title !== null && ![...document.querySelectorAll("h1")].some(h => h.textContent.includes(title)))
        return false;
    const charts = document.querySelectorAll(plotly);
    return [...charts].every(c => c.querySelector(".main-svg"));
}"""


def settled(page, title: str | None = None, timeout: float = 60.0, grace: float = 0.0) -> float:
    """Wait until the page shows ``title`` in its h1, Streamlit's script is not running, no element of
    the previous run is stale, no element is a loading placeholder and every plotly chart has drawn its
    SVG — and still so 150 ms later (React draws the last deltas a moment after the script ends).
    ``grace`` seconds are waited first. Returns ``time.perf_counter()`` when the page first looked done."""
    if grace:
        page.wait_for_timeout(grace * 1000)
    arg = [RUNNING, SKELETON, PLOTLY, title]
    t0 = time.monotonic()
    first: float | None = None
    while time.monotonic() - t0 < timeout:
        now = time.perf_counter()
        if page.evaluate(_DONE_JS, arg):
            if first is None:
                first = now
            elif now - first >= 0.15:
                return first
        else:
            first = None
        page.wait_for_timeout(20)
    path = shot(page, f"timeout_{title or 'page'}")
    raise AssertionError(f"the page did not settle within {timeout:.0f} s (title {title!r}); see {path}")


def go(page, label: str, timeout: float = 60.0) -> float:
    """Click the sidebar link ``label``; wait until that page has settled. Returns the seconds it took."""
    t = time.perf_counter()
    nav_link(page, label).click()
    return settled(page, PAGES[label].title, timeout=timeout) - t


def nav_link(page, label: str):
    """The sidebar link whose text is ``label`` (after its icon's ligature name)."""
    return page.locator(SIDEBAR_LINKS).filter(has=page.get_by_text(label, exact=True))


def shot(page, name: str) -> Path:
    """Screenshot of the whole page ``test-output/e2e/<name>.png`` (mouse parked so no tooltip shows).

    Streamlit scrolls inside its main container, not the document, so the viewport is stretched to the
    content's height for the picture (at most 8,000 px) and put back afterwards."""
    OUT.mkdir(parents=True, exist_ok=True)
    page.mouse.move(2, 2)
    height = page.evaluate("() => Math.max(...[...document.querySelectorAll("
                           "'[data-testid=stMain], [data-testid=stSidebarContent]')].map(e => e.scrollHeight), 0)")
    tall = int(height) > VIEWPORT["height"]
    if tall:
        page.set_viewport_size({"width": VIEWPORT["width"], "height": min(int(height), 8000)})
    page.wait_for_timeout(300 if tall else 150)
    path = OUT / f"{name}.png"
    try:
        page.screenshot(path=str(path), full_page=True)
    finally:
        if tall:
            page.set_viewport_size(VIEWPORT)
    return path


def assert_no_exception(page, where: str) -> None:
    """No Streamlit exception box and no error message on the page."""
    exc = page.locator(EXCEPTION)
    assert exc.count() == 0, f"{where}: an exception box is shown: {exc.first.inner_text()[:500]!r}"
    err = page.locator(ERROR_ALERT)
    assert err.count() == 0, f"{where}: an error message is shown: {err.first.inner_text()[:500]!r}"


def in_ci() -> bool:
    return bool(os.environ.get("CI"))


def run_sketch(page, budget: int, timeout_ms: float = 180_000) -> None:
    """On the Sketch page with a model loaded: set the budget, start, and wait for the quality report."""
    go(page, "Sketch")
    box = page.locator(f"{key_css('sketch_budget')} input")
    box.fill(str(budget))
    box.press("Enter")
    settled(page, PAGES["Sketch"].title)
    page.locator(key_css("sketch_start")).get_by_role("button").click()
    page.get_by_text(SKETCH_REPORT).first.wait_for(timeout=timeout_ms)
