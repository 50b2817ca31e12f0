"""Time stamps as the gateway stores them: ISO-8601 UTC strings plus integer nanoseconds."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now_ns() -> int:
    return time.time_ns()


def iso(ns: int | None = None) -> str:
    value = time.time_ns() if ns is None else ns
    return datetime.fromtimestamp(value / 1e9, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
