"""Requests aiohttp's parser refuses are answered as problem+json and logged in one line; the limits
leave room for every request the OpenAPI document allows."""

from __future__ import annotations

import asyncio
import json
import logging
import re

import aiohttp

from vapora_api_gateway import http_server
from vapora_api_gateway.app import ROUTES
from vapora_api_gateway.params import IntParam, path_param

_PLACEHOLDER = re.compile(r"{([^}]+)}")


def test_the_installed_aiohttp_is_one_the_error_adapter_was_checked_against():
    assert aiohttp.__version__.startswith(http_server.VERIFIED), (
        f"aiohttp {aiohttp.__version__} is new: check that web.AppRunner._make_server still returns the "
        "web.Server, that web.Server.__call__ still makes the RequestHandler and RequestHandler.handle_error "
        "still builds the parse-error answer (aiohttp's web_runner.py, web_server.py, web_protocol.py), then "
        "add the version to http_server.VERIFIED"
    )


async def _send(port: int, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), 10)  # the server closes after a parse error
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


async def test_an_over_long_request_line_or_header_is_a_problem_and_one_log_line(gateway, caplog):
    app, _ = gateway
    caplog.set_level(logging.DEBUG)
    too_long = "a" * (http_server.MAX_REQUEST_LINE + 10)
    probes = [
        f"GET /api/v1/tasks?cursor={too_long} HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
        f"GET /api/v1/tasks HTTP/1.1\r\nHost: x\r\nX-Big: {'b' * (http_server.MAX_HEADER + 10)}\r\n\r\n".encode(),
        b"GET /api/v1/tasks HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        b"\x16\x03\x01 not http at all\r\n\r\n",
    ]
    for raw in probes:
        caplog.clear()
        status, headers, body = await _send(app.port, raw)
        assert status == 400 and headers["content-type"].startswith("application/problem+json"), (raw[:40], body)
        problem = json.loads(body)
        assert problem["status"] == 400 and problem["detail"].startswith("the request"), problem
        ours = [r for r in caplog.records if r.name.startswith(("vapora", "aiohttp"))]
        assert len(ours) == 1 and ours[0].exc_info is None and ours[0].levelno == logging.INFO, caplog.text
        assert "\n" not in ours[0].getMessage()
    assert "too long" in json.loads((await _send(app.port, probes[0]))[2])["detail"]


def _longest_request_line(route) -> int:
    """Bytes of the longest request line the document allows for ``route``: every parameter at its
    longest, each character percent-encoded from four UTF-8 bytes (12 characters), or from one
    byte (3 characters) for a parameter with a pattern (each pattern here is of ASCII characters)."""
    length = len(f"{route.method} {route.full_path} HTTP/1.1")
    for name in _PLACEHOLDER.findall(route.path):
        length += 12 * path_param(name).max_length
    for p in route.params:
        if p.where != "query":
            continue
        if isinstance(p, IntParam):
            value = 20
        else:
            assert p.pattern.isascii()
            value = (3 if p.pattern else 12) * (max(map(len, p.enum)) if p.enum else p.max_length)
        length += len(p.name) + 2 + value  # "&name=value"
    return length


def test_every_request_the_document_allows_fits_the_request_line_limit():
    longest = {f"{r.method} {r.path}": _longest_request_line(r) for r in ROUTES}
    assert max(longest.values()) <= http_server.MAX_REQUEST_LINE, longest


async def test_a_long_request_within_the_documented_limits_is_served(client):
    me = await client.register("long-url@example.com")
    value = "\U0001f600" * 64  # 64 characters, 768 bytes percent-encoded
    query = "&".join(f"{name}={value}" for name in ("workspace_id", "project_id", "agent_id"))
    status, problem, _ = await client.call("GET", f"/api/v1/tasks?{query}", me["access_token"])
    assert status == 404 and "workspace" in problem["detail"]  # read and answered by the app, not the parser
