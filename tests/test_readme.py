"""Every fenced ``python`` and ``bash`` block of the README runs as written (issue 15.4), the way a newcomer runs
them from the top folder of a fresh clone: in a temporary copy of the files they name (``demo_models/``,
``examples/``), with the environment's ``bin`` first on ``PATH``; the Python blocks as one session. A block preceded by the line
``<!-- readme-test: not run (reason) -->`` is skipped (the quick start: it starts a server and the whole suite;
the TF-MoDISco examples: minutes on thousands of sequences, run on a planted model by their own test), and the
test checks that every skip says why."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shapzero_core.fourier import FourierSketch

pytestmark = [pytest.mark.timeout(900), pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)
SKIP = "<!-- readme-test: not run"


def blocks() -> list[tuple[str, str, bool]]:
    """(language, code, skipped) of every fenced block in README.md."""
    text = (ROOT / "README.md").read_text()
    out = []
    for m in FENCE.finditer(text):
        before = text[: m.start()].rstrip().splitlines()
        out.append((m.group(1), m.group(2), bool(before) and before[-1].startswith(SKIP)))
    return out


def test_skipped_blocks_say_why():
    text = (ROOT / "README.md").read_text()
    reasons = re.findall(r"^<!-- readme-test: not run \((.+?)\) -->$", text, re.MULTILINE)
    found = blocks()
    skipped = [code for lang, code, skip in found if skip]
    assert len(reasons) == len(skipped) and all(len(r) > 20 for r in reasons)
    assert "make app" in skipped[0]  # the quick start
    assert len(skipped) <= 3 and len(found) - len(skipped) >= 4
    assert {lang for lang, _, skip in found if not skip} == {"python", "bash"}


def test_every_readme_example_runs_as_written(tmp_path):
    work = tmp_path / "clone"
    work.mkdir()
    for folder in ("demo_models", "examples"):
        shutil.copytree(ROOT / folder, work / folder, ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "HOME": str(tmp_path), "PYTHONPATH": ""}
    env.pop("SHAPZERO_ALLOWED_HOSTS", None)
    # the Python blocks read as one session (a later block uses the names of an earlier one): one script, in
    # order; every bash block on its own
    runs = [("python", "\n".join(code for lang, code, skip in blocks() if lang == "python" and not skip))]
    runs += [(lang, code) for lang, code, skip in blocks() if lang == "bash" and not skip]
    for k, (lang, code) in enumerate(runs):
        if lang == "python":
            (work / "readme_api.py").write_text(code)
            cmd = [sys.executable, "readme_api.py"]
        else:
            cmd = ["bash", "-euo", "pipefail", "-c", code]
        out = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=800)
        assert out.returncode == 0, f"README block {k} ({lang}) failed:\n{code}\n--- stderr ---\n{out.stderr[-3000:]}"
    assert len(runs) >= 2
    # what the examples say they write
    sk = FourierSketch.load(work / "repair.npz")
    assert sk.n == 40 and sk.report["r2"] > 0.99
    assert FourierSketch.load(work / "guide.npz").n == 26
    assert (work / "results" / "shap_long.csv").is_file() and (work / "results" / "interactions.csv").is_file()
    assert (work / "export" / "run.json").is_file() and (work / "refined" / "shap_wide.csv").is_file()
