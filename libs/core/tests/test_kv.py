"""vapora_core.kv against a real nats-server: buckets, compare-and-set, TTLs, coalesced changes, views."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence

import nats
import pytest
from nats.aio.client import Client
from prometheus_client import REGISTRY

from vapora_core import kv
from vapora_core.bus.topology import BUCKETS, BucketSpec
from vapora_core.errors import AlreadyExists, Conflict, InvalidArgument, Unavailable
from vapora_core.kv_view import View
from vapora_testing.polling import eventually

SPEC = BucketSpec(name="test-kv", ttl_s=3600.0, max_value_bytes=1024, description="tests")
VALID_KEY = re.compile(r"^[-/_=.a-zA-Z0-9]+$")  # what nats-py accepts as a key


@pytest.fixture
async def connections(nats_url: str) -> AsyncIterator[tuple[Client, Client]]:
    """Two connections, as two replicas would have."""
    a, b = await nats.connect(nats_url), await nats.connect(nats_url)
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


async def buckets(connections: tuple[Client, Client], spec: BucketSpec = SPEC) -> tuple[kv.Bucket, kv.Bucket]:
    a, b = connections
    return await kv.Bucket.open(a.jetstream(), spec), await kv.Bucket.open(b.jetstream(), spec)


def test_every_string_makes_a_valid_key_and_no_two_part_lists_the_same() -> None:
    parts = ["dev", "a.b", "a", "b", "", "=", "x@example.com", "::1", "2001:db8::1", "ünïcode", "a b", "-_"]
    lists = [(p,) for p in parts] + [("a", "b"), ("", ""), ("a", ""), ("=", ""), ("a.b", "c"), ("a", "b.c")]
    keys = [kv.key(*ps) for ps in lists]
    assert all(VALID_KEY.match(k) and not k.startswith(".") for k in keys if k), keys
    assert len(set(keys)) == len(keys)
    assert kv.key("role", "developer", "weekly") == "role.developer.weekly"  # plain parts stay readable


async def test_a_bucket_is_created_to_its_spec_and_brought_back_to_it(connections: tuple[Client, Client]) -> None:
    js = connections[0].jetstream()
    await kv.Bucket.open(js, SPEC)
    await kv.Bucket.open(js, SPEC)  # again, unchanged: fine
    changed = BucketSpec(name=SPEC.name, ttl_s=60.0, max_value_bytes=2048, description="changed")
    await kv.Bucket.open(js, changed)
    config = (await js.stream_info("KV_test-kv")).config
    assert (config.max_age, config.max_msg_size, config.description) == (60.0, 2048, "changed")
    assert config.allow_msg_ttl  # per-message TTLs are allowed (create with ttl_s)


async def test_create_update_and_delete_compare_revisions(connections: tuple[Client, Client]) -> None:
    a, b = await buckets(connections)
    first = await a.create("k", b"1")
    with pytest.raises(AlreadyExists):
        await b.create("k", b"2")
    second = await b.update("k", b"2", revision=first)
    with pytest.raises(Conflict) as lost:
        await a.update("k", b"3", revision=first)  # a read revision 1; b wrote since
    assert lost.value.retryable and (lost.value.bucket, lost.value.key) == ("test-kv", "k")
    assert await a.get("k") == kv.Entry("k", b"2", second)
    with pytest.raises(Conflict):
        await a.delete("k", revision=first)
    await a.delete("k", revision=second)
    assert await b.get("k") is None
    assert await b.create("k", b"again") > second  # a deleted key can be created again


async def test_a_value_over_the_bucket_limit_is_refused_and_nothing_is_written(
    connections: tuple[Client, Client],
) -> None:
    a, _ = await buckets(connections)
    with pytest.raises(InvalidArgument, match=r"key big of bucket test-kv: a value of 1,025 bytes; at most 1,024"):
        await a.create("big", b"x" * 1025)
    assert await a.get("big") is None


async def test_a_value_created_with_a_ttl_goes_by_itself_unless_updated(connections: tuple[Client, Client]) -> None:
    """Per-message TTL (nats-server >= 2.11): the server this fleet runs supports it."""
    a, _ = await buckets(connections)
    await a.create("lease-a", b"holder-1", ttl_s=1.0)
    renewed = await a.create("lease-b", b"holder-1", ttl_s=1.0)
    await a.update("lease-b", b"holder-1 renewed", revision=renewed)  # an update carries no TTL
    assert await a.get("lease-a") is not None
    await asyncio.sleep(2.0)
    assert await a.get("lease-a") is None
    assert await a.create("lease-a", b"holder-2") > 0  # free for the next holder
    entry = await a.get("lease-b")
    assert entry is not None and entry.value == b"holder-1 renewed"


async def test_a_lease_renewed_with_a_ttl_lives_from_its_last_renewal(connections: tuple[Client, Client]) -> None:
    """The lease the coordinator's standby waits on: create if free, renew by compare-and-set, delete."""
    a, b = await buckets(connections)
    taken = await a.create("lease", b"holder-1", ttl_s=2.0)
    with pytest.raises(AlreadyExists):
        await b.create("lease", b"holder-2", ttl_s=2.0)  # held: the standby cannot take it
    await asyncio.sleep(1.2)
    renewed = await a.update("lease", b"holder-1", revision=taken, ttl_s=2.0)
    await asyncio.sleep(1.2)  # 2.4 s after it was taken, 1.2 s after its renewal: still held
    assert await b.get("lease") == kv.Entry("lease", b"holder-1", renewed)
    with pytest.raises(Conflict):
        await b.update("lease", b"holder-2", revision=taken, ttl_s=2.0)  # a stale renewal loses
    await eventually(lambda: _gone(b, "lease"), timeout=5.0, what="the lease to expire after its last renewal")
    mine = await b.create("lease", b"holder-2", ttl_s=30.0)  # free for the next holder
    with pytest.raises(Conflict):
        await a.update("lease", b"holder-1", revision=renewed, ttl_s=2.0)  # the old holder lost it
    await b.delete("lease", revision=mine)  # let go: free at once
    assert await a.create("lease", b"holder-1", ttl_s=2.0) > mine
    with pytest.raises(InvalidArgument, match="not a valid key"):
        await a.update("a..b", b"x", revision=1, ttl_s=1.0)


