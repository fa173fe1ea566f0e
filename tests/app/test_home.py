"""Home page: explanation, the one demo button, links to every step, session status."""

from __future__ import annotations

from app_helpers import app_with


def test_home_on_a_fresh_session_has_one_title_the_demo_button_and_links():
    at = app_with()
    assert not at.exception
    assert [t.value for t in at.title] == ["SHAP zero Studio"]
    assert [b.label for b in at.button] == ["Try the demo"]
    links = {p.label for p in at.get("page_link")}
    for step in ("1 · Model", "2 · Sketch", "3 · Sequences", "4 · Logos", "5 · Interactions", "6 · Motifs",
                 "7 · Export"):
        assert step in links
    text = " ".join(m.value for m in at.markdown)
    assert "**Model:** none" in text and "**Sketch:** none" in text


def test_home_reports_a_loaded_sketch_and_sequences(sketch, seqs):
    at = app_with(sketch, seqs)
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert f"n={sketch.n}, {sketch.num_coefficients} terms" in text
    assert "200 of length 12" in text
