"""FourierSketch: construction, prediction, dense round trip, file format and corrupt-file errors."""

from __future__ import annotations

import io
import itertools
import json
import zipfile

import numpy as np
import pytest

from shapzero_core import DNA, PROTEIN, FourierSketch, SketchFileError


def _planted(n=10, K=40, q=4, seed=0, alphabet=DNA):
    rng = np.random.default_rng(seed)
    loc = rng.integers(0, q, size=(K, n)) * (rng.random((K, n)) < 0.25)
    coef = rng.normal(size=K) + 1j * rng.normal(size=K)
    return FourierSketch(loc.astype(np.int8), coef, alphabet, {"model": "planted", "seed": seed})


def test_predict_matches_definition():
    sk = _planted()
    rng = np.random.default_rng(1)
    X = rng.integers(0, 4, size=(50, 10)).astype(np.int8)
    w = np.exp(2j * np.pi / 4)
    want = np.real((w ** (X.astype(int) @ sk.locations.T.astype(int))) @ sk.coefficients)
    np.testing.assert_allclose(sk.predict(X), want, atol=1e-12)


def test_duplicates_merge_and_order():
    loc = np.array([[0, 1], [1, 0], [0, 1], [0, 0]], dtype=np.int8)
    sk = FourierSketch(loc, np.array([1, 2, 3, 4], dtype=complex))
    assert sk.num_coefficients == 3
    assert sk.locations.tolist() == [[0, 0], [0, 1], [1, 0]]
    assert sk.coefficients.tolist() == [4, 4, 2]
    assert sk.mean == 4.0
    assert sk.count_by_order() == {0: 1, 1: 2}
    assert sk.energy_by_order() == {0: 16.0, 1: 20.0}
    with pytest.raises(ValueError):
        sk.locations[0, 0] = 1  # read-only


def test_dense_roundtrip_protein():
    rng = np.random.default_rng(2)
    f = rng.normal(size=(20, 20))
    sk = FourierSketch.from_dense(f, alphabet=PROTEIN)
    assert sk.q == 20 and sk.n == 2
    np.testing.assert_allclose(sk.to_dense(), f, atol=1e-12)
    X = np.array(list(itertools.product(range(20), repeat=2)), dtype=np.int8)
    np.testing.assert_allclose(sk.predict(X), f.reshape(-1), atol=1e-12)


def test_constructor_validation():
    with pytest.raises(ValueError, match="rows but coefficients"):
        FourierSketch(np.zeros((2, 3), dtype=np.int8), np.zeros(3))
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        FourierSketch(np.full((1, 3), 5), np.zeros(1))
    with pytest.raises(ValueError, match="NaN"):
        FourierSketch(np.zeros((1, 3), dtype=np.int8), np.array([np.nan]))
    with pytest.raises(TypeError):
        FourierSketch(np.zeros((1, 3), dtype=np.int8), np.zeros(1), DNA, {"x": object()})
    with pytest.raises(ValueError, match="shape"):
        FourierSketch.from_dense(np.zeros((4, 3)))


def test_save_load_roundtrip(tmp_path):
    sk = _planted().with_metadata(report={"r2": 0.99})
    p = sk.save(tmp_path / "sub" / "model")
    assert p.name == "model.npz" and p.exists()
    header = json.loads((tmp_path / "sub" / "model.json").read_text())
    assert header["format"] == "shapzero-sketch" and header["n"] == 10
    back = FourierSketch.load(p)
    assert np.array_equal(back.locations, sk.locations)
    assert np.array_equal(back.coefficients, sk.coefficients)
    assert back.alphabet == sk.alphabet and back.metadata == sk.metadata and back.report == {"r2": 0.99}
    back2 = FourierSketch.load(sk.to_bytes(), name="upload.npz")
    assert np.array_equal(back2.coefficients, sk.coefficients)
    # no temporary files left behind
    assert sorted(x.name for x in (tmp_path / "sub").iterdir()) == ["model.json", "model.npz"]


def _npz(**arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda b: b[: len(b) // 2], "not a readable .npz|corrupt"),
        (lambda b: b"\x00\x01garbage" * 100, "not a readable .npz|unreadable"),
        (lambda b: b"", "not a readable .npz|unreadable"),
        (lambda b: _npz(a=np.zeros(3)), "not a SHAP zero sketch"),
        (lambda b: _npz(locations=np.zeros((1, 2), np.int8), coefficients=np.zeros(1, complex),
                        header=np.frombuffer(b'{"format": "other"}', np.uint8)), "format 'other'"),
        (lambda b: _npz(locations=np.zeros((1, 2), np.int8), coefficients=np.zeros(1, complex),
                        header=np.frombuffer(b'{"format": "shapzero-sketch", "format_version": 99}', np.uint8)),
         "newer"),
        (lambda b: _npz(locations=np.zeros((1, 2), np.int8), coefficients=np.zeros(1, complex),
                        header=np.frombuffer(b"{not json", np.uint8)), "corrupt header"),
        (lambda b: _npz(locations=np.full((1, 2), 9, np.int8), coefficients=np.zeros(1, complex),
                        header=np.frombuffer(json.dumps({"format": "shapzero-sketch", "format_version": 1,
                                                         "alphabet": DNA.to_dict()}).encode(), np.uint8)),
         "inconsistent"),
        (lambda b: _npz(locations=np.array([None, 1], dtype=object), coefficients=np.zeros(1),
                        header=np.zeros(2, np.uint8)), "unreadable|corrupt|pickle"),
    ],
)
def test_corrupt_files_give_clear_errors(tmp_path, make, message):
    good = _planted().to_bytes()
    bad = make(good)
    path = tmp_path / "bad.npz"
    path.write_bytes(bad)
    with pytest.raises(SketchFileError, match=message) as e:
        FourierSketch.load(path)
    assert "bad.npz" in str(e.value)
    with pytest.raises(SketchFileError, match=r"upload\.npz"):
        FourierSketch.load(bad, name="upload.npz")


def test_flipped_bytes_in_compressed_member(tmp_path):
    good = bytearray(_planted(K=400).to_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(good))) as z:
        info = z.getinfo("coefficients.npy")
    mid = info.header_offset + 60 + info.compress_size // 2
    good[mid] ^= 0xFF
    p = tmp_path / "flipped.npz"
    p.write_bytes(bytes(good))
    with pytest.raises(SketchFileError, match=r"flipped\.npz"):
        FourierSketch.load(p)


def test_missing_file(tmp_path):
    with pytest.raises(SketchFileError, match="no such file"):
        FourierSketch.load(tmp_path / "nope.npz")
