"""A durable pull consumer worked by a pool of tasks, every message settled by :meth:`Bus.process`.

The same outcomes as a :meth:`Bus.subscribe` consumer (ack, nak with backoff, dead-letter),
without FastStream's per-message dependency-injection machinery, which cost as much CPU as
the coordinator's own handling of an execution. On stop, fetched messages not yet started
are handed back (nak) and handlers in flight get the grace period to finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Generic, TypeVar

from google.protobuf.message import Message
from nats.errors import TimeoutError as NatsTimeout
from nats.js import api as js_api
from nats.js.errors import BadRequestError

from vapora_core.bus import Bus, ConsumerSpec
from vapora_core.bus.bus import Handler

log = logging.getLogger("vapora.coordinator.pull")

M = TypeVar("M", bound=Message)
FETCH_WAIT_S = 1.0


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
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=max(1, spec.batch_size))
        self._fetcher: asyncio.Task[None] | None = None
        self._workers: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        js = self.bus.js
        config = consumer_config(self.spec)
        try:
            await js.add_consumer(self.spec.stream, config)
        except BadRequestError:
            await js.update_consumer(self.spec.stream, config)
        psub = await js.pull_subscribe_bind(durable=self.spec.durable, stream=self.spec.stream)
        self._fetcher = asyncio.create_task(self._fetch_loop(psub))
        self._workers = [asyncio.create_task(self._work_loop()) for _ in range(self.workers_n)]

    async def stop(self, grace: float) -> None:
        if self._fetcher is not None:
            self._fetcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._fetcher
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

    async def _fetch_loop(self, psub: Any) -> None:
        try:
            while True:
                try:
                    msgs = await psub.fetch(batch=max(1, self.spec.batch_size), timeout=FETCH_WAIT_S)
                except (NatsTimeout, TimeoutError):
                    continue
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("fetching %s failed: %s", self.spec.durable, exc)
                    await asyncio.sleep(0.5)
                    continue
                for i, msg in enumerate(msgs):
                    try:
                        await self._queue.put(msg)
                    except asyncio.CancelledError:
                        for left in msgs[i:]:
                            with contextlib.suppress(Exception):
                                await left.nak()
                        raise
        finally:
            with contextlib.suppress(Exception):
                await psub.unsubscribe()

    async def _work_loop(self) -> None:
        while (msg := await self._queue.get()) is not None:
            await self.bus.process(self.spec, self.cls, self.handler, msg)
