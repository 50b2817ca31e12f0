"""Background loops keep going through failures and stop cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

from vapora_core.aio import Delay, KeyedLocks, Periodic, cancel_and_wait, finish_within
from vapora_core.errors import Unavailable
from vapora_testing.polling import eventually


async def test_periodic_keeps_running_after_a_failing_run_and_stops_cleanly() -> None:
    runs: list[int] = []

    async def work() -> None:
        runs.append(len(runs))
        if len(runs) == 2:
            raise RuntimeError("one bad sweep")

    loop = Periodic("test-loop", 0.01, work)
    loop.start()
    await eventually(lambda: len(runs) >= 5, timeout=5.0, interval=0.01, what="five runs")
    await loop.stop()
    seen = len(runs)
    await asyncio.sleep(0.05)
    assert len(runs) == seen  # nothing runs after stop


async def test_cancel_and_wait_accepts_none_and_finished_tasks() -> None:
    await cancel_and_wait(None)
    done = asyncio.ensure_future(asyncio.sleep(0))
    await done
    await cancel_and_wait(done)
    pending = asyncio.ensure_future(asyncio.sleep(10))
    await cancel_and_wait(pending)
    assert pending.cancelled()


async def test_finish_within_lets_quick_tasks_end_and_cancels_the_rest() -> None:
    quick = asyncio.ensure_future(asyncio.sleep(0.01, "done"))
    slow = asyncio.ensure_future(asyncio.sleep(10))
    await finish_within([quick, slow], 0.2)
    await asyncio.sleep(0)
    assert quick.result() == "done"
    assert slow.cancelled()
    await finish_within([], 0.2)  # nothing to wait for


async def test_periodic_with_wait_first_runs_only_after_one_interval() -> None:
    runs: list[float] = []
    loop = Periodic("test-wait-first", 0.2, lambda: runs.append(1.0), wait_first=True)
    loop.start()
    await asyncio.sleep(0.05)
    assert runs == []  # not at start
    await eventually(lambda: runs, timeout=5.0, interval=0.01, what="the first run")
    await loop.stop()
    eager = Periodic("test-eager", 10.0, lambda: runs.append(2.0))
    eager.start()
    await asyncio.sleep(0.05)
    await eager.stop()
    assert runs == [1.0, 2.0]  # the default runs at once, long before its 10 s interval


async def test_keyed_locks_serialise_one_key_let_others_run_and_forget_idle_keys() -> None:
    locks = KeyedLocks()
    order: list[str] = []

    async def work(key: str, name: str, pause: float) -> None:
        async with locks.hold(key):
            order.append(f"{name}+")
            await asyncio.sleep(pause)
            order.append(f"{name}-")

    await asyncio.gather(work("a", "a1", 0.05), work("a", "a2", 0.0), work("b", "b1", 0.0))
    assert order.index("a1-") < order.index("a2+")  # one key: one at a time, in arrival order
    assert order.index("b1-") < order.index("a1-")  # another key did not wait
    assert len(locks) == 0  # no lock kept for a key nobody holds
    with contextlib.suppress(RuntimeError):
        async with locks.hold("c"):
            raise RuntimeError("the work failed")
    assert len(locks) == 0


async def test_a_run_that_returns_a_delay_sets_when_the_next_one_runs() -> None:
    runs: list[float] = []
    loop_time = asyncio.get_running_loop().time

    def work() -> Delay | None:
        runs.append(loop_time())
        return Delay(0.3) if len(runs) == 1 else None  # a back-off once, then the interval again

    loop = Periodic("test-delay", 0.01, work)
    loop.start()
    await eventually(lambda: len(runs) >= 3, timeout=5.0, interval=0.01, what="three runs")
    await loop.stop()
    assert runs[1] - runs[0] >= 0.3  # after the returned delay, not the 0.01 s interval
    assert runs[2] - runs[1] < 0.3


async def test_an_expected_failure_is_logged_as_a_warning_with_its_message(caplog: pytest.LogCaptureFixture) -> None:
    async def work() -> None:
        raise Unavailable("the registry is not reachable")

    loop = Periodic("test-warning", 10.0, work)
    with caplog.at_level(logging.WARNING, logger="vapora.aio"):
        loop.start()
        await asyncio.sleep(0.05)
        await loop.stop()
    (record,) = [r for r in caplog.records if "test-warning" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert "the registry is not reachable" in record.getMessage()
    assert record.exc_info is None  # a message, not a traceback


async def test_stop_ends_a_loop_whose_run_turns_its_cancellation_into_an_error() -> None:
    started = asyncio.Event()

    async def swallows() -> None:
        started.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            raise RuntimeError("cleaned up and raised something else") from None

    loop = Periodic("test-swallow", 0.01, swallows)
    loop.start()
    await started.wait()
    await asyncio.wait_for(loop.stop(), 2)
