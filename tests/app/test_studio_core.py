"""The app's plain helpers: content keys, the sequence table, search, pair matrices, durations, jobs."""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import pytest

from shapzero_core import FourierSketch
from shapzero_core.analysis import explain_sequences
from shapzero_core.sequences import SequenceSet
from studio_ui import core, jobs


def test_content_keys_follow_the_content(sketch, seqs):
    assert core.sketch_key(sketch) == core.sketch_key(FourierSketch.load(sketch.to_bytes()))
    other = FourierSketch(sketch.locations, sketch.coefficients * 2, sketch.alphabet)
    assert core.sketch_key(other) != core.sketch_key(sketch)
    assert core.sequences_key(seqs) == core.sequences_key(seqs.subset(np.arange(len(seqs))))
    assert core.sequences_key(seqs) != core.sequences_key(seqs.subset(np.arange(1, len(seqs))))
    relabelled = SequenceSet(ids=seqs.ids, sequences=seqs.sequences, X=seqs.X, alphabet=seqs.alphabet,
                             extra=seqs.extra.assign(group="x"), n=seqs.n)
    assert core.sequences_key(relabelled) != core.sequences_key(seqs)


def test_sequence_table_columns_and_summaries(sketch, seqs):
    ex = explain_sequences(sketch, seqs)
    t = core.sequence_table(ex)
    assert list(t.columns[:4]) == ["row", "seq_id", "sequence", "prediction"]
    assert {"group", "score", "top SHAP", "strongest interaction", "|strongest interaction|"} <= set(t.columns)
    np.testing.assert_allclose(t["prediction"], sketch.predict(seqs.X))
    # the first entry of "top SHAP" is the largest |SHAP| of the sequence, 1-based, with its letter
    r = 5
    i = int(np.argmax(np.abs(ex.shap[r])))
    assert t["top SHAP"][r].startswith(f"{seqs.sequences[r][i]}{i + 1} {ex.shap[r, i]:+.3g}")
    inter = ex.interactions
    cols = np.flatnonzero(inter.orders >= 2)
    assert t["|strongest interaction|"][r] == pytest.approx(np.abs(inter.values[r, cols]).max())


def test_filter_table_substring_and_numeric():
    df = pd.DataFrame({"row": [0, 1, 2], "seq_id": ["a1", "b2", "c3"], "sequence": ["ACGT", "TTTT", "GGAC"],
                       "prediction": [0.1, 0.5, 0.9]})
    assert list(core.filter_table(df, "")["seq_id"]) == ["a1", "b2", "c3"]
    assert list(core.filter_table(df, "ac")["seq_id"]) == ["a1", "c3"]
    assert list(core.filter_table(df, "prediction >= 0.5")["seq_id"]) == ["b2", "c3"]
    assert list(core.filter_table(df, "prediction<0.2")["seq_id"]) == ["a1"]
    assert list(core.filter_table(df, "1")["seq_id"]) == ["a1"]  # the hidden row column is not searched


def test_pair_matrix_matches_pairwise_and_higher_orders(sketch, seqs):
    ex = explain_sequences(sketch, seqs.subset(np.arange(20)))
    full = ex.interactions.pairwise()
    pi = core.pair_index(ex.interactions)
    for r in (0, 7, 19):
        np.testing.assert_array_equal(core.pair_matrix(ex.interactions, r, pi), full[r])
    sets3 = [s for s in ex.interactions.sets if len(s) == 3]
    if sets3:
        a, b = sets3[0][0] + 1, sets3[0][1] + 1
        ho = core.higher_order_with_pair(ex.interactions, 0, a, b, k=100)
        assert all(a in p and b in p and len(p) >= 3 for p in ho["positions"])


def test_sequence_top_is_one_sequence(sketch, seqs):
    ex = explain_sequences(sketch, seqs.subset(np.arange(5)))
    t = core.sequence_top(ex.interactions, 3, k=5)
    assert "seq" not in t.columns and len(t) <= 5
    assert (t["value"].abs().diff().dropna() <= 1e-15).all()


def test_format_duration():
    assert core.format_duration(0.42) == "0.4 s"
    assert core.format_duration(0.001) == "< 0.1 s" and core.format_duration(0) == "0.0 s"
    assert core.format_duration(42) == "42 s"
    assert core.format_duration(190) == "3 min 10 s"
    assert core.format_duration(7500) == "2 h 05 min"
    assert core.format_duration(None) == core.format_duration(float("inf")) == "unknown"


def test_workspace_dir_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SHAPZERO_WORKSPACE", str(tmp_path / "ws"))
    assert core.workspace_dir() == tmp_path / "ws" and (tmp_path / "ws").is_dir()


# ---------------------------------------------------------------------------------------------- jobs
def _wait(rec: jobs.JobRecord) -> None:
    rec.thread.join(10)
    assert rec.finished_


