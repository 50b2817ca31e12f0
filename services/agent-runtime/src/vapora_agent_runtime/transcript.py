"""The transcript of a run, step by step, and the task's progress while it runs.

A run is one delivery of a job: ``run_id = f"{execution_id}.{delivery}"``. Every step is a
:class:`StepRecorded` on ``steps.<task_type>.<agent_id>``, message id ``<run_id>.<index>`` (a
replayed publish is not a second step): a model turn (tokens, cost, latency, provider/model,
its text and the calls it asked for) or one tool call (tool, arguments, result, error,
latency). Texts, arguments and results are cut to ``text_limit`` bytes with a marker, and what
the store cannot keep (U+0000, a lone surrogate) becomes U+FFFD: a model or a tool says anything.

Progress: ``TaskStatusChanged(state=RUNNING, step=n, tool=…)`` on ``events.task.<ws>`` when
a step starts, the first one included, so the task shows ``running`` from its first step.

Publishing is off the loop's path: each message is written to the connection at once and its
stream's acknowledgement awaited in :meth:`Transcript.flush`, before the execution is
published, so an execution never goes out ahead of a step of its transcript.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from google.protobuf.message import Message

from vapora.common.v1 import common_pb2
from vapora.kg.v1 import kg_pb2
from vapora.llm.v1 import llm_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_agent_runtime.tools import ToolOutcome, cut
from vapora_core.bus import subjects
from vapora_core.bus.codec import timestamp
from vapora_core.errors import Unavailable
from vapora_core.store_guard import scrub


def _kept(text: str, limit: int, note: str = "") -> tuple[str, bool]:
    """``text`` cut to ``limit`` bytes (True if it was) and scrubbed of what no store keeps."""
    kept, was_cut = cut(text, limit, note)
    return scrub(kept), was_cut


class Sender(Protocol):
    async def send(self, subject: str, message: Message, *, msg_id: str | None = None) -> asyncio.Future[Any]: ...


def run_id_of(execution_id: str, delivery: int) -> str:
    return f"{execution_id}.{delivery}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    """Who the run's steps belong to."""

    execution_id: str
    run_id: str
    job_id: str
    task_id: str
    workspace_id: str
    agent_id: str
    task_type: str


class Transcript:
    """Numbers, records and publishes the steps of one run."""

    def __init__(self, sender: Sender, run: Run, *, text_limit: int) -> None:
        self._sender = sender
        self.run = run
        self.text_limit = text_limit
        self._index = 0
        self._pending: list[asyncio.Future[Any]] = []
        self.steps = 0
        self.tool_calls = 0

    def next_index(self) -> int:
        self._index += 1
        return self._index

    def _step(self, index: int, kind: str, started_at: float, latency_ms: int) -> kg_pb2.StepRecorded:
        r = self.run
        return kg_pb2.StepRecorded(
            execution_id=r.execution_id,
            run_id=r.run_id,
            job_id=r.job_id,
            task_id=r.task_id,
            workspace_id=r.workspace_id,
            agent_id=r.agent_id,
            task_type=r.task_type,
            index=index,
            kind=kind,
            at=timestamp(started_at),
            latency_ms=latency_ms,
        )

    async def _send(self, subject: str, message: Message, msg_id: str | None = None) -> None:
        self._pending.append(await self._sender.send(subject, message, msg_id=msg_id))

    async def _publish_step(self, step: kg_pb2.StepRecorded) -> None:
        self.steps += 1
        subject = subjects.step(self.run.task_type, self.run.agent_id)
        await self._send(subject, step, msg_id=f"{self.run.run_id}.{step.index}")

    async def model_step(
        self,
        index: int,
        *,
        started_at: float,
        latency_ms: int,
        reply: llm_pb2.CompleteResponse,
        calls: Iterable[kg_pb2.RequestedCall],
    ) -> kg_pb2.StepRecorded:
        step = self._step(index, "model", started_at, latency_ms)
        text, cut_text = _kept(reply.text, self.text_limit)
        step.provider, step.model, step.finish_reason, step.text = (
            reply.provider,
            reply.model,
            reply.finish_reason,
            text,
        )
        step.input_tokens, step.output_tokens, step.cost_cents = (
            reply.input_tokens,
            reply.output_tokens,
            reply.cost_cents,
        )
        truncated = cut_text
        for c in calls:
            arguments, cut_args = _kept(c.arguments_json, self.text_limit)
            truncated = truncated or cut_args
            step.calls.append(
                kg_pb2.RequestedCall(id=c.id, tool=scrub(c.tool), arguments_json=arguments, error=scrub(c.error))
            )
        step.truncated = truncated
        await self._publish_step(step)
        return step

    async def tool_step(self, index: int, outcome: ToolOutcome) -> kg_pb2.StepRecorded:
        step = self._step(index, "tool", outcome.started_at, outcome.latency_ms)
        arguments, cut_args = _kept(outcome.arguments_json, self.text_limit)
        result, cut_result = _kept(outcome.result, self.text_limit, outcome.note)
        step.tool, step.call_id = scrub(outcome.tool), outcome.call_id
        step.arguments_json, step.result = arguments, result
        step.is_error, step.error = outcome.is_error, _kept(outcome.error, self.text_limit)[0]
        step.truncated = cut_args or cut_result or outcome.truncated
        self.tool_calls += 1
        await self._publish_step(step)
        return step

    async def progress(self, step: int, tool: str = "") -> None:
        """The task is running its ``step``-th step (calling ``tool``, or a model turn)."""
        r = self.run
        doing = f"calling {tool}" if tool else "model turn"
        event = tasks_pb2.TaskStatusChanged(
            task_id=r.task_id,
            workspace_id=r.workspace_id,
            state=common_pb2.TASK_STATE_RUNNING,
            agent_id=r.agent_id,
            execution_id=r.execution_id,
            task_type=r.task_type,
            detail=f"step {step}: {doing}",
            at=timestamp(time.time()),
            step=step,
            tool=tool,
        )
        await self._send(subjects.task_event(r.workspace_id), event)

    async def flush(self) -> None:
        """Wait until every step and progress event so far is stored; Unavailable if one was not."""
        pending, self._pending = self._pending, []
        results = await asyncio.gather(*pending, return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            raise Unavailable(
                f"{len(failed)} steps or progress events of run {self.run.run_id} were not stored: {failed[0]}"
            )

    def abandon(self) -> None:
        """The run is over without an execution (cancelled, handed back): stop waiting for acks."""
        for f in self._pending:
            if f.done() and not f.cancelled():
                f.exception()  # retrieved, so a failed ack is not reported as never retrieved
            else:
                f.add_done_callback(lambda fut: fut.cancelled() or fut.exception())
        self._pending = []
