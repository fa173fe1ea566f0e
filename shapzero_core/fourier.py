"""Sparse q-ary Fourier transforms of sequence models (:class:`FourierSketch`).

Convention (everywhere in this project)::

    F[k] = q^-n  sum_x f(x) w^{-<k,x>},     f(x) = sum_k F[k] w^{<k,x>},     w = exp(2 pi i / q)

with ``<k,x> = sum_i k_i x_i (mod q)``. A :class:`FourierSketch` represents ``f`` itself: the all-zero
location carries the mean ``F[0]`` of ``f`` over all ``q^n`` sequences.

File format (``.npz``, loaded with ``allow_pickle=False``): arrays ``locations`` (int8, K x n),
``coefficients`` (complex128, K), and ``header`` (uint8 bytes of a UTF-8 JSON object holding
``format`` = ``"shapzero-sketch"``, ``format_version``, the alphabet and the metadata). A human-readable
copy of the header is written next to it as ``<name>.json``; loading needs only the ``.npz``.
"""

from __future__ import annotations

import functools
import io
import json
import math
import os
import tempfile
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .alphabet import DNA, Alphabet, check_codes
from .limits import available_memory
from .limits import format_bytes as _mb

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "FourierSketch", "SketchFileError", "term_values"]

FORMAT_NAME = "shapzero-sketch"
FORMAT_VERSION = 1
_CHUNK_ELEMS = 1_000_000  # N_chunk * K elements per work array (8 MB float64: stays near cache)
MAX_HEADER_BYTES = 4 * 1024 * 1024
"""Largest JSON header a sketch file may hold (real headers are a few kB, with the report's held-out points)."""
_CONTENT_FLOOR = 256 * 1024 * 1024  # content a sketch may always unpack to, whatever its compression ratio
_CONTENT_RATIO = 64  # beyond the floor, at most this many times the compressed size


class SketchFileError(ValueError):
    """A sketch file that cannot be read: names the file and the problem."""


def term_values(locations: np.ndarray, coefficients: np.ndarray, X: np.ndarray, q: int) -> np.ndarray:
    """Real parts of every Fourier term at every sequence.

    Parameters
    ----------
    locations : numpy.ndarray
        ``int8 (K, n)`` frequency vectors k.
    coefficients : numpy.ndarray
        ``complex128 (K,)`` coefficients F[k].
    X : numpy.ndarray
        ``int8 (N, n)`` sequences (already validated).
    q : int
        Alphabet size.

    Returns
    -------
    numpy.ndarray
        ``float64 (N, K)`` with entry ``Re(F[k] w^{<k,x>})``.

    Notes
    -----
    ``<k,x>`` is one float32 BLAS product (exact: entries are small integers, far below 2^24), reduced
    mod q in int32, and every term is then a single gather from the table
    ``A[j, k] = Re(F[k] w^j)`` of shape ``(q, K)``: no complex exponential is evaluated.
    """
    K = locations.shape[0]
    if q * K >= 2**31:
        raise ValueError(f"too many coefficients for one evaluation (q*K = {q * K})")
    exact32 = X.shape[1] * (q - 1) ** 2 < 2**24  # every dot product is exactly representable
    ftype = np.float32 if exact32 else np.float64
    r = (X.astype(ftype) @ locations.astype(ftype).T).astype(np.int32)  # (N, K)
    if q & (q - 1) == 0:
        r &= q - 1
    else:
        np.remainder(r, q, out=r)
    ang = 2.0 * np.pi * np.arange(q) / q
    table = np.cos(ang)[:, None] * coefficients.real - np.sin(ang)[:, None] * coefficients.imag  # (q, K)
    r *= K
    r += np.arange(K, dtype=np.int32)
    return table.ravel()[r]


