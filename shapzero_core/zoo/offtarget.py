"""(b) A CFD-like off-target score around a fixed guide: a product of per-position mismatch penalties.

``f(x) = prod_i g_i(x_i)`` with ``g_i(guide_i) = 1`` and ``g_i(a) = p_i(guide_i -> a)`` for a mismatch: the
cutting frequency of a target ``x`` relative to the perfect match (1.0), as in the CFD score (Doench et
al. 2016). Positions 1-20 are the protospacer (5' -> 3'; the PAM-proximal "seed", positions 9-20, is
much stronger); with ``pam=True`` (default) positions 21-23 are the PAM ``NGG`` (N free; a non-G at 22 or
23 costs ``_PAM_PENALTY``, e.g. ``NAG`` 0.26).

Parameters drawn from the seed:

* the guide: 20 uniformly random letters;
* a position base penalty ``b_i``: positions 1-8 (PAM-distal) uniform in [0.55, 0.9]; seed positions 9-20
  falling geometrically from about 0.45 to 0.05 next to the PAM, times a uniform [0.8, 1.25] jitter;
* the letter pair: transitions (A<->G, C<->T; e.g. the rG:dT wobble) mild, ``p = b_i^0.6``; transversions
  ``p = b_i^1.3``; times a log-normal jitter (sd 0.2) per (position, letter), clipped to [0.005, 1].

The SHAP game is a product game, ``v_x(S) = prod_{i in S} g_i(x_i) prod_{i not in S} mean_a g_i(a)``, so
exact Shapley values have a closed form (:func:`shapzero_core.zoo.games.product_game_shap`); the Fourier
spectrum is dense (every order), which is what makes this model hard for a sparse sketch.
"""

from __future__ import annotations

import numpy as np

from ..alphabet import DNA
from .base import ZooModel, family_rng, finish_onnx, params_digest
from .games import product_game_shap

__all__ = ["OffTarget"]

_PAM_PENALTY = {1: {0: 0.26, 1: 0.11, 3: 0.02}, 2: {0: 0.07, 1: 0.03, 3: 0.02}}  # PAM position (0-based in PAM)
_TRANSITION = {(0, 2), (2, 0), (1, 3), (3, 1)}
_MISMATCH_COUNTS = (0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 6)


