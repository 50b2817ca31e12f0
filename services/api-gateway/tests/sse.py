"""Reading a Server-Sent Events response in tests."""

from __future__ import annotations

import asyncio
import json

import aiohttp


async def read_sse(resp: aiohttp.ClientResponse, count: int) -> list[dict[str, object]]:
    events, current = [], {}
    while len(events) < count:
        line = (await asyncio.wait_for(resp.content.readline(), 10)).decode().rstrip("\n")
        if line.startswith("id: "):
            current["id"] = int(line[4:])
        elif line.startswith("data: "):
            current["data"] = json.loads(line[6:])
        elif line == "" and "data" in current:
            events.append(current)
            current = {}
    return events
