"""The bus's publish and consume paths against nats-py's own, on a real nats-server.

    uv run --group bench python bench/bench_bus.py [--msgs 20000] [--rate 2000] [--runs 3]

It shows what going beyond the library buys (``vapora_core.bus.acks``, ``vapora_core.bus.puller``
and ``vapora_core.bus.consumer`` name this bench): messages/s, and the CPU each message costs this
process and nats-server, for the same messages (a protobuf ``TaskSubmitted``) on the ``TASKS``
stream, with the headers every service sends (message id, expected stream).

1. Publish, acknowledged by the stream, 256 in flight:
   - nats-py ``js.publish``: 256 concurrent publishers, each awaiting its acknowledgement (a
     request per message: an inbox, a future, a timer, a ``PubAck`` built from JSON);
   - ``PubAcks.send``: one reply subscription, a future per message, one sweep for time-outs;
   - ``Bus.send``: the same, plus what a service adds (protobuf encoding, schema and trace headers).
2. Consume, every message settled by ``Bus.process`` with a handler that does nothing (decode,
   consumer span, ack, metrics: the same for every variant, so what differs is how the messages
   arrive and who runs the handler):
   - nats-py ``pull_subscribe`` + ``fetch(256)``, the fetched messages handled one after another;
   - the same, a task per fetched message (handled concurrently);
   - ``Bus.subscribe`` (the one consumer: pull requests made ahead, a pool of workers), with one
     worker and with 256;
   in three situations: a backlog stored first; messages consumed while they are published (256
   in flight); and a steady offered load (``--rate``), where it prints the CPU per message and
   the time from the stream storing a message to its handler (p50, p99).

The best of ``--runs`` runs for rates. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from coordinator_cpu import cpu_seconds
from figures import Figures
from nats.aio.msg import Msg

from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import Bus, ConsumerSpec, Delivery, encode, subjects
from vapora_core.bus.acks import PubAcks
from vapora_core.bus.declare import declare_consumer
from vapora_core.bus.headers import EXPECTED_STREAM, MSG_ID
from vapora_core.lifecycle import tune_gc
from vapora_core.settings import ServiceSettings
from vapora_testing.nats import NatsServer

IN_FLIGHT = 256
SUBJECT = subjects.task("coding", "normal")
SPEC = ConsumerSpec(durable="bench-bus", stream="TASKS", filter_subjects=("tasks.*.normal",), max_ack_pending=10_000)
MESSAGE = tasks_pb2.TaskSubmitted(
    task=tasks_pb2.Task(id="t" * 32, workspace_id="ws-bench", title="Implement the thing " * 4, task_type="coding")
)
PAYLOAD, SCHEMA_HEADERS = encode(MESSAGE)


@dataclass
class Run:
    rate: float  # messages/s
    cpu: dict[str, float]  # CPU seconds per message, by process
    latencies: list[float] | None = None  # seconds, stored → handler, sorted


class Meter:
    """CPU of this process and nats-server between start() and done(n)."""

    def __init__(self, nats_pid: int) -> None:
        self.pids = {"harness": os.getpid(), "nats-server": nats_pid}

    def start(self) -> None:
        self.cpu0 = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        self.t0 = time.perf_counter()

    def done(self, n: int, latencies: list[float] | None = None) -> Run:
        elapsed = time.perf_counter() - self.t0
        cpu = {}
        for name, pid in self.pids.items():
            after, before = cpu_seconds(pid), self.cpu0[name]
            if after is not None and before is not None:
                cpu[name] = (after - before) / n
        return Run(n / elapsed, cpu, sorted(latencies) if latencies is not None else None)


class Ids:
    """Message ids never used before in this run (the stream de-duplicates by id for an hour)."""

    def __init__(self) -> None:
        self.n = 0

    def next(self) -> str:
        self.n += 1
        return f"m{self.n}"


def headers(msg_id: str) -> dict[str, str]:
    return {**SCHEMA_HEADERS, MSG_ID: msg_id, EXPECTED_STREAM: "TASKS"}


# -- publishing ------------------------------------------------------------------------


async def publish_js(bus: Bus, ids: Ids, n: int) -> None:
    js = bus.js

    async def publisher(count: int) -> None:
        for _ in range(count):
            await js.publish(SUBJECT, PAYLOAD, headers=headers(ids.next()))

    share, extra = divmod(n, IN_FLIGHT)
    await asyncio.gather(*(publisher(share + (i < extra)) for i in range(IN_FLIGHT)))


async def publish_acks(bus: Bus, ids: Ids, n: int, pace: Callable[[int], Awaitable[None]] | None = None) -> None:
    acks = PubAcks(bus.nc)
    await acks.start()
    window: collections.deque[asyncio.Future[Any]] = collections.deque()
    for i in range(n):
        if pace is not None:
            await pace(i)
        if len(window) >= IN_FLIGHT:
            await window.popleft()
        window.append(await acks.send(SUBJECT, PAYLOAD, headers(ids.next()), 5.0))
    for future in window:
        await future
    await acks.stop()


async def publish_bus(bus: Bus, ids: Ids, n: int) -> None:
    window: collections.deque[asyncio.Future[Any]] = collections.deque()
    for _ in range(n):
        if len(window) >= IN_FLIGHT:
            await window.popleft()
        window.append(await bus.send(SUBJECT, MESSAGE, msg_id=ids.next()))
    for future in window:
        await future


# -- consuming -------------------------------------------------------------------------


class Count:
    """The handler every consumer runs: counts, and notes how long each message waited."""

    def __init__(self, n: int, *, timed: bool) -> None:
        self.n = n
        self.seen = 0
        self.all = asyncio.Event()
        self.latencies: list[float] | None = [] if timed else None

    async def __call__(self, msg: tasks_pb2.TaskSubmitted, delivery: Delivery) -> None:
        if self.latencies is not None:
            self.latencies.append(time.time() - delivery.published_at)
        self.seen += 1
        if self.seen >= self.n:
            self.all.set()


Consume = Callable[[Bus, Count], Awaitable[Callable[[], Awaitable[None]]]]


def fetching(concurrent: bool) -> Consume:
    """nats-py's pull consumer: fetch up to 256, handle them, fetch again; returns its stop."""

    async def consume(bus: Bus, count: Count) -> Callable[[], Awaitable[None]]:
        psub = await bus.js.pull_subscribe_bind(SPEC.durable, SPEC.stream)

        async def loop() -> None:
            while not count.all.is_set():
                try:
                    msgs: list[Msg] = await psub.fetch(batch=256, timeout=1.0)
                except TimeoutError:
                    continue
                if concurrent:
                    await asyncio.gather(*(bus.process(SPEC, tasks_pb2.TaskSubmitted, count, m) for m in msgs))
                else:
                    for m in msgs:
                        await bus.process(SPEC, tasks_pb2.TaskSubmitted, count, m)

        task = asyncio.create_task(loop())

        async def stop() -> None:
            await task
            await psub.unsubscribe()

        return stop

    return consume


