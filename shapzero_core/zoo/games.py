"""Shapley values of the uniform-background game ``v_x(S) = E_z f(x_S, z_rest)`` without a Fourier sketch:
brute force (tiny models), the product-game closed form, and permutation Monte Carlo (ground truth).

Shapley value: ``phi_j = sum_{S ⊆ N \\ j} |S|! (n - 1 - |S|)! / n! (v(S ∪ j) - v(S))``.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["MonteCarloShap", "brute_force_shap", "permutation_shap", "product_game_shap", "shapley_weights"]


def shapley_weights(n: int) -> np.ndarray:
    """``float64 (n,)``: ``w[s] = s! (n - 1 - s)! / n!``, the weight of a coalition of size ``s``."""
    return np.array([math.factorial(s) * math.factorial(n - 1 - s) / math.factorial(n) for s in range(n)])


def brute_force_shap(table: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Exact SHAP values of one sequence by enumeration of all ``2^n`` coalitions and ``q^n`` sequences.

    Parameters
    ----------
    table : numpy.ndarray
        ``float (q,)*n``: the model's value at every sequence (small n only).
    x : numpy.ndarray
        ``int (n,)``: the explained sequence.

    Returns
    -------
    numpy.ndarray
        ``float64 (n,)``.
    """
    n = table.ndim
    x = np.asarray(x, dtype=np.intp)
    v = {}
    for S in itertools.product((0, 1), repeat=n):
        idx = tuple(int(x[i]) if S[i] else slice(None) for i in range(n))
        v[S] = float(np.mean(table[idx]))
    w = shapley_weights(n)
    phi = np.zeros(n)
    for S, vs in v.items():
        s = sum(S)
        for j in range(n):
            if not S[j]:
                T = (*S[:j], 1, *S[j + 1 :])
                phi[j] += w[s] * (v[T] - vs)
    return phi


