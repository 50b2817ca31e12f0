"""The request pipeline: trace span, metrics, errors as problem+json, limits, authentication, audit."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import hdrs, web
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from prometheus_client import Counter, Histogram

from vapora_api_gateway.context import ACTION, PRINCIPAL, RESOURCE, WORKSPACE, gw
from vapora_api_gateway.params import ACCESS_TOKEN, check_path
from vapora_api_gateway.problems import PayloadTooLarge, from_error, problem
from vapora_core.errors import VaporaError
from vapora_core.telemetry import extract

log = logging.getLogger("vapora.gateway.http")

HTTP_REQUESTS = Counter(
    "vapora_http_requests_total", "HTTP requests served, by route, method and status.", ["route", "method", "status"]
)
HTTP_SECONDS = Histogram(
    "vapora_http_request_seconds",
    "HTTP request latency, by route and method.",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PUBLIC_PREFIXES = ("/api/v1/auth/", "/api/v1/openapi.json", "/metrics", "/healthz", "/readyz", "/api/v1/docs")
STREAM_PATHS = ("/events", "/events/ws")
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
GZIP_MIN_BYTES = 1024
_tracer = trace.get_tracer("vapora.api_gateway")


def _route(request: web.Request) -> str:
    info = request.match_info.route.resource
    return info.canonical if info is not None else "unmatched"


@web.middleware
async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost: a span per request (continuing an incoming traceparent), metrics, error mapping."""
    route = _route(request)
    started = time.perf_counter()
    ctx = extract({k.lower(): v for k, v in request.headers.items() if k.lower() in ("traceparent", "tracestate")})
    with _tracer.start_as_current_span(
        f"{request.method} {route}",
        context=ctx,
        kind=SpanKind.SERVER,
        attributes={"http.request.method": request.method, "http.route": route},
    ) as span:
        try:
            response = await handler(request)
        except VaporaError as exc:
            response = from_error(exc, request.path)
        except web.HTTPRequestEntityTooLarge:
            size = request.content_length or 0
            response = from_error(PayloadTooLarge(size, request.client_max_size), request.path)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            default = f"{request.method} {request.path}: {exc.reason}"
            detail = exc.text if exc.text and exc.text != exc.reason else default
            response = problem(exc.status, detail.strip(), instance=request.path, headers=_allow(exc))
        except Exception:
            log.exception("unhandled error in %s %s", request.method, route)
            response = problem(500, "internal error; the request was logged", instance=request.path)
        status = response.status
        span.set_attribute("http.response.status_code", status)
        if status >= 500:
            span.set_status(Status(StatusCode.ERROR))
        HTTP_REQUESTS.labels(route, request.method, str(status)).inc()
        HTTP_SECONDS.labels(route, request.method).observe(time.perf_counter() - started)
        if request.method in MUTATING and route != "unmatched":
            _audit(request, route, status)
        if (
            isinstance(response, web.Response)
            and response.body is not None
            and len(response.body) >= GZIP_MIN_BYTES  # type: ignore[arg-type]
            and "gzip" in request.headers.get(hdrs.ACCEPT_ENCODING, "")
        ):
            response.enable_compression(web.ContentCoding.gzip)
        return response


def _allow(exc: web.HTTPException) -> dict[str, str]:
    allow = exc.headers.get("Allow")
    return {"Allow": allow} if allow else {}


def _audit(request: web.Request, route: str, status: int) -> None:
    principal = request.get(PRINCIPAL)
    gw(request).audit.record(
        actor=principal.label if principal is not None else "anonymous",
        action=str(request.get(ACTION) or f"{request.method} {route}"),
        method=request.method,
        path=request.path,
        resource=str(request.get(RESOURCE) or ""),
        status=status,
        workspace_id=str(request.get(WORKSPACE) or ""),
    )


def client_ip(request: web.Request) -> str:
    return request.remote or "unknown"


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Per-IP limit, then authentication (Bearer header; ?access_token= on event streams), per-user
    limit, then the path's parameters (each one's rule, :mod:`params`). On a route that needs a
    caller, both limits are counted at once when the caller is known (the shared counters are one
    round trip away, so two in a row would be two); a request refused before that still counts
    against its IP, and over that limit it hears 429 rather than why it was refused."""
    g = gw(request)
    ip = client_ip(request)
    path = request.path
    if path.startswith(PUBLIC_PREFIXES) or not path.startswith("/api/"):
        await g.ip_limiter.hit(ip)
        return await handler(request)
    try:
        authorization = request.headers.get(hdrs.AUTHORIZATION, "")
        if not authorization and path.endswith(STREAM_PATHS) and (token := ACCESS_TOKEN.get(request)):
            authorization = f"Bearer {token}"
        if request.content_length is not None and request.content_length > request.client_max_size:
            raise PayloadTooLarge(request.content_length, request.client_max_size)
        principal = await g.accounts.authenticate(authorization)
    except VaporaError:
        await g.ip_limiter.hit(ip)
        raise
    request[PRINCIPAL] = principal
    by_ip, by_user = await asyncio.gather(
        g.ip_limiter.hit(ip), g.user_limiter.hit(principal.user_id), return_exceptions=True
    )
    for refused in (by_ip, by_user):
        if isinstance(refused, BaseException):
            raise refused
    check_path(request)
    return await handler(request)
