"""``--background uniform|data|FILE`` on ``shapzero explain`` and ``shapzero export``: the values equal the API's
for the same background, the run record names it, and bad backgrounds are one-line errors (exit 2)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from test_shapley import random_table

from shapzero_core import DNA, FourierSketch
from shapzero_core.analysis import explain_sequences
from shapzero_core.background import resolve_background
from shapzero_core.cli import main
from shapzero_core.sequences import read_sequences


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bg")
    f = random_table(4, 5, seed=21, sparse=True)
    sk = FourierSketch.from_dense(f, tol=1e-12)
    sk.save(d / "s.npz")
    rng = np.random.default_rng(0)
    X = rng.choice(4, size=(40, 5), p=[0.55, 0.15, 0.15, 0.15]).astype(np.int8)  # A-rich sequences
    (d / "seqs.fa").write_text("".join(f">s{i}\n{s}\n" for i, s in enumerate(DNA.decode(X))))
    Y = rng.integers(0, 4, size=(30, 5)).astype(np.int8)
    (d / "other.fa").write_text("".join(f">o{i}\n{s}\n" for i, s in enumerate(DNA.decode(Y))))
    P = rng.dirichlet(np.ones(4), size=5)
    np.save(d / "table.npy", P)
    pd.DataFrame(P * 100, columns=list("ACGT")).assign(position=range(1, 6)).to_csv(d / "counts.tsv", sep="\t",
                                                                                  index=False)
    return d, sk, X, Y, P


def _shap(out) -> np.ndarray:
    df = pd.read_csv(out / "shap_long.csv")
    return df.pivot(index="seq_id", columns="position", values="shap").loc[[f"s{i}" for i in range(40)]].to_numpy()


@pytest.mark.parametrize("spec", ["uniform", "data", "table.npy", "counts.tsv", "other.fa"])
def test_explain_background_equals_api(files, tmp_path, capsys, spec):
    d, sk, X, Y, P = files
    arg = spec if spec in ("uniform", "data") else str(d / spec)
    out = tmp_path / "out"
    assert main(["explain", "--sketch", str(d / "s.npz"), "--sequences", str(d / "seqs.fa"), "--out", str(out),
                 "--background", arg]) == 0
    err = capsys.readouterr().err
    want_bg = {"uniform": None, "data": X, "table.npy": P, "counts.tsv": P, "other.fa": Y}[spec]
    want = explain_sequences(sk, X, background=want_bg, with_interactions=False).shap
    np.testing.assert_allclose(_shap(out), want, atol=1e-6)
    assert "background: " + ({"uniform": "uniform", "data": "data (the explained sequences)", "table.npy": "table",
                              "counts.tsv": "table", "other.fa": "data (other.fa)"}[spec]) in err
    if spec != "uniform":
        assert "stderr: unknown: the trust check's error bars describe the uniform background" in err
    if spec != "uniform":  # a real difference from the uniform game, not a no-op
        assert np.abs(want - explain_sequences(sk, X, with_interactions=False).shap).max() > 1e-3


def test_pseudocount_and_run_record(files, tmp_path, capsys):
    d, sk, X, _, _ = files
    out = tmp_path / "exp"
    assert main(["export", "--sketch", str(d / "s.npz"), "--sequences", str(d / "seqs.fa"), "--out", str(out),
                 "--background", "data", "--pseudocount", "2", "--figures", "", "--no-modisco", "--quiet"]) == 0
    rec = json.loads((out / "run.json").read_text())
    assert rec["background"]["source"] == "data" and rec["background"]["pseudocount"] == 2.0
    np.testing.assert_allclose(rec["background"]["probs"], resolve_background(sk, X, pseudocount=2).probs, atol=1e-6)
    out2 = tmp_path / "exp2"
    assert main(["export", "--sketch", str(d / "s.npz"), "--sequences", str(d / "seqs.fa"), "--out", str(out2),
                 "--figures", "", "--no-modisco", "--quiet"]) == 0
    assert json.loads((out2 / "run.json").read_text())["background"]["source"] == "uniform"


@pytest.mark.parametrize("extra,msg", [
    (["--background", "gc"], "not 'uniform', 'data' or an existing file"),
    (["--background", "uniform", "--pseudocount", "1"], "--pseudocount goes with"),
    (["--background", "data", "--pseudocount", "-1"], "pseudocount must be"),
    (["--background", "BAD.npy"], "not a numeric .npy"),
    (["--background", "data", "--refine", "--model", "demo:guide_rna"], "--refine explains the uniform"),
])
def test_bad_background_is_one_line_error(files, tmp_path, capsys, extra, msg):
    d, *_ = files
    (d / "BAD.npy").write_bytes(b"not a numpy file")
    extra = [str(d / e) if e == "BAD.npy" else e for e in extra]
    rc = main(["explain", "--sketch", str(d / "s.npz"), "--sequences", str(d / "seqs.fa"), "--out",
               str(tmp_path / "o"), *extra])
    err = capsys.readouterr().err
    assert rc == 2 and msg in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_background_sequence_file_is_read_like_sequences(files):
    d, sk, _, Y, _ = files
    seqs = read_sequences(d / "other.fa", alphabet=DNA, n=5)
    np.testing.assert_allclose(resolve_background(sk, seqs).probs, resolve_background(sk, Y).probs)
