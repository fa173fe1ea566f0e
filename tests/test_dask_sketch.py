"""sketch_model on a Dask cluster: same result as locally, progress, cancel and resume anywhere, model errors,
killed workers, and the command-line helpers. Every cluster is a LocalCluster on 127.0.0.1.

The models come from ``tests/dask_models.py`` by their ``module:function`` spec, so multi-process workers
rebuild them from the spec (workers are spawned with the test process's import path).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import hashlib
import json
import os
import signal
import time

import dask_models as dm  # tests/dask_models.py: tests/ is on the import path when pytest collects this file
import numpy as np
import pytest

from shapzero_core import sketch_model
from shapzero_core.dask_executor import (
    SCHEDULER_ENV,
    DaskError,
    DaskExecutor,
    add_dask_options,
    dask_executor_from_options,
)
from shapzero_core.errors import ModelError, SketchError
from shapzero_core.models import load_model
from shapzero_core.progress import Cancelled, CancelToken
from shapzero_core.sketch import plan_sketch

pytest.importorskip("distributed")

pytestmark = pytest.mark.timeout(120)

BATCH = 192  # 3 tasks per block of 576 queries


def _model(name: str = "planted"):
    return load_model(f"dask_models:{name}", n=dm.N)


@pytest.fixture(scope="module")
def local_sketch():
    """The reference: the planted model sketched inline, in this process."""
    return sketch_model(_model(), config=dm.CONFIG, batch_size=BATCH)


@pytest.fixture(scope="module")
def threaded():
    """An in-process LocalCluster (2 worker threads, processes=False)."""
    ex = DaskExecutor(n_workers=2, processes=False)
    yield ex
    ex.close()


@pytest.fixture(scope="module")
def dask_local():
    """``--dask-local 2``: a LocalCluster of 2 worker processes made by the command-line helper."""
    parser = argparse.ArgumentParser()
    add_dask_options(parser)
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(SCHEDULER_ENV, raising=False)
        ex = dask_executor_from_options(parser.parse_args(["--dask-local", "2"]))
    yield ex
    ex.close()


def _same(a, b) -> None:
    assert np.array_equal(a.locations, b.locations)
    assert np.array_equal(a.coefficients, b.coefficients)


def _cached_specs() -> list[str]:
    """Specs of the models rebuilt in this process (run on the workers with client.run)."""
    from shapzero_core import dask_executor

    return [m.spec for m in dask_executor._MODEL_CACHE.values()]


def _manifest_blocks(cache_dir) -> dict:
    (manifest,) = list(cache_dir.glob("*/manifest.json"))
    return json.loads(manifest.read_text())["blocks"]


def _digest(X: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(X, dtype=np.int8).tobytes()).hexdigest()


# -- same seed, same sketch -------------------------------------------------------------------------------
def test_in_process_cluster_gives_the_local_sketch_with_progress(threaded, local_sketch):
    events: list[tuple[str, int, int]] = []
    sketch = sketch_model(_model(), config=dm.CONFIG, executor=threaded, batch_size=BATCH,
                          progress=lambda stage, done, total, msg: events.append((stage, done, total)))
    _same(sketch, local_sketch)
    assert sketch.report["r2"] > 0.999
    assert sketch.report["queries"] == local_sketch.report["queries"]
    query = [(d, t) for s, d, t in events if s == "query"]
    total = plan_sketch(dm.N, 4, dm.CONFIG).num_queries
    assert query[0] == (0, total) and query[-1] == (total, total)
    assert [d for d, _ in query] == sorted(d for d, _ in query)  # never backwards
    assert len(query) >= total // BATCH  # one event per finished task
    assert [s for s, _, _ in events][-1] == "done"


@pytest.mark.slow
def test_worker_processes_rebuild_the_model_from_its_spec(dask_local, local_sketch):
    """--dask-local 2: worker processes, the model travels as its spec; same sketch as locally."""
    ex = dask_local
    assert ex.processes and ex.num_workers() == 2 and ex.cluster is not None
    assert all(pid != os.getpid() for pid in ex.client.run(os.getpid).values())
    model = _model()
    sketch = sketch_model(model, config=dm.CONFIG, executor=ex, batch_size=BATCH)
    rebuilt = ex.client.run(_cached_specs)
    _same(sketch, local_sketch)
    assert sketch.report["queries"]["queried"] == local_sketch.report["queries"]["queried"]
    assert len(rebuilt) == 2 and all(model.spec in specs for specs in rebuilt.values())


def test_connect_to_a_running_scheduler_by_address(threaded, local_sketch, monkeypatch):
    """--dask-scheduler ADDRESS and $SHAPZERO_DASK_SCHEDULER give executors on that scheduler's workers."""
    parser = argparse.ArgumentParser()
    add_dask_options(parser)
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    args = parser.parse_args(["--dask-scheduler", threaded.scheduler_address])
    with dask_executor_from_options(args, timeout=10) as ex:
        assert ex.cluster is None and ex.scheduler_address == threaded.scheduler_address
        _same(sketch_model(_model(), config=dm.CONFIG, executor=ex, batch_size=BATCH), local_sketch)
    monkeypatch.setenv(SCHEDULER_ENV, threaded.scheduler_address)
    with dask_executor_from_options(parser.parse_args([]), timeout=10) as ex:
        assert ex.scheduler_address == threaded.scheduler_address
    assert threaded.num_workers() == 2  # closing a connected executor leaves the cluster running


