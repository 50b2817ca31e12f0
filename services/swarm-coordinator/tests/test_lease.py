"""The coordinator lease on a real nats-server's KV, with clocks the test moves (no sleeping for TTLs)."""

from __future__ import annotations

import asyncio

import pytest

from vapora_core import kv
from vapora_core.bus import Bus
from vapora_core.bus.topology import BUCKETS
from vapora_swarm_coordinator.lease import KEY, Lease, LeaseLost, takeover_bound_s

TTL = 3.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def leases(bus: Bus, n: int = 2) -> tuple[list[Lease], list[Clock]]:
    bucket = await kv.Bucket.open(bus.js, BUCKETS.COORDINATOR_LEASE)
    clocks = [Clock() for _ in range(n)]
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
