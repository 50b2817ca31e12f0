"""start_site: a real aiohttp server on loopback, and the port it really listens on."""

from __future__ import annotations

import httpx
from aiohttp import web

from vapora_core.http_site import start_site
from vapora_testing.ports import free_port


async def _hello(_: web.Request) -> web.Response:
    return web.Response(text="hello")


async def test_each_site_says_the_port_it_listens_on() -> None:
    app = web.Application()
    app.router.add_get("/", _hello)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        picked = await start_site(runner, "127.0.0.1", 0)
        asked = free_port()
        second = await start_site(runner, "127.0.0.1", asked, backlog=16)
        third = await start_site(runner, "127.0.0.1", 0)  # another picked port, not the first site's
        assert picked != 0 and second == asked and third not in (0, picked, asked)
        async with httpx.AsyncClient() as client:
            for port in (picked, second, third):
                r = await client.get(f"http://127.0.0.1:{port}/")
                assert (r.status_code, r.text) == (200, "hello")
    finally:
        await runner.cleanup()
