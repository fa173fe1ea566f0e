"""Read sequences from FASTA, CSV / TSV or plain text into a :class:`SequenceSet`.

One entry point, :func:`read_sequences`, takes a path or the bytes of an upload and returns the accepted
sequences (ids, strings, the ``int8 (N, n)`` code array, other columns) together with every rejected
record and the reason it was rejected. Problems with the *file* (empty, binary, too large, unreadable
table) raise :class:`SequenceFileError`, a :class:`ValueError` whose message names the file. Problems with
*records* never raise: they become rows of :attr:`SequenceSet.rejected`.

Formats
-------
``fasta``
    ``>`` header lines; the id is the first word of the header, the rest is kept as ``description`` in
    :attr:`SequenceSet.extra`. Sequence lines are concatenated (multi-line records); white space inside a
    record is removed. Lines starting with ``;`` are comments.
``csv`` / ``tsv``
    A header row is expected. The sequence column is ``seq_column`` or the first column named like
    ``sequence``, ``seq``, ``guide``, ``spacer``... (case and punctuation ignored), else the column whose
    values look most like sequences. The id column is ``id_column`` or the first column named like ``id``,
    ``name``...; without one, ids are ``seq_<record number>``. Every other column is kept in
    :attr:`SequenceSet.extra` (numeric columns as numbers). Whole-line ``#`` comments are skipped.
``txt``
    One sequence per line; blank lines and ``#`` comment lines are skipped; ids are ``seq_<record number>``.
    A first line that is just a column name such as ``sequence`` is treated as a header.

The format is taken from ``format``, else from the file name (``.fa .fasta .fna .fas .faa .csv .tsv
.tab .txt .seq``, optionally followed by ``.gz``), else from the content. Gzip input is recognised by
its magic bytes. Line endings ``\\n``, ``\\r\\n`` and ``\\r`` (also mixed in one file) are all accepted.

Policies
--------
* **Length**: every accepted sequence has length ``n``. If ``n`` is not given it is the most common
  length among the non-empty records (ties: the first seen) and :attr:`SequenceSet.notes` says so.
* **Letters**: sequences are normalised by :meth:`Alphabet.normalize` (strip, upper-case, U<->T for the
  nucleotide alphabets). Anything else outside the alphabet, IUPAC ambiguity codes (``N``, ``R``...) and
  gaps included, rejects the record; the reason names the letter and its 1-based position.
* **Template** (``template=``, the fixed letters of a templated model's sketch): sequences have the
  template's full length and are rejected (reason ``template: ...``) when a fixed position carries another
  letter; sequences of the free length are completed with the fixed letters (a note counts them).
* **Duplicate ids** are made unique, never dropped: the first occurrence keeps its id, later ones get
  ``_2``, ``_3``... appended; the original id stays in ``extra["original_id"]`` and a note counts them.
  Duplicate *sequences* are kept as they are.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .alphabet import DNA, Alphabet, check_codes, get_alphabet
from .seqfiles import (
    Chunk,
    ParseState,
    SequenceFileError,
    Source,
    fasta_chunks,
    guess_format,
    table_chunks,
    table_line,
    txt_chunks,
)
from .strings import DecodedSequences, Strings, StringsBuilder
from .template import Template, parse_template

__all__ = [
    "DEFAULT_MAX_BYTES",
    "FORMATS",
    "SequenceFileError",
    "SequenceSet",
    "random_sequences",
    "read_sequences",
    "to_csv",
    "to_fasta",
]

FORMATS: tuple[str, ...] = ("fasta", "csv", "tsv", "txt")
DEFAULT_MAX_BYTES = 200 * 1024 * 1024  # limit on the (decompressed) size of one sequence file

_EXTENSIONS = {
    ".fa": "fasta",
    ".fasta": "fasta",
    ".fna": "fasta",
    ".fas": "fasta",
    ".faa": "fasta",
    ".ffn": "fasta",
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".txt": "txt",
    ".seq": "txt",
}
_IUPAC = {
    "N": "any base",
    "R": "A/G",
    "Y": "C/T",
    "S": "G/C",
    "W": "A/T",
    "K": "G/T",
    "M": "A/C",
    "B": "C/G/T",
    "D": "A/G/T",
    "H": "A/C/T",
    "V": "A/C/G",
}
#: Amino-acid letters that are no nucleotide code: one of them in a DNA/RNA row means a protein sequence.
_PROTEIN_ONLY = frozenset("EFILPQ*")
#: The 20 amino acids: a row made of them with many letters outside ACGT is a protein too.
_AMINO = frozenset("ACDEFGHIKLMNPQRSTVWY")
_REJECT_COLUMNS = ["row", "line", "id", "sequence", "reason"]


@dataclass(frozen=True)
class SequenceSet:
    """Sequences of one length, encoded, with their ids and whatever else the file carried.

    Attributes
    ----------
    ids : sequence of str
        Unique sequence ids, in file order (length ``N``): a list, or (from :func:`read_sequences`) a compact
        read-only :class:`~shapzero_core.strings.Strings` that behaves like one.
    sequences : sequence of str
        Normalised sequences (upper case, U/T converted), each of length ``n``: a list, or a
        :class:`~shapzero_core.strings.DecodedSequences` view that decodes the rows of ``X`` when read.
    X : numpy.ndarray
        ``int8 (N, n)`` letter codes (read-only).
    alphabet : Alphabet
    extra : pandas.DataFrame
        ``N`` rows (index ``0..N-1``) of the other columns of a table, the FASTA ``description``, and
        ``original_id`` when duplicate ids were renamed. May have no columns.
    rejected : pandas.DataFrame
        One row per rejected record: ``row`` (1-based record number in the file; 0 for text before the
        first FASTA header), ``line`` (1-based line where the record starts, ``<NA>`` if unknown, e.g. after
        quoted multi-line CSV fields), ``id``, ``sequence`` (as read), ``reason`` (starts with ``empty:``,
        ``length:``, ``letter:`` or ``format:``).
    n : int
        Sequence length (0 only if nothing could be read).
    notes : tuple of str
        Human-readable remarks (inferred length, renamed ids, detected header...).
    format : str
        The format the file was read as (``"fasta"``, ``"csv"``, ``"tsv"``, ``"txt"`` or ``"generated"``).
    source : str
        The file name (or a label for in-memory data).
    """

    ids: Sequence[str]
    sequences: Sequence[str]
    X: np.ndarray
    alphabet: Alphabet = DNA
    extra: pd.DataFrame = field(default_factory=pd.DataFrame)
    rejected: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=_REJECT_COLUMNS))
    n: int = 0
    notes: tuple[str, ...] = ()
    format: str = "generated"
    source: str = "<memory>"

    def __post_init__(self) -> None:
        X = np.asarray(self.X)
        if X.size:
            X = check_codes(X, self.alphabet.q, name="X")
        else:
            X = np.zeros((len(self.ids), X.shape[1] if X.ndim == 2 else self.n), dtype=np.int8)
        if X.shape[0] != len(self.ids) or len(self.sequences) != len(self.ids):
            raise ValueError(
                f"ids ({len(self.ids)}), sequences ({len(self.sequences)}) and X ({X.shape[0]} rows) differ"
            )
        if _has_duplicates(self.ids):
            raise ValueError("sequence ids must be unique")
        if len(self.extra) != len(self.ids):
            if len(self.extra.columns) == 0:
                object.__setattr__(self, "extra", pd.DataFrame(index=pd.RangeIndex(len(self.ids))))
            else:
                raise ValueError(f"extra has {len(self.extra)} rows, expected {len(self.ids)}")
        if X.flags.writeable or not X.flags.c_contiguous or X.dtype != np.int8:  # a read-only array is kept as is
            X = np.array(X, dtype=np.int8, copy=True)
            X.setflags(write=False)
        object.__setattr__(self, "X", X)
        if isinstance(self.sequences, DecodedSequences) and self.sequences.X is not X:
            object.__setattr__(self, "sequences", DecodedSequences(X, self.alphabet))
        if X.shape[0] and self.n != X.shape[1]:
            object.__setattr__(self, "n", int(X.shape[1]))

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def N(self) -> int:
        """Number of accepted sequences."""
        return len(self.ids)

    @classmethod
    def from_codes(
        cls,
        X: np.ndarray,
        alphabet: Alphabet = DNA,
        ids: Sequence[str] | None = None,
        extra: pd.DataFrame | None = None,
    ) -> SequenceSet:
        """Wrap an ``int (N, n)`` code array (ids default to ``seq_1..seq_N``)."""
        X = check_codes(X, alphabet.q, name="X")
        N = X.shape[0]
        id_list = Strings(f"seq_{i + 1}" for i in range(N)) if ids is None else [str(i) for i in ids]
        return cls(
            ids=id_list,
            sequences=DecodedSequences(X, alphabet),
            X=X,
            alphabet=alphabet,
            extra=pd.DataFrame(index=pd.RangeIndex(N)) if extra is None else extra.reset_index(drop=True),
            n=int(X.shape[1]),
        )

    def subset(self, which: np.ndarray | Sequence[int] | Sequence[bool]) -> SequenceSet:
        """The sequences selected by a boolean mask of length ``N`` or by 0-based row indices."""
        idx = np.asarray(which)
        if idx.dtype == bool:
            if idx.shape != (self.N,):
                raise ValueError(f"mask has shape {idx.shape}, expected ({self.N},)")
            idx = np.flatnonzero(idx)
        idx = idx.astype(np.intp).ravel()
        if idx.size and (idx.min() < -self.N or idx.max() >= self.N):
            raise ValueError(f"row indices must lie in [0, {self.N})")
        X = self.X[idx]
        X.setflags(write=False)
        return SequenceSet(
            ids=self.ids[idx] if isinstance(self.ids, Strings) else [self.ids[i] for i in idx],
            sequences=(DecodedSequences(X, self.alphabet) if isinstance(self.sequences, DecodedSequences)
                       else [self.sequences[i] for i in idx]),
            X=X,
            alphabet=self.alphabet,
            extra=self.extra.iloc[idx].reset_index(drop=True),
            rejected=self.rejected,
            n=self.n,
            notes=self.notes,
            format=self.format,
            source=self.source,
        )

    def to_frame(self) -> pd.DataFrame:
        """``seq_id``, ``sequence`` and the extra columns, one row per sequence."""
        df = pd.DataFrame({"seq_id": self.ids, "sequence": self.sequences})
        return pd.concat([df, self.extra.reset_index(drop=True)], axis=1)

    def summary(self) -> str:
        """One line: how many were read, rejected and why, and the notes."""
        parts = [f"{self.N:,} sequences of length {self.n} ({self.alphabet.name}) from {self.source}"]
        if len(self.rejected):
            kinds = Counter(str(r).split(":")[0] for r in self.rejected["reason"])
            parts.append(
                f"{len(self.rejected)} rejected (" + ", ".join(f"{k}: {v}" for k, v in kinds.most_common()) + ")"
            )
        parts.extend(self.notes)
        return "; ".join(parts)


# ---------------------------------------------------------------------------------------------- helpers
def _label(source: str | os.PathLike[str] | bytes, name: str | None) -> str:
    if name:
        return str(name)
    if isinstance(source, bytes | bytearray | memoryview):
        return "<uploaded bytes>"
    return str(source)


def _hashes(ids: Sequence[str]) -> np.ndarray:
    return np.fromiter((hash(i) for i in ids), dtype=np.int64, count=len(ids))


def _has_duplicates(ids: Sequence[str]) -> bool:
    """Whether two ids are equal (hashes first: no set of a million strings)."""
    if not isinstance(ids, Strings):
        return len(set(ids)) != len(ids)
    if ids.unique:
        return False
    h = np.sort(_hashes(ids))
    if not (h[1:] == h[:-1]).any():
        return False
    return len(set(ids)) != len(ids)  # a hash collision or a real duplicate: check exactly


def _unique_ids(ids: Strings) -> tuple[Strings, int]:
    """Make ids unique: the first occurrence keeps its id, later ones get ``_2``, ``_3``... (skipping names that
    exist). Returns the new ids and how many were renamed."""
    N = len(ids)
    if N < 2:
        ids.unique = True
        return ids, 0
    h = _hashes(ids)
    order = np.argsort(h, kind="stable")
    hs = h[order]
    del h
    same = np.flatnonzero(hs[1:] == hs[:-1])
    if same.size == 0:
        ids.unique = True
        return ids, 0
    cand = np.unique(np.concatenate([order[same], order[same + 1]]))  # rows whose hash is shared
    first: dict[str, int] = {}
    later: list[int] = []
    for r in cand.tolist():  # in file order
        v = ids[r]
        if v in first:
            later.append(r)
        else:
            first[v] = r
    if not later:
        ids.unique = True
        return ids, 0

    def exists(name: str, made: set[str]) -> bool:
        if name in made:
            return True
        k = hash(name)
        lo, hi = np.searchsorted(hs, k, "left"), np.searchsorted(hs, k, "right")
        return any(ids[int(order[j])] == name for j in range(lo, hi))

    out = ids.tolist()
    counts: Counter[str] = Counter()
    made: set[str] = set()
    for r in later:
        i = out[r]
        counts[i] += 1
        k = counts[i] + 1
        name = f"{i}_{k}"
        while exists(name, made):
            k += 1
            name = f"{i}_{k}"
        counts[i] = k - 1
        made.add(name)
        out[r] = name
    result = Strings(out)
    result.unique = True
    return result, len(later)


# ---------------------------------------------------------------------------------------------- validation
def _first_bad(seq: str, alphabet: Alphabet) -> tuple[int, str]:
    letters = alphabet.letters
    for i, ch in enumerate(seq):
        if ch not in letters:
            return i, ch
    raise AssertionError("no bad letter")  # pragma: no cover


#: ``key=value`` in a FASTA header's description (``>g1 activity=0.324 gene=HPRT1``): the key.
_FIELD_KEY = re.compile(r"(?:^|[\s;|])([A-Za-z_][\w.-]{0,39})=")
#: At most this many distinct header keys become columns (a file with a new key per record is not a table).
MAX_HEADER_FIELDS = 20


def _header_fields(desc: pd.Series, exclude: set[str]) -> pd.DataFrame:
    """The ``key=value`` fields of FASTA descriptions as text columns (``""`` where a record lacks one).

    Keys named like an existing column, or beyond the :data:`MAX_HEADER_FIELDS` most frequent, are left in
    the description only. Memory: one pass counting the keys, then one text column per key.
    """
    counts: Counter[str] = Counter()
    for d in desc:
        if isinstance(d, str) and "=" in d:
            counts.update(m.group(1) for m in _FIELD_KEY.finditer(d))
    keys = [k for k, _c in counts.most_common() if k not in exclude][:MAX_HEADER_FIELDS]
    cols = {}
    for k in sorted(keys, key=list(counts).index):  # in the order they first appear
        pat = r"(?:^|[\s;|])" + re.escape(k) + r"=([^\s;|]*)"
        cols[k] = desc.str.extract(pat, expand=False).fillna("")
    return pd.DataFrame(cols, index=desc.index)


def _looks_like_protein(seq: str, nbad: int, letters: str) -> bool:
    """A nucleotide row that is really a protein: a protein-only letter (E, F, I, L, P, Q), or at least four
    different amino-acid letters outside the alphabet making up a quarter of the row (a DNA row with
    ambiguity codes has few different ones, e.g. only N)."""
    chars = set(seq)
    if chars & _PROTEIN_ONLY:
        return True
    other = chars - set(letters)
    return len(other) >= 4 and other <= _AMINO and nbad >= len(seq) / 4


def _letter_reason(seq: str, alphabet: Alphabet, raw: str = "") -> str:
    i, ch = _first_bad(seq, alphabet)
    raw = raw.strip()
    if len(raw) == len(seq) and raw[i].upper() == ch:
        ch_shown = raw[i]  # name the letter as the user wrote it
    else:
        ch_shown = ch
    nbad = sum(1 for c in seq if c not in alphabet.letters)
    more = f" ({nbad} letters outside the alphabet in total)" if nbad > 1 else ""
    if alphabet.q == 4 and _looks_like_protein(seq, nbad, alphabet.letters):
        shown = ", ".join(sorted(set(seq) - set(alphabet.letters))[:8])
        return (f"letter: looks like a protein sequence, not {alphabet.name} ({nbad} of {len(seq)} letters are "
                f"not in {alphabet.letters}: {shown}; the first at position {i + 1})")
    if alphabet.q == 4 and ch in _IUPAC:
        what = f"IUPAC ambiguity code {ch!r} ({_IUPAC[ch]})"
    elif ch in "-.":
        what = f"gap {ch!r}"
    elif ch.isspace():
        what = "white space"
    else:
        what = f"letter {ch_shown!r}"
    return f"letter: {what} at position {i + 1} is not in the {alphabet.name} alphabet ({alphabet.letters}){more}"


def _encode_equal_length(seqs: list[str], n: int, alphabet: Alphabet) -> tuple[np.ndarray, np.ndarray]:
    """Encode equal-length normalised strings at once. Returns codes ``int8 (M, n)`` and ``ok`` bool (M,)."""
    M = len(seqs)
    if M == 0 or n == 0:
        return np.zeros((M, n), dtype=np.int8), np.ones(M, dtype=bool)
    buf = "".join(seqs).encode("ascii", errors="replace")  # one byte per character; non-ASCII -> '?'
    raw = np.frombuffer(buf, dtype=np.uint8).reshape(M, n)
    lut = np.full(256, -1, dtype=np.int8)
    for i, ch in enumerate(alphabet.letters):
        if ord(ch) < 256:
            lut[ord(ch)] = i
    if "?" in alphabet.letters or not alphabet.letters.isascii():  # '?' also replaces non-ASCII: check apart
        letters = set(alphabet.letters)
        ok = np.array([s.isascii() and set(s) <= letters for s in seqs], dtype=bool)
        codes = np.where(ok[:, None], lut[raw], 0).astype(np.int8)
    else:
        codes = lut[raw]
        ok = (codes >= 0).all(axis=1)
    return codes, ok


# ---------------------------------------------------------------------------------------------- reading
class _Accumulator:
    """Accepted and rejected records of one pass over a file, chunk by chunk (length ``n`` fixed)."""

    def __init__(self, n: int, alphabet: Alphabet, state: ParseState, limit_wrong: int | None,
                 tpl: Template | None = None) -> None:
        self.n, self.alphabet, self.state, self.limit_wrong, self.tpl = n, alphabet, state, limit_wrong, tpl
        self.completed = 0  # accepted sequences given at the template's free positions only
        self.blocks: list[np.ndarray] = []
        self.ids = StringsBuilder()
        self.extra: dict[str, list[pd.Series]] = {}  # per column, the accepted rows' values chunk by chunk
        self.rejected: list[tuple[int, int, str, str, str]] = []
        self.lengths: Counter[int] = Counter()  # every non-empty normalised length, and where it was first seen
        self.first_seen: dict[int, int] = {}
        self.records = 0
        self.accepted = 0
        self.wrong = 0

    def count(self, chunk: Chunk) -> None:
        """Only count the lengths of a chunk's records."""
        base = self.records
        self.records += len(chunk.records)
        lengths = np.fromiter((len(self.alphabet.normalize(r[2])) for r in chunk.records), dtype=np.int64,
                              count=len(chunk.records))
        vals, idx, cnt = np.unique(lengths, return_index=True, return_counts=True)
        for v, i0, c in zip(vals.tolist(), idx.tolist(), cnt.tolist(), strict=True):
            if v > 0:
                self.lengths[v] += c
                self.first_seen.setdefault(v, base + i0)

    def add(self, chunk: Chunk) -> bool:
        """Process a chunk; False if more records had the wrong length than the limit (the guess of n was off)."""
        recs = chunk.records
        base = self.records
        self.records += len(recs)
        normed = [self.alphabet.normalize(r[2]) for r in recs]
        tpl = self.tpl
        completed = np.zeros(len(recs), dtype=bool)
        if tpl is not None and tpl.num_free != tpl.n:
            for i, s in enumerate(normed):
                if len(s) == tpl.num_free:
                    normed[i] = _complete(s, tpl)
                    completed[i] = True
        lengths = np.fromiter(map(len, normed), dtype=np.int64, count=len(recs))
        vals, idx, cnt = np.unique(lengths, return_index=True, return_counts=True)
        for v, i0, c in zip(vals.tolist(), idx.tolist(), cnt.tolist(), strict=True):
            if v > 0:
                self.lengths[v] += c
                self.first_seen.setdefault(v, base + i0)
        right = np.flatnonzero(lengths == self.n) if self.n > 0 else np.zeros(0, np.intp)
        codes, ok = _encode_equal_length([normed[i] for i in right], self.n, self.alphabet)
        acc = right[ok]
        reasons: dict[int, str] = {}
        for i in np.flatnonzero(lengths == 0).tolist():
            reasons[i] = "empty: no sequence letters"
        wrong = np.flatnonzero((lengths > 0) & (lengths != self.n)).tolist()
        self.wrong += len(wrong)
        if self.limit_wrong is not None and self.wrong > max(self.limit_wrong, self.accepted + acc.size):
            return False
        for i in wrong:
            reasons[i] = f"length: {int(lengths[i])} letters, expected {self.n}" + (
                f" (the template's full length) or {tpl.num_free} (its free positions)" if tpl is not None else "")
        for j in np.flatnonzero(~ok).tolist():
            i = int(right[j])
            reasons[i] = _letter_reason(normed[i], self.alphabet, recs[i][2])
        if tpl is not None and tpl.num_fixed and right.size:
            bad = np.zeros(right.size, dtype=bool)
            bad[ok] = tpl.mismatches(codes[ok]).any(axis=1)
            for j in np.flatnonzero(bad).tolist():
                first = int(np.flatnonzero(codes[j, tpl.fixed] != tpl.fixed_codes)[0])
                reasons[int(right[j])] = f"template: {tpl.mismatch_reason(codes[j], first)}"
            ok = ok & ~bad
            acc = right[ok]
        self.completed += int(completed[acc].sum())
        for i in sorted(reasons):
            line, rid, raw = recs[i]
            self.rejected.append((base + i + 1, line, rid if rid is not None else f"seq_{base + i + 1}", raw,
                                  reasons[i]))
        if acc.size:
            self.blocks.append(codes[ok])
            self.ids.extend(recs[i][1] or f"seq_{base + i + 1}" for i in acc.tolist())
            for c in self.state.columns:
                vals_c = chunk.extra.get(c)
                if vals_c is not None:  # a pandas Series per chunk: compact (Arrow) strings, not Python objects
                    col = vals_c if isinstance(vals_c, pd.Series) else pd.Series(vals_c)
                    self.extra.setdefault(c, []).append(col.iloc[acc].reset_index(drop=True))
        self.accepted += int(acc.size)
        return True

    def codes(self) -> np.ndarray:
        """``int8 (N, n)``, read-only; the blocks are released while they are copied."""
        X = np.empty((self.accepted, self.n), dtype=np.int8)  # pages are only touched as they are filled
        at = 0
        while self.blocks:
            b = self.blocks.pop(0)
            X[at : at + b.shape[0]] = b
            at += b.shape[0]
        X.setflags(write=False)
        return X


