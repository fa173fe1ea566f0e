"""The model protocol (:class:`ModelFn`), shared helpers and the adapters' base class (batching, output
checks, throughput, description)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..alphabet import DNA, PROTEIN, Alphabet, check_codes, get_alphabet
from ..errors import ModelError
from ..limits import available_memory
from ..limits import format_bytes as _mb

_DEFAULT_BATCH = {"onnx": 8192, "callable": 8192, "cmd": 2048, "http": 1024}


# ============================================================================================ protocol
@runtime_checkable
class ModelFn(Protocol):
    """What the sketch engine needs from a model.

    Attributes
    ----------
    n : int or None
        Sequence length, if the model fixes it.
    alphabet : Alphabet
        Letters of the sequences (``q = alphabet.q``).
    name : str
        Short display name, used in messages.
    spec : str
        A string from which :func:`load_model` rebuilds the same model in another process (empty if
        the model cannot travel, e.g. a lambda).
    identity : str
        sha256 hex, stable: the same model gives the same identity (the query-cache key).
    """

    n: int | None
    alphabet: Alphabet
    name: str
    spec: str
    identity: str

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """``int8 (N, n)`` codes -> ``float64 (N,)`` predictions."""
        ...

    def probe_throughput(self, num: int | None = None, seconds: float = 1.0, seed: int = 0) -> float:
        """Measured sequences per second."""
        ...

    def describe(self) -> dict[str, Any]:
        """JSON-able description: kind, layout, n, q, alphabet, inputs, outputs, ..."""
        ...


# ============================================================================================ helpers
def _sha256(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for p in parts:
        b = p.encode("utf-8") if isinstance(p, str) else p
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


def _canon(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def _alphabet_token(alphabet: Alphabet) -> str:
    for key, ref in (("dna", DNA), ("rna", get_alphabet("rna")), ("protein", PROTEIN)):
        if alphabet == ref:
            return key
    return alphabet.letters


def _compose_spec(base: str, options: Mapping[str, Any]) -> str:
    """``base`` alone, or the JSON form ``{"model": base, ...options}`` when options are set."""
    opts = {k: v for k, v in options.items() if v is not None}
    if not opts:
        return base
    return json.dumps({"model": base, **opts}, sort_keys=True, separators=(",", ":"))


def _preview(seq: str, width: int = 24) -> str:
    return seq if len(seq) <= width else seq[:width] + "…"


def _rows(start: int, stop: int) -> str:
    return f"row {start}" if stop - start == 1 else f"rows {start}-{stop - 1}"


def _resolve_alphabet(alphabet: Alphabet | str | None) -> Alphabet | None:
    if alphabet is None:
        return None
    return get_alphabet(alphabet)


def _alphabet_for_q(q: int, alphabet: Alphabet | None, where: str) -> Alphabet:
    if alphabet is not None:
        if alphabet.q != q:
            raise ModelError(f"{where} has {q} letters per position but the alphabet "
                             f"{alphabet.name} ({alphabet.letters}) has {alphabet.q}")
        return alphabet
    if q == 4:
        return DNA
    if q == 20:
        return PROTEIN
    raise ModelError(f"{where} has {q} letters per position: pass the alphabet (e.g. alphabet='ACGTN')")


_MAX_BATCH_BYTES = 512 * 1024 * 1024  # largest input (plus its encoding) one model call may build


def _fit_batch(per_seq: int, fixed: int | None, batch_size: int | None, default: int, where: str,
               shape: str) -> int:
    """The batch size to use, given the bytes one sequence's input needs; refuses inputs that cannot fit.

    A model whose single sequence (or whose fixed batch) would need more memory than this machine can spare is
    refused before anything is allocated; the default batch size shrinks so that one batch stays within
    :data:`_MAX_BATCH_BYTES` (and a quarter of the available memory).
    """
    budget = min(_MAX_BATCH_BYTES, available_memory() // 4)
    if per_seq > budget:
        raise ModelError(f"{where}: one sequence needs {_mb(per_seq)} of input ({shape}), more than the "
                         f"{_mb(budget)} this machine can spare for a batch; check the declared input shape "
                         "(a sequence model takes (N, n, q), (N, q, n), (N, n) or (N, n*q) for a few thousand "
                         "positions n at most)")
    if fixed is not None:
        if fixed * per_seq > budget:
            raise ModelError(f"{where}: the graph fixes the batch size to {fixed:,}, and one batch needs "
                             f"{_mb(fixed * per_seq)} ({shape}), more than the {_mb(budget)} this machine can "
                             "spare; export the model with a dynamic batch axis (e.g. dynamic_axes={'input': "
                             "{0: 'N'}} in torch.onnx.export)")
        return fixed
    fit = max(1, budget // max(per_seq, 1))
    if batch_size is None:
        return min(default, fit)
    if batch_size > fit:
        raise ModelError(f"{where}: batch_size={batch_size:,} needs {_mb(batch_size * per_seq)} per batch "
                         f"({shape}), more than the {_mb(budget)} this machine can spare; use batch_size <= {fit:,}")
    return batch_size


# ============================================================================================ base class
class _BaseModel:
    """Shared batching, output checks, throughput and description."""

    kind = "model"

    def __init__(self, *, name: str, n: int | None, alphabet: Alphabet, batch_size: int | None) -> None:
        self.name = name
        self.n = n
        self.alphabet = alphabet
        bs = _DEFAULT_BATCH.get(self.kind, 4096) if batch_size is None else int(batch_size)
        if bs < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.batch_size = bs
        self.spec = ""
        self.identity = ""
        self.last_throughput: float | None = None

    # -- to implement ---------------------------------------------------------------------------------
    def _predict_batch(self, X: np.ndarray, start: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _info(self) -> dict[str, Any]:
        return {}

    # -- calling --------------------------------------------------------------------------------------
    def _check_input(self, X: np.ndarray) -> np.ndarray:
        try:
            return check_codes(X, self.alphabet.q, self.n, name="X")
        except ValueError as e:
            raise ValueError(f"model {self.name!r}: {e}") from None

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """Predict.

        Parameters
        ----------
        X : numpy.ndarray
            ``int8 (N, n)`` letter codes in ``[0, q)``.

        Returns
        -------
        numpy.ndarray
            ``float64 (N,)``.

        Raises
        ------
        ModelError
            If the model fails or returns something other than one finite number per sequence.
        """
        X = self._check_input(X)
        N = X.shape[0]
        out = np.empty(N, dtype=np.float64)
        for s in range(0, N, self.batch_size):
            Xb = X[s : s + self.batch_size]
            out[s : s + Xb.shape[0]] = self._checked(self._predict_batch(Xb, s), Xb, s)
        return out

    def _checked(self, y: Any, Xb: np.ndarray, start: int) -> np.ndarray:
        """``y`` as float64 (N,) or a ModelError naming the rows and the problem."""
        N = Xb.shape[0]
        rows = _rows(start, start + N)
        try:
            arr = np.asarray(y)
        except Exception as e:
            raise ModelError(f"model {self.name!r} returned something that is not an array for {rows} "
                             f"({type(y).__name__}: {e})") from e
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.shape != (N,):
            raise ModelError(f"model {self.name!r} returned shape {arr.shape} for {N} sequences ({rows}); "
                             f"expected one number per sequence, shape ({N},)")
        if arr.dtype.kind not in "biuf":
            try:
                arr = arr.astype(np.float64)
            except (TypeError, ValueError) as e:
                raise ModelError(f"model {self.name!r} returned non-numeric values ({arr.dtype}) for {rows}: "
                                 f"{e}") from e
        arr = arr.astype(np.float64, copy=False)
        bad = ~np.isfinite(arr)
        if bad.any():
            idx = np.flatnonzero(bad)
            nan = int(np.isnan(arr).sum())
            what = "NaN" if nan == idx.size else ("infinite values" if nan == 0 else "NaN or infinite values")
            first = int(idx[0])
            seq = self.alphabet.decode(Xb[first : first + 1])[0]
            raise ModelError(f"model {self.name!r} returned {what} for {idx.size} of {N} sequences ({rows}; "
                             f"first: row {start + first}, {_preview(seq)})")
        return arr

    # -- throughput -----------------------------------------------------------------------------------
    def probe_throughput(self, num: int | None = None, seconds: float = 1.0, seed: int = 0) -> float:
        """Measure sequences per second on random sequences.

        Parameters
        ----------
        num : int, optional
            Sequences per timed call (default: one batch, at most 50,000).
        seconds : float
            Keep calling until this much time has passed (at least one timed call).
        seed : int
            Seed of the random sequences.

        Returns
        -------
        float
            Sequences per second (also stored as ``last_throughput``).
        """
        if self.n is None:
            raise ValueError(f"model {self.name!r} does not fix the sequence length: pass n= to load_model")
        num = int(num) if num is not None else min(self.batch_size, 50_000)
        X = np.random.default_rng(seed).integers(0, self.alphabet.q, size=(num, self.n), dtype=np.int8)
        self(X[: min(num, 64)])  # warm-up (sessions, processes, connections)
        done, t0 = 0, time.perf_counter()
        while True:
            self(X)
            done += num
            dt = time.perf_counter() - t0
            if dt >= seconds:
                break
        self.last_throughput = done / max(dt, 1e-9)
        return self.last_throughput

    # -- description ----------------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """JSON-able description (kind, name, n, q, alphabet, batch size, spec, identity, adapter details)."""
        d: dict[str, Any] = {
            "kind": self.kind,
            "name": self.name,
            "n": self.n,
            "q": self.alphabet.q,
            "alphabet": self.alphabet.letters,
            "alphabet_name": self.alphabet.name,
            "batch_size": self.batch_size,
            "identity": self.identity,
            "portable": bool(self.spec),
            "spec": self.spec if len(self.spec) <= 300 else self.spec[:300] + "…",
        }
        d.update(self._info())
        if self.last_throughput is not None:
            d["throughput"] = self.last_throughput
        return d

    def close(self) -> None:
        """Release processes, sessions and connections (the model may be called again afterwards)."""

    def __enter__(self) -> _BaseModel:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __reduce__(self) -> tuple[Any, ...]:
        if not self.spec:
            raise TypeError(f"model {self.name!r} has no spec and cannot be sent to another process")
        from .spec import load_model

        return (load_model, (self.spec,))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, n={self.n}, alphabet={self.alphabet.name})"
