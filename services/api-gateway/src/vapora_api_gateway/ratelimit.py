"""Fixed-window request limits per key (a user, a client IP), counted over every gateway replica.

A window is ``window_s`` of wall-clock time (windows start at multiples of ``window_s`` since the
epoch, so every replica agrees on them). A key's requests in a window are one counter in the
JetStream KV bucket ``rate-limits`` (key ``<kind>.<sha-256 of the key>.<window number>``),
incremented by compare-and-set through :class:`vapora_core.kv.Changes`, so one replica's
concurrent requests for a key share a write. The request that takes the count past ``limit``, and
every one after it in that window, is refused: 429 with ``Retry-After``, the seconds to the
window's end. Refused requests count too, so a client that keeps hammering stays refused.

When the counters cannot answer (NATS unreachable, a compare-and-set that kept losing its race),
the request goes through, logged and counted in ``vapora_gateway_rate_limit_unchecked_total
{limit}``: an outage of the counters must not take the API down with it. Logins fail closed
instead (:mod:`.login_throttle`): they guard passwords.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable, Sequence

from prometheus_client import Counter

from vapora_api_gateway.problems import RateLimited
from vapora_core import kv
from vapora_core.errors import VaporaError

log = logging.getLogger("vapora.gateway")

UNCHECKED = Counter(
    "vapora_gateway_rate_limit_unchecked_total",
    "Requests let through unchecked because the shared rate-limit counters could not answer.",
    ["limit"],
)


def digest(value: str) -> str:
    """What a user id, an IP or an e-mail becomes in a shared key: no one reads it back out of NATS."""
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def count(_: str, value: bytes | None, hits: Sequence[int]) -> tuple[bytes, list[int]]:
    """A counter plus each hit in turn; each hit's result is the count once it is in. A value that
    is not a count (nothing else writes this bucket) starts again from 0."""
    try:
        total = int(value or b"0")
    except ValueError:
        total = 0
    out = []
    for n in hits:
        total += n
        out.append(total)
    return str(total).encode(), out


class RateLimiter:
    """``limit`` requests per key per ``window_s``; ``kind`` (user, ip) keeps the keys of limits apart."""

    def __init__(
        self,
        counters: kv.Bucket,
        limit: int,
        window_s: float,
        what: str,
        *,
        kind: str,
        connected: Callable[[], bool] = lambda: True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self.what = what
        self.kind = kind
        self._changes = kv.Changes[int, int](counters, count)
        self._connected = connected
        self._clock = clock
        self._unchecked = UNCHECKED.labels(kind)
        self._down = False  # said once when the counters stop answering, once when they answer again

    async def hit(self, key: str) -> None:
        """Count one request for ``key``; raise :class:`RateLimited` past the limit."""
        now = self._clock()
        window = int(now // self.window_s)
        if not self._connected():
            self._skip(RuntimeError("not connected to NATS"))
            return
        try:
            total = await self._changes.submit(kv.key(self.kind, digest(key), str(window)), 1)
        except VaporaError as exc:
            self._skip(exc)
            return
        if self._down:
            self._down = False
            log.info("the %s rate limit is checked again", self.kind)
        if total > self.limit:
            retry = max(1, math.ceil((window + 1) * self.window_s - now))
            raise RateLimited(
                f"too many requests for this {self.what}: limit {self.limit} per {self.window_s:g} s; "
                f"retry in {retry} s",
                retry,
            )

    def _skip(self, why: Exception) -> None:
        self._unchecked.inc()
        if not self._down:
            self._down = True
            log.warning("the %s rate limit cannot be checked; requests go through until it can: %s", self.kind, why)
