"""What the coordinator publishes, and nothing else.

- An assignment: ``TaskStatusChanged`` ASSIGNED on ``events.task.<ws>`` and ``JobAssigned`` on
  ``jobs.<agent_id>`` (msg id = job id, so announcing a record again is deduplicated by
  JetStream). Both are sent at once on the one connection, the event first: an agent can only
  finish (and DONE be published) after its job is stored, so ASSIGNED always precedes DONE.
  The job carries its token (``tokens.py``): the agent's identity for the tools it calls,
  signed on the event loop (:meth:`Announcer.sign_jobs`; a worker thread, tried, lowered the
  rate: docs/performance.md).
- A status: ``TaskStatusChanged`` (DONE, FAILED) on ``events.task.<ws>``, with a msg id of
  the task, the state and the execution (:func:`status_msg_id`): announced again (an execution
  delivered twice, a publish whose acknowledgement was lost), it is stored once within the
  EVENTS stream's duplicate window, so each task has one DONE on the stream.
- A stop: ``JobStopped`` on ``stops.<agent_id>`` (core NATS) for the runtimes.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from google.protobuf.message import Message

from vapora.agents.v1 import agents_pb2
from vapora.common.v1 import common_pb2
from vapora.coordinator.v1 import coordinator_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import subjects
from vapora_core.bus.codec import timestamp
from vapora_swarm_coordinator import records
from vapora_swarm_coordinator.records import Clock, Row
from vapora_swarm_coordinator.scoring import Score
from vapora_swarm_coordinator.state import FleetView
from vapora_swarm_coordinator.tokens import JobTokens


class Publisher(Protocol):
    async def publish(self, subject: str, message: Message, *, msg_id: str | None = None) -> Any: ...

    async def send(self, subject: str, message: Message, *, msg_id: str | None = None) -> asyncio.Future[Any]: ...

    async def broadcast(self, subject: str, message: Message) -> None: ...


# Subject names per agent / workspace, computed once (token sanitising is per character).
_job_subject = functools.lru_cache(maxsize=16384)(subjects.job)
_event_subject = functools.lru_cache(maxsize=16384)(subjects.task_event)


def status_msg_id(event: tasks_pb2.TaskStatusChanged) -> str:
    """The JetStream msg id of a DONE / FAILED event: the same for every announcement of one outcome."""
    return f"{event.task_id}-s{int(event.state)}-{event.execution_id}"


@dataclass(frozen=True, slots=True)
class Announcer:
    bus: Publisher
    clock: Clock
    view: FleetView | None = None  # the agents whose role and tools a job's token names
    tokens: JobTokens | None = None  # None: jobs carry no token

    async def assignment(self, row: Row, task: tasks_pb2.Task | None = None, best: Score | None = None) -> None:
        """Publish the job and the ASSIGNED event of ``row`` (idempotent: the job id is the msg id)."""
        for future in await self.send_assignment(row, task, best):
            await future

    def sign_jobs(self, jobs: Sequence[tuple[Row, tasks_pb2.Task]]) -> list[str] | None:
        """The tokens of the first assignments ``jobs`` (each row with its task), in order, for
        :meth:`send_assignment`; None when jobs carry no token."""
        if self.tokens is None:
            return None
        return self.tokens.sign_all(
            [self.tokens.claims(row, task, self._agent(str(row["agent_id"]))) for row, task in jobs]
        )

    async def send_assignment(
        self, row: Row, task: tasks_pb2.Task | None = None, best: Score | None = None, *, token: str | None = None
    ) -> tuple[asyncio.Future[Any], ...]:
        """Send what :meth:`assignment` publishes; the futures of their acknowledgements.

        ``task`` and ``best`` are the first attempt's own (the row's otherwise: a reassignment,
        or a record announced again); ``token`` the job's from :meth:`sign_jobs` (signed here
        when None)."""
        stored = records.task_of(row) if task is None or row.get("attempt", 1) > 1 else task
        stored.task_type = str(row["task_type"])
        chosen = best if best is not None else records.chosen_score(row)
        score = (
            coordinator_pb2.ScoreBreakdown(**chosen._asdict())
            if chosen is not None
            else coordinator_pb2.ScoreBreakdown()
        )
        job = coordinator_pb2.JobAssigned(
            job_id=str(row["job_id"]),
            task=stored,
            agent_id=str(row["agent_id"]),
            attempt=int(row["attempt"]),
            assigned_at=timestamp(float(row["assigned_s"])),
            score=score,
        )
        if token is not None:
            job.token = token
        elif self.tokens is not None:
            job.token = self.tokens.for_job(row, stored, self._agent(job.agent_id))
        assigned = await self.bus.send(
            _event_subject(row["workspace_id"]),
            self._event(row, common_pb2.TASK_STATE_ASSIGNED, detail=str(row.get("reason", ""))),
        )
        delivered = await self.bus.send(_job_subject(job.agent_id), job, msg_id=job.job_id)
        return assigned, delivered

    async def status(self, row: Row, state: int, **fields: Any) -> None:
        """Publish ``row``'s task's new ``state`` (``fields``: the event's other fields)."""
        await (await self.send_status(row, state, **fields))

    async def send_status(self, row: Row, state: int, **fields: Any) -> asyncio.Future[Any]:
        """Send what :meth:`status` publishes; the future of its acknowledgement."""
        event = self._event(row, state, **fields)
        return await self.bus.send(_event_subject(event.workspace_id), event, msg_id=status_msg_id(event))

    async def stop(self, stop: coordinator_pb2.JobStopped) -> None:
        """Tell the runtimes to stop ``stop``'s job."""
        await self.bus.broadcast(subjects.stop(stop.agent_id), stop)

    def _agent(self, agent_id: str) -> agents_pb2.Agent | None:
        """The agent whose role and tools a job's token names; None when the view does not know it."""
        return self.view.agents.get(agent_id) if self.view is not None else None

    def _event(self, row: Row, state: int, **fields: Any) -> tasks_pb2.TaskStatusChanged:
        return tasks_pb2.TaskStatusChanged(
            task_id=str(row["task_id"]),
            workspace_id=str(row["workspace_id"]),
            state=state,  # type: ignore[arg-type]
            agent_id=str(row.get("agent_id", "")),
            task_type=str(row.get("task_type", "")),
            at=timestamp(self.clock()),
            **fields,
        )
