"""Anthropic Messages API (``POST /v1/messages``), JSON and SSE streaming."""

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

VERSION = "2023-06-01"


class AnthropicProvider:
    name = "anthropic"

    def __init__(self, options: HttpOptions) -> None:
        self._client = make_client(options)
        self._headers = {"x-api-key": options.api_key, "anthropic-version": VERSION}

    def _payload(self, request: ProviderRequest, *, stream: bool) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "temperature": request.temperature,
        }
        if request.system:
            payload["system"] = request.system
        if stream:
            payload["stream"] = True
        return payload

    async def complete(self, request: ProviderRequest) -> Completion:
        data = await post_json(
            self._client, self.name, "/v1/messages", self._payload(request, stream=False), self._headers
        )
        blocks = dig(self.name, data, "content")
        if not isinstance(blocks, list):
            raise malformed(self.name, "content is not a list")
        text = "".join(str(b.get("text", "")) for b in blocks if isinstance(b, dict) and b.get("type") == "text")
        usage = dig(self.name, data, "usage")
        return Completion(
            text=text,
            input_tokens=as_int(usage.get("input_tokens")),
            output_tokens=as_int(usage.get("output_tokens")),
            finish_reason=str(data.get("stop_reason") or ""),
            model=str(data.get("model") or request.model),
        )

    async def stream(self, request: ProviderRequest) -> AsyncIterator[StreamEvent]:
        acc = StreamAccumulator()
        input_tokens = output_tokens = 0
        finish, model = "", request.model
        lines = stream_lines(
            self._client, self.name, "/v1/messages", self._payload(request, stream=True), self._headers
        )
        async for _event, raw in sse_events(self.name, lines):
            try:
                data = json.loads(raw)
            except ValueError:
                raise malformed(self.name, f"stream event is not JSON: {raw[:120]!r}") from None
            kind = data.get("type") if isinstance(data, dict) else None
            if kind == "message_start":
                message = dig(self.name, data, "message")
                model = str(message.get("model") or model)
                usage = message.get("usage") or {}
                input_tokens = as_int(usage.get("input_tokens"))
                output_tokens = as_int(usage.get("output_tokens"))
            elif kind == "content_block_delta":
                delta = dig(self.name, data, "delta")
                text = str(delta.get("text", "")) if delta.get("type") == "text_delta" else ""
                if text:
                    yield StreamEvent(delta=acc.add(text))
            elif kind == "message_delta":
                finish = str((data.get("delta") or {}).get("stop_reason") or finish)
                output_tokens = as_int((data.get("usage") or {}).get("output_tokens")) or output_tokens
            elif kind == "error":
                err = data.get("error") or {}
                status = 529 if err.get("type") == "overloaded_error" else 500
                raise error_for_status(self.name, status, json.dumps(data))
            elif kind == "message_stop":
                break
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
