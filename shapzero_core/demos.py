"""Demo models with known answers: small ONNX models built deterministically, with no downloads.

* ``guide_rna`` (n = 26, DNA) — a guide-RNA on-target score: position-specific letters, a GC-content
  window and adjacent-pair (``TT``) terms. Degree 2, exact sparse spectrum.
* ``repair`` (n = 40, DNA) — a DNA-repair outcome score (frameshift frequency) around a cut between
  positions 20 and 21 (1-based): microhomology across the cut, i.e. identical letters ``d`` apart on
  either side of the cut; ``d = 3`` (in-frame deletions) lowers the score, ``d = 2`` or ``4`` (frameshifts)
  raise it; single letters (order 2), homopolymers at the cut (order 3) and dinucleotides (order 4).
  Exact sparse spectrum.
* ``cnn`` (n = 40, DNA) — a small convolutional network with random deterministic weights; its spectrum
  is dense (no ground truth), a realistic stress case for the sketch.

The two low-degree models are sums of *local tables* (each a function of at most 4 positions). The ONNX
graph evaluates exactly that: it computes every table's index from the input with one MatMul and sums
the looked-up float64 values (``MatMul -> Add -> Cast -> Gather -> ReduceSum``); the exact spectrum is the sum
of the tables' own small Fourier transforms, and a direct formula (:meth:`Demo.reference`, written
independently of the tables) checks both.

Where the files come from: the built files are committed in ``demo_models/`` at the top of the
repository (``demo_models/build.py`` writes them with :func:`write_demo_files`). :mod:`shapzero_core.demos`
looks for that folder next to the package (an editable install or a source checkout) and uses its files;
when it is absent (e.g. a wheel install) every demo is rebuilt in memory, which takes well under a second
and gives the same bytes. Weights come from a sha256 counter (not a numpy generator), so the bytes do not
depend on the numpy version.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .alphabet import DNA, Alphabet
from .fourier import FourierSketch
from .models import OnnxModel, register_scheme
from .sequences import SequenceSet, random_sequences

__all__ = ["DEMO_DIR", "Demo", "LocalTerm", "build_demo", "get_demo", "list_demos", "terms_onnx", "terms_spectrum",
           "write_demo_files"]

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo_models"
"""Where the committed demo files are looked for (``demo_models/`` next to the package)."""

_OPSET = 17
_IR_VERSION = 8
_PRODUCER = ("shapzero-studio demo_models", "1")
A, C, G, T = 0, 1, 2, 3


# ============================================================================================ helpers
def _det_uniform(tag: str, size: int) -> np.ndarray:
    """``size`` floats in (0, 1) from a sha256 counter: the same on every machine and numpy version."""
    out = np.empty(size, dtype=np.float64)
    i = 0
    block = 0
    while i < size:
        words = np.frombuffer(hashlib.sha256(f"{tag}:{block}".encode()).digest(), dtype="<u8")
        take = min(4, size - i)
        out[i : i + take] = (words[:take].astype(np.float64) + 0.5) / 2.0**64
        i += take
        block += 1
    return out


def _det_normal(tag: str, shape: tuple[int, ...]) -> np.ndarray:
    size = int(np.prod(shape))
    u = _det_uniform(tag, 2 * size)
    z = np.sqrt(-2.0 * np.log(u[:size])) * np.cos(2.0 * np.pi * u[size:])
    return z.reshape(shape)


@dataclass(frozen=True)
class LocalTerm:
    """One additive term that depends on a few positions only.

    Attributes
    ----------
    positions : tuple of int
        0-based, strictly increasing.
    table : numpy.ndarray
        ``float64 (q,)*d``: the term's value for every letter combination at ``positions``.
    label : str
        What the term encodes.
    """

    positions: tuple[int, ...]
    table: np.ndarray
    label: str

    def __call__(self, X: np.ndarray) -> np.ndarray:
        q = self.table.shape[0]
        idx = np.zeros(X.shape[0], dtype=np.int64)
        for p in self.positions:
            idx = idx * q + X[:, p]
        return self.table.ravel()[idx]


def terms_spectrum(terms: list[LocalTerm], n: int, alphabet: Alphabet, constant: float = 0.0,
                   metadata: dict[str, Any] | None = None) -> FourierSketch:
    """Exact Fourier spectrum of ``constant + sum of terms``: each table's own ``fftn / q^d``, embedded."""
    q = alphabet.q
    locs = [np.zeros((1, n), dtype=np.int8)]
    coefs = [np.array([constant], dtype=np.complex128)]
    for t in terms:
        d = len(t.positions)
        F = np.fft.fftn(t.table) / q**d
        ks = np.argwhere(np.abs(F) > 1e-14)
        L = np.zeros((ks.shape[0], n), dtype=np.int8)
        L[:, list(t.positions)] = ks
        locs.append(L)
        coefs.append(F[tuple(ks.T)])
    loc = np.concatenate(locs)
    coef = np.concatenate(coefs)
    uniq, inv = np.unique(loc, axis=0, return_inverse=True)
    total = np.zeros(uniq.shape[0], dtype=np.complex128)
    np.add.at(total, inv.ravel(), coef)
    keep = np.abs(total) > 1e-12
    return FourierSketch(uniq[keep], total[keep], alphabet, metadata or {})


