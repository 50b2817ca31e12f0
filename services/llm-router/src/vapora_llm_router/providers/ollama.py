"""Ollama ``POST /api/chat``: JSON, or NDJSON lines when streaming."""

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
    stream_lines,
)
from vapora_llm_router.providers.http import HttpOptions, make_client


class OllamaProvider:
    name = "ollama"

    def __init__(self, options: HttpOptions) -> None:
        self._client = make_client(options)
        self._headers = {"Authorization": f"Bearer {options.api_key}"} if options.api_key else {}

    def _payload(self, request: ProviderRequest, *, stream: bool) -> dict[str, Any]:
        messages = [{"role": "system", "content": request.system}] if request.system else []
        messages += [{"role": m.role, "content": m.content} for m in request.messages]
        return {
            "model": request.model,
            "messages": messages,
            "stream": stream,
            "options": {"num_predict": request.max_tokens, "temperature": request.temperature},
        }

    async def complete(self, request: ProviderRequest) -> Completion:
        data = await post_json(
            self._client, self.name, "/api/chat", self._payload(request, stream=False), self._headers
        )
        if not isinstance(data, dict):
            raise malformed(self.name, "response is not an object")
        if "error" in data:
            raise error_for_status(self.name, 500, json.dumps(data))
        content = dig(self.name, data, "message", "content")
        return Completion(
            text=str(content),
            input_tokens=as_int(data.get("prompt_eval_count")),
            output_tokens=as_int(data.get("eval_count")),
            finish_reason=str(data.get("done_reason") or ("stop" if data.get("done") else "")),
            model=str(data.get("model") or request.model),
        )

    async def stream(self, request: ProviderRequest) -> AsyncIterator[StreamEvent]:
        acc = StreamAccumulator()
        lines = stream_lines(self._client, self.name, "/api/chat", self._payload(request, stream=True), self._headers)
        async for line in lines:
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except ValueError:
                raise malformed(self.name, f"stream line is not JSON: {line[:120]!r}") from None
            if not isinstance(data, dict):
                raise malformed(self.name, "stream line is not an object")
            if "error" in data:
                raise error_for_status(self.name, 500, line)
            text = str((data.get("message") or {}).get("content") or "")
            if text:
                yield StreamEvent(delta=acc.add(text))
            if data.get("done"):
                yield StreamEvent(
                    final=Completion(
                        text=acc.text,
                        input_tokens=as_int(data.get("prompt_eval_count")),
                        output_tokens=as_int(data.get("eval_count")),
                        finish_reason=str(data.get("done_reason") or "stop"),
                        model=str(data.get("model") or request.model),
                    )
                )
                return
        raise malformed(self.name, "stream ended without a done line")

    async def aclose(self) -> None:
        await self._client.aclose()
