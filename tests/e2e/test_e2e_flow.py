"""The whole path a biologist takes, in Chromium: home -> "Try the demo" (guide-RNA demo model, quick sketch
watched through the live progress) -> the model (its output named: the unit of every axis) and the sketch's
quality report -> upload 1,000 sequences plus two bad rows (a protein, named as one) on the Sequences page ->
select one in the table -> its SHAP logo -> click a cell of its interaction map (outlined) and see the letter
pairs -> every interaction index, the orders slider spanning each one's orders -> motifs -> download SVG, PNG,
CSV and the zip of everything on the Export page and check the files.
Screenshots: ``test-output/e2e/flow_<step>.png``."""

from __future__ import annotations

import io
import re
import struct
import xml.etree.ElementTree as ET
import zipfile

import pandas as pd
import pytest
from e2e_ui import (
    DEMO_READY,
    EXPORT_CSV_KEY,
    EXPORT_FIGURES_HEADER,
    EXPORT_PNG_KEY,
    EXPORT_SVG_KEY,
    HEAT_SEQ_KEY,
    LOGO_ONE_KEY,
    LOGO_ONE_TITLE,
    MODEL_PREDICTION,
    OUT,
    PAGES,
    PAIR_I_KEY,
    PAIR_J_KEY,
    PAIR_TABLE_CAPTION,
    PROGRESS_METRIC,
    SELECTED_METRIC,
    SEQ_SUMMARY,
    SEQ_TABLE_KEY_PREFIX,
    SEQ_UPLOAD_KEY,
    SKETCH_REPORT,
    TRY_DEMO,
    assert_no_exception,
    go,
    key_css,
    nav_link,
    settled,
    shot,
)
from playwright.sync_api import expect

from shapzero_core import DNA
from shapzero_core.sequences import random_sequences, to_fasta

pytestmark = pytest.mark.e2e

N_UPLOAD = 1000
DEMO_N = 26  # the guide-RNA demo's sequence length
ROW = 2  # the table row the test selects (0-based) -> id "e2e_3"
UNIT = "editing efficiency"  # what the model's output is, typed on the Model page


