"""Executing a job: its tools, the tool loop of one run, the transcript, the execution event.

No transport here: :class:`JobExecutor` gets the router call, the gateway's tools and a
publisher as arguments, so it is tested with scripted ones. Errors: a job this agent cannot
run (wrong agent, no task, no workspace) is :class:`InvalidArgument` and gets dead-lettered;
a retryable failure (router, gateway, bus) propagates so the bus redelivers the job, which
is a new run; anything the loop ends with is a recorded execution, so the task is reported
instead of disappearing.

Outcome, until verification (issue 24) replaces it: ``success`` = the run ended with a final
answer; ``verified`` = a model gave it (not the offline provider); ``quality`` = 1.0 for a
success, else 0.0.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from vapora.coordinator.v1 import coordinator_pb2
from vapora.kg.v1 import kg_pb2
from vapora.llm.v1 import llm_pb2
from vapora.mcp.v1 import mcp_pb2
from vapora_agent_runtime import codework, metrics
from vapora_agent_runtime.codework import CodeWork, Settled, Worktrees
from vapora_agent_runtime.loop import Complete, Limits, LoopResult, StopReason, ToolLoop
from vapora_agent_runtime.manifest import AgentManifest
from vapora_agent_runtime.tools import ToolBox, tool_specs
from vapora_agent_runtime.transcript import Run, Sender, Transcript, run_id_of
from vapora_core.errors import InvalidArgument
from vapora_core.store_guard import scrub

_NAMESPACE = uuid.UUID("6f1c1f4e-4a47-4a8e-9f0e-5a4c0b6f7a11")


class Gateway(Protocol):
    """mcp-gateway as a job sees it: the tools it may use, and calls of them."""

    async def list_tools(self, *, workspace_id: str, agent_id: str, token: str) -> list[mcp_pb2.Tool]: ...

    async def call_tool(self, request: mcp_pb2.CallToolRequest, *, token: str) -> mcp_pb2.CallToolResponse: ...


def execution_id(job_id: str, attempt: int) -> str:
    """The same job attempt always gets the same id, so a redelivery cannot make a second one."""
    return str(uuid.uuid5(_NAMESPACE, f"{job_id}/{attempt}"))


def job_token(job: coordinator_pb2.JobAssigned) -> str:
    """The job's token, signed by the coordinator: sent as ``authorization: Bearer`` on every call
    the job makes (mcp-gateway takes the caller's identity and tool view from it)."""
    return job.token


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
    manifest: AgentManifest, job: coordinator_pb2.JobAssigned, *, max_tokens: int, notes: Sequence[str] = ()
) -> llm_pb2.CompleteRequest:
    """The role's system prompt plus the task, addressed to the router with the agent's preferences
    and the task's caps; the loop adds the tools, the conversation and each turn's request id."""
    task = job.task
    task_type = task_type_of(job, manifest)
    lines = [f"Task type: {task_type}", f"Title: {task.title.strip()}"]
    if task.description.strip():
        lines.append(f"Description:\n{task.description.strip()}")
    if task.complexity:
        lines.append(f"Complexity: {task.complexity}")
    lines.extend(notes)
    lines.append("Answer with the finished work product for this task.")
    return llm_pb2.CompleteRequest(
        workspace_id=task.workspace_id,
        task_id=task.id,
        agent_id=manifest.id,
        role=manifest.role,
        task_type=task_type,
        complexity=task.complexity,
        system=manifest.system_prompt,
        messages=[llm_pb2.ChatMessage(role="user", content="\n".join(lines))],
        max_tokens=max_tokens,
        preferred_provider=manifest.preferred_provider,
        preferred_model=manifest.preferred_model,
        task_cost_cap_cents=manifest.limits.max_cost_cents,
        task_token_cap=manifest.limits.max_tokens_total,
    )


