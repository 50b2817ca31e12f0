"""The skeleton flow as the gateway sees it: register, submit, event in, state out."""

from __future__ import annotations

import asyncio
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from vapora.common.v1 import common_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import Bus, subjects
from vapora_testing.polling import eventually


async def _next_task_message(bus: Bus, subject: str) -> Any:
    nc = bus.nc
    js = nc.jetstream()
    sub = await js.pull_subscribe(subject, durable=None, stream="TASKS")
    msgs = await sub.fetch(1, timeout=5)
    return msgs[0]


def _event(task_id: str, ws: str, state: int, at_s: int, **kw: str) -> tasks_pb2.TaskStatusChanged:
    return tasks_pb2.TaskStatusChanged(
        task_id=task_id, workspace_id=ws, state=state, at=Timestamp(seconds=1_700_000_000 + at_s), **kw
    )


async def _wait_state(client: Any, token: str, task_id: str, state: str) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        status, body, _ = await client.call("GET", f"/api/v1/tasks/{task_id}", token)
        assert status == 200, body
        return dict(body)

    return await eventually(read, timeout=5.0, what=f"task {task_id} {state}", until=lambda b: b["state"] == state)


async def test_register_then_submit_publishes_task_submitted_with_task_id_as_msg_id(client, bus):
    me = await client.register("ada@example.com")
    assert me["token_type"] == "Bearer" and me["expires_in"] == 900
    status, task, _ = await client.call(
        "POST",
        "/api/v1/tasks",
        me["access_token"],
        json={"title": "Implement login", "task_type": "coding", "priority": "high"},
        headers={"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
    )
    assert status == 201, task
    assert task["state"] == "submitted" and task["workspace_id"] == me["workspace"]["id"]
    msg = await _next_task_message(bus, subjects.task("coding", "high"))
    assert msg.headers["Nats-Msg-Id"] == task["id"]
    assert msg.headers["traceparent"].startswith("00-0af7651916cd43dd8448eb211c80319c-")
    decoded = tasks_pb2.TaskSubmitted.FromString(msg.data)
    assert decoded.task.id == task["id"] and decoded.task.priority == common_pb2.PRIORITY_HIGH


async def test_untyped_task_goes_to_the_untyped_subject(client, bus):
    me = await client.register("bob@example.com")
    status, task, _ = await client.call("POST", "/api/v1/tasks", me["access_token"], json={"title": "Do things"})
    assert status == 201
    msg = await _next_task_message(bus, "tasks.untyped.normal")
    assert msg.headers["Nats-Msg-Id"] == task["id"]


async def test_status_events_update_the_read_model_and_never_leave_a_terminal_state(client, bus):
    me = await client.register("cy@example.com")
    token, ws = me["access_token"], me["workspace"]["id"]
    _, task, _ = await client.call("POST", "/api/v1/tasks", token, json={"title": "Review", "task_type": "review"})
    tid, subject = task["id"], subjects.task_event(ws)
    await bus.publish(subject, _event(tid, ws, common_pb2.TASK_STATE_ASSIGNED, 10, agent_id="reviewer-1"))
    await _wait_state(client, token, tid, "assigned")
    await bus.publish(
        subject,
        _event(
            tid,
            ws,
            common_pb2.TASK_STATE_DONE,
            20,
            agent_id="reviewer-1",
            provider="offline",
            model="echo-1",
            execution_id="ex-1",
            result="LGTM",
        ),
    )
    done = await _wait_state(client, token, tid, "done")
    # Late and out-of-order events change nothing.
    await bus.publish(subject, _event(tid, ws, common_pb2.TASK_STATE_RUNNING, 15, agent_id="reviewer-1"))
    await bus.publish(subject, _event(tid, ws, common_pb2.TASK_STATE_FAILED, 30))
    await asyncio.sleep(0.5)
    status, after, _ = await client.call("GET", f"/api/v1/tasks/{tid}", token)
    assert status == 200
    assert after["state"] == "done"
    assert (after["agent_id"], after["provider"], after["model"], after["execution_id"], after["result"]) == (
        "reviewer-1",
        "offline",
        "echo-1",
        "ex-1",
        "LGTM",
    )
    assert [h["state"] for h in after["history"]] == ["submitted", "assigned", "done"]
    assert after["history"] == done["history"]


async def test_bad_task_body_is_a_problem_naming_the_field(client):
    me = await client.register("dee@example.com")
    status, body, headers = await client.call(
        "POST", "/api/v1/tasks", me["access_token"], json={"title": "", "priority": "urgent"}
    )
    assert status == 400
    assert headers["Content-Type"].startswith("application/problem+json")
    assert "title" in body["detail"] and "priority" in body["detail"]


async def test_requests_without_a_token_get_401_problem(client):
    status, body, headers = await client.call("GET", "/api/v1/tasks/abc")
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
    assert body["status"] == 401 and "Authorization" in body["detail"]


async def test_metrics_and_readiness_are_served_on_the_api_port(client):
    await client.call("GET", "/api/v1/tasks/nothing")
    status, text, _ = await client.call("GET", "/metrics")
    assert status == 200 and 'vapora_http_requests_total{method="GET",route="/api/v1/tasks/{task_id}"' in text
    status, body, _ = await client.call("GET", "/readyz")
    assert status == 200 and body["ready"] is True


async def test_cancel_tells_the_coordinator_with_task_cancelled_then_marks_the_task(client, bus):
    me = await client.register("cancel@example.com")
    token, ws = me["access_token"], me["workspace"]["id"]
    _, task, _ = await client.call(
        "POST", "/api/v1/tasks", token, json={"title": "Port the CLI", "task_type": "coding"}
    )
    status, body, _ = await client.call("POST", f"/api/v1/tasks/{task['id']}/cancel", token, json={"reason": "dup"})
    assert status == 200 and body["state"] == "cancelled", body
    sub = await bus.js.pull_subscribe(subjects.cancel(ws), durable=None, stream="CANCELS")
    msg = (await sub.fetch(1, timeout=5))[0]
    assert msg.headers["Nats-Msg-Id"] == task["id"]
    sent = tasks_pb2.TaskCancelled.FromString(msg.data)
    assert (sent.task_id, sent.workspace_id, sent.actor, sent.reason) == (
        task["id"],
        ws,
        f"user:{me['user']['id']}",
        "dup",
    )
    # a finished task is not cancelled again, and nothing more is sent
    status, problem, _ = await client.call("POST", f"/api/v1/tasks/{task['id']}/cancel", token, json={})
    assert status == 409, problem
    assert (await bus.js.stream_info("CANCELS")).state.messages == 1


async def test_a_status_by_hand_is_for_owners_and_admins_and_a_final_one_calls_off_the_work(client, bus):
    me = await client.register("status@example.com")
    token, ws = me["access_token"], me["workspace"]["id"]
    _, task, _ = await client.call("POST", "/api/v1/tasks", token, json={"title": "Tidy docs", "task_type": "coding"})
    url = f"/api/v1/tasks/{task['id']}/status"
    member = await client.register("status-member@example.com")
    status, _ = await client.add_member(token, ws, "status-member@example.com", "member")
    assert status == 201
    status, problem, _ = await client.call("POST", url, member["access_token"], json={"state": "done"})
    assert status == 403 and "task.update_status" in problem["detail"], problem
    status, body, _ = await client.call("POST", url, token, json={"state": "running"})
    assert status == 200 and body["state"] == "running", body
    assert body["history"][-1]["detail"] == f"set by user:{me['user']['id']}"
    # a state that is not final changes the read model only
    assert (await bus.js.stream_info("CANCELS")).state.messages == 0
    status, problem, _ = await client.call("POST", url, token, json={"state": "assigned"})
    assert status == 409 and "cannot go back to assigned" in problem["detail"], problem
    status, problem, _ = await client.call("POST", url, token, json={"state": "paused"})
    assert status == 400 and "state" in problem["detail"], problem

    status, body, _ = await client.call("POST", url, token, json={"state": "failed", "detail": "done elsewhere"})
    assert status == 200 and body["state"] == "failed", body
    sub = await bus.js.pull_subscribe(subjects.cancel(ws), durable=None, stream="CANCELS")
    sent = tasks_pb2.TaskCancelled.FromString((await sub.fetch(1, timeout=5))[0].data)
    assert (sent.task_id, sent.workspace_id, sent.reason) == (task["id"], ws, "set failed by hand: done elsewhere")
    status, problem, _ = await client.call("POST", url, token, json={"state": "done"})
    assert status == 409 and "already failed" in problem["detail"], problem
    assert (await bus.js.stream_info("CANCELS")).state.messages == 1
