"""eventually / eventually_sync: the first truthy value, or an AssertionError that says what."""

from __future__ import annotations

import pytest

from vapora_testing.polling import eventually, eventually_sync


class Counter:
    """Returns 0, 0, …, then ``value`` from the ``after``-th call on."""

    def __init__(self, after: int, value: object = "ready") -> None:
        self.calls = 0
        self.after = after
        self.value = value

    def __call__(self) -> object:
        self.calls += 1
        return self.value if self.calls >= self.after else 0

    async def coro(self) -> object:
        return self()


async def test_it_returns_the_first_truthy_value_of_a_plain_check() -> None:
    check = Counter(after=3, value={"state": "done"})
    assert await eventually(check, timeout=5, interval=0.001, what="the task") == {"state": "done"}
    assert check.calls == 3


async def test_it_awaits_a_coroutine_check() -> None:
    check = Counter(after=2, value=[1, 2])
    assert await eventually(check.coro, timeout=5, interval=0.001, what="two items") == [1, 2]
    assert check.calls == 2


async def test_on_timeout_it_names_what_it_waited_for_and_the_last_value() -> None:
    check = Counter(after=10**9, value="never")
    with pytest.raises(AssertionError, match=r"timed out after 0\.05s waiting for the agent; last value: 0$"):
        await eventually(check, timeout=0.05, interval=0.01, what="the agent")
    assert check.calls >= 2  # at least once before and once after the deadline


async def test_a_zero_timeout_still_checks_once() -> None:
    assert await eventually(lambda: "now", timeout=0, what="x") == "now"
    with pytest.raises(AssertionError, match="waiting for x; last value: ''"):
        await eventually(lambda: "", timeout=0, what="x")


async def test_an_exception_in_the_check_propagates_at_once() -> None:
    calls = 0

    def check() -> bool:
        nonlocal calls
        calls += 1
        raise AssertionError("status 500")

    with pytest.raises(AssertionError, match=r"^status 500$"):
        await eventually(check, timeout=5, what="x")
    assert calls == 1


class Falsy(list[str]):
    """A long value that still counts as not yet."""

    def __bool__(self) -> bool:
        return False


async def test_a_long_last_value_is_cut_in_the_message() -> None:
    with pytest.raises(AssertionError) as info:
        await eventually(lambda: Falsy(["x" * 100] * 200), timeout=0, what="x")
    message = str(info.value)
    assert message.startswith("timed out after 0s waiting for x; last value: ['xxx")
    assert message.endswith(" characters)") and len(message) < 10_200


async def test_until_waits_for_an_accepted_value_and_reports_the_last_one_seen() -> None:
    states = iter(["queued", "running", "done"])
    assert (
        await eventually(lambda: next(states), timeout=5, interval=0.001, what="x", until=lambda s: s == "done")
        == "done"
    )
    with pytest.raises(AssertionError, match=r"waiting for task t1 to finish; last value: \{'state': 'running'\}$"):
        await eventually(
            lambda: {"state": "running"},
            timeout=0.02,
            interval=0.005,
            what="task t1 to finish",
            until=lambda b: b["state"] == "done",
        )


async def test_until_can_accept_a_falsy_value() -> None:
    assert await eventually(lambda: 0, timeout=5, what="zero pending", until=lambda n: n == 0) == 0


def test_the_sync_twin_returns_the_value_or_names_what_it_waited_for() -> None:
    check = Counter(after=3, value=7)
    assert eventually_sync(check, timeout=5, interval=0.001, what="seven") == 7
    assert check.calls == 3
    with pytest.raises(AssertionError, match=r"timed out after 0\.02s waiting for nats-server; last value: False"):
        eventually_sync(lambda: False, timeout=0.02, interval=0.005, what="nats-server")
    states = iter([1, 2, 3])
    assert eventually_sync(lambda: next(states), timeout=5, interval=0.001, what="x", until=lambda n: n > 2) == 3
