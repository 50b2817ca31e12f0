"""A durable pull consumer kept supplied: pull requests made ahead, messages handed over as they come.

nats-py's ``fetch()`` is a call per batch: it sends one or two pull requests, then waits for
each message with a fresh future, an ``asyncio.wait_for`` timer and a uuid, and a lingering
request it leaves behind can outlive it. Under a steady load that is a fetch per message.

Here one subscription receives every message. Each pull request gets its own reply subject
(``<inbox>.<n>``), which its closing status (404 no messages, 408 expired, 409) names; a
message is counted against the oldest open request (the server serves them in that order).
The puller asks for more whenever the owner's ``room()`` exceeds what is already requested.
Requests expire after ``expires_s``; one whose closing status never came (the node that held it
died) is forgotten after twice that, so the supply never stalls. One that ended on a leader
change (409) or found no consumer leader (503, an election) is asked again by the watch, which
looks every ``WATCH_S``; after a reconnect every open request is forgotten and asked again at
once (:meth:`Puller.reset`). It feeds every lane of :class:`~vapora_core.bus.consumer.Consumer`.

Why this goes beyond nats-py's ``pull_subscribe``/``fetch``: ``bench/bench_bus.py`` (consume,
both ways, from a backlog, while publishing and at a steady load).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from vapora_core.aio import Periodic
from vapora_core.bus.headers import STATUS

log = logging.getLogger("vapora.bus.puller")

HEARTBEAT = "100"
WATCH_S = 1.0  # how often the watch forgets lost requests and asks again (at most expires_s)


class Puller:
    def __init__(
        self,
        nc: Any,
        stream: str,
        durable: str,
        *,
        deliver: Callable[[Any], Awaitable[None]],
        room: Callable[[], int],
        ended: Callable[[], Awaitable[None]] | None = None,
        expires_s: float = 5.0,
    ) -> None:
        """``deliver(msg)`` gets each message; ``room()`` says how many messages the owner can
        take now, buffered or requested; ``ended()``, if given, is called when a request ends
        short of its batch (the consumer had nothing more then)."""
        self.nc = nc
        self.durable = durable
        self.deliver = deliver
        self.ended = ended
        self.room = room
        self.expires_s = expires_s
        self.requested = 0
        self._api = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}"
        self._prefix = ""
        self._open: dict[str, tuple[int, float]] = {}  # reply subject → (messages still due, when asked)
        self._n = 0
        self._sub: Any = None
        self._watch = Periodic(f"puller-watch-{durable}", min(WATCH_S, expires_s), self._watch_once, wait_first=True)

    async def start(self) -> None:
        self._prefix = self.nc.new_inbox() + "."
        self._sub = await self.nc.subscribe(self._prefix + "*", cb=self._on_msg)
        await self._ask(max(1, self.room()), no_wait=True)  # answered at once, even when empty
        self._watch.start()

    async def stop(self) -> None:
        await self._watch.stop()
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
        self._open.clear()
        self.requested = 0

    async def reset(self) -> None:
        """Forget every open request and ask again: after a reconnect, the server that held them may be gone."""
        if self._sub is None:
            return
        self._open.clear()
        self.requested = 0
        with contextlib.suppress(Exception):  # not connected again after all: the watch asks later
            await self.top_up()

    async def top_up(self) -> None:
        """Ask for what the owner has room for beyond what is requested (at least half its room at once)."""
        want = self.room() - self.requested
        if want > 0 and want * 2 >= self.room():
            await self._ask(want)

    async def _ask(self, n: int, *, no_wait: bool = False) -> None:
        self._n += 1
        reply = f"{self._prefix}{self._n}"
        body: dict[str, Any] = {"batch": n}
        if no_wait:
            body["no_wait"] = True
        else:
            body["expires"] = int(self.expires_s * 1e9)
        loop = asyncio.get_running_loop()
        self._open[reply] = (n, loop.time())
        self.requested += n
        await self.nc.publish(self._api, json.dumps(body).encode(), reply=reply)

    def _close(self, reply: str) -> None:
        due, _ = self._open.pop(reply, (0, 0.0))
        self.requested -= due

    async def _on_msg(self, msg: Any) -> None:
        status = msg.headers.get(STATUS) if msg.headers else None
        if status is None:
            # A message carries its own subject, not its request's: the server serves waiting
            # requests oldest first, so it counts against the oldest still open.
            if self._open:
                oldest = next(iter(self._open))
                due, asked = self._open[oldest]
                if due > 1:
                    self._open[oldest] = (due - 1, asked)
                else:
                    del self._open[oldest]
                self.requested -= 1
            await self.deliver(msg)
            return
        if status == HEARTBEAT:
            return
        if msg.subject not in self._open:
            return
        self._close(msg.subject)  # 404 no messages, 408 expired, 409, 503: the request is over
        if self.ended is not None:
            await self.ended()
        if status in ("404", "408"):
            await self.top_up()
        else:  # the consumer is gone or moving (409, 503): ask again on the next watch, not in a tight loop
            log.warning("pull request on %s ended: %s %s", self.durable, status, msg.headers.get("Description", ""))

    async def _watch_once(self) -> None:
        """Forget requests whose end never came (e.g. across a reconnect), then ask again."""
        cutoff = asyncio.get_running_loop().time() - 2 * self.expires_s
        for reply in [r for r, (_, asked) in self._open.items() if asked < cutoff]:
            self._close(reply)
        with contextlib.suppress(Exception):
            await self.top_up()
