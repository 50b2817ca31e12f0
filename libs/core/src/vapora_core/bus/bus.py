"""The bus: one nats-py connection per service, the fleet's streams, publishing and consuming.

- Connection: ``nats.connect`` with the service's name, every URL of ``VAPORA_NATS_URL`` (the
  nodes of a cluster) and unlimited reconnects; after a reconnect every consumer asks for
  messages again at once.
- Streams: every stream of :mod:`~vapora_core.bus.topology` is declared (created or updated) at
  :meth:`Bus.start`, before any consumer starts.
- Publishing (:meth:`Bus.publish`, :meth:`Bus.send`): acknowledged by the stream, through
  :class:`~vapora_core.bus.acks.PubAcks`, with the schema and trace context in headers; what
  an outage (an election, a node down) fails is sent again where that cannot store it twice
  (:mod:`~vapora_core.bus.resend`).
- Consuming (:meth:`Bus.subscribe`, :meth:`Bus.subscribe_batches`): a
  :class:`~vapora_core.bus.consumer.Consumer` per durable consumer (or set of lanes), every
  message settled by :meth:`Bus.process` / :meth:`Bus.process_batch` — the settle rules of
  :mod:`~vapora_core.bus.settle` (ack, nak with backoff, :class:`Hold`, dead-letter).
- Broadcasts (:meth:`Bus.broadcast`, :meth:`Bus.listen`) are core NATS, stored in no stream:
  every listener connected at that moment gets the message, a listener that is not connected
  never will. For notices that matter only to who is up now (``stops.<agent_id>``).

A dead letter never stops a consumer.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypedDict, TypeVar, Unpack

import nats
from google.protobuf.message import Message
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError
from nats.js import JetStreamContext

from vapora_core import metrics
from vapora_core.bus.acks import Stored
from vapora_core.bus.codec import decode, encode
from vapora_core.bus.consumer import Consumer
from vapora_core.bus.declare import declare_stream
from vapora_core.bus.delivery import BatchHandler, Handler
from vapora_core.bus.headers import EXPECTED_STREAM, MSG_ID
from vapora_core.bus.resend import Resender
from vapora_core.bus.settle import Settler, count
from vapora_core.bus.topology import STREAMS, ConsumerSpec, StreamSpec, stream_for
from vapora_core.bus.validate import DEFAULT_SKEW_S, EventRules
from vapora_core.errors import DecodeError, InvalidArgument, PayloadTooLarge, Unavailable, VaporaError
from vapora_core.settings import ServiceSettings
from vapora_core.telemetry import consumer_span, inject

log = logging.getLogger("vapora.bus")

M = TypeVar("M", bound=Message)

_published = functools.cache(metrics.BUS_PUBLISHED.labels)


class SendOptions(TypedDict, total=False):
    """The keywords of :meth:`Bus.send`, which :meth:`Bus.publish` takes too."""

    msg_id: str | None
    headers: dict[str, str] | None
    timeout: float


class Bus:
    """One NATS connection for a service: publish protobuf events, consume durable consumers."""

    def __init__(
        self,
        url: str,
        service: str,
        *,
        graceful_timeout: float = 10.0,
        replicas: int = 1,
        event_skew_s: float = DEFAULT_SKEW_S,
        user: str = "",
        password: str = "",
    ) -> None:
        """``event_skew_s``: how far past this clock an event's timestamps may lie (:mod:`validate`);
        ``user`` and ``password``: this service's NATS credentials (none when ``user`` is empty)."""
        self.service = service
        self.rules = EventRules(event_skew_s)
        self._user = user
        self._password = password
        self._url = url
        self._servers = [u.strip() for u in url.split(",") if u.strip()]
        self._replicas = replicas
        self._grace = graceful_timeout
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._acks: Resender | None = None
        self._settler = Settler(service, self.publish_raw, self.rules)
        self._consumers: list[Consumer] = []
        self._started = False

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> Bus:
        """The bus as a service's settings describe it."""
        return cls(
            settings.nats_url,
            settings.service_name,
            graceful_timeout=settings.shutdown_grace_s,
            replicas=settings.jetstream_replicas,
            event_skew_s=settings.event_skew_s,
            user=settings.nats_user,
            password=settings.nats_password,
        )

    # -- lifecycle ---------------------------------------------------------------------

    async def connect(self, timeout: float = 30.0) -> None:
        """Connect to NATS (once connected, it reconnects for ever); no stream is declared, no consumer started.

        Raises :class:`Unavailable` naming the URL when NATS cannot be reached in time.
        """
        if self._nc is not None:
            return
        try:
            nc = await asyncio.wait_for(
                nats.connect(
                    self._servers,
                    name=self.service,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=1,
                    drain_timeout=max(1, int(self._grace)),
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                    user=self._user or None,
                    password=self._password or None,
                ),
                timeout,
            )
        except (TimeoutError, OSError, NatsError) as exc:
            raise Unavailable(f"cannot reach NATS at {self._url} within {timeout:.0f}s: {exc!r}") from exc
        self._nc, self._js = nc, nc.jetstream()
        self._acks = Resender(nc)
        await self._acks.start()

    async def start(self, connect_timeout: float = 30.0) -> None:
        """Connect, declare every stream, then start the consumers subscribed so far."""
        await self.connect(connect_timeout)
        await self.declare_streams()
        self._started = True
        for consumer in self._consumers:
            if not consumer.started:
                await consumer.start(self.nc, self.js)

    async def stop(self) -> None:
        """Stop every consumer (handlers in flight get ``graceful_timeout`` to finish), then close."""
        self._started = False
        consumers, self._consumers = self._consumers, []
        await asyncio.gather(*(c.stop(self._grace) for c in consumers))
        if self._acks is not None:
            await self._acks.stop()
            self._acks = None
        nc, self._nc, self._js = self._nc, None, None
        if nc is not None and not nc.is_closed:
            try:
                await nc.drain()  # what the consumers wrote (acks, naks) goes out first
            except Exception as exc:  # reconnecting, or closed meanwhile
                log.debug("drain of %s failed (%r); closing", self.service, exc)
                await nc.close()

    @property
    def connected(self) -> bool:
        """Whether the connection to NATS is up now (not before :meth:`connect`, nor while reconnecting)."""
        return self._nc is not None and self._nc.is_connected

    @property
    def nc(self) -> Client:
        """The NATS connection; :class:`Unavailable` before :meth:`connect`."""
        if self._nc is None:
            raise Unavailable(f"{self.service}: the bus is not connected to NATS")
        return self._nc

    @property
    def js(self) -> JetStreamContext:
        """The connection's JetStream context."""
        if self._js is None:
            raise Unavailable(f"{self.service}: the bus is not connected to NATS")
        return self._js

    async def declare_streams(self, streams: tuple[StreamSpec, ...] = STREAMS) -> None:
        """Create or update every stream (:mod:`~vapora_core.bus.declare`: idempotent, retried through an outage)."""
        for spec in streams:
            await declare_stream(self.js, spec, self._replicas)

    async def _on_error(self, exc: Exception) -> None:
        log.warning("%s: NATS connection error: %r", self.service, exc)

    async def _on_disconnected(self) -> None:
        if self._nc is not None:  # not the close at stop
            log.warning("%s: disconnected from NATS; reconnecting", self.service)

    async def _on_reconnected(self) -> None:
        log.info("%s: reconnected to NATS", self.service)
        for consumer in list(self._consumers):
            await consumer.resume()

    # -- publishing --------------------------------------------------------------------

    async def publish(self, subject: str, message: Message, **options: Unpack[SendOptions]) -> Stored:
        """Publish ``message`` on ``subject`` through JetStream with the trace context; return once
        stored. ``options`` are :meth:`send`'s."""
        return await (await self.send(subject, message, **options))

    async def send(
        self,
        subject: str,
        message: Message,
        *,
        msg_id: str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 5.0,
    ) -> asyncio.Future[Stored]:
        """Write ``message`` to the connection; the future resolves once its stream stored it.

        For a handler with several messages to publish: send them all, then await them all,
        with no task per message. Raises (or the future fails with) :class:`Unavailable`.
        """
        payload, hdrs = encode(message)
        if headers:
            hdrs.update(headers)
        if msg_id:
            hdrs[MSG_ID] = msg_id
        inject(hdrs)
        return await self._send(subject, payload, hdrs, timeout)

    async def publish_raw(self, subject: str, payload: bytes, headers: dict[str, str] | None = None) -> Stored:
        """Publish bytes as they are: for dead letters and for tests of bad input."""
        return await (await self._send(subject, payload, dict(headers or {}), 5.0))

    @property
    def max_payload(self) -> int:
        """The most bytes (payload and headers) the connected NATS server takes in one message."""
        return int(self.nc.max_payload)

    async def _send(
        self, subject: str, payload: bytes, headers: dict[str, str], timeout: float
    ) -> asyncio.Future[Stored]:
        stream = stream_for(subject).name  # InvalidArgument when no stream captures the subject
        headers[EXPECTED_STREAM] = stream
        acks = self._acks
        if acks is None:
            raise Unavailable(f"{self.service}: the bus is not connected to NATS")
        size = len(payload) + sum(len(k) + len(v) + 4 for k, v in headers.items()) + 12  # as NATS counts it
        if size > self.max_payload:  # the caller's message is what is wrong: not retryable
            raise PayloadTooLarge(f"the message on {subject}", size, self.max_payload)
        future = await acks.send(subject, payload, headers, timeout)
        _published(stream).inc()
        return future

    # -- broadcasts (core NATS, in no stream) -------------------------------------------

    async def broadcast(self, subject: str, message: Message) -> None:
        """Publish ``message`` to every :meth:`listen` on ``subject`` connected now, stored nowhere:
        for notices that matter only to who is up (a job to stop). Raises :class:`Unavailable`."""
        payload, headers = encode(message)
        inject(headers)
        try:
            await self.nc.publish(subject, payload, headers=headers)
        except Exception as exc:  # not connected, or the connection closed
            raise Unavailable(f"{self.service}: cannot broadcast on {subject}: {exc}") from exc
        _published("broadcast").inc()

    async def listen(self, subject: str, cls: type[M], handler: Callable[[M], Awaitable[None]]) -> Subscription:
        """Receive :meth:`broadcast` messages on ``subject`` (wildcards allowed) from now on; returns
        the subscription (``await sub.unsubscribe()``). A payload that does not decode, and one whose
        handler raises, is dead-lettered and the next one is handled as usual."""
        consumer = f"{self.service}-listen"

        async def on_message(raw: Msg) -> None:
            headers = dict(raw.headers or {})
            try:
                decoded = decode(cls, raw.data, headers)
                self.rules.check(decoded)
            except InvalidArgument as exc:
                kind = "decode" if isinstance(exc, DecodeError) else "invalid"
                await self._dead_letter_quietly(raw, headers, str(exc), kind, consumer)
                return
            with consumer_span(headers, raw.subject, consumer, self.service):
                try:
                    await handler(decoded)
                except Exception as exc:
                    log.exception("listener of %s failed", raw.subject)
                    await self._dead_letter_quietly(raw, headers, str(exc), "error", consumer)
                    return
            count(consumer, "ack")

        return await self.nc.subscribe(subject, cb=on_message)

    async def _dead_letter_quietly(
        self, raw: Msg, headers: dict[str, str], reason: str, kind: str, consumer: str
    ) -> None:
        try:
            await self.dead_letter(raw.subject, raw.data, headers, reason=reason, kind=kind, consumer=consumer)
        except VaporaError as exc:  # a broadcast cannot be redelivered: say what was lost
            log.error("could not dead-letter a message from %s (%s: %s): %s", raw.subject, kind, reason, exc)

    # -- consuming ---------------------------------------------------------------------

    async def subscribe(self, spec: ConsumerSpec, cls: type[M], handler: Handler[M], *, workers: int = 1) -> Consumer:
        """Consume ``spec``'s durable consumer, ``workers`` messages at once (one worker: one by one,
        in stream order), each settled by :meth:`process`; starts at once if the bus is running."""

        async def handle(lane: ConsumerSpec, msgs: list[Msg]) -> None:
            await self.process(lane, cls, handler, msgs[0])

        return await self._add(Consumer((spec,), handle, workers=workers))

    async def subscribe_batches(
        self, lanes: Sequence[ConsumerSpec], cls: type[M], handler: BatchHandler[M], *, workers: int, batch: int
    ) -> Consumer:
        """Consume ``lanes`` (durable consumers, highest priority first): a worker takes up to ``batch``
        messages of the highest lane that may be taken (see :mod:`~vapora_core.bus.consumer`), settled
        together by :meth:`process_batch`; starts at once if the bus is running."""

        async def handle(lane: ConsumerSpec, msgs: list[Msg]) -> None:
            await self.process_batch(lane, cls, handler, msgs)

        return await self._add(Consumer(lanes, handle, workers=workers, batch=batch))

    async def _add(self, consumer: Consumer) -> Consumer:
        self._consumers.append(consumer)
        if self._started:
            await consumer.start(self.nc, self.js)
        return consumer

    async def unsubscribe(self, consumer: Consumer) -> None:
        """Stop ``consumer`` as :meth:`stop` would (its handlers in flight get the grace period)."""
        if consumer in self._consumers:
            self._consumers.remove(consumer)
        await consumer.stop(self._grace)

    async def process(self, spec: ConsumerSpec, cls: type[M], handler: Handler[M], raw: Msg) -> None:
        """Decode one JetStream message, run ``handler`` in a consumer span, settle the message."""
        await self._settler.process(spec, cls, handler, raw)

    async def process_batch(
        self, spec: ConsumerSpec, cls: type[M], handler: BatchHandler[M], raws: Sequence[Msg]
    ) -> None:
        """Several messages of one consumer, handed to ``handler`` together, each settled by its own
        outcome (:meth:`~vapora_core.bus.settle.Settler.process_batch`)."""
        await self._settler.process_batch(spec, cls, handler, raws)

    async def dead_letter(
        self, subject: str, payload: bytes, headers: dict[str, str], *, reason: str, kind: str, consumer: str
    ) -> None:
        """Keep ``payload`` on ``dlq.<subject>`` with why it could not be handled."""
        await self._settler.dead_letter(subject, payload, headers, reason=reason, kind=kind, consumer=consumer)
