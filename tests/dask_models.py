"""Small models for the Dask sketch tests, importable by name (``dask_models:planted``) in the test process
and in Dask worker processes (spawned workers inherit the test process's import path).

Every function here is deterministic: the value of a sequence never depends on the batch it comes in, the
process or the worker, so a sketch of any of them is the same wherever its queries run.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from shapzero_core.sketch import SketchConfig, plan_sketch

N = 8
"""Sequence length of the planted models."""

CONFIG = SketchConfig(b=3, seed=3, test_size=400)
"""The plan of the tests: 9 blocks of 576 queries and 400 held-out sequences."""

BAD = plan_sketch(N, 4, CONFIG).test_sequences[7]
"""A held-out sequence of :data:`CONFIG` (in no training block) for which :func:`nan_model` returns NaN."""


def _value(X: np.ndarray) -> np.ndarray:
    """A sparse planted landscape on DNA codes ``int8 (N, 8)`` -> ``float64 (N,)``."""
    X = np.asarray(X)
    return (
        0.3
        + 1.0 * (X[:, 0] == 2)
        + 0.8 * (X[:, 1] == 1) * (X[:, 4] == 3)
        - 0.6 * (X[:, 2] == 0)
        + 0.4 * (X[:, 3] == 1) * (X[:, 6] == 2)
        - 0.25 * (X[:, 7] == 3)
    ).astype(np.float64)


def planted(X: np.ndarray) -> np.ndarray:
    """The planted landscape (fast)."""
    return _value(X)


def slow_planted(X: np.ndarray) -> np.ndarray:
    """The same values as :func:`planted`, sleeping 1 ms per sequence (a slow model: tasks take a while)."""
    time.sleep(0.001 * len(X))
    return _value(X)


def nan_model(X: np.ndarray) -> np.ndarray:
    """:func:`planted`, except NaN for the sequence :data:`BAD`."""
    y = _value(X)
    y[np.all(np.asarray(X) == BAD, axis=1)] = np.nan
    return y


class Recorder:
    """:func:`planted` with a fixed ``identity`` (so that its query cache is found again) that records the
    batches it is called with (in the process that calls it)."""

    identity = "dask-sketch-tests-recorder-v1"
    n = N

    def __init__(self) -> None:
        self.batches: list[np.ndarray] = []
        self._lock = threading.Lock()

    def __call__(self, X: np.ndarray) -> np.ndarray:
        with self._lock:
            self.batches.append(np.array(X, copy=True))
        return _value(X)

    def __getstate__(self) -> dict:
        return {}  # a copy sent to a worker starts empty (and without the lock)

    def __setstate__(self, state: dict) -> None:
        self.__init__()
