"""The one way the fleet consumes JetStream: durable pull consumers in lanes, worked by a pool.

A :class:`Consumer` has one or more lanes: durable consumers (:class:`ConsumerSpec`) in priority
order. Every consumer of the fleet has one lane but the coordinator's task intake, which has one
per priority. Each lane has a :class:`~vapora_core.bus.puller.Puller` that keeps up to the
lane's ``batch_size`` messages buffered or requested, and a buffer.

A pool of ``workers`` takes what is buffered: up to ``batch`` messages of one lane at once,
from the highest lane that has any. A lower lane is only taken once every higher lane is known
to be empty (its last pull request ended short, or its last message said ``num_pending == 0``),
so under a backlog the first lane goes before the second before the third — even across pull
requests and restarts. What a worker takes goes to ``handle(spec, messages)``: the bus's settle
rules (:meth:`~vapora_core.bus.Bus.process` for one message,
:meth:`~vapora_core.bus.Bus.process_batch` for several), which ack, nak or dead-letter each one.
One worker takes one message at a time in stream order; several take them concurrently.

A delivery wakes as many idle workers as it takes to take every message that may be taken now,
counting those woken and not yet running, and no more: a worker woken per message, or every
worker per delivery, costs the coordinator a share of its CPU under a backlog. A worker that
finishes looks for more before it waits again.

Every message held and not settled (buffered or being handled) gets an in-progress ack every
third of the shortest ack wait of the lanes, so a short ack wait (fast redelivery after a crash)
never redelivers a message this process still holds, however long its handler takes.

:meth:`Consumer.stop` stops pulling, hands back (naks) what is buffered, lets the handlers in
flight finish within the grace, then cancels them (the settle rules nak their messages).

Why this goes beyond nats-py's ``pull_subscribe``/``fetch``: ``bench/bench_bus.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from vapora_core.aio import Periodic, finish_within
from vapora_core.bus.declare import declare_consumer
from vapora_core.bus.puller import Puller
from vapora_core.bus.topology import ConsumerSpec

log = logging.getLogger("vapora.bus.consumer")

# What a worker does with what it took: settle every message (the bus's process / process_batch).
Handle = Callable[[ConsumerSpec, list[Msg]], Awaitable[None]]

CANCELLED_WAIT_S = 1.0  # how long handlers cancelled at stop get to hand their messages back


class _Lane:
    __slots__ = ("buffer", "known", "more", "puller", "spec")

    def __init__(self, spec: ConsumerSpec) -> None:
        self.spec = spec
        self.buffer: deque[Msg] = deque()
        self.known = False  # the consumer has answered since start
        self.more = True  # the consumer had messages left after the last one delivered
        self.puller: Puller | None = None

    @property
    def maybe_waiting(self) -> bool:
        """Messages of this lane may exist that are not buffered yet."""
        return not self.buffer and (not self.known or self.more)


class Consumer:
    """Durable pull consumers in priority order, worked by ``workers`` tasks, ``batch`` messages at a time."""

    def __init__(self, lanes: Sequence[ConsumerSpec], handle: Handle, *, workers: int = 1, batch: int = 1) -> None:
        if not lanes:
            raise ValueError("a consumer needs at least one lane")
        if workers < 1 or batch < 1:
            raise ValueError(f"workers and batch must be at least 1, got {workers} and {batch}")
        self.specs = tuple(lanes)
        self.name = self.specs[0].durable
        self.workers_n = workers
        self.batch_n = batch
        self._handle = handle
        self._lanes = [_Lane(spec) for spec in self.specs]
        self._running = False
        self._started = False
        self._workers: list[asyncio.Task[None]] = []
        self._idle: deque[asyncio.Future[bool]] = deque()  # workers waiting for something to take
        self._waking = 0  # workers woken by a delivery and not yet running
        self._handling: dict[int, Msg] = {}  # id(msg) → msg being handled (a Msg is not hashable)
        keepalive_s = min(spec.ack_wait_s for spec in self.specs) / 3
        self._keepalive = Periodic(f"keepalive-{self.name}", keepalive_s, self._keep_alive, wait_first=True)

    @property
    def started(self) -> bool:
        """Started once (a stopped consumer stays stopped: subscribe again for a new one)."""
        return self._started

    async def start(self, nc: Client, js: JetStreamContext) -> None:
        """Declare every lane's durable consumer (create, or bring up to its spec), then start pulling."""
        for lane in self._lanes:
            await declare_consumer(js, lane.spec)
        self._started = self._running = True
        for lane in self._lanes:
            lane.puller = self._puller(nc, lane)
            await lane.puller.start()
        self._workers = [
            asyncio.create_task(self._work_loop(), name=f"{self.name}-worker") for _ in range(self.workers_n)
        ]
        self._keepalive.start()

    async def resume(self) -> None:
        """After a reconnect: every lane asks for messages again (its open pull requests may be lost)."""
        if not self._running:
            return
        for lane in self._lanes:
            if lane.puller is not None:
                await lane.puller.reset()

    async def stop(self, grace: float) -> None:
        """Stop pulling, hand back what is buffered, let handlers in flight finish within ``grace``
        seconds, then cancel them (their messages are handed back by the settle rules)."""
        self._running = False
        for lane in self._lanes:
            if lane.puller is not None:
                await lane.puller.stop()
        for lane in self._lanes:
            while lane.buffer:
                await _hand_back(lane.buffer.popleft())
        while self._idle:
            waiter = self._idle.popleft()
            if not waiter.done():
                waiter.set_result(False)
        await finish_within(self._workers, grace)
        if self._workers:
            await asyncio.wait(self._workers, timeout=CANCELLED_WAIT_S)
        self._workers = []
        await self._keepalive.stop()

    # -- supply --------------------------------------------------------------------------

    def _puller(self, nc: Client, lane: _Lane) -> Puller:
        room = max(1, lane.spec.batch_size)

        async def deliver(msg: Msg) -> None:
            if not self._running:
                await _hand_back(msg)
                return
            lane.buffer.append(msg)
            lane.known = True
            lane.more = msg.metadata.num_pending > 0
            self._wake()

        async def ended() -> None:
            lane.known = True
            lane.more = False
            self._wake()

        return Puller(
            nc,
            lane.spec.stream,
            lane.spec.durable,
            deliver=deliver,
            room=lambda: room - len(lane.buffer),
            ended=ended,
        )

    def _wake(self) -> None:
        """Wake as many idle workers as it takes to take every message that may be taken now (a
        lower lane's may have waited on this one), less those woken already and not yet running."""
        batch = self.batch_n
        need = -self._waking
        for lane in self._lanes:
            if lane.buffer:
                need += -(-len(lane.buffer) // batch)
            elif lane.maybe_waiting:
                break  # nothing below this lane may be taken yet
        idle = self._idle
        while need > 0 and idle:
            waiter = idle.popleft()
            if waiter.done():  # its worker was cancelled
                continue
            waiter.set_result(True)
            self._waking += 1
            need -= 1

    # -- working -------------------------------------------------------------------------

    def _next(self) -> tuple[_Lane, list[Msg]] | None:
        """Up to ``batch`` messages of the highest lane that has any, if no higher one may be coming."""
        for lane in self._lanes:
            buffer = lane.buffer
            if buffer:
                return lane, [buffer.popleft() for _ in range(min(self.batch_n, len(buffer)))]
            if lane.maybe_waiting:
                return None  # wait for this higher lane's pull before taking a lower one
        return None

    async def _work_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while self._running:
            taken = self._next()
            if taken is None:
                waiter: asyncio.Future[bool] = loop.create_future()
                self._idle.append(waiter)
                if await waiter:  # woken by a delivery (False: by stop)
                    self._waking -= 1
                continue
            lane, msgs = taken
            if lane.puller is not None:
                await lane.puller.top_up()
            handling = self._handling
            for msg in msgs:
                handling[id(msg)] = msg
            try:
                await self._handle(lane.spec, msgs)
            except Exception:  # settling failed (NATS gone): what was not settled comes back after the ack wait
                log.exception("a worker could not settle %d messages of %s", len(msgs), lane.spec.durable)
            finally:
                for msg in msgs:
                    del handling[id(msg)]

    async def _keep_alive(self) -> None:
        """Tell the server every held message is still being worked on (restarts its ack wait)."""
        held = [*self._handling.values(), *(msg for lane in self._lanes for msg in lane.buffer)]
        for msg in held:
            if not msg.is_acked:
                with contextlib.suppress(Exception):  # the connection may be gone: redelivery covers it
                    await msg.in_progress()


async def _hand_back(msg: Msg) -> None:
    """Nak ``msg`` so the server delivers it again at once (to this process or another)."""
    with contextlib.suppress(Exception):  # the connection may be gone: the ack wait covers it
        await msg.nak()
