"""The skeleton flow through the coordinator with real nats, SurrealDB and gRPC."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from coordinator_testkit import EventLog, SimAgent, known_agents, submit, submit_and_wait, task  # type: ignore[import-not-found]
from prometheus_client import REGISTRY

from vapora.common.v1 import common_pb2
from vapora.coordinator.v1 import coordinator_pb2, coordinator_pb2_grpc
from vapora_core.bus import Bus, subjects
from vapora_core.grpc import channel
from vapora_testing.executions import execution_of
from vapora_testing.polling import eventually


async def test_a_task_is_assigned_to_a_capable_agent_and_marked_done_from_its_execution(
    bus: Bus, events: EventLog, registry: Any, coordinator: Any
) -> None:
    await known_agents(coordinator, registry[0], {"a-coder": "coding", "a-writer": "documentation"})
    agent = SimAgent("a-coder", bus)
    await agent.start()
    t = task("coding")
    await submit_and_wait(bus, events, t)
    done = events.final(t.id)
    assert done is not None
    assert done.state == common_pb2.TASK_STATE_DONE
    assert (done.agent_id, done.provider, done.model) == ("a-coder", "offline", "offline-1")
    assert done.execution_id == f"ex-job-{t.id}-1"
    assert events.states(t.id)[0] == common_pb2.TASK_STATE_ASSIGNED
    assert [j.task.id for j in agent.jobs] == [t.id]


async def test_explain_assignment_gives_the_breakdown_only_to_the_tasks_workspace(
    bus: Bus, events: EventLog, registry: Any, coordinator: Any
) -> None:
    await known_agents(coordinator, registry[0], {"a1": "testing", "a2": "testing"})
    await SimAgent("a1", bus).start()
    await SimAgent("a2", bus).start()
    t = task("testing", workspace="ws-a")
    await submit_and_wait(bus, events, t)
    async with channel(f"127.0.0.1:{coordinator.grpc_port}") as ch:
        stub = coordinator_pb2_grpc.CoordinatorStub(ch)
        got = await stub.ExplainAssignment(coordinator_pb2.ExplainAssignmentRequest(task_id=t.id, workspace_id="ws-a"))
        assert got.agent_id in ("a1", "a2")
        assert {c.agent_id for c in got.candidates} == {"a1", "a2"}
        assert got.score.total == pytest.approx(1.0)  # load only: 1 / (1 + 0)
        assert not got.score.learning_data
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.ExplainAssignment(coordinator_pb2.ExplainAssignmentRequest(task_id=t.id, workspace_id="ws-b"))
        assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_task_without_type_is_inferred_and_one_no_agent_can_take_fails_after_the_bound(
    bus: Bus, events: EventLog, registry: Any, coordinator: Any
) -> None:
    await known_agents(coordinator, registry[0], {"sec": "security"})
    agent = SimAgent("sec", bus)
    await agent.start()
    inferred = task("", title="Audit the login flow for XSS vulnerabilities")
    nobody = task("devops", title="deploy it")
    await submit(bus, inferred)
    await submit(bus, nobody)
    await events.wait_for(lambda: events.final(inferred.id) is not None and events.final(nobody.id) is not None)
    assert agent.jobs[0].task.task_type == "security"
    failed = events.final(nobody.id)
    assert failed is not None and failed.state == common_pb2.TASK_STATE_FAILED
    assert "no healthy agent capable of devops" in failed.detail


async def test_garbage_on_a_task_subject_is_dead_lettered_and_the_next_task_completes(
    bus: Bus, events: EventLog, registry: Any, coordinator: Any
) -> None:
    await known_agents(coordinator, registry[0], {"c": "coding"})
    await SimAgent("c", bus).start()
    sub = await bus.nc.subscribe("dlq.tasks.>")
    await bus.publish_raw("tasks.coding.high", b"\xff\xfe not a protobuf")
    dead = await sub.next_msg(timeout=10)
    assert dead.subject == "dlq.tasks.coding.high"
    assert "decode" in dead.headers["vapora-dlq-reason"]
    t = task("coding")
    await submit_and_wait(bus, events, t, "high")
    final = events.final(t.id)
    assert final is not None and final.state == common_pb2.TASK_STATE_DONE


async def test_an_execution_delivered_again_puts_one_done_on_the_events_stream(
    bus: Bus, events: EventLog, registry: Any, coordinator: Any
) -> None:
    """The coordinator announces an applied execution again (its DONE may not have gone out);
    the event's msg id lets the EVENTS stream drop the copy when the first one was stored."""
    await known_agents(coordinator, registry[0], {"once": "coding"})
    agent = SimAgent("once", bus)
    await agent.start()
    t = task("coding")
    await submit_and_wait(bus, events, t)
    again = execution_of(agent.jobs[0], agent_id="once", role="developer", success=True, quality=0.9, result="ok")
    handled = {"consumer": "coordinator-executions", "outcome": "ack"}
    before = REGISTRY.get_sample_value("vapora_bus_messages_total", handled) or 0.0
    # JetStream delivers the execution again (a re-publish under another msg id stands in for the redelivery)
    await bus.publish(subjects.execution("coding", "once"), again, msg_id=f"{again.execution_id}-again")
    await eventually(
        lambda: REGISTRY.get_sample_value("vapora_bus_messages_total", handled) or 0.0,
        timeout=10.0,
        what="the coordinator to handle (and ack) the execution delivered again",
        until=lambda handled_now: handled_now > before,
    )
    stream = await bus.js.stream_info("EVENTS")
    await events.wait_for(lambda: len(events.events) >= stream.state.messages)
    assert events.states(t.id).count(common_pb2.TASK_STATE_DONE) == 1
    assert stream.state.messages == len(events.events) == 2  # ASSIGNED, DONE: the second DONE was dropped
