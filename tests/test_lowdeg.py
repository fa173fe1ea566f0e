"""The dense low-degree component: ANOVA tables -> Fourier coefficients against brute force, planted recovery."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from shapzero_core.sketch.lowdeg import (
    LowDegreeFit,
    all_pairs,
    fit_low_degree,
    local_triples,
    lowdeg_to_fourier,
)


def _centred(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    t = rng.normal(size=shape)
    for ax in range(1, len(shape)):  # axis 0 numbers the tables
        t = t - t.mean(axis=ax, keepdims=True)
    return t


def _random_fit(q: int, n: int, seed: int, window: int | None = None) -> LowDegreeFit:
    rng = np.random.default_rng(seed)
    first = rng.normal(size=(n, q))
    first -= first.mean(1, keepdims=True)
    P = all_pairs(n)
    T = _centred(rng, (len(P), q, q))
    S = local_triples(n, window) if window else np.zeros((0, 3), np.int64)
    return LowDegreeFit(q=q, n=n, mean=float(rng.normal()), first=first, pairs=P, tables=T, passes=0,
                        triples=S, tables3=_centred(rng, (len(S), q, q, q)))


def _dense(locs: np.ndarray, coefs: np.ndarray, q: int, n: int) -> np.ndarray:
    F = np.zeros((q,) * n, np.complex128)
    for k, c in zip(locs, coefs, strict=True):
        F[tuple(int(v) for v in k)] += c
    return F


def _assert_recovered(fit: LowDegreeFit, truth: LowDegreeFit, rng: np.random.Generator) -> np.ndarray:
    """The fit's spectrum equals the truth's (relative 1e-3) and so do its values on fresh sequences (returned)."""
    q, n = truth.q, truth.n
    locs, coefs = lowdeg_to_fourier(fit, drop=1e-9)
    lt, ct = lowdeg_to_fourier(truth, drop=1e-12)
    D = _dense(locs, coefs, q, n) - _dense(lt, ct, q, n)
    assert np.linalg.norm(D) <= 1e-3 * np.linalg.norm(ct)
    Xe = rng.integers(0, q, size=(2_000, n), dtype=np.int8)
    np.testing.assert_allclose(fit.predict(Xe), truth.predict(Xe), atol=1e-3)
    return Xe


@pytest.mark.parametrize(("q", "n"), [(3, 4), (4, 5), (3, 6), (4, 3)])
def test_fourier_conversion_matches_brute_force(q: int, n: int) -> None:
    fit = _random_fit(q, n, seed=q * 10 + n)
    X = np.array(list(itertools.product(range(q), repeat=n)), dtype=np.int8)
    f = fit.predict(X).reshape((q,) * n)
    F_true = np.fft.fftn(f) / q**n  # F[k] = q^-n sum_x f(x) w^{-<k,x>}
    locs, coefs = lowdeg_to_fourier(fit)
    assert np.unique(locs, axis=0).shape[0] == locs.shape[0]
    assert np.all((locs != 0).sum(1) <= 2)
    np.testing.assert_allclose(_dense(locs, coefs, q, n), F_true, atol=1e-12)


@pytest.mark.parametrize(("q", "n", "window"), [(3, 4, 2), (4, 5, 3), (3, 6, 5), (4, 6, 2)])
def test_fourier_conversion_with_triples_matches_brute_force(q: int, n: int, window: int) -> None:
    fit = _random_fit(q, n, seed=q * 10 + n + window, window=window)
    assert len(fit.triples) > 0
    X = np.array(list(itertools.product(range(q), repeat=n)), dtype=np.int8)
    f = fit.predict(X).reshape((q,) * n)
    F_true = np.fft.fftn(f) / q**n
    locs, coefs = lowdeg_to_fourier(fit)
    assert np.unique(locs, axis=0).shape[0] == locs.shape[0]
    deg = (locs != 0).sum(1)
    assert deg.max() == 3 and np.count_nonzero(deg == 3) == len(fit.triples) * (q - 1) ** 3
    np.testing.assert_allclose(_dense(locs, coefs, q, n), F_true, atol=1e-12)
    # lower() is the same model without its triples: its transform is the order <= 2 part
    lo_locs, lo_coefs = lowdeg_to_fourier(fit.lower())
    F_lo = F_true.copy()
    F_lo[np.count_nonzero(np.indices((q,) * n), axis=0) == 3] = 0
    np.testing.assert_allclose(_dense(lo_locs, lo_coefs, q, n), F_lo, atol=1e-12)


def test_local_triples() -> None:
    S = local_triples(6, 2)
    assert S.tolist() == [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5]]
    brute = [t for t in itertools.combinations(range(9), 3) if t[2] - t[0] <= 4]
    assert [tuple(t) for t in local_triples(9, 4).tolist()] == brute
    assert len(local_triples(7, 6)) == 35  # window n - 1: every triple
    with pytest.raises(ValueError, match="at least 2"):
        local_triples(5, 1)


@pytest.mark.parametrize(("q", "n"), [(4, 6), (3, 6)])
def test_planted_order3_recovered_from_random_queries(q: int, n: int) -> None:
    full = _random_fit(q, n, seed=7, window=3)
    keep_p, keep_t = np.array([0, 5, 9]), np.array([1, 4])
    truth = LowDegreeFit(q, n, full.mean, full.first, full.pairs[keep_p], full.tables[keep_p], 0,
                         triples=full.triples[keep_t], tables3=full.tables3[keep_t])
    rng = np.random.default_rng(2)
    X = rng.integers(0, q, size=(40_000, n), dtype=np.int8)
    fit = fit_low_degree(X, truth.predict(X), q, triples=3, passes=40, tol=1e-14)
    Xe = _assert_recovered(fit, truth, rng)
    # a pairwise-only fit cannot hold the triples: it leaves their energy in the residual
    lo = fit_low_degree(X, truth.predict(X), q, passes=40, tol=1e-14)
    assert np.abs(lo.predict(Xe) - truth.predict(Xe)).max() > 0.1


def test_triple_screening_keeps_strongest_and_respects_the_budget() -> None:
    q, n = 4, 10
    full = _random_fit(q, n, seed=11, window=9)
    strong = np.array([3, 50, 100])
    truth = LowDegreeFit(q, n, full.mean, full.first, full.pairs[:0], full.tables[:0], 0,
                         triples=full.triples[strong], tables3=full.tables3[strong])
    rng = np.random.default_rng(5)
    X = rng.integers(0, q, size=(10_000, n), dtype=np.int8)
    y = truth.predict(X)
    # 120 candidate triples x 27 parameters > 0.2 x 10,000 - first order - pairs: only a few fit
    fit = fit_low_degree(X, y, q, triples=9, max_params=0.2)
    left = 0.2 * 10_000 - n * (q - 1) - len(fit.pairs) * (q - 1) ** 2
    assert 3 <= len(fit.triples) <= left // (q - 1) ** 3
    assert {tuple(t) for t in full.triples[strong].tolist()} <= {tuple(t) for t in fit.triples.tolist()}
    # no room for one triple table: none, without looking
    tight = fit_low_degree(X, y, q, triples=9, max_params=0.005)
    assert len(tight.triples) == 0
    # ... and then the pairs are fitted exactly as without triples (every pass they would have had)
    alone = fit_low_degree(X, y, q, max_params=0.005)
    assert tight.passes == alone.passes
    np.testing.assert_allclose(tight.tables, alone.tables, atol=1e-12)
    np.testing.assert_allclose(tight.first, alone.first, atol=1e-12)
    # an explicit array is taken as given
    exact = fit_low_degree(X, y, q, triples=full.triples[strong], max_params=0.005)
    assert exact.triples.tolist() == full.triples[strong].tolist()


def test_noise_triples_shrunk_away() -> None:
    q, n = 4, 8
    truth = _planted(q, n, seed=2, pairs=np.array([4]))
    rng = np.random.default_rng(9)
    X = rng.integers(0, q, size=(60_000, n), dtype=np.int8)
    y = truth.predict(X) + 0.3 * rng.normal(size=X.shape[0])
    fit = fit_low_degree(X, y, q, triples=3)
    plain = fit_low_degree(X, y, q, triples=3, shrink=False)
    e, e_plain = (fit.tables3**2).sum((1, 2, 3)), (plain.tables3**2).sum((1, 2, 3))
    assert e.sum() < 0.2 * e_plain.sum()
    assert np.count_nonzero(e) < len(e) // 2


def _planted(q: int, n: int, seed: int, pairs: np.ndarray) -> LowDegreeFit:
    fit = _random_fit(q, n, seed)
    keep = np.isin(np.arange(len(fit.pairs)), pairs)
    return LowDegreeFit(q, n, fit.mean, fit.first, fit.pairs[keep], fit.tables[keep], 0)


@pytest.mark.parametrize(("q", "n"), [(4, 8), (3, 6)])
def test_planted_order2_recovered_from_random_queries(q: int, n: int) -> None:
    truth = _planted(q, n, seed=5, pairs=np.array([0, 3, 7]))
    rng = np.random.default_rng(1)
    X = rng.integers(0, q, size=(20_000, n), dtype=np.int8)
    fit = fit_low_degree(X, truth.predict(X), q, passes=40, tol=1e-14)
    _assert_recovered(fit, truth, rng)


def test_noise_pairs_shrunk_away() -> None:
    q, n = 4, 10
    rng = np.random.default_rng(3)
    truth = _planted(q, n, seed=2, pairs=np.array([4]))
    X = rng.integers(0, q, size=(40_000, n), dtype=np.int8)
    y = truth.predict(X) + 0.3 * rng.normal(size=X.shape[0])
    fit = fit_low_degree(X, y, q)
    energy = (fit.tables**2).sum((1, 2))
    assert int(np.argmax(energy)) == 4
    others = np.delete(energy, 4)
    plain = np.delete((fit_low_degree(X, y, q, shrink=False).tables ** 2).sum((1, 2)), 4)  # least squares
    assert others.sum() < 0.2 * plain.sum()  # the pure-noise tables are shrunk (most to exactly 0)
    assert np.count_nonzero(others) < len(others) // 2
    assert others.sum() < 0.05 * energy[4]


def test_pair_screening_keeps_strongest_pairs() -> None:
    q, n = 6, 12
    truth = _planted(q, n, seed=4, pairs=np.array([1, 20, 40]))
    rng = np.random.default_rng(0)
    X = rng.integers(0, q, size=(8_000, n), dtype=np.int8)
    fit = fit_low_degree(X, truth.predict(X), q, max_params=0.02)  # room for 6 pairs of 66
    assert len(fit.pairs) <= 6
    kept = {tuple(p) for p in fit.pairs.tolist()}
    assert {tuple(all_pairs(n)[k]) for k in (1, 20, 40)} <= kept


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="X must be"):
        fit_low_degree(np.zeros((5, 3), np.int8), np.zeros(4), 4)
    with pytest.raises(ValueError, match="pairs must be"):
        fit_low_degree(np.zeros((5, 3), np.int8), np.zeros(5), 4, pairs=np.array([[2, 1]]))
    with pytest.raises(ValueError, match="triples must be"):
        fit_low_degree(np.zeros((5, 4), np.int8), np.zeros(5), 4, triples=np.array([[0, 2, 2]]))
    with pytest.raises(ValueError, match="triples must be"):
        fit_low_degree(np.zeros((5, 4), np.int8), np.zeros(5), 4, triples=np.array([[0, 2, 4]]))