@dataclass(slots=True, kw_only=True)
class JobExecutor:
    complete: Complete
    gateway: Gateway
    sender: Sender
    worktrees: Worktrees | None = None
    max_tokens: int = 2048
    result_max_chars: int = 4000
    tool_result_max_bytes: int = 16_384
    transcript_max_bytes: int = 4096
    clock: Callable[[], float] = time.time

    def _base(
        self, manifest: AgentManifest, job: coordinator_pb2.JobAssigned, started: float, delivery: int
    ) -> kg_pb2.ExecutionRecorded:
        eid = execution_id(job.job_id, job.attempt)
        event = kg_pb2.ExecutionRecorded(
            execution_id=eid,
            run_id=run_id_of(eid, delivery),
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

    async def _toolbox(self, manifest: AgentManifest, job: coordinator_pb2.JobAssigned, token: str) -> ToolBox:
        ws = job.task.workspace_id
        catalogue = (
            await self.gateway.list_tools(workspace_id=ws, agent_id=manifest.id, token=token)
            if manifest.allowed_tools
            else []
        )

        async def call(request: mcp_pb2.CallToolRequest) -> mcp_pb2.CallToolResponse:
            return await self.gateway.call_tool(request, token=token)

        return ToolBox(
            tool_specs(catalogue, manifest.allowed_tools),
            call,
            workspace_id=ws,
            agent_id=manifest.id,
            task_id=job.task.id,
            result_limit=self.tool_result_max_bytes,
        )

    async def execute(
        self, manifest: AgentManifest, job: coordinator_pb2.JobAssigned, *, delivery: int = 1, last: bool = True
    ) -> kg_pb2.ExecutionRecorded:
        """Run the job's ``delivery``-th run (``last``: no redelivery follows); raises InvalidArgument
        for a poison job, retryable errors for transient ones (unless ``last``)."""
        validate_job(job, manifest.id)
        started = self.clock()
        event = self._base(manifest, job, started, delivery)
        token = job_token(job)
        work = CodeWork(self.worktrees if manifest.allowed_tools else None, job, token)
        notes = await work.prepare(event.task_type, event.run_id)
        tools = await self._toolbox(manifest, job, token)
        run = Run(
            execution_id=event.execution_id,
            run_id=event.run_id,
            job_id=job.job_id,
            task_id=job.task.id,
            workspace_id=job.task.workspace_id,
            agent_id=manifest.id,
            task_type=event.task_type,
        )
        transcript = Transcript(self.sender, run, text_limit=self.transcript_max_bytes)
        limits = Limits.of(manifest.limits)
        request = build_request(manifest, job, max_tokens=self.max_tokens, notes=notes)
        loop = ToolLoop(self.complete, tools, transcript, limits, token=token, hand_back=not last)
        try:
            result = await loop.run(request)

            async def ask_again(prompt: str) -> str:
                """One more short run on the final answer and ``prompt``; its final answer."""
                again = llm_pb2.CompleteRequest()
                again.CopyFrom(request)
                again.messages.add(role="assistant", content=result.text)
                again.messages.add(role="user", content=prompt)
                short = ToolLoop(
                    self.complete, tools, transcript, replace(limits, max_steps=2), token=token, hand_back=not last
                )
                more = await short.run(again)
                _spent(result, more)
                return more.text if more.stop_reason == StopReason.FINAL_ANSWER else ""

            settled = await work.settle(
                event.task_type,
                final=result.stop_reason == StopReason.FINAL_ANSWER,
                answer=result.text,
                offline=result.unverified,
                run_id=event.run_id,
                ask_again=ask_again,
            )
        except BaseException:  # stopped (counted by the handler, which knows a stop from a shutdown), or failed
            transcript.abandon()
            raise
        await transcript.flush()
        self._summarise(event, result, transcript, settled)
        metrics.LOOP_STOPS.labels(manifest.role, result.stop_reason).inc()
        metrics.STEPS.labels(manifest.role).observe(transcript.steps)
        event.finished_at.FromNanoseconds(int(self.clock() * 1e9))
        return event

    async def release(self, job: coordinator_pb2.JobAssigned) -> None:
        """The job's worktree goes (its execution is published, or it was stopped); the branch stays."""
        await codework.release(self.worktrees, job, job_token(job))

    def _summarise(
        self, event: kg_pb2.ExecutionRecorded, result: LoopResult, transcript: Transcript, settled: Settled
    ) -> None:
        event.steps, event.tool_calls = transcript.steps, transcript.tool_calls
        event.stop_reason = result.stop_reason
        event.success, event.verified = settled.outcome.success, settled.outcome.verified
        event.quality = settled.outcome.quality
        event.verification.CopyFrom(settled.verification)
        if settled.artifacts is not None:
            event.artifacts.CopyFrom(settled.artifacts)
        event.latency_ms = result.work_ms
        event.input_tokens, event.output_tokens, event.cost_cents = (
            result.input_tokens,
            result.output_tokens,
            result.cost_cents,
        )
        event.provider, event.model = result.provider, result.model
        event.result = scrub(result.text[: self.result_max_chars])  # a model's text may hold a NUL
        event.error = scrub((settled.error or result.error)[:1000])

    def failed(
        self,
        manifest: AgentManifest,
        job: coordinator_pb2.JobAssigned,
        error: str,
        started: float,
        *,
        delivery: int = 1,
    ) -> kg_pb2.ExecutionRecorded:
        """An execution whose run could not even start or finish its loop (stop reason ``error``)."""
        event = self._base(manifest, job, started, delivery)
        finished = self.clock()
        event.success = False
        event.quality = 0.0
        event.stop_reason = StopReason.ERROR
        event.latency_ms = int((finished - started) * 1000)
        event.error = scrub(error[:1000])
        event.finished_at.FromNanoseconds(int(finished * 1e9))
        metrics.LOOP_STOPS.labels(manifest.role, StopReason.ERROR).inc()
        return event


def _spent(total: LoopResult, more: LoopResult) -> None:
    """Add what a further run spent to ``total``."""
    total.turns += more.turns
    total.input_tokens += more.input_tokens
    total.output_tokens += more.output_tokens
    total.cost_cents += more.cost_cents
    total.work_ms += more.work_ms
    total.unverified = total.unverified or more.unverified
