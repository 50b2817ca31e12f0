"""Login timing does not reveal unknown emails; a WebSocket whose sending side fails is closed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from vapora_api_gateway.security import Passwords
from vapora_core.errors import Unavailable


async def test_the_dummy_hash_is_a_real_hash_with_the_configured_cost():
    pw = Passwords(time_cost=1, memory_kib=1024)
    dummy = await pw.dummy_hash()
    assert dummy.startswith("$argon2id$") and "m=1024,t=1" in dummy
    assert await pw.dummy_hash() == dummy  # made once
    assert not await pw.verify(dummy, "anything")


async def test_login_with_an_unknown_email_verifies_against_the_dummy_hash(gateway):
    app, client = gateway
    await client.register("known@example.com")
    passwords = app.gateway.accounts.passwords
    verified: list[str] = []
    real_verify = passwords.verify

    async def spy(hashed: str, password: str) -> bool:
        verified.append(hashed)
        return await real_verify(hashed, password)

    passwords.verify = spy  # type: ignore[method-assign]
    unknown = await client.call("POST", "/api/v1/auth/login", json={"email": "nobody@example.com", "password": "x" * 9})
    wrong = await client.call("POST", "/api/v1/auth/login", json={"email": "known@example.com", "password": "y" * 9})
    assert unknown[0] == wrong[0] == 401 and unknown[1]["detail"] == wrong[1]["detail"]
    assert verified[0] == await passwords.dummy_hash()
    assert verified[1] != verified[0] and verified[1].split("$")[:4] == verified[0].split("$")[:4]  # same params


class _FailingSource:
    def close(self) -> None:
        pass

    async def stream(self, workspace_id: str, after: int | None) -> AsyncIterator[tuple[str, dict[str, Any]] | None]:
        yield "task", {"id": 1, "task_id": "t1", "workspace_id": workspace_id, "state": "running"}
        raise Unavailable("nats went away")


async def test_a_websocket_whose_sending_side_fails_is_closed(gateway):
    app, client = gateway
    me = await client.register("wsfail@example.com")
    ws = me["workspace"]["id"]
    app.gateway.events = _FailingSource()  # type: ignore[assignment]
    url = client.base.replace("http", "ws") + f"/api/v1/workspaces/{ws}/events/ws?access_token={me['access_token']}"
    async with aiohttp.ClientSession() as s, s.ws_connect(url) as sock:
        first = await asyncio.wait_for(sock.receive_json(), 10)
        assert first["event"]["task_id"] == "t1"
        closing = await asyncio.wait_for(sock.receive(), 10)
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
        assert sock.close_code == aiohttp.WSCloseCode.INTERNAL_ERROR
