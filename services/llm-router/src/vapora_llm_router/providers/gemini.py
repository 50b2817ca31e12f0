"""Google Gemini ``generateContent`` and ``streamGenerateContent?alt=sse``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from vapora_llm_router.providers.base import (
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


class GeminiProvider:
    name = "gemini"

    def __init__(self, options: HttpOptions) -> None:
        self._client = make_client(options)
        self._headers = {"x-goog-api-key": options.api_key}

    def _payload(self, request: ProviderRequest) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "contents": [
                {"role": "model" if m.role == "assistant" else "user", "parts": [{"text": m.content}]}
                for m in request.messages
            ],
            "generationConfig": {"maxOutputTokens": request.max_tokens, "temperature": request.temperature},
        }
        if request.system:
            payload["systemInstruction"] = {"parts": [{"text": request.system}]}
        return payload

    def _chunk(self, data: Any) -> tuple[str, str, int, int]:
        if not isinstance(data, dict):
            raise malformed(self.name, "response is not an object")
        if "error" in data:
            raise error_for_status(self.name, as_int(data["error"].get("code")) or 500, json.dumps(data))
        candidates = data.get("candidates") or []
        text, finish = "", ""
        if candidates:
            parts = (candidates[0].get("content") or {}).get("parts") or []
            text = "".join(str(p.get("text", "")) for p in parts if isinstance(p, dict))
            finish = str(candidates[0].get("finishReason") or "")
        elif "usageMetadata" not in data:
            raise malformed(self.name, "no candidates and no usageMetadata")
        usage = data.get("usageMetadata") or {}
        return text, finish, as_int(usage.get("promptTokenCount")), as_int(usage.get("candidatesTokenCount"))

    async def complete(self, request: ProviderRequest) -> Completion:
        data = await post_json(
            self._client,
            self.name,
            f"/v1beta/models/{request.model}:generateContent",
            self._payload(request),
            self._headers,
        )
        dig(self.name, data, "candidates", 0)
        text, finish, input_tokens, output_tokens = self._chunk(data)
        return Completion(
            text=text,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            finish_reason=finish,
            model=str(data.get("modelVersion") or request.model),
        )

    async def stream(self, request: ProviderRequest) -> AsyncIterator[StreamEvent]:
        acc = StreamAccumulator()
        input_tokens = output_tokens = 0
        finish = ""
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
            text, chunk_finish, chunk_in, chunk_out = self._chunk(data)
            if text:
                yield StreamEvent(delta=acc.add(text))
            finish = chunk_finish or finish
            input_tokens = chunk_in or input_tokens
            output_tokens = chunk_out or output_tokens
        yield StreamEvent(
            final=Completion(
                text=acc.text,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                finish_reason=finish,
                model=request.model,
            )
        )

    async def aclose(self) -> None:
        await self._client.aclose()
