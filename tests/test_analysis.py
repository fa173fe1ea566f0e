"""Summaries across sequences, checked against brute force and planted spectra."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from shapzero_core import DNA, FourierSketch, shap_values
from shapzero_core.analysis import (
    carriers,
    difference_summary,
    explain_sequences,
    hypothetical_shap,
    position_letter_summary,
    repeat_spacing_summary,
    select,
    spaced_repeats,
    split_interaction_summary,
    top_interactions,
)
from shapzero_core.sequences import SequenceSet, random_sequences

Q = 4


def planted(terms, n, q=Q, mean=0.0):
    """Exact sparse spectrum of f(x) = mean + sum_t table_t(x[positions_t]).

    Each term is (positions, table) with ``table`` of shape (q,)*len(positions); its transform over those
    positions (``fftn / q^d``) is embedded at the full length ``n``.
    """
    locs, coefs = [np.zeros((1, n), dtype=np.int8)], [np.array([mean], dtype=complex)]
    for positions, table in terms:
        d = len(positions)
        F = np.fft.fftn(np.asarray(table, dtype=float)) / q**d
        ks = np.argwhere(np.abs(F) > 1e-14)
        L = np.zeros((ks.shape[0], n), dtype=np.int8)
        L[:, list(positions)] = ks
        locs.append(L)
        coefs.append(F[tuple(ks.T)])
    return FourierSketch(np.concatenate(locs), np.concatenate(coefs), DNA)


def letter_term(pos, letter, w):
    t = np.zeros(Q)
    t[DNA.letters.index(letter)] = w
    return ((pos,), t)


def microhomology_term(i, d, w):
    """w * 1[x_i = x_{i+d} and x_{i+1} = x_{i+d+1}] (0-based i)."""
    a, b, c, e = np.meshgrid(*(np.arange(Q),) * 4, indexing="ij")
    return ((i, i + 1, i + d, i + d + 1), w * ((a == c) & (b == e)))


def random_sketch(n, K, seed, max_deg=3):
    rng = np.random.default_rng(seed)
    L = np.zeros((K, n), dtype=np.int8)
    for r in range(K):
        deg = rng.integers(1, max_deg + 1)
        pos = rng.choice(n, deg, replace=False)
        L[r, pos] = rng.integers(1, Q, deg)
    c = rng.normal(size=K) + 1j * rng.normal(size=K)
    return FourierSketch(L, c, DNA)


def test_planted_helper_is_exact():
    sk = planted([letter_term(1, "G", 2.0), microhomology_term(0, 2, -1.5)], n=5, mean=0.3)
    X = np.array(list(itertools.product(range(Q), repeat=5)), dtype=np.int8)
    f = 0.3 + 2.0 * (X[:, 1] == 2) - 1.5 * ((X[:, 0] == X[:, 2]) & (X[:, 1] == X[:, 3]))
    np.testing.assert_allclose(sk.predict(X), f, atol=1e-12)


def test_position_letter_summary_matches_loops():
    sk = random_sketch(7, 40, seed=1)
    S = random_sequences(300, 7, seed=2)
    ex = explain_sequences(sk, S)
    summ = position_letter_summary(ex)
    for i in range(7):
        for a in range(Q):
            sel = ex.X[:, i] == a
            assert summ.count[i, a] == sel.sum()
            np.testing.assert_allclose(summ.mean[i, a], ex.shap[sel, i].mean(), atol=1e-12)
            np.testing.assert_allclose(summ.std[i, a], ex.shap[sel, i].std(), atol=1e-9)
    fr = summ.to_frame()
    assert fr["position"].min() == 1 and fr["position"].max() == 7 and len(fr) == 28
    assert list(summ.matrix().columns) == list("ACGT") and summ.matrix().index[0] == 1
    np.testing.assert_allclose(ex.predictions, sk.predict(ex.X), atol=1e-10)


def test_split_summary_all_orders_equals_shap_summary_and_splits_signs():
    sk = random_sketch(6, 30, seed=3, max_deg=4)
    ex = explain_sequences(sk, random_sequences(400, 6, seed=4))
    full = split_interaction_summary(ex, min_order=1)
    np.testing.assert_allclose(full.net, position_letter_summary(ex).mean, atol=1e-10)
    s2 = split_interaction_summary(ex, min_order=2)
    assert np.all(s2.positive >= 0) and np.all(s2.negative <= 0)
    # brute force for one (position, letter): order >= 2 values split over their members
    i, a = 2, 1
    rows = ex.X[:, i] == a
    inter = ex.interactions
    pos = np.zeros(rows.sum())
    for j, T in enumerate(inter.sets):
        if len(T) >= 2 and i in T:
            pos += np.maximum(inter.values[rows, j], 0) / len(T)
    np.testing.assert_allclose(s2.positive[i, a], pos.mean(), atol=1e-12)


def test_top_interactions_match_pandas_groupby_with_filters():
    sk = random_sketch(6, 40, seed=5)
    ex = explain_sequences(sk, random_sequences(500, 6, seed=6), index="sii")
    top = top_interactions(ex, k=None, min_order=2)
    inter = ex.interactions
    recs = []
    for j, T in enumerate(inter.sets):
        if len(T) < 2:
            continue
        lets = ["".join(DNA.letters[c] for c in row) for row in ex.X[:, list(T)]]
        recs.append(pd.DataFrame({"positions": [tuple(p + 1 for p in T)] * ex.N, "letters": lets,
                                  "v": inter.values[:, j]}))
    ref = pd.concat(recs).groupby(["positions", "letters"])["v"].agg(["mean", "count", "std"])
    got = top.set_index(["positions", "letters"]).sort_index()
    ref = ref.sort_index()
    assert len(got) == len(ref)
    np.testing.assert_allclose(got["mean"], ref["mean"], atol=1e-12)
    assert (got["count"].to_numpy() == ref["count"].to_numpy()).all()
    assert top["mean"].abs().is_monotonic_decreasing
    sgn = pd.concat(recs).assign(s=lambda d: np.sign(d["v"])).groupby(["positions", "letters"])["s"]
    agree = (sgn.apply(lambda s: s.to_numpy()) * np.sign(ref["mean"])).apply(lambda a: (a > 0).mean())
    agree[ref["mean"] == 0] = np.nan
    ok = ~agree.isna().to_numpy()
    np.testing.assert_allclose(got["sign_consistency"].to_numpy()[ok], agree.to_numpy()[ok], atol=1e-12)
    # filters
    p = top["positions"].iloc[0][0]
    f = top_interactions(ex, k=None, positions=[p])
    assert len(f) and all(p in t for t in f["positions"])
    f2 = top_interactions(ex, k=None, letters="G.")
    assert len(f2) and all(s[0] == "G" and len(s) == 2 for s in f2["letters"])
    assert (top_interactions(ex, k=None, sign="negative")["mean"] < 0).all()
    assert (top_interactions(ex, k=None, min_count=40)["count"] >= 40).all()
    assert len(top_interactions(ex, k=5)) == 5
    with pytest.raises(ValueError, match="1-based"):
        top_interactions(ex, positions=[0])


def test_microhomology_spacing_and_signs_are_recovered():
    n = 20
    terms = [microhomology_term(4, 3, -2.0), microhomology_term(9, 2, 1.5), microhomology_term(12, 4, 1.0)]
    terms += [letter_term(0, "A", 0.5), letter_term(15, "C", -0.7)]
    sk = planted(terms, n)
    ex = explain_sequences(sk, random_sequences(2000, n, seed=7))
    table = top_interactions(ex, k=None, min_order=2)
    reps = spaced_repeats(table, include_mismatched=True)
    top4 = reps[(reps["order"] == 4) & reps["is_repeat"]]
    found = {(r.unit_positions, r.spacing): np.sign(r.mean) for r in top4.itertuples()}
    assert found[((5, 6), 3)] == -1
    assert found[((10, 11), 2)] == 1
    assert found[((13, 14), 4)] == 1
    # every double-match repeat has a_x(T) = w (1 - 1/q)^2; mismatched pairs are smaller in magnitude
    r = top4[top4["unit_positions"] == (5, 6)]
    assert len(r) == 16 and np.allclose(r["mean"], -2.0 * (0.75**2))
    summ = repeat_spacing_summary(reps).set_index(["spacing", "order"])
    assert summ.loc[(3, 4), "mean_value"] < 0 < summ.loc[(2, 4), "mean_value"]
    assert summ.loc[(4, 4), "mean_value"] > 0
    assert np.isfinite(summ.loc[(3, 4), "mismatched_mean_value"])


def test_guide_letters_recovered_by_position_letter_summary():
    n = 12
    plant = {2: ("G", 1.0), 5: ("C", -1.2), 9: ("G", 0.8)}
    sk = planted([letter_term(p, a, w) for p, (a, w) in plant.items()] + [microhomology_term(0, 6, 0.3)], n)
    summ = position_letter_summary(explain_sequences(sk, random_sequences(3000, n, seed=8)))
    for p, (a, w) in plant.items():
        col = DNA.letters.index(a)
        row = summ.mean[p]
        assert np.argmax(row * np.sign(w)) == col
        np.testing.assert_allclose(row[col], w * 0.75, atol=0.05)  # phi = w (1 - 1/q) for the carriers
    quiet = np.abs(summ.mean[[3, 4, 8, 10, 11]]).max()
    assert quiet < 1e-9


def test_hypothetical_shap_equals_shap_of_mutated_sequences():
    sk = random_sketch(6, 30, seed=10, max_deg=4)
    X = random_sequences(25, 6, seed=11).X
    H = hypothetical_shap(sk, X)
    assert H.shape == (25, Q, 6) and H.dtype == np.float32
    phi = shap_values(sk, X)
    np.testing.assert_allclose(H[np.arange(25)[:, None], X, np.arange(6)[None, :]], phi, atol=1e-5)
    for i in range(6):
        for a in range(Q):
            Xm = X.copy()
            Xm[:, i] = a
            np.testing.assert_allclose(H[:, a, i], shap_values(sk, Xm)[:, i], atol=1e-5)


def test_subsets_selection_and_difference_logo():
    sk = random_sketch(8, 30, seed=12)
    S = random_sequences(200, 8, seed=13)
    S = SequenceSet.from_codes(S.X, DNA, ids=S.ids, extra=pd.DataFrame({"label": np.arange(200) % 3,
                                                                         "grp": ["a", "b"] * 100}))
    ex = explain_sequences(sk, S)
    m = select(ex, column="label", equals=1)
    assert m.sum() == (np.arange(200) % 3 == 1).sum()
    m2 = select(ex, column="label", between=(1, None)) & select(ex, column="grp", equals=["a"])
    assert m2.sum() == ((np.arange(200) % 3 >= 1) & (np.arange(200) % 2 == 0)).sum()
    hi = select(ex, prediction_range=(np.median(ex.predictions), None))
    assert hi.sum() == (ex.predictions >= np.median(ex.predictions)).sum()
    ids = select(ex, ids=["rand_1", "rand_5"])
    assert np.flatnonzero(ids).tolist() == [0, 4]
    with pytest.raises(ValueError, match="unknown sequence ids: nope"):
        select(ex, ids=["nope"])
    with pytest.raises(ValueError, match="no column 'x'"):
        select(ex, column="x", equals=1)
    diff, a, b = difference_summary(ex, hi, ~hi)
    np.testing.assert_allclose(diff.to_numpy(), np.nan_to_num(a.mean - b.mean), atol=0)
    sub = ex.subset(hi)
    np.testing.assert_allclose(position_letter_summary(sub).mean, a.mean, equal_nan=True)
    assert sub.interactions.values.shape[0] == hi.sum()
    assert carriers(ex, [1, 2], "A.").sum() == (ex.X[:, 0] == 0).sum()


def test_wrong_inputs_are_named():
    sk = random_sketch(8, 10, seed=14)
    with pytest.raises(ValueError, match="length 5"):
        explain_sequences(sk, random_sequences(3, 5))
    ex = explain_sequences(sk, random_sequences(3, 8), with_interactions=False)
    with pytest.raises(ValueError, match="no interactions"):
        top_interactions(ex)


def test_pairwise_summary_matches_dense_pairwise():
    from shapzero_core.analysis import pairwise_summary

    sk = random_sketch(7, 40, seed=15)
    ex = explain_sequences(sk, random_sequences(150, 7, seed=16))
    P = ex.interactions.pairwise()
    np.testing.assert_allclose(pairwise_summary(ex), np.abs(P).mean(0), atol=1e-12)
    np.testing.assert_allclose(pairwise_summary(ex, "mean"), P.mean(0), atol=1e-12)
    np.testing.assert_allclose(pairwise_summary(ex, "rms", mask=np.arange(10)), np.sqrt((P[:10] ** 2).mean(0)),
                               atol=1e-12)
    with pytest.raises(ValueError, match="stat"):
        pairwise_summary(ex, "median")


def test_std_of_equal_values_is_exactly_zero():
    """Equal values give std 0, not the ~1e-9 round-off of E[x²] - E[x]² (a biologist reads 3.4e-9 as real)."""
    from shapzero_core.analysis.positions import _grouped_stats, std_from_moments

    rng = np.random.default_rng(0)
    X = rng.integers(0, 4, size=(5000, 6)).astype(np.int8)
    v = np.full(X.shape, 0.1) + rng.normal(scale=1e-17, size=X.shape)
    _, mean, std = _grouped_stats(v, X, 4)
    assert np.all(std == 0.0) and np.allclose(mean, 0.1)
    w = rng.normal(size=X.shape)
    _, _, std = _grouped_stats(w, X, 4)
    want = np.array([[w[X[:, i] == a, i].std() for a in range(4)] for i in range(6)])
    np.testing.assert_allclose(std, want, rtol=1e-10)
    assert np.isnan(std_from_moments(np.zeros(1), np.zeros(1), np.zeros(1)))[0]
