"""Run sketch query blocks on a Dask cluster: :class:`DaskExecutor` and :class:`ModelRef`.

:class:`DaskExecutor` is a :class:`concurrent.futures.Executor` backed by a ``distributed.Client``, so
``sketch_model(..., executor=DaskExecutor(...))`` spreads the query blocks over every worker of a cluster
(or of a :class:`distributed.LocalCluster` started on this machine when no scheduler address is given)::

    from shapzero_core import sketch_model
    from shapzero_core.dask_executor import DaskExecutor
    from shapzero_core.models import load_model

    model = load_model("demo:guide_rna")
    with DaskExecutor("tcp://10.0.0.5:8786", wait_for_workers=1) as ex:   # or DaskExecutor(n_workers=4)
        ex.preload(model)                 # optional: every worker loads the model now (fails fast)
        sketch = sketch_model(model, budget=500_000, executor=ex, cache_dir="cache/")

With ``sketch_model``: each task evaluates one chunk of a query block (``batch_size`` queries, the
executor's ``batch_size`` or the engine's 4,096); about twice as many tasks as worker threads are in
flight. Progress events and cancellation work as with the local executor (the sketch's loop runs in the
caller's thread). The results come back to the caller, which writes finished blocks to its query cache:
a sketch interrupted on the cluster (cancelled, cluster gone, machine off) resumes from that cache with any
executor, and the result is identical to a local run with the same plan (a model's values do not depend
on where they are computed; keep the same batch size for models whose output depends on the batch).

Models travel as their ``spec`` string, never as a pickled user object where it can be avoided: every
argument of a submitted task that is a model (a callable with a string ``spec`` attribute) is replaced by
a :class:`ModelRef`, which pickles as that string and rebuilds the model on the worker with
:func:`shapzero_core.models.load_model`, once per worker process. Long specs (ONNX bytes embedded in the
spec) are sent once and replicated to every worker. Workers of a real cluster need ``shapzero-studio``
installed (the same version), and must be able to load the spec: ``module:function`` needs the module on
their path, ``onnx:<path>`` a path they can read (a shared folder), ``cmd:`` the program; embedded ONNX
bytes and ``http(s)://`` servers need nothing else. A worker that cannot rebuild the model raises a
:class:`~shapzero_core.errors.ModelError` naming the worker.

Lost workers: the Dask scheduler moves the tasks of a worker that died to the remaining ones (and
recomputes results it held); a task whose workers died more often than the scheduler allows
(``distributed.scheduler.allowed-failures``) fails with ``KilledWorker``, and one whose connection broke
fails with ``CommClosedError``. Such tasks are submitted again (up to ``max_resubmits`` times). Errors
raised by the task itself (a model that raises, or returns NaN) are never retried: they reach the caller
unchanged, so a sketch stops with the same ModelError as locally. A task cancelled by the cluster (the
scheduler or the connection to it was lost) fails with :class:`DaskError`.

Configuration: ``$SHAPZERO_DASK_SCHEDULER`` names a scheduler (:func:`configured_scheduler`); the command
line gets ``--dask-scheduler`` / ``--dask-local`` from :func:`add_dask_options` and the executor from
:func:`dask_executor_from_options`.

``dask[distributed]`` is an optional dependency (``pip install 'shapzero-studio[dask]'``); it is imported
only when a :class:`DaskExecutor` is created.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import hashlib
import importlib
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ModelError, SketchError

__all__ = [
    "SCHEDULER_ENV",
    "DaskError",
    "DaskExecutor",
    "ModelRef",
    "add_dask_options",
    "clear_model_cache",
    "configured_scheduler",
    "dask_executor_from_options",
    "portable_model",
]

_INSTALL_HINT = "pip install 'shapzero-studio[dask]'"

# rebuilt models, per (worker) process, keyed by the sha256 of their spec; a small LRU
_MODEL_CACHE: OrderedDict[str, Any] = OrderedDict()
_MODEL_CACHE_SIZE = 4
_MODEL_CACHE_LOCK = threading.Lock()

# specs longer than this (ONNX bytes embedded in the spec) are scattered to the workers once
_SCATTER_SPEC_BYTES = 64 * 1024

_ADDRESS_RE = re.compile(r"^(?:(tcp|tls|ucx|ws|wss|inproc)://)?[^\s/:]+(?::\d{1,5})?$")


def _import_distributed() -> Any:
    """Import ``distributed`` or raise an ImportError saying how to install it."""
    try:
        return importlib.import_module("distributed")
    except ImportError as e:
        raise ImportError(
            f"DaskExecutor needs dask.distributed, which is not installed ({e}); "
            f"install it with: {_INSTALL_HINT}"
        ) from e


def _spec_key(spec: str) -> str:
    return hashlib.sha256(spec.encode("utf-8")).hexdigest()


def _load_cached(spec: str) -> Any:
    """The model rebuilt from ``spec``, loaded at most once per process (LRU of a few models)."""
    key = _spec_key(spec)
    with _MODEL_CACHE_LOCK:
        model = _MODEL_CACHE.get(key)
        if model is not None:
            _MODEL_CACHE.move_to_end(key)
            return model
    from .models import load_model  # imported here: only workers that run a model need it

    model = load_model(spec)
    with _MODEL_CACHE_LOCK:
        _MODEL_CACHE[key] = model
        _MODEL_CACHE.move_to_end(key)
        while len(_MODEL_CACHE) > _MODEL_CACHE_SIZE:
            _MODEL_CACHE.popitem(last=False)
    return model


def clear_model_cache() -> None:
    """Forget every model rebuilt in this process (tests; freeing memory on a long-lived worker)."""
    with _MODEL_CACHE_LOCK:
        _MODEL_CACHE.clear()


@dataclass(frozen=True)
class ModelRef:
    """A model that travels as its ``spec`` string and is rebuilt where it is called.

    Calling a ``ModelRef`` (or reading ``n``, ``alphabet``, ``name``) loads the model with
    :func:`shapzero_core.models.load_model` the first time in each process and reuses it afterwards.

    Parameters
    ----------
    spec : str
        The model's ``spec`` (an ONNX path or embedded bytes, ``module:function``, ``cmd:...``, a URL).
    identity : str
        The model's ``identity`` (sha256 hex used by the query cache); kept so that code reading
        ``model.identity`` works without loading the model.
    """

    spec: str
    identity: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.spec, str) or not self.spec:
            raise ValueError(f"ModelRef needs a non-empty spec string, got {self.spec!r}")

    def load(self) -> Any:
        """The rebuilt model (cached per process).

        Raises
        ------
        ModelError
            If the model cannot be rebuilt here (e.g. a ``module:function`` whose module this worker
            cannot import, an ONNX path missing on this machine); the message names the host.
        """
        return _rebuild(self.spec)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """Predict: ``X`` int8 (N, n) -> float64 (N,)."""
        return self.load()(X)

    def confirm_in_step(self) -> None:
        """The rebuilt model's ``confirm_in_step()`` (external programs check their answers were in step)."""
        fn = getattr(self.load(), "confirm_in_step", None)
        if callable(fn):
            fn()

    @property
    def n(self) -> int | None:
        """Sequence length of the rebuilt model."""
        return self.load().n

    @property
    def alphabet(self) -> Any:
        """Alphabet of the rebuilt model."""
        return self.load().alphabet

    @property
    def name(self) -> str:
        """Name of the rebuilt model."""
        return self.load().name

    def __repr__(self) -> str:
        spec = self.spec if len(self.spec) <= 60 else self.spec[:57] + "..."
        return f"ModelRef(spec={spec!r})"


