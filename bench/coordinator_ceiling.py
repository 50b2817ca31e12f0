"""The raw JetStream ceiling the coordinator's throughput is held against.

N messages published (``IN_FLIGHT`` in flight, acknowledged, through the same ``PubAcks`` path
the services use) to a work-queue stream while one pull consumer fetches and acks them.
"""

from __future__ import annotations

import asyncio
import collections
import os
import time
from dataclasses import dataclass
from typing import Any

import nats
from coordinator_cpu import cpu_per_task, cpu_seconds
from nats.js import api as js_api

from vapora_core.bus.acks import PubAcks

IN_FLIGHT = 256


@dataclass
class Ceiling:
    rate: float  # messages/s, published and consumed
    cpu: dict[str, float]  # CPU seconds per message, by process (this one and nats-server)


async def bench_ceiling(url: str, nats_pid: int, n: int) -> Ceiling:
    """Publish ``n`` messages (acknowledged, IN_FLIGHT at once, through the same ``PubAcks`` path
    the services publish with) while one pull consumer fetches and acks them: messages/s, and
    what each message cost this process and nats-server in CPU."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.add_stream(
        js_api.StreamConfig(
            name="BENCH",
            subjects=["bench.>"],
            retention=js_api.RetentionPolicy.WORK_QUEUE,
            storage=js_api.StorageType.FILE,
        )
    )
    psub = await js.pull_subscribe("bench.>", durable="bench", stream="BENCH")
    acks = PubAcks(nc)
    await acks.start()
    payload = b"x" * 200
    consumed = 0

    async def consume() -> None:
        nonlocal consumed
        while consumed < n:
            try:
                msgs = await psub.fetch(batch=256, timeout=1.0)
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            for m in msgs:
                await m.ack()
            consumed += len(msgs)

    async def publish() -> None:
        window: collections.deque[asyncio.Future[Any]] = collections.deque()
        for i in range(n):
            if len(window) >= IN_FLIGHT:
                await window.popleft()
            window.append(await acks.send(f"bench.{i % 16}", payload, {"Nats-Msg-Id": f"m{i}"}, 5.0))
        for f in window:
            await f

    pids = {"harness": os.getpid(), "nats-server": nats_pid}
    cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
    started = time.perf_counter()
    await asyncio.gather(publish(), consume())
    elapsed = time.perf_counter() - started
    cpu = cpu_per_task(pids, cpu0, n)
    await acks.stop()
    await js.delete_stream("BENCH")
    await nc.close()
    return Ceiling(n / elapsed, cpu)
