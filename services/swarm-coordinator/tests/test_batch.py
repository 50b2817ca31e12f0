"""A worker's turn takes several buffered tasks and assigns them together; each keeps its own fate."""

from __future__ import annotations

import collections
from typing import Any

import pytest
from coordinator_testkit import EventLog, SimAgent, running, submit, task  # type: ignore[import-not-found]
from prometheus_client import REGISTRY

from vapora.common.v1 import common_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import Bus, subjects
from vapora_core.errors import Unavailable
from vapora_swarm_coordinator.settings import CoordinatorSettings


def create_round_trips() -> float:
    return REGISTRY.get_sample_value("vapora_coordinator_store_batch_items_count", {"kind": "create"}) or 0.0


async def test_a_backlog_taken_in_batches_is_each_assigned_once_whatever_the_mix(
    bus: Bus, events: EventLog, registry: Any, coordinator_settings: CoordinatorSettings
) -> None:
    """One worker, batches of 8, a backlog published before the coordinator starts: tasks an agent
    has room for, tasks that must wait for room, the same task published twice, and one without a
    workspace. Every valid task is assigned once and done; the invalid one is dead-lettered; the
    tasks with room were stored in far fewer round trips than there are tasks."""
    fake, _ = registry
    fake.add("busy", "coding", max_concurrency=3)
    fake.add("rev", "review", max_concurrency=0)
    coding = [task("coding") for _ in range(6)]  # 3 fit at once; the others wait for room
    review = [task("review") for _ in range(12)]  # room for all
    twice = review[0]
    invalid = task("review", workspace="")
    for t in [*coding, *review, invalid]:
        await submit(bus, t)
    await bus.publish(
        subjects.task("review", "normal"), tasks_pb2.TaskSubmitted(task=twice), msg_id=twice.id + "-again"
    )
    dlq = await bus.nc.subscribe("dlq.tasks.>")
    before = create_round_trips()
    agents = [SimAgent("busy", bus, delay_s=0.3), SimAgent("rev", bus)]
    async with running(coordinator_settings, workers=1, intake_batch=8):
        for agent, concurrency in zip(agents, (3, 8), strict=True):
            await agent.start(max_concurrency=concurrency)
        valid = [*coding, *review]
        await events.wait_for(lambda: all(events.final(t.id) is not None for t in valid), timeout=30)
        dead = await dlq.next_msg(timeout=10)
    assert all(events.final(t.id).state == common_pb2.TASK_STATE_DONE for t in valid)  # type: ignore[union-attr]
    jobs = collections.Counter(job.task.id for agent in agents for job in agent.jobs)
    assert jobs == {t.id: 1 for t in valid}  # the task published twice too: one job
    assert {job.task.id for job in agents[0].jobs} == {t.id for t in coding}
    assert "has no workspace_id" in dead.headers["vapora-dlq-reason"]
    assert create_round_trips() - before < len(valid) / 2


async def test_a_worker_whose_batch_cannot_be_settled_takes_the_next_one(
    bus: Bus,
    events: EventLog,
    registry: Any,
    coordinator_settings: CoordinatorSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The only worker's first batch fails to settle (as when NATS goes away mid-batch): the worker
    logs it and goes on, so the task after it is still assigned and done."""
    fake, _ = registry
    fake.add("rev", "review", max_concurrency=0)
    real = Bus.process_batch
    failed: list[int] = []

    async def fails_once(self: Bus, *args: Any) -> None:
        if not failed:
            failed.append(len(args[3]))
            raise Unavailable("NATS went away while settling")
        await real(self, *args)

    monkeypatch.setattr(Bus, "process_batch", fails_once)
    async with running(coordinator_settings, workers=1):
        await SimAgent("rev", bus).start(max_concurrency=4)
        lost, later = task("review"), task("review")
        await submit(bus, lost)
        await events.wait_for(lambda: bool(failed))
        await submit(bus, later)
        await events.wait_for(lambda: events.final(later.id) is not None)
    assert failed == [1]
    assert events.final(later.id).state == common_pb2.TASK_STATE_DONE  # type: ignore[union-attr]