# ============================================================================================ ONNX graphs
def terms_onnx(terms: list[LocalTerm], n: int, q: int, constant: float, layout: str, *, name: str,
               input_name: str, output_name: str, output_2d: bool, doc: str, letters: str = "ACGT",
               producer: tuple[str, str] = _PRODUCER) -> bytes:
    """An ONNX graph computing ``constant + sum_t table_t[x_{positions_t}]`` (float64 output).

    Parameters
    ----------
    terms : list of LocalTerm
        Tables of shape ``(q,)*d`` over a few positions each.
    n, q : int
        Sequence length and alphabet size.
    constant : float
        Intercept.
    layout : {"NLQ", "codes"}
        Input: one-hot ``float32 (N, n, q)`` or letter codes ``int64 (N, n)``.
    name, input_name, output_name, doc : str
        Graph name, tensor names and doc string.
    output_2d : bool
        Output ``float64 (N, 1)`` instead of ``(N,)``.
    letters : str
        Alphabet recorded in the model properties (``shapzero.alphabet``).
    producer : (str, str)
        Producer name and version recorded in the file.

    Returns
    -------
    bytes
        The serialised, checked ONNX model (opset 17). Table indices are computed in float32: exact while
        the tables hold fewer than 2^24 entries in all.
    """
    from onnx import TensorProto, helper, numpy_helper

    Tn = len(terms)
    sizes = [t.table.size for t in terms]
    offsets = np.cumsum([0, *sizes[:-1]]).astype(np.float32)
    flat = np.concatenate([t.table.ravel() for t in terms]).astype(np.float64)
    if layout == "NLQ":
        W = np.zeros((n * q, Tn), dtype=np.float32)
        for j, t in enumerate(terms):
            d = len(t.positions)
            for r, p in enumerate(t.positions):
                W[p * q : (p + 1) * q, j] = np.arange(q) * q ** (d - 1 - r)
        inp = helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["N", n, q])
        pre = [
            helper.make_node("Reshape", [input_name, "flat_shape"], ["x_flat"], name="flatten_one_hot"),
            helper.make_node("MatMul", ["x_flat", "index_weights"], ["index_raw"], name="table_index"),
        ]
        extra = [numpy_helper.from_array(np.array([-1, n * q], dtype=np.int64), "flat_shape")]
    elif layout == "codes":
        W = np.zeros((n, Tn), dtype=np.float32)
        for j, t in enumerate(terms):
            d = len(t.positions)
            for r, p in enumerate(t.positions):
                W[p, j] = q ** (d - 1 - r)
        inp = helper.make_tensor_value_info(input_name, TensorProto.INT64, ["N", n])
        pre = [
            helper.make_node("Cast", [input_name], ["x_float"], to=TensorProto.FLOAT, name="codes_to_float"),
            helper.make_node("MatMul", ["x_float", "index_weights"], ["index_raw"], name="table_index"),
        ]
        extra = []
    else:  # pragma: no cover - build-time programming error
        raise ValueError(layout)
    nodes = [
        *pre,
        helper.make_node("Add", ["index_raw", "table_offsets"], ["index_f"], name="add_offsets"),
        helper.make_node("Cast", ["index_f"], ["index"], to=TensorProto.INT64, name="index_to_int"),
        helper.make_node("Gather", ["tables", "index"], ["term_values"], axis=0, name="look_up_terms"),
        helper.make_node("ReduceSum", ["term_values", "sum_axes"], ["terms_sum"], keepdims=1 if output_2d else 0,
                         name="sum_terms"),
        helper.make_node("Add", ["terms_sum", "intercept"], [output_name], name="add_intercept"),
    ]
    inits = [
        *extra,
        numpy_helper.from_array(W, "index_weights"),
        numpy_helper.from_array(offsets, "table_offsets"),
        numpy_helper.from_array(flat, "tables"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "sum_axes"),
        numpy_helper.from_array(np.array(constant, dtype=np.float64), "intercept"),
    ]
    out = helper.make_tensor_value_info(output_name, TensorProto.DOUBLE, ["N", 1] if output_2d else ["N"])
    if sum(sizes) >= 2**24:
        raise ValueError(f"{sum(sizes):,} table entries: too many for float32 table indices (limit 2^24)")
    graph = helper.make_graph(nodes, name, [inp], [out], inits, doc_string=doc)
    return _finish(graph, name, doc, letters=letters, producer=producer)


