"""Under a backlog, critical is assigned before high before normal before low."""

from __future__ import annotations

import asyncio
from typing import Any

from coordinator_testkit import EventLog, SimAgent, running, submit, task  # type: ignore[import-not-found]

from vapora.common.v1 import common_pb2
from vapora_core.bus import Bus
from vapora_swarm_coordinator.settings import CoordinatorSettings


async def test_a_backlog_is_assigned_in_priority_order(
    bus: Bus, events: EventLog, registry: Any, coordinator_settings: CoordinatorSettings
) -> None:
    fake, _ = registry
    fake.add("solo", "coding", max_concurrency=0)
    agent = SimAgent("solo", bus)
    order = ["low", "normal", "high", "critical"]
    backlog = [(p, task("coding", p)) for _ in range(5) for p in order]  # published lowest first
    for p, t in backlog:
        await submit(bus, t, p)
    async with running(coordinator_settings, workers=1, buffer_per_priority=4):
        await agent.start(max_concurrency=1)
        await events.wait_for(lambda: all(events.final(t.id) is not None for _, t in backlog))
    prio = {t.id: p for p, t in backlog}
    assigned = [prio[e.task_id] for e in events.events if e.state == common_pb2.TASK_STATE_ASSIGNED]
    assert assigned == ["critical"] * 5 + ["high"] * 5 + ["normal"] * 5 + ["low"] * 5


async def test_a_slot_freed_while_tasks_wait_for_room_goes_to_the_highest_priority(
    bus: Bus, events: EventLog, registry: Any, coordinator_settings: CoordinatorSettings
) -> None:
    """Every capable agent full: a low task waits first, a critical one after it; the freed slot
    goes to the critical one, and a normal task arriving meanwhile does not jump the queue."""
    fake, _ = registry
    fake.add("solo", "coding", max_concurrency=1)
    async with running(coordinator_settings, workers=8, capacity_wait_s=30.0):
        first = task("coding", "normal")
        await submit(bus, first)
        await events.wait_for(lambda: common_pb2.TASK_STATE_ASSIGNED in events.states(first.id))
        low, critical, normal = task("coding", "low"), task("coding", "critical"), task("coding", "normal")
        await submit(bus, low, "low")
        await asyncio.sleep(0.3)  # the low task waits for room first
        await submit(bus, critical, "critical")
        await asyncio.sleep(0.3)
        agent = SimAgent("solo", bus, delay_s=0.2)
        await agent.start(max_concurrency=1)  # finishes `first`: its slot frees
        await asyncio.sleep(0.1)
        await submit(bus, normal)  # arrives while the critical task holds the next turn
        backlog = [first, low, critical, normal]
        await events.wait_for(lambda: all(events.final(t.id) is not None for t in backlog), timeout=30)
    name = {first.id: "first", low.id: "low", critical.id: "critical", normal.id: "normal"}
    assigned = [name[e.task_id] for e in events.events if e.state == common_pb2.TASK_STATE_ASSIGNED]
    assert assigned == ["first", "critical", "normal", "low"]
