"""Google Gemini ``generateContent`` and ``streamGenerateContent?alt=sse``, with function calling.

Tools go out as ``tools: [{functionDeclarations: [{name, description, parametersJsonSchema}]}]``
(JSON Schema as given, rather than the OpenAPI subset of ``parameters``); an assistant turn's
calls as ``functionCall {name, args}`` parts of a ``model`` turn, with the part's
``thoughtSignature`` sent back as received (Gemini 3 refuses a call without it), and results
as ``functionResponse {name, response: {output | error}}`` parts of a ``user`` turn. Calls
come back as ``functionCall`` parts, whole in one chunk when streamed; Gemini gives no ids
(unless it sends one), so the router makes stable ones and never sends those back.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

from vapora_llm_router.providers import base, http, tools

FINISH = {"STOP": "stop", "MAX_TOKENS": "length"}


def _content(turn: base.ChatTurn) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    if turn.role == "tool":
        for r in turn.tool_results:
            response: dict[str, Any] = {"name": r.name, "response": {"error" if r.is_error else "output": r.content}}
            if tools.provider_id(r.tool_call_id):
                response["id"] = r.tool_call_id
            parts.append({"functionResponse": response})
        return {"role": "user", "parts": parts}
    if turn.content or not turn.tool_calls:
        parts.append({"text": turn.content})
    for c in turn.tool_calls:
        call: dict[str, Any] = {"name": c.name, "args": tools.arguments(c)}
        if tools.provider_id(c.id):
            call["id"] = c.id
        part: dict[str, Any] = {"functionCall": call}
        if c.provider_data:
            part["thoughtSignature"] = c.provider_data
        parts.append(part)
    return {"role": "model" if turn.role == "assistant" else "user", "parts": parts}


@dataclass(slots=True)
class _Chunk:
    text: str = ""
    finish: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    calls: list[tools.RawCall] = field(default_factory=list)


class GeminiProvider:
    name = "gemini"

    def __init__(self, options: http.HttpOptions) -> None:
        self._client = http.HttpClient(options)
        self._headers = {"x-goog-api-key": options.api_key}

    def _payload(self, request: base.ProviderRequest) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "contents": [_content(m) for m in request.messages],
            "generationConfig": {"maxOutputTokens": request.max_tokens, "temperature": request.temperature},
        }
        if request.system:
            payload["systemInstruction"] = {"parts": [{"text": request.system}]}
        if request.tools:
            payload["tools"] = [
                {
                    "functionDeclarations": [
                        {"name": t.name, "description": t.description, "parametersJsonSchema": tools.schema(t)}
                        for t in request.tools
                    ]
                }
            ]
        return payload

    def _chunk(self, data: Any) -> _Chunk:
        if not isinstance(data, dict):
            raise base.malformed(self.name, "response is not an object")
        if "error" in data:
            raise base.error_for_status(self.name, base.as_int(data["error"].get("code")) or 500, json.dumps(data))
        candidates = data.get("candidates") or []
        out = _Chunk()
        if candidates:
            parts = (candidates[0].get("content") or {}).get("parts") or []
            out.text = "".join(str(p.get("text", "")) for p in parts if isinstance(p, dict) and not p.get("thought"))
            for p in parts:
                fn = p.get("functionCall") if isinstance(p, dict) else None
                if isinstance(fn, dict):
                    sig = p.get("thoughtSignature") or fn.get("thoughtSignature") or ""
                    out.calls.append(tools.RawCall(fn.get("id"), fn.get("name"), fn.get("args"), str(sig)))
            out.finish = str(candidates[0].get("finishReason") or "")
        elif "usageMetadata" not in data:
            raise base.malformed(self.name, "no candidates and no usageMetadata")
        usage = data.get("usageMetadata") or {}
        out.input_tokens = base.as_int(usage.get("promptTokenCount"))
        out.output_tokens = base.as_int(usage.get("candidatesTokenCount"))
        return out

    def _completion(self, request: base.ProviderRequest, chunk: _Chunk, text: str, model: str) -> base.Completion:
        calls = tools.collect_calls(self.name, request.tools, chunk.calls, has_ids=False)
        return base.Completion(
            text=text,
            input_tokens=chunk.input_tokens,
            output_tokens=chunk.output_tokens,
            finish_reason=tools.normalise_finish(chunk.finish, FINISH, has_calls=bool(calls)),
            model=model,
            tool_calls=calls,
        )

    async def complete(self, request: base.ProviderRequest) -> base.Completion:
        data = await base.post_json(
            self._client,
            self.name,
            f"/v1beta/models/{request.model}:generateContent",
            self._payload(request),
            self._headers,
        )
        base.dig(self.name, data, "candidates", 0)
        chunk = self._chunk(data)
        return self._completion(request, chunk, chunk.text, str(data.get("modelVersion") or request.model))

    async def stream(self, request: base.ProviderRequest) -> AsyncGenerator[base.StreamEvent, None]:
        acc = base.StreamAccumulator()
        total = _Chunk()
        lines = base.stream_lines(
            self._client,
            self.name,
            f"/v1beta/models/{request.model}:streamGenerateContent?alt=sse",
            self._payload(request),
            self._headers,
        )
        async for _event, raw in base.sse_events(self.name, lines):
            data = base.stream_json(self.name, raw, "stream chunk")
            chunk = self._chunk(data)
            if chunk.text:
                yield base.StreamEvent(delta=acc.add(chunk.text))
            if chunk.calls:
                yield base.StreamEvent(call_chars=tools.call_chars(chunk.calls))
            total.calls += chunk.calls
            total.finish = chunk.finish or total.finish
            total.input_tokens = chunk.input_tokens or total.input_tokens
            total.output_tokens = chunk.output_tokens or total.output_tokens
        yield base.StreamEvent(final=self._completion(request, total, acc.text, request.model))

    async def aclose(self) -> None:
        await self._client.aclose()
