"""Is there an agent for it? A submitted task's type, checked against agent-registry.

A task whose type no agent of the workspace takes would wait in the stream for the
coordinator's ``no_agent_timeout_s`` (60 s) and then fail. ``POST /tasks`` answers 409 at once
instead (the request is well formed; the workspace has no agent for it), naming the types the
workspace's agents take. An agent counts while it is registered,
healthy or not: one that is restarting still takes its types.

A type found is remembered for ``ttl_s``, so a submission does not cost a registry call. When
the registry cannot be asked, the task is accepted as if the type were known (the coordinator
still fails it if no agent comes), and the registry is not asked again for ``retry_s``:
submitting never depends on agent-registry being up.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from vapora_api_gateway.clients import Clients
from vapora_core.errors import FailedPrecondition, VaporaError

log = logging.getLogger("vapora.gateway.task_types")

TTL_S = 30.0
RETRY_S = 1.0


class TaskTypeCheck:
    def __init__(
        self,
        clients: Clients,
        *,
        ttl_s: float = TTL_S,
        retry_s: float = RETRY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clients = clients
        self.ttl_s = ttl_s
        self.retry_s = retry_s
        self.clock = clock
        self._known: dict[tuple[str, str], float] = {}  # (workspace, type) → when it was last found
        self._unreachable_until = 0.0

    async def check(self, workspace_id: str, task_type: str) -> None:
        """Raise :class:`FailedPrecondition` when no agent ``workspace_id`` may use takes ``task_type``."""
        now = self.clock()
        key = (workspace_id, task_type)
        if now - self._known.get(key, -self.ttl_s) < self.ttl_s or now < self._unreachable_until:
            return
        try:
            if await self.clients.takes(workspace_id, task_type):
                self._known[key] = now
                return
            types = await self.clients.task_types(workspace_id)
        except VaporaError as exc:
            log.warning("task type %r not checked: agent-registry cannot be asked: %s", task_type, exc)
            self._unreachable_until = now + self.retry_s
            return
        taken = f"the types they take: {', '.join(types)}" if types else "no agent is registered"
        raise FailedPrecondition(f"task_type {task_type!r}: no agent of this workspace takes it ({taken})")
