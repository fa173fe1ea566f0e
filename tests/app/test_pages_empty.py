"""Every page opened directly on a fresh server (empty session): one title, a friendly message, no
traceback."""

from __future__ import annotations

import pytest
from app_helpers import app_with

PAGES = {
    "pages/1_Model.py": "Model",
    "pages/2_Sketch.py": "Sketch",
    "pages/3_Sequences.py": "Sequences",
    "pages/4_Logos.py": "Logos",
    "pages/5_Interactions.py": "Interactions",
    "pages/6_Motifs.py": "Motifs",
    "pages/7_Export.py": "Export",
}


@pytest.mark.parametrize("page", sorted(PAGES))
def test_page_opens_on_an_empty_session(page):
    at = app_with(page=page)
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == [PAGES[page]]
    msgs = " ".join(m.value for m in [*at.info, *at.warning])
    if page in ("pages/4_Logos.py", "pages/5_Interactions.py", "pages/6_Motifs.py", "pages/7_Export.py"):
        assert "no sketch yet" in msgs.lower()
        assert "Home: try the demo" in {p.label for p in at.get("page_link")}  # a real link, not text
    if page == "pages/1_Model.py":
        assert "No model loaded yet" in msgs


@pytest.mark.parametrize("page", ["pages/4_Logos.py", "pages/5_Interactions.py", "pages/6_Motifs.py"])
def test_pages_ask_for_sequences_when_only_a_sketch_is_loaded(page, sketch):
    at = app_with(sketch, page=page)
    assert not at.exception
    assert any("No sequences are loaded yet" in m.value for m in at.info)


def test_pages_warn_when_sequences_do_not_fit_the_sketch(sketch):
    from shapzero_core.sequences import random_sequences

    at = app_with(sketch, random_sequences(10, sketch.n + 1, seed=0), page="pages/4_Logos.py")
    assert not at.exception
    assert any(f"Load sequences of length {sketch.n}" in m.value for m in at.warning)
