"""Time estimates of a sketch before it runs (shapzero_core.sketch.estimate): the arithmetic and the history
rule. How close the estimates come to measured times is a benchmark (bench/bench_estimate.py), not a test."""

from __future__ import annotations

import pytest

from shapzero_core.sketch import plan_for_budget, plan_sketch
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


def test_the_app_estimates_decoding_from_this_models_earlier_sketches_first(tmp_path, monkeypatch):
    """studio_ui.sketching: decoding time depends on the model, so its own earlier sketches are used before
    those of other models (and the page says which)."""
    from studio_ui import sketching

    monkeypatch.setenv("SHAPZERO_WORKSPACE", str(tmp_path))
    plan = _plan(100_000)
    u = decode_units(plan)

    class M:
        identity, n = "model-a", 20

    class Other:
        identity, n = "model-b", 20

    def record(model, seconds):
        sketching.record_timing(model, plan, {"time": {"decode": seconds, "query": 1.0},
                                              "queries": {"queried": plan.num_queries}})

    record(Other, DECODE_OVERHEAD_S + 1e-6 * u)
    est = sketching.estimate(M, plan, 10_000.0, trust_check=False)
    assert est.decode_s == pytest.approx(DECODE_OVERHEAD_S + 1e-6 * u) and "other models" in est.basis
    record(M, DECODE_OVERHEAD_S + 4e-6 * u)
    est = sketching.estimate(M, plan, 10_000.0, trust_check=False)
    assert est.decode_s == pytest.approx(DECODE_OVERHEAD_S + 4e-6 * u) and "this model" in est.basis
    # and the model's own query rate of that sketch replaces the probe
    assert est.query_s == pytest.approx(1.0)
