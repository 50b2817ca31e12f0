"""Resumable event streams over real sockets, and the OpenAPI document against the router."""

from __future__ import annotations

import asyncio

import aiohttp
from google.protobuf.timestamp_pb2 import Timestamp
from sse import read_sse  # type: ignore[import-not-found]

from vapora.common.v1 import common_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import subjects


def _event(task_id: str, ws: str, n: int) -> tasks_pb2.TaskStatusChanged:
    return tasks_pb2.TaskStatusChanged(
        task_id=task_id,
        workspace_id=ws,
        state=common_pb2.TASK_STATE_RUNNING,
        detail=f"step {n}",
        at=Timestamp(seconds=1_700_001_000 + n),
    )


async def test_sse_resume_delivers_missed_events_in_order_exactly_once(client, bus):
    me = await client.register("sse@example.com")
    token, ws = me["access_token"], me["workspace"]["id"]
    url = f"{client.base}/api/v1/workspaces/{ws}/events?after=0"
    async with aiohttp.ClientSession() as s:
        async with s.get(url, headers={"Authorization": f"Bearer {token}"}) as resp:
            assert resp.status == 200
            for n in range(3):
                await bus.publish(subjects.task_event(ws), _event("t1", ws, n))
            first = await read_sse(resp, 3)
        # Disconnected: three more events happen while away (and one in another workspace).
        for n in range(3, 6):
            await bus.publish(subjects.task_event(ws), _event("t1", ws, n))
        await bus.publish(subjects.task_event("elsewhere"), _event("t9", "elsewhere", 99))
        headers = {"Authorization": f"Bearer {token}", "Last-Event-ID": str(first[-1]["id"])}
        async with s.get(f"{client.base}/api/v1/workspaces/{ws}/events", headers=headers) as resp:
            await bus.publish(subjects.task_event(ws), _event("t1", ws, 6))
            second = await read_sse(resp, 4)
    details = [e["data"]["detail"] for e in first + second]
    assert details == [f"step {n}" for n in range(7)]
    ids = [e["id"] for e in first + second]
    assert ids == sorted(set(ids))


async def test_websocket_resume_token_replays_what_was_missed(client, bus):
    me = await client.register("ws@example.com")
    token, ws = me["access_token"], me["workspace"]["id"]
    base = client.base.replace("http", "ws") + f"/api/v1/workspaces/{ws}/events/ws?access_token={token}"
    async with aiohttp.ClientSession() as s:
        async with s.ws_connect(base) as sock:
            await asyncio.sleep(0.2)
            await bus.publish(subjects.task_event(ws), _event("t1", ws, 0))
            msg = await asyncio.wait_for(sock.receive_json(), 10)
            resume = msg["resume_token"]
        for n in (1, 2):
            await bus.publish(subjects.task_event(ws), _event("t1", ws, n))
        async with s.ws_connect(f"{base}&resume_token={resume}") as sock:
            got = [await asyncio.wait_for(sock.receive_json(), 10) for _ in range(2)]
    assert [m["event"]["detail"] for m in got] == ["step 1", "step 2"]


async def test_openapi_document_lists_exactly_the_served_routes(gateway):
    app, client = gateway
    status, doc, _ = await client.call("GET", "/api/v1/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.1")
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    runner_app = app.web_app
    served = {
        (r.method, r.resource.canonical)
        for r in runner_app.router.routes()
        if r.resource is not None and r.resource.canonical.startswith("/api/") and r.method != "HEAD"
    }
    assert documented == served


def test_docs_api_md_lists_exactly_the_served_routes():
    import re
    from pathlib import Path

    from vapora_api_gateway.app import ROUTES

    doc = (Path(__file__).resolve().parents[3] / "docs" / "api.md").read_text()
    documented = set(re.findall(r"^\| (GET|POST|PATCH|PUT|DELETE) \| `([^`]+)` \|", doc, re.M))
    assert documented == {(r.method, r.full_path) for r in ROUTES}
