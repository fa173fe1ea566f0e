"""Model spec strings: parsing, composing, and :func:`load_model`, which turns any spec into an adapter."""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..alphabet import Alphabet
from .base import ModelFn, _BaseModel
from .callable_model import CallableModel
from .command_model import CommandModel
from .http_model import HttpModel, check_host
from .onnx_model import OnnxModel
from .template_model import TemplateModel, with_template

_SPEC_OPTIONS = {
    "n", "alphabet", "layout", "output", "task", "batch_size", "allowed_hosts", "sha256", "threads",
    "input", "timeout", "max_concurrency", "retries", "backoff", "name", "template",
}
_CALLABLE_RE = re.compile(r"^[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$")
_ONNX_KEYS = ("n", "alphabet", "layout", "output", "task", "batch_size", "threads", "sha256")


@dataclass(frozen=True)
class _Scheme:
    loader: Callable[..., ModelFn]
    options: tuple[str, ...]
    hint: str


_SCHEMES: dict[str, _Scheme] = {}


def register_scheme(prefix: str, loader: Callable[..., ModelFn], options: Sequence[str] = (), hint: str = "") -> None:
    """Teach :func:`load_model` a spec scheme ``<prefix>:<rest>`` (e.g. ``demo:<name>``).

    Modules that build models on top of the adapters register themselves here (:mod:`shapzero_core.demos`
    registers ``demo:``), so this module never imports them.

    Parameters
    ----------
    prefix : str
        Lower-case scheme name, without the colon.
    loader : callable
        ``loader(rest, **options) -> ModelFn``; ``rest`` is the spec after ``<prefix>:``, stripped.
    options : sequence of str
        The spec options (see the package docstring) the loader accepts; others are refused.
    hint : str
        Shown in the error for a spec of unknown form, e.g. ``"'demo:<name>' (guide_rna, repair, cnn)"``.
    """
    _SCHEMES[prefix.lower()] = _Scheme(loader, tuple(options), hint or f"'{prefix}:...'")


def _parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    s = spec.strip()
    if not s.startswith("{"):
        return s, {}
    try:
        d = json.loads(s)
    except json.JSONDecodeError as e:
        raise ValueError(f"model spec looks like JSON but is not valid JSON ({e})") from None
    if not isinstance(d, dict) or not isinstance(d.get("model"), str):
        raise ValueError('a JSON model spec must be an object with a "model" string, e.g. '
                         '{"model": "cmd:python m.py", "timeout": 30}')
    base = d.pop("model")
    unknown = set(d) - _SPEC_OPTIONS
    if unknown:
        raise ValueError(f"unknown option(s) {', '.join(sorted(unknown))} in model spec; "
                         f"known: {', '.join(sorted(_SPEC_OPTIONS))}")
    return base, d


def _compose_options(base: str, opts: dict[str, Any]) -> str:
    """``base`` alone or the JSON spec ``{"model": base, ...opts}``."""
    if not opts:
        return base
    return json.dumps({"model": base, **opts}, sort_keys=True, separators=(",", ":"))


