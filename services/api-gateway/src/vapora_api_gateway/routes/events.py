"""Realtime task events of a workspace: Server-Sent Events and WebSocket, both resumable."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from aiohttp import WSCloseCode, WSMsgType, web

from vapora_api_gateway.context import authorize, gw
from vapora_api_gateway.models import EventOut
from vapora_api_gateway.params import ACCESS_TOKEN, INT64_MAX, IntParam, Param
from vapora_api_gateway.realtime import parse_resume_token, resume_token
from vapora_api_gateway.routes import Route

log = logging.getLogger("vapora.gateway.events")

# Event ids are JetStream stream sequence numbers: 1 and up, within a signed 64-bit integer here.
LAST_EVENT_ID = IntParam("Last-Event-ID", "Resume after this event id", 0, INT64_MAX, where="header")
AFTER = IntParam("after", "Resume after this event id (for clients that cannot set headers)", 0, INT64_MAX)
RESUME_TOKEN = Param(
    "resume_token", "resume_token of the last message received", max_length=256, pattern=r"[A-Za-z0-9_-]+"
)


async def sse(request: web.Request) -> web.StreamResponse:
    ws = request.match_info["workspace_id"]
    authorize(request, "events.read", ws)
    after = LAST_EVENT_ID.given(request)
    if after is None:
        after = AFTER.given(request)
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    connected = False
    async for event in gw(request).events.stream(ws, after):
        if event is None:  # the first: subscribed (nothing later is missed); then idle heartbeats
            await response.write(b": keep-alive\n\n" if connected else b"retry: 1000\n: connected\n\n")
            connected = True
            continue
        await response.write(f"id: {event['id']}\nevent: task\ndata: {json.dumps(event)}\n\n".encode())
    return response


async def websocket(request: web.Request) -> web.StreamResponse:
    ws_id = request.match_info["workspace_id"]
    authorize(request, "events.read", ws_id)
    token = RESUME_TOKEN.get(request)
    after = parse_resume_token(token, ws_id) if token else None
    sock = web.WebSocketResponse(heartbeat=20.0)
    await sock.prepare(request)
    source = gw(request).events

    async def pump() -> None:
        """Send events until the client goes; if sending (or the source) fails, close the socket so
        the client notices and resumes, instead of a half-dead connection that never delivers again."""
        try:
            async for event in source.stream(ws_id, after):
                if event is not None:
                    token = resume_token(ws_id, event["id"])
                    await sock.send_json({"type": "task", "resume_token": token, "event": event})
            await sock.close(code=WSCloseCode.GOING_AWAY, message=b"the gateway is shutting down; resume")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("event stream of workspace %s failed, closing the WebSocket: %r", ws_id, exc)
            with contextlib.suppress(Exception):
                await sock.close(code=WSCloseCode.INTERNAL_ERROR, message=b"event stream failed; resume")

    sender = asyncio.create_task(pump())
    try:
        async for msg in sock:  # the client sends nothing we need; this ends when it goes away
            if msg.type == WSMsgType.ERROR:
                break
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionResetError):
            await sender
        await sock.close()
    return sock


EVENTS = "/workspaces/{workspace_id}/events"
ROUTES = (
    Route(
        "GET",
        EVENTS,
        sse,
        "Task status events as Server-Sent Events; resume with Last-Event-ID",
        "events",
        action="events.read",
        response=EventOut,
        media="text/event-stream",
        params=(LAST_EVENT_ID, AFTER, ACCESS_TOKEN),
    ),
    Route(
        "GET",
        EVENTS + "/ws",
        websocket,
        "Task status events over a WebSocket; each message carries a resume_token to reconnect with",
        "events",
        action="events.read",
        response=EventOut,
        status=101,
        params=(RESUME_TOKEN, ACCESS_TOKEN),
    ),
)
