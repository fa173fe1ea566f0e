"""Ground-truth SHAP files of the zoo (``bench/zoo_truth/<family>.npz``): format, writing and loading.

File format (``.npz``, loaded with ``allow_pickle=False``): arrays ``X`` int8 (30, n), ``shap`` and
``stderr`` float64 (30, n), ``f_x`` float64 (30,) (the model at X), ``fingerprint_X`` int8 (16, n) and
``fingerprint_y`` float64 (16,), and ``header`` (uint8 bytes of UTF-8 JSON: format, family, seed,
identity, method, walks, calls per sequence, noise floor, seconds, labels of the sequences, versions).

A truth file is *stale* when the current model gives other outputs on the fingerprint sequences, or
other query sequences: :func:`load_truth` then raises :class:`StaleTruthError` naming the file, the
family and the command that rebuilds it.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .base import ZooModel

__all__ = ["TRUTH_DIR", "StaleTruthError", "Truth", "fingerprint_sequences", "load_truth", "save_truth",
           "truth_path"]

TRUTH_DIR = Path(__file__).resolve().parents[2] / "bench" / "zoo_truth"
"""``bench/zoo_truth/`` of the source checkout (the files are committed there)."""

FORMAT = "shapzero-zoo-truth"
FORMAT_VERSION = 1
_FINGERPRINT = 16


class StaleTruthError(ValueError):
    """A truth file that does not belong to the current model (names the file and how to rebuild it)."""


@dataclass(frozen=True)
class Truth:
    """Ground-truth SHAP values of one zoo family's query sequences.

    Attributes
    ----------
    family : str
    seed : int
    identity : str
        The model's identity when the file was written.
    X : numpy.ndarray
        ``int8 (N, n)``: the query sequences (``model.query_sequences(N)``).
    shap, stderr : numpy.ndarray
        ``float64 (N, n)``: SHAP values (uniform background) and their standard errors (0 for exact truth).
    f_x : numpy.ndarray
        ``float64 (N,)``: the model at ``X``.
    method : {"exact", "permutation-mc"}
    calls_per_sequence : int
        Model calls per sequence (0 for exact truth).
    walks : int
        Permutation walks per sequence (0 for exact truth).
    noise_floor : float
        ``||stderr|| / ||shap||``: no estimate can be judged more accurate than this.
    seconds : float
        Time taken to compute it.
    labels : tuple of str
        What each sequence is.
    fingerprint_X, fingerprint_y : numpy.ndarray
        Fixed sequences and the model's outputs on them.
    header : dict
        Everything else in the file (versions, date, description).
    """

    family: str
    seed: int
    identity: str
    X: np.ndarray
    shap: np.ndarray
    stderr: np.ndarray
    f_x: np.ndarray
    method: str
    calls_per_sequence: int
    walks: int
    noise_floor: float
    seconds: float
    labels: tuple[str, ...]
    fingerprint_X: np.ndarray
    fingerprint_y: np.ndarray
    header: dict[str, Any]

    def check(self, model: ZooModel, path: str = "") -> None:
        """Raise :class:`StaleTruthError` unless ``model`` is the model this truth was computed for."""
        where = path or f"the {self.family} truth"
        fix = f"rebuild it with: python bench/make_zoo_truth.py --family {self.family} --force"
        if model.family != self.family or model.seed != self.seed:
            raise StaleTruthError(f"{where} is for {self.family} seed {self.seed}, not {model.family} seed "
                                  f"{model.seed}")
        y = np.asarray(model(self.fingerprint_X), dtype=np.float64)
        scale = max(float(np.abs(self.fingerprint_y).max(initial=0.0)), 1e-300)
        err = float(np.abs(y - self.fingerprint_y).max(initial=0.0))
        if not np.allclose(y, self.fingerprint_y, rtol=1e-5, atol=1e-6 * scale):
            raise StaleTruthError(f"{where} is stale: model {self.family} (seed {self.seed}) now gives other outputs "
                                  f"on the fingerprint sequences (max |diff| {err:.3g}); {fix}")
        X = model.query_sequences(self.X.shape[0])
        if not np.array_equal(X, self.X):
            raise StaleTruthError(f"{where} is stale: model {self.family} (seed {self.seed}) now has other query "
                                  f"sequences; {fix}")


def fingerprint_sequences(model: ZooModel) -> np.ndarray:
    """``int8 (16, n)``: fixed random sequences (seed 20241025) plus, in row 0, the first query sequence."""
    X = np.random.default_rng(20241025).integers(0, model.alphabet.q, size=(_FINGERPRINT, model.n), dtype=np.int8)
    X[0] = model.query_sequences(1)[0]
    return X


def truth_path(family: str, seed: int = 0, directory: str | os.PathLike[str] | None = None) -> Path:
    """``<directory>/<family>.npz`` (seed 0) or ``<family>_seed<seed>.npz``."""
    d = Path(directory) if directory is not None else TRUTH_DIR
    return d / (f"{family}.npz" if seed == 0 else f"{family}_seed{seed}.npz")


def save_truth(path: str | os.PathLike[str], model: ZooModel, X: np.ndarray, shap: np.ndarray,
               stderr: np.ndarray, method: str, *, walks: int = 0, calls_per_sequence: int = 0,
               seconds: float = 0.0, extra: dict[str, Any] | None = None) -> Path:
    """Write a truth file (atomically). ``f_x`` and the fingerprint are computed from ``model``."""
    from .. import __version__

    X = np.asarray(X, dtype=np.int8)
    shap = np.asarray(shap, dtype=np.float64)
    stderr = np.asarray(stderr, dtype=np.float64)
    norm = float(np.linalg.norm(shap))
    floor = float(np.linalg.norm(stderr)) / norm if norm > 0 else 0.0
    fX = fingerprint_sequences(model)
    header = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "family": model.family, "seed": model.seed,
        "identity": model.identity, "n": model.n, "q": model.alphabet.q, "alphabet": model.alphabet.letters,
        "method": method, "walks": int(walks), "calls_per_sequence": int(calls_per_sequence),
        "noise_floor": floor, "seconds": float(seconds), "labels": model.query_labels(X.shape[0]),
        "query_note": model.query_note, "title": model.title, "description": model.description,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"), "shapzero_studio": __version__,
        "numpy": np.__version__, "python": platform.python_version(), **(extra or {}),
    }
    buf = io.BytesIO()
    np.savez_compressed(buf, X=X, shap=shap, stderr=stderr, f_x=np.asarray(model(X), dtype=np.float64),
                        fingerprint_X=fX, fingerprint_y=np.asarray(model(fX), dtype=np.float64),
                        header=np.frombuffer(json.dumps(header, sort_keys=True).encode(), dtype=np.uint8))
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp")
    tmp.write_bytes(buf.getvalue())
    os.replace(tmp, p)
    return p


def _read(path: Path) -> Truth:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no truth file; make it with: python bench/make_zoo_truth.py "
                                f"--family {path.stem.split('_seed')[0]}")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        header = json.loads(bytes(arrays.pop("header")).decode("utf-8"))
    except Exception as e:
        raise ValueError(f"{path}: not a readable truth file ({type(e).__name__}: {e})") from e
    if header.get("format") != FORMAT or int(header.get("format_version", 99)) > FORMAT_VERSION:
        raise ValueError(f"{path}: not a zoo truth file of version <= {FORMAT_VERSION}")
    return Truth(family=header["family"], seed=int(header["seed"]), identity=header["identity"], X=arrays["X"],
                 shap=arrays["shap"], stderr=arrays["stderr"], f_x=arrays["f_x"], method=header["method"],
                 calls_per_sequence=int(header["calls_per_sequence"]), walks=int(header["walks"]),
                 noise_floor=float(header["noise_floor"]), seconds=float(header["seconds"]),
                 labels=tuple(header["labels"]), fingerprint_X=arrays["fingerprint_X"],
                 fingerprint_y=arrays["fingerprint_y"], header=header)


def load_truth(name: str, seed: int = 0, directory: str | os.PathLike[str] | None = None, *,
               check: bool = True, model: ZooModel | None = None) -> Truth:
    """Read ``bench/zoo_truth/<name>.npz``.

    Parameters
    ----------
    name : str
        Family name (:func:`shapzero_core.zoo.list_families`).
    seed : int
    directory : path, optional
        Default: ``bench/zoo_truth`` of the source checkout.
    check : bool
        Verify the file against the current model (fingerprint outputs and query sequences).
    model : ZooModel, optional
        The model to check against (default: ``get_family(name, seed)``).

    Raises
    ------
    FileNotFoundError
        No such file (the message says how to make it).
    StaleTruthError
        The model changed since the file was written.
    """
    p = truth_path(name, seed, directory)
    t = _read(p)
    if check:
        if model is None:
            from . import get_family

            model = get_family(name, seed=seed)
        t.check(model, str(p))
    return t