def test_job_reports_progress_rate_and_result():
    gate = threading.Event()

    def work(rec):
        rec.progress("query", 0, 100, "start")
        time.sleep(0.05)
        rec.progress("query", 50, 100, "half")
        gate.wait(5)
        rec.progress("query", 100, 100, "all")
        return "sketch"

    rec = jobs.start_job("test", work)
    time.sleep(0.1)
    s = rec.snapshot()
    assert s["status"] == "running" and s["query_done"] == 50 and s["rate"] > 0 and s["eta"] > 0
    gate.set()
    _wait(rec)
    assert rec.status == "done" and rec.result == "sketch" and rec.snapshot()["eta"] == 0.0
    assert jobs.get_job(rec.id) is rec and rec in jobs.list_jobs()


def test_job_cancel_and_failure():
    def cancellable(rec):
        while True:
            rec.cancel_token.raise_if_cancelled("the test job")
            time.sleep(0.01)

    rec = jobs.start_job("cancel me", cancellable)
    rec.cancel()
    _wait(rec)
    assert rec.status == "cancelled"

    def broken(rec):
        raise ValueError("n must be 26")

    rec = jobs.start_job("broken", broken)
    _wait(rec)
    assert rec.status == "failed" and rec.error == "n must be 26" and "Traceback" in rec.info["traceback"]
    assert jobs.get_job("nope") is None and jobs.get_job(None) is None



def test_drop_zero_cells_keeps_the_nonzero_cells_and_paints_the_diagonal():
    from shapzero_core.figures import interaction_heatmap_plotly
    from studio_ui.widgets import drop_zero_cells

    M = np.zeros((6, 6))
    M[1, 4] = M[4, 1] = 0.5
    M[0, 2] = M[2, 0] = -0.2
    fig = drop_zero_cells(interaction_heatmap_plotly(M))
    cells, diag = fig.data
    assert sorted(zip(cells.y, cells.x, strict=True)) == [(1, 3), (2, 5), (3, 1), (5, 2)]  # 1-based
    assert sorted(cells.marker.color) == [-0.2, -0.2, 0.5, 0.5]
    assert [list(r[:2]) for r in cells.customdata] == [[i, j] for i, j in zip(cells.y, cells.x, strict=True)]
    assert list(diag.x) == list(diag.y) == [1, 2, 3, 4, 5, 6]
    assert fig.layout.plot_bgcolor == "#F7F7F7"


def test_merge_logo_shapes_keeps_every_letter_outline_in_one_path_per_colour():
    from shapzero_core import DNA
    from shapzero_core.figures import letter_colors, logo_plotly
    from studio_ui.widgets import merge_logo_shapes

    M = pd.DataFrame(np.random.default_rng(0).normal(size=(12, 4)), columns=list("ACGT"), index=range(1, 13))
    fig = logo_plotly(M)
    before = {}
    for sh in fig.layout.shapes:
        before.setdefault(sh.fillcolor, []).append(sh.path)
    merge_logo_shapes(fig)
    assert len(fig.layout.shapes) == 4
    for sh in fig.layout.shapes:
        assert sh.path == " ".join(before[sh.fillcolor])
    assert {sh.fillcolor for sh in fig.layout.shapes} == set(letter_colors(DNA).values())
    assert merge_logo_shapes(fig).layout.shapes == fig.layout.shapes  # idempotent


def test_chart_titles_sit_below_the_toolbar_row():
    """The title is anchored just above the plot area and the top margin holds the toolbar row plus the title
    (the toolbar drew over titles that started at the top of the chart)."""
    import numpy as np
    import pandas as pd

    from shapzero_core.figures import interaction_heatmap_plotly, logo_plotly
    from studio_ui.widgets import TOOLBAR_PX, clear_of_toolbar

    mat = pd.DataFrame(np.ones((5, 4)), columns=list("ACGT"))
    for fig in (logo_plotly(mat, title="Mean SHAP of 2,001 sequences"),
                interaction_heatmap_plotly(np.eye(5), title="Pairwise<br>interactions")):
        clear_of_toolbar(fig)
        lines = fig.layout.title.text.count("<br>") + 1
        assert fig.layout.title.yref == "paper" and fig.layout.title.yanchor == "bottom"
        assert fig.layout.margin.t >= TOOLBAR_PX + 20 * lines
    untitled = logo_plotly(mat)
    t0 = untitled.layout.margin.t
    assert clear_of_toolbar(untitled).layout.margin.t == t0


def test_a_table_is_built_once_for_both_formats_and_the_zip_keeps_the_names():
    import io
    import zipfile

    import pandas as pd

    from studio_ui import exports

    calls = []

    def frame():
        calls.append(1)
        return pd.DataFrame({"seq_id": ["a", "b"], "value": [0.75, -1.0]})

    ds = exports.table_downloads("t", frame)
    z = zipfile.ZipFile(io.BytesIO(exports.zip_downloads([("tables", d) for d in ds])))
    assert sorted(z.namelist()) == ["shapzero_export/tables/t.csv", "shapzero_export/tables/t.parquet"]
    assert len(calls) == 1
    assert z.read("shapzero_export/tables/t.csv") == ds[0].make()  # same bytes as the single button
    assert len(calls) == 2  # let go after both formats: a later click builds it again
    with pytest.raises(ValueError, match="two downloads write"):
        exports.zip_downloads([("tables", ds[0]), ("tables", ds[0])])
