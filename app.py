"""SHAP zero Studio — the Streamlit app (``streamlit run app.py``).

This file is the entry point: it registers the pages (``app_pages/``), draws the session summary in the
sidebar and runs the page the URL asks for; the home page itself is :func:`home`. Every page works when
opened directly by its URL on a fresh server (it then says what to load first).

The page scripts live in ``app_pages/``, not ``pages/``: Streamlit treats a folder named ``pages`` next to
the entry point as a legacy multipage app until ``st.navigation`` has run once in the process, so on a
freshly started server a deep link such as ``/sketch`` would run the page file alone, without this file.
"""

import streamlit as st

from studio_ui import demo, sketching
from studio_ui import widgets as w

st.set_page_config(page_title="SHAP zero Studio", page_icon=w.favicon(), layout="wide")


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
        clicked = st.button("Try the demo", key="try_demo", type="primary", icon=":material/play_arrow:",
                            disabled=job is not None and not job.finished_)
    with c2:
        st.caption(demo.DEMO_CAPTION)
    if clicked:
        demo.start_demo()
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


home_page = st.Page(home, title="Home", icon=":material/home:", default=True)
pages = [
    home_page,
    st.Page("app_pages/model.py", title="Model", icon=":material/model_training:", url_path="model"),
    st.Page("app_pages/sketch.py", title="Sketch", icon=":material/bolt:", url_path="sketch"),
    st.Page("app_pages/sequences.py", title="Sequences", icon=":material/table_rows:", url_path="sequences"),
    st.Page("app_pages/logos.py", title="Logos", icon=":material/text_fields:", url_path="logos"),
    st.Page("app_pages/interactions.py", title="Interactions", icon=":material/grid_on:", url_path="interactions"),
    st.Page("app_pages/motifs.py", title="Motifs", icon=":material/pattern:", url_path="motifs"),
    st.Page("app_pages/export.py", title="Export", icon=":material/download:", url_path="export"),
]
nav = st.navigation(pages)
w.register_pages({"home": home_page})
sketching.adopt_finished_job()
with st.sidebar:
    sketching.sidebar_progress()
    w.session_summary()
nav.run()
