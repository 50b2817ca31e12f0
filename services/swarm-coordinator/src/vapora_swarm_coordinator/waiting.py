"""Tasks waiting for an agent with room, per task type and workspace: highest priority first,
then first come.

While every capable agent is full, workers hold their tasks here (up to ``capacity_wait_s``).
When room may have freed, only the first waiter of each queue is woken to try; a task arriving
meanwhile queues behind any waiter of its priority or higher instead of taking the slot, so a
freed slot never goes to a lower priority than one that was waiting for it. Queues are per
workspace too: the agents a workspace may use differ, and one tenant's waiting task must not
hold back another tenant's that has room; and per required role (a workflow stage's), for the
same reason.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from dataclasses import dataclass, field


@dataclass(order=True, slots=True)
class Waiter:
    rank: int  # -priority: the heap's smallest is the highest priority
    seq: int  # then first come
    key: tuple[str, str, str] = field(compare=False)  # (task type, workspace, required role)
    woken: asyncio.Event = field(compare=False, default_factory=asyncio.Event)


class RoomQueue:
    def __init__(self) -> None:
        self._heaps: dict[tuple[str, str, str], list[Waiter]] = {}
        self._seq = itertools.count()

    def ahead(self, task_type: str, workspace_id: str, priority: int, role: str = "") -> bool:
        """Whether a task of ``priority`` or higher already waits in this queue."""
        heap = self._heaps.get((task_type, workspace_id, role), [])
        return bool(heap) and heap[0].rank <= -priority

    def join(self, task_type: str, workspace_id: str, priority: int, role: str = "") -> Waiter:
        waiter = Waiter(-priority, next(self._seq), (task_type, workspace_id, role))
        heapq.heappush(self._heaps.setdefault(waiter.key, []), waiter)
        return waiter

    def first(self, waiter: Waiter) -> bool:
        """Whether it is ``waiter``'s turn to take a freed slot."""
        heap = self._heaps.get(waiter.key, [])
        return bool(heap) and heap[0] is waiter

    def leave(self, waiter: Waiter) -> None:
        """``waiter`` got its slot or gave up; the next one gets its turn (more room may be free)."""
        heap = self._heaps.get(waiter.key, [])
        was_first = bool(heap) and heap[0] is waiter
        if waiter in heap:
            heap.remove(waiter)
            heapq.heapify(heap)
        if not heap:
            self._heaps.pop(waiter.key, None)
        elif was_first:
            heap[0].woken.set()

    def room_freed(self) -> None:
        """Some agent may have room now: wake the first waiter of every queue to try."""
        for heap in self._heaps.values():
            heap[0].woken.set()
