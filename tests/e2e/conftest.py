"""Fixtures of the browser tests: Debian's Chromium (never a downloaded browser) driven by Playwright's sync
API, and the app served by ``streamlit run app.py`` on a free port with a fresh temporary workspace
(helpers in ``e2e_server.py``, UI names in ``e2e_ui.py``)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from e2e_server import Server, start_server, stop_server
from e2e_ui import CHROMIUM, VIEWPORT, in_ci


@pytest.fixture(scope="module")
def server(tmp_path_factory, request) -> Iterator[Server]:
    """A freshly started app server for this test module (killed at the module's end)."""
    name = request.module.__name__.rsplit(".", 1)[-1]
    s = start_server(tmp_path_factory.mktemp(name), name)
    yield s
    stop_server(s)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium through Playwright (fails in CI, skips locally, when it is not installed)."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        msg = (f"{CHROMIUM} is missing: the browser tests need Debian's Chromium "
               "(`make system-deps` or `apt-get install -y chromium`); never a downloaded browser")
        if in_ci():
            pytest.fail(msg)
        pytest.skip(msg)
    from playwright.sync_api import sync_playwright

    args = ["--no-sandbox", "--disable-dev-shm-usage"] if hasattr(os, "geteuid") and os.geteuid() == 0 else \
        ["--disable-dev-shm-usage"]
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=args)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A new browser context (a new Streamlit session) and page; downloads allowed."""
    ctx = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    ctx.set_default_timeout(30_000)
    pg = ctx.new_page()
    pg.js_errors = []  # uncaught JavaScript errors, checked by the tests
    pg.on("pageerror", lambda e: pg.js_errors.append(str(e)))
    yield pg
    ctx.close()
