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
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import json
from typing import Any, NamedTuple

from vapora_core.aio import Periodic
from vapora_core.bus.headers import STATUS
from vapora_core.errors import Unavailable

NO_RESPONDERS = "503"
SWEEP_S = 0.1


class Stored(NamedTuple):
    """A stream's acknowledgement of one published message (a tuple: one is made per publish)."""

    stream: str
    seq: int
    duplicate: bool


class PubAcks:
    """Publishes on one NATS connection and matches each stream's acknowledgement to its message."""

    def __init__(self, nc: Any) -> None:
        self.nc = nc
        self._prefix = ""
        self._seq = itertools.count(1)
        self._pending: dict[str, tuple[asyncio.Future[Stored], str]] = {}
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
        for future, subject in self._pending.values():
            if not future.done():
                future.set_exception(Unavailable(f"publishing on {subject} failed: the connection closed"))
        self._pending.clear()

    async def send(
        self, subject: str, payload: bytes, headers: dict[str, str], timeout: float
    ) -> asyncio.Future[Stored]:
        """Write one message; the returned future resolves when its stream has stored it.

        The future fails with :class:`Unavailable` when no stream answers within ``timeout``
        seconds or the stream refuses the message (the reason is JetStream's own).
        """
        token = str(next(self._seq))
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Stored] = loop.create_future()
        self._pending[token] = (future, subject)
        heapq.heappush(self._deadlines, (loop.time() + timeout, token))
        try:
            await self.nc.publish(subject, payload, reply=self._prefix + token, headers=headers)
        except Exception as exc:
            self._pending.pop(token, None)
            raise Unavailable(f"publishing on {subject} failed: {exc!r}") from exc
        return future

    async def _on_reply(self, msg: Any) -> None:
        entry = self._pending.pop(msg.subject[len(self._prefix) :], None)
        if entry is None:
            return
        future, subject = entry
        if future.done():
            return
        if msg.headers and msg.headers.get(STATUS) == NO_RESPONDERS:
            future.set_exception(Unavailable(f"publishing on {subject} failed: no stream answered"))
            return
        try:
            answer = json.loads(msg.data)
            if "error" in answer:
                error = answer["error"]
                raise Unavailable(f"publishing on {subject} failed: {error.get('description', error)}")
            future.set_result(Stored(answer["stream"], int(answer["seq"]), bool(answer.get("duplicate", False))))
        except Unavailable as exc:
            future.set_exception(exc)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            future.set_exception(
                Unavailable(f"publishing on {subject}: unreadable acknowledgement {msg.data!r}: {exc}")
            )

    def _sweep(self) -> None:
        """Fail the futures whose time is up."""
        now = asyncio.get_running_loop().time()
        deadlines = self._deadlines
        while deadlines and deadlines[0][0] <= now:
            _, token = heapq.heappop(deadlines)
            entry = self._pending.pop(token, None)
            if entry is not None and not entry[0].done():
                entry[0].set_exception(Unavailable(f"publishing on {entry[1]} failed: no acknowledgement in time"))
