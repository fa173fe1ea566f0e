"""The model zoo: callables = numpy references = ONNX graphs; exact spectra and closed forms vs brute force;
the Monte Carlo estimator is unbiased with honest standard errors; truth files match the current models."""

from __future__ import annotations

import itertools
import sys

import numpy as np
import pytest

from shapzero_core import shap_values
from shapzero_core.alphabet import DNA, PROTEIN
from shapzero_core.fourier import FourierSketch
from shapzero_core.models import OnnxModel, load_model
from shapzero_core.sketch import model_identity
from shapzero_core.zoo import (
    StaleTruthError,
    brute_force_shap,
    get_family,
    list_families,
    load_truth,
    permutation_shap,
    product_game_shap,
    save_truth,
)
from shapzero_core.zoo.games import shapley_weights

pytestmark = pytest.mark.timeout(120)

FAMILIES = ["pwm_max", "pwm_lse", "offtarget", "tree", "potts", "cnn", "protein_potts"]
SHAPES = {"pwm_max": (40, 4), "pwm_lse": (40, 4), "offtarget": (23, 4), "tree": (30, 4), "potts": (30, 4),
          "cnn": (40, 4), "protein_potts": (50, 20)}


@pytest.fixture(scope="module")
def models():
    return {f: get_family(f) for f in FAMILIES}


def codes(N: int, n: int, q: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, q, size=(N, n), dtype=np.int8)


def grid(n: int, q: int) -> np.ndarray:
    return np.array(list(itertools.product(range(q), repeat=n)), dtype=np.int8)


# ============================================================================================ registry
def test_registry_and_errors(models):
    assert list_families() == FAMILIES
    for f, m in models.items():
        assert (m.n, m.alphabet.q) == SHAPES[f]
        assert m.family == f and m.name == f"zoo:{f}" and m.seed == 0
        assert f in m.identity and "seed=0" in m.identity and len(m.description) > 80 and m.title
    assert models["protein_potts"].alphabet == PROTEIN and models["potts"].alphabet == DNA
    with pytest.raises(ValueError, match="no zoo family 'tiger'; families: pwm_max, pwm_lse"):
        get_family("tiger")
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        get_family("potts", seed=-1)
    with pytest.raises(ValueError, match="bad parameters"):
        get_family("potts", colour="red")
    with pytest.raises(ValueError, match="motif width"):
        get_family("pwm_max", width=41)


@pytest.mark.parametrize("family", ["pwm_max", "pwm_lse", "offtarget", "potts", "protein_potts"])
def test_determinism(family):
    small = {"potts": {"n": 8}, "protein_potts": {"n": 10, "long_range": 3}}.get(family, {})
    a, b, c = (get_family(family, seed=s, **small) for s in (3, 3, 4))
    X = codes(200, a.n, a.alphabet.q, 0)
    np.testing.assert_array_equal(a(X), b(X))
    assert a.identity == b.identity != c.identity
    assert not np.allclose(a(X), c(X))
    np.testing.assert_array_equal(a.query_sequences(30), b.query_sequences(30))
    assert model_identity(a, a.n, a.alphabet) == (a.identity, 0)  # the query cache keys on it, no probe queries


# ============================================================================================ ONNX
@pytest.mark.parametrize("family", FAMILIES)
def test_callable_reference_and_onnx_agree(models, family):
    m = models[family]
    X = np.concatenate([codes(300, m.n, m.alphabet.q, 1), m.query_sequences(30)])
    ref = m.reference(X)
    y = m(X)
    assert y.dtype == np.float64 and y.shape == (X.shape[0],)
    scale = float(np.abs(ref).max())
    tol = 1e-12 if family not in ("tree", "cnn") else 1e-5  # tree / cnn calls run their float32 ONNX graph
    np.testing.assert_allclose(y, ref, rtol=0, atol=tol * scale)
    om = load_model(m.to_onnx())
    assert isinstance(om, OnnxModel) and om.n == m.n and om.alphabet == m.alphabet
    rel = 1e-5 if family != "offtarget" else 1e-4  # offtarget: exp of a float32 sum of logs
    np.testing.assert_allclose(om(X), ref, rtol=rel, atol=1e-5 * scale)


def test_pwm_reference_is_the_definition(models):
    m = models["pwm_max"]
    X = codes(50, m.n, 4, 2)
    comp = {0: 3, 1: 2, 2: 1, 3: 0}
    for x, y in zip(X, m(X), strict=True):
        best = -np.inf
        for off in range(m.n - m.width + 1):
            site = x[off : off + m.width]
            rc = np.array([comp[int(a)] for a in site[::-1]])
            best = max(best, m.W[np.arange(m.width), site].sum(), m.W[np.arange(m.width), rc].sum())
        assert y == pytest.approx(best, abs=1e-12)
    lse = models["pwm_lse"]
    s = lse.site_scores(X).reshape(50, -1)
    np.testing.assert_allclose(lse(X), np.log2(np.exp2(s).sum(1)), rtol=1e-12)


