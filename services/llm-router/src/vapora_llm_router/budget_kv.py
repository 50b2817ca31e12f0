"""Budget states in JetStream KV, shared by every llm-router replica.

One key per role in the bucket ``budget-windows`` (``role.<role>``), holding the state of each of
its windows (``{"weekly:2026-11-30": state, "monthly:2026-12-01": state}``), so a call's
reservation on both of a role's windows is one write; one key per task in ``budget-tasks``
(``task.<task id>``, ``{"task": state}``). Keys are :func:`vapora_core.kv.key`; the buckets are
``vapora_core.bus.topology.BUCKETS``. A state is ``{"spent_cents", "spent_tokens", "used_at",
"forget_after_s", "holds": {id: [cents, tokens, expires, replica]}}``. A window's state no one has
used for as long as its bucket keeps a key is of a window that has ended, and is dropped.

Every change is a compare-and-set of its key through :class:`vapora_core.kv.Changes`, so the
changes concurrent calls of this process make to one key share a write; a lost race reads again
and applies the ops again (:mod:`.budget_state`: each sees whether it is applied already). What is
posted (:meth:`KvStates.post`: a call's settlement) goes first in the next write of its key, or in
one of its own ``linger_s`` after it was posted. Reads come from a
:class:`vapora_core.kv_view.View` of each bucket, decoded once per revision.

A value that is not a set of states fails every change of its key with
:class:`~vapora_core.errors.Internal` naming the key and what is wrong (it is never overwritten:
fix or delete it); reads count it as empty, and say so in the log once.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from nats.js import JetStreamContext

from vapora_core import kv
from vapora_core.bus.topology import BUCKETS
from vapora_core.errors import Internal, Unavailable, VaporaError
from vapora_core.kv_view import View
from vapora_llm_router.budget_state import Hold, Op, Result, State, apply

log = logging.getLogger("vapora.llm_router")

ROLE, TASK = "role", "task"  # the first part of an account's key (budget.role_key, budget.task_key)
States = dict[str, State]  # one key's states: window (or "task") -> state
Ops = tuple[tuple[str, Op], ...]  # one caller's ops on one key: (window or "task", op)
Applied = tuple[bytes | None, list[list[Result]]]  # a key's new value (None: as it was), each caller's results
PARSED = 4096  # keys whose last value a process keeps parsed
KEEP_S = {ROLE: BUCKETS.BUDGET_WINDOWS.ttl_s, TASK: BUCKETS.BUDGET_TASKS.ttl_s}
Groups = list[tuple[tuple[str, str], list[tuple[int, str, Op]]]]  # (bucket, key) -> (index, state, op)
Outcome = list[Result] | VaporaError  # what one caller's ops on one key came to


@functools.lru_cache(maxsize=PARSED)
def where(key: str) -> tuple[str, str, str]:
    """An account key's bucket (role or task), KV key and state within it (a few of them are in use
    at a time, and every change and read asks: remembered)."""
    kind, _, rest = key.partition(":")
    if kind == TASK:
        return TASK, kv.key(TASK, rest), TASK
    role, window, start = rest.rsplit(":", 2)
    return ROLE, kv.key(ROLE, role), f"{window}:{start}"


class KvStates:
    """Account states in the budget buckets (see the module docstring)."""

    def __init__(
        self, windows: kv.Bucket, tasks: kv.Bucket, *, clock: Callable[[], float] = time.time, linger_s: float = 0.0
    ) -> None:
        self._clock = clock
        self.linger_s = linger_s  # how long a posted change may wait for the next write of its key
        self.views = {ROLE: View(windows), TASK: View(tasks)}
        self._changes = {
            kind: kv.Changes[Ops, list[Result]](view.bucket, self._applier(kind), cache=view)
            for kind, view in self.views.items()
        }
        self._decoded: dict[str, tuple[int, States | None]] = {}  # the view's entries, by revision
        self._parsed: dict[str, tuple[bytes, States]] = {}  # what the last change of a key saw or wrote
        self._bad: set[tuple[str, int]] = set()

    @classmethod
    async def open(
        cls, js: JetStreamContext, *, replicas: int = 1, clock: Callable[[], float] = time.time, linger_s: float = 0.0
    ) -> KvStates:
        """The two buckets (declared to their spec), watched; :meth:`stop` ends the watches."""
        windows = await kv.Bucket.open(js, BUCKETS.BUDGET_WINDOWS, replicas=replicas)
        tasks = await kv.Bucket.open(js, BUCKETS.BUDGET_TASKS, replicas=replicas)
        states = cls(windows, tasks, clock=clock, linger_s=linger_s)
        for view in states.views.values():
            await view.start()
        return states

    async def stop(self) -> None:
        for view in self.views.values():
            await view.stop()

    def get(self, key: str) -> State | None:
        kind, name, sub = where(key)
        entry = self.views[kind].get(name)
        if entry is None:
            return None
        cached = self._decoded.get(name)
        if cached is None or cached[0] != entry.revision:
            try:
                last = self._parsed.get(name)  # this process's own last write, usually: not read again
                cached = (
                    entry.revision,
                    last[1] if last is not None and last[0] == entry.value else decode(entry.value),
                )
            except ValueError as exc:
                if (name, entry.revision) not in self._bad:
                    self._bad.add((name, entry.revision))
                    log.error("budget key %s (revision %d) does not read: %s", name, entry.revision, exc)
                cached = (entry.revision, None)
            self._decoded[name] = cached
        return cached[1].get(sub) if cached[1] is not None else None

    async def apply(self, changes: Sequence[tuple[str, Op]]) -> list[Result | VaporaError]:
        """Every change at once; the changes of one key (a role's two windows) go as one."""

        async def one(kind: str, name: str, ops: list[tuple[int, str, Op]]) -> Outcome:
            try:
                return list(await self._changes[kind].submit(name, tuple((sub, op) for _, sub, op in ops)))
            except VaporaError as exc:
                return exc

        groups = _groups(changes)
        if len(groups) == 1:  # the common case, a role's windows: no task to gather
            outcomes = [await one(*groups[0][0], groups[0][1])]
        else:
            outcomes = await asyncio.gather(*(one(kind, name, ops) for (kind, name), ops in groups))
        out: list[Result | VaporaError] = [None] * len(changes)
        for (_, ops), got in zip(groups, outcomes, strict=True):
            _fill(out, ops, got)
        return out

    def post(self, changes: Sequence[tuple[str, Op]]) -> asyncio.Future[list[Result | VaporaError]]:
        """As :meth:`apply`, without waiting: each key's changes go first in its next write, or in one
        of their own :attr:`linger_s` after they were posted (see :meth:`vapora_core.kv.Changes.post`)."""
        done: asyncio.Future[list[Result | VaporaError]] = asyncio.get_running_loop().create_future()
        out: list[Result | VaporaError] = [None] * len(changes)
        groups = _groups(changes)
        left = [len(groups)]

        def landed(ops: list[tuple[int, str, Op]], posted: asyncio.Future[Outcome]) -> None:
            cancelled = posted.cancelled()
            _fill(out, ops, Unavailable("a posted budget change was cancelled") if cancelled else posted.result())
            left[0] -= 1
            if not left[0] and not done.done():
                done.set_result(out)

        for (kind, name), ops in groups:
            posted = self._changes[kind].post(name, tuple((sub, op) for _, sub, op in ops), linger_s=self.linger_s)
            posted.add_done_callback(functools.partial(landed, ops))
        if not groups:
            done.set_result(out)
        return done

    async def flush(self) -> None:
        """Write what was posted now (on stop); return once it is written or failed."""
        await asyncio.gather(*(changes.flush() for changes in self._changes.values()))

    def _applier(
        self, kind: str
    ) -> Callable[[str, bytes | None, Sequence[Ops]], tuple[bytes | None, list[list[Result]]]]:
        def change(name: str, value: bytes | None, batch: Sequence[Ops]) -> tuple[bytes | None, list[list[Result]]]:
            now = self._clock()
            try:
                before = self._parse(name, value)
            except ValueError as exc:
                why = f"budget key {name} holds a value that is not account states ({exc}): fix or delete it"
                raise Internal(why) from None
            states: States = dict(before)
            results: list[list[Result]] = []
            for ops in batch:
                results.append([])
                for sub, op in ops:
                    state, result = apply(states.get(sub), op, now)
                    if state is not None and (sub in states or state != State()):
                        states[sub] = state
                    results[-1].append(result)
            for sub, state in list(states.items()):
                if now - state.used_at >= KEEP_S[kind] and not state.live(now).holds:
                    del states[sub]  # a window that has ended
            if states == before:
                return None, results
            raw = encode(states)
            self._parsed[name] = (raw, states)
            return raw, results

        return change

    def _parse(self, name: str, value: bytes | None) -> States:
        """``value`` decoded; the same bytes as this process last wrote or read there are not read
        again (the states are never changed in place)."""
        if value is None:
            return {}
        last = self._parsed.get(name)
        if last is not None and last[0] == value:
            return last[1]
        states = decode(value)
        self._parsed[name] = (value, states)
        if len(self._parsed) > PARSED:
            del self._parsed[next(iter(self._parsed))]
        return states

    def forget_idle(self) -> None:
        """Drop from the task view the accounts that are forgotten (idle past their time, holding
        nothing): the bucket's TTL removes them later without a word to a watch."""
        now = self._clock()
        view = self.views[TASK]
        for name in view.keys():  # noqa: SIM118 - a View is not a dict
            entry = view.get(name)
            try:
                state = decode(entry.value).get(TASK) if entry is not None else None
            except ValueError:
                continue
            forgotten = state is not None and state.live(now) == State(forget_after_s=state.forget_after_s)
            if state is not None and state.forget_after_s is not None and forgotten:
                view.drop(name)
                self._decoded.pop(name, None)


def _groups(changes: Sequence[tuple[str, Op]]) -> Groups:
    """``changes`` by the KV key they change (a role's windows share one), each with its index."""
    by_key: dict[tuple[str, str], list[tuple[int, str, Op]]] = {}
    for i, (key, op) in enumerate(changes):
        kind, name, sub = where(key)
        by_key.setdefault((kind, name), []).append((i, sub, op))
    return list(by_key.items())


def _fill(out: list[Result | VaporaError], ops: list[tuple[int, str, Op]], got: Outcome) -> None:
    """Each op's result (or the error that failed its write) in its place of ``out``."""
    for n, (i, _, _) in enumerate(ops):
        out[i] = got if isinstance(got, VaporaError) else got[n]


# -- JSON ---------------------------------------------------------------------------------


def encode(states: Mapping[str, State]) -> bytes:
    return json.dumps({sub: _doc(s) for sub, s in states.items()}, separators=(",", ":"), allow_nan=False).encode()


def _doc(state: State) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "spent_cents": state.spent_cents,
        "spent_tokens": state.spent_tokens,
        "used_at": state.used_at,
        "holds": {i: [h.cents, h.tokens, h.expires, h.replica] for i, h in state.holds.items()},
    }
    if state.forget_after_s is not None:
        doc["forget_after_s"] = state.forget_after_s
    return doc