def _png_dpi(data: bytes) -> tuple[float, float]:
    """Pixels per inch from a PNG's pHYs chunk (KeyError if it has none)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG (magic bytes)"
    pos = 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        if kind == b"pHYs":
            x, y, unit = struct.unpack(">IIB", data[pos + 8 : pos + 17])
            assert unit == 1, "pHYs unit is not metres"
            return x * 0.0254, y * 0.0254
        if kind == b"IEND":
            break
        pos += 12 + length
    raise KeyError("the PNG has no pHYs chunk (no dpi)")


def _download(page, key: str):
    with page.expect_download(timeout=60_000) as dl:
        page.locator(key_css(key)).get_by_role("button").click()
    d = dl.value
    path = OUT / f"flow_download_{d.suggested_filename}"  # kept for a look at the files
    d.save_as(path)
    return d.suggested_filename, path.read_bytes()


def test_demo_to_export(server, page, tmp_path):
    # 1,000 sequences to upload, with ids the demo does not use
    up = random_sequences(N_UPLOAD, DEMO_N, DNA, seed=7)
    fasta = tmp_path / "guides_1000.fasta"
    bad = ">bad_protein\nMKTAYIAKQRQISFVKSHFSRQLEEQ\n>bad_ambiguous\nACGTACGTNNACGTACGTACGTACGG\n"
    fasta.write_text(to_fasta(up).replace(">rand_", ">e2e_") + bad)
    ids = [i.replace("rand_", "e2e_") for i in up.ids]

    # --- home, then the sidebar links point at the URL paths the deep-link tests use
    page.goto(server.url)
    settled(page, PAGES["Home"].title, grace=0.3)
    for label, info in PAGES.items():
        href = nav_link(page, label).evaluate("e => e.href")  # resolved against the home page's URL
        assert href.rstrip("/") == f"{server.url}/{info.url_path}".rstrip("/"), (
            f"the sidebar link {label!r} points at {href}, tests/e2e/e2e_ui.py PAGES says /{info.url_path}")
    shot(page, "flow_1_home")

    # --- Try the demo: live progress, then ready
    page.get_by_role("button", name=TRY_DEMO).click()
    progress = page.get_by_text(PROGRESS_METRIC)
    ready = page.get_by_text(DEMO_READY)
    progress.or_(ready).first.wait_for(timeout=60_000)
    saw_progress = progress.count() > 0
    if saw_progress:
        shot(page, "flow_2_demo_progress")
    ready.wait_for(timeout=150_000)
    settled(page, PAGES["Home"].title)
    assert_no_exception(page, "home after Try the demo")
    shot(page, "flow_3_demo_ready")
    assert saw_progress, "the quick sketch finished without ever showing the live progress panel"

    # --- the model it loaded (n, alphabet, layout, throughput, a test prediction)
    go(page, "Model")
    page.get_by_text(MODEL_PREDICTION).first.wait_for()
    unit = page.locator(f"{key_css('model_output_unit')} input")
    unit.fill(UNIT)
    unit.press("Enter")
    settled(page, PAGES["Model"].title)
    assert_no_exception(page, "Model page with the demo model")
    shot(page, "flow_4a_model")

    # --- the sketch's quality report
    go(page, "Sketch")
    page.get_by_text(SKETCH_REPORT).first.wait_for()
    assert_no_exception(page, "Sketch page after the demo sketch")
    shot(page, "flow_4_sketch_report")

    # --- upload 1,000 sequences
    go(page, "Sequences")
    page.locator(f"{key_css(SEQ_UPLOAD_KEY)} input[type=file]").set_input_files(str(fasta))
    page.get_by_text(SEQ_SUMMARY.format(N=N_UPLOAD, n=DEMO_N)).wait_for(timeout=60_000)
    settled(page, PAGES["Sequences"].title)
    assert_no_exception(page, "Sequences page after the upload")
    rejected = page.locator(key_css("rejected_table"))
    expect(rejected.locator("td").filter(has_text="looks like a protein sequence")).to_have_count(1, timeout=10_000)
    expect(rejected.locator("td").filter(has_text="IUPAC ambiguity code 'N'")).to_have_count(1)
    table = page.locator(f'[class*="st-key-{SEQ_TABLE_KEY_PREFIX}"]').first
    table.wait_for()
    shot(page, "flow_5_sequences_uploaded")

    # --- select a row of the table (click its row marker on the left of the canvas grid)
    box = table.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 35 * ROW + 17)
    metric = page.locator('[data-testid="stMetric"]', has_text=SELECTED_METRIC)
    page.wait_for_function("([sel, want]) => { const m = document.querySelectorAll(sel); "
                           "return [...m].some(e => e.innerText.includes(want)); }",
                           arg=['[data-testid="stMetric"]', ids[ROW]], timeout=30_000)
    settled(page, PAGES["Sequences"].title)
    assert ids[ROW] in metric.inner_text()
    side = page.locator('[data-testid="stSidebarUserContent"]').inner_text()
    side = side[side.find("Model:"):]  # the session summary under the page links
    # the sidebar is drawn before the page body changes the selection; the page frame redraws it
    assert f"Selected: {ids[ROW]}" in side, side
    shot(page, "flow_6_sequence_selected")

    # --- its SHAP logo
    go(page, "Logos")
    logo = page.locator(key_css(LOGO_ONE_KEY))
    logo.locator(".gtitle", has_text=LOGO_ONE_TITLE.format(sid=ids[ROW])).wait_for()
    assert logo.locator(".main-svg").count() > 0
    assert up.sequences[ROW] in page.locator('[data-testid="stMain"]').inner_text()
    expect(logo.locator(".ytitle")).to_contain_text(f"({UNIT})")  # the unit named on the Model page
    assert_no_exception(page, "Logos page")
    shot(page, "flow_7_logos")

    # --- Interactions: click a cell of the selected sequence's map
    go(page, "Interactions")
    heat = page.locator(key_css(HEAT_SEQ_KEY))
    heat.locator(".gtitle", has_text=ids[ROW]).wait_for()
    assert_no_exception(page, "Interactions page")
    shot(page, "flow_8_interactions")

    def pair_inputs() -> tuple[int, int]:
        return (int(page.locator(f"{key_css(PAIR_I_KEY)} input").input_value()),
                int(page.locator(f"{key_css(PAIR_J_KEY)} input").input_value()))

    before = pair_inputs()
    points = heat.locator(".scatterlayer .trace").first.locator("path.point")
    n_points = points.count()
    assert n_points > 0, "the selected sequence's interaction map has no cells"
    cells = points.evaluate_all("els => els.map(e => [e.__data__.x, e.__data__.y])")
    k = next((k for k, (x, y) in enumerate(cells) if x != y and tuple(sorted((x, y))) != tuple(sorted(before))), 0)
    x, y = (round(v) for v in cells[k])
    pb = points.nth(k).bounding_box()
    assert pb is not None
    page.mouse.click(pb["x"] + pb["width"] / 2, pb["y"] + pb["height"] / 2)
    a, b = sorted((x, y))
    try:
        page.get_by_text(PAIR_TABLE_CAPTION.format(a=a, b=b)).wait_for(timeout=30_000)
    except Exception:
        shot(page, "flow_8_click_failed")
        raise
    settled(page, PAGES["Interactions"].title)
    assert sorted(pair_inputs()) == [a, b], f"clicked cell ({y}, {x}) but the positions show {pair_inputs()}"
    seq = up.sequences[ROW]
    main = page.locator('[data-testid="stMain"]').inner_text()
    want = f"{seq[a - 1]} at {a} and {seq[b - 1]} at {b}"
    assert want in main, f"the letter pair {want!r} of {ids[ROW]} is not shown after the click"
    grid = page.locator('[data-testid="stColumn"]', has_text=PAIR_TABLE_CAPTION.format(a=a, b=b)).locator(
        '[data-testid="stDataFrame"]')
    assert grid.count() == 1, "no table of the letter pairs behind the clicked cell"
    # the canvas grid's accessibility table (updated a moment after the grid is drawn)
    expect(grid.locator("th").first).to_have_text(f"letters at {a},{b}", timeout=10_000)
    heads = grid.locator("th").all_text_contents()
    letters = grid.locator("td").all_text_contents()[:: len(heads)]
    assert letters and all(re.fullmatch("[ACGT]{2}", t) for t in letters), letters
    assert seq[a - 1] + seq[b - 1] in letters, f"{ids[ROW]}'s letters are not among the pairs {letters}"
    marks = page.locator(f"{key_css(HEAT_SEQ_KEY)}, {key_css('heat_all')}").locator(".scatterlayer .trace")
    assert marks.count() >= 6, "the clicked cell is not outlined on both maps (cells, diagonal, outline each)"
    assert_no_exception(page, "Interactions page after the click")
    shot(page, "flow_9_interactions_clicked")

    # --- every interaction index; after a fixed-order index the orders slider spans Möbius's orders again
    for label in ("Shapley-Taylor (STII) of order ℓ", "Faith-Shap of order ℓ", "Shapley interaction index (SII)",
                  "Banzhaf interaction index", "Möbius (all-order Faith-Shap)"):
        page.locator(f"{key_css('inter_index')} input[role=combobox]").click()
        page.get_by_role("option").filter(has_text=label).first.click()
        settled(page, PAGES["Interactions"].title)
        assert_no_exception(page, f"Interactions page, {label}")
        heat.locator(".gtitle", has_text=ids[ROW]).wait_for()
    slider = page.locator(key_css("top_orders_mobius_None"))
    if slider.count():  # (a range slider when the sketch has more than one order) it spans all of them
        end = slider.locator('input[type=range][aria-label$="end"]')
        assert end.get_attribute("value") == end.get_attribute("max"), (
            f"orders slider ends at option {end.get_attribute('value')} of {end.get_attribute('max')} after "
            "switching index: it does not span every order")
    expect(page.get_by_text("What does this mean?")).to_be_visible()
    # the top interactions as a bar chart: every label ("19,20 TT") whole, inside the chart
    page.locator(key_css("top_as_chart")).get_by_text("Show as a bar chart").click()
    bars = page.locator(key_css("top_chart"))
    bars.locator(".ytick text").first.wait_for(timeout=30_000)
    settled(page, PAGES["Interactions"].title)
    chart = bars.bounding_box()
    assert chart is not None
    for label in bars.locator(".ytick text").all():
        text = label.text_content() or ""  # an SVG <text>: no inner_text
        bb = label.bounding_box()
        assert bb is not None and bb["x"] >= chart["x"] - 0.5, f"bar label {text!r} is cut off"
        assert re.fullmatch(r"\d+(,\d+)+ [ACGT]+", text), text
    shot(page, "flow_9b_interactions_indices")

    # --- Motifs across the uploaded sequences: TF-MoDISco + TOMTOM in the background; the demo guides are
    # random sequences, so TF-MoDISco says how many seqlets it found (too few) or lists motifs with JASPAR matches
    go(page, "Motifs")
    assert_no_exception(page, "Motifs page")
    page.locator(key_css("motif_run")).get_by_role("button").click()
    main_area = page.locator('[data-testid="stMain"]')
    expect(main_area.get_by_text(re.compile(r"seqlets in 1,000 sequences|best JASPAR match"))).to_be_visible(
        timeout=240_000)
    assert_no_exception(page, "Motifs page after TF-MoDISco")
    shot(page, "flow_10a_motifs")

    # --- Export: SVG, PNG, CSV
    go(page, "Export", timeout=120)
    page.get_by_role("heading", name=EXPORT_FIGURES_HEADER).wait_for()
    assert_no_exception(page, "Export page")
    shot(page, "flow_10_export")

    name, svg = _download(page, EXPORT_SVG_KEY)
    assert name.endswith(".svg")
    root = ET.fromstring(svg)  # parses as XML
    texts = [t for t in root.iter() if t.tag.rsplit("}", 1)[-1] == "text"]
    assert texts, "the SVG has no <text> elements (text drawn as paths is not editable)"
    assert any(ids[ROW] in "".join(t.itertext()) for t in texts), "the selected id is not in the SVG's text"

    name, png = _download(page, EXPORT_PNG_KEY)
    assert name.endswith(".png") and png[:8] == b"\x89PNG\r\n\x1a\n"
    dpi = _png_dpi(png)
    assert all(abs(d - 300) < 1 for d in dpi), f"PNG at {dpi} dpi, not 300"

    name, csv = _download(page, EXPORT_CSV_KEY)
    assert name.endswith(".csv")
    df = pd.read_csv(io.BytesIO(csv))
    assert {"seq_id", "position"} <= set(df.columns), list(df.columns)
    assert df["position"].min() == 1 and df["position"].max() == DEMO_N, "positions are not 1-based 1..n"
    assert set(df["seq_id"]) == set(ids), "the CSV's ids are not the uploaded file's"
    assert len(df) == N_UPLOAD * DEMO_N

    # the zip of everything: the same files under the same names as the single buttons
    name, zipped = _download(page, "dl_all_zip")
    z = zipfile.ZipFile(io.BytesIO(zipped))
    names = set(z.namelist())
    assert {"shapzero_export/figures/logo_selected.svg", "shapzero_export/tables/sequences.csv",
            "shapzero_export/sketch.npz", "shapzero_export/run.json"} <= names, sorted(names)
    assert z.read("shapzero_export/tables/shap_long.csv") == csv, "the zip's table differs from its button's"
    assert not page.js_errors, f"uncaught JavaScript errors: {page.js_errors}"
    shot(page, "flow_11_export_downloaded")
