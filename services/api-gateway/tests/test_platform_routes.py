"""Agents, budgets and assignment explanations, from small servicers over real loopback gRPC;
learning profiles and curves from a real knowledge-graph."""

from __future__ import annotations

import time

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from vapora.agents.v1 import agents_pb2
from vapora.common.v1 import common_pb2
from vapora.coordinator.v1 import coordinator_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import subjects
from vapora_testing.polling import eventually


async def test_agents_are_listed_filtered_and_paged_with_the_workspaces_own_private_agents(platform_gateway):
    client, calls = platform_gateway
    me = await client.register("agents@example.com")
    mine = me["workspace"]["id"]
    calls.more_agents.append(agents_pb2.Agent(id="mine-1", role="developer", workspace_id=mine))
    status, body, _ = await client.call("GET", "/api/v1/agents", me["access_token"])
    assert status == 200, body
    assert calls.list_agents[-1].workspace_id == mine  # the registry filters, so every page is full
    # private-1 belongs to another workspace
    assert [(a["id"], a["workspace_id"]) for a in body["items"]] == [
        ("coder-1", None),  # shared: no workspace (null since issue 28; "" was linked as an id)
        ("reviewer-1", None),
        ("mine-1", mine),
    ]
    other = await client.register("not-the-owner@example.com")
    status, body, _ = await client.call("GET", "/api/v1/agents", other["access_token"])
    assert [a["id"] for a in body["items"]] == ["coder-1", "reviewer-1"]
    coder = body["items"][0]
    assert coder["status"] == "healthy" and coder["capabilities"] == [{"task_type": "coding", "proficiency": 0.9}]
    assert coder["last_heartbeat"].startswith("2023-11-14T22:13:20")
    status, body, _ = await client.call("GET", "/api/v1/agents?role=reviewer", me["access_token"])
    assert [a["id"] for a in body["items"]] == ["reviewer-1"] and calls.list_agents[-1].role == "reviewer"
    status, body, _ = await client.call("GET", "/api/v1/agents?page_size=1", me["access_token"])
    assert [a["id"] for a in body["items"]] == ["coder-1"] and body["next_page_token"] == "1"
    status, body, _ = await client.call("GET", "/api/v1/agents?page_size=1&page_token=1", me["access_token"])
    assert [a["id"] for a in body["items"]] == ["reviewer-1"]
    status, body, _ = await client.call("GET", "/api/v1/agents?page_size=0", me["access_token"])
    assert status == 400 and "page_size" in body["detail"]
    status, body, _ = await client.call("GET", "/api/v1/agents?page_token=zz", me["access_token"])
    assert status == 400 and "page_token" in body["detail"]


async def test_budgets_per_role(platform_gateway):
    client, calls = platform_gateway
    me = await client.register("budgets@example.com")
    status, body, _ = await client.call("GET", "/api/v1/budgets?role=developer", me["access_token"])
    assert status == 200, body
    assert calls.budgets[-1].role == "developer"
    [dev] = body["items"]
    assert dev["role"] == "developer" and dev["state"] == "near_limit"
    assert dev["windows"] == [
        {
            "window": "monthly",
            "limit_cents": 1000.0,
            "spent_cents": 850.0,
            "reserved_cents": 20.0,
            "utilization": 0.87,
            "resets_at": "2027-01-15T08:00:00Z",
        }
    ]
    status, body, _ = await client.call("GET", "/api/v1/budgets", me["access_token"])
    assert [b["role"] for b in body["items"]] == ["developer", "reviewer"]


async def test_spend_per_provider_and_model_is_asked_for_the_callers_workspace_only(platform_gateway):
    client, calls = platform_gateway
    me = await client.register("spend@example.com")
    ws = me["workspace"]["id"]
    before = time.time()
    status, body, _ = await client.call("GET", "/api/v1/budgets/spend?days=7", me["access_token"])
    assert status == 200, body
    asked = calls.spend[-1]
    assert asked.workspace_id == ws and body["workspace_id"] == ws
    assert abs(asked.since.seconds - (before - 7 * 86_400)) < 5
    assert body["since"] == asked.since.ToJsonString()
    assert body["items"] == [
        {
            "provider": "anthropic",
            "model": "claude-sonnet-4-5",
            "calls": 3,
            "input_tokens": 900,
            "output_tokens": 120,
            "cost_cents": 4.5,
        },
        {
            "provider": "offline",
            "model": "offline",
            "calls": 2,
            "input_tokens": 40,
            "output_tokens": 8,
            "cost_cents": 0.0,
        },
    ]
    other = await client.register("spend-other@example.com")
    asked_before = len(calls.spend)
    status, body, _ = await client.call("GET", f"/api/v1/budgets/spend?workspace_id={ws}", other["access_token"])
    assert status == 404 and ws in body["detail"], body  # as a workspace that does not exist
    assert len(calls.spend) == asked_before  # refused before the router was asked
    status, body, _ = await client.call("GET", "/api/v1/budgets/spend?days=400", me["access_token"])
    assert status == 400 and "days" in body["detail"]


