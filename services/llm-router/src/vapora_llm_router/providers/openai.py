"""OpenAI Chat Completions (``POST /v1/chat/completions``), JSON and SSE streaming."""

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


class OpenAIProvider:
    name = "openai"

    def __init__(self, options: HttpOptions) -> None:
        self._client = make_client(options)
        self._headers = {"Authorization": f"Bearer {options.api_key}"}

    def _payload(self, request: ProviderRequest, *, stream: bool) -> dict[str, Any]:
        messages = [{"role": "system", "content": request.system}] if request.system else []
        messages += [{"role": m.role, "content": m.content} for m in request.messages]
        payload: dict[str, Any] = {
            "model": request.model,
            "messages": messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if stream:
            payload["stream"] = True
            payload["stream_options"] = {"include_usage": True}
        return payload

    async def complete(self, request: ProviderRequest) -> Completion:
        data = await post_json(
            self._client, self.name, "/v1/chat/completions", self._payload(request, stream=False), self._headers
        )
        choice = dig(self.name, data, "choices", 0)
        content = dig(self.name, choice, "message").get("content") or ""
        usage = data.get("usage") or {}
        return Completion(
            text=str(content),
            input_tokens=as_int(usage.get("prompt_tokens")),
            output_tokens=as_int(usage.get("completion_tokens")),
            finish_reason=str(choice.get("finish_reason") or ""),
            model=str(data.get("model") or request.model),
        )

    async def stream(self, request: ProviderRequest) -> AsyncIterator[StreamEvent]:
        acc = StreamAccumulator()
        input_tokens = output_tokens = 0
        finish, model = "", request.model
        lines = stream_lines(
            self._client, self.name, "/v1/chat/completions", self._payload(request, stream=True), self._headers
        )
        async for _event, raw in sse_events(self.name, lines):
            if raw.strip() == "[DONE]":
                break
            try:
                data = json.loads(raw)
            except ValueError:
                raise malformed(self.name, f"stream chunk is not JSON: {raw[:120]!r}") from None
            if not isinstance(data, dict):
                raise malformed(self.name, "stream chunk is not an object")
            if "error" in data:
                raise error_for_status(self.name, 500, raw)
            model = str(data.get("model") or model)
            for choice in data.get("choices") or []:
                text = (choice.get("delta") or {}).get("content") or ""
                if text:
                    yield StreamEvent(delta=acc.add(str(text)))
                finish = str(choice.get("finish_reason") or finish)
            usage = data.get("usage")
            if isinstance(usage, dict):
                input_tokens = as_int(usage.get("prompt_tokens"))
                output_tokens = as_int(usage.get("completion_tokens"))
        yield StreamEvent(
            final=Completion(
                text=acc.text,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                finish_reason=finish,
                model=model,
            )
        )

    async def aclose(self) -> None:
        await self._client.aclose()
