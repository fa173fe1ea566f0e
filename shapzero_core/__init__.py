"""SHAP zero Studio engine: sparse Fourier sketches of sequence models and exact Shapley explanations.

Public API (re-exported here once)::

    from shapzero_core import DNA, FourierSketch, sketch_model, shap_values, interactions
"""

from __future__ import annotations

from . import demos as _demos  # noqa: F401  (registers the ``demo:`` model spec scheme)
from .alphabet import DNA, PROTEIN, RNA, Alphabet, SequenceError, get_alphabet
from .fourier import FourierSketch, SketchFileError
from .progress import Cancelled, CancelToken
from .shapley import INDICES, Interactions, baseline, interactions, shap_values
from .sketch import SketchConfig, SketchPlan, plan_for_budget, plan_sketch, sketch_model

__version__ = "0.1.0"

__all__ = [
    "DNA",
    "INDICES",
    "PROTEIN",
    "RNA",
    "Alphabet",
    "CancelToken",
    "Cancelled",
    "FourierSketch",
    "Interactions",
    "SequenceError",
    "SketchConfig",
    "SketchFileError",
    "SketchPlan",
    "__version__",
    "baseline",
    "get_alphabet",
    "interactions",
    "plan_for_budget",
    "plan_sketch",
    "shap_values",
    "sketch_model",
]