async def test_the_assignment_explanation_comes_from_the_coordinator_for_assigned_tasks_only(platform_gateway, bus):
    client, calls = platform_gateway
    me = await client.register("explain@example.com")
    token, ws = me["access_token"], me["workspace"]["id"]
    _, task, _ = await client.call("POST", "/api/v1/tasks", token, json={"title": "x", "task_type": "coding"})
    status, body, _ = await client.call("GET", f"/api/v1/tasks/{task['id']}/assignment", token)
    assert status == 409 and "not been assigned yet" in body["detail"] and not calls.explain  # 409: issue 28
    score = coordinator_pb2.ScoreBreakdown(
        success_rate=0.8, load=0.25, load_score=0.75, expertise=0.9, confidence=0.6, total=0.82, learning_data=True
    )
    calls.assignments[task["id"]] = coordinator_pb2.Assignment(
        task_id=task["id"],
        workspace_id=ws,
        agent_id="coder-1",
        job_id="job-1",
        task_type="coding",
        score=score,
        candidates=[
            coordinator_pb2.CandidateScore(agent_id="coder-2", score=coordinator_pb2.ScoreBreakdown(total=0.4))
        ],
        reason="best total score",
        attempt=1,
        assigned_at=Timestamp(seconds=1_700_000_000),
    )
    await bus.publish(
        subjects.task_event(ws),
        tasks_pb2.TaskStatusChanged(
            task_id=task["id"],
            workspace_id=ws,
            state=common_pb2.TASK_STATE_ASSIGNED,
            agent_id="coder-1",
            at=Timestamp(seconds=1_700_000_000),
        ),
    )
    status, body, _ = await eventually(
        lambda: client.call("GET", f"/api/v1/tasks/{task['id']}/assignment", token),
        timeout=5.0,
        what="the task's assignment",
        until=lambda got: got[0] == 200,
    )
    assert status == 200, body
    assert body["agent_id"] == "coder-1" and body["job_id"] == "job-1" and body["reason"] == "best total score"
    assert body["score"]["total"] == 0.82 and body["score"]["learning_data"] is True
    assert body["candidates"] == [
        {
            "agent_id": "coder-2",
            "score": {
                "success_rate": 0.0,
                "load": 0.0,
                "load_score": 0.0,
                "expertise": 0.0,
                "confidence": 0.0,
                "total": 0.4,
                "learning_data": False,
                "draw": 0.0,
                "alpha": 0.0,
                "beta": 0.0,
            },
        }
    ]
    # The coordinator is asked for this task in the caller's workspace, never another.
    assert (calls.explain[-1].task_id, calls.explain[-1].workspace_id) == (task["id"], ws)


async def test_an_unreachable_dependency_is_503_not_500(client):
    me = await client.register("down@example.com")
    status, body, headers = await client.call("GET", "/api/v1/budgets", me["access_token"])
    assert status == 503, body
    assert headers["Content-Type"].startswith("application/problem+json") and "127.0.0.1:1" in body["detail"]


async def _profiles(client, token: str, agent: str, executions: int) -> dict[str, object]:
    """The agent's profiles once the knowledge graph has counted ``executions`` in all."""

    async def read() -> dict[str, object]:
        status, body, _ = await client.call("GET", f"/api/v1/agents/{agent}/profiles", token)
        assert status == 200, body
        return dict(body)

    return await eventually(
        read,
        timeout=10.0,
        what=f"the knowledge graph to count {executions} executions of {agent}",
        until=lambda body: sum(p["executions"] for p in body["items"]) == executions,
    )


