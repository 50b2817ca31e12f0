"""Login throttling per account and per client address: a burst of guesses gets no more tries than
a sequence, locks double, a right password waits out the lock, success clears the account."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from kv_buckets import opened

from vapora_api_gateway.login_throttle import LoginThrottle, LoginThrottled
from vapora_core import kv
from vapora_core.bus.topology import BUCKETS
from vapora_testing.clock import ManualClock

PASSWORD = "correct horse battery"


@pytest.fixture
async def records(nats_url: str) -> AsyncIterator[kv.Bucket]:
    """The login-throttle bucket on a real nats-server, as the gateway opens it."""
    async with opened(nats_url, BUCKETS.LOGIN_THROTTLE) as bucket:
        yield bucket


def _throttle(clock: ManualClock, records: kv.Bucket, **kw: float) -> LoginThrottle:
    args = {"account_free": 3, "address_free": 10, "backoff_s": 1.0, "backoff_max_s": 60.0, **kw}
    return LoginThrottle(records, clock=clock, **args)  # type: ignore[arg-type]


async def _fail(t: LoginThrottle, account: str = "a", address: str = "ip") -> None:
    await (await t.begin(account, address)).end(False)


async def test_each_failure_past_the_free_ones_locks_twice_as_long_up_to_the_cap(records):
    clock = ManualClock(1000.0)
    t = _throttle(clock, records)
    for _ in range(2):
        await _fail(t)
    await _fail(t)  # the third (last free) failure starts the back-off: 1 s
    waits = []
    for _ in range(8):
        with pytest.raises(LoginThrottled) as refused:
            await t.begin("a", "ip")
        waits.append(refused.value.retry_after)
        clock.now += refused.value.retry_after
        await _fail(t)
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60]


async def test_a_success_clears_the_account_but_not_the_address(records):
    clock = ManualClock(1000.0)
    t = _throttle(clock, records, address_free=4)
    for _ in range(3):
        await _fail(t, "a")
    clock.now += 1
    await (await t.begin("a", "ip")).end(True)
    await _fail(t, "a")  # free again: no lock for the account...
    with pytest.raises(LoginThrottled) as refused:  # ...but the address has failed 4 times now
        await t.begin("b", "ip")
    assert "client address" in refused.value.message
    await (await t.begin("b", "elsewhere")).end(False)  # another address is not held back


async def test_attempts_in_flight_count_against_the_free_ones_and_errors_are_no_verdict(records):
    t = _throttle(ManualClock(1000.0), records)
    held = [await t.begin("a", "ip") for _ in range(3)]
    with pytest.raises(LoginThrottled):
        await t.begin("a", "ip")
    for attempt in held:
        await attempt.end(None)  # e.g. the store failed: neither a success nor a failure
    for _ in range(3):
        await (await t.begin("a", "ip")).end(False)  # all three free attempts are still there


async def test_a_record_quiet_for_the_longest_lock_is_forgotten(records):
    clock = ManualClock(1000.0)
    t = _throttle(clock, records)
    for _ in range(4):
        clock.now += 100
        await _fail(t)
    clock.now += 61
    for _ in range(3):
        await _fail(t)  # three free failures again, then the lock
    with pytest.raises(LoginThrottled):
        await t.begin("a", "ip")


async def _login(client, email: str, password: str):
    return await client.call("POST", "/api/v1/auth/login", json={"email": email, "password": password})


@pytest.mark.parametrize("known", [True, False])
async def test_a_burst_of_wrong_passwords_gets_the_free_attempts_then_429_with_retry_after(gateway_factory, known):
    _, client = await gateway_factory(login_free_attempts=5, login_backoff_s=1.0)
    email = "victim@example.com"
    if known:
        await client.register(email, PASSWORD)
    answers = await asyncio.gather(*[_login(client, email, f"wrong guess {n}") for n in range(40)])
    statuses = sorted(status for status, _, _ in answers)
    assert statuses == [401] * 5 + [429] * 35, statuses  # the same for an e-mail nobody registered
    for status, problem, headers in answers:
        if status == 429:
            assert headers["Content-Type"].startswith("application/problem+json")
            assert int(headers["Retry-After"]) >= 1 and problem["code"] == "login_throttled"
    status, problem, headers = await _login(client, email, PASSWORD)
    assert status == 429 and "try again in" in problem["detail"]  # the right password waits too
    if known:
        await asyncio.sleep(int(headers["Retry-After"]) + 0.1)
        assert (await _login(client, email, PASSWORD))[0] == 200
        assert (await _login(client, email, "wrong again"))[0] == 401  # the count started over


async def test_many_accounts_guessed_from_one_address_are_throttled_by_the_address(gateway_factory):
    _, client = await gateway_factory(login_free_attempts=5, login_free_attempts_ip=8)
    answers = await asyncio.gather(*[_login(client, f"user{n}@example.com", "guess") for n in range(30)])
    statuses = sorted(status for status, _, _ in answers)
    assert statuses == [401] * 8 + [429] * 22, statuses
    status, problem, _ = await _login(client, "someone-new@example.com", "guess")
    assert status == 429 and "client address" in problem["detail"]