def _finish(graph: Any, name: str, doc: str, letters: str = "ACGT", producer: tuple[str, str] = _PRODUCER) -> bytes:
    from onnx import checker, helper

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", _OPSET)], ir_version=_IR_VERSION,
                              producer_name=producer[0], producer_version=producer[1], doc_string=doc)
    props = {"shapzero.demo": name, "shapzero.alphabet": letters} if producer == _PRODUCER else {
        "shapzero.model": name, "shapzero.alphabet": letters}
    helper.set_model_props(model, props)
    checker.check_model(model, full_check=True)
    return model.SerializeToString(deterministic=True)


# ============================================================================================ (a) guide RNA
_GUIDE_N = 26
_GC_WINDOW = tuple(range(3, 13))  # 0-based: 1-based positions 4-13 (PAM-distal half of the spacer)
_TT_PAIRS = tuple((p, p + 1) for p in range(16, 22))  # 1-based (17,18) ... (22,23): seed region
_GUIDE_PLANTED = {  # 1-based position -> {letter: effect}
    25: {G: 1.0}, 26: {G: 1.0},  # the PAM's GG
    23: {G: 0.45, C: -0.15, T: -0.25},  # spacer position 20, next to the PAM
    22: {G: 0.20, C: -0.30},
    19: {C: -0.25, A: 0.10},
    24: {C: 0.15, T: -0.10},  # the PAM's N
    17: {A: 0.12, G: 0.08},
}
_GUIDE_GC_WEIGHT = 0.6
_TT_WEIGHT = -0.3
_GUIDE_INTERCEPT = 0.2


def _guide_first_order() -> np.ndarray:
    W = 0.04 * _det_normal("guide_rna/position_letters", (_GUIDE_N, 4))
    for P, eff in _GUIDE_PLANTED.items():
        for a, v in eff.items():
            W[P - 1, a] += v
    return W


def _gc(X: np.ndarray) -> np.ndarray:
    return ((X == C) | (X == G)).astype(np.float64)


def _guide_reference(X: np.ndarray) -> np.ndarray:
    W = _guide_first_order()
    y = np.full(X.shape[0], _GUIDE_INTERCEPT) + W[np.arange(_GUIDE_N), X].sum(axis=1)
    gc = _gc(X[:, list(_GC_WINDOW)]).sum(axis=1)
    y -= _GUIDE_GC_WEIGHT * ((gc - 5.0) / 5.0) ** 2
    for i, j in _TT_PAIRS:
        y += _TT_WEIGHT * ((X[:, i] == T) & (X[:, j] == T))
    return y


