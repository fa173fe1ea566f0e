"""Models from anywhere: ONNX files, Python callables, external programs and inference servers.

Every adapter is a :class:`ModelFn`: called with an ``int8 (N, n)`` batch of letter codes it returns
``float64 (N,)``, one finite number per sequence. Adapters split large calls into batches
(``batch_size``), check the shape and finiteness of every batch (a :class:`~shapzero_core.errors.ModelError`
names the model, the rows and the problem) and measure their throughput (:meth:`ModelFn.probe_throughput`).

Spec strings (what :func:`load_model` accepts, and what every adapter's ``spec`` attribute holds)
--------------------------------------------------------------------------------------------------
``path/to/model.onnx`` or ``onnx:<path>``
    An ONNX file (:class:`OnnxModel`). The adapter's own ``spec`` is ``onnx:<absolute path>`` plus the
    file's ``sha256`` (see *options*), so a worker refuses a file that changed since it was inspected.
``onnx-b64:<base64>``
    ONNX bytes embedded in the spec. Models loaded from bytes (uploads) get this spec when they are at
    most :data:`EMBED_LIMIT` bytes; larger ones are written once to a content-addressed file
    ``<store>/<sha256>.onnx`` (``$SHAPZERO_MODEL_STORE``, default ``~/.cache/shapzero/models``) and get an
    ``onnx:`` spec with that ``sha256``. (Workers on other machines need that folder shared, or a model
    under the limit.)
``demo:<name>``
    A demo model of :mod:`shapzero_core.demos` (``guide_rna``, ``repair``, ``cnn``).
``module:function``
    A Python callable imported by name (:class:`CallableModel`). Trusted local use only (API and CLI);
    the app never builds one from an upload.
``cmd:<command line>``
    An external program (:class:`CommandModel`), split with :func:`shlex.split`, run without a shell.
``http://host:port/v2/models/<name>`` (or ``https://``, optionally ``/versions/<v>``)
    An Open Inference Protocol v2 server: KServe, Triton, MLServer (:class:`HttpModel`).

*Options.* A spec may also be a JSON object ``{"model": "<spec>", "<option>": value, ...}``; this is how an
adapter's ``spec`` records the options it was built with (``n``, ``alphabet``, ``layout``, ``output``,
``task``, ``batch_size``, ``allowed_hosts`` and the adapter-specific ones: ``sha256``, ``threads`` (ONNX);
``input`` (callable: ``"codes"`` or ``"strings"``); ``timeout`` (command); ``max_concurrency``, ``retries``,
``timeout``, ``backoff`` (HTTP)). Keyword arguments of :func:`load_model` override options of the spec.

Identity (``identity``, sha256 hex, the key of the sketch's query cache): ONNX = the model bytes and
the options that change predictions (layout, n, alphabet, output, task); callable = ``module:qualname``
and the source of the function and of its module; command = the command line and the content of every
argument that is an existing file (so editing the script changes the identity); HTTP = the URL and the
server's model metadata. A callable whose source cannot be read gets a random identity (``describe()``
says ``identity_stable: False``): give it an ``identity`` attribute to make its cache reusable.
"""

from __future__ import annotations

import base64
import binascii
import concurrent.futures as cf
import hashlib
import http.client
import importlib
import inspect
import ipaddress
import json
import math
import os
import re
import selectors
import shlex
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .alphabet import DNA, PROTEIN, Alphabet, check_codes, get_alphabet
from .errors import ModelError

__all__ = [
    "EMBED_LIMIT",
    "LAYOUTS",
    "LOOPBACK_HOSTS",
    "CallableModel",
    "CommandModel",
    "HostNotAllowedError",
    "HttpModel",
    "ModelFn",
    "OnnxModel",
    "check_host",
    "configured_allowed_hosts",
    "detect_layout",
    "load_model",
]

LAYOUTS = ("NLQ", "NQL", "codes", "flat", "strings")
"""Input layouts: one-hot ``(N, n, q)``, one-hot ``(N, q, n)``, integer codes ``(N, n)``, flat one-hot
``(N, n*q)`` (position-major, i.e. ``NLQ`` flattened), and strings ``(N,)`` (ONNX string / v2 ``BYTES``)."""

_LAYOUT_ALIASES = {
    "nlq": "NLQ", "onehot": "NLQ", "one-hot": "NLQ", "nql": "NQL", "channels-first": "NQL",
    "codes": "codes", "int": "codes", "integer": "codes", "flat": "flat", "strings": "strings",
    "string": "strings", "bytes": "strings",
}

EMBED_LIMIT = 8 * 1024 * 1024
"""ONNX models loaded from bytes up to this size embed their bytes (base64) in their ``spec``."""

LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
"""The default allow-list for inference servers in the app."""

ALLOWED_HOSTS_ENV = "SHAPZERO_ALLOWED_HOSTS"
MODEL_STORE_ENV = "SHAPZERO_MODEL_STORE"

_SURPLUS_WAIT = 0.02  # seconds a command model's surplus output lines may lag behind its answers
_DEFAULT_BATCH = {"onnx": 8192, "callable": 8192, "cmd": 2048, "http": 1024}
_SPEC_OPTIONS = {
    "n", "alphabet", "layout", "output", "task", "batch_size", "allowed_hosts", "sha256", "threads",
    "input", "timeout", "max_concurrency", "retries", "backoff", "name",
}
_CALLABLE_RE = re.compile(r"^[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$")


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


def _parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    s = spec.strip()
    if not s.startswith("{"):
        return s, {}
    try:
        d = json.loads(s)
    except json.JSONDecodeError as e:
        raise ValueError(f"model spec looks like JSON but is not valid JSON ({e})") from None
    if not isinstance(d, dict) or not isinstance(d.get("model"), str):
        raise ValueError('a JSON model spec must be an object with a "model" string, e.g. '
                         '{"model": "cmd:python m.py", "timeout": 30}')
    base = d.pop("model")
    unknown = set(d) - _SPEC_OPTIONS
    if unknown:
        raise ValueError(f"unknown option(s) {', '.join(sorted(unknown))} in model spec; "
                         f"known: {', '.join(sorted(_SPEC_OPTIONS))}")
    return base, d


def _preview(seq: str, width: int = 24) -> str:
    return seq if len(seq) <= width else seq[:width] + "…"


def _rows(start: int, stop: int) -> str:
    return f"row {start}" if stop - start == 1 else f"rows {start}-{stop - 1}"


def _normalize_layout(layout: str | None) -> str | None:
    if layout is None:
        return None
    key = str(layout).strip()
    out = _LAYOUT_ALIASES.get(key.lower(), key if key in LAYOUTS else None)
    if out is None:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    return out


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


