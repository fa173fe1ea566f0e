"""ONNX models run with onnxruntime on the CPU (:class:`OnnxModel`): layout detection, output choice,
external data refused, the content-addressed store for large uploaded models."""

from __future__ import annotations

import atexit
import base64
import hashlib
import math
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..alphabet import DNA, Alphabet
from ..errors import ModelError
from .base import (
    _DEFAULT_BATCH,
    _alphabet_for_q,
    _alphabet_token,
    _BaseModel,
    _canon,
    _compose_spec,
    _fit_batch,
    _resolve_alphabet,
    _rows,
    _sha256,
)
from .layout import _encode_input, _input_bytes, _normalize_layout, _shape_text, detect_layout

EMBED_LIMIT = 8 * 1024 * 1024
"""ONNX models loaded from bytes up to this size embed their bytes (base64) in their ``spec``."""

MODEL_STORE_ENV = "SHAPZERO_MODEL_STORE"
MODEL_STORE_LIMIT_ENV = "SHAPZERO_MODEL_STORE_MB"
MODEL_STORE_LIMIT_MB = 2048
"""Default size cap of the model store: when a new model would take it past the cap, the least recently used
models are deleted first (``$SHAPZERO_MODEL_STORE_MB`` changes it)."""


# ============================================================================================ ONNX
_ALLOWED_DOMAINS = {"", "ai.onnx", "ai.onnx.ml", "com.microsoft", "ai.onnx.preview.training"}
_ORT_KIND = {
    "tensor(float)": ("float", np.float32), "tensor(double)": ("float", np.float64),
    "tensor(float16)": ("float", np.float16), "tensor(int64)": ("int", np.int64),
    "tensor(int32)": ("int", np.int32), "tensor(int16)": ("int", np.int16), "tensor(int8)": ("int", np.int8),
    "tensor(uint8)": ("int", np.uint8), "tensor(bool)": ("int", np.bool_), "tensor(string)": ("string", object),
}


