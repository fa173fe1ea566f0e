"""The sketching engine: plans, the aliasing equation, planted-spectrum recovery, noise, resume, cancel,
cache corruption and model errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from shapzero_core import DNA, PROTEIN, Cancelled, CancelToken, FourierSketch, shap_values
from shapzero_core.errors import ModelError, SketchError
from shapzero_core.executors import LocalExecutor
from shapzero_core.sketch import (
    SketchConfig,
    plan_for_budget,
    plan_sketch,
    sketch_model,
    subsampled_transforms,
)
from shapzero_core.sketch.decode import bin_indices, signatures


def planted(n: int, q: int, num_terms: int, max_degree: int, seed: int, alphabet=DNA, min_degree: int = 1,
            mean: float = 0.7) -> FourierSketch:
    """A real function with a known sparse spectrum: ``num_terms`` random frequencies (and their negatives)."""
    rng = np.random.default_rng(seed)
    locs = []
    for _ in range(num_terms):
        d = int(rng.integers(min_degree, max_degree + 1))
        k = np.zeros(n, np.int8)
        pos = rng.choice(n, d, replace=False)
        k[pos] = rng.integers(1, q, d)
        locs.append(k)
    K = np.array(locs)
    c = (rng.normal(size=num_terms) + 1j * rng.normal(size=num_terms)) * (0.5 + rng.random(num_terms))
    L = np.concatenate([K, np.mod(-K, q).astype(np.int8), np.zeros((1, n), np.int8)])
    C = np.concatenate([c / 2, np.conj(c) / 2, [mean]])
    return FourierSketch(L, C, alphabet)


class Counting:
    """A model wrapper that counts queried sequences (and can fail after a number of calls)."""

    def __init__(self, f, n: int, alphabet=DNA, identity: str = "test-model", fail_after: int | None = None):
        self.f, self.n, self.alphabet, self.identity, self.name = f, n, alphabet, identity, "counting"
        self.calls = 0
        self.queries = 0
        self.fail_after = fail_after

    def __call__(self, X):
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise RuntimeError("simulated crash")
        self.calls += 1
        self.queries += len(X)
        return self.f(X)


# ============================================================================================== plans
def test_plan_counts_and_paper_budgets():
    # the paper's settings: TIGER n=26 and inDelphi n=40 at q=4, b=7, C=P=3
    assert plan_sketch(26, 4, SketchConfig(b=7)).num_train_queries == 3_981_312
    assert plan_sketch(40, 4, SketchConfig(b=7)).num_train_queries == 6_045_696
    p = plan_sketch(26, 4, SketchConfig(b=7, test_size=10_000))
    assert p.num_queries == 3_991_312 and p.num_blocks == 9 and p.block_size == 27 * 4**7
    assert plan_for_budget(3_981_312, 26, 4) == SketchConfig(b=7)


def test_plan_for_budget_rule():
    cfg = plan_for_budget(30_000, 12, 4)  # the package's README example size: b=4, C=P=3 (29,952)
    assert (cfg.b, cfg.num_subsample, cfg.num_repeat) == (4, 3, 3)
    cfg = plan_for_budget(1_400_000, 26, 4)  # b=6 (995,328); then C=4 (1,327,104) fits, P=4 does not
    assert (cfg.b, cfg.num_subsample, cfg.num_repeat) == (6, 4, 3)
    cfg = plan_for_budget(100, 10, 4)  # too small for C=P=3 at b=1 (396): shrink P to 1, then C to 2 (88)
    assert (cfg.b, cfg.num_subsample, cfg.num_repeat) == (1, 2, 1)
    with pytest.raises(SketchError, match="too small"):
        plan_for_budget(10, 10, 4)
    for budget in (500, 5_000, 77_777, 2_000_000):
        cfg = plan_for_budget(budget, 20, 4)
        assert plan_sketch(20, 4, cfg).num_train_queries <= budget


def test_plan_is_a_function_of_the_seed():
    a, b = plan_sketch(10, 4, SketchConfig(b=3, seed=5)), plan_sketch(10, 4, SketchConfig(b=3, seed=5))
    assert a.hash == b.hash and np.array_equal(a.M, b.M) and np.array_equal(a.test_sequences, b.test_sequences)
    c = plan_sketch(10, 4, SketchConfig(b=3, seed=6))
    assert c.hash != a.hash
    # noise_sd and refit do not change the queries
    assert plan_sketch(10, 4, SketchConfig(b=3, seed=5, noise_sd=0.3, refit=False)).hash == a.hash


def test_block_queries_follow_the_definition():
    plan = plan_sketch(5, 3, SketchConfig(b=2, num_subsample=2, num_repeat=2, test_size=10))
    q, n, b = 3, 5, 2
    for c, p in plan.blocks:
        X = plan.block_sequences(c, p)
        assert X.shape == ((n + 1) * q**b, n) and X.dtype == np.int8
        for row in (0, 5, q**b + 4, 3 * q**b + 7, X.shape[0] - 1):
            lag, t = divmod(row, q**b)
            digits = np.array([t // q, t % q])
            d = plan.offsets[p].astype(int).copy()
            if lag:
                d[lag - 1] -= 1
            assert np.array_equal(X[row], np.mod(plan.M[c].astype(int) @ digits + d, q))
        # chunking covers the block exactly once
        ch = plan.chunks(plan.block_name(c, p), 7)
        assert np.array_equal(np.concatenate([k.sequences() for k in ch]), X)


def test_config_validation():
    with pytest.raises(ValueError, match="b must be"):
        SketchConfig(b=0)
    with pytest.raises(ValueError, match="noise_sd"):
        SketchConfig(b=2, noise_sd=-1.0)
    with pytest.raises(ValueError, match="exceeds"):
        plan_sketch(3, 4, SketchConfig(b=4))


def test_aliasing_equation_holds_exactly():
    sk = planted(8, 4, 12, 3, seed=1)
    plan = plan_sketch(8, 4, SketchConfig(b=3, test_size=0))
    V = np.stack([sk.predict(plan.block_sequences(c, p)) for c, p in plan.blocks])
    U, mu = subsampled_transforms(V.reshape(plan.C, plan.P, 9, 64), plan)
    nz = sk.degrees > 0
    loc, coef = sk.locations[nz], sk.coefficients[nz]
    bins, sig = bin_indices(loc, plan.M, 4), signatures(loc, plan.offsets, 4)
    Uhat = np.zeros_like(U)
    for t in range(loc.shape[0]):
        for c in range(plan.C):
            Uhat[c, bins[c, t]] += coef[t] * sig[t]
    Uhat[:, 0] += sk.mean - mu
    assert np.abs(U - Uhat).max() < 1e-12


# ============================================================================================== recovery
@pytest.mark.parametrize(
    ("n", "num_terms", "min_deg", "max_deg", "b", "seed"),
    [(8, 10, 1, 1, 3, 0), (12, 20, 1, 2, 4, 1), (20, 30, 2, 3, 4, 2), (26, 30, 1, 3, 5, 3), (40, 40, 3, 4, 5, 4)],
)
def test_planted_spectrum_recovered_exactly(n, num_terms, min_deg, max_deg, b, seed):
    truth = planted(n, 4, num_terms, max_deg, seed, min_degree=min_deg)
    sk = sketch_model(truth.predict, n=n, config=SketchConfig(b=b, seed=seed))
    assert np.array_equal(sk.locations, truth.locations)
    np.testing.assert_allclose(sk.coefficients, truth.coefficients, atol=1e-9)
    X = np.random.default_rng(0).integers(0, 4, (100, n)).astype(np.int8)
    np.testing.assert_allclose(shap_values(sk, X), shap_values(truth, X), atol=1e-9)
    rep = sk.report
    assert rep["r2"] > 1 - 1e-12 and rep["queries"]["train"] == 9 * (n + 1) * 4**b
    assert rep["count_by_order"] == {str(k): v for k, v in truth.count_by_order().items()}


def test_planted_protein_q20():
    truth = planted(5, 20, 12, 2, seed=7, alphabet=PROTEIN)
    sk = sketch_model(truth.predict, n=5, alphabet=PROTEIN, config=SketchConfig(b=2, test_size=2000))
    assert sk.q == 20 and np.array_equal(sk.locations, truth.locations)
    np.testing.assert_allclose(sk.coefficients, truth.coefficients, atol=1e-9)


def _shap_error(P: int, seed: int, refit: bool = True) -> float:
    truth = planted(16, 4, 25, 3, seed=seed)
    rng = np.random.default_rng(100 + seed)
    noisy = lambda X: truth.predict(X) + rng.normal(0, 1.0, len(X))  # noqa: E731
    sk = sketch_model(noisy, n=16, config=SketchConfig(b=4, num_repeat=P, seed=seed, refit=refit))
    X = np.random.default_rng(1).integers(0, 4, (300, 16)).astype(np.int8)
    ex = shap_values(truth, X)
    return float(np.linalg.norm(shap_values(sk, X) - ex) / np.linalg.norm(ex))


def test_noise_shap_error_falls_as_repeats_grow():
    errs = {P: np.mean([_shap_error(P, s) for s in (0, 1)]) for P in (1, 3, 6)}
    assert errs[1] > errs[3] > errs[6], errs
    assert errs[6] < 0.05


def test_refit_reports_both_and_does_not_hurt():
    truth = planted(16, 4, 25, 3, seed=3)
    rng = np.random.default_rng(9)
    noisy = lambda X: truth.predict(X) + rng.normal(0, 1.0, len(X))  # noqa: E731
    sk = sketch_model(noisy, n=16, config=SketchConfig(b=4, seed=3))
    rep = sk.report
    assert rep["r2"] >= rep["r2_before_refit"] - 1e-3
    assert rep["holdout_size"] == 5000 and len(rep["holdout"]["y_true"]) == 500
    assert rep["noise_sd_tuned"] and len(rep["tuning"]) >= 5
    json.dumps(rep)  # the report is JSON


# ============================================================================================== cache
def _model(n=10, seed=11, **kw):
    truth = planted(n, 4, 12, 2, seed=seed)
    return truth, Counting(truth.predict, n, **kw)


def test_resume_queries_only_the_missing_blocks(tmp_path):
    cfg = SketchConfig(b=3, test_size=500)
    plan = plan_sketch(10, 4, cfg)
    truth, m = _model()
    # 64*11 = 704 queries per block, batch 400 -> 2 calls per block; crash after 7 calls: 3 blocks done
    m.fail_after = 7
    with pytest.raises(ModelError, match=r"query block c1_p0.*simulated crash.*kept in the query cache"):
        sketch_model(m, config=cfg, cache_dir=tmp_path, batch_size=400)
    assert m.queries == 7 * 400 - 3 * 96  # three whole blocks (704 each = 400 + 304) and one 400-chunk
    m2 = Counting(truth.predict, 10)
    events = []
    sk = sketch_model(m2, config=cfg, cache_dir=tmp_path, batch_size=400, progress=lambda *e: events.append(e))
    assert m2.queries == plan.num_queries - 3 * plan.block_size
    assert sk.report["queries"]["cached"] == 3 * plan.block_size
    assert events[0][0] == "query" and events[0][1] == 3 * plan.block_size
    # a third run queries nothing and gives the same sketch
    m3 = Counting(truth.predict, 10)
    sk3 = sketch_model(m3, config=cfg, cache_dir=tmp_path, batch_size=400)
    assert m3.queries == 0 and np.array_equal(sk3.coefficients, sk.coefficients)
    assert np.array_equal(sk.locations, truth.locations)


def test_other_model_or_plan_never_reuses_a_cache(tmp_path):
    cfg = SketchConfig(b=3, test_size=200)
    _, m = _model()
    sketch_model(m, config=cfg, cache_dir=tmp_path)
    _, other = _model(seed=12, identity="another-model")
    sketch_model(other, config=cfg, cache_dir=tmp_path)
    assert other.queries == plan_sketch(10, 4, cfg).num_queries
    _, same = _model()
    sketch_model(same, config=SketchConfig(b=3, test_size=200, seed=1), cache_dir=tmp_path)
    assert same.queries == plan_sketch(10, 4, cfg).num_queries
    assert len(list(tmp_path.iterdir())) == 3


def test_models_without_identity_are_fingerprinted(tmp_path):
    truth_a = planted(10, 4, 12, 2, seed=11)
    truth_b = planted(10, 4, 12, 2, seed=12)
    cfg = SketchConfig(b=3, test_size=200)
    calls = []

    def fa(X):
        calls.append(len(X))
        return truth_a.predict(X)

    def fb(X):
        return truth_b.predict(X)

    sketch_model(fa, n=10, config=cfg, cache_dir=tmp_path)
    first = sum(calls)
    calls.clear()
    sketch_model(fa, n=10, config=cfg, cache_dir=tmp_path)
    assert sum(calls) == 16  # only the fingerprint
    sk_b = sketch_model(fb, n=10, config=cfg, cache_dir=tmp_path)
    assert first == plan_sketch(10, 4, cfg).num_queries + 16
    assert np.array_equal(sk_b.locations, truth_b.locations)  # fb did not reuse fa's cache


def test_corrupted_block_is_detected_and_requeried(tmp_path):
    cfg = SketchConfig(b=3, test_size=300)
    plan = plan_sketch(10, 4, cfg)
    truth, m = _model()
    ref = sketch_model(m, config=cfg, cache_dir=tmp_path)
    folder = next(tmp_path.iterdir())
    blk = folder / "c2_p1.npy"
    data = bytearray(blk.read_bytes())
    data[-9] ^= 0xFF  # one flipped byte inside the values
    blk.write_bytes(bytes(data))
    (folder / "c0_p0.npy").unlink()
    (folder / "test.npy").write_bytes(b"garbage")
    m2 = Counting(truth.predict, 10)
    events = []
    sk = sketch_model(m2, config=cfg, cache_dir=tmp_path, progress=lambda *e: events.append(e))
    assert m2.queries == 2 * plan.block_size + plan.num_test_queries
    msgs = " ".join(e[3] for e in events)
    assert "c2_p1: checksum mismatch" in msgs and "c0_p0" in msgs and "test" in msgs
    assert sk.report["queries"]["damaged_blocks"] == 3
    assert np.array_equal(sk.coefficients, ref.coefficients)


def test_cache_of_another_plan_in_the_same_folder_is_refused(tmp_path):
    cfg = SketchConfig(b=3, test_size=100)
    _, m = _model()
    sketch_model(m, config=cfg, cache_dir=tmp_path)
    folder = next(tmp_path.iterdir())
    man = json.loads((folder / "manifest.json").read_text())
    man["plan_hash"] = "0" * 64
    (folder / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(SketchError, match="belongs to another model or plan"):
        sketch_model(m, config=cfg, cache_dir=tmp_path)


# ============================================================================================== cancel / errors
@pytest.mark.parametrize("executor", [None, "threads"])
def test_cancel_stops_within_one_batch(tmp_path, executor):
    cfg = SketchConfig(b=3, test_size=100)
    truth, m = _model()
    token = CancelToken()

    def progress(stage, done, total, msg):
        if stage == "query" and done >= 1000:
            token.cancel()

    ex = LocalExecutor(workers=2, batch_size=100) if executor else None
    try:
        with pytest.raises(Cancelled):
            sketch_model(m, config=cfg, cache_dir=tmp_path, progress=progress, cancel=token, batch_size=100,
                         executor=ex)
    finally:
        if ex:
            ex.shutdown()
    # inline: nothing after the batch that crossed 1,000; threads: at most the tasks in flight (2 x workers)
    limit = 1000 + (100 if executor is None else 4 * 100)
    assert m.queries <= limit
    m2 = Counting(truth.predict, 10)
    sketch_model(m2, config=cfg, cache_dir=tmp_path, batch_size=100)  # resumes: the finished block is kept
    assert m2.queries == plan_sketch(10, 4, cfg).num_queries - plan_sketch(10, 4, cfg).block_size


def test_local_executor_gives_the_same_sketch():
    cfg = SketchConfig(b=3, test_size=300)
    _, m = _model()
    ref = sketch_model(m, config=cfg)
    with LocalExecutor(workers=2, batch_size=128) as ex:
        sk = sketch_model(m, config=cfg, executor=ex)
    assert np.array_equal(sk.locations, ref.locations) and np.array_equal(sk.coefficients, ref.coefficients)


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (lambda y: np.where(np.arange(len(y)) == 5, np.nan, y), r"nan \(NaN/inf\) for 1 of"),
        (lambda y: np.stack([y, y], 1), r"shape \(\d+, 2\)"),
        (lambda y: y[:-1], r"shape \(\d+,\) for \d+ sequences"),
    ],
)
def test_bad_model_output_names_the_block(tmp_path, bad, match):
    truth = planted(10, 4, 12, 2, seed=11)
    state = {"calls": 0}

    def model(X):
        state["calls"] += 1
        y = truth.predict(X)
        return bad(y) if state["calls"] == 5 else y

    m = Counting(model, 10)
    with pytest.raises(ModelError, match=match) as ei:
        sketch_model(m, config=SketchConfig(b=3, test_size=100), cache_dir=tmp_path, batch_size=400)
    assert "query block c0_p2, rows 0-399" in str(ei.value)  # 704 queries per block: calls 1-4 finish two
    assert len(json.loads(next(tmp_path.iterdir()).joinpath("manifest.json").read_text())["blocks"]) == 2


def test_argument_errors():
    truth = planted(6, 4, 5, 2, seed=0)
    with pytest.raises(ValueError, match="sequence length n is not known"):
        sketch_model(truth.predict, config=SketchConfig(b=2))
    with pytest.raises(ValueError, match="exactly one of"):
        sketch_model(truth.predict, n=6)
    with pytest.raises(TypeError, match="callable"):
        sketch_model(object(), n=6, budget=10_000)
    m = Counting(truth.predict, 6)
    with pytest.raises(ValueError, match="n=7 but the model takes sequences of length 6"):
        sketch_model(m, n=7, budget=10_000)


def test_process_workers_give_the_same_sketch():
    cfg = SketchConfig(b=3, test_size=300)
    truth, m = _model()
    ref = sketch_model(m, config=cfg)
    with LocalExecutor(workers=2, kind="process", batch_size=512) as ex:
        sk = sketch_model(truth.predict, n=10, config=cfg, executor=ex)
    assert np.array_equal(sk.locations, ref.locations) and np.array_equal(sk.coefficients, ref.coefficients)
