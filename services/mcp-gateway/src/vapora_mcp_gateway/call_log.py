"""The call log: each call's record, a ``call_log`` row and an ``McpCall`` event, written behind
the call's answer.

:meth:`CallLog.record` puts a record on a write-behind queue (:class:`vapora_core.batching.Batcher`)
and returns at once: a call is answered without waiting for a store round trip or a JetStream
acknowledgement. The queue is written every ``flush_s`` (or at once when 256 wait): the rows in
one ``INSERT``, then one ``McpCall`` per record (message id = call id, each publish retried).

What is guaranteed (the call log is an audit record, docs/mcp-gateway.md):

- a read of the log (:meth:`list_calls`) first writes what is queued: it sees every call
  answered before it;
- :meth:`close` (a graceful stop, after the servers stopped taking calls) writes and publishes
  everything queued;
- a record the store refuses is still published, and a record that cannot be published is still
  stored; either failure is logged and counted (``vapora_write_behind_failures_total{writer=
  "mcp-calls"}``, ``vapora_mcp_publish_failures_total``), never raised to the call;
- a crash of the process (SIGKILL, out of memory) loses the records still queued: those of the
  calls answered in the last ``flush_s`` at most. The calls themselves happened and were answered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from vapora_core.batching import Batcher
from vapora_mcp_gateway import metrics
from vapora_mcp_gateway.models import CallRecord
from vapora_mcp_gateway.repository import Repository

log = logging.getLogger("vapora.mcp.call_log")

Publish = Callable[[CallRecord], Awaitable[None]]


class CallLog:
    def __init__(self, repo: Repository, publish: Publish, *, flush_s: float) -> None:
        self._repo = repo
        self._publish = publish
        self._queue: Batcher[CallRecord, None] = Batcher(self._write, name="mcp-calls", linger_s=flush_s)

    def record(self, rec: CallRecord) -> None:
        """Queue ``rec`` for the log and the bus; returns at once."""
        self._queue.put(rec)

    async def list_calls(
        self, workspace_id: str, *, server: str = "", agent_id: str = "", task_id: str = "", limit: int = 100
    ) -> list[CallRecord]:
        await self._queue.flush()  # read your own writes
        return await self._repo.list_calls(workspace_id, server=server, agent_id=agent_id, task_id=task_id, limit=limit)

    async def close(self) -> None:
        """Refuse new records and write and publish those queued."""
        await self._queue.close()

    async def _write(self, records: list[CallRecord]) -> list[None]:
        """One batch: the rows in one statement, then the events. A batch the store refuses is
        raised unpublished (the queue writes each record alone); a record refused alone is
        published all the same, then raised (logged and counted as lost from the log)."""
        try:
            await self._repo.record_calls(records)
        except Exception:
            if len(records) == 1:
                await self._send(records)
            raise
        await self._send(records)
        return [None] * len(records)

    async def _send(self, records: list[CallRecord]) -> None:
        results = await asyncio.gather(*(self._publish(r) for r in records), return_exceptions=True)
        for rec, result in zip(records, results, strict=True):
            if isinstance(result, BaseException):
                metrics.PUBLISH_FAILURES.labels(rec.server).inc()
                log.error("could not publish call %s of %s.%s: %s", rec.id, rec.server, rec.tool, result)
