"""Stopping the jobs of cancelled tasks: a cancelled task's job must not run, or go on running.

The swarm-coordinator broadcasts :class:`JobStopped` on ``stops.<agent_id>`` when a task is
cancelled while a job holds it. One :class:`Stops` per runtime process hears every agent's
stops and is shared by all job handlers:

- a job running in this process is cancelled (its router call goes away with it);
- a job arriving after its stop (still queued in JetStream, or redelivered) is skipped, so
  the stopped job ids are remembered, the newest ``keep`` of them.

Stops are broadcast on core NATS and stored nowhere: a runtime that was disconnected when
the stop went out runs the job to the end; the coordinator then ignores its execution.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Coroutine
from typing import Any, TypeVar

from vapora.coordinator.v1 import coordinator_pb2
from vapora_core.errors import InvalidArgument

log = logging.getLogger("vapora.runtime")

T = TypeVar("T")

KEEP = 10_000


class Stops:
    """The job ids this process was told to stop, and the jobs it runs now by id."""

    def __init__(self, keep: int = KEEP) -> None:
        self._keep = keep
        self._stopped: OrderedDict[str, None] = OrderedDict()
        self._running: dict[str, asyncio.Task[Any]] = {}

    def stopped(self, job_id: str) -> bool:
        return job_id in self._stopped

    async def on_stop(self, msg: coordinator_pb2.JobStopped) -> None:
        """Remember the stop (for a job still to arrive) and cancel the job if it runs here."""
        if not msg.job_id:
            raise InvalidArgument("JobStopped without job_id")
        self._remember(msg.job_id)
        task = self._running.get(msg.job_id)
        if task is not None:
            task.cancel()
            log.info(
                "stopping job %s of task %s: %s",
                msg.job_id,
                msg.task_id,
                msg.reason or "stopped",
                extra={"agent_id": msg.agent_id, "workspace_id": msg.workspace_id},
            )

    def _remember(self, job_id: str) -> None:
        # bounded: a stop matters only until its job shows up, so the oldest are forgotten first
        self._stopped[job_id] = None
        self._stopped.move_to_end(job_id)
        while len(self._stopped) > self._keep:
            self._stopped.popitem(last=False)

    async def run(self, job_id: str, coro: Coroutine[Any, Any, T]) -> T | None:
        """``coro``'s result, or None when the job was stopped before it started (``coro`` never
        runs) or while it ran (``coro`` is cancelled). Cancelling the caller (shutdown) still
        raises CancelledError, so the bus hands the job back."""
        if self.stopped(job_id):
            coro.close()
            return None
        task = asyncio.create_task(coro, name=f"job-{job_id}")
        self._running[job_id] = task
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if (current is not None and current.cancelling()) or not self.stopped(job_id):
                raise
            return None
        finally:
            if self._running.get(job_id) is task:
                del self._running[job_id]
