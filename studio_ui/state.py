"""Session-state keys and the accessors every page uses (the only place that names them).

What a session holds:

* the **model** (a ModelFn from ``shapzero_core.models``) and its label,
* the **sketch** (:class:`FourierSketch`), where it came from, and its content key,
* the **sequences** (:class:`SequenceSet`) and their content key,
* the **selected sequence** (a 0-based row of the sequences, shared by every page),
* the id of the running / last **sketch job** (see :mod:`studio_ui.jobs`), **refine job** and **trust-check
  job**, and the **refined values** of the sequences refined so far (see :mod:`studio_ui.refining`).

The three are kept **consistent**: they have the same sequence length and alphabet, and the sketch was made
from the loaded model (same identity, same template) when both say which model they are. Whatever you choose
last wins: a model, sketch or sequence set that no longer fits it is **set aside** (:data:`ASIDE`, listed in
the sidebar) with a visible notice (:data:`NOTICE`), and comes back by itself when you choose something it fits
again (e.g. switching back to the model it was made from). No page ever sees a sketch or sequences of another
length than the model's. Setting a new sketch or sequence set resets the selection when it no longer fits.
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
OUTPUT_UNIT = "sz_output_unit"  # what the model's output is (the Model page's field): units of every axis
ASIDE = "sz_aside"  # {"model": (model, label), "sketch": (sketch, key, source), "seqs": (seqs, key)}: set aside
NOTICE = "sz_notice"  # what the last change set aside or brought back (shown on every page until dismissed)

__all__ = [
    "compatible",
    "dismiss_notice",
    "get_model",
    "get_sequences",
    "get_sketch",
    "notice",
    "offer_sketch",
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
    """Load a model into the session. The sketch and sequences stay if they fit it (:func:`misfit`); otherwise
    they are set aside with a notice, and any set aside earlier that fit it come back."""
    st.session_state[MODEL] = model
    st.session_state[MODEL_LABEL] = label
    _reconcile("model", f"the model {label}")
    _changed()


def get_sketch() -> FourierSketch | None:
    """The session's sketch or None."""
    return st.session_state.get(SKETCH)


def current_sketch_key() -> str:
    return str(st.session_state.get(SKETCH_KEY, ""))


def sketch_source() -> str:
    return str(st.session_state.get(SKETCH_SOURCE, ""))


def set_sketch(sketch: FourierSketch, source: str) -> None:
    """Use ``sketch`` from now on; ``source`` says where it came from (shown on the pages). A model or
    sequences that do not fit it are set aside with a notice."""
    st.session_state[SKETCH] = sketch
    st.session_state[SKETCH_KEY] = sketch_key(sketch)
    st.session_state[SKETCH_SOURCE] = source
    _reconcile("sketch", f"the sketch ({source})")
    _changed()


def offer_sketch(sketch: FourierSketch, source: str) -> bool:
    """Use ``sketch`` if it fits the loaded model (a sketch that finished in the background after the user
    chose another model); otherwise set it aside with a notice. Returns True if it became the sketch."""
    model = get_model()
    why = misfit(model, sketch, None) if model is not None else None
    if why is None:
        set_sketch(sketch, source)
        return True
    _aside()["sketch"] = (sketch, sketch_key(sketch), source)
    st.session_state[NOTICE] = (f"The sketch {source} finished, but the loaded model is now {model_label()} "
                                f"({why}): it is set aside and comes back when you load its model again.")
    _changed()
    return False


def get_sequences() -> SequenceSet | None:
    """The session's sequences or None."""
    return st.session_state.get(SEQS)


def current_sequences_key() -> str:
    return str(st.session_state.get(SEQS_KEY, ""))


def set_sequences(seqs: SequenceSet) -> None:
    """Use ``seqs`` from now on; the selection moves to the first sequence. A model or sketch of another
    length or alphabet is set aside with a notice."""
    st.session_state[SEQS] = seqs
    st.session_state[SEQS_KEY] = sequences_key(seqs)
    st.session_state[SELECTED] = 0
    _reconcile("seqs", f"the sequences ({seqs.source or 'new'})")
    _changed()


# ----------------------------------------------------------------------------------------- consistency
def _shape_of_model(model: Any) -> tuple[int, str]:
    base = getattr(model, "base", model)  # a templated model: the user's sequences have the full length
    return int(base.n), str(model.alphabet.letters)


def _pattern(tpl: Any) -> str:
    return str(getattr(tpl, "pattern", "") or "")


def sketch_identity(sketch: FourierSketch) -> str:
    """The identity of the model a sketch was made from (``metadata["model"]`` or its report), or ""."""
    for rec in (sketch.metadata.get("model"), (sketch.report or {}).get("model")):
        if isinstance(rec, dict) and rec.get("identity"):
            return str(rec["identity"])
    return ""


