"""A clock a test moves by hand, for code that takes its time from a ``Callable[[], float]``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class ManualClock:
    """``clock()`` is ``clock.now``, which only the test changes (``clock.now += 60``)."""

    now: float = 0.0

    def __call__(self) -> float:
        return self.now
