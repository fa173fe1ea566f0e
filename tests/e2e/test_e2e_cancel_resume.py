"""A sketch of a slow model, cancelled half-way and resumed, in the real browser: an Open Inference Protocol v2
server on loopback (each request takes 1.5 s) connected on the Model page, a q-SFT sketch started on the Sketch
page and cancelled while it queries; the page says how far it got and offers the unfinished run's plan; Start
resumes it and queries only the blocks that were not done (the server counts the sequences it is sent)."""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from e2e_ui import (
    MODEL_PREDICTION,
    PAGES,
    PROGRESS_METRIC,
    SKETCH_REPORT,
    assert_no_exception,
    go,
    key_css,
    settled,
    shot,
)
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

N = 12
DELAY = 1.5  # seconds per request


class _Counts:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sequences = 0


def _server(counts: _Counts):
    class H(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def _send(self, obj) -> None:
            body = json.dumps(obj).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._send({"name": "slowgc", "versions": ["1"], "platform": "test",
                        "inputs": [{"name": "seq", "datatype": "INT64", "shape": [-1, N]}],
                        "outputs": [{"name": "score", "datatype": "FP64", "shape": [-1]}]})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            inp = body["inputs"][0]
            X = np.asarray(inp["data"]).reshape(inp["shape"])
            time.sleep(DELAY)
            with counts.lock:
                counts.sequences += X.shape[0]
            gc = ((X == 1) | (X == 2)).astype(float)
            y = gc.sum(1) + 2.0 * gc[:, 0] * gc[:, 1]  # GC count plus one pairwise term
            self._send({"model_name": "slowgc", "outputs": [{"name": "score", "datatype": "FP64",
                                                             "shape": [X.shape[0]], "data": y.tolist()}]})

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return httpd


def _metric(page, label: str) -> str:
    return page.locator('[data-testid="stMetric"]', has_text=label).locator(
        '[data-testid="stMetricValue"]').inner_text()


def test_cancel_a_sketch_of_a_slow_server_and_resume_it(server, page):
    counts = _Counts()
    httpd = _server(counts)
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/v2/models/slowgc"
        page.goto(f"{server.url}/{PAGES['Model'].url_path}")
        settled(page, PAGES["Model"].title)
        page.locator(key_css("model_source")).get_by_text("Inference server").click()
        settled(page, PAGES["Model"].title)
        box = page.locator(f"{key_css('model_server_url')} input")
        box.fill(url)
        box.press("Enter")
        settled(page, PAGES["Model"].title)
        page.locator(key_css("model_server_load")).get_by_role("button").click()
        page.get_by_text(MODEL_PREDICTION).first.wait_for(timeout=90_000)
        settled(page, PAGES["Model"].title, timeout=90)
        assert_no_exception(page, "Model page with the server model")

        go(page, "Sketch", timeout=90)
        page.locator(key_css("sketch_method")).get_by_text("Sparse only (q-SFT)").click()
        settled(page, PAGES["Sketch"].title)
        budget = page.locator(f"{key_css('sketch_budget')} input")
        budget.fill("7000")
        budget.press("Enter")
        settled(page, PAGES["Sketch"].title)
        page.locator(key_css("sketch_trust_check")).get_by_text("Trust check after sketching").click()
        settled(page, PAGES["Sketch"].title)
        planned = int(_metric(page, "Model queries").replace(",", ""))
        assert planned > 0, planned
        before = counts.sequences

        page.locator(key_css("sketch_start")).get_by_role("button").click()
        page.get_by_text(PROGRESS_METRIC).first.wait_for(timeout=30_000)
        t0 = time.time()
        while counts.sequences == before and time.time() - t0 < 30:  # the first answers are in
            time.sleep(0.05)
        page.locator(key_css("sketch_cancel")).get_by_role("button").click()
        main = page.locator('[data-testid="stMain"]')
        expect(main.get_by_text("The sketch was cancelled after", exact=False)).to_be_visible(timeout=60_000)
        settled(page, PAGES["Sketch"].title)
        banner = main.get_by_text("An unfinished sketch of this model is in the workspace cache", exact=False)
        expect(banner).to_be_visible(timeout=30_000)
        text = banner.inner_text()
        train, test = (int(v.replace(",", "")) for v in re.search(
            r"a plan of ([\d,]+) training \+ ([\d,]+) held-out queries", text).groups())
        assert train + test == planned, text  # the plan of the run, not the number in the budget box
        done, total = map(int, re.search(r"(\d+) of (\d+) query blocks done", text).groups())
        assert 0 < done < total, text
        first = counts.sequences - before
        assert 0 < first < planned
        assert_no_exception(page, "Sketch page after Cancel")
        shot(page, "cancel_resume_1_cancelled")

        page.locator(key_css("sketch_resume_0")).get_by_role("button").click()
        settled(page, PAGES["Sketch"].title)
        page.locator(key_css("sketch_start")).get_by_role("button").click()
        page.get_by_text(SKETCH_REPORT).first.wait_for(timeout=120_000)
        settled(page, PAGES["Sketch"].title)
        assert_no_exception(page, "Sketch page after the resumed run")
        second = counts.sequences - before - first
        # the resumed run queried only what was missing: together, the plan once (a block whose answers came
        # back after the cancel is cached too, so never more than the plan)
        assert 0 < second < planned and first + second <= planned + 1024, (first, second, planned)
        side = page.locator('[data-testid="stSidebar"]')
        expect(side.get_by_text("Model:", exact=False)).to_have_count(1)  # the summary drawn once after the run
        r2 = float(_metric(page, "Held-out R²"))
        assert r2 > 0.99, r2  # GC count plus one pair: exact for q-SFT
        shot(page, "cancel_resume_2_resumed")
    finally:
        httpd.shutdown()
        httpd.server_close()
