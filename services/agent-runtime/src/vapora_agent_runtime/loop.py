"""The tool loop of one run: model turn → tool calls → results → next turn, until it ends.

Each turn asks llm-router for a completion with the job's tools (request id
``<run_id>.<index>``, so usage links to the step). A turn without tool calls is the final
answer. Otherwise the turn's calls run at once through mcp-gateway, each result (or error)
goes back in a ``tool`` message, and the next turn starts. Every step is recorded in the
:class:`~.transcript.Transcript` as it ends, with a progress event as it starts.

What ends a run, its :class:`StopReason`:

- ``final_answer``  a turn with no tool calls;
- ``max_steps``     the ``max_steps``-th turn still asked for tools (they are not run);
- ``loop``          a turn asked for a call made ``loop_repeats - 1`` times already: the same
                    tool with the same arguments as canonical JSON (it is not run);
- ``wall_clock``    the run took ``max_wall_clock_s``; the call in flight is aborted;
- ``cost_cap`` / ``token_cap``  llm-router refused the turn with :class:`BudgetExceeded` (it
                    crosses gRPC whole): the task's cap, or the role's budget, cannot pay even a
                    minimal answer; ``limit`` (cost or tokens) names which;
- ``error``         llm-router refused the turn for another reason, or failed on the job's
                    last delivery (a retryable failure before that hands the job back);
- ``cancelled``     the job was stopped: :class:`asyncio.CancelledError` goes through, the
                    call in flight with it, so a cancel ends the run within the current step.

A malformed call and a tool's error are not stops: the model reads them and goes on.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from vapora.kg.v1 import kg_pb2
from vapora.llm.v1 import llm_pb2
from vapora_agent_runtime import metrics
from vapora_agent_runtime.manifest import LimitsManifest
from vapora_agent_runtime.tools import ToolBox, ToolOutcome
from vapora_agent_runtime.transcript import Transcript
from vapora_core.errors import BudgetExceeded, VaporaError


class StopReason(StrEnum):
    FINAL_ANSWER = "final_answer"
    MAX_STEPS = "max_steps"
    COST_CAP = "cost_cap"
    TOKEN_CAP = "token_cap"  # noqa: S105 - a stop reason, not a secret
    WALL_CLOCK = "wall_clock"
    LOOP = "loop"
    CANCELLED = "cancelled"
    ERROR = "error"


class Complete(Protocol):
    async def __call__(self, request: llm_pb2.CompleteRequest, *, token: str = "") -> llm_pb2.CompleteResponse: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    max_steps: int = 30
    max_wall_clock_s: float = 900.0
    max_cost_cents: float = 0.0
    max_tokens_total: int = 0
    loop_repeats: int = 3

    @classmethod
    def of(cls, m: LimitsManifest) -> Limits:
        return cls(
            max_steps=m.max_steps,
            max_wall_clock_s=m.max_wall_clock_s,
            max_cost_cents=m.max_cost_cents,
            max_tokens_total=m.max_tokens_total,
            loop_repeats=m.loop_repeats,
        )


@dataclass(slots=True)
class LoopResult:
    """How a run ended, and what it spent (this run only)."""

    stop_reason: StopReason = StopReason.ERROR
    text: str = ""  # the final answer, else the last text the model gave
    error: str = ""  # why the run ended, when not with a final answer
    turns: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_cents: float = 0.0
    work_ms: int = 0  # model turns plus each turn's slowest tool call
    provider: str = ""
    model: str = ""
    finish_reason: str = ""
    unverified: bool = False  # some turn was not a model's (the offline provider)

    def stop(self, reason: StopReason, error: str = "") -> None:
        self.stop_reason, self.error = reason, error

    def add(self, reply: llm_pb2.CompleteResponse, latency_ms: int) -> None:
        self.turns += 1
        self.input_tokens += reply.input_tokens
        self.output_tokens += reply.output_tokens
        self.cost_cents += reply.cost_cents
        self.work_ms += latency_ms
        self.provider, self.model, self.finish_reason = reply.provider, reply.model, reply.finish_reason
        self.unverified = self.unverified or reply.unverified or reply.provider == "offline"
        if reply.text.strip():
            self.text = reply.text


def canonical(call: llm_pb2.ToolCall) -> str:
    """The call as loop detection compares it: its tool and its arguments as canonical JSON."""
    try:
        arguments = json.dumps(json.loads(call.arguments_json or "{}"), sort_keys=True, separators=(",", ":"))
    except ValueError:
        arguments = call.arguments_json
    return f"{call.name}\x00{arguments}"


class ToolLoop:
    """One run of a job's loop; :meth:`run` returns how it ended."""

    def __init__(
        self,
        complete: Complete,
        tools: ToolBox,
        transcript: Transcript,
        limits: Limits,
        *,
        token: str = "",
        hand_back: bool = True,
    ) -> None:
        """``hand_back``: a retryable router failure propagates (the bus redelivers the job);
        False on the job's last delivery, where it ends the run with ``error``."""
        self._complete = complete
        self._tools = tools
        self._transcript = transcript
        self._limits = limits
        self._token = token
        self._hand_back = hand_back
        self._seen: Counter[str] = Counter()

    async def run(self, request: llm_pb2.CompleteRequest) -> LoopResult:
        result = LoopResult()
        timer = asyncio.timeout(self._limits.max_wall_clock_s)
        try:
            async with timer:
                await self._turns(request, result)
        except TimeoutError:
            if not timer.expired():
                raise
            result.stop(
                StopReason.WALL_CLOCK, f"wall_clock: the run took more than {self._limits.max_wall_clock_s:g} s"
            )
        return result

    @staticmethod
    def _refused(exc: VaporaError) -> StopReason:
        """The stop reason of a router's refusal: a budget that cannot pay is a cap, by its kind."""
        if not isinstance(exc, BudgetExceeded):
            return StopReason.ERROR
        return StopReason.TOKEN_CAP if exc.limit == "tokens" else StopReason.COST_CAP

    def _turn_request(
        self, base: llm_pb2.CompleteRequest, index: int, messages: Sequence[llm_pb2.ChatMessage]
    ) -> llm_pb2.CompleteRequest:
        req = llm_pb2.CompleteRequest()
        req.CopyFrom(base)
        req.request_id = f"{self._transcript.run.run_id}.{index}"
        del req.messages[:]
        req.messages.extend(messages)
        del req.tools[:]
        req.tools.extend(self._tools.definitions)
        return req

    def _repeated(self, calls: Sequence[llm_pb2.ToolCall]) -> llm_pb2.ToolCall | None:
        """The first call of ``calls`` that makes a loop (counted across the run), if any."""
        for call in calls:
            key = canonical(call)
            self._seen[key] += 1
            if self._seen[key] >= self._limits.loop_repeats:
                return call
        return None

    async def _turns(self, base: llm_pb2.CompleteRequest, result: LoopResult) -> None:
        messages = list(base.messages)
        lim = self._limits
        for turn in range(1, lim.max_steps + 1):
            index = self._transcript.next_index()
            await self._transcript.progress(index)
            started, t0 = time.time(), time.perf_counter()
            try:
                reply = await self._complete(self._turn_request(base, index, messages), token=self._token)
            except VaporaError as exc:
                if exc.retryable and self._hand_back:
                    raise
                reason = self._refused(exc)
                result.stop(reason, f"{reason}: llm-router refused turn {turn}: {exc.code}: {exc.message}")
                return
            latency = reply.latency_ms or int((time.perf_counter() - t0) * 1000)
            result.add(reply, latency)
            calls = list(reply.tool_calls)
            requested = [
                kg_pb2.RequestedCall(
                    id=c.id, tool=self._tools.tool_of(c), arguments_json=c.arguments_json, error=c.error
                )
                for c in calls
            ]
            await self._transcript.model_step(
                index, started_at=started, latency_ms=latency, reply=reply, calls=requested
            )
            if not calls:
                result.stop(StopReason.FINAL_ANSWER)
                return
            if turn == lim.max_steps:
                result.stop(StopReason.MAX_STEPS, f"max_steps: turn {turn}, the limit, still asked for tools")
                return
            looping = self._repeated(calls)
            if looping is not None:
                what = self._tools.tool_of(looping)
                result.stop(
                    StopReason.LOOP, f"loop: {what} was asked for {lim.loop_repeats} times with the same arguments"
                )
                return
            outcomes = await self._call_all(calls)
            result.work_ms += max(o.latency_ms for o in outcomes)
            messages.append(llm_pb2.ChatMessage(role="assistant", content=reply.text, tool_calls=calls))
            messages.append(llm_pb2.ChatMessage(role="tool", tool_results=[o.tool_result() for o in outcomes]))

    async def _call_all(self, calls: Sequence[llm_pb2.ToolCall]) -> list[ToolOutcome]:
        indices = [self._transcript.next_index() for _ in calls]
        await self._transcript.progress(indices[0], ", ".join(dict.fromkeys(self._tools.tool_of(c) for c in calls)))

        async def one(index: int, call: llm_pb2.ToolCall) -> ToolOutcome:
            outcome = await self._tools.call(call)
            metrics.TOOL_CALLS.labels(
                outcome.tool if self._tools.resolve(call.name) else "unknown", outcome.outcome
            ).inc()
            await self._transcript.tool_step(index, outcome)
            return outcome

        return list(await asyncio.gather(*(one(i, c) for i, c in zip(indices, calls, strict=True))))
