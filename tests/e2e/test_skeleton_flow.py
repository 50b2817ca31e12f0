"""The skeleton flow through every service, as separate processes over real NATS, gRPC and SurrealDB.

POST /api/v1/tasks → tasks.<type>.<priority> → swarm-coordinator (agent-registry over gRPC)
→ jobs.<agent_id> → agent-runtime → llm-router Complete (offline provider) → executions.>
→ knowledge-graph stores it → coordinator marks the task done → GET /api/v1/tasks/{id}.
"""

from __future__ import annotations

import asyncio
import signal
import time
from typing import Any

import httpx
import pytest
from nats.js.api import DeliverPolicy

from tests.e2e.helpers import sign_up, spans, submit, wait_terminal
from vapora.agents.v1 import agents_pb2, agents_pb2_grpc
from vapora.common.v1 import common_pb2
from vapora.kg.v1 import kg_pb2, kg_pb2_grpc
from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import Bus
from vapora_core.grpc import channel
from vapora_testing.fleet import SERVICES, Fleet
from vapora_testing.polling import eventually, eventually_sync

pytestmark = pytest.mark.e2e


async def query_executions(fleet: Fleet, workspace_id: str, task_id: str) -> list[kg_pb2.ExecutionRecorded]:
    """The task's executions in the knowledge graph now."""
    async with channel(fleet.grpc_addr("knowledge-graph")) as ch:
        reply = await kg_pb2_grpc.KnowledgeGraphStub(ch).QueryExecutions(
            kg_pb2.QueryExecutionsRequest(workspace_id=workspace_id, task_id=task_id)
        )
        return list(reply.executions)


def wait_for_executions(fleet: Fleet, workspace_id: str, task_id: str) -> list[kg_pb2.ExecutionRecorded]:
    """The task's executions in the knowledge graph, once it has stored at least one."""
    return eventually_sync(
        lambda: asyncio.run(query_executions(fleet, workspace_id, task_id)),
        timeout=15,
        interval=0.1,
        what=f"task {task_id}'s executions in the knowledge graph",
    )


def test_a_task_goes_through_every_service_and_reaches_done(fleet: Fleet, client: httpx.Client) -> None:
    task = submit(
        client,
        title="Implement the login endpoint",
        description="Add POST /login with tests",
        task_type="coding",
        priority="high",
    )
    assert task["state"] == "submitted"
    done = wait_terminal(client, task["id"])
    assert done["state"] == "done", done
    assert done["agent_id"]
    assert done["provider"] == "offline"
    assert done["model"]
    assert done["execution_id"]

    # the knowledge graph stored the execution
    stored = wait_for_executions(fleet, done["workspace_id"], task["id"])
    assert [e.execution_id for e in stored] == [done["execution_id"]]
    assert stored[0].agent_id == done["agent_id"]
    assert stored[0].success


def test_on_a_fresh_fleet_the_declared_specialist_takes_the_first_task_of_its_type(client: httpx.Client) -> None:
    """config/agents: tester declares testing 0.9, developer testing 0.5; with no evidence yet the
    load alone scores them equal, and the declaration breaks the tie."""
    task = submit(client, title="Cover the parser with tests", task_type="testing", priority="normal")
    done = wait_terminal(client, task["id"])
    assert done["state"] == "done" and done["agent_id"] == "tester", done
    explained = client.get(f"/api/v1/tasks/{task['id']}/assignment").json()
    assert explained["score"]["learning_data"] is False  # chosen before any testing evidence existed


