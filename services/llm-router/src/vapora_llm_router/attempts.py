"""Calling one provider: retries with jittered backoff, every attempt told to its breaker.

Retries are :func:`vapora_core.retry.retrying` (tenacity) with ``router.retry`` of the current
config: ``attempts`` tries, waits of ``backoff_s · 2ⁿ`` plus up to ``backoff_s`` of jitter. Only
retryable errors are retried; an open breaker ends the tries at once. Every failed attempt that
says something about the provider (retryable, auth, malformed body) counts towards its breaker;
a bad request only releases a half-open trial. A stream is retried only until its first event:
once a delta has gone out, a failure ends the stream with the error.

An answer is a success for the breaker unless its usage shows more output tokens than the
``max_tokens`` it was asked for: a provider that ignores the cap cannot be budgeted, so that
answer (still returned: it is paid for) counts as a failure, and such answers in a row open
its circuit like any other failure.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from functools import partial
from typing import TypeVar

from tenacity import AsyncRetrying

from vapora_core.errors import Internal, Unavailable, VaporaError
from vapora_core.retry import retrying
from vapora_llm_router import metrics
from vapora_llm_router.breaker import Breakers
from vapora_llm_router.config import RetryConfig
from vapora_llm_router.providers.base import Completion, Provider, ProviderAuthError, ProviderRequest, StreamEvent

log = logging.getLogger("vapora.llm_router")

T = TypeVar("T")
MAX_BACKOFF_S = 30.0


class Attempts:
    def __init__(self, breakers: Breakers, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.breakers = breakers
        self._sleep = sleep

    def _retrying(self, cfg: RetryConfig) -> AsyncRetrying:
        # No deadline of its own: the caller's gRPC deadline bounds the whole request.
        return retrying(
            attempts=cfg.attempts,
            initial=cfg.backoff_s,
            maximum=MAX_BACKOFF_S,
            deadline=math.inf,
            jitter=cfg.backoff_s,
            sleep=self._sleep,
        )

    def _failed(self, provider: str, exc: VaporaError) -> None:
        breaker = self.breakers.get(provider)
        metrics.PROVIDER_ERRORS.labels(provider, exc.code).inc()
        if exc.retryable or isinstance(exc, ProviderAuthError | Internal):
            breaker.failure(self.breakers.now())
        else:
            breaker.release()
        log.warning("%s attempt failed: %s", provider, exc)

    async def _verdict(self, provider: str, call: Callable[[], Awaitable[T]]) -> T:
        """``call()``, with a failure told to the breaker and anything unexpected made Internal."""
        try:
            return await call()
        except VaporaError as exc:
            self._failed(provider, exc)
            raise
        except Exception as exc:
            err = Internal(f"{provider}: unexpected response: {type(exc).__name__}: {exc}")
            self._failed(provider, err)
            raise err from exc

    async def _once(self, provider: str, call: Callable[[], Awaitable[T]]) -> T:
        """One attempt: the breaker's permission, then the call and its verdict."""
        breaker = self.breakers.get(provider)
        if not breaker.acquire(self.breakers.now()):
            raise Unavailable(f"{provider}: circuit open, not calling it", retryable=False)
        started = time.perf_counter()
        try:
            return await self._verdict(provider, call)
        except asyncio.CancelledError:
            breaker.release()  # no verdict on the provider
            raise
        finally:
            metrics.LATENCY.labels(provider).observe(time.perf_counter() - started)

    def _answered(self, provider: str, request: ProviderRequest, completion: Completion) -> None:
        """The breaker's verdict on an answer: a success, unless it ignored max_tokens."""
        breaker = self.breakers.get(provider)
        if not ignored_max_tokens(request, completion):
            breaker.success()
            return
        metrics.PROVIDER_ERRORS.labels(provider, "ignored_max_tokens").inc()
        breaker.failure(self.breakers.now())
        log.warning(
            "%s answered %d output tokens to max_tokens %d: counted as a failure",
            provider,
            completion.output_tokens,
            request.max_tokens,
        )

    async def complete(self, provider: Provider, request: ProviderRequest, cfg: RetryConfig) -> Completion:
        async for attempt in self._retrying(cfg):
            with attempt:
                completion = await self._once(provider.name, lambda: provider.complete(request))
                self._answered(provider.name, request, completion)
                return completion
        raise AssertionError("unreachable")  # pragma: no cover

    async def stream(
        self, provider: Provider, request: ProviderRequest, cfg: RetryConfig
    ) -> AsyncGenerator[StreamEvent, None]:
        """The provider's events, the last with ``final`` set; retried until the first event."""
        name = provider.name
        async for attempt in self._retrying(cfg):
            with attempt:
                events = provider.stream(request)
                try:
                    event = await self._once(name, partial(_next, name, events))
                except BaseException:
                    await events.aclose()
                    raise
        async with aclosing(events):
            try:
                while event.final is None:
                    yield event
                    event = await self._verdict(name, partial(_next, name, events))
            except (GeneratorExit, asyncio.CancelledError):
                self.breakers.get(name).release()  # the caller went away: no verdict on the provider
                raise
            assert event.final is not None
            self._answered(name, request, event.final)
            yield event


def ignored_max_tokens(request: ProviderRequest, completion: Completion) -> bool:
    return 0 < request.max_tokens < completion.output_tokens


async def _next(provider: str, events: AsyncIterator[StreamEvent]) -> StreamEvent:
    try:
        return await anext(events)
    except StopAsyncIteration:
        raise Internal(f"{provider}: stream ended without usage") from None
