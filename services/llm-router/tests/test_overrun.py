"""Issue 28.7: a reservation bounds its call, whatever the provider does.

The fake provider over-bills: it runs far past ``max_tokens`` (text and usage), or bills for far
more than it sent. The first is stopped at the reservation; the second is charged, counted as an
overrun and opens the provider's circuit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from budgeting import IN_CENTS, OUT_CENTS, metric, only_paid_providers, req, set_weekly

from vapora_core.errors import BudgetExceeded
from vapora_llm_router.providers.base import ToolDefinition
from vapora_llm_router.results import Result
from vapora_llm_router.routing import RouteRequest, estimate_input_tokens
from vapora_llm_router.service import RouterService, UsageRecord
from vapora_testing.fake_providers import Call, FakeProviders, Turn

LIMIT = 1.0
LONG = "lorem " * 2000  # 12 000 characters, ~3 000 tokens: far past any max_tokens asked here
RUNS_LONG = 3000
MakeService = Callable[..., tuple[RouterService, list[UsageRecord]]]


async def ask(svc: RouterService, r: RouteRequest, *, stream: bool) -> Result:
    if not stream:
        return await svc.complete(r)
    items = [item async for item in svc.stream(r)]
    final = items[-1]
    assert isinstance(final, Result)
    assert "".join(i.delta for i in items[:-1]) == final.text  # type: ignore[union-attr]
    return final


def weekly(svc: RouterService) -> tuple[float, float]:
    w = next(w for w in svc.ledger.status("developer").windows if w.window == "weekly")
    return w.spent_cents, w.reserved_cents


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
async def test_concurrent_calls_to_a_provider_that_runs_long_overshoot_by_at_most_one_reservation(
    make_service: MakeService, config_dir: Path, fake: FakeProviders, stream: bool
) -> None:
    set_weekly(config_dir, LIMIT)
    only_paid_providers(config_dir)
    svc, records = make_service(providers=("anthropic",))
    fake.turns["anthropic"] = [Turn(text=LONG, output_tokens=RUNS_LONG) for _ in range(12)]
    reservation = svc.select(req()).estimated_cost_cents
    stops, overruns = (
        metric("vapora_llm_reservation_stops_total", provider="anthropic"),
        metric("vapora_llm_settlement_overrun_total", provider="anthropic"),
    )

    async def one(i: int) -> Result | str:
        await asyncio.sleep((i % 4) * 0.002)  # arrive in waves: settles and reserves interleave
        try:
            return await ask(svc, req(request_id=f"r{i}"), stream=stream)
        except BudgetExceeded as exc:
            assert (exc.scope, exc.owner, exc.limit) == ("role", "developer", "cost")
            return "refused"

    outcomes = await asyncio.gather(*(one(i) for i in range(12)))
    answered = [o for o in outcomes if isinstance(o, Result)]
    assert answered and "refused" in outcomes
    spent, reserved = weekly(svc)
    assert reserved == 0
    assert spent == pytest.approx(sum(r.cost_cents for r in records if r.success))
    assert spent <= LIMIT + reservation  # the promise
    assert spent <= LIMIT + 1e-9  # and with the text flowing, the router stopped every call in time
    billed_unstopped = len(answered) * (fake.input_tokens * IN_CENTS + RUNS_LONG * OUT_CENTS)
    assert billed_unstopped > 4 * LIMIT  # what the provider would have billed had it not been stopped
    for r in answered:
        assert r.finish_reason == "length"
        assert LONG.startswith(r.text) and 0 < len(r.text) < len(LONG)
        assert any("stopped anthropic at its reservation" in why for why in r.decision.reasons)
    assert fake.hits["anthropic"] == len(answered)
    assert metric("vapora_llm_reservation_stops_total", provider="anthropic") - stops == len(answered)
    assert metric("vapora_llm_settlement_overrun_total", provider="anthropic") == overruns


async def test_a_stream_that_runs_long_inside_a_tool_call_is_stopped_too(
    make_service: MakeService, config_dir: Path, fake: FakeProviders
) -> None:
    set_weekly(config_dir, LIMIT)
    svc, _ = make_service()
    schema = json.dumps({"type": "object", "properties": {"path": {"type": "string"}}})
    fake.turns["openai"] = [Turn(calls=(Call(name="read_file", arguments={"path": "x" * 4000}),), output_tokens=1000)]
    result = await svc.complete(
        req(provider_override="openai", tools=(ToolDefinition(name="read_file", parameters_json=schema),))
    )
    assert result.provider == "openai"
    assert (result.finish_reason, result.tool_calls) == ("length", ())
    assert result.cost_cents == pytest.approx(result.decision.estimated_cost_cents)


async def test_a_provider_that_bills_more_than_it_sent_is_charged_counted_and_its_circuit_opened(
    make_service: MakeService, config_dir: Path, fake: FakeProviders
) -> None:
    set_weekly(config_dir, 100.0)
    svc, records = make_service()
    fake.turns["anthropic"] = [Turn(text="Short answer.", output_tokens=RUNS_LONG) for _ in range(3)]
    count = metric("vapora_llm_settlement_overrun_total", provider="anthropic")
    cents = metric("vapora_llm_settlement_overrun_cents_total", provider="anthropic")
    bill = fake.input_tokens * IN_CENTS + RUNS_LONG * OUT_CENTS
    over = 0.0
    for i in range(3):  # the breaker's failure_threshold in conftest's router.toml
        result = await svc.complete(req(request_id=f"r{i}"))
        assert (result.provider, result.text, result.output_tokens) == ("anthropic", "Short answer.", RUNS_LONG)
        assert result.cost_cents == pytest.approx(bill)  # charged in full: that is what was spent
        assert any("answered 3000 output tokens to max_tokens 200" in why for why in result.decision.reasons)
        over += bill - result.decision.estimated_cost_cents
    assert weekly(svc)[0] == pytest.approx(3 * bill)
    assert sum(r.cost_cents for r in records) == pytest.approx(3 * bill)
    assert metric("vapora_llm_settlement_overrun_total", provider="anthropic") - count == 3
    assert metric("vapora_llm_settlement_overrun_cents_total", provider="anthropic") - cents == pytest.approx(over)
    assert metric("vapora_llm_provider_errors_total", provider="anthropic", code="ignored_max_tokens") >= 3

    after = await svc.complete(req(request_id="r4"))
    assert after.provider != "anthropic"
    assert any("anthropic circuit open after 3 failures" in why for why in after.decision.reasons)
    assert fake.hits["anthropic"] == 3


async def test_what_a_provider_bills_beyond_the_limit_is_always_counted_as_overrun(
    make_service: MakeService, config_dir: Path, fake: FakeProviders
) -> None:
    """Concurrent calls to a provider that bills for tokens it never sent: the router cannot stop
    them, so the window is overshot, and every cent over the limit shows in the overrun metric."""
    set_weekly(config_dir, LIMIT)
    only_paid_providers(config_dir)
    svc, _ = make_service(providers=("anthropic",))
    fake.turns["anthropic"] = [Turn(text="Short answer.", output_tokens=RUNS_LONG) for _ in range(12)]
    cents = metric("vapora_llm_settlement_overrun_cents_total", provider="anthropic")

    async def one(i: int) -> None:
        with contextlib.suppress(BudgetExceeded):
            await svc.complete(req(request_id=f"r{i}"))

    await asyncio.gather(*(one(i) for i in range(12)))
    spent, reserved = weekly(svc)
    assert reserved == 0 and spent > LIMIT
    assert spent - LIMIT <= metric("vapora_llm_settlement_overrun_cents_total", provider="anthropic") - cents + 1e-9


async def test_max_tokens_is_cut_to_what_the_window_can_pay_and_a_call_under_the_floor_is_never_sent(
    make_service: MakeService, config_dir: Path, fake: FakeProviders
) -> None:
    set_weekly(config_dir, LIMIT)
    only_paid_providers(config_dir)
    svc, _ = make_service(providers=("anthropic",))
    input_cost = estimate_input_tokens(req()) * IN_CENTS
    capped = metric("vapora_llm_max_tokens_capped_total", scope="role")
    now = svc.ledger.now()
    await svc.ledger.seed_spent("developer", "weekly", now, LIMIT - (input_cost + 100 * OUT_CENTS) - 1e-7)

    result = await svc.complete(req(max_tokens=200))
    assert fake.bodies["anthropic"][-1]["max_tokens"] == 100
    assert "max_tokens 200 → 100: what the weekly budget of role developer can still pay" in result.decision.reasons
    assert result.decision.estimated_cost_cents == pytest.approx(input_cost + 100 * OUT_CENTS)
    assert metric("vapora_llm_max_tokens_capped_total", scope="role") - capped == 1

    svc, _ = make_service(providers=("anthropic",))  # a window seeded anew: a store seeds only what it never saw
    await svc.ledger.seed_spent("developer", "weekly", now, LIMIT - (input_cost + 15 * OUT_CENTS))
    with pytest.raises(BudgetExceeded, match="no provider fits the budget of role developer") as info:
        await svc.complete(req(max_tokens=200))
    assert (info.value.scope, info.value.window, info.value.limit, info.value.cap) == ("role", "weekly", "cost", LIMIT)
    assert info.value.needed == pytest.approx(input_cost + 16 * OUT_CENTS)
    assert fake.hits["anthropic"] == 1


async def test_only_a_call_a_cap_binds_is_read_as_a_stream(
    make_service: MakeService, config_dir: Path, fake: FakeProviders
) -> None:
    set_weekly(config_dir, 100.0)
    svc, _ = make_service()
    await svc.complete(req(role="nobody"))  # no budget: sent as JSON, as always
    await svc.complete(req())  # the developer's windows bind it: streamed, so it can be stopped
    await svc.complete(req(role="nobody", task_id="t1", task_token_cap=100_000))  # a task cap binds it
    assert [b.get("stream", False) for b in fake.bodies["anthropic"]] == [False, True, True]
