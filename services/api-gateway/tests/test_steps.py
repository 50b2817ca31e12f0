"""A task's transcript and its progress through the gateway: GET .../steps from a real
knowledge-graph, running tasks with step and tool, realtime events carrying them."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
from google.protobuf.timestamp_pb2 import Timestamp
from sse import read_sse  # type: ignore[import-not-found]

from vapora.common.v1 import common_pb2
from vapora.kg.v1 import kg_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import Bus, subjects
from vapora_testing.executions import publish_execution, publish_steps, step_of
from vapora_testing.polling import eventually


def _step(task_id: str, ws: str, run: str, index: int, kind: str, **fields: Any) -> kg_pb2.StepRecorded:
    return step_of(run, index, kind, task_id=task_id, workspace_id=ws, agent_id="coder-1", task_type="coding", **fields)


async def _poll(client: Any, path: str, token: str, ok: Any) -> dict[str, Any]:
    async def get() -> dict[str, Any]:
        status, body, _ = await client.call("GET", path, token)
        assert status == 200, body
        return dict(body)

    body: dict[str, Any] = await eventually(get, timeout=10.0, what=f"{path} as wanted", until=ok)
    return body


async def test_the_steps_of_a_task_are_its_final_runs_transcript_paged_and_only_for_its_workspace(
    learning_gateway: Any, bus: Bus
) -> None:
    client, _ = learning_gateway
    me = await client.register("steps@example.com")
    other = await client.register("nosy@example.com")
    token, ws = me["access_token"], me["workspace"]["id"]
    _, task, _ = await client.call("POST", "/api/v1/tasks", token, json={"title": "Fix the parser"})
    tid = task["id"]
    empty = await _poll(client, f"/api/v1/tasks/{tid}/steps", token, lambda b: True)
    assert empty["items"] == [] and empty["summary"] is None

    lost = _step(tid, ws, "ex-1.1", 1, "model")  # a run lost with its runtime
    call = kg_pb2.RequestedCall(id="c1", tool="workspace.read_file", arguments_json='{"path": "a.py"}')
    steps = [
        _step(tid, ws, "ex-1.2", 1, "model", provider="anthropic", model="claude", input_tokens=12, calls=[call]),
        _step(tid, ws, "ex-1.2", 2, "tool", tool="workspace.read_file", call_id="c1", result="print(1)"),
        _step(tid, ws, "ex-1.2", 3, "model", text="Fixed.", finish_reason="stop"),
    ]
    await publish_steps(bus, lost, *steps)
    execution = kg_pb2.ExecutionRecorded(
        execution_id="ex-1",
        run_id="ex-1.2",
        job_id="j-1",
        task_id=tid,
        workspace_id=ws,
        agent_id="coder-1",
        task_type="coding",
        success=True,
        quality=1.0,
        verified=True,
        steps=3,
        tool_calls=1,
        stop_reason="final_answer",
        cost_cents=0.4,
    )
    await publish_execution(bus, execution)

    body = await _poll(client, f"/api/v1/tasks/{tid}/steps", token, lambda b: b["summary"] is not None)
    assert (body["task_id"], body["execution_id"], body["run_id"]) == (tid, "ex-1", "ex-1.2")
    assert [(s["index"], s["kind"]) for s in body["items"]] == [(1, "model"), (2, "tool"), (3, "model")]
    first, tool, last = body["items"]
    assert first["calls"] == [
        {"id": "c1", "tool": "workspace.read_file", "arguments_json": '{"path": "a.py"}', "error": ""}
    ]
    assert (first["provider"], first["input_tokens"]) == ("anthropic", 12)
    assert (tool["tool"], tool["result"], tool["is_error"]) == ("workspace.read_file", "print(1)", False)
    assert last["text"] == "Fixed." and last["at"].startswith("2023-11-14T22:13:2")
    assert body["summary"] == {
        "stop_reason": "final_answer",
        "steps": 3,
        "tool_calls": 1,
        "success": True,
        "verified": True,
        "cost_cents": 0.4,
        "error": "",
    }

    status, page, _ = await client.call("GET", f"/api/v1/tasks/{tid}/steps?page_size=2", token)
    assert status == 200 and [s["index"] for s in page["items"]] == [1, 2] and page["next_page_token"]
    status, rest, _ = await client.call(
        "GET", f"/api/v1/tasks/{tid}/steps?page_size=2&page_token={page['next_page_token']}", token
    )
    assert [s["index"] for s in rest["items"]] == [3] and rest["next_page_token"] == ""

    status, body, _ = await client.call("GET", f"/api/v1/tasks/{tid}/steps", other["access_token"])
    assert status == 404 and body["detail"] == f"no task {tid}"
    for bad in ("page_size=0", "page_size=1001", "page_size=many", "page_token=%25%25"):
        status, body, _ = await client.call("GET", f"/api/v1/tasks/{tid}/steps?{bad}", token)
        assert status == 400, (bad, body)


async def test_a_running_task_shows_its_step_and_tool_with_one_history_entry_and_never_leaves_done(
    client: Any, bus: Bus
) -> None:
    me = await client.register("progress@example.com")
    token, ws = me["access_token"], me["workspace"]["id"]
    _, task, _ = await client.call("POST", "/api/v1/tasks", token, json={"title": "Refactor"})
    tid, subject = task["id"], subjects.task_event(ws)

    t0 = int(time.time()) - 60  # events are dated within the consumers' accepted window

    def event(state: int, at: int, **kw: Any) -> tasks_pb2.TaskStatusChanged:
        return tasks_pb2.TaskStatusChanged(
            task_id=tid, workspace_id=ws, state=state, at=Timestamp(seconds=t0 + at), agent_id="coder-1", **kw
        )

    running = common_pb2.TASK_STATE_RUNNING
    await bus.publish(subject, event(common_pb2.TASK_STATE_ASSIGNED, 10))
    await bus.publish(subject, event(running, 11, step=1, detail="step 1: model turn"))
    await bus.publish(subject, event(running, 12, step=2, tool="workspace.read_file", detail="step 2: calling"))
    path = f"/api/v1/tasks/{tid}"
    now = await _poll(client, path, token, lambda b: b["step"] == 2)
    assert (now["state"], now["step"], now["tool"]) == ("running", 2, "workspace.read_file")
    await bus.publish(subject, event(running, 13, step=3))
    now = await _poll(client, path, token, lambda b: b["step"] == 3)
    assert now["tool"] == ""  # a model turn
    assert [h["state"] for h in now["history"]] == ["submitted", "assigned", "running"]

    await bus.publish(subject, event(common_pb2.TASK_STATE_DONE, 14, execution_id="ex-1"))
    await _poll(client, path, token, lambda b: b["state"] == "done")
    await bus.publish(subject, event(running, 15, step=4, tool="workspace.list_files"))  # late progress
    await asyncio.sleep(0.4)
    _, after, _ = await client.call("GET", path, token)
    assert (after["state"], after["step"]) == ("done", 3)
    assert [h["state"] for h in after["history"]] == ["submitted", "assigned", "running", "done"]

    url = f"{client.base}/api/v1/workspaces/{ws}/events?after=0"
    async with aiohttp.ClientSession() as s, s.get(url, headers={"Authorization": f"Bearer {token}"}) as resp:
        events = [e["data"] for e in await read_sse(resp, 6)]
    progress = [(e["state"], e["step"], e["tool"]) for e in events if e["state"] == "running"]
    assert progress == [
        ("running", 1, ""),
        ("running", 2, "workspace.read_file"),
        ("running", 3, ""),
        ("running", 4, "workspace.list_files"),
    ]