def test_what_the_swarm_learned_about_an_agent_is_shown_by_the_gateway(client: httpx.Client) -> None:
    """gateway → agent-registry (GetAgent) and knowledge-graph (GetLearningProfiles, GetLearningCurve)."""
    first_day = time.strftime("%Y-%m-%d", time.gmtime())
    task = submit(client, title="Document the export API", task_type="documentation", priority="normal")
    done = wait_terminal(client, task["id"])
    assert done["state"] == "done", done
    agent = done["agent_id"]
    # The offline provider's answer is unverified and teaches the swarm nothing; a person's
    # verdict is evidence, and it is what the profile learns from.
    r = client.post(f"/api/v1/tasks/{task['id']}/feedback", json={"success": True, "quality": 0.9})
    assert r.status_code == 202, r.text

    def read_profiles() -> httpx.Response:
        profiles = client.get(f"/api/v1/agents/{agent}/profiles")
        assert profiles.status_code == 200, profiles.text
        return profiles

    def documentation(profiles: httpx.Response) -> list[dict[str, Any]]:
        return [p for p in profiles.json()["items"] if p["task_type"] == "documentation"]

    profiles = eventually_sync(
        read_profiles, timeout=15, interval=0.1, what=f"{agent}'s documentation profile", until=documentation
    )
    mine = documentation(profiles)
    assert mine and mine[0]["executions"] >= 1 and mine[0]["successes"] >= 1, profiles.json()
    curve = client.get(f"/api/v1/agents/{agent}/profiles/documentation/curve?days=1").json()
    assert curve["points"][-1]["day"] in (first_day, time.strftime("%Y-%m-%d", time.gmtime()))  # UTC midnight
    assert curve["points"][-1]["executions"] >= 1
    assert client.get("/api/v1/agents/nobody/profiles").status_code == 404


def test_a_workspace_lists_the_shared_agents_and_its_own_private_ones(fleet: Fleet, client: httpx.Client) -> None:
    """gateway → agent-registry ListAgents(workspace_id): another workspace's private agent stays unseen."""
    mine = client.headers["X-Test-Workspace"]

    async def register() -> None:
        private = agents_pb2.Agent(
            id="e2e-private",
            role="developer",
            workspace_id=mine,
            max_concurrency=1,
            capabilities=[agents_pb2.Capability(task_type="e2e-private-work")],  # no task of this type is sent
        )
        async with channel(fleet.grpc_addr("agent-registry")) as ch:
            await agents_pb2_grpc.AgentRegistryStub(ch).Register(agents_pb2.RegisterRequest(agent=private))

    asyncio.run(register())
    listed = client.get("/api/v1/agents").json()["items"]
    assert ("e2e-private", mine) in [(a["id"], a["workspace_id"]) for a in listed]
    assert any(a["workspace_id"] is None for a in listed)  # the shared agents of config/agents (null)
    with httpx.Client(base_url=fleet.http_url(), timeout=10) as other:
        sign_up(other, "other")
        seen = other.get("/api/v1/agents")
    assert seen.status_code == 200 and seen.json()["items"]
    assert "e2e-private" not in [a["id"] for a in seen.json()["items"]]


def test_a_task_type_no_agent_takes_is_refused_naming_the_types_agents_take(client: httpx.Client) -> None:
    """gateway → agent-registry ListAgents(capability): a typo answers 409 at once, not FAILED after 60 s."""
    r = client.post("/api/v1/tasks", json={"title": "Cover the parser", "task_type": "tesing"})
    assert r.status_code == 409, r.text  # well formed, but no agent takes it: 409 since issue 28
    detail = r.json()["detail"]
    assert detail.startswith("task_type 'tesing': no agent of this workspace takes it (the types they take: ")
    assert "coding" in detail and "testing" in detail  # from config/agents


def test_one_trace_spans_gateway_coordinator_runtime_router_and_knowledge_graph(
    fleet: Fleet, client: httpx.Client
) -> None:
    task = submit(client, title="Write tests for the parser", task_type="testing", priority="normal")
    wait_terminal(client, task["id"])
    want = {"api-gateway", "swarm-coordinator", "agent-runtime", "llm-router", "knowledge-graph"}

    def trace() -> tuple[set[str], set[str]]:
        """The trace ids of the task's spans, and the services of every span in them."""
        all_spans = spans(fleet.traces_file)
        tagged = [s for s in all_spans if s["attributes"].get("messaging.message.id") == task["id"]]
        trace_ids = {s["trace_id"] for s in tagged}
        return trace_ids, {s["service"] for s in all_spans if s["trace_id"] in trace_ids}

    trace_ids, services = eventually_sync(
        trace, timeout=15, interval=0.2, what=f"spans of {sorted(want)}", until=lambda got: want <= got[1]
    )
    assert len(trace_ids) == 1, f"task spans carry {len(trace_ids)} trace ids"
    assert want <= services, f"trace reached only {sorted(services)}"


