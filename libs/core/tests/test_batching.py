"""The one write-behind batcher: awaited and fire-and-forget items, linger, flush, close, failures."""

from __future__ import annotations

import asyncio
import logging

import pytest
from prometheus_client import REGISTRY

from vapora_core.batching import Batcher
from vapora_core.errors import Unavailable
from vapora_testing.polling import eventually


class Recorder:
    """A ``write_many`` that records each batch; items named in ``bad`` make any batch holding them fail."""

    def __init__(self, *, bad: frozenset[int] = frozenset(), delay_s: float = 0.0) -> None:
        self.batches: list[list[int]] = []
        self.bad = bad
        self.delay_s = delay_s
        self.concurrent = 0
        self.most_concurrent = 0

    async def __call__(self, items: list[int]) -> list[int]:
        self.concurrent += 1
        self.most_concurrent = max(self.most_concurrent, self.concurrent)
        try:
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            if self.bad.intersection(items):
                raise ValueError(f"refused {sorted(self.bad.intersection(items))}")
            self.batches.append(list(items))
            return [i * 10 for i in items]
        finally:
            self.concurrent -= 1

    @property
    def written(self) -> list[int]:
        return [i for batch in self.batches for i in batch]


def lost(writer: str) -> float:
    return REGISTRY.get_sample_value("vapora_write_behind_failures_total", {"writer": writer}) or 0.0


async def test_a_lingering_batch_waits_for_company_and_is_written_once_flush_at_items_wait() -> None:
    written: list[list[int]] = []

    async def write_many(items: list[int]) -> list[int]:
        written.append(list(items))
        return [i * 10 for i in items]

    batcher: Batcher[int, int] = Batcher(write_many, linger_s=60.0, flush_at=4)
    first = [asyncio.create_task(batcher.submit(i)) for i in range(2)]
    await asyncio.sleep(0.05)
    assert written == []  # lingering for company
    got = await asyncio.wait_for(asyncio.gather(*first, batcher.submit(2), batcher.submit(3)), 5)
    assert got == [0, 10, 20, 30]
    assert written == [[0, 1, 2, 3]]  # the fourth ended the linger: one batch, long before 60 s


async def test_a_batch_refused_as_a_whole_is_measured_and_so_is_each_item_written_again() -> None:
    trips: list[int] = []

    async def write_many(items: list[int]) -> list[int]:
        if len(items) > 1:
            raise ValueError("refused as a whole")
        return [items[0] * 10]

    batcher: Batcher[int, int] = Batcher(write_many, on_write=lambda n, took: trips.append(n))
    got = await asyncio.gather(*(batcher.submit(i) for i in range(3)))
    assert got == [0, 10, 20]
    assert sorted(trips) == [1, 1, 1, 3]  # the refused batch of 3, then each item alone


async def test_items_submitted_together_each_get_their_own_outcome_and_one_bad_item_fails_alone() -> None:
    write = Recorder(bad=frozenset({2}))
    batcher: Batcher[int, int] = Batcher(write)
    got = await batcher.submit_many([1, 2, 3])
    assert got[0] == 10 and got[2] == 30
    assert isinstance(got[1], ValueError) and "refused [2]" in str(got[1])
    with pytest.raises(ValueError, match=r"refused \[2\]"):
        await batcher.submit(2)
    assert sorted(write.written) == [1, 3]


async def test_one_batch_is_written_at_a_time_and_what_arrives_meanwhile_goes_in_the_next() -> None:
    write = Recorder(delay_s=0.05)
    batcher: Batcher[int, int] = Batcher(write, max_batch=3)
    first = asyncio.ensure_future(batcher.submit(0))
    await asyncio.sleep(0.01)  # the first batch is being written
    rest = await asyncio.gather(*(batcher.submit(i) for i in range(1, 8)))
    assert await first == 0
    assert rest == [i * 10 for i in range(1, 8)]
    assert write.batches == [[0], [1, 2, 3], [4, 5, 6], [7]]  # max_batch caps each one
    assert write.most_concurrent == 1


async def test_a_cancelled_caller_does_not_cancel_the_batch_its_item_is_in() -> None:
    write = Recorder(delay_s=0.05)
    batcher: Batcher[int, int] = Batcher(write)
    gone = asyncio.ensure_future(batcher.submit(1))
    stays = asyncio.ensure_future(batcher.submit(2))
    await asyncio.sleep(0.01)
    gone.cancel()
    assert await stays == 20
    assert write.batches == [[1, 2]]  # the cancelled caller's item was written all the same


