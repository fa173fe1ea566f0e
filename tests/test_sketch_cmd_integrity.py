"""Sketching an external program (``cmd:``) that misbehaves: the query cache never keeps answers that were out of
step (issue 17.2), output is bounded (issue 17.3), and hangs, short answers and deaths mid-sketch are clear errors
after which a rerun resumes, querying only the missing blocks (issue 15.2).

The program computes a sparse function with a known spectrum; what it does wrong is set by environment
variables, and it appends one byte per input line it receives to ``$LOG`` so the tests can count queries.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from rss import PROBE

from shapzero_core.errors import ModelError
from shapzero_core.models import CommandModel, load_model
from shapzero_core.sketch import SketchConfig, plan_sketch, sketch_model

pytestmark = pytest.mark.timeout(120)

N_LEN = 6
PROGRAM = textwrap.dedent(
    """
    import os, sys, time
    env = os.environ
    mode = env.get("MODE", "ok")
    at = int(env.get("AT", "-1"))
    log = open(env["LOG"], "ab", buffering=0) if env.get("LOG") else None
    total = os.path.getsize(env["LOG"]) if log else 0   # lines received by every run of the program so far
    W = {"A": 0.0, "C": 1.0, "G": 2.0, "T": 3.0}
    count = 0
    for line in sys.stdin:
        s = line.strip()
        count += 1
        total += 1
        if log:
            log.write(b".")
        if mode == "die" and total > at:
            sys.stderr.write("CUDA error: device lost\\n")
            sys.exit(1)
        if mode == "hang" and count == at:
            time.sleep(600)
        if mode == "fewer" and count == at:
            continue
        if mode == "endless" and count == at:
            while True:
                sys.stdout.write("9" * 65536)
                sys.stdout.flush()
        y = 1.0 + W[s[0]] - 0.5 * W[s[2]] + (1.5 if s[1] == s[4] else 0.0)
        print(y, flush=True)
        if mode == "late" and total == at:
            time.sleep(0.1)   # one surplus line, 0.1 s after the answer
            print(y, flush=True)
        time.sleep(0.0002)  # answers arrive line by line, as from a real model
    """
)
CONFIG = SketchConfig(b=3, num_subsample=2, num_repeat=2, test_size=200, seed=1)
PLAN = plan_sketch(N_LEN, 4, CONFIG)  # 4 blocks of 448 queries, test set of 200


@pytest.fixture
def program(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(PROGRAM)
    return path


def spec(path) -> str:
    return "cmd:" + shlex.join([sys.executable, str(path)])


def run(path, monkeypatch, cache, log=None, batch=None, executor=None, **env):
    monkeypatch.setenv("MODE", env.get("mode", "ok"))
    monkeypatch.setenv("AT", str(env.get("at", -1)))
    if log is not None:
        monkeypatch.setenv("LOG", str(log))
    else:
        monkeypatch.delenv("LOG", raising=False)
    model = load_model(spec(path), n=N_LEN, batch_size=batch)
    if env.get("timeout"):
        model.timeout = env["timeout"]
    try:
        return sketch_model(model, config=CONFIG, cache_dir=str(cache), batch_size=env.get("chunk", PLAN.block_size),
                            executor=executor)
    finally:
        model.close()


def same_sketch(a, b) -> None:
    np.testing.assert_array_equal(a.locations, b.locations)
    np.testing.assert_allclose(a.coefficients, b.coefficients, rtol=0, atol=1e-12)


@pytest.fixture
def clean(program, monkeypatch, tmp_path):
    return run(program, monkeypatch, tmp_path / "clean-cache")


def test_the_clean_program_is_recovered_exactly(clean):
    assert clean.report["r2"] > 1 - 1e-12
    assert clean.count_by_order() == {0: 1, 1: 6, 2: 3}  # mean, 3 + 3 first-order, the (2, 5) pair


@pytest.mark.parametrize("at", [448, 300, 448 * 2 + 100])
def test_a_late_surplus_line_never_reaches_the_cache(at, program, monkeypatch, tmp_path, clean):
    """The reported case: one surplus line 0.1 s after an answer; the run stops with a clear message and the
    rerun (program fixed) computes the clean sketch, whatever block the line fell in."""
    cache = tmp_path / "cache"
    with pytest.raises(ModelError, match=r"more lines than|before it was given a sequence|out of step"):
        run(program, monkeypatch, cache, log=tmp_path / "log", mode="late", at=at, batch=2048)
    again = run(program, monkeypatch, cache)
    same_sketch(again, clean)
    assert again.report["r2"] > 1 - 1e-12


def test_late_surplus_line_with_small_batches(program, monkeypatch, tmp_path, clean):
    cache = tmp_path / "cache"
    with pytest.raises(ModelError):
        run(program, monkeypatch, cache, log=tmp_path / "log", mode="late", at=896 - 56, batch=56, chunk=56)
    same_sketch(run(program, monkeypatch, cache), clean)


@pytest.mark.parametrize("kind", ["thread", "process"])
def test_late_surplus_line_with_worker_pools(kind, program, monkeypatch, tmp_path, clean):
    """Threads share the program (confirmed when a block is finished); process workers confirm every task."""
    from shapzero_core.executors import LocalExecutor

    cache = tmp_path / "cache"
    # one task per block; the surplus follows a block's last answer (threads: of the shared program's first
    # block; processes: every worker program's first block), so the next block would be answered one line late
    log = tmp_path / "log" if kind == "thread" else None
    with LocalExecutor(2, kind, batch_size=448) as ex, pytest.raises(ModelError):
        run(program, monkeypatch, cache, log=log, mode="late", at=448, batch=448, executor=ex)
    with LocalExecutor(2, kind, batch_size=448) as ex:
        same_sketch(run(program, monkeypatch, cache, executor=ex), clean)


def test_a_program_dying_mid_sketch_resumes_querying_only_the_missing_blocks(program, monkeypatch, tmp_path,
                                                                             clean):
    cache, log = tmp_path / "cache", tmp_path / "received.log"
    with pytest.raises(ModelError, match=r"exited with code 1 .*again after a restart; stderr: CUDA error"):
        run(program, monkeypatch, cache, log=log, mode="die", at=1000)
    first = log.stat().st_size
    assert 1000 < first < 1100  # died on line 1001; the restart died on its first line
    again = run(program, monkeypatch, cache, log=log)  # fixed: finishes, from the two cached blocks on
    received = log.stat().st_size - first
    assert received == PLAN.num_queries - 2 * PLAN.block_size  # only the missing blocks were queried
    assert again.report["queries"]["cached"] == 2 * PLAN.block_size
    same_sketch(again, clean)


def test_a_hanging_program_times_out_naming_it(program, monkeypatch, tmp_path):
    t0 = time.monotonic()
    with pytest.raises(ModelError, match=r"program 'model\.py' did not answer within 0\.5 s \(got \d+ of \d+"):
        run(program, monkeypatch, tmp_path / "cache", mode="hang", at=100, timeout=0.5)
    assert time.monotonic() - t0 < 30


def test_a_program_printing_fewer_lines_times_out(program, monkeypatch, tmp_path):
    with pytest.raises(ModelError, match=r"did not answer within 0\.5 s \(got 447 of 448 numbers"):
        run(program, monkeypatch, tmp_path / "cache", mode="fewer", at=10, timeout=0.5)


def test_endless_output_without_newline_is_capped(program, monkeypatch, tmp_path):
    """A program that writes forever without a newline: a named error at the line cap, long before its output
    could fill the memory (it was a MemoryError at 5.6 GB)."""
    t0 = time.monotonic()
    with pytest.raises(ModelError, match=r"program 'model\.py' wrote more than 1,024 bytes without a newline "
                                         r"\(output line 5\)"):
        run(program, monkeypatch, tmp_path / "cache", mode="endless", at=5)
    assert time.monotonic() - t0 < 30


def test_endless_output_stays_bounded_in_memory(program, tmp_path):
    """The same in a subprocess whose peak memory is measured: it stays within a few MB of an idle one."""
    probe = PROBE + textwrap.dedent(f"""
        import os, sys
        os.environ.update(MODE="endless", AT="1")
        from shapzero_core.models import load_model
        from shapzero_core.errors import ModelError
        m = load_model({spec(program)!r}, n={N_LEN})
        import numpy as np
        base = start_peak()
        try:
            m(np.zeros((1000, {N_LEN}), np.int8))
        except ModelError as e:
            print("error:", e, file=sys.stderr)
        print((peak() - base) // 1024)
    """)
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert "without a newline" in out.stderr
    assert int(out.stdout.split()[-1]) < 20_000  # KiB


def test_confirm_in_step_reports_surplus_after_the_last_answer(program, monkeypatch):
    monkeypatch.setenv("MODE", "late")
    monkeypatch.setenv("AT", "10")
    m = CommandModel([sys.executable, str(program)], n=N_LEN)
    X = np.random.default_rng(0).integers(0, 4, size=(10, N_LEN), dtype=np.int8)
    m(X)  # ten answers; the eleventh line comes 0.1 s later
    with pytest.raises(ModelError, match=r"the 10 answers .* may be out of step: .*printed more lines than the 10 "
                                         r"sequences it was given \(line 11, after its last answer"):
        m.confirm_in_step()
    monkeypatch.setenv("MODE", "ok")
    m(X)
    m.confirm_in_step()  # in step: nothing left over; the program is started again by the next call
    assert m.starts == 2
    m(X)
    m.close()
    with pytest.raises(ModelError, match=r"cannot be confirmed in step: the program was stopped"):
        m.confirm_in_step()
