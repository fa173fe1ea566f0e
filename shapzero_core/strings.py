"""Compact, read-only sequences of strings for large sequence sets.

A Python ``list`` of a million short strings costs ~70 bytes per string (object header, pointer); the ids and
letters of a sequence file are far smaller than that. :class:`Strings` keeps them as one UTF-8 buffer plus
offsets (1 byte per ASCII character + 8), :class:`DecodedSequences` decodes the rows of an ``int8 (N, n)`` code
array on access (no storage at all). Both behave as read-only lists: ``len``, indexing (an int, a slice, or an
index array / boolean mask, which give the same kind of object), iteration, ``in``, ``==`` against any list or
sequence of strings, ``list(x)`` / :meth:`tolist`, and ``numpy.asarray(x)`` (an object array).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from .alphabet import Alphabet

__all__ = ["DecodedSequences", "Strings", "StringsBuilder"]

_ITER_CHUNK = 65_536


class _ListLike(Sequence[str]):
    """Shared list behaviour: equality with lists, ``tolist``, ``__array__``, repr."""

    __slots__ = ()

    def _at(self, i: int) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def _take(self, idx: np.ndarray) -> _ListLike:  # pragma: no cover - abstract
        raise NotImplementedError

    def _chunk(self, start: int, stop: int) -> list[str]:
        return [self._at(i) for i in range(start, stop)]

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, int | np.integer):
            i = int(key)
            n = len(self)
            if i < 0:
                i += n
            if not 0 <= i < n:
                raise IndexError(f"index {key} out of range for {n} strings")
            return self._at(i)
        if isinstance(key, slice):
            return self._take(np.arange(len(self))[key])
        idx = np.asarray(key)
        if idx.dtype == bool:
            if idx.shape != (len(self),):
                raise IndexError(f"boolean mask of shape {idx.shape} for {len(self)} strings")
            idx = np.flatnonzero(idx)
        idx = idx.astype(np.intp).ravel()
        if idx.size and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise IndexError(f"indices out of range for {len(self)} strings")
        return self._take(np.where(idx < 0, idx + len(self), idx))

    def __iter__(self) -> Iterator[str]:
        for s in range(0, len(self), _ITER_CHUNK):
            yield from self._chunk(s, min(len(self), s + _ITER_CHUNK))

    def tolist(self) -> list[str]:
        """A plain list of the strings."""
        return list(self)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = np.empty(len(self), dtype=object)
        for s in range(0, len(self), _ITER_CHUNK):
            e = min(len(self), s + _ITER_CHUNK)
            out[s:e] = self._chunk(s, e)
        return out if dtype in (None, object) else out.astype(dtype)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str) or not isinstance(other, Sequence):
            return NotImplemented
        if len(other) != len(self):
            return False
        return all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __add__(self, other: Iterable[str]) -> list[str]:
        return [*self, *other]

    def __radd__(self, other: Iterable[str]) -> list[str]:
        return [*other, *self]

    def __repr__(self) -> str:
        head = ", ".join(repr(s) for s in self._chunk(0, min(len(self), 5)))
        return f"{type(self).__name__}([{head}{', ...' if len(self) > 5 else ''}], n={len(self)})"


class Strings(_ListLike):
    """A read-only list of strings stored as one UTF-8 buffer and ``int64`` offsets.

    Parameters
    ----------
    items : iterable of str, optional
        The strings (e.g. a list); :meth:`join` concatenates several :class:`Strings` without copying twice.
    """

    __slots__ = ("_ascii", "_buf", "_off", "unique")

    def __init__(self, items: Iterable[str] = ()) -> None:
        enc = [str(s).encode("utf-8") for s in items]
        self._buf = b"".join(enc)
        self._off = np.zeros(len(enc) + 1, dtype=np.int64)
        if enc:
            np.cumsum(np.fromiter(map(len, enc), dtype=np.int64, count=len(enc)), out=self._off[1:])
        self._ascii = self._buf.isascii()
        self.unique = False  # set by whoever checked that no two strings are equal

    @classmethod
    def _raw(cls, buf: bytes, off: np.ndarray) -> Strings:
        obj = cls.__new__(cls)
        obj._buf, obj._off, obj._ascii, obj.unique = buf, off, buf.isascii(), False
        return obj

    @classmethod
    def join(cls, parts: Iterable[Strings]) -> Strings:
        """One :class:`Strings` holding every part in order."""
        parts = list(parts)
        if not parts:
            return cls()
        shifts = np.cumsum([0] + [len(p._buf) for p in parts[:-1]])
        off = np.concatenate([np.zeros(1, np.int64)] + [p._off[1:] + sh for p, sh in zip(parts, shifts, strict=True)])
        return cls._raw(b"".join(p._buf for p in parts), off)

    @property
    def nbytes(self) -> int:
        """Bytes held (buffer + offsets)."""
        return len(self._buf) + self._off.nbytes

    def __len__(self) -> int:
        return self._off.shape[0] - 1

    def _at(self, i: int) -> str:
        return self._buf[self._off[i]:self._off[i + 1]].decode("utf-8")

    def _chunk(self, start: int, stop: int) -> list[str]:
        a, b = int(self._off[start]), int(self._off[stop])
        if self._ascii:  # one decode, then slices of the str (ASCII: byte offsets are character offsets)
            text = self._buf[a:b].decode("ascii")
            o = (self._off[start:stop + 1] - a).tolist()
            return [text[o[k]:o[k + 1]] for k in range(stop - start)]
        return [self._at(i) for i in range(start, stop)]

    def _take(self, idx: np.ndarray) -> Strings:
        if idx.size == 0:
            return Strings()
        lo, hi = self._off[idx], self._off[idx + 1]
        if idx.size == len(self) and np.array_equal(idx, np.arange(len(self))):
            return self
        lens = hi - lo
        off = np.zeros(idx.size + 1, dtype=np.int64)
        np.cumsum(lens, out=off[1:])
        mv = memoryview(self._buf)
        return Strings._raw(b"".join(mv[a:b] for a, b in zip(lo.tolist(), hi.tolist(), strict=True)), off)

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, str):
            return False
        return any(value == s for s in self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Strings):
            return len(self) == len(other) and self._buf == other._buf and bool(
                np.array_equal(self._off - self._off[0], other._off - other._off[0]))
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return (Strings._raw, (self._buf, self._off))


class StringsBuilder:
    """Collects strings chunk by chunk into one growing buffer; :meth:`build` makes the :class:`Strings`."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._off = array("q", [0])

    def extend(self, items: Iterable[str]) -> None:
        buf, off = self._buf, self._off
        for s in items:
            buf += s.encode("utf-8")
            off.append(len(buf))

    def __len__(self) -> int:
        return len(self._off) - 1

    def build(self) -> Strings:
        """The strings collected (the builder is emptied)."""
        out = Strings._raw(bytes(self._buf), np.frombuffer(self._off, dtype=np.int64).copy())
        self._buf, self._off = bytearray(), array("q", [0])
        return out


