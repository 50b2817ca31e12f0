"""The providers' HTTP client reads a streamed body's lines as the socket gives them, whatever
their size and however the chunks fall (a real aiohttp server on loopback)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from vapora_llm_router.providers import base, http

BIG = "é" * 400_000  # 800 KB of two-byte characters on one line: past the 512 KiB readline takes


@pytest.fixture
async def server() -> AsyncIterator[str]:
    async def chunked(request: web.Request) -> web.StreamResponse:
        await request.read()
        body = f'data: {{"arguments": "{BIG}"}}\r\n\r\ndata: one\ndata: two\n\ndata: [DONE]'.encode()
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for i in range(0, len(body), 999):  # odd pieces: a character, a \r\n, split across them
            await resp.write(body[i : i + 999])
        await resp.write_eof()
        return resp

    async def refused(request: web.Request) -> web.Response:
        return web.json_response({"error": {"message": "no such model"}}, status=404)

    app = web.Application()
    app.router.add_post("/v1/stream", chunked)
    app.router.add_post("/v1/missing", refused)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/"
    finally:
        await runner.cleanup()


async def test_a_line_of_any_size_split_anywhere_arrives_whole(server: str) -> None:
    client = http.HttpClient(http.HttpOptions(base_url=server))
    try:
        lines = base.stream_lines(client, "test", "/v1/stream", {"q": 1}, {})
        events = [data async for _, data in base.sse_events("test", lines)]
    finally:
        await client.aclose()
    assert events == [f'{{"arguments": "{BIG}"}}', "one\ntwo", "[DONE]"]


async def test_an_error_status_is_mapped_with_the_providers_message(server: str) -> None:
    client = http.HttpClient(http.HttpOptions(base_url=server))
    try:
        with pytest.raises(Exception, match="no such model") as info:
            async for _ in base.stream_lines(client, "test", "/v1/missing", {}, {}):
                pass
        with pytest.raises(type(info.value), match="no such model"):
            await base.post_json(client, "test", "/v1/missing", {}, {})
    finally:
        await client.aclose()
