"""The workflow routes against a real swarm-coordinator (in this process: its store, bus consumers and
gRPC over loopback), a real nats-server and embedded SurrealDB; the agents are played on the bus.

Covers who may do what (Cedar and the gate's approvers), tenant isolation (another workspace's run
is a 404 that says nothing more than an unknown id's), bad templates with their reasons, a stage
task on the board, the event stream carrying workflow events with resume, and the CLI.
"""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from rich.console import Console

from vapora.coordinator.v1 import coordinator_pb2
from vapora_api_gateway.cli import run as cli_run
from vapora_core.bus import CONSUMERS, Bus, Delivery
from vapora_swarm_coordinator.app import CoordinatorApp
from vapora_testing.executions import execution_of, publish_execution
from vapora_testing.polling import eventually

# the agents the workflow_coordinator fixture's registry serves, and the platform fixture's developer
AGENT_IDS = ("architect", "developer", "code-reviewer", "tester", "documenter", "devops", "coder-1")
PASSWORD = "correct horse battery"


class Agents:
    """The feature template's agents, played by test code: each job is done at once."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.jobs: list[coordinator_pb2.JobAssigned] = []

    async def start(self) -> None:
        for agent_id in AGENT_IDS:
            await self.bus.subscribe(CONSUMERS.job(agent_id, 4), coordinator_pb2.JobAssigned, self._job, workers=4)

    async def _job(self, job: coordinator_pb2.JobAssigned, _: Delivery) -> None:
        self.jobs.append(job)
        await publish_execution(self.bus, execution_of(job, success=True, result=f"done: {job.task.title}"))


@pytest.fixture
async def flows(
    gateway_factory: Any, platform: tuple[str, Any], bus: Bus, workflow_coordinator: CoordinatorApp
) -> tuple[Any, Agents]:
    """(client of a gateway wired to a real coordinator, the agents)."""
    addr, _ = platform
    agents = Agents(bus)
    await agents.start()
    coordinator = f"127.0.0.1:{workflow_coordinator.grpc_port}"
    _, client = await gateway_factory(registry_addr=addr, coordinator_addr=coordinator)
    return client, agents


async def member_of(client: Any, owner: dict[str, Any], email: str, role: str) -> str:
    """A new person with ``role`` in the owner's workspace; their access token."""
    me = await client.register(email)
    ws = owner["workspace"]["id"]
    status, body = await client.add_member(owner["access_token"], ws, email, role)
    assert status == 201, body
    return str(me["access_token"])


async def wait_run(client: Any, token: str, run_id: str, state: str, timeout: float = 20.0) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        status, run, _ = await client.call("GET", f"/api/v1/workflow-runs/{run_id}", token)
        assert status == 200, run
        return dict(run)

    run: dict[str, Any] = await eventually(
        read, until=lambda run: run["state"] == state, timeout=timeout, what=f"run {run_id} to be {state}"
    )
    return run


async def test_members_start_viewers_read_admins_approve_and_stage_tasks_are_on_the_board(flows):
    client, _ = flows
    owner = await client.register("owner@example.com")
    ws = owner["workspace"]["id"]
    member = await member_of(client, owner, "member@example.com", "member")
    viewer = await member_of(client, owner, "viewer@example.com", "viewer")
    admin = await member_of(client, owner, "admin@example.com", "admin")

    status, body, _ = await client.call(
        "POST", "/api/v1/workflow-runs", viewer, json={"workflow": "feature", "title": "x", "workspace_id": ws}
    )
    assert status == 403 and "does not allow run.start" in body["detail"]
    status, run, _ = await client.call(
        "POST", "/api/v1/workflow-runs", member, json={"workflow": "feature", "title": "CSV export", "workspace_id": ws}
    )
    assert status == 201, run
    assert run["state"] == "running" and run["workspace_id"] == ws
    assert [s["id"] for s in run["stages"]] == [
        "design",
        "implement",
        "review",
        "test",
        "approve",
        "document",
        "deploy",
    ]
    assert {s["id"]: s["needs"] for s in run["stages"]}["approve"] == ["review", "test"]
    waiting = await wait_run(client, viewer, run["id"], "waiting_approval")
    design = waiting["stages"][0]
    assert design["agent_id"] == "architect" and design["state"] == "done"

    status, task, _ = await client.call("GET", f"/api/v1/tasks/{design['task_id']}", viewer)  # on the board
    assert status == 200, task
    assert (task["workflow_run_id"], task["stage_id"], task["title"]) == (run["id"], "design", "Design: CSV export")
    task = await eventually(
        lambda: client.call("GET", f"/api/v1/tasks/{design['task_id']}", viewer),
        until=lambda answer: answer[1]["state"] == "done",
        timeout=10,
        what="the design task on the board to be done",
    )
    assert task[1]["agent_id"] == "architect"

    for token, who in ((viewer, "viewer"), (member, "member")):
        status, body, _ = await client.call("POST", f"/api/v1/workflow-runs/{run['id']}/approve", token, json={})
        assert status == 403 and f"your role '{who}'" in body["detail"] and "run.approve" in body["detail"]
    status, done, _ = await client.call(
        "POST", f"/api/v1/workflow-runs/{run['id']}/approve", admin, json={"comment": "looks right"}
    )
    assert status == 200, done
    gate = next(s for s in done["stages"] if s["id"] == "approve")
    assert gate["state"] == "approved" and [(d["role"], d["comment"]) for d in gate["decisions"]] == [
        ("admin", "looks right")
    ]
    await wait_run(client, viewer, run["id"], "succeeded")
    status, page, _ = await client.call("GET", f"/api/v1/workflow-runs?workspace_id={ws}&state=succeeded", viewer)
    assert status == 200 and [r["id"] for r in page["items"]] == [run["id"]]


