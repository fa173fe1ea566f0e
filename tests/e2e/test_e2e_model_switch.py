"""Switching model with a sketch loaded, in the real browser: the guide demo (n = 26) sketched with random
sequences, then the CNN demo (n = 40) chosen on the Model page. The n = 26 sketch and sequences are set aside
with a visible notice, the sidebar says so once, no page draws them; choosing the guide model again brings them
back and the Logos page draws them."""

from __future__ import annotations

import pytest
from e2e_ui import (
    MODEL_PREDICTION,
    PAGES,
    assert_no_exception,
    go,
    key_css,
    run_sketch,
    settled,
    shot,
)
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SIDEBAR = '[data-testid="stSidebar"]'


def _load_demo(page, title_part: str) -> None:
    go(page, "Model")
    page.locator(f"{key_css('model_demo_pick')} input[role=combobox]").click()
    page.get_by_role("option").filter(has_text=title_part).first.click()
    settled(page, PAGES["Model"].title)
    page.locator(key_css("model_demo_load")).get_by_role("button").click()
    page.get_by_text(MODEL_PREDICTION).first.wait_for(timeout=60_000)
    settled(page, PAGES["Model"].title)


def test_switching_model_sets_the_sketch_aside_and_brings_it_back(server, page):
    page.goto(f"{server.url}/{PAGES['Model'].url_path}")
    settled(page, PAGES["Model"].title)
    _load_demo(page, "Guide-RNA")
    run_sketch(page, 30_000)
    go(page, "Sequences")
    page.locator(key_css("random_go")).get_by_role("button").click()
    main = page.locator('[data-testid="stMain"]')
    expect(main.get_by_text("sequences of length 26")).to_be_visible(timeout=60_000)

    _load_demo(page, "convolutional")
    notice = main.get_by_text("Set aside because they do not fit it", exact=False)
    expect(notice).to_be_visible(timeout=30_000)
    expect(main.get_by_text("(40 letters of ACGT)", exact=False).first).to_be_visible()
    side = page.locator(SIDEBAR)
    expect(side.get_by_text("Sketch: none", exact=False)).to_have_count(1)
    expect(side.get_by_text("Sequences: none", exact=False)).to_have_count(1)
    expect(side.get_by_text("Set aside", exact=False)).to_have_count(1)
    expect(side.get_by_text("Model:", exact=False)).to_have_count(1)  # the summary is drawn once
    assert_no_exception(page, "Model page after switching to the CNN")
    shot(page, "model_switch_1_notice")

    go(page, "Logos")  # no page draws the n = 26 sketch under the n = 40 model
    expect(main.get_by_text(PAGES["Logos"].empty_message, exact=False)).to_be_visible(timeout=30_000)
    assert page.locator('[data-testid="stPlotlyChart"]').count() == 0
    expect(main.get_by_text("Set aside because", exact=False)).to_be_visible()  # on every page until dismissed

    _load_demo(page, "Guide-RNA")
    expect(main.get_by_text("Brought back (they fit)", exact=False)).to_be_visible(timeout=30_000)
    expect(side.get_by_text("Set aside", exact=False)).to_have_count(0)
    expect(side.get_by_text("of length 26", exact=False)).to_have_count(1)
    main.get_by_role("button", name="OK").click()
    expect(main.get_by_text("Brought back", exact=False)).to_have_count(0, timeout=30_000)
    go(page, "Logos")
    page.locator(key_css("logo_one_chart")).locator(".main-svg").first.wait_for(timeout=60_000)
    assert_no_exception(page, "Logos page after switching back")
    assert not page.js_errors, f"uncaught JavaScript errors: {page.js_errors}"
    shot(page, "model_switch_2_back")
