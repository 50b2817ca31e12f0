"""Per-role budget windows (monthly, weekly, in cents): reserve before a call, settle after.

``try_reserve`` checks every window of the role and takes the reservation in one step
with no ``await`` in between, so on the event loop it is atomic: concurrent requests can
never both see the same remaining budget. A reservation is the call's worst case
(estimated input + ``max_tokens`` output); settling replaces it with the real cost, so a
window can only be overshot when a provider bills more than its estimate — by at most
one reservation. Settled spend is appended to the persisted ledger (see repository).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from vapora_llm_router import metrics
from vapora_llm_router.config import BudgetConfig

NORMAL, NEAR_LIMIT, EXHAUSTED = "normal", "near_limit", "exhausted"
WINDOWS = ("monthly", "weekly")


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
class Reservation:
    id: int
    role: str
    amount: float


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


class BudgetLedger:
    """In-memory view of every role's spend; the store holds the settled records."""

    def __init__(self, config: BudgetConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._clock = clock
        self._spent: dict[tuple[str, str], float] = {}
        self._reserved: dict[str, float] = {}
        self._ids = itertools.count(1)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def load_spent(self, role: str, window: str, at: datetime, cents: float) -> None:
        """Seed a window's spend from the persisted ledger (at start)."""
        self._spent[(role, window_key(window, at))] = cents

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
            windows.append(
                WindowStatus(
                    window=window,
                    limit_cents=float(limit),
                    spent_cents=self._spent.get((role, window_key(window, now)), 0.0),
                    reserved_cents=self._reserved.get(role, 0.0),
                    resets_at=window_end(window, now),
                )
            )
        util = max((w.utilization for w in windows), default=0.0)
        state = EXHAUSTED if util >= 1.0 else NEAR_LIMIT if util >= self.config.near_limit else NORMAL
        return RoleState(role, state, tuple(windows))

    def fits(self, role: str, amount: float) -> tuple[bool, str]:
        """Would ``amount`` fit in every window of the role? And if not, why not."""
        if amount <= 0:
            return True, ""
        for w in self.status(role).windows:
            if w.used + amount > w.limit_cents:
                return False, (
                    f"estimate {amount:.4f}¢ exceeds the {w.window} budget of role {role} "
                    f"(remaining {max(0.0, w.remaining):.4f}¢ of {w.limit_cents:g}¢)"
                )
        return True, ""

    def try_reserve(self, role: str, amount: float) -> Reservation | None:
        """Reserve ``amount`` in every window of the role, or None if it does not fit. Atomic."""
        ok, _ = self.fits(role, amount)
        if not ok:
            return None
        if amount > 0:
            self._reserved[role] = self._reserved.get(role, 0.0) + amount
        return Reservation(next(self._ids), role, max(0.0, amount))

    def settle(self, reservation: Reservation, cost_cents: float) -> None:
        """Replace the reservation with what the call really cost (0 when it failed)."""
        role = reservation.role
        if reservation.amount > 0:
            left = self._reserved.get(role, 0.0) - reservation.amount
            self._reserved[role] = left if left > 1e-9 else 0.0
        if cost_cents > 0:
            now = self.now()
            for window in WINDOWS:
                key = (role, window_key(window, now))
                self._spent[key] = self._spent.get(key, 0.0) + cost_cents
        self.publish_gauges(role)

    def publish_gauges(self, role: str | None = None) -> None:
        roles = [role] if role is not None else list(self.config.roles)
        for name in roles:
            for w in self.status(name).windows:
                metrics.BUDGET_UTILIZATION.labels(name, w.window).set(w.utilization)

    def replace_config(self, config: BudgetConfig) -> None:
        self.config = config
        self.publish_gauges()
