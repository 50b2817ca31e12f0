"""What the tests of the edges ask of a gRPC answer: its status, and whether it blames the server."""

from __future__ import annotations

from collections.abc import Awaitable

import grpc

# Codes a caller's bad input must never get: a server fault, or a code that says "retry".
NOT_FOR_BAD_INPUT = frozenset({grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNAVAILABLE})


async def status_of(call: Awaitable[object]) -> tuple[grpc.StatusCode, str]:
    """(status code, details) of an RPC: OK and "" when it succeeds."""
    try:
        await call
    except grpc.RpcError as exc:
        return exc.code(), exc.details() or ""
    return grpc.StatusCode.OK, ""