# ============================================================================================ exact truth
def test_potts_exact_spectrum_vs_dense_transform():
    m = get_family("potts", n=5, triples=2)
    dense = FourierSketch.from_dense(m(grid(5, 4)).reshape((4,) * 5), DNA, tol=1e-13)
    sk = m.exact_sketch()
    np.testing.assert_array_equal(sk.locations, dense.locations)
    np.testing.assert_allclose(sk.coefficients, dense.coefficients, atol=1e-12)
    assert sk.count_by_order().get(3, 0) > 0  # the order-3 terms are there


def test_protein_potts_exact_spectrum_vs_dense_transform():
    m = get_family("protein_potts", n=3, long_range=0)
    table = m(grid(3, 20)).reshape((20,) * 3)
    dense = FourierSketch.from_dense(table, PROTEIN, tol=1e-13)
    sk = m.exact_sketch()
    np.testing.assert_array_equal(sk.locations, dense.locations)
    np.testing.assert_allclose(sk.coefficients, dense.coefficients, atol=1e-12)
    X = codes(4, 3, 20, 5)
    np.testing.assert_allclose(m.exact_shap(X), [brute_force_shap(table, x) for x in X], atol=1e-12)


def test_brute_force_shap_worked_example():
    # method.md §2.6: f = 1[x1 = G] + 2 * 1[x2 = A and x3 = T], x = GAT -> phi = (0.75, 0.9375, 0.9375)
    X = grid(3, 4)
    table = ((X[:, 0] == 2) + 2.0 * ((X[:, 1] == 0) & (X[:, 2] == 3))).reshape(4, 4, 4)
    np.testing.assert_allclose(brute_force_shap(table, np.array([2, 0, 3])), [0.75, 0.9375, 0.9375])
    assert shapley_weights(3).tolist() == pytest.approx([1 / 3, 1 / 6, 1 / 3])


def test_product_game_closed_form_vs_brute_force():
    rng = np.random.default_rng(0)
    for n in (1, 2, 4, 6):
        G = rng.uniform(0.01, 1.0, size=(n, 4))
        G[np.arange(n), rng.integers(0, 4, n)] = 1.0  # a guide letter per position
        table = np.ones((4,) * n)
        for i in range(n):
            table = table * G[i].reshape([4 if j == i else 1 for j in range(n)])
        X = codes(6, n, 4, n)
        got = product_game_shap(G[np.arange(n), X.astype(int)], G.mean(1))
        np.testing.assert_allclose(got, [brute_force_shap(table, x) for x in X], rtol=1e-10, atol=1e-15)


def test_offtarget_exact_shap_matches_monte_carlo(models):
    m = models["offtarget"]
    X = m.query_sequences(30)[[0, 3, 8, 20]]  # 0, 1 and 3 mismatches, and a random sequence
    exact = m.exact_shap(X)
    np.testing.assert_allclose(exact.sum(1), m(X) - np.prod(m.G.mean(1)), atol=1e-15)  # efficiency
    r = permutation_shap(m, X, 4, seed=1, min_pairs=1500, max_pairs=1500, target_floor=0)
    z = (r.shap - exact) / np.maximum(r.stderr, 1e-300)
    big = np.abs(exact) > 1e-6
    assert 0.6 < float(np.mean(z[big] ** 2)) < 1.6
    # the seed region matters most for a perfect match
    assert exact[0, 8:20].mean() > exact[0, :8].mean() > 0


# ============================================================================================ Monte Carlo
def test_permutation_mc_is_unbiased_with_honest_stderr():
    n, q = 5, 4
    w = np.arange(1, n + 1, dtype=float)

    def f(Z):
        Z = np.asarray(Z, dtype=float)
        return np.max(Z * w, axis=1) + 2.0 * (Z[:, 0] == Z[:, 3]) * (Z[:, 1] > 1)

    table = f(grid(n, q)).reshape((q,) * n)
    X = codes(24, n, q, 7)
    exact = np.array([brute_force_shap(table, x) for x in X])
    r = permutation_shap(f, X, q, seed=11, min_pairs=600, max_pairs=600, target_floor=0)
    assert r.walks == 1200 and r.calls_per_sequence == 1200 * n + 1
    z = (r.shap - exact) / r.stderr
    assert 0.7 < float(np.mean(z**2)) < 1.4  # 120 values: sd of the mean of z^2 ~ 0.13
    assert abs(float(np.mean(z))) < 0.3
    # adaptive stop: fewer pairs for a looser target, and the target is met
    r2 = permutation_shap(f, X, q, seed=11, min_pairs=16, target_floor=0.05, batch_rows=5_000)
    assert r2.noise_floor <= 0.05 and r2.walks < 1200
    again = permutation_shap(f, X, q, seed=11, min_pairs=16, target_floor=0.05, batch_rows=5_000)
    np.testing.assert_array_equal(r2.shap, again.shap)  # deterministic in the seed