# ============================================================================================ layouts
class _Layout:
    """Resolved input layout: how an ``int8 (N, n)`` batch becomes the model's input tensor."""

    def __init__(
        self, layout: str, n: int | None, q: int, dims: list[int | None], source: str, note: str
    ) -> None:
        self.layout = layout
        self.n = n
        self.q = q
        self.dims = dims  # declared dims after the batch axis (None = dynamic)
        self.source = source  # "detected" | "user" | "guessed"
        self.note = note
        if layout == "strings":
            self.core_idx: list[int] = []
        elif len(dims) > 1:
            self.core_idx = [i for i, d in enumerate(dims) if d != 1]
        else:
            self.core_idx = list(range(len(dims)))

    def shape_for(self, N: int, n: int) -> tuple[int, ...]:
        """Concrete input shape for N sequences of length n (extra singleton axes kept)."""
        core = {"NLQ": [n, self.q], "NQL": [self.q, n], "codes": [n], "flat": [n * self.q], "strings": []}[
            self.layout
        ]
        if not self.dims:
            return (N, *core)
        out = [1] * len(self.dims)
        for i, v in zip(self.core_idx, core, strict=True):
            out[i] = v
        return (N, *out)


def detect_layout(
    dims: Sequence[int | None],
    kind: str,
    *,
    n: int | None = None,
    alphabet: Alphabet | None = None,
    layout: str | None = None,
    where: str = "input",
) -> _Layout:
    """Infer the input layout from a declared input shape.

    Parameters
    ----------
    dims : sequence of int or None
        The declared shape **without** the batch axis; ``None`` marks a dynamic axis. Axes of size 1
        besides the core axes are allowed (e.g. ``(1, L, 4)`` of a 2-D convolution).
    kind : {"float", "int", "string"}
        Element type of the input.
    n : int, optional
        Sequence length given by the user.
    alphabet : Alphabet, optional
        Alphabet given by the user (fixes q).
    layout : str, optional
        Override (one of :data:`LAYOUTS`).
    where : str
        Name used in messages.

    Returns
    -------
    _Layout
        With ``layout``, ``n`` (None if dynamic and not given), ``q``, ``source`` and a note.
    """
    layout = _normalize_layout(layout)
    dims = [None if (d is None or (isinstance(d, int) and d < 0)) else int(d) for d in dims]
    core = [d for d in dims if d != 1] if len(dims) > 1 else list(dims)
    if len(core) == 0 and len(dims) > 1:
        core = [1]
    qs = [alphabet.q] if alphabet is not None else [4, 20]
    shape_txt = "[N, " + ", ".join("?" if d is None else str(d) for d in dims) + "]"

    def fail(msg: str) -> ModelError:
        return ModelError(f"{where} with shape {shape_txt}: {msg}")

    if kind == "string" or layout == "strings":
        if kind != "string":
            raise fail("layout 'strings' needs a string input")
        if any(d not in (None, 1) for d in dims):
            raise fail("a string input must have one sequence per row (shape [N] or [N, 1])")
        q = alphabet.q if alphabet is not None else 4
        return _Layout("strings", n, q, dims, "detected", "sequences sent as strings")
    if len(core) > 2:
        raise fail("more than 2 non-singleton axes after the batch axis; expected one-hot (N, n, q) / "
                   "(N, q, n), integer codes (N, n) or flat one-hot (N, n*q)")

    def check_n(found: int | None, what: str) -> int | None:
        if found is not None and n is not None and found != n:
            raise fail(f"the model expects sequences of length {found} ({what}) but n={n} was given")
        return found if found is not None else n

    if layout is not None:
        if layout in ("NLQ", "NQL"):
            if len(core) != 2:
                raise fail(f"layout {layout} needs two axes after the batch axis")
            a, b = core
            qd, nd = (b, a) if layout == "NLQ" else (a, b)
            q = qd if qd is not None else qs[0]
            if alphabet is not None and qd is not None and qd != alphabet.q:
                raise fail(f"layout {layout} puts the letters on an axis of size {qd}, but the alphabet has "
                           f"{alphabet.q} letters")
            return _Layout(layout, check_n(nd, "sequence axis"), q, dims, "user", "layout given")
        if len(core) != 1:
            raise fail(f"layout {layout} needs one axis after the batch axis")
        (m,) = core
        q = qs[0]
        if layout == "codes":
            return _Layout("codes", check_n(m, "input width"), q, dims, "user", "layout given")
        if m is not None and m % q:
            raise fail(f"flat one-hot width {m} is not a multiple of q={q}")
        return _Layout("flat", check_n(None if m is None else m // q, "width / q"), q, dims, "user", "layout given")

    if len(core) == 1:
        (m,) = core
        if kind == "int":
            return _Layout("codes", check_n(m, "input width"), qs[0], dims, "detected",
                           "integer input: letter codes")
        if n is not None and m is not None and m == n and m != n * qs[0]:
            return _Layout("codes", n, qs[0], dims, "detected", "float input of width n: letter codes as floats")
        q = qs[0]
        if m is None:
            if n is None:
                raise fail("a float input of dynamic width: pass layout ('codes' or 'flat') and n")
            return _Layout("flat", n, q, dims, "guessed", f"float input: assumed flat one-hot (N, n*{q})")
        if m % q:
            raise fail(f"a float input of width {m}: not a flat one-hot of q={q} letters; pass layout='codes' "
                       "if it takes letter codes as floats")
        return _Layout("flat", check_n(m // q, "width / q"), q, dims, "guessed",
                       f"float input: assumed flat one-hot (N, n*{q}); pass layout='codes' if it takes codes")
    a, b = core
    for q in qs:
        if b == q and a != q:
            return _Layout("NLQ", check_n(a, "axis 1"), q, dims, "detected", f"letters on the last axis (q={q})")
        if a == q and b != q:
            return _Layout("NQL", check_n(b, "axis 2"), q, dims, "detected", f"letters on axis 1 (q={q})")
        if a == q and b == q:
            return _Layout("NLQ", q, q, dims, "guessed", "both axes have q letters: assumed (N, n, q)")
    hint = f"{alphabet.q} letters ({alphabet.name})" if alphabet is not None else "4 letters (DNA) or 20 (protein)"
    raise fail(f"no axis has {hint}; pass layout= (NLQ or NQL) and alphabet=")


def _encode_input(X: np.ndarray, lay: _Layout, alphabet: Alphabet, dtype: Any) -> np.ndarray:
    N, n = X.shape
    if lay.layout == "strings":
        arr = np.array(alphabet.decode(X), dtype=object)
        return arr.reshape(lay.shape_for(N, n)) if lay.dims else arr
    if lay.layout == "codes":
        arr = X.astype(dtype)
    else:
        oh = np.zeros((N, n, lay.q), dtype=dtype)
        np.put_along_axis(oh, X[:, :, None].astype(np.intp), 1, axis=2)
        arr = oh.transpose(0, 2, 1) if lay.layout == "NQL" else oh
    return np.ascontiguousarray(arr).reshape(lay.shape_for(N, n))


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
        return (load_model, (self.spec,))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, n={self.n}, alphabet={self.alphabet.name})"


# ============================================================================================ ONNX
_ALLOWED_DOMAINS = {"", "ai.onnx", "ai.onnx.ml", "com.microsoft", "ai.onnx.preview.training"}
_ORT_KIND = {
    "tensor(float)": ("float", np.float32), "tensor(double)": ("float", np.float64),
    "tensor(float16)": ("float", np.float16), "tensor(int64)": ("int", np.int64),
    "tensor(int32)": ("int", np.int32), "tensor(int16)": ("int", np.int16), "tensor(int8)": ("int", np.int8),
    "tensor(uint8)": ("int", np.uint8), "tensor(bool)": ("int", np.bool_), "tensor(string)": ("string", object),
}


def _model_store() -> Path:
    env = os.environ.get(MODEL_STORE_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(base) / "shapzero" / "models"


def _external_data_tensors(graph: Any) -> list[str]:
    """Names of tensors (initializers, constants, subgraphs) stored in external files."""
    from onnx import TensorProto

    found: list[str] = []

    def tensor(t: Any, label: str) -> None:
        if t.data_location == TensorProto.EXTERNAL or len(t.external_data):
            loc = next((e.value for e in t.external_data if e.key == "location"), "?")
            found.append(f"{label or t.name} (in {loc!r})")

    def walk(g: Any) -> None:
        for t in g.initializer:
            tensor(t, t.name)
        for st in g.sparse_initializer:
            tensor(st.values, st.values.name)
        for node in g.node:
            for a in node.attribute:
                if a.HasField("t"):
                    tensor(a.t, f"{node.op_type} {node.name}".strip())
                for t in a.tensors:
                    tensor(t, node.name)
                if a.HasField("g"):
                    walk(a.g)
                for sg in a.graphs:
                    walk(sg)

    walk(graph)
    return found


class OnnxModel(_BaseModel):
    """An ONNX model run with onnxruntime on the CPU.

    Parameters
    ----------
    source : bytes, str or path
        The model bytes, or the path of an ``.onnx`` file.
    n : int, optional
        Sequence length (required if the graph leaves it dynamic).
    alphabet : Alphabet or str, optional
        Default: DNA for 4 letters per position, protein for 20.
    layout : str, optional
        Override the detected input layout (one of :data:`LAYOUTS`).
    output : str or int, optional
        Output tensor (name or index). Default: the only output, else the first floating-point one.
    task : int, optional
        Which value per sequence, for outputs with several (e.g. ``1`` for class-1 probabilities of
        shape ``(N, 2)``). Axes after the batch axis are flattened (C order) before indexing.
    batch_size : int, optional
        Sequences per ``session.run`` (default 8192).
    threads : int, optional
        onnxruntime intra-op threads (default: onnxruntime's choice, all cores).
    name : str, optional
        Display name (default: the file name, or the graph name).
    spec : str, optional
        Use this spec instead of the derived one (demo models: ``demo:<name>``).
    sha256 : str, optional
        Expected sha256 of the bytes (specs of path models carry it); a mismatch is an error.

    Notes
    -----
    Refuses models whose weights live in external data files and models using operators outside the
    standard ONNX / onnxruntime domains (custom operators would need native code). Nothing in an ONNX
    file is executed other than its graph of standard operators.
    """

    kind = "onnx"

    def __init__(
        self,
        source: bytes | bytearray | memoryview | str | os.PathLike[str],
        *,
        n: int | None = None,
        alphabet: Alphabet | str | None = None,
        layout: str | None = None,
        output: str | int | None = None,
        task: int | None = None,
        batch_size: int | None = None,
        threads: int | None = None,
        name: str | None = None,
        spec: str | None = None,
        sha256: str | None = None,
    ) -> None:
        import onnx

        path: Path | None = None
        if isinstance(source, bytes | bytearray | memoryview):
            data = bytes(source)
            label = name or "uploaded model"
        else:
            path = Path(source).expanduser()
            label = name or path.name
            if not path.is_file():
                raise FileNotFoundError(f"{path}: no such ONNX file")
            data = path.read_bytes()
        self._data = data
        digest = hashlib.sha256(data).hexdigest()
        if sha256 is not None and sha256 != digest:
            raise ModelError(f"{label}: content changed (sha256 {digest[:12]}… instead of {sha256[:12]}…); "
                             "load the model again")
        if not data:
            raise ModelError(f"{label}: empty file, not an ONNX model")
        try:
            proto = onnx.ModelProto()
            proto.ParseFromString(data)
        except Exception as e:
            hint = "" if path is None or path.suffix == ".onnx" else " (to run a program, use 'cmd:<command line>')"
            raise ModelError(f"{label}: not a valid ONNX model (cannot parse: {e}); the file may be truncated "
                             f"or not an .onnx file{hint}") from None
        if not proto.HasField("graph") or (not proto.graph.node and not proto.graph.output):
            raise ModelError(f"{label}: not a valid ONNX model (no graph); the file may be truncated or not "
                             "an .onnx file")
        ext = _external_data_tensors(proto.graph)
        if ext:
            raise ModelError(f"{label}: weights are stored in external data files ({', '.join(ext[:3])}); "
                             "this is not supported: save the model with all weights inside the .onnx file "
                             "(onnx.save_model(m, path, save_as_external_data=False))")
        domains = {o.domain for o in proto.opset_import} | {nd.domain for nd in proto.graph.node}
        bad = sorted(d for d in domains if d not in _ALLOWED_DOMAINS and d not in {f.domain for f in proto.functions})
        if bad:
            raise ModelError(f"{label}: uses operators of the custom domain(s) {', '.join(map(repr, bad))}, which "
                             "would need native code; only standard ONNX / onnxruntime operators are supported")
        self._proto_meta = {
            "ir_version": int(proto.ir_version),
            "opsets": {(o.domain or "ai.onnx"): int(o.version) for o in proto.opset_import},
            "producer": f"{proto.producer_name} {proto.producer_version}".strip(),
            "graph_name": proto.graph.name,
            "doc": proto.doc_string[:500],
        }
        del proto
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        if threads is not None:
            opts.intra_op_num_threads = int(threads)
            opts.inter_op_num_threads = 1
        try:
            self._session = ort.InferenceSession(data, sess_options=opts, providers=["CPUExecutionProvider"])
        except Exception as e:
            msg = " ".join(str(e).split())
            raise ModelError(f"{label}: onnxruntime cannot load this model: {msg[:600]}") from None
        inputs = self._session.get_inputs()
        if len(inputs) != 1:
            listing = ", ".join(f"{i.name} {i.shape} {i.type}" for i in inputs)
            raise ModelError(f"{label}: the model has {len(inputs)} inputs ({listing}); only models with one "
                             "input (the sequences) are supported")
        inp = inputs[0]
        if inp.type not in _ORT_KIND:
            raise ModelError(f"{label}: input {inp.name!r} has type {inp.type}, which is not supported")
        kind, self._in_dtype = _ORT_KIND[inp.type]
        self._in_name = inp.name
        shape = list(inp.shape)
        if not shape:
            raise ModelError(f"{label}: input {inp.name!r} is a scalar; expected a batch of sequences")
        batch = shape[0] if isinstance(shape[0], int) and shape[0] > 0 else None
        dims = [d if isinstance(d, int) and d > 0 else None for d in shape[1:]]
        alpha = _resolve_alphabet(alphabet)
        self._layout = detect_layout(dims, kind, n=n, alphabet=alpha, layout=layout,
                                     where=f"{label}: input {inp.name!r}")
        if self._layout.layout in ("codes", "strings"):
            alpha = alpha or DNA
        else:
            alpha = _alphabet_for_q(self._layout.q, alpha, f"{label}: input {inp.name!r}")
        self._fixed_batch = batch
        # outputs
        outs = self._session.get_outputs()
        self._outputs = [{"name": o.name, "type": o.type, "shape": list(o.shape)} for o in outs]
        if output is None:
            tensors = [o for o in outs if o.type.startswith("tensor(")]
            floats = [o for o in tensors if o.type in ("tensor(float)", "tensor(double)", "tensor(float16)")]
            chosen = (tensors if len(tensors) == 1 else floats or tensors or outs)[0]
        elif isinstance(output, int) and not isinstance(output, bool):
            if not 0 <= output < len(outs):
                raise ModelError(f"{label}: output index {output} out of range; the model has {len(outs)} "
                                 f"outputs ({', '.join(o.name for o in outs)})")
            chosen = outs[output]
        else:
            names = [o.name for o in outs]
            if str(output) not in names:
                raise ModelError(f"{label}: no output named {output!r}; outputs: {', '.join(names)}")
            chosen = outs[names.index(str(output))]
        if not chosen.type.startswith("tensor("):
            raise ModelError(f"{label}: output {chosen.name!r} is a {chosen.type}, not a tensor; choose another "
                             f"output ({', '.join(o.name for o in outs)})")
        self._out_name = chosen.name
        per_seq = chosen.shape[1:]
        self._out_width = math.prod(per_seq) if all(isinstance(d, int) and d > 0 for d in per_seq) else None
        if task is not None:
            task = int(task)
            if task < 0 or (self._out_width is not None and task >= self._out_width):
                raise ModelError(f"{label}: task {task} out of range for output {chosen.name!r} of shape "
                                 f"{chosen.shape} (tasks 0..{(self._out_width or 1) - 1})")
        elif self._out_width is not None and self._out_width > 1:
            raise ModelError(f"{label}: output {chosen.name!r} has {self._out_width} values per sequence (shape "
                             f"{chosen.shape}); choose one with task=0..{self._out_width - 1}")
        self._task = task
        super().__init__(name=name or (path.stem if path else (self._proto_meta["graph_name"] or label)),
                         n=self._layout.n, alphabet=alpha, batch_size=batch or batch_size)
        self._label = label
        options = {"layout": self._layout.layout, "n": self.n, "alphabet": self.alphabet.letters,
                   "q": self._layout.q, "output": self._out_name, "task": self._task}
        self.identity = _sha256("onnx", data, _canon(options))
        self.sha256 = digest
        user_opts = {
            "n": n, "alphabet": None if alphabet is None else _alphabet_token(alpha),
            "layout": _normalize_layout(layout), "output": output, "task": task,
            "batch_size": batch_size, "threads": threads,
        }
        if spec is not None:
            self.spec = _compose_spec(spec, user_opts)
        elif path is not None:
            self.spec = _compose_spec(f"onnx:{path.resolve()}", {**user_opts, "sha256": digest})
        elif len(data) <= EMBED_LIMIT:
            self.spec = _compose_spec("onnx-b64:" + base64.b64encode(data).decode("ascii"), user_opts)
        else:
            store = _model_store()
            store.mkdir(parents=True, exist_ok=True)
            target = store / f"{digest}.onnx"
            if not target.is_file():
                tmp = target.with_name(f".{digest}.{uuid.uuid4().hex}.tmp")
                tmp.write_bytes(data)
                os.replace(tmp, target)
            self.spec = _compose_spec(f"onnx:{target}", {**user_opts, "sha256": digest})

    @property
    def onnx_bytes(self) -> bytes:
        """The model file content."""
        return self._data

    @property
    def layout(self) -> str:
        """Input layout in use (one of :data:`LAYOUTS`)."""
        return self._layout.layout

    def _predict_batch(self, X: np.ndarray, start: int) -> np.ndarray:
        N = X.shape[0]
        pad = 0
        if self._fixed_batch is not None and N != self._fixed_batch:
            pad = self._fixed_batch - N  # the graph fixes the batch size: pad with copies of the last row
            X = np.concatenate([X, np.repeat(X[-1:], pad, axis=0)])
        arr = _encode_input(X, self._layout, self.alphabet, self._in_dtype)
        try:
            (y,) = self._session.run([self._out_name], {self._in_name: arr})
        except Exception as e:
            msg = " ".join(str(e).split())
            raise ModelError(f"model {self.name!r} failed on {_rows(start, start + N)} (input {self._in_name!r} "
                             f"shape {arr.shape}): {msg[:600]}") from None
        y = np.asarray(y)
        if y.ndim == 0 or y.shape[0] != X.shape[0]:
            raise ModelError(f"model {self.name!r} returned output {self._out_name!r} of shape {y.shape} for a "
                             f"batch of {X.shape[0]} sequences ({_rows(start, start + N)})")
        y = y.reshape(y.shape[0], -1)
        if self._task is not None:
            if self._task >= y.shape[1]:
                raise ModelError(f"model {self.name!r}: task {self._task} out of range, output "
                                 f"{self._out_name!r} has {y.shape[1]} values per sequence")
            y = y[:, self._task]
        elif y.shape[1] != 1:
            raise ModelError(f"model {self.name!r}: output {self._out_name!r} has {y.shape[1]} values per "
                             f"sequence; choose one with task=0..{y.shape[1] - 1}")
        else:
            y = y[:, 0]
        return y[:N] if pad else y

    def _info(self) -> dict[str, Any]:
        inp = self._session.get_inputs()[0]
        return {
            "layout": self._layout.layout,
            "layout_source": self._layout.source,
            "layout_note": self._layout.note,
            "inputs": [{"name": inp.name, "type": inp.type, "shape": list(inp.shape)}],
            "outputs": self._outputs,
            "output": self._out_name,
            "task": self._task,
            "bytes": len(self._data),
            "sha256": self.sha256,
            "provider": "CPUExecutionProvider",
            **{k: v for k, v in self._proto_meta.items() if v not in ("", None)},
        }


# ============================================================================================ callables
def _source_hash(fn: Any) -> tuple[str | None, bool]:
    """sha256 over a plain function's source, its module's source and simple closure values.

    ``(None, False)`` when that does not pin the function down (callable instances, bound methods,
    closures over objects, source not available).
    """
    parts: list[str] = []
    if not (inspect.isfunction(fn) or inspect.isbuiltin(fn)):
        return None, False  # instances and bound methods carry state their source does not show
    target = fn
    try:
        parts.append(inspect.getsource(target))
    except (OSError, TypeError):
        return None, False
    mod = inspect.getmodule(target)
    if mod is not None:
        try:
            parts.append(inspect.getsource(mod))
        except (OSError, TypeError):
            pass
    # values captured by a closure (numbers, strings, arrays) are part of the function
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            v = cell.cell_contents
        except ValueError:
            continue
        if isinstance(v, np.ndarray):
            parts.append(hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest() + str(v.dtype) + str(v.shape))
        elif isinstance(v, int | float | str | bytes | bool | tuple | type(None)):
            parts.append(repr(v))
        elif callable(v):
            h, ok = _source_hash(v)
            if not ok:
                return None, False
            parts.append(h or "")
        else:
            return None, False
    return _sha256(*parts), True


def _import_path(fn: Any) -> str | None:
    """``module:qualname`` if importing it gives back the same object."""
    mod = getattr(fn, "__module__", None)
    qual = getattr(fn, "__qualname__", None)
    if not mod or not qual or mod == "__main__" or "<" in qual:
        return None
    try:
        obj: Any = importlib.import_module(mod)
        for part in qual.split("."):
            obj = getattr(obj, part)
    except Exception:
        return None
    return f"{mod}:{qual}" if obj is fn else None


def _annotation_kind(fn: Any) -> str | None:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    params = [p for p in sig.parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if not params or params[0].annotation is inspect.Parameter.empty:
        return None
    ann = params[0].annotation
    text = ann if isinstance(ann, str) else getattr(ann, "__name__", "") + " " + repr(ann)
    if re.search(r"\bstr\b", text):
        return "strings"
    if re.search(r"ndarray|NDArray|ArrayLike|\bArray\b", text):
        return "codes"
    return None


class CallableModel(_BaseModel):
    """A Python function (or callable object) as a model. Trusted local use only.

    Parameters
    ----------
    fn : callable
        Takes a batch and returns one number per sequence.
    n : int, optional
        Sequence length (default: ``fn.n`` if present).
    alphabet : Alphabet or str, optional
        Default: ``fn.alphabet`` if present, else DNA.
    input : {"codes", "strings"}, optional
        What ``fn`` takes: ``int8 (N, n)`` codes or a list of N strings. If omitted: the
        ``input_kind`` attribute of ``fn``; else the annotation of its first parameter (``str`` in it ->
        strings; ``ndarray`` -> codes); else a probe on the first call: codes are tried first, and if
        ``fn`` raises on them, strings. (A function that accepts both, like ``len``, gets codes.)
    batch_size : int, optional
        Sequences per call of ``fn`` (default 8192).
    name, spec : str, optional
        Display name; spec (default: ``module:qualname`` when importable, else empty).
    """

    kind = "callable"

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        n: int | None = None,
        alphabet: Alphabet | str | None = None,
        input: str | None = None,
        batch_size: int | None = None,
        name: str | None = None,
        spec: str | None = None,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"not callable: {fn!r}")
        self._fn = fn
        fn_n = getattr(fn, "n", None)
        fn_alpha = getattr(fn, "alphabet", None)
        alpha = _resolve_alphabet(alphabet) or (fn_alpha if isinstance(fn_alpha, Alphabet) else None) or DNA
        if n is None and isinstance(fn_n, int):
            n = fn_n
        if input is not None and input not in ("codes", "strings"):
            raise ValueError(f"input must be 'codes' or 'strings', got {input!r}")
        attr_kind = getattr(fn, "input_kind", None)
        self._input = input or (attr_kind if attr_kind in ("codes", "strings") else None) or _annotation_kind(fn)
        self._input_source = "given" if input else ("attribute/annotation" if self._input else "probe")
        label = getattr(fn, "__qualname__", None) or type(fn).__name__
        super().__init__(name=name or getattr(fn, "name", None) or label, n=n, alphabet=alpha, batch_size=batch_size)
        own = getattr(fn, "identity", None)
        src, stable = _source_hash(fn)
        where = _import_path(fn)
        if isinstance(own, str) and own:
            self.identity = _sha256("callable-identity", own, alpha.letters, str(n))
            stable = True
        elif stable:
            self.identity = _sha256("callable", where or label, src or "", alpha.letters, str(n))
        else:
            self.identity = _sha256("callable-unstable", uuid.uuid4().hex)
        self._stable = stable
        opts = {"n": n, "alphabet": None if alphabet is None else _alphabet_token(alpha), "input": input,
                "batch_size": batch_size}
        base = spec if spec is not None else where
        self.spec = _compose_spec(base, opts) if base else ""
        self._lock = threading.Lock()

    @classmethod
    def from_import(cls, target: str, **kwargs: Any) -> CallableModel:
        """Import ``module:function`` (dotted attribute paths allowed) and wrap it."""
        mod_name, _, attr = target.partition(":")
        try:
            mod = importlib.import_module(mod_name)
        except Exception as e:
            raise ModelError(f"cannot import module {mod_name!r} for model {target!r}: {type(e).__name__}: {e} "
                             "(the module must be installed or on PYTHONPATH)") from e
        obj: Any = mod
        for part in attr.split("."):
            if not hasattr(obj, part):
                raise ModelError(f"module {mod_name!r} has no attribute {attr!r} (model {target!r})")
            obj = getattr(obj, part)
        if not callable(obj):
            raise ModelError(f"{target!r} is a {type(obj).__name__}, not a callable")
        return cls(obj, spec=target, name=kwargs.pop("name", None) or attr, **kwargs)

    def _call(self, Xb: np.ndarray, kind: str) -> Any:
        arg = self.alphabet.decode(Xb) if kind == "strings" else Xb
        return self._fn(arg)

    def _predict_batch(self, X: np.ndarray, start: int) -> np.ndarray:
        kind = self._input
        if kind is None:
            with self._lock:
                if self._input is None:
                    self._input = self._probe(X[: min(4, X.shape[0])], start)
                kind = self._input
        try:
            return self._call(X, kind)
        except ModelError:
            raise
        except Exception as e:
            raise ModelError(f"model {self.name!r} raised {type(e).__name__} on {_rows(start, start + X.shape[0])}"
                             f": {e}") from e

    def _probe(self, X: np.ndarray, start: int) -> str:
        errors = []
        for kind in ("codes", "strings"):
            try:
                self._checked(self._call(X, kind), X, start)
                return kind
            except Exception as e:
                errors.append(f"as {kind}: {type(e).__name__}: {e}")
        raise ModelError(f"model {self.name!r} fails on both integer codes and strings ({'; '.join(errors)}); "
                         "pass input='codes' or input='strings' to see the full error")

    def _info(self) -> dict[str, Any]:
        return {"layout": self._input or "not yet probed", "input": self._input, "input_source": self._input_source,
                "identity_stable": self._stable, "callable": _import_path(self._fn) or repr(self._fn)[:200]}


# ============================================================================================ commands
class _Crash(Exception):
    pass


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
                    files.append(hashlib.sha256(p.read_bytes()).hexdigest())
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

    def _stop(self) -> None:
        if self._proc is not None:
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
                    self._stop()
                    first = early.split(b"\n", 1)[0].decode("utf-8", errors="replace")
                    raise ModelError(f"program {self.name!r} printed {first[:80]!r} on output line "
                                     f"{self._lines_out + 1} before it was given a sequence (a banner, or more "
                                     "lines than sequences); it must print exactly one number per input line")
            sel.register(in_fd, selectors.EVENT_WRITE)
            view = memoryview(payload)
            written = 0
            chunks: list[bytes] = []
            lines = 0
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
                        if not data:
                            raise _Crash()
                        chunks.append(data)
                        lines += data.count(b"\n")
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
                except _Crash:
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
                        self._stop()  # out of step: start afresh on the next call
                        raise ModelError(
                            f"program {self.name!r} wrote {s.decode('utf-8', errors='replace')[:80]!r} on output "
                            f"line {bad_line}, which is not a number (the answer for row {start + j}, sequence "
                            f"{_preview(seqs[j])})") from None
                raise ModelError(f"program {self.name!r} returned {len(lines)} numbers for {N} sequences")
            if extra:
                self._stop()
                first = extra.split(b"\n", 1)[0].decode("utf-8", errors="replace")
                raise ModelError(f"program {self.name!r} printed more lines than the {N} sequences it was given "
                                 f"(line {self._lines_out + N + 1}: {first[:80]!r}); it must print exactly one "
                                 "number per input line")
            self._lines_out += N
            return y

    def _info(self) -> dict[str, Any]:
        return {"layout": "strings", "command": self.command, "argv": self.argv, "timeout": self.timeout,
                "running": self._proc is not None and self._proc.poll() is None, "restarts": self.restarts,
                "protocol": "one sequence per line on stdin, one number per line on stdout"}


def select_ready(fd: int, timeout: float = 0.0) -> bool:
    """True if ``fd`` has data to read now (or within ``timeout`` seconds)."""
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        return bool(sel.select(timeout=timeout))


# ============================================================================================ HTTP (v2)
class HostNotAllowedError(ModelError):
    """An inference server whose host is not on the allow-list."""


def configured_allowed_hosts() -> tuple[str, ...]:
    """The app's allow-list: loopback plus the comma-separated hosts of ``$SHAPZERO_ALLOWED_HOSTS``."""
    extra = [h.strip().lower() for h in os.environ.get(ALLOWED_HOSTS_ENV, "").split(",") if h.strip()]
    return tuple(dict.fromkeys([*LOOPBACK_HOSTS, *extra]))


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_host(url: str, allowed_hosts: Iterable[str]) -> str:
    """Return the host of ``url`` or raise :class:`HostNotAllowedError` if it is not in ``allowed_hosts``.

    Hosts are compared as written (case-insensitive, IPv6 without brackets); names are not resolved, so
    a name that points at an allowed address is still refused unless the name itself is listed.
    """
    host = (urllib.parse.urlsplit(url).hostname or "").lower()
    allowed = {h.strip().lower().strip("[]") for h in allowed_hosts if h and h.strip()}
    if host not in allowed:
        raise HostNotAllowedError(
            f"inference server host {host!r} is not on the allow-list ({', '.join(sorted(allowed)) or 'empty'}); "
            f"add it to ${ALLOWED_HOSTS_ENV} (comma-separated) to allow it")
    return host


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> None:
        raise urllib.error.HTTPError(req.full_url, code, f"redirect to {newurl} refused", headers, fp)


_V2_KIND = {
    "FP16": ("float", np.float16), "FP32": ("float", np.float32), "FP64": ("float", np.float64),
    "INT8": ("int", np.int8), "INT16": ("int", np.int16), "INT32": ("int", np.int32), "INT64": ("int", np.int64),
    "UINT8": ("int", np.uint8), "UINT16": ("int", np.uint16), "UINT32": ("int", np.uint32),
    "UINT64": ("int", np.uint64), "BOOL": ("int", np.bool_), "BYTES": ("string", object),
}
_URL_RE = re.compile(r"^/v2/models/(?P<name>[^/]+)(?:/versions/(?P<version>[^/]+))?/?$")


class HttpModel(_BaseModel):
    """A model behind an Open Inference Protocol v2 REST endpoint (KServe, Triton, MLServer).

    Parameters
    ----------
    url : str
        ``http(s)://host:port/v2/models/<name>[/versions/<v>]``.
    n, alphabet, layout, output, task, batch_size
        As for :class:`OnnxModel`; the input layout comes from ``GET <url>`` (the model metadata).
    allowed_hosts : iterable of str, optional
        If given, the URL's host must be one of them (the app passes :func:`configured_allowed_hosts`).
    max_concurrency : int
        Requests in flight at once (default 4).
    retries : int
        Extra attempts after a 5xx answer, a timeout or a broken connection (default 3), with
        exponential backoff ``backoff * 2**attempt`` seconds (default 0.2). 4xx answers fail at once.
    timeout : float
        Seconds per request (default 30).
    name : str, optional

    Notes
    -----
    Requests never follow redirects (a redirect could leave the allow-list) and go to loopback
    servers without proxies. Tensors travel as JSON (``data`` lists); string (``BYTES``) inputs receive
    the sequences as letters.
    """

    kind = "http"

    def __init__(
        self,
        url: str,
        *,
        n: int | None = None,
        alphabet: Alphabet | str | None = None,
        layout: str | None = None,
        output: str | int | None = None,
        task: int | None = None,
        batch_size: int | None = None,
        allowed_hosts: Iterable[str] | None = None,
        max_concurrency: int = 4,
        retries: int = 3,
        timeout: float = 30.0,
        backoff: float = 0.2,
        name: str | None = None,
    ) -> None:
        parts = urllib.parse.urlsplit(url.strip())
        m = _URL_RE.match(parts.path)
        if parts.scheme not in ("http", "https") or not parts.hostname or m is None:
            raise ValueError(f"not an inference server model URL: {url!r}; expected "
                             "http(s)://host:port/v2/models/<name> (optionally /versions/<v>)")
        self.url = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
        self.allowed_hosts = None if allowed_hosts is None else tuple(allowed_hosts)
        if self.allowed_hosts is not None:
            check_host(self.url, self.allowed_hosts)
        self.model_name = urllib.parse.unquote(m["name"])
        self.max_concurrency = int(max_concurrency)
        self.retries = int(retries)
        self.timeout = float(timeout)
        self.backoff = float(backoff)
        if self.max_concurrency < 1 or self.retries < 0 or self.timeout <= 0 or self.backoff < 0:
            raise ValueError("max_concurrency must be >= 1, retries >= 0, timeout > 0 and backoff >= 0")
        handlers: list[Any] = [_NoRedirect()]
        if _is_loopback(parts.hostname):
            handlers.append(urllib.request.ProxyHandler({}))
        self._opener = urllib.request.build_opener(*handlers)
        self.requests = 0  # HTTP requests sent (including retries)
        self.retried = 0
        meta = self._json("GET", self.url, None, "reading the model metadata")
        if not isinstance(meta, dict) or not isinstance(meta.get("inputs"), list) or not meta["inputs"]:
            raise ModelError(f"{self.url}: the server's model metadata lists no inputs ({_canon(meta)[:200]})")
        self.metadata = meta
        inputs = meta["inputs"]
        if len(inputs) != 1:
            raise ModelError(f"{self.url}: the model has {len(inputs)} inputs "
                             f"({', '.join(str(i.get('name')) for i in inputs)}); only one input is supported")
        inp = inputs[0]
        dtype = str(inp.get("datatype", "")).upper()
        if dtype not in _V2_KIND:
            raise ModelError(f"{self.url}: input {inp.get('name')!r} has datatype {dtype!r}, which is not supported")
        kind, self._in_dtype = _V2_KIND[dtype]
        self._in_name = str(inp.get("name"))
        self._in_datatype = dtype
        shape = [int(d) for d in inp.get("shape", [])]
        if not shape:
            raise ModelError(f"{self.url}: input {self._in_name!r} has no shape in the metadata")
        dims = [d if d > 0 else None for d in shape[1:]]
        alpha = _resolve_alphabet(alphabet)
        self._layout = detect_layout(dims, kind, n=n, alphabet=alpha, layout=layout,
                                     where=f"{self.url}: input {self._in_name!r}")
        if self._layout.layout in ("codes", "strings"):
            alpha = alpha or DNA
        else:
            alpha = _alphabet_for_q(self._layout.q, alpha, f"{self.url}: input {self._in_name!r}")
        outs = meta.get("outputs") or []
        self._outputs = outs
        if output is None:
            chosen = outs[0] if outs else None
        elif isinstance(output, int) and not isinstance(output, bool):
            if not 0 <= output < len(outs):
                raise ModelError(f"{self.url}: output index {output} out of range ({len(outs)} outputs)")
            chosen = outs[output]
        else:
            chosen = next((o for o in outs if o.get("name") == output), None)
            if chosen is None:
                raise ModelError(f"{self.url}: no output named {output!r}; outputs: "
                                 f"{', '.join(str(o.get('name')) for o in outs)}")
        self._out_name = None if chosen is None else str(chosen.get("name"))
        oshape = [int(d) for d in (chosen or {}).get("shape", [])][1:]
        width = math.prod(oshape) if oshape and all(d > 0 for d in oshape) else (1 if chosen and not oshape else None)
        if task is None and width is not None and width > 1:
            raise ModelError(f"{self.url}: output {self._out_name!r} has {width} values per sequence; choose one "
                             f"with task=0..{width - 1}")
        if task is not None and (task < 0 or (width is not None and task >= width)):
            raise ModelError(f"{self.url}: task {task} out of range for output {self._out_name!r}")
        self._task = task
        super().__init__(name=name or self.model_name, n=self._layout.n, alphabet=alpha, batch_size=batch_size)
        self.identity = _sha256("http", self.url, _canon(meta), _canon(
            {"layout": self._layout.layout, "n": self.n, "alphabet": alpha.letters, "output": self._out_name,
             "task": task}))
        opts = {"n": n, "alphabet": None if alphabet is None else _alphabet_token(alpha),
                "layout": _normalize_layout(layout), "output": output, "task": task, "batch_size": batch_size,
                "allowed_hosts": None if self.allowed_hosts is None else list(self.allowed_hosts),
                "max_concurrency": None if max_concurrency == 4 else self.max_concurrency,
                "retries": None if retries == 3 else self.retries, "timeout": None if timeout == 30.0 else self.timeout,
                "backoff": None if backoff == 0.2 else self.backoff}
        self.spec = _compose_spec(self.url, opts)
        self._pool: cf.ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    # -- transport ------------------------------------------------------------------------------------
    def _json(self, method: str, url: str, body: bytes | None, what: str) -> Any:
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self.retried += 1
                time.sleep(self.backoff * 2 ** (attempt - 1))
            req = urllib.request.Request(url, data=body, method=method,
                                         headers={"Content-Type": "application/json", "Accept": "application/json"})
            self.requests += 1
            try:
                with self._opener.open(req, timeout=self.timeout) as resp:
                    raw = resp.read()
            except urllib.error.HTTPError as e:
                detail = _error_detail(e)
                if 500 <= e.code < 600 or e.code == 429:
                    last = f"HTTP {e.code}: {detail}"
                    continue
                hint = " (no such model on this server)" if e.code == 404 else ""
                raise ModelError(f"{self.url}: the server refused {what}: HTTP {e.code}{hint}: {detail}") from None
            except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException, OSError) as e:
                reason = getattr(e, "reason", e)
                last = f"{type(reason).__name__}: {reason}" if str(reason) else type(reason).__name__
                continue
            try:
                return json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                raise ModelError(f"{self.url}: the server answered {what} with invalid JSON ({e}): "
                                 f"{raw[:120]!r}") from None
        raise ModelError(f"{self.url}: {what} failed after {self.retries + 1} attempts (last: {last})")

    def _predict_batch(self, X: np.ndarray, start: int) -> np.ndarray:
        N = X.shape[0]
        arr = _encode_input(X, self._layout, self.alphabet, self._in_dtype)
        data = arr.ravel().tolist()
        req: dict[str, Any] = {"inputs": [{"name": self._in_name, "shape": list(arr.shape),
                                           "datatype": self._in_datatype, "data": data}]}
        if self._out_name is not None:
            req["outputs"] = [{"name": self._out_name}]
        what = f"the request for {_rows(start, start + N)}"
        resp = self._json("POST", self.url + "/infer", json.dumps(req, separators=(",", ":")).encode(), what)
        outs = resp.get("outputs") if isinstance(resp, dict) else None
        if not isinstance(outs, list) or not outs:
            raise ModelError(f"{self.url}: the answer to {what} has no outputs ({_canon(resp)[:200]})")
        out = outs[0] if self._out_name is None else next((o for o in outs if o.get("name") == self._out_name), None)
        if out is None:
            raise ModelError(f"{self.url}: the answer to {what} has no output {self._out_name!r}")
        try:
            y = np.asarray(out.get("data"), dtype=np.float64)
            shape = [int(d) for d in out.get("shape", [y.size])]
            y = y.reshape(shape)
        except (TypeError, ValueError) as e:
            raise ModelError(f"{self.url}: output {out.get('name')!r} in the answer to {what} is not a numeric "
                             f"tensor ({e})") from None
        if y.ndim == 0 or y.shape[0] != N:
            raise ModelError(f"model {self.name!r} returned output of shape {tuple(y.shape)} for {N} sequences "
                             f"({_rows(start, start + N)})")
        y = y.reshape(N, -1)
        if self._task is not None:
            if self._task >= y.shape[1]:
                raise ModelError(f"model {self.name!r}: task {self._task} out of range ({y.shape[1]} values)")
            return y[:, self._task]
        return y

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """Predict with up to ``max_concurrency`` requests in flight (see :meth:`_BaseModel.__call__`)."""
        X = self._check_input(X)
        N = X.shape[0]
        out = np.empty(N, dtype=np.float64)
        starts = list(range(0, N, self.batch_size))
        if len(starts) <= 1 or self.max_concurrency == 1:
            for s in starts:
                Xb = X[s : s + self.batch_size]
                out[s : s + Xb.shape[0]] = self._checked(self._predict_batch(Xb, s), Xb, s)
            return out
        with self._pool_lock:
            if self._pool is None:
                self._pool = cf.ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="shapzero-http")
            pool = self._pool
        futs = {pool.submit(self._predict_batch, X[s : s + self.batch_size], s): s for s in starts}
        try:
            for f in cf.as_completed(futs):
                s = futs[f]
                Xb = X[s : s + self.batch_size]
                out[s : s + Xb.shape[0]] = self._checked(f.result(), Xb, s)
        except BaseException:
            for f in futs:
                f.cancel()
            raise
        return out

    def close(self) -> None:
        """Stop the request threads."""
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None

    def _info(self) -> dict[str, Any]:
        return {"layout": self._layout.layout, "layout_source": self._layout.source, "layout_note": self._layout.note,
                "url": self.url, "model_name": self.model_name, "inputs": self.metadata.get("inputs"),
                "outputs": self._outputs, "output": self._out_name, "task": self._task,
                "platform": self.metadata.get("platform"), "versions": self.metadata.get("versions"),
                "max_concurrency": self.max_concurrency, "retries": self.retries, "timeout": self.timeout,
                "allowed_hosts": None if self.allowed_hosts is None else list(self.allowed_hosts)}


def _error_detail(e: urllib.error.HTTPError) -> str:
    try:
        raw = e.read()
    except Exception:
        raw = b""
    try:
        d = json.loads(raw)
        if isinstance(d, dict) and "error" in d:
            return str(d["error"])[:300]
    except (json.JSONDecodeError, UnicodeDecodeError):
        pass
    text = raw.decode("utf-8", errors="replace").strip()
    return (text or str(e.reason))[:300]


# ============================================================================================ load_model
def load_model(
    spec: Any,
    *,
    n: int | None = None,
    alphabet: Alphabet | str | None = None,
    layout: str | None = None,
    output: str | int | None = None,
    task: int | None = None,
    batch_size: int | None = None,
    allowed_hosts: Iterable[str] | None = None,
) -> ModelFn:
    """Turn a model spec into a :class:`ModelFn` adapter.

    Parameters
    ----------
    spec : str, bytes, path or callable
        See the module docstring: an ``.onnx`` path, ``onnx:``/``onnx-b64:``, ``demo:<name>``,
        ``module:function``, ``cmd:<command line>``, ``http(s)://host:port/v2/models/<name>``, a JSON
        object ``{"model": ..., options}``, ONNX bytes, or a callable (wrapped in :class:`CallableModel`).
    n : int, optional
        Sequence length (required where the model cannot tell: callables, commands, dynamic shapes).
    alphabet : Alphabet or str, optional
        ``"dna"``, ``"rna"``, ``"protein"``, a string of letters, or an :class:`Alphabet`.
    layout : str, optional
        Input layout override for ONNX / HTTP models (one of :data:`LAYOUTS`).
    output : str or int, optional
        Output tensor of ONNX / HTTP models.
    task : int, optional
        Index of the value per sequence, for multi-output tensors.
    batch_size : int, optional
        Sequences per model call / line batch / request.
    allowed_hosts : iterable of str, optional
        If given, inference servers must be on one of these hosts (others raise
        :class:`HostNotAllowedError`); ``None`` (API and CLI) allows any host.

    Returns
    -------
    ModelFn

    Raises
    ------
    ValueError
        For a spec of unknown form or bad options.
    FileNotFoundError
        For a path that does not exist.
    ModelError
        If the model cannot be loaded (invalid ONNX, import error, unreachable server...).
    """
    common = {"n": n, "alphabet": alphabet, "batch_size": batch_size}
    if isinstance(spec, _BaseModel) and all(v is None for v in (n, alphabet, layout, output, task, batch_size)):
        return spec
    if isinstance(spec, bytes | bytearray | memoryview):
        return OnnxModel(spec, layout=layout, output=output, task=task, **common)
    if isinstance(spec, os.PathLike):
        return OnnxModel(spec, layout=layout, output=output, task=task, **common)
    if not isinstance(spec, str):
        if callable(spec):
            return CallableModel(spec, **common)
        raise TypeError(f"a model spec must be a string, bytes, a path or a callable, got {type(spec).__name__}")
    base, opts = _parse_spec(spec)
    given = {"n": n, "alphabet": alphabet, "layout": layout, "output": output, "task": task,
             "batch_size": batch_size, "allowed_hosts": None if allowed_hosts is None else list(allowed_hosts)}
    opts.update({k: v for k, v in given.items() if v is not None})
    if not base:
        raise ValueError("empty model spec")
    low = base.lower()

    def pick(*keys: str) -> dict[str, Any]:
        unused = set(opts) - set(keys) - {"name"}
        if unused:
            raise ValueError(f"option(s) {', '.join(sorted(unused))} do not apply to the model {base[:80]!r}")
        return {k: opts[k] for k in (*keys, "name") if k in opts}

    onnx_keys = ("n", "alphabet", "layout", "output", "task", "batch_size", "threads", "sha256")
    if low.startswith("demo:"):
        from . import demos

        demo = demos.get_demo(base[5:].strip())
        return demo.load_model(**{k: v for k, v in pick(*onnx_keys).items() if k not in ("sha256", "name")})
    if low.startswith("onnx-b64:"):
        try:
            data = base64.b64decode(base[9:], validate=True)
        except (binascii.Error, ValueError) as e:
            raise ValueError(f"onnx-b64: spec is not valid base64 ({e})") from None
        return OnnxModel(data, **pick(*onnx_keys))
    if low.startswith("onnx:"):
        return OnnxModel(base[5:].strip(), **pick(*onnx_keys))
    if low.startswith("cmd:"):
        return CommandModel(base[4:].strip(), **pick("n", "alphabet", "batch_size", "timeout"))
    if low.startswith(("http://", "https://")):
        return HttpModel(base, **pick("n", "alphabet", "layout", "output", "task", "batch_size", "allowed_hosts",
                                      "max_concurrency", "retries", "timeout", "backoff"))
    if low.endswith(".onnx") or (Path(base).expanduser().is_file() and not _CALLABLE_RE.match(base)):
        return OnnxModel(base, **pick(*onnx_keys))
    if _CALLABLE_RE.match(base):
        return CallableModel.from_import(base, **pick("n", "alphabet", "input", "batch_size"))
    raise ValueError(
        f"cannot tell what kind of model {base[:120]!r} is: expected a path to an .onnx file, 'demo:<name>' "
        "(guide_rna, repair, cnn), 'module:function', 'cmd:<command line>' or "
        "'http(s)://host:port/v2/models/<name>'")

