"""The on-disk query cache of a sketch: one ``.npy`` file per finished block, written atomically.

Layout: ``<root>/<model id[:16]>-<plan hash[:16]>/`` holds ``manifest.json`` and one file per finished
block (``c{c}_p{p}.npy`` for the training blocks, ``test.npy`` for the held-out set), each a ``float64``
vector of the block's model values in query order. The folder name keys the cache by model *and* plan,
so a different model or plan never reuses it. The manifest repeats both (checked on open) and records
every finished block with its length and sha256: a block whose file is missing, unreadable, of the wrong
length, non-finite or whose checksum differs is reported and queried again, never used.

A block file is written to a temporary name and renamed, then the manifest is rewritten the same way, so a
crash at any moment leaves only whole, verified blocks behind. Both happen under a lock on ``.lock`` in the
folder, and the manifest on disk is merged before it is rewritten, so sketches of the same model and plan
running at once into one cache folder keep each other's blocks. A manifest that cannot be read or has the wrong
structure is reported and every block is queried again.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SketchError
from ..fourier import _atomic_write
from .plan import SketchPlan

__all__ = ["CACHE_FORMAT", "QueryCache"]

CACHE_FORMAT = "shapzero-query-cache"
CACHE_VERSION = 1


def _valid_manifest(m: Any) -> bool:
    """The manifest has the structure this module writes (types included)."""
    if not isinstance(m, dict) or m.get("format") != CACHE_FORMAT or not isinstance(m.get("blocks", {}), dict):
        return False
    if not all(isinstance(m.get(k), str) for k in ("plan_hash", "model_identity")):
        return False
    return all(isinstance(k, str) and isinstance(v, dict) and isinstance(v.get("sha256"), str)
               and isinstance(v.get("length"), int) for k, v in m["blocks"].items())


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (created if missing) between processes (no-op where flock is missing)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(path, "a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


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
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(dir=self.dir, prefix=".write-test.")  # fail now, not after a block
            os.close(fd)
            os.unlink(probe)
        except OSError as e:
            if isinstance(e, FileExistsError | NotADirectoryError):
                block = self.dir
                while not block.exists() and block != block.parent:
                    block = block.parent
                what = f"{block} is a file, not a folder"
            else:
                what = f"{e.strerror or type(e).__name__}: {e.filename or self.dir}"
            raise SketchError(f"{root}: cannot keep the query cache there ({what}); choose another cache folder "
                              "(CLI: --cache DIR) or run without a cache (--no-cache)") from None
        self.manifest_path = self.dir / "manifest.json"
        self._lock_path = self.dir / ".lock"
        self.problems: list[str] = []  # blocks found damaged and re-queried (for the report)
        if self.manifest_path.exists():
            try:
                m = json.loads(self.manifest_path.read_text("utf-8"))
                if not _valid_manifest(m):
                    raise ValueError("not a query-cache manifest, or damaged")
            except (OSError, ValueError, RecursionError) as e:
                self.problems.append(f"query cache manifest unreadable ({e}); every block is queried again")
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
        return self.plan.block_length(name)

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
        """Store a finished block (atomically), then record it in the manifest (atomically), under the folder's
        lock, merging blocks another process recorded meanwhile."""
        data = _npy_bytes(values)
        entry = {"length": int(values.shape[0]), "sha256": hashlib.sha256(data).hexdigest()}
        try:
            with _locked(self._lock_path):
                _atomic_write(self.dir / f"{name}.npy", data)
                try:
                    disk = json.loads(self.manifest_path.read_text("utf-8"))
                except (OSError, ValueError, RecursionError):
                    disk = None
                if _valid_manifest(disk) and disk["plan_hash"] == self.plan.hash and (
                        disk["model_identity"] == self.model_identity):
                    for k, v in disk["blocks"].items():
                        self.manifest["blocks"].setdefault(k, v)
                self.manifest["blocks"][name] = entry
                _atomic_write(self.manifest_path, json.dumps(self.manifest, indent=1, sort_keys=True).encode())
        except OSError as e:
            raise SketchError(f"{self.dir}: cannot write the query cache ({e.strerror or e}); free some space or "
                              "choose another cache folder") from e

    def finished(self) -> list[str]:
        """Names of the blocks recorded as finished (not yet verified)."""
        return sorted(self.manifest["blocks"])
