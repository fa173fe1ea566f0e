"""Trust every value, in Chromium: load the guide-RNA demo model and a sketch that misses its pair terms, run
the trust check on the Sketch page, generate sequences, then on the Logos page refine the selected sequence
with the model and see its refined logo with error bars beside the sketch's (whose whiskers come from the
trust check). Screenshots: ``test-output/e2e/refine_<step>.png``."""

from __future__ import annotations

import pytest
from e2e_ui import (
    LOGO_ONE_KEY,
    LOGO_ONE_TITLE,
    MODEL_PREDICTION,
    PAGES,
    SEQ_SUMMARY,
    SKETCH_LOAD_TAB,
    SKETCH_LOADED,
    SKETCH_UPLOAD_KEY,
    assert_no_exception,
    go,
    key_css,
    settled,
    shot,
)

from shapzero_core import FourierSketch

pytestmark = pytest.mark.e2e

TRUST_START_KEY = "sketch_trust_start"
TRUST_VERDICT = "Trust check: sketch values"
REFINE_START_KEY = "logo_refine_start"
REFINED_KEY = "logo_refined_chart"
REFINED_TITLE = "Refined SHAP logo of {sid}"
CALLS_METRIC = "Model calls to refine"


def _whiskers(page, key: str) -> list[float]:
    """Heights in pixels of the error whiskers drawn in the chart ``key`` (plotly's ``path.yerror``)."""
    return page.locator(f"{key_css(key)} path.yerror").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().height)")


def test_refine_a_sequence_and_see_error_bars(server, page, tmp_path):
    from shapzero_core.demos import get_demo

    truth = get_demo("guide_rna").load_spectrum()
    keep = truth.degrees <= 1  # the sketch misses every pair term: its values are visibly off
    path = tmp_path / "partial_guide.npz"
    FourierSketch(truth.locations[keep], truth.coefficients[keep], truth.alphabet).save(path)

    # --- the demo model
    page.goto(server.url)
    settled(page, PAGES["Home"].title, grace=0.3)
    go(page, "Model")
    page.get_by_text("Guide-RNA").first.wait_for()
    page.locator(key_css("model_demo_load")).get_by_role("button").click()
    page.get_by_text(MODEL_PREDICTION).first.wait_for(timeout=60_000)
    settled(page, PAGES["Model"].title)

    # --- the partial sketch, and its trust check
    go(page, "Sketch")
    page.get_by_role("tab", name=SKETCH_LOAD_TAB).click()
    page.locator(f"{key_css(SKETCH_UPLOAD_KEY)} input[type=file]").set_input_files(str(path))
    page.get_by_text(SKETCH_LOADED.format(name=path.name)).wait_for(timeout=60_000)
    settled(page, PAGES["Sketch"].title)
    page.locator(key_css(TRUST_START_KEY)).get_by_role("button").click()
    page.get_by_text(TRUST_VERDICT).first.wait_for(timeout=120_000)
    settled(page, PAGES["Sketch"].title)
    assert_no_exception(page, "Sketch page after the trust check")
    main = page.locator('[data-testid="stMain"]').inner_text()
    assert "approximate" in main or "unreliable" in main, main[-2000:]
    shot(page, "refine_1_trust_check")

    # --- sequences
    go(page, "Sequences")
    page.locator(key_css("random_go")).get_by_role("button").click()
    page.get_by_text(SEQ_SUMMARY.format(N=1000, n=26)).first.wait_for(timeout=60_000)
    settled(page, PAGES["Sequences"].title)

    # --- Logos: the sketch's logo has whiskers from the trust check; refine the selected sequence
    go(page, "Logos")
    logo = page.locator(key_css(LOGO_ONE_KEY))
    logo.locator(".gtitle", has_text=LOGO_ONE_TITLE.format(sid="rand_1")).wait_for()
    assert len(_whiskers(page, LOGO_ONE_KEY)) == 26, "the sketch's logo has no error whiskers"
    calls = page.locator('[data-testid="stMetric"]', has_text=CALLS_METRIC).inner_text()
    assert any(ch.isdigit() for ch in calls), f"the model calls are not stated before refining: {calls!r}"
    shot(page, "refine_2_before")
    page.locator(key_css(REFINE_START_KEY)).get_by_role("button").click()
    refined = page.locator(key_css(REFINED_KEY))
    refined.locator(".gtitle", has_text=REFINED_TITLE.format(sid="rand_1")).wait_for(timeout=120_000)
    settled(page, PAGES["Logos"].title)
    assert_no_exception(page, "Logos page after refining")
    heights = _whiskers(page, REFINED_KEY)
    assert len(heights) == 26, f"the refined logo has {len(heights)} whiskers, expected one per position"
    assert sum(h > 2 for h in heights) >= 5, f"the refined logo's error bars are not visible: {heights}"
    # the two logos of one sequence sit side by side
    a, b = logo.bounding_box(), refined.bounding_box()
    assert a is not None and b is not None and abs(a["y"] - b["y"]) < 5 and b["x"] > a["x"] + a["width"] / 2
    assert "Refined with" in page.locator('[data-testid="stMain"]').inner_text()
    assert not page.js_errors, f"uncaught JavaScript errors: {page.js_errors}"
    shot(page, "refine_3_refined")
