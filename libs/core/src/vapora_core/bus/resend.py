"""Publishing through a NATS outage: a message a stream could not take now is sent again.

When a node of a cluster dies, the streams it led elect a new leader, and for those seconds a
publish finds no stream (503) or gets no answer; a single node that restarts answers nothing
while it is down. :class:`Resender` sits on :class:`~vapora_core.bus.acks.PubAcks`' failure
hook and sends such a message again, with :func:`vapora_core.retry.retrying` (jittered
exponential waits), for up to ``RESEND_FOR_S``; the caller's future resolves with the stream's
answer to the copy that got through, or fails with the last error. A message is sent again
only when that cannot store it twice:

- it was certainly not stored: no stream answered, JetStream said it cannot store now (503),
  or it could not be written to the connection;
- it may have been stored (no answer in time) and it has a message id, so the stream drops
  the copy (within the stream's duplicate window, which is longer than ``RESEND_FOR_S``).

Anything else fails at once: a message without an id whose fate is unknown (its caller decides:
a handler's message is redelivered, and its effects are idempotent), and a message JetStream
refused for what it is. The fast path costs nothing: a task is made only for a message that failed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from vapora_core import metrics
from vapora_core.bus.acks import PubAcks, Sent, Stored
from vapora_core.bus.headers import MSG_ID
from vapora_core.errors import PublishFailed, Unavailable
from vapora_core.retry import retrying

log = logging.getLogger("vapora.bus")

RESEND_FOR_S = 30.0  # longer than an election on a loaded cluster, shorter than any duplicate window
RESEND_WAIT_S = (0.1, 1.0)  # the first and the longest wait between two sends


def worth_sending_again(exc: BaseException, headers: dict[str, str]) -> bool:
    """Whether a publish that failed with ``exc`` may be sent again without being stored twice."""
    if not isinstance(exc, PublishFailed):
        return False
    if exc.status == 503 and not exc.maybe_stored:
        return True
    return exc.maybe_stored and MSG_ID in headers


class Resender:
    """Publishes on one connection through :class:`PubAcks`, sending again what an outage failed."""

    def __init__(self, nc: Any, *, resend_for_s: float = RESEND_FOR_S) -> None:
        self.nc = nc
        self.acks = PubAcks(nc, on_failure=self._take)
        self.resend_for_s = resend_for_s
        self._resending: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        await self.acks.start()

    async def stop(self) -> None:
        """Give up on what is being sent again (its futures fail), then stop :class:`PubAcks`."""
        for task in list(self._resending):
            task.cancel()
        if self._resending:
            await asyncio.wait(self._resending)
        await self.acks.stop()

    async def send(
        self, subject: str, payload: bytes, headers: dict[str, str], timeout: float
    ) -> asyncio.Future[Stored]:
        """:meth:`PubAcks.send`, sent again as the module says until it is stored or ``resend_for_s`` is up."""
        try:
            return await self.acks.send(subject, payload, headers, timeout)
        except PublishFailed as exc:  # not written: buffer full while reconnecting, or closed
            if self.nc.is_closed:
                raise
            future: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
            self._start(Sent(future, subject, payload, headers, timeout, True), exc)
            return future

    @property
    def resending(self) -> int:
        """Messages being sent again now."""
        return len(self._resending)

    def _take(self, sent: Sent, exc: PublishFailed) -> bool:
        if self.nc.is_closed or not worth_sending_again(exc, sent.headers):
            return False
        self._start(sent, exc)
        return True

    def _start(self, sent: Sent, first: PublishFailed) -> None:
        log.debug("sending a message on %s again: %s", sent.subject, first)
        task = asyncio.create_task(self._resend(sent), name=f"resend-{sent.subject}")
        self._resending.add(task)
        task.add_done_callback(self._resending.discard)

    async def _resend(self, sent: Sent) -> None:
        first, longest = RESEND_WAIT_S
        future = sent.future
        try:
            await asyncio.sleep(first)  # what failed a moment ago fails again at once
            async for attempt in retrying(
                attempts=1_000,  # bounded by the deadline
                initial=first,
                maximum=longest,
                deadline=self.resend_for_s,
                jitter=first,
                retry_on=lambda exc: not self.nc.is_closed and worth_sending_again(exc, sent.headers),
            ):
                with attempt:
                    again = await self.acks.send(sent.subject, sent.payload, sent.headers, sent.timeout, hooked=False)
                    stored = await again
        except asyncio.CancelledError:
            self._settle(future, PublishFailed(sent.subject, "the connection closed", status=503, maybe_stored=True))
            raise
        except Unavailable as exc:
            self._settle(future, exc)
        except Exception as exc:  # nothing else is expected: say so on the caller's future
            self._settle(future, Unavailable(f"publishing on {sent.subject} failed: {exc!r}"))
        else:
            metrics.BUS_RESENT.labels("stored").inc()
            if not future.done():
                future.set_result(stored)

    @staticmethod
    def _settle(future: asyncio.Future[Stored], exc: Exception) -> None:
        metrics.BUS_RESENT.labels("failed").inc()
        log.warning("gave up sending a message again: %s", exc)
        if not future.done():
            future.set_exception(exc)
