"""Background jobs (the sketch): a worker thread that never touches Streamlit updates a plain record.

A page starts a job with :func:`start_job` and keeps only its id in the session; a fragment with
``run_every`` reads :meth:`JobRecord.snapshot` and draws the progress. The registry is process-wide, so a
job outlives page switches and browser reconnects; :meth:`JobRecord.cancel` sets the job's
:class:`CancelToken` and the engine stops at its next check point (finished query blocks stay cached on
disk, so starting the same sketch again resumes).

No Streamlit import here: this module is tested directly.
"""

from __future__ import annotations

import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shapzero_core import Cancelled, CancelToken

__all__ = ["JobRecord", "get_job", "list_jobs", "start_job"]

#: Job states: "running" -> "done" | "cancelled" | "failed".
FINISHED = ("done", "cancelled", "failed")
#: Progress stages that count model calls.
MODEL_STAGES = ("query", "refine")


@dataclass
class JobRecord:
    """What a worker thread reports (mutated only under ``lock``; read through :meth:`snapshot`)."""

    id: str
    label: str
    status: str = "running"
    stage: str = "starting"
    done: int = 0
    total: int = 0
    message: str = ""
    started: float = field(default_factory=time.time)
    finished: float | None = None
    query_done: int = 0
    query_total: int = 0
    first_query_time: float | None = None
    first_query_done: int = 0
    compute_started: float | None = None  # when the first stage without model calls (decode, tune...) began
    error: str | None = None
    result: Any = None
    info: dict[str, Any] = field(default_factory=dict)
    cancel_token: CancelToken = field(default_factory=CancelToken, repr=False)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    thread: threading.Thread | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ worker side
    def progress(self, stage: str, done: int, total: int, message: str = "") -> None:
        """The engine's progress callback ``(stage, done, total, message)``.

        ``query`` (the sketch's queries) and ``refine`` (model calls of refined values and of the trust
        check) are the model-call stages: they fill ``query_done`` / ``query_total``, and the rate restarts
        when one follows the other."""
        now = time.time()
        with self.lock:
            self.stage, self.done, self.total, self.message = stage, int(done), int(total), message
            if stage in MODEL_STAGES:
                if self.first_query_time is None or stage != self.info.get("_call_stage", stage):
                    self.first_query_time, self.first_query_done = now, int(done)
                self.info["_call_stage"] = stage
                self.query_done, self.query_total = int(done), int(total)
            elif self.compute_started is None and stage not in ("starting", "done"):
                self.compute_started = now

    # ------------------------------------------------------------------ page side
    def cancel(self) -> None:
        """Ask the job to stop (it ends as ``"cancelled"`` at the engine's next check point)."""
        self.cancel_token.cancel()

    @property
    def finished_(self) -> bool:
        return self.status in FINISHED

    def snapshot(self) -> dict[str, Any]:
        """A consistent copy of the record plus derived ``elapsed``, ``rate`` (queries/s), ``eta`` (s, of the
        model calls) and ``compute_elapsed`` (s since the first stage without model calls began, or None)."""
        with self.lock:
            d = {
                "id": self.id, "label": self.label, "status": self.status, "stage": self.stage,
                "done": self.done, "total": self.total, "message": self.message, "started": self.started,
                "finished": self.finished, "query_done": self.query_done, "query_total": self.query_total,
                "error": self.error, "info": dict(self.info), "cancel_requested": self.cancel_token.cancelled,
            }
            t0, d0 = self.first_query_time, self.first_query_done
            d["compute_elapsed"] = None if self.compute_started is None else (
                (self.finished or time.time()) - self.compute_started)
        end = d["finished"] or time.time()
        d["elapsed"] = end - d["started"]
        rate = None
        if t0 is not None and end > t0 and d["query_done"] > d0:
            rate = (d["query_done"] - d0) / (end - t0)
        d["rate"] = rate
        left = d["query_total"] - d["query_done"]
        d["eta"] = (left / rate) if rate and left > 0 else (0.0 if d["query_total"] and left <= 0 else None)
        return d


_JOBS: dict[str, JobRecord] = {}
_JOBS_LOCK = threading.Lock()
_MAX_JOBS = 20


def start_job(label: str, fn: Callable[[JobRecord], Any], info: dict[str, Any] | None = None) -> JobRecord:
    """Run ``fn(record)`` in a daemon thread; its return value becomes ``record.result``.

    ``fn`` receives the record and should pass ``record.progress`` and ``record.cancel_token`` to the
    engine. :class:`Cancelled` ends the job as ``"cancelled"``, any other exception as ``"failed"`` with
    its message in ``error`` (the full traceback in ``info["traceback"]``).
    """
    rec = JobRecord(id=uuid.uuid4().hex[:12], label=label, info=dict(info or {}))

    def run() -> None:
        try:
            result = fn(rec)
        except Cancelled:
            with rec.lock:
                rec.status, rec.finished = "cancelled", time.time()
            return
        except BaseException as e:  # reported on the page, never raised into Streamlit
            with rec.lock:
                rec.status, rec.finished = "failed", time.time()
                rec.error = f"{type(e).__name__}: {e}" if not isinstance(e, ValueError | RuntimeError) else str(e)
                rec.info["traceback"] = traceback.format_exc()
            return
        with rec.lock:
            rec.result = result
            rec.status, rec.stage, rec.finished = "done", "done", time.time()

    rec.thread = threading.Thread(target=run, name=f"shapzero-job-{rec.id}", daemon=True)
    with _JOBS_LOCK:
        _JOBS[rec.id] = rec
        old = [j for j in _JOBS.values() if j.finished_]
        for j in old[: max(0, len(_JOBS) - _MAX_JOBS)]:
            _JOBS.pop(j.id, None)
    rec.thread.start()
    return rec


def get_job(job_id: str | None) -> JobRecord | None:
    """The job with this id, or None."""
    if not job_id:
        return None
    with _JOBS_LOCK:
        return _JOBS.get(job_id)


def list_jobs() -> list[JobRecord]:
    """All known jobs, oldest first."""
    with _JOBS_LOCK:
        return list(_JOBS.values())
