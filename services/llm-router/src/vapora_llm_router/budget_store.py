"""Where budget state lives, and the one way calls reserve, settle and release on it.

- **reserve**: before a provider is called, its worst case goes on every account the call is
  charged to (:mod:`.budget_account`: :func:`fit` says how much). Each account takes what it can pay
  of the ask (a :class:`~.budget_state.Take`), all at once; if one cannot pay the floor, the others
  give theirs back and the call gets the first refusal, in account order (the task's first); else
  every account is cut to the tightest one's size. An account never promises the same money twice,
  and a call never holds more than its tightest account can pay.
- **settle**: the call's real cost and tokens replace its reservation. :meth:`BudgetStore.settle`
  returns once that is written; :meth:`BudgetStore.settle_later` (what a call does once it has its
  answer) returns at once and the settlement goes with the next change of its accounts' keys, or on
  its own within the states' linger (:class:`~.budget_kv.KvStates`), or on :meth:`BudgetStore.flush`.
  Until it lands its reservation, never less than the call's cost unless the provider overran it,
  still counts for the other replicas; this one reads its accounts as settled.
- **release**: the reservation goes, nothing is charged (the provider failed and bills nothing).

:class:`BudgetStore` runs these over a :class:`States`, where accounts' states live:

- :class:`MemoryStates`, one process's memory, each step applied at once (no ``await`` inside),
  so atomic on the event loop: the router's unit tests, and the in-process figure of
  ``bench/bench_router.py``. Its holds never expire; idle task accounts are dropped.
- :class:`~.budget_kv.KvStates`, JetStream KV, shared by every router replica: each change of an
  account is a compare-and-set of its key (:mod:`vapora_core.kv`). Holds expire ``ttl_s`` after
  their replica last renewed them (:meth:`BudgetStore.renew`, every third of it), so a dead
  replica's reservations free their room within ``ttl_s``. What the router runs.

Reads (:meth:`BudgetStore.usage`) are synchronous snapshots, so routing and status never wait.
A settlement the store cannot take now (NATS away longer than the compare-and-set's patience) is
kept, its hold renewed, and tried again by :meth:`renew` (and :meth:`flush`) until it lands, so its
room stays held and its cost is not lost.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from vapora_core.errors import BudgetLimit, Unavailable, VaporaError
from vapora_llm_router import metrics
from vapora_llm_router.budget_account import (
    EPSILON,
    Account,
    Ask,
    Fit,
    Refusal,
    Usage,
    binds,
    fit,
)
from vapora_llm_router.budget_state import Drop, Op, Renew, Result, Seed, Settle, Shrink, State, Take, apply

__all__ = [
    "EPSILON",
    "Account",
    "Ask",
    "BudgetStore",
    "Fit",
    "MemoryBudgetStore",
    "MemoryStates",
    "Refusal",
    "Reservation",
    "States",
    "Usage",
    "binds",
    "fit",
]

log = logging.getLogger("vapora.llm_router")


@dataclass(frozen=True, slots=True, kw_only=True)
class Reservation:
    id: str
    keys: tuple[str, ...]
    cents: float
    tokens: int
    input_tokens: int
    max_tokens: int  # what the provider is asked for: the fit, not always what the caller asked
    capped_by: Account | None
    capped_limit: BudgetLimit
    limited: bool  # an account's cap binds this call: it must be stopped at its reservation
    at: float


class States(Protocol):
    def get(self, key: str) -> State | None:
        """The account's state as this process last saw it (a synchronous snapshot)."""
        ...

    async def apply(self, changes: Sequence[tuple[str, Op]]) -> list[Result | VaporaError]:
        """Each op applied to its account (each account at most once in ``changes``); one result
        each, or the error that failed it."""
        ...

    def post(self, changes: Sequence[tuple[str, Op]]) -> asyncio.Future[list[Result | VaporaError]]:
        """As :meth:`apply`, without waiting: the future gets the results once they are written."""
        ...

    async def flush(self) -> None:
        """Write what was posted now; return once it is written (or failed)."""
        ...


@dataclass(slots=True)
class _Held:
    keys: tuple[str, ...]
    expires: float


@dataclass(frozen=True, slots=True)
class _Unsettled:
    reservation: Reservation
    cents: float
    tokens: int


