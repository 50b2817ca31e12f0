"""Budget states in JetStream KV, shared by every llm-router replica.

Role windows live in the bucket ``budget-windows``, tasks in ``budget-tasks``
(``vapora_core.bus.topology.BUCKETS``), one key per account: its key's parts
(``role.developer.weekly.2026-11-30``, ``task.t-7``; :func:`vapora_core.kv.key`). Every change is
a compare-and-set of that key through :class:`vapora_core.kv.Changes`, so the changes concurrent
calls of this process make to one key share a write; a lost race reads again and applies the ops
again (:mod:`.budget_state`: each sees whether it is applied already). Reads come from a
:class:`vapora_core.kv_view.View` of each bucket, decoded once per revision.

A value that is not a state fails every change of its account with
:class:`~vapora_core.errors.Internal` naming the key and what is wrong (it is never overwritten:
fix or delete it); reads count it as empty, and say so in the log once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

from nats.js import JetStreamContext

from vapora_core import kv
from vapora_core.bus.topology import BUCKETS
from vapora_core.errors import Internal, VaporaError
from vapora_core.kv_view import View
from vapora_llm_router.budget_state import Op, Result, State, apply, decode, encode

log = logging.getLogger("vapora.llm_router")

ROLE, TASK = "role", "task"  # the first part of an account's key (budget.role_key, budget.task_key)


class KvStates:
    """Account states in the budget buckets (see the module docstring)."""

    def __init__(self, windows: kv.Bucket, tasks: kv.Bucket, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.views = {ROLE: View(windows), TASK: View(tasks)}
        self._changes = {
            scope: kv.Changes[Op, Result](view.bucket, self._apply, cache=view) for scope, view in self.views.items()
        }
        self._decoded: dict[str, tuple[int, State | None]] = {}
        self._bad: set[tuple[str, int]] = set()

    @classmethod
    async def open(cls, js: JetStreamContext, *, replicas: int = 1, clock: Callable[[], float] = time.time) -> KvStates:
        """The two buckets (declared to their spec), watched; :meth:`stop` ends the watches."""
        windows = await kv.Bucket.open(js, BUCKETS.BUDGET_WINDOWS, replicas=replicas)
        tasks = await kv.Bucket.open(js, BUCKETS.BUDGET_TASKS, replicas=replicas)
        states = cls(windows, tasks, clock=clock)
        for view in states.views.values():
            await view.start()
        return states

    async def stop(self) -> None:
        for view in self.views.values():
            await view.stop()

    @staticmethod
    def _where(key: str) -> tuple[str, str]:
        parts = key.split(":")
        scope = TASK if parts[0] == TASK else ROLE
        return scope, kv.key(*parts)

    def get(self, key: str) -> State | None:
        scope, name = self._where(key)
        entry = self.views[scope].get(name)
        if entry is None:
            return None
        cached = self._decoded.get(name)
        if cached is not None and cached[0] == entry.revision:
            return cached[1]
        try:
            state: State | None = decode(entry.value)
        except ValueError as exc:
            if (name, entry.revision) not in self._bad:
                self._bad.add((name, entry.revision))
                log.error("budget key %s (revision %d) is not an account state: %s", name, entry.revision, exc)
            state = None
        self._decoded[name] = (entry.revision, state)
        return state

    async def apply(self, changes: Sequence[tuple[str, Op]]) -> list[Result | VaporaError]:
        """Every change at once, each on its own key."""

        async def one(key: str, op: Op) -> Result | VaporaError:
            scope, name = self._where(key)
            try:
                return await self._changes[scope].submit(name, op)
            except VaporaError as exc:
                return exc

        return list(await asyncio.gather(*(one(k, op) for k, op in changes)))

    def _apply(self, name: str, value: bytes | None, ops: Sequence[Op]) -> tuple[bytes | None, list[Result]]:
        now = self._clock()
        try:
            before = decode(value) if value is not None else None
        except ValueError as exc:
            why = f"budget key {name} holds a value that is not an account state ({exc}): fix or delete it"
            raise Internal(why) from None
        state, results = before, []
        for op in ops:
            state, result = apply(state, op, now)
            results.append(result)
        if state is None or state == (before or State()):
            return None, results
        return encode(state), results

    def forget_idle(self) -> None:
        """Drop from the task view the accounts that are forgotten (idle past their time, holding
        nothing): the bucket's TTL removes them later without a word to a watch."""
        now = self._clock()
        view = self.views[TASK]
        for name in view.keys():  # noqa: SIM118 - a View is not a dict
            entry = view.get(name)
            if entry is None:
                continue
            try:
                state = decode(entry.value)
            except ValueError:
                continue
            if state.forget_after_s is not None and state.live(now) == State(forget_after_s=state.forget_after_s):
                view.drop(name)
                self._decoded.pop(name, None)
