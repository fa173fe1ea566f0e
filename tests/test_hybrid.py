"""Hybrid sketches (``SketchConfig(method="hybrid")``): plan, cache and resume, exact planted recovery of
dense-plus-sparse spectra, SHAP values against brute force, and the per-component report."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from test_shapley import TERNARY
from test_sketch import Counting, planted

from shapzero_core import DNA, PROTEIN, FourierSketch, shap_values
from shapzero_core.errors import ModelError, SketchError
from shapzero_core.sketch import SketchConfig, plan_for_budget, plan_sketch, sketch_model
from shapzero_core.sketch.plan import RANDOM_BLOCK
from shapzero_core.zoo.games import brute_force_shap


def dense_plus_sparse(n: int, q: int, seed: int, high: int = 1, high_degree: int = 3,
                      alphabet=DNA) -> FourierSketch:
    """Every first-order coefficient, every pair within distance 3, and ``high`` terms of order ``high_degree``."""
    rng = np.random.default_rng(seed)
    K, C = [], []
    for i in range(n):
        for a in range(1, q):
            k = np.zeros(n, np.int8)
            k[i] = a
            K.append(k)
            C.append(rng.normal() + 1j * rng.normal())
    for i, j in itertools.combinations(range(n), 2):
        if j - i > 3:
            continue
        for a, b in itertools.product(range(1, q), repeat=2):
            k = np.zeros(n, np.int8)
            k[[i, j]] = a, b
            K.append(k)
            C.append(0.3 * (rng.normal() + 1j * rng.normal()))
    for _ in range(high):
        k = np.zeros(n, np.int8)
        k[rng.choice(n, high_degree, replace=False)] = rng.integers(1, q, high_degree)
        K.append(k)
        C.append(3.0 * (rng.normal() + 1j * rng.normal()))
    K = np.array(K)
    c = np.array(C)
    L = np.concatenate([K, np.mod(-K, q).astype(np.int8), np.zeros((1, n), np.int8)])
    return FourierSketch(L, np.concatenate([c / 2, np.conj(c) / 2, [0.4]]), alphabet)


def _dense(sk: FourierSketch, q: int, n: int) -> np.ndarray:
    F = np.zeros((q,) * n, np.complex128)
    for k, c in zip(sk.locations, sk.coefficients, strict=True):
        F[tuple(int(v) for v in k)] += c
    return F


# ============================================================================================== plans
def test_hybrid_plan_splits_the_budget_and_keeps_qsft_hashes():
    q_cfg = plan_for_budget(200_000, 20, 4)
    h_cfg = plan_for_budget(200_000, 20, 4, method="hybrid")
    assert h_cfg.method == "hybrid" and q_cfg.method == "qsft" and q_cfg.random_queries == 0
    h = plan_sketch(20, 4, h_cfg)
    assert h.num_qsft_queries <= 100_000 and h.num_train_queries == 200_000
    assert h.num_random_queries == 200_000 - h.num_qsft_queries
    assert h.random_blocks == [f"r{i}" for i in range(-(-h.num_random_queries // RANDOM_BLOCK))]
    assert sum(h.block_length(nm) for nm in h.random_blocks) == h.num_random_queries
    X = h.random_sequences()
    assert X.shape == (h.num_random_queries, 20) and X.dtype == np.int8 and 0 <= X.min() and X.max() < 4
    assert np.array_equal(h.random_block(1), X[RANDOM_BLOCK : 2 * RANDOM_BLOCK])  # blocks are independent of each other
    # the random rows are uniform: every letter about equally often at every position
    freq = np.stack([np.bincount(X[:, i], minlength=4) for i in range(20)]) / X.shape[0]
    assert np.abs(freq - 0.25).max() < 0.01
    # a q-SFT plan's description (hence its cache) is what it always was; a hybrid plan is another plan
    q_plan = plan_sketch(20, 4, q_cfg)
    assert "method" not in q_plan.describe() and h.describe()["method"] == "hybrid"
    same_blocks = plan_sketch(20, 4, SketchConfig(b=h_cfg.b, num_subsample=h_cfg.num_subsample,
                                                  num_repeat=h_cfg.num_repeat))
    assert same_blocks.hash != h.hash
    assert "hybrid" in h.summary() and f"{h.num_random_queries:,} random" in h.summary()


def test_hybrid_config_errors():
    with pytest.raises(ValueError, match="method must be one of"):
        SketchConfig(b=2, method="fast")
    with pytest.raises(ValueError, match="random_queries is for method='hybrid'"):
        SketchConfig(b=2, random_queries=5_000)
    with pytest.raises(ValueError, match="needs random_queries >= 1,000"):
        SketchConfig(b=2, method="hybrid", random_queries=10)
    with pytest.raises(ValueError, match="random_fraction"):
        plan_for_budget(100_000, 10, 4, method="hybrid", random_fraction=1.0)
    with pytest.raises(SketchError, match="too small for a hybrid sketch"):
        plan_for_budget(60, 10, 4, method="hybrid")
    with pytest.raises(SketchError, match=r"leaves .* random queries"):
        plan_for_budget(1_000, 10, 4, method="hybrid", random_fraction=0.05)


# ============================================================================================== recovery
def test_dense_plus_sparse_spectrum_recovered_exactly():
    """Every first-order and near pair coefficient plus one order-4 term (n = 8): the alternating refit converges
    to the exact transform (q-SFT alone cannot: 400+ dense coefficients in 256 bins)."""
    n, q = 8, 4
    truth = dense_plus_sparse(n, q, seed=3, high_degree=4)
    cfg = plan_for_budget(60_000, n, q, method="hybrid")
    sk = sketch_model(truth.predict, n=n, alphabet=DNA, config=cfg)
    D = _dense(sk, q, n) - _dense(truth, q, n)
    assert np.linalg.norm(D) <= 1e-6 * np.linalg.norm(truth.coefficients)
    rep = sk.report
    assert rep["method"] == "hybrid" and rep["hybrid"]["sparse_kept"]
    assert rep["r2"] > 1 - 1e-9
    names = [c["component"] for c in rep["components"]]
    assert names[:3] == ["constant", "first order (every position)", f"pairwise ({rep['hybrid']['pairs']} pairs)"]
    assert names[-1].startswith("q-SFT peeling of the residual")
    r2s = [c["heldout_r2"] for c in rep["components"]]
    assert r2s == sorted(r2s) and r2s[-1] == pytest.approx(rep["r2"], abs=1e-9)
    assert "4" in rep["components"][-1]["energy_by_order"]  # the order-4 term is the q-SFT part's
    assert rep["queries"]["random"] + rep["queries"]["qsft"] == rep["queries"]["train"] == 60_000


def local_triples_model(n: int, q: int, seed: int, triples: list[tuple[int, int, int]]) -> FourierSketch:
    """Every first-order coefficient, every pair within distance 2 and every coefficient of a few local triples
    (27 each at q = 4): dense at order 3, beyond what q-SFT peels from the residual of a small plan."""
    rng = np.random.default_rng(seed)
    base = dense_plus_sparse(n, q, seed, high=0)
    K, C = [], []
    for t in triples:
        for a in itertools.product(range(1, q), repeat=3):
            k = np.zeros(n, np.int8)
            k[list(t)] = a
            K.append(k)
            C.append(0.5 * (rng.normal() + 1j * rng.normal()))
    K, c = np.array(K), np.array(C)
    L = np.concatenate([base.locations, K, np.mod(-K, q).astype(np.int8)])
    return FourierSketch(L, np.concatenate([base.coefficients, c / 2, np.conj(c) / 2]), DNA)


def test_local_triples_held_by_the_dense_part():
    """Three local triples, every coefficient (81 order-3 terms on top of ~200 dense ones, n = 14): the dense part's
    triple tables hold them, the sketch is exact, and the report names the triples' component."""
    n, q = 14, 4
    truth = local_triples_model(n, q, seed=6, triples=[(0, 2, 5), (4, 5, 6), (7, 9, 13)])
    sk = sketch_model(truth.predict, n=n, alphabet=DNA, config=plan_for_budget(100_000, n, q, method="hybrid"))
    # coefficient by coefficient (q^14 is too many to enumerate): every planted term, nothing else
    want = {k.tobytes(): c for k, c in zip(truth.locations, truth.coefficients, strict=True)}
    have = {k.tobytes(): c for k, c in zip(sk.locations, sk.coefficients, strict=True)}
    diff = [abs(want.get(k, 0) - have.get(k, 0)) for k in set(want) | set(have)]
    assert max(diff) <= 1e-6 * np.abs(truth.coefficients).max()
    X = np.random.default_rng(1).integers(0, q, size=(20, n)).astype(np.int8)
    phi_err = np.linalg.norm(shap_values(sk, X) - shap_values(truth, X)) / np.linalg.norm(shap_values(truth, X))
    assert phi_err < 1e-6, phi_err
    rep = sk.report
    assert rep["r2"] > 1 - 1e-9 and rep["hybrid"]["triples"] >= 3
    third = [c for c in rep["components"] if c["component"].startswith("third order")]
    assert len(third) == 1 and third[0]["energy_by_order"]["3"] > 0
    pair_r2 = next(c["heldout_r2"] for c in rep["components"] if c["component"].startswith("pairwise"))
    assert pair_r2 < 0.99 < third[0]["heldout_r2"]  # the triples are what makes the fit exact
    # the planted triples' coefficients are all there
    got = {tuple(np.flatnonzero(k)) for k in sk.locations if np.count_nonzero(k) == 3}
    assert {(0, 2, 5), (4, 5, 6), (7, 9, 13)} <= got  # (7, 9, 13) is 6 apart: within the window of 7


