"""Sketch plans: subsampling matrices, delays, query blocks and the budget rule (method.md §3.1-3.3, §3.10).

A plan is fully determined by ``(q, n, b, C, P, seed, test_size)``: every random choice (the subsampling
matrices ``M_c``, the random offsets ``r_p`` and the held-out test sequences) is drawn from the seed only,
so the same configuration always gives the same queries, and hence the same sketch.

Query layout. For subsampling group ``c`` (``M_c`` in ``Z_q^{n x b}``) and offset ``p`` (``r_p`` in
``Z_q^n``) the *block* ``(c, p)`` holds ``(n + 1) * q^b`` queries::

    x(l, t) = M_c t + d_{p,l}  (mod q),    d_{p,0} = r_p,   d_{p,l} = r_p - e_l  (l = 1..n),

for every ``t`` in ``Z_q^b`` in lexicographic (C) order, ``t_1`` most significant. Row ``l * q^b + t`` of the
flattened block is the query ``x(l, t)``. Training queries: ``C * P * (n + 1) * q^b``; the held-out test set
adds ``test_size`` uniformly random sequences.

Hybrid plans (``method="hybrid"``, :mod:`shapzero_core.sketch.hybrid`) add ``random_queries`` uniformly random
training sequences for the dense low-degree component, in blocks ``r0, r1, ...`` of :data:`RANDOM_BLOCK` rows
(block ``i`` drawn from the seed and ``i`` alone), cached and resumed like the others.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..errors import SketchError

__all__ = [
    "METHODS",
    "PLAN_VERSION",
    "RANDOM_BLOCK",
    "QueryChunk",
    "SketchConfig",
    "SketchPlan",
    "block_sequences",
    "plan_for_budget",
    "plan_sketch",
]

PLAN_VERSION = 1
METHODS = ("qsft", "hybrid")
MIN_RANDOM_QUERIES = 1_000
RANDOM_BLOCK = 65_536  # rows per block of uniformly random training queries (hybrid plans)


@dataclass(frozen=True)
class SketchConfig:
    """Parameters of one sketch.

    Parameters
    ----------
    b : int
        Subsampling dimension: each group has ``q^b`` bins. Needs ``q^b`` well above the number of
        significant coefficients; each +1 multiplies the queries by ``q``.
    num_subsample : int
        ``C``, the number of subsampling matrices (groups). Default 3.
    num_repeat : int
        ``P``, the number of random offsets (repetitions of the delay set; noise robustness). Default 3.
    noise_sd : float or None
        Noise level ``sigma`` of the bin tests (method.md §3.5). ``None`` (default) tunes it on held-out
        sequences.
    seed : int
        Seed of every random choice of the plan. Default 0.
    test_size : int
        Uniformly random held-out sequences queried for tuning and the quality report. Default 10,000.
    refit : bool
        Least-squares refit of the recovered coefficients on all training samples. Default True.
    method : {"qsft", "hybrid"}
        ``"qsft"`` (default): q-SFT peeling alone. ``"hybrid"``: a dense constant + first-order + pairwise
        component fitted on ``random_queries`` uniformly random queries, and q-SFT peeling of what it leaves
        (alternating refit; see :mod:`shapzero_core.sketch.hybrid`). Suits dense low-order models.
    random_queries : int
        Uniformly random training queries of the dense component (hybrid only; 0 for q-SFT).
    """

    b: int
    num_subsample: int = 3
    num_repeat: int = 3
    noise_sd: float | None = None
    seed: int = 0
    test_size: int = 10_000
    refit: bool = True
    method: str = "qsft"
    random_queries: int = 0

    def __post_init__(self) -> None:
        for name in ("b", "num_subsample", "num_repeat"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
                raise ValueError(f"SketchConfig.{name} must be an integer >= 1, got {v!r}")
        if self.noise_sd is not None and not (np.isfinite(self.noise_sd) and self.noise_sd >= 0):
            raise ValueError(f"SketchConfig.noise_sd must be None or a finite number >= 0, got {self.noise_sd!r}")
        if isinstance(self.test_size, bool) or not isinstance(self.test_size, int | np.integer) or self.test_size < 0:
            raise ValueError(f"SketchConfig.test_size must be an integer >= 0, got {self.test_size!r}")
        if not isinstance(self.seed, int | np.integer) or isinstance(self.seed, bool) or self.seed < 0:
            raise ValueError(f"SketchConfig.seed must be an integer >= 0, got {self.seed!r}")
        if self.method not in METHODS:
            raise ValueError(f"SketchConfig.method must be one of {', '.join(METHODS)}, got {self.method!r}")
        rq = self.random_queries
        if isinstance(rq, bool) or not isinstance(rq, int | np.integer) or rq < 0:
            raise ValueError(f"SketchConfig.random_queries must be an integer >= 0, got {rq!r}")
        if self.method == "qsft" and rq:
            raise ValueError("SketchConfig.random_queries is for method='hybrid' only (q-SFT takes no random queries)")
        if self.method == "hybrid" and rq < MIN_RANDOM_QUERIES:
            raise ValueError(f"a hybrid sketch needs random_queries >= {MIN_RANDOM_QUERIES:,}, got {rq!r}")
        object.__setattr__(self, "random_queries", int(rq))
        object.__setattr__(self, "b", int(self.b))
        object.__setattr__(self, "num_subsample", int(self.num_subsample))
        object.__setattr__(self, "num_repeat", int(self.num_repeat))
        object.__setattr__(self, "test_size", int(self.test_size))
        object.__setattr__(self, "seed", int(self.seed))

    def to_dict(self) -> dict[str, object]:
        """JSON-ready parameters."""
        return {
            "b": self.b,
            "num_subsample": self.num_subsample,
            "num_repeat": self.num_repeat,
            "noise_sd": self.noise_sd,
            "seed": self.seed,
            "test_size": self.test_size,
            "refit": self.refit,
            "method": self.method,
            "random_queries": self.random_queries,
        }


def _train_queries(n: int, q: int, b: int, C: int, P: int) -> int:
    return C * P * (n + 1) * q**b


def plan_for_budget(budget: int, n: int, q: int, *, seed: int = 0, test_size: int = 10_000,
                    noise_sd: float | None = None, refit: bool = True, method: str = "qsft",
                    random_fraction: float = 0.5) -> SketchConfig:
    """Choose ``(b, C, P)`` for a budget of training queries (the package's rule, method.md §3.10).

    Rule: start with ``C = P = 3`` and take the largest ``b <= n`` with ``C * P * (n + 1) * q^b <= budget``;
    if even ``b = 1`` does not fit, lower ``P`` then ``C`` (down to 1) until it does. Then increase ``C`` and
    ``P`` alternately (``C`` first) by one while the cost stays within the budget, stopping when neither fits.
    Raising ``b`` is preferred over ``C`` and ``P`` because more bins resolve more coefficients.

    Parameters
    ----------
    budget : int
        Maximum number of *training* queries. The ``test_size`` held-out queries come on top (as in the
        paper and the ``shapzero`` package); the plan states both.
    n, q : int
        Sequence length and alphabet size.
    seed, test_size, noise_sd, refit, method
        Passed to :class:`SketchConfig`.
    random_fraction : float
        Hybrid plans: the q-SFT blocks get ``(1 - random_fraction) * budget`` by the rule above and the
        uniformly random queries of the dense component whatever is left of the budget. Default 0.5.

    Returns
    -------
    SketchConfig

    Raises
    ------
    SketchError
        If the budget is below ``(n + 1) * q``, the smallest possible plan.
    """
    if n < 1 or q < 2:
        raise ValueError(f"need n >= 1 and q >= 2, got n={n}, q={q}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if method == "hybrid":
        if not 0.0 < random_fraction < 1.0:
            raise ValueError(f"random_fraction must be in (0, 1), got {random_fraction!r}")
        total = int(budget)
        try:
            cfg = plan_for_budget(int(total * (1.0 - random_fraction)), n, q, seed=seed, test_size=test_size,
                                  noise_sd=noise_sd, refit=refit)
        except SketchError:
            raise SketchError(
                f"a budget of {total:,} queries is too small for a hybrid sketch of n={n}, q={q}: its q-SFT part "
                f"({1 - random_fraction:.0%}) needs at least {_train_queries(n, q, 1, 1, 1):,}") from None
        rand = total - _train_queries(n, q, cfg.b, cfg.num_subsample, cfg.num_repeat)
        if rand < MIN_RANDOM_QUERIES:
            raise SketchError(f"a budget of {total:,} queries leaves {rand:,} random queries for the dense "
                              f"component of a hybrid sketch (at least {MIN_RANDOM_QUERIES:,})")
        return dataclasses.replace(cfg, method="hybrid", random_queries=rand)
    budget = int(budget)
    C = P = 3
    while _train_queries(n, q, 1, C, P) > budget:
        if P > 1:
            P -= 1
        elif C > 1:
            C -= 1
        else:
            raise SketchError(
                f"a budget of {budget:,} queries is too small: the smallest sketch for n={n}, q={q} needs "
                f"{_train_queries(n, q, 1, 1, 1):,} (b=1, one group, one offset)"
            )
    b = 1
    while b < n and _train_queries(n, q, b + 1, C, P) <= budget:
        b += 1
    grow_c = True  # whose turn it is to grow
    while True:
        tries = ((C + 1, P), (C, P + 1)) if grow_c else ((C, P + 1), (C + 1, P))
        fit = next(((c2, p2) for c2, p2 in tries if _train_queries(n, q, b, c2, p2) <= budget), None)
        if fit is None:
            break
        grow_c = fit[0] == C  # the next turn goes to the other one
        C, P = fit
    return SketchConfig(b=b, num_subsample=C, num_repeat=P, noise_sd=noise_sd, seed=seed,
                        test_size=test_size, refit=refit)


@dataclass(frozen=True)
class QueryChunk:
    """A contiguous piece of one query block (or of the test set): what one executor task evaluates.

    Small and picklable: the sequences are rebuilt from ``M`` and ``offset`` where the task runs.

    Parameters
    ----------
    block : str
        Block name: ``"c{c}_p{p}"`` or ``"test"``.
    start, stop : int
        Rows ``[start, stop)`` of the flattened block.
    q, b : int
    M : numpy.ndarray or None
        ``int8 (n, b)`` subsampling matrix of the block's group (None for the test set).
    offset : numpy.ndarray or None
        ``int8 (n,)`` random offset ``r_p`` (None for the test set).
    X : numpy.ndarray or None
        ``int8 (stop - start, n)`` explicit sequences (test set only).
    """

    block: str
    start: int
    stop: int
    q: int
    b: int
    M: np.ndarray | None = None
    offset: np.ndarray | None = None
    X: np.ndarray | None = None

    def sequences(self) -> np.ndarray:
        """``int8 (stop - start, n)``: the queries of this chunk."""
        if self.X is not None:
            return self.X
        assert self.M is not None and self.offset is not None
        return block_sequences(self.M, self.offset, self.q, self.start, self.stop)


def block_sequences(M: np.ndarray, offset: np.ndarray, q: int, start: int, stop: int) -> np.ndarray:
    """Rows ``[start, stop)`` of a query block (see the module docstring).

    Parameters
    ----------
    M : numpy.ndarray
        ``int (n, b)`` subsampling matrix.
    offset : numpy.ndarray
        ``int (n,)`` random offset ``r_p``.
    q : int
    start, stop : int
        Row range of the flattened ``(n + 1) * q^b`` block.

    Returns
    -------
    numpy.ndarray
        ``int8 (stop - start, n)``.
    """
    b = M.shape[1]
    B = q**b
    rows = np.arange(start, stop, dtype=np.int64)
    lag, t = np.divmod(rows, B)
    digits = (t[:, None] // (q ** np.arange(b - 1, -1, -1, dtype=np.int64))[None, :]) % q  # (R, b)
    X = digits @ M.T.astype(np.int64) + offset.astype(np.int64)[None, :]  # (R, n)
    has_lag = lag > 0
    X[np.flatnonzero(has_lag), lag[has_lag] - 1] -= 1
    return np.mod(X, q).astype(np.int8)


@dataclass(frozen=True)
class SketchPlan:
    """Every query of a sketch, fixed before anything runs.

    Attributes
    ----------
    n, q : int
    config : SketchConfig
    M : numpy.ndarray
        ``int8 (C, n, b)`` subsampling matrices.
    offsets : numpy.ndarray
        ``int8 (P, n)`` random offsets ``r_p``.
    """

    n: int
    q: int
    config: SketchConfig
    M: np.ndarray
    offsets: np.ndarray

    # --------------------------------------------------------------------------------- sizes
    @property
    def b(self) -> int:
        return self.config.b

    @property
    def C(self) -> int:
        return self.config.num_subsample

    @property
    def P(self) -> int:
        return self.config.num_repeat

    @property
    def num_bins(self) -> int:
        """``q^b`` bins per group."""
        return self.q**self.b

    @property
    def block_size(self) -> int:
        """Queries per block: ``(n + 1) * q^b``."""
        return (self.n + 1) * self.num_bins

    @property
    def num_blocks(self) -> int:
        """``C * P`` training blocks (the test set is one more cached block)."""
        return self.C * self.P

    @property
    def num_qsft_queries(self) -> int:
        """``C * P * (n + 1) * q^b``: the queries of the q-SFT blocks."""
        return self.num_blocks * self.block_size

    @property
    def num_random_queries(self) -> int:
        """Uniformly random training queries of a hybrid plan's dense component (0 for q-SFT)."""
        return self.config.random_queries

    @property
    def num_train_queries(self) -> int:
        """Every training query: the q-SFT blocks plus the random ones (hybrid)."""
        return self.num_qsft_queries + self.num_random_queries

    @property
    def num_test_queries(self) -> int:
        return self.config.test_size

    @property
    def num_queries(self) -> int:
        """Training plus held-out test queries."""
        return self.num_train_queries + self.num_test_queries

    @property
    def blocks(self) -> list[tuple[int, int]]:
        """``(c, p)`` of every training block, in query order."""
        return [(c, p) for c in range(self.C) for p in range(self.P)]

    @staticmethod
    def block_name(c: int, p: int) -> str:
        return f"c{c}_p{p}"

    @property
    def random_blocks(self) -> list[str]:
        """Names ``r0, r1, ...`` of the random-query blocks (hybrid; ``RANDOM_BLOCK`` rows, the last fewer)."""
        return [f"r{i}" for i in range(-(-self.num_random_queries // RANDOM_BLOCK))]

    @property
    def block_names(self) -> list[str]:
        """Every cached block, in query order: the q-SFT blocks, the random ones, then ``"test"``."""
        return ([self.block_name(c, p) for c, p in self.blocks] + self.random_blocks
                + (["test"] if self.num_test_queries else []))

    def block_length(self, name: str) -> int:
        """Queries in block ``name`` (one of :attr:`block_names`)."""
        if name == "test":
            return self.num_test_queries
        if name.startswith("r"):
            i = int(name[1:])
            return min(RANDOM_BLOCK, self.num_random_queries - i * RANDOM_BLOCK)
        return self.block_size

    def random_block(self, i: int) -> np.ndarray:
        """``int8 (rows, n)``: the uniformly random queries of block ``r{i}`` (from the seed and ``i``)."""
        rows = self.block_length(f"r{i}")
        return np.random.default_rng([self.config.seed, 3, i]).integers(0, self.q, size=(rows, self.n), dtype=np.int8)

    def random_sequences(self) -> np.ndarray:
        """``int8 (random_queries, n)``: every random query of a hybrid plan, in block order."""
        if not self.num_random_queries:
            return np.zeros((0, self.n), np.int8)
        return np.concatenate([self.random_block(i) for i in range(len(self.random_blocks))])

    @cached_property
    def test_sequences(self) -> np.ndarray:
        """``int8 (test_size, n)`` uniformly random held-out sequences (from the seed)."""
        rng = np.random.default_rng([self.config.seed, 2])
        return rng.integers(0, self.q, size=(self.config.test_size, self.n), dtype=np.int8)

    @cached_property
    def hash(self) -> str:
        """sha256 (hex) of everything that determines the queries (not of noise_sd / refit)."""
        h = hashlib.sha256()
        h.update(json.dumps(self.describe(), sort_keys=True).encode())
        h.update(self.M.tobytes())
        h.update(self.offsets.tobytes())
        h.update(self.test_sequences.tobytes())
        return h.hexdigest()

    def describe(self) -> dict[str, int | str]:
        """The numbers that define the queries (JSON; a hybrid plan also names its method and random queries)."""
        d: dict[str, int | str] = {
            "plan_version": PLAN_VERSION,
            "q": self.q,
            "n": self.n,
            "b": self.b,
            "num_subsample": self.C,
            "num_repeat": self.P,
            "seed": self.config.seed,
            "test_size": self.config.test_size,
            "num_train_queries": self.num_train_queries,
            "num_test_queries": self.num_test_queries,
        }
        if self.config.method != "qsft":  # q-SFT plans keep the description (and hash) they always had
            d.update(method=self.config.method, random_queries=self.num_random_queries)
        return d

    def chunks(self, block: str, batch_size: int) -> list[QueryChunk]:
        """The block cut into executor tasks of at most ``batch_size`` queries."""
        if block == "test" or block.startswith("r"):
            X = self.test_sequences if block == "test" else self.random_block(int(block[1:]))
            return [QueryChunk(block, s, min(s + batch_size, len(X)), self.q, self.b, X=X[s : s + batch_size])
                    for s in range(0, len(X), batch_size)]
        c, p = (int(v[1:]) for v in block.split("_"))
        return [QueryChunk(block, s, min(s + batch_size, self.block_size), self.q, self.b,
                           M=self.M[c], offset=self.offsets[p])
                for s in range(0, self.block_size, batch_size)]

    def block_sequences(self, c: int, p: int) -> np.ndarray:
        """``int8 ((n + 1) * q^b, n)``: every query of block ``(c, p)`` (small plans / tests)."""
        return block_sequences(self.M[c], self.offsets[p], self.q, 0, self.block_size)

    def summary(self) -> str:
        """One line: the plan's size."""
        if self.num_random_queries:
            return (f"hybrid: {self.num_random_queries:,} random + b={self.b}, C={self.C}, P={self.P} q-SFT "
                    f"{self.num_qsft_queries:,} + {self.num_test_queries:,} test = {self.num_queries:,} model queries")
        return (f"b={self.b}, C={self.C}, P={self.P}: {self.num_train_queries:,} training + "
                f"{self.num_test_queries:,} test = {self.num_queries:,} model queries "
                f"({self.num_blocks} blocks of {self.block_size:,})")


def plan_sketch(n: int, q: int, config: SketchConfig) -> SketchPlan:
    """Draw the plan of ``config`` for sequences of length ``n`` over ``q`` letters.

    Parameters
    ----------
    n, q : int
    config : SketchConfig

    Returns
    -------
    SketchPlan
        With ``M`` ``int8 (C, n, b)`` uniform in ``Z_q`` and ``offsets`` ``int8 (P, n)`` uniform in ``Z_q``.
    """
    if not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    if not isinstance(q, int | np.integer) or not 2 <= q <= 127:
        raise ValueError(f"q must be an integer in [2, 127], got {q!r}")
    if config.b > n:
        raise ValueError(f"b={config.b} exceeds the sequence length n={n}")
    if q**config.b > 2**26:
        raise ValueError(f"q^b = {q}^{config.b} bins per group is too large (limit 2^26)")
    rng = np.random.default_rng([config.seed, 1])
    M = rng.integers(0, q, size=(config.num_subsample, n, config.b), dtype=np.int8)
    offsets = rng.integers(0, q, size=(config.num_repeat, n), dtype=np.int8)
    M.setflags(write=False)
    offsets.setflags(write=False)
    return SketchPlan(int(n), int(q), config, M, offsets)
