"""Input layouts: how an ``int8 (N, n)`` batch of letter codes becomes a model's input tensor
(one-hot ``NLQ`` / ``NQL``, integer codes, flat one-hot, strings), and their detection from a declared shape."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..alphabet import Alphabet
from ..errors import ModelError

LAYOUTS = ("NLQ", "NQL", "codes", "flat", "strings")
"""Input layouts: one-hot ``(N, n, q)``, one-hot ``(N, q, n)``, integer codes ``(N, n)``, flat one-hot
``(N, n*q)`` (position-major, i.e. ``NLQ`` flattened), and strings ``(N,)`` (ONNX string / v2 ``BYTES``)."""

_LAYOUT_ALIASES = {
    "nlq": "NLQ", "onehot": "NLQ", "one-hot": "NLQ", "nql": "NQL", "channels-first": "NQL",
    "codes": "codes", "int": "codes", "integer": "codes", "flat": "flat", "strings": "strings",
    "string": "strings", "bytes": "strings",
}


def _normalize_layout(layout: str | None) -> str | None:
    if layout is None:
        return None
    key = str(layout).strip()
    out = _LAYOUT_ALIASES.get(key.lower(), key if key in LAYOUTS else None)
    if out is None:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    return out



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


def _shape_text(dims: Sequence[Any]) -> str:
    """``[N, 26, 4]`` for the dims after the batch axis (dynamic ones as ``?``)."""
    return "[" + ", ".join(["N", *("?" if not isinstance(d, int) or d < 0 else str(d) for d in dims)]) + "]"


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
    shape_txt = _shape_text(dims)

    def fail(msg: str) -> ModelError:
        return ModelError(f"{where} with shape {shape_txt}: {msg}")

    if kind == "string" or layout == "strings":
        if kind != "string":
            raise fail("layout 'strings' needs a string input")
        if any(d not in (None, 1) for d in dims):
            raise fail("a string input must have one sequence per row (shape [N] or [N, 1])")
        q = alphabet.q if alphabet is not None else 4
        return _Layout("strings", n, q, dims, "detected", "sequences sent as strings")
    if not dims:
        raise fail("one value per sequence (a rank-1 input) cannot hold a sequence; expected one-hot (N, n, q) / "
                   "(N, q, n), integer codes (N, n), flat one-hot (N, n*q), or strings (N,) of a string input")
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


def _input_bytes(lay: _Layout, dtype: Any) -> int:
    """Bytes one sequence costs in a model call: its int8 codes plus the encoded input (twice: the one-hot and
    its contiguous copy). Strings count one Python object of ``n`` letters each."""
    n = int(lay.n or 0)
    if lay.layout == "strings":
        return n + 2 * (n + 64)
    elems = math.prod(lay.shape_for(1, n)[1:])
    return n + 2 * elems * np.dtype(dtype).itemsize
