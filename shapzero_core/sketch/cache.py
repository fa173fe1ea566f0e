"""The on-disk query cache of a sketch: one ``.npy`` file per finished block, written atomically.

Layout: ``<root>/<model id[:16]>-<plan hash[:16]>/`` holds ``manifest.json`` and one file per finished
block (``c{c}_p{p}.npy`` for the training blocks, ``test.npy`` for the held-out set), each a ``float64``
vector of the block's model values in query order. The folder name keys the cache by model *and* plan,
so a different model or plan never reuses it. The manifest repeats both (checked on open) and records
every finished block with its length and sha256: a block whose file is missing, unreadable, of the wrong
length, non-finite or whose checksum differs is reported and queried again, never used.

A block file is written to a temporary name and renamed, then the manifest is rewritten the same way, so a
crash at any moment leaves only whole, verified blocks behind.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SketchError
from ..fourier import _atomic_write
from .plan import SketchPlan

__all__ = ["CACHE_FORMAT", "QueryCache"]

CACHE_FORMAT = "shapzero-query-cache"
CACHE_VERSION = 1


def _npy_bytes(values: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(values, dtype=np.float64), allow_pickle=False)
    return buf.getvalue()


class QueryCache:
    """The cache folder of one (model, plan) pair.

    Parameters
    ----------
    root : path
        Cache root; the pair's folder is created inside it.
    plan : SketchPlan
    model_identity : str
        Stable identity of the model (sha256 hex or similar).
    model_name : str
        Shown in the manifest only.
    """

    def __init__(self, root: str | os.PathLike[str], plan: SketchPlan, model_identity: str, model_name: str = ""):
        self.plan = plan
        self.model_identity = model_identity
        safe_id = "".join(ch for ch in model_identity if ch.isalnum())[:16] or "model"
        self.dir = Path(root) / f"{safe_id}-{plan.hash[:16]}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.manifest_path = self.dir / "manifest.json"
        self.problems: list[str] = []  # blocks found damaged and re-queried (for the report)
        if self.manifest_path.exists():
            try:
                m = json.loads(self.manifest_path.read_text("utf-8"))
                if not isinstance(m, dict) or m.get("format") != CACHE_FORMAT:
                    raise ValueError("not a query-cache manifest")
            except (OSError, ValueError) as e:
                self.problems.append(f"manifest unreadable ({e}); every block is queried again")
                m = None
            if m is not None and (m.get("plan_hash") != plan.hash or m.get("model_identity") != model_identity):
                raise SketchError(
                    f"{self.dir}: this query cache belongs to another model or plan "
                    f"(model {m.get('model_identity')!r}, plan {str(m.get('plan_hash'))[:16]}); use another cache folder"
                )
        else:
            m = None
        self.manifest: dict[str, Any] = m or {
            "format": CACHE_FORMAT,
            "format_version": CACHE_VERSION,
            "plan_hash": plan.hash,
            "plan": plan.describe(),
            "model_identity": model_identity,
            "model_name": model_name,
            "blocks": {},
        }
        self.manifest.setdefault("blocks", {})

    def _expected_len(self, name: str) -> int:
        return self.plan.num_test_queries if name == "test" else self.plan.block_size

    def load(self, name: str) -> np.ndarray | None:
        """Values of a finished block, or None if it is not (validly) cached.

        A damaged block (checksum, length, non-finite values, unreadable file) is recorded in
        :attr:`problems` and returns None, so that it is queried again.
        """
        entry = self.manifest["blocks"].get(name)
        path = self.dir / f"{name}.npy"
        if entry is None:
            return None
        try:
            data = path.read_bytes()
        except OSError as e:
            self.problems.append(f"block {name}: file unreadable ({e.__class__.__name__}); querying it again")
            return None
        if hashlib.sha256(data).hexdigest() != entry.get("sha256"):
            self.problems.append(f"block {name}: checksum mismatch (corrupt file); querying it again")
            return None
        try:
            values = np.load(io.BytesIO(data), allow_pickle=False)
        except (ValueError, OSError) as e:
            self.problems.append(f"block {name}: unreadable ({e}); querying it again")
            return None
        if values.dtype != np.float64 or values.shape != (self._expected_len(name),) or not np.all(np.isfinite(values)):
            self.problems.append(f"block {name}: wrong content ({values.dtype}, {values.shape}); querying it again")
            return None
        return values

    def save(self, name: str, values: np.ndarray) -> None:
        """Store a finished block (atomically), then record it in the manifest (atomically)."""
        data = _npy_bytes(values)
        _atomic_write(self.dir / f"{name}.npy", data)
        self.manifest["blocks"][name] = {"length": int(values.shape[0]), "sha256": hashlib.sha256(data).hexdigest()}
        _atomic_write(self.manifest_path, json.dumps(self.manifest, indent=1, sort_keys=True).encode("utf-8"))

    def finished(self) -> list[str]:
        """Names of the blocks recorded as finished (not yet verified)."""
        return sorted(self.manifest["blocks"])