def ours(workers: int) -> Consume:
    """``Bus.subscribe``: the one consumer, ``workers`` handlers at once."""

    async def consume(bus: Bus, count: Count) -> Callable[[], Awaitable[None]]:
        spec = replace(SPEC, batch_size=max(256, 2 * workers))
        consumer = await bus.subscribe(spec, tasks_pb2.TaskSubmitted, count, workers=workers)
        return lambda: bus.unsubscribe(consumer)

    return consume


CONSUMERS: dict[str, Consume] = {
    "nats-py fetch(256), one by one": fetching(concurrent=False),
    "nats-py fetch(256), a task each": fetching(concurrent=True),
    "Bus.subscribe, 1 worker": ours(1),
    "Bus.subscribe, 256 workers": ours(256),
}


async def consume_run(bus: Bus, meter: Meter, ids: Ids, consume: Consume, n: int, situation: str, rate: float) -> Run:
    """One consumer through one situation: ``backlog``, ``live`` or ``paced``; its durable is fresh."""
    await bus.js.purge_stream("TASKS")
    await declare_consumer(bus.js, SPEC)
    count = Count(n, timed=situation == "paced")
    if situation == "backlog":
        await publish_acks(bus, ids, n)
        meter.start()
        stop = await consume(bus, count)
    else:
        meter.start()
        stop = await consume(bus, count)
        await publish_acks(bus, ids, n, pace=paced(rate) if situation == "paced" else None)
    await count.all.wait()
    run = meter.done(n, count.latencies)
    await stop()
    await bus.js.delete_consumer(SPEC.stream, SPEC.durable)
    return run


