"""Realtime events of a workspace: Server-Sent Events and WebSocket, both resumable.

Two kinds share one stream and one sequence: task status changes (SSE ``event: task``, WebSocket
``type: task``) and workflow run changes (``workflow``); a client resumes both with one id. On the
WebSocket a client may also decide a gate of one of the workspace's runs (``{"type": "approve" |
"reject", ...}``, ``GateCommand``): checked and audited as the REST call is, answered on the socket."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from vapora_api_gateway import json_body
from vapora_api_gateway.context import authorize, gw, principal, validated
from vapora_api_gateway.params import ACCESS_TOKEN, INT64_MAX, IntParam, Param
from vapora_api_gateway.problems import status_for
from vapora_api_gateway.realtime import parse_resume_token, resume_token
from vapora_api_gateway.routes import Route
from vapora_api_gateway.routes import workflows as workflow_routes
from vapora_api_gateway.workflow_models import GateCommand, StreamEventOut
from vapora_core.errors import VaporaError

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
    with contextlib.suppress(ConnectionResetError):  # the client went away: nothing more to send
        async for item in gw(request).events.stream(ws, after):
            if item is None:  # the first: subscribed (nothing later is missed); then idle heartbeats
                await response.write(b": keep-alive\n\n" if connected else b"retry: 1000\n: connected\n\n")
                connected = True
                continue
            kind, event = item
            await response.write(f"id: {event['id']}\nevent: {kind}\ndata: {json.dumps(event)}\n\n".encode())
    return response


async def websocket(request: web.Request) -> web.StreamResponse:
    ws_id = request.match_info["workspace_id"]
    authorize(request, "events.read", ws_id)
    token = RESUME_TOKEN.get(request)
    after = parse_resume_token(token, ws_id) if token else None
    sock = web.WebSocketResponse(heartbeat=20.0)
    await sock.prepare(request)
    source = gw(request).events
    sending = asyncio.Lock()  # events and answers to commands go out whole, one at a time

    async def pump() -> None:
        """Send events until the client goes; if sending (or the source) fails, close the socket so
        the client notices and resumes, instead of a half-dead connection that never delivers again."""
        try:
            async for item in source.stream(ws_id, after):
                if item is not None:
                    kind, event = item
                    token = resume_token(ws_id, event["id"])
                    async with sending:
                        await sock.send_json({"type": kind, "resume_token": token, "event": event})
            await sock.close(code=WSCloseCode.GOING_AWAY, message=b"the gateway is shutting down; resume")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("event stream of workspace %s failed, closing the WebSocket: %r", ws_id, exc)
            with contextlib.suppress(Exception):
                await sock.close(code=WSCloseCode.INTERNAL_ERROR, message=b"event stream failed; resume")

    sender = asyncio.create_task(pump())
    try:
        async for msg in sock:  # gate commands, if any; this ends when the client goes away
            if msg.type == WSMsgType.ERROR:
                break
            if msg.type == WSMsgType.TEXT:
                answer = await _command(request, ws_id, msg.data)
                async with sending:
                    await sock.send_json(answer)
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionResetError):
            await sender
        await sock.close()
    return sock


async def _command(request: web.Request, ws_id: str, raw: str) -> dict[str, Any]:
    """The answer to one message a client sent on the socket: a gate command's result or its problem.
    Every command is audited like the REST call it stands for."""
    command_id, run_id, verb = "", "", "command"
    try:
        data = json_body.decode(raw.encode())
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            command_id = data["id"][:64]
        command = validated(GateCommand, data, "the WebSocket command")
        run_id, verb = command.run_id, command.type
        run = await workflow_routes.gate_command(request, ws_id, command)
        status = 200
        answer: dict[str, Any] = {"type": "result", "id": command.id, "run": run}
    except VaporaError as exc:
        status = status_for(exc)
        answer = {"type": "error", "id": command_id, "status": status, "detail": exc.message}
    gw(request).audit.record(
        actor=principal(request).label,
        action="run.approve",
        method="WS",
        path=f"/api/v1/workflow-runs/{run_id}/{verb}" if run_id else request.path,
        resource=f"workflow-run:{run_id}" if run_id else "",
        status=status,
        workspace_id=ws_id,
    )
    return answer


EVENTS = "/workspaces/{workspace_id}/events"
ROUTES = (
    Route(
        "GET",
        EVENTS,
        sse,
        "Task status events (event: task) and workflow run changes (event: workflow, WorkflowEventOut) as"
        " Server-Sent Events; resume both with Last-Event-ID",
        "events",
        action="events.read",
        response=StreamEventOut,
        media="text/event-stream",
        params=(LAST_EVENT_ID, AFTER, ACCESS_TOKEN),
    ),
    Route(
        "GET",
        EVENTS + "/ws",
        websocket,
        "Task status events (type: task) and workflow run changes (type: workflow) over a WebSocket; each"
        " message carries a resume_token to reconnect with. A client may send gate decisions (GateCommand)",
        "events",
        action="events.read",
        response=StreamEventOut,
        status=101,
        params=(RESUME_TOKEN, ACCESS_TOKEN),
    ),
)
