"""Streaming readers behind :func:`shapzero_core.sequences.read_sequences`: the (decompressed, size-limited)
byte stream of a file or upload, its text lines, and one chunked parser per format (FASTA, CSV / TSV, plain
text). Nothing here holds a whole file: every parser yields records in chunks of :data:`CHUNK_RECORDS`."""

from __future__ import annotations

import gzip
import io
import os
import re
import zlib
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from .alphabet import Alphabet

CHUNK_RECORDS = 16_384
_HEAD_BYTES = 65_536
_TABLE_SAMPLE_LINES = 2_000

_BINARY_MAGIC = {
    b"PK\x03\x04": "a zip archive (an Excel .xlsx or a .npz?): export the sheet as CSV",
    b"\x93NUMPY": "a NumPy .npy array",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\x08\x01\x12": "an ONNX model",
    b"\xd0\xcf\x11\xe0": "an old Excel/Office document: export the sheet as CSV",
}

SEQ_NAMES = (
    "sequence", "seq", "sequences", "guide", "guideseq", "guidesequence", "spacer", "spacersequence", "grna",
    "sgrna", "crrna", "protospacer", "target", "targetsequence", "dna", "rna", "protein", "peptide",
)
ID_NAMES = ("id", "seqid", "sequenceid", "name", "seqname", "identifier", "guideid", "guidename", "label_id")

Record = tuple[int, "str | None", str]
"""(1-based line where the record starts or 0 if unknown, id or None, sequence as read)."""


class SequenceFileError(ValueError):
    """A sequence file that cannot be read at all; the message names the file and the problem."""


def norm_name(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(s).lower())


# ============================================================================================== the bytes
class _Limited(io.RawIOBase):
    """Reads ``raw`` (gunzipped if ``gz``), raising SequenceFileError past ``limit`` bytes or on bad gzip data."""

    def __init__(self, raw: BinaryIO, gz: bool, limit: int, label: str) -> None:
        self._raw = raw
        self._src: BinaryIO = gzip.GzipFile(fileobj=raw) if gz else raw  # type: ignore[assignment]
        self._gz, self._limit, self._label, self.count = gz, limit, label, 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        try:
            n = self._src.readinto(b)  # type: ignore[attr-defined]
        except (OSError, EOFError, zlib.error) as e:
            if self._gz:
                raise SequenceFileError(f"{self._label}: corrupt or truncated gzip data ({e})") from e
            raise
        self.count += n or 0
        if self.count > self._limit:
            what = "decompressed data is" if self._gz else "data is"
            raise SequenceFileError(f"{self._label}: {what} larger than the limit of {self._limit:,} bytes "
                                    "(raise max_bytes to read it)")
        return n or 0

    def close(self) -> None:
        try:
            if self._gz:
                self._src.close()
            self._raw.close()
        finally:
            super().close()


class Source:
    """A sequence file (path) or upload (bytes) that can be opened again and again.

    Checks what can be checked before parsing: the file exists and is not a folder, its size is within
    ``max_bytes``, and its first 64 KiB (decompressed) are text.
    """

    def __init__(self, source: str | os.PathLike[str] | bytes, label: str, max_bytes: int) -> None:
        self.label, self.max_bytes = label, max_bytes
        if isinstance(source, bytes | bytearray | memoryview):
            self._data: bytes | None = bytes(source)
            self._path: Path | None = None
            size = len(self._data)
        else:
            self._data, self._path = None, Path(source)
            if not self._path.exists():
                raise FileNotFoundError(f"{label}: no such file")
            if self._path.is_dir():
                raise SequenceFileError(f"{label}: is a directory, expected a sequence file")
            size = self._path.stat().st_size
        if size > max_bytes:
            raise SequenceFileError(f"{label}: file is {size:,} bytes, larger than the limit of {max_bytes:,} bytes "
                                    "(raise max_bytes to read it)")
        with self._open_raw() as f:
            self.gz = f.read(2) == b"\x1f\x8b"
        with self.open() as f:
            self.head = f.read(_HEAD_BYTES + 1)
        self._check_text()

    def _open_raw(self) -> BinaryIO:
        return io.BytesIO(self._data) if self._data is not None else open(self._path, "rb")  # type: ignore[arg-type]

    def open(self) -> BinaryIO:
        """The decompressed bytes, size-limited."""
        return io.BufferedReader(_Limited(self._open_raw(), self.gz, self.max_bytes, self.label), 1 << 20)

    def _check_text(self) -> None:
        data, label = self.head, self.label
        if not data.strip() and len(data) <= _HEAD_BYTES:
            raise SequenceFileError(f"{label}: the file is empty")
        for magic, what in _BINARY_MAGIC.items():
            if data.startswith(magic):
                raise SequenceFileError(f"{label}: this is {what}, not a FASTA/CSV/TSV/text sequence file")
        head = data[:_HEAD_BYTES]
        nul = head.find(b"\x00")
        if nul >= 0:
            raise SequenceFileError(
                f"{label}: looks like a binary file (NUL byte at offset {nul}); expected FASTA, CSV, TSV or text")
        ctrl = sum(head.count(bytes([c])) for c in range(32) if c not in (9, 10, 12, 13))
        if ctrl > max(8, len(head) // 100):
            raise SequenceFileError(f"{label}: looks like a binary file ({ctrl} control bytes in the first "
                                    f"{len(head)}); expected FASTA, CSV, TSV or text")

    def lines(self, encoding: str) -> Iterator[str]:
        """Text lines without their line ending (``\\n``, ``\\r\\n`` or ``\\r``), decoded as ``encoding``."""
        with io.TextIOWrapper(self.open(), encoding=encoding, newline=None) as text:
            for line in text:
                yield line[:-1] if line.endswith("\n") else line

    def head_text(self) -> str:
        return self.head.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")


# ============================================================================================== parsers
@dataclass
class Chunk:
    """Records of one chunk, and the other columns' values for each of them."""

    records: list[Record]
    extra: dict[str, list[object] | pd.Series]


@dataclass
class ParseState:
    """What a parser learns besides records: notes, text before the first FASTA header, table line numbers."""

    notes: list[str] = field(default_factory=list)
    orphans: list[Record] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)  # extra columns, in order
    row_lines: array | None = None  # tables: kept line numbers (line of data row r = row_lines[header + r])
    header_lines: int = 0
    table_rows: int = 0


