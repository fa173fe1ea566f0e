"""Motifs the field recognises: JASPAR (pyjaspar, offline) + TOMTOM (memelite), TF-MoDISco (modisco-lite) on the
sketch's hypothetical SHAP values, the ``shapzero motifs`` CLI, and a planted CTCF model end to end."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from shapzero_core import FourierSketch, get_alphabet
from shapzero_core.analysis import (
    ModiscoConfig,
    TooFewSeqletsError,
    discover_motifs,
    load_jaspar,
    read_meme_database,
    tomtom_matches,
)
from shapzero_core.analysis.matching import _bh, write_meme
from shapzero_core.cli import main
from shapzero_core.pwm_scan import PwmScan, jaspar_ppm, sequences_with_instances
from shapzero_core.sequences import SequenceSet, to_fasta
from shapzero_core.sketch import SketchConfig, sketch_model


def test_jaspar_is_offline_and_tomtom_names_a_motif(tmp_path):
    db = load_jaspar()
    assert db.source == "JASPAR2024 CORE vertebrates" and len(db) > 800
    i = db.index("MA0139")
    assert db.ids[i].startswith("MA0139.") and db.names[i] == "CTCF"
    np.testing.assert_allclose(db.matrices[i].sum(axis=0), 1.0)
    ppm = db.matrices[i].T  # (w, 4)
    noisy = 0.8 * ppm + 0.05
    rc = noisy[::-1, ::-1]  # the reverse complement must match too (TOMTOM scans both strands)
    m = tomtom_matches([noisy, rc], ["fwd", "rev"], db, top=5)
    assert list(m.columns)[:4] == ["motif", "rank", "target_id", "target_name"]
    for q in ("fwd", "rev"):
        r = m[m["motif"] == q]
        assert (r["target_name"] == "CTCF").iloc[:3].all() and db.ids[i] in set(r["target_id"])
        assert r["q_value"].iloc[0] < 1e-6 and (np.diff(r["p_value"].to_numpy()) >= 0).all()
    assert m[m["motif"] == "rev"]["strand"].iloc[0] == "-"
    assert load_jaspar("JASPAR2024", "CORE", "plants").source.endswith("plants")
    with pytest.raises(ValueError, match="unknown JASPAR taxon"):
        load_jaspar(tax_group="martians")
    # a MEME file round trip gives the same database
    path = write_meme(tmp_path / "sub.meme", [M.T for M in db.matrices[:40]], list(db.ids[:40]))
    sub = read_meme_database(path)
    assert sub.ids == db.ids[:40]
    np.testing.assert_allclose(sub.matrices[3], db.matrices[3], atol=1e-6)


def test_benjamini_hochberg_against_a_direct_computation():
    p = np.array([[0.01, 0.04, 0.03, 0.2, 0.5]])
    q = _bh(p)[0]
    m = 5
    direct = [min(min(np.sort(p[0])[k:] * m / np.arange(k + 1, m + 1)), 1.0) for k in range(m)]
    np.testing.assert_allclose(q[np.argsort(p[0])], direct)


def test_motifs_need_dna_and_enough_seqlets():
    prot = get_alphabet("protein")
    sk = FourierSketch(np.array([[1] + [0] * 29], dtype=np.int8), np.array([1.0]), prot)
    with pytest.raises(ValueError, match="DNA / RNA"):
        discover_motifs(sk, np.zeros((10, 30), dtype=np.int8))
    ppm = jaspar_ppm()
    table_sketch = FourierSketch(np.eye(30, dtype=np.int8)[:5], np.full(5, 0.1 + 0.1j))
    X, _ = sequences_with_instances(ppm, 60, 30)
    with pytest.raises(TooFewSeqletsError, match=r"seqlets in 60 sequences; it needs more than 100 of one sign"):
        discover_motifs(table_sketch, X)
    with pytest.raises(ValueError, match="too short"):
        discover_motifs(FourierSketch(np.eye(8, dtype=np.int8), np.ones(8)), np.zeros((5, 8), dtype=np.int8))


N_LEN = 30


@pytest.fixture(scope="module")
def ctcf(tmp_path_factory):
    """A PWM-scan model of JASPAR's CTCF (MA0139) sketched at b = 5 (276k queries, R^2 about 0.3), and 2,000
    sequences each carrying one sampled CTCF site at a random offset and strand."""
    d = tmp_path_factory.mktemp("ctcf")
    ppm = jaspar_ppm("MA0139")
    model = PwmScan(ppm, N_LEN)
    sk = sketch_model(model, n=N_LEN, config=SketchConfig(b=5, num_subsample=3, num_repeat=3, test_size=2000))
    X, offs = sequences_with_instances(ppm, 2000, N_LEN, seed=1)
    path = sk.save(d / "ctcf.npz")
    fasta = d / "ctcf.fa"
    fasta.write_text(to_fasta(SequenceSet.from_codes(X)))
    return {"dir": d, "sketch": sk, "sketch_path": path, "fasta": fasta, "X": X, "offs": offs, "ppm": ppm}


@pytest.mark.slow
def test_planted_ctcf_model_gives_a_motif_named_ctcf_cli(ctcf):
    """End to end through ``shapzero motifs``: the best TOMTOM match of the top motif is JASPAR's CTCF."""
    out = ctcf["dir"] / "motifs"
    rc = main(["motifs", "--sketch", str(ctcf["sketch_path"]), "--sequences", str(ctcf["fasta"]), "--out", str(out),
               "--figures", "svg", "--quiet"])
    assert rc == 0
    for f in ("motifs.meme", "matches.tsv", "motifs.tsv", "motif_seqlets.tsv", "modisco.h5", "motifs.json"):
        assert (out / f).is_file(), f
    motifs = pd.read_csv(out / "motifs.tsv", sep="\t")
    assert len(motifs) >= 1
    top = motifs.iloc[0]
    assert top["sign"] == 1 and top["best_match_name"] == "CTCF" and str(top["best_match_id"]).startswith("MA0139")
    assert top["best_q_value"] < 1e-3
    matches = pd.read_csv(out / "matches.tsv", sep="\t")
    assert set(matches.columns) >= {"target_id", "target_name", "p_value", "e_value", "q_value"}
    # the sequences that carry it: its seqlets overlap the planted sites
    sl = pd.read_csv(out / "motif_seqlets.tsv", sep="\t")
    sl = sl[sl["motif"] == top["motif"]]
    assert len(sl) >= 20
    site = ctcf["offs"][sl["seq_number"].to_numpy() - 1] + 1  # 1-based start of the planted site
    overlap = np.minimum(sl["end"].to_numpy(), site + 14) - np.maximum(sl["start"].to_numpy(), site) + 1
    assert np.mean(overlap >= 8) > 0.9
    rec = json.loads((out / "motifs.json").read_text())
    assert rec["database"] == "JASPAR2024 CORE vertebrates" and rec["motifs"][0]["best_match_name"] == "CTCF"
    assert any(p.endswith("_cwm.svg") for p in rec["files"])


@pytest.mark.slow
def test_a_model_of_another_motif_gives_no_ctcf_on_the_same_sequences(ctcf):
    """Control: the CTCF sites alone do not make the motif; a GATA1 (MA0035) scan explained on the same
    CTCF-carrying sequences finds no CTCF match."""
    ppm = jaspar_ppm("MA0035")
    sk = sketch_model(PwmScan(ppm, N_LEN), n=N_LEN,
                      config=SketchConfig(b=5, num_subsample=3, num_repeat=3, test_size=2000))
    try:
        res = discover_motifs(sk, ctcf["X"], ModiscoConfig())
    except TooFewSeqletsError:
        return
    names = set(res.matches()["target_name"].head(3 * len(res.motifs)))
    assert "CTCF" not in {m.best_match["target_name"] for m in res.motifs if m.best_match}, names
