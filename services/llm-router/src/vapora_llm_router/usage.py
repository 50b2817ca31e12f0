"""Write-behind of settled usage: the ledger row in the store and ``LlmUsage`` on the bus.

The budget itself is settled in memory synchronously (see budget); this only takes the
persistence and the event off the request's path: a write-behind queue
(:class:`vapora_core.batching.Batcher`) whose ``close`` writes what is queued.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from google.protobuf.timestamp_pb2 import Timestamp

from vapora.llm.v1 import llm_pb2
from vapora_core.batching import Batcher
from vapora_core.bus.topology import subjects
from vapora_llm_router import metrics
from vapora_llm_router.repository import UsageRepository
from vapora_llm_router.service import UsageRecord

log = logging.getLogger("vapora.llm_router.usage")


class Publisher(Protocol):
    async def publish(self, subject: str, message: Any, *, msg_id: str | None = None) -> Any: ...


def to_row(r: UsageRecord) -> dict[str, Any]:
    q = r.request
    return {
        "id": r.id,
        "request_id": q.request_id,
        "workspace_id": q.workspace_id,
        "task_id": q.task_id,
        "agent_id": q.agent_id,
        "role": q.role,
        "task_type": q.task_type,
        "provider": r.provider,
        "model": r.model,
        "input_tokens": r.input_tokens,
        "output_tokens": r.output_tokens,
        "cost_cents": float(r.cost_cents),
        "success": r.success,
        "fallback": r.fallback,
        "latency_ms": r.latency_ms,
        "error": r.error,
        "at": r.at,
    }


def to_event(r: UsageRecord) -> llm_pb2.LlmUsage:
    q = r.request
    at = Timestamp()
    at.FromDatetime(r.at)
    return llm_pb2.LlmUsage(
        request_id=q.request_id,
        workspace_id=q.workspace_id,
        task_id=q.task_id,
        agent_id=q.agent_id,
        role=q.role,
        task_type=q.task_type,
        provider=r.provider,
        model=r.model,
        input_tokens=r.input_tokens,
        output_tokens=r.output_tokens,
        cost_cents=r.cost_cents,
        success=r.success,
        latency_ms=r.latency_ms,
        fallback=r.fallback,
        at=at,
    )


def write_behind(repo: UsageRepository, bus: Publisher, *, flush_s: float) -> Batcher[UsageRecord, None]:
    """The queue settled usage is put on (``put`` does not wait), written every ``flush_s``:
    :class:`UsageLedger` stores the rows and publishes ``LlmUsage``."""
    return Batcher(UsageLedger(repo, bus).write, name="usage", linger_s=flush_s)


class UsageLedger:
    """Writes one batch of settled usage: the ledger rows in one INSERT, then one ``LlmUsage``
    per record, each published once.

    A batch the store refuses is raised without publishing, so the batcher writes each record
    alone; a record the store refuses even alone is published all the same (the knowledge graph
    still learns its cost) and raised, which the batcher logs and counts as lost from the
    ledger. Failures are counted in ``vapora_llm_usage_write_failures_total`` by sink.
    """

    def __init__(self, repo: UsageRepository, bus: Publisher) -> None:
        self._repo = repo
        self._bus = bus

    async def write(self, records: list[UsageRecord]) -> list[None]:
        try:
            await self._repo.insert_many([to_row(r) for r in records])
        except Exception:
            if len(records) == 1:
                metrics.USAGE_WRITE_FAILURES.labels("store").inc()
                await self._publish(records)
            raise
        await self._publish(records)
        return [None] * len(records)

    async def _publish(self, records: list[UsageRecord]) -> None:
        results = await asyncio.gather(*(self._publish_one(r) for r in records), return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            metrics.USAGE_WRITE_FAILURES.labels("bus").inc(len(failed))
            log.error("could not publish %d usage events: %s", len(failed), failed[0])

    async def _publish_one(self, r: UsageRecord) -> None:
        await self._bus.publish(subjects.llm_usage(r.request.role or "unknown"), to_event(r), msg_id=r.id)
