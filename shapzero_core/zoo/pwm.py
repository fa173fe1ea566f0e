"""(a) Transcription-factor motif scans: a log-odds PWM scored over every offset of both strands.

``pwm_max`` is the best site's score (max over offsets and strands, what FIMO / MOODS report as the best
hit); ``pwm_lse`` is a soft occupancy, ``log2 sum_{offset, strand} 2^{score}`` (the log of the summed
binding odds of every site). Both are in bits.

Parameters drawn from the seed (``family_rng(family, seed)``):

* the motif profile ``p_j`` (``width`` x 4): a central core of ``round(0.6 width)`` positions with
  ``p_j ~ Dirichlet(0.25)`` (sharp, ~1.3 bits each on average) and flanks with ``Dirichlet(1.5)`` (weak);
* log-odds ``W[j, a] = log2(p'_j(a) / 0.25)`` with ``p' = (p + 0.02) / 1.08`` (pseudocount: scores in
  about [-3.8, 1.9] bits per position);
* the minus strand scores the reverse complement: ``W_rc[j, a] = W[w - 1 - j, 3 - a]`` (A<->T, C<->G).
"""

from __future__ import annotations

import functools

import numpy as np

from ..alphabet import DNA
from .base import ZooModel, family_rng, finish_onnx, params_digest

__all__ = ["PwmScan"]

_PSEUDO = 0.02
_CHUNK = 4  # site scores are summed from 4-mer tables
_CORE_ALPHA = 0.25
_FLANK_ALPHA = 1.5


