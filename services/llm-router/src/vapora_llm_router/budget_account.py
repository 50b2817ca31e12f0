"""What a call may take from the accounts it is charged to: the arithmetic, with no store.

An :class:`Account` is one thing a call is charged to: a role's budget window (key
``role:<role>:<window>:<start date>``, a cost cap in cents) or a task (key ``task:<id>``, a cost
cap and a token cap, either optional, forgotten ``forget_after_s`` after its last use). Its
:class:`Usage` is what it has spent and what live reservations hold. An :class:`Ask` is what a call
wants; :func:`fit` decides how much of it the accounts can pay: the largest ``max_tokens`` (at most
what was asked, at least the floor) whose worst case (input estimate + ``max_tokens`` output, at the
model's price) every account can still pay, or a :class:`Refusal` naming the first account that
cannot pay even the floor.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

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