async def _gone(bucket: kv.Bucket, key: str) -> bool:
    return await bucket.get(key) is None


async def test_a_key_goes_the_bucket_ttl_after_its_last_write(connections: tuple[Client, Client]) -> None:
    short = BucketSpec(name="test-short", ttl_s=1.0)
    a, _ = await buckets(connections, short)
    await a.create("k", b"1")
    await asyncio.sleep(2.0)
    assert await a.get("k") is None


def conflicts() -> float:
    return REGISTRY.get_sample_value("vapora_kv_conflicts_total", {"bucket": "test-kv"}) or 0.0


async def test_changes_from_two_replicas_lose_no_update(connections: tuple[Client, Client]) -> None:
    a, b = await buckets(connections)
    lost_before = conflicts()

    def plus_one(value: bytes | None) -> tuple[bytes, int]:
        n = int(value or b"0") + 1
        return str(n).encode(), n

    async def replica(bucket: kv.Bucket) -> list[int]:
        return [(await bucket.change("counter", plus_one))[0] for _ in range(60)]

    seen = [n for ns in await asyncio.gather(replica(a), replica(b)) for n in ns]
    assert sorted(seen) == list(range(1, 121))  # each change saw its own count: none lost
    entry = await a.get("counter")
    assert entry is not None and entry.value == b"120"
    assert conflicts() > lost_before  # they did race


async def test_a_change_that_keeps_losing_its_race_says_so(connections: tuple[Client, Client]) -> None:
    js = connections[0].jetstream()
    _, b = await buckets(connections)
    twice = await kv.Bucket.open(js, SPEC, attempts=2)
    await twice.create("k", b"0")
    calls = 0

    def lose(value: bytes | None) -> tuple[bytes, None]:
        nonlocal calls
        calls += 1
        raise Conflict("another replica wrote first")  # what losing the race is, every time

    with pytest.raises(Conflict, match="key k of bucket test-kv kept changing: 2 compare-and-set attempts"):
        await twice.change("k", lose)
    assert calls == 2
    entry = await b.get("k")
    assert entry is not None and entry.value == b"0"


async def test_a_stale_revision_costs_a_read_and_a_second_write(connections: tuple[Client, Client]) -> None:
    a, b = await buckets(connections)
    stale = kv.Entry("k", b"old", await a.create("k", b"old"))
    await b.update("k", b"new", revision=stale.revision)
    seen: list[bytes | None] = []

    def append(value: bytes | None) -> tuple[bytes, None]:
        seen.append(value)
        return (value or b"") + b"+mine", None

    _, entry = await a.change("k", append, known=stale)
    assert seen == [b"old", b"new"] and entry is not None and entry.value == b"new+mine"


