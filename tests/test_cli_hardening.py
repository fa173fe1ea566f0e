"""The CLI and the query cache under bad paths, damaged manifests, read-only folders and concurrent sketches
(issues 15.2, 17.3): one-line errors (exit 2) before any query, never a traceback; concurrent runs keep whole
blocks."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from shapzero_core.cli import main
from shapzero_core.fourier import FourierSketch

pytestmark = pytest.mark.timeout(180)

TESTS = Path(__file__).resolve().parent
SMALL = ["--b", "2", "--test-size", "20", "--quiet"]


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_a_file_as_cache_folder_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("notes.txt").write_text("x")
    for cache in ("notes.txt", "notes.txt/sub"):
        assert main(["sketch", "--model", "demo:guide_rna", *SMALL, "--cache", cache, "--out", "s.npz"]) == 2
        err = one_line_error(capsys)
        assert "notes.txt is a file, not a folder" in err and "--cache DIR" in err
    assert not Path("s.npz").exists()


def test_a_bad_output_path_is_refused_before_the_model_runs(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("notes.txt").write_text("x")
    marker = tmp_path / "started"
    prog = tmp_path / "m.py"
    prog.write_text(f"open({str(marker)!r}, 'w').close()\nimport sys\nfor l in sys.stdin: print(1.0, flush=True)\n")
    model = "cmd:" + shlex.join([sys.executable, str(prog)])
    for out, message in (("notes.txt/x.npz", "notes.txt is a file, not a folder"),
                         (str(tmp_path), "is a folder; give a file name")):
        out_arg = out if out != str(tmp_path) else str(tmp_path / "dir.npz")
        if out == str(tmp_path):
            (tmp_path / "dir.npz").mkdir()
        assert main(["sketch", "--model", model, "--length", "4", *SMALL, "--out", out_arg]) == 2
        assert message in one_line_error(capsys)
    assert not marker.exists()  # nothing was queried


def test_explain_into_a_path_under_a_file_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["sketch", "--model", "demo:guide_rna", *SMALL, "--no-cache", "--out", "s.npz"]) == 0
    capsys.readouterr()
    Path("seqs.txt").write_text("A" * 26 + "\n")
    Path("notes.txt").write_text("x")
    assert main(["explain", "--sketch", "s.npz", "--sequences", "seqs.txt", "--out", "notes.txt/out"]) == 2
    assert "notes.txt" in one_line_error(capsys)


@pytest.mark.parametrize("manifest", [
    '{"format": "shapzero-query-cache", "plan_hash": "x", "model_identity": "y", "blocks": []}',
    '{"format": "shapzero-query-cache", "blocks": {"c0_p0": "not a dict"}}',
    '{"format": "shapzero-query-cache", "plan_hash": 3, "model_identity": null, "blocks": {}}',
    '[1, 2, 3]',
    '"manifest"',
    '{"format": "shapzero-query-cache", "blocks": {"c0_p0": {"sha256": 5, "length": "9"}}}',
    "{not json",
    "[" * 50_000,
])
def test_damaged_manifests_are_reported_and_every_block_queried_again(tmp_path, capsys, monkeypatch, manifest):
    monkeypatch.chdir(tmp_path)
    args = ["sketch", "--model", "demo:guide_rna", *SMALL[:-1], "--cache", "c", "--out", "s.npz"]
    assert main(args) == 0
    clean = FourierSketch.load("s.npz")
    (mf,) = Path("c").glob("*/manifest.json")
    mf.write_text(manifest)
    capsys.readouterr()
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "manifest unreadable" in err and "Traceback" not in err
    again = FourierSketch.load("s.npz")
    np.testing.assert_array_equal(again.locations, clean.locations)
    assert again.report["queries"]["cached"] == 0


def _as_nobody(cmd: list[str], cwd: str) -> subprocess.CompletedProcess:
    """Run ``cmd`` as an unprivileged user when we are root (root writes into read-only folders)."""
    env = {**os.environ, "HOME": cwd, "PYTHONPATH": str(TESTS)}
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: cannot drop privileges to test a read-only folder")
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_a_read_only_cache_folder_is_a_clear_error_before_querying():
    base = tempfile.mkdtemp(prefix="shapzero-ro-")  # under /tmp, where an unprivileged user can reach it
    try:
        os.chmod(base, 0o777)
        ro = Path(base) / "ro"
        ro.mkdir()
        os.chmod(ro, 0o555)
        out = _as_nobody([sys.executable, "-m", "shapzero_core.cli", "sketch", "--model", "demo:guide_rna", *SMALL,
                          "--cache", str(ro), "--out", str(Path(base) / "s.npz")], cwd=base)
        assert out.returncode == 2, out.stderr
        assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
        assert "cannot keep the query cache there (Permission denied" in out.stderr
        assert not (Path(base) / "s.npz").exists()
    finally:
        os.chmod(Path(base) / "ro", 0o755)
        shutil.rmtree(base, ignore_errors=True)


def test_two_sketches_into_one_cache_at_once_both_finish_with_whole_blocks(tmp_path):
    """Two processes sketch the same model with the same plan into one cache folder at the same time: both
    finish with the same sketch, every block on disk is whole and listed, and a third run queries nothing."""
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    cmd = [sys.executable, "-m", "shapzero_core.cli", "sketch", "--model", "models_fixtures:slow_gc", "--length",
           "6", "--b", "3", "--test-size", "200", "--batch-size", "64", "--cache", "c", "--quiet"]
    procs = [subprocess.Popen([*cmd, "--out", f"s{i}.npz"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in (1, 2)]
    outs = [p.communicate(timeout=150) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    a, b = FourierSketch.load(tmp_path / "s1.npz"), FourierSketch.load(tmp_path / "s2.npz")
    np.testing.assert_array_equal(a.locations, b.locations)
    np.testing.assert_allclose(a.coefficients, b.coefficients, atol=1e-12)
    (folder,) = (tmp_path / "c").iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    blocks = sorted(p.stem for p in folder.glob("*.npy"))
    assert sorted(manifest["blocks"]) == blocks and len(blocks) == 3 * 3 + 1 + 1  # q-SFT, one random, test
    third = subprocess.run([*cmd, "--out", "s3.npz"], cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=150)
    assert third.returncode == 0, third.stderr
    rep = FourierSketch.load(tmp_path / "s3.npz").report["queries"]
    assert rep["queried"] == 0 and rep["damaged_blocks"] == 0