def decode(raw: bytes) -> States:
    """The states in ``raw``; ``ValueError`` saying what is wrong with a value that is not states."""
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    return {str(sub): _state(str(sub), s) for sub, s in doc.items()}


def _state(sub: str, doc: Any) -> State:
    if not isinstance(doc, dict):
        raise ValueError(f"{sub} is not an object")
    holds = doc.get("holds", {})
    if not isinstance(holds, dict):
        raise ValueError(f"{sub}: holds is not an object")
    forget = doc.get("forget_after_s")
    return State(
        spent_cents=_number(doc.get("spent_cents", 0), f"{sub}: spent_cents"),
        spent_tokens=int(_number(doc.get("spent_tokens", 0), f"{sub}: spent_tokens")),
        used_at=_number(doc.get("used_at", 0), f"{sub}: used_at"),
        forget_after_s=None if forget is None else _number(forget, f"{sub}: forget_after_s"),
        holds={str(i): _hold(f"{sub}: hold {i}", h) for i, h in holds.items()},
    )


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} is {value!r}, not a number >= 0")
    return float(value)


def _hold(name: str, raw: Any) -> Hold:
    if not (isinstance(raw, list) and len(raw) == 4 and isinstance(raw[3], str)):
        raise ValueError(f"{name} is {raw!r}, not [cents, tokens, expires, replica]")
    cents, tokens, expires = (_number(raw[i], f"{name}: {n}") for i, n in enumerate(("cents", "tokens", "expires")))
    return Hold(cents, int(tokens), expires, raw[3])
