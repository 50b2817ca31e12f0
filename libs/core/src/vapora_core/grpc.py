"""gRPC on grpc.aio: servers with health, reflection and error mapping; clients with deadlines.

Server side, :class:`ErrorInterceptor` maps a :class:`VaporaError` to its status code
with the error's message, counts every call in Prometheus, and starts a span whose
parent is the caller's trace context (W3C ``traceparent`` in metadata). Client side,
:func:`channel` adds the trace context and a default deadline to every call, and
:func:`call` turns RPC errors back into :class:`VaporaError`, retrying retryable ones.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from vapora_core import errors, metrics
from vapora_core.retry import call_with_retry
from vapora_core.telemetry import inject, span_from

log = logging.getLogger("vapora.grpc")

T = TypeVar("T")

_TO_STATUS: dict[type[errors.VaporaError], grpc.StatusCode] = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
    errors.DeadlineExceeded: grpc.StatusCode.DEADLINE_EXCEEDED,
    errors.Internal: grpc.StatusCode.INTERNAL,
}
_FROM_STATUS: dict[grpc.StatusCode, type[errors.VaporaError]] = {v: k for k, v in _TO_STATUS.items()}
_FROM_STATUS[grpc.StatusCode.CANCELLED] = errors.Unavailable


def status_for(exc: errors.VaporaError) -> grpc.StatusCode:
    for cls in type(exc).__mro__:
        if cls in _TO_STATUS:
            return _TO_STATUS[cls]
    return grpc.StatusCode.INTERNAL


def error_from_rpc(exc: grpc.RpcError, target: str) -> errors.VaporaError:
    code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
    detail = exc.details() if hasattr(exc, "details") else str(exc)
    cls = _FROM_STATUS.get(code, errors.Internal)
    return cls(f"{target}: {detail or code.name}")


class ErrorInterceptor(grpc.aio.ServerInterceptor):
    """Maps errors to status codes, traces and counts every call."""

    def __init__(self, service: str) -> None:
        self._service = service

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method = handler_call_details.method
        carrier = {k: v for k, v in (handler_call_details.invocation_metadata or ()) if isinstance(v, str)}
        service = self._service

        async def finish(
            context: grpc.aio.ServicerContext[Any, Any], exc: BaseException | None, started: float
        ) -> None:
            code = grpc.StatusCode.OK
            if isinstance(exc, errors.VaporaError):
                code = status_for(exc)
            elif exc is not None:
                code = grpc.StatusCode.INTERNAL
            metrics.GRPC_REQUESTS.labels(method, code.name).inc()
            metrics.GRPC_SECONDS.labels(method).observe(time.perf_counter() - started)
            if isinstance(exc, errors.VaporaError):
                await context.abort(code, exc.message)
            elif exc is not None:
                log.exception("%s failed", method, exc_info=exc)
                await context.abort(code, f"internal error in {method}: {type(exc).__name__}")

        if handler.unary_unary is not None:
            inner: Any = handler.unary_unary

            async def unary(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
                started = time.perf_counter()
                with span_from(carrier, method, service):
                    try:
                        response = await inner(request, context)
                    except (errors.VaporaError, Exception) as exc:
                        if isinstance(exc, grpc.aio.AbortError):
                            raise
                        await finish(context, exc, started)
                        raise
                    await finish(context, None, started)
                    return response

            return grpc.unary_unary_rpc_method_handler(
                unary,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            inner_stream: Any = handler.unary_stream

            async def streaming(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
                started = time.perf_counter()
                with span_from(carrier, method, service):
                    try:
                        async for item in inner_stream(request, context):
                            yield item
                    except (errors.VaporaError, Exception) as exc:
                        if isinstance(exc, grpc.aio.AbortError):
                            raise
                        await finish(context, exc, started)
                        raise
                    await finish(context, None, started)

            return grpc.unary_stream_rpc_method_handler(
                streaming,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler


Registrar = Callable[[Any, grpc.aio.Server], None]


class GrpcServer:
    """A grpc.aio server with the standard health service and reflection."""

    def __init__(
        self,
        service: str,
        host: str,
        port: int,
        servicers: Sequence[tuple[Registrar, Any, str]],
    ) -> None:
        """``servicers``: (``add_XServicer_to_server``, servicer, full service name)."""
        self._server = grpc.aio.server(
            interceptors=[ErrorInterceptor(service)],
            options=[("grpc.so_reuseport", 0)],
        )
        self._health = health.aio.HealthServicer() if hasattr(health, "aio") else health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self._health, self._server)
        self._names = [name for _, _, name in servicers]
        for add, servicer, _ in servicers:
            add(servicer, self._server)
        reflection.enable_server_reflection([*self._names, health.SERVICE_NAME, reflection.SERVICE_NAME], self._server)
        self.port = self._server.add_insecure_port(f"{host}:{port}")
        if self.port == 0:
            raise errors.Unavailable(f"cannot bind gRPC to {host}:{port}")

    async def _set(self, status: int) -> None:
        for name in ["", *self._names]:
            result = self._health.set(name, status)
            if isinstance(result, Awaitable):
                await result

    async def start(self) -> None:
        await self._server.start()
        await self._set(health_pb2.HealthCheckResponse.SERVING)

    async def stop(self, grace: float) -> None:
        """Report NOT_SERVING, then let calls in flight finish for up to ``grace`` seconds."""
        await self._set(health_pb2.HealthCheckResponse.NOT_SERVING)
        await self._server.stop(grace)


class _ClientInterceptor(grpc.aio.UnaryUnaryClientInterceptor, grpc.aio.UnaryStreamClientInterceptor):
    def __init__(self, timeout: float) -> None:
        self._timeout = timeout

    def _details(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        metadata = list(details.metadata or ())
        carrier: dict[str, str] = {}
        inject(carrier)
        metadata.extend(carrier.items())
        return grpc.aio.ClientCallDetails(
            details.method,
            details.timeout if details.timeout is not None else self._timeout,
            grpc.aio.Metadata(*metadata),
            details.credentials,
            details.wait_for_ready,
        )

    async def intercept_unary_unary(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return await continuation(self._details(client_call_details), request)

    async def intercept_unary_stream(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return await continuation(self._details(client_call_details), request)


def channel(target: str, *, timeout: float = 5.0, max_receive_bytes: int | None = None) -> grpc.aio.Channel:
    """A channel whose every call carries the trace context and a deadline (``timeout``).

    ``max_receive_bytes`` raises gRPC's 4 MiB limit on a reply, for callers that take large
    replies and cut them themselves (tool results)."""
    options: list[tuple[str, Any]] = [("grpc.enable_retries", 0), ("grpc.keepalive_time_ms", 30000)]
    if max_receive_bytes is not None:
        options.append(("grpc.max_receive_message_length", max_receive_bytes))
    return grpc.aio.insecure_channel(target, interceptors=[_ClientInterceptor(timeout)], options=options)


async def call(target: str, fn: Callable[[], Awaitable[T]], *, attempts: int = 3) -> T:
    """Run one RPC; map ``grpc.RpcError`` to :class:`VaporaError`; retry retryable codes."""

    async def once() -> T:
        try:
            return await fn()
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, target) from exc

    return await call_with_retry(once, attempts=attempts)


async def check_health(target: str, service: str = "", timeout: float = 1.0) -> bool:
    """True when ``target`` answers SERVING for ``service``."""
    async with grpc.aio.insecure_channel(target) as ch:
        stub = health_pb2_grpc.HealthStub(ch)
        try:
            reply = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
        except grpc.RpcError:
            return False
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)
