"""The coordinator lease on a real nats-server's KV, with clocks the test moves (no sleeping for TTLs);
then two coordinator apps in this process, one a standby."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest
from coordinator_testkit import running  # type: ignore[import-not-found]

from vapora.coordinator.v1 import coordinator_pb2 as pb
from vapora.coordinator.v1 import coordinator_pb2_grpc
from vapora_core import kv
from vapora_core.bus import Bus
from vapora_core.bus.topology import BUCKETS
from vapora_core.grpc import channel, check_health
from vapora_swarm_coordinator.app import CoordinatorApp
from vapora_swarm_coordinator.grpc_server import SERVICE_NAME
from vapora_swarm_coordinator.lease import KEY, Lease, LeaseLost, takeover_bound_s
from vapora_swarm_coordinator.settings import CoordinatorSettings
from vapora_testing.clock import ManualClock
from vapora_testing.polling import eventually

TTL = 3.0


async def leases(bus: Bus, n: int = 2) -> tuple[list[Lease], list[ManualClock]]:
    bucket = await kv.Bucket.open(bus.js, BUCKETS.COORDINATOR_LEASE)
    clocks = [ManualClock(1000.0) for _ in range(n)]
    return [Lease(bucket, f"c{i}", TTL, clock=clocks[i]) for i in range(n)], clocks


async def test_the_first_creates_the_lease_and_a_second_waits_while_it_is_renewed(bus: Bus) -> None:
    (a, b), (ca, cb) = await leases(bus)
    assert await a.try_acquire()
    a.check()
    for _ in range(5):  # the holder renews every TTL/3: the revision moves, the standby never times out
        assert not await b.try_acquire()
        ca.now += TTL / 3
        cb.now += TTL / 3
        assert await a.renew()
    assert not await b.try_acquire()
    assert a.held and not b.held
    with pytest.raises(LeaseLost):
        b.check()


async def test_a_standby_takes_over_a_lease_unrenewed_for_the_ttl_and_the_old_holder_learns_it_lost(
    bus: Bus,
) -> None:
    (a, b), (ca, cb) = await leases(bus)
    assert await a.try_acquire()
    assert not await b.try_acquire()  # sees revision 1 now
    cb.now += TTL - 0.01
    assert not await b.try_acquire()  # not yet the TTL
    cb.now += 0.02
    assert await b.try_acquire()  # the same revision for the TTL: taken over by compare-and-set
    b.check()
    # the old holder's deadline passed by its own clock too: its check fails without a round trip
    ca.now += TTL
    with pytest.raises(LeaseLost):
        a.check()


async def test_a_renewal_lost_to_another_holder_ends_the_lease_at_once(bus: Bus) -> None:
    (a, b), (_, cb) = await leases(bus)
    assert await a.try_acquire()
    assert not await b.try_acquire()
    cb.now += TTL
    assert await b.try_acquire()
    a.renew_s = 0.0
    why = await asyncio.wait_for(a.keep(), timeout=5)  # its deadline has not passed by its clock
    assert why == "another coordinator holds it"
    assert not a.held
    with pytest.raises(LeaseLost):
        a.check()
    entry = await b.bucket.get(KEY)
    assert entry is not None and b"c1" in entry.value


async def test_a_holder_paused_past_its_deadline_gives_the_lease_up_without_writing(bus: Bus) -> None:
    (a,), (ca,) = await leases(bus, 1)
    assert await a.try_acquire()
    entry = await a.bucket.get(KEY)
    assert entry is not None
    ca.now += TTL  # a SIGSTOP, a long GC: no renewal ran
    with pytest.raises(LeaseLost):
        a.check()
    why = await asyncio.wait_for(a.keep(), timeout=5)
    assert why == f"not renewed within {TTL:g} s"
    after = await a.bucket.get(KEY)
    assert after is not None and after.revision == entry.revision  # it did not renew late


async def test_a_released_lease_is_taken_at_the_next_look(bus: Bus) -> None:
    (a, b), _ = await leases(bus)
    assert await a.try_acquire()
    assert not await b.try_acquire()
    await a.release()
    assert not a.held
    assert await b.try_acquire()  # no TTL to wait: the key holds nothing
    await a.release()  # not the holder any more: nothing to delete
    assert (await b.bucket.get(KEY)) is not None


def test_the_takeover_bound_is_the_ttl_and_two_looks() -> None:
    assert takeover_bound_s(6.0) == pytest.approx(8.0)


async def test_a_second_app_is_a_standby_until_the_active_one_stops_then_takes_over_at_its_next_look(
    coordinator_settings: CoordinatorSettings,
) -> None:
    """Two coordinators in this process on one embedded store: the standby opens nothing, serves
    nothing as active, and takes over within a look (TTL / 6) of a graceful stop's release."""
    ttl = 6.0
    settings = coordinator_settings.model_copy(update={"lease_ttl_s": ttl})
    async with running(settings) as first:
        second = CoordinatorApp(settings)
        await second.start()
        try:
            second.readiness.set(True)  # what lifecycle.run does once start() returns
            assert first.coordinator is not None and first.readiness.waiting_for == []
            assert second.coordinator is None
            assert not second.readiness.ready and second.readiness.waiting_for == ["the coordinator lease"]
            assert not await check_health(f"127.0.0.1:{second.grpc_port}", SERVICE_NAME)
            assert await check_health(f"127.0.0.1:{second.grpc_port}")
            with pytest.raises(grpc.RpcError) as info:
                async with channel(f"127.0.0.1:{second.grpc_port}") as ch:
                    stub = coordinator_pb2_grpc.CoordinatorStub(ch)
                    await stub.ExplainAssignment(pb.ExplainAssignmentRequest(task_id="t", workspace_id="w"))
            assert info.value.code() == grpc.StatusCode.UNAVAILABLE
            await first.stop()
            stopped = time.monotonic()
            await eventually(lambda: second.readiness.ready, timeout=ttl, what="the standby to take over")
            assert time.monotonic() - stopped < ttl  # the release was seen at a look: no expiry waited for
            assert second.coordinator is not None
            assert await check_health(f"127.0.0.1:{second.grpc_port}", SERVICE_NAME)
        finally:
            await second.stop()
