"""What every zoo model is: :class:`ZooModel`, plus the seeded random streams and ONNX helpers they share."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..alphabet import DNA, Alphabet, check_codes
from ..fourier import FourierSketch

__all__ = ["ZOO_VERSION", "ZooModel", "family_rng", "params_digest"]

ZOO_VERSION = 1
"""Bumped whenever a generator changes the models it makes (part of every identity)."""

OPSET = 17
IR_VERSION = 8
PRODUCER = ("shapzero-studio zoo", str(ZOO_VERSION))


def family_rng(family: str, seed: int, stream: str = "params") -> np.random.Generator:
    """A numpy generator for one family, seed and purpose (``"params"``, ``"queries"``, ``"train"``...).

    The streams are independent of each other (a :class:`numpy.random.SeedSequence` keyed on a hash of
    the family and stream names), so drawing the query sequences never changes the parameters.
    """
    tag = int.from_bytes(hashlib.sha256(f"{family}/{stream}".encode()).digest()[:8], "little")
    return np.random.default_rng(np.random.SeedSequence([int(seed), tag]))


def params_digest(*arrays: np.ndarray) -> str:
    """sha256 (16 hex digits) of parameter arrays: part of the identity, so a changed numpy random stream
    (a different model under the same seed) never reuses a query cache."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str(a.dtype).encode() + str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


class ZooModel:
    """A model of the zoo: a callable ``int8 (N, n) -> float64 (N,)`` with its ground-truth helpers.

    Attributes
    ----------
    family : str
        Registry name (``pwm_max``, ``offtarget``, ...).
    seed : int
        Seed every parameter was drawn from.
    n : int
        Sequence length.
    alphabet : Alphabet
        DNA (A, C, G, T = 0..3) or protein.
    name : str
        ``zoo:<family>`` (display name; the query cache keys on :attr:`identity`).
    identity : str
        Stable string: family, zoo version, seed, parameters and a digest of the parameter arrays.
    title, description : str
        One line, and what a biologist would recognise the model as (with its parameters).
    params : dict
        The family's scalar parameters (JSON-able).
    truth_method : {"exact", "permutation-mc"}
        How :mod:`bench.make_zoo_truth` computes its SHAP ground truth: ``exact`` where the spectrum or the
        game is known in closed form (:meth:`exact_shap`), else permutation Monte Carlo.
    query_note : str
        Which sequences :meth:`query_sequences` returns.
    """

    family = "base"
    title = ""
    description = ""
    truth_method = "permutation-mc"
    query_note = "uniformly random sequences"
    has_onnx = True

    def __init__(self, n: int, alphabet: Alphabet = DNA, seed: int = 0, params: Mapping[str, Any] | None = None,
                 digest: str = "") -> None:
        self.n = int(n)
        self.alphabet = alphabet
        self.seed = int(seed)
        self.params = dict(params or {})
        self.name = f"zoo:{self.family}"
        self._digest = digest

    # ------------------------------------------------------------------ identity
    @property
    def identity(self) -> str:
        p = ",".join(f"{k}={json.dumps(v, sort_keys=True)}" for k, v in sorted(self.params.items()))
        return f"shapzero-zoo:{self.family}:v{ZOO_VERSION}:seed={self.seed}:n={self.n}:{self.alphabet.letters}:" \
               f"{p}:{self._digest}"

    def __repr__(self) -> str:
        return f"<ZooModel {self.family} seed={self.seed} n={self.n} q={self.alphabet.q}>"

    # ------------------------------------------------------------------ evaluation
    def __call__(self, X: np.ndarray) -> np.ndarray:
        """``int (N, n)`` letter codes -> ``float64 (N,)``."""
        X = check_codes(np.asarray(X), self.alphabet.q, self.n, name="X")
        return np.asarray(self._predict(X.astype(np.intp, copy=False)), dtype=np.float64).reshape(X.shape[0])

    def _predict(self, X: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def reference(self, X: np.ndarray) -> np.ndarray:
        """The model written directly in numpy, float64 (what :meth:`to_onnx` is checked against).

        Same as calling the model, except for families whose call runs an ONNX graph (``tree``, ``cnn``).
        """
        return self(X)

    # ------------------------------------------------------------------ exports and truth
    def to_onnx(self) -> bytes:
        """The model as ONNX bytes (opset 17, standard operators; loadable with
        :func:`shapzero_core.models.load_model`)."""
        raise NotImplementedError(f"{self.family}: no ONNX export")

    def exact_sketch(self) -> FourierSketch | None:
        """The exact Fourier spectrum, where it is known (else None)."""
        return None

    def exact_shap(self, X: np.ndarray) -> np.ndarray | None:
        """Exact SHAP values (uniform background) ``float64 (N, n)``, where a closed form is known (else None).

        Default: from :meth:`exact_sketch` with :func:`shapzero_core.shapley.shap_values`.
        """
        sk = self.exact_sketch()
        if sk is None:
            return None
        from ..shapley import shap_values

        return shap_values(sk, check_codes(np.asarray(X), self.alphabet.q, self.n))

    def query_sequences(self, N: int = 30) -> np.ndarray:
        """``int8 (N, n)``: the sequences a user would ask about (see :attr:`query_note`); from the seed."""
        rng = family_rng(self.family, self.seed, "queries")
        return rng.integers(0, self.alphabet.q, size=(N, self.n), dtype=np.int8)

    def query_labels(self, N: int = 30) -> list[str]:
        """What each query sequence is (``"random"``, ``"site +12 (-)"``, ``"3 mismatches"``...)."""
        return ["random"] * N

    def describe(self) -> dict[str, Any]:
        """JSON-able summary."""
        return {"family": self.family, "seed": self.seed, "n": self.n, "q": self.alphabet.q,
                "alphabet": self.alphabet.letters, "identity": self.identity, "title": self.title,
                "description": self.description, "params": self.params, "truth_method": self.truth_method,
                "query_note": self.query_note}


# ============================================================================================ ONNX helpers
def finish_onnx(graph: Any, name: str, doc: str, letters: str, opsets: Mapping[str, int] | None = None,
                ir_version: int = IR_VERSION) -> bytes:
    """Wrap a graph in a checked model (opset 17 unless ``opsets`` says otherwise) and serialise it."""
    from onnx import checker, helper

    ops = dict(opsets or {"": OPSET})
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in ops.items()],
                              ir_version=ir_version, producer_name=PRODUCER[0], producer_version=PRODUCER[1],
                              doc_string=doc)
    helper.set_model_props(model, {"shapzero.model": name, "shapzero.alphabet": letters})
    checker.check_model(model, full_check=True)
    return model.SerializeToString(deterministic=True)


def one_hot(X: np.ndarray, q: int) -> np.ndarray:
    """``float64 (N, n, q)`` one-hot of ``int (N, n)`` codes."""
    out = np.zeros((*X.shape, q))
    np.put_along_axis(out, X[..., None].astype(np.intp), 1.0, axis=-1)
    return out
