"""The background selector in the real browser: the guide demo sketched, random sequences, then "Compared with"
the loaded sequences' letter frequencies on the Logos page, the choice kept on the Interactions page."""

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


def test_background_selector_from_logos_to_interactions(server, page):
    page.goto(f"{server.url}/{PAGES['Model'].url_path}")
    settled(page, PAGES["Model"].title)
    page.locator(key_css("model_demo_load")).get_by_role("button").click()
    page.get_by_text(MODEL_PREDICTION).first.wait_for(timeout=60_000)
    run_sketch(page, 120_000)
    go(page, "Sequences")
    page.locator(key_css("random_go")).get_by_role("button").click()
    main = page.locator('[data-testid="stMain"]')
    expect(main.get_by_text("sequences of length 26")).to_be_visible(timeout=60_000)

    go(page, "Logos")
    radio = page.locator(key_css("logo_background"))
    radio.get_by_text("Letter frequencies of the loaded sequences").click()
    settled(page, PAGES["Logos"].title)
    expect(main.get_by_text("Values against data: letter frequencies of", exact=False)).to_be_visible(timeout=60_000)
    expect(main.get_by_text("Refining with the model explains the uniform background", exact=False)).to_be_visible()
    page.locator(key_css("logo_one_chart")).locator(".main-svg").first.wait_for(timeout=60_000)
    assert_no_exception(page, "Logos page against the data background")
    shot(page, "background_1_logos")

    go(page, "Interactions")
    checked = page.locator(key_css("inter_background")).locator("input[type=radio]:checked")
    expect(checked).to_have_count(1, timeout=30_000)
    expect(main.get_by_text("Values against data: letter frequencies of", exact=False)).to_be_visible(timeout=60_000)
    assert_no_exception(page, "Interactions page against the data background")
    assert not page.js_errors, f"uncaught JavaScript errors: {page.js_errors}"
    shot(page, "background_2_interactions")
