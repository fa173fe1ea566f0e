"""Python callables as models (:class:`CallableModel`): imported by ``module:function`` (trusted local use
only, never from the browser) or passed directly; identity from the source code."""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import importlib.util
import inspect
import os
import re
import sys
import threading
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np

from ..alphabet import DNA, Alphabet
from ..errors import ModelError
from .base import _alphabet_token, _BaseModel, _compose_spec, _resolve_alphabet, _rows, _sha256


# ============================================================================================ callables
def _source_hash(fn: Any) -> tuple[str | None, bool]:
    """sha256 over a plain function's source, its module's source and simple closure values.

    ``(None, False)`` when that does not pin the function down (callable instances, bound methods,
    closures over objects, source not available).
    """
    parts: list[str] = []
    if not (inspect.isfunction(fn) or inspect.isbuiltin(fn)):
        return None, False  # instances and bound methods carry state their source does not show
    target = fn
    try:
        parts.append(inspect.getsource(target))
    except (OSError, TypeError):
        return None, False
    mod = inspect.getmodule(target)
    if mod is not None:
        try:
            parts.append(inspect.getsource(mod))
        except (OSError, TypeError):
            pass
    # values captured by a closure (numbers, strings, arrays) are part of the function
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            v = cell.cell_contents
        except ValueError:
            continue
        if isinstance(v, np.ndarray):
            parts.append(hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest() + str(v.dtype) + str(v.shape))
        elif isinstance(v, int | float | str | bytes | bool | tuple | type(None)):
            parts.append(repr(v))
        elif callable(v):
            h, ok = _source_hash(v)
            if not ok:
                return None, False
            parts.append(h or "")
        else:
            return None, False
    return _sha256(*parts), True


def _import_path(fn: Any) -> str | None:
    """``module:qualname`` if importing it gives back the same object."""
    mod = getattr(fn, "__module__", None)
    qual = getattr(fn, "__qualname__", None)
    if not mod or not qual or mod == "__main__" or "<" in qual:
        return None
    try:
        obj: Any = importlib.import_module(mod)
        for part in qual.split("."):
            obj = getattr(obj, part)
    except Exception:
        return None
    return f"{mod}:{qual}" if obj is fn else None


