"""Budgets: the 80% policy, exhaustion, and concurrent requests that cannot overrun a window."""

from __future__ import annotations

import asyncio
from pathlib import Path

import budgeting
import pytest
from budgeting import OFFLINE_OFF

from vapora_core.errors import ResourceExhausted
from vapora_llm_router.routing import RouteRequest
from vapora_testing.fake_providers import FakeProviders


def req(**kw: object) -> RouteRequest:
    return budgeting.req(**{"max_tokens": 10, **kw})


def set_budget(config_dir: Path, weekly: float, monthly: float | None = None) -> None:
    text = f"near_limit = 0.8\n[roles.developer]\nweekly_cents = {weekly}\n"
    if monthly is not None:
        text += f"monthly_cents = {monthly}\n"
    (config_dir / "budget.toml").write_text(text)


async def test_crossing_80_percent_moves_the_role_to_a_cheaper_provider(  # type: ignore[no-untyped-def]
    make_service, config_dir: Path, fake: FakeProviders
) -> None:
    set_budget(config_dir, weekly=0.1, monthly=100)
    svc, _ = make_service()
    providers = []
    for _ in range(12):
        before = svc.ledger.status("developer")
        result = await svc.complete(req())
        providers.append((round(before.utilization, 3), result.provider))
        if before.utilization < 0.8:
            assert result.provider == "anthropic", providers
        else:
            assert result.provider != "anthropic", providers
            assert result.decision.estimated_cost_cents < svc.select(req(role="nobody")).estimated_cost_cents
            assert any("preferring cheaper providers" in r for r in result.decision.reasons)
    assert providers[0][1] == "anthropic"
    assert providers[-1][1] != "anthropic"
    status = svc.ledger.status("developer")
    weekly = next(w for w in status.windows if w.window == "weekly")
    assert weekly.spent_cents <= 0.1
    assert weekly.reserved_cents == 0


async def test_an_exhausted_budget_falls_back_to_the_cheapest_provider(  # type: ignore[no-untyped-def]
    make_service, config_dir: Path, fake: FakeProviders
) -> None:
    set_budget(config_dir, weekly=1.0)
    svc, _ = make_service()
    await svc.ledger.seed_spent("developer", "weekly", svc.ledger.now(), 1.0)
    assert svc.ledger.status("developer").state == "exhausted"
    decision = svc.select(req())
    assert decision.provider == "ollama"
    result = await svc.complete(req())
    assert result.provider == "ollama" and result.cost_cents == 0
    assert any("exhausted" in r and "cheapest" in r for r in result.decision.reasons)
    assert fake.hits["anthropic"] == 0


async def test_exhausted_with_no_free_provider_is_refused_clearly(  # type: ignore[no-untyped-def]
    make_service, config_dir: Path, fake: FakeProviders
) -> None:
    set_budget(config_dir, weekly=1.0)
    (config_dir / "router.toml").write_text((config_dir / "router.toml").read_text() + OFFLINE_OFF)
    svc, _ = make_service(providers=("anthropic", "openai", "gemini"))
    await svc.ledger.seed_spent("developer", "weekly", svc.ledger.now(), 0.9999)
    with pytest.raises(ResourceExhausted, match="weekly budget of role developer"):
        await svc.complete(req())
    assert sum(fake.hits.values()) == 0
    ok = await svc.complete(req(role="architect"))  # other roles are unaffected
    assert ok.provider == "anthropic"


async def test_200_concurrent_requests_overshoot_by_at_most_one_reservation(  # type: ignore[no-untyped-def]
    make_service, config_dir: Path, fake: FakeProviders
) -> None:
    limit = 0.5
    set_budget(config_dir, weekly=limit)
    (config_dir / "router.toml").write_text((config_dir / "router.toml").read_text() + OFFLINE_OFF)
    fake.input_tokens, fake.output_tokens = 20, 10  # bills close to the reservation
    svc, records = make_service(providers=("anthropic",))
    reservation = svc.select(req()).estimated_cost_cents

    async def one(i: int) -> str:
        await asyncio.sleep((i % 7) * 0.003)  # arrive in waves, so settles and reserves interleave
        try:
            return (await svc.complete(req(request_id=f"r{i}"))).provider
        except ResourceExhausted:
            return "refused"

    outcomes = await asyncio.gather(*(one(i) for i in range(200)))
    answered = outcomes.count("anthropic")
    weekly = next(w for w in svc.ledger.status("developer").windows if w.window == "weekly")
    assert outcomes.count("refused") > 0 and answered > 0
    assert weekly.reserved_cents == 0
    assert weekly.spent_cents == pytest.approx(sum(r.cost_cents for r in records if r.success))
    assert weekly.spent_cents <= limit + reservation
    assert fake.hits["anthropic"] == answered