# ============================================================================================ queries
def test_query_sequences(models):
    off = models["offtarget"]
    X, labels = off.query_sequences(30), off.query_labels(30)
    mism = (X[:, :20] != off.target[:20]).sum(1)
    for mm, lab in zip(mism[:20], labels[:20], strict=True):
        assert lab.startswith(f"{mm} mismatch")
    assert set(mism[:20]) == set(range(7)) and labels[20:] == ["random"] * 10
    assert (X[:20, 22] == 2).all() and sum("NAG" in s for s in labels) == 2
    pwm = models["pwm_max"]
    X, labels = pwm.query_sequences(30), pwm.query_labels(30)
    assert labels[:15] == ["random"] * 15 and all(s.startswith("site at") for s in labels[15:])
    y = pwm(X)
    assert y[15:].mean() > y[:15].mean() + 3.0  # planted sites score well above the best random site


# ============================================================================================ tree
def test_tree_training_and_export_small():
    pytest.importorskip("sklearn")
    pytest.importorskip("skl2onnx")
    from shapzero_core.zoo.tree import _evaluate, train_tree, tree_features

    arrays, data = train_tree(seed=1, n=8, train_size=400, n_estimators=6, max_depth=3)
    om = load_model(data)
    assert om.n == 8 and om.alphabet == DNA
    X = codes(300, 8, 4, 3)
    ref = _evaluate(arrays, tree_features(X).astype(np.float64))
    np.testing.assert_allclose(om(X), ref, rtol=1e-5, atol=1e-5)
    assert len(arrays["roots"]) == 6


def test_tree_committed_files_and_missing_extra(models, monkeypatch):
    m = models["tree"]
    assert m.header["onnx_sha256"].startswith(m.identity.rsplit(":", 1)[1])
    assert len(m.arrays["roots"]) == 250
    from shapzero_core.zoo import tree

    monkeypatch.setitem(sys.modules, "sklearn.ensemble", None)
    with pytest.raises(ImportError, match=r"shapzero-studio\[zoo\]"):
        tree._need_sklearn()


# ============================================================================================ truth files
@pytest.mark.parametrize("family", FAMILIES)
def test_truth_files_load_and_match_the_models(models, family):
    m = models[family]
    t = load_truth(family, model=m)  # raises StaleTruthError if the fingerprint or the queries changed
    assert t.X.shape == (30, m.n) and t.X.dtype == np.int8 and t.shap.shape == t.stderr.shape == (30, m.n)
    assert t.method == m.truth_method and len(t.labels) == 30
    np.testing.assert_allclose(t.f_x, m(t.X), rtol=1e-6, atol=1e-9)
    if t.method == "exact":
        assert not t.stderr.any() and t.walks == 0
        np.testing.assert_allclose(t.shap, m.exact_shap(t.X), rtol=1e-9, atol=1e-12)
    else:
        assert t.noise_floor <= 0.02 and t.walks >= 512 and (t.stderr > 0).all()
        assert t.noise_floor == pytest.approx(np.linalg.norm(t.stderr) / np.linalg.norm(t.shap))


def test_stale_truth_is_detected_and_named(tmp_path):
    m = get_family("potts", n=6, triples=1)
    X = m.query_sequences(30)
    p = save_truth(tmp_path / "potts.npz", m, X, m.exact_shap(X), np.zeros((30, 6)), "exact")
    t = load_truth("potts", directory=tmp_path, model=m)
    np.testing.assert_allclose(t.shap, shap_values(m.exact_sketch(), X))
    other = get_family("potts", n=6, triples=2)  # same seed, another model
    with pytest.raises(StaleTruthError, match=r"potts\.npz is stale: model potts \(seed 0\).*--family potts"):
        load_truth("potts", directory=tmp_path, model=other)
    with pytest.raises(FileNotFoundError, match=r"make_zoo_truth\.py --family cnn"):
        load_truth("cnn", directory=tmp_path)
    p.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a readable truth file"):
        load_truth("potts", directory=tmp_path, model=m)
