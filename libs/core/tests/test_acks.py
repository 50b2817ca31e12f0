"""Acknowledged publishing (``vapora_core.bus.acks``) against a real nats-server with JetStream."""

from __future__ import annotations

import asyncio

import pytest

from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import Bus, Delivery, subjects
from vapora_core.bus.acks import PubAcks
from vapora_core.bus.topology import ConsumerSpec
from vapora_core.errors import Unavailable


async def test_messages_sent_together_are_each_stored_and_acknowledged_in_their_own_future(bus: Bus) -> None:
    futures = [
        await bus.send(subjects.task("coding", "high"), tasks_pb2.TaskSubmitted(task=tasks_pb2.Task(id=f"t{i}")))
        for i in range(20)
    ]
    stored = [await f for f in futures]
    assert [s.stream for s in stored] == ["TASKS"] * 20
    assert [s.seq for s in stored] == list(range(stored[0].seq, stored[0].seq + 20))
    assert (await bus.js.stream_info("TASKS")).state.messages == 20


async def test_a_message_the_stream_refuses_fails_with_jetstreams_reason(bus: Bus) -> None:
    acks = PubAcks(bus.nc)
    await acks.start()
    try:
        future = await acks.send("tasks.coding.high", b"x", {"Nats-Expected-Stream": "NOT-TASKS"}, 5.0)
        with pytest.raises(Unavailable, match=r"publishing on tasks\.coding\.high failed: expected stream"):
            await future
    finally:
        await acks.stop()


async def test_a_subject_no_stream_captures_fails_at_once(bus: Bus) -> None:
    acks = PubAcks(bus.nc)
    await acks.start()
    try:
        future = await acks.send("nobody.listens.here", b"x", {}, 5.0)
        with pytest.raises(Unavailable, match="no stream answered"):
            await asyncio.wait_for(future, 2.0)
    finally:
        await acks.stop()


async def test_no_acknowledgement_in_time_fails_the_publish(bus: Bus) -> None:
    conn = bus.nc
    silent = await conn.subscribe("silent.subject")  # interest, so no 503, but nobody answers
    acks = PubAcks(conn)
    await acks.start()
    try:
        future = await acks.send("silent.subject", b"x", {}, 0.3)
        with pytest.raises(Unavailable, match="no acknowledgement in time"):
            await asyncio.wait_for(future, 3.0)
    finally:
        await acks.stop()
        await silent.unsubscribe()


async def test_a_malformed_traceparent_does_not_stop_the_consumer(bus: Bus) -> None:
    got: list[str] = []
    done = asyncio.Event()

    async def handler(msg: tasks_pb2.TaskSubmitted, d: Delivery) -> None:
        got.append(msg.task.id)
        done.set()

    spec = ConsumerSpec(durable="traced-high", stream="TASKS", filter_subjects=("tasks.*.high",))
    await bus.subscribe(spec, tasks_pb2.TaskSubmitted, handler)
    payload = tasks_pb2.TaskSubmitted(task=tasks_pb2.Task(id="t-bad-trace")).SerializeToString()
    await bus.publish_raw(subjects.task("coding", "high"), payload, {"traceparent": "00-zz-not-hex-01"})
    await asyncio.wait_for(done.wait(), 10)
    assert got == ["t-bad-trace"]


async def test_publishing_before_connecting_says_so(nats_url: str) -> None:
    b = Bus(nats_url, "not-connected")
    with pytest.raises(Unavailable, match="the bus is not connected to NATS"):
        await b.publish(subjects.task("coding", "high"), tasks_pb2.TaskSubmitted())


async def test_a_bus_that_only_connected_can_publish(nats_url: str, bus: Bus) -> None:
    b = Bus(nats_url, "connect-only")
    await b.connect()
    try:
        stored = await b.publish(subjects.task("coding", "high"), tasks_pb2.TaskSubmitted(task=tasks_pb2.Task(id="c1")))
        assert stored.stream == "TASKS"
    finally:
        await b.stop()
