"""gRPC on grpc.aio: servers with health, reflection and error mapping; clients with deadlines.

Server side, :class:`ErrorHandling`, around each method's handler (wrapped once), decodes every
request itself and holds it to the server's limits (bad bytes or a request over a limit:
INVALID_ARGUMENT naming the field), maps a :class:`VaporaError` to its status code with the
error's message (bounded in size), counts every call in Prometheus, and starts a span whose parent
is the caller's trace context (W3C ``traceparent`` in metadata). Client side,
:func:`channel` adds the trace context and a default deadline to every call, and
:func:`call` turns RPC errors back into :class:`VaporaError`, retrying retryable ones.

An error's code and :meth:`~vapora_core.errors.VaporaError.details` go back in trailing metadata
(``vapora-error`` and ``vapora-error-<field>``, values percent-encoded), so
:func:`error_from_rpc` rebuilds an error that carries data (a budget refusal) as the same type
with the same fields: a caller reads ``exc.scope``, never the message.
"""

from __future__ import annotations

import contextlib
import logging
import time
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2_grpc

from vapora_core import errors, metrics
from vapora_core.grpc_channel import TracedChannel
from vapora_core.message_check import Limits, Rules, check_message
from vapora_core.retry import call_with_retry
from vapora_core.telemetry import span_from

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


ERROR_KEY = "vapora-error"


def error_trailers(exc: errors.VaporaError) -> tuple[tuple[str, str], ...]:
    """Trailing metadata that carries ``exc``'s code and data to the client."""
    fields = ((f"{ERROR_KEY}-{k}", urllib.parse.quote(v, safe="")) for k, v in exc.details().items())
    return ((ERROR_KEY, exc.code), *fields)


def _trailers(exc: grpc.RpcError) -> dict[str, str]:
    # grpc.aio gives a Metadata of (key, value) pairs, sync grpc a tuple of namedtuples: both unpack
    items: Any = exc.trailing_metadata() if hasattr(exc, "trailing_metadata") else None
    return {k: v for k, v in (items or ()) if isinstance(v, str)}


def error_from_rpc(exc: grpc.RpcError, target: str) -> errors.VaporaError:
    code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
    detail = exc.details() if hasattr(exc, "details") else str(exc)
    message = f"{target}: {detail or code.name}"
    trailers = _trailers(exc)
    if ERROR_KEY in trailers:
        prefix = f"{ERROR_KEY}-"
        details = {k[len(prefix) :]: urllib.parse.unquote(v) for k, v in trailers.items() if k.startswith(prefix)}
        typed = errors.rebuild(trailers[ERROR_KEY], message, details)
        if typed is not None:
            return typed
    cls = _FROM_STATUS.get(code, errors.Internal)
    return cls(message)


MAX_DETAIL_BYTES = 1024


def bounded(text: str, most: int = MAX_DETAIL_BYTES) -> str:
    """``text`` cut to at most ``most`` UTF-8 bytes, saying how much was cut: an error message that
    quotes a caller's input must not grow past what trailing metadata may carry."""
    data = text.encode()
    if len(data) <= most:
        return text
    kept = data[: most - 40].decode(errors="ignore")
    return f"{kept}… ({len(data) - len(kept.encode())} bytes cut)"


def _decoder(deserializer: Callable[[bytes], Any] | None, method: str, rules: Rules) -> Callable[[bytes], Any]:
    """The request's bytes decoded and checked; :class:`InvalidArgument` when they cannot be."""

    def decode(raw: bytes) -> Any:
        if deserializer is None:
            return raw
        try:
            request = deserializer(raw)
        except Exception as exc:  # protobuf's DecodeError, or whatever a custom deserializer raises
            raise errors.InvalidArgument(f"the request of {method} does not decode: {exc}") from exc
        if isinstance(request, Message):
            check_message(request, rules)
        return request

    return decode