class BudgetStore:
    """Reservations over ``states``; ``ttl_s`` (None: never) bounds how long a hold outlives its
    replica's last renewal; ``replica`` names this process in the holds it takes."""

    def __init__(
        self,
        states: States,
        *,
        clock: Callable[[], float] = time.time,
        replica: str = "local",
        ttl_s: float | None = None,
    ) -> None:
        self.states = states
        self.replica = replica
        self.ttl_s = ttl_s
        self._clock = clock
        self._ids = itertools.count(1)
        self._held: dict[str, _Held] = {}  # this replica's live holds, for renew
        self._unsettled: dict[str, _Unsettled] = {}
        self._posted: dict[str, dict[str, _Unsettled]] = {}  # key -> id -> settlement posted, not landed
        self._landing: set[asyncio.Future[list[Result | VaporaError]]] = set()
        self._late: set[asyncio.Task[list[Result | VaporaError]]] = set()  # drops after a caller went away

    def usage(self, key: str) -> Usage:
        """The account as this replica sees it: the states' snapshot, with the settlements it posted
        that have not landed yet in place of their holds."""
        state = self.states.get(key)
        if state is None:
            return Usage()
        posted = self._posted.get(key)
        settling = {i: (u.cents, u.tokens) for i, u in posted.items()} if posted else None
        return state.usage(self._clock(), settling)

    def _expiry(self, now: float) -> float:
        return now + self.ttl_s if self.ttl_s is not None else math.inf

    async def seed(self, key: str, spent_cents: float) -> None:
        """Start a never-seen account from the usage ledger's spend (an existing one keeps its own)."""
        _raise_first(await self.states.apply([(key, Seed(spent_cents=spent_cents))]))

    async def reserve(self, accounts: Sequence[Account], ask: Ask) -> Reservation | Refusal:
        """What the accounts can pay of ``ask``, held on all of them; or the first refusal. A caller
        cancelled meanwhile leaves no hold behind: a drop follows its take on each account."""
        rid = f"{self.replica}-{next(self._ids)}"
        try:
            return await self._reserve(rid, accounts, ask)
        except asyncio.CancelledError:
            self._held.pop(rid, None)
            task = asyncio.get_running_loop().create_task(self.states.apply([(a.key, Drop(id=rid)) for a in accounts]))
            self._late.add(task)
            task.add_done_callback(self._late.discard)
            raise

    async def _reserve(self, rid: str, accounts: Sequence[Account], ask: Ask) -> Reservation | Refusal:
        now = self._clock()
        expires = self._expiry(now)
        takes = await self.states.apply(
            [(a.key, Take(id=rid, account=a, ask=ask, expires=expires, replica=self.replica)) for a in accounts]
        )
        fits = [(a, r) for a, r in zip(accounts, takes, strict=True) if isinstance(r, Fit)]
        if len(fits) < len(accounts):
            if fits:
                await self.states.apply([(a.key, Drop(id=rid)) for a, _ in fits])
            _raise_first(takes)
            return next(r for r in takes if isinstance(r, Refusal))
        most = min((f.max_tokens for _, f in fits), default=ask.max_tokens)
        by = next((f for _, f in fits if f.max_tokens == most and f.capped_by is not None), None)
        cents, tokens = ask.cents(most), ask.input_tokens + most
        if cut := [(a.key, Shrink(id=rid, cents=cents, tokens=tokens)) for a, f in fits if f.max_tokens > most]:
            await self.states.apply(cut)  # frees room only: an error here leaves the larger hold, still safe
        if accounts:
            self._held[rid] = _Held(tuple(a.key for a in accounts), expires)
        return Reservation(
            id=rid,
            keys=tuple(a.key for a in accounts),
            cents=cents,
            tokens=tokens,
            input_tokens=ask.input_tokens,
            max_tokens=most,
            capped_by=by.capped_by if by is not None else None,
            capped_limit=by.capped_limit if by is not None else "cost",
            limited=binds(ask, accounts),
            at=now,
        )

    async def settle(self, reservation: Reservation, cents: float, tokens: int) -> None:
        """Spend ``cents`` and ``tokens`` in place of the reservation, and return once that is
        written; kept and retried if the store cannot take it now."""
        if reservation.keys:
            u = _Unsettled(reservation, cents, tokens)
            self._landed(u, await self.states.apply(self._settles(u)))

    def settle_later(self, reservation: Reservation, cents: float, tokens: int) -> None:
        """As :meth:`settle`, returning at once: written with the next change of its keys, or within
        the states' linger (see the module docstring); kept and retried if it cannot be written."""
        if not reservation.keys:
            return
        u = _Unsettled(reservation, cents, tokens)
        posted = self.states.post(self._settles(u))
        if posted.done():  # applied at once (one process's memory)
            self._landed(u, posted.result())
            return
        for key in reservation.keys:
            self._posted.setdefault(key, {})[reservation.id] = u
        self._landing.add(posted)
        posted.add_done_callback(functools.partial(self._posted_landed, u))

    async def flush(self) -> None:
        """Write the settlements posted and not landed yet, and try the deferred ones again; return
        once they are written (on stop: what the calls answered is in the store then)."""
        await self.states.flush()
        if self._landing:
            await asyncio.wait(list(self._landing))
        await self._retry_deferred()

    def _settles(self, u: _Unsettled) -> list[tuple[str, Op]]:
        return [(k, self._settle_op(u)) for k in u.reservation.keys]

    def _settle_op(self, u: _Unsettled) -> Settle:
        held = self._held.get(u.reservation.id)
        expires = held.expires if held is not None else self._expiry(u.reservation.at)
        return Settle(id=u.reservation.id, cents=u.cents, tokens=u.tokens, expires=expires)

    def _posted_landed(self, u: _Unsettled, posted: asyncio.Future[list[Result | VaporaError]]) -> None:
        self._landing.discard(posted)
        for key in u.reservation.keys:
            mine = self._posted.get(key)
            if mine is not None and mine.pop(u.reservation.id, None) is not None and not mine:
                del self._posted[key]
        if posted.cancelled():
            self._landed(u, [Unavailable(f"the settlement of {u.reservation.id} was cancelled")])
        else:
            self._landed(u, posted.result())

    def _landed(self, u: _Unsettled, got: Sequence[Result | VaporaError]) -> None:
        """A settlement written, or kept to try again when its write failed."""
        rid = u.reservation.id
        if errors := [r for r in got if isinstance(r, VaporaError)]:
            self._unsettled[rid] = u
            metrics.SETTLEMENTS_DEFERRED.inc()
            log.error("settlement of %s deferred: %s", rid, errors[0])
            return
        self._held.pop(rid, None)

    async def release(self, reservation: Reservation) -> None:
        """Drop the reservation; one the store cannot drop now expires by itself within ``ttl_s``."""
        self._held.pop(reservation.id, None)
        if reservation.keys:
            got = await self.states.apply([(k, Drop(id=reservation.id)) for k in reservation.keys])
            if errors := [r for r in got if isinstance(r, VaporaError)]:
                log.warning("release of %s failed (its hold expires by itself): %s", reservation.id, errors[0])

    async def _retry_deferred(self) -> None:
        for unsettled in list(self._unsettled.values()):
            del self._unsettled[unsettled.reservation.id]
            await self.settle(unsettled.reservation, unsettled.cents, unsettled.tokens)

    async def renew(self) -> None:
        """Extend this replica's live holds by ``ttl_s``, and try the deferred settlements again."""
        await self._retry_deferred()
        if self.ttl_s is None or not self._held:
            return
        expires = self._expiry(self._clock())
        by_key: dict[str, set[str]] = {}
        for rid, held in self._held.items():
            for key in held.keys:
                by_key.setdefault(key, set()).add(rid)
        keys = list(by_key)
        got = await self.states.apply([(k, Renew(ids=frozenset(by_key[k]), expires=expires)) for k in keys])
        for key, found in zip(keys, got, strict=True):
            if isinstance(found, VaporaError):
                log.warning("could not renew the holds on %s: %s", key, found)
                continue
            for rid in by_key[key]:
                live = self._held.get(rid)
                if live is None:
                    continue
                if isinstance(found, frozenset) and rid in found:
                    live.expires = max(live.expires, expires)
                elif rid not in self._unsettled and not any(rid in self._posted.get(k, {}) for k in live.keys):
                    metrics.RESERVATIONS_LAPSED.inc()
                    log.warning("the hold of %s on %s expired while its call ran", rid, key)


