"""Cancelled tasks: never assigned when cancelled first, their job stopped when assigned."""

from __future__ import annotations

from typing import Any

from coordinator_testkit import EventLog, SimAgent, submit, task  # type: ignore[import-not-found]

from vapora.common.v1 import common_pb2
from vapora.coordinator.v1 import coordinator_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import Bus, subjects
from vapora_testing.polling import eventually


def cancelled(t: tasks_pb2.Task, workspace: str | None = None) -> tasks_pb2.TaskCancelled:
    return tasks_pb2.TaskCancelled(
        task_id=t.id, workspace_id=workspace or t.workspace_id, actor="u1@example.com", reason="wrong repo"
    )


async def cancel(bus: Bus, c: tasks_pb2.TaskCancelled) -> None:
    await bus.publish(subjects.cancel(c.workspace_id), c, msg_id=c.task_id)


async def stops_heard(bus: Bus) -> tuple[list[coordinator_pb2.JobStopped], Any]:
    heard: list[coordinator_pb2.JobStopped] = []

    async def on_stop(stop: coordinator_pb2.JobStopped) -> None:
        heard.append(stop)

    return heard, await bus.listen(subjects.STOPS, coordinator_pb2.JobStopped, on_stop)


async def until_state(coordinator: Any, task_id: str, state: str, timeout: float = 15.0) -> None:
    await eventually(
        lambda: coordinator.coordinator.repo.get(task_id),
        timeout=timeout,
        what=f"task {task_id} {state} in the coordinator's store",
        until=lambda row: row is not None and row["state"] == state,
    )


async def started_agent(registry: Any, coordinator: Any, bus: Bus, agent_id: str, delay_s: float = 0.0) -> SimAgent:
    """One coding agent (one job at a time) that the coordinator knows, consuming its jobs."""
    registry[0].add(agent_id, "coding", max_concurrency=1)
    await coordinator.coordinator.refresh_registry(force=True)
    agent = SimAgent(agent_id, bus, delay_s=delay_s)
    await agent.start()
    return agent


async def test_a_task_cancelled_before_it_is_consumed_is_never_assigned(
    bus: Bus, events: EventLog, registry: Any, coordinator: Any
) -> None:
    agent = await started_agent(registry, coordinator, bus, "a-coder")
    first, later = task("coding"), task("coding")
    await cancel(bus, cancelled(first))
    await until_state(coordinator, first.id, "cancelled")
    await submit(bus, first)
    await submit(bus, later)  # a task behind it is still assigned and done
    await events.wait_for(lambda: events.final(later.id) is not None)
    assert [j.task.id for j in agent.jobs] == [later.id]
    assert events.states(first.id) == []
    assert (await coordinator.coordinator.repo.get(first.id))["state"] == "cancelled"


async def test_cancelling_an_assigned_task_frees_its_agent_and_stops_its_job(
    bus: Bus, events: EventLog, registry: Any, coordinator: Any
) -> None:
    heard, sub = await stops_heard(bus)
    agent = await started_agent(registry, coordinator, bus, "a-slow", delay_s=1.5)  # busy when the cancel comes
    t = task("coding")
    await submit(bus, t)
    await eventually(lambda: len(agent.jobs) == 1, timeout=15.0, what="the agent's first job")
    view = coordinator.coordinator.view
    assert view.load.get("a-slow") == 1

    await cancel(bus, cancelled(t))
    await eventually(lambda: len(heard) == 1, timeout=15.0, what="one JobStopped")
    stop = heard[0]
    assert (stop.job_id, stop.task_id, stop.agent_id) == (f"job-{t.id}-1", t.id, "a-slow")
    assert stop.reason == "cancelled by u1@example.com: wrong repo"
    assert view.load.get("a-slow") == 0  # the agent has room again at once

    # the job's execution still arrives (this simulated agent does not stop): it changes nothing
    nxt = task("coding")
    await submit(bus, nxt)
    await events.wait_for(lambda: events.final(nxt.id) is not None)
    assert events.final(t.id) is None
    row = await coordinator.coordinator.repo.get(t.id)
    assert row["state"] == "cancelled" and row["reason"] == stop.reason
    assert view.load.get("a-slow") == 0
    await sub.unsubscribe()


async def test_a_cancel_for_another_workspace_or_a_finished_task_changes_nothing(
    bus: Bus, events: EventLog, registry: Any, coordinator: Any
) -> None:
    heard, sub = await stops_heard(bus)
    agent = await started_agent(registry, coordinator, bus, "a-coder", delay_s=1.0)
    running, done = task("coding", workspace="ws-a"), task("coding", workspace="ws-a")
    await submit(bus, done)
    await events.wait_for(lambda: events.final(done.id) is not None)
    await submit(bus, running)
    await eventually(lambda: len(agent.jobs) == 2, timeout=15.0, what="the agent's second job")

    await cancel(bus, cancelled(running, workspace="ws-b"))  # not the task's workspace
    await cancel(bus, cancelled(done))  # finished already
    await events.wait_for(lambda: events.final(running.id) is not None)
    final = events.final(running.id)
    assert final is not None and final.state == common_pb2.TASK_STATE_DONE
    assert (await coordinator.coordinator.repo.get(done.id))["state"] == "done"
    assert heard == []
    await sub.unsubscribe()


async def test_a_cancel_without_ids_is_dead_lettered_and_the_next_one_is_applied(
    bus: Bus, registry: Any, coordinator: Any
) -> None:
    t = task("coding")
    bad = tasks_pb2.TaskCancelled(task_id="", workspace_id=t.workspace_id)
    await bus.publish(subjects.cancel(t.workspace_id), bad, msg_id="bad-cancel")
    await cancel(bus, cancelled(t))
    await until_state(coordinator, t.id, "cancelled")
    info = await bus.js.stream_info("DLQ")
    assert info.state.messages >= 1
