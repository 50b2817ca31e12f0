"""Per-role budget windows (monthly, weekly, in cents) and per-task caps, over a budget store.

:class:`BudgetLedger` knows which accounts (see :mod:`.budget_store`) a call is charged to: the
task's, when the request names a task (its caps come with each request, 0 = none), then each
budget window of the role. A call reserves its worst case on all of them, with ``max_tokens``
cut to what the tightest can pay (never under :data:`FLOOR_TOKENS`, or the call is refused), and
settles with its real cost. So with providers that honour ``max_tokens`` a window or a task cap is
never overshot; what a provider bills beyond its reservation is counted as an overrun (see the
service). The store is shared by the router's replicas (JetStream KV, :mod:`.budget_kv`); settled
spend is also appended to the persisted usage ledger (see repository), which starts a window the
store has never seen. Task accounts are forgotten ``task_forget_after_s`` after their last call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from vapora_llm_router import metrics
from vapora_llm_router.budget_account import EPSILON, Account, Ask, Fit, Refusal, Usage, fit
from vapora_llm_router.budget_store import BudgetStore, MemoryBudgetStore, Reservation
from vapora_llm_router.config import BudgetConfig

log = logging.getLogger("vapora.llm_router")

NORMAL, NEAR_LIMIT, EXHAUSTED = "normal", "near_limit", "exhausted"
WINDOWS = ("monthly", "weekly")
# The smallest answer worth sending: a call whose budget cannot pay this many output tokens is refused.
FLOOR_TOKENS = 16


def window_start(window: str, now: datetime) -> datetime:
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if window == "monthly":
        return day.replace(day=1)
    return day - timedelta(days=day.weekday())


def window_end(window: str, now: datetime) -> datetime:
    start = window_start(window, now)
    if window == "monthly":
        return (start + timedelta(days=32)).replace(day=1)
    return start + timedelta(days=7)


def window_key(window: str, now: datetime) -> str:
    return f"{window}:{window_start(window, now).date().isoformat()}"


@dataclass(frozen=True, slots=True)
class WindowStatus:
    window: str
    limit_cents: float
    spent_cents: float
    reserved_cents: float
    resets_at: datetime

    @property
    def used(self) -> float:
        return self.spent_cents + self.reserved_cents

    @property
    def remaining(self) -> float:
        return self.limit_cents - self.used

    @property
    def utilization(self) -> float:
        if self.limit_cents <= 0:
            return 1.0 if self.used > 0 or self.limit_cents == 0 else 0.0
        return self.used / self.limit_cents


@dataclass(frozen=True, slots=True)
class RoleState:
    role: str
    state: str
    windows: tuple[WindowStatus, ...]

    @property
    def utilization(self) -> float:
        return max((w.utilization for w in self.windows), default=0.0)

    @property
    def remaining(self) -> float | None:
        return min((w.remaining for w in self.windows), default=None)

    def tightest(self) -> WindowStatus | None:
        return max(self.windows, key=lambda w: w.utilization, default=None)


def task_key(task_id: str) -> str:
    return f"task:{task_id}"


def role_key(role: str, window: str, now: datetime) -> str:
    return f"role:{role}:{window_key(window, now)}"


class BudgetLedger:
    """The router's budgets over a :class:`~.budget_store.BudgetStore` (one process's memory unless
    given one: the app gives the shared one)."""

    def __init__(
        self, config: BudgetConfig, clock: Callable[[], float] = time.time, store: BudgetStore | None = None
    ) -> None:
        self.config = config
        self._clock = clock
        self.store: BudgetStore = store if store is not None else MemoryBudgetStore(clock)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    async def seed_spent(self, role: str, window: str, at: datetime, cents: float) -> None:
        """Start a window the store has never seen from the persisted ledger's spend (at start)."""
        await self.store.seed(role_key(role, window, at), cents)

    def accounts(self, role: str, *, task_id: str = "", cost_cap: float = 0.0, token_cap: int = 0) -> list[Account]:
        """What a call is charged to: the task first (its refusal ends the call), then the role's windows."""
        out = []
        if task_id:
            out.append(
                Account(
                    key=task_key(task_id),
                    scope="task",
                    owner=task_id,
                    cost_cap=cost_cap if cost_cap > 0 else None,
                    token_cap=token_cap if token_cap > 0 else None,
                    forget_after_s=self.config.task_forget_after_s,
                )
            )
        budget = self.config.roles.get(role)
        if budget is not None:
            now = self.now()
            for window in WINDOWS:
                limit = getattr(budget, f"{window}_cents")
                if limit is not None:
                    key = role_key(role, window, now)
                    out.append(Account(key=key, scope="role", owner=role, window=window, cost_cap=float(limit)))
        return out

    def status(self, role: str) -> RoleState:
        budget = self.config.roles.get(role)
        if budget is None:
            return RoleState(role, NORMAL, ())
        now = self.now()
        windows = []
        for window in WINDOWS:
            limit = getattr(budget, f"{window}_cents")
            if limit is None:
                continue
            usage = self.store.usage(role_key(role, window, now))
            windows.append(
                WindowStatus(
                    window=window,
                    limit_cents=float(limit),
                    spent_cents=usage.spent_cents,
                    reserved_cents=usage.reserved_cents,
                    resets_at=window_end(window, now),
                )
            )
        util = max((w.utilization for w in windows), default=0.0)
        state = EXHAUSTED if util >= 1.0 else NEAR_LIMIT if util >= self.config.near_limit else NORMAL
        return RoleState(role, state, tuple(windows))

    def task_usage(self, task_id: str) -> Usage:
        return self.store.usage(task_key(task_id))

    def check(self, accounts: Sequence[Account], ask: Ask) -> Fit | Refusal:
        """What :meth:`reserve` would decide now, reserving nothing (a dry run)."""
        return fit(ask, ((a, self.store.usage(a.key)) for a in accounts))

    async def reserve(self, accounts: Sequence[Account], ask: Ask) -> Reservation | Refusal:
        return await self.store.reserve(accounts, ask)

    async def settle(self, reservation: Reservation, cents: float, tokens: int, *, role: str, provider: str) -> None:
        """Replace the reservation with what the call really cost, all of it: what a provider
        bills above the reservation is spent too, and counted as an overrun."""
        if cents > reservation.cents + EPSILON:
            metrics.SETTLEMENT_OVERRUNS.labels(provider).inc()
            metrics.SETTLEMENT_OVERRUN_CENTS.labels(provider).inc(cents - reservation.cents)
            log.warning("%s billed %.6f¢ against a reservation of %.6f¢", provider, cents, reservation.cents)
        self.store.settle_later(reservation, cents, tokens)  # the answer need not wait for the write
        self.publish_gauges(role)

    async def release(self, reservation: Reservation, *, role: str) -> None:
        """Drop the reservation of a call that billed nothing (its provider failed)."""
        await self.store.release(reservation)
        self.publish_gauges(role)

    def publish_gauges(self, role: str | None = None) -> None:
        roles = [role] if role is not None else list(self.config.roles)
        for name in roles:
            for w in self.status(name).windows:
                metrics.BUDGET_UTILIZATION.labels(name, w.window).set(w.utilization)

    def replace_config(self, config: BudgetConfig) -> None:
        self.config = config
        self.publish_gauges()
