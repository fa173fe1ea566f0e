"""DaskExecutor as a concurrent.futures executor: results, errors, cancel, lost workers (loopback only)."""

from __future__ import annotations

import concurrent.futures as cf
import os
import pickle
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from shapzero_core.dask_executor import DaskExecutor, ModelRef, portable_model

pytest.importorskip("distributed")

pytestmark = pytest.mark.timeout(180)


# -- task functions (module level: workers import them by name) ----------------------------------------
def _square(x: int) -> int:
    return x * x


def _pid_and_square(x: int, delay: float = 0.0) -> tuple[int, int]:
    time.sleep(delay)
    return os.getpid(), x * x


def _fail(x: int) -> int:
    raise ValueError(f"model failed on block {x}: output has NaN")


def _sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def _die_once(x: int, marker: str, delay: float) -> int:
    """Kill the worker process the first time block 3 runs (marker file absent), else return x*x."""
    time.sleep(delay)
    if x == 3 and not os.path.exists(marker):
        Path(marker).write_text(str(os.getpid()))
        os._exit(1)
    return x * x


class _SpecModel:
    """Looks like a ModelFn: callable with spec and identity."""

    spec = "tests.somewhere:model"
    identity = "ab" * 32
    n = 4

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return X.sum(axis=1).astype(np.float64)


def _describe(model: object) -> str:
    return repr(model)


# -- fixtures ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def threaded_executor():
    """An in-process LocalCluster (worker threads): cheap to start, enough for the protocol tests."""
    ex = DaskExecutor(n_workers=2, processes=False)
    yield ex
    ex.close()


# -- protocol ----------------------------------------------------------------------------------------------
def test_submit_and_map_return_results(threaded_executor):
    futures = [threaded_executor.submit(_square, i) for i in range(20)]
    assert sorted(f.result(timeout=30) for f in cf.as_completed(futures)) == [i * i for i in range(20)]
    assert list(threaded_executor.map(_square, range(7))) == [i * i for i in range(7)]
    assert threaded_executor.num_workers() == 2
    assert threaded_executor.total_threads() == 2


def test_task_error_reaches_caller_unchanged(threaded_executor):
    future = threaded_executor.submit(_fail, 5)
    with pytest.raises(ValueError, match=r"model failed on block 5: output has NaN"):
        future.result(timeout=30)
    assert isinstance(future.exception(), ValueError)
    assert threaded_executor.resubmitted == 0  # task errors are not retried


def test_cancel_pending_task_wakes_waiters(threaded_executor):
    # two worker threads busy for a while, then a queue of tasks that are cancelled before they start
    busy = [threaded_executor.submit(_sleep, 1.0) for _ in range(2)]
    queued = [threaded_executor.submit(_sleep, 30.0) for _ in range(4)]
    assert all(f.cancel() for f in queued)
    done, not_done = cf.wait(queued, timeout=10)
    assert not not_done and all(f.cancelled() for f in done)
    assert [f.result(timeout=30) for f in busy] == [1.0, 1.0]


def test_models_travel_as_their_spec():
    model = _SpecModel()
    ref = portable_model(model)
    assert isinstance(ref, ModelRef)
    assert ref.spec == model.spec and ref.identity == model.identity
    payload = pickle.dumps(ref)
    assert b"_SpecModel" not in payload and model.spec.encode() in payload
    assert pickle.loads(payload) == ref
    # anything else is left alone
    arr = np.zeros(3)
    assert portable_model(arr) is arr
    assert portable_model(_square) is _square
    assert portable_model(ref) is ref
    with pytest.raises(ValueError, match="non-empty spec"):
        ModelRef("")


def test_submit_replaces_model_arguments(threaded_executor):
    # the worker receives a ModelRef, not the user's object
    out = threaded_executor.submit(_describe, _SpecModel()).result(timeout=30)
    assert out.startswith("ModelRef(spec='tests.somewhere:model')")


def test_bad_addresses_are_clear_errors():
    with pytest.raises(ValueError, match="not a Dask scheduler address"):
        DaskExecutor("tcp://host:port/with/path")
    with pytest.raises(ConnectionError, match=r"could not connect to the Dask scheduler at tcp://127\.0\.0\.1:9"):
        DaskExecutor("tcp://127.0.0.1:9", timeout=1.0)


def test_missing_distributed_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r"pip install 'shapzero-studio\[dask\]'"):
        DaskExecutor()


def test_shutdown_rejects_new_work_and_closes_cluster():
    ex = DaskExecutor(n_workers=1, processes=False)
    assert ex.submit(_square, 3).result(timeout=30) == 9
    slow = ex.submit(_sleep, 2.0)
    ex.close()  # cancels the unfinished task instead of waiting for its result
    assert slow.cancelled()
    with pytest.raises(RuntimeError, match="shut down"):
        ex.submit(_square, 1)
    assert ex.cluster.status.name == "closed"


@pytest.fixture(scope="module")
def process_executor():
    """A LocalCluster of 2 worker processes."""
    ex = DaskExecutor(n_workers=2, processes=True)
    yield ex
    ex.close()


