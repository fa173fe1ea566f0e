"""Closed-form Shapley values and interaction indices vs an independent brute force.

The brute force never touches a Fourier transform: it enumerates all q^n sequences to build the game
v_x(S) = E_z f(x_S, z_rest) (uniform background) and all 2^n coalitions to evaluate each index from its
textbook definition. Faith-Shap is solved as the constrained weighted least-squares problem that defines it.
"""

from __future__ import annotations

import itertools
from math import comb, factorial

import numpy as np
import pytest

from shapzero_core import DNA, Alphabet, FourierSketch, baseline, interactions, shap_values

TERNARY = Alphabet("ABC")


# ----------------------------------------------------------------------------- brute force
def game(f: np.ndarray, x: tuple[int, ...], P: np.ndarray | None = None) -> dict[frozenset[int], float]:
    """v_x(S) for every coalition S by direct averaging over the background: uniform, or the weights P[i]
    (n, q) of an independent per-position background."""
    n = f.ndim
    v = {}
    for r in range(n + 1):
        for S in itertools.combinations(range(n), r):
            g = f
            for i in reversed(range(n)):  # always act on the last remaining axis
                g = g[..., x[i]] if i in S else (g.mean(axis=-1) if P is None else g @ P[i])
            v[frozenset(S)] = float(g)
    return v


def subsets(s):
    s = tuple(s)
    for r in range(len(s) + 1):
        yield from (frozenset(c) for c in itertools.combinations(s, r))


def delta(v, S, T):
    """Discrete derivative of v with respect to S at T (T disjoint from S)."""
    return sum((-1) ** (len(S) - len(L)) * v[T | L] for L in subsets(S))


def bf_shapley(v, n):
    N = frozenset(range(n))
    phi = np.zeros(n)
    for i in range(n):
        for S in subsets(N - {i}):
            w = factorial(len(S)) * factorial(n - len(S) - 1) / factorial(n)
            phi[i] += w * (v[S | {i}] - v[S])
    return phi


def bf_index(v, n, index, order):
    """Brute-force value of every nonempty set S with |S| <= order (order None = n)."""
    N = frozenset(range(n))
    L = n if order is None else order
    out = {}
    if index == "faith-shap":
        return bf_faith(v, n, L)
    for s in range(1, L + 1):
        for S in map(frozenset, itertools.combinations(range(n), s)):
            rest = N - S
            if index == "mobius":
                val = delta(v, S, frozenset())
            elif index == "sii":
                val = sum(
                    factorial(n - len(T) - s) * factorial(len(T)) / factorial(n - s + 1) * delta(v, S, T)
                    for T in subsets(rest)
                )
            elif index == "banzhaf":
                val = sum(delta(v, S, T) for T in subsets(rest)) / 2 ** (n - s)
            elif index == "stii":
                if s < L:
                    val = delta(v, S, frozenset())
                else:
                    val = s / n * sum(delta(v, S, T) / comb(n - 1, len(T)) for T in subsets(rest))
            else:
                raise AssertionError(index)
            out[tuple(sorted(S))] = val
    return out


def bf_faith(v, n, L):
    """Faith-Shap of order L: argmin sum_S mu(S) (v(S) - sum_{T ⊆ S, |T| <= L} E(T))^2 with v(∅), v(N) exact."""
    terms = [frozenset(c) for r in range(L + 1) for c in itertools.combinations(range(n), r)]
    coal = list(subsets(range(n)))
    A = np.array([[1.0 if T <= S else 0.0 for T in terms] for S in coal])
    y = np.array([v[S] for S in coal])
    w = np.zeros(len(coal))
    eq = []
    for r, S in enumerate(coal):
        s = len(S)
        if s in (0, n):
            eq.append(r)
        else:
            w[r] = (n - 1) / (comb(n, s) * s * (n - s))
    # KKT system of the equality-constrained weighted least squares
    H = A.T @ (w[:, None] * A)
    g = A.T @ (w * y)
    Ae = A[eq]
    m = len(terms)
    KKT = np.block([[2 * H, Ae.T], [Ae, np.zeros((len(eq), len(eq)))]])
    rhs = np.concatenate([2 * g, y[eq]])
    sol = np.linalg.lstsq(KKT, rhs, rcond=None)[0][:m]
    return {tuple(sorted(T)): float(val) for T, val in zip(terms, sol, strict=True) if T}


def all_sequences(q, n):
    return np.array(list(itertools.product(range(q), repeat=n)), dtype=np.int8)


