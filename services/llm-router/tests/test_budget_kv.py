"""The budget store shared by replicas, on a real nats-server: JetStream KV with compare-and-set.

Each "replica" here is a BudgetStore over its own NATS connection and its own KvStates, as two
router processes have; the process-level proof (two routers, SIGKILL) is test_replicas.py.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import nats
import pytest
from nats.aio.client import Client
from prometheus_client import REGISTRY

from vapora_core import kv
from vapora_core.bus.topology import BUCKETS
from vapora_core.errors import Internal
from vapora_llm_router.budget_account import Account, Ask, Refusal, Usage
from vapora_llm_router.budget_kv import KvStates, decode, encode
from vapora_llm_router.budget_state import Hold, State
from vapora_llm_router.budget_store import BudgetStore, Reservation
from vapora_testing.polling import eventually

IN, OUT = 0.0003, 0.0015
WINDOW = Account(key="role:dev:weekly:2026-11-30", scope="role", owner="dev", window="weekly", cost_cap=1.0)
WINDOW_KEY, WEEK = kv.key("role", "dev"), "weekly:2026-11-30"  # one key per role, a state per window


def ask(max_tokens: int = 500) -> Ask:
    return Ask(input_tokens=100, max_tokens=max_tokens, floor_tokens=16, input_cents_per_token=IN,
               output_cents_per_token=OUT)  # fmt: skip


def task(cost: float | None = None, forget: float | None = None) -> Account:
    return Account(key="task:t1", scope="task", owner="t1", cost_cap=cost, forget_after_s=forget)


ROLE = [  # a role's two windows, roomy: one key
    Account(key=f"role:dev:{w}", scope="role", owner="dev", window=w.split(":")[0], cost_cap=1000.0)
    for w in (WEEK, "monthly:2026-12-01")
]


@asynccontextmanager
async def replica(
    nats_url: str, name: str, *, ttl: float = 30.0, clock: Callable[[], float] = time.time, linger: float = 0.0
) -> AsyncIterator[BudgetStore]:
    nc = await nats.connect(nats_url)
    states = await KvStates.open(nc.jetstream(), clock=clock, linger_s=linger)
    try:
        yield BudgetStore(states, replica=name, ttl_s=ttl, clock=clock)
    finally:
        await states.stop()
        await nc.close()


async def until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    await eventually(check, timeout=timeout, what="the replicas to agree", interval=0.02)


def conflicts() -> float:
    return REGISTRY.get_sample_value("vapora_kv_conflicts_total", {"bucket": "budget-windows"}) or 0.0


async def test_two_replicas_never_promise_the_same_money_twice(nats_url: str) -> None:
    async with replica(nats_url, "a") as a, replica(nats_url, "b") as b:
        small = ask(max_tokens=20)  # 0.06¢: some 16 fit in the window

        async def burst(store: BudgetStore) -> list[Reservation | Refusal]:
            # a few at once, again and again: one replica's concurrent calls share a write
            out: list[Reservation | Refusal] = []
            for _ in range(6):
                out += await asyncio.gather(*(store.reserve([task(cost=5.0), WINDOW], small) for _ in range(5)))
            return out

        raced = conflicts()
        # a writes the key; once b has seen that revision, both write over it at once: one must lose
        first = [await a.reserve([task(cost=5.0), WINDOW], small)]
        await until(lambda: a.usage(WINDOW.key) == b.usage(WINDOW.key))
        first += await asyncio.gather(*(s.reserve([task(cost=5.0), WINDOW], small) for s in (a, b)))
        assert conflicts() > raced  # the race is certain here, not left to the bursts
        got = first + [r for rs in await asyncio.gather(burst(a), burst(b)) for r in rs]
        held = [r for r in got if isinstance(r, Reservation)]
        assert held and len(held) < 60 and conflicts() > raced  # the two raced for the window's key
        assert WINDOW.cost_cap is not None
        assert sum(r.cents for r in held) <= WINDOW.cost_cap + 1e-9  # 1¢ window: the cap, over both
        refused = [r for r in got if isinstance(r, Refusal)]
        assert refused and all(r.account.key == WINDOW.key for r in refused)
        await until(lambda: a.usage(WINDOW.key) == b.usage(WINDOW.key))
        assert a.usage(WINDOW.key).reserved_cents == pytest.approx(sum(r.cents for r in held))
        assert a.usage("task:t1").reserved_cents == pytest.approx(sum(r.cents for r in held))  # no hold left over
        for r in held:
            await (a if r.id.startswith("a") else b).settle(r, r.cents / 2, r.tokens // 2)
        await until(lambda: b.usage(WINDOW.key).reserved_cents == 0 and a.usage(WINDOW.key).reserved_cents == 0)
        assert b.usage(WINDOW.key).spent_cents == pytest.approx(sum(r.cents for r in held) / 2)


async def test_each_account_is_a_key_of_its_bucket_as_json(nats_url: str) -> None:
    async with replica(nats_url, "a") as a:
        r = await a.reserve([task(cost=5.0), WINDOW], ask())
        assert isinstance(r, Reservation)
        nc = await nats.connect(nats_url)
        try:
            windows = await kv.Bucket.open(nc.jetstream(), BUCKETS.BUDGET_WINDOWS)
            tasks = await kv.Bucket.open(nc.jetstream(), BUCKETS.BUDGET_TASKS)
            window, t1 = await windows.get(WINDOW_KEY), await tasks.get("task.t1")
            assert window is not None and t1 is not None
            hold = decode(window.value)[WEEK].holds[r.id]
            assert set(decode(t1.value)) == {"task"}
            assert (hold.cents, hold.tokens, hold.replica) == (r.cents, r.tokens, "a")
            assert hold.expires == pytest.approx(r.at + 30.0)
        finally:
            await nc.close()


async def test_a_dead_replicas_reservations_free_their_room_after_the_ttl(nats_url: str) -> None:
    async with replica(nats_url, "dead", ttl=1.0) as dead, replica(nats_url, "alive", ttl=1.0) as alive:
        big = await dead.reserve([WINDOW], ask(max_tokens=10_000))  # takes the whole window
        assert isinstance(big, Reservation) and big.capped_by == WINDOW
        assert isinstance(await alive.reserve([WINDOW], ask()), Refusal)
        # the dead one never renews nor settles; the room comes back once its hold expires
        await until(lambda: alive.usage(WINDOW.key).reserved_cents == 0, timeout=3.0)
        mine = await alive.reserve([WINDOW], ask())
        assert isinstance(mine, Reservation) and big.id not in decode_holds(alive)
        await dead.settle(big, 0.2, 300)  # it was alive after all: its late settlement is still charged
        await until(lambda: alive.usage(WINDOW.key).spent_cents == pytest.approx(0.2))


def decode_holds(store: BudgetStore) -> set[str]:
    state = store.states.get(WINDOW.key)
    return set(state.holds) if state is not None else set()


async def test_a_running_calls_reservation_is_renewed_past_the_ttl(nats_url: str) -> None:
    async with replica(nats_url, "a", ttl=1.0) as a, replica(nats_url, "b", ttl=1.0) as b:
        held = await a.reserve([WINDOW], ask(max_tokens=10_000))
        assert isinstance(held, Reservation)
        for _ in range(6):  # 1.8 s: past the TTL, renewed every third of it
            await asyncio.sleep(0.3)
            await a.renew()
        assert isinstance(await b.reserve([WINDOW], ask()), Refusal)
        await a.release(held)
        await until(lambda: isinstance(b.usage(WINDOW.key), Usage) and b.usage(WINDOW.key).reserved_cents == 0)
        assert isinstance(await b.reserve([WINDOW], ask()), Reservation)


async def test_a_restarted_replica_loses_no_bookkeeping_and_is_seeded_only_when_new(nats_url: str) -> None:
    async with replica(nats_url, "first") as first:
        await first.seed(WINDOW.key, 0.25)
        held = await first.reserve([WINDOW], ask())
        assert isinstance(held, Reservation)
    async with replica(nats_url, "second") as second:  # what the first left is in the bucket
        await second.seed(WINDOW.key, 0.9)  # the ledger's figure: ignored, the key exists
        u = second.usage(WINDOW.key)
        assert u.spent_cents == 0.25 and u.reserved_cents == pytest.approx(held.cents)


async def test_a_task_account_is_forgotten_after_its_idle_time(nats_url: str) -> None:
    now = [time.time()]
    async with replica(nats_url, "a", clock=lambda: now[0]) as a:
        r = await a.reserve([task(cost=1.0, forget=60)], ask())
        assert isinstance(r, Reservation)
        await a.settle(r, 0.5, 300)
        now[0] += 59
        assert a.usage("task:t1").spent_cents == 0.5
        now[0] += 2
        assert a.usage("task:t1") == Usage()
        again = await a.reserve([task(cost=1.0, forget=60)], ask())  # the whole cap again
        assert isinstance(again, Reservation) and again.max_tokens == 500
        assert isinstance(a.states, KvStates)
        await a.release(again)
        now[0] += 61
        a.states.forget_idle()
        assert a.states.views["task"].get("task.t1") is None


async def test_a_value_that_is_not_an_account_fails_its_calls_and_is_kept(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        windows = await kv.Bucket.open(nc.jetstream(), BUCKETS.BUDGET_WINDOWS)
        await windows.create(WINDOW_KEY, b'{"weekly:2026-11-30": {"spent_cents": "lots"}}')
        async with replica(nats_url, "a") as a:
            why = rf"budget key {WINDOW_KEY} .*weekly:2026-11-30: spent_cents is 'lots'.*fix or delete it"
            with pytest.raises(Internal, match=why):
                await a.reserve([task(cost=5.0), WINDOW], ask())
            assert a.usage(WINDOW.key) == Usage()
            assert a.usage("task:t1") == Usage()  # the task's hold was given back
        entry = await windows.get(WINDOW_KEY)
        assert entry is not None and entry.value == b'{"weekly:2026-11-30": {"spent_cents": "lots"}}'
    finally:
        await nc.close()


def deferred() -> float:
    return REGISTRY.get_sample_value("vapora_llm_settlements_deferred_total") or 0.0


@asynccontextmanager
async def impatient(nats_url: str) -> AsyncIterator[tuple[BudgetStore, Client, kv.Bucket]]:
    """A replica whose compare-and-sets give up after a second (the tests stop NATS under it), its
    connection (which reconnects) and its windows bucket."""
    nc = await nats.connect(nats_url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    js = nc.jetstream(timeout=0.5)
    buckets = [
        await kv.Bucket.open(js, spec, attempts=2, deadline_s=1.0)
        for spec in (BUCKETS.BUDGET_WINDOWS, BUCKETS.BUDGET_TASKS)
    ]
    states = KvStates(*buckets)
    for view in states.views.values():
        await view.start()
    try:
        yield BudgetStore(states, replica="a", ttl_s=30.0), nc, buckets[0]
    finally:
        await states.stop()
        await nc.close()


async def test_a_settlement_the_store_cannot_take_is_kept_and_lands_later(tmp_path, nats_server) -> None:  # type: ignore[no-untyped-def]
    async with impatient(nats_server.url) as (store, nc, windows):
        held = await store.reserve([WINDOW], ask())
        assert isinstance(held, Reservation)
        before = deferred()
        nats_server.stop()
        await store.settle(held, 0.3, 200)  # NATS is gone: kept, not lost
        assert deferred() == before + 1
        nats_server.start()
        await until(lambda: nc.is_connected, timeout=10.0)
        await store.renew()
        entry = await windows.get(WINDOW_KEY)
        assert entry is not None
        state = decode(entry.value)[WEEK]
        assert state.spent_cents == 0.3 and not state.holds


def revision(store: BudgetStore) -> int:
    assert isinstance(store.states, KvStates)
    entry = store.states.views["role"].get(WINDOW_KEY)
    assert entry is not None
    return entry.revision


def spent_and_held(store: BudgetStore) -> tuple[float, float]:
    u = store.usage(ROLE[0].key)
    return round(u.spent_cents, 9), round(u.reserved_cents, 9)


async def test_sequential_calls_write_their_roles_key_once_a_call(nats_url: str) -> None:
    async with replica(nats_url, "a", linger=30.0) as a, replica(nats_url, "b") as b:
        revisions = []
        for _ in range(5):
            r = await a.reserve(ROLE, ask())
            assert isinstance(r, Reservation)
            revisions.append(revision(a))
            last = round(r.cents, 9)
            a.settle_later(r, 0.1, 300)  # the call's answer goes back now; its settlement waits
            assert spent_and_held(a) == (round(0.1 * len(revisions), 9), 0.0)  # as this replica reads it
        # each reservation's write carried the settlement before it: one write a call, both windows
        assert [n - m for m, n in itertools.pairwise(revisions)] == [1, 1, 1, 1]
        await until(lambda: spent_and_held(b) == (0.4, last))  # the last one is still held
        await a.flush()  # on stop: written now, not after the linger
        assert revision(a) == revisions[-1] + 1
        await until(lambda: spent_and_held(b) == (0.5, 0.0))
        for account in ROLE:
            assert b.usage(account.key).spent_tokens == 1500


async def test_a_posted_settlement_no_call_follows_lands_within_the_linger(nats_url: str) -> None:
    async with replica(nats_url, "a", linger=1.0) as a, replica(nats_url, "b") as b:
        r = await a.reserve(ROLE, ask())
        assert isinstance(r, Reservation)
        posted = time.monotonic()
        a.settle_later(r, 0.2, 300)
        await asyncio.sleep(0.2)
        assert spent_and_held(b) == (0.0, round(r.cents, 9))  # waiting for company: still held, never less
        await until(lambda: spent_and_held(b) == (0.2, 0.0), timeout=4.0)
        assert time.monotonic() - posted < 1.0 + 3.0  # the linger, plus the write and the watch


async def test_a_posted_settlement_the_store_cannot_take_is_kept_and_lands_later(nats_server) -> None:  # type: ignore[no-untyped-def]
    async with impatient(nats_server.url) as (store, nc, windows):
        held = await store.reserve(ROLE, ask())
        assert isinstance(held, Reservation)
        before = deferred()
        nats_server.stop()
        store.settle_later(held, 0.3, 200)  # its write fails: kept, not lost
        await until(lambda: deferred() == before + 1)
        nats_server.start()
        await until(lambda: nc.is_connected, timeout=10.0)
        await store.renew()
        entry = await windows.get(WINDOW_KEY)
        assert entry is not None
        assert all(s.spent_cents == 0.3 and not s.holds for s in decode(entry.value).values())


def test_states_round_trip_through_json() -> None:
    states = {WEEK: State(0.25, 40, {"r-1": Hold(0.1, 150, 1030.0, "router-a")}, 1000.0), "task": State(0.1)}
    assert decode(encode(states)) == states


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"{not json", "not JSON"),
        (b"[]", "not a JSON object"),
        (b'{"w": 1}', "w is not an object"),
        (b'{"w": {"spent_cents": -1}}', "w: spent_cents is -1, not a number >= 0"),
        (b'{"w": {"spent_cents": true}}', "w: spent_cents is True"),
        (b'{"w": {"holds": []}}', "w: holds is not an object"),
        (b'{"w": {"holds": {"r-1": [1, 2]}}}', "w: hold r-1 is [1, 2], not [cents, tokens, expires, replica]"),
        (b'{"w": {"holds": {"r-1": [1, "x", 3, "r"]}}}', "w: hold r-1: tokens is 'x'"),
    ],
)
def test_a_value_that_is_not_states_says_what_is_wrong(raw: bytes, why: str) -> None:
    with pytest.raises(ValueError, match=re.escape(why)):
        decode(raw)