def test_scheduler_without_workers_is_a_clear_error():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=0, processes=False, host="127.0.0.1", protocol="tcp",
                                  dashboard_address=None, scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}) as cl:
        parser = argparse.ArgumentParser()
        add_dask_options(parser)
        args = parser.parse_args(["--dask-scheduler", cl.scheduler_address])
        with pytest.raises(ValueError, match=r"has 0 worker\(s\), waited 1 s for 1; start workers with: dask worker"):
            dask_executor_from_options(args, timeout=1.0)


def test_executor_batch_size_is_used(threaded, local_sketch):
    with DaskExecutor(threaded.scheduler_address, batch_size=BATCH) as ex:
        events: list[int] = []
        sketch = sketch_model(_model(), config=dm.CONFIG, executor=ex,
                              progress=lambda s, d, t, m: events.append(d) if s == "query" else None)
    _same(sketch, local_sketch)
    plan = plan_sketch(dm.N, 4, dm.CONFIG)
    tasks = sum(len(plan.chunks(nm, BATCH)) for nm in [plan.block_name(c, p) for c, p in plan.blocks] + ["test"])
    assert len(events) == 1 + tasks  # the start, then one event per task of BATCH queries
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        DaskExecutor(threaded.scheduler_address, batch_size=0)


# -- interrupted on the cluster, resumed anywhere -------------------------------------------------------
@pytest.mark.parametrize("how", ["cancel", "close"])
def test_interrupted_dask_sketch_resumes_locally_without_requerying(tmp_path, local_sketch, how):
    plan = plan_sketch(dm.N, 4, dm.CONFIG)
    token = CancelToken()
    ex = DaskExecutor(n_workers=2, processes=False)

    def progress(stage: str, done: int, total: int, msg: str) -> None:
        if stage == "query" and done >= total // 2:
            token.cancel() if how == "cancel" else ex.close()  # the cluster goes away under the sketch

    # closed executor: the running tasks are cancelled, the next submit is refused
    expected = Cancelled if how == "cancel" else (cf.CancelledError, RuntimeError)
    try:
        with pytest.raises(expected):
            sketch_model(dm.Recorder(), config=dm.CONFIG, executor=ex, cache_dir=tmp_path, batch_size=BATCH,
                         progress=progress, cancel=token)
    finally:
        ex.close()
    finished = _manifest_blocks(tmp_path)
    assert 0 < len(finished) < plan.num_blocks + 1

    model = dm.Recorder()  # same identity: finds the cache
    resumed = sketch_model(model, config=dm.CONFIG, cache_dir=tmp_path, batch_size=BATCH)
    _same(resumed, local_sketch)
    names = [plan.block_name(c, p) for c, p in plan.blocks] + ["test"]
    todo = [nm for nm in names if nm not in finished]
    expected_batches = {_digest(ch.sequences()) for nm in todo for ch in plan.chunks(nm, BATCH)}
    assert sorted(_digest(X) for X in model.batches) == sorted(expected_batches)  # nothing finished re-queried
    q = resumed.report["queries"]
    cached = sum(v["length"] for v in finished.values())
    assert q["cached"] == cached and q["queried"] == plan.num_queries - cached


# -- model errors ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["threaded", "dask_local"])
def test_model_error_on_a_worker_is_the_local_error(tmp_path, where, request):
    model = _model("nan_model")
    with pytest.raises(ModelError) as local:
        sketch_model(model, config=dm.CONFIG, batch_size=BATCH)
    assert "the held-out test set, rows 0-191" in str(local.value)
    assert "returned NaN for 1 of 192 sequences" in str(local.value)
    assert "first: row 7, " + "".join("ACGT"[c] for c in dm.BAD) in str(local.value)
    ex = request.getfixturevalue(where)  # worker threads of this process, or worker processes
    with pytest.raises(ModelError) as remote:
        sketch_model(model, config=dm.CONFIG, executor=ex, cache_dir=tmp_path, batch_size=BATCH)
    assert str(remote.value) == str(local.value)
    assert type(remote.value) is type(local.value)
    assert len(_manifest_blocks(tmp_path)) == plan_sketch(dm.N, 4, dm.CONFIG).num_blocks  # kept in the cache