TICK_S = 0.005  # the paced publisher sends what is due every 5 ms, as a service's traffic comes in bursts


def paced(rate: float) -> Callable[[int], Awaitable[None]]:
    """Before the i-th message: sleep while it is due more than a tick from now, at ``rate`` messages/s."""
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def pace(i: int) -> None:
        ahead = start + i / rate - loop.time()
        if ahead > TICK_S:
            await asyncio.sleep(ahead)

    return pace


# -- report ----------------------------------------------------------------------------


FIGURES = Figures("bench_bus")


def line(name: str, runs: list[Run], situation: str) -> str:
    """The best run's line, its figures recorded under ``situation: name``."""
    best = max(runs, key=lambda r: r.rate)
    cpu = ", ".join(f"{proc} {seconds * 1e6:,.1f} µs" for proc, seconds in best.cpu.items())
    text = f"  {name:<34} {best.rate:>9,.0f} msg/s   CPU per message: {cpu}"
    FIGURES.add(f"{situation}: {name}", best.rate, "msg/s")
    for proc, seconds in best.cpu.items():
        FIGURES.add(f"{situation}: {name}, CPU per message of {proc}", seconds * 1e6, "µs")
    if best.latencies:
        lat = best.latencies
        p50, p99 = lat[len(lat) // 2] * 1000, lat[int(len(lat) * 0.99)] * 1000
        text += f"; stored → handler p50 {p50:.1f} ms, p99 {p99:.1f} ms"
        FIGURES.add(f"{situation}: {name}, stored → handler p50", p50, "ms")
        FIGURES.add(f"{situation}: {name}, stored → handler p99", p99, "ms")
    return text


async def amain(args: argparse.Namespace) -> None:
    tune_gc(ServiceSettings().gc_young_threshold)  # this process stands in for a service: tuned as one
    with tempfile.TemporaryDirectory() as tmp:
        server = NatsServer(Path(tmp) / "nats").start()
        bus = Bus(server.url, "bench-bus")
        try:
            await bus.start()
            meter, ids = Meter(server.proc.pid if server.proc else 0), Ids()
            publishers = {
                "nats-py js.publish": publish_js,
                "PubAcks.send": publish_acks,
                "Bus.send (protobuf, headers)": publish_bus,
            }
            print(f"publish, acknowledged ({args.msgs:,} msgs, {IN_FLIGHT} in flight):")
            for name, publish in publishers.items():
                runs = []
                for _ in range(args.runs):
                    await bus.js.purge_stream("TASKS")
                    meter.start()
                    await publish(bus, ids, args.msgs)
                    runs.append(meter.done(args.msgs))
                print(line(name, runs, "publish"))
            situations = {
                "backlog": f"consume a backlog ({args.msgs:,} msgs stored first, each settled by Bus.process):",
                "live": f"consume while publishing ({args.msgs:,} msgs, {IN_FLIGHT} in flight):",
                "paced": f"consume at {args.rate:,.0f} msg/s offered ({args.paced_s:.0f} s), CPU per message:",
            }
            for situation, title in situations.items():
                print(title)
                n = int(args.rate * args.paced_s) if situation == "paced" else args.msgs
                tries = 1 if situation == "paced" else args.runs
                for name, consume in CONSUMERS.items():
                    runs = [await consume_run(bus, meter, ids, consume, n, situation, args.rate) for _ in range(tries)]
                    print(line(name, runs, situation))
        finally:
            await bus.stop()
            server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description="the bus's publish and consume paths against nats-py's own")
    ap.add_argument("--msgs", type=int, default=20_000, help="Messages per publish or consume run.")
    ap.add_argument("--runs", type=int, default=3, help="Runs of each; the best is printed.")
    ap.add_argument("--rate", type=float, default=2_000.0, help="Offered load of the paced runs, msg/s.")
    ap.add_argument("--paced-s", type=float, default=3.0, help="Length of a paced run, seconds.")
    asyncio.run(amain(ap.parse_args()))


if __name__ == "__main__":
    main()
