"""SHAP zero Studio engine: sparse Fourier sketches of sequence models and exact Shapley explanations.

Public API (re-exported here once)::

    from shapzero_core import DNA, FourierSketch, sketch_model, shap_values, interactions
    from shapzero_core import refine_shap, check_sketch    # values with error bars, trust check
"""

from __future__ import annotations

from . import demos as _demos  # noqa: F401  (registers the ``demo:`` model spec scheme)
from .alphabet import DNA, PROTEIN, RNA, Alphabet, SequenceError, get_alphabet
from .fourier import FourierSketch, SketchFileError
from .progress import Cancelled, CancelToken
from .refine import RefinedShap, TrustReport, check_sketch, refine_shap
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
    "RefinedShap",
    "SequenceError",
    "SketchConfig",
    "SketchFileError",
    "SketchPlan",
    "TrustReport",
    "__version__",
    "baseline",
    "check_sketch",
    "get_alphabet",
    "interactions",
    "plan_for_budget",
    "plan_sketch",
    "refine_shap",
    "shap_values",
    "sketch_model",
]
