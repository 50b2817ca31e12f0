"""Write-behind batching: many callers, one store round trip. The one batcher of every service.

Items come in two ways and go out through one writer:

- ``submit`` / ``submit_many``: the caller awaits its item's outcome, the result ``write_many``
  gave for it or the error that failed it (a task row the gateway stores, an assignment the
  coordinator creates).
- ``put``: fire and forget, for what must not hold up the request that made it (an audit entry,
  a usage record). The item goes with the next batch; if it cannot be written it is logged and
  counted in ``vapora_write_behind_failures_total{writer}``, never raised to whoever put it.

One writer at a time: the first item that finds no writer starts one, and the items that arrive
while a batch is being written go together in the next, so under load a round trip carries many
items. A new batch may linger ``linger_s`` for company: a round trip to the embedded store costs
about the same however little it carries (``bench/bench_store.py``), and what is put rather than
awaited can wait that long (a write-behind queue flushed every ``linger_s``). A lingering batch is
written at once when ``flush_at`` items wait (with as many submitters as that no more company can
come, and the linger must not cap the rate at ``flush_at / linger_s`` items a second), or on
:meth:`flush` and :meth:`close`. ``yield_first`` lets the event loop run once before the first
batch is taken, so that callers woken together (requests read in one turn) share it.

A batch that ``write_many`` refuses as a whole is written again item by item, so one bad item
fails only its own caller. ``on_write(items, seconds)`` measures every round trip, whatever its
outcome. A caller that is cancelled (a client hanging up) does not cancel the batch its item is
in: the writer is a task of its own, and the item is written.

:meth:`flush` returns once everything queued before it is written (read your own writes);
:meth:`close` refuses new items (``submit``: :class:`Unavailable`; ``put``: logged and counted)
and returns once everything already taken is written.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from vapora_core.errors import Unavailable
from vapora_core.metrics import WRITE_BEHIND_FAILURES

log = logging.getLogger("vapora.batching")

MAX_BATCH = 256

In = TypeVar("In")
Out = TypeVar("Out")


class Batcher(Generic[In, Out]):
    """Calls ``write_many`` (one result per item, in order) with what has queued up."""

    def __init__(
        self,
        write_many: Callable[[list[In]], Awaitable[Sequence[Out]]],
        *,
        name: str = "batch",
        max_batch: int = MAX_BATCH,
        linger_s: float = 0.0,
        flush_at: int | None = None,
        yield_first: bool = False,
        on_write: Callable[[int, float], None] | None = None,
    ) -> None:
        self.write_many = write_many
        self.name = name
        self.on_write = on_write  # (items, seconds) of every round trip, whatever its outcome
        self.max_batch = max_batch
        self.linger_s = linger_s
        self.flush_at = min(max_batch, flush_at or max_batch)
        self.yield_first = yield_first
        self._writer_name = f"{name}-writer"
        self._pending: list[tuple[In, asyncio.Future[Out]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._lingering: asyncio.Future[None] | None = None
        self._closed = False
        self._queued = 0  # items ever taken; the writer settles them in this order
        self._settled = 0
        self._flushes: list[tuple[int, asyncio.Future[None]]] = []  # (items to settle, waiter)
        self._failures = WRITE_BEHIND_FAILURES.labels(name)

    async def submit(self, item: In) -> Out:
        outcome = (await self.submit_many([item]))[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def submit_many(self, items: Sequence[In]) -> list[Out | Exception]:
        """The outcome of each of ``items``, submitted together (written in as few round trips as
        the batch size allows): its result, or the error that failed it (a batch the store refuses
        is written again item by item, so one bad item fails alone)."""
        if self._closed:
            raise Unavailable(f"the {self.name} writer is shut down")
        if not items:
            return []
        futures = self._take(items)
        outcomes: list[Out | Exception] = []
        for future in futures:
            try:
                outcomes.append(await future)
            except Exception as exc:
                outcomes.append(exc)
        return outcomes

    def put(self, item: In) -> None:
        """Queue ``item`` for the next batch and return at once; a failure is logged and counted."""
        if self._closed:
            self._lost(Unavailable(f"the {self.name} writer is shut down"))
            return
        self._take([item])[0].add_done_callback(self._report)

    async def flush(self) -> None:
        """Write what is queued now, without lingering; return once all of it is written."""
        if self._settled >= self._queued:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._flushes.append((self._queued, waiter))
        self._wake_writer()
        await waiter

    async def close(self) -> None:
        """Refuse new items and return once every item already taken is written."""
        self._closed = True
        await self.flush()

    # -- the writer ----------------------------------------------------------------------

    def _take(self, items: Sequence[In]) -> list[asyncio.Future[Out]]:
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[Out]] = [loop.create_future() for _ in items]
        self._pending.extend(zip(items, futures, strict=True))
        self._queued += len(futures)
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._write_all(), name=self._writer_name)
        elif len(self._pending) >= self.flush_at and self._lingering is not None:
            _wake(self._lingering)
        return futures

    def _wake_writer(self) -> None:
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_all(), name=self._writer_name)
        elif self._lingering is not None:
            _wake(self._lingering)

    async def _write_all(self) -> None:
        if self.yield_first:
            await asyncio.sleep(0)
        if self.linger_s > 0 and len(self._pending) < self.flush_at and not self._flushes:
            loop = asyncio.get_running_loop()
            self._lingering = loop.create_future()
            timer = loop.call_later(self.linger_s, _wake, self._lingering)
            try:
                await self._lingering
            finally:
                timer.cancel()
                self._lingering = None
        while self._pending:
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
            try:
                await self._write(batch)
            finally:
                self._settled += len(batch)
                if self._flushes:
                    self._release_flushes()

    async def _write(self, batch: list[tuple[In, asyncio.Future[Out]]]) -> None:
        started = time.perf_counter()
        try:
            results = await self.write_many([item for item, _ in batch])
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as exc:
            self._observe(len(batch), started)
            if len(batch) == 1:
                if not batch[0][1].done():
                    batch[0][1].set_exception(exc)
                return
            log.warning("%s: a batch of %d was refused (%s); writing each item alone", self.name, len(batch), exc)
            for one in batch:
                await self._write([one])
            return
        self._observe(len(batch), started)
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)

    def _observe(self, items: int, started: float) -> None:
        if self.on_write is not None:
            self.on_write(items, time.perf_counter() - started)

    def _release_flushes(self) -> None:
        waiting = []
        for target, waiter in self._flushes:
            if target <= self._settled:
                if not waiter.done():
                    waiter.set_result(None)
            else:
                waiting.append((target, waiter))
        self._flushes = waiting

    # -- what was put --------------------------------------------------------------------

    def _report(self, future: asyncio.Future[Out]) -> None:
        if not future.cancelled() and (exc := future.exception()) is not None:
            self._lost(exc)

    def _lost(self, exc: BaseException) -> None:
        self._failures.inc()
        log.error("%s: an item could not be written and is lost: %s", self.name, exc)


def _wake(lingering: asyncio.Future[None]) -> None:
    if not lingering.done():
        lingering.set_result(None)