def product_game_shap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exact SHAP values of product models ``f(x) = prod_i g_i(x_i)`` under the uniform background.

    The game is ``v_x(S) = prod_{i in S} a_i prod_{i not in S} b_i`` with ``a_i = g_i(x_i)`` and
    ``b_i = mean_c g_i(c)``, so ``phi_j = (a_j - b_j) sum_s w[s] e_s^{(j)}``, where ``e_s^{(j)}`` is the
    coefficient of ``t^s`` in ``prod_{i != j} (b_i + a_i t)`` (an elementary-symmetric-polynomial DP:
    O(n^2) per position, all positions and sequences at once).

    Parameters
    ----------
    a : numpy.ndarray
        ``float (N, n)``: ``g_i(x_i)`` for each explained sequence.
    b : numpy.ndarray
        ``float (n,)``: ``mean_c g_i(c)``.

    Returns
    -------
    numpy.ndarray
        ``float64 (N, n)``.
    """
    a = np.atleast_2d(np.asarray(a, dtype=np.float64))
    b = np.asarray(b, dtype=np.float64)
    N, n = a.shape
    poly = np.zeros((N, n, n))  # poly[:, j, s]: coefficient of t^s of prod_{i != j, i seen so far}
    poly[:, :, 0] = 1.0
    for i in range(n):
        nxt = poly * b[i]
        nxt[:, :, 1:] += poly[:, :, :-1] * a[:, i, None, None]
        nxt[:, i] = poly[:, i]  # position i is left out of its own product
        poly = nxt
    return (a - b) * (poly @ shapley_weights(n))


@dataclass(frozen=True)
class MonteCarloShap:
    """Result of :func:`permutation_shap`.

    Attributes
    ----------
    shap, stderr : numpy.ndarray
        ``float64 (N, n)``: estimates and their standard errors (from the spread of the antithetic pairs).
    walks : int
        Permutation walks per sequence (pairs x 2).
    calls_per_sequence : int
        Model calls per sequence (``walks * n + 1``).
    noise_floor : float
        ``||stderr|| / ||shap||`` over all values: the estimate's own relative L2 error scale.
    seconds : float
        Wall time.
    """

    shap: np.ndarray
    stderr: np.ndarray
    walks: int
    calls_per_sequence: int
    noise_floor: float
    seconds: float


def _walk_batch(model: Callable[[np.ndarray], np.ndarray], X: np.ndarray, fx: np.ndarray, pairs: int, q: int,
                rng: np.random.Generator) -> np.ndarray:
    """``float64 (N, pairs, n)``: pair-averaged marginal contributions of ``pairs`` antithetic walk pairs."""
    N, n = X.shape
    W = 2 * pairs
    perm = np.argsort(rng.random((N, pairs, n)), axis=2)
    perm = np.concatenate([perm, perm[:, :, ::-1]], axis=1)  # (N, W, n): walk w and its reverse w + pairs
    rank = np.argsort(perm, axis=2)  # rank[.., i] = step at which position i joins the coalition
    Z = rng.integers(0, q, size=(N, W, n), dtype=np.int8)  # a fresh uniform completion per walk
    steps = np.arange(n)[:, None]  # rows 0..n-1 of a walk: coalition = the first `step` positions
    inS = rank[:, :, None, :] < steps[None, None]  # (N, W, n, n)
    Q = np.where(inS, X[:, None, None, :], Z[:, :, None, :])
    y = np.asarray(model(Q.reshape(-1, n)), dtype=np.float64).reshape(N, W, n)
    y = np.concatenate([y, np.broadcast_to(fx[:, None, None], (N, W, 1))], axis=2)  # last row: f(x)
    delta = np.take_along_axis(y, rank + 1, axis=2) - np.take_along_axis(y, rank, axis=2)  # (N, W, n)
    return 0.5 * (delta[:, :pairs] + delta[:, pairs:])


def permutation_shap(
    model: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray,
    q: int,
    *,
    seed: int = 0,
    target_floor: float = 0.01,
    min_pairs: int = 256,
    max_pairs: int = 1 << 16,
    batch_rows: int = 1 << 18,
    progress: Callable[[int, float], None] | None = None,
) -> MonteCarloShap:
    """Permutation Monte Carlo SHAP values (uniform background), with standard errors.

    Each walk draws a random order of the positions and a fresh uniformly random completion ``z``, then
    adds the positions of ``x`` one by one: ``f(x_S, z_rest)`` along the walk gives one unbiased sample of
    every position's marginal contribution (``n`` model calls per walk; ``f(x)`` once per sequence). Walks
    come in antithetic pairs (an order and its reverse, each with its own ``z``); the standard error is
    the spread of the pair means / sqrt(pairs). Walks are added in batches (the same number for every
    sequence) until ``||stderr|| / ||shap|| <= target_floor`` or ``max_pairs``.

    Parameters
    ----------
    model : callable
        ``int8 (M, n) -> float (M,)``.
    X : numpy.ndarray
        ``int8 (N, n)`` sequences to explain.
    q : int
        Alphabet size.
    seed : int
        Seed of the walks (the result is a deterministic function of it).
    target_floor : float
        Stop once the relative L2 noise ``||stderr|| / ||shap||`` (all values) is at most this.
    min_pairs, max_pairs : int
        Walk pairs per sequence: at least / at most.
    batch_rows : int
        Model calls per batch (sets the pairs per batch).
    progress : callable, optional
        ``progress(pairs_done, noise_floor)`` after every batch.

    Returns
    -------
    MonteCarloShap
    """
    t0 = time.perf_counter()
    X = np.asarray(X, dtype=np.int8)
    N, n = X.shape
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 7_411]))
    fx = np.asarray(model(X), dtype=np.float64).reshape(N)
    per_batch = max(1, batch_rows // (2 * n * N))
    count = 0
    mean = np.zeros((N, n))
    m2 = np.zeros((N, n))
    floor = np.inf
    while count < max_pairs:
        k = min(per_batch, max_pairs - count)
        d = _walk_batch(model, X, fx, k, q, rng)  # (N, k, n)
        bm = d.mean(1)
        bm2 = ((d - bm[:, None]) ** 2).sum(1)
        tot = count + k
        delta = bm - mean
        mean = mean + delta * (k / tot)
        m2 = m2 + bm2 + delta**2 * (count * k / tot)  # Chan et al.'s parallel variance update
        count = tot
        if count >= 2:
            se = np.sqrt(m2 / (count - 1) / count)
            norm = float(np.linalg.norm(mean))
            floor = float(np.linalg.norm(se)) / norm if norm > 0 else np.inf
        if progress is not None:
            progress(count, floor)
        if count >= min_pairs and floor <= target_floor:
            break
    se = np.sqrt(m2 / max(count - 1, 1) / count)
    return MonteCarloShap(mean, se, 2 * count, 2 * count * n + 1, floor, time.perf_counter() - t0)
