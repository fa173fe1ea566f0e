"""(c) A tree-ensemble guide-efficiency model: scikit-learn gradient boosting on one-hot + dinucleotide features.

The kind of model published for CRISPR guide efficiency (Rule Set 2, DeepSpCas9's baselines): boosted
regression trees over position-specific letters and adjacent dinucleotides of a 30-nt target context.
Here it is trained on synthetic labels of 20,000 uniformly random sequences from a seeded ground-truth
function (``_labels``): a GC-content optimum (-1.2 ((GC - 0.55) / 0.2)^2), position-specific letters
(``0.25 N(0, 1)`` everywhere plus 5 strong ones, +-0.8), 4 letter-pair interactions (+-0.6), a TTTT
(Pol III terminator) penalty of -1.0, and label noise 0.3. Model: ``GradientBoostingRegressor(
n_estimators=250, max_depth=4, learning_rate=0.08, subsample=0.8, min_samples_leaf=20)``.

Features (``4 n + 16 (n - 1)``): one-hot ``x[:, p] == a`` at index ``4 p + a``; dinucleotide
``x[:, i] == a and x[:, i+1] == b`` at ``4 n + 16 i + 4 a + b``.

Files: sklearn's training is not guaranteed to be bit-identical across versions, so the seed-0 model is
committed in ``shapzero_core/zoo/data/``: ``tree_seed0.onnx`` (skl2onnx's TreeEnsembleRegressor composed
with the feature map by :func:`onnx.compose.merge_models`) and ``tree_seed0.npz`` (the same trees as
arrays, float64, and the ONNX file's sha256, checked on load). Other seeds are trained on first use
(needs the ``zoo`` extra: scikit-learn and skl2onnx). ``python -m shapzero_core.zoo.tree`` rewrites the
seed-0 files.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..alphabet import DNA
from .base import ZooModel, family_rng

__all__ = ["DATA_DIR", "TreeEnsemble", "train_tree", "tree_features", "write_tree_data"]

DATA_DIR = Path(__file__).resolve().parent / "data"
_N = 30
_TRAIN = 20_000
_GBR = {"n_estimators": 250, "max_depth": 4, "learning_rate": 0.08, "subsample": 0.8, "min_samples_leaf": 20}
_NOISE = 0.3
_C, _G, _T = 1, 2, 3


def _need_sklearn() -> tuple[Any, Any]:
    try:
        import skl2onnx
        import sklearn.ensemble
    except ImportError as e:
        raise ImportError(f"the zoo's tree family needs scikit-learn and skl2onnx to train a model ({e}); "
                          "install the extra: pip install 'shapzero-studio[zoo]'") from None
    return sklearn.ensemble, skl2onnx


def tree_features(X: np.ndarray) -> np.ndarray:
    """``float32 (N, 4 n + 16 (n - 1))``: one-hot letters, then one-hot adjacent dinucleotides."""
    X = np.asarray(X, dtype=np.intp)
    N, n = X.shape
    F = np.zeros((N, 4 * n + 16 * (n - 1)), dtype=np.float32)
    rows = np.arange(N)[:, None]
    F[rows, 4 * np.arange(n)[None] + X] = 1.0
    F[rows, 4 * n + 16 * np.arange(n - 1)[None] + 4 * X[:, :-1] + X[:, 1:]] = 1.0
    return F


def _truth_params(seed: int, n: int) -> dict[str, np.ndarray]:
    rng = family_rng("tree", seed, "labels")
    W = 0.25 * rng.standard_normal((n, 4))
    strong = rng.choice(n, size=5, replace=False)
    for p in strong:
        W[p, rng.integers(4)] += rng.choice([-0.8, 0.8])
    pairs = np.array([np.sort(rng.choice(n, size=2, replace=False)) for _ in range(4)])
    letters = rng.integers(0, 4, size=(4, 2))
    signs = rng.choice([-0.6, 0.6], size=4)
    return {"W": W, "pairs": pairs, "letters": letters, "signs": signs}


def _labels(X: np.ndarray, seed: int, noise: np.random.Generator | None, sd: float = _NOISE) -> np.ndarray:
    """The synthetic ground truth the trees are trained on."""
    n = X.shape[1]
    p = _truth_params(seed, n)
    y = p["W"][np.arange(n), X].sum(1)
    gc = ((X == _C) | (X == _G)).mean(1)
    y -= 1.2 * ((gc - 0.55) / 0.2) ** 2
    for (i, j), (a, b), s in zip(p["pairs"], p["letters"], p["signs"], strict=True):
        y += s * ((X[:, i] == a) & (X[:, j] == b))
    t = X == _T
    tttt = (t[:, :-3] & t[:, 1:-2] & t[:, 2:-1] & t[:, 3:]).any(1)
    y -= 1.0 * tttt
    if noise is not None:
        y += sd * noise.standard_normal(X.shape[0])
    return y


def _feature_onnx(n: int, opsets: dict[str, int], ir_version: int) -> Any:
    """ONNX graph: one-hot ``float32 (N, n, 4)`` -> the feature vector ``(N, 4 n + 16 (n - 1))``."""
    from onnx import TensorProto, helper, numpy_helper

    i64 = lambda name, v: numpy_helper.from_array(np.array(v, dtype=np.int64), name)  # noqa: E731
    nodes = [
        helper.make_node("Reshape", ["onehot", "flat_shape"], ["letters"], name="letter_features"),
        helper.make_node("Slice", ["onehot", "s0", "e0", "ax1"], ["left"], name="left_letter"),
        helper.make_node("Slice", ["onehot", "s1", "e1", "ax1"], ["right"], name="right_letter"),
        helper.make_node("Unsqueeze", ["left", "ax3"], ["left4"], name="left_column"),
        helper.make_node("Unsqueeze", ["right", "ax2"], ["right4"], name="right_row"),
        helper.make_node("Mul", ["left4", "right4"], ["pairs"], name="dinucleotide_outer_product"),
        helper.make_node("Reshape", ["pairs", "pair_shape"], ["dinucleotides"], name="dinucleotide_features"),
        helper.make_node("Concat", ["letters", "dinucleotides"], ["features_out"], axis=1, name="features"),
    ]
    inits = [i64("flat_shape", [-1, 4 * n]), i64("s0", [0]), i64("e0", [n - 1]), i64("s1", [1]), i64("e1", [n]),
             i64("ax1", [1]), i64("ax2", [2]), i64("ax3", [3]), i64("pair_shape", [-1, 16 * (n - 1)])]
    graph = helper.make_graph(
        nodes, "tree_features", [helper.make_tensor_value_info("onehot", TensorProto.FLOAT, ["N", n, 4])],
        [helper.make_tensor_value_info("features_out", TensorProto.FLOAT, ["N", 4 * n + 16 * (n - 1)])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()],
                             ir_version=ir_version)


def train_tree(seed: int = 0, n: int = _N, train_size: int = _TRAIN, label_noise: float = _NOISE,
               **gbr: Any) -> tuple[dict[str, np.ndarray], bytes]:
    """Train the ensemble and export it: (tree arrays, ONNX bytes). Needs the ``zoo`` extra.

    Parameters
    ----------
    seed : int
        Seeds the synthetic ground truth, the training sequences, the label noise and the boosting.
    n, train_size : int
        Sequence length (30) and training sequences (20,000).
    label_noise : float
        Standard deviation of the Gaussian label noise (0.3).
    **gbr
        Overrides of the ``GradientBoostingRegressor`` parameters (``n_estimators``, ``max_depth``...).

    Returns
    -------
    arrays : dict
        ``feature`` int32, ``threshold`` float64, ``left`` / ``right`` int32 (global node ids, -1 at
        leaves), ``value`` float64, ``roots`` int32 (one per tree), ``base`` (init + nothing) float64 (1,),
        ``learning_rate`` float64 (1,).
    onnx_bytes : bytes
        One-hot ``float32 (N, n, 4)`` -> ``float32 (N, 1)``.
    """
    ens, skl2onnx = _need_sklearn()
    from onnx import checker, compose, helper
    from skl2onnx.common.data_types import FloatTensorType

    params = {**_GBR, **gbr}
    rng = family_rng("tree", seed, "train")
    X = rng.integers(0, 4, size=(train_size, n), dtype=np.int8)
    y = _labels(X.astype(np.intp), seed, rng, label_noise)
    F = tree_features(X)
    est = ens.GradientBoostingRegressor(random_state=int(seed), **params).fit(F, y)
    feats, thr, left, right, val, roots = [], [], [], [], [], []
    off = 0
    for t in est.estimators_[:, 0]:
        tr = t.tree_
        roots.append(off)
        leaf = tr.children_left < 0
        feats.append(np.where(leaf, -1, tr.feature).astype(np.int32))
        thr.append(tr.threshold.astype(np.float64))
        left.append(np.where(leaf, -1, tr.children_left + off).astype(np.int32))
        right.append(np.where(leaf, -1, tr.children_right + off).astype(np.int32))
        val.append(tr.value[:, 0, 0].astype(np.float64))
        off += tr.node_count
    arrays = {"feature": np.concatenate(feats), "threshold": np.concatenate(thr), "left": np.concatenate(left),
              "right": np.concatenate(right), "value": np.concatenate(val), "roots": np.array(roots, np.int32),
              "base": np.array([float(np.ravel(est.init_.constant_)[0])]),
              "learning_rate": np.array([float(est.learning_rate)])}
    ref = _evaluate(arrays, F[:2000].astype(np.float64))
    if not np.allclose(ref, est.predict(F[:2000]), rtol=0, atol=1e-9):  # pragma: no cover - sklearn changed
        raise RuntimeError("the extracted tree arrays do not reproduce GradientBoostingRegressor.predict")
    opsets = {"": 17, "ai.onnx.ml": 3}
    trees = skl2onnx.convert_sklearn(est, "gbr", initial_types=[("features", FloatTensorType([None, F.shape[1]]))],
                                     target_opset=opsets)
    feat = _feature_onnx(n, {o.domain: o.version for o in trees.opset_import}, trees.ir_version)
    model = compose.merge_models(feat, trees, io_map=[("features_out", "features")], name="tree",
                                 producer_name="shapzero-studio zoo", producer_version="1")
    out = model.graph.output[0].name
    doc = (f"SHAP zero Studio zoo 'tree' (seed {seed}): GradientBoostingRegressor({params}) on one-hot + "
           f"dinucleotide features of a {n}-nt DNA sequence; input one-hot (N, {n}, 4) A,C,G,T; output {out}.")
    model.doc_string = doc
    helper.set_model_props(model, {"shapzero.model": "tree", "shapzero.alphabet": "ACGT"})
    checker.check_model(model, full_check=True)
    return arrays, model.SerializeToString(deterministic=True)


def _evaluate(arrays: dict[str, np.ndarray], F: np.ndarray) -> np.ndarray:
    """float64 evaluation of the ensemble on features ``F (N, d)``."""
    feat, thr, left, right, val = (arrays[k] for k in ("feature", "threshold", "left", "right", "value"))
    N = F.shape[0]
    rows = np.arange(N)
    total = np.zeros(N)
    for root in arrays["roots"]:
        node = np.full(N, root, dtype=np.int64)
        while True:
            f = feat[node]
            inner = f >= 0
            if not inner.any():
                break
            go_left = F[rows, np.where(inner, f, 0)] <= thr[node]
            node = np.where(inner, np.where(go_left, left[node], right[node]), node)
        total += val[node]
    return float(arrays["base"][0]) + float(arrays["learning_rate"][0]) * total


def write_tree_data(out_dir: Path = DATA_DIR, seed: int = 0) -> list[Path]:
    """Train the seed's model and write ``tree_seed<seed>.onnx`` and ``.npz`` (arrays + header)."""
    import skl2onnx
    import sklearn

    arrays, data = train_tree(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    header = {"seed": seed, "n": _N, "train_size": _TRAIN, "gbr": _GBR, "onnx_sha256": hashlib.sha256(data).hexdigest(),
              "sklearn": sklearn.__version__, "skl2onnx": skl2onnx.__version__}
    po = out_dir / f"tree_seed{seed}.onnx"
    po.write_bytes(data)
    buf = io.BytesIO()
    np.savez_compressed(buf, header=np.frombuffer(json.dumps(header, sort_keys=True).encode(), np.uint8), **arrays)
    pn = out_dir / f"tree_seed{seed}.npz"
    pn.write_bytes(buf.getvalue())
    return [po, pn]


def _load_committed(seed: int) -> tuple[dict[str, np.ndarray], bytes, dict[str, Any]] | None:
    po, pn = DATA_DIR / f"tree_seed{seed}.onnx", DATA_DIR / f"tree_seed{seed}.npz"
    if not (po.is_file() and pn.is_file()):
        return None
    data = po.read_bytes()
    with np.load(pn, allow_pickle=False) as z:
        header = json.loads(bytes(z["header"]).decode())
        arrays = {k: z[k] for k in z.files if k != "header"}
    if header.get("onnx_sha256") != hashlib.sha256(data).hexdigest():
        raise ValueError(f"{po}: sha256 differs from the one recorded in {pn.name}: the files do not belong "
                         "together; rewrite them with python -m shapzero_core.zoo.tree")
    return arrays, data, header


class TreeEnsemble(ZooModel):
    """Gradient-boosted regression trees (guide efficiency) on one-hot + dinucleotide features, n = 30.

    Its call runs the ONNX graph (onnxruntime's tree ensemble, float32 leaves: ~20x faster than a numpy
    walk over the trees); :meth:`reference` walks the same trees in numpy (float64).

    Parameters
    ----------
    seed : int
        Seed 0 loads the committed files; any other seed trains a model (needs the ``zoo`` extra).
    """

    family = "tree"
    query_note = "uniformly random sequences"

    def __init__(self, seed: int = 0) -> None:
        loaded = _load_committed(seed)
        if loaded is None:
            arrays, data = train_tree(seed)
            header: dict[str, Any] = {"source": "trained now"}
        else:
            arrays, data, header = loaded
        self.arrays = arrays
        self._data = data
        self.header = header
        super().__init__(_N, DNA, seed, {"gbr": _GBR, "train_size": _TRAIN}, hashlib.sha256(data).hexdigest()[:16])
        ntree = len(arrays["roots"])
        self.title = f"Tree ensemble, guide efficiency (n = {_N})"
        self.description = (
            f"A guide-efficiency model as published for CRISPR screens: {ntree} gradient-boosted regression trees "
            f"(depth {_GBR['max_depth']}) over one-hot letters and adjacent dinucleotides of a {_N}-nt target "
            f"context, trained on {_TRAIN:,} sequences with synthetic labels (GC-content optimum, position-specific "
            "letters, 4 letter-pair interactions, a TTTT penalty). Dense spectrum: no exact truth."
        )

    @functools.cached_property
    def _onnx(self):
        from ..models import OnnxModel

        return OnnxModel(self._data, name="tree")

    def _predict(self, X: np.ndarray) -> np.ndarray:
        return self._onnx(X.astype(np.int8))

    def reference(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.intp)
        out = np.empty(X.shape[0])
        for s in range(0, X.shape[0], 20_000):
            out[s : s + 20_000] = _evaluate(self.arrays, tree_features(X[s : s + 20_000]).astype(np.float64))
        return out

    def to_onnx(self) -> bytes:
        """Feature map (Reshape, Slice, Mul, Concat) composed with skl2onnx's TreeEnsembleRegressor:
        one-hot ``float32 (N, 30, 4)`` -> ``float32 (N, 1)``."""
        return self._data


if __name__ == "__main__":  # pragma: no cover - maintenance
    for p in write_tree_data():
        print("wrote", p)
