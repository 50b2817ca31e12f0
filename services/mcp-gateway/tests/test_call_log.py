"""The call log is written behind a call's answer, and loses nothing a graceful stop can keep."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import grpc
from prometheus_client import REGISTRY

from vapora.mcp.v1 import mcp_pb2, mcp_pb2_grpc
from vapora_core.bus import Bus, ConsumerSpec, Delivery
from vapora_core.jobtoken import bearer_metadata
from vapora_core.store import Store
from vapora_mcp_gateway.app import McpApp
from vapora_mcp_gateway.call_log import CallLog
from vapora_mcp_gateway.models import CallRecord
from vapora_mcp_gateway.repository import NAMESPACE, SCHEMA, Repository
from vapora_mcp_gateway.settings import McpSettings

WS = "ws-acme"  # the conftest's token is of agent-7 of this workspace
Token = Callable[..., str]
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def counter(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def listen(nats_url: str, durable: str) -> tuple[Bus, list[mcp_pb2.McpCall], asyncio.Event]:
    bus = Bus(nats_url, f"test-{durable}", graceful_timeout=1.0)
    seen: list[mcp_pb2.McpCall] = []
    got = asyncio.Event()

    async def on_call(msg: mcp_pb2.McpCall, delivery: Delivery) -> None:
        seen.append(msg)
        got.set()

    await bus.subscribe(
        ConsumerSpec(durable=durable, stream="MCP", filter_subjects=("mcp.calls.>",)), mcp_pb2.McpCall, on_call
    )
    await bus.start()
    return bus, seen, got


async def utc_now(app: McpApp, token: str) -> mcp_pb2.CallToolResponse:
    assert app.grpc is not None
    async with grpc.aio.insecure_channel(f"127.0.0.1:{app.grpc.port}") as channel:
        stub = mcp_pb2_grpc.McpGatewayStub(channel)
        request = mcp_pb2.CallToolRequest(server="sysinfo", tool="utc_now", arguments_json="{}")
        return await stub.CallTool(request, metadata=bearer_metadata(token))


async def test_a_call_is_answered_before_its_record_is_published_and_a_read_sees_it(
    settings: McpSettings, nats_url: str, token: Token
) -> None:
    app = McpApp(settings.model_copy(update={"mcp_call_log_flush_s": 30.0}))
    await app.start()
    listener, seen, got = await listen(nats_url, "test-behind")
    try:
        reply = await utc_now(app, token())
        assert not reply.is_error
        await asyncio.sleep(0.5)
        assert seen == []  # queued behind the answer: the batch lingers 30 s
        assert app.grpc is not None
        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.grpc.port}") as channel:
            log = await mcp_pb2_grpc.McpGatewayStub(channel).ListCalls(mcp_pb2.ListCallsRequest(workspace_id=WS))
        assert [(c.tool, c.outcome) for c in log.calls] == [("utc_now", "ok")]  # a read writes what waits
        await asyncio.wait_for(got.wait(), 10)
        assert [e.id for e in seen] == [log.calls[0].id]
    finally:
        await listener.stop()
        await app.stop()


async def test_a_graceful_stop_writes_and_publishes_every_queued_record(
    settings: McpSettings, nats_url: str, store_url: str, token: Token
) -> None:
    app = McpApp(settings.model_copy(update={"mcp_call_log_flush_s": 30.0}))
    await app.start()
    try:
        for _ in range(3):
            assert not (await utc_now(app, token())).is_error
    finally:
        await app.stop()
    listener, seen, _ = await listen(nats_url, "test-after-stop")
    store = Store(store_url, NAMESPACE)
    await store.open()
    try:
        rows = await Repository(store).list_calls(WS)
        assert len(rows) == 3
        for _ in range(100):
            if len(seen) == 3:
                break
            await asyncio.sleep(0.05)
        assert sorted(e.id for e in seen) == sorted(r.id for r in rows)
    finally:
        await store.close()
        await listener.stop()


def record(workspace_id: str = WS) -> CallRecord:
    return CallRecord(
        id=uuid.uuid4().hex,
        server="sysinfo",
        tool="utc_now",
        workspace_id=workspace_id,
        agent_id="agent-7",
        task_id="task-9",
        is_error=False,
        latency_ms=1,
        at=NOW,
        outcome="ok",
        via="grpc",
    )


async def test_a_record_the_store_refuses_is_still_published_and_one_not_published_still_stored(
    store_url: str,
) -> None:
    store = Store(store_url, NAMESPACE)
    await store.open(SCHEMA)
    good, refused, unpublished = record(), record(workspace_id=""), record()  # call_log asserts a workspace
    published: list[str] = []

    async def publish(rec: CallRecord) -> None:
        if rec.id == unpublished.id:
            raise ConnectionError("nats is down")
        published.append(rec.id)

    lost = counter("vapora_write_behind_failures_total", writer="mcp-calls")
    not_sent = counter("vapora_mcp_publish_failures_total", server="sysinfo")
    calls = CallLog(Repository(store), publish, flush_s=0.01)
    try:
        for rec in (good, refused, unpublished):
            calls.record(rec)
        await calls.close()
        assert sorted(published) == sorted([good.id, refused.id])
        assert sorted(c.id for c in await Repository(store).list_calls(WS)) == sorted([good.id, unpublished.id])
        assert counter("vapora_write_behind_failures_total", writer="mcp-calls") == lost + 1
        assert counter("vapora_mcp_publish_failures_total", server="sysinfo") == not_sent + 1
    finally:
        await store.close()
