"""Task intake in priority order: one durable pull consumer per priority on ``TASKS``.

Each priority has a :class:`~vapora_core.bus.puller.Puller` that keeps up to ``buffer`` tasks
in memory or requested; workers always take the highest priority whose turn it is, up to
``batch`` buffered tasks of it at once, handled together (under a backlog a worker's turn
carries many tasks; at a light load, one). A lower priority is only taken once every higher
priority is known to be empty (its last pull request ended short or its last message said
``num_pending == 0``), so under a backlog critical goes before high before normal before low —
even across pull requests and restarts.

Outcomes match :mod:`vapora_core.bus` (:meth:`~vapora_core.bus.Bus.process_batch` settles each
task by its own outcome): a payload that does not decode, or a handler raising a non-retryable
error, is dead-lettered and acked; :class:`Hold` naks with its
delay (the task waits in the stream); a retryable or unexpected error naks with backoff
and is dead-lettered after the consumer's ``max_failures`` deliveries; on stop, tasks not yet
started are handed back (nak) at once.

Every fetched task not yet settled (buffered or being handled) gets an in-progress ack
every third of the ack wait, so a short ack wait (fast redelivery after a crash) never
redelivers a task this process still holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import replace
from typing import Any

from vapora.tasks.v1 import tasks_pb2
from vapora_core.aio import cancel_and_wait, finish_within
from vapora_core.bus import CONSUMERS, Bus, ConsumerSpec
from vapora_core.bus.bus import BatchHandler
from vapora_core.bus.puller import Puller, declare_consumer
from vapora_core.bus.topology import PRIORITIES

log = logging.getLogger("vapora.coordinator.intake")


def task_consumer(priority: str, *, buffer: int = 64, ack_wait_s: float | None = None) -> ConsumerSpec:
    """The durable consumer of one priority (``tasks.*.<priority>``), from the fleet topology."""
    spec = CONSUMERS.coordinator_tasks(priority, buffer=buffer)
    return spec if ack_wait_s is None else replace(spec, ack_wait_s=ack_wait_s)


class _Lane:
    def __init__(self, spec: ConsumerSpec) -> None:
        self.spec = spec
        self.buffer: deque[Any] = deque()
        self.known = False  # the consumer has answered since start
        self.more = True  # the consumer had messages left after the last one delivered
        self.puller: Puller | None = None

    @property
    def maybe_waiting(self) -> bool:
        """Tasks of this lane may exist that are not buffered yet."""
        return not self.buffer and (not self.known or self.more)


class PriorityIntake:
    def __init__(
        self,
        bus: Bus,
        handler: BatchHandler[tasks_pb2.TaskSubmitted],
        *,
        workers: int,
        buffer: int,
        batch: int = 1,
        service: str,
        ack_wait_s: float | None = None,
    ) -> None:
        self.bus = bus
        self.handler = handler
        self.workers_n = workers
        self.buffer_n = buffer
        self.batch_n = batch
        self.service = service
        self.lanes = [_Lane(task_consumer(p, buffer=buffer, ack_wait_s=ack_wait_s)) for p in PRIORITIES]
        self.keepalive_s = min(lane.spec.ack_wait_s for lane in self.lanes) / 3
        self._cond = asyncio.Condition()  # workers wait here for a task they may take
        self._running = False
        self._workers: list[asyncio.Task[None]] = []
        self._handling: dict[int, Any] = {}  # id(msg) → msg (Msg is not hashable)
        self._keepalive: asyncio.Task[None] | None = None

    async def start(self) -> None:
        js = self.bus.js
        for lane in self.lanes:
            await declare_consumer(js, lane.spec)
        self._running = True
        for lane in self.lanes:
            lane.puller = self._puller(lane)
            await lane.puller.start()
        self._workers = [asyncio.create_task(self._work_loop()) for _ in range(self.workers_n)]
        self._keepalive = asyncio.create_task(self._keepalive_loop())

    async def _keepalive_loop(self) -> None:
        """Tell the server every held task is still being worked on (resets its ack wait)."""
        while True:
            await asyncio.sleep(self.keepalive_s)
            held = [*self._handling.values(), *(m for lane in self.lanes for m in lane.buffer)]
            for msg in held:
                with contextlib.suppress(Exception):
                    await msg.in_progress()

    async def stop(self, grace: float) -> None:
        """Stop fetching, hand back what is buffered, let handlers in flight finish."""
        self._running = False
        for lane in self.lanes:
            if lane.puller is not None:
                await lane.puller.stop()
        await cancel_and_wait(self._keepalive)
        async with self._cond:
            self._cond.notify_all()
        await finish_within(self._workers, grace)
        for lane in self.lanes:
            while lane.buffer:
                with contextlib.suppress(Exception):
                    await lane.buffer.popleft().nak()

    # -- fetching ------------------------------------------------------------------------

    def _puller(self, lane: _Lane) -> Puller:
        async def deliver(msg: Any) -> None:
            if not self._running:
                with contextlib.suppress(Exception):
                    await msg.nak()
                return
            async with self._cond:
                lane.buffer.append(msg)
                lane.known = True
                lane.more = msg.metadata.num_pending > 0
                self._wake()

        async def ended() -> None:
            async with self._cond:
                lane.known = True
                lane.more = False
                self._wake()

        return Puller(
            self.bus.broker.connection,
            lane.spec.stream,
            lane.spec.durable,
            deliver=deliver,
            room=lambda: self.buffer_n - len(lane.buffer),
            ended=ended,
        )

    def _wake(self) -> None:
        """As many workers as it takes to take every task buffered, in every lane (a lower lane's
        may have waited on this one); a worker takes up to ``batch`` of one lane. Waking more only
        costs: ``notify`` walks past every worker woken and not yet running, on every delivery."""
        batch = self.batch_n
        self._cond.notify(sum(-(-len(lane.buffer) // batch) for lane in self.lanes))

    # -- working -------------------------------------------------------------------------

    def _next(self) -> tuple[_Lane, list[Any]] | None:
        """Up to ``batch`` tasks of the highest priority that has any, if no higher one may be coming."""
        for lane in self.lanes:
            if lane.buffer:
                buffer = lane.buffer
                return lane, [buffer.popleft() for _ in range(min(self.batch_n, len(buffer)))]
            if lane.maybe_waiting:
                return None  # wait for this higher lane's pull before taking a lower one
        return None

    async def _work_loop(self) -> None:
        while True:
            async with self._cond:
                taken = None
                while self._running and (taken := self._next()) is None:
                    await self._cond.wait()
                if taken is None:
                    return
            lane, msgs = taken
            if lane.puller is not None:
                await lane.puller.top_up()
            for msg in msgs:
                self._handling[id(msg)] = msg
            try:  # each settled exactly as every bus consumer settles a message
                await self.bus.process_batch(lane.spec, tasks_pb2.TaskSubmitted, self.handler, msgs)
            except Exception:  # settling failed (NATS gone): what was not settled comes back after the ack wait
                log.exception("a worker could not settle %d tasks of %s", len(msgs), lane.spec.durable)
            finally:
                for msg in msgs:
                    del self._handling[id(msg)]
