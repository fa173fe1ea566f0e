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
    # the default, dense + sparse: half the budget on random queries, the q-SFT part as its rule picks for the other half
    assert rep["method"] == "hybrid" and rep["queries"]["train"] == 250_000 and rep["r2"] > 0.999999
    assert rep["queries"]["qsft"] == 4 * 4 * 27 * 4**4 and rep["queries"]["random"] == 250_000 - 4 * 4 * 27 * 4**4
    assert sk.metadata["model_spec"] == "demo:guide_rna"
    # the trust check ran by default: exact sketch, so the zero-residual shortcut (4 pairs per sequence)
    trust = rep["trust"]
    assert trust["level"] == "trustworthy" and trust["n_seqs"] == 16 and trust["median_rel_l2"] < 1e-6
    assert trust["model_calls"] <= 16 * (1 + 4 * (2 * 26 - 1))
    assert len(trust["position_rmse"]) == 26


def test_sketch_resumes_from_the_cache(sketched, capsys):
    rc = main(["sketch", "--model", "demo:guide_rna", "--budget", "250000", "--test-size", "2000",
               "--cache", str(sketched / "cache"), "--out", str(sketched / "again.npz")])
    assert rc == 0
    err = capsys.readouterr().err
    assert "252,000 of 252,000 queries cached, 0 to go" in err
    assert FourierSketch.load(sketched / "again.npz").report["queries"]["queried"] == 0


def test_no_check_skips_the_trust_check(sketched, capsys):
    rc = main(["sketch", "--model", "demo:guide_rna", "--budget", "250000", "--test-size", "2000",
               "--cache", str(sketched / "cache"), "--out", str(sketched / "nocheck.npz"), "--no-check"])
    assert rc == 0
    assert "trust check" not in capsys.readouterr().err
    sk = FourierSketch.load(sketched / "nocheck.npz")
    assert "trust" not in sk.report
    seqs = random_sequences(5, 26, seed=3)
    (sketched / "five.fa").write_text(to_fasta(seqs))
    assert main(["explain", "--sketch", str(sketched / "nocheck.npz"), "--sequences", str(sketched / "five.fa"),
                 "--out", str(sketched / "ex_nocheck")]) == 0
    assert "stderr: unknown: the sketch has no trust check" in capsys.readouterr().err
    shap = pd.read_csv(sketched / "ex_nocheck" / "shap_long.csv")
    assert shap["stderr"].isna().all()


def test_explain_refine_writes_refined_values_with_stderr(tmp_path, capsys):
    """A sketch that misses the guide model's pair terms: refined values recover the exact SHAP values
    within their standard errors; model calls per sequence are written."""
    from shapzero_core import shap_values
    from shapzero_core.demos import get_demo

    truth = get_demo("guide_rna").load_spectrum()
    keep = truth.degrees <= 1
    partial = FourierSketch(truth.locations[keep], truth.coefficients[keep], truth.alphabet)
    partial.save(tmp_path / "partial.npz")
    seqs = random_sequences(20, 26, seed=8)
    (tmp_path / "s.fa").write_text(to_fasta(seqs))
    rc = main(["explain", "--sketch", str(tmp_path / "partial.npz"), "--sequences", str(tmp_path / "s.fa"),
               "--out", str(tmp_path / "ex"), "--refine", "--model", "demo:guide_rna", "--calls-per-seq", "1500"])
    assert rc == 0
    err = capsys.readouterr().err
    assert "refining 20 sequences" in err and "model calls" in err and "standard errors of SHAP values refined" in err
    shap = pd.read_csv(tmp_path / "ex" / "shap_long.csv", dtype={"seq_id": str})
    exact = shap_values(truth, seqs.X).ravel()
    se = shap["stderr"].to_numpy()
    # values whose walks never changed the residual have stderr 0: positions no missed pair term touches
    # (exact), or a TT pair term no completion hit (a rare effect its error bar cannot show)
    live = se > 1e-9
    assert 0.5 < live.mean() < 0.95
    z = (shap["shap"].to_numpy() - exact)[live] / se[live]
    assert 0.6 <= float(np.mean(z**2)) <= 1.6 and float(np.mean(np.abs(z) <= 2)) >= 0.9
    sketch_err = np.abs(shap_values(partial, seqs.X).ravel() - exact).mean()
    assert np.abs(shap["shap"].to_numpy() - exact).mean() < 0.5 * sketch_err
    wide = pd.read_csv(tmp_path / "ex" / "shap_wide.csv", dtype={"seq_id": str})
    assert {"model_calls", "sketch_prediction", "stderr_1", "stderr_26"} <= set(wide.columns)
    assert wide["model_calls"].between(1300, 1700).all()
    np.testing.assert_allclose(wide["prediction"], truth.predict(seqs.X), atol=1e-9)  # the model's own f(x)