def fasta_chunks(lines: Iterator[str], state: ParseState) -> Iterator[Chunk]:
    state.columns = ["description"]
    records: list[Record] = []
    desc: list[object] = []
    cur_id: str | None = None
    cur_line = 0
    parts: list[str] = []
    stray_line, stray = 0, []
    for ln, line in enumerate(lines, start=1):
        if line.startswith(">"):
            if cur_id is not None:
                records.append((cur_line, cur_id, "".join(parts)))
                if len(records) >= CHUNK_RECORDS:
                    yield Chunk(records, {"description": desc})
                    records, desc = [], []
            head = line[1:].strip()
            split = head.split(None, 1)
            cur_id = split[0] if split else ""
            desc.append(split[1] if len(split) > 1 else "")
            cur_line, parts = ln, []
        elif line.startswith(";") or (cur_id is None and line.startswith("#")):
            continue
        elif cur_id is None:
            if line.strip():
                stray_line = stray_line or ln
                stray.append(line.strip())
        else:
            parts.append("".join(line.split()))
    if cur_id is not None:
        records.append((cur_line, cur_id, "".join(parts)))
    if stray:
        state.orphans.append((stray_line, None, "".join(stray)))
    if records:
        yield Chunk(records, {"description": desc})


def txt_chunks(lines: Iterator[str], state: ParseState) -> Iterator[Chunk]:
    records: list[Record] = []
    seen = False
    for ln, line in enumerate(lines, start=1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if not seen and not state.notes and norm_name(s) in SEQ_NAMES:
            state.notes.append(f"line {ln} ({s!r}) read as a column header and skipped")
            continue
        seen = True
        records.append((ln, None, s))
        if len(records) >= CHUNK_RECORDS:
            yield Chunk(records, {})
            records = []
    if records:
        yield Chunk(records, {})


class _KeptLines(io.TextIOBase):
    """The non-blank, non-``#`` lines of ``lines`` as one text stream (what the table parser reads); their line
    numbers are appended to ``numbers``."""

    def __init__(self, lines: Iterator[tuple[int, str]], numbers: array) -> None:
        self._lines, self._numbers, self._buf = lines, numbers, ""

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        want = 1 << 62 if size is None or size < 0 else size
        out = [self._buf]
        have = len(self._buf)
        while have < want:
            nxt = next(self._lines, None)
            if nxt is None:
                break
            ln, line = nxt
            self._numbers.append(ln)
            out.append(line + "\n")
            have += len(line) + 1
        text = "".join(out)
        self._buf = text[want:] if have > want else ""
        return text[:want] if have > want else text


def _looks_like_seq_fraction(values: pd.Series, alphabet: Alphabet) -> float:
    sample = values.astype(str).head(200)
    if sample.empty:
        return 0.0
    letters = set(alphabet.letters)
    ok = sum(1 for v in sample if len(s := alphabet.normalize(v)) >= 4 and set(s) <= letters)
    return ok / len(sample)


def _kept(lines: Iterator[str]) -> Iterator[tuple[int, str]]:
    return ((ln, line) for ln, line in enumerate(lines, start=1) if line.strip() and not line.lstrip().startswith("#"))


def table_chunks(open_lines: Callable[[], Iterator[str]], sep: str, alphabet: Alphabet, seq_column: str | None,
                 id_column: str | None, label: str, state: ParseState) -> Iterator[Chunk]:
    """Chunks of a CSV / TSV table. The header and the columns are decided on the first rows (read from a first
    opening of the file), then the whole table is read in chunks from a second one."""
    if next(_kept(open_lines()), None) is None:
        raise SequenceFileError(f"{label}: no rows found (only blank or # comment lines)")
    kind = "TSV" if sep == "\t" else "CSV"
    opts = {"sep": sep, "dtype": str, "keep_default_na": False, "skip_blank_lines": False, "skipinitialspace": True}

    def read(text: io.TextIOBase | io.StringIO, header: int | None, **kw: object) -> object:
        try:
            return pd.read_csv(text, header=header, **opts, **kw)  # type: ignore[call-overload]
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as e:
            msg = " ".join(str(e).split())
            raise SequenceFileError(f"{label}: cannot read as {kind} ({msg})") from e

    df = read(_KeptLines(_kept(open_lines()), array("q")), 0, nrows=_TABLE_SAMPLE_LINES)
    cols = [str(c) for c in df.columns]  # type: ignore[attr-defined]
    if len(set(cols)) != len(cols):
        raise SequenceFileError(f"{label}: duplicate column names in the header: {cols}")
    header: int | None = 0
    normed = {c: norm_name(c) for c in cols}
    named_seq = [c for c in cols if normed[c] in SEQ_NAMES] or [
        c for c in cols if "seq" in normed[c] and normed[c] not in ID_NAMES and not normed[c].endswith("id")]
    names: list[str] | None = None
    if seq_column is None and not named_seq:
        letters = set(alphabet.letters)
        if any(len(alphabet.normalize(c)) >= 4 and set(alphabet.normalize(c)) <= letters for c in cols):
            df = read(_KeptLines(_kept(open_lines()), array("q")), None, nrows=_TABLE_SAMPLE_LINES)
            names = [f"column_{i + 1}" for i in range(df.shape[1])]  # type: ignore[attr-defined]
            df.columns = names  # type: ignore[attr-defined]
            cols, header = list(names), None
            state.notes.append("no header row found: columns named column_1, column_2, ...")
    if seq_column is not None:
        if seq_column not in cols:
            raise SequenceFileError(f"{label}: no column {seq_column!r}; the columns are {', '.join(map(repr, cols))}")
        scol = seq_column
    elif named_seq and header == 0:
        scol = named_seq[0]
    else:
        scores = {c: _looks_like_seq_fraction(df[c], alphabet) for c in cols}  # type: ignore[index]
        best = max(cols, key=lambda c: scores[c])
        if scores[best] == 0:
            raise SequenceFileError(f"{label}: cannot tell which column holds the sequences (columns: "
                                    f"{', '.join(map(repr, cols))}); name it 'sequence' or pass seq_column")
        scol = best
        state.notes.append(f"sequence column {scol!r} chosen by its content")
    if id_column is not None:
        if id_column not in cols:
            raise SequenceFileError(f"{label}: no id column {id_column!r}; the columns are "
                                    f"{', '.join(map(repr, cols))}")
        icol: str | None = id_column
    else:
        cands = [c for c in cols if c != scol and norm_name(c) in ID_NAMES]
        icol = cands[0] if cands else None
    state.columns = [c for c in cols if c not in (scol, icol)]
    state.header_lines = 1 if header == 0 else 0
    state.row_lines = array("q")
    stream = _KeptLines(_kept(open_lines()), state.row_lines)
    reader = read(stream, header, chunksize=CHUNK_RECORDS, **({"names": names} if names else {}))
    rows = 0
    try:
        for part in reader:  # type: ignore[attr-defined]
            if list(map(str, part.columns)) != cols:
                raise SequenceFileError(f"{label}: cannot read as {kind} (the columns changed)")
            empty_row = (part.apply(lambda col: col.str.strip()) == "").all(axis=1).to_numpy()
            keep = [i for i in range(len(part)) if not empty_row[i]]
            seqs = part[scol].to_numpy()
            idv = part[icol].to_numpy() if icol is not None else None
            records: list[Record] = []
            for r in keep:
                rid = str(idv[r]).strip() if idv is not None else None
                records.append((-(rows + r) - 1, rid if rid else None, str(seqs[r])))  # line filled in later
            extra = {c: part[c].iloc[keep].reset_index(drop=True) for c in state.columns}
            rows += len(part)
            yield Chunk(records, extra)
    except (pd.errors.ParserError, ValueError) as e:
        if isinstance(e, SequenceFileError):
            raise
        msg = " ".join(str(e).split())
        raise SequenceFileError(f"{label}: cannot read as {kind} ({msg})") from e
    state.table_rows = rows


def table_line(state: ParseState, code: int) -> int:
    """The 1-based line of a table record (``code`` = -(data row) - 1), or 0 when rows and lines do not map one
    to one (quoted fields across lines)."""
    if code >= 0:
        return code
    r = -code - 1
    lines = state.row_lines
    if lines is None or len(lines) - state.header_lines != state.table_rows:
        return 0
    return int(lines[state.header_lines + r])


def guess_format(text: str, label: str, extensions: dict[str, str]) -> str:
    low = label.lower()
    if low.endswith(".gz"):
        low = low[:-3]
    ext = os.path.splitext(low)[1]
    if ext in extensions:
        return extensions[ext]
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
