"""Changes of a bucket's keys from every caller of a process, one compare-and-set per key at a time.

Part of :mod:`vapora_core.kv` (which names :class:`Changes`, :class:`Cache` and :class:`Recent`,
and whose docstring says what they do); here so that neither module grows past its size.
"""

from __future__ import annotations

import asyncio
import functools
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from vapora_core.batching import Batcher
from vapora_core.errors import Internal, VaporaError

if TYPE_CHECKING:
    from vapora_core.kv import Bucket, Entry

QUEUES = 1024  # per-key queues a Changes keeps for keys in use
R = TypeVar("R")
Op = TypeVar("Op")


class Cache(Protocol):
    """Where :class:`Changes` finds the revision to try first, and leaves what it wrote."""

    def get(self, key: str) -> Entry | None: ...

    def put(self, entry: Entry) -> None: ...


class Recent:
    """The last ``size`` entries a process read or wrote, least recently used dropped first."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._entries: OrderedDict[str, Entry] = OrderedDict()

    def get(self, key: str) -> Entry | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, entry: Entry) -> None:
        current = self._entries.get(entry.key)
        if current is None or entry.revision > current.revision:
            self._entries[entry.key] = entry
        self._entries.move_to_end(entry.key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)


class Changes(Generic[Op, R]):
    """Changes of a bucket's keys from every caller of this process, one compare-and-set per key at a
    time. ``apply(key, value, ops)`` (``value`` None: the key holds nothing) gives the new value (None:
    leave it) and one result per op, in order; it may run again on a newer value (see
    :mod:`vapora_core.kv`). A write that fails fails every op that was in it (they cannot fail alone, and under an
    outage a retry of each would multiply the wait). Posted ops (:meth:`post`) go first in a write."""

    def __init__(
        self,
        bucket: Bucket,
        apply: Callable[[str, bytes | None, Sequence[Op]], tuple[bytes | None, Sequence[R]]],
        *,
        cache: Cache | None = None,
    ) -> None:
        self.bucket = bucket
        self.cache: Cache = cache if cache is not None else Recent()
        self._apply = apply
        self._queues: OrderedDict[str, Batcher[Op, R | VaporaError]] = OrderedDict()  # the keys used last
        self._posted: dict[str, list[tuple[Op, asyncio.Future[R | VaporaError]]]] = {}  # waiting for a write
        self._lingers: dict[str, asyncio.TimerHandle] = {}
        self._unwritten: set[asyncio.Future[R | VaporaError]] = set()  # posted, not yet written
        self._flushes: set[asyncio.Task[None]] = set()

    def _queue(self, key: str) -> Batcher[Op, R | VaporaError]:
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = Batcher(functools.partial(self._write, key), name=f"kv-{self.bucket.name}")
            if len(self._queues) > QUEUES:  # a queue let go finishes what it holds; a new one is made if needed
                self._queues.popitem(last=False)
        else:
            self._queues.move_to_end(key)
        return queue

    async def submit(self, key: str, op: Op) -> R:
        """Apply ``op`` to ``key``, with the ops other callers submitted meanwhile; its result."""
        got = await self._queue(key).submit(op)
        if isinstance(got, VaporaError):  # pragma: no cover - Batcher.submit raises a returned error
            raise got
        return got

    def post(self, key: str, op: Op, *, linger_s: float = 0.0) -> asyncio.Future[R | VaporaError]:
        """Queue ``op`` for ``key`` and return at once: it goes first in the next write of the key, or
        in one of its own ``linger_s`` after the first op posted there since its last write. The
        future gets its result, or the error that failed its write (never raised: nobody may wait)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R | VaporaError] = loop.create_future()
        self._posted.setdefault(key, []).append((op, future))
        self._unwritten.add(future)
        future.add_done_callback(self._unwritten.discard)
        if key not in self._lingers:
            self._lingers[key] = loop.call_later(linger_s, self._start_flush, key)
        return future

    async def flush(self) -> None:
        """Write every posted op now; return once all of them are written (or failed)."""
        for key in list(self._posted):
            self._start_flush(key)
        if self._unwritten:
            await asyncio.wait(list(self._unwritten))

    def _start_flush(self, key: str) -> None:
        timer = self._lingers.pop(key, None)
        if timer is not None:
            timer.cancel()
        task = asyncio.get_running_loop().create_task(self._flush(key), name=f"kv-{self.bucket.name}-posted")
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def _flush(self, key: str) -> None:
        """The posted ops of ``key`` written, unless a write took them meanwhile."""
        posted = self._take_posted(key)
        if not posted:
            return
        outcomes = await self._queue(key).submit_many([op for op, _ in posted])
        for (_, future), got in zip(posted, outcomes, strict=True):
            if not future.done():
                future.set_result(_vapora(got, self._what(key)))

    def _take_posted(self, key: str) -> list[tuple[Op, asyncio.Future[R | VaporaError]]]:
        timer = self._lingers.pop(key, None)
        if timer is not None:
            timer.cancel()
        return self._posted.pop(key, [])

    def _what(self, key: str) -> str:
        return f"key {key} of bucket {self.bucket.name}"

    async def _write(self, key: str, ops: list[Op]) -> list[R | VaporaError]:
        posted = self._take_posted(key)
        every = [op for op, _ in posted] + ops if posted else ops
        try:
            results, entry = await self.bucket.change(
                key, lambda value: self._apply(key, value, every), known=self.cache.get(key)
            )
        except asyncio.CancelledError:
            for _, future in posted:
                future.cancel()
            raise
        except Exception as exc:
            failed = _vapora(exc, self._what(key))
            for _, future in posted:
                if not future.done():
                    future.set_result(failed)
            if not isinstance(exc, VaporaError):
                raise
            return [exc] * len(ops)
        if entry is not None:
            self.cache.put(entry)
        for (_, future), result in zip(posted, results, strict=False):
            if not future.done():
                future.set_result(result)
        return list(results[len(posted) :])


def _vapora(got: R | Exception, what: str) -> R | VaporaError:
    """A batch's outcome for a posted op: its result, its error, or a bug's as :class:`Internal`."""
    if isinstance(got, VaporaError) or not isinstance(got, Exception):
        return got
    return Internal(f"{what}: {type(got).__name__}: {got}")