async def test_another_workspaces_run_is_a_404_that_reveals_nothing(flows):
    client, _ = flows
    owner = await client.register("alice@example.com")
    status, run, _ = await client.call(
        "POST", "/api/v1/workflow-runs", owner["access_token"], json={"workflow": "feature", "title": "x"}
    )
    assert status == 201, run
    await wait_run(client, owner["access_token"], run["id"], "waiting_approval")
    stranger = (await client.register("mallory@example.com"))["access_token"]
    unknown = await client.call("GET", "/api/v1/workflow-runs/0123456789abcdef", stranger)
    theirs = await client.call("GET", f"/api/v1/workflow-runs/{run['id']}", stranger)
    assert unknown[0] == theirs[0] == 404
    assert theirs[1]["detail"] == unknown[1]["detail"].replace("0123456789abcdef", run["id"])
    for action in ("approve", "reject", "cancel", "pause"):
        body = {"comment": "no"} if action == "reject" else {}
        status, problem, _ = await client.call(
            "POST", f"/api/v1/workflow-runs/{run['id']}/{action}", stranger, json=body
        )
        assert status == 404 and problem["detail"] == theirs[1]["detail"], action
    status, page, _ = await client.call("GET", "/api/v1/workflow-runs", stranger)
    assert status == 200 and page["items"] == []
    still = await wait_run(client, owner["access_token"], run["id"], "waiting_approval")
    assert next(s for s in still["stages"] if s["id"] == "approve")["decisions"] == []


async def test_reject_over_rest_sends_the_comment_to_the_developer_and_cancel_ends_the_run(flows):
    client, agents = flows
    owner = await client.register("olga@example.com")
    token = owner["access_token"]
    _, run, _ = await client.call(
        "POST", "/api/v1/workflow-runs", token, json={"workflow": "feature", "title": "Dark mode"}
    )
    await wait_run(client, token, run["id"], "waiting_approval")
    status, problem, _ = await client.call("POST", f"/api/v1/workflow-runs/{run['id']}/reject", token, json={})
    assert status == 400 and "comment" in problem["detail"]
    status, after, _ = await client.call(
        "POST", f"/api/v1/workflow-runs/{run['id']}/reject", token, json={"comment": "Contrast is too low."}
    )
    assert status == 200, after
    await wait_run(client, token, run["id"], "waiting_approval")
    implement = [j for j in agents.jobs if j.task.workflow_run_id == run["id"] and j.task.stage_id == "implement"]
    assert len(implement) == 2 and "Contrast is too low." in implement[1].task.description
    status, cancelled, _ = await client.call(
        "POST", f"/api/v1/workflow-runs/{run['id']}/cancel", token, json={"reason": "dropped"}
    )
    assert status == 200 and cancelled["state"] == "cancelled" and cancelled["detail"].endswith(": dropped")
    status, problem, _ = await client.call("POST", f"/api/v1/workflow-runs/{run['id']}/approve", token, json={})
    assert status == 409 and "is waiting for approval (run cancelled)" in problem["detail"]