class ErrorHandling:
    """Decodes and checks every request, maps errors to status codes, traces and counts every call.

    Each method's handler is wrapped once, when its service is added to the server (not per call,
    as a ``grpc.aio`` interceptor would be). A request is decoded here rather than by grpcio (whose
    failure to decode is UNKNOWN), then held to the server's
    :class:`~vapora_core.message_check.Limits` before the handler runs: bytes that are not the
    method's message, and a request over a limit, are INVALID_ARGUMENT naming the field. Every
    error's message is :func:`bounded`; bad input is logged in one line.
    """

    def __init__(self, service: str, limits: Limits | None = None) -> None:
        self._service = service
        self._rules = Rules(limits=limits or Limits())

    def wrap(self, method: str, handler: grpc.RpcMethodHandler[Any, Any]) -> grpc.RpcMethodHandler[Any, Any]:
        """``handler`` of ``method`` (``/package.Service/Method``) with the checks, errors, span and count."""
        service = self._service
        decode = _decoder(handler.request_deserializer, method, self._rules)
        seconds = metrics.GRPC_SECONDS.labels(method)
        counts: dict[grpc.StatusCode, Any] = {}  # the method's counter by status code, as they come

        async def finish(
            context: grpc.aio.ServicerContext[Any, Any], exc: BaseException | None, started: float
        ) -> None:
            code = grpc.StatusCode.OK
            if isinstance(exc, errors.VaporaError):
                code = status_for(exc)
            elif exc is not None:
                code = grpc.StatusCode.INTERNAL
            count = counts.get(code)
            if count is None:
                count = counts[code] = metrics.GRPC_REQUESTS.labels(method, code.name)
            count.inc()
            seconds.observe(time.perf_counter() - started)
            if isinstance(exc, errors.VaporaError):
                message = bounded(exc.message)
                if isinstance(exc, errors.InvalidArgument):
                    log.warning("%s refused a request: %s", method, message)
                await context.abort(code, message, error_trailers(exc))
            elif exc is not None:
                log.exception("%s failed", method, exc_info=exc)
                await context.abort(code, f"internal error in {method}: {type(exc).__name__}")

        @contextlib.asynccontextmanager
        async def settled(context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[None]:
            """The call's span, count and time; its error (not an abort of its own) mapped by ``finish``."""
            started = time.perf_counter()
            carrier = {k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}
            with span_from(carrier, method, service):
                try:
                    yield
                except grpc.aio.AbortError:
                    raise
                except Exception as exc:
                    await finish(context, exc, started)
                    raise
                await finish(context, None, started)

        async def requests(raw: AsyncIterator[bytes]) -> AsyncIterator[Any]:
            async for item in raw:
                yield decode(item)

        if handler.unary_unary is not None or handler.stream_unary is not None:
            unary_inner: Any = handler.unary_unary or handler.stream_unary
            streamed_in = handler.unary_unary is None

            async def unary(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
                async with settled(context):
                    return await unary_inner(requests(request) if streamed_in else decode(request), context)

            make = grpc.stream_unary_rpc_method_handler if streamed_in else grpc.unary_unary_rpc_method_handler
            return make(unary, request_deserializer=None, response_serializer=handler.response_serializer)
        if handler.unary_stream is not None or handler.stream_stream is not None:
            stream_inner: Any = handler.unary_stream or handler.stream_stream
            streamed_in = handler.unary_stream is None

            async def streaming(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
                async with settled(context):
                    async for item in stream_inner(requests(request) if streamed_in else decode(request), context):
                        yield item

            make_stream = grpc.stream_stream_rpc_method_handler if streamed_in else grpc.unary_stream_rpc_method_handler
            return make_stream(streaming, request_deserializer=None, response_serializer=handler.response_serializer)
        return handler


Wrap = Callable[[str, "grpc.RpcMethodHandler[Any, Any]"], "grpc.RpcMethodHandler[Any, Any]"]


class _Generic(grpc.GenericRpcHandler):
    """A generic handler's answers, wrapped the first time each method is asked for (a servicer's
    generic handler answers by the method alone)."""

    def __init__(self, inner: grpc.GenericRpcHandler, wrap: Wrap) -> None:
        self._inner = inner
        self._wrap = wrap
        self._wrapped: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler[Any, Any] | None:
        method = handler_call_details.method
        wrapped = self._wrapped.get(method)
        if wrapped is None:
            handler = self._inner.service(handler_call_details)
            if handler is None:
                return None
            wrapped = self._wrapped[method] = self._wrap(method, handler)
        return wrapped


class _Wrapping:
    """The server as a generated ``add_XServicer_to_server`` sees it: every method handler it adds
    goes to the real server wrapped by ``wrap``."""

    def __init__(self, server: grpc.aio.Server, wrap: Wrap) -> None:
        self._server = server
        self._wrap = wrap

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        self._server.add_generic_rpc_handlers([_Generic(h, self._wrap) for h in handlers])

    def add_registered_method_handlers(
        self, service: str, handlers: dict[str, grpc.RpcMethodHandler[Any, Any]]
    ) -> None:
        wrapped = {name: self._wrap(f"/{service}/{name}", h) for name, h in handlers.items()}
        self._server.add_registered_method_handlers(service, wrapped)


Registrar = Callable[[Any, grpc.aio.Server], None]


class GrpcServer:
    """A grpc.aio server with the standard health service and reflection."""

    def __init__(
        self,
        service: str,
        host: str,
        port: int,
        servicers: Sequence[tuple[Registrar, Any, str]],
        *,
        limits: Limits | None = None,
    ) -> None:
        """``servicers``: (``add_XServicer_to_server``, servicer, full service name); ``limits``:
        what every request may hold (the defaults of :class:`Limits` when None)."""
        self._server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
        # what the add_*_to_server functions register on (their stubs name a grpc.Server)
        wrapping: Any = _Wrapping(self._server, ErrorHandling(service, limits).wrap)
        self._health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self._health, wrapping)
        self._names = [name for _, _, name in servicers]
        for add, servicer, _ in servicers:
            add(servicer, wrapping)
        names = [*self._names, health.SERVICE_NAME, reflection.SERVICE_NAME]
        reflection_pb2_grpc.add_ServerReflectionServicer_to_server(reflection.aio.ReflectionServicer(names), wrapping)
        self.port = self._server.add_insecure_port(f"{host}:{port}")
        if self.port == 0:
            raise errors.Unavailable(f"cannot bind gRPC to {host}:{port}")

    async def _set(self, status: int, names: Sequence[str] | None = None) -> None:
        """Health's answer for ``names`` (None: the server as a whole and every service)."""
        for name in ["", *self._names] if names is None else names:
            result = self._health.set(name, status)
            if isinstance(result, Awaitable):
                await result

    async def start(self, *, serving: bool = True) -> None:
        """Serve. Health answers SERVING for the server as a whole (``""``: the process is alive) at
        once; for its services SERVING, or NOT_SERVING until :meth:`set_serving` when not ``serving``
        (a standby: alive, not taking calls)."""
        await self._server.start()
        await self._set(health_pb2.HealthCheckResponse.SERVING, [""])
        await self.set_serving(serving)

    async def set_serving(self, serving: bool) -> None:
        """What health answers for this server's services (not for the server as a whole)."""
        status = health_pb2.HealthCheckResponse
        await self._set(status.SERVING if serving else status.NOT_SERVING, self._names)

    async def stop(self, grace: float) -> None:
        """Report NOT_SERVING, then let calls in flight finish for up to ``grace`` seconds."""
        await self._set(health_pb2.HealthCheckResponse.NOT_SERVING)
        await self._server.stop(grace)


def channel(target: str, *, timeout: float = 5.0, max_receive_bytes: int | None = None) -> grpc.aio.Channel:
    """A channel whose every unary-request call carries the trace context and a deadline
    (``timeout``, unless the call gives its own).

    ``max_receive_bytes`` raises gRPC's 4 MiB limit on a reply, for callers that take large
    replies and cut them themselves (tool results)."""
    options: list[tuple[str, Any]] = [("grpc.enable_retries", 0), ("grpc.keepalive_time_ms", 30000)]
    if max_receive_bytes is not None:
        options.append(("grpc.max_receive_message_length", max_receive_bytes))
    return TracedChannel(grpc.aio.insecure_channel(target, options=options), timeout)


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