async def test_yield_first_lets_callers_woken_in_the_next_turn_share_the_first_batch() -> None:
    async def shape(yield_first: bool) -> list[list[int]]:
        write = Recorder()
        batcher: Batcher[int, int] = Batcher(write, yield_first=yield_first)
        first = asyncio.ensure_future(batcher.submit(1))
        await asyncio.sleep(0)  # the first caller runs and starts the writer
        second = asyncio.ensure_future(batcher.submit(2))  # runs after the writer's first step
        await asyncio.gather(first, second)
        return write.batches

    assert await shape(yield_first=False) == [[1], [2]]
    assert await shape(yield_first=True) == [[1, 2]]


async def test_put_returns_at_once_and_its_items_are_written_together_after_the_linger() -> None:
    write = Recorder()
    batcher: Batcher[int, int] = Batcher(write, name="test-put-linger", linger_s=0.2)
    for i in range(5):
        batcher.put(i)  # returns at once: nothing to await
    await asyncio.sleep(0.05)
    assert write.batches == []  # still lingering: a write-behind queue flushed every linger_s
    await eventually(lambda: write.batches, timeout=2.0, interval=0.02, what="the lingering batch written")
    assert write.batches == [[0, 1, 2, 3, 4]]


async def test_put_items_are_written_at_once_when_flush_at_of_them_wait() -> None:
    write = Recorder()
    batcher: Batcher[int, int] = Batcher(write, name="test-put-size", linger_s=60.0, flush_at=3, max_batch=3)
    for i in range(7):
        batcher.put(i)
    await eventually(lambda: len(write.written) >= 6, timeout=5, interval=0.01, what="six items written")
    assert write.batches[:2] == [[0, 1, 2], [3, 4, 5]]  # long before the 60 s linger
    await batcher.close()
    assert write.batches == [[0, 1, 2], [3, 4, 5], [6]]


async def test_a_put_item_that_cannot_be_written_is_logged_and_counted_and_the_rest_are_written(
    caplog: pytest.LogCaptureFixture,
) -> None:
    write = Recorder(bad=frozenset({13}))
    batcher: Batcher[int, int] = Batcher(write, name="test-put-failure", linger_s=0.01)
    before = lost("test-put-failure")
    with caplog.at_level(logging.ERROR, logger="vapora.batching"):
        for i in (11, 12, 13, 14):
            batcher.put(i)  # never raises
        await batcher.flush()
    assert sorted(write.written) == [11, 12, 14]
    assert lost("test-put-failure") - before == 1
    assert any("test-put-failure" in r.getMessage() and "refused [13]" in r.getMessage() for r in caplog.records)


async def test_flush_ends_the_linger_and_returns_once_what_was_queued_is_written() -> None:
    write = Recorder()
    batcher: Batcher[int, int] = Batcher(write, name="test-flush", linger_s=60.0)
    await batcher.flush()  # nothing queued: nothing to wait for
    for i in range(3):
        batcher.put(i)
    await asyncio.wait_for(batcher.flush(), 5)
    assert write.batches == [[0, 1, 2]]
    batcher.put(3)
    await asyncio.wait_for(batcher.flush(), 5)
    assert write.batches == [[0, 1, 2], [3]]


async def test_close_writes_what_was_taken_then_refuses_new_items() -> None:
    write = Recorder(delay_s=0.02)
    batcher: Batcher[int, int] = Batcher(write, name="test-close", linger_s=60.0, max_batch=4)
    awaited = [asyncio.ensure_future(batcher.submit(i)) for i in range(6)]
    await asyncio.sleep(0)
    batcher.put(6)
    before = lost("test-close")
    await asyncio.wait_for(batcher.close(), 5)
    assert all(task.done() for task in awaited)
    assert [task.result() for task in awaited] == [i * 10 for i in range(6)]
    assert sorted(write.written) == list(range(7))  # the lingering ones too, at once
    with pytest.raises(Unavailable, match="the test-close writer is shut down"):
        await batcher.submit(7)
    batcher.put(8)  # a put is never raised to the caller: counted as lost instead
    assert lost("test-close") - before == 1
    assert sorted(write.written) == list(range(7))