def _where(address: str | None = None) -> str:
    """``Dask worker tcp://... (host h, pid p)`` on a Dask worker, else ``host h (pid p)``."""
    import socket

    if address is None:
        try:
            from distributed import get_worker

            address = get_worker().address
        except Exception:
            address = None
    where = f"host {socket.gethostname()}, pid {os.getpid()}"
    return f"Dask worker {address} ({where})" if address else where


def _rebuild(spec: str, address: str | None = None) -> Any:
    """The model of ``spec`` (cached per process), or a ModelError that names this worker."""
    try:
        return _load_cached(spec)
    except Exception as e:
        short = spec if len(spec) <= 80 else spec[:77] + "..."
        raise ModelError(
            f"could not rebuild the model {short!r} on {_where(address)}: {type(e).__name__}: {e} "
            "(every Dask worker must be able to load the model's spec: install shapzero-studio and the "
            "model's module there, put it on the workers' PYTHONPATH, or use a path they can read)"
        ) from e


def _preload(spec: str, dask_worker: Any = None) -> str:
    """Rebuild the model of ``spec`` in this worker process (``client.run`` passes ``dask_worker``); its name."""
    address = getattr(dask_worker, "address", None)
    return str(getattr(_rebuild(spec, address), "name", ""))


def portable_model(obj: Any) -> Any:
    """``obj`` as it should travel to a worker: a :class:`ModelRef` if it is a model with a spec.

    A model is any callable with a non-empty string ``spec`` attribute (the ``ModelFn`` protocol).
    Anything else (arrays, block descriptions, plain functions) is returned unchanged.
    """
    if isinstance(obj, ModelRef) or not callable(obj) or isinstance(obj, type):
        return obj
    spec = getattr(obj, "spec", None)
    if isinstance(spec, str) and spec:
        identity = getattr(obj, "identity", "")
        return ModelRef(spec, identity if isinstance(identity, str) else "")
    return obj


