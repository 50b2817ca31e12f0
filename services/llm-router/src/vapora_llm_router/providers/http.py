"""The HTTP client every provider adapter shares: aiohttp, one connection pool per provider.

aiohttp rather than httpx: a provider call is the router's hottest path, and aiohttp's client
spends far less CPU on the same streamed call (docs/performance.md, llm-router). The session is
made on first use, inside the running event loop, as aiohttp wants.

Timeouts, as they were with httpx: ``connect_timeout_s`` to open a connection, ``timeout_s`` to
get one from the pool and between two reads of the body (a long stream that keeps moving is never
cut); no total.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpOptions:
    base_url: str
    api_key: str = ""
    timeout_s: float = 60.0
    connect_timeout_s: float = 5.0
    max_connections: int = 200


class HttpClient:
    """POSTs of JSON to one provider's base URL over a pooled aiohttp session."""

    def __init__(self, options: HttpOptions) -> None:
        self._options = options
        self._base = options.base_url.rstrip("/")
        self._session: aiohttp.ClientSession | None = None

    def _current(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            o = self._options
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=o.max_connections),
                timeout=aiohttp.ClientTimeout(
                    total=None, connect=o.timeout_s, sock_connect=o.connect_timeout_s, sock_read=o.timeout_s
                ),
            )
        return self._session

    @contextlib.asynccontextmanager
    async def post(
        self, path: str, payload: Mapping[str, Any], headers: Mapping[str, str]
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """``POST <base><path>`` with ``payload`` as JSON: the response, its body still to read."""
        body = json.dumps(payload).encode()
        headers = {**headers, "Content-Type": "application/json"}
        async with self._current().post(self._base + path, data=body, headers=headers) as response:
            yield response

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


async def text(response: aiohttp.ClientResponse) -> str:
    """The whole body as text (providers answer UTF-8; a stray byte is replaced, not fatal)."""
    return (await response.read()).decode("utf-8", errors="replace")


async def lines(response: aiohttp.ClientResponse) -> AsyncIterator[str]:
    """The body's lines (ended by ``\\n``; a ``\\r`` before it is the caller's to strip), as they come.

    Read in the chunks the socket gives, not with aiohttp's ``readline``, which refuses a line over
    its buffer's limit (512 KiB): one streamed event may carry a whole large tool call.
    """
    pending: list[bytes] = []
    async for chunk in response.content.iter_any():
        if b"\n" not in chunk:
            pending.append(chunk)
            continue
        pending.append(chunk)
        *complete, rest = b"".join(pending).split(b"\n")
        pending = [rest] if rest else []
        for line in complete:
            yield line.decode("utf-8", errors="replace")
    if pending:
        yield b"".join(pending).decode("utf-8", errors="replace")