class PwmScan(ZooModel):
    """A PWM scanned over both strands: max (``pwm_max``) or log-sum-exp (``pwm_lse``) over the sites.

    Parameters
    ----------
    seed : int
    width : int
        Motif width, 8-19 (``pwm_max`` default 19, ``pwm_lse`` default 12).
    n : int
        Sequence length (default 40).
    pool : {"max", "lse"}
    """

    truth_method = "permutation-mc"
    query_note = ("half uniformly random, half with one site drawn from the motif's profile planted at a "
                  "random offset and strand (first half random, second half planted)")

    def __init__(self, seed: int = 0, width: int = 19, n: int = 40, pool: str = "max") -> None:
        if pool not in ("max", "lse"):
            raise ValueError(f"pool must be 'max' or 'lse', got {pool!r}")
        if not 2 <= width <= n:
            raise ValueError(f"motif width must be in [2, n={n}], got {width}")
        self.family = f"pwm_{pool}"
        self.pool = pool
        self.width = int(width)
        rng = family_rng(self.family, seed)
        core = round(0.6 * width)
        lo = (width - core) // 2
        alpha = np.full(width, _FLANK_ALPHA)
        alpha[lo : lo + core] = _CORE_ALPHA
        prof = np.stack([rng.dirichlet(np.full(4, a)) for a in alpha])  # (w, 4)
        self.profile = prof
        self.W = np.log2((prof + _PSEUDO) / (1 + 4 * _PSEUDO) / 0.25)
        self.W_rc = self.W[::-1, ::-1].copy()  # reverse complement (A,C,G,T -> T,G,C,A is code 3 - a)
        super().__init__(n, DNA, seed, {"width": self.width, "pool": pool}, params_digest(self.W))
        ic = float((prof * np.log2(np.maximum(prof, 1e-300) / 0.25)).sum())
        what = ("the best site's score (max over offsets and strands)" if pool == "max" else
                "the soft occupancy log2 sum 2^score over every offset and strand")
        self.title = f"PWM scan, {'max' if pool == 'max' else 'log-sum-exp'} (n = {n}, motif width {width})"
        self.description = (
            f"A transcription-factor motif scan: a {width}-nt log-odds PWM (information content {ic:.1f} bits; "
            f"a sharp core of {core} positions and weak flanks) scored at all {n - width + 1} offsets on both "
            f"strands of a {n}-nt sequence; the output is {what}, in bits. Consensus site score "
            f"{self.W.max(1).sum():.1f} bits."
        )

    # ------------------------------------------------------------------ model
    def site_scores(self, X: np.ndarray) -> np.ndarray:
        """``float64 (N, 2, n - w + 1)``: every site's score (strand +, strand -)."""
        X = np.asarray(X, dtype=np.intp)
        N, L = X.shape[0], self.n - self.width + 1
        k = min(_CHUNK, self.width)
        code = np.zeros((N, self.n - k + 1), dtype=np.intp)  # code of the k-mer starting at each position
        for j in range(k):
            code = code * 4 + X[:, j : j + self.n - k + 1]
        out = np.zeros((N, 2, L))
        for c, (t, t_rc) in enumerate(self._chunk_tables):
            s = c * k
            if s + k <= self.width:
                out[:, 0] += t[code[:, s : s + L]]
                out[:, 1] += t_rc[code[:, s : s + L]]
            else:  # a last, shorter chunk: position by position
                for j in range(s, self.width):
                    out[:, 0] += self.W[j][X[:, j : j + L]]
                    out[:, 1] += self.W_rc[j][X[:, j : j + L]]
        return out

    @functools.cached_property
    def _chunk_tables(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Scores of every k-mer (k = 4) at each chunk of the motif, for both strands: ``float64 (4^k,)``."""
        k = min(_CHUNK, self.width)
        kmers = np.array(np.unravel_index(np.arange(4**k), (4,) * k)).T  # (4^k, k), first letter most significant
        out = []
        for s in range(0, self.width, k):
            if s + k <= self.width:
                out.append((self.W[np.arange(s, s + k), kmers].sum(1), self.W_rc[np.arange(s, s + k), kmers].sum(1)))
            else:
                out.append((np.zeros(0), np.zeros(0)))
        return out

    def reference(self, X: np.ndarray) -> np.ndarray:
        """The definition, position by position (the call sums 4-mer tables instead)."""
        X = np.asarray(X, dtype=np.intp)
        L = self.n - self.width + 1
        s = np.zeros((X.shape[0], 2, L))
        for j in range(self.width):
            s[:, 0] += self.W[j][X[:, j : j + L]]
            s[:, 1] += self.W_rc[j][X[:, j : j + L]]
        return self._pool(s)

    def _predict(self, X: np.ndarray) -> np.ndarray:
        return self._pool(self.site_scores(X))

    def _pool(self, s: np.ndarray) -> np.ndarray:
        s = s.reshape(s.shape[0], -1)
        if self.pool == "max":
            return s.max(1)
        m = s.max(1, keepdims=True)
        return (m[:, 0] + np.log2(np.exp2(s - m).sum(1)))

    def to_onnx(self) -> bytes:
        """One-hot ``float32 (N, 4, n)`` -> Conv (2 kernels: both strands) -> ReduceMax or
        ReduceLogSumExp (on scores scaled to nats, then back to bits) -> ``float32 (N,)``."""
        from onnx import TensorProto, helper, numpy_helper

        ln2 = float(np.log(2.0))
        kern = np.stack([self.W.T, self.W_rc.T])  # (2, 4, w): out channel, in channel (letter), offset
        if self.pool == "max":
            nodes = [helper.make_node("Conv", ["onehot", "pwm"], ["sites"], name="scan_both_strands"),
                     helper.make_node("ReduceMax", ["sites"], ["score"], axes=[1, 2], keepdims=0, name="best_site")]
            w = kern
        else:
            nodes = [helper.make_node("Conv", ["onehot", "pwm"], ["sites_nats"], name="scan_both_strands"),
                     helper.make_node("ReduceLogSumExp", ["sites_nats"], ["lse_nats"], axes=[1, 2], keepdims=0,
                                      name="soft_occupancy"),
                     helper.make_node("Div", ["lse_nats", "ln2"], ["score"], name="nats_to_bits")]
            w = kern * ln2
        inits = [numpy_helper.from_array(w.astype(np.float32), "pwm")]
        if self.pool == "lse":
            inits.append(numpy_helper.from_array(np.array(ln2, dtype=np.float32), "ln2"))
        graph = helper.make_graph(
            nodes, self.family, [helper.make_tensor_value_info("onehot", TensorProto.FLOAT, ["N", 4, self.n])],
            [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N"])], inits, doc_string=self.description)
        return finish_onnx(graph, self.family, self.description, self.alphabet.letters, opsets={"": 13})

    # ------------------------------------------------------------------ queries
    def _queries(self, N: int) -> tuple[np.ndarray, list[str]]:
        rng = family_rng(self.family, self.seed, "queries")
        X = rng.integers(0, 4, size=(N, self.n), dtype=np.int8)
        labels = ["random"] * N
        for i in range(N // 2, N):
            site = np.array([rng.choice(4, p=p) for p in self.profile], dtype=np.int8)
            minus = bool(rng.integers(2))
            if minus:
                site = (3 - site[::-1]).astype(np.int8)
            off = int(rng.integers(0, self.n - self.width + 1))
            X[i, off : off + self.width] = site
            labels[i] = f"site at {off + 1} ({'-' if minus else '+'})"
        return X, labels

    def query_sequences(self, N: int = 30) -> np.ndarray:
        return self._queries(N)[0]

    def query_labels(self, N: int = 30) -> list[str]:
        return self._queries(N)[1]
