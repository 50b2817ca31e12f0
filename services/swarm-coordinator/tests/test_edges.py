"""Bad tasks and executions at the coordinator's NATS edges: dead-lettered alone, never a batch's fate."""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator
from typing import Any

import pytest
from coordinator_testkit import EventLog, SimAgent, submit, task  # type: ignore[import-not-found]
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vapora.common.v1 import common_pb2
from vapora.coordinator.v1 import coordinator_pb2
from vapora.kg.v1 import kg_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import CONSUMERS, Bus, Delivery, subjects
from vapora_swarm_coordinator.app import CoordinatorApp
from vapora_swarm_coordinator.settings import CoordinatorSettings


async def test_a_nul_or_an_unknown_priority_in_one_task_of_a_batch_dead_letters_only_that_task(
    bus: Bus, events: EventLog, registry: Any, coordinator_settings: CoordinatorSettings
) -> None:
    """One worker takes the backlog in batches of 8; the store would refuse a batch holding a NUL
    as a whole, so the bad tasks must never reach it: each is dead-lettered with its reason."""
    fake, _ = registry
    fake.add("rev", "review", max_concurrency=0)
    good = [task("review") for _ in range(10)]
    bad = [
        task("review", title="fix\x00it"),
        task("review", labels={"team": "a\x00"}),
        task("review", priority="normal", description="ok"),
    ]
    bad[2].priority = 9  # type: ignore[assignment]
    for t in [*good[:5], *bad, *good[5:]]:
        await submit(bus, t)
    dlq = await bus.nc.subscribe("dlq.tasks.>")
    app = CoordinatorApp(coordinator_settings.model_copy(update={"workers": 1, "intake_batch": 8}))
    await app.start()
    try:
        await SimAgent("rev", bus).start(max_concurrency=8)
        await events.wait_for(lambda: all(events.final(t.id) is not None for t in good), timeout=30)
        reasons = sorted([(await dlq.next_msg(timeout=10)).headers["vapora-dlq-reason"] for _ in bad])
    finally:
        await app.stop()
    assert all(events.final(t.id).state == common_pb2.TASK_STATE_DONE for t in good)  # type: ignore[union-attr]
    assert reasons == [
        "task.labels['team'] holds a NUL character (U+0000)",
        "task.priority is 9, not a value of its enum",
        "task.title holds a NUL character (U+0000)",
    ]
    assert all(events.final(t.id) is None for t in bad)


async def test_an_execution_with_a_nan_cost_is_dead_lettered_and_the_task_finishes_with_the_next(
    bus: Bus, events: EventLog, registry: Any, coordinator_settings: CoordinatorSettings
) -> None:
    fake, _ = registry
    fake.add("rev", "review", max_concurrency=2)
    app = CoordinatorApp(coordinator_settings.model_copy(update={"workers": 1}))
    await app.start()
    dlq = await bus.nc.subscribe("dlq.executions.>")
    jobs: list[Any] = []
    try:

        async def on_job(job: coordinator_pb2.JobAssigned, _: Delivery) -> None:
            jobs.append(job)

        await bus.subscribe(CONSUMERS.job("rev", 2), coordinator_pb2.JobAssigned, on_job)
        t = task("review")
        await submit(bus, t)
        await events.wait_for(lambda: bool(jobs), timeout=20)
        job = jobs[0]
        base = {"execution_id": "ex-1", "job_id": job.job_id, "task_id": t.id, "workspace_id": "ws1"}
        poisoned = kg_pb2.ExecutionRecorded(
            **base, agent_id="rev", task_type="review", success=True, cost_cents=math.nan
        )
        await bus.publish(subjects.execution("review", "rev"), poisoned, msg_id="ex-1")
        dead = await dlq.next_msg(timeout=10)
        assert dead.headers["vapora-dlq-reason"] == "cost_cents must be a finite number, got nan"
        fine = kg_pb2.ExecutionRecorded(
            **{**base, "execution_id": "ex-2"}, agent_id="rev", task_type="review", success=True
        )
        await bus.publish(subjects.execution("review", "rev"), fine, msg_id="ex-2")
        await events.wait_for(lambda: events.final(t.id) is not None, timeout=20)
    finally:
        await app.stop()
    assert events.final(t.id).state == common_pb2.TASK_STATE_DONE  # type: ignore[union-attr]


@pytest.fixture
async def running(
    bus: Bus, registry: Any, coordinator_settings: CoordinatorSettings
) -> AsyncIterator[tuple[CoordinatorApp, list[str]]]:
    """A coordinator with one roomy agent, and the task ids of its dead letters as they come."""
    fake, _ = registry
    fake.add("any", "review", max_concurrency=0)
    dead: list[str] = []

    async def on_dead(msg: Any) -> None:
        with contextlib.suppress(Exception):
            dead.append(tasks_pb2.TaskSubmitted.FromString(msg.data).task.id)

    sub = await bus.nc.subscribe("dlq.tasks.>", cb=on_dead)
    app = CoordinatorApp(coordinator_settings.model_copy(update={"workers": 2}))
    await app.start()
    await SimAgent("any", bus).start(max_concurrency=16)
    try:
        yield app, dead
    finally:
        await app.stop()
        await sub.unsubscribe()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    title=st.text(st.characters(codec="utf-8"), min_size=1, max_size=40),
    label=st.text(st.characters(codec="utf-8"), max_size=10),
    priority=st.integers(min_value=-(2**31), max_value=2**31 - 1),
    created_s=st.integers(min_value=-62_135_596_800, max_value=253_402_300_799),
)
async def test_any_task_is_done_or_dead_lettered_and_the_coordinator_goes_on(
    bus: Bus,
    events: EventLog,
    running: tuple[CoordinatorApp, list[str]],
    title: str,
    label: str,
    priority: int,
    created_s: int,
) -> None:
    _, dead = running
    t = task("review", title=title, labels={"k": label} if label else {})
    t.priority = priority  # type: ignore[assignment]
    t.created_at.seconds = created_s
    await submit(bus, t)
    await events.wait_for(lambda: events.final(t.id) is not None or t.id in dead, timeout=20)
    final = events.final(t.id)
    assert final is None or final.state == common_pb2.TASK_STATE_DONE
