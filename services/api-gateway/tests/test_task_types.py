"""TaskTypeCheck's memory: a type found is not asked again within ttl_s; an unreachable registry
is left alone for retry_s, and tasks are accepted meanwhile."""

from __future__ import annotations

import pytest

from vapora_api_gateway.task_types import TaskTypeCheck
from vapora_core.errors import FailedPrecondition, Unavailable
from vapora_testing.clock import ManualClock


class Registry:
    """Stands in for the gateway's Clients (the gRPC path is tested in test_platform_routes)."""

    def __init__(self) -> None:
        self.types: set[str] = {"coding"}
        self.down = False
        self.asked = 0

    async def takes(self, workspace_id: str, task_type: str) -> bool:
        self.asked += 1
        if self.down:
            raise Unavailable("agent-registry at 127.0.0.1:1 is unavailable")
        return task_type in self.types

    async def task_types(self, workspace_id: str) -> list[str]:
        return sorted(self.types)


async def test_a_found_type_is_remembered_for_ttl_and_an_unreachable_registry_for_retry() -> None:
    registry, clock = Registry(), ManualClock(100.0)
    check = TaskTypeCheck(registry, ttl_s=30, retry_s=1, clock=clock)  # type: ignore[arg-type]
    await check.check("ws1", "coding")
    await check.check("ws1", "coding")
    assert registry.asked == 1
    await check.check("ws2", "coding")  # per workspace: its private agents differ
    assert registry.asked == 2

    registry.types.clear()
    clock.now += 29
    await check.check("ws1", "coding")  # still remembered
    clock.now += 2
    with pytest.raises(FailedPrecondition, match=r"task_type 'coding': .*\(no agent is registered\)"):
        await check.check("ws1", "coding")

    registry.down = True
    asked = registry.asked
    await check.check("ws1", "coding")  # accepted: the registry cannot be asked
    await check.check("ws1", "other")  # nor asked again within retry_s
    assert registry.asked == asked + 1
    clock.now += 1.5
    registry.down = False
    with pytest.raises(FailedPrecondition):
        await check.check("ws1", "other")
