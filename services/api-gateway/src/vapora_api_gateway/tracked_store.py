"""The gateway's store: no query is ever abandoned mid-flight, and close waits for all of them.

An embedded SurrealDB query runs on the engine's own (tokio) threads. If the request that
started it is cancelled (a client hangs up, shutdown cancels a slow handler) the query still
runs; if the store is then closed and the interpreter exits while it does, the engine's
thread calls back into a finalized interpreter and the process dies with SIGABRT. So every
query here is shielded from cancellation and tracked, and :meth:`close` first waits for the
queries in flight.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from vapora_core.store import Store

log = logging.getLogger("vapora.gateway.store")


class TrackedStore(Store):
    def __init__(self, url: str, namespace: str, *, user: str = "", password: str = "", drain_s: float = 10.0):
        super().__init__(url, namespace, user=user, password=password)
        self._inflight: set[asyncio.Future[list[Any]]] = set()
        self._drain_s = drain_s

    async def execute(
        self, sql: str, vars: Mapping[str, Any] | None = None, *, retry_conflicts: bool = True
    ) -> list[Any]:
        query = asyncio.ensure_future(super().execute(sql, vars, retry_conflicts=retry_conflicts))
        self._inflight.add(query)
        query.add_done_callback(self._finished)
        return await asyncio.shield(query)

    def _finished(self, query: asyncio.Future[list[Any]]) -> None:
        self._inflight.discard(query)
        if not query.cancelled():
            query.exception()  # seen here too, for callers that went away

    @property
    def in_flight(self) -> int:
        return len(self._inflight)

    async def close(self) -> None:
        if self._inflight:
            log.info("waiting for %d store queries in flight before closing", len(self._inflight))
            _, pending = await asyncio.wait(set(self._inflight), timeout=self._drain_s)
            if pending:
                log.error("%d store queries still running after %.0f s; closing anyway", len(pending), self._drain_s)
        await super().close()
