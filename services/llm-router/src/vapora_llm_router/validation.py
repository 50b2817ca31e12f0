"""A request checked before anything is planned: every refusal is InvalidArgument naming the field.

- ``max_tokens`` ≥ 0, ``temperature`` in [0, 2], known provider names.
- Task caps: ``task_cost_cap_cents`` a finite number ≥ 0, ``task_token_cap`` ≥ 0, and a cap only
  with a ``task_id`` (the router keeps a cap per task id).
- Tools: at most :data:`MAX_TOOLS`; names match :data:`TOOL_NAME` (what every provider accepts)
  and are unique; a description of at most :data:`MAX_DESCRIPTION`; ``parameters_json`` of at
  most :data:`MAX_PARAMETERS` characters that is a JSON object schema (empty: no arguments).
- Messages: system messages are folded into ``system``; user turns carry text only; an
  assistant turn may carry tool calls (ids present and unique, arguments a JSON object unless
  the call came back malformed), and must then be followed by a ``tool`` message whose results
  answer exactly those calls; a result's empty ``name`` is taken from its call. A conversation
  with tool calls must define its tools (Anthropic refuses it otherwise).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace

from vapora_core.errors import InvalidArgument
from vapora_llm_router.config import PROVIDERS
from vapora_llm_router.providers.base import ChatTurn, ToolCall, ToolDefinition, ToolResult
from vapora_llm_router.providers.tools import EMPTY_SCHEMA
from vapora_llm_router.routing import RouteRequest

TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
MAX_TOOLS = 128
MAX_DESCRIPTION = 4096
MAX_PARAMETERS = 65536


def validate(req: RouteRequest, *, require_messages: bool = True) -> RouteRequest:
    """The request with system messages folded into ``system`` and tools normalised, or InvalidArgument."""
    if req.max_tokens < 0:
        raise InvalidArgument(f"max_tokens must be ≥ 0, got {req.max_tokens}")
    if not 0.0 <= req.temperature <= 2.0:
        raise InvalidArgument(f"temperature must be between 0 and 2, got {req.temperature}")
    for name, value in (("provider_override", req.provider_override), ("preferred_provider", req.preferred_provider)):
        if value and value not in PROVIDERS:
            raise InvalidArgument(f"{name}: unknown provider {value!r}; known: {', '.join(PROVIDERS)}")
    _check_caps(req)
    tools = validate_tools(req.tools)
    system = [req.system] if req.system else []
    turns: list[tuple[int, ChatTurn]] = []
    for i, m in enumerate(req.messages):
        if m.role not in ("system", "user", "assistant", "tool"):
            raise InvalidArgument(f"messages[{i}].role must be system, user, assistant or tool, got {m.role!r}")
        if m.tool_calls and m.role != "assistant":
            raise InvalidArgument(f"messages[{i}].tool_calls: only an assistant turn calls tools, not {m.role}")
        if m.tool_results and m.role != "tool":
            raise InvalidArgument(f"messages[{i}].tool_results: only a tool message carries results, not {m.role}")
        if m.role == "system":
            system.append(m.content)
        else:
            turns.append((i, m))
    if not turns and require_messages:
        raise InvalidArgument("messages: at least one user message is required")
    checked = _check_turns(turns)
    if not tools and any(t.tool_calls for t in checked):
        raise InvalidArgument("tools: the conversation has tool calls, so the request must define its tools")
    return replace(req, system="\n\n".join(system), messages=tuple(checked), tools=tools)


def _check_caps(req: RouteRequest) -> None:
    cost, tokens = req.task_cost_cap_cents, req.task_token_cap
    if not (math.isfinite(cost) and cost >= 0):
        raise InvalidArgument(f"task_cost_cap_cents must be a number ≥ 0 (0: no cap), got {cost}")
    if tokens < 0:
        raise InvalidArgument(f"task_token_cap must be ≥ 0 (0: no cap), got {tokens}")
    if (cost or tokens) and not req.task_id:
        raise InvalidArgument("task_id: required with task_cost_cap_cents or task_token_cap (caps are kept per task)")


def validate_tools(tools: tuple[ToolDefinition, ...]) -> tuple[ToolDefinition, ...]:
    if len(tools) > MAX_TOOLS:
        raise InvalidArgument(f"tools: {len(tools)} tools, at most {MAX_TOOLS}")
    seen: dict[str, int] = {}
    out = []
    for i, t in enumerate(tools):
        where = f"tools[{i}]"
        if not TOOL_NAME.fullmatch(t.name):
            raise InvalidArgument(f"{where}.name: {t.name!r} must match ^[a-zA-Z0-9_-]{{1,64}}$")
        where = f"tools[{i}] ({t.name})"
        if t.name in seen:
            raise InvalidArgument(f"{where}.name: defined twice (also tools[{seen[t.name]}])")
        seen[t.name] = i
        if len(t.description) > MAX_DESCRIPTION:
            raise InvalidArgument(f"{where}.description: {len(t.description)} characters, at most {MAX_DESCRIPTION}")
        out.append(replace(t, parameters_json=_schema(where, t.parameters_json)))
    return tuple(out)


def _schema(where: str, text: str) -> str:
    if not text.strip():
        return EMPTY_SCHEMA
    if len(text) > MAX_PARAMETERS:
        raise InvalidArgument(f"{where}.parameters_json: {len(text)} characters, at most {MAX_PARAMETERS}")
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidArgument(f"{where}.parameters_json: not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise InvalidArgument(f"{where}.parameters_json: must be a JSON object schema, got {type(value).__name__}")
    if value.get("type", "object") != "object":
        raise InvalidArgument(f"{where}.parameters_json: must be an object schema, got type {value['type']!r}")
    return text


def _check_calls(i: int, calls: tuple[ToolCall, ...]) -> None:
    ids: set[str] = set()
    for j, c in enumerate(calls):
        where = f"messages[{i}].tool_calls[{j}]"
        if not c.id:
            raise InvalidArgument(f"{where}.id: empty; send the calls back as the router returned them")
        if c.id in ids:
            raise InvalidArgument(f"{where}.id: {c.id!r} is used twice in this turn")
        ids.add(c.id)
        if not c.name:
            raise InvalidArgument(f"{where}.name: empty")
        if not c.error:
            try:
                value = json.loads(c.arguments_json or "{}")
            except ValueError:
                value = None
            if not isinstance(value, dict):
                raise InvalidArgument(f"{where}.arguments_json: not a JSON object (and the call has no error)")


def _answer(i: int, k: int, turn: ChatTurn, calls: tuple[ToolCall, ...]) -> tuple[ToolResult, ...]:
    """The results of a tool message, each answering one call of ``calls`` (messages[k])."""
    if turn.content:
        raise InvalidArgument(
            f"messages[{i}].content: a tool message carries its results in tool_results; "
            "send other text as a user message"
        )
    if not turn.tool_results:
        raise InvalidArgument(f"messages[{i}].tool_results: a tool message needs at least one result")
    by_id = {c.id: c for c in calls}
    results: list[ToolResult] = []
    answered: set[str] = set()
    for j, r in enumerate(turn.tool_results):
        where = f"messages[{i}].tool_results[{j}]"
        call = by_id.get(r.tool_call_id)
        if call is None:
            known = ", ".join(by_id) or "(none)"
            raise InvalidArgument(
                f"{where}.tool_call_id: {r.tool_call_id!r} answers no call of messages[{k}] ({known})"
            )
        if r.tool_call_id in answered:
            raise InvalidArgument(f"{where}.tool_call_id: {r.tool_call_id!r} is answered twice")
        if r.name and r.name != call.name:
            raise InvalidArgument(f"{where}.name: {r.name!r}, but call {call.id} is to {call.name!r}")
        answered.add(r.tool_call_id)
        results.append(replace(r, name=call.name))
    missing = [c.id for c in calls if c.id not in answered]
    if missing:
        raise InvalidArgument(f"messages[{i}].tool_results: no result for call {', '.join(missing)} of messages[{k}]")
    return tuple(results)


def _check_turns(turns: list[tuple[int, ChatTurn]]) -> list[ChatTurn]:
    out: list[ChatTurn] = []
    pending: tuple[int, tuple[ToolCall, ...]] | None = None  # the assistant turn awaiting results
    for i, m in turns:
        if m.role == "tool":
            if pending is None:
                raise InvalidArgument(f"messages[{i}]: a tool message must follow an assistant turn that called tools")
            out.append(replace(m, tool_results=_answer(i, pending[0], m, pending[1])))
            pending = None
            continue
        if pending is not None:
            raise InvalidArgument(f"messages[{i}]: the tool calls of messages[{pending[0]}] need a tool message first")
        if m.tool_calls:
            _check_calls(i, m.tool_calls)
            pending = (i, m.tool_calls)
        out.append(m)
    if pending is not None:
        raise InvalidArgument(f"messages[{pending[0]}]: its tool calls need a tool message with their results after it")
    return out
