"""The router as a process would run it: real nats-server, embedded SurrealDB, gRPC over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from conftest import keyed_settings

from vapora.llm.v1 import llm_pb2, llm_pb2_grpc
from vapora_core.bus import Bus, Delivery
from vapora_core.bus.topology import ConsumerSpec
from vapora_core.grpc import channel, check_health
from vapora_llm_router.app import RouterApp
from vapora_testing.apps import grpc_stub, started
from vapora_testing.fake_providers import TEXT, FakeProviders
from vapora_testing.polling import eventually


def request(**kw: object) -> llm_pb2.CompleteRequest:
    base: dict[str, object] = {
        "request_id": "req-1",
        "workspace_id": "ws-1",
        "task_id": "t-1",
        "agent_id": "agent-1",
        "role": "developer",
        "task_type": "coding",
        "max_tokens": 50,
        "messages": [llm_pb2.ChatMessage(role="user", content="write a haiku about queues")],
    }
    base.update(kw)
    return llm_pb2.CompleteRequest(**base)  # type: ignore[arg-type]


@pytest.fixture
async def app(fake: FakeProviders, config_dir: Path, nats_url: str, store_url: str) -> AsyncIterator[RouterApp]:
    (config_dir / "budget.toml").write_text("[roles.developer]\nweekly_cents = 100\nmonthly_cents = 1000\n")
    settings = keyed_settings(
        fake.url,
        config_dir,
        nats_url=nats_url,
        store_url=store_url,
        grpc_port=0,
        usage_flush_s=0.05,
        shutdown_grace_s=1.0,
    )
    async with started(RouterApp(settings)) as a:
        yield a


@pytest.fixture
async def stub(app: RouterApp) -> AsyncIterator[llm_pb2_grpc.LlmRouterStub]:
    async with grpc_stub(app.grpc_port, llm_pb2_grpc.LlmRouterStub) as stub:
        yield stub


async def test_complete_answers_and_publishes_usage(app: RouterApp, stub, bus: Bus) -> None:  # type: ignore[no-untyped-def]
    assert await check_health(f"127.0.0.1:{app.grpc_port}", "vapora.llm.v1.LlmRouter")
    got: list[llm_pb2.LlmUsage] = []

    async def on_usage(msg: llm_pb2.LlmUsage, _: Delivery) -> None:
        got.append(msg)

    spec = ConsumerSpec(durable="test-usage", stream="LLM", filter_subjects=("llm.usage.developer",))
    await bus.subscribe(spec, llm_pb2.LlmUsage, on_usage)
    reply = await stub.Complete(request())
    assert reply.text == "".join(TEXT)
    assert (reply.provider, reply.model) == ("anthropic", "claude-sonnet-4-5")
    assert (reply.input_tokens, reply.output_tokens) == (10, 5)
    assert reply.cost_cents > 0
    assert reply.decision.reasons and reply.decision.provider == "anthropic"
    await eventually(lambda: got, timeout=5.0, what="the llm.usage event")
    assert got and got[0].request_id == "req-1" and got[0].workspace_id == "ws-1"
    assert got[0].provider == "anthropic" and got[0].success and got[0].cost_cents == pytest.approx(reply.cost_cents)
    assert got[0].task_type == "coding" and got[0].agent_id == "agent-1"


async def test_stream_complete_streams_deltas_then_the_final_response(stub) -> None:  # type: ignore[no-untyped-def]
    deltas, finals = [], []
    async for item in stub.StreamComplete(request(task_type="documentation")):
        if item.HasField("final"):
            finals.append(item.final)
        else:
            deltas.append(item.delta)
    assert deltas == TEXT
    assert len(finals) == 1 and finals[0].provider == "gemini" and finals[0].text == "".join(TEXT)


async def test_select_provider_returns_reasons_without_calling(stub, fake: FakeProviders) -> None:  # type: ignore[no-untyped-def]
    decision = await stub.SelectProvider(request(task_type="documentation"))
    assert decision.provider == "gemini"
    assert any("rule docs" in r for r in decision.reasons)
    assert list(decision.fallback_chain)[:2] == ["ollama", "openai"]
    assert sum(fake.hits.values()) == 0


async def test_bad_input_is_invalid_argument_naming_the_field(stub) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as info:
        await stub.Complete(request(messages=[]))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "messages" in info.value.details()


async def test_budget_status_reflects_spend_and_survives_a_restart(  # type: ignore[no-untyped-def]
    app: RouterApp, stub, fake: FakeProviders, config_dir: Path, nats_url: str, store_url: str
) -> None:
    reply = await stub.Complete(request())
    status = await stub.GetBudgetStatus(llm_pb2.GetBudgetStatusRequest(role="developer"))
    (budget,) = status.budgets
    assert budget.role == "developer" and budget.state == "normal"
    windows = {w.window: w for w in budget.windows}
    assert windows["weekly"].limit_cents == 100 and windows["monthly"].limit_cents == 1000
    assert windows["weekly"].spent_cents == pytest.approx(reply.cost_cents)
    assert windows["weekly"].resets_at.seconds > 0
    everyone = await stub.GetBudgetStatus(llm_pb2.GetBudgetStatusRequest())
    assert [b.role for b in everyone.budgets] == ["developer"]

    await app.stop()
    again = RouterApp(app.settings)
    await again.start()
    try:
        async with channel(f"127.0.0.1:{again.grpc_port}") as ch:
            st = await llm_pb2_grpc.LlmRouterStub(ch).GetBudgetStatus(llm_pb2.GetBudgetStatusRequest(role="developer"))
        weekly = next(w for w in st.budgets[0].windows if w.window == "weekly")
        assert weekly.spent_cents == pytest.approx(reply.cost_cents)
    finally:
        await again.stop()


async def test_reload_applies_a_budget_change_and_refuses_a_broken_file(  # type: ignore[no-untyped-def]
    app: RouterApp, stub, config_dir: Path
) -> None:
    from vapora_core.errors import ConfigError

    async def weekly_limit() -> float:
        st = await stub.GetBudgetStatus(llm_pb2.GetBudgetStatusRequest(role="developer"))
        return next(w.limit_cents for w in st.budgets[0].windows if w.window == "weekly")

    assert await weekly_limit() == 100
    (config_dir / "budget.toml").write_text("[roles.developer]\nweekly_cents = 250\n")
    await app.reload()  # what SIGHUP does
    assert await weekly_limit() == 250
    (config_dir / "budget.toml").write_text("[roles.developer]\nweekly_cents = 'lots'\n")
    with pytest.raises(ConfigError, match=r"budget.toml: roles.developer.weekly_cents"):
        await app.reload()
    assert await weekly_limit() == 250
    reply = await stub.Complete(request())  # still serving
    assert reply.provider == "anthropic"