def _model_store() -> Path:
    env = os.environ.get(MODEL_STORE_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(base) / "shapzero" / "models"


def _store_limit() -> int:
    raw = os.environ.get(MODEL_STORE_LIMIT_ENV, "").strip()
    try:
        mb = float(raw) if raw else MODEL_STORE_LIMIT_MB
    except ValueError:
        mb = MODEL_STORE_LIMIT_MB
    return int(max(mb, 0) * 2**20)


def _store_model(data: bytes, digest: str) -> Path:
    """Write ``data`` to the content-addressed store (once), mark it as just used, and keep the store under its
    size cap by deleting the least recently used models (never the one just stored) and stale partial writes."""
    store = _model_store()
    store.mkdir(parents=True, exist_ok=True)
    target = store / f"{digest}.onnx"
    if target.is_file():
        os.utime(target)  # most recently used
    else:
        tmp = target.with_name(f".{digest}.{uuid.uuid4().hex}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
    limit = _store_limit()
    now = time.time()
    entries = []
    for p in store.iterdir():
        try:
            st = p.stat()
        except OSError:
            continue
        if p.name.endswith(".tmp") and now - st.st_mtime > 3600:
            p.unlink(missing_ok=True)  # left by a crash
        elif p.suffix == ".onnx" and p != target:
            entries.append((st.st_mtime, st.st_size, p))
    total = len(data) + sum(e[1] for e in entries)
    for _, size, p in sorted(entries):
        if total <= limit:
            break
        try:
            p.unlink()
            total -= size
        except OSError:
            pass
    return target


def _messages(root: Any) -> Iterator[Any]:
    """Every protobuf message inside ``root`` (itself included), depth first, without recursion.

    Walking the message tree generically (rather than the fields we know of) reaches every tensor an ONNX
    file can hold: initializers, sparse initializers (values and indices), ``Constant`` nodes (``value``,
    ``sparse_value``), tensor attributes of every node, subgraphs of ``If`` / ``Loop`` / ``Scan`` at any
    depth, function bodies and their attribute defaults, training graphs, and fields added by later ONNX
    versions.
    """
    from google.protobuf.message import Message

    stack = [root]
    while stack:
        msg = stack.pop()
        yield msg
        for fd, value in msg.ListFields():
            if fd.message_type is None:
                continue
            if isinstance(value, Message):
                stack.append(value)
            else:  # a repeated message field
                stack.extend(value)


def _external_data_refs(proto: Any) -> list[str]:
    """Tensors anywhere in the model whose data would be read from a file (``external_data``), as labels."""
    from onnx import TensorProto

    found: list[str] = []
    for msg in _messages(proto):
        if isinstance(msg, TensorProto) and (msg.data_location == TensorProto.EXTERNAL or len(msg.external_data)):
            loc = next((e.value for e in msg.external_data if e.key == "location"), "?")
            found.append(f"{msg.name or 'unnamed tensor'} (in {loc!r})")
    return found


def _node_domains(proto: Any) -> set[str]:
    """Operator domains of every node, in the main graph, subgraphs and function bodies."""
    from onnx import NodeProto

    return {m.domain for m in _messages(proto) if isinstance(m, NodeProto)}


_NO_EXTERNAL_DIR: str | None = None


def _no_external_data_dir() -> str:
    """An empty private folder: onnxruntime resolves external-data locations against it (instead of the working
    directory), so even a reference our check missed finds no file."""
    global _NO_EXTERNAL_DIR
    if _NO_EXTERNAL_DIR is None or not os.path.isdir(_NO_EXTERNAL_DIR):
        _NO_EXTERNAL_DIR = tempfile.mkdtemp(prefix="shapzero-no-external-data-")
        atexit.register(shutil.rmtree, _NO_EXTERNAL_DIR, True)
    return _NO_EXTERNAL_DIR


def _session_options(threads: int | None) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    if threads is not None:
        opts.intra_op_num_threads = int(threads)
        opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.load_model_format", "ONNX")
    opts.add_session_config_entry("session.model_external_initializers_file_folder_path", _no_external_data_dir())
    return opts


class OnnxModel(_BaseModel):
    """An ONNX model run with onnxruntime on the CPU.

    Parameters
    ----------
    source : bytes, str or path
        The model bytes, or the path of an ``.onnx`` file.
    n : int, optional
        Sequence length (required if the graph leaves it dynamic).
    alphabet : Alphabet or str, optional
        Default: DNA for 4 letters per position, protein for 20.
    layout : str, optional
        Override the detected input layout (one of :data:`LAYOUTS`).
    output : str or int, optional
        Output tensor (name or index). Default: the only output, else the first floating-point one.
    task : int, optional
        Which value per sequence, for outputs with several (e.g. ``1`` for class-1 probabilities of
        shape ``(N, 2)``). Axes after the batch axis are flattened (C order) before indexing.
    batch_size : int, optional
        Sequences per ``session.run`` (default 8192).
    threads : int, optional
        onnxruntime intra-op threads (default: onnxruntime's choice, all cores).
    name : str, optional
        Display name (default: the file name, or the graph name).
    spec : str, optional
        Use this spec instead of the derived one (demo models: ``demo:<name>``).
    sha256 : str, optional
        Expected sha256 of the bytes (specs of path models carry it); a mismatch is an error.

    Notes
    -----
    Refuses models whose weights live in external data files and models using operators outside the
    standard ONNX / onnxruntime domains (custom operators would need native code). Nothing in an ONNX
    file is executed other than its graph of standard operators.
    """

    kind = "onnx"

    def __init__(
        self,
        source: bytes | bytearray | memoryview | str | os.PathLike[str],
        *,
        n: int | None = None,
        alphabet: Alphabet | str | None = None,
        layout: str | None = None,
        output: str | int | None = None,
        task: int | None = None,
        batch_size: int | None = None,
        threads: int | None = None,
        name: str | None = None,
        spec: str | None = None,
        sha256: str | None = None,
    ) -> None:
        import onnx

        path: Path | None = None
        if isinstance(source, bytes | bytearray | memoryview):
            data = bytes(source)
            label = name or "uploaded model"
        else:
            path = Path(source).expanduser()
            label = name or path.name
            if not path.is_file():
                raise FileNotFoundError(f"{path}: no such ONNX file")
            data = path.read_bytes()
        self._data = data
        digest = hashlib.sha256(data).hexdigest()
        if sha256 is not None and sha256 != digest:
            raise ModelError(f"{label}: content changed (sha256 {digest[:12]}… instead of {sha256[:12]}…); "
                             "load the model again")
        if not data:
            raise ModelError(f"{label}: empty file, not an ONNX model")
        try:
            proto = onnx.ModelProto()
            proto.ParseFromString(data)
        except Exception as e:
            hint = "" if path is None or path.suffix == ".onnx" else " (to run a program, use 'cmd:<command line>')"
            raise ModelError(f"{label}: not a valid ONNX model (cannot parse: {e}); the file may be truncated "
                             f"or not an .onnx file{hint}") from None
        if not proto.HasField("graph") or (not proto.graph.node and not proto.graph.output):
            raise ModelError(f"{label}: not a valid ONNX model (no graph); the file may be truncated or not "
                             "an .onnx file")
        ext = _external_data_refs(proto)
        if ext:
            raise ModelError(f"{label}: weights are stored in external data files ({', '.join(ext[:3])}); "
                             "this is not supported: save the model with all weights inside the .onnx file "
                             "(onnx.save_model(m, path, save_as_external_data=False))")
        domains = {o.domain for o in proto.opset_import} | _node_domains(proto)
        bad = sorted(d for d in domains if d not in _ALLOWED_DOMAINS and d not in {f.domain for f in proto.functions})
        if bad:
            raise ModelError(f"{label}: uses operators of the custom domain(s) {', '.join(map(repr, bad))}, which "
                             "would need native code; only standard ONNX / onnxruntime operators are supported")
        self._proto_meta = {
            "ir_version": int(proto.ir_version),
            "opsets": {(o.domain or "ai.onnx"): int(o.version) for o in proto.opset_import},
            "producer": f"{proto.producer_name} {proto.producer_version}".strip(),
            "graph_name": proto.graph.name,
            "doc": proto.doc_string[:500],
        }
        del proto
        import onnxruntime as ort

        try:  # from bytes, with external data resolved against an empty folder: no path of ours is ever read
            self._session = ort.InferenceSession(data, sess_options=_session_options(threads),
                                                 providers=["CPUExecutionProvider"])
        except Exception as e:
            msg = " ".join(str(e).split())
            raise ModelError(f"{label}: onnxruntime cannot load this model: {msg[:600]}") from None
        inputs = self._session.get_inputs()
        if len(inputs) != 1:
            listing = ", ".join(f"{i.name} {i.shape} {i.type}" for i in inputs)
            raise ModelError(f"{label}: the model has {len(inputs)} inputs ({listing}); only models with one "
                             "input (the sequences) are supported")
        inp = inputs[0]
        if inp.type not in _ORT_KIND:
            raise ModelError(f"{label}: input {inp.name!r} has type {inp.type}, which is not supported")
        kind, self._in_dtype = _ORT_KIND[inp.type]
        self._in_name = inp.name
        shape = list(inp.shape)
        if not shape:
            raise ModelError(f"{label}: input {inp.name!r} is a scalar; expected a batch of sequences")
        batch = shape[0] if isinstance(shape[0], int) and shape[0] > 0 else None
        dims = [d if isinstance(d, int) and d > 0 else None for d in shape[1:]]
        alpha = _resolve_alphabet(alphabet)
        self._layout = detect_layout(dims, kind, n=n, alphabet=alpha, layout=layout,
                                     where=f"{label}: input {inp.name!r}")
        if self._layout.layout in ("codes", "strings"):
            alpha = alpha or DNA
        else:
            alpha = _alphabet_for_q(self._layout.q, alpha, f"{label}: input {inp.name!r}")
        self._fixed_batch = batch
        bs = batch or batch_size
        if self._layout.n is not None:
            bs = _fit_batch(_input_bytes(self._layout, self._in_dtype), batch, batch_size, _DEFAULT_BATCH["onnx"],
                            f"{label}: input {inp.name!r}", f"shape {_shape_text(shape[1:])}")
        # outputs
        outs = self._session.get_outputs()
        self._outputs = [{"name": o.name, "type": o.type, "shape": list(o.shape)} for o in outs]
        if output is None:
            tensors = [o for o in outs if o.type.startswith("tensor(")]
            floats = [o for o in tensors if o.type in ("tensor(float)", "tensor(double)", "tensor(float16)")]
            chosen = (tensors if len(tensors) == 1 else floats or tensors or outs)[0]
        elif isinstance(output, int) and not isinstance(output, bool):
            if not 0 <= output < len(outs):
                raise ModelError(f"{label}: output index {output} out of range; the model has {len(outs)} "
                                 f"outputs ({', '.join(o.name for o in outs)})")
            chosen = outs[output]
        else:
            names = [o.name for o in outs]
            if str(output) not in names:
                raise ModelError(f"{label}: no output named {output!r}; outputs: {', '.join(names)}")
            chosen = outs[names.index(str(output))]
        if not chosen.type.startswith("tensor("):
            raise ModelError(f"{label}: output {chosen.name!r} is a {chosen.type}, not a tensor; choose another "
                             f"output ({', '.join(o.name for o in outs)})")
        self._out_name = chosen.name
        per_seq = chosen.shape[1:]
        self._out_width = math.prod(per_seq) if all(isinstance(d, int) and d > 0 for d in per_seq) else None
        if task is not None:
            task = int(task)
            if task < 0 or (self._out_width is not None and task >= self._out_width):
                raise ModelError(f"{label}: task {task} out of range for output {chosen.name!r} of shape "
                                 f"{chosen.shape} (tasks 0..{(self._out_width or 1) - 1})")
        elif self._out_width is not None and self._out_width > 1:
            raise ModelError(f"{label}: output {chosen.name!r} has {self._out_width} values per sequence (shape "
                             f"{chosen.shape}); choose one with task=0..{self._out_width - 1}")
        self._task = task
        super().__init__(name=name or (path.stem if path else (self._proto_meta["graph_name"] or label)),
                         n=self._layout.n, alphabet=alpha, batch_size=bs)
        self._label = label
        options = {"layout": self._layout.layout, "n": self.n, "alphabet": self.alphabet.letters,
                   "q": self._layout.q, "output": self._out_name, "task": self._task}
        self.identity = _sha256("onnx", data, _canon(options))
        self.sha256 = digest
        user_opts = {
            "n": n, "alphabet": None if alphabet is None else _alphabet_token(alpha),
            "layout": _normalize_layout(layout), "output": output, "task": task,
            "batch_size": batch_size, "threads": threads,
        }
        if spec is not None:
            self.spec = _compose_spec(spec, user_opts)
        elif path is not None:
            self.spec = _compose_spec(f"onnx:{path.resolve()}", {**user_opts, "sha256": digest})
        elif len(data) <= EMBED_LIMIT:
            self.spec = _compose_spec("onnx-b64:" + base64.b64encode(data).decode("ascii"), user_opts)
        else:
            target = _store_model(data, digest)
            self.spec = _compose_spec(f"onnx:{target}", {**user_opts, "sha256": digest})

    @property
    def onnx_bytes(self) -> bytes:
        """The model file content."""
        return self._data

    @property
    def layout(self) -> str:
        """Input layout in use (one of :data:`LAYOUTS`)."""
        return self._layout.layout

    def _predict_batch(self, X: np.ndarray, start: int) -> np.ndarray:
        N = X.shape[0]
        pad = 0
        if self._fixed_batch is not None and N != self._fixed_batch:
            pad = self._fixed_batch - N  # the graph fixes the batch size: pad with copies of the last row
            X = np.concatenate([X, np.repeat(X[-1:], pad, axis=0)])
        arr = _encode_input(X, self._layout, self.alphabet, self._in_dtype)
        try:
            (y,) = self._session.run([self._out_name], {self._in_name: arr})
        except Exception as e:
            msg = " ".join(str(e).split())
            raise ModelError(f"model {self.name!r} failed on {_rows(start, start + N)} (input {self._in_name!r} "
                             f"shape {arr.shape}): {msg[:600]}") from None
        y = np.asarray(y)
        if y.ndim == 0 or y.shape[0] != X.shape[0]:
            raise ModelError(f"model {self.name!r} returned output {self._out_name!r} of shape {y.shape} for a "
                             f"batch of {X.shape[0]} sequences ({_rows(start, start + N)})")
        y = y.reshape(y.shape[0], -1)
        if self._task is not None:
            if self._task >= y.shape[1]:
                raise ModelError(f"model {self.name!r}: task {self._task} out of range, output "
                                 f"{self._out_name!r} has {y.shape[1]} values per sequence")
            y = y[:, self._task]
        elif y.shape[1] != 1:
            raise ModelError(f"model {self.name!r}: output {self._out_name!r} has {y.shape[1]} values per "
                             f"sequence; choose one with task=0..{y.shape[1] - 1}")
        else:
            y = y[:, 0]
        return y[:N] if pad else y

    def _info(self) -> dict[str, Any]:
        inp = self._session.get_inputs()[0]
        return {
            "layout": self._layout.layout,
            "layout_source": self._layout.source,
            "layout_note": self._layout.note,
            "inputs": [{"name": inp.name, "type": inp.type, "shape": list(inp.shape)}],
            "outputs": self._outputs,
            "output": self._out_name,
            "task": self._task,
            "bytes": len(self._data),
            "sha256": self.sha256,
            "provider": "CPUExecutionProvider",
            **{k: v for k, v in self._proto_meta.items() if v not in ("", None)},
        }
