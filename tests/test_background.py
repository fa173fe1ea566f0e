"""SHAP values, interactions, baselines and hypothetical contributions against a chosen background, checked by
brute force: the game v_x(S) = E_{z ~ p} f(x_S, z_rest) is built by exact product expectation over all q^n
completions (no Fourier transform), every index from its definition over all 2^n coalitions."""

from __future__ import annotations

import numpy as np
import pytest
from test_shapley import TERNARY, all_sequences, bf_index, bf_shapley, game, random_table

from shapzero_core import DNA, FourierSketch, baseline, interactions, shap_values
from shapzero_core.analysis import explain_sequences, hypothetical_shap
from shapzero_core.background import Background, resolve_background
from shapzero_core.sequences import SequenceSet
from shapzero_core.template import Template

CASES = [(4, 4, DNA), (3, 5, TERNARY), (4, 6, DNA)]


# dense tables hold every order up to n (4^4, 3^5 terms); n = 6 only as a sparse table (orders 1-3)
@pytest.fixture(scope="module", params=[(q, n, a, sparse) for q, n, a in CASES for sparse in (False, True)
                                        if sparse or n < 6],
                ids=lambda p: f"q{p[0]}-n{p[1]}-{'sparse' if p[3] else 'dense'}")
def case(request):
    q, n, alphabet, sparse = request.param
    f = random_table(q, n, seed=q * 10 + n + sparse + 7, sparse=sparse)
    sketch = FourierSketch.from_dense(f, alphabet=alphabet, tol=0)
    rng = np.random.default_rng(3)
    P = rng.dirichlet(np.full(q, 0.7), size=n)
    X = rng.integers(0, q, size=(3, n)).astype(np.int8)
    return f, sketch, P, X


def test_shap_and_baseline_match_brute_force(case):
    f, sketch, P, X = case
    phi = shap_values(sketch, X, background=P)
    for s, x in enumerate(X):
        v = game(f, tuple(x), P)
        np.testing.assert_allclose(phi[s], bf_shapley(v, f.ndim), atol=1e-9)
        assert baseline(sketch, P) == pytest.approx(v[frozenset()], abs=1e-9)
    # efficiency against the background's empty coalition
    np.testing.assert_allclose(phi.sum(1), sketch.predict(X) - baseline(sketch, P), atol=1e-9)


@pytest.mark.parametrize("index,order", [("mobius", None), ("sii", None), ("banzhaf", None), ("stii", 2),
                                         ("faith-shap", 2)])
def test_interactions_match_brute_force(case, index, order):
    f, sketch, P, X = case
    inter = interactions(sketch, X, index=index, order=order, background=P)
    for s, x in enumerate(X):
        v = game(f, tuple(x), P)
        want = bf_index(v, f.ndim, index, order)
        got = dict(zip(inter.sets, inter.values[s], strict=True))
        for S, val in want.items():
            assert got.get(S, 0.0) == pytest.approx(val, abs=1e-8), (index, S)


def test_uniform_background_is_todays_game(case):
    _, sketch, _, X = case
    q, n = sketch.q, sketch.n
    U = np.full((n, q), 1.0 / q)
    for bg in (None, "uniform", U):
        np.testing.assert_array_equal(shap_values(sketch, X, background=bg), shap_values(sketch, X))
    a = interactions(sketch, X, background=U)
    b = interactions(sketch, X)
    assert a.sets == b.sets
    np.testing.assert_array_equal(a.values, b.values)


def test_hypothetical_matches_explaining_each_variant(case):
    _, sketch, P, X = case
    H = hypothetical_shap(sketch, X, background=P)
    for s, x in enumerate(X):
        for j in range(sketch.n):
            for a in range(sketch.q):
                y = x.copy()
                y[j] = a
                assert H[s, a, j] == pytest.approx(shap_values(sketch, y[None], background=P)[0, j], abs=1e-5)


