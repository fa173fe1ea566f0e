"""Session-state keys and the accessors every page uses (the only place that names them).

What a session holds:

* the **model** (a ModelFn from ``shapzero_core.models``) and its label,
* the **sketch** (:class:`FourierSketch`), where it came from, and its content key,
* the **sequences** (:class:`SequenceSet`) and their content key,
* the **selected sequence** (a 0-based row of the sequences, shared by every page),
* the id of the running / last **sketch job** (see :mod:`studio_ui.jobs`), **refine job** and **trust-check
  job**, and the **refined values** of the sequences refined so far (see :mod:`studio_ui.refining`).

Setting a new sketch or sequence set resets the selection when it no longer fits.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from shapzero_core import FourierSketch
from shapzero_core.sequences import SequenceSet

from .core import sequences_key, sketch_key

MODEL = "sz_model"
MODEL_LABEL = "sz_model_label"
SKETCH = "sz_sketch"
SKETCH_KEY = "sz_sketch_key"
SKETCH_SOURCE = "sz_sketch_source"
SEQS = "sz_seqs"
SEQS_KEY = "sz_seqs_key"
SELECTED = "sz_selected_row"
JOB = "sz_sketch_job"
REFINE_JOB = "sz_refine_job"
TRUST_JOB = "sz_trust_job"
REFINED = "sz_refined"
DEMO = "sz_demo"
LAST_UPLOAD = "sz_last_upload"
BACKGROUND = "sz_background"  # "uniform" | "data" | "table"
BACKGROUND_TABLE = "sz_background_table"  # (name, float64 (L, q) probabilities) of an uploaded table

__all__ = [
    "get_model",
    "get_sequences",
    "get_sketch",
    "selected_row",
    "set_model",
    "set_selected",
    "set_sequences",
    "set_sketch",
]


def get_model() -> Any | None:
    """The loaded model (ModelFn) or None."""
    return st.session_state.get(MODEL)


def model_label() -> str:
    return str(st.session_state.get(MODEL_LABEL, ""))


ON_CHANGE = "sz_on_change"  # set by the page frame: redraws the sidebar summary after a change in this run


def _changed() -> None:
    """Tell the page frame that the session changed during this run (the sidebar was drawn before it)."""
    hook = st.session_state.get(ON_CHANGE)
    if callable(hook):
        hook()


def set_model(model: Any, label: str) -> None:
    """Load a model into the session (the sketch stays until a new one replaces it)."""
    st.session_state[MODEL] = model
    st.session_state[MODEL_LABEL] = label
    _changed()


def get_sketch() -> FourierSketch | None:
    """The session's sketch or None."""
    return st.session_state.get(SKETCH)


def current_sketch_key() -> str:
    return str(st.session_state.get(SKETCH_KEY, ""))


def sketch_source() -> str:
    return str(st.session_state.get(SKETCH_SOURCE, ""))


def set_sketch(sketch: FourierSketch, source: str) -> None:
    """Use ``sketch`` from now on; ``source`` says where it came from (shown on the pages)."""
    st.session_state[SKETCH] = sketch
    st.session_state[SKETCH_KEY] = sketch_key(sketch)
    st.session_state[SKETCH_SOURCE] = source
    seqs = get_sequences()
    if seqs is not None and (seqs.n != sketch.sequence_length or seqs.alphabet.letters != sketch.alphabet.letters):
        st.session_state[SELECTED] = 0
    _changed()


def get_sequences() -> SequenceSet | None:
    """The session's sequences or None."""
    return st.session_state.get(SEQS)


def current_sequences_key() -> str:
    return str(st.session_state.get(SEQS_KEY, ""))


def set_sequences(seqs: SequenceSet) -> None:
    """Use ``seqs`` from now on; the selection moves to the first sequence."""
    st.session_state[SEQS] = seqs
    st.session_state[SEQS_KEY] = sequences_key(seqs)
    st.session_state[SELECTED] = 0
    _changed()


def selected_row() -> int:
    """The selected sequence (0-based row, clipped to the loaded set)."""
    seqs = get_sequences()
    r = int(st.session_state.get(SELECTED, 0) or 0)
    if seqs is None or len(seqs) == 0:
        return 0
    return min(max(r, 0), len(seqs) - 1)


def set_selected(row: int) -> None:
    """Select the sequence at 0-based ``row`` for every page."""
    st.session_state[SELECTED] = int(row)
    _changed()


def compatible() -> bool:
    """True if sketch and sequences are both loaded and have the same length and alphabet (with a template:
    the template's full length; the reader has checked the fixed letters)."""
    sk, seqs = get_sketch(), get_sequences()
    return (
        sk is not None and seqs is not None and len(seqs) > 0 and seqs.n == sk.sequence_length
        and seqs.alphabet.letters == sk.alphabet.letters
    )


def background_choice() -> str:
    """What the session's SHAP values are measured against: ``"uniform"``, ``"data"`` (the loaded sequences'
    letter frequencies) or ``"table"`` (an uploaded table, :data:`BACKGROUND_TABLE`; uniform until one is uploaded)."""
    choice = str(st.session_state.get(BACKGROUND, "uniform"))
    return choice if choice in ("uniform", "data", "table") else "uniform"