def random_table(q, n, seed, sparse=False):
    rng = np.random.default_rng(seed)
    if not sparse:
        return rng.normal(size=(q,) * n)
    # a few planted low-order real terms
    f = np.zeros((q,) * n)
    X = all_sequences(q, n)
    for _ in range(6):
        d = int(rng.integers(1, 4))
        pos = rng.choice(n, size=d, replace=False)
        table = rng.normal(size=(q,) * d)
        f += table[tuple(X[:, pos].T)].reshape(f.shape)
    return f


CASES = [(4, 4, DNA), (3, 5, TERNARY)]


@pytest.fixture(scope="module", params=[(q, n, a, sparse) for q, n, a in CASES for sparse in (False, True)],
                ids=lambda p: f"q{p[0]}-n{p[1]}-{'sparse' if p[3] else 'dense'}")
def case(request):
    q, n, alphabet, sparse = request.param
    f = random_table(q, n, seed=q * 10 + n + sparse, sparse=sparse)
    sketch = FourierSketch.from_dense(f, alphabet=alphabet, tol=0)
    rng = np.random.default_rng(1)
    X = rng.integers(0, q, size=(4, n)).astype(np.int8)
    games = [game(f, tuple(int(c) for c in x)) for x in X]
    return f, sketch, X, games, n


def test_dense_roundtrip_predicts_every_sequence(case):
    f, sketch, _, _, n = case
    Xall = all_sequences(sketch.q, n)
    np.testing.assert_allclose(sketch.predict(Xall), f.reshape(-1), atol=1e-10)
    assert baseline(sketch) == pytest.approx(f.mean(), abs=1e-12)


def test_shap_values_match_brute_force(case):
    _f, sketch, X, games, n = case
    phi = shap_values(sketch, X)
    assert phi.shape == (len(X), n) and phi.dtype == np.float64
    for s, v in enumerate(games):
        np.testing.assert_allclose(phi[s], bf_shapley(v, n), atol=1e-10)
    # efficiency
    np.testing.assert_allclose(phi.sum(1), sketch.predict(X) - baseline(sketch), atol=1e-10)


@pytest.mark.parametrize("index", ["mobius", "faith-shap", "sii", "stii", "banzhaf"])
@pytest.mark.parametrize("order", [1, 2, 3, None])
def test_interaction_indices_match_brute_force(case, index, order):
    _f, sketch, X, games, n = case
    if index in ("faith-shap", "stii") and order is None:
        order_used = 2  # documented default
    else:
        order_used = order
    inter = interactions(sketch, X, index=index, order=order)
    assert inter.values.shape == (len(X), len(inter.sets))
    assert all(list(s) == sorted(s) for s in inter.sets)
    for s, v in enumerate(games):
        want = bf_index(v, n, index, order_used)
        got = dict(zip(inter.sets, inter.values[s], strict=True))
        assert set(got) <= set(want), "returned a set larger than the order"
        for S, val in want.items():
            assert got.get(S, 0.0) == pytest.approx(val, abs=1e-10), (index, order_used, S)


@pytest.mark.parametrize("index", ["faith-shap", "sii", "stii"])
def test_order_one_indices_are_shapley_values(case, index):
    _, sketch, X, _, _n = case
    inter = interactions(sketch, X, index=index, order=1)
    phi = shap_values(sketch, X)
    full = np.zeros_like(phi)
    for j, S in enumerate(inter.sets):
        full[:, S[0]] = inter.values[:, j]
    np.testing.assert_allclose(full, phi, atol=1e-10)


def test_all_order_faith_shap_equals_mobius(case):
    _, sketch, X, _, n = case
    a = interactions(sketch, X, "mobius")
    fs = interactions(sketch, X, "faith-shap", order=n)
    da = dict(zip(a.sets, a.values.T, strict=True))
    for S, col in zip(fs.sets, fs.values.T, strict=True):
        np.testing.assert_allclose(col, da.get(S, 0.0), atol=1e-10)


def test_mobius_sums_to_prediction(case):
    _, sketch, X, _, _ = case
    a = interactions(sketch, X)
    np.testing.assert_allclose(a.values.sum(1) + baseline(sketch), sketch.predict(X), atol=1e-10)


