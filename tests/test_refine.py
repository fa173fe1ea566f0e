"""refine_shap and check_sketch against brute force (q = 4, n <= 7: all 4^n sequences, all 2^n coalitions).

The brute force never touches a Fourier transform: the game v_x(S) = E_z f(x_S, z_rest) is the mean of
the model's full table over the positions outside S, and the Shapley value is the textbook weighted sum
over all coalitions. Every random choice is seeded, so these tests are deterministic; their tolerances are
set from the sampling theory (stated at each assert), several standard deviations wide.
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import threading
from math import factorial

import numpy as np
import pytest

from shapzero_core import Cancelled, CancelToken, FourierSketch, shap_values
from shapzero_core.errors import ModelError
from shapzero_core.executors import LocalExecutor
from shapzero_core.refine import (
    MIN_PAIRS,
    check_sketch,
    expected_calls,
    pair_cost,
    refine_shap,
    sketch_error_bars,
    trust_info,
    with_trust,
)

Q = 4


# ----------------------------------------------------------------------------- brute force
def brute_shap(T: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Exact SHAP values of the table model ``T`` (shape (q,)*n) at the rows of ``X`` (N, n)."""
    n = T.ndim
    N = X.shape[0]
    v = np.empty((N, 1 << n))
    for S in range(1 << n):
        inside = [i for i in range(n) if S >> i & 1]
        outside = tuple(i for i in range(n) if not S >> i & 1)
        M = T.mean(axis=outside, keepdims=True) if outside else T
        idx = tuple(X[:, i] if i in inside else np.zeros(N, dtype=np.intp) for i in range(n))
        v[:, S] = M[idx]
    phi = np.zeros((N, n))
    for i in range(n):
        for S in range(1 << n):
            if S >> i & 1:
                continue
            s = bin(S).count("1")
            w = factorial(s) * factorial(n - s - 1) / factorial(n)
            phi[:, i] += w * (v[:, S | 1 << i] - v[:, S])
    return phi


class TableModel:
    """``f(x) = T[x]``, counting every sequence it is called on."""

    def __init__(self, T: np.ndarray) -> None:
        self.T = T
        self.n = T.ndim
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        with self.lock:
            self.calls += X.shape[0]
        return self.T[tuple(X.T.astype(np.intp))]


def structured_table(n: int, seed: int) -> np.ndarray:
    """A dense, non-sparse model: additive + pairwise + a max over windows + noise-like structure."""
    rng = np.random.default_rng(seed)
    G = np.indices((Q,) * n)  # (n, 4, ..., 4)
    T = sum(rng.normal(size=Q)[G[i]] for i in range(n))
    for i in range(n - 1):
        T = T + 0.5 * rng.normal(size=(Q, Q))[G[i], G[i + 1]]
    w = rng.normal(size=(3, Q))
    scan = np.stack([sum(w[j][G[i + j]] for j in range(3)) for i in range(n - 2)])
    T = T + 1.5 * scan.max(axis=0)
    return T + 0.3 * rng.normal(size=T.shape)


def partial_sketch(T: np.ndarray, keep: int, seed: int) -> FourierSketch:
    """The ``keep`` largest coefficients of the exact transform, each perturbed by 10 %: a sketch with a
    dense residual (missed coefficients and errors on the kept ones)."""
    exact = FourierSketch.from_dense(T)
    order = np.argsort(-np.abs(exact.coefficients), kind="stable")[:keep]
    rng = np.random.default_rng(seed)
    coef = exact.coefficients[order] * (1 + 0.1 * rng.normal(size=keep))
    return FourierSketch(exact.locations[order], coef)


def empty_sketch(n: int) -> FourierSketch:
    return FourierSketch(np.zeros((0, n), dtype=np.int8), np.zeros(0))


@pytest.fixture(scope="module")
def case7():
    n = 7
    T = structured_table(n, seed=7)
    rng = np.random.default_rng(70)
    X = rng.integers(0, Q, size=(300, n))
    return T, X, brute_shap(T, X)


def test_brute_force_matches_the_closed_form_of_an_exact_sketch():
    T = structured_table(5, seed=1)
    X = np.random.default_rng(2).integers(0, Q, size=(20, 5))
    np.testing.assert_allclose(brute_shap(T, X), shap_values(FourierSketch.from_dense(T), X), atol=1e-10)