def _canonical(locations: np.ndarray, coefficients: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge duplicate locations (summing coefficients) and order by (degree, lexicographic k)."""
    if locations.shape[0] == 0:
        return locations, coefficients
    uniq, inv = np.unique(locations, axis=0, return_inverse=True)
    coef = np.zeros(uniq.shape[0], dtype=np.complex128)
    np.add.at(coef, inv.ravel(), coefficients)
    deg = np.count_nonzero(uniq, axis=1)
    order = np.lexsort((*tuple(uniq[:, ::-1].T), deg))
    return uniq[order], coef[order]


@dataclass(frozen=True)
class FourierSketch:
    """A sparse q-ary Fourier transform of a sequence model.

    Parameters
    ----------
    locations : numpy.ndarray
        ``int8 (K, n)``: frequency vectors ``k`` with entries in ``[0, q)``. Duplicates are merged.
    coefficients : numpy.ndarray
        ``complex128 (K,)``: ``F[k]``.
    alphabet : Alphabet, default DNA
        Letters of the sequences; ``q = alphabet.q``.
    metadata : mapping, optional
        JSON-serialisable information (model identity, sketch parameters, the sketch ``report``...).

    Notes
    -----
    The arrays are stored read-only. ``n`` is ``locations.shape[1]``.
    """

    locations: np.ndarray
    coefficients: np.ndarray
    alphabet: Alphabet = DNA
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        loc = np.asarray(self.locations)
        coef = np.asarray(self.coefficients, dtype=np.complex128).reshape(-1)
        if loc.ndim != 2:
            raise ValueError(f"locations must have shape (K, n), got {loc.shape}")
        if loc.shape[0] != coef.shape[0]:
            raise ValueError(
                f"locations has {loc.shape[0]} rows but coefficients has {coef.shape[0]} entries"
            )
        if loc.shape[1] < 1:
            raise ValueError("locations must have at least one position (n >= 1)")
        loc = check_codes(loc, self.alphabet.q, name="locations")
        if not np.all(np.isfinite(coef)):
            raise ValueError("coefficients contain NaN or infinite values")
        loc, coef = _canonical(loc, coef)
        loc = np.ascontiguousarray(loc, dtype=np.int8)
        loc.setflags(write=False)
        coef = np.ascontiguousarray(coef)
        coef.setflags(write=False)
        object.__setattr__(self, "locations", loc)
        object.__setattr__(self, "coefficients", coef)
        json.dumps(dict(self.metadata))  # fail early on non-JSON metadata
        object.__setattr__(self, "metadata", dict(self.metadata))

    # ------------------------------------------------------------------ properties
    @property
    def n(self) -> int:
        """Sequence length."""
        return int(self.locations.shape[1])

    @property
    def q(self) -> int:
        """Alphabet size."""
        return self.alphabet.q

    @property
    def num_coefficients(self) -> int:
        """Number K of stored coefficients (including the mean, if stored)."""
        return int(self.locations.shape[0])

    @property
    def degrees(self) -> np.ndarray:
        """``int64 (K,)``: interaction order ``|supp k|`` of every coefficient."""
        return np.count_nonzero(self.locations, axis=1).astype(np.int64)

    @property
    def mean(self) -> float:
        """``F[0]``: mean of the model over all ``q^n`` sequences (0 if not stored)."""
        zero = self.degrees == 0
        return float(self.coefficients[zero].real.sum())

    @property
    def report(self) -> Mapping[str, Any] | None:
        """The sketch report (queries, fit quality, timings) if this sketch came from a model."""
        rep = self.metadata.get("report")
        return rep if isinstance(rep, Mapping) else None

    @functools.cached_property
    def template(self) -> Any:
        """The :class:`~shapzero_core.template.Template` of a sketch of a templated model
        (``metadata["template"]``), or None. Its free positions are this sketch's ``n`` positions."""
        text = self.metadata.get("template")
        if not text:
            return None
        from .template import Template

        tpl = Template(str(text), self.alphabet)
        if tpl.num_free != self.n:
            raise ValueError(f"the sketch's template {tpl.pattern!r} has {tpl.num_free} free positions but the "
                             f"sketch explains {self.n}")
        return tpl

    @property
    def sequence_length(self) -> int:
        """Length of the sequences this sketch explains as a user gives them: the template's full length, or
        ``n`` without a template."""
        tpl = self.template
        return tpl.n if tpl is not None else self.n

    def energy_by_order(self) -> dict[int, float]:
        """Sum of ``|F[k]|^2`` for each order ``|supp k|`` present (order 0 = mean)."""
        deg = self.degrees
        e = np.abs(self.coefficients) ** 2
        return {int(d): float(e[deg == d].sum()) for d in np.unique(deg)}

    def count_by_order(self) -> dict[int, int]:
        """Number of coefficients of each order."""
        deg, cnt = np.unique(self.degrees, return_counts=True)
        return {int(d): int(c) for d, c in zip(deg, cnt, strict=True)}

    def with_metadata(self, **updates: Any) -> FourierSketch:
        """A copy with ``metadata`` updated by ``updates``."""
        md = dict(self.metadata)
        md.update(updates)
        return FourierSketch(self.locations, self.coefficients, self.alphabet, md)

    # ------------------------------------------------------------------ evaluation
    def check_sequences(self, X: np.ndarray, name: str = "X") -> np.ndarray:
        """Validate a batch against this sketch: ``int8 (N, n)`` with codes in ``[0, q)``."""
        tpl = self.template
        if tpl is not None and np.ndim(X) == 2 and np.shape(X)[1] == tpl.n != self.n:
            raise ValueError(f"{name} has the full length {tpl.n}, but this sketch has a template "
                             f"({tpl.pattern}) and works on its {self.n} free positions: use "
                             "shapzero_core.analysis.explain_sequences, or sketch.template.restrict(X)")
        return check_codes(X, self.q, self.n, name=name)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Evaluate ``Re(sum_k F[k] w^{<k,x>})``.

        Parameters
        ----------
        X : numpy.ndarray
            ``int (N, n)`` sequences with codes in ``[0, q)``.

        Returns
        -------
        numpy.ndarray
            ``float64 (N,)``.
        """
        X = self.check_sequences(X)
        out = np.empty(X.shape[0], dtype=np.float64)
        K = max(self.num_coefficients, 1)
        step = max(1, _CHUNK_ELEMS // K)
        for s in range(0, X.shape[0], step):
            out[s : s + step] = term_values(self.locations, self.coefficients, X[s : s + step], self.q).sum(1)
        return out

    # ------------------------------------------------------------------ dense (small n)
    @classmethod
    def from_dense(
        cls,
        values: np.ndarray,
        alphabet: Alphabet = DNA,
        tol: float = 1e-12,
        metadata: Mapping[str, Any] | None = None,
    ) -> FourierSketch:
        """Exact transform of a full table of model values.

        Parameters
        ----------
        values : numpy.ndarray
            ``float (q,)*n``: ``values[x_1, ..., x_n] = f(x)``.
        alphabet : Alphabet, default DNA
        tol : float
            Coefficients with ``|F[k]| <= tol * max|F|`` are dropped.
        metadata : mapping, optional

        Returns
        -------
        FourierSketch
        """
        values = np.asarray(values)
        q = alphabet.q
        if values.ndim < 1 or any(s != q for s in values.shape):
            raise ValueError(f"values must have shape (q,)*n with q={q}, got {values.shape}")
        F = np.fft.fftn(values) / values.size
        mag = np.abs(F)
        keep = mag > tol * max(float(mag.max()), 1e-300)
        locs = np.argwhere(keep).astype(np.int8)
        return cls(locs, F[keep], alphabet, dict(metadata or {}))

    def to_dense(self) -> np.ndarray:
        """Full table ``float64 (q,)*n`` of ``predict`` over all sequences (small n only)."""
        if self.q**self.n > 2**24:
            raise ValueError(f"q^n = {self.q}^{self.n} is too large for a dense table")
        F = np.zeros((self.q,) * self.n, dtype=np.complex128)
        np.add.at(F, tuple(self.locations.astype(np.intp).T), self.coefficients)
        return np.real(np.fft.ifftn(F) * F.size)

    # ------------------------------------------------------------------ files
    def _header(self) -> dict[str, Any]:
        return {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "n": self.n,
            "q": self.q,
            "num_coefficients": self.num_coefficients,
            "alphabet": self.alphabet.to_dict(),
            "metadata": dict(self.metadata),
        }

    def to_bytes(self) -> bytes:
        """The ``.npz`` file content as bytes (see module docstring)."""
        header = json.dumps(self._header(), indent=1, sort_keys=True).encode("utf-8")
        buf = io.BytesIO()
        np.savez_compressed(
            buf,
            locations=np.asarray(self.locations),
            coefficients=np.asarray(self.coefficients),
            header=np.frombuffer(header, dtype=np.uint8),
        )
        return buf.getvalue()

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the sketch atomically to ``path`` (``.npz``) and a readable header to ``<path>.json``.

        Returns
        -------
        pathlib.Path
            The path written (``.npz`` appended if missing).
        """
        p = Path(path)
        if p.suffix != ".npz":
            p = p.with_name(p.name + ".npz")
        p.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(p, self.to_bytes())
        _atomic_write(p.with_suffix(".json"), json.dumps(self._header(), indent=1, sort_keys=True).encode())
        return p

    @classmethod
    def load(cls, source: str | os.PathLike[str] | bytes, name: str | None = None,
             max_bytes: int | None = None) -> FourierSketch:
        """Read a sketch written by :meth:`save` / :meth:`to_bytes`.

        Parameters
        ----------
        source : path or bytes
            File path, or the file content.
        name : str, optional
            Name used in error messages for bytes input (e.g. the uploaded file name).
        max_bytes : int, optional
            Most bytes the arrays may unpack to (see :func:`read_npz`; default: 256 MB, or 64 times the
            file size if larger).

        Raises
        ------
        SketchFileError
            If the file is missing, not an ``.npz``, truncated, of another format or version, inconsistent,
            or would unpack to far more than it holds (a zip bomb). The message names the file.
        """
        if isinstance(source, bytes | bytearray | memoryview):
            label = name or "<uploaded bytes>"
        else:
            label = str(source)
            if not Path(source).is_file():
                raise SketchFileError(f"{label}: no such file" if not Path(source).is_dir() else
                                      f"{label}: is a folder, expected a sketch file (.npz)")
        z = read_npz(source, label, max_bytes=max_bytes)
        missing = {"locations", "coefficients", "header"} - set(z)
        if missing:
            raise SketchFileError(f"{label}: not a SHAP zero sketch (missing {', '.join(sorted(missing))})")
        raw = z["header"]
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise SketchFileError(f"{label}: corrupt header (an array of {raw.dtype} {raw.shape}, expected bytes)")
        try:
            header = json.loads(raw.tobytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise SketchFileError(f"{label}: corrupt header ({e})") from e
        locations = z["locations"]
        coefficients = z["coefficients"]
        if not isinstance(header, dict):
            raise SketchFileError(f"{label}: not a SHAP zero sketch (its header is a JSON {type(header).__name__}, "
                                  "not an object)")
        if header.get("format") != FORMAT_NAME:
            raise SketchFileError(f"{label}: not a SHAP zero sketch (format {header.get('format')!r})")
        ver = header.get("format_version")
        if isinstance(ver, bool) or not isinstance(ver, int):
            raise SketchFileError(f"{label}: damaged header: format_version is {ver!r}, not a whole number")
        if ver < 1:
            raise SketchFileError(f"{label}: damaged header: format_version {ver} is not a version (they start at 1)")
        if ver > FORMAT_VERSION:
            raise SketchFileError(
                f"{label}: format version {ver} is newer than this program supports ({FORMAT_VERSION}); "
                "update shapzero-studio to read it"
            )
        if locations.dtype.kind not in "iu" or coefficients.dtype.kind not in "cf":
            raise SketchFileError(
                f"{label}: wrong array types (locations {locations.dtype}, coefficients {coefficients.dtype})"
            )
        try:
            alphabet = Alphabet.from_dict(header["alphabet"])
            sk = cls(locations, coefficients, alphabet, header.get("metadata") or {})
        except (KeyError, TypeError, ValueError) as e:
            raise SketchFileError(f"{label}: inconsistent content ({e})") from e
        if header.get("n") not in (None, sk.n) or header.get("q") not in (None, sk.q):
            raise SketchFileError(f"{label}: header says n={header.get('n')}, q={header.get('q')} "
                                  f"but the arrays have n={sk.n}, q={sk.q}")
        return sk


def _sniff(head: bytes) -> str:
    """What a file that is not a zip archive looks like, from its first bytes."""
    if head.startswith(b"\x93NUMPY"):
        return "it is a single NumPy array (.npy), not a sketch archive"
    if not head:
        return "the file is empty"
    text = head[:200]
    if b"\x00" not in text:
        try:
            first = text.decode("utf-8").splitlines()[0] if text.strip() else ""
        except UnicodeDecodeError:
            first = None
        if first is not None:
            return f"it is a text file (first line {first[:60]!r}), not a sketch"
    return "it is not a zip archive"


def read_npz(source: str | os.PathLike[str] | bytes, label: str, max_bytes: int | None = None,
             max_header_bytes: int = MAX_HEADER_BYTES) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file, each checked before anything is unpacked.

    The zip directory states every member's unpacked size (and unpacking never goes past it); each member's
    ``.npy`` header states its dtype and shape. Both are checked first: a member named ``header`` larger than
    ``max_header_bytes``, arrays unpacking to more than ``max_bytes`` in total (default: 256 MB, or 64 times
    the file size if that is more, and at most half the available memory), an ``.npy`` header asking for more
    than its member holds, or an object (pickle) array are refused before allocating.

    Parameters
    ----------
    source : path or bytes
    label : str
        Names the file in messages.
    max_bytes, max_header_bytes : int, optional

    Returns
    -------
    dict
        Member name (without ``.npy``) -> array.

    Raises
    ------
    SketchFileError
    """
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        size, head, fobj = len(data), data[:256], io.BytesIO(data)
    else:
        try:
            size = os.path.getsize(source)
            with open(source, "rb") as f:
                head = f.read(256)
        except OSError as e:
            raise SketchFileError(f"{label}: cannot read it ({e.strerror or e})") from e
        fobj = source
    try:
        zf = zipfile.ZipFile(fobj)
    except zipfile.BadZipFile:
        raise SketchFileError(f"{label}: not a readable .npz file: {_sniff(head)}") from None
    except (OSError, EOFError, ValueError) as e:
        raise SketchFileError(f"{label}: not a readable .npz file ({e})") from e
    with zf:
        infos = zf.infolist()
        declared = sum(i.file_size for i in infos)
        limit = max_bytes if max_bytes is not None else max(_CONTENT_FLOOR, _CONTENT_RATIO * size)
        limit = min(limit, available_memory() // 2)
        if declared > limit:
            raise SketchFileError(
                f"{label}: its arrays would unpack to {_mb(declared)} from a file of {_mb(size)}, more than the "
                f"{_mb(limit)} allowed (a damaged file or a zip bomb); if it is a genuine sketch that large, "
                "pass max_bytes to FourierSketch.load")
        out: dict[str, np.ndarray] = {}
        for info in infos:
            key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            if key in out:
                raise SketchFileError(f"{label}: holds two arrays named {key!r} (not written by this program)")
            if key == "header" and info.file_size > max_header_bytes:
                raise SketchFileError(f"{label}: its header would unpack to {_mb(info.file_size)}, more than the "
                                      f"{_mb(max_header_bytes)} a sketch header can be (a damaged file or a zip bomb)")
            try:
                with zf.open(info) as f:
                    version = np.lib.format.read_magic(f)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(f)
                    elif version == (2, 0):
                        shape, _, dtype = np.lib.format.read_array_header_2_0(f)
                    else:
                        raise ValueError(f".npy version {version} is not supported")
                if dtype.hasobject:
                    raise SketchFileError(f"{label}: array {key!r} holds Python objects (pickled data), which a "
                                          "sketch never contains; it is not a sketch written by this program")
                need = math.prod(shape) * dtype.itemsize
                if need > info.file_size:
                    raise SketchFileError(f"{label}: array {key!r} claims {shape} {dtype} ({_mb(need)}) but holds "
                                          f"{_mb(info.file_size)}: the file is corrupt")
                with zf.open(info) as f:
                    out[key] = np.lib.format.read_array(f, allow_pickle=False)
            except SketchFileError:
                raise
            except (zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error) as e:
                raise SketchFileError(f"{label}: array {key!r} is corrupt or truncated ({e})") from e
            except Exception as e:  # anything else the decoders raise on damaged bytes
                raise SketchFileError(f"{label}: corrupt file ({type(e).__name__}: {e})") from e
    return out


def _umask() -> int:
    """The process's umask, read without changing it (``os.umask`` would, for every thread); 0o022 if unknown."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def _atomic_write(path: Path, data: bytes) -> None:
    """Write bytes to a temporary file in the same folder, then rename over ``path``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # the permissions of an ordinary new file, not mkstemp's 0600
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
