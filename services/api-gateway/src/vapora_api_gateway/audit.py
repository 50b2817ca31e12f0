"""The audit log: every state-changing request (actor, action, resource, result, time).

Entries are put on a write-behind queue (:class:`vapora_core.batching.Batcher`) written every
``flush_interval_s`` or once ``max_batch`` wait, so auditing does not cost a request a store round
trip; an entry that cannot be written is logged and counted, never raised to the request.
:meth:`AuditLog.flush` writes what is queued (a read of the log sees every entry made before it);
:meth:`AuditLog.stop` writes what is still queued.
"""

from __future__ import annotations

from typing import Any

from vapora_api_gateway.clock import iso, now_ns
from vapora_api_gateway.repository import Repository
from vapora_api_gateway.text import escape
from vapora_core.batching import Batcher


class AuditLog:
    def __init__(self, repo: Repository, *, flush_interval_s: float = 0.05, max_batch: int = 500) -> None:
        self._writer: Batcher[dict[str, Any], None] = Batcher(
            repo.insert_audit, name="audit", linger_s=flush_interval_s, flush_at=max_batch, max_batch=max_batch
        )

    def record(
        self, *, actor: str, action: str, method: str, path: str, resource: str, status: int, workspace_id: str
    ) -> None:
        """Queue one entry. The request may have been refused for the very text it carried (a path
        holding ``%00``): its strings are kept escaped, so the entry is written and stays readable."""
        ns = now_ns()
        result = "ok" if status < 400 else ("denied" if status in (401, 403, 404) else "error")
        self._writer.put(
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

    async def flush(self) -> None:
        await self._writer.flush()

    async def stop(self) -> None:
        await self._writer.close()