@pytest.mark.parametrize(("n", "q", "seed"), [(10, 4, 1), (8, 3, 2)])
def test_sparse_high_order_spectrum_still_exact(n, q, seed):
    """A planted sparse spectrum of orders 2-4 (what q-SFT alone recovers exactly): exact in a hybrid sketch too."""
    alpha = DNA if q == 4 else TERNARY
    truth = planted(n, q, 10, 4, seed=seed, min_degree=2, alphabet=alpha)
    cfg = plan_for_budget(80_000, n, q, method="hybrid")
    sk = sketch_model(truth.predict, n=n, alphabet=alpha, config=cfg)
    D = _dense(sk, q, n) - _dense(truth, q, n)
    assert np.linalg.norm(D) <= 1e-6 * np.linalg.norm(truth.coefficients)


def test_additive_model_keeps_the_dense_part_alone():
    """A purely additive model: the dense tables hold it exactly; the q-SFT part adds nothing and is left out."""
    n, q = 12, 4
    W = np.random.default_rng(0).normal(size=(n, q))

    def f(X):
        return W[np.arange(n), np.asarray(X, np.int64)].sum(1)

    sk = sketch_model(f, n=n, alphabet=DNA, config=plan_for_budget(50_000, n, q, method="hybrid"))
    assert sk.report["r2"] > 1 - 1e-9
    assert set(sk.count_by_order()) <= {0, 1, 2}
    assert sk.report["tuning"] == []  # exact dense part: no noise-tuning sweep over a round-off residual
    assert sk.report["hybrid"]["triples"] == 0  # shrunk to nothing / no better on validation: dropped
    X = np.random.default_rng(1).integers(0, q, size=(6, n)).astype(np.int8)
    np.testing.assert_allclose(shap_values(sk, X), W[np.arange(n), X] - W.mean(1), atol=1e-8)
    # the same through sketch_model(budget=, method=): the plan is plan_for_budget's
    sk2 = sketch_model(f, n=n, alphabet=DNA, budget=50_000, method="hybrid")
    assert sk2.report["method"] == "hybrid"
    np.testing.assert_allclose(shap_values(sk2, X), shap_values(sk, X), atol=1e-10)
    with pytest.raises(ValueError, match="contradicts"):
        sketch_model(f, n=n, alphabet=DNA, config=plan_for_budget(50_000, n, q), method="hybrid")