def test_local_cluster_listens_on_loopback_only(process_executor):
    psutil = pytest.importorskip("psutil")
    ex = process_executor
    pids = {os.getpid(), *ex.client.run(os.getpid).values()}
    listening = [
        c.laddr
        for pid in pids
        for c in psutil.Process(pid).net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    ]
    assert len(listening) >= 3  # scheduler + 2 workers (+ their small HTTP servers)
    assert {addr.ip for addr in listening} == {"127.0.0.1"}


def test_context_manager_waits_for_running_tasks():
    with DaskExecutor(n_workers=1, processes=False) as ex:
        f = ex.submit(_sleep, 0.3)
    assert f.done() and f.result() == 0.3


# -- lost workers (real processes) -----------------------------------------------------------------------
@pytest.mark.slow
def test_killed_worker_task_is_resubmitted(tmp_path):
    """allowed-failures=0: the scheduler gives up on a task whose worker died; the executor resubmits it."""
    dask = pytest.importorskip("dask")
    marker = tmp_path / "killed"
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with DaskExecutor(n_workers=2, processes=True, max_resubmits=2) as ex:
            futures = [ex.submit(_die_once, i, str(marker), 0.05) for i in range(8)]
            results = [f.result(timeout=120) for f in futures]
            assert results == [i * i for i in range(8)]
            assert marker.exists()  # a worker really died mid-task
            assert ex.resubmitted >= 1
            # the nanny restarted the dead worker
            deadline = time.monotonic() + 30
            while ex.num_workers() < 2 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert ex.num_workers() == 2


@pytest.mark.slow
def test_tasks_run_in_several_worker_processes(process_executor):
    barrier_free = [process_executor.submit(_pid_and_square, i, 0.2) for i in range(6)]
    out = [f.result(timeout=60) for f in barrier_free]
    assert [sq for _, sq in out] == [i * i for i in range(6)]
    pids = {pid for pid, _ in out}
    assert os.getpid() not in pids and len(pids) == 2


def test_resubmit_limit_reports_lost_worker(tmp_path):
    """With no resubmits allowed, a task killed with its worker fails with KilledWorker (not a hang)."""
    dask = pytest.importorskip("dask")
    from distributed.scheduler import KilledWorker

    marker = tmp_path / "killed"
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with DaskExecutor(n_workers=1, processes=True, max_resubmits=0) as ex:
            f = ex.submit(_die_once, 3, str(marker), 0.0)
            with pytest.raises(KilledWorker):
                f.result(timeout=120)
    assert marker.exists()


def test_lock_free_callbacks_do_not_deadlock(threaded_executor):
    # many tiny tasks settled from the callback thread while the caller waits
    lock = threading.Lock()
    seen: list[int] = []

    def record(f: cf.Future) -> None:
        with lock:
            seen.append(f.result())

    futures = [threaded_executor.submit(_square, i) for i in range(200)]
    for f in futures:
        f.add_done_callback(record)
    cf.wait(futures, timeout=60)
    assert sorted(seen) == sorted(i * i for i in range(200))


# -- command-line options and configuration -----------------------------------------------------------------
def _parser():
    import argparse

    from shapzero_core.dask_executor import add_dask_options

    p = argparse.ArgumentParser(prog="x")
    add_dask_options(p)
    return p


def test_dask_options_parse_and_validate(monkeypatch):
    from shapzero_core.dask_executor import SCHEDULER_ENV, dask_executor_from_options

    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    p = _parser()
    assert dask_executor_from_options(p.parse_args([])) is None
    args = p.parse_args(["--dask-scheduler", "tcp://10.1.2.3:8786"])
    assert args.dask_scheduler == "tcp://10.1.2.3:8786" and args.dask_local is None
    assert p.parse_args(["--dask-local", "3"]).dask_local == 3
    with pytest.raises(SystemExit):  # mutually exclusive
        p.parse_args(["--dask-local", "2", "--dask-scheduler", "tcp://a:1"])
    with pytest.raises(ValueError, match="--dask-local needs at least 1 worker, got 0"):
        dask_executor_from_options(p.parse_args(["--dask-local", "0"]))
    with pytest.raises(ValueError, match="not a Dask scheduler address: 'tcp://a b:1'"):
        dask_executor_from_options(p.parse_args(["--dask-scheduler", "tcp://a b:1"]))
    with pytest.raises(ValueError, match=r"could not connect to the Dask scheduler at tcp://127\.0\.0\.1:9"):
        dask_executor_from_options(p.parse_args(["--dask-scheduler", "tcp://127.0.0.1:9"]), timeout=1.0)


def test_scheduler_from_environment(monkeypatch):
    from shapzero_core.dask_executor import SCHEDULER_ENV, configured_scheduler, dask_executor_from_options

    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    assert configured_scheduler() is None
    monkeypatch.setenv(SCHEDULER_ENV, "  tcp://10.0.0.5:8786 ")
    assert configured_scheduler() == "tcp://10.0.0.5:8786"
    monkeypatch.setenv(SCHEDULER_ENV, "http://x:1/path")
    with pytest.raises(ValueError, match=r"\$SHAPZERO_DASK_SCHEDULER: not a Dask scheduler address"):
        configured_scheduler()
    # the environment is used by the command line when no option is given
    with pytest.raises(ValueError, match=r"\$SHAPZERO_DASK_SCHEDULER"):
        dask_executor_from_options(_parser().parse_args([]))