# ============================================================================================ load_model
def load_model(
    spec: Any,
    *,
    n: int | None = None,
    alphabet: Alphabet | str | None = None,
    layout: str | None = None,
    output: str | int | None = None,
    task: int | None = None,
    batch_size: int | None = None,
    allowed_hosts: Iterable[str] | None = None,
    template: str | None = None,
) -> ModelFn:
    """Turn a model spec into a :class:`ModelFn` adapter.

    Parameters
    ----------
    spec : str, bytes, path or callable
        See the module docstring: an ``.onnx`` path, ``onnx:``/``onnx-b64:``, ``demo:<name>``,
        ``module:function``, ``cmd:<command line>``, ``http(s)://host:port/v2/models/<name>``, a JSON
        object ``{"model": ..., options}``, ONNX bytes, or a callable (wrapped in :class:`CallableModel`).
    n : int, optional
        Sequence length (required where the model cannot tell: callables, commands, dynamic shapes).
    alphabet : Alphabet or str, optional
        ``"dna"``, ``"rna"``, ``"protein"``, a string of letters, or an :class:`Alphabet`.
    layout : str, optional
        Input layout override for ONNX / HTTP models (one of :data:`LAYOUTS`).
    output : str or int, optional
        Output tensor of ONNX / HTTP models.
    task : int, optional
        Index of the value per sequence, for multi-output tensors.
    batch_size : int, optional
        Sequences per model call / line batch / request.
    allowed_hosts : iterable of str, optional
        If given, inference servers must be on one of these hosts (others raise
        :class:`HostNotAllowedError`); ``None`` (API and CLI) allows any host.
    template : str, optional
        Fixed letters (``"....GG..."``, see :func:`~shapzero_core.models.with_template`): the returned model
        takes the free positions only. Also a spec option (``{"model": ..., "template": "....GG..."}``).

    Returns
    -------
    ModelFn

    Raises
    ------
    ValueError
        For a spec of unknown form or bad options.
    FileNotFoundError
        For a path that does not exist.
    ModelError
        If the model cannot be loaded (invalid ONNX, import error, unreachable server...).
    """
    if template is not None or (isinstance(spec, str) and '"template"' in spec):
        base_spec, opts0 = (_parse_spec(spec) if isinstance(spec, str) else (spec, {}))
        tpl = template if template is not None else opts0.pop("template", None)
        if isinstance(spec, str):
            opts0.pop("template", None)
            base_spec = _compose_options(base_spec, opts0)
        base = load_model(base_spec, n=n, alphabet=alphabet, layout=layout, output=output, task=task,
                          batch_size=batch_size, allowed_hosts=allowed_hosts)
        return with_template(base, tpl)
    common = {"n": n, "alphabet": alphabet, "batch_size": batch_size}
    if isinstance(spec, TemplateModel) and all(v is None for v in (n, alphabet, layout, output, task, batch_size)):
        return spec
    if isinstance(spec, _BaseModel) and all(v is None for v in (n, alphabet, layout, output, task, batch_size)):
        return spec
    if isinstance(spec, bytes | bytearray | memoryview):
        return OnnxModel(spec, layout=layout, output=output, task=task, **common)
    if isinstance(spec, os.PathLike):
        return OnnxModel(spec, layout=layout, output=output, task=task, **common)
    if not isinstance(spec, str):
        if callable(spec):
            return CallableModel(spec, **common)
        raise TypeError(f"a model spec must be a string, bytes, a path or a callable, got {type(spec).__name__}")
    base, opts = _parse_spec(spec)
    given = {"n": n, "alphabet": alphabet, "layout": layout, "output": output, "task": task,
             "batch_size": batch_size, "allowed_hosts": None if allowed_hosts is None else list(allowed_hosts)}
    opts.update({k: v for k, v in given.items() if v is not None})
    if not base:
        raise ValueError("empty model spec")
    low = base.lower()

    def pick(*keys: str) -> dict[str, Any]:
        unused = set(opts) - set(keys) - {"name"}
        if unused:
            raise ValueError(f"option(s) {', '.join(sorted(unused))} do not apply to the model {base[:80]!r}")
        return {k: opts[k] for k in (*keys, "name") if k in opts}

    onnx_keys = _ONNX_KEYS
    scheme = _SCHEMES.get(low.split(":", 1)[0]) if ":" in low else None
    if scheme is not None:
        return scheme.loader(base.split(":", 1)[1].strip(), **pick(*scheme.options))
    if low.startswith("onnx-b64:"):
        try:
            data = base64.b64decode(base[9:], validate=True)
        except (binascii.Error, ValueError) as e:
            raise ValueError(f"onnx-b64: spec is not valid base64 ({e})") from None
        return OnnxModel(data, **pick(*onnx_keys))
    if low.startswith("onnx:"):
        return OnnxModel(base[5:].strip(), **pick(*onnx_keys))
    if low.startswith("cmd:"):
        return CommandModel(base[4:].strip(), **pick("n", "alphabet", "batch_size", "timeout"))
    if low.startswith(("http://", "https://")):
        return HttpModel(base, **pick("n", "alphabet", "layout", "output", "task", "batch_size", "allowed_hosts",
                                      "max_concurrency", "retries", "timeout", "backoff"))
    if low.endswith(".onnx") or (Path(base).expanduser().is_file() and not _CALLABLE_RE.match(base)):
        return OnnxModel(base, **pick(*onnx_keys))
    if _CALLABLE_RE.match(base):
        return CallableModel.from_import(base, **pick("n", "alphabet", "input", "batch_size"))
    raise ValueError(
        f"cannot tell what kind of model {base[:120]!r} is: expected a path to an .onnx file, "
        + "".join(f"{sc.hint}, " for sc in _SCHEMES.values())
        + "'module:function', 'cmd:<command line>' or 'http(s)://host:port/v2/models/<name>'")


