"""Exported files read back and match the in-memory results; the CLI writes every format."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from shapzero_core import DNA, FourierSketch
from shapzero_core.analysis import explain_sequences, position_letter_summary, top_interactions
from shapzero_core.cli import main
from shapzero_core.export import (
    ExportConfig,
    export_all,
    interaction_table,
    modisco_arrays,
    read_table,
    shap_table,
    wide_table,
)
from shapzero_core.sequences import SequenceSet, random_sequences, read_sequences, to_csv, to_fasta

Q = 4


def planted_sketch(n: int = 16) -> FourierSketch:
    """Letter effects plus one microhomology term (positions 3,4 and 6,7, 0-based), exact spectrum."""
    locs, coefs = [np.zeros((1, n), dtype=np.int8)], [np.array([0.2 + 0j])]
    a, b, c, e = np.meshgrid(*(np.arange(Q),) * 4, indexing="ij")
    terms = [((3, 4, 6, 7), -2.0 * ((a == c) & (b == e))), ((0,), np.array([0.0, 0, 1.0, 0])),
             ((10,), np.array([0.0, -0.8, 0, 0])), ((1, 12), 0.7 * np.equal.outer(np.arange(Q), np.arange(Q)))]
    for pos, table in terms:
        F = np.fft.fftn(np.asarray(table, dtype=float)) / Q ** len(pos)
        ks = np.argwhere(np.abs(F) > 1e-14)
        L = np.zeros((ks.shape[0], n), dtype=np.int8)
        L[:, list(pos)] = ks
        locs.append(L)
        coefs.append(F[tuple(ks.T)])
    return FourierSketch(np.concatenate(locs), np.concatenate(coefs), DNA, {"model": {"name": "planted"}})


@pytest.fixture(scope="module")
def labelled():
    r = random_sequences(300, 16, seed=21)
    ids = [f"guide-{i:03d} x" for i in range(300)]  # ids with spaces and dashes survive
    extra = pd.DataFrame({"group": ["hi", "lo", "mid"] * 100, "activity": np.linspace(0, 1, 300)})
    return SequenceSet.from_codes(r.X, DNA, ids=ids, extra=extra)


def test_tables_match_the_explanation(labelled):
    sk = planted_sketch()
    ex = explain_sequences(sk, labelled)
    long = shap_table(ex)
    assert len(long) == 300 * 16 and long["position"].min() == 1 and long["position"].max() == 16
    np.testing.assert_array_equal(long["shap"].to_numpy().reshape(300, 16), ex.shap)
    assert long["seq_id"].iloc[16] == "guide-001 x" and long["letter"].iloc[0] == labelled.sequences[0][0]
    wide = wide_table(ex)
    assert list(wide.columns[:4]) == ["seq_id", "sequence", "prediction", "shap_1"]
    np.testing.assert_allclose(wide["prediction"], sk.predict(labelled.X), atol=1e-12)
    assert "group" in wide.columns and "activity" in wide.columns
    it = interaction_table(ex)
    s0 = it[it["seq_id"] == "guide-000 x"]
    inter = ex.interactions
    for row in s0.itertuples():
        pos = tuple(int(p) - 1 for p in row.positions.split(","))
        assert row.letters == "".join(labelled.sequences[0][p] for p in pos)
        assert row.value == inter.values[0, inter.sets.index(pos)]
    assert (it["order"] >= 2).all() and set(it["index"]) == {"mobius"}


def test_modisco_arrays_shapes_and_content(labelled):
    sk = planted_sketch()
    ex = explain_sequences(sk, labelled, with_interactions=False)
    arr = modisco_arrays(ex, sk)
    for key in ("ohe", "shap", "hyp_shap"):
        assert arr[key].shape == (300, 4, 16) and arr[key].dtype == np.float32
    assert np.array_equal(arr["ohe"].argmax(1), labelled.X) and np.all(arr["ohe"].sum(1) == 1)
    np.testing.assert_allclose(arr["shap"].sum(1), ex.shap, atol=1e-6)
    np.testing.assert_allclose((arr["hyp_shap"] * arr["ohe"]).sum(1), ex.shap, atol=1e-6)


def test_export_all_reads_back(tmp_path, labelled):
    sk = planted_sketch()
    sk_path = sk.save(tmp_path / "sk.npz")
    cfg = ExportConfig(figure_formats=("svg",), logos_for=1, compare_column="group", compare_values=("hi", "lo"))
    res = export_all(sk, labelled, tmp_path / "out", cfg, sketch_source=sk_path)
    out = res.out_dir
    ex = res.explanation
    for fmt in ("csv", "parquet"):
        tol = {"rtol": 1e-11, "atol": 1e-13} if fmt == "csv" else {"rtol": 1e-12, "atol": 1e-15}  # CSV: 12 digits
        long = read_table(out / f"shap_long.{fmt}")
        assert long["seq_id"].tolist()[::16] == labelled.ids
        np.testing.assert_allclose(long["shap"].to_numpy().reshape(300, 16), ex.shap, **tol)
        top = read_table(out / f"top_interactions_all.{fmt}")
        ref = top_interactions(ex, k=None)
        assert top["positions"].tolist() == [",".join(map(str, p)) for p in ref["positions"]]
        np.testing.assert_allclose(top["mean"], ref["mean"], **tol)
        pl = read_table(out / f"position_letter_summary.{fmt}")
        np.testing.assert_allclose(pl["mean"].to_numpy().reshape(16, 4), position_letter_summary(ex).mean,
                                   equal_nan=True, **tol)
        it = read_table(out / f"interactions.{fmt}")
        ref_it = interaction_table(ex, top_per_sequence=50)
        assert it["seq_id"].tolist() == ref_it["seq_id"].tolist()
        np.testing.assert_allclose(it["value"], ref_it["value"], **tol)
    with np.load(out / "modisco_ohe.npz", allow_pickle=False) as z:
        assert z.files == ["arr_0"] and z["arr_0"].shape == (300, 4, 16)
    with np.load(out / "modisco_shap.npz", allow_pickle=False) as z:
        np.testing.assert_allclose(z["arr_0"].sum(1), ex.shap, atol=1e-6)
    assert (out / "modisco_ids.txt").read_text().splitlines() == labelled.ids
    diff = read_table(out / "difference_logo.csv")
    assert list(diff.columns) == ["position", "A", "C", "G", "T"] and len(diff) == 16
    rec = json.loads((out / "run.json").read_text())
    assert rec["format"] == "shapzero-export" and rec["sequences"]["accepted"] == 300
    assert rec["sketch"]["sha256"] and rec["sketch"]["n"] == 16 and rec["sketch"]["model"] == {"name": "planted"}
    listed = {f["path"] for f in rec["files"]}
    assert "shap_long.csv" in listed and "figures/logo_position_letter.svg" in listed
    assert all((out / p).is_file() for p in listed)
    svg = (out / "figures" / "interaction_heatmap.svg").read_text()
    assert "<text" in svg
    # the planted microhomology (0-based 3,4 / 6,7 -> 1-based 4,5 / 7,8, spacing 3) is the top spaced repeat
    reps = read_table(out / "spaced_repeats.csv")
    best = reps[(reps["order"] == 4) & (reps["is_repeat"])].iloc[0]
    assert best["positions"] == "4,5,7,8" and best["spacing"] == 3 and best["mean"] < 0


def test_cli_export_writes_every_format(tmp_path, capsys):
    sk = planted_sketch()
    sk_path = sk.save(tmp_path / "s.npz")
    r = random_sequences(40, 16, seed=3)
    fa = tmp_path / "seqs.fa"
    fa.write_text(to_fasta(r) + ">short\nACGT\n")
    code = main(["export", "--sketch", str(sk_path), "--sequences", str(fa), "--out", str(tmp_path / "o"),
                 "--figures", "png", "--logos", "1", "--quiet"])
    assert code == 0
    o = tmp_path / "o"
    for name in ("shap_long.csv", "shap_long.parquet", "shap_wide.csv", "interactions.parquet",
                 "top_interactions.csv", "spaced_repeats.csv", "modisco_ohe.npz", "modisco_hyp_shap.npz", "run.json",
                 "rejected_sequences.csv", "figures/logo_seq_1.png", "figures/interaction_heatmap.png"):
        assert (o / name).is_file(), name
    rej = pd.read_csv(o / "rejected_sequences.csv")
    assert rej["id"].tolist() == ["short"] and rej["reason"][0].startswith("length")
    wide = pd.read_csv(o / "shap_wide.csv", dtype={"seq_id": str})
    back = read_sequences(to_csv(r).encode(), format="csv")
    assert wide["seq_id"].tolist() == back.ids


def test_cli_errors_are_one_line(tmp_path, capsys):
    sk_path = planted_sketch().save(tmp_path / "s.npz")
    bad = tmp_path / "bad.txt"
    bad.write_text("NNNNNNNNNNNNNNNN\n")
    assert main(["export", "--sketch", str(sk_path), "--sequences", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "no sequence of length 16" in err and "IUPAC" in err and len(err.strip().splitlines()) == 1
    assert main(["export", "--sketch", str(tmp_path / "missing.npz"), "--sequences", str(bad),
                 "--out", str(tmp_path / "o")]) == 2
    assert "no such file" in capsys.readouterr().err
    good = tmp_path / "g.txt"
    good.write_text("ACGTACGTACGTACGT\n")
    assert main(["export", "--sketch", str(sk_path), "--sequences", str(good), "--out", str(tmp_path / "o"),
                 "--compare", "grp", "a", "b"]) == 2
    assert "no column 'grp'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["export", "--sketch", str(sk_path), "--sequences", str(good), "--out", "x", "--figures", "gif"])


def test_interaction_table_filters(labelled):
    sk = planted_sketch()
    ex = explain_sequences(sk, labelled.subset(np.arange(20)))
    full = interaction_table(ex, min_order=1)
    assert set(full["order"]) == {1, 2, 4}
    top3 = interaction_table(ex, min_order=2, top_per_sequence=3)
    assert (top3.groupby("seq_id").size() <= 3).all()
    every = interaction_table(ex, min_order=2)
    for sid, grp in every.groupby("seq_id"):
        best = np.sort(np.abs(grp["value"].to_numpy()))[::-1][:3]
        got = np.sort(np.abs(top3.loc[top3["seq_id"] == sid, "value"].to_numpy()))[::-1]
        np.testing.assert_allclose(got, best)
    big = interaction_table(ex, min_abs=0.5)
    assert (big["value"].abs() > 0.5).all() and len(big) < len(every)


def test_tables_carry_the_stderr_of_every_value(labelled):
    """Sketch-only values carry the trust check's per-position error; refined values their own stderr."""
    from shapzero_core.analysis import refined_explanation
    from shapzero_core.refine import check_sketch, refine_shap, with_trust

    sk = planted_sketch()
    keep = sk.degrees <= 2  # a sketch that misses the 4-position microhomology term
    partial = FourierSketch(sk.locations[keep], sk.coefficients[keep], DNA)
    model = sk.predict
    expl = explain_sequences(partial, labelled)
    assert expl.stderr is None and expl.stderr_kind == ""
    assert shap_table(expl)["stderr"].isna().all() and "stderr_1" not in wide_table(expl).columns

    checked = with_trust(partial, check_sketch(model, partial, n_seqs=4, calls_per_seq=1000))
    expl = explain_sequences(checked, labelled)
    assert expl.stderr_kind == "trust check"
    tab = shap_table(expl)
    pos = np.array(checked.metadata["trust"]["position_rmse"])
    np.testing.assert_allclose(tab["stderr"].to_numpy(), np.tile(pos, expl.N))
    assert pos[[3, 4, 6, 7]].min() > 0.01 and pos[[2, 5, 8]].max() < 1e-9  # the missed term's positions

    sub = expl.subset(np.arange(5))
    r = refine_shap(model, checked, sub.X, calls_per_seq=1000)
    ref = refined_explanation(sub, r)
    assert ref.stderr_kind == "refined"
    np.testing.assert_array_equal(shap_table(ref)["stderr"].to_numpy(), r.stderr.ravel())
    wide = wide_table(ref)
    assert {"stderr_1", "stderr_16", "model_calls", "sketch_prediction", "group"} <= set(wide.columns)
    np.testing.assert_array_equal(wide["model_calls"], r.calls_per_seq)
    with pytest.raises(ValueError, match="other sequences"):
        refined_explanation(expl.subset(np.arange(6)), r)


def test_csv_numbers_carry_no_round_off_but_parquet_keeps_every_bit(tmp_path):
    import pandas as pd

    from shapzero_core.export import TableWriter, write_table

    df = pd.DataFrame({"shap": [0.7499999999999938, 0.0, -1.25e-7, 123456.789012345678], "seq_id": list("abcd")})
    (p,) = write_table(df, tmp_path / "t", ["csv"])
    lines = p.read_text().splitlines()
    assert lines[1:] == ["0.75,a", "0,b", "-1.25e-07,c", "123456.789012,d"]
    with TableWriter(tmp_path / "w", ["csv", "parquet"]) as w:
        w.write(df)
    assert (tmp_path / "w.csv").read_text().splitlines() == lines
    assert pd.read_parquet(tmp_path / "w.parquet")["shap"].tolist() == df["shap"].tolist()
