"""Tool calls, provider-neutral: what every adapter uses to read calls back and send them on.

A provider's call becomes a :class:`~.base.ToolCall` through :func:`collect_calls`, which never
raises for a malformed call: arguments that are not JSON or not a JSON object, a name that is
not one of the request's tools, a missing id where the format has ids (Anthropic, OpenAI) or a
repeated one come back as a call with ``error`` saying what was wrong, and a usable id, so the
tool loop can show the model its mistake. Where the format has no ids (Gemini, Ollama) the
router makes a stable one (:func:`generated_id`) and never sends it to the provider.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from vapora_llm_router import metrics
from vapora_llm_router.providers.base import ToolCall, ToolDefinition, ToolResult

log = logging.getLogger("vapora.llm_router")

GENERATED_PREFIX = "vapora_"
EMPTY_SCHEMA = '{"type": "object", "properties": {}}'


def generated_id(index: int, name: str, arguments: str) -> str:
    """A stable id for the ``index``-th call of a turn: same call, same id."""
    digest = hashlib.sha256(f"{name}\0{arguments}".encode()).hexdigest()[:12]
    return f"{GENERATED_PREFIX}{index}_{digest}"


def provider_id(call_id: str) -> str:
    """A call's id as the provider gave it; empty when the router made it (never sent on)."""
    return "" if call_id.startswith(GENERATED_PREFIX) else call_id


def schema(tool: ToolDefinition) -> dict[str, Any]:
    """The tool's parameters as a JSON object (validated before any adapter sees it)."""
    value = json.loads(tool.parameters_json or EMPTY_SCHEMA)
    return value if isinstance(value, dict) else {}


def arguments(call: ToolCall) -> dict[str, Any]:
    """The call's arguments as an object, for formats that send them back as one; ``{}`` if malformed."""
    try:
        value = json.loads(call.arguments_json or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def result_text(result: ToolResult) -> str:
    """A result's content for formats with no error flag (OpenAI, Ollama)."""
    return f"error: {result.content}" if result.is_error else result.content


@dataclass(frozen=True, slots=True)
class RawCall:
    """A call as the provider's wire format had it, before it is checked."""

    id: Any
    name: Any
    arguments: Any  # text (OpenAI, streamed Anthropic) or the decoded value
    provider_data: str = ""


def call_chars(raws: list[RawCall]) -> int:
    """How much output some whole calls are, in characters (name and arguments), for metering."""
    total = 0
    for r in raws:
        args = r.arguments if isinstance(r.arguments, str) else json.dumps(r.arguments, default=str)
        total += len(str(r.name or "")) + len(args)
    return total


def _arguments_text(value: Any) -> tuple[str, str]:
    """(arguments as JSON text, what is wrong with them or "")."""
    if isinstance(value, str):
        text = value.strip() or "{}"
        try:
            decoded = json.loads(text)
        except ValueError as exc:
            return value, f"arguments are not valid JSON ({exc})"
        if not isinstance(decoded, dict):
            return value, f"arguments are not a JSON object (got {type(decoded).__name__})"
        return json.dumps(decoded, ensure_ascii=False), ""
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False), ""
    if value is None:
        return "{}", ""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = str(value)
    return text, f"arguments are not a JSON object (got {type(value).__name__})"


def collect_calls(
    provider: str, tools: Iterable[ToolDefinition], raws: Iterable[RawCall], *, has_ids: bool
) -> tuple[ToolCall, ...]:
    """Check every call of one turn; malformed ones get ``error`` set, never an exception."""
    known = [t.name for t in tools]
    calls: list[ToolCall] = []
    seen: set[str] = set()
    for index, raw in enumerate(raws):
        text, wrong = _arguments_text(raw.arguments)
        problems = [wrong] if wrong else []
        name = raw.name if isinstance(raw.name, str) else ""
        if not name:
            problems.append("the call names no tool")
        elif name not in known:
            problems.append(f"unknown tool {name!r}; the tools are: {', '.join(known) or '(none)'}")
        call_id = raw.id if isinstance(raw.id, str) else ""
        if not call_id and has_ids:
            problems.append("the call has no id")
        elif call_id in seen:
            problems.append(f"the id {call_id!r} is used by an earlier call of this turn")
            call_id = ""
        call_id = call_id or generated_id(index, name, text)
        seen.add(call_id)
        error = "; ".join(problems)
        metrics.TOOL_CALLS.labels(provider, "malformed" if error else "ok").inc()
        if error:
            log.warning("%s sent a malformed tool call %s: %s", provider, call_id, error)
        calls.append(ToolCall(id=call_id, name=name, arguments_json=text, error=error, provider_data=raw.provider_data))
    return tuple(calls)


@dataclass(slots=True)
class ToolCallParts:
    """Streamed calls that arrive in pieces (Anthropic blocks, OpenAI deltas), keyed by index."""

    _calls: dict[int, dict[str, Any]] = field(default_factory=dict)

    def add(self, key: int, *, call_id: Any = None, name: Any = None, arguments: Any = None) -> None:
        call = self._calls.setdefault(key, {"id": None, "name": None, "parts": [], "start": None})
        if call_id and call["id"] is None:
            call["id"] = call_id
        if name and call["name"] is None:
            call["name"] = name
        if isinstance(arguments, str):
            call["parts"].append(arguments)
        elif arguments is not None and call["start"] is None:
            call["start"] = arguments

    def raw_calls(self) -> list[RawCall]:
        return [
            RawCall(c["id"], c["name"], "".join(c["parts"]) if c["parts"] else c["start"]) for c in self._calls.values()
        ]


def normalise_finish(raw: str, words: Mapping[str, str], *, has_calls: bool) -> str:
    """``stop``, ``length`` or ``tool_calls`` from the provider's word; anything else as it came."""
    finish = words.get(raw, raw)
    if has_calls and finish in ("stop", ""):
        return "tool_calls"
    return finish
