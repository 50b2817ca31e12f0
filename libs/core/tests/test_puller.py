"""The puller against a real nats-server: every message delivered, never more asked than there is room for."""

from __future__ import annotations

import asyncio
from typing import Any

from nats.js import api as js_api

from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import Bus, subjects
from vapora_core.bus.puller import Puller
from vapora_testing.polling import eventually


async def _consumer(bus: Bus, durable: str) -> None:
    await bus.js.add_consumer(
        "TASKS",
        js_api.ConsumerConfig(
            durable_name=durable,
            ack_policy=js_api.AckPolicy.EXPLICIT,
            filter_subject="tasks.*.low",
            max_ack_pending=1000,
        ),
    )


async def _publish(bus: Bus, ids: range) -> None:
    for i in ids:
        await bus.publish(subjects.task("coding", "low"), tasks_pb2.TaskSubmitted(task=tasks_pb2.Task(id=f"t{i}")))


async def test_every_message_is_delivered_once_and_requests_stay_within_room(bus: Bus) -> None:
    await _consumer(bus, "puller-test")
    await _publish(bus, range(30))  # a backlog before start
    buffer: list[Any] = []
    room_n = 8
    over: list[int] = []

    async def deliver(msg: Any) -> None:
        buffer.append(msg)

    puller = Puller(
        bus.nc,
        "TASKS",
        "puller-test",
        deliver=deliver,
        room=lambda: room_n - len(buffer),
        expires_s=1.0,
    )
    await puller.start()
    seen: list[str] = []
    try:
        publisher = asyncio.create_task(_publish(bus, range(30, 60)))  # and more while it runs

        async def consume_round() -> bool:
            """One round of the consumer this test plays: check the room, take, ack, top up."""
            if len(seen) == 60:
                return True
            if len(buffer) + puller.requested > room_n:
                over.append(len(buffer) + puller.requested)
            while buffer:
                msg = buffer.pop(0)
                seen.append(tasks_pb2.TaskSubmitted.FromString(msg.data).task.id)
                await msg.ack()
            await puller.top_up()
            return False

        await eventually(consume_round, timeout=8.0, interval=0.02, what="all 60 tasks taken")
        await publisher
    finally:
        await puller.stop()
    assert sorted(seen, key=lambda t: int(t[1:])) == [f"t{i}" for i in range(60)]
    assert len(set(seen)) == 60
    assert not over, f"asked for more than there was room for: {over[:5]}"
    assert 0 <= puller.requested <= room_n


async def test_an_empty_consumer_answers_at_once(bus: Bus) -> None:
    await _consumer(bus, "puller-empty")
    ended = asyncio.Event()

    async def deliver(msg: Any) -> None:
        raise AssertionError("nothing was published")

    async def on_end() -> None:
        ended.set()

    puller = Puller(bus.nc, "TASKS", "puller-empty", deliver=deliver, ended=on_end, room=lambda: 16, expires_s=30.0)
    await puller.start()
    try:
        await asyncio.wait_for(ended.wait(), 2.0)  # the no-wait first request, not the 30 s expiry
    finally:
        await puller.stop()


async def test_a_request_whose_end_never_came_is_forgotten_and_the_supply_resumes(bus: Bus) -> None:
    await _consumer(bus, "puller-lost")
    got: list[Any] = []

    async def deliver(msg: Any) -> None:
        got.append(msg)
        await msg.ack()

    puller = Puller(bus.nc, "TASKS", "puller-lost", deliver=deliver, room=lambda: 8, expires_s=0.2)
    await puller.start()
    try:
        # as after a reconnect: a request the puller counts as open, whose closing status was lost
        lost_at = asyncio.get_running_loop().time() - 10
        puller._open["lost"] = (50, lost_at)
        puller.requested += 50
        await asyncio.sleep(0.5)  # the live requests expire; top_up asks for nothing while 50 are "due"
        await _publish(bus, range(3))
        await eventually(lambda: len(got) == 3, timeout=2.0, interval=0.02, what="the three tasks")
    finally:
        await puller.stop()
    assert len(got) == 3  # the watch forgot the lost request and asked again
