"""Bus edge of the runtime: one job handler per hosted agent, on ``jobs.<agent_id>``.

- an invalid job (wrong agent, no task, no workspace) → InvalidArgument → dead-lettered
- a retryable failure (router, mcp-gateway, bus) → re-raised → the bus naks with backoff and
  redelivers (a new run); on the last delivery the job is recorded as a failed execution
- whatever else ends the tool loop → an execution with its stop reason (see :mod:`.loop`)
- a stopped job (its task was cancelled, see :mod:`.stops`) → acked, no execution: skipped
  when the stop came first, cancelled when it came while the job ran
- once its execution is published (or it was stopped while running) the job's worktree is
  released (:mod:`.codework`); a job handed back for redelivery keeps it (the next run resets it)
While the job runs, the bus's consumer keeps it alive (in-progress acks every third of the ack
wait), so JetStream does not redeliver it however long it takes.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from vapora.coordinator.v1 import coordinator_pb2
from vapora.kg.v1 import kg_pb2
from vapora_agent_runtime import metrics
from vapora_agent_runtime.manifest import AgentManifest
from vapora_agent_runtime.service import JobExecutor, validate_job
from vapora_agent_runtime.stops import Stops
from vapora_core.bus import Bus, Consumer, Delivery, subjects
from vapora_core.errors import InvalidArgument, VaporaError

log = logging.getLogger("vapora.runtime")


@dataclass(slots=True)
class HostedAgent:
    """An agent this process hosts; the manifest may be swapped by a reload."""

    manifest: AgentManifest
    in_flight: int = 0
    registered: bool = False
    subscription: Consumer | None = field(default=None, repr=False)


@dataclass(slots=True)
class JobHandler:
    agent: HostedAgent
    executor: JobExecutor
    bus: Bus
    stops: Stops
    max_deliver: int

    async def __call__(self, job: coordinator_pb2.JobAssigned, delivery: Delivery) -> None:
        manifest = self.agent.manifest
        try:
            validate_job(job, manifest.id)
        except InvalidArgument:
            metrics.JOBS.labels(manifest.id, manifest.role, job.task.task_type, "dead_letter").inc()
            raise
        if self.stops.stopped(job.job_id):
            self._stopped(manifest, job, "skipped")
            return
        self.agent.in_flight += 1
        metrics.IN_FLIGHT.labels(manifest.id).inc()
        started = time.time()
        try:
            event = await self.stops.run(job.job_id, self._run(manifest, job, delivery, started))
        finally:
            self.agent.in_flight -= 1
            metrics.IN_FLIGHT.labels(manifest.id).dec()
            metrics.JOB_SECONDS.labels(manifest.role, job.task.task_type).observe(time.time() - started)
        if event is None:
            metrics.LOOP_STOPS.labels(manifest.role, "cancelled").inc()
            self._stopped(manifest, job, "cancelled while running")
            await self.executor.release(job)
            return
        await self.bus.publish(subjects.execution(event.task_type, manifest.id), event, msg_id=event.execution_id)
        await self.executor.release(job)  # after the execution is out: its worktree goes, its branch stays
        outcome = "success" if event.success else "failure"
        metrics.JOBS.labels(manifest.id, manifest.role, event.task_type, outcome).inc()
        metrics.TOKENS.labels(manifest.role, event.task_type, "input").inc(event.input_tokens)
        metrics.TOKENS.labels(manifest.role, event.task_type, "output").inc(event.output_tokens)
        log.info(
            "job %s of task %s done: %s after %d steps, success=%s verified=%s",
            job.job_id,
            job.task.id,
            event.stop_reason,
            event.steps,
            event.success,
            event.verified,
            extra={"agent_id": manifest.id, "workspace_id": job.task.workspace_id, "execution_id": event.execution_id},
        )

    def _stopped(self, manifest: AgentManifest, job: coordinator_pb2.JobAssigned, how: str) -> None:
        """A stopped job is acked without an execution: its task is cancelled, nobody waits for it."""
        metrics.JOBS.labels(manifest.id, manifest.role, job.task.task_type, "stopped").inc()
        log.info(
            "job %s of task %s stopped (%s): no execution",
            job.job_id,
            job.task.id,
            how,
            extra={"agent_id": manifest.id, "workspace_id": job.task.workspace_id},
        )

    async def _run(
        self, manifest: AgentManifest, job: coordinator_pb2.JobAssigned, delivery: Delivery, started: float
    ) -> kg_pb2.ExecutionRecorded:
        last = delivery.num_delivered >= self.max_deliver
        try:
            return await self.executor.execute(manifest, job, delivery=delivery.num_delivered, last=last)
        except VaporaError as exc:
            if exc.retryable and not last:
                metrics.JOBS.labels(manifest.id, manifest.role, job.task.task_type, "retry").inc()
                raise
            log.warning("job %s failed: %s", job.job_id, exc, extra={"agent_id": manifest.id})
            return self.executor.failed(manifest, job, f"{exc.code}: {exc}", started, delivery=delivery.num_delivered)
