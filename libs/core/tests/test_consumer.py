"""The one consumer (``vapora_core.bus.consumer``) against a real nats-server with JetStream."""

from __future__ import annotations

import asyncio

import pytest

from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import PRIORITIES, Bus, Consumer, ConsumerSpec, Delivery, subjects
from vapora_core.errors import Unavailable
from vapora_testing.polling import eventually


def lane(priority: str, *, buffer: int = 32, ack_wait_s: float = 30.0) -> ConsumerSpec:
    return ConsumerSpec(
        durable=f"lane-{priority}",
        stream="TASKS",
        filter_subjects=(f"tasks.*.{priority}",),
        ack_wait_s=ack_wait_s,
        max_deliver=-1,
        batch_size=buffer,
    )


async def publish(bus: Bus, priority: str, ids: list[str]) -> None:
    for task_id in ids:
        task = tasks_pb2.TaskSubmitted(task=tasks_pb2.Task(id=task_id))
        await bus.publish(subjects.task("coding", priority), task, msg_id=task_id)


async def delivered(bus: Bus, durable: str, n: int) -> None:
    """Wait until ``n`` messages of ``durable`` are delivered and not acked (buffered or in hand)."""
    await eventually(
        lambda: bus.js.consumer_info("TASKS", durable),
        timeout=4.0,
        interval=0.02,
        what=f"{durable}: {n} messages delivered",
        until=lambda info: info.num_ack_pending >= n,
    )


class Recorder:
    """A batch handler that records what it was given (task id, priority, delivery count) per call."""

    def __init__(self) -> None:
        self.calls: list[list[tuple[str, str, int]]] = []
        self.gate: asyncio.Event | None = None  # the first call waits for it, when set

    @property
    def ids(self) -> list[str]:
        return [task_id for call in self.calls for task_id, _, _ in call]

    async def __call__(self, batch: list[tuple[tasks_pb2.TaskSubmitted, Delivery]]) -> list[BaseException | None]:
        if self.gate is not None and not self.calls:
            await self.gate.wait()
        self.calls.append([(m.task.id, d.subject.rsplit(".", 1)[1], d.num_delivered) for m, d in batch])
        return [None] * len(batch)


async def test_a_backlog_is_taken_in_lane_order_across_pull_requests_and_a_restart(bus: Bus) -> None:
    """Buffers of 4 against 5 tasks a lane (more than one pull request each), one worker, stopped
    after 7 tasks and started again: every task handled once, critical before high before normal
    before low, though the backlog was published lowest first."""
    lanes = [lane(p, buffer=4) for p in PRIORITIES]
    backlog = {p: [f"{p}-{i}" for i in range(5)] for p in reversed(PRIORITIES)}
    for p, ids in backlog.items():
        await publish(bus, p, ids)
    first = Recorder()
    consumer = await bus.subscribe_batches(lanes, tasks_pb2.TaskSubmitted, first, workers=1, batch=1)
    await eventually(lambda: len(first.ids) >= 7, timeout=10.0, interval=0.02, what="the first 7 tasks")
    await bus.unsubscribe(consumer)  # hands back what it had buffered
    second = Recorder()
    await bus.subscribe_batches(lanes, tasks_pb2.TaskSubmitted, second, workers=1, batch=1)
    await eventually(lambda: len(first.ids) + len(second.ids) == 20, timeout=10.0, interval=0.02, what="every task")
    handled = [*first.ids, *second.ids]
    assert sorted(handled) == sorted(i for ids in backlog.values() for i in ids)  # each once
    assert [task_id.split("-")[0] for task_id in handled] == [p for p in PRIORITIES for _ in range(5)]


