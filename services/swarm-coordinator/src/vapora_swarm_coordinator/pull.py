"""A durable pull consumer worked by a pool of tasks, every message settled by :meth:`Bus.process`.

The same outcomes as a :meth:`Bus.subscribe` consumer (ack, nak with backoff, dead-letter),
without FastStream's per-message dependency-injection machinery, which cost as much CPU as
the coordinator's own handling of an execution. Messages come from a
:class:`~vapora_core.bus.puller.Puller` (pull requests made ahead, up to ``batch_size``
buffered or requested). On stop, pulled messages not yet started are handed back (nak) and
handlers in flight get the grace period to finish.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Generic, TypeVar

from google.protobuf.message import Message

from vapora_core.aio import finish_within
from vapora_core.bus import Bus, ConsumerSpec
from vapora_core.bus.bus import Handler
from vapora_core.bus.puller import Puller, declare_consumer

M = TypeVar("M", bound=Message)


class PullConsumer(Generic[M]):
    def __init__(self, bus: Bus, spec: ConsumerSpec, cls: type[M], handler: Handler[M], *, workers: int) -> None:
        self.bus = bus
        self.spec = spec
        self.cls = cls
        self.handler = handler
        self.workers_n = workers
        self._queue: asyncio.Queue[Any] = asyncio.Queue()  # the puller asks for no more than there is room for
        self._room = max(1, spec.batch_size)
        self._puller: Puller | None = None
        self._workers: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await declare_consumer(self.bus.js, self.spec)

        async def deliver(msg: Any) -> None:
            self._queue.put_nowait(msg)

        self._puller = Puller(
            self.bus.broker.connection,
            self.spec.stream,
            self.spec.durable,
            deliver=deliver,
            room=lambda: self._room - self._queue.qsize(),
        )
        await self._puller.start()
        self._workers = [asyncio.create_task(self._work_loop()) for _ in range(self.workers_n)]

    async def stop(self, grace: float) -> None:
        if self._puller is not None:
            await self._puller.stop()
        while not self._queue.empty():
            msg = self._queue.get_nowait()
            if msg is not None:
                with contextlib.suppress(Exception):
                    await msg.nak()
        for _ in self._workers:
            self._queue.put_nowait(None)
        await finish_within(self._workers, grace)

    async def _work_loop(self) -> None:
        while (msg := await self._queue.get()) is not None:
            if self._puller is not None:
                await self._puller.top_up()
            await self.bus.process(self.spec, self.cls, self.handler, msg)
