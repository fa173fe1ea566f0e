"""Sketch-report figures: data on the axes, identity line, orders and energy shares; export formats."""

from __future__ import annotations

import numpy as np
import pytest

from shapzero_core.figures import save_figure
from shapzero_core.report_figures import (
    order_table,
    orders_matplotlib,
    orders_plotly,
    quality_scatter_matplotlib,
    quality_scatter_plotly,
)


def test_quality_scatter_plotly_has_points_identity_line_and_r2():
    t, p = [0.0, 1.0, 2.0], [0.1, 0.9, 2.2]
    fig = quality_scatter_plotly(t, p, r2=0.9876)
    line, pts = fig.data
    assert list(pts.x) == t and list(pts.y) == p
    assert line.x[0] == line.y[0] and line.x[1] == line.y[1]  # y = x
    assert line.x[0] <= 0.0 and line.x[1] >= 2.2
    assert "R² = 0.9876" in fig.layout.title.text and "N=3" in fig.layout.title.text


def test_quality_scatter_rejects_unequal_lengths():
    with pytest.raises(ValueError, match="y_true has 2 values but y_pred has 3"):
        quality_scatter_plotly([1, 2], [1, 2, 3])


def test_order_table_skips_the_mean_and_accepts_string_keys():
    t = order_table({"0": 1, "1": 4, "2": 6}, {"0": 9.0, "1": 3.0, "2": 1.0})
    assert t["order"] == [1, 2]
    assert t["coefficients"] == [4, 6]
    assert np.allclose(t["energy_share"], [0.75, 0.25])
    assert order_table({}, {})["order"] == []


def test_orders_plotly_bars():
    fig = orders_plotly({1: 4, 3: 2}, {1: 1.0, 3: 3.0})
    assert list(fig.data[0].x) == [1, 3] and list(fig.data[0].y) == [4, 2]
    assert np.allclose(fig.data[1].y, [0.25, 0.75])


def test_report_figures_export_as_svg_pdf_png(tmp_path):
    paths = save_figure(quality_scatter_matplotlib([0, 1, 2], [0, 1.1, 1.9], r2=0.99), tmp_path / "q")
    paths += save_figure(orders_matplotlib({1: 3, 2: 5}, {1: 1.0, 2: 2.0}), tmp_path / "o")
    heads = {p.suffix: p.read_bytes()[:8] for p in paths}
    assert heads[".png"].startswith(b"\x89PNG") and heads[".pdf"].startswith(b"%PDF")
    svg = (tmp_path / "q.svg").read_text()
    assert "R² = 0.9900" in svg  # editable text
