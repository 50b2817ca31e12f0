"""The DONE or FAILED event of a task settled by its execution carries that execution's tokens and
cost, so the gateway's read model (the board's cards) has them."""

from __future__ import annotations

from typing import Any

from coordinator_testkit import EventLog, SimAgent, running, submit, task  # type: ignore[import-not-found]

from vapora.common.v1 import common_pb2
from vapora_core.bus import Bus
from vapora_swarm_coordinator.settings import CoordinatorSettings

USAGE = {"input_tokens": 1200, "output_tokens": 300, "cost_cents": 4.25}


async def test_the_final_event_carries_the_tokens_and_cost_of_the_execution_that_settled_it(
    bus: Bus, events: EventLog, registry: Any, coordinator_settings: CoordinatorSettings
) -> None:
    fake, _ = registry
    fake.add("dev", "coding", max_concurrency=2)
    ok, bad = task("coding"), task("coding")
    agent = SimAgent("dev", bus, succeed=lambda job: job.task.id == ok.id, usage=USAGE)
    for t in (ok, bad):
        await submit(bus, t)
    async with running(coordinator_settings):
        await agent.start(max_concurrency=2)
        await events.wait_for(lambda: events.final(ok.id) is not None and events.final(bad.id) is not None)
    for t, state in ((ok, common_pb2.TASK_STATE_DONE), (bad, common_pb2.TASK_STATE_FAILED)):
        final = events.final(t.id)
        assert final is not None and final.state == state
        assert (final.input_tokens, final.output_tokens, final.cost_cents) == (1200, 300, 4.25)
    assigned = [e for e in events.events if e.task_id == ok.id and e.state == common_pb2.TASK_STATE_ASSIGNED]
    assert assigned and all(e.cost_cents == 0 and e.input_tokens == 0 for e in assigned)
