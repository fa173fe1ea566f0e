"""Exports that stay safe to open and complete (issue 17.3): CSV cells a spreadsheet would run are defused, user
columns are never dropped from ``shap_wide``, and the store of uploaded models stays under its size cap."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from onnx import TensorProto, helper

from shapzero_core import models as M
from shapzero_core.alphabet import DNA
from shapzero_core.analysis import explain_sequences
from shapzero_core.cli import main
from shapzero_core.export import ExportConfig, csv_safe, export_all, read_table, wide_table, write_table
from shapzero_core.fourier import FourierSketch
from shapzero_core.sequences import read_sequences

pytestmark = pytest.mark.timeout(120)

HOSTILE = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
           "\t=1"]


def test_csv_cells_that_would_run_as_formulas_are_defused(tmp_path):
    df = pd.DataFrame({"seq_id": [*HOSTILE, "-0.5", "plain", "1e-3"], "value": np.arange(8) - 4.0,
                       "=evil": ["a"] * 8})
    (p,) = write_table(df, tmp_path / "t", ["csv"])
    text = p.read_text()
    back = pd.read_csv(p, dtype=str, keep_default_na=False)
    assert back.columns[2] == "'=evil"
    assert back["seq_id"].tolist()[:5] == ["'" + h for h in HOSTILE]
    assert back["seq_id"].tolist()[5:] == ["-0.5", "plain", "1e-3"]  # numbers and ordinary text untouched
    assert [float(v) for v in back["value"]] == list(np.arange(8) - 4.0)  # numeric columns untouched
    assert not any(v.startswith("'") for v in back["value"])
    for line in text.splitlines()[1:]:
        assert not line.startswith(("=", "+", "@")), line
    (pq,) = write_table(df, tmp_path / "t", ["parquet"])
    assert pd.read_parquet(pq)["seq_id"].tolist()[0] == HOSTILE[0]  # Parquet keeps the values as they are
    assert csv_safe(df).shape == df.shape


def _sketch(n=4) -> FourierSketch:
    loc = np.array([[0] * n, [1] + [0] * (n - 1), [0, 2] + [0] * (n - 2)], np.int8)
    return FourierSketch(loc, np.array([1.0, 0.5 + 0.1j, 0.25]), DNA)


def test_shap_wide_keeps_user_columns_whose_names_are_taken(tmp_path, capsys):
    csv = tmp_path / "in.csv"
    csv.write_text("id,sequence,prediction,shap_1,shap_1_input,label\n"
                   "=HYPERLINK(1),ACGT,0.9,a,b,x\nb,TTTT,0.1,c,d,y\n")
    seqs = read_sequences(csv, n=4)
    expl = explain_sequences(_sketch(), seqs, with_interactions=False)
    wide = wide_table(expl)
    assert wide["prediction_input"].tolist() == [0.9, 0.1]
    assert wide["shap_1_input_2"].tolist() == ["a", "c"] and wide["shap_1_input"].tolist() == ["b", "d"]
    assert wide["label"].tolist() == ["x", "y"]
    assert wide.attrs["renamed_columns"] == {"prediction": "prediction_input", "shap_1": "shap_1_input_2"}
    assert len(wide.attrs["notes"]) == 2
    np.testing.assert_allclose(wide["prediction"], expl.predictions)  # the explanation's own columns win
    # through the CLI: the note is printed and the file has every column, the id defused
    sk = tmp_path / "s.npz"
    _sketch().save(sk)
    assert main(["explain", "--sketch", str(sk), "--sequences", str(csv), "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "input column 'prediction' is 'prediction_input'" in err
    back = read_table(tmp_path / "out" / "shap_wide.csv")
    assert {"prediction", "prediction_input", "shap_1_input", "shap_1_input_2", "label"} <= set(back.columns)
    assert back["seq_id"].iloc[0] == "'=HYPERLINK(1)"
    res = export_all(_sketch(), seqs, tmp_path / "exp", ExportConfig(figure_formats=(), modisco=False))
    assert res.record["notes"] == wide.attrs["notes"]


def _onnx(n: int, pad: int) -> bytes:
    """A valid model of n positions whose bytes differ by ``pad`` (a doc string)."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", n, 4])
    axes = helper.make_tensor("axes", TensorProto.INT64, [2], [1, 2])
    g = helper.make_graph([helper.make_node("ReduceSum", ["x", "axes"], ["y"], keepdims=0)], "g", [x],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N"])], [axes])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8, doc_string="x" * pad)
    return m.SerializeToString()


def test_the_model_store_stays_under_its_cap_oldest_first(tmp_path, monkeypatch):
    store = tmp_path / "store"
    monkeypatch.setenv(M.MODEL_STORE_ENV, str(store))
    monkeypatch.setenv(M.MODEL_STORE_LIMIT_ENV, "0.25")  # 256 KiB
    monkeypatch.setattr(M.onnx_model, "EMBED_LIMIT", 1000)  # everything above 1 kB goes to the store
    models = [_onnx(6, 100_000 + i) for i in range(5)]  # ~100 kB each: two fit
    digests = []
    for i, data in enumerate(models):
        m = M.load_model(data)
        digests.append(m.sha256)
        path = store / f"{m.sha256}.onnx"
        assert path.is_file() and str(path) in m.spec
        os.utime(path, (1_000_000 + i, 1_000_000 + i))  # distinct ages
    kept = sorted(p.name for p in store.glob("*.onnx"))
    assert kept == sorted(f"{d}.onnx" for d in digests[-2:])
    assert sum(p.stat().st_size for p in store.glob("*.onnx")) <= 256 * 1024
    # using a stored model again makes it the newest: a new upload then evicts the other one
    M.load_model(models[3])
    os.utime(store / f"{digests[4]}.onnx", (1_000_000, 1_000_000))
    M.load_model(_onnx(6, 100_000 + 99))
    assert (store / f"{digests[3]}.onnx").is_file() and not (store / f"{digests[4]}.onnx").exists()
    # a stale partial write (a crash) is removed, a fresh one is left alone
    stale, fresh = store / ".x.tmp", store / ".y.tmp"
    stale.write_bytes(b"1")
    fresh.write_bytes(b"1")
    os.utime(stale, (1_000_000, 1_000_000))
    M.load_model(_onnx(6, 100_000 + 98))
    assert not stale.exists() and fresh.exists()
