"""Group inserts that arrive together into one ``INSERT`` statement, each caller awaiting its row.

The embedded store costs about the same per statement whatever its size, so under load
many requests share one round trip: a caller's ``insert`` joins the batch being gathered
and returns once the statement that holds its row has been committed (or raises what
went wrong with its row). One batch is written at a time; rows that arrive meanwhile form
the next, so batches grow with the load and a lone request waits for nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from vapora_core.errors import AlreadyExists, InvalidArgument, Unavailable
from vapora_core.store import Store

log = logging.getLogger("vapora.gateway.batcher")


class InsertBatcher:
    def __init__(self, store: Store, table: str, *, max_batch: int = 256) -> None:
        self.store = store
        self.table = table
        self.max_batch = max_batch
        self._pending: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._closed = False

    async def insert(self, row: dict[str, Any]) -> None:
        """Insert ``row`` (its ``id`` becomes the record id) in the next batch; return when it is stored."""
        if self._closed:
            raise Unavailable(f"the {self.table} writer is shut down")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_retrieve)
        self._pending.append((row, future))
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._run(), name=f"{self.table}-batch-writer")
        await asyncio.shield(future)  # a cancelled request does not cancel the batch it is in

    async def _run(self) -> None:
        """One writer at a time: rows that arrive while a batch is being written form the next one."""
        try:
            await asyncio.sleep(0)  # let the requests that are already readable join the first batch
            while self._pending:
                batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
                await self._write(batch)
        finally:
            self._writer = None

    async def _write(self, batch: list[tuple[dict[str, Any], asyncio.Future[None]]]) -> None:
        try:
            await self.store.execute(f"INSERT INTO {self.table} $rows RETURN NONE", {"rows": [r for r, _ in batch]})
        except Exception as exc:  # one bad row must not fail the others: write them one by one
            if len(batch) == 1:
                _settle(batch[0][1], _named(exc, self.table))
                return
            log.warning("batch insert of %d %s rows failed (%s); inserting one by one", len(batch), self.table, exc)
            for row, future in batch:
                try:
                    await self.store.execute(f"INSERT INTO {self.table} $rows RETURN NONE", {"rows": [row]})
                except Exception as one:
                    _settle(future, _named(one, self.table))
                else:
                    _settle(future, None)
            return
        for _, future in batch:
            _settle(future, None)

    async def close(self) -> None:
        """Refuse new rows and wait until every row already taken is written."""
        self._closed = True
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._writer)


def _named(exc: Exception, table: str) -> Exception:
    text = str(exc).lower()
    if isinstance(exc, InvalidArgument) and ("already contains" in text or "already exists" in text):
        return AlreadyExists(f"the {table} already exists")
    return exc


def _retrieve(future: asyncio.Future[None]) -> None:
    """Mark the outcome seen, so a caller that went away leaves no 'never retrieved' warning."""
    if not future.cancelled():
        future.exception()


def _settle(future: asyncio.Future[None], exc: Exception | None) -> None:
    if future.done():
        return
    if exc is None:
        future.set_result(None)
    else:
        future.set_exception(exc)
