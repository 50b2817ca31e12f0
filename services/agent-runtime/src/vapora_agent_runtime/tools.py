"""The tools of one job: the gateway's catalogue as the model sees it, and calls through mcp-gateway.

Names. mcp-gateway names a tool ``<server>.<tool>``; providers accept only
``^[a-zA-Z0-9_-]{1,64}$``, so the model sees ``<server>__<tool>`` (:func:`model_name`,
:func:`gateway_name`). A catalogue tool whose model name would not fit is left out.

Which tools. The catalogue the gateway lists for the job, kept where the manifest's
``allowed_tools`` allows it: an exact ``server.tool`` or ``server.*`` (:func:`allows`).

Calls. :meth:`ToolBox.call` runs one call (the loop runs a turn's calls at once); each ends as a
:class:`ToolOutcome`, never as an exception: a malformed call, a tool's own error, and a
refusal, failure or deadline of the gateway all become error results the model reads, and
the loop goes on. What the model reads of a result is cut to ``result_limit`` bytes, with a
marker that says so (:func:`cut`); the transcript keeps its own, smaller cut.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

from vapora.llm.v1 import llm_pb2
from vapora.mcp.v1 import mcp_pb2
from vapora_core import errors

log = logging.getLogger("vapora.runtime.tools")

SEPARATOR = "__"
PROVIDER_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
MAX_TOOLS = 128  # what llm-router accepts in one request
CUT_MARKER = "\n[cut by agent-runtime: {size} bytes, the first {limit} shown]"

CallTool = Callable[[mcp_pb2.CallToolRequest], Awaitable[mcp_pb2.CallToolResponse]]

# How a failed call is counted (vapora_runtime_tool_calls_total{outcome}).
_OUTCOMES: tuple[tuple[type[errors.VaporaError], str], ...] = (
    (errors.DeadlineExceeded, "timeout"),
    (errors.PermissionDenied, "permission_denied"),
    (errors.Unauthenticated, "unauthenticated"),
    (errors.InvalidArgument, "invalid_argument"),
    (errors.NotFound, "not_found"),
    (errors.ResourceExhausted, "too_large"),
    (errors.Unavailable, "unavailable"),
)


def model_name(gateway: str) -> str:
    """``server.tool`` → ``server__tool``."""
    server, _, tool = gateway.partition(".")
    return f"{server}{SEPARATOR}{tool}"


def gateway_name(model: str) -> str:
    """``server__tool`` → ``server.tool`` (the first separator splits)."""
    server, _, tool = model.partition(SEPARATOR)
    return f"{server}.{tool}"


def allows(patterns: Iterable[str], gateway: str) -> bool:
    """Whether ``allowed_tools`` (exact ``server.tool`` or ``server.*``) lets a job use ``gateway``."""
    server = gateway.partition(".")[0]
    return any(p in (gateway, f"{server}.*") for p in patterns)


def cut(text: str, limit: int, note: str = "") -> tuple[str, bool]:
    """``text`` within ``limit`` UTF-8 bytes (cut on a character boundary) plus a marker, and
    ``note`` after it (what an earlier cut said, lost with the end of ``text``); True if cut."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text, False
    kept = data[:limit].decode("utf-8", errors="ignore")
    return kept + CUT_MARKER.format(size=len(data), limit=limit) + (f"\n{note}" if note else ""), True


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """One tool the job may call."""

    server: str
    tool: str
    definition: llm_pb2.ToolDefinition

    @property
    def gateway(self) -> str:
        return f"{self.server}.{self.tool}"


def _parameters(tool: mcp_pb2.Tool) -> str | None:
    """The tool's input schema as the router takes it (an object schema), or None when it is not one."""
    if not tool.input_schema_json.strip():
        return ""
    try:
        schema = json.loads(tool.input_schema_json)
    except ValueError:
        return None
    if not isinstance(schema, dict) or schema.get("type", "object") != "object":
        return None
    return tool.input_schema_json


