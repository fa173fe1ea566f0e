"""Helpers of the browser tests (no fixtures here): start / stop ``streamlit run app.py`` on a free port with a
fresh workspace, and a planted sketch. A module of its own (not ``conftest``) so that test modules can
import it whatever the order in which pytest loads the test folders' conftest files."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from e2e_ui import OUT

from shapzero_core import DNA, FourierSketch

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0


@dataclass
class Server:
    url: str
    workspace: Path
    log: Path
    proc: subprocess.Popen


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(tmp: Path, name: str) -> Server:
    """``streamlit run app.py`` on a free port with the workspace in ``tmp``; returns once it serves."""
    port = _free_port()
    workspace = tmp / "workspace"
    OUT.mkdir(parents=True, exist_ok=True)
    log = OUT / f"server_{name}.log"
    env = {**os.environ, "SHAPZERO_WORKSPACE": str(workspace), "HOME": str(tmp)}
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    with open(log, "wb") as fh:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    t0 = time.monotonic()
    while time.monotonic() - t0 < START_TIMEOUT:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode} before serving; log {log}:\n"
                               + log.read_text(errors="replace")[-3000:])
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    return Server(base, workspace, log, proc)
        except OSError:
            pass
        time.sleep(0.1)
    stop_server(Server(base, workspace, log, proc))
    raise RuntimeError(f"streamlit did not serve {base} within {START_TIMEOUT:.0f} s; log {log}")


def stop_server(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(10)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait(10)


def planted_sketch(n: int, K: int, max_order: int = 5, seed: int = 0) -> FourierSketch:
    """Exactly ``K`` distinct DNA coefficients (conjugate pairs, a real model) of orders 1..max_order and a
    mean, at sequence length ``n``."""
    rng = np.random.default_rng(seed)
    seen: set[bytes] = set()
    locs, coefs = [np.zeros(n, dtype=np.int8)], [complex(0.5, 0.0)]
    while len(locs) < K:
        d = int(rng.integers(1, max_order + 1))
        k = np.zeros(n, dtype=np.int8)
        k[rng.choice(n, size=d, replace=False)] = rng.integers(1, 4, size=d)
        kc = ((-k.astype(np.int16)) % 4).astype(np.int8)
        if k.tobytes() in seen or kc.tobytes() in seen:
            continue
        seen.update((k.tobytes(), kc.tobytes()))
        c = complex(rng.normal(), rng.normal()) / d
        if np.array_equal(k, kc):
            locs.append(k)
            coefs.append(complex(c.real, 0.0))
        elif len(locs) + 2 <= K:
            locs += [k, kc]
            coefs += [c, c.conjugate()]
    return FourierSketch(np.array(locs), np.array(coefs), DNA)