class DecodedSequences(_ListLike):
    """The rows of an ``int8 (N, n)`` code array as strings, decoded when read (nothing stored).

    Parameters
    ----------
    X : numpy.ndarray
        ``int8 (N, n)`` letter codes (kept by reference: make it read-only).
    alphabet : Alphabet
    """

    __slots__ = ("X", "_lut", "alphabet")

    def __init__(self, X: np.ndarray, alphabet: Alphabet) -> None:
        self.X = X
        self.alphabet = alphabet
        letters = alphabet.letters
        self._lut = np.frombuffer(letters.encode("ascii"), dtype=np.uint8) if letters.isascii() else None

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def _at(self, i: int) -> str:
        return self._chunk(i, i + 1)[0]

    def _chunk(self, start: int, stop: int) -> list[str]:
        if self._lut is None:
            return self.alphabet.decode(self.X[start:stop])
        n = self.X.shape[1]
        text = self._lut[self.X[start:stop].astype(np.intp)].tobytes().decode("ascii")
        return [text[k * n:(k + 1) * n] for k in range(stop - start)]

    def _take(self, idx: np.ndarray) -> DecodedSequences:
        X = self.X[idx]
        X.setflags(write=False)
        return DecodedSequences(X, self.alphabet)

    def __reduce__(self) -> tuple[Any, ...]:
        return (DecodedSequences, (self.X, self.alphabet))
