"""A message handled while the lease has lapsed is put back (a Hold), never failed towards the DLQ."""

from __future__ import annotations

import asyncio

import pytest

from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import CONSUMERS, Bus, Delivery, Hold, subjects
from vapora_core.errors import Unavailable
from vapora_swarm_coordinator.lease import LeaseLost
from vapora_swarm_coordinator.subscribers import held_when_fenced


async def test_a_fenced_write_puts_the_message_back_for_a_lease_ttl() -> None:
    async def fenced(msg: str) -> None:
        raise LeaseLost(f"not writing {msg}")

    with pytest.raises(Hold) as held:
        await held_when_fenced(6.0, fenced)("m-1")
    assert held.value.delay == 6.0 and "not writing m-1" in str(held.value)


async def test_other_outcomes_are_the_handlers_own() -> None:
    async def ok(msg: str) -> str:
        return msg.upper()

    async def down(msg: str) -> None:
        raise Unavailable("the store is down")

    assert await held_when_fenced(6.0, ok)("m") == "M"
    with pytest.raises(Unavailable, match="the store is down"):  # a real failure: retried, then dead-lettered
        await held_when_fenced(6.0, down)("m")


async def test_a_message_held_past_five_deliveries_is_still_offered_and_handled(bus: Bus) -> None:
    """A fence longer than max_deliver holds (five, at the old bound) leaves no message JetStream
    stops offering: the coordinator's held consumers redeliver without limit."""
    spec = CONSUMERS.COORDINATOR_CANCELS
    deliveries: list[int] = []
    handled = asyncio.Event()

    async def on_cancel(msg: tasks_pb2.TaskCancelled, delivery: Delivery) -> None:
        deliveries.append(delivery.num_delivered)
        if len(deliveries) <= 7:
            raise LeaseLost(f"fenced, not cancelling {msg.task_id}")
        handled.set()

    await bus.subscribe(spec, tasks_pb2.TaskCancelled, held_when_fenced(0.05, on_cancel))
    await bus.publish(subjects.cancel("ws-1"), tasks_pb2.TaskCancelled(task_id="t-1", workspace_id="ws-1"))
    await asyncio.wait_for(handled.wait(), timeout=20)
    assert deliveries == list(range(1, 9))
