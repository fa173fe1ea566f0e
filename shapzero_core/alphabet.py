"""Alphabets: letters <-> integer codes, and one-hot encodings.

A sequence batch is an ``int8`` array of shape ``(N, n)`` with values in ``[0, q)``. Letters map to codes
in the order they are listed in the alphabet: DNA is ``A, C, G, T = 0, 1, 2, 3``.

Normalisation policy (applied by :meth:`Alphabet.normalize` and therefore by :meth:`Alphabet.encode`):

1. surrounding white space is stripped;
2. letters are upper-cased when the alphabet is case-insensitive (every built-in alphabet is);
3. for DNA, ``U`` is read as ``T``; for RNA, ``T`` is read as ``U`` (``convert_ut=True``, the default for
   the built-ins). Nothing else is ever rewritten: IUPAC ambiguity codes such as ``N`` or ``R`` are errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["DNA", "PROTEIN", "RNA", "Alphabet", "SequenceError", "get_alphabet"]


class SequenceError(ValueError):
    """A sequence that cannot be encoded. Carries where the problem is.

    Attributes
    ----------
    index : int or None
        0-based index of the sequence in the batch.
    position : int or None
        1-based position of the offending letter, if the problem is a letter.
    letter : str or None
        The offending letter.
    reason : str
        Short machine-friendly reason: ``"empty"``, ``"length"``, ``"letter"``.
    """

    def __init__(
        self,
        message: str,
        *,
        index: int | None = None,
        position: int | None = None,
        letter: str | None = None,
        reason: str = "letter",
    ) -> None:
        super().__init__(message)
        self.index = index
        self.position = position
        self.letter = letter
        self.reason = reason


@dataclass(frozen=True)
class Alphabet:
    """An ordered set of single-character letters; code ``i`` is ``letters[i]``.

    Parameters
    ----------
    letters : str
        The letters in code order, e.g. ``"ACGT"``. Must be distinct printable characters.
    name : str, optional
        Display name (``"DNA"``, ``"RNA"``, ``"protein"`` or ``"custom"``).
    case_sensitive : bool, default False
        If False, input is upper-cased before lookup (so letters must be upper case).
    convert_ut : bool, default False
        Read ``U`` as ``T`` (if ``T`` is a letter) or ``T`` as ``U`` (if ``U`` is a letter).
    """

    letters: str
    name: str = "custom"
    case_sensitive: bool = False
    convert_ut: bool = False
    _lut: np.ndarray = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        letters = self.letters
        if not isinstance(letters, str) or len(letters) < 2:
            raise ValueError(f"an alphabet needs at least 2 letters, got {letters!r}")
        if len(set(letters)) != len(letters):
            raise ValueError(f"alphabet letters must be distinct, got {letters!r}")
        if any((not ch.isprintable()) or ch.isspace() or ord(ch) > 127 for ch in letters):
            raise ValueError(f"alphabet letters must be printable ASCII characters, got {letters!r}")
        if len(letters) > 127:
            raise ValueError("an alphabet may have at most 127 letters (codes are int8)")
        if not self.case_sensitive and letters != letters.upper():
            raise ValueError(f"a case-insensitive alphabet must list upper-case letters, got {letters!r}")
        lut = np.full(128, -1, dtype=np.int16)
        for i, ch in enumerate(letters):
            lut[ord(ch)] = i
        if self.convert_ut:
            if "T" in letters and "U" not in letters:
                lut[ord("U")] = letters.index("T")
            elif "U" in letters and "T" not in letters:
                lut[ord("T")] = letters.index("U")
        if not self.case_sensitive:
            for c in range(ord("a"), ord("z") + 1):
                lut[c] = lut[c - 32]
        object.__setattr__(self, "_lut", lut)

    # ------------------------------------------------------------------ basics
    @property
    def q(self) -> int:
        """Alphabet size."""
        return len(self.letters)

    def __len__(self) -> int:
        return len(self.letters)

    def to_dict(self) -> dict[str, object]:
        """JSON-able description; :meth:`from_dict` inverts it."""
        return {
            "letters": self.letters,
            "name": self.name,
            "case_sensitive": self.case_sensitive,
            "convert_ut": self.convert_ut,
        }

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> Alphabet:
        """Rebuild an alphabet written by :meth:`to_dict`."""
        return cls(
            letters=str(d["letters"]),
            name=str(d.get("name", "custom")),
            case_sensitive=bool(d.get("case_sensitive", False)),
            convert_ut=bool(d.get("convert_ut", False)),
        )

    def normalize(self, seq: str) -> str:
        """Apply the normalisation policy (strip; upper-case; U<->T) without validating."""
        s = seq.strip()
        if not self.case_sensitive:
            s = s.upper()
        if self.convert_ut:
            if "T" in self.letters and "U" not in self.letters:
                s = s.replace("U", "T")
            elif "U" in self.letters and "T" not in self.letters:
                s = s.replace("T", "U")
        return s

    # ------------------------------------------------------------------ encode / decode
    def encode_one(self, seq: str, n: int | None = None, *, index: int | None = None) -> np.ndarray:
        """Encode one sequence.

        Parameters
        ----------
        seq : str
            The sequence; normalised first (see module docstring).
        n : int, optional
            Expected length; a different length raises :class:`SequenceError`.
        index : int, optional
            Index used in error messages.

        Returns
        -------
        numpy.ndarray
            ``int8`` array of shape ``(len(seq),)``.
        """
        where = f"sequence {index}" if index is not None else "sequence"
        if not isinstance(seq, str):
            raise SequenceError(f"{where} is not a string ({type(seq).__name__})", index=index, reason="type")
        s = seq.strip()
        if not s:
            raise SequenceError(f"{where} is empty", index=index, reason="empty")
        if n is not None and len(s) != n:
            raise SequenceError(
                f"{where} has length {len(s)}, expected {n}", index=index, reason="length"
            )
        raw = s.encode("ascii", errors="replace") if not s.isascii() else s.encode("ascii")
        codes = np.frombuffer(raw, dtype=np.uint8)
        mapped = self._lut[np.minimum(codes, 127)]
        bad = np.flatnonzero((mapped < 0) | (codes > 127))
        if bad.size:
            pos = int(bad[0])
            letter = s[pos]
            raise SequenceError(
                f"{where}: letter {letter!r} at position {pos + 1} is not in the {self.name} alphabet "
                f"({self.letters})",
                index=index,
                position=pos + 1,
                letter=letter,
                reason="letter",
            )
        return mapped.astype(np.int8)

    def encode(self, seqs: Sequence[str] | str, n: int | None = None) -> np.ndarray:
        """Encode sequences of equal length.

        Parameters
        ----------
        seqs : sequence of str, or str
            The sequences. A single string is treated as a batch of one.
        n : int, optional
            Expected length. If omitted, the length of the first sequence.

        Returns
        -------
        numpy.ndarray
            ``int8`` array of shape ``(N, n)``.

        Raises
        ------
        SequenceError
            Naming the sequence index, the 1-based position and the offending letter, or the expected
            and actual length.
        """
        if isinstance(seqs, str):
            seqs = [seqs]
        seqs = list(seqs)
        if not seqs:
            return np.zeros((0, n or 0), dtype=np.int8)
        if n is None:
            first = seqs[0].strip() if isinstance(seqs[0], str) else ""
            n = len(first)
        out = np.empty((len(seqs), n), dtype=np.int8)
        for i, s in enumerate(seqs):
            out[i] = self.encode_one(s, n, index=i)
        return out

    def decode(self, X: np.ndarray) -> list[str]:
        """Decode codes back to strings.

        Parameters
        ----------
        X : numpy.ndarray
            Integer array of shape ``(N, n)`` (or ``(n,)``) with values in ``[0, q)``.

        Returns
        -------
        list of str
            ``N`` strings of length ``n``.
        """
        X = np.asarray(X)
        if X.ndim == 1:
            X = X[None, :]
        check_codes(X, self.q)
        table = np.frombuffer(self.letters.encode("ascii"), dtype=np.uint8)
        chars = table[X.astype(np.intp)]
        return [row.tobytes().decode("ascii") for row in chars]

    # ------------------------------------------------------------------ one-hot
    def one_hot(self, X: np.ndarray, layout: str = "NLQ", dtype: type = np.float32) -> np.ndarray:
        """One-hot encode codes.

        Parameters
        ----------
        X : numpy.ndarray
            Integer codes, shape ``(N, n)``.
        layout : {"NLQ", "NQL"}
            ``"NLQ"`` gives shape ``(N, n, q)``; ``"NQL"`` gives ``(N, q, n)`` (channels first, as
            TF-MoDISco and most PyTorch models expect).
        dtype : numpy dtype, default float32

        Returns
        -------
        numpy.ndarray
            One-hot array in the requested layout.
        """
        X = np.asarray(X)
        check_codes(X, self.q)
        oh = np.eye(self.q, dtype=dtype)[X.astype(np.intp)]  # (N, n, q)
        if layout == "NLQ":
            return oh
        if layout == "NQL":
            return np.ascontiguousarray(oh.transpose(0, 2, 1))
        raise ValueError(f"layout must be 'NLQ' or 'NQL', got {layout!r}")

    def from_one_hot(self, OH: np.ndarray, layout: str = "NLQ") -> np.ndarray:
        """Invert :meth:`one_hot`: argmax over the letter axis -> ``int8 (N, n)``."""
        OH = np.asarray(OH)
        if OH.ndim != 3:
            raise ValueError(f"one-hot input must have 3 dimensions, got shape {OH.shape}")
        axis = 2 if layout == "NLQ" else 1
        if OH.shape[axis] != self.q:
            raise ValueError(f"one-hot letter axis has size {OH.shape[axis]}, expected q={self.q}")
        return np.argmax(OH, axis=axis).astype(np.int8)


def check_codes(X: np.ndarray, q: int, n: int | None = None, name: str = "X") -> np.ndarray:
    """Validate an integer sequence batch and return it as ``int8 (N, n)``.

    Parameters
    ----------
    X : array-like
        Integer codes, shape ``(N, n)``.
    q : int
        Alphabet size; every value must lie in ``[0, q)``.
    n : int, optional
        Required sequence length.
    name : str
        Argument name used in error messages.

    Returns
    -------
    numpy.ndarray
        ``int8`` array of shape ``(N, n)`` (no copy if already int8 and C-contiguous).
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"{name} must have shape (N, n), got shape {X.shape}")
    if X.size and not np.issubdtype(X.dtype, np.integer):
        if np.issubdtype(X.dtype, np.floating) and np.all(np.mod(X, 1) == 0):
            pass
        else:
            raise ValueError(f"{name} must hold integer letter codes, got dtype {X.dtype}")
    if n is not None and X.shape[1] != n:
        raise ValueError(f"{name} has sequences of length {X.shape[1]}, expected {n}")
    if X.size:
        lo, hi = X.min(), X.max()
        if lo < 0 or hi >= q:
            raise ValueError(f"{name} holds codes in [{lo}, {hi}], expected values in [0, {q})")
    return np.ascontiguousarray(X, dtype=np.int8)


DNA = Alphabet("ACGT", name="DNA", convert_ut=True)
RNA = Alphabet("ACGU", name="RNA", convert_ut=True)
PROTEIN = Alphabet("ACDEFGHIKLMNPQRSTVWY", name="protein")

_BY_NAME = {"dna": DNA, "rna": RNA, "protein": PROTEIN}


def get_alphabet(spec: str | Alphabet) -> Alphabet:
    """Resolve ``"dna" | "rna" | "protein"`` (any case) or a string of letters to an :class:`Alphabet`."""
    if isinstance(spec, Alphabet):
        return spec
    key = spec.strip().lower()
    if key in _BY_NAME:
        return _BY_NAME[key]
    return Alphabet(spec.strip().upper(), name="custom")
