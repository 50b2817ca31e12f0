"""Re-assignment: a job held by an agent that dies, or that times out, moves to another healthy agent once.

Real nats-server, SurrealDB and gRPC; the coordinator in-process. The first agent (``a-…``,
chosen first: load-only ties go to the smaller id) takes its job and stays silent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from coordinator_testkit import EventLog, SimAgent, known_agents, running, submit, submit_and_wait, task  # type: ignore[import-not-found]
from google.protobuf.timestamp_pb2 import Timestamp

from vapora.agents.v1 import agents_pb2
from vapora.common.v1 import common_pb2
from vapora.coordinator.v1 import coordinator_pb2
from vapora_core.bus import Bus, Delivery, subjects
from vapora_swarm_coordinator.app import CoordinatorApp
from vapora_swarm_coordinator.settings import CoordinatorSettings
from vapora_testing.executions import execution_of, publish_execution

DONE, FAILED, ASSIGNED = common_pb2.TASK_STATE_DONE, common_pb2.TASK_STATE_FAILED, common_pb2.TASK_STATE_ASSIGNED


class SilentAgent(SimAgent):  # type: ignore[misc]
    """Takes jobs (acks them) and never reports an execution, like a crashed or stuck agent."""

    async def _on_job(self, job: coordinator_pb2.JobAssigned, _: Delivery) -> None:
        self.jobs.append(job)


async def late_execution(bus: Bus, job: coordinator_pb2.JobAssigned) -> None:
    """What the silent agent says much later: its (failed) execution of the old job."""
    await publish_execution(bus, execution_of(job, success=False, error="late and wrong"))


@pytest.fixture
async def timeout_coordinator(coordinator_settings: CoordinatorSettings) -> AsyncIterator[CoordinatorApp]:
    async with running(coordinator_settings, job_timeout_s=1.0, sweep_interval_s=0.2) as app:
        yield app


def assignment_states(events: EventLog, task_id: str) -> list[tuple[int, str]]:
    return [(e.state, e.agent_id) for e in events.events if e.task_id == task_id]


@pytest.mark.parametrize(
    "kind",
    [agents_pb2.AgentsChanged.KIND_UNHEALTHY, agents_pb2.AgentsChanged.KIND_REMOVED],
    ids=["unhealthy", "removed"],
)
async def test_a_job_of_an_agent_that_dies_is_reassigned_to_a_healthy_capable_agent_and_completes_once(
    kind: int, bus: Bus, events: EventLog, registry: Any, coordinator: CoordinatorApp
) -> None:
    fake, _ = registry
    # c-other is healthy, but not capable of review
    coord = await known_agents(
        coordinator, fake, {"a-dying": "review", "b-live": "review", "c-other": "documentation"}, max_concurrency=4
    )
    dying = SilentAgent("a-dying", bus)
    live = SimAgent("b-live", bus)
    other = SimAgent("c-other", bus)
    for a in (dying, live, other):
        await a.start(max_concurrency=4)
    t = task("review")
    await submit(bus, t)
    await events.wait_for(lambda: len(dying.jobs) == 1)
    assert assignment_states(events, t.id) == [(ASSIGNED, "a-dying")]

    # The registry notices the agent is gone.
    dead = fake.agents.pop("a-dying")
    if kind == agents_pb2.AgentsChanged.KIND_UNHEALTHY:
        dead.status = agents_pb2.AGENT_STATUS_UNHEALTHY
        fake.agents["a-dying"] = dead
    at = Timestamp()
    at.GetCurrentTime()
    await bus.publish(subjects.AGENTS_CHANGED, agents_pb2.AgentsChanged(kind=kind, agent=dead, at=at))  # type: ignore[arg-type]
    await events.wait_for(lambda: events.final(t.id) is not None)

    final = events.final(t.id)
    assert final is not None and final.state == DONE
    assert (final.agent_id, final.execution_id) == ("b-live", f"ex-job-{t.id}-2")
    assert [j.job_id for j in live.jobs] == [f"job-{t.id}-2"] and live.jobs[0].attempt == 2
    assert other.jobs == []
    explained = await coord.explain(t.id, t.workspace_id)
    assert (explained.agent_id, explained.attempt) == ("b-live", 2)
    assert "reassigned: agent a-dying is no longer healthy" in explained.reason
    assert {c.agent_id for c in explained.candidates} == {"b-live"}

    # The dead agent's late report of the old job changes nothing: the task stays done by b-live.
    await late_execution(bus, dying.jobs[0])
    marker = task("review")
    await submit(bus, marker)  # a later task, to know the late execution has been consumed
    await events.wait_for(lambda: events.final(marker.id) is not None)
    assert [s for s, _ in assignment_states(events, t.id)] == [ASSIGNED, ASSIGNED, DONE]
    assert (await coord.explain(t.id, t.workspace_id)).agent_id == "b-live"
    assert coord.view.load.get("a-dying", 0) == 0 and coord.view.load.get("b-live", 0) == 0


async def test_a_job_that_times_out_is_reassigned_once_and_completes(
    bus: Bus, events: EventLog, registry: Any, timeout_coordinator: CoordinatorApp
) -> None:
    coord = await known_agents(
        timeout_coordinator, registry[0], {"a-stuck": "testing", "b-live": "testing"}, max_concurrency=4
    )
    stuck = SilentAgent("a-stuck", bus)
    live = SimAgent("b-live", bus)
    await stuck.start(max_concurrency=4)
    await live.start(max_concurrency=4)
    t = task("testing")
    await submit_and_wait(bus, events, t)

    final = events.final(t.id)
    assert final is not None and final.state == DONE
    assert (final.agent_id, final.execution_id) == ("b-live", f"ex-job-{t.id}-2")
    assert [j.job_id for j in stuck.jobs] == [f"job-{t.id}-1"]
    assert [j.job_id for j in live.jobs] == [f"job-{t.id}-2"]
    assert [s for s, _ in assignment_states(events, t.id)] == [ASSIGNED, ASSIGNED, DONE]
    explained = await coord.explain(t.id, t.workspace_id)
    assert explained.attempt == 2
    assert f"job job-{t.id}-1 timed out after 1s" in explained.reason
    # No further reassignment happens once the task is done.
    assert await coord.sweep_timeouts() == 0


async def test_a_job_that_keeps_timing_out_fails_after_max_attempts_with_a_clear_detail(
    bus: Bus, events: EventLog, registry: Any, timeout_coordinator: CoordinatorApp
) -> None:
    await known_agents(timeout_coordinator, registry[0], {"a-stuck": "devops", "b-stuck": "devops"}, max_concurrency=4)
    agents = [SilentAgent("a-stuck", bus), SilentAgent("b-stuck", bus)]
    for a in agents:
        await a.start(max_concurrency=4)
    t = task("devops")
    await submit_and_wait(bus, events, t)
    final = events.final(t.id)
    assert final is not None and final.state == FAILED
    assert "gave up after 3 attempts" in final.detail
    jobs = sorted(j.job_id for a in agents for j in a.jobs)
    assert jobs == [f"job-{t.id}-{n}" for n in (1, 2, 3)]  # one job at a time, never two for one attempt
