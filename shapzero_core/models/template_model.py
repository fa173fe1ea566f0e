"""A model with fixed letters at some positions (:func:`with_template`): it takes the free positions only and
fills in the template's letters before calling the underlying model, so the model never sees another letter at
a fixed position."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from ..alphabet import check_codes
from ..template import Template, parse_template
from .base import ModelFn, _sha256


class TemplateModel:
    """``base`` restricted to the free positions of ``template``.

    Parameters
    ----------
    base : ModelFn
        A model of the full length ``template.n``.
    template : Template

    Attributes
    ----------
    n : int
        Number of free positions (what the sketch sees).
    alphabet, name
        Those of ``base``.
    template : Template
    base : ModelFn
    identity : str
        sha256 of the base model's identity and the template (stable when the base's is).
    spec : str
        ``{"model": <base spec>, ..., "template": "<pattern>"}``: :func:`load_model` rebuilds this model (Dask
        workers, CLI). Empty when the base model has no spec.
    """

    kind = "template"

    def __init__(self, base: ModelFn, template: Template) -> None:
        if isinstance(base, TemplateModel):
            raise ValueError("this model already has a template; apply one template to the full-length model")
        n_base = getattr(base, "n", None)
        if n_base is None:
            raise ValueError(f"model {getattr(base, 'name', base)!r} does not state its sequence length; a template "
                             "needs it (pass n= when loading the model)")
        if template.n != int(n_base):
            raise ValueError(f"the template has {template.n} positions but the model takes sequences of length "
                             f"{n_base}: give one character per position ('.' free, a letter fixed)")
        if template.alphabet.letters != base.alphabet.letters:
            raise ValueError(f"the template uses the alphabet {template.alphabet.letters} but the model "
                             f"{base.alphabet.letters}")
        self.base = base
        self.template = template
        self.n = template.num_free
        self.alphabet = base.alphabet
        self.name = f"{getattr(base, 'name', 'model')} [template {template.pattern}]"
        base_ident = str(getattr(base, "identity", "") or "")
        self.identity = _sha256("template", base_ident, template.pattern) if base_ident else ""
        self.spec = _template_spec(str(getattr(base, "spec", "") or ""), template.pattern)
        self.batch_size = getattr(base, "batch_size", None)
        self.last_throughput: float | None = None

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """``int8 (N, m)`` free-position codes -> ``float64 (N,)`` predictions of the full sequences."""
        try:
            X = check_codes(X, self.alphabet.q, self.n, name="X")
        except ValueError as e:
            raise ValueError(f"model {self.name!r}: {e} (the free positions of the template)") from None
        return self.base(self.template.expand(X))

    def probe_throughput(self, num: int | None = None, seconds: float = 1.0, seed: int = 0) -> float:
        """The base model's measured sequences per second (filling in the template costs nothing)."""
        rate = float(self.base.probe_throughput(num=num, seconds=seconds, seed=seed))
        self.last_throughput = rate
        return rate

    def describe(self) -> dict[str, Any]:
        """The base model's description, with ``template``, the free length ``n`` and the full length."""
        d = dict(self.base.describe())
        d.update({"kind": f"{d.get('kind', 'model')}+template", "name": self.name, "n": self.n,
                  "full_length": self.template.n, "template": self.template.pattern,
                  "fixed": {str(p): let for p, let in self.template.fixed_letters().items()},
                  "identity": self.identity, "portable": bool(self.spec),
                  "spec": self.spec if len(self.spec) <= 300 else self.spec[:300] + "…"})
        if self.last_throughput is not None:
            d["throughput"] = self.last_throughput
        return d

    def close(self) -> None:
        """Close the base model."""
        close = getattr(self.base, "close", None)
        if callable(close):
            close()

    def __reduce__(self) -> tuple[Any, ...]:
        if not self.spec:
            raise TypeError(f"model {self.name!r} has no spec and cannot be sent to another process")
        from .spec import load_model

        return (load_model, (self.spec,))

    def __repr__(self) -> str:
        return f"TemplateModel({self.base!r}, template={self.template.pattern!r})"


def _template_spec(base_spec: str, pattern: str) -> str:
    if not base_spec:
        return ""
    s = base_spec.strip()
    if s.startswith("{"):
        d = json.loads(s)
    else:
        d = {"model": s}
    d["template"] = pattern
    return json.dumps(d, sort_keys=True, separators=(",", ":"))


def with_template(model: ModelFn, template: Template | str | None) -> ModelFn:
    """The model over the free positions of ``template`` only.

    Parameters
    ----------
    model : ModelFn
        A model of full length ``n`` (e.g. from :func:`~shapzero_core.models.load_model`).
    template : Template or str
        ``n`` characters: a letter where the position is fixed, ``.`` where it is free (e.g.
        ``"." * 25 + "GG" + "..."``). ``None``, ``""`` or an all-``.`` template return ``model`` unchanged.

    Returns
    -------
    ModelFn
        A :class:`TemplateModel`: ``n`` = number of free positions; called with ``int8 (N, m)`` codes, it calls
        ``model`` on the full sequences with the template's letters at the fixed positions. Sketching it
        records the template in the sketch header, so explanations, tables and logos speak full positions.

    Raises
    ------
    ValueError
        If the template's length or alphabet does not fit the model, or a character is neither ``.`` nor a
        letter of the alphabet.
    """
    tpl = parse_template(template, model.alphabet, n=getattr(model, "n", None))
    if tpl is None:
        return model
    return TemplateModel(model, tpl)