async def test_a_worker_takes_up_to_batch_messages_of_one_lane_at_a_time(bus: Bus) -> None:
    lanes = [lane("high", buffer=16), lane("low", buffer=16)]
    await publish(bus, "high", [f"high-{i}" for i in range(7)])
    await publish(bus, "low", [f"low-{i}" for i in range(4)])
    recorder = Recorder()
    recorder.gate = asyncio.Event()
    await bus.subscribe_batches(lanes, tasks_pb2.TaskSubmitted, recorder, workers=1, batch=3)
    await delivered(bus, "lane-high", 7)
    await delivered(bus, "lane-low", 4)
    recorder.gate.set()  # everything is buffered now: every later turn takes a full batch of one lane
    await eventually(lambda: len(recorder.ids) == 11, timeout=10.0, interval=0.02, what="every task")
    lanes_of_calls = [{p for _, p, _ in call} for call in recorder.calls]
    assert all(len(ps) == 1 for ps in lanes_of_calls)  # a batch never mixes lanes
    assert [next(iter(ps)) for ps in lanes_of_calls] == ["high"] * (len(lanes_of_calls) - 2) + ["low"] * 2
    sizes = [len(call) for call in recorder.calls]
    rest = 7 - sizes[0]
    assert sizes[1:] == [3] * (rest // 3) + ([rest % 3] if rest % 3 else []) + [3, 1]


async def test_workers_handle_as_many_messages_at_once_as_there_are_workers(bus: Bus) -> None:
    running = 0
    most = 0
    handled: list[str] = []
    release = asyncio.Event()

    async def handler(msg: tasks_pb2.TaskSubmitted, _: Delivery) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        if running == 4:
            release.set()
        await release.wait()
        handled.append(msg.task.id)
        running -= 1

    await publish(bus, "high", [f"t{i}" for i in range(12)])
    await bus.subscribe(lane("high"), tasks_pb2.TaskSubmitted, handler, workers=4)
    await eventually(lambda: len(handled) == 12, timeout=10.0, interval=0.02, what="every task")
    assert most == 4


async def test_on_stop_buffered_messages_are_handed_back_at_once_and_the_one_in_hand_finishes(bus: Bus) -> None:
    """Ack wait 30 s: what comes back within seconds was handed back (nak), not timed out."""
    in_hand = asyncio.Event()
    first: list[tuple[str, int]] = []

    async def slow(msg: tasks_pb2.TaskSubmitted, d: Delivery) -> None:
        in_hand.set()
        await asyncio.sleep(0.3)  # well within the bus's grace (2 s)
        first.append((msg.task.id, d.num_delivered))

    await publish(bus, "high", [f"t{i}" for i in range(5)])
    consumer = await bus.subscribe(lane("high"), tasks_pb2.TaskSubmitted, slow)
    await in_hand.wait()
    await delivered(bus, "lane-high", 5)  # one in hand, four buffered
    await bus.unsubscribe(consumer)
    assert first == [("t0", 1)]

    again: list[tuple[str, int]] = []

    async def quick(msg: tasks_pb2.TaskSubmitted, d: Delivery) -> None:
        again.append((msg.task.id, d.num_delivered))

    await bus.subscribe(lane("high"), tasks_pb2.TaskSubmitted, quick)
    await eventually(lambda: len(again) == 4, timeout=10.0, interval=0.02, what="the handed-back tasks")
    assert sorted(again) == [(f"t{i}", 2) for i in range(1, 5)]  # redelivered in any order
    await asyncio.sleep(0.3)
    assert len(again) == 4  # t0 was acked when its handler finished: not delivered again


async def test_a_handler_still_running_after_the_grace_is_cancelled_and_its_message_handed_back(
    nats_url: str, bus: Bus
) -> None:
    impatient = Bus(nats_url, "impatient", graceful_timeout=0.3)
    await impatient.start()

    async def stuck(msg: tasks_pb2.TaskSubmitted, _: Delivery) -> None:
        await asyncio.Event().wait()

    try:
        await publish(bus, "high", ["t-stuck"])
        await impatient.subscribe(lane("high"), tasks_pb2.TaskSubmitted, stuck)
        await delivered(bus, "lane-high", 1)
    finally:
        await impatient.stop()
    again: list[tuple[str, int]] = []

    async def quick(msg: tasks_pb2.TaskSubmitted, d: Delivery) -> None:
        again.append((msg.task.id, d.num_delivered))

    await bus.subscribe(lane("high"), tasks_pb2.TaskSubmitted, quick)
    await eventually(lambda: bool(again), timeout=10.0, interval=0.02, what="the cancelled task")  # ack wait is 30 s
    assert again == [("t-stuck", 2)]


async def test_held_messages_are_kept_alive_past_the_ack_wait_buffered_or_in_hand(bus: Bus) -> None:
    """Ack wait 1.5 s, a handler that takes 4 s, two more messages buffered behind it: none is
    delivered twice."""
    seen: list[tuple[str, int]] = []

    async def slow_first(msg: tasks_pb2.TaskSubmitted, d: Delivery) -> None:
        seen.append((msg.task.id, d.num_delivered))
        if msg.task.id == "t0":
            await asyncio.sleep(4.0)

    await publish(bus, "high", ["t0", "t1", "t2"])
    await bus.subscribe(lane("high", ack_wait_s=1.5), tasks_pb2.TaskSubmitted, slow_first)
    await eventually(lambda: len(seen) >= 3, timeout=15.0, interval=0.02, what="every task")
    await asyncio.sleep(2.0)  # past another ack wait: anything not kept alive would be back
    assert seen == [("t0", 1), ("t1", 1), ("t2", 1)]


async def test_a_worker_whose_messages_cannot_be_settled_takes_the_next_ones(
    bus: Bus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Settling fails (as when NATS goes away mid-batch): the only worker logs it and goes on."""
    real = Bus.process_batch
    failed: list[int] = []

    async def fails_once(self: Bus, *args: object) -> None:
        if not failed:
            failed.append(len(args[3]))  # type: ignore[arg-type]
            raise Unavailable("NATS went away while settling")
        await real(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(Bus, "process_batch", fails_once)
    recorder = Recorder()
    await bus.subscribe_batches([lane("high")], tasks_pb2.TaskSubmitted, recorder, workers=1, batch=8)
    await publish(bus, "high", ["t-lost"])
    await eventually(lambda: bool(failed), timeout=10.0, interval=0.02, what="the failed settle")
    await publish(bus, "high", ["t-later"])
    await eventually(lambda: bool(recorder.ids), timeout=10.0, interval=0.02, what="the next task")
    assert failed == [1]
    assert recorder.ids == ["t-later"]


def test_a_consumer_needs_a_lane_and_at_least_one_worker_and_one_message_a_turn() -> None:
    async def handle(spec: ConsumerSpec, msgs: list[object]) -> None:
        return None

    with pytest.raises(ValueError, match="at least one lane"):
        Consumer((), handle)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="workers and batch must be at least 1, got 0 and 1"):
        Consumer((lane("high"),), handle, workers=0)  # type: ignore[arg-type]
