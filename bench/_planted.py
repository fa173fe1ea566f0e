"""A random sparse spectrum for the benchmarks (shared by the bench scripts; run them from the repository
root: ``python bench/<script>.py`` puts this folder on the import path)."""

from __future__ import annotations

import numpy as np

from shapzero_core import DNA, FourierSketch

__all__ = ["random_sketch"]


def random_sketch(n: int, K: int, q: int = 4, max_order: int = 5, seed: int = 0) -> FourierSketch:
    """Exactly K distinct coefficients (K/2 conjugate pairs: a real model) of orders 1..max_order at random
    positions, letters and values; deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    seen: set[bytes] = set()
    locs, coefs = [], []
    while len(locs) < K:
        d = int(rng.integers(1, max_order + 1))
        k = np.zeros(n, dtype=np.int8)
        k[rng.choice(n, size=d, replace=False)] = rng.integers(1, q, size=d)
        kc = ((-k.astype(np.int16)) % q).astype(np.int8)
        if k.tobytes() in seen or kc.tobytes() in seen or np.array_equal(k, kc):
            continue
        seen.update((k.tobytes(), kc.tobytes()))
        c = complex(rng.normal(), rng.normal()) / d
        locs += [k, kc]
        coefs += [c, c.conjugate()]
    return FourierSketch(np.array(locs), np.array(coefs), DNA)
