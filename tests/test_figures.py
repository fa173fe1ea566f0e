"""Figures: data and axes of the plotly and matplotlib versions, and the export formats (not pixels)."""

from __future__ import annotations

import itertools
import re

import matplotlib
import numpy as np
import pandas as pd
import pytest

from shapzero_core import DNA, PROTEIN
from shapzero_core.figures import (
    FONT_FAMILY,
    interaction_heatmap_matplotlib,
    interaction_heatmap_plotly,
    letter_colors,
    logo_matplotlib,
    logo_plotly,
    pwm_matrix,
    saliency_matrix,
    save_figure,
    top_interactions_matplotlib,
    top_interactions_plotly,
)

matplotlib.use("Agg")


def test_saliency_matrix_and_pwm_matrix():
    m = saliency_matrix(np.array([0.5, -1.0, 0.25]), "GAT", DNA)
    assert list(m.index) == [1, 2, 3] and list(m.columns) == list("ACGT")
    assert m.loc[1, "G"] == 0.5 and m.loc[2, "A"] == -1.0 and m.loc[3, "T"] == 0.25
    assert np.count_nonzero(m.to_numpy()) == 3
    pw = pwm_matrix(np.array([[0, 0, 1, 0], [0.25] * 4]), DNA)
    np.testing.assert_allclose(pw.sum(axis=1).to_numpy(), [2.0, 0.0])  # 2 bits for a fixed letter, 0 for uniform
    with pytest.raises(ValueError, match="shape"):
        pwm_matrix(np.ones((3, 5)), DNA)


def test_plotly_logo_glyphs_stack_and_hover():
    M = pd.DataFrame([[0.5, 0.2, -0.3, 0.0], [0.0, 0.0, 0.0, 1.0]], columns=list("ACGT"), index=[1, 2])
    fig = logo_plotly(M, title="t")
    shapes = fig.layout.shapes
    assert len(shapes) == 4 and all(s.type == "path" for s in shapes)
    colors = letter_colors(DNA)
    hover = fig.data[0]
    boxes = {(int(c[0]), c[1]): float(c[2]) for c in hover.customdata}
    assert boxes == {(1, "A"): 0.5, (1, "C"): 0.2, (1, "G"): -0.3, (2, "T"): 1.0}
    # glyph of A at position 1 sits on top of C (big on top): its y range is [0.2, 0.7]
    fills = [s.fillcolor for s in shapes]
    a = shapes[fills.index(colors["A"])]
    ys = [float(v) for v in re.findall(r"[-\d.e]+,([-\d.e]+)", a.path)]
    xs = [float(v) for v in re.findall(r"([-\d.e]+),[-\d.e]+", a.path)]
    assert min(ys) == pytest.approx(0.2, abs=1e-6) and max(ys) == pytest.approx(0.7, abs=1e-6)
    assert 0.5 < min(xs) < max(xs) < 1.5
    g = shapes[fills.index(colors["G"])]
    gy = [float(v) for v in re.findall(r"[-\d.e]+,([-\d.e]+)", g.path)]
    assert min(gy) == pytest.approx(-0.3, abs=1e-6) and max(gy) == pytest.approx(0, abs=1e-6)
    assert fig.layout.xaxis.tickvals[0] == 1 and fig.layout.xaxis.title.text == "position"
    assert FONT_FAMILY in fig.layout.template.layout.font.family


def test_matplotlib_logo_axes_match():
    M = saliency_matrix(np.linspace(-1, 1, 12), "ACGTACGTACGT", DNA)
    fig = logo_matplotlib(M, title="one sequence")
    ax = fig.axes[0]
    lo, hi = ax.get_xlim()
    assert lo < 1 < 12 < hi and ax.get_xticks()[0] == 1
    assert ax.get_xlabel() == "position" and ax.get_ylabel() == "SHAP value"
    ylo, yhi = ax.get_ylim()
    assert ylo <= -1 and yhi >= 1
    assert len(ax.patches) >= 11  # one glyph per nonzero position