def misfit(model: Any | None, sketch: FourierSketch | None, seqs: SequenceSet | None) -> str | None:
    """Why the given parts of a session do not belong together (plain words), or None if they do.

    Parts given as None are not compared. A model and a sketch fit when the sequences the user gives have
    the same length and alphabet, the templates agree and, when both record one, the model identities agree.
    """
    if model is not None and sketch is not None:
        n, letters = _shape_of_model(model)
        if (n, letters) != (sketch.sequence_length, sketch.alphabet.letters):
            return (f"the model takes {n} letters of {letters}, the sketch explains {sketch.sequence_length} "
                    f"of {sketch.alphabet.letters}")
        if _pattern(getattr(model, "template", None)) != _pattern(sketch.template):
            return "the model and the sketch have different templates (fixed positions)"
        mid, sid = str(getattr(model, "identity", "") or ""), sketch_identity(sketch)
        if mid and sid and mid != sid:
            return "the sketch was made from another model"
    if seqs is not None and len(seqs):
        for what, obj in (("model", model), ("sketch", sketch)):
            if obj is None:
                continue
            n, letters = (_shape_of_model(obj) if what == "model"
                          else (obj.sequence_length, obj.alphabet.letters))  # type: ignore[union-attr]
            if (seqs.n, seqs.alphabet.letters) != (n, letters):
                return f"the sequences have {seqs.n} letters of {seqs.alphabet.letters}, the {what} takes {n} of {letters}"
    return None


def _aside() -> dict[str, Any]:
    return st.session_state.setdefault(ASIDE, {})


def aside_summary() -> list[str]:
    """One line per part set aside (for the sidebar)."""
    a = st.session_state.get(ASIDE) or {}
    out = []
    if a.get("model"):
        out.append(f"model {a['model'][1]}")
    if a.get("sketch"):
        sk = a["sketch"][0]
        out.append(f"sketch of length {sk.sequence_length} ({a['sketch'][2]})")
    if a.get("seqs"):
        out.append(f"{len(a['seqs'][0]):,} sequences of length {a['seqs'][0].n}")
    return out


_SLOTS = {"model": (MODEL, MODEL_LABEL), "sketch": (SKETCH, SKETCH_KEY, SKETCH_SOURCE), "seqs": (SEQS, SEQS_KEY)}


def _current(slot: str) -> tuple[Any, ...] | None:
    keys = _SLOTS[slot]
    return None if st.session_state.get(keys[0]) is None else tuple(st.session_state.get(k) for k in keys)


def _put(slot: str, value: tuple[Any, ...] | None) -> None:
    for i, k in enumerate(_SLOTS[slot]):
        if value is None:
            st.session_state.pop(k, None)
        else:
            st.session_state[k] = value[i]


def _parts(**override: Any) -> dict[str, Any]:
    parts = {"model": get_model(), "sketch": get_sketch(), "seqs": get_sequences()}
    parts.update(override)
    return parts


def _describe(slot: str, value: tuple[Any, ...]) -> str:
    if slot == "model":
        return f"the model {value[1]}"
    if slot == "sketch":
        return f"the sketch of length {value[0].sequence_length}"
    return f"the {len(value[0]):,} sequences of length {value[0].n}"


def _reconcile(changed: str, what: str) -> None:
    """After ``changed`` got a new value: set aside the other parts that do not fit it, bring back parts set
    aside earlier that fit everything now loaded, and say so in :data:`NOTICE`."""
    aside = _aside()
    moved, back = [], []
    for slot in _SLOTS:
        if slot == changed or (cur := _current(slot)) is None:
            continue
        why = misfit(**_parts(**{s: None for s in _SLOTS if s not in (slot, changed)}))
        if why is not None:
            aside[slot] = cur
            _put(slot, None)
            moved.append(_describe(slot, cur) + ("" if " letters of " in why else f" ({why})"))
            if slot == "seqs":
                st.session_state[SELECTED] = 0
    for slot in _SLOTS:
        held = aside.get(slot)
        if slot == changed or held is None or _current(slot) is not None:
            continue
        if misfit(**_parts(**{slot: held[0]})) is None:
            _put(slot, held)
            del aside[slot]
            back.append(_describe(slot, held))
            if slot == "seqs":
                st.session_state[SELECTED] = 0
    text = []
    if moved:
        new = _current(changed)
        if new is not None:
            n, letters = _shape_of_model(new[0]) if changed == "model" else (
                (new[0].sequence_length, new[0].alphabet.letters) if changed == "sketch"
                else (new[0].n, new[0].alphabet.letters))
            what += f" ({n} letters of {letters})"
        text.append(f"You chose {what}. Set aside because they do not fit it: " + "; ".join(moved)
                    + ". They come back when you choose something they fit again.")
    if back:
        text.append("Brought back (they fit): " + "; ".join(back) + ".")
    if text:
        st.session_state[NOTICE] = " ".join(text)


def output_unit() -> str:
    """What the model's output is, as the user named it on the Model page (e.g. "log2 fold change"), or
    "model output"."""
    return str(st.session_state.get(OUTPUT_UNIT, "") or "").strip() or "model output"


def in_units(label: str) -> str:
    """An axis or colour-bar label with the unit of the model's output: ``"mean SHAP (editing efficiency)"``."""
    return f"{label} ({output_unit()})"


def notice() -> str:
    """What the last change set aside or brought back ("" if nothing, or dismissed)."""
    return str(st.session_state.get(NOTICE, "") or "")


def dismiss_notice() -> None:
    st.session_state.pop(NOTICE, None)


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
