"""SHAP zero Studio — the Streamlit app (``streamlit run app.py``): this file is the home page.

The steps are Streamlit's ``pages/`` mechanism: ``pages/1_Model.py`` ... ``pages/7_Export.py`` are served at
``/Model`` ... ``/Export``. Every page script, this one included, starts with
:func:`studio_ui.widgets.page_frame`, which draws the sidebar (navigation, a running sketch's progress, where
the session stands) and adopts a sketch that finished in the background, so a page opened directly by its URL
on a freshly started server is complete (it then says what to load first).
"""

import streamlit as st

from studio_ui import demo, sketching
from studio_ui import widgets as w

w.page_frame("home")


def home() -> None:
    """Home: what SHAP zero does, the demo button, links to each step, where the session stands."""
    st.title("SHAP zero Studio")
    st.markdown(
        "SHAP zero explains a sequence model — which letters at which positions raise or lower its "
        "prediction, and which positions act together.  \n"
        "It queries the model once, up front, to *sketch* its sparse Fourier transform; the cost is paid "
        "once per model, not per sequence.  \n"
        "From the sketch it computes exact SHAP values and interactions of every order for thousands of "
        "sequences in seconds, with no further model calls."
    )
    c1, c2 = st.columns([1, 2], vertical_alignment="center")
    with c1:
        job = sketching.current_job()
        # a callback starts the demo before this run draws the button, so it is disabled at once
        st.button("Try the demo", key="try_demo", type="primary", icon=":material/play_arrow:",
                  disabled=job is not None and not job.finished_, on_click=demo.start_demo)
    with c2:
        st.caption(demo.DEMO_CAPTION)
    demo.demo_status()

    st.subheader("Steps")
    steps = [
        ("model", "1 · Model", ":material/model_training:", "choose a demo model, upload ONNX or use a server"),
        ("sketch", "2 · Sketch", ":material/bolt:", "budget, progress, quality; save or load a sketch"),
        ("sequences", "3 · Sequences", ":material/table_rows:", "upload or generate, select a sequence"),
        ("logos", "4 · Logos", ":material/text_fields:", "SHAP logos of one or many sequences"),
        ("interactions", "5 · Interactions", ":material/grid_on:", "position × position maps, top interactions"),
        ("motifs", "6 · Motifs", ":material/pattern:", "recurring patterns and spaced repeats"),
        ("export", "7 · Export", ":material/download:", "figures, tables, sketch and run record"),
    ]
    for first in (0, 4):
        cols = st.columns(4)
        for col, (name, label, icon, what) in zip(cols, steps[first : first + 4], strict=False):
            with col:
                w.page_link(name, label, icon)
                st.caption(what)

    st.subheader("This session")
    w.session_summary()


home()
