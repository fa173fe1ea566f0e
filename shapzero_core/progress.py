"""Progress events and cancellation, passed explicitly (never globals).

A progress callback receives ``(stage, done, total, message)``: ``stage`` is a short name such as
``"query"``, ``"decode"`` or ``"tune"``; ``done`` and ``total`` count units of that stage (queries for
``"query"``); ``message`` is a human-readable line.
"""

from __future__ import annotations

import threading
from typing import Protocol

__all__ = ["CancelToken", "Cancelled", "ProgressCallback", "null_progress"]


class ProgressCallback(Protocol):
    """Signature of a progress callback."""

    def __call__(self, stage: str, done: int, total: int, message: str) -> None: ...


def null_progress(stage: str, done: int, total: int, message: str) -> None:
    """A progress callback that ignores every event."""


class Cancelled(RuntimeError):
    """Raised by long-running work when its :class:`CancelToken` was cancelled."""


class CancelToken:
    """A thread-safe cancellation flag shared between a caller and a long-running job."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the job to stop at its next check point."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._event.is_set()

    def raise_if_cancelled(self, what: str = "job") -> None:
        """Raise :class:`Cancelled` if cancelled."""
        if self._event.is_set():
            raise Cancelled(f"{what} was cancelled")
