"""Routing order, availability, retries, fallback and the circuit breaker, via RouterService."""

from __future__ import annotations

from pathlib import Path

import budgeting
import pytest

from vapora_core.errors import InvalidArgument, Unavailable
from vapora_llm_router.config import load
from vapora_llm_router.providers import build_providers
from vapora_llm_router.providers.base import ChatTurn
from vapora_llm_router.routing import RouteRequest
from vapora_llm_router.service import RouterService
from vapora_llm_router.settings import RouterSettings
from vapora_testing.fake_providers import FakeProviders

pytestmark = pytest.mark.asyncio


def req(**kw: object) -> RouteRequest:
    return budgeting.req(**{"request_id": "r1", "max_tokens": 100, **kw})


async def test_with_no_keys_everything_routes_to_offline_with_reasons(tmp_path: Path) -> None:
    repo_config = Path(__file__).resolve().parents[3] / "config"
    settings = RouterSettings(_env_file=None, config_dir=repo_config)  # type: ignore[call-arg]
    providers, unavailable = build_providers(settings)
    assert set(providers) == {"offline"}
    config = load(settings.router_file, settings.budget_file, settings.resolved_prices_file)
    svc = RouterService(config, providers, unavailable)
    result = await svc.complete(req(task_type="architecture"))
    assert result.provider == "offline"
    assert result.text and result.cost_cents == 0
    assert result.input_tokens > 0 and result.output_tokens > 0
    reasons = " | ".join(result.decision.reasons)
    assert "architecture" in reasons and "anthropic" in reasons
    assert "no API key for anthropic" in reasons
    decision = svc.select(req())
    assert decision.provider == "offline"


async def test_rules_route_by_task_type(make_service, fake: FakeProviders) -> None:  # type: ignore[no-untyped-def]
    svc, records = make_service()
    result = await svc.complete(req(task_type="documentation"))
    assert (result.provider, result.model) == ("gemini", "gemini-2.0-flash")
    assert any("rule docs" in r for r in result.decision.reasons)
    assert fake.hits["gemini"] == 1
    other = await svc.complete(req(task_type="coding"))
    assert other.provider == "anthropic"  # router.toml default
    assert other.cost_cents == pytest.approx((10 * 3.0 + 5 * 15.0) / 1e6 * 100)
    assert [r.provider for r in records] == ["gemini", "anthropic"]
    assert records[0].request.workspace_id == "ws1"


async def test_explicit_override_wins_over_rules(make_service, fake: FakeProviders) -> None:  # type: ignore[no-untyped-def]
    svc, _ = make_service()
    result = await svc.complete(req(task_type="documentation", provider_override="openai", model_override="gpt-4o"))
    assert (result.provider, result.model) == ("openai", "gpt-4o")
    assert result.decision.reasons[0] == "explicit override: openai"
    assert fake.hits["gemini"] == 0


async def test_select_provider_is_a_dry_run(make_service, fake: FakeProviders) -> None:  # type: ignore[no-untyped-def]
    svc, records = make_service()
    decision = svc.select(req(task_type="documentation"))
    assert decision.provider == "gemini"
    assert decision.fallback_chain[:3] == ("ollama", "openai", "anthropic")
    assert decision.estimated_cost_cents > 0
    assert sum(fake.hits.values()) == 0 and records == []


async def test_retryable_errors_are_retried_then_answered(make_service, fake: FakeProviders) -> None:  # type: ignore[no-untyped-def]
    svc, _ = make_service()
    fake.script["anthropic"] = ["429"]
    result = await svc.complete(req())
    assert result.provider == "anthropic" and result.failed_providers == []
    assert fake.hits["anthropic"] == 2


async def test_a_failing_provider_falls_back_to_the_next_in_the_chain(make_service, fake: FakeProviders) -> None:  # type: ignore[no-untyped-def]
    svc, records = make_service()
    fake.script["anthropic"] = ["500", "500"]
    result = await svc.complete(req())
    assert result.failed_providers == ["anthropic"]
    assert result.provider == "ollama"  # first of the chain after the primary
    assert any("anthropic failed" in r for r in result.decision.reasons)
    assert records[-1].fallback is True


async def test_non_retryable_errors_are_not_retried_but_fall_back(make_service, fake: FakeProviders) -> None:  # type: ignore[no-untyped-def]
    svc, _ = make_service()
    fake.script["anthropic"] = ["malformed"]
    result = await svc.complete(req())
    assert fake.hits["anthropic"] == 1
    assert result.provider == "ollama"


async def test_a_provider_that_keeps_failing_cools_down_even_as_the_only_primary(  # type: ignore[no-untyped-def]
    make_service, fake: FakeProviders
) -> None:
    # Contrast LiteLLM #40405: after the breaker opens, requests stop paying for the dead provider.
    svc, _ = make_service(providers=("anthropic", "ollama"))
    fake.script["anthropic"] = ["500"] * 100
    first = await svc.complete(req())
    second = await svc.complete(req())
    assert first.provider == second.provider == "ollama"
    hits_when_open = fake.hits["anthropic"]
    assert hits_when_open == 3  # threshold 3: 2 attempts, then 1 attempt opened it
    for _ in range(5):
        result = await svc.complete(req())
        assert result.provider == "ollama"
        assert result.failed_providers == []
        assert any("circuit open" in r for r in result.decision.reasons)
    assert fake.hits["anthropic"] == hits_when_open


