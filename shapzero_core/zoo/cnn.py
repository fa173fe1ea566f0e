"""(e) The demo CNN (:mod:`shapzero_core.demos`, ``cnn``): two Conv1d + ReLU layers, max-pool, dense; random
deterministic weights; dense spectrum (no exact truth: permutation Monte Carlo)."""

from __future__ import annotations

import functools

import numpy as np

from ..alphabet import DNA
from ..demos import get_demo
from .base import ZooModel

__all__ = ["DemoCnn"]


class DemoCnn(ZooModel):
    """The demo CNN as a zoo model. Its call runs the demo's ONNX graph (float32, as the app runs it);
    :meth:`reference` is the same network in numpy (float64).

    Parameters
    ----------
    seed : int
        Seeds the query sequences only: the network's weights are the demo's (fixed).
    """

    family = "cnn"
    query_note = "uniformly random sequences"

    def __init__(self, seed: int = 0) -> None:
        self._demo = get_demo("cnn")
        super().__init__(self._demo.n, DNA, seed, {"demo": "cnn"}, self._onnx.sha256[:16])
        self.title = "Demo CNN (n = 40)"
        self.description = self._demo.description

    @functools.cached_property
    def _onnx(self):  # the OnnxModel (one session per zoo object)
        return self._demo.load_model()

    def _predict(self, X: np.ndarray) -> np.ndarray:
        return self._onnx(X.astype(np.int8))

    def reference(self, X: np.ndarray) -> np.ndarray:
        return self._demo.reference(np.asarray(X))

    def to_onnx(self) -> bytes:
        """The demo's committed ONNX file (one-hot ``float32 (N, 4, 40)``, channels first)."""
        return self._demo.onnx_bytes()
