"""The httpx client every HTTP provider adapter shares the setup of."""

from __future__ import annotations

from dataclasses import dataclass

import httpx


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpOptions:
    base_url: str
    api_key: str = ""
    timeout_s: float = 60.0
    connect_timeout_s: float = 5.0
    max_connections: int = 200


def make_client(options: HttpOptions) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=options.base_url.rstrip("/"),
        timeout=httpx.Timeout(options.timeout_s, connect=options.connect_timeout_s),
        limits=httpx.Limits(max_connections=options.max_connections, max_keepalive_connections=options.max_connections),
    )
