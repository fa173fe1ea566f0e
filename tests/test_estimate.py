"""Time estimates of a sketch before it runs (shapzero_core.sketch.estimate): the arithmetic, the history rule,
and — on the demo models at the app's budgets — estimate against the measured time within a factor 1.5."""

from __future__ import annotations

import time

import numpy as np
import pytest

from shapzero_core.demos import get_demo
from shapzero_core.sketch import plan_for_budget, plan_sketch, sketch_model
from shapzero_core.sketch.estimate import (
    DECODE_OVERHEAD_S,
    DEFAULT_SECONDS_PER_UNIT,
    decode_units,
    estimate_sketch_time,
    machine_speed,
)


def _plan(budget: int, n: int = 20, q: int = 4, method: str = "qsft"):
    return plan_sketch(n, q, plan_for_budget(budget, n, q, method=method, test_size=2_000))


def test_stages_add_up_and_cached_queries_are_not_counted():
    plan = _plan(100_000)
    est = estimate_sketch_time(plan, 10_000.0, check_calls=50_000, speed=1.0)
    assert est.query_s == pytest.approx(plan.num_queries / 10_000)
    assert est.check_s == pytest.approx(5.0)
    assert est.decode_s == pytest.approx(DECODE_OVERHEAD_S + DEFAULT_SECONDS_PER_UNIT["qsft"] * decode_units(plan))
    assert est.total_s == pytest.approx(est.query_s + est.decode_s + est.check_s)
    half = estimate_sketch_time(plan, 10_000.0, cached_queries=plan.num_queries // 2, speed=1.0)
    assert half.query_s == pytest.approx((plan.num_queries - plan.num_queries // 2) / 10_000)
    assert estimate_sketch_time(plan, 10_000.0, cached_queries=10**9, speed=1.0).query_s == 0
    unknown = estimate_sketch_time(plan, None, check_calls=1_000, speed=1.0)
    assert unknown.query_s is None and unknown.total_s is None and unknown.decode_s > 0
    # a slower machine (speed 3) takes three times as long to decode
    assert estimate_sketch_time(plan, None, speed=3.0).decode_s == pytest.approx(3 * unknown.decode_s)


def test_decode_cost_grows_with_queries_and_length_and_hybrid_costs_more():
    a, b = _plan(100_000, method="hybrid"), _plan(400_000, method="hybrid")
    assert decode_units(b) / decode_units(a) == pytest.approx(b.num_train_queries / a.num_train_queries)
    long = _plan(100_000, n=40, method="hybrid")
    assert decode_units(long) > 3 * decode_units(a) * a.num_train_queries / long.num_train_queries


def test_history_of_this_machine_replaces_the_default():
    plan = _plan(100_000)
    u = decode_units(plan)
    hist = [(u, DECODE_OVERHEAD_S + 2e-6 * u), (2 * u, DECODE_OVERHEAD_S + 4e-6 * u), (u, 99.0)]
    est = estimate_sketch_time(plan, 1e4, history=hist)
    assert est.decode_s == pytest.approx(DECODE_OVERHEAD_S + 2e-6 * u)  # the median per unit of the last runs
    assert "earlier sketches on this machine" in est.basis
    assert "cost model" in estimate_sketch_time(plan, 1e4, speed=1.0).basis


def test_machine_speed_is_measured_once_and_positive():
    s = machine_speed()
    assert 0.25 <= s <= 20 and machine_speed() == s


@pytest.mark.slow
@pytest.mark.parametrize("name, budget, method", [("guide_rna", 250_000, "qsft"), ("cnn", 250_000, "qsft"),
                                                  ("repair", 500_000, "hybrid"), ("cnn", 500_000, "hybrid")])
def test_estimate_is_within_a_factor_1_5_of_the_measured_time_on_the_demo_models(name, budget, method):
    """The estimate the Sketch page shows before a run (probe rate, cost model scaled by this machine's speed)
    against the measured wall time of the same sketch (queries + decoding)."""
    model = get_demo(name).load_model()
    cfg = plan_for_budget(budget, model.n, model.alphabet.q, method=method, test_size=2_000)
    plan = plan_sketch(model.n, model.alphabet.q, cfg)
    rate = model.probe_throughput()
    est = estimate_sketch_time(plan, rate, speed=machine_speed(refresh=True))
    t = time.perf_counter()
    sk = sketch_model(model, config=cfg)
    took = time.perf_counter() - t
    ratio = took / est.total_s
    print(f"{name} {method} {budget:,}: estimated {est.total_s:.1f} s (query {est.query_s:.1f}, decode "
          f"{est.decode_s:.1f}), took {took:.1f} s (query {sk.report['time']['query']:.1f}, decode "
          f"{sk.report['time']['decode']:.1f}); ratio {ratio:.2f}")
    assert 1 / 1.5 <= ratio <= 1.5, f"estimate {est.total_s:.1f} s vs {took:.1f} s measured"
    assert np.isfinite(sk.report["r2"])
