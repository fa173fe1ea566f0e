"""Models from anywhere: ONNX files, Python callables, external programs and inference servers.

Every adapter is a :class:`ModelFn`: called with an ``int8 (N, n)`` batch of letter codes it returns
``float64 (N,)``, one finite number per sequence. Adapters split large calls into batches
(``batch_size``), check the shape and finiteness of every batch (a :class:`~shapzero_core.errors.ModelError`
names the model, the rows and the problem) and measure their throughput (:meth:`ModelFn.probe_throughput`).

Spec strings (what :func:`load_model` accepts, and what every adapter's ``spec`` attribute holds)
--------------------------------------------------------------------------------------------------
``path/to/model.onnx`` or ``onnx:<path>``
    An ONNX file (:class:`OnnxModel`). The adapter's own ``spec`` is ``onnx:<absolute path>`` plus the
    file's ``sha256`` (see *options*), so a worker refuses a file that changed since it was inspected.
``onnx-b64:<base64>``
    ONNX bytes embedded in the spec. Models loaded from bytes (uploads) get this spec when they are at
    most :data:`EMBED_LIMIT` bytes; larger ones are written once to a content-addressed file
    ``<store>/<sha256>.onnx`` (``$SHAPZERO_MODEL_STORE``, default ``~/.cache/shapzero/models``; kept under
    ``$SHAPZERO_MODEL_STORE_MB``, default 2048, by deleting the least recently used models first) and get an
    ``onnx:`` spec with that ``sha256``. (Workers on other machines need that folder shared, or a model
    under the limit.)
``demo:<name>``
    A demo model of :mod:`shapzero_core.demos` (``guide_rna``, ``repair``, ``cnn``).
``module:function``
    A Python callable imported by name (:class:`CallableModel`). Trusted local use only (API and CLI);
    the app never builds one from an upload.
``cmd:<command line>``
    An external program (:class:`CommandModel`), split with :func:`shlex.split`, run without a shell.
``http://host:port/v2/models/<name>`` (or ``https://``, optionally ``/versions/<v>``)
    An Open Inference Protocol v2 server: KServe, Triton, MLServer (:class:`HttpModel`).

*Options.* A spec may also be a JSON object ``{"model": "<spec>", "<option>": value, ...}``; this is how an
adapter's ``spec`` records the options it was built with (``n``, ``alphabet``, ``layout``, ``output``,
``task``, ``batch_size``, ``allowed_hosts`` and the adapter-specific ones: ``sha256``, ``threads`` (ONNX);
``input`` (callable: ``"codes"`` or ``"strings"``); ``timeout`` (command); ``max_concurrency``, ``retries``,
``timeout``, ``backoff`` (HTTP)) and ``template`` (any model: fixed letters, see :func:`with_template`).
Keyword arguments of :func:`load_model` override options of the spec.

Identity (``identity``, sha256 hex, the key of the sketch's query cache): ONNX = the model bytes and
the options that change predictions (layout, n, alphabet, output, task); callable = ``module:qualname``
and the source of the function and of its module; command = the command line and the content of every
argument that is an existing file (so editing the script changes the identity); HTTP = the URL and the
server's model metadata. A callable whose source cannot be read gets a random identity (``describe()``
says ``identity_stable: False``): give it an ``identity`` attribute to make its cache reusable.

Where things live: :mod:`.base` (the :class:`ModelFn` protocol and the adapters' base class), :mod:`.layout`
(input layouts), one module per adapter (:mod:`.onnx_model`, :mod:`.callable_model`, :mod:`.command_model`,
:mod:`.http_model`), :mod:`.template_model` (:func:`with_template`: fixed letters at some positions) and
:mod:`.spec` (spec strings and :func:`load_model`).
"""

from __future__ import annotations

from .base import ModelFn
from .callable_model import CallableModel
from .command_model import CommandModel
from .http_model import (
    ALLOWED_HOSTS_ENV,
    LOOPBACK_HOSTS,
    HostNotAllowedError,
    HttpModel,
    check_host,
    configured_allowed_hosts,
    parse_server_url,
)
from .layout import LAYOUTS, detect_layout
from .onnx_model import EMBED_LIMIT, MODEL_STORE_ENV, MODEL_STORE_LIMIT_ENV, OnnxModel
from .spec import BROWSER_LIMITS, load_model, load_server_spec, register_scheme
from .template_model import TemplateModel, with_template

__all__ = [
    "ALLOWED_HOSTS_ENV",
    "BROWSER_LIMITS",
    "EMBED_LIMIT",
    "LAYOUTS",
    "LOOPBACK_HOSTS",
    "MODEL_STORE_ENV",
    "MODEL_STORE_LIMIT_ENV",
    "CallableModel",
    "CommandModel",
    "HostNotAllowedError",
    "HttpModel",
    "ModelFn",
    "OnnxModel",
    "TemplateModel",
    "check_host",
    "configured_allowed_hosts",
    "detect_layout",
    "load_model",
    "load_server_spec",
    "parse_server_url",
    "register_scheme",
    "with_template",
]