async def test_learning_profiles_and_curves_come_from_the_knowledge_graph(learning_gateway, executed):
    client, _ = learning_gateway
    first_day = time.strftime("%Y-%m-%d", time.gmtime())
    me = await client.register("learning@example.com")
    token, ws = me["access_token"], me["workspace"]["id"]
    rival = await client.register("rival-learner@example.com")
    await executed("coder-1", "review", rival["workspace"]["id"], [True])
    await executed("coder-1", "coding", ws, [True, True, True, False])

    # each workspace sees the shared agent's profiles from its own executions only
    theirs = await _profiles(client, rival["access_token"], "coder-1", 1)
    assert [(p["task_type"], p["executions"]) for p in theirs["items"]] == [("review", 1)]
    body = await _profiles(client, token, "coder-1", 4)
    assert body["agent_id"] == "coder-1"
    [coding] = body["items"]  # not the rival's review
    assert coding["task_type"] == "coding"
    assert (coding["executions"], coding["successes"], coding["success_rate"]) == (4, 3, 0.75)
    assert coding["confidence"] == pytest.approx(4 / 20)
    assert coding["expertise"] == pytest.approx(0.75, abs=1e-3)  # the same age: equal recency weights
    assert coding["mean_quality"] == pytest.approx((3 * 0.9 + 0.1) / 4)
    assert coding["mean_latency_ms"] == 200 and coding["mean_cost_cents"] == 0.5
    assert coding["updated_at"]

    status, body, _ = await client.call("GET", "/api/v1/agents/coder-1/profiles/coding/curve?days=7", token)
    assert status == 200, body
    assert (body["agent_id"], body["task_type"], body["days"]) == ("coder-1", "coding", 7)
    [today] = body["points"]
    assert today["day"] in (first_day, time.strftime("%Y-%m-%d", time.gmtime()))  # across UTC midnight
    assert (today["executions"], today["successes"], today["success_rate"]) == (4, 3, 0.75)
    status, body, _ = await client.call("GET", "/api/v1/agents/coder-1/profiles/testing/curve", token)
    assert status == 200 and body["points"] == [] and body["days"] == 30
    for days in ("0", "366", "week"):
        status, body, _ = await client.call("GET", f"/api/v1/agents/coder-1/profiles/coding/curve?days={days}", token)
        assert status == 400 and "days" in body["detail"], body


async def test_an_agent_private_to_another_workspace_has_no_profiles_to_show(learning_gateway, executed):
    client, calls = learning_gateway
    mine = await client.register("owner-of-private@example.com")
    other = await client.register("someone-else@example.com")
    calls.more_agents.append(agents_pb2.Agent(id="mine-1", role="developer", workspace_id=mine["workspace"]["id"]))
    await executed("mine-1", "coding", mine["workspace"]["id"], [True, False])
    await _profiles(client, mine["access_token"], "mine-1", 2)  # visible in the workspace it belongs to

    for agent in ("mine-1", "private-1", "nobody"):  # another workspace's private agents are as unknown ones
        for path in (f"/api/v1/agents/{agent}/profiles", f"/api/v1/agents/{agent}/profiles/coding/curve"):
            status, body, _ = await client.call("GET", path, other["access_token"])
            assert status == 404 and body["detail"] == f"no agent {agent}", (path, body)
    # nor can the other account ask as the owner's workspace
    status, body, _ = await client.call(
        "GET", f"/api/v1/agents/mine-1/profiles?workspace_id={mine['workspace']['id']}", other["access_token"]
    )
    assert status == 404 and "mine-1" not in body["detail"]


async def test_a_task_of_a_type_no_agent_of_the_workspace_takes_is_refused_at_once(platform_gateway):
    client, calls = platform_gateway
    me = await client.register("typos@example.com")
    token, mine = me["access_token"], me["workspace"]["id"]
    calls.more_agents.append(
        agents_pb2.Agent(
            id="mine-1", role="developer", workspace_id=mine, capabilities=[agents_pb2.Capability(task_type="haiku")]
        )
    )
    calls.more_agents.append(
        agents_pb2.Agent(
            id="theirs-1",
            role="developer",
            workspace_id="someone-else",
            capabilities=[agents_pb2.Capability(task_type="secret")],
        )
    )

    async def submit(task_type: str) -> tuple[int, dict[str, str]]:
        status, body, _ = await client.call("POST", "/api/v1/tasks", token, json={"title": "t", "task_type": task_type})
        return status, body

    for refused in ("tesing", "secret"):  # a typo; a type only another workspace's private agent takes
        status, body = await submit(refused)
        assert status == 409, body  # well formed, but no agent takes it: 409 since issue 28
        assert body["detail"] == (
            f"task_type '{refused}': no agent of this workspace takes it (the types they take: coding, haiku, review)"
        )
    status, listed, _ = await client.call("GET", "/api/v1/tasks", token)
    assert listed["items"] == []  # nothing stored, nothing published

    for accepted in ("Coding", "haiku", "review"):  # any case; its own private agent; an unhealthy agent's type
        status, body = await submit(accepted)
        assert status == 201 and body["task_type"] == accepted.lower(), body
    asked = len(calls.list_agents)
    assert (await submit("coding"))[0] == 201
    assert len(calls.list_agents) == asked  # a type found is remembered: no registry call per task
    assert (await submit(""))[0] == 201  # no type: the coordinator infers one


async def test_tasks_are_accepted_while_the_registry_cannot_be_asked(client):
    """The default gateway of these tests has no agent-registry to ask (127.0.0.1:1)."""
    token = (await client.register("no-registry@example.com"))["access_token"]
    for _ in range(2):
        status, body, _ = await client.call(
            "POST", "/api/v1/tasks", token, json={"title": "t", "task_type": "whatever"}
        )
        assert status == 201 and body["task_type"] == "whatever", body
