"""What the engine serialises per run: the outcomes waiting for its lock (a `vapora_core.aio.KeyedLocks`).

Outcomes of one run that arrive together (parallel stages ending at once) are planned on one draft
by whoever gets the run's lock (:meth:`.WorkflowEngine.on_outcome`); each waits as a
:class:`Queued`. An outcome that comes from an execution may carry its task's finish
(:class:`Settling`): the engine writes the finish with the transition, in one transaction, so a
stage done costs the store one round trip, not two.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from vapora_core.errors import Internal, Unavailable
from vapora_swarm_coordinator.repository import Finish, Holder
from vapora_swarm_coordinator.workflows.draft import Draft
from vapora_swarm_coordinator.workflows.model import Run

Plan = Callable[[Draft], None]
Announce = Callable[[Holder], Awaitable["asyncio.Future[Any]"]]


@dataclass(slots=True)
class Settling:
    """The finish of a stage task's assignment, written with the transition of its outcome.

    ``announce`` publishes the task's DONE / FAILED once the finish is stored, before the
    transition's effects, and gives the future of its acknowledgement. ``written``: the finish went
    to the store (with a transition); ``holder``: who held the task then (None: the finish did not
    apply, so the execution is not its task's current one and its outcome was not planned). Not
    written: the outcome changed nothing, or the run is not known; the caller finishes the task."""

    finish: Finish
    announce: Announce
    written: bool = False
    holder: Holder | None = None

    @property
    def refused(self) -> bool:
        return self.written and self.holder is None


@dataclass(slots=True)
class Queued:
    """An outcome waiting for the run's lock; ``taken`` once a holder has planned it."""

    plan: Plan
    done: asyncio.Future[Run]
    settling: Settling | None = None
    taken: bool = False


def each(batch: Sequence[Queued]) -> Plan:
    """One plan: those of ``batch``, in order, on the same draft (but those whose finish was
    refused: their execution is not the current one)."""

    def plan(d: Draft) -> None:
        for queued in batch:
            if queued.settling is None or not queued.settling.refused:
                queued.plan(d)

    return plan


def answer(batch: Sequence[Queued], answering: Queued, outcome: Run | BaseException) -> None:
    """Settle the waiters of ``batch`` but ``answering`` (its caller is the one answering)."""
    for queued in batch:
        if queued is answering or queued.done.done():
            continue
        if isinstance(outcome, Run):
            queued.done.set_result(outcome)
        else:
            queued.done.set_exception(
                outcome if isinstance(outcome, Exception) else Unavailable("the outcome's write was interrupted")
            )


async def settled(pending: Sequence[Settling], holders: Sequence[Holder | None]) -> list[asyncio.Future[Any]]:
    """Record what became of ``pending``'s finishes (written together, ``holders`` in order) and
    announce those that applied; the futures of the announcements' acknowledgements."""
    if len(pending) != len(holders):
        raise Internal(f"{len(pending)} finishes written, {len(holders)} answered")
    sent = []
    for s, holder in zip(pending, holders, strict=True):
        s.written, s.holder = True, holder
        if holder is not None:
            sent.append(await s.announce(holder))
    return sent