def tool_specs(catalogue: Iterable[mcp_pb2.Tool], patterns: Sequence[str]) -> list[ToolSpec]:
    """The catalogue's tools ``patterns`` allow, as the model will see them, in catalogue order."""
    specs: list[ToolSpec] = []
    for t in catalogue:
        gateway = f"{t.server}.{t.name}"
        if not allows(patterns, gateway):
            continue
        name = model_name(gateway)
        parameters = _parameters(t)
        if not PROVIDER_NAME.match(name) or parameters is None:
            log.warning("tool %s left out: its name or input schema is not one a model can be given", gateway)
            continue
        if len(specs) == MAX_TOOLS:
            log.warning("more than %d allowed tools: %s and later ones left out", MAX_TOOLS, gateway)
            break
        definition = llm_pb2.ToolDefinition(name=name, description=t.description, parameters_json=parameters)
        specs.append(ToolSpec(server=t.server, tool=t.name, definition=definition))
    return specs


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolOutcome:
    """One tool call, done: what the model reads and what the transcript records."""

    call_id: str
    name: str  # the model's name of the tool, for the tool result
    tool: str  # server.tool, or the model's name when it maps to no allowed tool
    arguments_json: str
    content: str  # what the model reads: the result cut to result_limit, or the error
    result: str  # the result as the tool gave it ("" for an error)
    is_error: bool
    error: str
    outcome: str  # ok, tool_error, malformed, timeout, permission_denied, ...
    truncated: bool  # cut by the gateway or here
    started_at: float  # epoch seconds
    latency_ms: int
    note: str = ""  # the gateway's marker when it cut the result: the last line of ``result``

    def tool_result(self) -> llm_pb2.ToolResult:
        return llm_pb2.ToolResult(
            tool_call_id=self.call_id, name=self.name, content=self.content, is_error=self.is_error
        )


class ToolBox:
    """The tools of one job and the calls of its turns, with the job's identity on every call."""

    def __init__(
        self,
        specs: Sequence[ToolSpec],
        call: CallTool,
        *,
        workspace_id: str,
        agent_id: str,
        task_id: str,
        result_limit: int,
    ) -> None:
        self._by_name = {s.definition.name: s for s in specs}
        self._call = call
        self._identity = {"workspace_id": workspace_id, "agent_id": agent_id, "task_id": task_id}
        self.result_limit = result_limit

    @property
    def definitions(self) -> list[llm_pb2.ToolDefinition]:
        return [s.definition for s in self._by_name.values()]

    def resolve(self, name: str) -> ToolSpec | None:
        return self._by_name.get(name)

    def tool_of(self, call: llm_pb2.ToolCall) -> str:
        """The gateway's name of the tool ``call`` names (the model's name when none is allowed)."""
        spec = self.resolve(call.name)
        return spec.gateway if spec is not None else call.name

    @staticmethod
    def _failed(
        call: llm_pb2.ToolCall, tool: str, outcome: str, error: str, *, started: float, t0: float
    ) -> ToolOutcome:
        return ToolOutcome(
            call_id=call.id,
            name=call.name,
            tool=tool,
            arguments_json=call.arguments_json,
            content=f"error: {error}",
            result="",
            is_error=True,
            error=error,
            outcome=outcome,
            truncated=False,
            started_at=started,
            latency_ms=int((time.perf_counter() - t0) * 1000),
        )

    async def call(self, call: llm_pb2.ToolCall) -> ToolOutcome:
        """Run ``call`` through mcp-gateway; whatever goes wrong is an error outcome, never an exception."""
        started, t0 = time.time(), time.perf_counter()
        spec = self.resolve(call.name)
        if call.error:
            why = f"malformed tool call: {call.error}"
            return self._failed(call, self.tool_of(call), "malformed", why, started=started, t0=t0)
        if spec is None:
            why = f"no tool named {call.name!r} is available to this agent"
            return self._failed(call, call.name, "malformed", why, started=started, t0=t0)
        request = mcp_pb2.CallToolRequest(
            server=spec.server, tool=spec.tool, arguments_json=call.arguments_json, **self._identity
        )
        try:
            reply = await self._call(request)
        except errors.VaporaError as exc:
            outcome = next((label for cls, label in _OUTCOMES if isinstance(exc, cls)), "error")
            return self._failed(call, spec.gateway, outcome, f"{exc.code}: {exc.message}", started=started, t0=t0)
        text = reply.text or reply.structured_json
        note = text.rsplit("\n", 1)[-1] if reply.truncated else ""  # the gateway ends a cut text with its marker
        content, was_cut = cut(text, self.result_limit, note)
        return ToolOutcome(
            call_id=call.id,
            name=call.name,
            tool=spec.gateway,
            arguments_json=call.arguments_json,
            content=content,
            result=text,
            is_error=reply.is_error,
            error=text[:500] if reply.is_error else "",
            outcome="tool_error" if reply.is_error else "ok",
            truncated=was_cut or reply.truncated,
            started_at=started,
            latency_ms=int((time.perf_counter() - t0) * 1000),
            note=note,
        )
