"""GetSpend: a workspace's calls per provider and model from the usage ledger, over real gRPC on
loopback with the real store: only that workspace, only since the time asked, most spent first."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from conftest import serving
from google.protobuf.timestamp_pb2 import Timestamp

from vapora.llm.v1 import llm_pb2, llm_pb2_grpc
from vapora_core.store import Store
from vapora_llm_router.repository import NAMESPACE, SCHEMA, UsageRepository
from vapora_llm_router.routing import RouteRequest
from vapora_llm_router.service import RouterService, UsageRecord
from vapora_llm_router.usage import to_row

NOW = datetime.now(UTC)


def row(
    n: int, ws: str, provider: str, model: str, cents: float, *, age: timedelta = timedelta(0)
) -> dict[str, object]:
    return to_row(
        UsageRecord(
            request=RouteRequest(request_id=f"r{n}", workspace_id=ws, role="developer", task_type="coding"),
            provider=provider,
            model=model,
            input_tokens=100 + n,
            output_tokens=10,
            cost_cents=cents,
            success=True,
            latency_ms=5,
            fallback=False,
            at=NOW - age,
        )
    )


@pytest.fixture
async def ledger(store_url: str) -> AsyncIterator[UsageRepository]:
    store = Store(store_url, NAMESPACE)
    await store.open(SCHEMA)
    repo = UsageRepository(store)
    await repo.insert_many(
        [
            row(1, "ws-1", "anthropic", "claude-sonnet-4-5", 1.5),
            row(2, "ws-1", "anthropic", "claude-sonnet-4-5", 2.0),
            row(3, "ws-1", "openai", "gpt-4.1-mini", 0.25),
            row(4, "ws-1", "offline", "offline", 0.0),
            row(5, "ws-1", "openai", "gpt-4.1-mini", 9.0, age=timedelta(days=40)),  # before the window
            row(6, "ws-2", "anthropic", "claude-sonnet-4-5", 50.0),  # another workspace's
        ]
    )
    try:
        yield repo
    finally:
        await store.close()


@pytest.fixture
async def stub(
    make_service: Callable[..., tuple[RouterService, list[UsageRecord]]], ledger: UsageRepository
) -> AsyncIterator[llm_pb2_grpc.LlmRouterStub]:
    svc, _ = make_service()
    async with serving(svc, ledger) as (_, s):
        yield s


def since(days: int) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(NOW - timedelta(days=days))
    return ts


async def test_spend_of_one_workspace_per_provider_and_model_since_the_time_asked(
    stub: llm_pb2_grpc.LlmRouterStub,
) -> None:
    reply = await stub.GetSpend(llm_pb2.GetSpendRequest(workspace_id="ws-1", since=since(30)))
    got = [(s.provider, s.model, s.calls, s.input_tokens, s.output_tokens, s.cost_cents) for s in reply.spend]
    assert got == [
        ("anthropic", "claude-sonnet-4-5", 2, 203, 20, 3.5),
        ("openai", "gpt-4.1-mini", 1, 103, 10, 0.25),
        ("offline", "offline", 1, 104, 10, 0.0),
    ]
    whole = await stub.GetSpend(llm_pb2.GetSpendRequest(workspace_id="ws-1"))
    assert [(s.model, s.calls, s.cost_cents) for s in whole.spend][:2] == [
        ("gpt-4.1-mini", 2, 9.25),
        ("claude-sonnet-4-5", 2, 3.5),
    ]
    nobody = await stub.GetSpend(llm_pb2.GetSpendRequest(workspace_id="ws-none", since=since(30)))
    assert list(nobody.spend) == []


async def test_spend_without_a_workspace_is_refused(stub: llm_pb2_grpc.LlmRouterStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetSpend(llm_pb2.GetSpendRequest())
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "workspace_id" in str(err.value.details())


async def test_a_router_without_a_ledger_says_spend_is_unavailable(
    make_service: Callable[..., tuple[RouterService, list[UsageRecord]]],
) -> None:
    svc, _ = make_service()
    async with serving(svc) as (_, s):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await s.GetSpend(llm_pb2.GetSpendRequest(workspace_id="ws-1"))
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
