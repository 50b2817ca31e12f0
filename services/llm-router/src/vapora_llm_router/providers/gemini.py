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

from vapora_llm_router.providers.base import (
    ChatTurn,
    Completion,
    ProviderRequest,
    StreamAccumulator,
    StreamEvent,
    as_int,
    dig,
    error_for_status,
    malformed,
    post_json,
    sse_events,
    stream_lines,
)
from vapora_llm_router.providers.http import HttpOptions, make_client
from vapora_llm_router.providers.tools import (
    RawCall,
    arguments,
    call_chars,
    collect_calls,
    normalise_finish,
    provider_id,
    schema,
)

FINISH = {"STOP": "stop", "MAX_TOKENS": "length"}


def _content(turn: ChatTurn) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    if turn.role == "tool":
        for r in turn.tool_results:
            response: dict[str, Any] = {"name": r.name, "response": {"error" if r.is_error else "output": r.content}}
            if provider_id(r.tool_call_id):
                response["id"] = r.tool_call_id
            parts.append({"functionResponse": response})
        return {"role": "user", "parts": parts}
    if turn.content or not turn.tool_calls:
        parts.append({"text": turn.content})
    for c in turn.tool_calls:
        call: dict[str, Any] = {"name": c.name, "args": arguments(c)}
        if provider_id(c.id):
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
    calls: list[RawCall] = field(default_factory=list)


class GeminiProvider:
    name = "gemini"

    def __init__(self, options: HttpOptions) -> None:
        self._client = make_client(options)
        self._headers = {"x-goog-api-key": options.api_key}

    def _payload(self, request: ProviderRequest) -> dict[str, Any]:
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
                        {"name": t.name, "description": t.description, "parametersJsonSchema": schema(t)}
                        for t in request.tools
                    ]
                }
            ]
        return payload

    def _chunk(self, data: Any) -> _Chunk:
        if not isinstance(data, dict):
            raise malformed(self.name, "response is not an object")
        if "error" in data:
            raise error_for_status(self.name, as_int(data["error"].get("code")) or 500, json.dumps(data))
        candidates = data.get("candidates") or []
        out = _Chunk()
        if candidates:
            parts = (candidates[0].get("content") or {}).get("parts") or []
            out.text = "".join(str(p.get("text", "")) for p in parts if isinstance(p, dict) and not p.get("thought"))
            for p in parts:
                fn = p.get("functionCall") if isinstance(p, dict) else None
                if isinstance(fn, dict):
                    sig = p.get("thoughtSignature") or fn.get("thoughtSignature") or ""
                    out.calls.append(RawCall(fn.get("id"), fn.get("name"), fn.get("args"), str(sig)))
            out.finish = str(candidates[0].get("finishReason") or "")
        elif "usageMetadata" not in data:
            raise malformed(self.name, "no candidates and no usageMetadata")
        usage = data.get("usageMetadata") or {}
        out.input_tokens = as_int(usage.get("promptTokenCount"))
        out.output_tokens = as_int(usage.get("candidatesTokenCount"))
        return out

    def _completion(self, request: ProviderRequest, chunk: _Chunk, text: str, model: str) -> Completion:
        calls = collect_calls(self.name, request.tools, chunk.calls, has_ids=False)
        return Completion(
            text=text,
            input_tokens=chunk.input_tokens,
            output_tokens=chunk.output_tokens,
            finish_reason=normalise_finish(chunk.finish, FINISH, has_calls=bool(calls)),
            model=model,
            tool_calls=calls,
        )

    async def complete(self, request: ProviderRequest) -> Completion:
        data = await post_json(
            self._client,
            self.name,
            f"/v1beta/models/{request.model}:generateContent",
            self._payload(request),
            self._headers,
        )
        dig(self.name, data, "candidates", 0)
        chunk = self._chunk(data)
        return self._completion(request, chunk, chunk.text, str(data.get("modelVersion") or request.model))

    async def stream(self, request: ProviderRequest) -> AsyncGenerator[StreamEvent, None]:
        acc = StreamAccumulator()
        total = _Chunk()
        lines = stream_lines(
            self._client,
            self.name,
            f"/v1beta/models/{request.model}:streamGenerateContent?alt=sse",
            self._payload(request),
            self._headers,
        )
        async for _event, raw in sse_events(self.name, lines):
            try:
                data = json.loads(raw)
            except ValueError:
                raise malformed(self.name, f"stream chunk is not JSON: {raw[:120]!r}") from None
            chunk = self._chunk(data)
            if chunk.text:
                yield StreamEvent(delta=acc.add(chunk.text))
            if chunk.calls:
                yield StreamEvent(call_chars=call_chars(chunk.calls))
            total.calls += chunk.calls
            total.finish = chunk.finish or total.finish
            total.input_tokens = chunk.input_tokens or total.input_tokens
            total.output_tokens = chunk.output_tokens or total.output_tokens
        yield StreamEvent(final=self._completion(request, total, acc.text, request.model))

    async def aclose(self) -> None:
        await self._client.aclose()