async def test_bad_templates_are_refused_with_the_workflow_stage_and_field_named(flows):
    client, _ = flows
    token = (await client.register("tess@example.com"))["access_token"]
    cycle = {
        "name": "loop",
        "stages": [
            {"id": "a", "task_type": "coding", "needs": ["b"]},
            {"id": "b", "task_type": "coding", "needs": ["a"]},
        ],
    }
    status, problem, _ = await client.call("POST", "/api/v1/workflows", token, json=cycle)
    assert status == 400 and "workflow 'loop', stage 'a': field needs: the stages form a cycle" in problem["detail"]
    unknown = {"name": "odd", "stages": [{"id": "a", "task_type": "juggling"}]}
    status, problem, _ = await client.call("POST", "/api/v1/workflows", token, json=unknown)
    assert status == 409 and "no registered agent takes task type 'juggling'" in problem["detail"]
    gate = {"name": "gated", "stages": [{"id": "a", "role": "developer"}, {"id": "g", "kind": "gate", "needs": ["a"]}]}
    status, problem, _ = await client.call("POST", "/api/v1/workflows", token, json=gate)
    assert status == 400 and "stage 'g': field approvers: a gate needs at least one approver role" in problem["detail"]
    good = {
        "name": "quick",
        "stages": [
            {"id": "code", "role": "developer", "retries": 0},
            {"id": "check", "role": "tester", "needs": ["code"]},
        ],
    }
    status, made, _ = await client.call("POST", "/api/v1/workflows", token, json=good)
    assert status == 201, made
    assert made["workspace_id"] and [(s["id"], s["retries"]) for s in made["stages"]] == [("code", 0), ("check", 1)]
    status, listed, _ = await client.call("GET", "/api/v1/workflows", token)
    assert [(t["name"], t["workspace_id"] is None) for t in listed["items"]] == [
        ("bugfix", True), ("feature", True), ("security-review", True), ("quick", False)
    ]  # fmt: skip


async def _read_sse(resp: aiohttp.ClientResponse, pred: Any, timeout: float = 20.0) -> list[dict[str, Any]]:
    events, current = [], {}
    async with asyncio.timeout(timeout):
        while True:
            line = (await resp.content.readline()).decode().rstrip("\n")
            if line.startswith("id: "):
                current["id"] = int(line[4:])
            elif line.startswith("event: "):
                current["kind"] = line[7:]
            elif line.startswith("data: "):
                current["data"] = json.loads(line[6:])
            elif line == "" and "data" in current:
                events.append(current)
                current = {}
                if pred(events):
                    return events


async def test_the_event_stream_carries_workflow_events_and_resumes_them(flows):
    client, _ = flows
    owner = await client.register("sse-wf@example.com")
    token, ws = owner["access_token"], owner["workspace"]["id"]
    async with aiohttp.ClientSession() as s:
        url = f"{client.base}/api/v1/workspaces/{ws}/events?after=0"
        headers = {"Authorization": f"Bearer {token}"}
        async with s.get(url, headers=headers) as resp:
            _, run, _ = await client.call(
                "POST", "/api/v1/workflow-runs", token, json={"workflow": "feature", "title": "t"}
            )

            def at_gate(events: list[dict[str, Any]]) -> bool:
                return any(e["kind"] == "workflow" and e["data"]["state"] == "waiting_approval" for e in events)

            first = await _read_sse(resp, at_gate)
        kinds = {e["kind"] for e in first}
        assert kinds == {"task", "workflow"}
        started = [e["data"] for e in first if e["kind"] == "workflow" and e["data"]["stage"]["state"] == "running"]
        assert [e["stage"]["id"] for e in started][:2] == ["design", "implement"]
        assert started[0]["task_title"] == "Design: t" and started[0]["run_id"] == run["id"]
        ids = [e["id"] for e in first]
        assert ids == sorted(set(ids))
        # resume after the third event: exactly what followed, in order, both kinds
        headers["Last-Event-ID"] = str(ids[2])
        async with s.get(f"{client.base}/api/v1/workspaces/{ws}/events", headers=headers) as resp:
            again = await _read_sse(resp, lambda events: len(events) == len(first) - 3)
        assert [(e["id"], e["kind"]) for e in again] == [(e["id"], e["kind"]) for e in first[3:]]