def _mode_length(acc: _Accumulator) -> int:
    if not acc.lengths:
        return 0
    return max(acc.lengths, key=lambda v: (acc.lengths[v], -acc.first_seen[v]))


def _parse(src: Source, fmt: str, encoding: str, alphabet: Alphabet, seq_column: str | None,
           id_column: str | None, label: str, state: ParseState) -> Iterator[Chunk]:
    if fmt == "fasta":
        return fasta_chunks(src.lines(encoding), state)
    if fmt in ("csv", "tsv"):
        return table_chunks(lambda: src.lines(encoding), "," if fmt == "csv" else "\t", alphabet, seq_column,
                            id_column, label, state)
    return txt_chunks(src.lines(encoding), state)


def _read_pass(src: Source, fmt: str, encoding: str, alphabet: Alphabet, n: int | None, seq_column: str | None,
               id_column: str | None, label: str, tpl: Template | None = None) -> tuple[_Accumulator, ParseState] | None:
    """One pass over the file with length ``n``; with ``n=None`` the first record's length is tried and None is
    returned as soon as more records have another length than it (the caller then reads again with the mode)."""
    state = ParseState()
    acc: _Accumulator | None = None
    for chunk in _parse(src, fmt, encoding, alphabet, seq_column, id_column, label, state):
        if acc is None:
            guess = n
            if guess is None:
                guess = next((len(x) for x in (alphabet.normalize(r[2]) for r in chunk.records) if x), 0)
            acc = _Accumulator(int(guess), alphabet, state, 1000 if n is None else None, tpl)
        if not acc.add(chunk):
            return None
    if acc is None:
        acc = _Accumulator(int(n or 0), alphabet, state, None, tpl)
    return acc, state


