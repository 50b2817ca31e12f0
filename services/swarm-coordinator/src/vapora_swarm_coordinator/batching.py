"""Group commit: the coordinator's batched writes to its store, on :class:`vapora_core.batching.Batcher`.

Many handlers, one store round trip: a first assignment or a finish is submitted and awaited, and
while one batch is being written the ones that arrive go together in the next. How long each kind
lingers for company, and how many waiting end the linger, is the coordinator's policy, here.

Each round trip is measured (``vapora_coordinator_store_write_seconds`` and
``vapora_coordinator_store_batch_items``, by kind): how long the store takes, and how many
items a round trip carries, are what a task's latency and the coordinator's CPU per task
depend on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from vapora_core.batching import MAX_BATCH, Batcher
from vapora_swarm_coordinator import metrics
from vapora_swarm_coordinator.repository import AssignmentRepository, Create, Finish, Holder, Write

CREATE_LINGER_S = 0.0  # on the path of a task's latency: batches form while the previous one is written
FINISH_LINGER_S = 0.02  # only the DONE event waits on a finish

Row = dict[str, Any]


class GroupCommit:
    """The coordinator's batched writes: first assignments, and finishes.

    Each kind has its own writer, so a first assignment (on the path of a task's latency)
    never waits behind a batch of finishes. First assignments do not linger: under load they
    gather while the previous batch is written, and at low load a linger is pure latency. Finishes
    linger, since nobody waits on them but the DONE event, and fewer round trips leave more
    CPU to assign. ``finish_flush_at`` is how many finishes can be submitted at once (the
    execution workers): that many waiting end the linger. The finish of a workflow stage's task
    does not linger (``linger=False``, a writer of its own): the stages after it wait on it.
    """

    def __init__(
        self,
        repo: AssignmentRepository,
        *,
        max_batch: int = MAX_BATCH,
        create_linger_s: float = CREATE_LINGER_S,
        finish_linger_s: float = FINISH_LINGER_S,
        finish_flush_at: int | None = None,
    ) -> None:
        self._creates: Batcher[Write, bool | Holder | None] = Batcher(
            repo.write_each,
            name="assignment-create",
            max_batch=max_batch,
            linger_s=create_linger_s,
            on_write=_measured("create"),
        )
        self._finishes: Batcher[Write, bool | Holder | None] = Batcher(
            repo.write_each,
            name="assignment-finish",
            max_batch=max_batch,
            linger_s=finish_linger_s,
            flush_at=finish_flush_at,
            on_write=_measured("finish"),
        )
        self._prompt_finishes: Batcher[Write, bool | Holder | None] = Batcher(
            repo.write_each, name="assignment-finish-stage", max_batch=max_batch, on_write=_measured("finish")
        )

    async def create(self, row: Row) -> bool:
        """Store ``row`` as the task's first assignment; False when the task already has one."""
        return bool(await self._creates.submit(Create(row)))

    async def create_many(self, rows: Sequence[Row]) -> list[bool | Exception]:
        """:meth:`create` for each of ``rows``, submitted together: whether it was created, or the error."""
        outcomes = await self._creates.submit_many([Create(row) for row in rows])
        return [outcome if isinstance(outcome, Exception) else bool(outcome) for outcome in outcomes]

    async def finish(self, task_id: str, job_id: str, changes: Row, *, linger: bool = True) -> Holder | None:
        """Apply ``changes`` only if ``job_id`` still holds the task (see ``AssignmentRepository.finish``);
        ``linger=False``: in a batch that does not wait for company."""
        writer = self._finishes if linger else self._prompt_finishes
        result = await writer.submit(Finish(task_id, job_id, changes))
        return result if isinstance(result, Holder) else None


def _measured(kind: str) -> Callable[[int, float], None]:
    """Records one round trip of ``kind`` in the store-write metrics (their children looked up once)."""
    seconds, items = metrics.STORE_WRITE_SECONDS.labels(kind), metrics.STORE_BATCH_ITEMS.labels(kind)

    def observe(n: int, took: float) -> None:
        seconds.observe(took)
        items.observe(n)

    return observe
