"""Model loading for the Model page: demo models, ONNX uploads (bytes, run by ONNX Runtime, never executed
as Python), and inference servers on an allow-list; measured throughput kept per model identity."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import streamlit as st

ALLOWED_HOSTS_ENV = "SHAPZERO_ALLOWED_HOSTS"
SERVERS_ENV = "SHAPZERO_INFERENCE_SERVERS"
MAX_ONNX_MB = 200
_THROUGHPUT = "sz_throughput"


def allowed_hosts() -> list[str]:
    """Hosts an inference server may be on: loopback (``localhost``, ``127.0.0.1``, ``::1``), always, plus the
    comma-separated hosts of ``$SHAPZERO_ALLOWED_HOSTS`` (the engine's rule,
    :func:`shapzero_core.models.configured_allowed_hosts`)."""
    return list(_models().configured_allowed_hosts())


def configured_servers() -> list[str]:
    """Inference-server URLs offered in a list: ``$SHAPZERO_INFERENCE_SERVERS`` (comma-separated)."""
    return [u.strip() for u in os.environ.get(SERVERS_ENV, "").split(",") if u.strip()]


def _models() -> Any:
    from shapzero_core import models

    return models


@st.cache_resource(max_entries=8, show_spinner="Loading the ONNX model…")
def onnx_model(digest: str, _data: bytes, n: int | None, alphabet: str | None, layout: str | None,
               output: str | None) -> Any:
    """An uploaded ONNX model (cached by the sha256 of its bytes and the options)."""
    return _models().load_model(_data, n=n, alphabet=alphabet, layout=layout, output=output)


def load_onnx(data: bytes, n: int | None, alphabet: str | None, layout: str | None, output: str | None) -> Any:
    return onnx_model(hashlib.sha256(data).hexdigest(), data, n, alphabet, layout, output)


def load_server(url: str, n: int | None, alphabet: str | None, output: str | None) -> Any:
    """A model behind an Open Inference Protocol v2 endpoint on an allowed host (a URL, or a JSON spec whose
    options stay within :data:`shapzero_core.models.BROWSER_LIMITS`; never a program or a file)."""
    return _models().load_server_spec(url, n=n, alphabet=alphabet, output=output, allowed_hosts=allowed_hosts())


def throughput(model: Any) -> float | None:
    """The measured throughput (sequences/s) of this model in this session, or None."""
    return st.session_state.get(_THROUGHPUT, {}).get(_ident(model))


def measure_throughput(model: Any) -> float:
    """Measure (``model.probe_throughput()``) and remember the model's throughput."""
    rate = float(model.probe_throughput())
    st.session_state.setdefault(_THROUGHPUT, {})[_ident(model)] = rate
    return rate


def _ident(model: Any) -> str:
    return str(getattr(model, "identity", "") or id(model))


def template_form(model: Any, base: Any, tpl: Any) -> None:
    """The Model page's template field: fixed letters at some positions (the sketch then covers the free ones).

    ``model`` is the session's model, ``base`` the full-length model it wraps (the same without a template).
    Applying a template replaces the session's model by ``with_template(base, text)``.
    """
    from shapzero_core.models import with_template

    from . import state

    st.subheader("Fixed positions (template)")
    n = int(base.n)
    st.session_state.setdefault("model_template", tpl.pattern if tpl is not None else "")
    text = st.text_input(
        f"Template: {n} characters, a letter where the position never varies, '.' where it is free",
        key="model_template", placeholder="." * max(n - 5, 0) + "GG" + "." * min(3, n),
        help="E.g. a guide-RNA model whose PAM GG never varies. Only the free positions are sketched and "
             "explained; tables and logos keep every position (fixed ones greyed, SHAP 0). Empty = all free.")
    c1, c2 = st.columns([1, 3], vertical_alignment="center")
    if c1.button("Apply the template", key="model_template_apply"):
        try:
            new = with_template(base, text)
        except ValueError as e:
            st.error(str(e))
        else:
            label = state.model_label().split(" · template")[0]
            t = getattr(new, "template", None)
            state.set_model(new, label + (f" · template {t.pattern}" if t is not None else ""))
            st.rerun()
    if tpl is not None:
        c2.caption(f"Active: `{tpl.pattern}` — {tpl.describe()}. A sketch made now covers the {tpl.num_free} free "
                   "positions and keeps the template in its header.")
    else:
        c2.caption("No template: every position is free.")
