"""The end-to-end phases against the coordinator process, in the order they run.

1. Warm-up (store, consumers, the profiles in the view), not measured: bursts of 200 until the
   coordinator's choice is made with the published learning data.
2. Latency at a paced offered load (``rate`` tasks/s for 3 s), jobs finished after ``exec_s``;
   the coordinator's store round trips during it are read from its own ``/metrics``.
3. Publish → JobAssigned: three bursts in which the agents hold their jobs, and the CPU per task
   they cost (the coordinator, its event loop's thread alone, nats-server, the harness).
4. The same burst with every job finished after ``exec_s``: the assignment rate under that
   mixed load, the rate at which every execution was settled, and the CPU per task.

TaskSubmitted is published as the gateway does (``IN_FLIGHT`` in flight, a burst's messages built
before the clock starts); the time until each JobAssigned is seen on ``jobs.>`` gives tasks/s.
"""

from __future__ import annotations

import asyncio
import collections
import os
import time
from dataclasses import dataclass
from typing import Any

from coordinator_agents import JobWatch
from coordinator_ceiling import IN_FLIGHT
from coordinator_cpu import cpu_per_task, cpu_seconds
from coordinator_fleet import TASK_TYPE
from coordinator_harness import learning_data_decided, store_trips

from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import Bus, subjects
from vapora_testing.process import ServiceProcess

Trips = dict[str, tuple[float, float, float]]  # store round trips, items, seconds, by kind


@dataclass
class E2E:
    throughput: float  # tasks/s, publish → JobAssigned, the best burst in which agents hold their jobs
    bursts: list[float]  # tasks/s of each such burst
    mixed: float  # tasks/s, publish → JobAssigned, of the burst whose jobs finish after exec_s
    settle_rate: float  # tasks/s until every execution of that burst was settled
    cpu: dict[str, float]  # CPU seconds per task of that burst (assign + finish), by process
    held_cpu: dict[str, float]  # CPU seconds per task of the bursts whose agents hold their jobs (assign only)
    latencies: list[float]  # seconds, sorted, of the paced phase
    achieved: int  # tasks/s offered in the paced phase
    trips: Trips  # store round trips, items, seconds in the paced phase, by kind


def task_msg(i: int, run: str) -> tasks_pb2.TaskSubmitted:
    return tasks_pb2.TaskSubmitted(
        task=tasks_pb2.Task(id=f"{run}{i:06d}", workspace_id="ws1", task_type=TASK_TYPE, title=f"task {i}")
    )


