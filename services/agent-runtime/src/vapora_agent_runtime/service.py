"""Executing a job: the role's prompt, one llm-router call, the agent's own check, the event.

No I/O here: :class:`JobExecutor` gets the router call as a function, so it is tested
without a network. Errors: a job this agent cannot run (wrong agent, no task, no workspace)
is :class:`InvalidArgument` and gets dead-lettered; a retryable router error propagates so
the bus redelivers with backoff; any other router error becomes a failed execution, so the
task is reported FAILED instead of disappearing.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from vapora.coordinator.v1 import coordinator_pb2
from vapora.kg.v1 import kg_pb2
from vapora.llm.v1 import llm_pb2
from vapora_agent_runtime.check import check_result
from vapora_agent_runtime.manifest import AgentManifest
from vapora_core.errors import InvalidArgument
from vapora_core.store_guard import scrub

Complete = Callable[[llm_pb2.CompleteRequest], Awaitable[llm_pb2.CompleteResponse]]

_NAMESPACE = uuid.UUID("6f1c1f4e-4a47-4a8e-9f0e-5a4c0b6f7a11")


def execution_id(job_id: str, attempt: int) -> str:
    """The same job attempt always gets the same id, so a redelivery cannot make a second one."""
    return str(uuid.uuid5(_NAMESPACE, f"{job_id}/{attempt}"))


def validate_job(job: coordinator_pb2.JobAssigned, agent_id: str) -> None:
    """A job this agent cannot run; the error names the field."""
    if not job.job_id:
        raise InvalidArgument("job_id is required")
    if job.agent_id and job.agent_id != agent_id:
        raise InvalidArgument(f"job {job.job_id} is for agent {job.agent_id!r}, not {agent_id!r}")
    if not job.HasField("task") or not job.task.id:
        raise InvalidArgument(f"job {job.job_id}: task.id is required")
    if not job.task.workspace_id:
        raise InvalidArgument(f"job {job.job_id}: task.workspace_id is required")
    if not (job.task.title.strip() or job.task.description.strip()):
        raise InvalidArgument(f"job {job.job_id}: task.title or task.description is required")


def task_type_of(job: coordinator_pb2.JobAssigned, manifest: AgentManifest) -> str:
    return job.task.task_type or manifest.task_types[0]


def build_request(
    manifest: AgentManifest, job: coordinator_pb2.JobAssigned, *, max_tokens: int
) -> llm_pb2.CompleteRequest:
    """The role's system prompt plus the task, addressed to the router with the agent's preferences."""
    task = job.task
    task_type = task_type_of(job, manifest)
    system = manifest.system_prompt
    if manifest.allowed_tools:
        system += "\n\nTools you may use through the MCP gateway: " + ", ".join(manifest.allowed_tools) + "."
    lines = [f"Task type: {task_type}", f"Title: {task.title.strip()}"]
    if task.description.strip():
        lines.append(f"Description:\n{task.description.strip()}")
    if task.complexity:
        lines.append(f"Complexity: {task.complexity}")
    lines.append("Answer with the finished work product for this task.")
    return llm_pb2.CompleteRequest(
        request_id=execution_id(job.job_id, job.attempt),
        workspace_id=task.workspace_id,
        task_id=task.id,
        agent_id=manifest.id,
        role=manifest.role,
        task_type=task_type,
        complexity=task.complexity,
        system=system,
        messages=[llm_pb2.ChatMessage(role="user", content="\n".join(lines))],
        max_tokens=max_tokens,
        preferred_provider=manifest.preferred_provider,
        preferred_model=manifest.preferred_model,
    )


@dataclass(slots=True)
class JobExecutor:
    complete: Complete
    max_tokens: int = 2048
    result_max_chars: int = 4000
    clock: Callable[[], float] = time.time

    def _base(
        self, manifest: AgentManifest, job: coordinator_pb2.JobAssigned, started: float
    ) -> kg_pb2.ExecutionRecorded:
        event = kg_pb2.ExecutionRecorded(
            execution_id=execution_id(job.job_id, job.attempt),
            job_id=job.job_id,
            task_id=job.task.id,
            workspace_id=job.task.workspace_id,
            project_id=job.task.project_id,
            agent_id=manifest.id,
            role=manifest.role,
            task_type=task_type_of(job, manifest),
            attempt=job.attempt,
        )
        event.started_at.FromNanoseconds(int(started * 1e9))
        return event

    async def execute(self, manifest: AgentManifest, job: coordinator_pb2.JobAssigned) -> kg_pb2.ExecutionRecorded:
        """Run the job; raises InvalidArgument for a poison job, retryable errors for transient ones."""
        validate_job(job, manifest.id)
        started = self.clock()
        reply = await self.complete(build_request(manifest, job, max_tokens=self.max_tokens))
        finished = self.clock()
        verdict = check_result(job.task.title, job.task.description, reply.text, reply.finish_reason)
        event = self._base(manifest, job, started)
        event.success = verdict.success
        event.quality = verdict.quality
        event.latency_ms = reply.latency_ms or int((finished - started) * 1000)
        event.input_tokens = reply.input_tokens
        event.output_tokens = reply.output_tokens
        event.cost_cents = reply.cost_cents
        event.provider = reply.provider
        event.model = reply.model
        event.result = scrub(reply.text[: self.result_max_chars])  # a model's text may hold a NUL
        if not verdict.success:
            event.error = verdict.reason
        event.finished_at.FromNanoseconds(int(finished * 1e9))
        return event

    def failed(
        self, manifest: AgentManifest, job: coordinator_pb2.JobAssigned, error: str, started: float
    ) -> kg_pb2.ExecutionRecorded:
        """An execution that could not get an answer at all."""
        event = self._base(manifest, job, started)
        finished = self.clock()
        event.success = False
        event.quality = 0.0
        event.latency_ms = int((finished - started) * 1000)
        event.error = scrub(error[:1000])
        event.finished_at.FromNanoseconds(int(finished * 1e9))
        return event
