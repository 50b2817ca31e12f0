"""Fixed-window request limits per key (a user, a client IP)."""

from __future__ import annotations

import math
import time

from vapora_api_gateway.problems import RateLimited


class RateLimiter:
    def __init__(self, limit: int, window_s: float, what: str) -> None:
        self.limit = limit
        self.window_s = window_s
        self.what = what
        self._window = 0
        self._counts: dict[str, int] = {}

    def hit(self, key: str) -> None:
        """Count one request for ``key``; raise :class:`RateLimited` past the limit."""
        now = time.monotonic()
        window = int(now // self.window_s)
        if window != self._window:
            self._window = window
            self._counts = {}
        count = self._counts.get(key, 0) + 1
        self._counts[key] = count
        if count > self.limit:
            retry = max(1, math.ceil((window + 1) * self.window_s - now))
            raise RateLimited(
                f"too many requests for this {self.what}: limit {self.limit} per {self.window_s:g} s; "
                f"retry in {retry} s",
                retry,
            )
