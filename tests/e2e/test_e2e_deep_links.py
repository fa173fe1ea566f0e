"""Every page opened directly by its URL on a freshly started server (one new server per page, so no page
relies on another having run first in the process): its title, no exception box or error, the friendly
"load ... first" message of an empty session, no uncaught JavaScript error, and nothing fetched from
outside the machine. Screenshots: ``test-output/e2e/deeplink_<page>.png``."""

from __future__ import annotations

import pytest
from e2e_server import start_server, stop_server
from e2e_ui import PAGES, assert_no_exception, settled, shot, url

pytestmark = pytest.mark.e2e
OUTSIDE: dict[str, list[str]] = {}  # page label -> URLs it requested that are not the app server's


@pytest.fixture
def fresh_server(tmp_path, request):
    s = start_server(tmp_path, f"deeplink_{request.node.callspec.id}")
    yield s
    stop_server(s)


@pytest.mark.parametrize("label", list(PAGES))
def test_deep_link_on_a_fresh_server(label, fresh_server, page):
    info = PAGES[label]
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url)
            if not r.url.startswith((fresh_server.url, "data:", "blob:")) else None)
    page.goto(url(fresh_server.url, label))
    settled(page, info.title, grace=0.3)
    shot(page, f"deeplink_{label.lower()}")
    h1 = page.locator("h1").all_inner_texts()
    assert [t.strip() for t in h1] == [info.title], f"{label}: expected one title {info.title!r}, got {h1}"
    assert_no_exception(page, f"{label} (deep link)")
    body = page.locator('[data-testid="stMain"]').inner_text()
    assert info.empty_message.lower() in body.lower(), (
        f"{label}: the empty-session message {info.empty_message!r} is missing; the page says:\n{body[:1500]}")
    assert not page.js_errors, f"{label}: uncaught JavaScript errors: {page.js_errors}"
    page.wait_for_timeout(300)  # late requests (the favicon)
    OUTSIDE[label] = sorted(set(outside))


def test_no_page_fetches_from_outside_the_machine():
    """The app needs no network at run time (issue 5 item 8: no CDN fonts, scripts or icons); checked on
    what the deep links above requested."""
    if len(OUTSIDE) < len(PAGES):
        pytest.skip("runs after the deep-link tests (it checks what they requested)")
    bad = {k: v for k, v in OUTSIDE.items() if v}
    assert not bad, f"pages fetched from outside the app server: {bad}"
