"""A circuit breaker per provider: consecutive failures open it for a cooldown.

closed → (``failure_threshold`` failures in a row) → open → (``cooldown_s``) → half-open:
one trial call; success closes, failure reopens for another cooldown. Requests never pay
for a provider whose breaker is open: routing skips it with the remaining cooldown as reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from vapora_llm_router import metrics

CLOSED, HALF_OPEN, OPEN = "closed", "half_open", "open"
_GAUGE = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}


@dataclass(slots=True)
class Breaker:
    provider: str
    threshold: int
    cooldown_s: float
    failures: int = 0
    opened_at: float | None = None
    trial_in_flight: bool = False

    def state(self, now: float) -> str:
        if self.opened_at is None:
            return CLOSED
        if now - self.opened_at < self.cooldown_s:
            return OPEN
        return HALF_OPEN

    def remaining(self, now: float) -> float:
        return 0.0 if self.opened_at is None else max(0.0, self.cooldown_s - (now - self.opened_at))

    def can_try(self, now: float) -> bool:
        """Would a call be allowed now (without taking the half-open trial)?"""
        state = self.state(now)
        return state == CLOSED or (state == HALF_OPEN and not self.trial_in_flight)

    def acquire(self, now: float) -> bool:
        """Allow a call; in half-open state only one trial at a time."""
        if not self.can_try(now):
            return False
        if self.state(now) == HALF_OPEN:
            self.trial_in_flight = True
        return True

    def success(self) -> None:
        self.failures = 0
        self.opened_at = None
        self.trial_in_flight = False
        metrics.BREAKER_STATE.labels(self.provider).set(0)

    def failure(self, now: float) -> None:
        self.failures += 1
        if self.trial_in_flight or self.failures >= self.threshold:
            self.opened_at = now
            metrics.BREAKER_STATE.labels(self.provider).set(2)
        self.trial_in_flight = False

    def release(self) -> None:
        """A trial that ended without a verdict on the provider (e.g. a bad request)."""
        self.trial_in_flight = False


class Breakers:
    def __init__(self, threshold: int, cooldown_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._threshold = threshold
        self._cooldown = cooldown_s
        self._clock = clock
        self._by_provider: dict[str, Breaker] = {}

    def configure(self, threshold: int, cooldown_s: float) -> None:
        self._threshold, self._cooldown = threshold, cooldown_s
        for b in self._by_provider.values():
            b.threshold, b.cooldown_s = threshold, cooldown_s

    def now(self) -> float:
        return self._clock()

    def get(self, provider: str) -> Breaker:
        b = self._by_provider.get(provider)
        if b is None:
            b = self._by_provider[provider] = Breaker(provider, self._threshold, self._cooldown)
            metrics.BREAKER_STATE.labels(provider).set(0)
        return b

    def refresh_gauges(self) -> None:
        now = self.now()
        for name, b in self._by_provider.items():
            metrics.BREAKER_STATE.labels(name).set(_GAUGE[b.state(now)])
