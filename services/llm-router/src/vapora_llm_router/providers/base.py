"""What every provider adapter takes and returns, and how HTTP failures become errors.

Error mapping (one place, used by every adapter):

- 429, 5xx, timeouts, connection errors  → :class:`~vapora_core.errors.Unavailable` /
  :class:`~vapora_core.errors.DeadlineExceeded` (retryable; the breaker counts them)
- 401, 403                               → :class:`ProviderAuthError` (not retryable; counts)
- 400, 404, other 4xx                    → :class:`~vapora_core.errors.InvalidArgument`
- a body that is not the wire format     → :class:`~vapora_core.errors.Internal` (not retryable)
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp

from vapora_core.errors import (
    DeadlineExceeded,
    Internal,
    InvalidArgument,
    PermissionDenied,
    Unavailable,
    VaporaError,
)
from vapora_llm_router.providers import http


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolDefinition:
    """A tool the model may call; ``parameters_json`` is a JSON object schema (validated)."""

    name: str
    description: str = ""
    parameters_json: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCall:
    """A call the model made; ``error`` set means it was malformed (see :mod:`.tools`)."""

    id: str
    name: str
    arguments_json: str
    error: str = ""
    provider_data: str = ""  # opaque, sent back with the call (Gemini's thoughtSignature)


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolResult:
    tool_call_id: str
    name: str
    content: str
    is_error: bool = False


@dataclass(frozen=True, slots=True)
class ChatTurn:
    role: str  # user, assistant or tool
    content: str
    tool_calls: tuple[ToolCall, ...] = ()  # assistant turns that called tools
    tool_results: tuple[ToolResult, ...] = ()  # role tool


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderRequest:
    model: str
    system: str
    messages: tuple[ChatTurn, ...]
    max_tokens: int
    temperature: float
    tools: tuple[ToolDefinition, ...] = ()


@dataclass(slots=True, kw_only=True)
class Completion:
    text: str
    input_tokens: int
    output_tokens: int
    finish_reason: str  # normalised: stop, length, tool_calls, or the provider's own word
    model: str
    tool_calls: tuple[ToolCall, ...] = ()
    unverified: bool = False  # no model produced it (the offline provider)


@dataclass(slots=True, kw_only=True)
class StreamEvent:
    """A text delta, a piece of a tool call (``call_chars``: its length, for metering), or
    (``final`` set) the end of the stream with usage. Only deltas go on to the caller."""

    delta: str = ""
    call_chars: int = 0
    final: Completion | None = None


class ProviderAuthError(PermissionDenied):
    """The provider refused the key (401/403): not retryable, but the breaker counts it."""


class Provider(Protocol):
    name: str

    async def complete(self, request: ProviderRequest) -> Completion: ...

    def stream(self, request: ProviderRequest) -> AsyncGenerator[StreamEvent, None]: ...

    async def aclose(self) -> None: ...


@dataclass(slots=True)
class StreamAccumulator:
    """Collects deltas of a stream so the final event can carry the whole text."""

    parts: list[str] = field(default_factory=list)

    def add(self, delta: str) -> str:
        if delta:
            self.parts.append(delta)
        return delta

    @property
    def text(self) -> str:
        return "".join(self.parts)


def error_for_status(provider: str, status: int, body: str) -> VaporaError:
    """The error a provider's HTTP status means, with the provider's own message."""
    detail = _error_message(body)
    text = f"{provider}: HTTP {status}: {detail}"
    if status == 429:
        return Unavailable(f"{text} (rate limited)")
    if status >= 500:
        return Unavailable(text)
    if status in (401, 403):
        return ProviderAuthError(f"{text} (check the {provider} API key)")
    return InvalidArgument(text)


def _error_message(body: str) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body[:200] or "(empty body)"
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict):
            return str(err.get("message") or err)[:300]
        return str(err)[:300]
    return str(data)[:300]


TRANSPORT_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError)


def transport_error(provider: str, exc: aiohttp.ClientError | asyncio.TimeoutError) -> VaporaError:
    """Timeouts and connection failures: retryable."""
    if isinstance(exc, asyncio.TimeoutError):
        return DeadlineExceeded(f"{provider}: timed out ({type(exc).__name__})")
    return Unavailable(f"{provider}: {type(exc).__name__}: {exc or 'connection failed'}")


def parse_json(provider: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise Internal(f"{provider}: malformed response body (not JSON): {text[:120]!r}") from exc


def malformed(provider: str, what: str) -> Internal:
    return Internal(f"{provider}: malformed response: {what}")


def stream_json(provider: str, raw: str, what: str) -> Any:
    """One piece of a stream (``what`` names it: an event, a chunk, a line) as JSON, or malformed."""
    try:
        return json.loads(raw)
    except ValueError:
        raise malformed(provider, f"{what} is not JSON: {raw[:120]!r}") from None


def stream_object(provider: str, raw: str, what: str) -> dict[str, Any]:
    """:func:`stream_json` for formats whose every piece is a JSON object."""
    data = stream_json(provider, raw, what)
    if not isinstance(data, dict):
        raise malformed(provider, f"{what} is not an object")
    return data


def dig(provider: str, data: Any, *path: str | int) -> Any:
    """``data[path0][path1]...`` or a clear :class:`Internal` naming the missing field."""
    cur = data
    for i, key in enumerate(path):
        try:
            cur = cur[key]
        except (KeyError, IndexError, TypeError):
            where = ".".join(str(p) for p in path[: i + 1])
            raise malformed(provider, f"missing field {where}") from None
    return cur


def as_int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) else 0


async def post_json(
    client: http.HttpClient, provider: str, url: str, payload: Mapping[str, Any], headers: Mapping[str, str]
) -> Any:
    try:
        async with client.post(url, payload, headers) as resp:
            body = await http.text(resp)
    except TRANSPORT_ERRORS as exc:
        raise transport_error(provider, exc) from exc
    if resp.status >= 400:
        raise error_for_status(provider, resp.status, body)
    return parse_json(provider, body)


async def stream_lines(
    client: http.HttpClient, provider: str, url: str, payload: Mapping[str, Any], headers: Mapping[str, str]
) -> AsyncIterator[str]:
    """POST and yield the response's lines (SSE or NDJSON), mapping errors."""
    try:
        async with client.post(url, payload, headers) as resp:
            if resp.status >= 400:
                raise error_for_status(provider, resp.status, await http.text(resp))
            async for line in http.lines(resp):
                yield line
    except TRANSPORT_ERRORS as exc:
        raise transport_error(provider, exc) from exc


async def sse_events(provider: str, lines: AsyncIterator[str]) -> AsyncIterator[tuple[str, str]]:
    """Server-sent events as (event, data) pairs; multi-line data joined with newlines.

    A body that is not an event stream, or that carries no event at all, is malformed.
    """
    event, data = "", list[str]()
    seen = False
    async for raw in lines:
        line = raw.rstrip("\r")
        if not line:
            if data:
                yield event, "\n".join(data)
            event, data = "", list[str]()
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
            seen = True
        elif name not in ("id", "retry"):
            raise malformed(provider, f"not a server-sent event stream: {line[:120]!r}")
    if data:
        yield event, "\n".join(data)
    if not seen:
        raise malformed(provider, "the event stream carried no events")