def test_data_background_frequencies_and_pseudocount():
    q, n = 4, 4
    f = random_table(q, n, seed=5, sparse=True)
    sketch = FourierSketch.from_dense(f, tol=0)
    rng = np.random.default_rng(0)
    data = rng.integers(0, q, size=(50, n)).astype(np.int8)
    bg = resolve_background(sketch, data, pseudocount=0.5)
    counts = np.stack([np.bincount(data[:, j], minlength=q) for j in range(n)]) + 0.5
    np.testing.assert_allclose(bg.probs, counts / counts.sum(1, keepdims=True))
    assert bg.source == "data" and bg.n_sequences == 50 and "pseudocount 0.5" in bg.description
    seqs = SequenceSet.from_codes(data)
    np.testing.assert_allclose(resolve_background(sketch, seqs).probs, bg.probs)
    np.testing.assert_allclose(shap_values(sketch, data[:3], background=seqs),
                               shap_values(sketch, data[:3], background=bg.probs))
    # pseudocount 0 gives the raw frequencies; a position where a letter never occurs keeps probability 0
    raw = resolve_background(sketch, data[:1], pseudocount=0)
    assert set(np.unique(raw.probs)) == {0.0, 1.0}


@pytest.mark.parametrize("bad,msg", [
    (np.full((3, 4), 0.25), "has 3 positions"),
    (np.full((4, 3), 1 / 3), "has 3 columns"),
    (np.array([[0.5, 0.5, 0.5, -0.5]] * 4), "negative"),
    (np.full((4, 4), 0.3), "sums to 1.2"),
    ("gc-rich", "unknown background"),
    (np.zeros((0, 4), dtype=np.int8), "empty"),
    (np.full((2, 4), 7, dtype=np.int8), "outside"),
])
def test_bad_backgrounds_are_refused(bad, msg):
    sketch = FourierSketch.from_dense(random_table(4, 4, seed=1, sparse=True), tol=0)
    with pytest.raises(ValueError, match=msg):
        shap_values(sketch, np.zeros((1, 4), dtype=np.int8), background=bad)
    with pytest.raises(ValueError, match="pseudocount"):
        resolve_background(sketch, np.zeros((2, 4), dtype=np.int8), pseudocount=-1)


def test_template_backgrounds_map_to_free_positions():
    q = 4
    f = random_table(q, 4, seed=9, sparse=True)  # the model over the 4 free positions of "..GG.."
    sk = FourierSketch.from_dense(f, tol=0)
    tpl = Template("..GG..", DNA)
    sk = FourierSketch(sk.locations, sk.coefficients, alphabet=DNA, metadata={**sk.metadata, "template": tpl.pattern})
    rng = np.random.default_rng(2)
    P_free = rng.dirichlet(np.ones(q), size=4)
    P_full = np.full((6, q), 0.25)
    P_full[tpl.free] = P_free
    full = tpl.expand(rng.integers(0, q, size=(5, 4)).astype(np.int8))
    e1 = explain_sequences(sk, full, background=P_full, with_interactions=False)
    e2 = explain_sequences(sk, full, background=P_free, with_interactions=False)
    np.testing.assert_allclose(e1.shap, e2.shap)
    assert np.all(e1.shap[:, tpl.fixed] == 0)
    phi_free = shap_values(sk, tpl.restrict(full), background=P_free)
    np.testing.assert_allclose(e1.shap[:, tpl.free], phi_free)
    # full-length data background: frequencies of the free columns
    bg = resolve_background(sk, full)
    np.testing.assert_allclose(bg.probs, resolve_background(sk, tpl.restrict(full)).probs)
    assert e1.background is not None and e1.background.source == "table"
    np.testing.assert_allclose(e1.predictions, e1.shap.sum(1) + e1.baseline)


def test_brute_force_all_sequences_small():
    """The exact product expectation over all q^n completions, written out once without the game helper."""
    q, n = 3, 3
    f = random_table(q, n, seed=11)
    sk = FourierSketch.from_dense(f, alphabet=TERNARY, tol=0)
    P = np.random.default_rng(4).dirichlet(np.ones(q), size=n)
    Z = all_sequences(q, n)
    w = np.prod(P[np.arange(n), Z], axis=1)
    x = np.array([2, 0, 1], dtype=np.int8)
    v_empty = float(w @ f[tuple(Z.T)])
    assert baseline(sk, P) == pytest.approx(v_empty, abs=1e-12)
    assert isinstance(resolve_background(sk, P), Background)
    assert shap_values(sk, x[None], background=P).sum() == pytest.approx(f[tuple(x)] - v_empty, abs=1e-10)
