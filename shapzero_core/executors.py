"""Executors that evaluate sketch query chunks: :class:`LocalExecutor` (threads or processes on this machine).

Any :class:`concurrent.futures.Executor` works with :func:`shapzero_core.sketch.sketch_model`;
:class:`DaskExecutor` (re-exported here from :mod:`shapzero_core.dask_executor`, extra ``dask``) runs the
tasks on a Dask cluster. An executor may carry a ``batch_size`` attribute: the number of
queries per task (default 4,096), which is also the granularity of progress events and of cancellation.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
from collections.abc import Callable
from typing import Any

from .dask_executor import DaskExecutor, portable_model

__all__ = ["DEFAULT_BATCH_SIZE", "DaskExecutor", "LocalExecutor"]

DEFAULT_BATCH_SIZE = 4096


class LocalExecutor(cf.Executor):
    """Evaluate tasks on a local thread or process pool.

    Parameters
    ----------
    workers : int
        Number of worker threads or processes. Default 1.
    kind : {"thread", "process"}
        Threads (default; models that release the GIL such as ONNX Runtime, or that wait on I/O such as
        inference servers and external programs) or processes (pure-Python models). Process workers receive
        models that have a ``spec`` as that spec and rebuild them (no pickled user objects); other callables
        must be picklable.
    batch_size : int
        Queries per task. Default 4,096.
    """

    def __init__(self, workers: int = 1, kind: str = "thread", batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        if int(workers) < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        if kind not in ("thread", "process"):
            raise ValueError(f"kind must be 'thread' or 'process', got {kind!r}")
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.workers = int(workers)
        self.kind = kind
        self.batch_size = int(batch_size)
        if kind == "thread":
            self._pool: cf.Executor = cf.ThreadPoolExecutor(self.workers, thread_name_prefix="shapzero-query")
        else:
            self._pool = cf.ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))

    @property
    def max_workers(self) -> int:
        """Tasks that run at once."""
        return self.workers

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future:
        if self.kind == "process":
            args = tuple(portable_model(a) for a in args)
            kwargs = {k: portable_model(v) for k, v in kwargs.items()}
        return self._pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)

    def __repr__(self) -> str:
        return f"LocalExecutor(workers={self.workers}, kind={self.kind!r}, batch_size={self.batch_size})"
