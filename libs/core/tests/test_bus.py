"""The bus against a real nats-server with JetStream."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from vapora.common.v1 import common_pb2
from vapora.coordinator.v1 import coordinator_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import DLQ_CONSUMER, DLQ_KIND, DLQ_REASON, Bus, ConsumerSpec, Delivery, subjects
from vapora_core.errors import InvalidArgument, Unavailable
from vapora_core.metrics import DEAD_LETTERS
from vapora_testing.polling import eventually

# a durable consumer of high tasks as the coordinator declares one: unlimited redelivery
HIGH = ConsumerSpec(
    durable="coordinator-tasks-high",
    stream="TASKS",
    filter_subjects=("tasks.*.high",),
    max_deliver=-1,
    batch_size=64,
)


def _task(task_id: str) -> tasks_pb2.TaskSubmitted:
    return tasks_pb2.TaskSubmitted(
        task=tasks_pb2.Task(
            id=task_id, workspace_id="ws1", title="t", task_type="coding", priority=common_pb2.PRIORITY_HIGH
        )
    )


async def _collect_dlq(bus: Bus, count: int = 1) -> list[tuple[str, dict[str, str], bytes]]:
    """At least ``count`` dead letters (subject, headers, payload), each acked once read."""
    sub = await bus.js.pull_subscribe("dlq.>", durable="test-dlq", stream="DLQ")
    received: list[tuple[str, dict[str, str], bytes]] = []

    async def fetched() -> list[tuple[str, dict[str, str], bytes]]:
        try:
            msgs = await sub.fetch(10, timeout=0.2)
        except TimeoutError:
            msgs = []
        for m in msgs:
            received.append((m.subject, dict(m.headers or {}), m.data))
            await m.ack()
        return received

    return await eventually(
        fetched, timeout=10.0, interval=0, what=f"{count} dead letters", until=lambda got: len(got) >= count
    )


async def test_published_task_is_consumed_decoded_and_acked(bus: Bus) -> None:
    got: list[tuple[str, str]] = []
    done = asyncio.Event()

    async def handler(msg: tasks_pb2.TaskSubmitted, d: Delivery) -> None:
        got.append((d.subject, msg.task.id))
        done.set()

    await bus.subscribe(HIGH, tasks_pb2.TaskSubmitted, handler)
    await bus.publish(subjects.task("coding", "high"), _task("t-1"), msg_id="t-1")
    await asyncio.wait_for(done.wait(), 10)
    assert got == [("tasks.coding.high", "t-1")]


async def test_republishing_the_same_task_id_is_not_a_second_task(bus: Bus) -> None:
    first = await bus.publish(subjects.task("coding", "high"), _task("t-dup"), msg_id="t-dup")
    second = await bus.publish(subjects.task("coding", "high"), _task("t-dup"), msg_id="t-dup")
    assert not first.duplicate
    assert second.duplicate
    info = await bus.js.stream_info("TASKS")
    assert info.state.messages == 1


async def test_garbage_payload_is_dead_lettered_with_reason_and_consumer_keeps_going(bus: Bus) -> None:
    before = DEAD_LETTERS.labels("coordinator-tasks-high", "decode")._value.get()
    good = asyncio.Event()

    async def handler(msg: tasks_pb2.TaskSubmitted, d: Delivery) -> None:
        good.set()

    await bus.subscribe(HIGH, tasks_pb2.TaskSubmitted, handler)
    await bus.publish_raw("tasks.coding.high", b"\xff\xfe this is not protobuf")
    await bus.publish(subjects.task("coding", "high"), _task("t-good"), msg_id="t-good")
    await asyncio.wait_for(good.wait(), 10)

    dead = await _collect_dlq(bus)
    assert len(dead) == 1
    subject, headers, payload = dead[0]
    assert subject == "dlq.tasks.coding.high"
    assert payload == b"\xff\xfe this is not protobuf"
    assert "does not decode as vapora.tasks.v1.TaskSubmitted" in headers[DLQ_REASON]
    assert headers[DLQ_KIND] == "decode"
    assert headers[DLQ_CONSUMER] == "coordinator-tasks-high"
    assert DEAD_LETTERS.labels("coordinator-tasks-high", "decode")._value.get() == before + 1


async def test_wrong_schema_header_is_dead_lettered(bus: Bus) -> None:
    await bus.subscribe(HIGH, tasks_pb2.TaskSubmitted, _noop)
    payload = _task("x").SerializeToString()
    await bus.publish_raw("tasks.coding.high", payload, {"vapora-schema": "vapora.kg.v1.ExecutionRecorded"})
    dead = await _collect_dlq(bus)
    assert "schema header says 'vapora.kg.v1.ExecutionRecorded'" in dead[0][1][DLQ_REASON]


async def _noop(msg: tasks_pb2.TaskSubmitted, d: Delivery) -> None:
    return None


async def test_non_retryable_handler_error_dead_letters_at_once(bus: Bus) -> None:
    calls = 0

    async def handler(msg: tasks_pb2.TaskSubmitted, d: Delivery) -> None:
        nonlocal calls
        calls += 1
        raise InvalidArgument("task.title is empty")

    await bus.subscribe(HIGH, tasks_pb2.TaskSubmitted, handler)
    await bus.publish(subjects.task("coding", "high"), _task("t-bad"), msg_id="t-bad")
    dead = await _collect_dlq(bus)
    assert dead[0][1][DLQ_REASON] == "task.title is empty"
    assert dead[0][1][DLQ_KIND] == "invalid_argument"
    assert calls == 1


async def test_retryable_error_is_redelivered_then_dead_lettered_after_max_deliver(bus: Bus) -> None:
    spec = ConsumerSpec(durable="flaky", stream="TASKS", filter_subjects=("tasks.>",), max_deliver=3, ack_wait_s=5)
    deliveries: list[int] = []

    async def handler(msg: tasks_pb2.TaskSubmitted, d: Delivery) -> None:
        deliveries.append(d.num_delivered)
        raise Unavailable("llm-router is down")

    await bus.subscribe(spec, tasks_pb2.TaskSubmitted, handler)
    await bus.publish(subjects.task("coding", "high"), _task("t-flaky"), msg_id="t-flaky")
    dead = await _collect_dlq(bus)
    assert deliveries == [1, 2, 3]
    assert dead[0][1][DLQ_KIND] == "max_deliver"
    assert "gave up after 3 deliveries: llm-router is down" in dead[0][1][DLQ_REASON]


async def test_subject_tokens_cannot_inject_wildcards() -> None:
    assert subjects.task("coding.>", "high") == "tasks.coding__.high"
    assert subjects.job("a b*c") == "jobs.a_b_c"


async def test_a_task_on_an_unknown_priority_is_refused_at_publish(bus: Bus) -> None:
    with pytest.raises(InvalidArgument, match=r"no stream captures subject 'tasks\.coding\.urgent'"):
        await bus.publish("tasks.coding.urgent", _task("t-urgent"), msg_id="t-urgent")


async def test_unreachable_nats_fails_start_with_a_clear_error() -> None:
    from vapora_testing.ports import free_port

    b = Bus(f"nats://127.0.0.1:{free_port()}", "test")
    with pytest.raises(Unavailable, match=r"cannot reach NATS at nats://127\.0\.0\.1:"):
        await b.start(connect_timeout=1.0)


async def test_trace_context_propagates_through_the_bus_even_with_tracing_off(bus: Bus) -> None:
    from opentelemetry import context as otel_context
    from opentelemetry import trace
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context

    parent = SpanContext(trace_id=0x1234, span_id=0x99, is_remote=True, trace_flags=TraceFlags(1))
    seen: list[str] = []
    got = asyncio.Event()

    async def handler(msg: tasks_pb2.TaskSubmitted, d: Delivery) -> None:
        seen.append(d.headers.get("traceparent", ""))
        seen.append(format(trace.get_current_span().get_span_context().trace_id, "032x"))
        got.set()

    await bus.subscribe(HIGH, tasks_pb2.TaskSubmitted, handler)
    token = otel_context.attach(set_span_in_context(NonRecordingSpan(parent)))
    try:
        await bus.publish(subjects.task("coding", "high"), _task("t-trace"), msg_id="t-trace")
    finally:
        otel_context.detach(token)
    await asyncio.wait_for(got.wait(), 10)
    assert seen[0].startswith("00-00000000000000000000000000001234-")
    assert seen[1] == "00000000000000000000000000001234"


async def test_one_worker_handles_a_fetched_batch_one_at_a_time_in_stream_order(bus: Bus) -> None:
    import random

    order: list[str] = []
    running = 0
    overlapped = False
    done = asyncio.Event()

    async def handler(msg: tasks_pb2.TaskSubmitted, d: Delivery) -> None:
        nonlocal running, overlapped
        running += 1
        overlapped = overlapped or running > 1
        await asyncio.sleep(random.random() * 0.01)
        order.append(msg.task.id)
        running -= 1
        if len(order) == 20:
            done.set()

    ids = [f"t-{i:02d}" for i in range(20)]
    for task_id in ids:  # stored before the consumer starts, so one fetch returns a batch
        await bus.publish(subjects.task("coding", "high"), _task(task_id), msg_id=task_id)
    await bus.subscribe(HIGH, tasks_pb2.TaskSubmitted, handler, workers=1)
    await asyncio.wait_for(done.wait(), 15)
    assert not overlapped
    assert order == ids


async def test_a_broadcast_reaches_every_listener_and_bad_ones_are_dead_lettered(bus: Bus) -> None:
    heard: dict[str, list[str]] = {"one": [], "two": []}
    both = asyncio.Event()

    def listener(name: str) -> Any:
        async def on_stop(stop: coordinator_pb2.JobStopped) -> None:
            if stop.job_id == "boom":
                raise InvalidArgument("cannot stop boom")
            heard[name].append(stop.job_id)
            if all(heard.values()):
                both.set()

        return on_stop

    subs = [await bus.listen(subjects.STOPS, coordinator_pb2.JobStopped, listener(n)) for n in heard]
    await bus.broadcast(subjects.stop("a1"), coordinator_pb2.JobStopped(job_id="boom"))
    await bus.nc.publish(subjects.stop("a1"), b"\xff not protobuf")
    await bus.broadcast(subjects.stop("a1"), coordinator_pb2.JobStopped(job_id="job-1"))
    await asyncio.wait_for(both.wait(), 5)
    assert heard == {"one": ["job-1"], "two": ["job-1"]}  # each listener hears every broadcast once

    dead = await _collect_dlq(bus, 4)  # two listeners, each dead-letters the bad payload and the failing stop
    kinds = sorted(h[DLQ_KIND] for _, h, _ in dead)
    assert kinds == ["decode", "decode", "error", "error"]
    assert {s for s, _, _ in dead} == {"dlq.stops.a1"}
    for sub in subs:
        await sub.unsubscribe()


async def test_broadcast_without_a_connection_is_unavailable(nats_url: str) -> None:
    idle = Bus(nats_url, "test-idle")
    with pytest.raises(Unavailable, match=r"cannot broadcast on stops\.a1"):
        await idle.broadcast(subjects.stop("a1"), coordinator_pb2.JobStopped(job_id="j"))


async def test_a_batch_is_settled_message_by_message_by_each_outcome(bus: Bus) -> None:
    """process_batch: one message that does not decode is dead-lettered before the handler sees
    the rest; each of the others is settled by its own outcome (ack, hold, dead letter, retry);
    what each one publishes inside its ``traced()`` carries its own trace."""
    from opentelemetry import trace

    from vapora_core.bus import Hold

    spec = ConsumerSpec(durable="batched", stream="TASKS", filter_subjects=("tasks.>",), max_deliver=3, ack_wait_s=5)
    await bus.js.add_consumer("TASKS", durable_name="batched", ack_policy="explicit", max_deliver=3, ack_wait=5)
    names = ["t-ok", "t-hold", "t-invalid", "t-retry"]
    for i, name in enumerate(names):
        parent = f"00-{i + 1:032x}-{i + 1:016x}-01"
        await bus.publish_raw(subjects.task("coding", "high"), _task(name).SerializeToString(), {"traceparent": parent})
    await bus.publish_raw(subjects.task("coding", "high"), b"\xff not protobuf")
    psub = await bus.js.pull_subscribe_bind("batched", "TASKS")
    raws = await psub.fetch(5, timeout=5)
    assert len(raws) == 5

    traced: dict[str, str] = {}

    async def handler(batch: list[tuple[tasks_pb2.TaskSubmitted, Delivery]]) -> list[BaseException | None]:
        outcomes: list[BaseException | None] = []
        for msg, delivery in batch:
            with delivery.traced():
                traced[msg.task.id] = format(trace.get_current_span().get_span_context().trace_id, "032x")
            outcomes.append(
                {
                    "t-ok": None,
                    "t-hold": Hold(0.3, "no room yet"),
                    "t-invalid": InvalidArgument("task.title is empty"),
                    "t-retry": Unavailable("llm-router is down"),
                }[msg.task.id]
            )
        return outcomes

    await bus.process_batch(spec, tasks_pb2.TaskSubmitted, handler, raws)
    assert traced == {name: f"{i + 1:032x}" for i, name in enumerate(names)}
    dead = await _collect_dlq(bus, 2)
    kinds = sorted(headers[DLQ_KIND] for _, headers, _ in dead)
    assert kinds == ["decode", "invalid_argument"]
    again = []  # the held one (after its 0.3 s) and the retried one (after its backoff), nothing else
    while len(again) < 2:
        again += await psub.fetch(5, timeout=5)
    assert sorted(_task_id(m.data) for m in again) == ["t-hold", "t-retry"]
    assert all(m.metadata.num_delivered == 2 for m in again)
    for m in again:
        await m.ack()
    info = await eventually(  # acks are applied by the server shortly after they are written
        lambda: bus.js.consumer_info("TASKS", "batched"),
        timeout=2.5,
        what="no ack pending on batched",
        until=lambda info: info.num_ack_pending == 0,
    )
    assert (info.num_pending, info.num_ack_pending) == (0, 0)  # the handled one was acked too


async def test_a_batch_handler_that_raises_fails_every_message_it_did_not_settle(bus: Bus) -> None:
    spec = ConsumerSpec(durable="batched2", stream="TASKS", filter_subjects=("tasks.>",), max_deliver=3, ack_wait_s=5)
    await bus.js.add_consumer("TASKS", durable_name="batched2", ack_policy="explicit", max_deliver=3, ack_wait=5)
    for name in ("t-first", "t-second", "t-third"):
        await bus.publish(subjects.task("coding", "high"), _task(name), msg_id=name)
    psub = await bus.js.pull_subscribe_bind("batched2", "TASKS")
    raws = await psub.fetch(3, timeout=5)

    async def handler(batch: list[tuple[tasks_pb2.TaskSubmitted, Delivery]]) -> list[BaseException | None]:
        await batch[0][1].ack()  # settled by the handler before it failed: stays acked
        raise Unavailable("the store is down")

    await bus.process_batch(spec, tasks_pb2.TaskSubmitted, handler, raws)
    again = await psub.fetch(3, timeout=5)
    assert sorted(_task_id(m.data) for m in again) == ["t-second", "t-third"]

    async def miscounts(batch: list[tuple[tasks_pb2.TaskSubmitted, Delivery]]) -> list[BaseException | None]:
        return [None]  # one outcome for two messages: a bug, named in the dead letters

    await bus.process_batch(spec, tasks_pb2.TaskSubmitted, miscounts, again)
    dead = await _collect_dlq(bus, 2)
    assert len(dead) == 2
    assert all("gave 1 outcomes for 2 messages" in headers[DLQ_REASON] for _, headers, _ in dead)


def _task_id(data: bytes) -> str:
    return tasks_pb2.TaskSubmitted.FromString(data).task.id
