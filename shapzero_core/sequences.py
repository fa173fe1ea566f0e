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

import gzip
import io
import os
import re
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .alphabet import DNA, Alphabet, check_codes, get_alphabet
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
_SEQ_NAMES = (
    "sequence",
    "seq",
    "sequences",
    "guide",
    "guideseq",
    "guidesequence",
    "spacer",
    "spacersequence",
    "grna",
    "sgrna",
    "crrna",
    "protospacer",
    "target",
    "targetsequence",
    "dna",
    "rna",
    "protein",
    "peptide",
)
_ID_NAMES = ("id", "seqid", "sequenceid", "name", "seqname", "identifier", "guideid", "guidename", "label_id")
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
_REJECT_COLUMNS = ["row", "line", "id", "sequence", "reason"]


class SequenceFileError(ValueError):
    """A sequence file that cannot be read at all; the message names the file and the problem."""


@dataclass(frozen=True)
class SequenceSet:
    """Sequences of one length, encoded, with their ids and whatever else the file carried.

    Attributes
    ----------
    ids : list of str
        Unique sequence ids, in file order (length ``N``).
    sequences : list of str
        Normalised sequences (upper case, U/T converted), each of length ``n``.
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

    ids: list[str]
    sequences: list[str]
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
        if len(set(self.ids)) != len(self.ids):
            raise ValueError("sequence ids must be unique")
        if len(self.extra) != len(self.ids):
            if len(self.extra.columns) == 0:
                object.__setattr__(self, "extra", pd.DataFrame(index=pd.RangeIndex(len(self.ids))))
            else:
                raise ValueError(f"extra has {len(self.extra)} rows, expected {len(self.ids)}")
        X = np.array(X, dtype=np.int8, copy=True)
        X.setflags(write=False)
        object.__setattr__(self, "X", X)
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
        id_list = [f"seq_{i + 1}" for i in range(N)] if ids is None else [str(i) for i in ids]
        return cls(
            ids=id_list,
            sequences=alphabet.decode(X) if N else [],
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
        return SequenceSet(
            ids=[self.ids[i] for i in idx],
            sequences=[self.sequences[i] for i in idx],
            X=self.X[idx],
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


def _read_raw(source: str | os.PathLike[str] | bytes, label: str, max_bytes: int) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    else:
        p = Path(source)
        if not p.exists():
            raise FileNotFoundError(f"{label}: no such file")
        if p.is_dir():
            raise SequenceFileError(f"{label}: is a directory, expected a sequence file")
        size = p.stat().st_size
        if size > max_bytes:
            raise SequenceFileError(
                f"{label}: file is {size:,} bytes, larger than the limit of {max_bytes:,} bytes "
                "(raise max_bytes to read it)"
            )
        data = p.read_bytes()
    if len(data) > max_bytes:
        raise SequenceFileError(
            f"{label}: data is {len(data):,} bytes, larger than the limit of {max_bytes:,} bytes "
            "(raise max_bytes to read it)"
        )
    if data[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
                out = gz.read(max_bytes + 1)
        except (OSError, EOFError, zlib.error) as e:
            raise SequenceFileError(f"{label}: corrupt or truncated gzip data ({e})") from e
        if len(out) > max_bytes:
            raise SequenceFileError(
                f"{label}: decompressed data is larger than the limit of {max_bytes:,} bytes "
                "(raise max_bytes to read it)"
            )
        data = out
    return data


_BINARY_MAGIC = {
    b"PK\x03\x04": "a zip archive (an Excel .xlsx or a .npz?): export the sheet as CSV",
    b"\x93NUMPY": "a NumPy .npy array",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\x08\x01\x12": "an ONNX model",
    b"\xd0\xcf\x11\xe0": "an old Excel/Office document: export the sheet as CSV",
}


def _decode_text(data: bytes, label: str) -> str:
    if not data.strip():
        raise SequenceFileError(f"{label}: the file is empty")
    for magic, what in _BINARY_MAGIC.items():
        if data.startswith(magic):
            raise SequenceFileError(f"{label}: this is {what}, not a FASTA/CSV/TSV/text sequence file")
    head = data[:65536]
    nul = head.find(b"\x00")
    if nul >= 0:
        raise SequenceFileError(
            f"{label}: looks like a binary file (NUL byte at offset {nul}); expected FASTA, CSV, TSV or text"
        )
    ctrl = sum(head.count(bytes([c])) for c in range(32) if c not in (9, 10, 12, 13))
    if ctrl > max(8, len(head) // 100):
        raise SequenceFileError(
            f"{label}: looks like a binary file ({ctrl} control bytes in the first {len(head)}); "
            "expected FASTA, CSV, TSV or text"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # ids with accents from old spreadsheets; letters get checked anyway
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _guess_format(text: str, label: str) -> str:
    low = label.lower()
    if low.endswith(".gz"):
        low = low[:-3]
    ext = os.path.splitext(low)[1]
    if ext in _EXTENSIONS:
        return _EXTENSIONS[ext]
    first = ""
    for line in text.split("\n", 200)[:200]:
        s = line.strip()
        if s and not s.startswith("#") and not s.startswith(";"):
            first = s
            break
    if first.startswith(">"):
        return "fasta"
    if "\t" in first:
        return "tsv"
    if "," in first:
        return "csv"
    return "txt"


def _norm_name(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(s).lower())


# ---------------------------------------------------------------------------------------------- parsers
# Each parser returns (records, extra_columns, notes) where records are (line, id or None, raw sequence).
_Record = tuple[int, str | None, str]


def _parse_fasta(text: str) -> tuple[list[_Record], dict[str, list[object]], list[str], list[_Record]]:
    records: list[_Record] = []
    desc: list[object] = []
    orphans: list[_Record] = []
    cur_id: str | None = None
    cur_line = 0
    chunks: list[str] = []
    stray_line = 0
    stray: list[str] = []
    for ln, line in enumerate(text.split("\n"), start=1):
        if line.startswith(">"):
            if cur_id is not None:
                records.append((cur_line, cur_id, "".join(chunks)))
            head = line[1:].strip()
            parts = head.split(None, 1)
            cur_id = parts[0] if parts else ""
            desc.append(parts[1] if len(parts) > 1 else "")
            cur_line = ln
            chunks = []
        elif line.startswith(";") or (cur_id is None and line.startswith("#")):
            continue
        elif cur_id is None:
            if line.strip():
                stray_line = stray_line or ln
                stray.append(line.strip())
        else:
            chunks.append("".join(line.split()))
    if cur_id is not None:
        records.append((cur_line, cur_id, "".join(chunks)))
    if stray:
        orphans.append((stray_line, None, "".join(stray)))
    return records, {"description": desc}, [], orphans


def _parse_txt(text: str) -> tuple[list[_Record], dict[str, list[object]], list[str], list[_Record]]:
    records: list[_Record] = []
    notes: list[str] = []
    for ln, line in enumerate(text.split("\n"), start=1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if not records and not notes and _norm_name(s) in _SEQ_NAMES:
            notes.append(f"line {ln} ({s!r}) read as a column header and skipped")
            continue
        records.append((ln, None, s))
    return records, {}, notes, []


def _looks_like_seq_fraction(values: pd.Series, alphabet: Alphabet) -> float:
    sample = values.astype(str).head(200)
    if sample.empty:
        return 0.0
    ok = 0
    letters = set(alphabet.letters)
    for v in sample:
        s = alphabet.normalize(v)
        if len(s) >= 4 and set(s) <= letters:
            ok += 1
    return ok / len(sample)


def _parse_table(
    text: str,
    sep: str,
    alphabet: Alphabet,
    seq_column: str | None,
    id_column: str | None,
    label: str,
) -> tuple[list[_Record], dict[str, list[object]], list[str], list[_Record]]:
    lines = text.split("\n")
    kept_lines: list[int] = []
    body: list[str] = []
    for ln, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        kept_lines.append(ln)
        body.append(line)
    if not body:
        raise SequenceFileError(f"{label}: no rows found (only blank or # comment lines)")
    notes: list[str] = []
    joined = "\n".join(body)

    def read(header: int | None) -> pd.DataFrame:
        try:
            return pd.read_csv(
                io.StringIO(joined),
                sep=sep,
                dtype=str,
                keep_default_na=False,
                header=header,
                skip_blank_lines=False,
                skipinitialspace=True,
            )
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as e:
            msg = " ".join(str(e).split())
            raise SequenceFileError(f"{label}: cannot read as {'TSV' if sep == chr(9) else 'CSV'} ({msg})") from e

    df = read(0)
    cols = [str(c) for c in df.columns]
    if len(set(cols)) != len(cols):
        raise SequenceFileError(f"{label}: duplicate column names in the header: {cols}")
    header_lines = 1
    normed = {c: _norm_name(c) for c in cols}
    named_seq = [c for c in cols if normed[c] in _SEQ_NAMES] or [
        c for c in cols if "seq" in normed[c] and normed[c] not in _ID_NAMES and not normed[c].endswith("id")
    ]
    if seq_column is None and not named_seq:
        # no recognisable header: is the first row itself data?
        letters = set(alphabet.letters)
        if any(len(alphabet.normalize(c)) >= 4 and set(alphabet.normalize(c)) <= letters for c in cols):
            df = read(None)
            df.columns = [f"column_{i + 1}" for i in range(df.shape[1])]
            cols = list(df.columns)
            header_lines = 0
            notes.append("no header row found: columns named column_1, column_2, ...")
    if seq_column is not None:
        if seq_column not in cols:
            raise SequenceFileError(
                f"{label}: no column {seq_column!r}; the columns are {', '.join(map(repr, cols))}"
            )
        scol = seq_column
    elif named_seq and header_lines:
        scol = named_seq[0]
    else:
        scores = {c: _looks_like_seq_fraction(df[c], alphabet) for c in cols}
        best = max(cols, key=lambda c: scores[c])
        if scores[best] == 0:
            raise SequenceFileError(
                f"{label}: cannot tell which column holds the sequences (columns: {', '.join(map(repr, cols))}); "
                "name it 'sequence' or pass seq_column"
            )
        scol = best
        notes.append(f"sequence column {scol!r} chosen by its content")
    if id_column is not None:
        if id_column not in cols:
            raise SequenceFileError(
                f"{label}: no id column {id_column!r}; the columns are {', '.join(map(repr, cols))}"
            )
        icol: str | None = id_column
    else:
        cands = [c for c in cols if c != scol and _norm_name(c) in _ID_NAMES]
        icol = cands[0] if cands else None
    # drop rows that are entirely empty (trailing separators, blank spreadsheet rows)
    empty_row = (df.apply(lambda col: col.str.strip()) == "").all(axis=1).to_numpy()
    line_of = kept_lines[header_lines:] if len(kept_lines) - header_lines == len(df) else None
    seqs = df[scol].to_numpy()
    idv = df[icol].to_numpy() if icol is not None else None
    records: list[_Record] = []
    keep_rows = np.flatnonzero(~empty_row)
    for r in keep_rows:
        line = line_of[r] if line_of is not None else 0
        rid = str(idv[r]).strip() if idv is not None else None
        records.append((line, rid if rid else None, str(seqs[r])))
    extra = {c: df[c].to_numpy()[keep_rows].tolist() for c in cols if c not in (scol, icol)}
    return records, extra, notes, []


# ---------------------------------------------------------------------------------------------- validation
def _first_bad(seq: str, alphabet: Alphabet) -> tuple[int, str]:
    letters = alphabet.letters
    for i, ch in enumerate(seq):
        if ch not in letters:
            return i, ch
    raise AssertionError("no bad letter")  # pragma: no cover


def _letter_reason(seq: str, alphabet: Alphabet, raw: str = "") -> str:
    i, ch = _first_bad(seq, alphabet)
    raw = raw.strip()
    if len(raw) == len(seq) and raw[i].upper() == ch:
        ch_shown = raw[i]  # name the letter as the user wrote it
    else:
        ch_shown = ch
    nbad = sum(1 for c in seq if c not in alphabet.letters)
    more = f" ({nbad} letters outside the alphabet in total)" if nbad > 1 else ""
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
    lut = np.full(256, -1, dtype=np.int16)
    for i, ch in enumerate(alphabet.letters):
        lut[ord(ch)] = i
    if "?" in alphabet.letters:  # '?' is also the replacement of non-ASCII input: check those rows apart
        letters = set(alphabet.letters)
        ok = np.array([s.isascii() and set(s) <= letters for s in seqs], dtype=bool)
        codes = np.where(ok[:, None], lut[raw], 0)
    else:
        codes = lut[raw]
        ok = (codes >= 0).all(axis=1)
    return codes.astype(np.int8), ok


def _unique_ids(ids: list[str]) -> tuple[list[str], int]:
    seen: set[str] = set(ids)
    counts: Counter[str] = Counter()
    out: list[str] = []
    renamed = 0
    first: set[str] = set()
    for i in ids:
        if i not in first:
            first.add(i)
            out.append(i)
            continue
        counts[i] += 1
        k = counts[i] + 1
        cand = f"{i}_{k}"
        while cand in seen:
            k += 1
            cand = f"{i}_{k}"
        counts[i] = k - 1
        seen.add(cand)
        out.append(cand)
        renamed += 1
    return out, renamed


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
    if n is not None and (not isinstance(n, int | np.integer) or n < 1):
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
    text = _decode_text(_read_raw(source, label, max_bytes), label)
    fmt = format or _guess_format(text, label)
    if fmt == "fasta":
        records, extra_cols, notes, orphans = _parse_fasta(text)
        if not records and not orphans:
            raise SequenceFileError(f"{label}: no FASTA records ('>' header lines) found")
        if not records:
            raise SequenceFileError(
                f"{label}: no '>' header line found; is this a FASTA file? (pass format='txt' for one "
                "sequence per line)"
            )
    elif fmt in ("csv", "tsv"):
        records, extra_cols, notes, orphans = _parse_table(
            text, "," if fmt == "csv" else "\t", alphabet, seq_column, id_column, label
        )
    else:
        records, extra_cols, notes, orphans = _parse_txt(text)
    if not records and not orphans:
        raise SequenceFileError(f"{label}: no sequences found")
    notes = list(notes)

    R = len(records)
    lines = [r[0] for r in records]
    raw_ids = [r[1] for r in records]
    ids_filled = [rid if rid is not None and rid != "" else f"seq_{i + 1}" for i, rid in enumerate(raw_ids)]
    raw_seqs = [r[2] for r in records]
    normed = [alphabet.normalize(s) for s in raw_seqs]
    completed = np.zeros(R, dtype=bool)
    if tpl is not None and tpl.num_free != tpl.n:
        for i, s in enumerate(normed):
            if len(s) == tpl.num_free:
                normed[i] = _complete(s, tpl)
                completed[i] = True
    lengths = np.fromiter((len(s) for s in normed), dtype=np.int64, count=R)

    reasons: list[str | None] = [None] * R
    for i in np.flatnonzero(lengths == 0):
        reasons[i] = "empty: no sequence letters"
    if n is None:
        nonempty = lengths[lengths > 0]
        if nonempty.size == 0:
            n_use = 0
        else:
            vals, first_idx, cnt = np.unique(nonempty, return_index=True, return_counts=True)
            best = np.lexsort((first_idx, -cnt))[0]
            n_use = int(vals[best])
            if vals.size > 1:
                notes.append(
                    f"length n={n_use} inferred as the most common length ({int(cnt[best])} of "
                    f"{nonempty.size} sequences); pass n to choose another"
                )
    else:
        n_use = int(n)
    wrong = np.flatnonzero((lengths > 0) & (lengths != n_use))
    for i in wrong:
        reasons[i] = f"length: {lengths[i]} letters, expected {n_use}" + (
            f" (the template's full length) or {tpl.num_free} (its free positions)" if tpl is not None else "")
    right = np.flatnonzero((lengths > 0) & (lengths == n_use))
    codes, ok = _encode_equal_length([normed[i] for i in right], n_use, alphabet)
    for j in np.flatnonzero(~ok):
        reasons[right[j]] = _letter_reason(normed[right[j]], alphabet, raw_seqs[right[j]])
    if tpl is not None and tpl.num_fixed and right.size:
        bad = np.zeros(right.size, dtype=bool)
        bad[ok] = tpl.mismatches(codes[ok]).any(axis=1)
        for j in np.flatnonzero(bad):
            first = int(np.flatnonzero(codes[j, tpl.fixed] != tpl.fixed_codes)[0])
            reasons[right[j]] = f"template: {tpl.mismatch_reason(codes[j], first)}"
        ok = ok & ~bad
    acc = right[ok]
    if completed[acc].any():
        notes.append(f"{int(completed[acc].sum())} sequences of the free length {tpl.num_free} completed with the "
                     f"template's fixed letters ({tpl.describe()})")

    # ids: unique over the accepted records
    acc_ids = [ids_filled[i] for i in acc]
    uniq, renamed = _unique_ids(acc_ids)
    extra = pd.DataFrame({k: [v[i] for i in acc] for k, v in extra_cols.items()})
    extra = extra.reset_index(drop=True)
    for c in list(extra.columns):
        if c == "description" and (extra[c] == "").all():
            extra = extra.drop(columns=c)
            continue
        try:
            extra[c] = pd.to_numeric(extra[c])
        except (ValueError, TypeError):
            pass
    if renamed:
        extra["original_id"] = acc_ids
        notes.append(f"{renamed} duplicate ids made unique by appending _2, _3, ... (original in 'original_id')")

    rej_idx = [i for i in range(R) if reasons[i] is not None]
    rej_rows = [
        (i + 1, lines[i] or pd.NA, raw_ids[i] if raw_ids[i] is not None else f"seq_{i + 1}", raw_seqs[i], reasons[i])
        for i in rej_idx
    ]
    for ln, _rid, s in orphans:
        rej_rows.insert(0, (0, ln, "", s, "format: text before the first '>' header line"))
    rejected = pd.DataFrame(rej_rows, columns=_REJECT_COLUMNS)
    rejected["line"] = rejected["line"].astype("Int64")

    return SequenceSet(
        ids=uniq,
        sequences=[normed[i] for i in acc],
        X=codes[ok].reshape(len(acc), n_use),
        alphabet=alphabet,
        extra=extra,
        rejected=rejected,
        n=n_use,
        notes=tuple(notes),
        format=fmt,
        source=label,
    )


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