def test_heatmap_is_a_square_marker_scatter_with_1_based_customdata():
    M = np.zeros((5, 5))
    M[1, 3] = M[3, 1] = 2.0
    M[0, 4] = M[4, 0] = -1.0
    labels = [[f"{i}{j}" for j in range(5)] for i in range(5)]
    fig = interaction_heatmap_plotly(M, letters=labels)
    tr = fig.data[0]
    assert tr.type == "scatter" and tr.marker.symbol == "square"
    assert len(tr.x) == 20  # the diagonal is not drawn
    k = next(i for i in range(20) if tr.x[i] == 4 and tr.y[i] == 2)
    assert tr.marker.color[k] == 2.0 and list(tr.customdata[k][:3]) == [2, 4, "13"]
    assert tr.marker.cmin == -2.0 and tr.marker.cmax == 2.0
    assert fig.layout.yaxis.range[0] > fig.layout.yaxis.range[1]  # matrix orientation: row 1 on top
    mfig = interaction_heatmap_matplotlib(M)
    im = mfig.axes[0].images[0]
    assert im.get_extent() == [0.5, 5.5, 5.5, 0.5] and im.get_clim() == (-2.0, 2.0)
    with pytest.raises(ValueError, match="square"):
        interaction_heatmap_plotly(np.zeros((2, 3)))


def test_top_interaction_bars():
    t = pd.DataFrame({"positions": [(3, 9), (1, 2, 5)], "letters": ["GC", "AAT"], "mean": [0.7, -0.2]})
    fig = top_interactions_plotly(t)
    bar = fig.data[0]
    assert list(bar.y) == ["1,2,5 AAT", "3,9 GC"] and list(bar.x) == [-0.2, 0.7]
    mfig = top_interactions_matplotlib(t)
    labels = [x.get_text() for x in mfig.axes[0].get_yticklabels()]
    assert labels == ["1,2,5 AAT", "3,9 GC"]
    with pytest.raises(ValueError, match="columns"):
        top_interactions_plotly(pd.DataFrame({"x": [1]}))


def test_export_formats_have_editable_text_truetype_and_300_dpi(tmp_path):
    fig = logo_matplotlib(saliency_matrix(np.ones(4), "ACGT", DNA), title="Editable title", width=4, height=2)
    paths = save_figure(fig, tmp_path / "logo.svg")
    assert [p.suffix for p in paths] == [".svg", ".pdf", ".png"]
    svg = (tmp_path / "logo.svg").read_text()
    assert "<text" in svg and "Editable title" in svg and FONT_FAMILY in svg
    pdf = (tmp_path / "logo.pdf").read_bytes()
    assert (b"/TrueType" in pdf or b"/CIDFontType2" in pdf) and b"/FontFile2" in pdf and b"/Type3" not in pdf
    from PIL import Image

    with Image.open(tmp_path / "logo.png") as im:
        dpi = im.info.get("dpi")
        assert dpi is not None and round(dpi[0]) == 300
    with pytest.raises(ValueError, match="unknown figure format"):
        save_figure(logo_matplotlib(saliency_matrix(np.ones(4), "ACGT", DNA)), tmp_path / "x", formats=["jpg"])


def test_colors_are_shared_and_cover_proteins():
    c = letter_colors(DNA)
    assert c["A"] != c["C"] != c["G"] != c["T"]
    p = letter_colors(PROTEIN)
    assert set(p) == set(PROTEIN.letters)
    with pytest.raises(ValueError, match="finite"):
        logo_plotly(pd.DataFrame([[np.nan, 1.0]], columns=["A", "C"], index=[1]))


def test_pair_labels_feed_the_heatmap():
    from shapzero_core.figures import pair_labels

    lab = pair_labels("ACG")
    assert lab[0][2] == "AG" and lab[2][0] == "GA" and len(lab) == 3
    fig = interaction_heatmap_plotly(np.ones((3, 3)), letters=lab)
    assert {tuple(c[:3]) for c in fig.data[0].customdata} >= {(1, 3, "AG"), (3, 1, "GA")}


