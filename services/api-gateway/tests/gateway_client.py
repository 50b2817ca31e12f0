"""A small JSON client of one running gateway, as the gateway's tests use it."""

from __future__ import annotations

from typing import Any

import aiohttp


class Client:
    """A small JSON client of one running gateway."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    async def call(
        self,
        method: str,
        path: str,
        token: str = "",
        json: Any = None,
        headers: dict[str, str] | None = None,
        data: bytes | None = None,
    ) -> tuple[int, Any, Any]:
        hdrs = dict(headers or {})
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        async with self.session.request(method, self.base + path, json=json, data=data, headers=hdrs) as resp:
            text = await resp.text()
            try:
                body = await resp.json(content_type=None) if text else None
            except ValueError:
                body = text
            return resp.status, body, resp.headers

    async def register(self, email: str, password: str = "correct horse battery") -> dict[str, Any]:
        status, body, _ = await self.call("POST", "/api/v1/auth/register", json={"email": email, "password": password})
        assert status == 201, body
        return dict(body)

    async def add_member(self, token: str, ws: str, email: str, role: str | None = None) -> tuple[int, Any]:
        """Add a registered person to workspace ``ws`` (with ``role``, else the server's default):
        the status and body, for the test to assert on."""
        payload = {"email": email} if role is None else {"email": email, "role": role}
        status, body, _ = await self.call("POST", f"/api/v1/workspaces/{ws}/members", token, json=payload)
        return status, body