def _guide_terms() -> tuple[list[LocalTerm], float]:
    """``-w ((GC - 5)/5)^2`` with ``GC = sum g_i`` and ``g^2 = g``:
    ``-w/25 (25 - 9 sum_i g_i + 2 sum_{i<j} g_i g_j)``."""
    W = _guide_first_order()
    g = np.array([0.0, 1.0, 1.0, 0.0])
    w = _GUIDE_GC_WEIGHT / 25.0
    terms: list[LocalTerm] = []
    for p in range(_GUIDE_N):
        table = W[p].copy()
        if p in _GC_WINDOW:
            table += 9.0 * w * g
        terms.append(LocalTerm((p,), table, f"position {p + 1} letters" + (" + GC window" if p in _GC_WINDOW else "")))
    win = _GC_WINDOW
    for a in range(len(win)):
        for b in range(a + 1, len(win)):
            terms.append(LocalTerm((win[a], win[b]), -2.0 * w * np.outer(g, g),
                                   f"GC window pair {win[a] + 1},{win[b] + 1}"))
    tt = np.zeros((4, 4))
    tt[T, T] = _TT_WEIGHT
    for i, j in _TT_PAIRS:
        terms.append(LocalTerm((i, j), tt.copy(), f"TT at {i + 1},{j + 1}"))
    return terms, _GUIDE_INTERCEPT - 25.0 * w


# ============================================================================================ (b) repair
_REPAIR_N = 40
_CUT = 20  # the cut lies between 1-based positions 20 and 21, i.e. after 0-based index 19
_MH1 = {2: 0.5, 3: -0.8, 4: 0.4}  # single-letter microhomology, by spacing
_MH2 = {2: 0.6, 3: -1.0, 4: 0.5}  # dinucleotide microhomology, by spacing
_MH_GC_BONUS = 0.5  # a G/C single-letter microhomology counts 1.5 times
_HOMOPOLYMER = 0.35  # three identical letters across the cut: 1-bp indels (frameshifts)
_HOMO_SETS = ((18, 19, 20), (19, 20, 21))  # 0-based: 1-based 19-21 and 20-22
_INSERTION = {A: 0.25, T: 0.20, C: -0.15, G: -0.30}  # letter 5' of the cut (1-based 20): 1-bp insertions
_REPAIR_INTERCEPT = 0.5


def _mh1_pairs(d: int) -> list[tuple[int, int]]:
    """0-based (i, i + d) with the 1-based i <= 20 < i + d."""
    return [(i - 1, i - 1 + d) for i in range(1, _CUT + 1) if i + d > _CUT]


def _mh2_pairs(d: int) -> list[tuple[int, int]]:
    """0-based i of dinucleotides (i, i+1) and (i+d, i+d+1) with 1-based i+1 <= 20 < i+d."""
    return [i - 1 for i in range(1, _CUT) if i + d > _CUT]


def _repair_reference(X: np.ndarray) -> np.ndarray:
    y = np.full(X.shape[0], _REPAIR_INTERCEPT)
    gc = _gc(X)
    for d, w in _MH1.items():
        for i, j in _mh1_pairs(d):
            y += w * (X[:, i] == X[:, j]) * (1.0 + _MH_GC_BONUS * gc[:, i])
    for d, w in _MH2.items():
        for i in _mh2_pairs(d):
            y += w * ((X[:, i] == X[:, i + d]) & (X[:, i + 1] == X[:, i + 1 + d]))
    for a, b, c in _HOMO_SETS:
        y += _HOMOPOLYMER * ((X[:, a] == X[:, b]) & (X[:, b] == X[:, c]))
    y += np.array([_INSERTION[a] for a in range(4)])[X[:, _CUT - 1]]
    return y


def _repair_terms() -> tuple[list[LocalTerm], float]:
    eq = np.eye(4)
    g = np.array([0.0, 1.0, 1.0, 0.0])
    terms: list[LocalTerm] = []
    for d, w in _MH1.items():
        for i, j in _mh1_pairs(d):
            terms.append(LocalTerm((i, j), w * eq * (1.0 + _MH_GC_BONUS * g)[:, None],
                                   f"microhomology {i + 1}={j + 1} (spacing {d})"))
    eq2 = np.einsum("ac,bd->abcd", eq, eq)  # x_i == x_{i+d} and x_{i+1} == x_{i+d+1}, axes (i, i+1, i+d, i+d+1)
    for d, w in _MH2.items():
        for i in _mh2_pairs(d):
            terms.append(LocalTerm((i, i + 1, i + d, i + d + 1), w * eq2,
                                   f"microhomology {i + 1}{i + 2}={i + d + 1}{i + d + 2} (spacing {d})"))
    eq3 = np.zeros((4, 4, 4))
    eq3[np.arange(4), np.arange(4), np.arange(4)] = 1.0
    for s in _HOMO_SETS:
        terms.append(LocalTerm(s, _HOMOPOLYMER * eq3, f"homopolymer {s[0] + 1}-{s[2] + 1}"))
    terms.append(LocalTerm((_CUT - 1,), np.array([_INSERTION[a] for a in range(4)]),
                           f"1-bp insertion (letter at {_CUT})"))
    return terms, _REPAIR_INTERCEPT