class OffTarget(ZooModel):
    """Multiplicative mismatch-penalty off-target model (CFD-like) around a fixed guide.

    Parameters
    ----------
    seed : int
    pam : bool
        Add the ``NGG`` PAM positions 21-23 (n = 23) or not (n = 20).
    """

    family = "offtarget"
    truth_method = "exact"
    query_note = ("near-guide targets: the guide (+ NGG PAM) with 0-6 mismatches at random positions "
                  "(20 sequences, two of them with an NAG PAM), plus uniformly random sequences")

    def __init__(self, seed: int = 0, pam: bool = True) -> None:
        rng = family_rng(self.family, seed)
        L = 20
        self.guide = rng.integers(0, 4, size=L).astype(np.int8)
        base = np.empty(L)
        base[:8] = rng.uniform(0.55, 0.9, size=8)
        base[8:] = np.geomspace(0.45, 0.05, 12) * rng.uniform(0.8, 1.25, size=12)
        G = np.ones((L, 4))
        for i in range(L):
            for a in range(4):
                if a == self.guide[i]:
                    continue
                e = 0.6 if (int(self.guide[i]), a) in _TRANSITION else 1.3
                G[i, a] = np.clip(base[i] ** e * np.exp(0.2 * rng.standard_normal()), 0.005, 1.0)
        if pam:
            P = np.ones((3, 4))
            for j, pen in _PAM_PENALTY.items():
                for a, v in pen.items():
                    P[j, a] = v
            G = np.concatenate([G, P])
        self.G = G  # (n, 4): g_i(a)
        self.pam = bool(pam)
        n = G.shape[0]
        super().__init__(n, DNA, seed, {"pam": self.pam}, params_digest(G, self.guide))
        g = DNA.decode(self.guide[None])[0]
        self.title = f"Off-target score, CFD-like (n = {n})"
        self.description = (
            f"An off-target (cutting-frequency) score of a Cas9 target against the fixed guide {g}"
            f"{' + NGG PAM' if pam else ''}: the product over mismatched positions of a penalty that depends on "
            f"the position (PAM-distal 1-8: {G[:8][G[:8] < 1].mean():.2f} on average; seed 9-20: "
            f"{G[8:20][G[8:20] < 1].mean():.2f}, down to {G[19][G[19] < 1].min():.3f} next to the PAM) and on the "
            "mismatch (transitions milder than transversions)"
            + ("; a non-G at PAM positions 22/23 costs 0.02-0.26 (NAG 0.26)" if pam else "") +
            ". 1.0 = the perfect match; a random sequence scores ~1e-9."
        )

    @property
    def target(self) -> np.ndarray:
        """``int8 (n,)``: the perfect-match target (the guide, plus the PAM ``AGG`` when ``pam``)."""
        t = self.guide
        if self.pam:
            t = np.concatenate([t, np.array([0, 2, 2], dtype=np.int8)])
        return t

    def _predict(self, X: np.ndarray) -> np.ndarray:
        return np.prod(self.G[np.arange(self.n), X], axis=1)

    def exact_shap(self, X: np.ndarray) -> np.ndarray:
        """Closed form of the product game (:func:`~shapzero_core.zoo.games.product_game_shap`)."""
        X = np.asarray(X, dtype=np.intp)
        return product_game_shap(self.G[np.arange(self.n), X], self.G.mean(1))

    def to_onnx(self) -> bytes:
        """One-hot ``float32 (N, n, 4)`` -> Reshape -> MatMul with the log penalties -> Exp -> ``float32 (N,)``."""
        from onnx import TensorProto, helper, numpy_helper

        logG = np.log(self.G).reshape(self.n * 4, 1).astype(np.float32)
        nodes = [
            helper.make_node("Reshape", ["onehot", "flat_shape"], ["flat"], name="flatten_one_hot"),
            helper.make_node("MatMul", ["flat", "log_penalty"], ["log_score_2d"], name="sum_log_penalties"),
            helper.make_node("Reshape", ["log_score_2d", "out_shape"], ["log_score"], name="to_vector"),
            helper.make_node("Exp", ["log_score"], ["score"], name="product_of_penalties"),
        ]
        inits = [numpy_helper.from_array(np.array([-1, self.n * 4], dtype=np.int64), "flat_shape"),
                 numpy_helper.from_array(logG, "log_penalty"),
                 numpy_helper.from_array(np.array([-1], dtype=np.int64), "out_shape")]
        graph = helper.make_graph(
            nodes, self.family, [helper.make_tensor_value_info("onehot", TensorProto.FLOAT, ["N", self.n, 4])],
            [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N"])], inits, doc_string=self.description)
        return finish_onnx(graph, self.family, self.description, self.alphabet.letters, opsets={"": 13})

    def _queries(self, N: int) -> tuple[np.ndarray, list[str]]:
        rng = family_rng(self.family, self.seed, "queries")
        near = min(N, len(_MISMATCH_COUNTS)) if N >= 4 else N
        X = rng.integers(0, 4, size=(N, self.n), dtype=np.int8)
        labels = ["random"] * N
        for r in range(near):
            x = self.target.copy()
            if self.pam:
                x[20] = rng.integers(0, 4)
                if r in (4, 12):  # two NAG sites
                    x[21] = 0
            m = _MISMATCH_COUNTS[r % len(_MISMATCH_COUNTS)]
            pos = rng.choice(20, size=m, replace=False)
            x[pos] = (x[pos] + rng.integers(1, 4, size=m)) % 4
            X[r] = x
            labels[r] = f"{m} mismatch{'es' if m != 1 else ''}" + (" (NAG)" if self.pam and x[21] == 0 else "")
        return X, labels

    def query_sequences(self, N: int = 30) -> np.ndarray:
        return self._queries(N)[0]

    def query_labels(self, N: int = 30) -> list[str]:
        return self._queries(N)[1]

