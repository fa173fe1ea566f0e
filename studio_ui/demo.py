"""The home page's "Try the demo": the guide-RNA demo model, a quick sketch and demo sequences.

The quick sketch uses a small budget (:data:`DEMO_BUDGET` training queries plus :data:`DEMO_TEST_SIZE`
held-out ones), runs in the background like any sketch, and lands in the session when done. If the sketch
fails, the demo's exact planted spectrum is used instead (and the page says so).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import streamlit as st

from . import sketching, state

DEMO_NAME = "guide_rna"
DEMO_SEQUENCES = 1000
DEMO_BUDGET = 250_000
DEMO_TEST_SIZE = 2_000
DEMO_CAPTION = (f"Guide-RNA demo model (26 letters): a quick sketch ({DEMO_BUDGET:,} model queries, well under a "
                f"minute) and {DEMO_SEQUENCES:,} demo guides, then logos, interactions and motifs on every page.")


def _demos() -> Any:
    from shapzero_core import demos

    return demos


@st.cache_resource(max_entries=4, show_spinner="Loading the demo model…")
def demo_model(name: str) -> Any:
    """The demo's model (loaded once per server)."""
    return _demos().get_demo(name).load_model()


def demo_config(model: Any) -> Any:
    """The quick sketch plan of the demo."""
    from shapzero_core.sketch import plan_for_budget

    return plan_for_budget(DEMO_BUDGET, int(model.n), model.alphabet.q, test_size=DEMO_TEST_SIZE)


def start_demo(name: str = DEMO_NAME) -> None:
    """Load the demo model and sequences into the session and start the quick sketch."""
    try:
        demo = _demos().get_demo(name)
        model = demo_model(name)
    except Exception as e:  # the demo files are missing or broken: say so, never a traceback
        st.error(f"The demo model could not be loaded: {e}")
        return
    state.set_model(model, f"demo: {demo.title}")
    seqs = dataclasses.replace(demo.sequences(DEMO_SEQUENCES, seed=0), source=f"{name} demo sequences")
    state.set_sequences(seqs)
    st.session_state[state.DEMO] = name
    try:
        sketching.start_sketch(model, demo_config(model), f"quick demo sketch ({DEMO_BUDGET:,} queries)")
    except Exception as e:
        sk = demo.load_spectrum()
        if sk is None:
            st.error(f"The quick sketch could not start: {e}")
            return
        state.set_sketch(sk, f"exact spectrum of the {demo.title} demo (the quick sketch could not start: {e})")


def demo_status() -> None:
    """Progress of the demo's sketch, then links to the results."""
    if st.session_state.get(state.DEMO) is None:
        return
    sketching.progress_panel("home")
    sketching.last_job_message()
    if state.get_sketch() is not None and state.compatible():
        st.success("The demo is ready: the sketch and the demo sequences are loaded.")
        from shapzero_core.figures import logo_plotly

        from . import cache
        from . import widgets as w

        ctx = cache.context()
        if ctx is not None:
            pls = cache.position_letter(ctx, ctx.key, None, "all")
            title = f"Mean SHAP by position and letter over all {len(ctx.seqs):,} demo sequences"
            w.plotly(cache.figure(("home_logo", ctx.key, state.output_unit()), lambda: logo_plotly(
                pls.matrix(), title=title, ylabel=state.in_units("mean SHAP"), height=280, fixed=ctx.sketch.template.fixed_letters()
                if ctx.sketch.template is not None else None)), key="home_logo_chart")

        c1, c2, c3, c4 = st.columns(4)
        with c1:
            w.page_link("logos", "See the SHAP logos", ":material/text_fields:")
        with c2:
            w.page_link("interactions", "See the interaction map", ":material/grid_on:")
        with c3:
            w.page_link("sketch", "How good is the sketch?", ":material/bolt:")
        with c4:
            w.page_link("sequences", "Browse the sequences", ":material/table_rows:")
