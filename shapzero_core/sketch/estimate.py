"""How long a sketch will take, before it runs: model queries from a measured rate, decoding from a cost model.

The query time is ``queries still to make / queries per second`` (the rate measured on the model, best of all
the rate of its last sketch). Decoding and tuning cost no model calls but can take longer than the queries; their
time is ``seconds per unit × units(plan)``, where the units follow the work of each method:

* ``"hybrid"``: the dense part's backfitting visits every (random query, position) and, for the pairs, every
  (query, pair) — ``units = N_train · n · (n + 8)``; the q-SFT part on the residual is of the same order; the
  local triples add table visits too, but how many the fit keeps (and how many refit rounds run) depends on the
  model: counting them did not predict the measured times better (``bench/bench_estimate.py``), so they are in
  the seconds per unit;
* ``"qsft"``: transforms and peeling of ``C · P`` blocks of ``q^b`` bins with ``n + 1`` delays, and the refit —
  ``units = N_train · n``.

The seconds per unit come, in this order, from: the median over earlier runs on this machine (``history``,
``(units, seconds)`` pairs the app records after each run), else the defaults measured on a 2-core machine
(:data:`DEFAULT_SECONDS_PER_UNIT`) scaled by :func:`machine_speed` (a 0.28 s reference workload timed here, so
a slower or busier machine gets a longer estimate).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .plan import SketchPlan

__all__ = ["DEFAULT_SECONDS_PER_UNIT", "SketchTimeEstimate", "decode_units", "estimate_sketch_time",
           "machine_speed"]

#: Decode + tune seconds per unit of :func:`decode_units` on an idle 2-core machine (for which
#: :func:`machine_speed` returns about 1), the middle of what the demo models and the zoo take
#: (``bench/bench_estimate.py``): hybrid 2.1e-8 (off-target) to 8.8e-8 (repair) with the local triples, q-SFT
#: 3e-9 (sparse models) to 1.6e-7 (the CNN). Decoding depends on the model, not only on the plan, so without an
#: earlier sketch of the same model the decode estimate can be about 2× (hybrid) to 5× (q-SFT) off; after one,
#: much closer.
DEFAULT_SECONDS_PER_UNIT = {"hybrid": 4.3e-8, "qsft": 3.0e-8}
#: Fixed seconds of every decode (the held-out evaluation, the report).
DECODE_OVERHEAD_S = 0.1
#: What :func:`machine_speed`'s reference workload takes on an idle machine of the kind the defaults were
#: measured on (2-core Xeon, 0.27-0.28 s).
REFERENCE_SECONDS = 0.28


@dataclass(frozen=True)
class SketchTimeEstimate:
    """Seconds a sketch will take.

    Attributes
    ----------
    query_s : float or None
        Model queries not yet cached ÷ queries per second (None when no rate is known).
    decode_s : float
        Decoding, tuning and refit (no model calls).
    check_s : float or None
        The trust check's model calls (0 without a check, None when no rate is known).
    basis : str
        Where the decode estimate comes from, in words.
    """

    query_s: float | None
    decode_s: float
    check_s: float | None
    basis: str

    @property
    def total_s(self) -> float | None:
        """All stages (None when the query time is unknown)."""
        if self.query_s is None or self.check_s is None:
            return None
        return self.query_s + self.decode_s + self.check_s


def decode_units(plan: SketchPlan) -> float:
    """The work of decoding ``plan`` in the units of :data:`DEFAULT_SECONDS_PER_UNIT` (see the module text)."""
    n = plan.n
    if plan.config.method == "hybrid":
        return float(plan.num_train_queries) * n * (n + 8)
    return float(plan.num_train_queries) * n


_SPEED: dict[str, float] = {}


def machine_speed(refresh: bool = False) -> float:
    """How much longer than the reference machine this one takes for decode-like numpy work (>= 1 slower).

    Times a fixed workload (grouped sums on 200,000 × 12 codes, about 0.28 s on the reference machine) once
    per process (again with ``refresh``). Returns the ratio, clipped to [0.25, 20].
    """
    if "speed" in _SPEED and not refresh:
        return _SPEED["speed"]
    rng = np.random.default_rng(0)
    X = rng.integers(0, 4, size=(200_000, 12)).astype(np.int64)
    y = rng.normal(size=X.shape[0])
    best = np.inf
    for _ in range(3):
        t = time.perf_counter()
        r = y.copy()
        for _sweep in range(2):
            for i in range(X.shape[1]):
                for j in range(i + 1, X.shape[1]):
                    code = X[:, i] * 4 + X[:, j]
                    s = np.bincount(code, weights=r, minlength=16)
                    c = np.bincount(code, minlength=16)
                    r = r - (s / np.maximum(c, 1))[code] * 0.5
        best = min(best, time.perf_counter() - t)
    _SPEED["speed"] = float(np.clip(best / REFERENCE_SECONDS, 0.25, 20.0))
    return _SPEED["speed"]


def estimate_sketch_time(
    plan: SketchPlan,
    rate: float | None,
    *,
    cached_queries: int = 0,
    check_calls: int = 0,
    history: Sequence[tuple[float, float]] = (),
    speed: float | None = None,
    history_of: str = "",
) -> SketchTimeEstimate:
    """Estimate each stage of sketching ``plan``.

    Parameters
    ----------
    plan : SketchPlan
    rate : float or None
        Model queries per second (measured on the model; the rate of its last sketch is better).
    cached_queries : int
        Queries already in the cache (not made again).
    check_calls : int
        Model calls of the trust check after the sketch (0: no check).
    history : sequence of (units, seconds)
        Earlier decodes of the same method on this machine (:func:`decode_units` of their plan and their
        measured decode seconds, overhead included), best of the same model; the median seconds per unit of
        the last 5 is used.
    history_of : str
        Whose sketches ``history`` holds, for :attr:`SketchTimeEstimate.basis` ("this model", "other models").
    speed : float, optional
        :func:`machine_speed` (measured when not given and there is no history).

    Returns
    -------
    SketchTimeEstimate
    """
    units = decode_units(plan)
    recent = [(u, s) for u, s in history if u > 0 and s > 0][-5:]
    if recent:
        per_unit = float(np.median([max(s - DECODE_OVERHEAD_S, 0.0) / u for u, s in recent]))
        whose = f" of {history_of}" if history_of else ""
        basis = f"from {len(recent)} earlier sketch{'es' if len(recent) > 1 else ''}{whose} on this machine"
        scale = 1.0
    else:
        per_unit = DEFAULT_SECONDS_PER_UNIT[plan.config.method]
        scale = machine_speed() if speed is None else float(speed)
        basis = "from the cost model of this release, scaled to this machine's measured speed"
        if scale > 1.25:
            basis += f" (busy or slower: {scale:.2g}× the reference time)"
        elif scale < 0.8:
            basis += f" (faster: {scale:.2g}× the reference time)"
    decode = (DECODE_OVERHEAD_S + per_unit * units) * scale
    todo = max(plan.num_queries - int(cached_queries), 0)
    if rate is None or not rate > 0:
        return SketchTimeEstimate(None, decode, None if check_calls else 0.0, basis)
    return SketchTimeEstimate(todo / rate, decode, check_calls / rate, basis)
