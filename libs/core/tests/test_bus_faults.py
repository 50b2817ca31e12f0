"""The bus through NATS faults, on real nats-servers: a 3-node cluster losing a node, a single
node SIGKILLed and restarted on its store, a cluster without quorum at start."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from prometheus_client import REGISTRY

from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import STREAMS, Bus, ConsumerSpec, Delivery, subjects
from vapora_core.bus.resend import worth_sending_again
from vapora_core.errors import PublishFailed
from vapora_testing.cluster import NatsCluster
from vapora_testing.nats import NatsServer
from vapora_testing.polling import eventually


def _resent(outcome: str) -> float:
    return REGISTRY.get_sample_value("vapora_bus_resent_total", {"outcome": outcome}) or 0.0


def _event(i: int) -> tasks_pb2.TaskStatusChanged:
    return tasks_pb2.TaskStatusChanged(task_id=f"t{i}", workspace_id="ws")


def test_only_a_publish_that_cannot_be_stored_twice_is_sent_again() -> None:
    with_id, without = {"Nats-Msg-Id": "m1"}, {}
    no_stream = PublishFailed("s", "no stream answered", status=503, maybe_stored=False)
    late = PublishFailed("s", "no acknowledgement in time", status=408, maybe_stored=True)
    refused = PublishFailed("s", "expected stream does not match", status=400, maybe_stored=False)
    assert worth_sending_again(no_stream, without) and worth_sending_again(no_stream, with_id)
    assert worth_sending_again(late, with_id)
    assert not worth_sending_again(late, without)  # it may be stored: a copy would be a second message
    assert not worth_sending_again(refused, with_id)  # JetStream refused what it is
    assert not worth_sending_again(ValueError("x"), with_id)


async def test_publishes_through_a_stream_leader_election_are_each_stored_once(nats_cluster: NatsCluster) -> None:
    bus = Bus(nats_cluster.url, "faults", replicas=3, graceful_timeout=1.0)
    await bus.start()
    try:
        before = _resent("stored")
        for i in range(300):
            if i == 100:
                nats_cluster.kill(nats_cluster.stream_leader("EVENTS"))
            await bus.publish(subjects.task_event("ws"), _event(i), msg_id=f"m{i}")  # none may raise
        info = await bus.js.stream_info("EVENTS")
        assert info.state.messages == 300  # each once: a copy sent again was dropped by its msg id
        assert _resent("stored") > before  # the election did fail publishes, and they were sent again
    finally:
        await bus.stop()


async def test_a_consumer_keeps_consuming_after_the_node_leading_it_dies(nats_cluster: NatsCluster) -> None:
    bus = Bus(nats_cluster.url, "faults", replicas=3, graceful_timeout=1.0)
    await bus.start()
    handled: set[str] = set()

    async def handler(msg: tasks_pb2.TaskStatusChanged, _: Delivery) -> None:
        handled.add(msg.task_id)

    spec = ConsumerSpec(durable="faults-events", stream="EVENTS", filter_subjects=("events.>",), ack_wait_s=2.0)
    try:
        await bus.subscribe(spec, tasks_pb2.TaskStatusChanged, handler, workers=4)
        for i in range(100):
            await bus.publish(subjects.task_event("ws"), _event(i), msg_id=f"m{i}")
        await eventually(lambda: len(handled) == 100, timeout=30, what="the first 100 messages")
        nats_cluster.kill(nats_cluster.consumer_leader("EVENTS", "faults-events"))
        for i in range(100, 200):
            await bus.publish(subjects.task_event("ws"), _event(i), msg_id=f"m{i}")
        await eventually(
            lambda: len(handled) == 200, timeout=60, what="the 100 published after the consumer's leader died"
        )
        assert handled == {f"t{i}" for i in range(200)}
    finally:
        await bus.stop()


async def test_publishes_while_the_only_node_is_down_are_stored_once_when_it_is_back(tmp_path: Path) -> None:
    server = NatsServer(tmp_path / "js", log_file=tmp_path / "nats.log").start()
    bus = Bus(server.url, "faults", graceful_timeout=1.0)
    await bus.start()
    try:
        before = _resent("stored")
        server.kill()
        sent = [await bus.send(subjects.task_event("ws"), _event(i), msg_id=f"m{i}") for i in range(50)]
        await asyncio.sleep(6.0)  # longer than a publish waits for its acknowledgement (5 s)
        server.start()  # the same port and store
        stored = await asyncio.gather(*sent)  # none failed
        assert {s.stream for s in stored} == {"EVENTS"}
        info = await bus.js.stream_info("EVENTS")
        assert info.state.messages == 50  # the first copies (flushed on reconnect) and the ones sent again: once each
        assert _resent("stored") >= 50 + before
    finally:
        await bus.stop()
        server.stop()


async def test_after_a_reconnect_a_consumer_asks_again_for_what_its_lost_requests_held(tmp_path: Path) -> None:
    server = NatsServer(tmp_path / "js", log_file=tmp_path / "nats.log").start()
    bus = Bus(server.url, "faults", graceful_timeout=1.0)
    await bus.start()
    handled: list[str] = []

    async def handler(msg: tasks_pb2.TaskStatusChanged, _: Delivery) -> None:
        handled.append(msg.task_id)

    spec = ConsumerSpec(durable="faults-reconnect", stream="EVENTS", filter_subjects=("events.>",))
    try:
        consumer = await bus.subscribe(spec, tasks_pb2.TaskStatusChanged, handler)
        # The requests the dead server held, as the puller sees them: open, never to end, and too
        # young for its watch to forget (asked "later"), so only the reconnect can free the supply.
        puller = consumer._lanes[0].puller
        assert puller is not None
        puller._open["lost-with-the-server"] = (10**6, asyncio.get_running_loop().time() + 10**6)
        puller.requested += 10**6
        server.kill()
        server.start()
        await eventually(lambda: bus.nc.is_connected, timeout=30, what="the reconnect")
        await bus.publish(subjects.task_event("ws"), _event(1), msg_id="after")
        await eventually(lambda: handled == ["t1"], timeout=30, what="the message published after the reconnect")
    finally:
        await bus.stop()
        server.stop()


async def test_a_service_starting_while_the_cluster_has_no_quorum_declares_its_streams_once_it_has(
    nats_cluster: NatsCluster,
) -> None:
    nats_cluster.kill(1)
    nats_cluster.kill(2)
    bus = Bus(nats_cluster.url, "late", replicas=3, graceful_timeout=1.0)
    starting = asyncio.create_task(bus.start())
    try:
        await asyncio.sleep(6.0)  # past JetStream's 5 s answer time: the declarations are being asked again
        assert not starting.done(), "declared streams without a JetStream quorum"
        # Both nodes back: with one still dead, each R3 stream whose preferred leader it is would
        # first wait out a Raft election (4-9 s) and the test would take a minute for nothing more.
        await asyncio.gather(*(asyncio.to_thread(nats_cluster.restart, i, 60) for i in (1, 2)))
        await asyncio.wait_for(starting, 90)
        info = await bus.js.stream_info("TASKS")
        assert info.config.num_replicas == 3
    finally:
        if not starting.done():
            starting.cancel()
        await bus.stop()


async def test_declaring_the_streams_again_asks_for_no_update_unless_a_stream_differs(bus: Bus) -> None:
    asked: list[str] = []

    async def on_request(msg: object) -> None:
        asked.append(str(getattr(msg, "subject", "")))

    sub = await bus.nc.subscribe("$JS.API.STREAM.>", cb=on_request)
    try:
        await bus.nc.flush()
        await bus.declare_streams()  # as every process does at start
        await bus.nc.flush()
        await eventually(lambda: len(asked) >= 11, timeout=5, what="the info requests")
        assert not [s for s in asked if ".UPDATE." in s or ".CREATE." in s]
        changed = tuple(replace(spec, description="changed") if spec.name == "KG" else spec for spec in STREAMS)
        await bus.declare_streams(changed)
        await eventually(
            lambda: "$JS.API.STREAM.UPDATE.KG" in asked, timeout=5, what="the update of the changed stream"
        )
        assert [s for s in asked if ".UPDATE." in s] == ["$JS.API.STREAM.UPDATE.KG"]
        assert (await bus.js.stream_info("KG")).config.description == "changed"
    finally:
        await sub.unsubscribe()
