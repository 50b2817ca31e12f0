"""Where budget state lives: accounts, reservations, settlements, behind one small interface.

An :class:`Account` is one thing a call is charged to: a role's budget window (key
``role:<role>:<window>:<start date>``, a cost cap in cents) or a task (key ``task:<id>``, a cost
cap and a token cap, either optional, forgotten ``forget_after_s`` after its last use).

- **reserve**: before a provider is called, its worst case goes on every account the call is
  charged to, in one atomic step. :func:`fit` decides how much: the largest ``max_tokens`` (at
  most what was asked, at least the floor) whose worst case (input estimate + ``max_tokens``
  output, at the model's price) every account can still pay; or a :class:`Refusal` naming the
  first account that cannot pay even the floor. So concurrent calls never promise the same
  money twice, and a call never holds more than its account can pay.
- **settle**: the call's real cost and tokens replace its reservation.
- **release**: the reservation goes, nothing is charged (the provider failed and bills nothing).

:class:`BudgetStore` is the interface and :class:`MemoryBudgetStore` one process's memory, with
no ``await`` between reading and writing, so atomic on the event loop. A store shared by router
replicas (JetStream KV, issue 27) implements the same operations with compare-and-set on each
account's key, running the same :func:`fit`, and expires the reservations of a replica that
died (each :class:`Reservation` has its ``at``). Reads (:meth:`BudgetStore.usage`) are
synchronous snapshots, so routing and status never wait; a shared store serves them from a
local view kept current by a watch.
"""

from __future__ import annotations

import itertools
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from vapora_core.errors import BudgetExceeded, BudgetLimit, BudgetScope

EPSILON = 1e-9  # cents: float noise, never a real price


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    key: str
    scope: BudgetScope
    owner: str  # the role or the task id
    window: str = ""  # monthly or weekly (scope role)
    cost_cap: float | None = None  # cents
    token_cap: int | None = None  # input + output tokens
    forget_after_s: float | None = None  # dropped this long after its last use; None: kept

    def describe(self, limit: BudgetLimit) -> str:
        if self.scope == "task":
            return f"the {'cost' if limit == 'cost' else 'token'} cap of task {self.owner}"
        return f"the {self.window} budget of role {self.owner}"


@dataclass(frozen=True, slots=True)
class Usage:
    spent_cents: float = 0.0
    reserved_cents: float = 0.0
    spent_tokens: int = 0
    reserved_tokens: int = 0

    @property
    def used_cents(self) -> float:
        return self.spent_cents + self.reserved_cents

    @property
    def used_tokens(self) -> int:
        return self.spent_tokens + self.reserved_tokens


@dataclass(frozen=True, slots=True, kw_only=True)
class Ask:
    """What a call wants: its input estimate, the answer's ``max_tokens``, the least worth sending."""

    input_tokens: int
    max_tokens: int
    floor_tokens: int
    input_cents_per_token: float
    output_cents_per_token: float

    @property
    def floor(self) -> int:
        return min(self.floor_tokens, self.max_tokens)

    @property
    def free(self) -> bool:
        return self.input_cents_per_token <= 0 and self.output_cents_per_token <= 0

    def cents(self, output_tokens: int) -> float:
        return self.input_tokens * self.input_cents_per_token + output_tokens * self.output_cents_per_token


@dataclass(frozen=True, slots=True, kw_only=True)
class Fit:
    max_tokens: int
    capped_by: Account | None = None  # the account that cut max_tokens below what was asked
    capped_limit: BudgetLimit = "cost"


