"""A template in the real browser: the Model page's template field on the guide-RNA demo (its PAM-like last two
positions fixed to G), a sketch of the free positions, random sequences that carry the fixed letters, and the
Logos page drawing the fixed positions greyed with their letter."""

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

PATTERN = "." * 24 + "GG"  # the guide demo has 26 letters


def test_template_from_model_page_to_greyed_logo(server, page):
    page.goto(f"{server.url}/{PAGES['Model'].url_path}")
    settled(page, PAGES["Model"].title)
    page.locator(key_css("model_demo_load")).get_by_role("button").click()
    page.get_by_text(MODEL_PREDICTION).first.wait_for(timeout=60_000)
    box = page.locator(f"{key_css('model_template')} input")
    box.fill(PATTERN)
    box.press("Enter")
    settled(page, PAGES["Model"].title)
    page.locator(key_css("model_template_apply")).get_by_role("button").click()
    main = page.locator('[data-testid="stMain"]')
    expect(main.get_by_text("24 free; fixed: G at 25, G at 26")).to_be_visible(timeout=30_000)
    assert_no_exception(page, "Model page after the template")
    shot(page, "template_1_model")

    run_sketch(page, 120_000)
    assert_no_exception(page, "Sketch page after the templated sketch")
    expect(page.locator('[data-testid="stSidebar"]').get_by_text("free of 26").first).to_be_visible(timeout=30_000)

    go(page, "Sequences")
    page.locator(key_css("random_go")).get_by_role("button").click()
    expect(main.get_by_text("sequences of length 26")).to_be_visible(timeout=60_000)
    assert_no_exception(page, "Sequences page with the template")

    go(page, "Logos")
    logo = page.locator(key_css("logo_one_chart"))
    logo.locator(".main-svg").first.wait_for(timeout=60_000)
    # the fixed letters are grey glyphs (FIXED_COLOR #9E9E9E) on grey bands
    expect(logo.locator('path[style*="rgb(158, 158, 158)"]')).to_have_count(2, timeout=30_000)
    expect(main.get_by_text("fixed by the template (G at 25, G at 26)", exact=False)).to_be_visible()
    assert_no_exception(page, "Logos page with the template")
    assert not page.js_errors, f"uncaught JavaScript errors: {page.js_errors}"
    shot(page, "template_2_logos")