async def test_a_change_that_leaves_the_key_decides_on_a_fresh_read(connections: tuple[Client, Client]) -> None:
    a, b = await buckets(connections)
    stale = kv.Entry("k", b"1", await a.create("k", b"1"))
    await b.update("k", b"2", revision=stale.revision)
    seen: list[bytes | None] = []

    def keep(value: bytes | None) -> tuple[None, bytes | None]:
        seen.append(value)
        return None, value

    got, entry = await a.change("k", keep, known=stale)
    assert seen == [b"1", b"2"] and got == b"2" and entry is not None and entry.value == b"2"


async def test_a_closed_connection_is_unavailable_and_retryable(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    bucket = await kv.Bucket.open(nc.jetstream(), SPEC)
    await nc.close()
    with pytest.raises(Unavailable) as down:
        await bucket.get("k")
    assert down.value.retryable and "key k of bucket test-kv" in str(down.value)


def counting(_: str, value: bytes | None, ops: Sequence[int]) -> tuple[bytes, list[int]]:
    """Adds each op to the count; each op's result is the count once it was added."""
    count, out = int(value or b"0"), []
    for n in ops:
        count += n
        out.append(count)
    return str(count).encode(), out


async def test_changes_of_one_key_share_round_trips_and_each_caller_gets_its_own_result(
    connections: tuple[Client, Client],
) -> None:
    a, b = await buckets(connections)
    first, second = kv.Changes(a, counting), kv.Changes(b, counting)
    got = await asyncio.gather(*(c.submit("hits", 1) for c in (first, second) * 100))
    assert sorted(got) == list(range(1, 201))  # every caller saw its own place in the count
    entry = await a.get("hits")
    assert entry is not None and entry.value == b"200"
    assert entry.revision < 100  # 200 changes, far fewer writes: they went together


async def test_a_posted_change_goes_first_in_the_next_write_or_alone_after_its_linger(
    connections: tuple[Client, Client],
) -> None:
    a, _ = await buckets(connections)
    changes = kv.Changes(a, counting)
    posted = changes.post("hits", 1, linger_s=30.0)
    assert not posted.done()  # nothing is written for it alone before its linger
    assert await changes.submit("hits", 10) == 11  # the posted op went first, in the same write
    assert posted.done() and posted.result() == 1
    entry = await a.get("hits")
    assert entry is not None and (entry.value, entry.revision) == (b"11", 1)  # one write for both
    alone = changes.post("hits", 100, linger_s=0.05)
    assert await asyncio.wait_for(alone, timeout=5.0) == 111  # no write came: written on its own
    later = changes.post("hits", 1000, linger_s=30.0)
    await changes.flush()  # on stop: written now
    assert later.done() and later.result() == 1111
    entry = await a.get("hits")
    assert entry is not None and (entry.value, entry.revision) == (b"1111", 3)


async def test_a_posted_change_whose_write_fails_gets_the_error(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    changes = kv.Changes(await kv.Bucket.open(nc.jetstream(), SPEC), counting)
    await nc.close()
    posted = changes.post("hits", 1, linger_s=0.0)
    await changes.flush()
    assert isinstance(posted.result(), Unavailable)  # never raised: nobody waits for it


async def test_a_failed_write_fails_every_op_in_it(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    changes = kv.Changes(await kv.Bucket.open(nc.jetstream(), SPEC), counting)
    await nc.close()
    got = await asyncio.gather(*(changes.submit("hits", 1) for _ in range(5)), return_exceptions=True)
    assert all(isinstance(g, Unavailable) for g in got), got


async def test_a_view_has_the_bucket_and_follows_it(connections: tuple[Client, Client]) -> None:
    a, b = await buckets(connections)
    await b.create("before", b"1")
    view = View(a)
    await view.start()
    try:
        assert view.get("before") == kv.Entry("before", b"1", 1)
        revision = await b.update("before", b"2", revision=1)
        await b.create("after", b"x")
        await eventually(
            lambda: view.get("after") is not None and view.get("before") == kv.Entry("before", b"2", revision),
            timeout=5.0,
            what="the view to see the other connection's writes",
        )
        view.put(kv.Entry("before", b"old", 1))  # an older revision never replaces a newer one
        assert view.get("before") == kv.Entry("before", b"2", revision)
        await b.delete("after")
        await eventually(lambda: view.get("after") is None, timeout=5.0, what="the view to see the delete")
        assert sorted(view.keys()) == ["before"]
    finally:
        await view.stop()


def test_the_fleet_buckets_outlive_what_they_hold() -> None:
    names = [spec.name for spec in BUCKETS.all()]
    assert len(names) == len(set(names)) and all(re.fullmatch(r"[A-Za-z0-9_-]+", n) for n in names)
    assert BUCKETS.BUDGET_WINDOWS.ttl_s > 2 * 31 * 86400 - 1  # twice the longest window
