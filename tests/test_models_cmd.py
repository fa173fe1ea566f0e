"""Model adapters, part 2: external programs (``cmd:``) — answers, crashes, hangs, garbage."""

from __future__ import annotations

import shlex
import sys
import textwrap

import numpy as np
import pytest

from shapzero_core.errors import ModelError
from shapzero_core.models import CommandModel, load_model

pytestmark = pytest.mark.timeout(60)

CHILD = textwrap.dedent(
    """
    import os, sys, time
    mode = sys.argv[1]
    arg = sys.argv[2] if len(sys.argv) > 2 else ""
    if mode == "banner":
        print("model loaded, ready")
    count = 0
    for line in sys.stdin:
        seq = line.strip()
        count += 1
        if mode == "die" and count == int(arg):
            sys.stderr.write("segmentation fault (pretend)\\n")
            sys.exit(3)
        if mode == "die-once" and count == 5 and not os.path.exists(arg):
            open(arg, "w").close()
            os._exit(1)
        if mode == "hang" and count == 3:
            time.sleep(60)
        if mode == "garbage" and count == 3:
            print("oops")
            continue
        if mode == "nan" and seq.startswith("T"):
            print("nan")
            continue
        if mode == "double":
            print(seq.count("G"))
        print(seq.count("G") + 0.5 * seq.count("C"))
    """
)


@pytest.fixture(scope="module")
def script(tmp_path_factory):
    p = tmp_path_factory.mktemp("cmd") / "child.py"
    p.write_text(CHILD)
    return p


def cmd(script, *args: str) -> str:
    return "cmd:" + shlex.join([sys.executable, str(script), *args])


def expected(X: np.ndarray) -> np.ndarray:
    return (X == 2).sum(1) + 0.5 * (X == 1).sum(1)


def codes(N: int, n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 4, size=(N, n), dtype=np.int8)


def test_command_answers_in_batches_and_keeps_running(script):
    m = load_model(cmd(script, "ok"), n=12, batch_size=100)
    try:
        assert isinstance(m, CommandModel) and m.name == "child.py"
        X = codes(1000, 12)
        np.testing.assert_array_equal(m(X), expected(X))
        np.testing.assert_array_equal(m(X[:7]), expected(X[:7]))
        assert m.starts == 1 and m.restarts == 0  # one process for every batch and call
        # a big batch (more than a pipe buffer each way) does not deadlock
        big = codes(20_000, 12, seed=1)
        np.testing.assert_array_equal(m(big), expected(big))
        d = m.describe()
        assert d["kind"] == "cmd" and d["running"] and "one sequence per line" in d["protocol"]
        assert m.probe_throughput(num=2000, seconds=0.05) > 0
        # the spec rebuilds it; the identity covers the command line and the script's content
        again = load_model(m.spec)
        assert again.identity == m.identity and again.batch_size == 100 and again.n == 12
        again.close()
    finally:
        m.close()
    assert not m.describe()["running"]


def test_identity_follows_the_script_content(tmp_path):
    p = tmp_path / "m.py"
    p.write_text("print(1)\n")
    a = CommandModel([sys.executable, str(p)])
    p.write_text("print(2)\n")
    b = CommandModel([sys.executable, str(p)])
    assert a.identity != b.identity and a.spec == b.spec


def test_crash_is_restarted_once(script, tmp_path):
    marker = tmp_path / "crashed"
    m = load_model(cmd(script, "die-once", str(marker)), n=6, batch_size=50)
    try:
        X = codes(200, 6)
        np.testing.assert_array_equal(m(X), expected(X))
        assert marker.exists() and m.restarts == 1 and m.starts == 2
    finally:
        m.close()


def test_program_that_keeps_dying_is_a_clear_error(script):
    m = load_model(cmd(script, "die", "4"), n=6, batch_size=10)
    with pytest.raises(ModelError, match=r"program 'child.py' exited with code 3 while answering rows 0-9, "
                                         r"again after a restart; stderr: segmentation fault \(pretend\)"):
        m(codes(30, 6))
    assert m.restarts == 1


def test_hanging_program_times_out(script):
    m = CommandModel([sys.executable, str(script), "hang"], n=6, timeout=0.5)
    with pytest.raises(ModelError, match=r"did not answer within 0.5 s \(got \d+ of 10 numbers .*flush"):
        m(codes(10, 6))
    assert not m.describe()["running"]  # killed


def test_garbage_output_names_the_line_and_sequence(script):
    m = CommandModel([sys.executable, str(script), "garbage"], n=5)
    X = codes(6, 5)
    seq = "".join("ACGT"[c] for c in X[2])
    with pytest.raises(ModelError, match=rf"wrote 'oops' on output line 3, which is not a number \(the answer "
                                         rf"for row 2, sequence {seq}\)"):
        m(X)
    m.close()


def test_banner_and_extra_lines_and_nan(script):
    banner = CommandModel([sys.executable, str(script), "banner"], n=5)
    X = codes(4, 5)
    # seen before the first sequence is sent, or read as the first answer (depends on when it arrives)
    with pytest.raises(ModelError, match=r"'model loaded, ready' on output line 1(, which is not a number| before)"):
        banner(X)
    double = CommandModel([sys.executable, str(script), "double"], n=5, batch_size=2)
    with pytest.raises(ModelError, match=r"more lines than|before it was given a sequence"):
        double(codes(40, 5))
    double.close()
    nan = CommandModel([sys.executable, str(script), "nan"], n=5)
    X = codes(20, 5)
    X[4, 0] = 3
    with pytest.raises(ModelError, match=r"returned NaN for \d+ of 20 sequences \(rows 0-19; first: row \d+, T"):
        nan(X)
    nan.close()


def test_bad_command_lines():
    with pytest.raises(ModelError, match="cannot start program"):
        CommandModel(["/nonexistent/program-xyz"], n=3)(codes(2, 3))
    with pytest.raises(ValueError, match="empty command line"):
        load_model("cmd:   ")
    with pytest.raises(ValueError, match="cannot parse the command line"):
        load_model('cmd:python "unclosed')