def test_plan_only_prints_the_exact_queries(capsys):
    assert main(["sketch", "--model", "demo:repair", "--b", "6", "--subsample", "2", "--repeat", "4",
                 "--method", "qsft", "--plan-only"]) == 0
    out = capsys.readouterr().out
    assert "b=6, C=2, P=4: 1,343,488 training + 10,000 test = 1,353,488 model queries" in out


def test_explain_writes_tidy_tables(sketched, capsys):
    seqs = random_sequences(30, 26, seed=3)
    f = sketched / "seqs.fa"
    f.write_text(to_fasta(seqs) + ">short\nACGT\n")
    rc = main(["explain", "--sketch", str(sketched / "guide.npz"), "--sequences", str(f), "--out",
               str(sketched / "ex"), "--interactions", "mobius", "--tables", "csv,parquet"])
    assert rc == 0
    shap = pd.read_csv(sketched / "ex" / "shap_long.csv", dtype={"seq_id": str})
    assert list(shap.columns) == ["seq_id", "sequence", "position", "letter", "shap", "stderr"]
    # the sketch is exact and its trust check said so: the calibrated sketch-only error bars are ~0
    assert shap["stderr"].notna().all() and shap["stderr"].max() < 1e-6
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
        (["explain", "--sketch", "s.npz", "--sequences", "s.fa", "--out", "o", "--refine"], "--refine needs --model"),
        (["explain", "--sketch", "s.npz", "--sequences", "s.fa", "--out", "o", "--target-se", "0.1"],
         "go with --refine"),
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


def test_hybrid_sketch_from_the_cli(tmp_path, capsys):
    """--method hybrid: the plan names its random queries, the log lists each component's held-out R^2, the
    sketch file keeps the method and components, and a rerun resumes with nothing to query."""
    args = ["sketch", "--model", "demo:guide_rna", "--budget", "120000", "--test-size", "2000", "--method", "hybrid",
            "--no-check", "--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "h.npz")]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "plan: hybrid:" in err and "random +" in err
    assert "first order (every position): held-out R^2" in err and "pairwise (" in err
    sk = FourierSketch.load(tmp_path / "h.npz")
    rep = sk.report
    assert rep["method"] == "hybrid" and rep["queries"]["train"] == 120_000
    assert [c["component"] for c in rep["components"]][:3] == [
        "constant", "first order (every position)", f"pairwise ({rep['hybrid']['pairs']} pairs)"]
    assert rep["r2"] > 0.99
    assert main(args) == 0
    assert "queries cached, 0 to go" in capsys.readouterr().err


@pytest.mark.parametrize(("extra", "match"), [
    (["--budget", "100000", "--random-queries", "5000", "--method", "hybrid"], "--random-queries goes with --b"),
    (["--b", "3", "--random-queries", "5000", "--method", "qsft"], "--random-queries is for --method hybrid"),
    (["--b", "3", "--method", "hybrid", "--random-queries", "10"], "needs random_queries >= 1,000"),
])
def test_hybrid_cli_errors(tmp_path, capsys, extra, match):
    rc = main(["sketch", "--model", "demo:guide_rna", "--plan-only", *extra])
    assert rc == 2
    assert match in capsys.readouterr().err
