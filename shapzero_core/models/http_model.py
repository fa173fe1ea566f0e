"""Open Inference Protocol v2 servers as models (:class:`HttpModel`: KServe, Triton, MLServer) and the
host allow-list."""

from __future__ import annotations

import concurrent.futures as cf
import http.client
import ipaddress
import json
import math
import os
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from typing import Any, NamedTuple

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

LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
"""The default allow-list for inference servers in the app."""

ALLOWED_HOSTS_ENV = "SHAPZERO_ALLOWED_HOSTS"

_JSON_BYTES_PER_ELEMENT = 24  # one tensor element in a JSON request: a Python number in a list plus its text


# ============================================================================================ HTTP (v2)
class HostNotAllowedError(ModelError):
    """An inference server whose host is not on the allow-list."""


def configured_allowed_hosts() -> tuple[str, ...]:
    """The allow-list of the app (and of ``--allow-host`` in the CLI): loopback plus the comma-separated hosts of
    ``$SHAPZERO_ALLOWED_HOSTS``. Loopback is always allowed; the variable adds hosts, it never removes any."""
    extra = [h.strip().lower() for h in os.environ.get(ALLOWED_HOSTS_ENV, "").split(",") if h.strip()]
    return tuple(dict.fromkeys([*LOOPBACK_HOSTS, *extra]))


_NAME_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)(?:\.(?!-)[a-z0-9-]{1,63}(?<!-))*$")
# what inet_aton reads as an address (every part a number): 0x7f000001, 2130706433, 127.1, 0177.0.0.1
_NUMERIC_RE = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+))*\.?$")
_NETLOC_RE = re.compile(r"^[A-Za-z0-9.\-:\[\]]+$")


