"""Settled usage, written behind the request: ledger rows in one INSERT, one LlmUsage per record."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from prometheus_client import REGISTRY

from vapora.llm.v1 import llm_pb2
from vapora_core.bus import Bus, Delivery
from vapora_core.bus.topology import ConsumerSpec
from vapora_core.store import Store
from vapora_llm_router.repository import NAMESPACE, SCHEMA, UsageRepository
from vapora_llm_router.routing import RouteRequest
from vapora_llm_router.service import UsageRecord
from vapora_llm_router.usage import write_behind
from vapora_testing.polling import eventually


def record(request_id: str, **kw: object) -> UsageRecord:
    fields: dict[str, object] = {
        "request": RouteRequest(request_id=request_id, workspace_id="ws-1", role="developer", task_type="coding"),
        "provider": "anthropic",
        "model": "claude-sonnet-4-5",
        "input_tokens": 10,
        "output_tokens": 5,
        "cost_cents": 0.5,
        "success": True,
        "latency_ms": 12,
        "fallback": False,
        "at": datetime.now(UTC),
    }
    fields.update(kw)
    return UsageRecord(**fields)  # type: ignore[arg-type]


def sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_record_the_ledger_refuses_is_still_published_and_counted_and_the_rest_are_stored(
    store_url: str, bus: Bus
) -> None:
    store = Store(store_url, NAMESPACE)
    await store.open(SCHEMA)
    got: list[str] = []

    async def on_usage(msg: llm_pb2.LlmUsage, _: Delivery) -> None:
        got.append(msg.request_id)

    spec = ConsumerSpec(durable="test-usage-ledger", stream="LLM", filter_subjects=("llm.usage.developer",))
    await bus.subscribe(spec, llm_pb2.LlmUsage, on_usage)
    store_failures = ("vapora_llm_usage_write_failures_total", {"sink": "store"})
    lost = ("vapora_write_behind_failures_total", {"writer": "usage"})
    before = sample(*store_failures), sample(*lost)
    try:
        queue = write_behind(UsageRepository(store), bus, flush_s=0.05)
        queue.put(record("r1"))
        queue.put(record("bad", error=None))  # the ledger's error field is a string: refused
        queue.put(record("r2"))
        await queue.close()  # what is queued is written before close returns
        stored = {r["request_id"] for r in await store.query("SELECT request_id FROM usage")}
        assert stored == {"r1", "r2"}
        await eventually(lambda: len(got) >= 3, timeout=5.0, what="three llm.usage events")
        await asyncio.sleep(0.2)  # anything published twice would have arrived by now
        assert sorted(got) == ["bad", "r1", "r2"]  # each once: the knowledge graph still hears of "bad"
        assert sample(*store_failures) - before[0] == 1
        assert sample(*lost) - before[1] == 1
    finally:
        await store.close()