# ----------------------------------------------------------------------------- calibration
@pytest.mark.parametrize("calls", [400, 2048])
def test_calibrated_against_brute_force(case7, calls):
    """z = (refined - exact) / stderr over 2,100 values: mean z^2 in [0.8, 1.25], >= 93 % within +-2
    stderr, mean z near 0. With 2,100 values the sampling sd of mean z^2 is about 0.04 (Gaussian z)."""
    T, X, phi = case7
    sk = partial_sketch(T, keep=60, seed=3)
    r = refine_shap(TableModel(T), sk, X, calls_per_seq=calls, seed=11)
    assert r.pairs.min() >= MIN_PAIRS
    assert (r.stderr > 0).all()
    z = (r.values - phi) / r.stderr
    assert z.size >= 500
    assert 0.8 <= float(np.mean(z**2)) <= 1.25
    assert float(np.mean(np.abs(z) <= 2)) >= 0.93
    assert abs(float(np.mean(z))) < 0.15
    # the control variate helps: refined values beat the sketch's own
    err_ref = np.linalg.norm(r.values - phi) / np.linalg.norm(phi)
    err_sk = np.linalg.norm(r.sketch_values - phi) / np.linalg.norm(phi)
    assert err_ref < err_sk


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_calibrated_at_the_minimum_pairs(case7, seed):
    """With only the 16 enforced pairs the t-corrected stderr keeps mean z^2 near 1 (uncorrected: 15/13
    for Gaussian samples, more for these zero-inflated ones), for every seed tried."""
    T, X, phi = case7
    sk = partial_sketch(T, keep=60, seed=3)
    calls = int(np.ceil(1 + MIN_PAIRS * pair_cost(7, Q))) + 1
    r = refine_shap(TableModel(T), sk, X, calls_per_seq=calls, seed=seed)
    assert (r.pairs == MIN_PAIRS).all()
    assert (r.stderr > 0).all()
    z = (r.values - phi) / r.stderr
    assert 0.8 <= float(np.mean(z**2)) <= 1.25
    assert float(np.mean(np.abs(z) <= 2)) >= 0.93


@pytest.mark.parametrize("use_sketch", [True, False])
def test_unbiased_over_many_seeds(use_sketch):
    """The average of 200 independent estimates (seeds) of one sequence's values equals the exact values to
    within 4 standard errors of that average (a bias of 1/20 of one estimate's stderr would show)."""
    n = 6
    T = structured_table(n, seed=21)
    x = np.random.default_rng(22).integers(0, Q, size=(1, n))
    phi = brute_shap(T, x)[0]
    sk = partial_sketch(T, keep=40, seed=23) if use_sketch else empty_sketch(n)
    model = TableModel(T)
    est = np.stack([refine_shap(model, sk, x, calls_per_seq=400, seed=s).values[0] for s in range(200)])
    mean = est.mean(axis=0)
    se_mean = est.std(axis=0, ddof=1) / np.sqrt(est.shape[0])
    assert np.all(np.abs(mean - phi) <= 4 * se_mean + 1e-12), (mean - phi) / se_mean


def test_plain_monte_carlo_is_the_empty_sketch(case7):
    """An empty sketch is plain permutation Monte Carlo with the same walks: unbiased, calibrated, and
    noisier than with the sketch as control variate."""
    T, X, phi = case7
    X, phi = X[:100], phi[:100]
    r0 = refine_shap(TableModel(T), empty_sketch(7), X, calls_per_seq=800, seed=1)
    r1 = refine_shap(TableModel(T), partial_sketch(T, keep=120, seed=3), X, calls_per_seq=800, seed=1)
    np.testing.assert_array_equal(r0.sketch_values, 0.0)
    z0 = (r0.values - phi) / r0.stderr
    assert 0.8 <= float(np.mean(z0**2)) <= 1.25
    assert np.median(r1.stderr) < 0.7 * np.median(r0.stderr)
    np.testing.assert_array_equal(r0.calls_per_seq, r1.calls_per_seq)  # same walks, same calls


# ----------------------------------------------------------------------------- zero residual
@pytest.mark.parametrize("target", [1e-3, None])
def test_zero_residual_needs_only_the_tiny_check(target):
    """An exact sketch: the residual is 0 up to round-off at every point of the first 4 pairs, so every
    sequence stops there (at most 1 + 4 * (2n - 1) = 37 calls at n = 5, not the 4,096 allowed), stderr ~0."""
    n = 5
    T = structured_table(n, seed=4)
    exact = FourierSketch.from_dense(T)
    X = np.random.default_rng(5).integers(0, Q, size=(40, n))
    model = TableModel(T)
    r = refine_shap(model, exact, X, calls_per_seq=4096, target_se=target)
    assert (r.pairs == 4).all()
    assert r.calls_per_seq.max() <= 1 + 4 * (2 * n - 1)
    assert r.calls_per_seq.mean() < 0.01 * 4096
    assert model.calls == r.model_calls
    assert r.stderr.max() < 1e-12
    np.testing.assert_allclose(r.values, brute_shap(T, X), atol=1e-10)
    np.testing.assert_allclose(r.values, r.sketch_values, atol=1e-10)


