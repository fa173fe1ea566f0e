"""Inference servers that misbehave, and attempts to get past the host allow-list (issues 15.2, 17.3). Every
server runs on loopback in a thread; nothing leaves the machine."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from shapzero_core.cli import main as cli_main
from shapzero_core.errors import ModelError
from shapzero_core.models import (
    BROWSER_LIMITS,
    HostNotAllowedError,
    HttpModel,
    check_host,
    configured_allowed_hosts,
    load_model,
    load_server_spec,
    parse_server_url,
)

pytestmark = pytest.mark.timeout(60)

N_LEN = 6


class Handler(BaseHTTPRequestHandler):
    hits: dict[str, int]
    other: str = ""

    def log_message(self, *args) -> None:
        pass

    def _send(self, code: int, body: bytes, ctype: str = "application/json", headers=()) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _name(self) -> str:
        parts = self.path.strip("/").split("/")
        return parts[2] if len(parts) >= 3 else ""

    def do_GET(self) -> None:
        name = self._name()
        self.hits[f"GET {name}"] = self.hits.get(f"GET {name}", 0) + 1
        meta = {"name": name, "inputs": [{"name": "x", "datatype": "INT64", "shape": [-1, N_LEN]}],
                "outputs": [{"name": "y", "datatype": "FP64", "shape": [-1]}]}
        if name == "nested-meta":
            self._send(200, b"[" * 100_000 + b"]" * 100_000)
            return
        self._send(200, json.dumps(meta).encode())

    def do_POST(self) -> None:
        name = self._name()
        self.hits[name] = self.hits.get(name, 0) + 1
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        X = np.asarray(body["inputs"][0]["data"]).reshape(body["inputs"][0]["shape"])
        y = (X == 2).sum(1).astype(float)
        if name == "error500":
            self._send(500, b'{"error": "model crashed"}')
        elif name == "garbage":
            self._send(200, b"<html>502 Bad Gateway</html>", "text/html")
        elif name == "wrongshape":
            self._send(200, json.dumps({"outputs": [{"name": "y", "shape": [len(y) - 1],
                                                     "data": y[:-1].tolist()}]}).encode())
        elif name == "sleepy":
            time.sleep(1.0)
            self._send(200, json.dumps({"outputs": [{"name": "y", "shape": [len(y)], "data": y.tolist()}]}).encode())
        elif name == "redirect":
            self._send(307, b"", headers=[("Location", f"{self.other}/v2/models/ok/infer")])
        elif name == "huge":
            self._send(200, b" " * (20 << 20))
        else:
            self._send(200, json.dumps({"outputs": [{"name": "y", "shape": [len(y)], "data": y.tolist()}]}).encode())


def _serve(hits: dict, other: str = ""):
    handler = type("H", (Handler,), {"hits": hits, "other": other})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


@pytest.fixture(scope="module")
def servers():
    other_hits: dict = {}
    other, other_url = _serve(other_hits)
    hits: dict = {}
    main, url = _serve(hits, other=other_url)
    yield url, hits, other_hits
    for s in (main, other):
        s.shutdown()
        s.server_close()


FAST = {"retries": 1, "backoff": 0.01, "timeout": 0.5}
X = np.random.default_rng(0).integers(0, 4, size=(20, N_LEN), dtype=np.int8)


def test_a_well_behaved_server_works(servers):
    url, _, _ = servers
    np.testing.assert_array_equal(HttpModel(f"{url}/v2/models/ok", **FAST)(X), (X == 2).sum(1))


@pytest.mark.parametrize(("name", "message"), [
    ("error500", r"failed after 2 attempts \(last: HTTP 500: model crashed\)"),
    ("garbage", r"answered the request for rows 0-19 with invalid JSON .*502 Bad Gateway"),
    ("wrongshape", r"returned output of shape \(19,\) for 20 sequences"),
    ("sleepy", r"failed after 2 attempts \(last: .*timed out"),
    ("redirect", r"HTTP 307: redirect to http://127\.0\.0\.1:\d+/v2/models/ok/infer refused"),
    ("huge", r"answer to the request for rows 0-19 is larger than"),
])
def test_misbehaving_servers_are_one_clear_error(servers, name, message):
    url, _, other_hits = servers
    before = other_hits.get("ok", 0)
    with pytest.raises(ModelError, match=message):
        HttpModel(f"{url}/v2/models/{name}", **FAST)(X)
    assert other_hits.get("ok", 0) == before  # a redirect is never followed, not even to loopback


def test_deeply_nested_json_is_an_error_not_a_crash(servers):
    url, _, _ = servers
    with pytest.raises(ModelError, match=r"invalid JSON"):
        HttpModel(f"{url}/v2/models/nested-meta", **FAST)


@pytest.mark.parametrize("name", ["garbage", "wrongshape", "redirect"])
def test_the_cli_reports_them_in_one_line(servers, name, tmp_path, capsys, monkeypatch):
    url, _, _ = servers
    monkeypatch.chdir(tmp_path)
    rc = cli_main(["sketch", "--model", f'{{"model": "{url}/v2/models/{name}", "retries": 0}}', "--b", "2",
                   "--test-size", "10", "--out", "s.npz", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "Traceback" not in err


# ------------------------------------------------------------------------------------------ the allow-list
@pytest.mark.parametrize("url", [
    "http://0x7f000001:8000/v2/models/x",        # hex: inet_aton reads 127.0.0.1
    "http://2130706433:8000/v2/models/x",        # one decimal number
    "http://127.1:8000/v2/models/x",             # short form
    "http://0177.0.0.1:8000/v2/models/x",        # octal
    "http://0x0a000005/v2/models/x",             # 10.0.0.5 in disguise
    "http://127.0.0.1@other.example/v2/models/x",  # userinfo: the host is other.example
    "http://evil.invalid@127.0.0.1/v2/models/x",   # userinfo the client would resolve as one name
    "http://[fe80::1%25eth0]/v2/models/x",       # zone id
    "http://localhost./v2/models/x",             # trailing dot: resolved through DNS, not /etc/hosts
    "http://a\\b/v2/models/x",
    "http://other.example/v2/models/x",          # not listed
    "http://[::ffff:10.0.0.6]/v2/models/x",      # mapped, not listed
])
def test_bypass_attempts_are_refused(url):
    with pytest.raises(HostNotAllowedError):
        check_host(url, ["10.0.0.5"])


def test_refused_even_without_an_allow_list_when_the_client_would_misread_the_host(servers):
    with pytest.raises(HostNotAllowedError, match="user name or password"):
        load_model("http://evil.invalid@127.0.0.1:1/v2/models/x")  # the API allows any host, never this


def test_loopback_is_always_allowed_in_one_rule(monkeypatch):
    for url in ("http://127.0.0.1:1/v2/models/x", "http://[::1]:1/v2/models/x", "http://localhost:1/v2/models/x",
                "http://[::ffff:127.0.0.1]:1/v2/models/x", "http://127.5.6.7/v2/models/x"):
        check_host(url, [])  # even with an empty allow-list
    assert check_host("http://[::ffff:10.0.0.5]/v2/models/x", ["10.0.0.5"]) == "::ffff:a00:5"
    assert check_host("http://TRITON.lab:8000/v2/models/x", ["triton.lab"]) == "triton.lab"
    monkeypatch.setenv("SHAPZERO_ALLOWED_HOSTS", "triton.lab, 10.0.0.5")
    hosts = configured_allowed_hosts()
    assert set(hosts) >= {"127.0.0.1", "::1", "localhost", "triton.lab", "10.0.0.5"}  # adds, never replaces
    from studio_ui import models_ui

    assert models_ui.allowed_hosts() == list(hosts)  # the app uses the engine's rule


def test_localhost_that_resolves_elsewhere_is_refused(monkeypatch):
    real = socket.getaddrinfo

    def fake(host, *a, **k):
        if host == "localhost":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", 0))]
        return real(host, *a, **k)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    with pytest.raises(HostNotAllowedError, match="'localhost' is not on the allow-list"):
        check_host("http://localhost:8000/v2/models/x", [])


def test_requests_go_to_the_host_that_was_checked(servers):
    url, _, _ = servers
    m = HttpModel(f"{url.upper().replace('HTTP', 'http')}/v2/models/ok/")
    assert m.url == f"{url}/v2/models/ok"
    assert parse_server_url("http://[::FFFF:127.0.0.1]:80/v2/models/x").url == "http://[::ffff:7f00:1]:80/v2/models/x"


# ------------------------------------------------------------------------------------------ browser specs
def test_browser_specs_are_servers_with_options_in_safe_ranges(servers, tmp_path):
    url, _, _ = servers
    hosts = configured_allowed_hosts()
    m = load_server_spec(json.dumps({"model": f"{url}/v2/models/ok", "timeout": 5, "retries": 2}),
                         allowed_hosts=hosts)
    assert m.timeout == 5 and m.retries == 2
    bad = [
        ({"model": f"{url}/v2/models/ok", "timeout": 1e9}, r"timeout must be a number from 0\.1 to 120"),
        ({"model": f"{url}/v2/models/ok", "retries": 1_000_000}, r"retries must be a number from 0 to 5"),
        ({"model": f"{url}/v2/models/ok", "retries": 2.5}, r"retries must be a whole number"),
        ({"model": f"{url}/v2/models/ok", "max_concurrency": 10_000}, r"max_concurrency must be"),
        ({"model": f"{url}/v2/models/ok", "allowed_hosts": ["evil.example"]}, r"allowed_hosts cannot be set"),
        ({"model": f"{url}/v2/models/ok", "timeout": True}, r"timeout must be a number"),
        ({"model": "cmd:rm -rf /"}, r"only inference server URLs"),
        ({"model": "os:system"}, r"only inference server URLs"),
    ]
    for spec, message in bad:
        with pytest.raises(ValueError, match=message):
            load_server_spec(json.dumps(spec), allowed_hosts=hosts)
    for text in ("cmd:python -c 'print(1)'", "demo:repair", str(tmp_path / "m.onnx"), "os:system"):
        with pytest.raises(ValueError, match="only inference server URLs"):
            load_server_spec(text, allowed_hosts=hosts)
    with pytest.raises(HostNotAllowedError):
        load_server_spec("http://other.example/v2/models/ok", allowed_hosts=hosts)
    assert set(BROWSER_LIMITS) >= {"timeout", "retries", "max_concurrency", "backoff", "batch_size"}
