"""External programs as models (:class:`CommandModel`): one sequence per line on stdin, one number per
line on stdout, restarted once on a crash, with a timeout."""

from __future__ import annotations

import hashlib
import os
import selectors
import shlex
import subprocess
import threading
import time
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..alphabet import DNA, Alphabet
from ..errors import ModelError
from .base import _alphabet_token, _BaseModel, _compose_spec, _preview, _resolve_alphabet, _rows, _sha256

_SURPLUS_WAIT = 0.02  # seconds a command model's surplus output lines may lag behind its answers
MAX_LINE_BYTES = 1024
"""Longest output line a command model may write (a number needs a few dozen characters); longer is an error."""
_EOF_GRACE = 5.0  # seconds a program may take to finish its output after its input is closed


# ============================================================================================ commands
class _Crash(Exception):
    """The program's output ended (or its input broke). ``in_step``: it ended exactly after its last answer."""

    def __init__(self, in_step: bool = False) -> None:
        super().__init__()
        self.in_step = in_step


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            proc.kill()
        except OSError:
            pass
    try:
        proc.wait(timeout=5)
    except Exception:
        pass
    for f in (proc.stdin, proc.stdout, proc.stderr):
        try:
            if f is not None:
                f.close()
        except Exception:
            pass


class CommandModel(_BaseModel):
    """An external program as a model: one sequence per line on stdin, one number per line on stdout.

    Parameters
    ----------
    command : str or sequence of str
        Command line (split with :func:`shlex.split`; no shell) or an argument list.
    n : int, optional
        Sequence length (the program cannot say; needed for :meth:`probe_throughput`).
    alphabet : Alphabet or str, optional
        Letters written to the program (default DNA).
    batch_size : int, optional
        Lines written per round trip (default 2048).
    timeout : float
        Seconds to wait for the next output line before the program counts as hung (default 60).
        The program is then killed and a ModelError raised; the next call starts it again.
    name, spec : str, optional

    Notes
    -----
    The program is started on the first call and kept running. It must print exactly one number per
    input line, in order, and flush its output (Python children get ``PYTHONUNBUFFERED=1``). If it dies
    during a batch, it is restarted once and the batch is sent again; a second death is an error
    with its exit code and the end of its stderr. A line that is not a number is an error naming the
    line (and the sequence it answers); output before any input (e.g. a banner) is an error too.
    """

    kind = "cmd"

    def __init__(
        self,
        command: str | Sequence[str],
        *,
        n: int | None = None,
        alphabet: Alphabet | str | None = None,
        batch_size: int | None = None,
        timeout: float = 60.0,
        name: str | None = None,
        spec: str | None = None,
    ) -> None:
        if isinstance(command, str):
            try:
                argv = shlex.split(command)
            except ValueError as e:
                raise ValueError(f"cannot parse the command line {command!r}: {e}") from None
            line = command.strip()
        else:
            argv = [str(a) for a in command]
            line = shlex.join(argv)
        if not argv:
            raise ValueError("empty command line in 'cmd:' model spec")
        self.argv = argv
        self.command = line
        self.timeout = float(timeout)
        if self.timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        alpha = _resolve_alphabet(alphabet) or DNA
        script = next((a for a in argv[1:] if not a.startswith("-")), argv[0])
        super().__init__(name=name or Path(script).name, n=n, alphabet=alpha, batch_size=batch_size)
        files = []
        for a in argv:
            p = Path(a)
            try:
                if p.is_file():
                    h = hashlib.sha256()
                    with p.open("rb") as f:
                        for block in iter(lambda f=f: f.read(1 << 20), b""):
                            h.update(block)
                    files.append(h.hexdigest())
            except OSError:
                pass
        self.identity = _sha256("cmd", line, *files, alpha.letters, str(n))
        opts = {"n": n, "alphabet": None if alphabet is None else _alphabet_token(alpha), "batch_size": batch_size,
                "timeout": None if timeout == 60.0 else self.timeout}
        self.spec = _compose_spec(spec or f"cmd:{line}", opts)
        self._proc: subprocess.Popen | None = None
        self._finalizer: Any = None
        self._lock = threading.Lock()
        self._stderr_tail = bytearray()
        self._lines_out = 0  # output lines read from the current process
        self._unconfirmed = 0  # answers returned since the last confirm_in_step(), over every process
        self._lost = False  # a process that gave unconfirmed answers was stopped before its output was checked
        self._tainted: str | None = None  # a protocol error seen since the last confirm_in_step()
        self.restarts = 0  # processes started again after a crash (for reports and tests)
        self.starts = 0

    # -- process management ---------------------------------------------------------------------------
    def _start(self) -> subprocess.Popen:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        try:
            proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    env=env, bufsize=0, close_fds=True)
        except OSError as e:
            raise ModelError(f"cannot start program {self.command!r}: {e}") from e
        for f in (proc.stdin, proc.stdout, proc.stderr):
            os.set_blocking(f.fileno(), False)
        self._proc = proc
        self._stderr_tail = bytearray()
        self._lines_out = 0
        self.starts += 1
        if self._finalizer is not None:
            self._finalizer.detach()
        self._finalizer = weakref.finalize(self, _kill, proc)
        return proc

    def close(self) -> None:
        """Stop the program (it is started again by the next call)."""
        with self._lock:
            self._stop()

    def _stop(self, protocol_error: str | None = None) -> None:
        """Kill the program. ``protocol_error``: why it is out of step (taints the unconfirmed answers)."""
        if protocol_error is not None and self._tainted is None:
            self._tainted = protocol_error
        if self._proc is not None:
            if self._lines_out:
                self._lost = True  # answers of this process were never checked to the end of its output
            _kill(self._proc)
            self._proc = None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None

    def _stderr_text(self) -> str:
        text = self._stderr_tail.decode("utf-8", errors="replace").strip()
        if not text:
            return ""
        lines = text.splitlines()[-5:]
        return "; stderr: " + " | ".join(line.strip() for line in lines)[-800:]

    def _drain_stderr(self, fd: int) -> bool:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return True
        except OSError:
            return False
        if not data:
            return False
        self._stderr_tail.extend(data)
        del self._stderr_tail[:-4096]
        return True

    # -- one round trip -------------------------------------------------------------------------------
    def _roundtrip(self, payload: bytes, N: int) -> tuple[bytes, bytes]:
        proc = self._proc if self._proc is not None and self._proc.poll() is None else self._start()
        in_fd, out_fd, err_fd = proc.stdin.fileno(), proc.stdout.fileno(), proc.stderr.fileno()
        sel = selectors.DefaultSelector()
        try:
            # output that arrives before any input belongs to no sequence
            sel.register(out_fd, selectors.EVENT_READ)
            sel.register(err_fd, selectors.EVENT_READ)
            # a program that answers one sequence with two lines is one line ahead after a batch; give its
            # surplus lines a moment to arrive, or they would be read as the next batch's answers
            if select_ready(out_fd, _SURPLUS_WAIT):
                try:
                    early = os.read(out_fd, 65536)
                except BlockingIOError:
                    early = b""
                if early:
                    first = early.split(b"\n", 1)[0].decode("utf-8", errors="replace")
                    msg = (f"program {self.name!r} printed {first[:80]!r} on output line {self._lines_out + 1} "
                           "before it was given a sequence (a banner, or more lines than sequences); it must print "
                           "exactly one number per input line")
                    self._stop(msg)
                    raise ModelError(msg)
            sel.register(in_fd, selectors.EVENT_WRITE)
            view = memoryview(payload)
            written = 0
            chunks: list[bytes] = []
            lines = 0
            line_len = 0  # bytes of the current (unfinished) output line
            size = 0
            cap = N * MAX_LINE_BYTES + (1 << 16)
            waited_since = time.monotonic()
            writing = True
            while lines < N:
                left = self.timeout - (time.monotonic() - waited_since)
                events = sel.select(timeout=max(left, 0.0)) if left > 0 else []
                if not events:
                    self._stop()
                    raise ModelError(
                        f"program {self.name!r} did not answer within {self.timeout:g} s (got {lines} of {N} "
                        "numbers for this batch); it must print one number per input line and flush its output "
                        "(e.g. print(value, flush=True))" + self._stderr_text())
                for key, _ in events:
                    fd = key.fd
                    if fd == in_fd and writing:
                        try:
                            written += os.write(in_fd, view[written : written + 65536])
                        except BlockingIOError:
                            continue
                        except (BrokenPipeError, OSError):
                            raise _Crash() from None
                        if written >= len(payload):
                            sel.unregister(in_fd)
                            writing = False
                    elif fd == out_fd:
                        try:
                            data = os.read(out_fd, 1 << 17)
                        except BlockingIOError:
                            continue
                        if not data:  # its output ended: in step if nothing came for this batch at all
                            raise _Crash(in_step=size == 0)
                        chunks.append(data)
                        size += len(data)
                        segs = data.split(b"\n")
                        nl = len(segs) - 1
                        too_long = 0 if line_len + len(segs[0]) > MAX_LINE_BYTES else next(
                            (i for i in range(1, len(segs)) if len(segs[i]) > MAX_LINE_BYTES), None)
                        if too_long is not None or size > cap:
                            if too_long is not None:
                                msg = (f"program {self.name!r} wrote more than {MAX_LINE_BYTES:,} bytes without a "
                                       f"newline (output line {self._lines_out + lines + too_long + 1})")
                            else:
                                msg = f"program {self.name!r} wrote more than {cap:,} bytes for {N} sequences"
                            msg += "; it must print one number per line"
                            self._stop(msg)
                            raise ModelError(msg + self._stderr_text())
                        line_len = len(segs[-1]) if nl else line_len + len(data)
                        lines += nl
                        waited_since = time.monotonic()
                    elif fd == err_fd and not self._drain_stderr(err_fd):
                        sel.unregister(err_fd)
            out = b"".join(chunks)
            parts = out.split(b"\n", N)
            extra = parts[N].strip() if len(parts) > N else b""
            return b"\n".join(parts[:N]), extra
        finally:
            sel.close()

    def _predict_batch(self, X: np.ndarray, start: int) -> np.ndarray:
        N = X.shape[0]
        seqs = self.alphabet.decode(X)
        payload = ("\n".join(seqs) + "\n").encode("ascii")
        with self._lock:
            for attempt in range(2):
                try:
                    raw, extra = self._roundtrip(payload, N)
                    break
                except _Crash as crash:
                    if crash.in_step:
                        self._lines_out = 0  # its output ended right after its last answer: those are confirmed
                    proc = self._proc
                    code = None
                    if proc is not None:
                        try:
                            code = proc.wait(timeout=2)
                        except subprocess.TimeoutExpired:
                            code = None
                        err = proc.stderr.fileno()
                        while select_ready(err) and self._drain_stderr(err):
                            pass
                    tail = self._stderr_text()
                    self._stop()
                    how = f"exited with code {code}" if code is not None else "closed its output"
                    if attempt == 0:
                        self.restarts += 1
                        continue
                    raise ModelError(f"program {self.name!r} {how} while answering {_rows(start, start + N)}, "
                                     f"again after a restart{tail}") from None
            lines = raw.split(b"\n")
            try:
                y = np.array([s.strip() for s in lines]).astype(np.float64)
            except ValueError:
                y = None
            if y is None or y.shape != (N,):
                for j, s in enumerate(lines):
                    try:
                        float(s.strip())
                    except ValueError:
                        bad_line = self._lines_out + j + 1
                        msg = (f"program {self.name!r} wrote {s.decode('utf-8', errors='replace')[:80]!r} on "
                               f"output line {bad_line}, which is not a number (the answer for row {start + j}, "
                               f"sequence {_preview(seqs[j])})")
                        self._stop(msg)  # out of step: start afresh on the next call
                        raise ModelError(msg) from None
                raise ModelError(f"program {self.name!r} returned {len(lines)} numbers for {N} sequences")
            if extra:
                first = extra.split(b"\n", 1)[0].decode("utf-8", errors="replace")
                msg = (f"program {self.name!r} printed more lines than the {N} sequences it was given "
                       f"(line {self._lines_out + N + 1}: {first[:80]!r}); it must print exactly one number per "
                       "input line")
                self._stop(msg)
                raise ModelError(msg)
            self._lines_out += N
            self._unconfirmed += N
            return y

    def confirm_in_step(self) -> None:
        """Check that every answer returned since the last check was the answer to its own sequence.

        A line protocol cannot tell a late surplus line (a warning, a second number) from the first answer to
        the next batch, so answers are only known to be in step once the program's output has ended: this
        closes the program's input, reads what it still prints until it exits (at most 5 s, or ``timeout``)
        and checks that nothing is left over. The next call starts the program again. The sketch calls it
        before it caches query blocks answered by this program (see :mod:`shapzero_core.sketch.run`).

        Raises
        ------
        ModelError
            If the program printed more lines than it was given, went out of step in a call since the last
            check (a protocol error was raised), or was stopped (crash, timeout, :meth:`close`) before its
            output could be checked: the answers since the last check cannot be trusted.
        """
        with self._lock:
            k = self._unconfirmed
            try:
                if self._tainted is None and k and self._proc is not None:
                    self._finish_output()
                if self._tainted is not None:
                    raise ModelError(f"the {k:,} answers of program {self.name!r} since the last check may be out "
                                     f"of step: {self._tainted}")
                if self._lost:
                    raise ModelError(f"the {k:,} answers of program {self.name!r} since the last check cannot be "
                                     "confirmed in step: the program was stopped (crash, timeout or close) before "
                                     "the end of its output was read")
            finally:
                self._unconfirmed = 0
                self._lost = False
                self._tainted = None

    def _finish_output(self) -> None:
        """Close the program's input, read its output to the end (it should exit) and stop it."""
        proc = self._proc
        assert proc is not None
        try:
            proc.stdin.close()
        except OSError:
            pass
        out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
        extra = bytearray()
        deadline = time.monotonic() + min(self.timeout, _EOF_GRACE)
        with selectors.DefaultSelector() as sel:
            sel.register(out_fd, selectors.EVENT_READ)
            sel.register(err_fd, selectors.EVENT_READ)
            open_fds = 2
            while open_fds and len(extra) <= MAX_LINE_BYTES:
                left = deadline - time.monotonic()
                events = sel.select(timeout=left) if left > 0 else []
                if not events:
                    break  # still running after its input ended, and quiet: nothing more is coming
                for key, _ in events:
                    if key.fd == err_fd:
                        if not self._drain_stderr(err_fd):
                            sel.unregister(err_fd)
                            open_fds -= 1
                        continue
                    try:
                        data = os.read(out_fd, 65536)
                    except BlockingIOError:
                        continue
                    if not data:
                        sel.unregister(out_fd)
                        open_fds -= 1
                        continue
                    extra.extend(data)
        lines = self._lines_out
        self._proc = None
        _kill(proc)
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if extra.strip():
            first = bytes(extra).strip().split(b"\n", 1)[0].decode("utf-8", errors="replace")
            self._tainted = (f"program {self.name!r} printed more lines than the {lines:,} sequences it was given "
                             f"(line {lines + 1}, after its last answer: {first[:80]!r}); it must print exactly one "
                             "number per input line")

    def _info(self) -> dict[str, Any]:
        return {"layout": "strings", "command": self.command, "argv": self.argv, "timeout": self.timeout,
                "running": self._proc is not None and self._proc.poll() is None, "restarts": self.restarts,
                "protocol": "one sequence per line on stdin, one number per line on stdout"}


def select_ready(fd: int, timeout: float = 0.0) -> bool:
    """True if ``fd`` has data to read now (or within ``timeout`` seconds)."""
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        return bool(sel.select(timeout=timeout))