def test_status_changes_are_published_as_events(fleet: Fleet, client: httpx.Client) -> None:
    task = submit(client, title="Document the API", task_type="documentation", priority="low")
    done = wait_terminal(client, task["id"])
    workspace = done["workspace_id"]

    async def events() -> list[int]:
        bus = Bus(fleet.nats_url, "e2e-observer")
        await bus.connect()
        try:
            sub = await bus.js.subscribe(
                f"events.task.{workspace}", ordered_consumer=True, deliver_policy=DeliverPolicy.ALL
            )
            states: list[int] = []
            end = time.monotonic() + 10
            while time.monotonic() < end:
                try:
                    msg = await sub.next_msg(timeout=0.5)
                except TimeoutError:
                    break
                ev = tasks_pb2.TaskStatusChanged.FromString(msg.data)
                if ev.task_id == task["id"]:
                    states.append(ev.state)
            return states
        finally:
            await bus.stop()

    states = asyncio.run(events())
    assert states[-1] == common_pb2.TASK_STATE_DONE
    assert common_pb2.TASK_STATE_ASSIGNED in states


def test_garbage_on_tasks_is_dead_lettered_and_the_next_task_completes(fleet: Fleet, client: httpx.Client) -> None:
    async def publish_garbage_and_read_dlq() -> dict[str, str]:
        bus = Bus(fleet.nats_url, "e2e-producer")
        await bus.connect()
        try:
            await bus.publish_raw("tasks.coding.high", b"\x0a\xff\xff\xff garbage, not protobuf")
            sub = await bus.js.pull_subscribe("dlq.tasks.coding.high", durable="e2e-dlq", stream="DLQ")

            async def dead_letter() -> dict[str, str] | None:
                try:
                    msgs = await sub.fetch(1, timeout=0.5)
                except TimeoutError:
                    return None
                return dict(msgs[0].headers or {})

            headers: dict[str, str] | None = await eventually(
                dead_letter,
                timeout=20,
                interval=0,
                what="a message on dlq.tasks.coding.high",
                until=lambda h: h is not None,
            )
            assert headers is not None
            return headers
        finally:
            await bus.stop()

    headers = asyncio.run(publish_garbage_and_read_dlq())
    assert headers["vapora-dlq-consumer"] == "coordinator-tasks-high"
    assert "does not decode as vapora.tasks.v1.TaskSubmitted" in headers["vapora-dlq-reason"]

    after = submit(client, title="Fix the flaky build", task_type="coding", priority="high")
    assert wait_terminal(client, after["id"])["state"] == "done"
    metrics = httpx.get(f"{fleet.ops_url('swarm-coordinator')}/metrics").text
    assert 'vapora_dead_letters_total{consumer="coordinator-tasks-high",kind="decode"} 1.0' in metrics


def test_a_persons_feedback_corrects_the_execution_in_the_knowledge_graph(fleet: Fleet, client: httpx.Client) -> None:
    task = submit(client, title="Review the payment module", task_type="review", priority="normal")
    done = wait_terminal(client, task["id"])
    assert done["state"] == "done"
    r = client.post(
        f"/api/v1/tasks/{task['id']}/feedback", json={"success": False, "quality": 0.1, "comment": "wrong file"}
    )
    assert r.status_code == 202, r.text

    execution = eventually_sync(
        lambda: wait_for_executions(fleet, done["workspace_id"], task["id"])[0],
        timeout=15,
        interval=0.2,
        what="the corrected execution",
        until=lambda e: not e.success,
    )
    assert not execution.success
    assert execution.quality == pytest.approx(0.1)


def test_every_service_exits_cleanly_on_sigterm(fleet: Fleet) -> None:
    """Runs last in this module: SIGTERM every service and expect exit code 0."""
    for spec in SERVICES:
        assert fleet.procs[spec.name].poll() is None, f"{spec.name} died during the tests"
    codes = {}
    for name in [s.name for s in SERVICES][::-1]:
        proc = fleet.procs[name]
        proc.send_signal(signal.SIGTERM)
        codes[name] = proc.wait(30)
        fleet.procs.pop(name)
    assert codes == {s.name: 0 for s in SERVICES}
