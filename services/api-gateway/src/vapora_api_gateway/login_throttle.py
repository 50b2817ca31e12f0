"""Failed logins, per account (the e-mail as typed, known or not) and per client address, counted
over every gateway replica.

Each key has a few free attempts; after those, every failure locks the key for twice as long
as the one before (``backoff_s``, doubling, at most ``backoff_max_s``), and a locked key answers
429 with Retry-After before any password is checked. Attempts still being verified count
against the free ones, so a burst of simultaneous guesses gets no more tries than a sequence
would; once the free attempts are used up, one attempt at a time is let through when a lock
ends. A successful login clears its account's record (not its address's: logging into one's own
account must not buy more guesses at others). A record is forgotten once it has been quiet for
``backoff_max_s``.

A key's record is one value in the JetStream KV bucket ``login-throttle`` (key
``<account|address>.<sha-256 of the e-mail or address>``), changed by compare-and-set through
:class:`vapora_core.kv.Changes`: ``{"failures", "locked_until", "last", "flight": {attempt id:
expires}}``. An attempt in flight expires :data:`ATTEMPT_TTL_S` after it began, so the attempts of
a replica that died mid-login stop counting. Times are wall-clock seconds, the same on every
replica. When the records cannot be read (NATS unreachable), a login is refused with 503: the
throttle guards passwords, and fails closed.
"""

from __future__ import annotations

import json
import logging
import math
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from vapora_api_gateway.problems import RateLimited
from vapora_api_gateway.ratelimit import digest
from vapora_core import kv
from vapora_core.errors import Unavailable, VaporaError

log = logging.getLogger("vapora.gateway")

ATTEMPT_TTL_S = 30.0  # an attempt in flight longer than this (its replica died) no longer counts
ACCOUNT, ADDRESS = 0, 1
KINDS = ("account", "address")


class LoginThrottled(RateLimited):
    code = "login_throttled"


@dataclass(frozen=True, slots=True)
class Record:
    failures: int = 0
    locked_until: float = 0.0
    last: float = 0.0
    flight: dict[str, float] = field(default_factory=dict)  # attempt id -> when it stops counting

    def encode(self) -> bytes:
        doc = {"failures": self.failures, "locked_until": self.locked_until, "last": self.last, "flight": self.flight}
        return json.dumps(doc, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, raw: bytes | None) -> Record:
        """The record in ``raw``; one that does not read as a record (nothing else writes this
        bucket) counts as none, and is overwritten by the next change."""
        if raw is None:
            return cls()
        try:
            doc: Any = json.loads(raw)
            return cls(
                failures=int(doc["failures"]),
                locked_until=float(doc["locked_until"]),
                last=float(doc["last"]),
                flight={str(k): float(v) for k, v in dict(doc["flight"]).items()},
            )
        except (ValueError, TypeError, KeyError) as exc:
            log.error("a login-throttle record does not read (%s); it counts as none", exc)
            return cls()


@dataclass(frozen=True, slots=True, kw_only=True)
class Begin:
    id: str
    kind: int
    free: int
    expires: float


@dataclass(frozen=True, slots=True, kw_only=True)
class End:
    id: str
    kind: int
    free: int
    succeeded: bool | None


class LoginAttempt:
    """One admitted attempt; :meth:`end` it with its outcome, whatever happens."""

    __slots__ = ("_done", "_id", "_keys", "_throttle")

    def __init__(self, throttle: LoginThrottle, attempt_id: str, keys: Sequence[tuple[str, int]]) -> None:
        self._throttle = throttle
        self._id = attempt_id
        self._keys = tuple(keys)
        self._done = False

    async def end(self, succeeded: bool | None) -> None:
        """True: the password was right; False: it was wrong; None: no verdict (an error)."""
        if not self._done:
            self._done = True
            await self._throttle.settle(self._id, self._keys, succeeded)


class LoginThrottle:
    def __init__(
        self,
        records: kv.Bucket,
        *,
        account_free: int,
        address_free: int,
        backoff_s: float,
        backoff_max_s: float,
        connected: Callable[[], bool] = lambda: True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._free = (account_free, address_free)
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self._connected = connected
        self._clock = clock
        self._changes = kv.Changes[Begin | End, LoginThrottled | None](records, self._apply)

    async def begin(self, account: str, address: str) -> LoginAttempt:
        """Admit one login attempt, or raise :class:`LoginThrottled` (429, Retry-After); 503 when
        the records cannot be read."""
        if not self._connected():
            raise Unavailable("login attempts cannot be checked now (no connection to NATS); try again shortly")
        attempt = uuid.uuid4().hex
        admitted: list[tuple[str, int]] = []
        for value, kind in ((account, ACCOUNT), (address, ADDRESS)):
            key = kv.key(KINDS[kind], digest(value))
            begin = Begin(id=attempt, kind=kind, free=self._free[kind], expires=self._clock() + ATTEMPT_TTL_S)
            try:
                refused = await self._changes.submit(key, begin)
            except VaporaError:
                await self.settle(attempt, admitted, None)
                raise
            if refused is not None:
                await self.settle(attempt, admitted, None)
                raise refused
            admitted.append((key, kind))
        return LoginAttempt(self, attempt, admitted)

    async def settle(self, attempt: str, keys: Sequence[tuple[str, int]], succeeded: bool | None) -> None:
        """End ``attempt`` on ``keys``; one the records cannot take now stops counting by itself."""
        for key, kind in keys:
            try:
                await self._changes.submit(key, End(id=attempt, kind=kind, free=self._free[kind], succeeded=succeeded))
            except VaporaError as exc:
                log.warning("could not end login attempt %s on %s (it expires by itself): %s", attempt, key, exc)

    def _apply(
        self, _: str, value: bytes | None, ops: Sequence[Begin | End]
    ) -> tuple[bytes | None, list[LoginThrottled | None]]:
        now = self._clock()
        before = Record.decode(value)
        record = replace(before, flight={i: t for i, t in before.flight.items() if t > now})
        if not record.flight and now - record.last > self.backoff_max_s:
            record = Record()  # quiet long enough: a fresh start
        out: list[LoginThrottled | None] = []
        for op in ops:
            if isinstance(op, Begin):
                record, result = self._begin(record, op, now)
            else:
                record, result = self._end(record, op, now), None
            out.append(result)
        return (None if record == before else record.encode()), out

    def _begin(self, r: Record, op: Begin, now: float) -> tuple[Record, LoginThrottled | None]:
        if op.id in r.flight:  # applied already (a write whose answer was lost)
            return r, None
        what = "this account" if op.kind == ACCOUNT else "this client address"
        if r.locked_until > now:
            wait = max(1, math.ceil(r.locked_until - now))
            return r, LoginThrottled(f"too many failed logins for {what}; try again in {wait} s", wait)
        if len(r.flight) >= max(1, op.free - r.failures):
            return r, LoginThrottled(f"too many logins for {what} at once; try again in 1 s", 1)
        return replace(r, flight={**r.flight, op.id: op.expires}, last=now), None

    def _end(self, r: Record, op: End, now: float) -> Record:
        if op.id not in r.flight:  # ended already, or expired
            return r
        flight = {i: t for i, t in r.flight.items() if i != op.id}
        r = replace(r, flight=flight, last=now)
        if op.succeeded is False:
            failures = r.failures + 1
            beyond = failures - op.free
            locked = now + min(self.backoff_max_s, self.backoff_s * 2**beyond) if beyond >= 0 else r.locked_until
            return replace(r, failures=failures, locked_until=locked)
        if op.succeeded and op.kind == ACCOUNT:
            return replace(r, failures=0, locked_until=0.0)
        return r
