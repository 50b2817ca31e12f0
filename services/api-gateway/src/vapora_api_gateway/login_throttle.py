"""Failed logins, per account (the e-mail as typed, known or not) and per client address.

Each key has a few free attempts; after those, every failure locks the key for twice as long
as the one before (``backoff_s``, doubling, at most ``backoff_max_s``), and a locked key answers
429 with Retry-After before any password is checked. Attempts still being verified count
against the free ones, so a burst of simultaneous guesses gets no more tries than a sequence
would; once the free attempts are used up, one attempt at a time is let through when a lock
ends. A successful login clears its account's record (not its address's: logging into one's own
account must not buy more guesses at others). A record is forgotten once it has been quiet for
``backoff_max_s``.

The state lives in this process, behind :meth:`LoginThrottle.begin`; sharing it between
replicas (JetStream KV) is a later change of this module only.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from vapora_api_gateway.problems import RateLimited

MAX_KEYS = 100_000  # records kept at most; past it, the quietest are forgotten first


class LoginThrottled(RateLimited):
    code = "login_throttled"


@dataclass(slots=True)
class _Record:
    failures: int = 0
    in_flight: int = 0
    locked_until: float = 0.0
    last: float = 0.0


class LoginAttempt:
    """One admitted attempt; :meth:`end` it with its outcome, whatever happens."""

    __slots__ = ("_done", "_keys", "_throttle")

    def __init__(self, throttle: LoginThrottle, keys: tuple[tuple[str, int], ...]) -> None:
        self._throttle = throttle
        self._keys = keys
        self._done = False

    def end(self, succeeded: bool | None) -> None:
        """True: the password was right; False: it was wrong; None: no verdict (an error)."""
        if not self._done:
            self._done = True
            self._throttle._settle(self._keys, succeeded)


class LoginThrottle:
    def __init__(
        self,
        *,
        account_free: int,
        address_free: int,
        backoff_s: float,
        backoff_max_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._free = (account_free, address_free)
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self._clock = clock
        self._records: dict[str, _Record] = {}

    def begin(self, account: str, address: str) -> LoginAttempt:
        """Admit one login attempt, or raise :class:`LoginThrottled` (429, Retry-After)."""
        now = self._clock()
        keys = ((f"account:{account}", 0), (f"address:{address}", 1))
        for key, kind in keys:
            record = self._records.get(key)
            if record is not None and not record.in_flight and now - record.last > self.backoff_max_s:
                del self._records[key]  # quiet long enough: a fresh start
                continue
            if record is None:
                continue
            what = "this account" if kind == 0 else "this client address"
            if record.locked_until > now:
                wait = max(1, math.ceil(record.locked_until - now))
                raise LoginThrottled(f"too many failed logins for {what}; try again in {wait} s", wait)
            if record.in_flight >= max(1, self._free[kind] - record.failures):
                raise LoginThrottled(f"too many logins for {what} at once; try again in 1 s", 1)
        for key, _ in keys:
            record = self._records.setdefault(key, _Record())
            record.in_flight += 1
            record.last = now
        if len(self._records) > MAX_KEYS:
            self._forget(now)
        return LoginAttempt(self, keys)

    def _settle(self, keys: tuple[tuple[str, int], ...], succeeded: bool | None) -> None:
        now = self._clock()
        for key, kind in keys:
            record = self._records.get(key)
            if record is None:
                continue
            record.in_flight -= 1
            record.last = now
            if succeeded is False:
                record.failures += 1
                beyond = record.failures - self._free[kind]
                if beyond >= 0:
                    record.locked_until = now + min(self.backoff_max_s, self.backoff_s * 2**beyond)
            elif succeeded and kind == 0:
                record.failures = 0
                record.locked_until = 0.0
            if record.in_flight == 0 and record.failures == 0:
                del self._records[key]

    def _forget(self, now: float) -> None:
        quiet = [k for k, r in self._records.items() if not r.in_flight and now - r.last > self.backoff_max_s]
        for key in quiet:
            del self._records[key]
        if len(self._records) > MAX_KEYS:
            idle = sorted((r.last, k) for k, r in self._records.items() if not r.in_flight)
            for _, key in idle[: len(self._records) - MAX_KEYS // 2]:
                del self._records[key]
