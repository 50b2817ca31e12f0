"""Retry policies: tenacity, retrying only errors that say a retry can help."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)

from vapora_core.errors import VaporaError

T = TypeVar("T")
DEADLINE_S = 30.0  # no retry starts this long after the first attempt did


def is_retryable(exc: BaseException) -> bool:
    """True for a :class:`VaporaError` whose ``retryable`` flag is set."""
    return isinstance(exc, VaporaError) and exc.retryable


def retrying(
    *,
    attempts: int = 4,
    initial: float = 0.05,
    maximum: float = 2.0,
    deadline: float = DEADLINE_S,
    jitter: float = 1.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    retry_on: Callable[[BaseException], bool] = is_retryable,
) -> AsyncRetrying:
    """An ``AsyncRetrying`` that retries retryable errors with jittered exponential backoff.

    The n-th wait is ``min(initial · 2ⁿ + uniform(0, jitter), maximum)`` seconds, slept with
    ``sleep`` (tests pass one that returns at once). ``retry_on`` narrows which errors are
    retried, for a caller that knows more than ``retryable`` says (a publish that may be stored
    already is only sent again when the stream can drop the copy).
    """
    return AsyncRetrying(
        sleep=sleep,
        retry=retry_if_exception(retry_on),
        stop=stop_after_attempt(attempts) | stop_after_delay(deadline),
        wait=wait_exponential_jitter(multiplier=initial, max=maximum, jitter=jitter),
        reraise=True,
    )


async def call_with_retry(
    fn: Callable[[], Awaitable[T]],
    *,
    attempts: int = 4,
    initial: float = 0.05,
    maximum: float = 2.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Call ``fn`` and retry it while it raises retryable errors, as :func:`retrying` says.

    The first attempt runs on its own: a call that succeeds, or fails for good, never builds the
    retry machinery (a tenacity round costs more than many of the calls it wraps). Only a
    retryable failure starts it, counted as the first of ``attempts``, with its first wait.
    """
    started = time.monotonic()
    try:
        return await fn()
    except Exception as exc:
        if attempts <= 1 or not is_retryable(exc):
            raise
        first: Exception | None = exc
    deadline = DEADLINE_S - (time.monotonic() - started)
    async for attempt in retrying(attempts=attempts, initial=initial, maximum=maximum, deadline=deadline, sleep=sleep):
        with attempt:
            if first is not None:
                failed, first = first, None
                raise failed  # the first attempt's failure, as tenacity counts and waits after it
            return await fn()
    raise AssertionError("unreachable")  # pragma: no cover
