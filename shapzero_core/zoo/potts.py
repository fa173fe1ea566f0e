"""(d) and (f): Potts models (fields + pairwise couplings, a few order-3 terms): exact spectra known.

``f(x) = sum_i h_i(x_i) + sum_{(i,j)} J_ij(x_i, x_j) + sum_{(i,j,k)} K_ijk(x_i, x_j, x_k)``: the energy of a
sequence under a Potts model (what DCA / EVcouplings / GREMLIN fit to an alignment; here it is a dense
pairwise model over all pairs for DNA, a sparse contact map for proteins). Every term is a local table
(:class:`shapzero_core.demos.LocalTerm`), so the exact Fourier spectrum is the sum of the tables' own small
transforms (:func:`shapzero_core.demos.terms_spectrum`) and the ONNX graph looks the tables up
(:func:`shapzero_core.demos.terms_onnx`).

``potts`` (DNA, n = 30): fields ``h_i(a) ~ 0.5 N(0, 1)``; couplings on all 435 pairs,
``J_ij(a, b) ~ 0.35 exp(-(|i - j| - 1) / 3) N(0, 1)`` (neighbours strongest, decaying with distance);
5 order-3 terms on triples spanning at most 6 positions, ``K ~ 0.3 N(0, 1)``.

``protein_potts`` (protein, q = 20, n = 50): fields ``h_i(a) ~ N(0, 1)``; couplings on a contact map of the
near-diagonal pairs ``(i, i+1), (i, i+2), (i, i+3)`` (``J ~ 0.2 N(0, 1)``) and 25 long-range contacts
``|i - j| >= 6`` (``J ~ 0.3 N(0, 1)``).
"""

from __future__ import annotations

import functools

import numpy as np

from ..alphabet import DNA, PROTEIN, Alphabet
from ..demos import LocalTerm, terms_onnx, terms_spectrum
from ..fourier import FourierSketch
from .base import PRODUCER, ZooModel, family_rng, params_digest

__all__ = ["Potts", "ProteinPotts"]


class _TermsModel(ZooModel):
    """A sum of local tables."""

    truth_method = "exact"

    def __init__(self, terms: list[LocalTerm], n: int, alphabet: Alphabet, seed: int, params: dict) -> None:
        self.terms = terms
        layout = np.array([p for t in terms for p in (*t.positions, -1)], dtype=np.int64)
        super().__init__(n, alphabet, seed, params, params_digest(layout, *[t.table for t in terms]))

    def _predict(self, X: np.ndarray) -> np.ndarray:
        y = np.zeros(X.shape[0])
        for t in self.terms:
            y += t(X)
        return y

    @functools.cached_property
    def _sketch(self) -> FourierSketch:
        return terms_spectrum(self.terms, self.n, self.alphabet, 0.0,
                              {"zoo": self.family, "seed": self.seed, "identity": self.identity})

    _what = ""

    @functools.cached_property
    def description(self) -> str:  # type: ignore[override]
        """What the model is, with its exact spectrum's size and energy by order (computed on first use)."""
        sk = self.exact_sketch()
        e = sk.energy_by_order()
        tot = sum(v for k, v in e.items() if k > 0)
        return (f"{self._what} Exact spectrum: {sk.num_coefficients - 1:,} non-zero coefficients; variance by "
                "order " + ", ".join(f"{k}: {100 * v / tot:.0f}%" for k, v in sorted(e.items()) if k > 0) + ".")

    def exact_sketch(self) -> FourierSketch:
        """Exact spectrum (sum of the tables' transforms)."""
        return self._sketch

    def to_onnx(self) -> bytes:
        """One-hot ``float32 (N, n, q)`` -> table indices (MatMul) -> Gather -> ReduceSum -> ``float64 (N,)``."""
        return terms_onnx(self.terms, self.n, self.alphabet.q, 0.0, "NLQ", name=self.family, input_name="onehot",
                          output_name="energy", output_2d=False, doc=self.description,
                          letters=self.alphabet.letters, producer=PRODUCER)


class Potts(_TermsModel):
    """Dense pairwise Potts model over DNA (all pairs, couplings decaying with distance) + order-3 terms.

    Parameters
    ----------
    seed : int
    n : int
        Sequence length (default 30; tests use small variants of the same generator).
    triples : int
        Number of order-3 terms (default 5).
    """

    family = "potts"

    def __init__(self, seed: int = 0, n: int = 30, triples: int = 5) -> None:
        rng = family_rng(self.family, seed)
        terms = [LocalTerm((i,), 0.5 * rng.standard_normal(4), f"field {i + 1}") for i in range(n)]
        for i in range(n):
            for j in range(i + 1, n):
                s = 0.35 * np.exp(-(j - i - 1) / 3.0)
                terms.append(LocalTerm((i, j), s * rng.standard_normal((4, 4)), f"coupling {i + 1},{j + 1}"))
        made: set[tuple[int, ...]] = set()
        while len(made) < min(triples, max(0, n - 2)):
            i = int(rng.integers(0, n - 2))
            rest = np.sort(rng.choice(np.arange(i + 1, min(n, i + 7)), size=2, replace=False))
            key = (i, int(rest[0]), int(rest[1]))
            if key in made:
                continue
            made.add(key)
            terms.append(LocalTerm(key, 0.3 * rng.standard_normal((4, 4, 4)),
                                   f"triple {key[0] + 1},{key[1] + 1},{key[2] + 1}"))
        super().__init__(terms, n, DNA, seed, {"n": n, "triples": triples})
        self.title = f"Dense pairwise Potts model (n = {n}, all {n * (n - 1) // 2} pairs)"
        self._what = (
            f"A dense pairwise (Potts) energy over DNA, n = {n}: fields on every position, couplings on all "
            f"{n * (n - 1) // 2} pairs decaying with distance (exp(-(|i-j|-1)/3)), plus {len(made)} order-3 "
            "terms.")


class ProteinPotts(_TermsModel):
    """Protein Potts model (q = 20): fields + couplings on a sparse contact map.

    Parameters
    ----------
    seed : int
    n : int
        Sequence length (default 50).
    long_range : int
        Long-range contacts ``|i - j| >= 6`` (default 25).
    """

    family = "protein_potts"

    def __init__(self, seed: int = 0, n: int = 50, long_range: int = 25) -> None:
        rng = family_rng(self.family, seed)
        q = PROTEIN.q
        terms = [LocalTerm((i,), rng.standard_normal(q), f"field {i + 1}") for i in range(n)]
        pairs = [(i, i + d) for d in (1, 2, 3) for i in range(n - d)]
        far: set[tuple[int, int]] = set()
        cand = [(i, j) for i in range(n) for j in range(i + 6, n)]
        if cand:
            pick = rng.choice(len(cand), size=min(long_range, len(cand)), replace=False)
            far = {cand[int(p)] for p in pick}
        for i, j in sorted(pairs):
            terms.append(LocalTerm((i, j), 0.2 * rng.standard_normal((q, q)), f"contact {i + 1},{j + 1}"))
        for i, j in sorted(far):
            terms.append(LocalTerm((i, j), 0.3 * rng.standard_normal((q, q)), f"long-range contact {i + 1},{j + 1}"))
        super().__init__(terms, n, PROTEIN, seed, {"n": n, "long_range": long_range})
        self.title = f"Protein Potts model (q = 20, n = {n}, contact map)"
        self._what = (
            f"A protein Potts (DCA-like) energy, q = 20, n = {n}: fields on every position and couplings on a "
            f"contact map of {len(pairs)} near-diagonal pairs (i, i+1..i+3) and {len(far)} long-range contacts "
            "(|i-j| >= 6).")
