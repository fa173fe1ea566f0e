"""Templates (fixed letters at some positions): the model never sees another letter at a fixed position, the
sketch runs on the free positions, and every explanation is mapped back to full 1-based positions.

Ground truth is brute force: the templated game is the full model with the fixed letters filled in, explained
by exact enumeration over the free positions (q^m sequences, 2^m coalitions), independent of any sketch.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_shapley import bf_shapley, game

from shapzero_core import DNA, FourierSketch, shap_values
from shapzero_core.analysis import explain_sequences, full_codes, hypothetical_shap, position_letter_summary
from shapzero_core.models import CallableModel, load_model, with_template
from shapzero_core.sequences import random_sequences, read_sequences
from shapzero_core.sketch import SketchConfig, sketch_model
from shapzero_core.template import Template, parse_template

N_FULL = 7
PATTERN = "..GG..."  # positions 3 and 4 (1-based) fixed to G
FREE = [0, 1, 4, 5, 6]


def full_model(X: np.ndarray) -> np.ndarray:
    """A full-length model whose terms touch both fixed and free positions."""
    X = np.asarray(X, dtype=np.int64)
    return (1.0 * (X[:, 0] == 2) + 0.7 * (X[:, 1] == 3) * (X[:, 2] == 2) - 0.5 * (X[:, 3] == 2) * (X[:, 4] == 0)
            + 0.3 * X[:, 6] + 0.9 * (X[:, 5] == X[:, 6]) + 0.2 * (X[:, 2] == 1))


class Recorder:
    """A full-length model that records every sequence it is asked about."""

    def __init__(self) -> None:
        self.seen: list[np.ndarray] = []
        self.n = N_FULL
        self.identity = "recorder-v1"

    def __call__(self, X: np.ndarray) -> np.ndarray:
        self.seen.append(np.array(X))
        return full_model(X)


def free_table(tpl: Template) -> np.ndarray:
    """The templated function on every free sequence, shape (q,)*m."""
    m = tpl.num_free
    grid = np.array(np.meshgrid(*[np.arange(4)] * m, indexing="ij")).reshape(m, -1).T
    return full_model(tpl.expand(grid)).reshape((4,) * m)


def exact_sketch(tpl: Template) -> FourierSketch:
    return FourierSketch.from_dense(free_table(tpl), DNA, metadata={"template": tpl.pattern})


# ----------------------------------------------------------------------------- parsing
def test_template_parsing_and_errors():
    t = Template("..gg...")
    assert t.pattern == "..GG..." and t.n == 7 and t.num_free == 5
    assert t.free.tolist() == FREE and t.fixed.tolist() == [2, 3]
    assert t.fixed_letters() == {3: "G", 4: "G"}
    assert Template("..UU", DNA).pattern == "..TT"  # read like a sequence
    with pytest.raises(ValueError, match="'N' at position 3 is neither"):
        Template("..N.")
    with pytest.raises(ValueError, match="fixes every position"):
        Template("ACGT")
    with pytest.raises(ValueError, match="has 4 positions but the model takes sequences of length 7"):
        parse_template("..GG", DNA, n=7)
    assert parse_template("  ", DNA) is None and parse_template("....", DNA) is None


def test_expand_restrict_roundtrip_and_mismatch():
    t = Template(PATTERN)
    Xf = np.random.default_rng(0).integers(0, 4, (20, 5))
    X = t.expand(Xf)
    assert (X[:, [2, 3]] == 2).all()
    np.testing.assert_array_equal(t.restrict(X), Xf)
    X[5, 3] = 0
    with pytest.raises(ValueError, match="sequence 6 does not fit the template: position 4 is 'A' but the template "
                                         "fixes 'G'"):
        t.restrict(X)
    np.testing.assert_array_equal(t.to_full(np.ones((2, 5)))[:, [2, 3]], 0)


# ----------------------------------------------------------------------------- the model
def test_templated_model_never_sees_a_free_letter_at_a_fixed_position():
    rec = Recorder()
    base = CallableModel(rec, n=N_FULL)
    model = with_template(base, PATTERN)
    assert model.n == 5 and model.template.pattern == PATTERN
    Xf = np.random.default_rng(1).integers(0, 4, (300, 5), dtype=np.int8)
    y = model(Xf)
    np.testing.assert_allclose(y, full_model(Template(PATTERN).expand(Xf)))
    sk = sketch_model(model, config=SketchConfig(b=3, num_subsample=3, num_repeat=3, test_size=200, seed=1))
    seen = np.concatenate(rec.seen)
    assert seen.shape[1] == N_FULL and seen.shape[0] > 1000
    assert (seen[:, [2, 3]] == 2).all()  # every query carried the template's G at positions 3 and 4
    # every free letter was varied at the free positions
    assert all(set(np.unique(seen[:, p])) == {0, 1, 2, 3} for p in FREE)
    assert sk.metadata["template"] == PATTERN and sk.n == 5 and sk.sequence_length == N_FULL
    assert sk.template.pattern == PATTERN
    # the sketch recovers the templated function exactly (it is sparse)
    np.testing.assert_allclose(sk.to_dense(), free_table(Template(PATTERN)), atol=1e-8)


def test_templated_model_identity_and_spec_rebuild():
    base = load_model("models_fixtures:gc_count", n=N_FULL)
    m1 = with_template(base, PATTERN)
    m2 = with_template(base, "..GA...")
    assert m1.identity and m1.identity not in (base.identity, m2.identity)
    assert with_template(base, PATTERN).identity == m1.identity  # stable
    spec = json.loads(m1.spec)
    assert spec["template"] == PATTERN and spec["model"] == "models_fixtures:gc_count"
    rebuilt = load_model(m1.spec)
    assert rebuilt.identity == m1.identity and rebuilt.n == 5
    X = np.random.default_rng(0).integers(0, 4, (10, 5), dtype=np.int8)
    np.testing.assert_array_equal(rebuilt(X), m1(X))
    assert load_model("models_fixtures:gc_count", n=N_FULL, template=PATTERN).identity == m1.identity
    assert load_model(m1) is m1  # an adapter passes through
    assert with_template(base, "") is base and with_template(base, ".......") is base
    with pytest.raises(ValueError, match="has 4 positions but the model takes sequences of length 7"):
        with_template(base, "..GG")
    d = m1.describe()
    assert d["template"] == PATTERN and d["full_length"] == 7 and d["n"] == 5


# ----------------------------------------------------------------------------- explanations
def test_explanations_are_mapped_to_full_positions_brute_force():
    tpl = Template(PATTERN)
    sk = exact_sketch(tpl)
    f = free_table(tpl)
    seqs = random_sequences(12, N_FULL, template=PATTERN, seed=3)
    ex = explain_sequences(sk, seqs)
    assert ex.shap.shape == (12, N_FULL) and ex.template is not None and ex.fixed == {3: "G", 4: "G"}
    assert (ex.shap[:, [2, 3]] == 0).all()  # fixed positions are not players
    for s in range(12):
        x_free = tuple(int(v) for v in tpl.restrict(seqs.X[s : s + 1])[0])
        phi = bf_shapley(game(f, x_free), 5)
        np.testing.assert_allclose(ex.shap[s, FREE], phi, atol=1e-10)
        np.testing.assert_allclose(ex.predictions[s], full_model(seqs.X[s : s + 1])[0], atol=1e-10)
    # interaction sets speak full positions, with the letters of the full sequence
    assert all(not ({2, 3} & set(S)) for S in ex.interactions.sets)
    top = ex.interactions.top(50, min_order=2)
    for _, r in top.iterrows():
        assert all(p not in (3, 4) for p in r["positions"])
        seq = ex.sequences[r["seq"]]
        assert r["letters"] == "".join(seq[p - 1] for p in r["positions"])
    # (1-based) pair (6, 7) is the model's 0.9 * [x6 == x7] term
    assert (6, 7) in {tuple(p + 1 for p in S) for S in ex.interactions.sets}
    # the summary keeps the fixed positions, with zero SHAP on their letter
    pls = position_letter_summary(ex).to_frame()
    fixed_rows = pls[(pls["position"] == 3) & (pls["letter"] == "G")]
    assert int(fixed_rows["count"].iloc[0]) == 12 and float(fixed_rows["mean"].iloc[0]) == 0.0
    # free-length input is completed, full-length input with a wrong fixed letter is refused
    ex2 = explain_sequences(sk, tpl.restrict(seqs.X))
    np.testing.assert_array_equal(ex2.X, seqs.X)
    bad = np.array(seqs.X)
    bad[0, 2] = 0
    with pytest.raises(ValueError, match="position 3 is 'A' but the template fixes 'G'"):
        explain_sequences(sk, bad)
    with pytest.raises(ValueError, match="has a template"):
        shap_values(sk, seqs.X)  # the closed forms take the free positions


def test_reader_checks_the_template():
    text = "id,sequence\na,ACGGAAT\nb,ACAGAAT\nc,ACAAT\nd,ACG\n"
    seqs = read_sequences(text.encode(), template=PATTERN, name="t.csv")
    assert seqs.ids == ["a", "c"] and seqs.sequences == ["ACGGAAT", "ACGGAAT"]
    rej = dict(zip(seqs.rejected["id"], seqs.rejected["reason"], strict=True))
    assert rej["b"] == "template: position 3 is 'A' but the template fixes 'G'"
    assert rej["d"].startswith("length: 3 letters, expected 7")
    assert any("free length 5 completed" in n for n in seqs.notes)


def test_hypothetical_shap_equals_single_letter_variants():
    """H[s, a, i] is the SHAP value of position i after setting x_i = a (checked by explaining each variant)."""
    rng = np.random.default_rng(5)
    for tpl in (None, Template(PATTERN)):
        if tpl is None:
            table = rng.normal(size=(4,) * 5)
            sk = FourierSketch.from_dense(table, DNA)
            X = rng.integers(0, 4, (6, 5), dtype=np.int8)
            pos = range(5)
        else:
            sk = exact_sketch(tpl)
            X = random_sequences(6, N_FULL, template=PATTERN, seed=2).X
            pos = FREE
        H = hypothetical_shap(sk, X)
        assert H.shape == (6, 4, X.shape[1]) and H.dtype == np.float32
        np.testing.assert_allclose(H.sum(axis=1), 0, atol=1e-5)  # mean-centred over the letters
        for s in range(6):
            for i in pos:
                for a in range(4):
                    v = np.array(X[s : s + 1])
                    v[0, i] = a
                    np.testing.assert_allclose(H[s, a, i], explain_sequences(sk, v).shap[0, i], atol=1e-5)
        if tpl is not None:
            assert (H[:, :, [2, 3]] == 0).all()
            assert full_codes(sk, X).shape == (6, N_FULL)


# ----------------------------------------------------------------------------- command line
def test_cli_sketch_with_a_template_then_explain_full_length_sequences(tmp_path, capsys):
    from shapzero_core.cli import main
    from shapzero_core.export import read_table
    from shapzero_core.sequences import to_fasta

    out = tmp_path / "s.npz"
    rc = main(["sketch", "--model", "models_fixtures:gc_count", "--length", "7", "--template", PATTERN, "--b", "3",
               "--test-size", "200", "--no-cache", "--out", str(out), "--quiet"])
    assert rc == 0
    sk = FourierSketch.load(out)
    assert sk.template.pattern == PATTERN and sk.n == 5
    assert json.loads(out.with_suffix(".json").read_text())["metadata"]["template"] == PATTERN
    seqs = random_sequences(20, 7, template=PATTERN, seed=4)
    text = to_fasta(seqs) + ">bad\nACAAAAA\n"
    (tmp_path / "s.fa").write_text(text)
    rc = main(["explain", "--sketch", str(out), "--sequences", str(tmp_path / "s.fa"), "--out", str(tmp_path / "e")])
    assert rc == 0
    shap = read_table(tmp_path / "e" / "shap_long.csv")
    assert len(shap) == 20 * 7 and set(shap["position"]) == set(range(1, 8))
    fixed = shap[shap["fixed"]]
    assert set(fixed["position"]) == {3, 4} and (fixed["shap"] == 0).all() and (fixed["letter"] == "G").all()
    # gc_count: every free C/G adds 1 - 1/2 (its mean), so SHAP is +-0.5 at free positions
    free = shap[~shap["fixed"]]
    np.testing.assert_allclose(free["shap"].abs(), 0.5, atol=1e-8)
    rej = read_table(tmp_path / "e" / "rejected.csv")
    assert rej["reason"].iloc[0] == "template: position 3 is 'A' but the template fixes 'G'"
    rc = main(["sketch", "--model", "models_fixtures:gc_count", "--length", "7", "--template", "..GG", "--b", "2",
               "--no-cache", "--out", str(tmp_path / "x.npz"), "--quiet"])
    assert rc == 2
    assert "has 4 positions but the model takes sequences of length 7" in capsys.readouterr().err


def test_refined_values_of_a_templated_sketch_are_mapped_to_full_positions():
    """refine_shap works in the sketch's free coordinates (the templated model); refined_explanation maps the
    values back, with 0 (and stderr 0) at the fixed positions, equal to brute force on the free game."""
    from shapzero_core.analysis import refined_explanation
    from shapzero_core.refine import refine_shap

    tpl = Template(PATTERN)
    sk = exact_sketch(tpl)
    model = with_template(CallableModel(full_model, n=N_FULL), PATTERN)
    seqs = random_sequences(4, N_FULL, template=PATTERN, seed=8)
    ex = explain_sequences(sk, seqs)
    r = refine_shap(model, sk, tpl.restrict(seqs.X), calls_per_seq=256, seed=0)
    ref = refined_explanation(ex, r)
    assert ref.shap.shape == (4, N_FULL) and ref.stderr_kind == "refined"
    assert (ref.shap[:, [2, 3]] == 0).all() and (ref.stderr[:, [2, 3]] == 0).all()
    np.testing.assert_allclose(ref.shap, ex.shap, atol=1e-8)  # exact sketch: the residual is zero
