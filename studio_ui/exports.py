"""Downloads of the Export page: figures (SVG / PDF / PNG 300 dpi), tables (CSV / Parquet), the sketch,
a JSON run record and a zip of all of them (the same files under the same names). No Streamlit here: every download is a :class:`Download`
whose ``make()`` returns the file's bytes (the page hands it to ``st.download_button`` as deferred data,
so nothing is rendered until the user clicks).

Figures are rendered by the engine (:mod:`shapzero_core.figures`, :func:`save_figure`) so the files are
the same as the CLI's ``shapzero export``.
"""

from __future__ import annotations

import io
import json
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from shapzero_core import FourierSketch
from shapzero_core.export import program_versions, write_table
from shapzero_core.figures import save_figure
from shapzero_core.sequences import SequenceSet

__all__ = ["FIGURE_FORMATS", "TABLE_FORMATS", "Download", "figure_bytes", "figure_downloads", "modisco_zip",
           "run_record", "table_bytes", "table_downloads", "zip_downloads"]

FIGURE_FORMATS = ("svg", "pdf", "png")
TABLE_FORMATS = ("csv", "parquet")
MIME = {
    "svg": "image/svg+xml", "pdf": "application/pdf", "png": "image/png", "csv": "text/csv",
    "parquet": "application/vnd.apache.parquet", "npz": "application/octet-stream",
    "json": "application/json", "zip": "application/zip",
}
_MPL_LOCK = threading.Lock()  # pyplot's figure registry is not thread-safe; deferred downloads run in threads


@dataclass(frozen=True)
class Download:
    """One file the user can download.

    Attributes
    ----------
    key : str
        Stable widget key (``dl_<name>_<format>``).
    label : str
        Button label (the format, e.g. ``"SVG"``).
    file_name : str
    mime : str
    make : callable
        ``() -> bytes``, called only when the file is wanted.
    """

    key: str
    label: str
    file_name: str
    mime: str
    make: Callable[[], bytes]


def figure_bytes(build: Callable[[], Any], fmt: str) -> bytes:
    """Render the matplotlib figure returned by ``build()`` with :func:`save_figure` in one format."""
    with _MPL_LOCK, tempfile.TemporaryDirectory() as d:
        (p,) = save_figure(build(), Path(d) / "figure", [fmt])
        return p.read_bytes()


class _Figure:
    """A figure built on first use and rendered once per format (the zip wants all three formats of every
    figure; building a logo is the costly part)."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build, self._fig, self._bytes = build, None, {}

    def render(self, fmt: str) -> bytes:
        with _MPL_LOCK:
            if fmt not in self._bytes:
                if self._fig is None:
                    self._fig = self._build()
                with tempfile.TemporaryDirectory() as d:
                    (p,) = save_figure(self._fig, Path(d) / "figure", [fmt])
                    self._bytes[fmt] = p.read_bytes()
                if len(self._bytes) == len(FIGURE_FORMATS):
                    self._fig = None  # every format rendered: the figure is not needed any more
            return self._bytes[fmt]


def table_bytes(frame: pd.DataFrame, fmt: str) -> bytes:
    """A table as CSV or Parquet bytes, written by the engine's :func:`write_table` (tuples -> ``"3,7"``)."""
    with tempfile.TemporaryDirectory() as d:
        (p,) = write_table(frame, Path(d) / "table", [fmt])
        return p.read_bytes()


def figure_downloads(name: str, build: Callable[[], Any]) -> list[Download]:
    """SVG, PDF and PNG downloads of one figure (``name`` becomes the file stem)."""
    fig = _Figure(build)
    return [
        Download(f"dl_{name}_{fmt}", fmt.upper(), f"{name}.{fmt}", MIME[fmt], (lambda fmt=fmt: fig.render(fmt)))
        for fmt in FIGURE_FORMATS
    ]


