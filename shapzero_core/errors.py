"""Exceptions shared by the engine's modules.

* :class:`ModelError` — a model could not be loaded or called, or returned something that is not one
  finite number per sequence. The message says which model (and, during a sketch, which query block and
  rows) and what went wrong.
* :class:`SketchError` — a sketch could not be planned, run or decoded (e.g. a budget too small for any
  plan, a query cache belonging to another model).

Both are ``RuntimeError`` subclasses; user mistakes in arguments stay ``ValueError``.
"""

from __future__ import annotations

__all__ = ["ModelError", "SketchError"]


class ModelError(RuntimeError):
    """A model failed to load or to predict, or returned invalid output (wrong shape, NaN, inf)."""


class SketchError(RuntimeError):
    """A sketch could not be planned, run or decoded."""
