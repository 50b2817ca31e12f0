"""Anthropic Messages API (``POST /v1/messages``), JSON and SSE streaming, with tool use.

Tools go out as ``tools: [{name, description, input_schema}]``; an assistant turn's calls as
``tool_use`` content blocks, their results as ``tool_result`` blocks of a user message. Calls
come back as ``tool_use`` blocks (streamed: ``content_block_start`` with the block, then
``input_json_delta`` pieces of its JSON input), with ``stop_reason: tool_use``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Any

from vapora_llm_router.providers import base, http, tools

VERSION = "2023-06-01"
FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls"}


def _message(turn: base.ChatTurn) -> dict[str, Any]:
    if turn.role == "tool":
        blocks: list[dict[str, Any]] = []
        for r in turn.tool_results:
            block: dict[str, Any] = {"type": "tool_result", "tool_use_id": r.tool_call_id, "content": r.content}
            if r.is_error:
                block["is_error"] = True
            blocks.append(block)
        return {"role": "user", "content": blocks}
    if turn.tool_calls:
        blocks = [{"type": "text", "text": turn.content}] if turn.content else []
        blocks += [
            {"type": "tool_use", "id": c.id, "name": c.name, "input": tools.arguments(c)} for c in turn.tool_calls
        ]
        return {"role": "assistant", "content": blocks}
    return {"role": turn.role, "content": turn.content}


class AnthropicProvider:
    name = "anthropic"

    def __init__(self, options: http.HttpOptions) -> None:
        self._client = http.HttpClient(options)
        self._headers = {"x-api-key": options.api_key, "anthropic-version": VERSION}

    def _payload(self, request: base.ProviderRequest, *, stream: bool) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens,
            "messages": [_message(m) for m in request.messages],
            "temperature": request.temperature,
        }
        if request.system:
            payload["system"] = request.system
        if request.tools:
            payload["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": tools.schema(t)} for t in request.tools
            ]
        if stream:
            payload["stream"] = True
        return payload

    async def complete(self, request: base.ProviderRequest) -> base.Completion:
        data = await base.post_json(
            self._client, self.name, "/v1/messages", self._payload(request, stream=False), self._headers
        )
        blocks = base.dig(self.name, data, "content")
        if not isinstance(blocks, list):
            raise base.malformed(self.name, "content is not a list")
        text = "".join(str(b.get("text", "")) for b in blocks if isinstance(b, dict) and b.get("type") == "text")
        raws = [
            tools.RawCall(b.get("id"), b.get("name"), b.get("input"))
            for b in blocks
            if isinstance(b, dict) and b.get("type") == "tool_use"
        ]
        calls = tools.collect_calls(self.name, request.tools, raws, has_ids=True)
        usage = base.dig(self.name, data, "usage")
        return base.Completion(
            text=text,
            input_tokens=base.as_int(usage.get("input_tokens")),
            output_tokens=base.as_int(usage.get("output_tokens")),
            finish_reason=tools.normalise_finish(str(data.get("stop_reason") or ""), FINISH, has_calls=bool(calls)),
            model=str(data.get("model") or request.model),
            tool_calls=calls,
        )

    async def stream(self, request: base.ProviderRequest) -> AsyncGenerator[base.StreamEvent, None]:
        acc = base.StreamAccumulator()
        parts = tools.ToolCallParts()
        input_tokens = output_tokens = 0
        finish, model = "", request.model
        lines = base.stream_lines(
            self._client, self.name, "/v1/messages", self._payload(request, stream=True), self._headers
        )
        stopped = False
        async for _event, raw in base.sse_events(self.name, lines):
            if stopped:  # read on to the body's end: a response read whole keeps its connection
                continue
            data = base.stream_json(self.name, raw, "stream event")
            kind = data.get("type") if isinstance(data, dict) else None
            if kind == "message_start":
                message = base.dig(self.name, data, "message")
                model = str(message.get("model") or model)
                usage = message.get("usage") or {}
                input_tokens = base.as_int(usage.get("input_tokens"))
                output_tokens = base.as_int(usage.get("output_tokens"))
            elif kind == "content_block_start":
                block = base.dig(self.name, data, "content_block")
                if isinstance(block, dict) and block.get("type") == "tool_use":
                    index = base.as_int(data.get("index"))
                    parts.add(index, call_id=block.get("id"), name=block.get("name"), arguments=block.get("input"))
            elif kind == "content_block_delta":
                delta = base.dig(self.name, data, "delta")
                if delta.get("type") == "input_json_delta":
                    piece = str(delta.get("partial_json") or "")
                    parts.add(base.as_int(data.get("index")), arguments=piece)
                    yield base.StreamEvent(call_chars=len(piece))
                text = str(delta.get("text", "")) if delta.get("type") == "text_delta" else ""
                if text:
                    yield base.StreamEvent(delta=acc.add(text))
            elif kind == "message_delta":
                finish = str((data.get("delta") or {}).get("stop_reason") or finish)
                output_tokens = base.as_int((data.get("usage") or {}).get("output_tokens")) or output_tokens
            elif kind == "error":
                err = data.get("error") or {}
                status = 529 if err.get("type") == "overloaded_error" else 500
                raise base.error_for_status(self.name, status, json.dumps(data))
            elif kind == "message_stop":
                stopped = True
        calls = tools.collect_calls(self.name, request.tools, parts.raw_calls(), has_ids=True)
        yield base.StreamEvent(
            final=base.Completion(
                text=acc.text,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                finish_reason=tools.normalise_finish(finish, FINISH, has_calls=bool(calls)),
                model=model,
                tool_calls=calls,
            )
        )

    async def aclose(self) -> None:
        await self._client.aclose()