class _Unloadable:
    """A model whose spec no worker can load."""

    spec = "no_such_module_for_dask_tests:model"
    identity = "ff" * 32
    n = dm.N

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return dm.planted(X)


def test_worker_that_cannot_rebuild_the_model_says_so(threaded):
    message = (r"could not rebuild the model 'no_such_module_for_dask_tests:model' on Dask worker "
               r"tcp://127\.0\.0\.1:\d+ .*PYTHONPATH")
    with pytest.raises(ModelError, match=message):
        sketch_model(_Unloadable(), config=dm.CONFIG, executor=threaded, batch_size=BATCH)
    with pytest.raises(ModelError, match=message):  # preload: the same error before any query
        threaded.preload(_Unloadable())


def test_preload_rebuilds_the_model_on_every_worker(threaded):
    assert threaded.preload(_model()) == {w: "planted" for w in threaded.worker_addresses()}
    assert threaded.preload(dm.planted) == {}  # a plain function travels with each task: nothing to preload


class _LongSpec:
    """A model whose spec is long (like ONNX bytes embedded in the spec): padded JSON for ``dask_models``."""

    n = dm.N

    def __init__(self, function: str = "planted") -> None:
        self.spec = json.dumps({"model": f"dask_models:{function}", "n": dm.N}) + " " * 100_000
        self.identity = f"dask-sketch-tests-long-{function}"

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return dm.planted(X)


def test_long_spec_is_sent_to_the_workers_once(threaded, local_sketch):
    with DaskExecutor(threaded.scheduler_address) as ex:
        sketch = sketch_model(_LongSpec(), config=dm.CONFIG, executor=ex, batch_size=BATCH)
        (scattered,) = ex._scattered.values()  # one copy for all 30 tasks
        holders = ex.client.who_has([scattered])[scattered.key]
        # broadcast to the workers present at scatter time; a worker that (re)joined later fetches it from a
        # peer on first use, so "every worker" is not guaranteed at this moment (seen once in CI)
        assert holders and set(holders) <= set(threaded.worker_addresses())
    _same(sketch, local_sketch)


# -- a worker killed during the sketch -----------------------------------------------------------------------
@pytest.mark.slow
def test_sketch_survives_a_killed_worker_process(local_sketch):
    """SIGKILL one of two worker processes while it runs a task: its tasks go to the other (and to the
    restarted) worker, and the sketch equals the local one. The model has a long spec, scattered to the
    workers once: the restarted worker gets it from the surviving one."""
    psutil = pytest.importorskip("psutil")
    killed: dict[str, int] = {}
    with DaskExecutor(n_workers=2, processes=True) as ex:
        pids = ex.client.run(os.getpid)

        def progress(stage: str, done: int, total: int, msg: str) -> None:
            if stage != "query" or killed or done < total // 3:
                return
            busy = {w: len(keys) for w, keys in ex.client.processing().items() if keys}
            victim = max(busy, key=busy.get) if busy else sorted(pids)[0]
            os.kill(pids[victim], signal.SIGKILL)
            killed[victim] = pids[victim]

        sketch = sketch_model(_LongSpec("slow_planted"), config=dm.CONFIG, executor=ex, batch_size=BATCH // 2,
                              progress=progress)
        assert len(ex._scattered) == 1
        (victim, pid), = killed.items()
        deadline = time.monotonic() + 30
        while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline, "the killed worker process is still running"
            time.sleep(0.1)
        assert victim not in ex.worker_addresses()
    _same(sketch, local_sketch)
    assert sketch.report["queries"]["queried"] == local_sketch.report["queries"]["queried"]


def test_lost_scheduler_stops_the_sketch_with_a_dask_error(tmp_path):
    """The scheduler goes away mid-sketch: a DaskError (a SketchError) says so; the finished blocks stay cached."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, processes=False, host="127.0.0.1", protocol="tcp",
                                       dashboard_address=None, scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
    ex = DaskExecutor(cluster.scheduler_address)
    stopped: list[int] = []

    def progress(stage: str, done: int, total: int, msg: str) -> None:
        if stage == "query" and done >= total // 3 and not stopped:
            stopped.append(done)
            cluster.close()

    try:
        with pytest.raises(SketchError, match=r"the Dask cluster at tcp://127\.0\.0\.1:\d+ cancelled a task .*"
                                              r"a sketch resumes from its query cache") as err:
            sketch_model(_model(), config=dm.CONFIG, executor=ex, cache_dir=tmp_path, batch_size=BATCH,
                         progress=progress)
    finally:
        ex.close()
        cluster.close()
    assert isinstance(err.value, DaskError) and stopped
    assert 0 < len(_manifest_blocks(tmp_path)) < plan_sketch(dm.N, 4, dm.CONFIG).num_blocks + 1
