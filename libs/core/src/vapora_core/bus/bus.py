"""The bus: FastStream's NatsBroker with the fleet's topology, protobuf codec and dead-lettering.

A handler gets the decoded message and a :class:`Delivery`. What happens to the message
is decided once, here:

- handler returns                        → ack (unless it settled the message itself)
- payload does not decode                → dead-letter (reason in headers) + ack
- payload breaks an event rule (NaN, a
  date in the future, …: ``validate``)    → dead-letter (kind ``invalid``) + ack
- handler raises a non-retryable error   → dead-letter + ack
- handler raises a retryable error, or
  an unexpected exception                → nak with backoff; dead-letter after max_deliver
- handler raises :class:`Hold`            → nak with the hold's delay (not a failure)
- the process is stopping mid-handler    → nak, so another consumer gets it at once

:meth:`Bus.process` applies these rules to one message; the FastStream consumers use it,
and so can a service that pulls messages itself. :meth:`Bus.process_batch` applies them to
several messages handled together, each settled by its own outcome (the coordinator's priority
intake, whose workers take several tasks at once).

A dead letter never stops the consumer.

Broadcasts (:meth:`Bus.broadcast`, :meth:`Bus.listen`) are core NATS, stored in no stream:
every listener connected at that moment gets the message, a listener that is not connected
never will. For notices that matter only to who is up now (``stops.<agent_id>``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from faststream import AckPolicy
from faststream.nats import JStream, NatsBroker, NatsMessage, PullSub
from faststream.security import SASLPlaintext
from google.protobuf.message import Message
from nats.js import api as js_api
from nats.js.errors import NotFoundError
from opentelemetry import trace

from vapora_core import metrics
from vapora_core.bus.acks import PubAcks, Stored
from vapora_core.bus.codec import decode, encode
from vapora_core.bus.headers import EXPECTED_STREAM, MSG_ID
from vapora_core.bus.puller import consumer_config
from vapora_core.bus.stats import JetStreamStats
from vapora_core.bus.topology import STREAMS, ConsumerSpec, StreamSpec, stream_for, subjects
from vapora_core.bus.validate import DEFAULT_SKEW_S, EventRules
from vapora_core.errors import DecodeError, Internal, InvalidArgument, PayloadTooLarge, Unavailable, VaporaError
from vapora_core.settings import ServiceSettings
from vapora_core.telemetry import consumer_span, in_span, inject, start_consumer_span

log = logging.getLogger("vapora.bus")

M = TypeVar("M", bound=Message)

DLQ_REASON = "vapora-dlq-reason"
DLQ_KIND = "vapora-dlq-kind"
DLQ_CONSUMER = "vapora-dlq-consumer"
DLQ_SUBJECT = "vapora-dlq-subject"

_RETENTION = {
    "limits": js_api.RetentionPolicy.LIMITS,
    "workqueue": js_api.RetentionPolicy.WORK_QUEUE,
    "interest": js_api.RetentionPolicy.INTEREST,
}


class Hold(Exception):
    """Not a failure: the message cannot be handled yet; put it back for ``delay`` seconds."""

    def __init__(self, delay: float, why: str) -> None:
        super().__init__(why)
        self.delay = delay


@dataclass(slots=True)
class Delivery:
    """One delivery of a message to a handler, and what the handler may do with it."""

    subject: str
    headers: dict[str, str]
    num_delivered: int
    _raw: Any = field(repr=False)
    settled: bool = False
    published_at: float = 0.0  # when JetStream stored the message (epoch seconds)
    span: trace.Span = field(default=trace.INVALID_SPAN, repr=False)  # its consumer span

    @property
    def body(self) -> bytes:
        return bytes(self._raw.data)

    def traced(self) -> AbstractContextManager[trace.Span]:
        """This message's consumer span as the current one while the block runs: what a handler
        publishes or calls for this message carries its trace (a batch handler, for each message)."""
        return in_span(self.span)

    async def ack(self) -> None:
        if not self.settled:
            self.settled = True
            await self._raw.ack()

    async def nak(self, delay: float | None = None) -> None:
        if not self.settled:
            self.settled = True
            await self._raw.nak(delay=delay)

    async def in_progress(self) -> None:
        """Tell JetStream the handler is still working, so the ack wait restarts."""
        if not self.settled:
            await self._raw.in_progress()


Handler = Callable[[M, Delivery], Awaitable[None]]
# several messages at once: one outcome per message, in order (None: handled; or what its handling raised)
BatchHandler = Callable[[list[tuple[M, Delivery]]], Awaitable[Sequence[BaseException | None]]]


# Metric children by label, looked up once: these are on every message's path.
_messages = functools.cache(metrics.BUS_MESSAGES.labels)
_handle_seconds = functools.cache(metrics.BUS_HANDLE_SECONDS.labels)
_published = functools.cache(metrics.BUS_PUBLISHED.labels)


def backoff(num_delivered: int) -> float:
    """Redelivery delay after the n-th failed delivery: 0.2 s, 0.4 s, ... capped at 5 s."""
    return float(min(5.0, 0.2 * 2 ** max(0, num_delivered - 1)))


@dataclass(slots=True)
class _Subscription(Generic[M]):
    spec: ConsumerSpec
    cls: type[M]
    handler: Handler[M]
    subscriber: Any = None


class Bus:
    """One NATS connection for a service: publish protobuf events, consume durable consumers."""

    def __init__(
        self,
        url: str,
        service: str,
        *,
        graceful_timeout: float = 10.0,
        stats_interval_s: float = 0.0,
        replicas: int = 1,
        event_skew_s: float = DEFAULT_SKEW_S,
        user: str = "",
        password: str = "",
    ) -> None:
        """``user`` and ``password``: this service's NATS credentials (none when ``user`` is empty)."""
        self.service = service
        self.rules = EventRules(event_skew_s)
        self._url = url
        self._replicas = replicas
        self._stats_interval = stats_interval_s
        self._stats: JetStreamStats | None = None
        self.broker = NatsBroker(
            [u.strip() for u in url.split(",") if u.strip()],
            name=service,
            graceful_timeout=graceful_timeout,
            drain_timeout=max(1, int(graceful_timeout)),
            logger=None,
            log_level=logging.DEBUG,
            max_reconnect_attempts=-1,
            reconnect_time_wait=1,
            security=SASLPlaintext(username=user, password=password) if user else None,
        )
        self._started = False
        self._subs: list[_Subscription[Any]] = []
        self._js: Any = None
        self._js_of: Any = None
        self._acks: PubAcks | None = None

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self, connect_timeout: float = 30.0) -> None:
        """Connect, declare every stream, then start the consumers.

        Raises :class:`Unavailable` naming the URL when NATS cannot be reached in time.
        """
        try:
            await asyncio.wait_for(self.broker.connect(), connect_timeout)
        except (TimeoutError, OSError) as exc:
            raise Unavailable(f"cannot reach NATS at {self._url} within {connect_timeout:.0f}s: {exc!r}") from exc
        await self._publisher()
        await self.declare_streams()
        await self.broker.start()
        self._started = True
        if self._stats_interval > 0:
            self._stats = JetStreamStats(self.js, self._stats_interval)
            self._stats.start()

    async def stop(self) -> None:
        """Stop consuming; handlers in flight get ``graceful_timeout`` to finish."""
        self._started = False
        if self._stats is not None:
            await self._stats.stop()
            self._stats = None
        await self.broker.stop()
        if self._acks is not None:
            await self._acks.stop()
            self._acks = None

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> Bus:
        """The bus as a service's settings describe it."""
        return cls(
            settings.nats_url,
            settings.service_name,
            graceful_timeout=settings.shutdown_grace_s,
            stats_interval_s=settings.jetstream_stats_s,
            replicas=settings.jetstream_replicas,
            event_skew_s=settings.event_skew_s,
            user=settings.nats_user,
            password=settings.nats_password,
        )

    @property
    def js(self) -> Any:
        """The connection's JetStream context (made once per connection)."""
        connection = self.broker.connection
        if self._js is None or self._js_of is not connection:
            self._js, self._js_of = connection.jetstream(), connection
        return self._js

    async def declare_streams(self, streams: tuple[StreamSpec, ...] = STREAMS) -> None:
        js = self.js
        for spec in streams:
            config = js_api.StreamConfig(
                name=spec.name,
                subjects=list(spec.subjects),
                retention=_RETENTION[spec.retention],
                max_age=spec.max_age_s,
                duplicate_window=spec.duplicate_window_s,
                storage=js_api.StorageType.FILE,
                num_replicas=self._replicas,
                description=spec.description,
            )
            try:
                await js.stream_info(spec.name)
            except NotFoundError:
                await js.add_stream(config)
            else:
                await js.update_stream(config)

    # -- publishing --------------------------------------------------------------------

    async def publish(
        self,
        subject: str,
        message: Message,
        *,
        msg_id: str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 5.0,
    ) -> Stored:
        """Publish ``message`` on ``subject`` through JetStream with the trace context; return once stored."""
        return await (await self.send(subject, message, msg_id=msg_id, headers=headers, timeout=timeout))

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

    async def _publisher(self) -> PubAcks:
        """The acknowledged publisher of the current connection (made on first use)."""
        try:
            connection = self.broker.connection
        except Exception as exc:  # FastStream's IncorrectState before connect()
            raise Unavailable(f"{self.service}: the bus is not connected to NATS") from exc
        if self._acks is None or self._acks.nc is not connection:
            self._acks = PubAcks(connection)
            await self._acks.start()
        return self._acks

    async def publish_raw(self, subject: str, payload: bytes, headers: dict[str, str] | None = None) -> Stored:
        """Publish bytes as they are: for dead letters and for tests of bad input."""
        return await (await self._send(subject, payload, dict(headers or {}), 5.0))

    @property
    def max_payload(self) -> int:
        """The most bytes (payload and headers) the connected NATS server takes in one message."""
        return int(self.broker.connection.max_payload)

    async def _send(
        self, subject: str, payload: bytes, headers: dict[str, str], timeout: float
    ) -> asyncio.Future[Stored]:
        stream = stream_for(subject).name  # InvalidArgument when no stream captures the subject
        headers[EXPECTED_STREAM] = stream
        publisher = await self._publisher()
        size = len(payload) + sum(len(k) + len(v) + 4 for k, v in headers.items()) + 12  # as NATS counts it
        if size > publisher.nc.max_payload:  # the caller's message is what is wrong: not retryable
            raise PayloadTooLarge(f"the message on {subject}", size, publisher.nc.max_payload)
        future = await publisher.send(subject, payload, headers, timeout)
        _published(stream).inc()
        return future

    # -- broadcasts (core NATS, in no stream) -------------------------------------------

    async def broadcast(self, subject: str, message: Message) -> None:
        """Publish ``message`` to every :meth:`listen` on ``subject`` connected now, stored nowhere:
        for notices that matter only to who is up (a job to stop). Raises :class:`Unavailable`."""
        payload, headers = encode(message)
        inject(headers)
        try:
            await self.broker.connection.publish(subject, payload, headers=headers)
        except Exception as exc:  # not connected, or the connection closed
            raise Unavailable(f"{self.service}: cannot broadcast on {subject}: {exc}") from exc
        _published("broadcast").inc()

    async def listen(self, subject: str, cls: type[M], handler: Callable[[M], Awaitable[None]]) -> Any:
        """Receive :meth:`broadcast` messages on ``subject`` (wildcards allowed) from now on; returns
        the subscription (``await sub.unsubscribe()``). A payload that does not decode, and one whose
        handler raises, is dead-lettered and the next one is handled as usual."""
        consumer = f"{self.service}-listen"

        async def on_message(raw: Any) -> None:
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
            _messages(consumer, "ack").inc()

        return await self.broker.connection.subscribe(subject, cb=on_message)

    async def _dead_letter_quietly(
        self, raw: Any, headers: dict[str, str], reason: str, kind: str, consumer: str
    ) -> None:
        try:
            await self.dead_letter(raw.subject, raw.data, headers, reason=reason, kind=kind, consumer=consumer)
        except VaporaError as exc:  # a broadcast cannot be redelivered: say what was lost
            log.error("could not dead-letter a message from %s (%s: %s): %s", raw.subject, kind, reason, exc)

    # -- consuming ---------------------------------------------------------------------

    async def subscribe(
        self, spec: ConsumerSpec, cls: type[M], handler: Handler[M], *, max_workers: int = 1
    ) -> _Subscription[M]:
        """Consume ``spec``'s durable consumer; starts at once if the bus is running."""
        sub: _Subscription[M] = _Subscription(spec, cls, handler)
        config = consumer_config(spec)
        subscriber = self.broker.subscriber(
            spec.filter_subjects[0],
            stream=JStream(spec.stream, declare=False),
            durable=spec.durable,
            config=config,
            # FastStream handles every message of a fetched batch concurrently, so one worker
            # fetches one message at a time: handled one by one, in stream order.
            pull_sub=PullSub(batch_size=spec.batch_size if max_workers > 1 else 1, timeout=1.0),
            ack_policy=AckPolicy.MANUAL,
            max_workers=max_workers,
        )

        async def on_message(body: bytes, msg: NatsMessage) -> None:
            await self._handle(sub, body, msg)

        subscriber(on_message)
        sub.subscriber = subscriber
        self._subs.append(sub)
        if self._started:
            await subscriber.start()
        return sub

    async def unsubscribe(self, sub: _Subscription[Any]) -> None:
        if sub in self._subs:
            self._subs.remove(sub)
        if sub.subscriber is not None:
            await sub.subscriber.stop()

    async def _handle(self, sub: _Subscription[Any], body: bytes, msg: NatsMessage) -> None:
        await self.process(sub.spec, sub.cls, sub.handler, msg.raw_message)

    async def process(self, spec: ConsumerSpec, cls: type[M], handler: Handler[M], raw: Any) -> None:
        """Decode one JetStream message, run ``handler`` in a consumer span, settle the message."""
        started = time.perf_counter()
        received = await self._receive(spec, cls, raw)
        if received is None:
            return
        decoded, delivery = received
        try:
            with delivery.traced():
                try:
                    await handler(decoded, delivery)
                except asyncio.CancelledError as cancelled:
                    await self._settle(spec, delivery, cancelled)
                    raise
                except Exception as exc:
                    await self._settle(spec, delivery, exc)
                else:
                    await self._settle(spec, delivery, None)
        finally:
            delivery.span.end()
            _handle_seconds(spec.durable).observe(time.perf_counter() - started)

    async def process_batch(
        self, spec: ConsumerSpec, cls: type[M], handler: BatchHandler[M], raws: Sequence[Any]
    ) -> None:
        """:meth:`process` for several messages of one consumer, handed to ``handler`` together.

        Each message is decoded on its own (one that does not decode is dead-lettered, as ever) and
        has its own consumer span. ``handler`` gets the decoded ones with their deliveries and returns
        one outcome per message, in order: None (handled: acked unless the handler settled it) or the
        exception its handling raised, settled as :meth:`process` settles it. An exception the
        handler raises is the outcome of every message it had not settled.
        """
        started = time.perf_counter()
        batch: list[tuple[M, Delivery]] = []
        try:
            for raw in raws:
                received = await self._receive(spec, cls, raw)
                if received is not None:
                    batch.append(received)
            if not batch:
                return
            outcomes: list[BaseException | None]
            try:
                outcomes = list(await handler(batch))
            except asyncio.CancelledError as cancelled:
                for _, delivery in batch:
                    await self._settle(spec, delivery, cancelled)
                raise
            except Exception as exc:
                outcomes = [exc] * len(batch)
            if len(outcomes) != len(batch):
                wrong = Internal(
                    f"the handler of {spec.durable} gave {len(outcomes)} outcomes for {len(batch)} messages"
                )
                outcomes = [wrong] * len(batch)
            for (_, delivery), outcome in zip(batch, outcomes, strict=True):
                with delivery.traced():
                    await self._settle(spec, delivery, outcome)
        finally:
            seconds = _handle_seconds(spec.durable)
            elapsed = time.perf_counter() - started
            for _, delivery in batch:
                delivery.span.end()
                seconds.observe(elapsed)

    async def _receive(self, spec: ConsumerSpec, cls: type[M], raw: Any) -> tuple[M, Delivery] | None:
        """``raw`` decoded, with its delivery (its consumer span started); None when it does not
        decode: it is then dead-lettered and acked."""
        headers = dict(raw.headers or {})
        subject = raw.subject
        try:
            decoded = decode(cls, raw.data, headers)
            self.rules.check(decoded)
        except InvalidArgument as exc:
            kind = "decode" if isinstance(exc, DecodeError) else "invalid"
            await self.dead_letter(subject, raw.data, headers, reason=str(exc), kind=kind, consumer=spec.durable)
            await raw.ack()
            return None
        meta = raw.metadata
        delivery = Delivery(
            subject=subject,
            headers=headers,
            num_delivered=(meta.num_delivered if meta else None) or 1,
            _raw=raw,
            published_at=meta.timestamp.timestamp() if meta and meta.timestamp else time.time(),
            span=start_consumer_span(headers, subject, spec.durable, self.service, message_id=headers.get(MSG_ID, "")),
        )
        return decoded, delivery

    async def _settle(self, spec: ConsumerSpec, delivery: Delivery, outcome: BaseException | None) -> None:
        """What happens to a handled message, by the outcome of its handling (see the module's doc)."""
        durable = spec.durable
        if outcome is None:
            if not delivery.settled:
                await delivery.ack()
            _messages(durable, "ack").inc()
        elif isinstance(outcome, Hold):
            await delivery.nak(delay=outcome.delay)
            _messages(durable, "nak").inc()
        elif isinstance(outcome, asyncio.CancelledError):
            await delivery.nak()
            _messages(durable, "nak").inc()
        elif isinstance(outcome, VaporaError):
            await self._failed(delivery, spec, outcome, retryable=outcome.retryable, kind=outcome.code)
        else:
            log.error("handler of %s failed on %s", durable, delivery.subject, exc_info=outcome)
            await self._failed(delivery, spec, outcome, retryable=True, kind="error")

    async def _failed(
        self, delivery: Delivery, spec: ConsumerSpec, exc: BaseException, *, retryable: bool, kind: str
    ) -> None:
        if delivery.settled:
            return
        if retryable and delivery.num_delivered < spec.failure_limit:
            log.warning(
                "retrying %s on %s (delivery %d): %s", spec.durable, delivery.subject, delivery.num_delivered, exc
            )
            await delivery.nak(delay=backoff(delivery.num_delivered))
            _messages(spec.durable, "nak").inc()
            return
        reason = str(exc) if not retryable else f"gave up after {delivery.num_delivered} deliveries: {exc}"
        await self.dead_letter(
            delivery.subject,
            delivery.body,
            delivery.headers,
            reason=reason,
            kind=kind if not retryable else "max_deliver",
            consumer=spec.durable,
        )
        await delivery.ack()

    async def dead_letter(
        self, subject: str, payload: bytes, headers: dict[str, str], *, reason: str, kind: str, consumer: str
    ) -> None:
        """Keep ``payload`` on ``dlq.<subject>`` with why it could not be handled."""
        out = {k: v for k, v in headers.items() if k not in (MSG_ID, EXPECTED_STREAM)}
        out.update(
            {
                DLQ_REASON: reason[:1000].replace("\r", " ").replace("\n", " "),
                DLQ_KIND: kind,
                DLQ_CONSUMER: consumer,
                DLQ_SUBJECT: subject,
            }
        )
        await self.publish_raw(subjects.dead_letter(subject), payload, out)
        metrics.DEAD_LETTERS.labels(consumer, kind).inc()
        _messages(consumer, "dead_letter").inc()
        log.warning("dead-lettered a message from %s: %s", subject, reason, extra={"consumer": consumer})
