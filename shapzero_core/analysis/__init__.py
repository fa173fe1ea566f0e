"""Summaries across many explained sequences: logos, top interactions, motifs, spaced repeats, subsets.

Everything here is computed from an :class:`Explanation` (SHAP values, interaction values, predictions and
the sequences they belong to) with numpy grouping (``bincount`` / ``unique`` over integer keys): there is
no Python loop over sequences, only over structure (interaction orders, motif lengths, motifs).

Conventions: positions are 0-based in arrays and **1-based in every table** (columns ``position``,
``positions``, ``start``, ``end``); a letter combination is written as the letters at the (sorted)
positions, e.g. positions ``(3, 7)`` with letters ``"GC"`` means G at 3 and C at 7.

Main entry points
-----------------
* :func:`explain_sequences` -> :class:`Explanation`
* :func:`position_letter_summary`, :func:`split_interaction_summary`, :func:`difference_summary`
* :func:`top_interactions`, :func:`spaced_repeats`, :func:`repeat_spacing_summary`
* :func:`discover_motifs` (TF-MoDISco on hypothetical SHAP, TOMTOM against JASPAR), :func:`write_motifs`
* :func:`select` (boolean masks for subsets by ids, a label column, or a prediction range)
* :func:`hypothetical_shap` (SHAP value each letter *would* get at each position, for TF-MoDISco)

Where things live: :mod:`.explanation` (the :class:`Explanation` and subsets), :mod:`.positions` (position x
letter summaries), :mod:`.interactions` (pairwise maps, top interactions, carriers), :mod:`.repeats` (spaced
repeats), :mod:`.motifs` (hypothetical contributions), :mod:`.modisco` (TF-MoDISco motifs) and :mod:`.matching`
(TOMTOM against JASPAR or a MEME file).
"""

from __future__ import annotations

from .explanation import (
    Explanation,
    explain_sequences,
    full_codes,
    full_interactions,
    refined_explanation,
    select,
)
from .interactions import carriers, pairwise_summary, top_interactions
from .matching import MotifDatabase, load_jaspar, read_meme_database, tomtom_matches
from .modisco import (
    ModiscoConfig,
    ModiscoMotif,
    MotifSearch,
    TooFewSeqletsError,
    discover_motifs,
    write_motifs,
)
from .motifs import hypothetical_shap
from .positions import (
    PositionLetterSummary,
    SplitSummary,
    difference_summary,
    position_letter_summary,
    split_interaction_summary,
)
from .repeats import repeat_spacing_summary, spaced_repeats

__all__ = [
    "Explanation",
    "ModiscoConfig",
    "ModiscoMotif",
    "MotifDatabase",
    "MotifSearch",
    "PositionLetterSummary",
    "SplitSummary",
    "TooFewSeqletsError",
    "carriers",
    "difference_summary",
    "discover_motifs",
    "explain_sequences",
    "full_codes",
    "full_interactions",
    "hypothetical_shap",
    "load_jaspar",
    "pairwise_summary",
    "position_letter_summary",
    "read_meme_database",
    "refined_explanation",
    "repeat_spacing_summary",
    "select",
    "spaced_repeats",
    "split_interaction_summary",
    "tomtom_matches",
    "top_interactions",
    "write_motifs",
]
