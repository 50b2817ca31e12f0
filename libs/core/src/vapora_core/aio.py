"""Background work that stops cleanly: one way to run a loop beside a service and end it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any

from vapora_core.errors import VaporaError

log = logging.getLogger("vapora.aio")


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` and wait until it has finished; a task already done is left as it is."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def finish_within(tasks: list[asyncio.Task[Any]], grace: float) -> None:
    """Let ``tasks`` finish for up to ``grace`` seconds, then cancel the ones still running."""
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=grace)
    for task in pending:
        task.cancel()


@dataclass(frozen=True, slots=True)
class Delay:
    """What a :class:`Periodic`'s function returns to be run next after ``seconds`` rather than
    after the loop's interval (a back-off while something is pending, a reconnect's)."""

    seconds: float


class Periodic:
    """Runs ``fn`` every ``interval`` seconds until stopped: at once on start, or first after one
    interval (``wait_first``, for work that start-up has just done). A run that returns a
    :class:`Delay` is followed by the next one after that delay instead.

    A run that raises is logged (an expected failure, a :class:`VaporaError`, as a warning with
    its message; anything else with its traceback) and the loop goes on after one interval: one
    failed sweep, poll or check must not end the work of a long-running service.
    """

    def __init__(
        self, name: str, interval: float, fn: Callable[[], Awaitable[Any] | Any], *, wait_first: bool = False
    ) -> None:
        self.name = name
        self.interval = interval
        self._fn = fn
        self._wait_first = wait_first
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    async def _run(self) -> None:
        me = asyncio.current_task()
        if self._wait_first:
            await asyncio.sleep(self.interval)
        while True:
            delay = self.interval
            try:
                result = self._fn()
                if isinstance(result, Awaitable):
                    result = await result
                if isinstance(result, Delay):
                    delay = result.seconds
            except VaporaError as exc:
                log.warning("%s failed; trying again in %gs: %s", self.name, self.interval, exc)
            except Exception:
                log.exception("%s failed; trying again in %gs", self.name, self.interval)
            if me is not None and me.cancelling():
                raise asyncio.CancelledError  # stop() came while a run turned its cancellation into an error
            await asyncio.sleep(delay)

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None


class KeyedLocks:
    """One :class:`asyncio.Lock` per key, kept only while a task holds or waits for it: work on one
    key (one task's read model, one agent's profile) runs one at a time, other keys at once."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    def __len__(self) -> int:
        return len(self._locks)

    @contextlib.asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            _, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)