# ============================================================================================ from a browser
BROWSER_LIMITS: dict[str, tuple[float, float]] = {
    "timeout": (0.1, 120.0), "retries": (0, 5), "max_concurrency": (1, 16), "backoff": (0.0, 5.0),
    "batch_size": (1, 65_536), "n": (1, 100_000), "task": (0, 1_000_000),
}
"""Ranges of the options a JSON spec typed into the app may set (:func:`load_server_spec`)."""

_BROWSER_OPTIONS = {"alphabet", "layout", "output", *BROWSER_LIMITS}


def load_server_spec(
    text: str,
    *,
    allowed_hosts: Iterable[str],
    n: int | None = None,
    alphabet: Alphabet | str | None = None,
    output: str | int | None = None,
    limits: dict[str, tuple[float, float]] | None = None,
) -> HttpModel:
    """An inference server from text a browser sent: a URL, or a JSON spec with options in safe ranges.

    Unlike :func:`load_model`, only ``http(s)://`` models are accepted (never a program, a Python callable or a
    file path), the host must pass :func:`check_host` with ``allowed_hosts``, the JSON may not set its own
    ``allowed_hosts``, and numeric options must lie in ``limits`` (default :data:`BROWSER_LIMITS`: timeout at
    most 120 s, at most 5 retries, 16 requests in flight, ...).

    Raises
    ------
    ValueError
        For another kind of spec or an option out of range.
    HostNotAllowedError
        For a host that is not allowed.
    ModelError
        If the server cannot be reached or its metadata is unusable.
    """
    limits = BROWSER_LIMITS if limits is None else limits
    if not isinstance(text, str) or len(text) > 10_000:
        raise ValueError("an inference server URL (or JSON spec) of at most 10,000 characters is expected")
    base, opts = _parse_spec(text)
    if not base.lower().startswith(("http://", "https://")):
        raise ValueError(f"only inference server URLs (http(s)://host:port/v2/models/<name>) can be used here, not "
                         f"{base[:60]!r}")
    unknown = set(opts) - _BROWSER_OPTIONS
    if unknown:
        raise ValueError(f"option(s) {', '.join(sorted(unknown))} cannot be set here; allowed: "
                         f"{', '.join(sorted(_BROWSER_OPTIONS))}")
    given = {"n": n, "alphabet": alphabet, "output": output}
    opts.update({k: v for k, v in given.items() if v is not None})
    for key, (lo, hi) in limits.items():
        if key in opts:
            v = opts[key]
            if isinstance(v, bool) or not isinstance(v, int | float) or not lo <= v <= hi:
                raise ValueError(f"option {key} must be a number from {lo:g} to {hi:g}, got {v!r}")
            if isinstance(lo, int) and isinstance(hi, int) and not float(v).is_integer():
                raise ValueError(f"option {key} must be a whole number, got {v!r}")
    check_host(base, allowed_hosts)
    return HttpModel(base, allowed_hosts=list(allowed_hosts), **opts)
