"""Two swarm-coordinator processes on one store: one active, one standby, decided by the lease.

Real nats-server, the real agent-registry, both coordinators as processes (``python -m``) on the
same embedded store, agents simulated by test code (``coordinator_testkit.SimAgent``).

- The active one SIGKILLed in the middle of 500 tasks: the standby holds the lease within the
  stated bound (``lease.takeover_bound_s``) and becomes active; every task is assigned once (one job
  per task, attempt 1, one job message per task in JOBS) and done.
- A split: the active one SIGSTOPped past the lease TTL. The standby takes the lease, then waits for
  the embedded store's lock, which the paused one still holds. Tasks submitted meanwhile wait. On
  SIGCONT the paused one stands down without assigning anything (its assignment counter does not
  move, its lease gauge drops to 0, its ``/readyz`` waits for the lease), closes the store, and the
  other one assigns every waiting task, once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from coordinator_testkit import EventLog, SimAgent, registry_process, submit, task  # type: ignore[import-not-found]
from prometheus_client.parser import text_string_to_metric_families
from test_restart import AGENTS, register  # type: ignore[import-not-found]

from vapora.common.v1 import common_pb2
from vapora_core.bus import Bus
from vapora_core.grpc import check_health
from vapora_swarm_coordinator.grpc_server import SERVICE_NAME
from vapora_swarm_coordinator.lease import takeover_bound_s
from vapora_testing.polling import eventually
from vapora_testing.ports import free_port
from vapora_testing.process import ServiceProcess, service_env

TTL_S = 3.0
TASKS = 500
KILL_AFTER_DONE = 150
LEASE_WAIT = "the coordinator lease"


def readyz(port: int) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as resp:
            return int(resp.status), json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), json.loads(exc.read())


def metric(port: int, name: str) -> float:
    """The sum of ``name``'s samples (every label) on the process's /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as resp:
        text = resp.read().decode()
    return sum(s.value for family in text_string_to_metric_families(text) for s in family.samples if s.name == name)


async def poll(check: Callable[[], bool], *, timeout: float, what: str) -> None:
    async def once() -> bool:
        return await asyncio.to_thread(check)

    await eventually(once, timeout=timeout, interval=0.05, what=what)


def coordinators(nats_url: str, tmp_path: Path, registry_addr: str) -> tuple[ServiceProcess, ServiceProcess]:
    env = service_env(
        nats_url,
        tmp_path / "coordinator",  # one data dir: both open the same embedded store
        VAPORA_REGISTRY_ADDR=registry_addr,
        VAPORA_KG_ADDR="",
        VAPORA_ACK_WAIT_S="2",  # what the killed process held comes back after 2 s, not 30
        VAPORA_LEASE_TTL_S=str(TTL_S),
        VAPORA_SHUTDOWN_GRACE_S="2",
    )
    second_env = {**env, "VAPORA_GRPC_PORT": str(free_port()), "VAPORA_METRICS_PORT": str(free_port())}
    return (
        ServiceProcess("vapora_swarm_coordinator", env, tmp_path, tmp_path / "coordinator-1.log"),
        ServiceProcess("vapora_swarm_coordinator", second_env, tmp_path, tmp_path / "coordinator-2.log"),
    )


async def start_standby(standby: ServiceProcess) -> None:
    """Start ``standby`` and wait until it has started as one: 503, waiting for the lease, NOT_SERVING."""
    standby.spawn()

    def waiting() -> bool:
        try:
            status, body = readyz(standby.metrics_port)
        except OSError:
            return False
        return status == 503 and LEASE_WAIT in body.get("waiting_for", [])

    await poll(waiting, timeout=20, what="the standby's /readyz to wait for the lease")

    async def alive() -> bool:  # the process is alive: what a liveness probe asks
        return await check_health(standby.addr)

    await eventually(alive, timeout=20, interval=0.05, what="the standby's gRPC health")
    assert not await check_health(standby.addr, SERVICE_NAME)
    assert waiting()
    assert metric(standby.metrics_port, "vapora_coordinator_lease_held") == 0


async def start_agents(bus: Bus, registry_addr: str, *, max_concurrency: int, delay_s: float = 0.0) -> list[SimAgent]:
    """The agents registered with the real registry, and simulated by this process."""
    await register(registry_addr)
    agents = [SimAgent(a, bus, delay_s=delay_s) for a in AGENTS]
    for agent in agents:
        await agent.start(max_concurrency=max_concurrency)
    return agents


@contextlib.asynccontextmanager
async def active_and_standby(
    bus: Bus, nats_url: str, tmp_path: Path, *, max_concurrency: int, delay_s: float = 0.0
) -> AsyncIterator[tuple[list[SimAgent], ServiceProcess, ServiceProcess]]:
    """The real registry, its agents simulated here, and two coordinators on one store: the first
    started (it takes the lease), the second started as its standby. On exit every process is
    killed (one left paused is continued first), whatever the test did to it."""
    registry = await registry_process(nats_url, tmp_path)
    active, standby = coordinators(nats_url, tmp_path, registry.addr)
    try:
        agents = await start_agents(bus, registry.addr, max_concurrency=max_concurrency, delay_s=delay_s)
        await active.start()
        await start_standby(standby)
        yield agents, active, standby
    finally:
        for p in (active, standby):
            if p.proc is not None and p.proc.poll() is None:
                p.proc.send_signal(signal.SIGCONT)
            p.kill()
        registry.kill()


