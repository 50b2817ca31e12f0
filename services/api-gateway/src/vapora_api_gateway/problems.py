"""HTTP errors as ``application/problem+json`` (RFC 9457), mapped once, at the edge."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from vapora_core import errors

PROBLEM_TYPE = "application/problem+json"

_STATUS: dict[type[errors.VaporaError], int] = {
    errors.InvalidArgument: 400,
    errors.Unauthenticated: 401,
    errors.PermissionDenied: 403,
    errors.NotFound: 404,
    errors.AlreadyExists: 409,
    errors.FailedPrecondition: 409,
    errors.ResourceExhausted: 429,
    errors.Unavailable: 503,
    errors.DeadlineExceeded: 504,
    errors.Internal: 500,
}

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class RateLimited(errors.ResourceExhausted):
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PayloadTooLarge(errors.InvalidArgument):
    code = "payload_too_large"

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"request body of {size} bytes is larger than the limit of {limit} bytes")
        self.size = size
        self.limit = limit


def status_for(exc: errors.VaporaError) -> int:
    if isinstance(exc, PayloadTooLarge):
        return 413
    for cls in type(exc).__mro__:
        if cls in _STATUS:
            return _STATUS[cls]
    return 500


def problem(
    status: int,
    detail: str,
    *,
    code: str = "",
    instance: str = "",
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> web.Response:
    body: dict[str, Any] = {
        "type": f"https://vapora.dev/problems/{code or status}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if code:
        body["code"] = code
    if instance:
        body["instance"] = instance
    if extra:
        body.update(extra)
    return web.Response(status=status, text=json.dumps(body), content_type=PROBLEM_TYPE, headers=headers or {})


def from_error(exc: errors.VaporaError, instance: str = "") -> web.Response:
    status = status_for(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="vapora"'
    return problem(status, exc.message, code=exc.code, instance=instance, headers=headers)