def test_target_se_stops_each_sequence_at_its_own_precision(case7):
    T, X, _phi = case7
    X = X[:60]
    sk = partial_sketch(T, keep=60, seed=3)
    r = refine_shap(TableModel(T), sk, X, calls_per_seq=20_000, target_se=0.05, seed=2)
    assert np.all(r.stderr.max(axis=1) < 0.05)
    assert r.pairs.min() >= MIN_PAIRS and len(np.unique(r.pairs)) > 5  # sequences stop at different times
    # a budget too small for the target stops at the budget instead
    r2 = refine_shap(TableModel(T), sk, X, calls_per_seq=400, target_se=1e-6, seed=2)
    m_max = int((400 - 1) // pair_cost(7, Q))
    assert (r2.pairs == m_max).all()


# ----------------------------------------------------------------------------- calls
def test_model_calls_are_counted_exactly_and_steps_that_change_nothing_are_free(case7):
    T, X, _ = case7
    X = X[:50]
    sk = partial_sketch(T, keep=60, seed=3)
    model = TableModel(T)
    r = refine_shap(model, sk, X, calls_per_seq=1000, seed=4)
    assert r.model_calls == model.calls == int(r.calls_per_seq.sum())
    # per sequence: refining it alone makes the same walks (streams depend on the seed and the sequence)
    for s in (0, 17, 49):
        alone = TableModel(T)
        r1 = refine_shap(alone, sk, X[s : s + 1], calls_per_seq=1000, seed=4)
        assert alone.calls == r1.calls_per_seq[0] == r.calls_per_seq[s]
        np.testing.assert_allclose(r1.values[0], r.values[s], rtol=0, atol=1e-12)
    # a walk pair costs 2d - 1 calls (d ~ Binomial(n, 3/4)): 1 + m (2 * 5.25 - 1) on average, not the
    # 2n + 1 = 15 per pair of walks that query every step; the sd of the total over m pairs is 2 sqrt(m n 3/16)
    m = r.pairs[0]
    assert (r.pairs == m).all() and m == int((1000 - 1) // pair_cost(7, Q))
    expect = 1 + m * pair_cost(7, Q)
    sd = 2 * np.sqrt(m * 7 * 3 / 16)
    assert np.all(np.abs(r.calls_per_seq - expect) <= 5 * sd)
    assert abs(r.calls_per_seq.mean() - expect) <= 5 * sd / np.sqrt(50)
    assert expected_calls(7, Q, 50, 1000) == round(50 * expect)


def test_too_small_a_budget_and_bad_arguments_are_clear_errors(case7):
    T, X, _ = case7
    sk = partial_sketch(T, keep=10, seed=3)
    with pytest.raises(ValueError, match=r"calls_per_seq=100 buys 10 antithetic walk pairs.*at least 16 are needed"
                                         r".*calls_per_seq >= 154"):
        refine_shap(TableModel(T), sk, X[:2], calls_per_seq=100)
    with pytest.raises(ValueError, match="target_se must be a positive number"):
        refine_shap(TableModel(T), sk, X[:2], target_se=0)
    with pytest.raises(ValueError, match="length 5"):
        refine_shap(TableModel(T), sk, X[:2, :5])
    with pytest.raises(ValueError, match="the model takes sequences of length 6"):
        refine_shap(TableModel(structured_table(6, 0)), sk, X[:2])
    with pytest.raises(ValueError, match="min_pairs must be >= 4"):
        refine_shap(TableModel(T), sk, X[:2], min_pairs=2)


# ----------------------------------------------------------------------------- executors, progress, cancel
@pytest.mark.parametrize("make", [lambda: LocalExecutor(2, batch_size=97), lambda: cf.ThreadPoolExecutor(3)])
def test_executors_give_the_same_values_as_inline(case7, make):
    T, X, _ = case7
    X = X[:40]
    sk = partial_sketch(T, keep=60, seed=3)
    inline = refine_shap(TableModel(T), sk, X, calls_per_seq=500, seed=9)
    events = []
    with make() as ex:
        model = TableModel(T)
        r = refine_shap(model, sk, X, calls_per_seq=500, seed=9, executor=ex,
                        progress=lambda *a: events.append(a))
    np.testing.assert_allclose(r.values, inline.values, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(r.stderr, inline.stderr)
    assert model.calls == r.model_calls == inline.model_calls
    stages = {e[0] for e in events}
    assert stages == {"refine"}
    dones = [e[1] for e in events]
    assert dones == sorted(dones) and dones[-1] == r.model_calls
    assert events[-1][1] == events[-1][2]


@pytest.mark.parametrize("with_executor", [False, True])
def test_cancel_stops_refining(case7, with_executor):
    T, X, _ = case7
    sk = partial_sketch(T, keep=60, seed=3)
    token = CancelToken()
    model = TableModel(T)

    def progress(stage, done, total, msg):
        if done >= 2000:
            token.cancel()

    ex = LocalExecutor(2, batch_size=256) if with_executor else None
    try:
        with pytest.raises(Cancelled, match="refining was cancelled"):
            refine_shap(model, sk, X, calls_per_seq=2048, executor=ex, batch_size=256, progress=progress,
                        cancel=token)
    finally:
        if ex is not None:
            ex.shutdown()
    assert model.calls < 2000 + 5 * 256  # stopped within a few batches, far from 300 * 2048


def test_model_error_names_the_sequence():
    n = 6
    T = structured_table(n, seed=8)
    X = np.random.default_rng(9).integers(0, Q, size=(12, n))
    X[5] = [3, 3, 3, 3, 3, 3]
    X[:5, 0] = 0
    X[6:, 0] = 0
    sk = partial_sketch(T, keep=20, seed=1)

    def nan_at_all_t(Xb):  # NaN for TTTTTT: only sequence 5 is that sequence
        Xb = np.asarray(Xb)
        y = TableModel(T)(Xb)
        y[(Xb == 3).all(axis=1)] = np.nan
        return y

    with pytest.raises(ModelError, match=r"refining sequence 5 \(row 5 of X, TTTTTT\).*NaN"):
        refine_shap(nan_at_all_t, sk, X, calls_per_seq=400)

    def raises_on_t_start(Xb):  # raises for a whole batch that holds a sequence starting with T
        Xb = np.asarray(Xb)
        if (Xb[:, 0] == 3).any() and (Xb == 3).all(axis=1).any():
            raise RuntimeError("weights for TTTTTT not found")
        return TableModel(T)(Xb)

    with pytest.raises(ModelError, match=r"refining sequence 5 .*RuntimeError: weights for TTTTTT not found"):
        refine_shap(raises_on_t_start, sk, X, calls_per_seq=400)

    calls = {"k": 0}

    def dies_after_first_batch(Xb):  # a model that fails in the walks (after f(x) of every sequence)
        calls["k"] += 1
        if calls["k"] > 1:
            raise OSError("connection reset")
        return TableModel(T)(Xb)

    with pytest.raises(ModelError, match=r"refining sequence \d+ \(row \d+ of X.*connection reset"):
        refine_shap(dies_after_first_batch, sk, X, calls_per_seq=400)


# ----------------------------------------------------------------------------- trust check
def test_check_of_an_exact_sketch_is_trustworthy():
    n = 5
    T = structured_table(n, seed=12)
    model = TableModel(T)
    rep = check_sketch(model, FourierSketch.from_dense(T), n_seqs=8, calls_per_seq=4096)
    assert rep.level == "trustworthy"
    assert model.calls <= 8 * (1 + 4 * (2 * n - 1))  # the zero-residual shortcut
    assert rep.median_rel_l2 < 1e-8 and rep.verdict == "sketch values trustworthy (est. rel. error 0: exact within round-off)"
    assert rep.position_rmse.max() < 1e-8
    assert rep.model_calls == rep.refined.model_calls


@pytest.mark.parametrize(("keep", "level"), [(300, "approximate"), (12, "unreliable")])
def test_check_estimates_the_true_error_of_a_partial_sketch(keep, level):
    """The de-biased median relative L2 error is within a factor 1.5 of the true one on the same random
    sequences, and the per-position RMS error (the sketch-only error bars) within a factor 1.5 too."""
    n = 7
    T = structured_table(n, seed=13)
    sk = partial_sketch(T, keep=keep, seed=14)
    rep = check_sketch(TableModel(T), sk, n_seqs=16, calls_per_seq=4096, seed=3)
    X = rep.refined.X
    phi = brute_shap(T, X)
    phi_s = shap_values(sk, X)
    true_rel = np.linalg.norm(phi_s - phi, axis=1) / np.linalg.norm(phi, axis=1)
    assert 1 / 1.5 <= rep.median_rel_l2 / np.median(true_rel) <= 1.5
    true_pos = np.sqrt(((phi_s - phi) ** 2).mean(axis=0))
    assert np.all((rep.position_rmse / true_pos >= 1 / 1.5) & (rep.position_rmse / true_pos <= 1.5))
    assert rep.level == level
    assert rep.median_noise_floor < rep.median_rel_l2
    assert np.all(rep.rel_l2 <= rep.rel_l2_raw + 1e-12)


def test_trust_is_stored_in_the_report_and_the_file(tmp_path):
    n = 5
    T = structured_table(n, seed=15)
    sk = partial_sketch(T, keep=40, seed=1).with_metadata(report={"r2": 0.5})
    assert trust_info(sk) is None and sketch_error_bars(sk, 3) is None
    rep = check_sketch(TableModel(T), sk, n_seqs=4, calls_per_seq=400)
    sk2 = with_trust(sk, rep)
    assert sk2.report["r2"] == 0.5 and sk2.report["trust"]["verdict"] == rep.verdict
    loaded = FourierSketch.load(sk2.save(tmp_path / "s.npz"))
    info = trust_info(loaded)
    assert info["level"] == rep.level and info["n_seqs"] == 4
    bars = sketch_error_bars(loaded, 3)
    assert bars.shape == (3, n)
    np.testing.assert_allclose(bars[2], rep.position_rmse, rtol=1e-5, atol=1e-6)
    # a sketch without a report keeps it in its metadata
    bare = with_trust(partial_sketch(T, keep=40, seed=1), rep)
    assert bare.report is None and trust_info(bare)["level"] == rep.level


def test_all_sequences_exhaustively_small_n():
    """n = 4: every one of the 256 sequences, 4 values each (1,024 values) -- calibrated over all of them."""
    n = 4
    T = structured_table(n, seed=30)
    X = np.array(list(itertools.product(range(Q), repeat=n)))
    phi = brute_shap(T, X)
    r = refine_shap(TableModel(T), partial_sketch(T, keep=30, seed=31), X, calls_per_seq=400, seed=32)
    z = (r.values - phi) / r.stderr
    assert 0.8 <= float(np.mean(z**2)) <= 1.25
    assert float(np.mean(np.abs(z) <= 2)) >= 0.93


def test_positions_the_residual_ignores_have_zero_stderr_and_are_flagged():
    """The sketch is exact except for one pair term on positions 0 and 1: the other positions' values are
    exact with stderr 0 (flagged no_variation), positions 0 and 1 are estimated with a real error bar."""
    n = 6
    T = structured_table(n, seed=40)
    exact = FourierSketch.from_dense(T)
    missed = (exact.locations[:, 2:] == 0).all(axis=1) & (exact.locations[:, :2] != 0).all(axis=1)
    sk = FourierSketch(exact.locations[~missed], exact.coefficients[~missed])
    X = np.random.default_rng(41).integers(0, Q, size=(30, n))
    r = refine_shap(TableModel(T), sk, X, calls_per_seq=600, seed=3)
    phi = brute_shap(T, X)
    assert r.no_variation[:, 2:].all() and not r.no_variation[:, :2].any()
    np.testing.assert_allclose(r.values[:, 2:], phi[:, 2:], atol=1e-10)
    assert r.stderr[:, 2:].max() < 1e-10 and r.stderr[:, :2].min() > 0
    z = (r.values[:, :2] - phi[:, :2]) / r.stderr[:, :2]
    assert float(np.mean(z**2)) < 2.0


def test_minimum_calls_and_the_check_raises_a_small_budget_to_it():
    from shapzero_core.refine import minimum_calls

    for n in (3, 7, 26, 300):
        lo = minimum_calls(n, Q)
        assert int((lo - 1) // pair_cost(n, Q)) >= MIN_PAIRS > int((lo - 2) // pair_cost(n, Q))
    T = structured_table(5, seed=50)
    rep = check_sketch(TableModel(T), partial_sketch(T, keep=20, seed=1), n_seqs=3, calls_per_seq=10)
    assert rep.calls_per_seq == minimum_calls(5, Q) and (rep.refined.pairs >= MIN_PAIRS).all()
