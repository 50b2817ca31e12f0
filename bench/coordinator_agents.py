"""The job watcher and the simulated agents of the end-to-end phases (one loop in this process)."""

from __future__ import annotations

import asyncio
import collections
import time

import nats
from nats.aio.msg import Msg

from vapora.coordinator.v1 import coordinator_pb2
from vapora_core.aio import cancel_and_wait
from vapora_core.bus import Bus
from vapora_testing.executions import execution_of, send_execution


class JobWatch:
    """Sees every JobAssigned as JetStream stores it (a core subscription on jobs.>), and plays
    the agents: each job is finished ``exec_s`` later with an ExecutionRecorded (``exec_s`` None:
    the agents hold their jobs).

    The agents are one loop, not a task per job: jobs wait in arrival order (every job takes
    ``exec_s``, so that is also the order they are due), and each turn sends every execution
    that is due, then awaits their acknowledgements together. The harness shares the machine
    with the coordinator, so it costs it as little CPU as it can."""

    def __init__(self, bus: Bus, exec_s: float | None) -> None:
        self.bus = bus
        self.exec_s = exec_s
        self.seen: dict[str, float] = {}
        self.all_seen = asyncio.Event()
        self.expect = 0
        self.due: collections.deque[tuple[float, coordinator_pb2.JobAssigned]] = collections.deque()
        self.job_arrived = asyncio.Event()
        self.idle = asyncio.Event()  # every job seen so far has its execution published and stored
        self.idle.set()
        self._agents: asyncio.Task[None] | None = None

    async def start(self, url: str) -> None:
        self.nc = await nats.connect(url)

        async def on_msg(msg: Msg) -> None:
            now = time.perf_counter()
            job_id = (msg.headers or {}).get("Nats-Msg-Id", "")
            task_id = job_id[4:].rsplit("-", 1)[0]  # job-<task>-<attempt>
            self.seen.setdefault(task_id, now)
            if len(self.seen) >= self.expect:
                self.all_seen.set()
            if self.exec_s is not None:  # the agents finish their jobs: read what they were given
                self.due.append((now + self.exec_s, coordinator_pb2.JobAssigned.FromString(msg.data)))
                self.idle.clear()
                self.job_arrived.set()

        await self.nc.subscribe("jobs.>", cb=on_msg)
        self._agents = asyncio.create_task(self._play_agents())

    async def stop(self) -> None:
        await cancel_and_wait(self._agents)
        await self.nc.close()

    async def _play_agents(self) -> None:
        while True:
            if not self.due:
                self.idle.set()
                self.job_arrived.clear()
                await self.job_arrived.wait()
                continue
            wait = self.due[0][0] - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            now = time.perf_counter()
            stored = []
            while self.due and self.due[0][0] <= now:
                _, job = self.due.popleft()
                e = execution_of(job, success=True, quality=0.9, latency_ms=int((self.exec_s or 0) * 1000), result="ok")
                stored.append(await send_execution(self.bus, e))
            await asyncio.gather(*stored)

    async def drained(self) -> None:
        """Until every job seen so far has its execution stored; raises what stopped the agents."""
        idle = asyncio.ensure_future(self.idle.wait())
        assert self._agents is not None, "start() first"
        await asyncio.wait({idle, self._agents}, return_when=asyncio.FIRST_COMPLETED)
        if self._agents.done():
            idle.cancel()
            self._agents.result()  # the exception that ended the agents' loop
            raise RuntimeError("the simulated agents stopped")

    def reset(self, expect: int) -> None:
        self.seen.clear()
        self.expect = expect
        self.all_seen.clear()