def _raise_first(results: Sequence[Result | VaporaError]) -> None:
    for r in results:
        if isinstance(r, VaporaError):
            raise r


class MemoryStates:
    """Accounts in this process's memory; each :meth:`apply` is one step of the event loop. Task
    accounts idle past their ``forget_after_s`` (and holding nothing) are dropped."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._states: dict[str, State] = {}
        self._idle: OrderedDict[str, float] = OrderedDict()  # key -> forget at, oldest use first

    def __contains__(self, key: object) -> bool:
        return key in self._states

    def get(self, key: str) -> State | None:
        return self._states.get(key)

    async def apply(self, changes: Sequence[tuple[str, Op]]) -> list[Result | VaporaError]:
        return self._apply(changes)

    def post(self, changes: Sequence[tuple[str, Op]]) -> asyncio.Future[list[Result | VaporaError]]:
        """Applied at once, as :meth:`apply`: in memory there is no write to share."""
        done: asyncio.Future[list[Result | VaporaError]] = asyncio.get_running_loop().create_future()
        done.set_result(self._apply(changes))
        return done

    async def flush(self) -> None:
        return None

    def _apply(self, changes: Sequence[tuple[str, Op]]) -> list[Result | VaporaError]:
        now = self._clock()
        self._forget_idle(now)
        out: list[Result | VaporaError] = []
        for key, op in changes:
            state, result = apply(self._states.get(key), op, now)
            if state is not None:
                self._states[key] = state
                if state.forget_after_s is not None:
                    self._idle[key] = now + state.forget_after_s
                    self._idle.move_to_end(key)
            out.append(result)
        return out

    def _forget_idle(self, now: float) -> None:
        """Drop accounts idle past their time, oldest first; one still holding a reservation stays."""
        while self._idle:
            key, at = next(iter(self._idle.items()))
            if at > now:
                return
            state = self._states.get(key)
            if state is not None and state.holds and state.forget_after_s is not None:
                self._idle[key] = now + state.forget_after_s  # > now: the loop ends when it comes round
                self._idle.move_to_end(key)
                continue
            del self._idle[key]
            self._states.pop(key, None)


class MemoryBudgetStore(BudgetStore):
    """A :class:`BudgetStore` in this process's memory (see the module docstring)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.memory = MemoryStates(clock)
        super().__init__(self.memory, clock=clock)

    def __contains__(self, key: object) -> bool:
        return key in self.memory
