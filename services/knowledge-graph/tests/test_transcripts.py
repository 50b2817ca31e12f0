"""Transcripts in the knowledge graph: steps per run, GetSteps, usage linked to executions and tasks,
and unverified executions that never feed a profile. Real nats-server, embedded SurrealDB, gRPC."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest
from kgkit import NOW, execution, publish  # type: ignore[import-not-found]

from vapora.kg.v1 import kg_pb2, kg_pb2_grpc
from vapora.llm.v1 import llm_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import Bus, subjects
from vapora_core.bus.codec import timestamp
from vapora_knowledge_graph.app import KnowledgeGraphApp
from vapora_testing.apps import grpc_stub
from vapora_testing.executions import publish_steps, step_of
from vapora_testing.polling import eventually


@pytest.fixture
async def stub(kg: KnowledgeGraphApp) -> AsyncIterator[kg_pb2_grpc.KnowledgeGraphStub]:
    async with grpc_stub(kg.grpc_port, kg_pb2_grpc.KnowledgeGraphStub) as stub:
        yield stub


def step(
    run: str, index: int, kind: str = "tool", *, ws: str = "ws1", task: str = "task-x", **fields: object
) -> kg_pb2.StepRecorded:
    return step_of(run, index, kind, at_s=NOW, workspace_id=ws, task_id=task, **fields)


def usage(request_id: str, cents: float, *, task: str = "task-x", at: float = NOW) -> llm_pb2.LlmUsage:
    return llm_pb2.LlmUsage(
        request_id=request_id, workspace_id="ws1", task_id=task, role="tester", cost_cents=cents, at=timestamp(at)
    )


async def get(stub: kg_pb2_grpc.KnowledgeGraphStub, **req: object) -> kg_pb2.GetStepsResponse:
    reply: kg_pb2.GetStepsResponse = await stub.GetSteps(kg_pb2.GetStepsRequest(**req))  # type: ignore[arg-type]
    return reply


def finished(
    execution_id: str, run_id: str, *, verified: bool = True, task: str = "task-x"
) -> kg_pb2.ExecutionRecorded:
    e = execution(execution_id, success=True)
    e.task_id, e.run_id, e.steps, e.tool_calls, e.stop_reason, e.verified = task, run_id, 3, 1, "final_answer", verified
    return e


async def test_the_transcript_of_a_redelivered_job_is_its_final_runs_steps_in_order_and_paged(
    bus: Bus, stub: kg_pb2_grpc.KnowledgeGraphStub
) -> None:
    lost = [step("ex-1.1", 1, "model"), step("ex-1.1", 2, "tool", tool="workspace.list_files")]
    final = [
        step("ex-1.2", 1, "model", provider="anthropic", input_tokens=10, cost_cents=0.2),
        step("ex-1.2", 2, "tool", tool="workspace.read_file", result="hello", arguments_json='{"path": "a"}'),
        step("ex-1.2", 3, "model", text="The answer."),
    ]
    await publish_steps(bus, *lost, final[2], final[0], final[1], final[1])  # out of order, one twice

    async def in_progress() -> bool:  # no execution yet: the newest run is the one going on
        return len((await get(stub, workspace_id="ws1", task_id="task-x")).steps) == 3

    await eventually(in_progress, timeout=15.0, what="the run in progress listed")
    await publish(bus, finished("ex-1", "ex-1.2"))

    async def linked() -> bool:
        return (await get(stub, workspace_id="ws1", task_id="task-x")).HasField("execution")

    await eventually(linked, timeout=15.0, what="the final execution linked to its run")
    whole = await get(stub, workspace_id="ws1", task_id="task-x")
    assert (whole.run_id, whole.execution_id, whole.next_page_token) == ("ex-1.2", "ex-1", "")
    assert [(s.index, s.kind) for s in whole.steps] == [(1, "model"), (2, "tool"), (3, "model")]
    assert whole.steps[1].tool == "workspace.read_file" and whole.steps[1].result == "hello"
    assert whole.steps[0].provider == "anthropic" and whole.steps[0].cost_cents == pytest.approx(0.2)
    assert (whole.execution.stop_reason, whole.execution.steps, whole.execution.run_id) == ("final_answer", 3, "ex-1.2")

    first = await get(stub, workspace_id="ws1", execution_id="ex-1", page_size=2)
    assert [s.index for s in first.steps] == [1, 2] and first.next_page_token
    rest = await get(stub, workspace_id="ws1", execution_id="ex-1", page_size=2, page_token=first.next_page_token)
    assert [s.index for s in rest.steps] == [3] and rest.next_page_token == ""

    other = await get(stub, workspace_id="ws-other", task_id="task-x")
    assert list(other.steps) == [] and not other.HasField("execution")


async def test_usage_is_linked_to_its_execution_every_run_counted_and_to_its_task_once_each(
    bus: Bus, stub: kg_pb2_grpc.KnowledgeGraphStub
) -> None:
    events = [
        usage("ex-2.1.1", 1.5),  # the lost run was paid for
        usage("ex-2.2.1", 2.0),
        usage("ex-2.2.3", 0.25),
        usage("ex-3.1.1", 4.0),  # another execution of the same task
        usage("not-a-run", 10.0, task="task-y"),
    ]
    for u in [*events, events[1]]:  # one delivered twice
        await bus.publish(subjects.llm_usage(u.role), u)
    await publish_steps(bus, step("ex-2.2", 1, "model"))

    async def linked() -> bool:
        got = await get(stub, workspace_id="ws1", execution_id="ex-2")
        return got.task_cost_cents == pytest.approx(7.75)

    await eventually(linked, timeout=15.0, what="the usage linked")
    got = await get(stub, workspace_id="ws1", execution_id="ex-2")
    assert got.execution_cost_cents == pytest.approx(3.75)
    assert (await get(stub, workspace_id="ws1", task_id="task-y")).task_cost_cents == pytest.approx(10.0)


async def test_an_offline_execution_leaves_the_profile_unchanged_until_a_persons_feedback_counts_it(
    bus: Bus, stub: kg_pb2_grpc.KnowledgeGraphStub
) -> None:
    await publish(bus, finished("v-1", "v-1.1", verified=True, task="task-v1"))
    profile = kg_pb2.GetLearningProfileRequest(agent_id="a1", task_type="testing")

    async def counted(n: int) -> bool:
        try:
            return (await stub.GetLearningProfile(profile)).executions == n
        except grpc.aio.AioRpcError:
            return False

    await eventually(lambda: counted(1), timeout=15.0, what="a1's profile of 1 execution")
    before = await stub.GetLearningProfile(profile)
    offline = finished("u-1", "u-1.1", verified=False, task="task-u1")
    offline.provider = "offline"
    await publish(bus, offline)

    async def stored() -> bool:
        got = await stub.QueryExecutions(kg_pb2.QueryExecutionsRequest(workspace_id="ws1", task_id="task-u1"))
        return len(got.executions) == 1

    await eventually(stored, timeout=15.0, what="the offline execution stored")
    await asyncio.sleep(0.2)
    after = await stub.GetLearningProfile(profile)
    assert (after.executions, after.successes, after.expertise) == (
        before.executions,
        before.successes,
        before.expertise,
    )
    [kept] = (
        await stub.QueryExecutions(kg_pb2.QueryExecutionsRequest(workspace_id="ws1", task_id="task-u1"))
    ).executions
    assert kept.success and not kept.verified

    verdict = tasks_pb2.FeedbackCorrection(execution_id="u-1", workspace_id="ws1", success=False, quality=0.2)
    await bus.publish(subjects.feedback("ws1"), verdict)
    await bus.publish(subjects.feedback("ws1"), verdict)
    await eventually(lambda: counted(2), timeout=15.0, what="a1's profile of 2 executions")
    await asyncio.sleep(0.2)
    p = await stub.GetLearningProfile(profile)
    assert (p.executions, p.successes) == (2, 1)
    curve = await stub.GetLearningCurve(kg_pb2.GetLearningCurveRequest(agent_id="a1", task_type="testing", days=30))
    assert sum(c.executions for c in curve.points) == 2 and sum(c.successes for c in curve.points) == 1


async def test_a_bad_step_is_dead_lettered_with_its_reason_and_the_next_is_stored(
    bus: Bus, stub: kg_pb2_grpc.KnowledgeGraphStub
) -> None:
    sub = await bus.nc.subscribe("dlq.steps.>")
    await publish_steps(
        bus, step("ex-9.1", 1, "thinking"), step("ex-8.1", 0), step("ex-7.1", 1, cost_cents=float("nan"))
    )
    reasons = sorted([(await sub.next_msg(timeout=10)).headers["vapora-dlq-reason"] for _ in range(3)])
    assert "kind must be model or tool, got 'thinking'" in reasons[2]
    assert "index must be 1 or more" in reasons[1]
    assert "cost_cents must be a finite number, got nan" in reasons[0]  # the bus's event rules
    await publish_steps(bus, step("ex-6.1", 1, "model", task="task-6"))

    async def stored() -> bool:
        return len((await get(stub, workspace_id="ws1", task_id="task-6")).steps) == 1

    await eventually(stored, timeout=15.0, what="the good step stored")


async def test_get_steps_names_what_is_wrong_with_a_request(stub: kg_pb2_grpc.KnowledgeGraphStub) -> None:
    for req, words in (
        ({"task_id": "t"}, "workspace_id"),
        ({"workspace_id": "ws1"}, "task_id or an execution_id"),
        ({"workspace_id": "ws1", "task_id": "t", "page_token": "%%%"}, "not a token GetSteps gave out"),
        ({"workspace_id": "ws1", "task_id": "t", "page_size": -1}, "page_size must not be negative"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await get(stub, **req)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert words in (err.value.details() or "")
    assert list((await get(stub, workspace_id="ws1", task_id="never-ran")).steps) == []


async def test_retention_drops_old_steps_and_usage_and_keeps_recent_ones(
    bus: Bus, kg: KnowledgeGraphApp, stub: kg_pb2_grpc.KnowledgeGraphStub
) -> None:
    # 20 days old: inside the app's own 30-day retention (its sweep at start must not race this test)
    old = step("ex-old.1", 1, "model", task="task-old")
    old.at.FromSeconds(int(NOW - 20 * 86_400))
    await publish_steps(bus, old, step("ex-new.1", 1, "model", task="task-new"))
    for u in (
        usage("ex-old.1.1", 1.0, task="task-old", at=NOW - 20 * 86_400),
        usage("ex-new.1.1", 2.0, task="task-new"),
    ):
        await bus.publish(subjects.llm_usage(u.role), u)

    async def stored() -> bool:
        new = await get(stub, workspace_id="ws1", task_id="task-new")
        old = await get(stub, workspace_id="ws1", task_id="task-old")
        return len(old.steps) == 1 and old.task_cost_cents == 1.0 and new.task_cost_cents == 2.0

    await eventually(stored, timeout=15.0, what="the steps and usage stored")
    assert kg.transcripts is not None
    assert await kg.transcripts.sweep(NOW - 10 * 86_400) == 2
    gone = await get(stub, workspace_id="ws1", task_id="task-old")
    assert list(gone.steps) == [] and gone.task_cost_cents == 0.0
    kept = await get(stub, workspace_id="ws1", task_id="task-new")
    assert len(kept.steps) == 1 and kept.task_cost_cents == 2.0