class ServerURL(NamedTuple):
    """An inference-server URL parsed the way the HTTP client connects: canonical host, port and path."""

    scheme: str
    host: str  # lower-case name, dotted-quad IPv4, or compressed IPv6 (no brackets)
    port: int | None
    path: str

    @property
    def url(self) -> str:
        """The canonical URL (the one requests are sent to)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}{'' if self.port is None else f':{self.port}'}{self.path}"


def parse_server_url(url: str) -> ServerURL:
    """Parse an ``http(s)://host[:port]/path`` URL strictly, so the host checked is the host connected to.

    Refused: user names or passwords (``http://a@b/``, which some clients resolve as one host name), anything
    but letters, digits, ``.``, ``-`` and ``:`` in the host, numeric hosts other than four decimal numbers
    (``0x7f000001``, ``2130706433``, ``127.1``), IPv6 zone ids, host names ending in a dot.

    Raises
    ------
    HostNotAllowedError
        For a URL whose host cannot be checked that way.
    ValueError
        For a URL that is not ``http(s)://host...``.
    """
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an inference server URL: {url!r}; expected http(s)://host:port/v2/models/<name>")
    netloc = parts.netloc
    if "@" in netloc:
        raise HostNotAllowedError(f"inference server URL {url!r} has a user name or password before '@'; these are "
                                  "not allowed (the host would be read differently by the HTTP client)")
    if not _NETLOC_RE.match(netloc):
        raise HostNotAllowedError(f"inference server URL {url!r}: the host may only contain letters, digits, '.', "
                                  "'-' and ':' (and [ ] around an IPv6 address)")
    try:
        port = parts.port
    except ValueError as e:
        raise ValueError(f"inference server URL {url!r}: {e}") from None
    raw = (parts.hostname or "").lower()
    if netloc.startswith("["):
        try:
            host = ipaddress.IPv6Address(raw).compressed
        except ValueError:
            raise HostNotAllowedError(f"inference server URL {url!r}: [{raw}] is not an IPv6 address") from None
    elif _NUMERIC_RE.match(raw):
        try:
            addr = ipaddress.IPv4Address(raw)
        except ValueError:
            addr = None
        if addr is None or str(addr) != raw:
            raise HostNotAllowedError(f"inference server URL {url!r}: write the address {raw!r} as four decimal "
                                      "numbers (e.g. 127.0.0.1)")
        host = raw
    elif _NAME_RE.match(raw):
        host = raw
    else:
        raise HostNotAllowedError(f"inference server URL {url!r}: {raw!r} is not a host name or IP address")
    return ServerURL(parts.scheme, host, port, parts.path.rstrip("/"))


def _canonical_host(host: str) -> str:
    """Allow-list entries and URL hosts in one form: IPs canonical (an IPv4-mapped IPv6 address as its IPv4),
    names lower-case."""
    h = host.strip().lower()
    if h.startswith("[") and h.endswith("]"):
        h = h[1:-1]
    try:
        ip = ipaddress.ip_address(h)
    except ValueError:
        return h
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.compressed


def _is_loopback(host: str) -> bool:
    """Loopback addresses (127.0.0.0/8, ::1, IPv4-mapped 127.x), and ``localhost`` if it resolves only to
    loopback addresses here."""
    h = _canonical_host(host)
    if h == "localhost":
        try:
            infos = socket.getaddrinfo("localhost", None)
        except OSError:
            return False
        return bool(infos) and all(_is_loopback(str(i[4][0]).split("%")[0]) for i in infos)
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def check_host(url: str, allowed_hosts: Iterable[str]) -> str:
    """Return the (canonical) host of ``url`` or raise :class:`HostNotAllowedError` if it is not allowed.

    Loopback (``127.0.0.1``, ``[::1]``, ``localhost`` when it resolves to loopback) is always allowed; other
    hosts must be in ``allowed_hosts`` as written there (case-insensitive, IPv6 with or without brackets, an
    IPv4-mapped IPv6 address counting as its IPv4 address). Names are not resolved: a name that points at an
    allowed address is still refused unless the name itself is listed. The URL is parsed strictly
    (:func:`parse_server_url`): user names, numeric hosts in other notations and odd characters are refused.
    """
    host = parse_server_url(url).host
    if _is_loopback(host):
        return host
    allowed = {_canonical_host(h) for h in allowed_hosts if h and h.strip()}
    if _canonical_host(host) not in allowed:
        shown = ", ".join(sorted(allowed - {"127.0.0.1", "::1", "localhost"})) or "none"
        raise HostNotAllowedError(
            f"inference server host {host!r} is not on the allow-list (loopback, and: {shown}); "
            f"add it to ${ALLOWED_HOSTS_ENV} (comma-separated) to allow it")
    return host


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> None:
        raise urllib.error.HTTPError(req.full_url, code, f"redirect to {newurl} refused", headers, fp)


_V2_KIND = {
    "FP16": ("float", np.float16), "FP32": ("float", np.float32), "FP64": ("float", np.float64),
    "INT8": ("int", np.int8), "INT16": ("int", np.int16), "INT32": ("int", np.int32), "INT64": ("int", np.int64),
    "UINT8": ("int", np.uint8), "UINT16": ("int", np.uint16), "UINT32": ("int", np.uint32),
    "UINT64": ("int", np.uint64), "BOOL": ("int", np.bool_), "BYTES": ("string", object),
}
_URL_RE = re.compile(r"^/v2/models/(?P<name>[^/]+)(?:/versions/(?P<version>[^/]+))?/?$")


class HttpModel(_BaseModel):
    """A model behind an Open Inference Protocol v2 REST endpoint (KServe, Triton, MLServer).

    Parameters
    ----------
    url : str
        ``http(s)://host:port/v2/models/<name>[/versions/<v>]``.
    n, alphabet, layout, output, task, batch_size
        As for :class:`OnnxModel`; the input layout comes from ``GET <url>`` (the model metadata).
    allowed_hosts : iterable of str, optional
        If given, the URL's host must be one of them (the app passes :func:`configured_allowed_hosts`).
    max_concurrency : int
        Requests in flight at once (default 4).
    retries : int
        Extra attempts after a 5xx answer, a timeout or a broken connection (default 3), with
        exponential backoff ``backoff * 2**attempt`` seconds (default 0.2). 4xx answers fail at once.
    timeout : float
        Seconds per request (default 30).
    name : str, optional

    Notes
    -----
    Requests never follow redirects (a redirect could leave the allow-list) and go to loopback
    servers without proxies. Tensors travel as JSON (``data`` lists); string (``BYTES``) inputs receive
    the sequences as letters.
    """

    kind = "http"

    def __init__(
        self,
        url: str,
        *,
        n: int | None = None,
        alphabet: Alphabet | str | None = None,
        layout: str | None = None,
        output: str | int | None = None,
        task: int | None = None,
        batch_size: int | None = None,
        allowed_hosts: Iterable[str] | None = None,
        max_concurrency: int = 4,
        retries: int = 3,
        timeout: float = 30.0,
        backoff: float = 0.2,
        name: str | None = None,
    ) -> None:
        parts = urllib.parse.urlsplit(url.strip())
        m = _URL_RE.match(parts.path)
        if parts.scheme not in ("http", "https") or not parts.hostname or m is None:
            raise ValueError(f"not an inference server model URL: {url!r}; expected "
                             "http(s)://host:port/v2/models/<name> (optionally /versions/<v>)")
        if parts.query or parts.fragment:
            raise ValueError(f"inference server URL {url!r}: remove the '?...' / '#...' part")
        parsed = parse_server_url(url)
        self.url = parsed.url  # requests go to exactly the host that was checked
        self.allowed_hosts = None if allowed_hosts is None else tuple(allowed_hosts)
        if self.allowed_hosts is not None:
            check_host(self.url, self.allowed_hosts)
        self.model_name = urllib.parse.unquote(m["name"])
        self.max_concurrency = int(max_concurrency)
        self.retries = int(retries)
        self.timeout = float(timeout)
        self.backoff = float(backoff)
        if self.max_concurrency < 1 or self.retries < 0 or self.timeout <= 0 or self.backoff < 0:
            raise ValueError("max_concurrency must be >= 1, retries >= 0, timeout > 0 and backoff >= 0")
        handlers: list[Any] = [_NoRedirect()]
        if _is_loopback(parsed.host):
            handlers.append(urllib.request.ProxyHandler({}))
        self._opener = urllib.request.build_opener(*handlers)
        self.requests = 0  # HTTP requests sent (including retries)
        self.retried = 0
        meta = self._json("GET", self.url, None, "reading the model metadata")
        if not isinstance(meta, dict) or not isinstance(meta.get("inputs"), list) or not meta["inputs"]:
            raise ModelError(f"{self.url}: the server's model metadata lists no inputs ({_canon(meta)[:200]})")
        self.metadata = meta
        inputs = meta["inputs"]
        if len(inputs) != 1:
            raise ModelError(f"{self.url}: the model has {len(inputs)} inputs "
                             f"({', '.join(str(i.get('name')) for i in inputs)}); only one input is supported")
        inp = inputs[0]
        dtype = str(inp.get("datatype", "")).upper()
        if dtype not in _V2_KIND:
            raise ModelError(f"{self.url}: input {inp.get('name')!r} has datatype {dtype!r}, which is not supported")
        kind, self._in_dtype = _V2_KIND[dtype]
        self._in_name = str(inp.get("name"))
        self._in_datatype = dtype
        shape = [int(d) for d in inp.get("shape", [])]
        if not shape:
            raise ModelError(f"{self.url}: input {self._in_name!r} has no shape in the metadata")
        dims = [d if d > 0 else None for d in shape[1:]]
        alpha = _resolve_alphabet(alphabet)
        self._layout = detect_layout(dims, kind, n=n, alphabet=alpha, layout=layout,
                                     where=f"{self.url}: input {self._in_name!r}")
        if self._layout.layout in ("codes", "strings"):
            alpha = alpha or DNA
        else:
            alpha = _alphabet_for_q(self._layout.q, alpha, f"{self.url}: input {self._in_name!r}")
        outs = meta.get("outputs") or []
        self._outputs = outs
        if output is None:
            chosen = outs[0] if outs else None
        elif isinstance(output, int) and not isinstance(output, bool):
            if not 0 <= output < len(outs):
                raise ModelError(f"{self.url}: output index {output} out of range ({len(outs)} outputs)")
            chosen = outs[output]
        else:
            chosen = next((o for o in outs if o.get("name") == output), None)
            if chosen is None:
                raise ModelError(f"{self.url}: no output named {output!r}; outputs: "
                                 f"{', '.join(str(o.get('name')) for o in outs)}")
        self._out_name = None if chosen is None else str(chosen.get("name"))
        oshape = [int(d) for d in (chosen or {}).get("shape", [])][1:]
        width = math.prod(oshape) if oshape and all(d > 0 for d in oshape) else (1 if chosen and not oshape else None)
        if task is None and width is not None and width > 1:
            raise ModelError(f"{self.url}: output {self._out_name!r} has {width} values per sequence; choose one "
                             f"with task=0..{width - 1}")
        if task is not None and (task < 0 or (width is not None and task >= width)):
            raise ModelError(f"{self.url}: task {task} out of range for output {self._out_name!r}")
        self._task = task
        bs = batch_size
        if self._layout.n is not None:  # a request carries every element as a JSON number (and a Python object)
            per_seq = _input_bytes(self._layout, self._in_dtype) * (_JSON_BYTES_PER_ELEMENT
                                                                    if self._layout.layout != "strings" else 1)
            bs = _fit_batch(per_seq, None, batch_size, _DEFAULT_BATCH["http"], f"{self.url}: input {self._in_name!r}",
                            f"shape {_shape_text(shape[1:])}")
        super().__init__(name=name or self.model_name, n=self._layout.n, alphabet=alpha, batch_size=bs)
        self.identity = _sha256("http", self.url, _canon(meta), _canon(
            {"layout": self._layout.layout, "n": self.n, "alphabet": alpha.letters, "output": self._out_name,
             "task": task}))
        opts = {"n": n, "alphabet": None if alphabet is None else _alphabet_token(alpha),
                "layout": _normalize_layout(layout), "output": output, "task": task, "batch_size": batch_size,
                "allowed_hosts": None if self.allowed_hosts is None else list(self.allowed_hosts),
                "max_concurrency": None if max_concurrency == 4 else self.max_concurrency,
                "retries": None if retries == 3 else self.retries, "timeout": None if timeout == 30.0 else self.timeout,
                "backoff": None if backoff == 0.2 else self.backoff}
        self.spec = _compose_spec(self.url, opts)
        self._pool: cf.ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    # -- transport ------------------------------------------------------------------------------------
    def _json(self, method: str, url: str, body: bytes | None, what: str, max_bytes: int = 16 << 20) -> Any:
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self.retried += 1
                time.sleep(self.backoff * 2 ** (attempt - 1))
            req = urllib.request.Request(url, data=body, method=method,
                                         headers={"Content-Type": "application/json", "Accept": "application/json"})
            self.requests += 1
            try:
                with self._opener.open(req, timeout=self.timeout) as resp:
                    raw = resp.read(max_bytes + 1)
                if len(raw) > max_bytes:
                    raise ModelError(f"{self.url}: the server's answer to {what} is larger than {max_bytes:,} bytes; "
                                     "that is not an answer to this request")
            except urllib.error.HTTPError as e:
                detail = _error_detail(e)
                if 500 <= e.code < 600 or e.code == 429:
                    last = f"HTTP {e.code}: {detail}"
                    continue
                hint = " (no such model on this server)" if e.code == 404 else ""
                raise ModelError(f"{self.url}: the server refused {what}: HTTP {e.code}{hint}: {detail}") from None
            except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException, OSError) as e:
                reason = getattr(e, "reason", e)
                last = f"{type(reason).__name__}: {reason}" if str(reason) else type(reason).__name__
                continue
            try:
                return json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
                raise ModelError(f"{self.url}: the server answered {what} with invalid JSON ({e}): "
                                 f"{raw[:120]!r}") from None
        raise ModelError(f"{self.url}: {what} failed after {self.retries + 1} attempts (last: {last})")

    def _predict_batch(self, X: np.ndarray, start: int) -> np.ndarray:
        N = X.shape[0]
        arr = _encode_input(X, self._layout, self.alphabet, self._in_dtype)
        data = arr.ravel().tolist()
        req: dict[str, Any] = {"inputs": [{"name": self._in_name, "shape": list(arr.shape),
                                           "datatype": self._in_datatype, "data": data}]}
        if self._out_name is not None:
            req["outputs"] = [{"name": self._out_name}]
        what = f"the request for {_rows(start, start + N)}"
        resp = self._json("POST", self.url + "/infer", json.dumps(req, separators=(",", ":")).encode(), what,
                          max_bytes=(16 << 20) + N * 1024)
        outs = resp.get("outputs") if isinstance(resp, dict) else None
        if not isinstance(outs, list) or not outs:
            raise ModelError(f"{self.url}: the answer to {what} has no outputs ({_canon(resp)[:200]})")
        out = outs[0] if self._out_name is None else next((o for o in outs if o.get("name") == self._out_name), None)
        if out is None:
            raise ModelError(f"{self.url}: the answer to {what} has no output {self._out_name!r}")
        try:
            y = np.asarray(out.get("data"), dtype=np.float64)
            shape = [int(d) for d in out.get("shape", [y.size])]
            y = y.reshape(shape)
        except (TypeError, ValueError) as e:
            raise ModelError(f"{self.url}: output {out.get('name')!r} in the answer to {what} is not a numeric "
                             f"tensor ({e})") from None
        if y.ndim == 0 or y.shape[0] != N:
            raise ModelError(f"model {self.name!r} returned output of shape {tuple(y.shape)} for {N} sequences "
                             f"({_rows(start, start + N)})")
        y = y.reshape(N, -1)
        if self._task is not None:
            if self._task >= y.shape[1]:
                raise ModelError(f"model {self.name!r}: task {self._task} out of range ({y.shape[1]} values)")
            return y[:, self._task]
        return y

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """Predict with up to ``max_concurrency`` requests in flight (see :meth:`_BaseModel.__call__`)."""
        X = self._check_input(X)
        N = X.shape[0]
        out = np.empty(N, dtype=np.float64)
        starts = list(range(0, N, self.batch_size))
        if len(starts) <= 1 or self.max_concurrency == 1:
            for s in starts:
                Xb = X[s : s + self.batch_size]
                out[s : s + Xb.shape[0]] = self._checked(self._predict_batch(Xb, s), Xb, s)
            return out
        with self._pool_lock:
            if self._pool is None:
                self._pool = cf.ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="shapzero-http")
            pool = self._pool
        futs = {pool.submit(self._predict_batch, X[s : s + self.batch_size], s): s for s in starts}
        try:
            for f in cf.as_completed(futs):
                s = futs[f]
                Xb = X[s : s + self.batch_size]
                out[s : s + Xb.shape[0]] = self._checked(f.result(), Xb, s)
        except BaseException:
            for f in futs:
                f.cancel()
            raise
        return out

    def close(self) -> None:
        """Stop the request threads."""
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None

    def _info(self) -> dict[str, Any]:
        return {"layout": self._layout.layout, "layout_source": self._layout.source, "layout_note": self._layout.note,
                "url": self.url, "model_name": self.model_name, "inputs": self.metadata.get("inputs"),
                "outputs": self._outputs, "output": self._out_name, "task": self._task,
                "platform": self.metadata.get("platform"), "versions": self.metadata.get("versions"),
                "max_concurrency": self.max_concurrency, "retries": self.retries, "timeout": self.timeout,
                "allowed_hosts": None if self.allowed_hosts is None else list(self.allowed_hosts)}


def _error_detail(e: urllib.error.HTTPError) -> str:
    try:
        raw = e.read()
    except Exception:
        raw = b""
    try:
        d = json.loads(raw)
        if isinstance(d, dict) and "error" in d:
            return str(d["error"])[:300]
    except (json.JSONDecodeError, UnicodeDecodeError):
        pass
    text = raw.decode("utf-8", errors="replace").strip()
    return (text or str(e.reason))[:300]
