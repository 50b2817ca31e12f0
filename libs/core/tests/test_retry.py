"""call_with_retry: the first attempt runs on its own, a retryable failure starts the policy."""

from __future__ import annotations

import pytest

from vapora_core.errors import InvalidArgument, Unavailable
from vapora_core.retry import call_with_retry


class Script:
    """Raises the scripted errors in turn, then returns its count of calls."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0
        self.waits: list[float] = []

    async def __call__(self) -> int:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.calls

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)


async def test_a_call_that_succeeds_is_made_once_and_never_waits() -> None:
    fn = Script()
    assert await call_with_retry(fn, attempts=3, sleep=fn.sleep) == 1
    assert fn.waits == []


async def test_an_error_that_a_retry_cannot_help_is_raised_after_one_call() -> None:
    fn = Script(InvalidArgument("bad"))
    with pytest.raises(InvalidArgument, match="bad"):
        await call_with_retry(fn, attempts=3, sleep=fn.sleep)
    assert (fn.calls, fn.waits) == (1, [])


async def test_one_attempt_is_never_retried() -> None:
    fn = Script(Unavailable("down"))
    with pytest.raises(Unavailable):
        await call_with_retry(fn, attempts=1, sleep=fn.sleep)
    assert (fn.calls, fn.waits) == (1, [])


async def test_a_retryable_failure_is_retried_after_the_policys_wait() -> None:
    fn = Script(Unavailable("down"))
    assert await call_with_retry(fn, attempts=3, initial=0.05, maximum=2.0, sleep=fn.sleep) == 2
    assert len(fn.waits) == 1 and 0.05 <= fn.waits[0] <= 0.05 + 1.0  # initial · 2⁰ + jitter in [0, 1]


async def test_the_first_failure_counts_as_the_first_of_the_attempts() -> None:
    fn = Script(Unavailable("one"), Unavailable("two"), Unavailable("three"), Unavailable("four"))
    with pytest.raises(Unavailable, match="three"):
        await call_with_retry(fn, attempts=3, initial=0.05, maximum=2.0, sleep=fn.sleep)
    assert fn.calls == 3
    assert len(fn.waits) == 2 and fn.waits[1] >= 0.1  # the second wait doubles: initial · 2¹


async def test_a_retry_that_fails_for_good_stops_the_retries() -> None:
    fn = Script(Unavailable("down"), InvalidArgument("bad"))
    with pytest.raises(InvalidArgument):
        await call_with_retry(fn, attempts=4, sleep=fn.sleep)
    assert (fn.calls, len(fn.waits)) == (2, 1)
