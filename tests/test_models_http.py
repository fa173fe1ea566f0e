"""Model adapters, part 3: Open Inference Protocol v2 servers — a small server on 127.0.0.1 in a thread."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from shapzero_core.errors import ModelError
from shapzero_core.models import (
    LOOPBACK_HOSTS,
    HostNotAllowedError,
    HttpModel,
    check_host,
    configured_allowed_hosts,
    load_model,
)

pytestmark = pytest.mark.timeout(60)

N_LEN = 8
MODELS = {
    # name: (input datatype, input shape, output shape)
    "gc": ("INT64", [-1, N_LEN], [-1, 1]),
    "onehot": ("FP32", [-1, N_LEN, 4], [-1]),
    "strings": ("BYTES", [-1], [-1]),
    "flaky": ("INT64", [-1, N_LEN], [-1]),
    "dropper": ("INT64", [-1, N_LEN], [-1]),
    "bad": ("INT64", [-1, N_LEN], [-1]),
    "slow": ("INT64", [-1, N_LEN], [-1]),
    "nan": ("INT64", [-1, N_LEN], [-1]),
    "redirect": ("INT64", [-1, N_LEN], [-1]),
    "multi": ("INT64", [-1, N_LEN], [-1, 3]),
}


class State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.posts: dict[str, int] = {}
        self.in_flight = 0
        self.max_in_flight = 0


def gc_of_codes(X: np.ndarray) -> np.ndarray:
    return ((X == 1) | (X == 2)).sum(1).astype(float)


class Handler(BaseHTTPRequestHandler):
    state: State

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def _send(self, code: int, obj) -> None:
        body = json.dumps(obj).encode()
        self._done()  # the request is over before its answer leaves: the client may send the next at once
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            pass

    def _name(self) -> str | None:
        parts = self.path.strip("/").split("/")
        return parts[2] if len(parts) >= 3 and parts[:2] == ["v2", "models"] else None

    def do_GET(self) -> None:
        name = self._name()
        if name not in MODELS:
            self._send(404, {"error": f"model {name} not found"})
            return
        dt, ishape, oshape = MODELS[name]
        self._send(200, {"name": name, "versions": ["1"], "platform": "test",
                         "inputs": [{"name": "seq", "datatype": dt, "shape": ishape}],
                         "outputs": [{"name": "score", "datatype": "FP64", "shape": oshape}]})

    def do_POST(self) -> None:
        name = self._name()
        st = self.state
        with st.lock:
            st.posts[name] = st.posts.get(name, 0) + 1
            count = st.posts[name]
            st.in_flight += 1
            st.max_in_flight = max(st.max_in_flight, st.in_flight)
        self._counted = True
        try:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            time.sleep(0.01)  # let requests overlap
            self._answer(name, count, body)
        finally:
            self._done()

    def _done(self) -> None:
        if getattr(self, "_counted", False):
            self._counted = False
            with self.state.lock:
                self.state.in_flight -= 1

    def _answer(self, name: str, count: int, body) -> None:
        inp = body["inputs"][0]
        shape = inp["shape"]
        if name == "flaky" and count <= 2:
            self._send(500, {"error": "warming up"})
            return
        if name == "dropper" and count == 1:
            self.close_connection = True  # no answer at all: the client sees a closed connection
            return
        if name == "bad":
            self._send(400, {"error": "unexpected input shape [N, 8]"})
            return
        if name == "slow":
            time.sleep(1.0)
        if name == "redirect":
            self._done()
            self.send_response(307)
            self.send_header("Location", "http://example.com/v2/models/gc/infer")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if inp["datatype"] == "BYTES":
            y = np.array([s.count("G") + s.count("C") for s in inp["data"]], dtype=float)
        else:
            arr = np.asarray(inp["data"]).reshape(shape)
            X = arr.argmax(axis=2) if arr.ndim == 3 else arr
            y = gc_of_codes(X)
        if name == "nan":
            y[1] = np.nan
        oshape = [shape[0], 1] if name == "gc" else [shape[0]]
        data = [None if not np.isfinite(v) else float(v) for v in y]
        if name == "nan":
            data = [float("nan") if v is None else v for v in data]
        if name == "multi":
            data = np.stack([y, 2 * y, 3 * y], axis=1).ravel().tolist()
            oshape = [shape[0], 3]
        out = {"model_name": name, "outputs": [{"name": "score", "datatype": "FP64", "shape": oshape, "data": data}]}
        self._send(200, out)


@pytest.fixture(scope="module")
def server():
    state = State()
    handler = type("H", (Handler,), {"state": state})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", state
    httpd.shutdown()
    httpd.server_close()


def codes(N: int, n: int = N_LEN, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 4, size=(N, n), dtype=np.int8)


FAST = {"retries": 3, "backoff": 0.01, "timeout": 5.0}


def test_v2_model_metadata_layout_and_predictions(server):
    url, _ = server
    m = load_model(f"{url}/v2/models/gc")
    assert isinstance(m, HttpModel) and m.n == N_LEN and m.describe()["layout"] == "codes"
    X = codes(50)
    np.testing.assert_array_equal(m(X), gc_of_codes(X))
    oh = HttpModel(f"{url}/v2/models/onehot")
    assert oh.describe()["layout"] == "NLQ" and oh.n == N_LEN
    np.testing.assert_array_equal(oh(X), gc_of_codes(X))
    s = HttpModel(f"{url}/v2/models/strings", n=N_LEN)
    assert s.describe()["layout"] == "strings"
    np.testing.assert_array_equal(s(X), gc_of_codes(X))
    # identity = url + metadata; the spec rebuilds the same model
    again = load_model(m.spec)
    assert again.identity == m.identity and again.identity != oh.identity
    d = m.describe()
    assert d["kind"] == "http" and d["model_name"] == "gc" and d["inputs"][0]["datatype"] == "INT64"
    assert m.probe_throughput(num=256, seconds=0.05) > 0


def test_concurrent_batches_stay_within_the_limit(server):
    url, state = server
    m = HttpModel(f"{url}/v2/models/gc", batch_size=16, max_concurrency=3)
    state.max_in_flight = 0
    X = codes(400, seed=3)
    np.testing.assert_array_equal(m(X), gc_of_codes(X))  # 25 requests, answers put back in order
    assert 1 < state.max_in_flight <= 3
    m.close()


def test_retries_after_500_and_a_dropped_connection(server):
    url, _ = server
    m = HttpModel(f"{url}/v2/models/flaky", **FAST)
    X = codes(10)
    np.testing.assert_array_equal(m(X), gc_of_codes(X))
    assert m.retried == 2  # two 500s, then success
    d = HttpModel(f"{url}/v2/models/dropper", **FAST)
    np.testing.assert_array_equal(d(X), gc_of_codes(X))
    assert d.retried == 1


def test_client_errors_fail_at_once_with_the_servers_message(server):
    url, _ = server
    m = HttpModel(f"{url}/v2/models/bad", **FAST)
    with pytest.raises(ModelError, match=r"refused the request for rows 0-4: HTTP 400: unexpected input shape"):
        m(codes(5))
    assert m.retried == 0
    with pytest.raises(ModelError, match=r"HTTP 404 \(no such model on this server\): model missing not found"):
        HttpModel(f"{url}/v2/models/missing", **FAST)


def test_timeouts_are_retried_then_reported(server):
    url, _ = server
    m = HttpModel(f"{url}/v2/models/slow", retries=1, backoff=0.01, timeout=0.2)
    with pytest.raises(ModelError, match=r"failed after 2 attempts \(last: .*timed out"):
        m(codes(3))


def test_nan_outputs_task_and_redirects(server):
    url, _ = server
    with pytest.raises(ModelError, match=r"model 'nan' returned NaN for 1 of 6 sequences \(rows 0-5; first: row 1"):
        HttpModel(f"{url}/v2/models/nan", **FAST)(codes(6))
    with pytest.raises(ModelError, match=r"has 3 values per sequence; choose one with task=0\.\.2"):
        HttpModel(f"{url}/v2/models/multi")
    X = codes(7)
    np.testing.assert_array_equal(HttpModel(f"{url}/v2/models/multi", task=2)(X), 3 * gc_of_codes(X))
    with pytest.raises(ModelError, match=r"HTTP 307: redirect to http://example.com/.* refused"):
        HttpModel(f"{url}/v2/models/redirect", **FAST)(X)


def test_unreachable_server_and_bad_urls():
    with pytest.raises(ModelError, match=r"failed after 2 attempts \(last: .*(refused|Connection)"):
        HttpModel("http://127.0.0.1:9/v2/models/x", retries=1, backoff=0.01, timeout=1.0)
    with pytest.raises(ValueError, match="not an inference server model URL"):
        load_model("http://127.0.0.1:8000/predict")


def test_allow_list(monkeypatch, server):
    url, _ = server
    with pytest.raises(HostNotAllowedError, match=r"host 'example\.com' is not on the allow-list .*SHAPZERO_ALLOWED_HOSTS"):
        load_model("http://example.com:8000/v2/models/x", allowed_hosts=LOOPBACK_HOSTS)
    # names are not resolved: a name for a loopback address is still refused unless listed
    with pytest.raises(HostNotAllowedError):
        check_host("http://localtest.me/v2/models/x", LOOPBACK_HOSTS)
    assert check_host("http://[::1]:8000/v2/models/x", LOOPBACK_HOSTS) == "::1"
    assert check_host("http://LOCALHOST:1/v2/models/x", LOOPBACK_HOSTS) == "localhost"
    monkeypatch.setenv("SHAPZERO_ALLOWED_HOSTS", "triton.lab.internal, 10.0.0.5")
    assert configured_allowed_hosts() == ("127.0.0.1", "::1", "localhost", "triton.lab.internal", "10.0.0.5")
    m = load_model(f"{url}/v2/models/gc", allowed_hosts=configured_allowed_hosts())
    assert json.loads(m.spec)["allowed_hosts"][0] == "127.0.0.1"  # workers check it too
