"""Every page opened directly on a fresh server (empty session): one title, a friendly message, no
traceback."""

from __future__ import annotations

import pytest
from conftest import app_with

PAGES = {
    "pages/model.py": "Model",
    "pages/sketch.py": "Sketch",
    "pages/sequences.py": "Sequences",
    "pages/logos.py": "Logos",
    "pages/interactions.py": "Interactions",
    "pages/motifs.py": "Motifs",
    "pages/export.py": "Export",
}


@pytest.mark.parametrize("page", sorted(PAGES))
def test_page_opens_on_an_empty_session(page):
    at = app_with(page=page)
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == [PAGES[page]]
    msgs = " ".join(m.value for m in [*at.info, *at.warning])
    if page in ("pages/logos.py", "pages/interactions.py", "pages/motifs.py", "pages/export.py"):
        assert "no sketch yet" in msgs.lower()
    if page == "pages/model.py":
        assert "No model loaded yet" in msgs


@pytest.mark.parametrize("page", ["pages/logos.py", "pages/interactions.py", "pages/motifs.py"])
def test_pages_ask_for_sequences_when_only_a_sketch_is_loaded(page, sketch):
    at = app_with(sketch, page=page)
    assert not at.exception
    assert any("No sequences are loaded yet" in m.value for m in at.info)


def test_pages_warn_when_sequences_do_not_fit_the_sketch(sketch):
    from shapzero_core.sequences import random_sequences

    at = app_with(sketch, random_sequences(10, sketch.n + 1, seed=0), page="pages/logos.py")
    assert not at.exception
    assert any(f"Load sequences of length {sketch.n}" in m.value for m in at.warning)
