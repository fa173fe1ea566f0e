"""Alphabet encoding, decoding, one-hot layouts and the normalisation policy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shapzero_core import DNA, PROTEIN, RNA, Alphabet, SequenceError, get_alphabet
from shapzero_core.alphabet import check_codes


def test_builtin_orders():
    assert DNA.letters == "ACGT" and DNA.q == 4
    assert RNA.letters == "ACGU"
    assert PROTEIN.letters == "ACDEFGHIKLMNPQRSTVWY" and PROTEIN.q == 20
    assert DNA.encode(["ACGT"]).tolist() == [[0, 1, 2, 3]]


def test_normalisation_policy():
    X = DNA.encode(["  acgu \n", "ACGT"])
    assert X.dtype == np.int8 and X.tolist() == [[0, 1, 2, 3], [0, 1, 2, 3]]
    assert RNA.encode(["ACGT"]).tolist() == [[0, 1, 2, 3]]
    strict = Alphabet("ACGT")  # custom alphabets do not convert U<->T unless asked
    with pytest.raises(SequenceError, match="'U' at position 4"):
        strict.encode(["ACGU"])


def test_errors_name_index_position_letter_and_length():
    with pytest.raises(SequenceError) as e:
        DNA.encode(["ACGT", "ACNT"])
    err = e.value
    assert (err.index, err.position, err.letter, err.reason) == (1, 3, "N", "letter")
    assert "sequence 1" in str(err) and "'N' at position 3" in str(err)
    with pytest.raises(SequenceError, match="sequence 1 has length 3, expected 4") as e:
        DNA.encode(["ACGT", "ACG"])
    assert e.value.reason == "length"
    with pytest.raises(SequenceError, match="sequence 0 is empty"):
        DNA.encode(["  "])
    with pytest.raises(SequenceError, match="'é'"):
        DNA.encode(["ACé"])


def test_one_hot_layouts_roundtrip():
    X = DNA.encode(["ACGTT", "GGGAC"])
    nlq = DNA.one_hot(X)
    nql = DNA.one_hot(X, layout="NQL")
    assert nlq.shape == (2, 5, 4) and nql.shape == (2, 4, 5)
    assert np.array_equal(nlq.transpose(0, 2, 1), nql)
    assert nlq.sum(-1).min() == 1 and nlq[0, 2, 2] == 1
    assert np.array_equal(DNA.from_one_hot(nlq), X)
    assert np.array_equal(DNA.from_one_hot(nql, layout="NQL"), X)
    with pytest.raises(ValueError, match="layout"):
        DNA.one_hot(X, layout="QNL")


def test_bad_alphabets_and_codes():
    with pytest.raises(ValueError, match="distinct"):
        Alphabet("AAC")
    with pytest.raises(ValueError, match="at least 2"):
        Alphabet("A")
    with pytest.raises(ValueError, match="upper-case"):
        Alphabet("acgt")
    with pytest.raises(ValueError, match=r"expected values in \[0, 4\)"):
        check_codes(np.array([[0, 4]]), 4)
    with pytest.raises(ValueError, match="shape"):
        check_codes(np.array([0, 1]), 4)
    with pytest.raises(ValueError, match="length 2, expected 3"):
        check_codes(np.array([[0, 1]]), 4, n=3)
    assert get_alphabet("Protein") is PROTEIN and get_alphabet("dna") is DNA
    assert get_alphabet("xyz").letters == "XYZ"
    assert Alphabet.from_dict(DNA.to_dict()) == DNA


@given(st.lists(st.text(alphabet="ACGT", min_size=7, max_size=7), min_size=1, max_size=20))
def test_encode_decode_roundtrip_dna(seqs):
    X = DNA.encode(seqs)
    assert X.shape == (len(seqs), 7)
    assert DNA.decode(X) == seqs


@given(
    st.integers(2, 25).flatmap(
        lambda q: st.tuples(
            st.just(q),
            st.lists(st.lists(st.integers(0, q - 1), min_size=5, max_size=5), min_size=1, max_size=10),
        )
    )
)
def test_decode_encode_roundtrip_custom(qx):
    q, rows = qx
    alpha = Alphabet("ABCDEFGHIJKLMNOPQRSTUVWXY"[:q])
    X = np.array(rows, dtype=np.int8)
    assert np.array_equal(alpha.encode(alpha.decode(X)), X)
    assert np.array_equal(alpha.from_one_hot(alpha.one_hot(X)), X)


@given(st.text(min_size=1, max_size=12))
def test_encode_never_crashes_with_anything_but_sequence_error(s):
    try:
        X = DNA.encode([s])
    except SequenceError as e:
        assert e.reason in {"empty", "letter", "length"}
    else:
        assert DNA.decode(X)[0] == DNA.normalize(s)
