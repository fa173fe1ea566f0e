"""``shapzero sketch`` and ``shapzero explain`` end to end, and their one-line user errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shapzero_core import FourierSketch
from shapzero_core.cli import main
from shapzero_core.sequences import random_sequences, to_fasta


@pytest.fixture(scope="module")
def sketched(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    rc = main(["sketch", "--model", "demo:guide_rna", "--budget", "250000", "--test-size", "2000",
               "--cache", str(d / "cache"), "--out", str(d / "guide.npz")])
    assert rc == 0
    return d


def test_sketch_writes_a_sketch_equal_to_the_demo_spectrum(sketched):
    from shapzero_core.demos import get_demo

    sk = FourierSketch.load(sketched / "guide.npz")
    truth = get_demo("guide_rna").load_spectrum()
    assert np.array_equal(sk.locations, truth.locations)
    np.testing.assert_allclose(sk.coefficients, truth.coefficients, atol=1e-6)
    rep = sk.report
    assert rep["queries"]["train"] == 3 * 3 * 27 * 4**5 and rep["r2"] > 0.999999
    assert sk.metadata["model_spec"] == "demo:guide_rna"


def test_sketch_resumes_from_the_cache(sketched, capsys):
    rc = main(["sketch", "--model", "demo:guide_rna", "--budget", "250000", "--test-size", "2000",
               "--cache", str(sketched / "cache"), "--out", str(sketched / "again.npz")])
    assert rc == 0
    err = capsys.readouterr().err
    assert "250,832 of 250,832 queries cached, 0 to go" in err
    assert FourierSketch.load(sketched / "again.npz").report["queries"]["queried"] == 0


def test_plan_only_prints_the_exact_queries(capsys):
    assert main(["sketch", "--model", "demo:repair", "--b", "6", "--subsample", "2", "--repeat", "4",
                 "--plan-only"]) == 0
    out = capsys.readouterr().out
    assert "b=6, C=2, P=4: 1,343,488 training + 10,000 test = 1,353,488 model queries" in out


def test_explain_writes_tidy_tables(sketched, capsys):
    seqs = random_sequences(30, 26, seed=3)
    f = sketched / "seqs.fa"
    f.write_text(to_fasta(seqs) + ">short\nACGT\n")
    rc = main(["explain", "--sketch", str(sketched / "guide.npz"), "--sequences", str(f), "--out",
               str(sketched / "ex"), "--interactions", "mobius", "--tables", "csv,parquet"])
    assert rc == 0
    shap = pd.read_csv(sketched / "ex" / "shap.csv", dtype={"seq_id": str})
    assert list(shap.columns) == ["seq_id", "sequence", "position", "letter", "shap"]
    assert len(shap) == 30 * 26 and shap["position"].min() == 1 and shap["position"].max() == 26
    wide = pd.read_parquet(sketched / "ex" / "shap_wide.parquet")
    sk = FourierSketch.load(sketched / "guide.npz")
    np.testing.assert_allclose(wide["prediction"], sk.predict(seqs.X), atol=1e-9)
    inter = pd.read_csv(sketched / "ex" / "interactions.csv")
    assert set(inter["order"]) == {2} and (inter["index"] == "mobius").all()
    rej = pd.read_csv(sketched / "ex" / "rejected.csv")
    assert rej["id"].tolist() == ["short"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sketch", "--model", "demo:guide_rna", "--out", "x.npz"], "give either --budget Q or --b B"),
        (["sketch", "--model", "demo:guide_rna", "--budget", "10", "--out", "x.npz"], "too small"),
        (["sketch", "--model", "demo:guide_rna", "--budget", "100000"], "--out OUT.npz is required"),
        (["sketch", "--model", "no_such_module_xyz:f", "--budget", "100000", "--out", "x.npz"], "no_such_module_xyz"),
        (["explain", "--sketch", "missing.npz", "--sequences", "s.fa", "--out", "o"], "missing.npz: no such file"),
    ],
)
def test_user_errors_exit_2_with_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("shapzero: error:") and message in err[-1]
    assert "Traceback" not in "\n".join(err)


def test_a_model_returning_nan_exits_2_naming_the_block(tmp_path, capsys, monkeypatch):
    script = tmp_path / "nan_model.py"
    script.write_text(
        "import sys\n"
        "for line in sys.stdin:\n"  # (the program is restarted after every block: no per-process line count)
        "    print('nan' if line.startswith('TT') else len(line.strip()), flush=True)\n"
    )
    import sys

    monkeypatch.chdir(tmp_path)
    rc = main(["sketch", "--model", f"cmd:{sys.executable} {script}", "--length", "6", "--b", "2",
               "--test-size", "10", "--out", "x.npz", "--batch-size", "200"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "query block" in err and "NaN" in err.replace("nan", "NaN")
