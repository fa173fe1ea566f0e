"""SHAP zero Studio engine: sparse Fourier sketches of sequence models and exact Shapley explanations.

Public API (re-exported here once)::

    from shapzero_core import DNA, FourierSketch, shap_values, interactions
"""

from __future__ import annotations

from .alphabet import DNA, PROTEIN, RNA, Alphabet, SequenceError, get_alphabet
from .fourier import FourierSketch, SketchFileError
from .progress import CancelToken, Cancelled

__version__ = "0.1.0"

__all__ = [
    "DNA",
    "PROTEIN",
    "RNA",
    "Alphabet",
    "CancelToken",
    "Cancelled",
    "FourierSketch",
    "SequenceError",
    "SketchFileError",
    "__version__",
    "get_alphabet",
]
