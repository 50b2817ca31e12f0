"""Write-behind of settled usage: the ledger row in the store and ``LlmUsage`` on the bus.

The budget itself is settled in memory synchronously (see budget); this only takes the
persistence and the event off the request's path. ``stop`` drains what is queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Protocol

from google.protobuf.timestamp_pb2 import Timestamp

from vapora.llm.v1 import llm_pb2
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


class UsageWriter:
    def __init__(self, repo: UsageRepository | None, bus: Publisher | None, *, flush_s: float = 0.2) -> None:
        self._repo = repo
        self._bus = bus
        self._flush_s = flush_s
        self._queue: asyncio.Queue[UsageRecord] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def submit(self, record: UsageRecord) -> None:
        self._queue.put_nowait(record)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="usage-writer")

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    async def _run(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self._flush_s)
            await self.flush()

    async def flush(self) -> None:
        batch: list[UsageRecord] = []
        while not self._queue.empty():
            batch.append(self._queue.get_nowait())
        if not batch:
            return
        if self._repo is not None:
            try:
                await self._repo.insert_many([to_row(r) for r in batch])
            except Exception as exc:
                metrics.USAGE_WRITE_FAILURES.labels("store").inc(len(batch))
                log.error("could not store %d usage records: %s", len(batch), exc)
        if self._bus is not None:
            results = await asyncio.gather(*(self._publish(r) for r in batch), return_exceptions=True)
            failed = [r for r in results if isinstance(r, BaseException)]
            if failed:
                metrics.USAGE_WRITE_FAILURES.labels("bus").inc(len(failed))
                log.error("could not publish %d usage events: %s", len(failed), failed[0])

    async def _publish(self, r: UsageRecord) -> None:
        assert self._bus is not None
        await self._bus.publish(subjects.llm_usage(r.request.role or "unknown"), to_event(r), msg_id=r.id)
