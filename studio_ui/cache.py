"""Cached explanations and summaries, keyed by content (sketch key, sequences key, parameters).

Everything expensive is computed once per content and reused by every rerun, page and session
(``st.cache_resource``: the cached objects are frozen dataclasses / DataFrames that no page mutates, so
they are shared, not copied). Switching the selected sequence or the page therefore only slices arrays.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from shapzero_core import FourierSketch
from shapzero_core.analysis import (
    Explanation,
    explain_sequences,
    pairwise_summary,
    position_letter_summary,
    spaced_repeats,
    split_interaction_summary,
    top_interactions,
)
from shapzero_core.background import Background, resolve_background
from shapzero_core.sequences import SequenceSet

from . import core, state


@dataclass(frozen=True)
class Ctx:
    """The sketch and sequences a page works on, the background the values are measured against (None:
    uniform), with their content keys."""

    sketch: FourierSketch
    seqs: SequenceSet
    skey: str
    qkey: str
    background: Background | None = None
    bkey: str = "uniform"

    @property
    def key(self) -> tuple[str, ...]:
        return (self.skey, self.qkey) if self.bkey == "uniform" else (self.skey, self.qkey, self.bkey)


@st.cache_resource(max_entries=4)
def _data_background(_sk: FourierSketch, _seqs: SequenceSet, key: tuple[str, ...]) -> Background:
    return resolve_background(_sk, _seqs)


def context() -> Ctx | None:
    """The session's sketch + sequences if both are loaded and fit each other, else None."""
    if not state.compatible():
        return None
    sk, seqs = state.get_sketch(), state.get_sequences()
    assert sk is not None and seqs is not None
    skey, qkey = state.current_sketch_key(), state.current_sequences_key()
    choice = state.background_choice()
    bg, bkey = None, "uniform"
    if choice == "data":
        bg, bkey = _data_background(sk, seqs, (skey, qkey)), "data"
    elif choice == "table" and st.session_state.get(state.BACKGROUND_TABLE) is not None:
        name, probs = st.session_state[state.BACKGROUND_TABLE]
        try:
            bg = resolve_background(sk, probs)
        except ValueError:
            bg = None  # a table for another sketch: back to uniform (the selector says why)
        else:
            bg = Background(bg.probs, "table", f"table from {name}")
            bkey = "table:" + hashlib.sha256(bg.probs.tobytes()).hexdigest()[:16]
    return Ctx(sk, seqs, skey, qkey, bg, bkey)


def mask_key(mask: np.ndarray | None) -> str:
    """Key of a boolean subset mask (``"all"`` for None)."""
    if mask is None:
        return "all"
    return hashlib.sha256(np.packbits(np.asarray(mask, dtype=bool)).tobytes()).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------- explain
@st.cache_resource(max_entries=2, show_spinner="Explaining the sequences (SHAP values)…")
def _shap(_ctx: Ctx, key: tuple[str, ...]) -> Explanation:
    return explain_sequences(_ctx.sketch, _ctx.seqs, with_interactions=False, background=_ctx.background)


@st.cache_resource(max_entries=4, show_spinner="Computing interactions…")
def _interactions(_ctx: Ctx, key: tuple[str, ...], index: str, order: int | None):
    from shapzero_core.analysis import full_interactions  # full positions under a template

    return full_interactions(_ctx.sketch, _ctx.seqs.X, index=index, order=order, background=_ctx.background)


def explanation(ctx: Ctx, index: str = "mobius", order: int | None = None) -> Explanation:
    """SHAP values, predictions and interactions of ``index`` / ``order`` for every sequence (cached)."""
    base = _shap(ctx, ctx.key)
    return replace(base, interactions=_interactions(ctx, ctx.key, index, order))


@st.cache_resource(max_entries=2, show_spinner="Building the sequence table…")
def sequence_table(_ctx: Ctx, key: tuple[str, ...]) -> pd.DataFrame:
    """:func:`studio_ui.core.sequence_table` of the Möbius explanation."""
    return core.sequence_table(explanation(_ctx))


# ---------------------------------------------------------------------------------------------- summaries
@st.cache_resource(max_entries=8)
def position_letter(_ctx: Ctx, key: tuple[str, ...], _mask: np.ndarray | None, mkey: str):
    return position_letter_summary(explanation(_ctx), _mask)


@st.cache_resource(max_entries=8)
def split_summary(_ctx: Ctx, key: tuple[str, ...], _mask: np.ndarray | None, mkey: str):
    return split_interaction_summary(explanation(_ctx), mask=_mask, min_order=2)


@st.cache_resource(max_entries=8)
def pairwise(_ctx: Ctx, key: tuple[str, ...], index: str, order: int | None, stat: str) -> np.ndarray:
    return pairwise_summary(explanation(_ctx, index, order), stat)


@st.cache_resource(max_entries=8)
def pair_index(_ctx: Ctx, key: tuple[str, ...], index: str, order: int | None) -> core.PairIndex:
    return core.pair_index(explanation(_ctx, index, order).interactions)


@st.cache_resource(max_entries=8, show_spinner="Grouping interactions by their letters…")
def top_all(_ctx: Ctx, key: tuple[str, ...], index: str, order: int | None, min_order: int,
            max_order: int | None) -> pd.DataFrame:
    """:func:`top_interactions` over all sequences, every row (``k=None``)."""
    return top_interactions(explanation(_ctx, index, order), k=None, min_order=min_order, max_order=max_order)


@st.cache_resource(max_entries=8)
def pair_letters(_ctx: Ctx, key: tuple[str, ...], index: str, order: int | None, i: int, j: int) -> pd.DataFrame:
    """All letter pairs at 1-based positions ``i, j`` across the sequences, with mean value and count."""
    return top_interactions(explanation(_ctx, index, order), k=None, min_order=2, max_order=2, positions=[i, j])


@st.cache_resource(max_entries=4, show_spinner="Looking for spaced repeats…")
def repeats(_ctx: Ctx, key: tuple[str, ...]) -> pd.DataFrame:
    return spaced_repeats(top_all(_ctx, key, "mobius", None, 2, None), include_mismatched=True)


@st.cache_resource(max_entries=48)
def figure(key: tuple, _build: Callable[[], Any]) -> Any:
    """A plotly figure built once per ``key`` (a tuple naming what it shows); pages never mutate it."""
    return _build()
