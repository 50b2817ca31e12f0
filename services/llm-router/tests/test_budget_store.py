"""The budget store: how much a call may reserve, atomic reservations, and tasks forgotten when idle."""

from __future__ import annotations

import asyncio

import pytest

from vapora_llm_router.budget_store import Account, Ask, MemoryBudgetStore, Refusal, Reservation, Usage, fit

IN, OUT = 0.0003, 0.0015  # ¢ a token: claude-sonnet-4-5's $3 / $15 per Mtok


def ask(input_tokens: int = 100, max_tokens: int = 500, *, free: bool = False) -> Ask:
    return Ask(
        input_tokens=input_tokens,
        max_tokens=max_tokens,
        floor_tokens=16,
        input_cents_per_token=0.0 if free else IN,
        output_cents_per_token=0.0 if free else OUT,
    )


def window(cap: float) -> Account:
    return Account(key="role:dev:weekly:2026-11-30", scope="role", owner="dev", window="weekly", cost_cap=cap)


def task(cost: float | None = None, tokens: int | None = None, forget: float | None = None) -> Account:
    return Account(key="task:t1", scope="task", owner="t1", cost_cap=cost, token_cap=tokens, forget_after_s=forget)


def test_an_answer_that_fits_keeps_its_max_tokens() -> None:
    got = fit(ask(), [(window(10.0), Usage())])
    assert got.max_tokens == 500 and got.capped_by is None  # type: ignore[union-attr]


def test_max_tokens_is_cut_to_what_the_tightest_account_can_pay() -> None:
    # 0.5¢ left in the window: 0.03¢ of input, then (0.5 - 0.03) / 0.0015 = 313 output tokens
    got = fit(
        ask(), [(task(cost=5.0), Usage(spent_cents=1.0)), (window(1.0), Usage(spent_cents=0.4, reserved_cents=0.1))]
    )
    assert not isinstance(got, Refusal)
    assert got.max_tokens == 313
    assert got.capped_by == window(1.0) and got.capped_limit == "cost"
    assert ask().cents(313) <= 0.5 < ask().cents(314)


def test_a_token_cap_cuts_max_tokens_to_what_is_left_after_the_input() -> None:
    got = fit(ask(), [(task(tokens=1000), Usage(spent_tokens=600))])
    assert not isinstance(got, Refusal)
    assert (got.max_tokens, got.capped_limit) == (300, "tokens")


def test_a_call_that_cannot_pay_the_floor_is_refused_naming_the_account() -> None:
    # 0.05¢ left; the floor (100 input + 16 output tokens) needs 0.054¢
    got = fit(ask(), [(task(cost=1.0), Usage(spent_cents=0.95)), (window(100.0), Usage())])
    assert isinstance(got, Refusal)
    assert (got.account.scope, got.limit) == ("task", "cost")
    assert got.needed == pytest.approx(ask().cents(16))
    err = got.error()
    assert (err.scope, err.owner, err.limit, err.cap, err.spent) == ("task", "t1", "cost", 1.0, 0.95)
    assert "the cost cap of task t1 (1¢) is reached" in str(err)

    tokens = fit(ask(), [(task(tokens=110), Usage())])
    assert isinstance(tokens, Refusal) and tokens.limit == "tokens" and tokens.needed == 116


def test_the_floor_is_never_more_than_what_was_asked() -> None:
    got = fit(ask(max_tokens=4), [(window(1.0), Usage(spent_cents=1.0 - ask(max_tokens=4).cents(4)))])
    assert not isinstance(got, Refusal) and got.max_tokens == 4


def test_a_free_call_fits_any_cost_cap_but_not_a_token_cap() -> None:
    spent = Usage(spent_cents=50.0, spent_tokens=900)
    assert fit(ask(free=True), [(window(1.0), spent)]).max_tokens == 500  # type: ignore[union-attr]
    assert isinstance(fit(ask(free=True), [(task(tokens=1000), spent)]), Refusal)


async def test_concurrent_reservations_never_promise_the_same_money_twice() -> None:
    store = MemoryBudgetStore()
    accounts = [task(cost=1.0), window(100.0)]

    async def one() -> Reservation | Refusal:
        await asyncio.sleep(0)
        return await store.reserve(accounts, ask())

    got = await asyncio.gather(*(one() for _ in range(40)))
    held = [r for r in got if isinstance(r, Reservation)]
    assert len(held) < 40
    assert sum(r.cents for r in held) <= 1.0 + 1e-9
    assert store.usage("task:t1").reserved_cents == pytest.approx(sum(r.cents for r in held))
    assert store.usage(window(100.0).key).reserved_cents == pytest.approx(sum(r.cents for r in held))
    for r in held:
        await store.settle(r, r.cents / 2, r.tokens // 2)
    u = store.usage("task:t1")
    assert u.reserved_cents == 0 and u.reserved_tokens == 0
    assert u.spent_cents == pytest.approx(sum(r.cents for r in held) / 2)


async def test_release_drops_the_reservation_and_charges_nothing() -> None:
    store = MemoryBudgetStore()
    r = await store.reserve([task(cost=1.0)], ask())
    assert isinstance(r, Reservation) and r.limited
    await store.release(r)
    assert store.usage("task:t1") == Usage()


async def test_a_task_is_forgotten_after_its_idle_time_unless_a_call_is_in_flight() -> None:
    now = [1000.0]
    store = MemoryBudgetStore(clock=lambda: now[0])
    first = await store.reserve([task(cost=1.0, forget=60)], ask())
    assert isinstance(first, Reservation)
    await store.settle(first, 0.2, 300)
    now[0] += 59
    held = await store.reserve([task(cost=1.0, forget=60)], ask())  # a use: the clock starts again
    assert isinstance(held, Reservation)
    now[0] += 120
    other = Account(key="task:t2", scope="task", owner="t2", cost_cap=1.0, forget_after_s=60)
    await store.reserve([other], ask())  # sweeps: t1 is idle but still holds a reservation
    assert "task:t1" in store
    await store.settle(held, 0.1, 200)
    now[0] += 61
    await store.reserve([other], ask())
    assert "task:t1" not in store
    assert store.usage("task:t1") == Usage()
    assert "task:t2" in store


async def test_role_windows_are_never_forgotten() -> None:
    now = [0.0]
    store = MemoryBudgetStore(clock=lambda: now[0])
    r = await store.reserve([window(10.0)], ask())
    assert isinstance(r, Reservation)
    await store.settle(r, 0.3, 10)
    now[0] += 10 * 86400
    await store.reserve([task(cost=1.0, forget=1)], ask())
    assert store.usage(window(10.0).key).spent_cents == 0.3
