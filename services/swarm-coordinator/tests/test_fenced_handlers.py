"""A message handled while the lease has lapsed is put back (a Hold), never failed towards the DLQ."""

from __future__ import annotations

import pytest

from vapora_core.bus import Hold
from vapora_core.errors import Unavailable
from vapora_swarm_coordinator.lease import LeaseLost
from vapora_swarm_coordinator.subscribers import held_when_fenced


async def test_a_fenced_write_puts_the_message_back_for_a_lease_ttl() -> None:
    async def fenced(msg: str) -> None:
        raise LeaseLost(f"not writing {msg}")

    with pytest.raises(Hold) as held:
        await held_when_fenced(6.0, fenced)("m-1")
    assert held.value.delay == 6.0 and "not writing m-1" in str(held.value)


async def test_other_outcomes_are_the_handlers_own() -> None:
    async def ok(msg: str) -> str:
        return msg.upper()

    async def down(msg: str) -> None:
        raise Unavailable("the store is down")

    assert await held_when_fenced(6.0, ok)("m") == "M"
    with pytest.raises(Unavailable, match="the store is down"):  # a real failure: retried, then dead-lettered
        await held_when_fenced(6.0, down)("m")