async def test_breaker_half_opens_after_cooldown_and_closes_on_success(  # type: ignore[no-untyped-def]
    make_service, fake: FakeProviders
) -> None:
    svc, _ = make_service(providers=("anthropic", "ollama"))
    clock = [1000.0]
    svc.breakers._clock = lambda: clock[0]
    fake.script["anthropic"] = ["500"] * 3
    await svc.complete(req())
    await svc.complete(req())
    assert svc.breakers.get("anthropic").state(clock[0]) == "open"
    clock[0] += 31
    result = await svc.complete(req())
    assert result.provider == "anthropic"
    assert svc.breakers.get("anthropic").state(clock[0]) == "closed"


async def test_when_every_provider_fails_the_error_lists_them(
    make_service, fake: FakeProviders, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    svc, records = make_service(providers=("anthropic",))
    svc.config.router.providers["offline"]  # exists
    from vapora_llm_router.config import ProviderConfig

    svc.config.router.providers["offline"] = ProviderConfig(model="offline-deterministic", enabled=False)
    fake.script["anthropic"] = ["500"] * 5
    with pytest.raises(Unavailable, match="anthropic failed"):
        await svc.complete(req())
    assert records[-1].success is False


async def test_bad_requests_are_refused_with_the_field_named(make_service) -> None:  # type: ignore[no-untyped-def]
    svc, _ = make_service()
    with pytest.raises(InvalidArgument, match="messages"):
        await svc.complete(req(messages=()))
    with pytest.raises(InvalidArgument, match="provider_override"):
        await svc.complete(req(provider_override="skynet"))
    with pytest.raises(InvalidArgument, match=r"messages\[0\].role"):
        await svc.complete(req(messages=(ChatTurn("robot", "x"),)))


async def test_stream_falls_back_before_the_first_delta(make_service, fake: FakeProviders) -> None:  # type: ignore[no-untyped-def]
    svc, records = make_service()
    fake.script["anthropic"] = ["500", "500"]
    items = [item async for item in svc.stream(req())]
    deltas = [i.delta for i in items[:-1]]  # type: ignore[union-attr]
    final = items[-1]
    assert deltas == ["Hello", " from", " the fake"]
    assert final.provider == "ollama" and final.failed_providers == ["anthropic"]  # type: ignore[union-attr]
    assert final.output_tokens == 5  # type: ignore[union-attr]
    assert records[-1].provider == "ollama"


async def test_stream_failure_after_deltas_ends_the_stream_with_the_error(make_service, fake: FakeProviders) -> None:  # type: ignore[no-untyped-def]
    svc, _ = make_service()
    fake.script["anthropic"] = ["stream_error"]
    got: list[str] = []
    with pytest.raises(Unavailable):
        async for item in svc.stream(req()):
            got.append(item.delta)  # type: ignore[union-attr]
    assert got == ["Hello", " from", " the fake"]
    assert fake.hits["ollama"] == 0


async def test_metrics_show_requests_fallbacks_breaker_and_budget(  # type: ignore[no-untyped-def]
    make_service, fake: FakeProviders, config_dir: Path
) -> None:
    from prometheus_client import REGISTRY

    def value(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    (config_dir / "budget.toml").write_text("[roles.metrics-role]\nweekly_cents = 10\n")
    svc, _ = make_service(providers=("anthropic", "ollama"))
    before_ok = value(
        "vapora_llm_requests_total", provider="ollama", model="llama3.1", role="metrics-role", outcome="ok"
    )
    before_fb = value("vapora_llm_fallbacks_total", provider="anthropic", reason="unavailable")
    fake.script["anthropic"] = ["500"] * 3
    await svc.complete(req(role="metrics-role"))
    await svc.complete(req(role="metrics-role"))
    assert value("vapora_llm_breaker_state", provider="anthropic") == 2
    assert value("vapora_llm_fallbacks_total", provider="anthropic", reason="unavailable") == before_fb + 2
    assert (
        value("vapora_llm_requests_total", provider="ollama", model="llama3.1", role="metrics-role", outcome="ok")
        == before_ok + 2
    )
    svc.breakers.get("anthropic").success()
    result = await svc.complete(req(role="metrics-role"))
    assert result.provider == "anthropic"
    assert value("vapora_llm_budget_utilization", role="metrics-role", window="weekly") == pytest.approx(
        result.cost_cents / 10
    )
    assert value(
        "vapora_llm_cost_cents_total", provider="anthropic", model="claude-sonnet-4-5", role="metrics-role"
    ) == pytest.approx(result.cost_cents)
