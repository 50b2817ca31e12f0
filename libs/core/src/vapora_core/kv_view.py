"""A bucket's keys as last seen, for synchronous reads: its watch, and this process's own writes.

The :class:`~vapora_core.kv.Cache` of :class:`~vapora_core.kv.Changes` where every replica must read
what the others wrote without waiting (the router's budget windows: routing reads them on every
request). See :mod:`vapora_core.kv`.
"""

from __future__ import annotations

import logging
from typing import Any

from nats.js.kv import KeyValue

from vapora_core.aio import Periodic
from vapora_core.kv import NATS_ERRORS, Bucket, Entry, error

log = logging.getLogger("vapora.kv")


class View:
    """Every key of a bucket as last seen: its watch, and what this process wrote or read (the
    higher revision wins). :meth:`start` returns once the bucket's current values are in. A key that
    expires (the bucket's TTL) leaves no trace in a watch: :meth:`drop` forgets what is known to be
    stale. A view may lag a little behind the bucket; a compare-and-set never trusts it blindly."""

    def __init__(self, bucket: Bucket) -> None:
        self.bucket = bucket
        self._entries: dict[str, Entry] = {}
        self._watcher: Any = None  # nats-py's KeyWatcher, whose methods carry no annotations
        # one run follows the watch until it ends; a run that fails is logged and started again
        self._loop = Periodic(f"kv-view-{bucket.name}", 1.0, self._follow)

    def get(self, key: str) -> Entry | None:
        return self._entries.get(key)

    def put(self, entry: Entry) -> None:
        current = self._entries.get(entry.key)
        if current is None or entry.revision > current.revision:
            self._entries[entry.key] = entry

    def drop(self, key: str) -> None:
        self._entries.pop(key, None)

    def keys(self) -> list[str]:
        return list(self._entries)

    async def start(self, timeout: float = 10.0) -> None:
        what = f"the watch of bucket {self.bucket.name}"
        try:
            self._watcher = await self.bucket.watch()
            while (update := await self._update(timeout)) is not None:
                self._take(update)
        except NATS_ERRORS as exc:
            raise error(exc, what) from exc
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
        if self._watcher is not None:
            watcher, self._watcher = self._watcher, None
            try:
                await watcher.stop()
            except NATS_ERRORS as exc:  # the connection went first
                log.debug("stopping %s: %r", self._loop.name, exc)

    async def _follow(self) -> None:
        """Every update as it comes (the watch's own iterator: no timer per update)."""
        if self._watcher is None:
            return
        async for update in self._watcher:
            if update is not None:
                self._take(update)

    async def _update(self, timeout: float) -> KeyValue.Entry | None:
        """The watch's next update; None once the values the bucket held at the start are all in."""
        update: KeyValue.Entry | None = await self._watcher.updates(timeout=timeout)
        return update

    def _take(self, update: KeyValue.Entry) -> None:
        revision = update.revision or 0
        if update.operation in ("DEL", "PURGE"):
            current = self._entries.get(update.key)
            if current is not None and current.revision < revision:
                del self._entries[update.key]
            return
        self.put(Entry(update.key, update.value or b"", revision))
