"""Importable callables for the model-adapter tests (``models_fixtures:gc_count`` ...).

pytest puts ``tests/`` on the import path when it collects the test files (rootdir without conftest),
so these are reachable by their ``module:function`` spec in the test process and its subprocesses.
"""

from __future__ import annotations

import numpy as np


def gc_count(X: np.ndarray) -> np.ndarray:
    """Number of C/G letters per sequence: ``int8 (N, n)`` -> ``float64 (N,)``."""
    X = np.asarray(X)
    return ((X == 1) | (X == 2)).sum(axis=1).astype(np.float64)


def gc_count_strings(seqs: list[str]) -> list[float]:
    """The same on letters (the annotation tells the adapter to pass strings)."""
    return [float(s.count("G") + s.count("C")) for s in seqs]


def untyped_strings(seqs):  # no annotation: the adapter probes (codes fail: arrays have no .count)
    return [float(s.count("G")) for s in seqs]


def nan_on_t_start(X: np.ndarray) -> np.ndarray:
    """NaN for sequences starting with T, else the position-weighted sum of codes."""
    X = np.asarray(X)
    y = (X * np.arange(1, X.shape[1] + 1)).sum(axis=1).astype(np.float64)
    y[X[:, 0] == 3] = np.nan
    return y


def wrong_shape(X: np.ndarray) -> np.ndarray:
    return np.zeros((X.shape[0], 2))


def raises(X: np.ndarray) -> np.ndarray:
    raise RuntimeError("model weights not found")


def raises_untyped(X):
    raise RuntimeError("model weights not found")


NOT_CALLABLE = 3


def slow_gc(X: np.ndarray) -> np.ndarray:
    """``gc_count`` that takes 20 ms per call (for sketches that must overlap in time)."""
    import time

    time.sleep(0.02)
    return gc_count(X)