def _read(src: Source, fmt: str, encoding: str, alphabet: Alphabet, n: int | None, seq_column: str | None,
          id_column: str | None, label: str, tpl: Template | None = None) -> SequenceSet:
    res = _read_pass(src, fmt, encoding, alphabet, n, seq_column, id_column, label, tpl)
    if n is None and (res is None or _mode_length(res[0]) != res[0].n):
        if res is None:  # count the lengths first (a pass that keeps nothing), then read with the mode
            state = ParseState()
            counter = _Accumulator(0, alphabet, state, None)
            for chunk in _parse(src, fmt, encoding, alphabet, seq_column, id_column, label, state):
                counter.count(chunk)
            mode = _mode_length(counter)
        else:
            mode = _mode_length(res[0])
        res = _read_pass(src, fmt, encoding, alphabet, mode, seq_column, id_column, label)
        assert res is not None
    acc, state = res
    notes = list(state.notes)
    if fmt == "fasta" and acc.records == 0:
        if not state.orphans:
            raise SequenceFileError(f"{label}: no FASTA records ('>' header lines) found")
        raise SequenceFileError(f"{label}: no '>' header line found; is this a FASTA file? (pass format='txt' "
                                "for one sequence per line)")
    if acc.records == 0 and not state.orphans:
        raise SequenceFileError(f"{label}: no sequences found")
    if n is None and len(acc.lengths) > 1:
        total = sum(acc.lengths.values())
        notes.append(f"length n={acc.n} inferred as the most common length ({acc.lengths[acc.n]} of {total} "
                     "sequences); pass n to choose another")
    if acc.completed:
        assert tpl is not None
        notes.append(f"{acc.completed} sequences of the free length {tpl.num_free} completed with the template's "
                     f"fixed letters ({tpl.describe()})")
    X = acc.codes()
    read_ids = acc.ids.build()
    ids, renamed = _unique_ids(read_ids)
    extra = pd.DataFrame({c: pd.concat(acc.extra[c], ignore_index=True) if c in acc.extra else [] for c in
                          state.columns if c in acc.extra or acc.accepted == 0})
    acc.extra.clear()
    extra = extra.reset_index(drop=True)
    if "description" in extra.columns:
        fields = _header_fields(extra["description"], exclude=set(extra.columns))
        if len(fields.columns):
            extra = pd.concat([extra, fields], axis=1)
            notes.append(f"FASTA header fields read as label columns: {', '.join(fields.columns)}")
    for c in list(extra.columns):
        if c == "description" and (extra[c] == "").all():
            extra = extra.drop(columns=c)
            continue
        try:
            pd.to_numeric(extra[c].head(1000))  # a text column fails here, before a full (costly) attempt
            extra[c] = pd.to_numeric(extra[c])
        except (ValueError, TypeError):
            pass
    if renamed:
        extra["original_id"] = read_ids.tolist()
        notes.append(f"{renamed} duplicate ids made unique by appending _2, _3, ... (original in 'original_id')")
    rows = [(r, table_line(state, line) if line < 0 else line, rid, raw, why) for r, line, rid, raw, why in
            acc.rejected]
    rows = [(0, ln, "", s, "format: text before the first '>' header line") for ln, _r, s in state.orphans] + rows
    rejected = pd.DataFrame(rows, columns=_REJECT_COLUMNS)
    rejected["line"] = rejected["line"].replace(0, pd.NA).astype("Int64")
    return SequenceSet(ids=ids, sequences=DecodedSequences(X, alphabet), X=X, alphabet=alphabet, extra=extra,
                       rejected=rejected, n=acc.n, notes=tuple(notes), format=fmt, source=label)