@dataclass(frozen=True, slots=True, kw_only=True)
class Refusal:
    account: Account
    limit: BudgetLimit
    usage: Usage
    needed: float  # what the floor would take, in the limit's unit

    @property
    def cap(self) -> float:
        cap = self.account.cost_cap if self.limit == "cost" else self.account.token_cap
        return float(cap or 0)

    def why(self) -> str:
        u = self.usage
        if self.limit == "cost":
            left = max(0.0, self.cap - u.used_cents)
            return (
                f"{self.account.describe('cost')} has {left:.4f}¢ left of {self.cap:g}¢; "
                f"a minimal answer needs {self.needed:.4f}¢"
            )
        left_t = max(0, int(self.cap) - u.used_tokens)
        return (
            f"{self.account.describe('tokens')} has {left_t} tokens left of {self.cap:g}; "
            f"a minimal answer needs {self.needed:g}"
        )

    def error(self, message: str = "") -> BudgetExceeded:
        u = self.usage
        cents = self.limit == "cost"
        return BudgetExceeded(
            scope=self.account.scope,
            owner=self.account.owner,
            limit=self.limit,
            cap=self.cap,
            spent=u.spent_cents if cents else float(u.spent_tokens),
            reserved=u.reserved_cents if cents else float(u.reserved_tokens),
            needed=self.needed,
            window=self.account.window,
            message=message,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Reservation:
    id: int
    keys: tuple[str, ...]
    cents: float
    tokens: int
    input_tokens: int
    max_tokens: int  # what the provider is asked for: the fit, not always what the caller asked
    capped_by: Account | None
    capped_limit: BudgetLimit
    limited: bool  # an account's cap binds this call: it must be stopped at its reservation
    at: float


def fit(ask: Ask, accounts: Iterable[tuple[Account, Usage]]) -> Fit | Refusal:
    """The largest answer every account can pay, or the first account that cannot pay the floor.

    A call that costs nothing (offline, Ollama) fits any cost cap; token caps bind every call.
    """
    floor = ask.floor
    best, by = ask.max_tokens, None
    by_limit: BudgetLimit = "cost"
    for account, used in accounts:
        if account.cost_cap is not None and not ask.free:
            room = account.cost_cap - used.used_cents
            need = ask.cents(floor)
            if need > room + EPSILON:
                return Refusal(account=account, limit="cost", usage=used, needed=need)
            if ask.output_cents_per_token > 0:
                most = max(floor, math.floor((room - ask.cents(0) + EPSILON) / ask.output_cents_per_token))
                if most < best:
                    best, by, by_limit = most, account, "cost"
        if account.token_cap is not None:
            room_t = account.token_cap - used.used_tokens
            if ask.input_tokens + floor > room_t:
                return Refusal(account=account, limit="tokens", usage=used, needed=ask.input_tokens + floor)
            if room_t - ask.input_tokens < best:
                best, by, by_limit = room_t - ask.input_tokens, account, "tokens"
    return Fit(max_tokens=best, capped_by=by, capped_limit=by_limit)


def binds(ask: Ask, accounts: Sequence[Account]) -> bool:
    """Does some account's cap bind this call (so it must be metered)?"""
    return any(a.token_cap is not None or (a.cost_cap is not None and not ask.free) for a in accounts)


class BudgetStore(Protocol):
    def usage(self, key: str) -> Usage: ...

    def load(self, key: str, spent_cents: float) -> None:
        """Seed an account's spend from the persisted usage ledger, at start."""
        ...

    async def reserve(self, accounts: Sequence[Account], ask: Ask) -> Reservation | Refusal: ...

    async def settle(self, reservation: Reservation, cents: float, tokens: int) -> None: ...

    async def release(self, reservation: Reservation) -> None: ...


class MemoryBudgetStore:
    """Accounts in this process's memory; task accounts are forgotten after their idle time."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._usage: dict[str, Usage] = {}
        self._idle: OrderedDict[str, float] = OrderedDict()  # key -> forget at, oldest use first
        self._forget_after: dict[str, float] = {}
        self._ids = itertools.count(1)

    def __contains__(self, key: object) -> bool:
        return key in self._usage

    def usage(self, key: str) -> Usage:
        return self._usage.get(key, Usage())

    def load(self, key: str, spent_cents: float) -> None:
        self._usage[key] = replace(self.usage(key), spent_cents=spent_cents)

    async def reserve(self, accounts: Sequence[Account], ask: Ask) -> Reservation | Refusal:
        now = self._clock()
        self._forget_idle(now)
        got = fit(ask, ((a, self.usage(a.key)) for a in accounts))
        if isinstance(got, Refusal):
            return got
        res = Reservation(
            id=next(self._ids),
            keys=tuple(a.key for a in accounts),
            cents=ask.cents(got.max_tokens),
            tokens=ask.input_tokens + got.max_tokens,
            input_tokens=ask.input_tokens,
            max_tokens=got.max_tokens,
            capped_by=got.capped_by,
            capped_limit=got.capped_limit,
            limited=binds(ask, accounts),
            at=now,
        )
        for a in accounts:
            if a.forget_after_s is not None:
                self._forget_after[a.key] = a.forget_after_s
        self._apply(res, reserved=1, cents=0.0, tokens=0, now=now)
        return res

    async def settle(self, reservation: Reservation, cents: float, tokens: int) -> None:
        self._apply(reservation, reserved=-1, cents=cents, tokens=tokens, now=self._clock())

    async def release(self, reservation: Reservation) -> None:
        self._apply(reservation, reserved=-1, cents=0.0, tokens=0, now=self._clock())

    def _apply(self, res: Reservation, *, reserved: int, cents: float, tokens: int, now: float) -> None:
        for key in res.keys:
            u = self.usage(key)
            held_cents = u.reserved_cents + reserved * res.cents
            self._usage[key] = Usage(
                spent_cents=u.spent_cents + cents,
                reserved_cents=held_cents if held_cents > EPSILON else 0.0,
                spent_tokens=u.spent_tokens + tokens,
                reserved_tokens=max(0, u.reserved_tokens + reserved * res.tokens),
            )
            if key in self._forget_after:
                self._idle[key] = now + self._forget_after[key]
                self._idle.move_to_end(key)

    def _forget_idle(self, now: float) -> None:
        """Drop accounts idle past their time, oldest first; one still holding a reservation stays."""
        while self._idle:
            key, at = next(iter(self._idle.items()))
            if at > now:
                return
            if self.usage(key).reserved_tokens > 0 or self.usage(key).reserved_cents > 0:
                self._idle[key] = now + self._forget_after[key]  # > now: the loop ends when it comes round
                self._idle.move_to_end(key)
                continue
            del self._idle[key]
            self._forget_after.pop(key, None)
            self._usage.pop(key, None)