def table_downloads(name: str, frame: Callable[[], pd.DataFrame]) -> list[Download]:
    """CSV and Parquet downloads of one table. The frame is built once for both (the zip asks for both in turn)
    and let go once both are written."""
    built: list[pd.DataFrame] = []
    served: set[str] = set()
    lock = threading.Lock()

    def make(fmt: str) -> bytes:
        with lock:
            if not built:
                built.append(frame())
            data = table_bytes(built[0], fmt)
            served.add(fmt)
            if served >= set(TABLE_FORMATS):
                built.clear()
                served.clear()
            return data

    return [
        Download(f"dl_{name}_{fmt}", fmt.upper() if fmt == "csv" else "Parquet", f"{name}.{fmt}", MIME[fmt],
                 (lambda fmt=fmt: make(fmt)))
        for fmt in TABLE_FORMATS
    ]


def run_record(
    sketch: FourierSketch,
    sketch_source: str,
    seqs: SequenceSet | None,
    model: dict[str, Any] | None,
    parameters: dict[str, Any],
) -> dict[str, Any]:
    """JSON record of the session's run: model identity, sketch (parameters, quality), sequences, the
    explanation parameters and program versions."""
    rep = dict(sketch.report or {})
    rep.pop("holdout", None)  # the scatter points are in the sketch file, not needed here
    return {
        "format": "shapzero-studio-run",
        "format_version": 1,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "versions": program_versions(("streamlit", "onnxruntime")),
        "model": model,
        "sketch": {
            "source": sketch_source,
            "n": sketch.n,
            "q": sketch.q,
            "alphabet": sketch.alphabet.to_dict(),
            "num_coefficients": sketch.num_coefficients,
            "count_by_order": {str(k): v for k, v in sketch.count_by_order().items()},
            "model": sketch.metadata.get("model"),
            "report": rep or None,
        },
        "sequences": None if seqs is None else {
            "source": seqs.source, "format": seqs.format, "accepted": len(seqs), "rejected": len(seqs.rejected),
            "n": seqs.n, "notes": list(seqs.notes),
        },
        "parameters": {**parameters, "positions": "1-based"},
    }


def json_bytes(record: dict[str, Any]) -> bytes:
    return json.dumps(record, indent=1, default=str).encode("utf-8")


def modisco_zip(expl: Any, sketch: FourierSketch) -> bytes:
    """TF-MoDISco inputs (:func:`shapzero_core.export.write_modisco`: one-hot, SHAP and hypothetical SHAP,
    ``float32 (N, 4, L)`` under ``arr_0``, plus the ids) as one zip."""
    from shapzero_core.export import write_modisco

    with tempfile.TemporaryDirectory() as d:
        paths = write_modisco(expl, Path(d), sketch)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:  # npz files are compressed already
            for p in paths:
                z.write(p, p.name)
        return buf.getvalue()


def zip_downloads(entries: list[tuple[str, Download]], root: str = "shapzero_export") -> bytes:
    """Every file of ``entries`` (``(folder, download)``, the page's own buttons) in one zip, under
    ``<root>/<folder>/<file name>``: the names are those of the single downloads. A download that is itself a
    zip (the TF-MoDISco arrays, the motifs) is unpacked into ``<folder>/<its stem>/``. Duplicate paths are
    an error (two buttons that would overwrite each other's file)."""
    buf = io.BytesIO()
    seen: set[str] = set()
    # deflate level 1: CSVs of thousands of sequences are tens of MB, and level 6 took seconds more for a few %
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for folder, d in entries:
            base = "/".join(p for p in (root, folder) if p)
            data = d.make()
            data = data.encode("utf-8") if isinstance(data, str) else data
            if d.file_name.endswith(".zip"):
                stem = d.file_name[: -len(".zip")]
                with zipfile.ZipFile(io.BytesIO(data)) as inner:
                    items = [(f"{base}/{stem}/{i.filename}", inner.read(i)) for i in inner.infolist() if not i.is_dir()]
            else:
                items = [(f"{base}/{d.file_name}", data)]
            for path, b in items:
                if path in seen:
                    raise ValueError(f"two downloads write {path}")
                seen.add(path)
                z.writestr(path, b, compress_type=zipfile.ZIP_STORED if path.endswith((".npz", ".png", ".parquet",
                                                                                        ".h5")) else None)
    return buf.getvalue()
