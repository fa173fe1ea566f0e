"""Demo models: committed files = a fresh build; ONNX graph = direct formula = exact spectrum."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from shapzero_core import demos
from shapzero_core.alphabet import DNA
from shapzero_core.fourier import FourierSketch
from shapzero_core.models import OnnxModel, load_model
from shapzero_core.sequences import SequenceSet

pytestmark = pytest.mark.timeout(60)

NAMES = ["guide_rna", "repair", "cnn"]


def codes(N: int, n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 4, size=(N, n), dtype=np.int8)


def test_registry():
    assert [d.name for d in demos.list_demos()] == NAMES
    assert [(d.n, d.layout, d.has_spectrum) for d in demos.list_demos()] == [
        (26, "NLQ", True), (40, "codes", True), (40, "NQL", False)]
    assert demos.get_demo("Guide-RNA").name == "guide_rna"
    with pytest.raises(ValueError, match="no demo model 'tiger'; demos: guide_rna, repair, cnn"):
        demos.get_demo("tiger")
    s = demos.get_demo("repair").sequences(50, seed=3)
    assert isinstance(s, SequenceSet) and s.X.shape == (50, 40)
    np.testing.assert_array_equal(s.X, demos.get_demo("repair").sequences(50, seed=3).X)


@pytest.mark.parametrize("name", NAMES)
def test_committed_files_equal_a_fresh_build(name):
    demo = demos.get_demo(name)
    assert demo.onnx_path.is_file(), f"{demo.onnx_path} missing: run python demo_models/build.py"
    data, spectrum = demos._BUILDERS[name]()  # uncached rebuild
    committed = demo.onnx_path.read_bytes()
    assert committed == data
    assert len(committed) < 2 * 1024 * 1024
    if spectrum is None:
        assert demo.load_spectrum() is None and not demo.spectrum_path.exists()
        return
    saved = demo.load_spectrum()
    np.testing.assert_array_equal(saved.locations, spectrum.locations)
    np.testing.assert_array_equal(saved.coefficients, spectrum.coefficients)
    assert saved.metadata["model_sha256"] == OnnxModel(committed).sha256
    assert saved.metadata["ground_truth"] == "exact"


@pytest.mark.parametrize("name", ["guide_rna", "repair"])
def test_onnx_formula_and_spectrum_agree(name):
    demo = demos.get_demo(name)
    model = load_model(f"demo:{name}")
    assert model.n == demo.n and model.alphabet == DNA and model.describe()["layout"] == demo.layout
    X = codes(3000, demo.n, seed=11)
    y = model(X)
    np.testing.assert_allclose(y, demo.reference(X), rtol=0, atol=1e-12)
    sk = demo.load_spectrum()
    np.testing.assert_allclose(sk.predict(X), y, rtol=0, atol=1e-12)
    assert y.std() > 0.3  # the planted terms matter
    assert sk.num_coefficients < 1000  # sparse: the sketch's default plan has 16,384 bins per group


def test_cnn_matches_numpy_and_is_dense():
    demo = demos.get_demo("cnn")
    model = demo.load_model()
    X = codes(500, 40, seed=2)
    y = model(X)
    np.testing.assert_allclose(y, demo.reference(X), rtol=1e-5, atol=1e-5)
    assert y.std() > 0.1
    # dense: flipping any single position changes the output of most sequences
    changed = []
    for i in range(0, 40, 5):
        X2 = X.copy()
        X2[:, i] = (X2[:, i] + 1) % 4
        changed.append(np.mean(np.abs(model(X2) - y) > 1e-6))
    assert min(changed) > 0.5


def _brute_force(demo, positions: list[int], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """All 4^|positions| letter combinations at ``positions`` on a fixed random background."""
    combos = np.array(list(itertools.product(range(4), repeat=len(positions))), dtype=np.int8)
    X = np.repeat(codes(1, demo.n, seed), combos.shape[0], axis=0)
    X[:, positions] = combos
    return X, demo.reference(X)


def test_repair_spectrum_is_the_dense_transform_of_its_support():
    demo = demos.get_demo("repair")
    sk = demo.load_spectrum()
    support = np.flatnonzero(np.any(sk.locations != 0, axis=0))
    assert support.tolist() == list(range(16, 24))  # 1-based 17-24: everything lives around the cut
    _, y = _brute_force(demo, support.tolist(), seed=0)
    table = y.reshape((4,) * support.size)
    dense = FourierSketch.from_dense(table, tol=1e-13)
    sub = FourierSketch(sk.locations[:, support], sk.coefficients)
    assert dense.num_coefficients == sub.num_coefficients
    np.testing.assert_array_equal(dense.locations, sub.locations)
    np.testing.assert_allclose(dense.coefficients, sub.coefficients, atol=1e-12)
    assert sk.count_by_order() == {0: 1, 1: 17, 2: 72, 3: 12, 4: 54}


@pytest.mark.parametrize("positions", [list(range(3, 10)), list(range(16, 24))])
def test_guide_spectrum_on_every_combination_of_a_block(positions):
    demo = demos.get_demo("guide_rna")
    X, y = _brute_force(demo, positions, seed=5)
    np.testing.assert_allclose(demo.load_spectrum().predict(X), y, rtol=0, atol=1e-12)


def test_guide_gc_window_decomposition_is_exact():
    # the GC penalty alone, written as its local tables, equals -0.6 ((GC - 5) / 5)^2 on all 4^10 windows
    terms, const = demos._guide_terms()
    W = demos._guide_first_order()
    g = np.array([0.0, 1.0, 1.0, 0.0])
    win = list(demos._GC_WINDOW)
    gc_terms = [demos.LocalTerm(t.positions, t.table - (W[t.positions[0]] if len(t.positions) == 1 else 0), t.label)
                for t in terms if set(t.positions) <= set(win)]
    X = np.zeros((4**10, 26), dtype=np.int8)
    X[:, win] = np.array(list(itertools.product(range(4), repeat=10)), dtype=np.int8)
    got = sum(t(X) for t in gc_terms) + const - demos._GUIDE_INTERCEPT
    gc = g[X[:, win]].sum(1)
    np.testing.assert_allclose(got, -0.6 * ((gc - 5) / 5) ** 2, atol=1e-12)


def test_first_order_effects_carry_the_planted_letters():
    sk = demos.get_demo("guide_rna").load_spectrum()
    w = np.exp(2j * np.pi * np.arange(4) / 4)
    eff = np.zeros((26, 4))
    for k, c in zip(sk.locations[sk.degrees == 1], sk.coefficients[sk.degrees == 1], strict=True):
        i = int(np.flatnonzero(k)[0])
        eff[i] += (c * w[(int(k[i]) * np.arange(4)) % 4]).real
    # the PAM's GG and the G next to the PAM are the strongest letters
    assert eff[24].argmax() == 2 and eff[25].argmax() == 2 and eff[22].argmax() == 2
    assert np.ptp(eff[24]) > 0.9 and np.ptp(eff[0]) < 0.3


def test_rebuilt_in_memory_when_the_folder_is_missing(tmp_path, monkeypatch):
    from_file = demos.get_demo("repair").load_model()
    monkeypatch.setattr(demos, "DEMO_DIR", tmp_path / "nowhere")
    demo = demos.get_demo("repair")
    assert demo.source == "built"
    built = demo.load_model()
    assert built.identity == from_file.identity and built.spec == "demo:repair"
    assert demo.load_spectrum().num_coefficients == 156
    written = demos.write_demo_files(tmp_path / "out")
    assert sorted(p.name for p in written) == sorted([
        "guide_rna.onnx", "guide_rna.spectrum.npz", "guide_rna.spectrum.json", "repair.onnx",
        "repair.spectrum.npz", "repair.spectrum.json", "cnn.onnx"])
