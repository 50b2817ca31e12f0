"""The seed's formulas pinned to hand-computed values."""

from __future__ import annotations

import math

import pytest

from vapora_knowledge_graph.learning import DAY_S, DecayedSums, ProfileState, confidence, recency_weight


@pytest.mark.parametrize(("age_days", "expected"), [(0, 3.0), (7, 3 / math.e), (14, 3 / math.e**2)])
def test_recency_weight_is_three_at_zero_three_over_e_at_a_week_and_over_e_squared_at_two(
    age_days: float, expected: float
) -> None:
    assert recency_weight(age_days) == pytest.approx(expected)


@pytest.mark.parametrize(("n", "expected"), [(0, 0.0), (10, 0.5), (20, 1.0), (40, 1.0)])
def test_confidence_is_n_over_twenty_capped_at_one(n: int, expected: float) -> None:
    assert confidence(n) == expected


def test_incremental_expertise_equals_the_weighted_rate_computed_by_hand() -> None:
    now = 100 * DAY_S
    # a success 14 days ago, a failure 7 days ago, a success now
    history = [(now - 14 * DAY_S, 1.0), (now - 7 * DAY_S, 0.0), (now, 1.0)]
    sums = DecayedSums(anchor_s=history[0][0])
    for t, s in history:
        sums.add(t, s)
    w = [3 / math.e**2, 3 / math.e, 3.0]
    assert sums.expertise() == pytest.approx((w[0] + w[2]) / sum(w))
    assert sums.weighted_count(now) == pytest.approx(sum(w))


def test_reanchoring_keeps_the_same_expertise_over_years() -> None:
    sums = DecayedSums(anchor_s=0.0)
    for day in range(0, 800, 10):
        sums.add(day * DAY_S, 1.0 if day % 20 else 0.0)
    assert sums.anchor_s > 0  # moved forward at least once
    # the last two executions dominate: day 790 (success) and day 780 (failure), 10 days apart
    expected_tail = sum(math.exp(-(790 - d) / 7) * (1.0 if d % 20 else 0.0) for d in range(0, 800, 10))
    expected_all = sum(math.exp(-(790 - d) / 7) for d in range(0, 800, 10))
    assert sums.expertise() == pytest.approx(expected_tail / expected_all)


def test_a_correction_changes_only_that_executions_contribution() -> None:
    p = ProfileState("a", "testing", DecayedSums(anchor_s=0.0))
    p.add(t_s=0.0, success=False, quality=0.2, latency_ms=10, cost_cents=1)
    p.add(t_s=7 * DAY_S, success=True, quality=0.8, latency_ms=30, cost_cents=3)
    p.correct(t_s=0.0, old_success=False, new_success=True, old_quality=0.2, new_quality=0.6)
    assert p.expertise == pytest.approx(1.0)
    assert (p.successes, p.executions) == (2, 2)
    assert p.mean(p.quality_sum) == pytest.approx(0.7)
    assert p.mean(p.latency_sum_ms) == pytest.approx(20)


def test_recent_evidence_weighs_successes_and_failures_by_a_two_and_a_half_day_memory() -> None:
    now = 100 * DAY_S
    p = ProfileState("a", "coding", DecayedSums(anchor_s=0.0))
    history = [(now - 5 * DAY_S, True), (now - 2.5 * DAY_S, False), (now, True)]
    for t, ok in history:
        p.add(t_s=t, success=ok, quality=1.0 if ok else 0.0, latency_ms=0, cost_cents=0)
    successes, failures = p.recent.counts(now)
    assert successes == pytest.approx(math.exp(-2) + 1.0)
    assert failures == pytest.approx(math.exp(-1))
    later = p.recent.counts(now + 2.5 * DAY_S)  # everything a further e times lighter
    assert later == pytest.approx((successes / math.e, failures / math.e))
    # a correction moves recent evidence as it moves expertise; the seed's 7-day sums are separate
    p.correct(t_s=now - 2.5 * DAY_S, old_success=False, new_success=True, old_quality=0.0, new_quality=1.0)
    assert p.recent.counts(now) == pytest.approx((math.exp(-2) + math.exp(-1) + 1.0, 0.0))
    assert p.expertise == pytest.approx(1.0) and p.sums.tau_s == 7 * DAY_S