def _check_address(address: str) -> str:
    address = address.strip()
    if not _ADDRESS_RE.match(address):
        raise ValueError(
            f"not a Dask scheduler address: {address!r} (expected tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786)"
        )
    return address


class DaskExecutor(cf.Executor):
    """A ``concurrent.futures`` executor that runs tasks on a Dask cluster.

    Parameters
    ----------
    address : str or None
        Scheduler address (``tcp://HOST:PORT``). ``None`` starts a :class:`distributed.LocalCluster`
        on this machine: ``n_workers`` worker processes (or threads, ``processes=False``), everything
        bound to 127.0.0.1, without dashboards; it is shut down with the executor.
    n_workers : int
        Workers of the local cluster (ignored when ``address`` is given). Default 2.
    threads_per_worker : int
        Threads per local worker. Default 1 (one block at a time per worker process).
    processes : bool
        Local workers as separate processes (default) or as threads of this process.
    max_resubmits : int
        How many times a task lost with its worker (``KilledWorker``, ``CommClosedError``) is submitted
        again before its future fails. Default 3. Errors raised by the task itself are never retried.
    timeout : float
        Seconds to wait for the scheduler connection. Default 30.
    client : distributed.Client or None
        Use this existing client instead (``address``, ``n_workers`` ... are then ignored); it is not
        closed by :meth:`shutdown`.
    memory_limit : str or int
        Memory limit of each local worker (Dask syntax, e.g. ``"2GiB"``). Default ``"auto"``.
    batch_size : int or None
        Queries per task when used by :func:`~shapzero_core.sketch.sketch_model` (its ``batch_size``
        argument wins). None: the engine's default (4,096, as for the local executor; keep the same value
        for a local and a cluster run of a model whose output depends on the batch, e.g. float32 ONNX).
        Smaller batches give finer progress and cancellation and lose less work with a killed worker.
    wait_for_workers : int
        After connecting, wait (up to ``timeout`` seconds) until at least this many workers are
        connected; raises ``ConnectionError`` otherwise. Default 0 (do not wait). A local cluster
        always waits for its workers.

    Notes
    -----
    Every argument of :meth:`submit` that is a model with a ``spec`` is sent as a :class:`ModelRef`.
    A spec longer than 64 KiB (ONNX bytes embedded in the spec) is sent to the workers once (Dask
    ``scatter``, replicated to every worker) and reused by every task, not pickled into each task.
    Results are returned to this process; writing them to the query cache stays the caller's job, so
    a cluster run and a local run share one cache (a sketch interrupted on the cluster resumes anywhere).

    The results of a task never depend on the worker that ran it, so a task moved to another worker
    (lost worker, work stealing) gives exactly the same values: a sketch on the cluster equals a local
    one with the same seed and batch size.

    Examples
    --------
    >>> with DaskExecutor(n_workers=4) as ex:                      # doctest: +SKIP
    ...     sketch = sketch_model(model, n=26, budget=500_000, executor=ex)
    """

    def __init__(
        self,
        address: str | None = None,
        n_workers: int = 2,
        *,
        threads_per_worker: int = 1,
        processes: bool = True,
        max_resubmits: int = 3,
        timeout: float = 30.0,
        client: Any = None,
        memory_limit: str | int = "auto",
        batch_size: int | None = None,
        wait_for_workers: int = 0,
    ) -> None:
        if batch_size is not None and int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if int(wait_for_workers) < 0:
            raise ValueError(f"wait_for_workers must be >= 0, got {wait_for_workers}")
        self.batch_size = int(batch_size) if batch_size is not None else None
        self.address = address
        self.n_workers = n_workers
        self.threads_per_worker = threads_per_worker
        self.processes = processes
        self.max_resubmits = max_resubmits
        self.timeout = timeout
        self.memory_limit = memory_limit
        if max_resubmits < 0:
            raise ValueError(f"max_resubmits must be >= 0, got {max_resubmits}")
        distributed = _import_distributed()
        from distributed.comm.core import CommClosedError
        from distributed.scheduler import KilledWorker

        self._lost_errors: tuple[type[BaseException], ...] = (KilledWorker, CommClosedError)
        self._cluster: Any = None
        self._own_client = client is None
        self._lock = threading.Lock()
        self._pending: set[Any] = set()  # distributed futures not finished yet
        self._unsettled: set[cf.Future] = set()  # futures handed out and not settled yet
        self._shutdown = False
        self.resubmitted = 0  # tasks submitted again after a lost worker (for reports and tests)
        self._scattered: dict[str, Any] = {}  # sha256 of a long spec -> Dask future of its ModelRef
        if client is not None:
            self._client = client
            return
        if address is None:
            if int(n_workers) < 1:
                raise ValueError(f"n_workers must be >= 1, got {n_workers}")
            if int(threads_per_worker) < 1:
                raise ValueError(f"threads_per_worker must be >= 1, got {threads_per_worker}")
            # everything on the loopback interface: scheduler, workers, and the scheduler's small HTTP
            # server (health and metrics; it starts even without a dashboard, on port 8787 by default)
            self._cluster = distributed.LocalCluster(
                n_workers=int(n_workers),
                threads_per_worker=int(threads_per_worker),
                processes=processes,
                host="127.0.0.1",
                protocol="tcp",
                dashboard_address=None,
                worker_dashboard_address=None,
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                memory_limit=memory_limit,
            )
            try:
                self._client = distributed.Client(self._cluster, set_as_default=False, timeout=timeout)
            except BaseException:
                self._cluster.close()
                raise
        else:
            addr = _check_address(address)
            try:
                self._client = distributed.Client(addr, set_as_default=False, timeout=timeout)
            except (OSError, TimeoutError) as e:
                raise ConnectionError(
                    f"could not connect to the Dask scheduler at {addr} within {timeout:g} s: {e}"
                ) from e
            if int(wait_for_workers) > 0:
                try:
                    self._client.wait_for_workers(int(wait_for_workers), timeout=timeout)
                except (OSError, TimeoutError) as e:
                    have = self.num_workers()
                    self._client.close()
                    raise ConnectionError(
                        f"the Dask scheduler at {addr} has {have} worker(s), waited {timeout:g} s for "
                        f"{int(wait_for_workers)}; start workers with: dask worker {addr}"
                    ) from e

    # -- information --------------------------------------------------------------------------------
    @property
    def client(self) -> Any:
        """The ``distributed.Client`` (for advanced use: ``client.run``, dashboards, ...)."""
        return self._client

    @property
    def cluster(self) -> Any:
        """The local cluster started by this executor, or None when connected to a scheduler."""
        return self._cluster

    @property
    def scheduler_address(self) -> str:
        """Address of the scheduler the tasks go to."""
        return str(self._client.scheduler.address)

    def worker_addresses(self) -> list[str]:
        """Addresses of the workers currently connected to the scheduler."""
        info = self._client.scheduler_info(n_workers=-1)
        return sorted(info.get("workers", {}))

    def num_workers(self) -> int:
        """Number of workers currently connected."""
        return len(self.worker_addresses())

    @property
    def max_workers(self) -> int:
        """Tasks that run at once right now (total worker threads); the sketch keeps about twice as many
        in flight."""
        return self.total_threads()

    def total_threads(self) -> int:
        """Total worker threads (how many tasks run at once); useful to size the number of blocks in flight."""
        info = self._client.scheduler_info(n_workers=-1)
        return sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values())

    def preload(self, model: Any) -> dict[str, str]:
        """Rebuild ``model`` from its spec on every connected worker now, before any query.

        Optional: workers rebuild a model on their first task anyway (and workers that join later still
        do). Preloading fails fast, before the sketch starts, when a worker cannot load the model, and
        keeps the loading time out of the first tasks.

        Parameters
        ----------
        model : ModelFn or ModelRef
            A model with a ``spec``. Anything else (a plain callable) is sent with each task and has
            nothing to preload.

        Returns
        -------
        dict
            Worker address -> name of the rebuilt model (empty for a model without a spec).

        Raises
        ------
        ModelError
            If a worker cannot rebuild the model (the message names the worker).
        """
        ref = portable_model(model)
        if not isinstance(ref, ModelRef):
            return {}
        return dict(self._client.run(_preload, ref.spec))

    def __repr__(self) -> str:
        where = self.address or f"LocalCluster({self.n_workers} workers)"
        return f"DaskExecutor({where}, shutdown={self._shutdown})"

    # -- executor protocol --------------------------------------------------------------------------
    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future:
        """Run ``fn(*args, **kwargs)`` on a worker; models among the arguments travel as specs.

        Returns
        -------
        concurrent.futures.Future
            Resolves to the task's result, or to the exception it raised (same type and message as a
            local run). Cancelling it cancels the Dask task.
        """
        if self._shutdown:
            raise RuntimeError("cannot schedule new futures after the DaskExecutor was shut down")
        cf_future: cf.Future = cf.Future()
        state = {"dask": None, "attempt": 0}

        def on_cf_done(f: cf.Future) -> None:
            if f.cancelled():
                f.set_running_or_notify_cancel()  # wakes wait() / as_completed()
                fut = state["dask"]
                if fut is not None and fut.status != "cancelled":
                    fut.cancel()

        def launch() -> None:
            # (again on a resubmit: a scattered spec lost with its workers is scattered anew)
            a = tuple(self._portable(v) for v in args)
            kw = {k: self._portable(v) for k, v in kwargs.items()}
            fut = self._client.submit(fn, *a, pure=False, **kw)
            with self._lock:
                state["dask"] = fut
                self._pending.add(fut)
            fut.add_done_callback(on_dask_done)

        def on_dask_done(fut: Any) -> None:
            with self._lock:
                self._pending.discard(fut)
            if cf_future.done():  # cancelled by the caller
                return
            status = fut.status
            if status == "finished":
                try:
                    result = fut.result()
                except BaseException as e:  # the result could not be fetched (e.g. worker lost meanwhile)
                    _settle_error(e)
                    return
                _set(cf_future, result=result)
            elif status == "cancelled":
                # not by the caller (cf_future is not done): by the cluster, e.g. the scheduler was lost
                try:
                    fut.result(timeout=1)
                    reason: BaseException = cf.CancelledError("unknown reason")
                except BaseException as e:
                    reason = e
                _settle_error(reason)
            else:
                exc = fut.exception()
                tb = fut.traceback()
                _settle_error(exc.with_traceback(tb) if tb is not None else exc)

        def _settle_error(exc: BaseException) -> None:
            lost = isinstance(exc, self._lost_errors)
            if lost and state["attempt"] < self.max_resubmits and not self._shutdown:
                state["attempt"] += 1
                with self._lock:
                    self.resubmitted += 1
                try:
                    launch()
                    return
                except BaseException as e:  # the client itself is gone
                    exc = e
            if isinstance(exc, cf.CancelledError):  # Dask's FutureCancelledError; the caller did not cancel
                reason = " ".join(str(exc).split())  # one line
                exc = DaskError(
                    f"the Dask cluster at {self._where_label()} cancelled a task ({reason}); "
                    "results finished before are kept (a sketch resumes from its query cache)"
                )
            _set(cf_future, error=exc)

        with self._lock:
            self._unsettled.add(cf_future)
        cf_future.add_done_callback(on_cf_done)
        cf_future.add_done_callback(self._forget)
        launch()
        return cf_future

    def _portable(self, obj: Any) -> Any:
        """``obj`` as it travels: models as :class:`ModelRef`; a long spec scattered once and reused."""
        obj = portable_model(obj)
        if not isinstance(obj, ModelRef) or len(obj.spec) <= _SCATTER_SPEC_BYTES:
            return obj
        key = _spec_key(obj.spec)
        with self._lock:
            fut = self._scattered.get(key)
        if fut is None or fut.status != "finished":
            fut = self._client.scatter(obj, broadcast=True, hash=False)
            with self._lock:
                self._scattered[key] = fut
        return fut

    def _where_label(self) -> str:
        try:
            return self.scheduler_address
        except Exception:
            return self.address or "local"

    def _forget(self, future: cf.Future) -> None:
        with self._lock:
            self._unsettled.discard(future)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop accepting tasks; optionally wait for or cancel running ones; close what this executor started.

        Parameters
        ----------
        wait : bool
            Wait for submitted tasks to finish before closing.
        cancel_futures : bool
            Cancel the tasks that have not finished.
        """
        if self._shutdown:
            return
        if cancel_futures or not wait:
            self._shutdown = True
            with self._lock:
                unsettled = list(self._unsettled)
                pending = list(self._pending)
            for f in unsettled:
                f.cancel()  # the caller's futures become cancelled (and their Dask tasks are cancelled)
            if pending:
                self._client.cancel(pending)
        else:
            with self._lock:
                unsettled = list(self._unsettled)
            cf.wait(unsettled)  # includes tasks resubmitted after a lost worker
        self._shutdown = True
        with self._lock:
            self._scattered.clear()
        if self._own_client:
            self._client.close()
            if self._cluster is not None:
                self._cluster.close()

    def close(self) -> None:
        """Shut down without waiting: cancel unfinished tasks, close the client and the local cluster."""
        self.shutdown(wait=False, cancel_futures=True)

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> bool:
        # on an error (or a cancelled sketch) do not wait for the remaining blocks
        self.shutdown(wait=exc_type is None, cancel_futures=exc_type is not None)
        return False


class DaskError(SketchError):
    """The Dask cluster failed the work for a reason other than the task itself (e.g. it cancelled the
    task because the scheduler or the connection to it was lost)."""


def _set(future: cf.Future, *, result: Any = None, error: BaseException | None = None) -> None:
    """Settle ``future`` unless it already is (a cancel can race with the task's completion)."""
    try:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
    except cf.InvalidStateError:
        pass


# -- configuration from the command line and the environment ---------------------------------------------
SCHEDULER_ENV = "SHAPZERO_DASK_SCHEDULER"
"""Environment variable naming a Dask scheduler (``tcp://HOST:PORT``) the app and CLI may offer to use."""


def configured_scheduler() -> str | None:
    """The scheduler address configured in ``$SHAPZERO_DASK_SCHEDULER``, or None.

    The app's sketch page offers "run on the Dask cluster" only when this is set.

    Raises
    ------
    ValueError
        If the variable is set to something that is not a scheduler address.
    """
    value = os.environ.get(SCHEDULER_ENV, "").strip()
    if not value:
        return None
    try:
        return _check_address(value)
    except ValueError as e:
        raise ValueError(f"${SCHEDULER_ENV}: {e}") from None


def add_dask_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--dask-scheduler ADDRESS`` and ``--dask-local N`` (mutually exclusive) to a sub-command parser."""
    group = parser.add_argument_group(
        "Dask cluster", f"spread the model queries over Dask workers (needs {_INSTALL_HINT})"
    )
    choice = group.add_mutually_exclusive_group()
    choice.add_argument(
        "--dask-scheduler",
        metavar="tcp://HOST:PORT",
        default=None,
        help=f"run the query blocks on this Dask scheduler's workers (default: ${SCHEDULER_ENV} if set "
        "and --dask-local is not given; otherwise no Dask)",
    )
    choice.add_argument(
        "--dask-local",
        metavar="N",
        type=int,
        default=None,
        help="start a local Dask cluster of N worker processes on this machine (loopback only)",
    )


def dask_executor_from_options(args: argparse.Namespace, *, timeout: float = 30.0) -> DaskExecutor | None:
    """The :class:`DaskExecutor` asked for by :func:`add_dask_options`'s options, or None.

    ``--dask-local N`` starts a loopback-only :class:`distributed.LocalCluster` of N worker processes;
    ``--dask-scheduler ADDRESS`` (or ``$SHAPZERO_DASK_SCHEDULER`` when neither option is given) connects
    to a running scheduler and waits up to ``timeout`` seconds for its first worker. The caller owns the
    executor: use it as a context manager (or call ``shutdown()``) so that a local cluster is stopped.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options (``dask_scheduler``, ``dask_local``; missing attributes count as not given).
    timeout : float
        Seconds to wait for the scheduler and for its first worker.

    Returns
    -------
    DaskExecutor or None
        None when no Dask option is given and no scheduler is configured (run locally).

    Raises
    ------
    ValueError
        For a bad address, a worker count below 1, a scheduler that cannot be reached or that has no
        worker (so the command line prints one line and exits with code 2).
    ImportError
        If dask.distributed is not installed (the message says how to install it).
    """
    address = getattr(args, "dask_scheduler", None)
    local = getattr(args, "dask_local", None)
    if local is not None:
        if local < 1:
            raise ValueError(f"--dask-local needs at least 1 worker, got {local}")
        return DaskExecutor(n_workers=local)
    if address is None:
        address = configured_scheduler()
    if address is None:
        return None
    try:
        # a scheduler without workers would leave the sketch waiting silently: say so instead
        return DaskExecutor(address, timeout=timeout, wait_for_workers=1)
    except ConnectionError as e:
        raise ValueError(str(e)) from e
