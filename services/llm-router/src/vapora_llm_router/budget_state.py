"""One account's budget state and the changes made to it, the same wherever states live.

A :class:`State` is what an account has spent (cents, tokens) and its live :class:`Hold` s, the
reservations of calls in flight (cents, tokens, expiry, the replica that holds it). Changes are
ops, each applied by :func:`apply` to the state as it is now, giving a result:

- :class:`Take`: hold what :func:`~.budget_account.fit` says this account can pay of a call's ask
  (the result: that :class:`~.budget_account.Fit`, or the :class:`~.budget_account.Refusal`);
- :class:`Shrink`: cut a hold to the call's final size (another of its accounts was tighter);
- :class:`Settle`: the hold goes and the real cost is spent, also when the hold expired meanwhile;
- :class:`Drop`: the hold goes, nothing is spent (the provider failed, another account refused);
- :class:`Renew`: the holds of a replica whose calls still run live on (the result: the ids found);
- :class:`Seed`: an account never seen before starts from the usage ledger's spend.

A hold past its expiry no longer counts (its replica died, or lost NATS longer than the TTL) and
goes with the next change of its account. A task account (``forget_after_s``) that holds nothing
and was last used that long ago starts again from zero.

Each op may be applied twice (a write whose acknowledgement was lost: :mod:`vapora_core.kv`) and
sees from the state whether it was: a Take finds its hold, a Drop finds it gone, a Settle finds it
gone before its expiry (settled, so nothing more is charged; gone after its expiry it was swept,
and the cost is charged late).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from vapora_core.errors import BudgetLimit
from vapora_llm_router.budget_account import EPSILON, Account, Ask, Fit, Refusal, Usage, fit


@dataclass(frozen=True, slots=True)
class Hold:
    cents: float
    tokens: int
    expires: float  # seconds since the epoch; inf: until settled (one process's memory)
    replica: str


@dataclass(frozen=True, slots=True)
class State:
    spent_cents: float = 0.0
    spent_tokens: int = 0
    holds: Mapping[str, Hold] = field(default_factory=dict)
    used_at: float = 0.0
    forget_after_s: float | None = None  # a task account's idle time; None: kept

    def live(self, now: float) -> State:
        """This state as it counts at ``now``: expired holds gone, a forgotten task account empty."""
        holds = {i: h for i, h in self.holds.items() if h.expires > now}
        if not holds and self.forget_after_s is not None and now - self.used_at >= self.forget_after_s:
            return State(forget_after_s=self.forget_after_s)
        return self if len(holds) == len(self.holds) else self.but(holds=holds)

    def but(
        self,
        *,
        spent_cents: float | None = None,
        spent_tokens: int | None = None,
        holds: Mapping[str, Hold] | None = None,
        used_at: float | None = None,
    ) -> State:
        """This state with the fields given changed (``dataclasses.replace`` without its cost: this
        runs a few times for every change of every account)."""
        return State(
            self.spent_cents if spent_cents is None else spent_cents,
            self.spent_tokens if spent_tokens is None else spent_tokens,
            self.holds if holds is None else holds,
            self.used_at if used_at is None else used_at,
            self.forget_after_s,
        )

    def usage(self, now: float, settling: Mapping[str, tuple[float, int]] | None = None) -> Usage:
        """What the account has spent and holds at ``now``; a live hold in ``settling`` (id: its
        settlement's cents and tokens, not written yet) counts as spent at that cost, as its
        :class:`Settle` will make it."""
        holds = [(i, h) for i, h in self.holds.items() if h.expires > now]
        if not holds and self.forget_after_s is not None and now - self.used_at >= self.forget_after_s:
            return Usage()
        spent_cents, spent_tokens = self.spent_cents, self.spent_tokens
        if settling:
            for i, _ in holds:
                if (settled := settling.get(i)) is not None:
                    spent_cents, spent_tokens = spent_cents + settled[0], spent_tokens + settled[1]
            holds = [(i, h) for i, h in holds if i not in settling]
        cents = sum(h.cents for _, h in holds)
        return Usage(
            spent_cents=spent_cents,
            reserved_cents=cents if cents > EPSILON else 0.0,
            spent_tokens=spent_tokens,
            reserved_tokens=sum(h.tokens for _, h in holds),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Take:
    id: str
    account: Account
    ask: Ask
    expires: float
    replica: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Shrink:
    id: str
    cents: float
    tokens: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Settle:
    id: str
    cents: float
    tokens: int
    expires: float  # the hold's expiry as its replica last set it


@dataclass(frozen=True, slots=True, kw_only=True)
class Drop:
    id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Renew:
    ids: frozenset[str]
    expires: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Seed:
    spent_cents: float


Op = Take | Shrink | Settle | Drop | Renew | Seed
Result = Fit | Refusal | frozenset[str] | None


def apply(state: State | None, op: Op, now: float) -> tuple[State | None, Result]:
    """``op`` applied to ``state`` (None: the account was never seen) at ``now``."""
    if isinstance(op, Seed):
        return (State(spent_cents=op.spent_cents, used_at=now) if state is None else state), None
    s = (state or State()).live(now)
    if isinstance(op, Take):
        return _take(s, op, now)
    if isinstance(op, Renew):
        found = frozenset(i for i in op.ids if i in s.holds)
        if not found:
            return s, found
        holds = dict(s.holds)
        for i in found:
            h = holds[i]
            holds[i] = Hold(h.cents, h.tokens, max(h.expires, op.expires), h.replica)
        return s.but(holds=holds), found
    held = s.holds.get(op.id)
    if isinstance(op, Shrink):
        if held is None or (held.cents <= op.cents and held.tokens <= op.tokens):
            return s, None
        return _with(s, op.id, Hold(op.cents, op.tokens, held.expires, held.replica)), None
    if isinstance(op, Settle) and (held is not None or now >= op.expires):
        s = s.but(spent_cents=s.spent_cents + op.cents, spent_tokens=s.spent_tokens + op.tokens, used_at=now)
    return (_with(s.but(used_at=now), op.id, None) if held is not None else s), None


def _take(s: State, op: Take, now: float) -> tuple[State, Fit | Refusal]:
    ask, account = op.ask, op.account
    held = s.holds.get(op.id)
    if held is not None:  # applied already (a write whose answer was lost)
        most = held.tokens - ask.input_tokens
        cut = most < ask.max_tokens
        limit: BudgetLimit = "cost" if account.cost_cap is not None else "tokens"
        return s, Fit(max_tokens=most, capped_by=account if cut else None, capped_limit=limit)
    got = fit(ask, [(account, s.usage(now))])
    if isinstance(got, Refusal):
        return s, got
    holds = dict(s.holds)
    holds[op.id] = Hold(ask.cents(got.max_tokens), ask.input_tokens + got.max_tokens, op.expires, op.replica)
    return State(s.spent_cents, s.spent_tokens, holds, now, account.forget_after_s), got


def _with(s: State, hold_id: str, hold: Hold | None) -> State:
    holds = {i: h for i, h in s.holds.items() if i != hold_id}
    if hold is not None:
        holds[hold_id] = hold
    return s.but(holds=holds)