def done_ids(events: EventLog) -> set[str]:
    return {e.task_id for e in events.events if e.state == common_pb2.TASK_STATE_DONE}


async def assert_each_assigned_once_and_done(bus: Bus, events: EventLog, agents: list[SimAgent], ids: set[str]) -> None:
    await events.wait_for(lambda: done_ids(events) == ids, timeout=40, what="every task done")
    received = Counter(j.task.id for a in agents for j in a.jobs)
    assert set(received) == ids
    assert [tid for tid, n in received.items() if n != 1] == []
    assert {j.job_id for a in agents for j in a.jobs} == {f"job-{tid}-1" for tid in ids}
    assert (await bus.js.stream_info("JOBS")).state.last_seq == len(ids)
    assert not [e for e in events.events if e.state == common_pb2.TASK_STATE_FAILED]


async def test_the_active_coordinator_sigkilled_mid_run_the_standby_takes_over_in_time_and_each_task_runs_once(
    bus: Bus, events: EventLog, nats_url: str, tmp_path: Path
) -> None:
    async with active_and_standby(bus, nats_url, tmp_path, max_concurrency=16, delay_s=0.1) as fleet:
        agents, active, standby = fleet
        tasks = [task("coding") for _ in range(TASKS)]
        for t in tasks:
            await submit(bus, t)
        await events.wait_for(lambda: len(done_ids(events)) >= KILL_AFTER_DONE, timeout=30)
        active.kill()
        killed = time.monotonic()
        assert len(done_ids(events)) < TASKS - 50, "the kill must land in the middle of the run"
        await poll(
            lambda: metric(standby.metrics_port, "vapora_coordinator_lease_held") == 1,
            timeout=takeover_bound_s(TTL_S) + 10,
            what="the standby to hold the lease",
        )
        took = time.monotonic() - killed
        # the lease: a look every TTL/6 (and a scrape every 0.05 s) on a loaded machine
        assert took <= takeover_bound_s(TTL_S) + 1.0, f"took over {took:.2f} s after the kill"
        await poll(lambda: readyz(standby.metrics_port)[0] == 200, timeout=20, what="the standby to be active")
        assert await check_health(standby.addr, SERVICE_NAME)
        await assert_each_assigned_once_and_done(bus, events, agents, {t.id for t in tasks})
        assert metric(standby.metrics_port, "vapora_coordinator_activations_total") == 1
        assert standby.terminate() == 0, standby.tail()


async def test_a_paused_active_coordinator_stands_down_on_sigcont_without_assigning(
    bus: Bus, events: EventLog, nats_url: str, tmp_path: Path
) -> None:
    async with active_and_standby(bus, nats_url, tmp_path, max_concurrency=8) as (agents, first, second):
        before = [task("coding") for _ in range(50)]
        for t in before:
            await submit(bus, t)
        await events.wait_for(lambda: done_ids(events) == {t.id for t in before}, timeout=20)
        assigned_by_first = metric(first.metrics_port, "vapora_coordinator_assignments_total")
        assert assigned_by_first == len(before)

        assert first.proc is not None
        first.proc.send_signal(signal.SIGSTOP)
        try:
            # the standby takes the lease, then waits for the store the paused one holds open
            await poll(
                lambda: metric(second.metrics_port, "vapora_coordinator_lease_held") == 1,
                timeout=takeover_bound_s(TTL_S) + 10,
                what="the standby to take the lease",
            )
            await poll(
                lambda: "the embedded store's lock" in readyz(second.metrics_port)[1].get("waiting_for", []),
                timeout=5,
                what="the new holder to wait for the store's lock",
            )
            during = [task("coding") for _ in range(50)]
            for t in during:
                await submit(bus, t)
            await asyncio.sleep(TTL_S / 2)  # past the paused one's deadline by far
        finally:
            first.proc.send_signal(signal.SIGCONT)

        # the paused one finds its lease gone: it stands down, assigning nothing, and becomes a standby
        await poll(
            lambda: metric(first.metrics_port, "vapora_coordinator_lease_held") == 0,
            timeout=10,
            what="the paused one to give the lease up",
        )
        await poll(
            lambda: LEASE_WAIT in readyz(first.metrics_port)[1].get("waiting_for", []),
            timeout=10,
            what="the paused one's /readyz to wait for the lease",
        )
        await poll(lambda: readyz(second.metrics_port)[0] == 200, timeout=20, what="the new holder to be active")
        ids = {t.id for t in (*before, *during)}
        await assert_each_assigned_once_and_done(bus, events, agents, ids)
        assert metric(first.metrics_port, "vapora_coordinator_assignments_total") == assigned_by_first
        assert metric(second.metrics_port, "vapora_coordinator_assignments_total") == len(during)
        assert not await check_health(first.addr, SERVICE_NAME)
        assert "lost the coordinator lease" in first.log.read_text()
        for p in (second, first):
            assert p.terminate() == 0, p.tail()