def test_split_logo_draws_positive_up_and_negative_down():
    pos = pd.DataFrame([[0.5, 0.0, 0.2, 0.0]], columns=list("ACGT"), index=[1])
    neg = pd.DataFrame([[-0.3, 0.0, 0.0, -0.1]], columns=list("ACGT"), index=[1])
    fig = logo_plotly(pos, below=neg)
    boxes = {(c[1], float(c[2])) for c in fig.data[0].customdata}
    assert boxes == {("A", 0.5), ("G", 0.2), ("A", -0.3), ("T", -0.1)}
    assert len(fig.layout.shapes) == 4 and fig.layout.yaxis.range[0] < -0.4
    mfig = logo_matplotlib(pos, below=neg)
    lo, hi = mfig.axes[0].get_ylim()
    assert lo <= -0.4 and hi >= 0.7
    with pytest.raises(ValueError, match="<= 0"):
        logo_plotly(pos, below=pos)


def test_logo_error_whiskers_in_both_backends(tmp_path):
    M = saliency_matrix(np.array([0.5, -1.0, 0.25]), "GAT", DNA)
    err = np.array([0.1, 0.4, np.nan])
    fig = logo_plotly(M, errors=err)
    bars = [t for t in fig.data if t.name == "error bars"]
    assert len(bars) == 1
    np.testing.assert_allclose(bars[0].y, [0.5, -1.0, 0.25])  # at each position's net height
    np.testing.assert_allclose(bars[0].error_y.array, [0.1, 0.4, 0.0])  # NaN: no whisker
    lo, hi = fig.layout.yaxis.range
    assert lo < -1.4 and hi > 0.6  # the whiskers fit in the axis
    mfig = logo_matplotlib(M, errors=err)
    ax = mfig.axes[0]
    assert ax.get_ylim()[0] < -1.4
    assert any(type(c).__name__ == "LineCollection" for c in ax.collections)  # errorbar's vertical lines
    with pytest.raises(ValueError, match="one half-width per position"):
        logo_plotly(M, errors=np.ones(2))
    with pytest.raises(ValueError, match=">= 0"):
        logo_plotly(M, errors=-np.ones(3))


@pytest.mark.parametrize("n", [12, 26, 40, 60, 100])
def test_exported_heatmap_tick_labels_never_touch(n):
    """At n <= 100 the exported map's position labels are spaced so that none overlaps the next (they ran
    together at n = 40)."""
    from shapzero_core.figures import interaction_heatmap_matplotlib

    M = np.random.default_rng(n).normal(size=(n, n))
    fig = interaction_heatmap_matplotlib((M + M.T) / 2, title="map")
    fig.canvas.draw()
    ax = fig.axes[0]
    for axis, labels in (("x", ax.get_xticklabels()), ("y", ax.get_yticklabels())):
        assert labels[0].get_text() == "1" and len(labels) >= 5
        boxes = sorted((t.get_window_extent() for t in labels if t.get_text()),
                       key=lambda b: b.x0 if axis == "x" else b.y0)
        for a, b in itertools.pairwise(boxes):
            gap = b.x0 - a.x1 if axis == "x" else b.y0 - a.y1
            assert gap > 1, f"n={n}: {axis} tick labels touch ({a} / {b})"
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_maps_of_values_that_cannot_be_negative_use_a_sequential_scale():
    """Mean |value| maps run from 0 on a white-to-red scale; signed maps stay diverging about 0."""
    from shapzero_core.figures import (
        PLOTLY_DIVERGING,
        PLOTLY_SEQUENTIAL,
        interaction_heatmap_matplotlib,
        interaction_heatmap_plotly,
    )

    A = np.abs(np.random.default_rng(0).normal(size=(8, 8)))
    S = A - 0.5
    m = interaction_heatmap_plotly(A).data[0].marker
    assert (m.cmin, m.cmax) == (0.0, A[~np.eye(8, dtype=bool)].max())
    assert [list(c) for c in m.colorscale] == [list(c) for c in PLOTLY_SEQUENTIAL]
    m = interaction_heatmap_plotly(S).data[0].marker
    assert m.cmin == -m.cmax and [list(c) for c in m.colorscale] == [list(c) for c in PLOTLY_DIVERGING]
    assert interaction_heatmap_plotly(A, sequential=False).data[0].marker.cmin < 0
    im = interaction_heatmap_matplotlib(A, sequential=True).axes[0].images[0]
    assert im.get_clim() == (0.0, A[~np.eye(8, dtype=bool)].max())
    im = interaction_heatmap_matplotlib(S).axes[0].images[0]
    lo, hi = im.get_clim()
    assert lo == -hi