def _annotation_kind(fn: Any) -> str | None:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    params = [p for p in sig.parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if not params or params[0].annotation is inspect.Parameter.empty:
        return None
    ann = params[0].annotation
    text = ann if isinstance(ann, str) else getattr(ann, "__name__", "") + " " + repr(ann)
    if re.search(r"\bstr\b", text):
        return "strings"
    if re.search(r"ndarray|NDArray|ArrayLike|\bArray\b", text):
        return "codes"
    return None


def _import_module(name: str) -> Any:
    """``importlib.import_module(name)``, falling back to the current directory: ``my_model`` finds
    ``./my_model.py`` and ``examples.my_model`` finds ``./examples/my_model.py`` even when the working directory
    is not on ``sys.path`` (as in the ``shapzero`` console script), without changing ``sys.path``. Only a
    top-level name that is found nowhere else is looked up there (an installed package is never shadowed)."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        top = name.split(".", 1)[0]
        if e.name != top:
            raise  # a submodule of an installed package, or something the module imports, is missing
        spec = importlib.machinery.PathFinder.find_spec(top, [os.getcwd()])
        if spec is None:
            raise
        module = importlib.util.module_from_spec(spec)
        sys.modules[top] = module
        try:
            if spec.loader is not None:
                spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(top, None)
            raise
        return importlib.import_module(name)  # submodules are found through the package's own __path__


class CallableModel(_BaseModel):
    """A Python function (or callable object) as a model. Trusted local use only.

    Parameters
    ----------
    fn : callable
        Takes a batch and returns one number per sequence.
    n : int, optional
        Sequence length (default: ``fn.n`` if present).
    alphabet : Alphabet or str, optional
        Default: ``fn.alphabet`` if present, else DNA.
    input : {"codes", "strings"}, optional
        What ``fn`` takes: ``int8 (N, n)`` codes or a list of N strings. If omitted: the
        ``input_kind`` attribute of ``fn``; else the annotation of its first parameter (``str`` in it ->
        strings; ``ndarray`` -> codes); else a probe on the first call: codes are tried first, and if
        ``fn`` raises on them, strings. (A function that accepts both, like ``len``, gets codes.)
    batch_size : int, optional
        Sequences per call of ``fn`` (default 8192).
    name, spec : str, optional
        Display name; spec (default: ``module:qualname`` when importable, else empty).
    """

    kind = "callable"

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        n: int | None = None,
        alphabet: Alphabet | str | None = None,
        input: str | None = None,
        batch_size: int | None = None,
        name: str | None = None,
        spec: str | None = None,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"not callable: {fn!r}")
        self._fn = fn
        fn_n = getattr(fn, "n", None)
        fn_alpha = getattr(fn, "alphabet", None)
        alpha = _resolve_alphabet(alphabet) or (fn_alpha if isinstance(fn_alpha, Alphabet) else None) or DNA
        if n is None and isinstance(fn_n, int):
            n = fn_n
        if input is not None and input not in ("codes", "strings"):
            raise ValueError(f"input must be 'codes' or 'strings', got {input!r}")
        attr_kind = getattr(fn, "input_kind", None)
        self._input = input or (attr_kind if attr_kind in ("codes", "strings") else None) or _annotation_kind(fn)
        self._input_source = "given" if input else ("attribute/annotation" if self._input else "probe")
        label = getattr(fn, "__qualname__", None) or type(fn).__name__
        super().__init__(name=name or getattr(fn, "name", None) or label, n=n, alphabet=alpha, batch_size=batch_size)
        own = getattr(fn, "identity", None)
        src, stable = _source_hash(fn)
        where = _import_path(fn)
        if isinstance(own, str) and own:
            self.identity = _sha256("callable-identity", own, alpha.letters, str(n))
            stable = True
        elif stable:
            self.identity = _sha256("callable", where or label, src or "", alpha.letters, str(n))
        else:
            self.identity = _sha256("callable-unstable", uuid.uuid4().hex)
        self._stable = stable
        opts = {"n": n, "alphabet": None if alphabet is None else _alphabet_token(alpha), "input": input,
                "batch_size": batch_size}
        base = spec if spec is not None else where
        self.spec = _compose_spec(base, opts) if base else ""
        self._lock = threading.Lock()

    @classmethod
    def from_import(cls, target: str, **kwargs: Any) -> CallableModel:
        """Import ``module:function`` (dotted attribute paths allowed) and wrap it."""
        mod_name, _, attr = target.partition(":")
        try:
            mod = _import_module(mod_name)
        except Exception as e:
            raise ModelError(f"cannot import module {mod_name!r} for model {target!r}: {type(e).__name__}: {e} "
                             "(the module must be installed, on PYTHONPATH, or a .py file in the current "
                             "directory)") from e
        obj: Any = mod
        for part in attr.split("."):
            if not hasattr(obj, part):
                raise ModelError(f"module {mod_name!r} has no attribute {attr!r} (model {target!r})")
            obj = getattr(obj, part)
        if not callable(obj):
            raise ModelError(f"{target!r} is a {type(obj).__name__}, not a callable")
        return cls(obj, spec=target, name=kwargs.pop("name", None) or attr, **kwargs)

    def _call(self, Xb: np.ndarray, kind: str) -> Any:
        arg = self.alphabet.decode(Xb) if kind == "strings" else Xb
        return self._fn(arg)

    def _predict_batch(self, X: np.ndarray, start: int) -> np.ndarray:
        kind = self._input
        if kind is None:
            with self._lock:
                if self._input is None:
                    self._input = self._probe(X[: min(4, X.shape[0])], start)
                kind = self._input
        try:
            return self._call(X, kind)
        except ModelError:
            raise
        except Exception as e:
            raise ModelError(f"model {self.name!r} raised {type(e).__name__} on {_rows(start, start + X.shape[0])}"
                             f": {e}") from e

    def _probe(self, X: np.ndarray, start: int) -> str:
        errors = []
        for kind in ("codes", "strings"):
            try:
                self._checked(self._call(X, kind), X, start)
                return kind
            except Exception as e:
                errors.append(f"as {kind}: {type(e).__name__}: {e}")
        raise ModelError(f"model {self.name!r} fails on both integer codes and strings ({'; '.join(errors)}); "
                         "pass input='codes' or input='strings' to see the full error")

    def _info(self) -> dict[str, Any]:
        return {"layout": self._input or "not yet probed", "input": self._input, "input_source": self._input_source,
                "identity_stable": self._stable, "callable": _import_path(self._fn) or repr(self._fn)[:200]}