def test_hybrid_shap_values_match_brute_force_on_a_dense_pairwise_model():
    """Every pair coupled (n = 7): the hybrid's SHAP values against exact enumeration of the model's game."""
    q, n = 4, 7
    rng = np.random.default_rng(5)
    X_all = np.array(list(itertools.product(range(q), repeat=n)), dtype=np.int8)
    vals = rng.normal(size=(n, q))[np.arange(n), X_all].sum(1)
    for i, j in itertools.combinations(range(n), 2):
        vals += rng.normal(size=(q, q))[X_all[:, i], X_all[:, j]] * 0.3
    vals += 0.5 * (X_all[:, 0] == X_all[:, 3]) * (X_all[:, 3] == X_all[:, 5])  # and an order-3 motif
    f = vals.reshape((q,) * n)

    def model(X):
        return f[tuple(np.asarray(X, dtype=np.int64).T)]

    sk = sketch_model(model, n=n, alphabet=DNA, config=plan_for_budget(60_000, n, q, method="hybrid"))
    X = rng.integers(0, q, size=(5, n)).astype(np.int8)
    exact = np.stack([brute_force_shap(f, x) for x in X])
    err = np.linalg.norm(shap_values(sk, X) - exact) / np.linalg.norm(exact)
    assert err < 1e-6, err


