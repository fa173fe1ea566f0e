"""Adapter overhead and demo-model throughput (issue 4): sequences per second through each ModelFn adapter.

For a trivial model (count of G letters) behind every adapter kind — ONNX in-process, a Python callable,
an external program on stdin/stdout, and an Open Inference Protocol v2 server on 127.0.0.1 (a
``ThreadingHTTPServer`` in this process, so the server's own JSON work is included) — plus the three
demo models. Targets from the issue: ONNX >= 200,000 sequences/s, external program and v2 server on
loopback >= 20,000 sequences/s.

Run from the repository root: ``python bench/bench_models.py [--n 40] [--seconds 2]``. Prints a markdown
table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import onnxruntime
from onnx import TensorProto, helper, numpy_helper

from shapzero_core.demos import list_demos
from shapzero_core.models import load_model

CHILD = """import sys
write = sys.stdout.write
for line in sys.stdin:
    write(f"{line.count('G')}\\n")
"""


def trivial_onnx(n: int) -> bytes:
    """Count of G (code 2) on integer codes: Equal -> Cast -> ReduceSum."""
    nodes = [
        helper.make_node("Equal", ["x", "two"], ["eq"]),
        helper.make_node("Cast", ["eq"], ["f"], to=TensorProto.FLOAT),
        helper.make_node("ReduceSum", ["f", "axes"], ["y"], keepdims=0),
    ]
    graph = helper.make_graph(
        nodes, "count_g", [helper.make_tensor_value_info("x", TensorProto.INT64, ["N", n])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N"])],
        [numpy_helper.from_array(np.array(2, dtype=np.int64), "two"),
         numpy_helper.from_array(np.array([1], dtype=np.int64), "axes")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8).SerializeToString()


def count_g(X: np.ndarray) -> np.ndarray:
    return (np.asarray(X) == 2).sum(axis=1).astype(np.float64)


def start_server(n: int) -> tuple[ThreadingHTTPServer, str]:
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, *a) -> None:
            pass

        def _send(self, obj) -> None:
            body = json.dumps(obj, separators=(",", ":")).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._send({"name": "count_g", "platform": "bench", "versions": ["1"],
                        "inputs": [{"name": "x", "datatype": "INT64", "shape": [-1, n]}],
                        "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1]}]})

        def do_POST(self) -> None:
            req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            inp = req["inputs"][0]
            X = np.asarray(inp["data"], dtype=np.int64).reshape(inp["shape"])
            y = count_g(X).tolist()
            self._send({"model_name": "count_g", "outputs": [{"name": "y", "datatype": "FP32",
                                                             "shape": [len(y)], "data": y}]})

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/v2/models/count_g"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=40, help="sequence length of the trivial models (default 40)")
    ap.add_argument("--seconds", type=float, default=2.0, help="measuring time per adapter (default 2)")
    args = ap.parse_args()
    n = args.n
    rows: list[tuple[str, str, float, str]] = []
    X = np.random.default_rng(0).integers(0, 4, size=(1000, n), dtype=np.int8)
    truth = count_g(X)

    with tempfile.TemporaryDirectory() as tmp:
        child = Path(tmp) / "count_g.py"
        child.write_text(CHILD)
        httpd, url = start_server(n)
        trivial = [
            ("onnx (in-process)", load_model(trivial_onnx(n)), ">= 200,000"),
            ("callable", load_model(count_g, n=n), ""),
            ("cmd (python child)", load_model("cmd:" + shlex.join([sys.executable, str(child)]), n=n,
                                              batch_size=8192), ">= 20,000"),
            ("http v2 (loopback)", load_model(url, batch_size=4096), ">= 20,000"),
        ]
        for label, model, target in trivial:
            assert np.array_equal(model(X), truth), label
            rate = model.probe_throughput(num=min(model.batch_size * 4, 50_000), seconds=args.seconds)
            rows.append((label, f"count of G, n={n}", rate, target))
            model.close()
        httpd.shutdown()
        httpd.server_close()
    for demo in list_demos():
        model = demo.load_model()
        rate = model.probe_throughput(num=50_000, seconds=args.seconds)
        rows.append((f"demo:{demo.name}", f"ONNX {demo.layout}, n={demo.n}", rate, ""))

    print(f"machine: {platform.platform()}, {os.cpu_count()} cores; Python {platform.python_version()}; "
          f"numpy {np.__version__}; onnxruntime {onnxruntime.__version__}\n")
    print("| adapter | model | sequences/s | issue target |")
    print("|---|---|---:|---|")
    for label, what, rate, target in rows:
        print(f"| {label} | {what} | {rate:,.0f} | {target} |")


if __name__ == "__main__":
    main()
