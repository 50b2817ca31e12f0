"""Acknowledged JetStream publishing, lean: one reply subscription, a future per message.

nats-py's ``JetStreamContext.publish`` is a request: a fresh inbox token, a done-callback,
``asyncio.wait_for`` (a timer and a waiter per message) and a ``PubAck`` dataclass built from
JSON. The coordinator publishes three times per task, so that machinery weighed on its
CPU per task (``bench/bench_coordinator.py`` prints it). Here a message is written with a
reply subject under one wildcard subscription; its stream's answer resolves its future, and
one sweep fails the futures whose time is up.

Why this goes beyond nats-py's ``js.publish``: ``bench/bench_bus.py`` (publish, both ways).

:meth:`PubAcks.send` returns once the message is written to the connection, with a future
of the stream's answer: a caller with several messages writes them all, then awaits them.
A failure is a :class:`~vapora_core.errors.PublishFailed` saying whether the message may be
stored; an ``on_failure`` hook (:mod:`~vapora_core.bus.resend`) may take the future over and
send the message again instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import json
from collections.abc import Callable
from typing import Any, NamedTuple

from vapora_core.aio import Periodic
from vapora_core.bus.headers import STATUS
from vapora_core.errors import PublishFailed

NO_RESPONDERS = "503"
SWEEP_S = 0.1


class Stored(NamedTuple):
    """A stream's acknowledgement of one published message (a tuple: one is made per publish)."""

    stream: str
    seq: int
    duplicate: bool


class Sent(NamedTuple):
    """A message written and not acknowledged yet, as it was sent (what sending it again takes)."""

    future: asyncio.Future[Stored]
    subject: str
    payload: bytes
    headers: dict[str, str]
    timeout: float
    hooked: bool  # its failure goes to the on_failure hook


# Given a failed message and why, True when it took the message's future over (to send it again).
OnFailure = Callable[[Sent, PublishFailed], bool]
# What is kept per message in flight: Sent's fields as a plain tuple (one is made per publish; a
# Sent is made only for a failure).
_Entry = tuple[asyncio.Future[Stored], str, bytes, dict[str, str], float, bool]


class PubAcks:
    """Publishes on one NATS connection and matches each stream's acknowledgement to its message."""

    def __init__(self, nc: Any, on_failure: OnFailure | None = None) -> None:
        self.nc = nc
        self._on_failure = on_failure
        self._prefix = ""
        self._seq = itertools.count(1)
        self._pending: dict[str, _Entry] = {}
        self._deadlines: list[tuple[float, str]] = []
        self._sub: Any = None
        self._sweeper = Periodic("pub-ack-sweep", SWEEP_S, self._sweep, wait_first=True)

    async def start(self) -> None:
        self._prefix = self.nc.new_inbox() + "."
        self._sub = await self.nc.subscribe(self._prefix + "*", cb=self._on_reply)
        self._sweeper.start()

    async def stop(self) -> None:
        await self._sweeper.stop()
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
        for future, subject, *_ in self._pending.values():
            if not future.done():
                future.set_exception(PublishFailed(subject, "the connection closed", status=503, maybe_stored=True))
        self._pending.clear()

    async def send(
        self, subject: str, payload: bytes, headers: dict[str, str], timeout: float, *, hooked: bool = True
    ) -> asyncio.Future[Stored]:
        """Write one message; the returned future resolves when its stream has stored it.

        The future fails with :class:`PublishFailed` when no stream answers within ``timeout``
        seconds or the stream refuses the message (the reason is JetStream's own), unless the
        ``on_failure`` hook takes it over (``hooked``: whether it is asked). Raises
        :class:`PublishFailed` (not stored) when the message cannot be written to the connection.
        """
        token = str(next(self._seq))
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Stored] = loop.create_future()
        self._pending[token] = (future, subject, payload, headers, timeout, hooked)
        heapq.heappush(self._deadlines, (loop.time() + timeout, token))
        try:
            await self.nc.publish(subject, payload, reply=self._prefix + token, headers=headers)
        except Exception as exc:
            self._pending.pop(token, None)
            raise PublishFailed(subject, repr(exc), status=503, maybe_stored=False) from exc
        return future

    def _fail(self, entry: _Entry, exc: PublishFailed) -> None:
        future = entry[0]
        if future.done():
            return
        if entry[5] and self._on_failure is not None and self._on_failure(Sent(*entry), exc):
            return
        future.set_exception(exc)

    async def _on_reply(self, msg: Any) -> None:
        sent = self._pending.pop(msg.subject[len(self._prefix) :], None)
        if sent is None or sent[0].done():
            return
        subject = sent[1]
        if msg.headers and msg.headers.get(STATUS) == NO_RESPONDERS:
            self._fail(sent, PublishFailed(subject, "no stream answered", status=503, maybe_stored=False))
            return
        try:
            answer = json.loads(msg.data)
            if "error" in answer:
                error = answer["error"]
                status = int(error.get("code", 0)) if isinstance(error, dict) else 0
                reason = error.get("description", error) if isinstance(error, dict) else error
                self._fail(sent, PublishFailed(subject, str(reason), status=status, maybe_stored=False))
                return
            sent[0].set_result(Stored(answer["stream"], int(answer["seq"]), bool(answer.get("duplicate", False))))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            unreadable = f"unreadable acknowledgement {msg.data!r}: {exc}"
            self._fail(sent, PublishFailed(subject, unreadable, status=0, maybe_stored=True))

    def _sweep(self) -> None:
        """Fail the futures whose time is up."""
        now = asyncio.get_running_loop().time()
        deadlines = self._deadlines
        while deadlines and deadlines[0][0] <= now:
            _, token = heapq.heappop(deadlines)
            sent = self._pending.pop(token, None)
            if sent is not None:
                late = PublishFailed(sent[1], "no acknowledgement in time", status=408, maybe_stored=True)
                self._fail(sent, late)