class Load:
    """Publishes tasks to the coordinator as the gateway does, noting when each was sent."""

    def __init__(self, pub: Bus, watch: JobWatch) -> None:
        self.pub = pub
        self.watch = watch
        self.subject = subjects.task(TASK_TYPE, "normal")
        self.sent: dict[str, float] = {}

    async def send(self, msg: tasks_pb2.TaskSubmitted) -> None:
        self.sent[msg.task.id] = time.perf_counter()
        await self.pub.publish(self.subject, msg, msg_id=msg.task.id)

    async def warm_up(self, coordinator: ServiceProcess) -> None:
        """Bursts of 200 until the coordinator decides with the published learning profiles."""
        for attempt in range(20):
            self.watch.reset(200)
            await asyncio.gather(*(self.send(task_msg(i, f"w{attempt}-")) for i in range(200)))
            await asyncio.wait_for(self.watch.all_seen.wait(), 60)
            if await learning_data_decided(coordinator.addr, f"w{attempt}-{199:06d}"):
                return
        raise RuntimeError("the coordinator never used the published learning profiles")

    async def paced(self, rate: float, metrics_port: int) -> tuple[list[float], int, Trips]:
        """3 s of tasks at ``rate``: the sorted latencies, the rate achieved, the store round trips."""
        watch = self.watch
        n_paced = int(rate * 3)
        watch.reset(n_paced)
        trips0 = await store_trips(metrics_port)
        pending: list[asyncio.Task[None]] = []
        t0 = time.perf_counter()
        for i in range(n_paced):
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            pending.append(asyncio.create_task(self.send(task_msg(i, "p"))))
        await asyncio.gather(*pending)
        achieved = n_paced / (time.perf_counter() - t0)
        await asyncio.wait_for(watch.all_seen.wait(), 60)
        latencies = sorted(watch.seen[t] - self.sent[t] for t in watch.seen if t.startswith("p"))
        trips1 = await store_trips(metrics_port)
        trips = {
            kind: (n1 - n0, items1 - items0, s1 - s0)
            for kind, (n0, items0, s0) in trips0.items()
            for n1, items1, s1 in [trips1[kind]]
        }
        return latencies, round(achieved), trips

    async def burst(self, messages: list[tasks_pb2.TaskSubmitted]) -> float:
        """Publish ``messages`` as fast as the gateway could (IN_FLIGHT at once), as the ceiling
        does: built before the clock starts, a window of acknowledgements (no task per message)
        keeping IN_FLIGHT of them unacknowledged; tasks/s until every job is seen."""
        self.watch.reset(len(messages))
        window: collections.deque[asyncio.Future[Any]] = collections.deque()
        started = time.perf_counter()
        for msg in messages:
            if len(window) >= IN_FLIGHT:
                await window.popleft()
            self.sent[msg.task.id] = time.perf_counter()
            window.append(await self.pub.send(self.subject, msg, msg_id=msg.task.id))
        for f in window:
            await f
        await asyncio.wait_for(self.watch.all_seen.wait(), 120)
        return len(messages) / (time.perf_counter() - started)


async def drive(
    pub: Bus, watch: JobWatch, coordinator: ServiceProcess, nats_pid: int, n_tasks: int, rate: float
) -> E2E:
    load = Load(pub, watch)
    exec_s = watch.exec_s

    await load.warm_up(coordinator)
    await asyncio.wait_for(settled(pub, watch), 120)

    latencies, achieved, trips = await load.paced(rate, coordinator.metrics_port)
    await asyncio.wait_for(settled(pub, watch), 120)

    pids = {
        "coordinator": coordinator.proc.pid if coordinator.proc else 0,
        "nats-server": nats_pid,
        "harness": os.getpid(),
    }

    # publish → JobAssigned: the agents hold their jobs, the coordinator only assigns
    watch.exec_s = None
    bursts = []
    held0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
    loop0 = cpu_seconds(pids["coordinator"], pids["coordinator"])
    for r in range(3):
        bursts.append(await load.burst([task_msg(i, f"h{r}-") for i in range(n_tasks)]))
        await asyncio.sleep(0.5)
    held_cpu = cpu_per_task(pids, held0, 3 * n_tasks)
    loop1 = cpu_seconds(pids["coordinator"], pids["coordinator"])
    if loop0 is not None and loop1 is not None:
        held_cpu["coordinator's event loop"] = (loop1 - loop0) / (3 * n_tasks)

    # the same with every job finished after exec_s: the coordinator also settles executions
    watch.exec_s = exec_s
    messages = [task_msg(i, "t") for i in range(n_tasks)]
    cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
    started = time.perf_counter()
    mixed = await load.burst(messages)
    await asyncio.wait_for(settled(pub, watch), 120)  # every execution of the burst finished
    settle_rate = n_tasks / (time.perf_counter() - started)
    cpu = cpu_per_task(pids, cpu0, n_tasks)  # assigning and finishing every task of the burst

    return E2E(max(bursts), bursts, mixed, settle_rate, cpu, held_cpu, latencies, achieved, trips)


async def settled(bus: Bus, watch: JobWatch) -> None:
    """Every simulated execution published and acked by the coordinator's executions consumer,
    which acks only after the finish is stored and DONE published."""
    await watch.drained()  # every job was seen: its execution is stored
    while True:
        info = await bus.js.consumer_info("EXECUTIONS", "coordinator-executions")
        if info.num_pending == 0 and info.num_ack_pending == 0:
            return
        await asyncio.sleep(0.02)
