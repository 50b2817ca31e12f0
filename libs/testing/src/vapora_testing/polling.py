"""Waiting for something that happens on its own time: the one way tests (and the launcher) poll.

``await eventually(check, timeout=…, what=…)`` calls ``check`` (a plain function or a
coroutine function) until it returns something truthy and returns that value, sleeping
``interval`` seconds between calls. With ``until=predicate`` it waits instead for a value the
predicate accepts (``until=lambda body: body["state"] == "done"``), so the timeout message
shows the last thing observed rather than a bare ``False``. ``check`` is called at least once, and once more after
the deadline has passed before giving up, so a slow host never fails a check that came true
during the last sleep. On timeout it raises :class:`AssertionError` naming ``what`` and the
last value ``check`` returned. An exception raised by ``check`` propagates at once: an
``assert`` inside a check fails the test there, with its own message.

``eventually_sync`` is the same for blocking code: the fleet launcher and nats-server
waiting for readiness, the e2e tests driving the fleet over blocking HTTP.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")

DEFAULT_INTERVAL_S = 0.05
_REPR_LIMIT = 10_000


def timed_out(what: str, timeout: float, last: object) -> AssertionError:
    """The error both helpers raise: what was awaited, for how long, the last value seen."""
    seen = repr(last)
    if len(seen) > _REPR_LIMIT:
        seen = seen[:_REPR_LIMIT] + f"… ({len(seen)} characters)"
    return AssertionError(f"timed out after {timeout:g}s waiting for {what}; last value: {seen}")


@overload
async def eventually(
    check: Callable[[], Awaitable[T]],
    *,
    timeout: float,
    what: str,
    interval: float = DEFAULT_INTERVAL_S,
    until: Callable[[T], object] = bool,
) -> T: ...


@overload
async def eventually(
    check: Callable[[], T],
    *,
    timeout: float,
    what: str,
    interval: float = DEFAULT_INTERVAL_S,
    until: Callable[[T], object] = bool,
) -> T: ...


async def eventually(
    check: Callable[[], Any],
    *,
    timeout: float,
    what: str,
    interval: float = DEFAULT_INTERVAL_S,
    until: Callable[[Any], object] = bool,
) -> Any:
    """``check()``'s first value that ``until`` accepts (default: the first truthy one), polled
    every ``interval`` s for up to ``timeout`` s; AssertionError with the last value after that."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        expired = loop.time() >= deadline
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if until(value):
            return value
        if expired:
            raise timed_out(what, timeout, value)
        await asyncio.sleep(interval)


def eventually_sync(
    check: Callable[[], T],
    *,
    timeout: float,
    what: str,
    interval: float = DEFAULT_INTERVAL_S,
    until: Callable[[T], object] = bool,
) -> T:
    """:func:`eventually` for blocking code: ``check()``'s first value ``until`` accepts."""
    deadline = time.monotonic() + timeout
    while True:
        expired = time.monotonic() >= deadline
        value = check()
        if until(value):
            return value
        if expired:
            raise timed_out(what, timeout, value)
        time.sleep(interval)
