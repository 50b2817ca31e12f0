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
from nats.js import api as js_api
from nats.js.errors import BadRequestError

from vapora_core.bus import Bus, ConsumerSpec
from vapora_core.bus.bus import Handler
from vapora_core.bus.puller import Puller

M = TypeVar("M", bound=Message)


def consumer_config(spec: ConsumerSpec) -> js_api.ConsumerConfig:
    """``spec`` as JetStream consumer settings (as :meth:`Bus.subscribe` declares them)."""
    many = len(spec.filter_subjects) > 1
    return js_api.ConsumerConfig(
        durable_name=spec.durable,
        ack_policy=js_api.AckPolicy.EXPLICIT,
        ack_wait=spec.ack_wait_s,
        max_deliver=spec.max_deliver,
        max_ack_pending=spec.max_ack_pending,
        deliver_policy=js_api.DeliverPolicy.NEW if spec.deliver_new_only else js_api.DeliverPolicy.ALL,
        filter_subject=None if many else spec.filter_subjects[0],
        filter_subjects=list(spec.filter_subjects) if many else None,
        description=spec.description,
    )


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
        js = self.bus.js
        config = consumer_config(self.spec)
        try:
            await js.add_consumer(self.spec.stream, config)
        except BadRequestError:
            await js.update_consumer(self.spec.stream, config)

        async def deliver(msg: Any) -> None:
            self._queue.put_nowait(msg)

        async def ended() -> None:
            pass

        self._puller = Puller(
            self.bus.broker.connection,
            self.spec.stream,
            self.spec.durable,
            deliver=deliver,
            ended=ended,
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
        if self._workers:
            _, pending = await asyncio.wait(self._workers, timeout=grace)
            for t in pending:
                t.cancel()

    async def _work_loop(self) -> None:
        while (msg := await self._queue.get()) is not None:
            if self._puller is not None:
                await self._puller.top_up()
            await self.bus.process(self.spec, self.cls, self.handler, msg)