# ============================================================================================ (c) CNN
_CNN_N = 40
_CNN_CH = 16


def _cnn_weights() -> dict[str, np.ndarray]:
    c = _CNN_CH
    return {
        "conv1_w": (_det_normal("cnn/conv1_w", (c, 4, 7)) / np.sqrt(4 * 7) * 1.5).astype(np.float32),
        "conv1_b": (0.1 * _det_normal("cnn/conv1_b", (c,))).astype(np.float32),
        "conv2_w": (_det_normal("cnn/conv2_w", (c, c, 5)) / np.sqrt(c * 5) * 1.5).astype(np.float32),
        "conv2_b": (0.1 * _det_normal("cnn/conv2_b", (c,))).astype(np.float32),
        "dense_w": (_det_normal("cnn/dense_w", (c * (_CNN_N // 4), 1)) / np.sqrt(c * _CNN_N / 4)).astype(np.float32),
        "dense_b": np.array([0.0], dtype=np.float32),
    }


def _cnn_onnx() -> bytes:
    from onnx import TensorProto, helper, numpy_helper

    w = _cnn_weights()
    nodes = [
        helper.make_node("Conv", ["x", "conv1_w", "conv1_b"], ["h1"], pads=[3, 3], name="conv1"),
        helper.make_node("Relu", ["h1"], ["a1"], name="relu1"),
        helper.make_node("Conv", ["a1", "conv2_w", "conv2_b"], ["h2"], pads=[2, 2], name="conv2"),
        helper.make_node("Relu", ["h2"], ["a2"], name="relu2"),
        helper.make_node("MaxPool", ["a2"], ["p"], kernel_shape=[4], strides=[4], name="pool"),
        helper.make_node("Flatten", ["p"], ["f"], axis=1, name="flatten"),
        helper.make_node("Gemm", ["f", "dense_w", "dense_b"], ["activity"], name="dense"),
    ]
    doc = ("SHAP zero Studio demo 'cnn': Conv1d(4->16, k=7) ReLU, Conv1d(16->16, k=5) ReLU, MaxPool(4), "
           "Dense(160->1). Input one-hot (N, 4, 40), channels first (A, C, G, T). Random deterministic weights; "
           "dense Fourier spectrum, no ground truth.")
    graph = helper.make_graph(
        nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4, _CNN_N])],
        [helper.make_tensor_value_info("activity", TensorProto.FLOAT, ["N", 1])],
        [numpy_helper.from_array(v, k) for k, v in w.items()], doc_string=doc)
    return _finish(graph, "cnn", doc)


def _cnn_reference(X: np.ndarray) -> np.ndarray:
    """The same network in numpy (float64), for tests."""
    w = {k: v.astype(np.float64) for k, v in _cnn_weights().items()}
    x = np.eye(4)[X].transpose(0, 2, 1)  # (N, 4, L)

    def conv(x: np.ndarray, W: np.ndarray, b: np.ndarray, pad: int) -> np.ndarray:
        k = W.shape[2]
        xp = np.pad(x, ((0, 0), (0, 0), (pad, pad)))
        L = xp.shape[2] - k + 1
        win = np.stack([xp[:, :, i : i + L] for i in range(k)], axis=-1)  # (N, Cin, L, k)
        return np.einsum("nclk,ock->nol", win, W) + b[None, :, None]

    a1 = np.maximum(conv(x, w["conv1_w"], w["conv1_b"], 3), 0)
    a2 = np.maximum(conv(a1, w["conv2_w"], w["conv2_b"], 2), 0)
    p = a2.reshape(a2.shape[0], a2.shape[1], -1, 4).max(axis=3)
    return (p.reshape(p.shape[0], -1) @ w["dense_w"] + w["dense_b"])[:, 0]


# ============================================================================================ registry
_GUIDE_DESC = (
    "Guide-RNA on-target score, n = 26: 1-based positions 1-3 are 5' context, 4-23 the 20-nt spacer, 24-26 the "
    "PAM (NGG). Position-specific letters (GG of the PAM +1.0 each, G next to the PAM +0.45, C at 22 -0.30, ...), "
    "a GC-content window over positions 4-13 (-0.6 * ((GC - 5)/5)^2, best at 50% GC) and TT penalties (-0.3) for "
    "adjacent pairs in the seed (17-18 ... 22-23). Degree 2; the exact sparse spectrum is saved with it."
)
_REPAIR_DESC = (
    "DNA-repair outcome score (frameshift frequency), n = 40, Cas9 cut between positions 20 and 21. Microhomology "
    "across the cut: identical letters d apart on either side (1-based i <= 20 < i + d) lower the score for d = 3 "
    "(in-frame deletions) and raise it for d = 2 or 4 (frameshifts): single letters (order 2; G/C count 1.5x), "
    "dinucleotides (order 4), three identical letters at 19-21 or 20-22 (order 3, 1-bp indels), and the letter at "
    "position 20 (1-bp insertions: A/T up, G/C down). Exact sparse spectrum saved with it."
)
_CNN_DESC = (
    "A small convolutional network (two Conv1d + ReLU layers, max-pool, dense) with random deterministic "
    "weights, n = 40, one-hot input (N, 4, 40). Its Fourier spectrum is dense: no exact ground truth; a realistic "
    "stress case for the sketch."
)


def _build_guide() -> tuple[bytes, FourierSketch]:
    terms, const = _guide_terms()
    onnx_bytes = terms_onnx(terms, _GUIDE_N, 4, const, "NLQ", name="guide_rna", input_name="onehot",
                             output_name="on_target_score", output_2d=True, doc=_GUIDE_DESC)
    md = {"demo": "guide_rna", "ground_truth": "exact", "model_sha256": hashlib.sha256(onnx_bytes).hexdigest(),
          "description": _GUIDE_DESC}
    return onnx_bytes, terms_spectrum(terms, _GUIDE_N, DNA, const, md)


def _build_repair() -> tuple[bytes, FourierSketch]:
    terms, const = _repair_terms()
    onnx_bytes = terms_onnx(terms, _REPAIR_N, 4, const, "codes", name="repair", input_name="tokens",
                             output_name="frameshift_frequency", output_2d=False, doc=_REPAIR_DESC)
    md = {"demo": "repair", "ground_truth": "exact", "model_sha256": hashlib.sha256(onnx_bytes).hexdigest(),
          "description": _REPAIR_DESC}
    return onnx_bytes, terms_spectrum(terms, _REPAIR_N, DNA, const, md)


def _build_cnn() -> tuple[bytes, None]:
    return _cnn_onnx(), None


_BUILDERS: dict[str, Callable[[], tuple[bytes, FourierSketch | None]]] = {
    "guide_rna": _build_guide,
    "repair": _build_repair,
    "cnn": _build_cnn,
}


@functools.cache
def build_demo(name: str) -> tuple[bytes, FourierSketch | None]:
    """Build demo ``name`` in memory: (ONNX bytes, exact spectrum or None). Cached."""
    if name not in _BUILDERS:
        raise ValueError(f"no demo model {name!r}; demos: {', '.join(_BUILDERS)}")
    return _BUILDERS[name]()


@dataclass(frozen=True)
class Demo:
    """A demo model.

    Attributes
    ----------
    name : str
        ``"guide_rna"``, ``"repair"`` or ``"cnn"``; ``load_model("demo:<name>")`` loads it.
    title, description : str
    n : int
    alphabet : Alphabet
    layout : str
        Input layout of its ONNX graph.
    has_spectrum : bool
        Whether an exact spectrum exists.
    """

    name: str
    title: str
    description: str
    n: int
    alphabet: Alphabet
    layout: str
    has_spectrum: bool
    _reference: Callable[[np.ndarray], np.ndarray]

    @property
    def onnx_path(self) -> Path:
        """``demo_models/<name>.onnx`` (may not exist outside a source checkout)."""
        return DEMO_DIR / f"{self.name}.onnx"

    @property
    def spectrum_path(self) -> Path:
        """``demo_models/<name>.spectrum.npz``."""
        return DEMO_DIR / f"{self.name}.spectrum.npz"

    @property
    def source(self) -> str:
        """``"file"`` if the committed ONNX file is used, else ``"built"`` (rebuilt in memory)."""
        return "file" if self.onnx_path.is_file() else "built"

    def onnx_bytes(self) -> bytes:
        """The ONNX model bytes (the committed file, or a fresh build)."""
        if self.onnx_path.is_file():
            return self.onnx_path.read_bytes()
        return build_demo(self.name)[0]

    def load_model(self, **options: Any) -> Any:
        """The model as a :class:`~shapzero_core.models.OnnxModel` with spec ``demo:<name>``.

        ``options`` go to :class:`~shapzero_core.models.OnnxModel` (e.g. ``batch_size``, ``threads``).
        """
        return OnnxModel(self.onnx_bytes(), name=self.name, spec=f"demo:{self.name}", **options)

    def load_spectrum(self) -> FourierSketch | None:
        """The exact planted spectrum (None for the CNN)."""
        if not self.has_spectrum:
            return None
        if self.spectrum_path.is_file():
            return FourierSketch.load(self.spectrum_path)
        return build_demo(self.name)[1]

    def sequences(self, N: int = 1000, seed: int = 0) -> SequenceSet:
        """``N`` uniformly random sequences of the demo's length."""
        return random_sequences(N, self.n, self.alphabet, seed=seed)

    def reference(self, X: np.ndarray) -> np.ndarray:
        """The model written directly in numpy (independent of the ONNX graph and the spectrum): ``float64 (N,)``."""
        X = np.asarray(X).astype(np.intp)
        return self._reference(X)


_DEMOS = {
    "guide_rna": Demo("guide_rna", "Guide-RNA on-target score (n = 26)", _GUIDE_DESC, _GUIDE_N, DNA, "NLQ", True,
                      _guide_reference),
    "repair": Demo("repair", "DNA-repair outcome: microhomology across a cut (n = 40)", _REPAIR_DESC, _REPAIR_N, DNA,
                   "codes", True, _repair_reference),
    "cnn": Demo("cnn", "Small convolutional network, dense spectrum (n = 40)", _CNN_DESC, _CNN_N, DNA, "NQL", False,
                _cnn_reference),
}


def list_demos() -> list[Demo]:
    """Every demo model, in display order."""
    return list(_DEMOS.values())


def get_demo(name: str) -> Demo:
    """The demo called ``name`` (``guide_rna``, ``repair``, ``cnn``; ``-`` and case are ignored)."""
    key = name.strip().lower().replace("-", "_")
    if key not in _DEMOS:
        raise ValueError(f"no demo model {name!r}; demos: {', '.join(_DEMOS)}")
    return _DEMOS[key]


def write_demo_files(out_dir: str | os.PathLike[str]) -> list[Path]:
    """Build every demo and write ``<name>.onnx`` (and ``<name>.spectrum.npz`` + ``.json``) into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in _BUILDERS:
        data, spectrum = build_demo(name)
        p = out / f"{name}.onnx"
        p.write_bytes(data)
        written.append(p)
        if spectrum is not None:
            sp = spectrum.save(out / f"{name}.spectrum.npz")
            written += [sp, sp.with_suffix(".json")]
    return written


def _load_demo_spec(name: str, **options: Any) -> OnnxModel:
    """``load_model("demo:<name>")``: the demo's ONNX model (``options`` as for :meth:`Demo.load_model`)."""
    options.pop("name", None)
    options.pop("sha256", None)
    return get_demo(name).load_model(**options)


register_scheme("demo", _load_demo_spec, options=("n", "alphabet", "layout", "output", "task", "batch_size",
                                                  "threads", "sha256"),
                hint=f"'demo:<name>' ({', '.join(_DEMOS)})")
