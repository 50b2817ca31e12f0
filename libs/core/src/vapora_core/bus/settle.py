"""The settle rules: what happens to a JetStream message once its handler is done with it.

- handler returns                        → ack (unless it settled the message itself)
- payload does not decode                → dead-letter (reason in headers) + ack
- payload breaks an event rule (NaN, a
  date in the future, …: ``validate``)    → dead-letter (kind ``invalid``) + ack
- handler raises a non-retryable error   → dead-letter + ack
- handler raises a retryable error, or
  an unexpected exception                → nak with backoff; dead-letter after the consumer's
                                           ``failure_limit`` deliveries
- handler raises :class:`Hold`            → nak with the hold's delay (not a failure)
- the handler is cancelled (stopping)    → nak, so another consumer gets it at once

:meth:`Settler.process` applies them to one message, :meth:`Settler.process_batch` to several
handled together, each settled by its own outcome. A dead letter is the original payload on
``dlq.<subject>`` with why, and never stops the consumer.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from google.protobuf.message import Message
from nats.aio.msg import Msg

from vapora_core import metrics
from vapora_core.bus.codec import decode
from vapora_core.bus.delivery import BatchHandler, Delivery, Handler, Hold, backoff
from vapora_core.bus.headers import DLQ_CONSUMER, DLQ_KIND, DLQ_REASON, DLQ_SUBJECT, EXPECTED_STREAM, MSG_ID
from vapora_core.bus.topology import ConsumerSpec, subjects
from vapora_core.bus.validate import EventRules
from vapora_core.errors import DecodeError, Internal, InvalidArgument, VaporaError
from vapora_core.telemetry import start_consumer_span

log = logging.getLogger("vapora.bus")

M = TypeVar("M", bound=Message)

PublishRaw = Callable[[str, bytes, dict[str, str]], Awaitable[Any]]

# Metric children by label, looked up once: these are on every message's path.
_messages = functools.cache(metrics.BUS_MESSAGES.labels)
_handle_seconds = functools.cache(metrics.BUS_HANDLE_SECONDS.labels)


def count(consumer: str, outcome: str) -> None:
    """One message of ``consumer`` settled with ``outcome`` (ack, nak, dead_letter)."""
    _messages(consumer, outcome).inc()


class Settler:
    """Settles the messages of a service's consumers; dead letters go out through ``publish_raw``."""

    def __init__(self, service: str, publish_raw: PublishRaw, rules: EventRules | None = None) -> None:
        self.service = service
        self._publish_raw = publish_raw
        self._rules = rules or EventRules()

    async def process(self, spec: ConsumerSpec, cls: type[M], handler: Handler[M], raw: Msg) -> None:
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
        self, spec: ConsumerSpec, cls: type[M], handler: BatchHandler[M], raws: Sequence[Msg]
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

    async def _receive(self, spec: ConsumerSpec, cls: type[M], raw: Msg) -> tuple[M, Delivery] | None:
        """``raw`` decoded, with its delivery (its consumer span started); None when it does not
        decode or breaks an event rule: it is then dead-lettered and acked."""
        headers = dict(raw.headers or {})
        subject = raw.subject
        try:
            decoded = decode(cls, raw.data, headers)
            self._rules.check(decoded)
        except InvalidArgument as exc:
            kind = "decode" if isinstance(exc, DecodeError) else "invalid"
            await self.dead_letter(subject, raw.data, headers, reason=str(exc), kind=kind, consumer=spec.durable)
            await raw.ack()
            return None
        meta = raw.metadata
        delivery = Delivery(
            subject=subject,
            headers=headers,
            num_delivered=meta.num_delivered or 1,
            msg=raw,
            published_at=meta.timestamp.timestamp() if meta.timestamp else time.time(),
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
        await self._publish_raw(subjects.dead_letter(subject), payload, out)
        metrics.DEAD_LETTERS.labels(consumer, kind).inc()
        _messages(consumer, "dead_letter").inc()
        log.warning("dead-lettered a message from %s: %s", subject, reason, extra={"consumer": consumer})
