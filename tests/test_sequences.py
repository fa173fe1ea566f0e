"""Sequence file reading: formats, rejected rows with reasons, file errors, round trips."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shapzero_core import DNA, PROTEIN, RNA
from shapzero_core.sequences import (
    SequenceFileError,
    SequenceSet,
    random_sequences,
    read_sequences,
    to_csv,
    to_fasta,
)


def test_fasta_multiline_ids_descriptions_and_gz(tmp_path):
    text = ">g1 first guide\nACGT\nacg\n>g2\nTTTTGGG\n;comment\n>g3 x\nAC GT\nAAA\n"
    p = tmp_path / "guides.fa.gz"
    p.write_bytes(gzip.compress(text.encode()))
    s = read_sequences(p)
    assert s.format == "fasta" and s.ids == ["g1", "g2", "g3"]
    assert s.sequences == ["ACGTACG", "TTTTGGG", "ACGTAAA"]
    assert s.X.dtype == np.int8 and s.X.shape == (3, 7)
    assert s.X[0].tolist() == [0, 1, 2, 3, 0, 1, 2]
    assert s.extra["description"].tolist() == ["first guide", "", "x"]
    assert len(s.rejected) == 0 and s.n == 7


def test_rejected_rows_name_reason_letter_and_position():
    data = b">a\nACGTAC\n>b\nACNTAC\n>c\nACG\n>d\n\n>e\nAC-TAC\n>f\nACGTA\xc3\xa9\n>g\nuuuuuu\n"
    s = read_sequences(data, name="up.fasta")
    assert s.ids == ["a", "g"] and s.sequences == ["ACGTAC", "TTTTTT"]
    rej = s.rejected.set_index("id")
    assert list(s.rejected.columns) == ["row", "line", "id", "sequence", "reason"]
    assert "IUPAC ambiguity code 'N'" in rej.loc["b", "reason"] and "position 3" in rej.loc["b", "reason"]
    assert rej.loc["c", "reason"].startswith("length: 3 letters, expected 6")
    assert rej.loc["d", "reason"].startswith("empty")
    assert "gap '-' at position 3" in rej.loc["e", "reason"]
    assert "'é' at position 6" in rej.loc["f", "reason"]
    assert rej.loc["b", "row"] == 2 and rej.loc["b", "line"] == 3
    assert "rejected" in s.summary()


def test_length_is_inferred_as_the_mode_and_said_so():
    s = read_sequences(b"AAAA\nCCCC\nGG\nTTTT\nGGGGG\n")
    assert s.n == 4 and s.ids == ["seq_1", "seq_2", "seq_4"]
    assert any("inferred" in note for note in s.notes)
    s5 = read_sequences(b"AAAA\nCCCC\nGG\nTTTT\nGGGGG\n", n=5)
    assert s5.ids == ["seq_5"] and len(s5.rejected) == 4


def test_csv_column_detection_and_extra_columns():
    data = b"# exported\nName,Guide Sequence,activity,batch\nx1,ACGT,0.5,A\nx2,acgt,1.25,B\n\nx3,ACGN,2,C\n"
    s = read_sequences(data, name="screen.csv")
    assert s.ids == ["x1", "x2"] and s.sequences == ["ACGT", "ACGT"]
    assert s.extra["activity"].dtype.kind == "f" and s.extra["activity"].tolist() == [0.5, 1.25]
    assert s.extra["batch"].tolist() == ["A", "B"]
    assert s.rejected["line"].tolist() == [6] and s.rejected["id"].tolist() == ["x3"]


def test_tsv_explicit_columns_and_missing_column_error():
    data = b"a\tb\tc\nid1\tGGGG\t3\nid2\tCCCC\t4\n"
    s = read_sequences(data, format="tsv", seq_column="b", id_column="a")
    assert s.ids == ["id1", "id2"] and s.extra["c"].tolist() == [3, 4]
    with pytest.raises(SequenceFileError, match=r"no column 'seq'.*'a', 'b', 'c'"):
        read_sequences(data, format="tsv", seq_column="seq")


def test_headerless_table_and_content_detected_column():
    s = read_sequences(b"ACGTA\tfoo\nACGAA\tbar\n")
    assert s.format == "tsv" and s.sequences == ["ACGTA", "ACGAA"]
    assert s.extra["column_2"].tolist() == ["foo", "bar"]


def test_txt_comments_header_and_line_endings():
    data = b"# my guides\r\nsequence\r\nACGU\rACGA\n\nacgc\r\n"
    s = read_sequences(data)
    assert s.format == "txt" and s.sequences == ["ACGT", "ACGA", "ACGC"]
    assert any("header" in n for n in s.notes)
    assert read_sequences(data, alphabet=RNA).sequences == ["ACGU", "ACGA", "ACGC"]


def test_duplicate_ids_are_made_unique_and_kept():
    s = read_sequences(b">a\nAC\n>a\nGG\n>a_2\nTT\n>a\nCC\n")
    assert s.ids == ["a", "a_3", "a_2", "a_4"]
    assert s.extra["original_id"].tolist() == ["a", "a", "a_2", "a"]
    assert any("duplicate" in n for n in s.notes)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "empty"),
        (b"  \n\n", "empty"),
        (b"\x00\x01binary\x02", "binary"),
        (bytes(range(1, 32)) * 10, "binary"),
        (b"PK\x03\x04....", "zip archive"),
        (b"\x1f\x8b\x08\x00garbage", "gzip"),
        (b"no header\n", None),
        (b"a,b\n1,2\n", "which column"),
        (b'seq,x\n"ACGT,1\n', None),
    ],
)
def test_bad_files_give_clear_errors(data, match):
    if match is None:  # either a clean error or rejected rows: never an unexpected exception type
        try:
            s = read_sequences(data)
        except SequenceFileError:
            return
        assert len(s) + len(s.rejected) >= 1
        return
    with pytest.raises(SequenceFileError, match=match):
        read_sequences(data)


def test_size_limit_on_raw_and_decompressed(tmp_path):
    big = b"ACGT\n" * 1000
    with pytest.raises(SequenceFileError, match="limit of 100 bytes"):
        read_sequences(big, max_bytes=100)
    p = tmp_path / "big.txt.gz"
    p.write_bytes(gzip.compress(big))
    assert p.stat().st_size < 200
    with pytest.raises(SequenceFileError, match="decompressed"):
        read_sequences(p, max_bytes=200)
    with pytest.raises(FileNotFoundError):
        read_sequences(tmp_path / "missing.fa")


def test_fasta_without_headers_and_unknown_format():
    with pytest.raises(SequenceFileError, match="no '>' header"):
        read_sequences(b"ACGT\n", format="fasta")
    with pytest.raises(SequenceFileError, match="unknown format"):
        read_sequences(b"ACGT\n", format="genbank")
    s = read_sequences(b"ACGT\n>a\nACGT\n", format="fasta")
    assert s.ids == ["a"] and "before the first" in s.rejected["reason"][0]


def test_all_rejected_gives_empty_set_with_reasons():
    s = read_sequences(b">a\nNNNN\n>b\nRRRR\n")
    assert len(s) == 0 and s.X.shape == (0, 4) and len(s.rejected) == 2


def test_protein_and_random_and_subset():
    s = read_sequences(b">p\nMKWV\n>q\nmkwv\n", alphabet=PROTEIN)
    assert s.X.tolist() == [[10, 8, 18, 17]] * 2
    r = random_sequences(50, 12, DNA, seed=3)
    assert r.X.shape == (50, 12) and r.ids[0] == "rand_1"
    assert DNA.decode(r.X) == r.sequences
    assert np.array_equal(random_sequences(50, 12, DNA, seed=3).X, r.X)
    sub = r.subset(r.X[:, 0] == 0)
    assert all(x.startswith("A") for x in sub.sequences) and len(sub) == int((r.X[:, 0] == 0).sum())
    with pytest.raises(ValueError, match="read-only"):
        r.X[0, 0] = 1


def test_large_file_is_vectorised_enough():
    r = random_sequences(20_000, 40, seed=0)
    s = read_sequences(to_fasta(r).encode())
    assert np.array_equal(s.X, r.X) and s.ids == r.ids


_ids = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=">,\"'"), min_size=1,
               max_size=12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seqs=st.lists(st.text(alphabet="ACGTacgt", min_size=7, max_size=7), min_size=1, max_size=20),
    ids=st.lists(_ids, min_size=20, max_size=20, unique=True),
    width=st.integers(0, 9),
    eol=st.sampled_from(["\n", "\r\n", "\r"]),
)
def test_fasta_round_trip(seqs, ids, width, eol):
    ids = ids[: len(seqs)]
    src = SequenceSet.from_codes(DNA.encode(seqs), DNA, ids=ids)
    text = to_fasta(src, width=width).replace("\n", eol)
    back = read_sequences(text.encode(), name="x.fasta")
    assert back.ids == ids and back.sequences == [s.upper() for s in seqs]
    assert np.array_equal(back.X, src.X)


@settings(max_examples=40, deadline=None)
@given(
    seqs=st.lists(st.text(alphabet="ACGT", min_size=5, max_size=5), min_size=1, max_size=20),
    labels=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=20, max_size=20),
    sep=st.sampled_from([",", "\t"]),
)
def test_table_round_trip(seqs, labels, sep):
    N = len(seqs)
    src = SequenceSet.from_codes(
        DNA.encode(seqs), DNA, ids=[f"id {i}" for i in range(N)], extra=pd.DataFrame({"y": labels[:N]})
    )
    back = read_sequences(to_csv(src, sep=sep).encode(), format="csv" if sep == "," else "tsv")
    assert back.ids == src.ids and back.sequences == seqs
    np.testing.assert_allclose(back.extra["y"].to_numpy(dtype=float), labels[:N], rtol=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_traceback(data):
    try:
        s = read_sequences(data)
    except SequenceFileError:
        return
    assert s.X.shape == (len(s), s.n)


def test_a_protein_row_in_a_dna_file_is_named_as_protein_not_as_ambiguity_codes():
    data = b">dna\nACGTACGTACGTACGTAC\n>prot\nMKTAYIAKQRQISFVKSH\n>amb\nACGTMCGTACGTACGTAC\n"
    s = read_sequences(data, name="mixed.fa")
    rej = s.rejected.set_index("id")
    assert s.ids == ["dna"]
    assert rej.loc["prot", "reason"].startswith("letter: looks like a protein sequence, not DNA")
    assert "IUPAC" not in rej.loc["prot", "reason"]
    assert "IUPAC ambiguity code 'M' (A/C) at position 5" in rej.loc["amb", "reason"]  # one code: a DNA typo


def test_fasta_header_key_value_fields_become_label_columns():
    data = (b">g1 activity=0.324 gene=HPRT1\nACGTAC\n>g2 gene=EMX1;activity=1.5 note\nACGTAA\n"
            b">g3 plain words\nACGTTT\n")
    s = read_sequences(data, name="guides.fa")
    assert list(s.extra.columns) == ["description", "activity", "gene"]
    assert s.extra["activity"].dtype.kind == "f"
    assert s.extra["activity"].iloc[:2].tolist() == [0.324, 1.5] and np.isnan(s.extra["activity"].iloc[2])
    assert s.extra["gene"].tolist() == ["HPRT1", "EMX1", ""]
    assert any("header fields" in n for n in s.notes)
    plain = read_sequences(b">a first guide\nACGT\n>b x\nACGT\n", name="p.fa")
    assert list(plain.extra.columns) == ["description"]
