"""The newcomer path (issue 15.4): the example files the README names exist and fit their models, and
``module:function`` finds a module in the current directory with the ``shapzero`` console script (no
``PYTHONPATH=.``), without shadowing installed packages."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shapzero_core.demos import list_demos
from shapzero_core.models import load_model
from shapzero_core.sequences import read_sequences

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parent.parent
SHAPZERO = Path(sys.executable).parent / "shapzero"


@pytest.mark.parametrize("demo", [d.name for d in list_demos()])
def test_every_demo_has_example_sequences_of_its_length(demo):
    d = next(x for x in list_demos() if x.name == demo)
    s = read_sequences(ROOT / "demo_models" / f"{demo}.sequences.fasta", alphabet=d.alphabet)
    assert len(s) == 200 and s.n == d.n and len(s.rejected) == 0 and s.ids[0] == f"{demo}_001"


def test_the_example_model_is_a_function_and_a_program(tmp_path):
    X = np.random.default_rng(0).integers(0, 4, size=(50, 26), dtype=np.int8)
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        fn = load_model("examples.my_model:score", n=26)
        prog = load_model(f"cmd:{sys.executable} examples/my_model.py", n=26)
        try:
            np.testing.assert_array_equal(fn(X), prog(X))
        finally:
            prog.close()
    finally:
        os.chdir(cwd)


@pytest.mark.skipif(not SHAPZERO.exists(), reason="the shapzero console script is not installed")
def test_module_function_imports_from_the_current_directory(tmp_path):
    (tmp_path / "my_scorer.py").write_text("import numpy as np\ndef gc(X):\n    X = np.asarray(X)\n"
                                           "    return ((X == 1) | (X == 2)).sum(1).astype(float)\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([str(SHAPZERO), "models", "inspect", "my_scorer:gc", "--length", "8", "--seconds", "0"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "my_scorer:gc" in out.stdout
    # a module missing everywhere, and a missing submodule of an installed package, stay clear errors
    for spec, message in (("nowhere_xyz:f", "No module named 'nowhere_xyz'"),
                          ("numpy.nowhere_xyz:f", "No module named 'numpy.nowhere_xyz'")):
        bad = subprocess.run([str(SHAPZERO), "models", "inspect", spec, "--length", "8"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=60)
        assert bad.returncode == 2 and message in bad.stderr and "current directory" in bad.stderr


def test_a_local_file_never_shadows_an_installed_package(tmp_path, monkeypatch):
    (tmp_path / "numpy.py").write_text("raise SystemExit('the local numpy.py was imported')\n")
    monkeypatch.chdir(tmp_path)
    m = load_model("numpy:count_nonzero", n=4)
    assert m._fn is np.count_nonzero  # the installed numpy, not ./numpy.py