async def vapora(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = await asyncio.to_thread(cli_run, list(argv), Console(file=out, width=220, color_system=None))
    return code, out.getvalue()


async def test_the_cli_lists_runs_watches_approves_rejects_and_cancels(flows, tmp_path: Path, monkeypatch):
    client, agents = flows
    monkeypatch.setenv("VAPORA_CLI_CONFIG", str(tmp_path / "cli.json"))
    monkeypatch.setenv("VAPORA_PASSWORD", PASSWORD)
    code, out = await vapora("--url", client.base, "login", "--register", "--email", "cli-wf@example.com")
    assert code == 0, out
    code, out = await vapora("workflows", "list")
    assert code == 0 and "feature" in out and "design → implement → review → test → approve" in out
    code, out = await vapora("workflows", "run", "feature", "--title", "Search box", "--watch")
    assert code == 0, out
    run_id = out.split("started run ")[1].split()[0]
    assert "design       done by architect" in out and "approve      waiting_approval" in out, out
    assert f"vapora workflows approve {run_id} --gate approve" in out
    code, out = await vapora("workflows", "reject", run_id, "--comment", "Debounce the input.")
    assert code == 0 and "after reject" in out, out
    code, out = await vapora("workflows", "watch", run_id)
    assert code == 0 and "implement    done by" in out and "(attempt 2)" in out, out
    code, out = await vapora("workflows", "approve", run_id, "--comment", "fine")
    assert code == 0, out
    code, out = await vapora("workflows", "watch", run_id)
    assert code == 0 and "succeeded" in out, out
    code, out = await vapora("workflows", "show", run_id)
    assert code == 0 and "document" in out and "deploy" in out
    code, out = await vapora("workflows", "run", "feature", "--title", "Another")
    other = out.split("started run ")[1].split()[0]
    code, out = await vapora("workflows", "cancel", other, "--reason", "no")
    assert code == 0 and "cancelled" in out, out
    code, out = await vapora("workflows", "approve", other)
    assert code == 2 and "409" in out, out
    assert any("Debounce the input." in j.task.description for j in agents.jobs)


async def test_a_gate_is_decided_on_the_websocket_as_over_rest(flows):
    client, _ = flows
    owner = await client.register("ws-gate@example.com")
    ws, token = owner["workspace"]["id"], owner["access_token"]
    viewer = await member_of(client, owner, "ws-viewer@example.com", "viewer")
    _, run, _ = await client.call("POST", "/api/v1/workflow-runs", token, json={"workflow": "feature", "title": "WS"})
    await wait_run(client, token, run["id"], "waiting_approval")
    other = await client.register("ws-other@example.com")
    _, theirs, _ = await client.call(
        "POST", "/api/v1/workflow-runs", other["access_token"], json={"workflow": "feature", "title": "theirs"}
    )
    url = client.base.replace("http", "ws") + f"/api/v1/workspaces/{ws}/events/ws"

    async def command(access: str, message: dict[str, Any]) -> dict[str, Any]:
        async with client.session.ws_connect(f"{url}?access_token={access}") as sock:
            await sock.send_json(message)
            while True:  # events stream by; the answer is the message of type result or error
                got = await asyncio.wait_for(sock.receive_json(), 10)
                if got["type"] in ("result", "error"):
                    return dict(got)

    denied = await command(viewer, {"type": "approve", "id": "c1", "run_id": run["id"]})
    assert (denied["type"], denied["id"], denied["status"]) == ("error", "c1", 403) and "run.approve" in denied[
        "detail"
    ]
    nothing = await command(token, {"type": "reject", "id": "c2", "run_id": run["id"]})
    assert (nothing["status"], nothing["id"]) == (400, "c2") and "needs a comment" in nothing["detail"]
    elsewhere = await command(token, {"type": "approve", "id": "c3", "run_id": theirs["id"]})
    assert elsewhere["status"] == 404  # another workspace's run, as an unknown one
    garbage = await command(token, {"type": "approve", "id": "c4", "run_id": "not-a-run"})
    assert garbage["status"] == 400 and "run_id" in garbage["detail"]
    done = await command(token, {"type": "approve", "id": "c5", "run_id": run["id"], "comment": "from the socket"})
    assert done["type"] == "result" and done["id"] == "c5"
    gate = next(s for s in done["run"]["stages"] if s["id"] == "approve")
    assert gate["state"] == "approved" and gate["decisions"][0]["comment"] == "from the socket"
    await wait_run(client, token, run["id"], "succeeded")
    status, audit, _ = await client.call("GET", f"/api/v1/workspaces/{ws}/audit", token)
    assert status == 200
    socket_entries = [e for e in audit["items"] if e["method"] == "WS"]
    assert [(e["result"], e["status"]) for e in socket_entries] == [  # newest first, c5 to c1
        ("ok", 200), ("error", 400), ("denied", 404), ("error", 400), ("denied", 403)
    ]  # fmt: skip
