"""Scripted stand-ins for the loop's unit tests: llm-router turns, mcp-gateway calls, the bus.

They stand in for our own services (never a paid API) in tests of the loop's logic alone;
the loop against the real router, gateway, MCP servers and bus is in test_loop_stack.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import Message

from vapora.llm.v1 import llm_pb2
from vapora.mcp.v1 import mcp_pb2
from vapora_agent_runtime.tools import ToolBox, tool_specs
from vapora_agent_runtime.transcript import Run, Transcript

SCHEMA = json.dumps({"type": "object", "properties": {"path": {"type": "string"}}})
CATALOGUE = [
    mcp_pb2.Tool(server="workspace", name="read_file", description="Read a file", input_schema_json=SCHEMA),
    mcp_pb2.Tool(server="workspace", name="list_files", description="List files", input_schema_json=SCHEMA),
    mcp_pb2.Tool(server="sysinfo", name="utc_now", description="The time", input_schema_json='{"type":"object"}'),
]
RUN = Run(
    execution_id="ex-1",
    run_id="ex-1.1",
    job_id="j-1",
    task_id="t-1",
    workspace_id="ws-1",
    agent_id="developer",
    task_type="coding",
)


def call(
    name: str, arguments: dict[str, Any] | str | None = None, *, id: str = "", error: str = ""
) -> llm_pb2.ToolCall:
    args = arguments if isinstance(arguments, str) else json.dumps(arguments or {})
    return llm_pb2.ToolCall(id=id or f"c-{name}-{args}", name=name, arguments_json=args, error=error)


def answer(
    text: str = "", *calls: llm_pb2.ToolCall, cost: float = 0.0, tokens: tuple[int, int] = (10, 5)
) -> llm_pb2.CompleteResponse:
    return llm_pb2.CompleteResponse(
        text=text,
        provider="anthropic",
        model="claude-sonnet-4-5",
        input_tokens=tokens[0],
        output_tokens=tokens[1],
        cost_cents=cost,
        latency_ms=2,
        finish_reason="tool_calls" if calls else "stop",
        tool_calls=list(calls),
    )


Turn = llm_pb2.CompleteResponse | Exception | Callable[[llm_pb2.CompleteRequest], Awaitable[llm_pb2.CompleteResponse]]


@dataclass
class ScriptedRouter:
    """Answers turn after turn from ``turns``; the last one repeats. Records requests and tokens."""

    turns: list[Turn]
    requests: list[llm_pb2.CompleteRequest] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)

    async def __call__(self, request: llm_pb2.CompleteRequest, *, token: str = "") -> llm_pb2.CompleteResponse:
        self.requests.append(request)
        self.tokens.append(token)
        turn = self.turns[min(len(self.requests), len(self.turns)) - 1]
        if isinstance(turn, Exception):
            raise turn
        if callable(turn):
            return await turn(request)
        return turn


Handler = Callable[[mcp_pb2.CallToolRequest], Awaitable[mcp_pb2.CallToolResponse]]


@dataclass
class ScriptedGateway:
    """Tools answer with their arguments echoed unless ``handlers`` says otherwise."""

    catalogue: list[mcp_pb2.Tool] = field(default_factory=lambda: list(CATALOGUE))
    handlers: dict[str, Handler] = field(default_factory=dict)
    calls: list[mcp_pb2.CallToolRequest] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    listed: list[tuple[str, str, str]] = field(default_factory=list)

    async def list_tools(self, *, workspace_id: str, agent_id: str, token: str) -> list[mcp_pb2.Tool]:
        self.listed.append((workspace_id, agent_id, token))
        return self.catalogue

    async def call_tool(self, request: mcp_pb2.CallToolRequest, *, token: str) -> mcp_pb2.CallToolResponse:
        self.calls.append(request)
        self.tokens.append(token)
        handler = self.handlers.get(f"{request.server}.{request.tool}")
        if handler is not None:
            return await handler(request)
        return mcp_pb2.CallToolResponse(text=f"{request.tool} says {request.arguments_json}")


@dataclass
class RecordingSender:
    """The bus as the transcript uses it: every message sent, each acknowledged at once."""

    sent: list[tuple[str, Message, str | None]] = field(default_factory=list)

    async def send(self, subject: str, message: Message, *, msg_id: str | None = None) -> asyncio.Future[Any]:
        self.sent.append((subject, message, msg_id))
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    def steps(self) -> list[Any]:
        return [m for s, m, _ in self.sent if s.startswith("steps.")]

    def progress(self) -> list[Any]:
        return [m for s, m, _ in self.sent if s.startswith("events.task.")]


def toolbox(
    gateway: ScriptedGateway, patterns: tuple[str, ...] = ("workspace.*", "sysinfo.utc_now"), limit: int = 16_384
) -> ToolBox:
    async def call_tool(request: mcp_pb2.CallToolRequest) -> mcp_pb2.CallToolResponse:
        return await gateway.call_tool(request, token="tok")

    return ToolBox(
        tool_specs(gateway.catalogue, patterns),
        call_tool,
        workspace_id=RUN.workspace_id,
        agent_id=RUN.agent_id,
        task_id=RUN.task_id,
        result_limit=limit,
    )


def transcript(sender: RecordingSender, limit: int = 4096) -> Transcript:
    return Transcript(sender, RUN, text_limit=limit)


def base_request() -> llm_pb2.CompleteRequest:
    return llm_pb2.CompleteRequest(
        workspace_id="ws-1",
        task_id="t-1",
        agent_id="developer",
        role="developer",
        messages=[llm_pb2.ChatMessage(role="user", content="Task type: coding\nTitle: Fix the parser")],
        task_cost_cap_cents=50,
    )
