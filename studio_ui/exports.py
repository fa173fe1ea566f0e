"""Downloads of the Export page: figures (SVG / PDF / PNG 300 dpi), tables (CSV / Parquet), the sketch,
a JSON run record and a zip of everything. No Streamlit here: every download is a :class:`Download`
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
from shapzero_core.export import ExportConfig, export_all, program_versions, write_table
from shapzero_core.figures import save_figure
from shapzero_core.sequences import SequenceSet

__all__ = ["FIGURE_FORMATS", "TABLE_FORMATS", "Download", "figure_bytes", "figure_downloads", "modisco_zip",
           "run_record", "table_bytes", "table_downloads", "zip_everything"]

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


def table_bytes(frame: pd.DataFrame, fmt: str) -> bytes:
    """A table as CSV or Parquet bytes, written by the engine's :func:`write_table` (tuples -> ``"3,7"``)."""
    with tempfile.TemporaryDirectory() as d:
        (p,) = write_table(frame, Path(d) / "table", [fmt])
        return p.read_bytes()


def figure_downloads(name: str, build: Callable[[], Any]) -> list[Download]:
    """SVG, PDF and PNG downloads of one figure (``name`` becomes the file stem)."""
    return [
        Download(f"dl_{name}_{fmt}", fmt.upper(), f"{name}.{fmt}", MIME[fmt],
                 (lambda fmt=fmt: figure_bytes(build, fmt)))
        for fmt in FIGURE_FORMATS
    ]


def table_downloads(name: str, frame: Callable[[], pd.DataFrame]) -> list[Download]:
    """CSV and Parquet downloads of one table."""
    return [
        Download(f"dl_{name}_{fmt}", fmt.upper() if fmt == "csv" else "Parquet", f"{name}.{fmt}", MIME[fmt],
                 (lambda fmt=fmt: table_bytes(frame(), fmt)))
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


def zip_everything(sketch: FourierSketch, seqs: SequenceSet, record: dict[str, Any],
                   config: ExportConfig | None = None, motif_search: Any = None) -> bytes:
    """Every table, TF-MoDISco array and figure of :func:`shapzero_core.export.export_all`, the sketch and
    the session's run record (and the Motifs page's TF-MoDISco motifs, if run), as one zip."""
    with _MPL_LOCK, tempfile.TemporaryDirectory() as d:
        out = Path(d) / "shapzero_export"
        sk_path = sketch.save(out / "sketch.npz")
        export_all(sketch, seqs, out, config or ExportConfig(), sketch_source=sk_path, motif_search=motif_search)
        (out / "studio_run.json").write_bytes(json_bytes(record))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for p in sorted(out.rglob("*")):
                if p.is_file():
                    z.write(p, p.relative_to(out.parent))
        return buf.getvalue()