def test_hybrid_protein_q20():
    n, q = 6, 20
    truth = dense_plus_sparse(n, q, seed=4, high=2, alphabet=PROTEIN)
    cfg = plan_for_budget(150_000, n, q, method="hybrid")
    sk = sketch_model(truth.predict, n=n, alphabet=PROTEIN, config=cfg)
    assert sk.report["r2"] > 0.999
    X = np.random.default_rng(2).integers(0, q, size=(4, n)).astype(np.int8)
    phi = shap_values(sk, X)
    np.testing.assert_allclose(phi, shap_values(truth, X), atol=1e-3 * np.abs(shap_values(truth, X)).max())


# ============================================================================================== cache
def test_hybrid_resumes_from_its_cache(tmp_path):
    n, q = 8, 4
    truth = dense_plus_sparse(n, q, seed=3)
    cfg = plan_for_budget(200_000, n, q, method="hybrid")
    plan = plan_sketch(n, q, cfg)
    assert len(plan.random_blocks) >= 2
    bs = 8_192
    calls_qsft = sum(-(-plan.block_size // bs) for _ in plan.blocks)
    m = Counting(truth.predict, n, fail_after=calls_qsft + 9)  # every q-SFT block, one random block, part of another
    with pytest.raises(ModelError, match=r"query block r1.*simulated crash"):
        sketch_model(m, config=cfg, cache_dir=tmp_path, batch_size=bs)
    m2 = Counting(truth.predict, n)
    sk = sketch_model(m2, config=cfg, cache_dir=tmp_path, batch_size=bs)
    assert m2.queries == plan.num_queries - plan.num_qsft_queries - RANDOM_BLOCK
    assert sk.report["queries"]["cached"] == plan.num_qsft_queries + RANDOM_BLOCK
    m3 = Counting(truth.predict, n)
    sk3 = sketch_model(m3, config=cfg, cache_dir=tmp_path, batch_size=bs)
    assert m3.queries == 0
    assert np.array_equal(sk3.locations, sk.locations) and np.array_equal(sk3.coefficients, sk.coefficients)
    fresh = sketch_model(truth.predict, n=n, alphabet=DNA, config=cfg)  # no cache: the same sketch
    assert np.array_equal(fresh.locations, sk.locations) and np.allclose(fresh.coefficients, sk.coefficients)
