"""The dense low-degree component: ANOVA tables -> Fourier coefficients against brute force, planted recovery."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from shapzero_core.sketch.lowdeg import LowDegreeFit, all_pairs, fit_low_degree, lowdeg_to_fourier


def _random_fit(q: int, n: int, seed: int) -> LowDegreeFit:
    rng = np.random.default_rng(seed)
    first = rng.normal(size=(n, q))
    first -= first.mean(1, keepdims=True)
    P = all_pairs(n)
    T = rng.normal(size=(len(P), q, q))
    T = T - T.mean(2, keepdims=True) - T.mean(1, keepdims=True) + T.mean((1, 2), keepdims=True)
    return LowDegreeFit(q=q, n=n, mean=float(rng.normal()), first=first, pairs=P, tables=T, passes=0)


def _dense(locs: np.ndarray, coefs: np.ndarray, q: int, n: int) -> np.ndarray:
    F = np.zeros((q,) * n, np.complex128)
    for k, c in zip(locs, coefs, strict=True):
        F[tuple(int(v) for v in k)] += c
    return F


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
    locs, coefs = lowdeg_to_fourier(fit, drop=1e-9)
    lt, ct = lowdeg_to_fourier(truth, drop=1e-12)
    D = _dense(locs, coefs, q, n) - _dense(lt, ct, q, n)
    assert np.linalg.norm(D) <= 1e-3 * np.linalg.norm(ct)
    Xe = rng.integers(0, q, size=(2_000, n), dtype=np.int8)
    np.testing.assert_allclose(fit.predict(Xe), truth.predict(Xe), atol=1e-3)


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
