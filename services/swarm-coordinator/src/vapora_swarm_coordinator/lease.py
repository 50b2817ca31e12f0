"""The coordinator lease: which of the swarm-coordinator processes is the active one.

One key (``active``) of the ``coordinator-lease`` bucket (:mod:`vapora_core.kv`), whose value names
its holder. With ``ttl`` the lease TTL (``VAPORA_LEASE_TTL_S``):

- **Acquire.** A contender creates the key if it holds nothing (the first coordinator, or after a
  graceful release). If it holds a value, the contender notes its revision and when it saw it; once
  it has seen the same revision for ``ttl`` on its own clock, it writes itself over that revision by
  compare-and-set (a renewal that landed meanwhile makes the write lose: it stays standby). A
  standby looks every ``ttl / 6``, so it takes over within ``ttl`` + 2 × ``ttl / 6`` of the last
  renewal of a dead holder (:func:`takeover_bound_s`). No clocks are compared across processes.
- **Hold.** The holder renews by compare-and-set every ``ttl / 3``. Its lease is valid until ``ttl``
  after it *sent* its last successful renewal (its deadline); a contender cannot have taken over
  before that, since it saw that revision only once it was stored. A renewal that JetStream does
  not answer is tried again until the deadline; a lost race (someone else's revision) ends the lease
  at once. :meth:`Lease.keep` returns when the lease is lost.
- **Fence.** :meth:`Lease.check` (a clock comparison) raises :class:`LeaseLost` once the deadline has
  passed, also when no renewal could run (a process paused by SIGSTOP or a long GC, its loop
  stalled): the coordinator's repositories call it before each write.
- **Release.** A holder that stops deletes the key over its revision: a standby takes over at its next look.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable

from vapora_core import kv
from vapora_core.errors import AlreadyExists, Conflict, Unavailable

log = logging.getLogger("vapora.coordinator.lease")

KEY = "active"
RETRY_S = 0.2  # a renewal JetStream did not answer is tried again this soon (within the deadline)


class LeaseLost(Unavailable):
    """This coordinator does not hold the lease (any more): it must not write; another one will."""

    code = "lease_lost"


def takeover_bound_s(ttl_s: float) -> float:
    """How long after the last renewal of a holder that died a standby holds the lease, at most."""
    return ttl_s + 2 * ttl_s / 6


def holder_id() -> str:
    """This process's name in the lease: host, pid and a random part (a pid can be reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Lease:
    def __init__(
        self, bucket: kv.Bucket, holder: str, ttl_s: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.bucket = bucket
        self.holder = holder
        self.ttl_s = ttl_s
        self.renew_s = ttl_s / 3
        self.poll_s = ttl_s / 6
        self.clock = clock
        self._value = json.dumps({"holder": holder, "ttl_s": ttl_s}).encode()
        self._revision: int | None = None
        self._deadline = 0.0
        self._seen: tuple[int, float] | None = None  # a holder's revision, and when this process first saw it

    @property
    def held(self) -> bool:
        return self._revision is not None and self.clock() < self._deadline

    def check(self) -> None:
        """Raise :class:`LeaseLost` unless the lease is held and its deadline has not passed."""
        if not self.held:
            raise LeaseLost(f"swarm-coordinator {self.holder} does not hold the coordinator lease; not writing")

    async def try_acquire(self) -> bool:
        """One look at the lease (see the module docstring); whether this process holds it now."""
        sent = self.clock()
        entry = await self.bucket.get(KEY)
        try:
            if entry is None:
                revision = await self.bucket.create(KEY, self._value)
            elif self._seen is None or self._seen[0] != entry.revision:
                self._seen = (entry.revision, self.clock())
                return False
            elif self.clock() - self._seen[1] < self.ttl_s:
                return False
            else:
                revision = await self.bucket.update(KEY, self._value, revision=entry.revision)
        except (AlreadyExists, Conflict):
            self._seen = None
            return False
        self._revision, self._deadline, self._seen = revision, sent + self.ttl_s, None
        log.info("holding the coordinator lease as %s (revision %d)", self.holder, revision)
        return True

    async def acquire(self) -> None:
        """Look every ``ttl / 6`` until this process holds the lease."""
        while True:
            try:
                if await self.try_acquire():
                    return
            except Unavailable as exc:
                log.warning("cannot look at the coordinator lease: %s", exc)
            await asyncio.sleep(self.poll_s)

    async def keep(self) -> str:
        """Renew the lease every ``ttl / 3`` until it is lost; why it was lost."""
        last = self.clock()
        while True:
            await asyncio.sleep(max(0.0, last + self.renew_s - self.clock()))
            sent = self.clock()
            if self._revision is None:
                return "released"
            if sent >= self._deadline:
                return self._lost(f"not renewed within {self.ttl_s:g} s")
            try:
                if not await self.renew():
                    return self._lost("another coordinator holds it")
                last = sent
            except (Unavailable, TimeoutError) as exc:
                log.warning("renewing the coordinator lease failed (%s); trying again until its deadline", exc)
                last = sent - self.renew_s + RETRY_S

    async def renew(self) -> bool:
        """One renewal over the revision held, given up at the deadline (TimeoutError); False when another
        process holds the key. After a lost race the key may hold this process's own write whose answer
        was lost: its revision is adopted (the deadline kept) and the renewal made over it."""
        for _ in range(2):
            sent, revision = self.clock(), self._revision
            if revision is None:
                return False
            try:
                new = await asyncio.wait_for(
                    self.bucket.update(KEY, self._value, revision=revision), timeout=max(0.0, self._deadline - sent)
                )
            except Conflict:
                entry = await self.bucket.get(KEY)
                if entry is None or entry.value != self._value:
                    return False
                self._revision = entry.revision
                continue
            self._revision, self._deadline = new, sent + self.ttl_s
            return True
        return False

    def _lost(self, why: str) -> str:
        self._revision = None
        log.error("lost the coordinator lease (%s): standing down", why)
        return why

    async def release(self) -> None:
        """Delete the key if this process still holds it, so a standby takes over at once."""
        revision, self._revision = self._revision, None
        if revision is None:
            return
        try:
            await self.bucket.delete(KEY, revision=revision)
            log.info("released the coordinator lease")
        except (Conflict, Unavailable) as exc:
            log.warning("could not release the coordinator lease (%s); it expires by itself", exc)