def test_worked_example_method_2_6():
    """q=4, n=3, f(x) = 1[x1 = G] + 2·1[x2 = A and x3 = T] (method.md §2.6, 1-based positions there)."""
    X = all_sequences(4, 3)
    f = ((X[:, 0] == 2) + 2 * ((X[:, 1] == 0) & (X[:, 2] == 3))).astype(float).reshape(4, 4, 4)
    sk = FourierSketch.from_dense(f)
    assert sk.num_coefficients == 19
    assert baseline(sk) == pytest.approx(0.375)
    F = dict(zip(map(tuple, sk.locations.tolist()), sk.coefficients, strict=True))
    assert F[(1, 0, 0)] == pytest.approx(-0.25)
    assert F[(2, 0, 0)] == pytest.approx(0.25)
    assert F[(0, 1, 3)] == pytest.approx(-0.125j)
    assert F[(0, 2, 2)] == pytest.approx(-0.125)
    assert F[(0, 0, 1)] == pytest.approx(0.125j)
    Xs = DNA.encode(["GAT", "CAT", "GAA"])
    np.testing.assert_allclose(
        shap_values(sk, Xs), [[0.75, 0.9375, 0.9375], [-0.25, 0.9375, 0.9375], [0.75, 0.1875, -0.3125]]
    )
    a = interactions(sk, Xs)
    assert a.sets == ((0,), (1,), (2,), (1, 2))
    np.testing.assert_allclose(
        a.values, [[0.75, 0.375, 0.375, 1.125], [-0.25, 0.375, 0.375, 1.125], [0.75, 0.375, -0.125, -0.375]]
    )


def test_pairwise_and_top():
    X = all_sequences(4, 3)
    f = ((X[:, 0] == 2) + 2 * ((X[:, 1] == 0) & (X[:, 2] == 3))).astype(float).reshape(4, 4, 4)
    sk = FourierSketch.from_dense(f)
    Xs = DNA.encode(["GAT", "CAT", "GAA"])
    inter = interactions(sk, Xs)
    P = inter.pairwise()
    assert P.shape == (3, 3, 3)
    np.testing.assert_allclose(P, P.transpose(0, 2, 1))
    assert P[0, 1, 2] == pytest.approx(1.125) and P[2, 2, 1] == pytest.approx(-0.375)
    assert np.all(P[:, 0, :] == 0)
    top = inter.top(2)
    assert list(top.columns) == ["seq", "positions", "letters", "order", "value"]
    assert top["positions"].tolist() == [(2, 3), (2, 3)]  # 1-based
    assert set(top["letters"]) == {"AT"}
    assert top["value"].tolist() == pytest.approx([1.125, 1.125])
    per = inter.top(1, min_order=1, per_sequence=True)
    assert per["seq"].tolist() == [0, 1, 2]
    assert per["value"].tolist() == pytest.approx([1.125, 1.125, 0.75])
    assert per["letters"].tolist() == ["AT", "AT", "G"]
    assert inter.column((2, 1)).tolist() == pytest.approx([1.125, 1.125, -0.375])
    assert inter.column((0, 1)).tolist() == [0, 0, 0]


def test_sketch_without_coefficients_and_bad_input():
    sk = FourierSketch(np.zeros((1, 5), dtype=np.int8), np.array([2.0 + 0j]))
    X = np.zeros((3, 5), dtype=np.int8)
    assert np.all(shap_values(sk, X) == 0)
    assert interactions(sk, X).values.shape == (3, 0)
    assert baseline(sk) == 2.0
    with pytest.raises(ValueError, match="length 4, expected 5"):
        shap_values(sk, np.zeros((3, 4), dtype=np.int8))
    with pytest.raises(ValueError, match=r"expected values in \[0, 4\)"):
        shap_values(sk, np.full((3, 5), 4))
    with pytest.raises(ValueError, match="unknown interaction index"):
        interactions(sk, X, index="shapley-banana")
    with pytest.raises(ValueError, match="order must be >= 1"):
        interactions(sk, X, index="sii", order=0)


def test_large_batch_is_chunked_consistently():
    """Chunking over sequences gives the same result as small batches."""
    rng = np.random.default_rng(5)
    n, K = 12, 300
    loc = rng.integers(0, 4, size=(K, n)) * (rng.random((K, n)) < 0.2)
    sk = FourierSketch(loc.astype(np.int8), rng.normal(size=K) + 1j * rng.normal(size=K))
    X = rng.integers(0, 4, size=(20_000, n)).astype(np.int8)
    phi = shap_values(sk, X)
    np.testing.assert_allclose(phi[-7:], shap_values(sk, X[-7:]), atol=1e-12)
    a = interactions(sk, X, "sii", order=3)
    np.testing.assert_allclose(a.values[-3:], interactions(sk, X[-3:], "sii", order=3).values, atol=1e-12)
