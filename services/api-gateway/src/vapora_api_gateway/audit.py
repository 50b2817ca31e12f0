"""The audit log: every state-changing request (actor, action, resource, result, time).

Entries are queued and written in batches, so auditing does not cost a store round trip per
request; ``stop`` writes what is still queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from vapora_api_gateway.clock import iso, now_ns
from vapora_api_gateway.repository import Repository
from vapora_api_gateway.text import escape
from vapora_core.aio import cancel_and_wait

log = logging.getLogger("vapora.gateway.audit")


class AuditLog:
    def __init__(self, repo: Repository, *, flush_interval_s: float = 0.05, max_batch: int = 500) -> None:
        self.repo = repo
        self._queue: list[dict[str, Any]] = []
        self._wake = asyncio.Event()
        self._interval = flush_interval_s
        self._max_batch = max_batch
        self._task: asyncio.Task[None] | None = None

    def record(
        self, *, actor: str, action: str, method: str, path: str, resource: str, status: int, workspace_id: str
    ) -> None:
        """Queue one entry. The request may have been refused for the very text it carried (a path
        holding ``%00``): its strings are kept escaped, so the entry is written and stays readable."""
        ns = now_ns()
        result = "ok" if status < 400 else ("denied" if status in (401, 403, 404) else "error")
        self._queue.append(
            {
                "at": iso(ns),
                "at_ns": ns,
                "actor": escape(actor),
                "action": escape(action),
                "method": escape(method),
                "path": escape(path),
                "resource": escape(resource),
                "status": status,
                "result": result,
                "workspace_id": escape(workspace_id),
            }
        )
        if len(self._queue) >= self._max_batch:
            self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="audit-writer")

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
            try:
                await self.repo.store.execute("INSERT INTO audit $rows RETURN NONE", {"rows": batch})
            except Exception:
                log.exception("could not write %d audit entries", len(batch))

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        await self.flush()
