"""The task dump follows a task's await chain to what it is parked on, keeping the innermost frames."""

from __future__ import annotations

import asyncio

from vapora_core.taskdump import FRAMES, awaiting, dump_tasks


async def _leaf(never: asyncio.Event) -> None:
    await never.wait()


async def _deep(n: int, never: asyncio.Event) -> None:
    if n == 0:
        await _leaf(never)
    else:
        await _deep(n - 1, never)


async def test_a_deep_chain_keeps_its_innermost_frames_and_counts_the_rest() -> None:
    never = asyncio.Event()
    task = asyncio.create_task(_deep(FRAMES + 8, never), name="deep-job")
    await asyncio.sleep(0)
    try:
        chain = awaiting(task.get_coro())
        assert len(chain) == FRAMES + 1
        # FRAMES + 9 frames of _deep, _leaf, Event.wait and the future it waits on: 12 more than are kept
        assert chain[0] == "(12 outer frames left out)"
        assert "in _leaf" in chain[-3] and "in wait" in chain[-2] and chain[-1].startswith("waiting on")
        assert "- deep-job: _deep" in dump_tasks()
    finally:
        never.set()
        await task