# ---------------------------------------------------------------------------------------------- public
def read_sequences(
    source: str | os.PathLike[str] | bytes,
    alphabet: Alphabet | str = DNA,
    n: int | None = None,
    format: str | None = None,
    name: str | None = None,
    seq_column: str | None = None,
    id_column: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    template: Template | str | None = None,
) -> SequenceSet:
    """Read a sequence file (path or bytes) into a :class:`SequenceSet`.

    The file is read in chunks (it is never held whole, nor its lines): memory stays within a few times the
    encoded sequences (``N * n`` bytes) plus the ids and the other columns, stored compactly
    (:class:`~shapzero_core.strings.Strings`). When ``n`` is not given and the first record's length is not
    the most common one, the file is read a second time.

    Parameters
    ----------
    source : path or bytes
        A file path (``.gz`` allowed) or the file content (e.g. a Streamlit upload's ``getvalue()``).
    alphabet : Alphabet or str, default DNA
        An :class:`Alphabet`, or ``"dna"``, ``"rna"``, ``"protein"`` or a string of letters.
    n : int, optional
        Required sequence length; other lengths are rejected. Default: the most common length.
    format : {"fasta", "csv", "tsv", "txt"}, optional
        Default: from the file name, else from the content.
    name : str, optional
        Name used for format detection and in messages (the upload's file name for bytes input).
    seq_column, id_column : str, optional
        Columns of a CSV/TSV table (default: detected, see the module docstring).
    max_bytes : int
        Largest accepted (decompressed) size; larger input raises :class:`SequenceFileError`.
    template : Template or str, optional
        Fixed letters of the model (:mod:`shapzero_core.template`; a sketch's ``sketch.template``). Sequences
        are then of the template's full length ``n``: a sequence whose letter at a fixed position differs
        from the template is rejected (reason ``template: position 26 is 'A' but the template fixes 'G'``).
        A sequence of the *free* length (the free positions only, in order) is completed with the template's
        letters, and a note counts them. ``n``, if given, must be the template's length.

    Returns
    -------
    SequenceSet
        Accepted sequences and the rejected records with reasons. It may hold zero sequences when every
        record was rejected; check ``len(result)``.

    Raises
    ------
    SequenceFileError
        Empty, binary, oversized or unparseable file; unknown ``format``; missing named column.
    FileNotFoundError
        ``source`` is a path that does not exist.
    """
    label = _label(source, name)
    if isinstance(alphabet, str):
        alphabet = get_alphabet(alphabet)
    if n is not None and (isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1):
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if format is not None:
        format = format.strip().lower()
        format = {"fa": "fasta", "tab": "tsv", "text": "txt", "plain": "txt"}.get(format, format)
        if format not in FORMATS:
            raise SequenceFileError(f"{label}: unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    tpl = parse_template(template, alphabet) if template is not None else None
    if tpl is not None:
        if n is not None and int(n) != tpl.n:
            raise ValueError(f"n={n} but the template has {tpl.n} positions")
        n = tpl.n
    src = Source(source, label, max_bytes)
    fmt = format or guess_format(src.head_text(), label, _EXTENSIONS)
    n_use = None if n is None else int(n)
    try:
        return _read(src, fmt, "utf-8-sig", alphabet, n_use, seq_column, id_column, label, tpl)
    except UnicodeDecodeError:  # ids with accents from old spreadsheets; letters get checked anyway
        return _read(src, fmt, "latin-1", alphabet, n_use, seq_column, id_column, label, tpl)


def _complete(free_letters: str, tpl: Template) -> str:
    """The full-length string of a sequence given at the template's free positions only."""
    chars = list(tpl.pattern)
    for p, ch in zip(tpl.free, free_letters, strict=True):
        chars[p] = ch
    return "".join(chars)


def random_sequences(N: int, n: int, alphabet: Alphabet = DNA, seed: int = 0,
                     template: Template | str | None = None) -> SequenceSet:
    """``N`` uniformly random sequences of length ``n`` (ids ``rand_1..rand_N``).

    Parameters
    ----------
    N, n : int
        Number and length of sequences.
    alphabet : Alphabet, default DNA
    seed : int
        Seed of :func:`numpy.random.default_rng`.
    template : Template or str, optional
        Fixed letters: random letters at the free positions, the template's letters at the fixed ones
        (``n`` must then be the template's length).

    Returns
    -------
    SequenceSet
        ``X`` is ``int8 (N, n)``.
    """
    if N < 0 or n < 1:
        raise ValueError(f"need N >= 0 and n >= 1, got N={N}, n={n}")
    X = np.random.default_rng(seed).integers(0, alphabet.q, size=(N, n), dtype=np.int8)
    tpl = parse_template(template, alphabet, n=n) if template is not None else None
    if tpl is not None:
        X[:, tpl.fixed] = tpl.fixed_codes
    return SequenceSet.from_codes(X, alphabet, ids=[f"rand_{i + 1}" for i in range(N)])


def to_fasta(seqs: SequenceSet, width: int = 60) -> str:
    """FASTA text of a set (``>id`` lines, sequences wrapped at ``width`` letters; 0 = no wrap)."""
    out: list[str] = []
    for i, s in zip(seqs.ids, seqs.sequences, strict=True):
        out.append(f">{i}")
        if width and width > 0:
            out.extend(s[j : j + width] for j in range(0, len(s), width))
        else:
            out.append(s)
    return "\n".join(out) + ("\n" if out else "")


def to_csv(seqs: SequenceSet, sep: str = ",") -> str:
    """CSV (or TSV with ``sep="\\t"``) text with columns ``seq_id``, ``sequence`` and the extra columns."""
    return seqs.to_frame().to_csv(index=False, sep=sep)
