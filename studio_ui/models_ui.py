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
