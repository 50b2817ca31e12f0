"""The client channel of :func:`vapora_core.grpc.channel`: the trace context and a default deadline
on every unary-request call, added by the method's callable rather than by a client interceptor
(which grpc.aio runs in a task of its own for every call)."""

from __future__ import annotations

from typing import Any

import grpc

from vapora_core.telemetry import inject


def _traced(metadata: Any) -> Any:
    """``metadata`` with the current trace context added (W3C ``traceparent``), if there is one."""
    carrier: dict[str, str] = {}
    inject(carrier)
    if not carrier:
        return metadata
    return (*(metadata or ()), *carrier.items())


class _Traced:
    """A unary-request method's callable (unary-unary or unary-stream) whose every call carries
    the trace context and, unless the call gives its own, the channel's deadline."""

    def __init__(self, inner: Any, timeout: float) -> None:
        self._inner = inner
        self._timeout = timeout

    def __call__(self, request: Any, *, timeout: float | None = None, metadata: Any = None, **options: Any) -> Any:
        deadline = self._timeout if timeout is None else timeout
        return self._inner(request, timeout=deadline, metadata=_traced(metadata), **options)


class TracedChannel(grpc.aio.Channel):
    """A channel whose unary-request calls carry the trace context and a default deadline: each
    method's callable wraps the channel's own (no client interceptor, which grpc.aio runs as a task
    of its own per call)."""

    def __init__(self, inner: grpc.aio.Channel, timeout: float) -> None:
        self._inner = inner
        self._timeout = timeout

    async def __aenter__(self) -> TracedChannel:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._inner.close()

    async def close(self, grace: float | None = None) -> None:
        await self._inner.close(grace)

    def get_state(self, try_to_connect: bool = False) -> grpc.ChannelConnectivity:
        return self._inner.get_state(try_to_connect)

    async def wait_for_state_change(self, last_observed_state: grpc.ChannelConnectivity) -> None:
        await self._inner.wait_for_state_change(last_observed_state)

    async def channel_ready(self) -> None:
        await self._inner.channel_ready()

    # ``_registered_method``: what generated stubs pass, handed on as they pass it
    def unary_unary(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return _Traced(self._inner.unary_unary(method, *args, **kwargs), self._timeout)

    def unary_stream(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return _Traced(self._inner.unary_stream(method, *args, **kwargs), self._timeout)

    def stream_unary(self, method: str, *args: Any, **kwargs: Any) -> grpc.aio.StreamUnaryMultiCallable[Any, Any]:
        return self._inner.stream_unary(method, *args, **kwargs)

    def stream_stream(self, method: str, *args: Any, **kwargs: Any) -> grpc.aio.StreamStreamMultiCallable[Any, Any]:
        return self._inner.stream_stream(method, *args, **kwargs)
