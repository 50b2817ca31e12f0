"""An account's state and its ops: each may be applied twice and counts once; expiry."""

from __future__ import annotations

import pytest

from vapora_llm_router.budget_account import Account, Ask, Fit, Refusal, Usage
from vapora_llm_router.budget_state import (
    Drop,
    Hold,
    Renew,
    Seed,
    Settle,
    Shrink,
    State,
    Take,
    apply,
)

WINDOW = Account(key="role:dev:weekly:2026-11-30", scope="role", owner="dev", window="weekly", cost_cap=1.0)
ASK = Ask(input_tokens=100, max_tokens=500, floor_tokens=16, input_cents_per_token=0.0003,
          output_cents_per_token=0.0015)  # fmt: skip
NOW = 1_000.0


def take(hold_id: str = "r-1", expires: float = NOW + 30) -> Take:
    return Take(id=hold_id, account=WINDOW, ask=ASK, expires=expires, replica="r")


def test_a_take_applied_twice_holds_once() -> None:
    once, got = apply(None, take(), NOW)
    twice, again = apply(once, take(), NOW)
    assert isinstance(got, Fit) and isinstance(again, Fit) and got.max_tokens == again.max_tokens == 500
    assert twice == once and once is not None and once.usage(NOW).reserved_cents == pytest.approx(ASK.cents(500))


def test_a_settle_applied_twice_charges_once_and_a_late_one_still_charges() -> None:
    held, _ = apply(None, take(), NOW)
    settled, _ = apply(held, Settle(id="r-1", cents=0.2, tokens=300, expires=NOW + 30), NOW + 1)
    twice, _ = apply(settled, Settle(id="r-1", cents=0.2, tokens=300, expires=NOW + 30), NOW + 2)
    assert twice == settled and settled is not None and settled.usage(NOW + 2) == Usage(0.2, 0.0, 300, 0)
    # a hold past its expiry no longer counts, goes with the next change, and its settlement is charged late
    assert held is not None and held.usage(NOW + 31).reserved_cents == 0
    swept, _ = apply(held, Drop(id="other"), NOW + 31)
    assert swept is not None and not swept.holds
    late, _ = apply(swept, Settle(id="r-1", cents=0.2, tokens=300, expires=NOW + 30), NOW + 32)
    assert late is not None and late.spent_cents == 0.2


def test_drop_shrink_and_renew_change_only_the_holds_they_find() -> None:
    held, _ = apply(None, take(), NOW)
    cut, _ = apply(held, Shrink(id="r-1", cents=0.1, tokens=150), NOW)
    assert cut is not None and cut.holds["r-1"] == Hold(0.1, 150, NOW + 30, "r")
    renewed, found = apply(cut, Renew(ids=frozenset({"r-1", "gone"}), expires=NOW + 60), NOW + 10)
    assert found == frozenset({"r-1"}) and renewed is not None and renewed.holds["r-1"].expires == NOW + 60
    dropped, _ = apply(renewed, Drop(id="r-1"), NOW + 11)
    again, _ = apply(dropped, Drop(id="r-1"), NOW + 12)
    assert dropped is not None and not dropped.holds and again == dropped and dropped.spent_cents == 0


def test_a_take_sees_the_holds_of_others_and_refuses_past_the_cap() -> None:
    full, _ = apply(None, Take(id="a-1", account=WINDOW, ask=ASK, expires=NOW + 30, replica="a"), NOW)
    full, _ = apply(full, Take(id="b-1", account=WINDOW, ask=ASK, expires=NOW + 30, replica="b"), NOW)
    _, refused = apply(full, Take(id="a-2", account=WINDOW, ask=ASK, expires=NOW + 30, replica="a"), NOW)
    assert isinstance(refused, Refusal) and refused.account == WINDOW


def test_a_seed_starts_only_an_account_never_seen() -> None:
    seeded, _ = apply(None, Seed(spent_cents=0.5), NOW)
    assert seeded == State(spent_cents=0.5, used_at=NOW)
    kept, _ = apply(State(spent_cents=0.1), Seed(spent_cents=0.5), NOW)
    assert kept == State(spent_cents=0.1)
