"""Group commit: many handlers, one store round trip.

Handlers submit an item (or several at once) and await its outcome. While one batch is being
written, the items that arrive wait and go together in the next one, so under load a round trip
carries many items. A batcher may also make a new batch linger ``linger_s`` for company: a round
trip to the embedded store costs ~0.2 ms of CPU however little it carries
(``bench/bench_store.py``). A lingering batch is written at once when ``flush_at`` items are
waiting: with as many submitters as that, no more company can come, and the linger must not cap
the rate at ``flush_at / linger_s`` items a second.

Each round trip is measured (``vapora_coordinator_store_write_seconds`` and
``vapora_coordinator_store_batch_items``, by kind): how long the store takes, and how many
items a round trip carries, are what a task's latency and the coordinator's CPU per task
depend on.

A batch that the store refuses as a whole (not a conflict, which the store retries) is
written again item by item, so one bad item fails only its own handler.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

from vapora_swarm_coordinator import metrics
from vapora_swarm_coordinator.repository import AssignmentRepository, Create, Finish, Holder, Write

MAX_BATCH = 256
CREATE_LINGER_S = 0.0  # on the path of a task's latency: batches form while the previous one is written
FINISH_LINGER_S = 0.02  # only the DONE event waits on a finish

In = TypeVar("In")
Out = TypeVar("Out")
Row = dict[str, Any]


class Batcher(Generic[In, Out]):
    """Calls ``write_many`` (one result per item, in order) with what has queued up."""

    def __init__(
        self,
        write_many: Callable[[list[In]], Awaitable[Sequence[Out]]],
        *,
        max_batch: int = MAX_BATCH,
        linger_s: float = 0.0,
        flush_at: int | None = None,
        on_write: Callable[[int, float], None] | None = None,
    ) -> None:
        self.write_many = write_many
        self.on_write = on_write  # (items, seconds) of every round trip, whatever its outcome
        self.max_batch = max_batch
        self.linger_s = linger_s
        self.flush_at = min(max_batch, flush_at or max_batch)
        self._pending: list[tuple[In, asyncio.Future[Out]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._lingering: asyncio.Future[None] | None = None

    async def submit(self, item: In) -> Out:
        outcome = (await self.submit_many([item]))[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def submit_many(self, items: Sequence[In]) -> list[Out | Exception]:
        """The outcome of each of ``items``, submitted together (written in as few round trips as
        the batch size allows): its result, or the error that failed it (a batch the store refuses
        is written again item by item, so one bad item fails alone)."""
        if not items:
            return []
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[Out]] = [loop.create_future() for _ in items]
        self._pending.extend(zip(items, futures, strict=True))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all())
        elif len(self._pending) >= self.flush_at and self._lingering is not None:
            _wake(self._lingering)
        outcomes: list[Out | Exception] = []
        for future in futures:
            try:
                outcomes.append(await future)
            except Exception as exc:
                outcomes.append(exc)
        return outcomes

    async def _write_all(self) -> None:
        if self.linger_s > 0 and len(self._pending) < self.flush_at:
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
            await self._write(batch)

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


def _wake(lingering: asyncio.Future[None]) -> None:
    if not lingering.done():
        lingering.set_result(None)


class GroupCommit:
    """The coordinator's batched writes: first assignments, and finishes.

    Each kind has its own writer, so a first assignment (on the path of a task's latency)
    never waits behind a batch of finishes. First assignments do not linger: under load they
    gather while the previous batch is written, and at low load a linger is pure latency. Finishes
    linger, since nobody waits on them but the DONE event, and fewer round trips leave more
    CPU to assign. ``finish_flush_at`` is how many finishes can be submitted at once (the
    execution workers): that many waiting end the linger. The finish of a workflow stage's task
    does not linger (``linger=False``, a writer of its own): the stages after it wait on it.
    """

    def __init__(
        self,
        repo: AssignmentRepository,
        *,
        max_batch: int = MAX_BATCH,
        create_linger_s: float = CREATE_LINGER_S,
        finish_linger_s: float = FINISH_LINGER_S,
        finish_flush_at: int | None = None,
    ) -> None:
        self._creates: Batcher[Write, bool | Holder | None] = Batcher(
            repo.write_each, max_batch=max_batch, linger_s=create_linger_s, on_write=_measured("create")
        )
        self._finishes: Batcher[Write, bool | Holder | None] = Batcher(
            repo.write_each,
            max_batch=max_batch,
            linger_s=finish_linger_s,
            flush_at=finish_flush_at,
            on_write=_measured("finish"),
        )
        self._prompt_finishes: Batcher[Write, bool | Holder | None] = Batcher(
            repo.write_each, max_batch=max_batch, on_write=_measured("finish")
        )

    async def create(self, row: Row) -> bool:
        """Store ``row`` as the task's first assignment; False when the task already has one."""
        return bool(await self._creates.submit(Create(row)))

    async def create_many(self, rows: Sequence[Row]) -> list[bool | Exception]:
        """:meth:`create` for each of ``rows``, submitted together: whether it was created, or the error."""
        outcomes = await self._creates.submit_many([Create(row) for row in rows])
        return [outcome if isinstance(outcome, Exception) else bool(outcome) for outcome in outcomes]

    async def finish(self, task_id: str, job_id: str, changes: Row, *, linger: bool = True) -> Holder | None:
        """Apply ``changes`` only if ``job_id`` still holds the task (see ``AssignmentRepository.finish``);
        ``linger=False``: in a batch that does not wait for company."""
        writer = self._finishes if linger else self._prompt_finishes
        result = await writer.submit(Finish(task_id, job_id, changes))
        return result if isinstance(result, Holder) else None


def _measured(kind: str) -> Callable[[int, float], None]:
    """Records one round trip of ``kind`` in the store-write metrics (their children looked up once)."""
    seconds, items = metrics.STORE_WRITE_SECONDS.labels(kind), metrics.STORE_BATCH_ITEMS.labels(kind)

    def observe(n: int, took: float) -> None:
        seconds.observe(took)
        items.observe(n)

    return observe
