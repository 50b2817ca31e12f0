"""What a handler gets with each message (:class:`Delivery`), and what it may raise besides errors (:class:`Hold`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TypeVar

from google.protobuf.message import Message
from nats.aio.msg import Msg
from opentelemetry import trace

from vapora_core.telemetry import in_span

M = TypeVar("M", bound=Message)


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
    msg: Msg = field(repr=False)  # the JetStream message as nats-py delivered it
    settled: bool = False
    published_at: float = 0.0  # when JetStream stored the message (epoch seconds)
    span: trace.Span = field(default=trace.INVALID_SPAN, repr=False)  # its consumer span

    @property
    def body(self) -> bytes:
        return bytes(self.msg.data)

    def traced(self) -> AbstractContextManager[trace.Span]:
        """This message's consumer span as the current one while the block runs: what a handler
        publishes or calls for this message carries its trace (a batch handler, for each message)."""
        return in_span(self.span)

    async def ack(self) -> None:
        if not self.settled:
            self.settled = True
            await self.msg.ack()

    async def nak(self, delay: float | None = None) -> None:
        if not self.settled:
            self.settled = True
            await self.msg.nak(delay=delay)

    async def in_progress(self) -> None:
        """Tell JetStream the handler is still working, so the ack wait restarts."""
        if not self.settled:
            await self.msg.in_progress()


Handler = Callable[[M, Delivery], Awaitable[None]]
# several messages at once: one outcome per message, in order (None: handled; or what its handling raised)
BatchHandler = Callable[[list[tuple[M, Delivery]]], Awaitable[Sequence[BaseException | None]]]


def backoff(num_delivered: int) -> float:
    """Redelivery delay after the n-th failed delivery: 0.2 s, 0.4 s, ... capped at 5 s."""
    return float(min(5.0, 0.2 * 2 ** max(0, num_delivered - 1)))
