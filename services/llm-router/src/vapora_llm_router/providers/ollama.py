"""Ollama ``POST /api/chat``: JSON, or NDJSON lines when streaming, with tools.

Tools go out as OpenAI's function format; an assistant turn's calls as ``tool_calls
[{function: {name, arguments: object}}]``, each result as a message of role ``tool`` with
``tool_name``. Calls come back whole in ``message.tool_calls`` (streamed: in one line), with
no id unless the server sends one: the router then makes a stable one and never sends it back.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Any

from vapora_llm_router.providers import base, http, tools
from vapora_llm_router.providers.openai import chat_messages, function_tools

FINISH = {"stop": "stop", "length": "length"}


def _messages(turn: base.ChatTurn) -> list[dict[str, Any]]:
    if turn.role == "tool":
        results = []
        for r in turn.tool_results:
            result = {"role": "tool", "content": tools.result_text(r), "tool_name": r.name}
            if tools.provider_id(r.tool_call_id):
                result["tool_call_id"] = r.tool_call_id
            results.append(result)
        return results
    msg: dict[str, Any] = {"role": turn.role, "content": turn.content}
    if turn.tool_calls:
        calls = []
        for c in turn.tool_calls:
            call: dict[str, Any] = {"function": {"name": c.name, "arguments": tools.arguments(c)}}
            if tools.provider_id(c.id):
                call["id"] = c.id
            calls.append(call)
        msg["tool_calls"] = calls
    return [msg]


def _raw_calls(message: Any) -> list[tools.RawCall]:
    calls = message.get("tool_calls") if isinstance(message, dict) else None
    raws = []
    for c in calls or []:
        fn = (c.get("function") if isinstance(c, dict) else None) or {}
        raws.append(tools.RawCall(c.get("id") if isinstance(c, dict) else None, fn.get("name"), fn.get("arguments")))
    return raws


class OllamaProvider:
    name = "ollama"

    def __init__(self, options: http.HttpOptions) -> None:
        self._client = http.HttpClient(options)
        self._headers = {"Authorization": f"Bearer {options.api_key}"} if options.api_key else {}

    def _payload(self, request: base.ProviderRequest, *, stream: bool) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": request.model,
            "messages": chat_messages(request, _messages),
            "stream": stream,
            "options": {"num_predict": request.max_tokens, "temperature": request.temperature},
        }
        if request.tools:
            payload["tools"] = function_tools(request)
        return payload

    def _completion(
        self, request: base.ProviderRequest, data: dict[str, Any], text: str, raws: list[tools.RawCall]
    ) -> base.Completion:
        calls = tools.collect_calls(self.name, request.tools, raws, has_ids=False)
        raw_finish = str(data.get("done_reason") or ("stop" if data.get("done") else ""))
        return base.Completion(
            text=text,
            input_tokens=base.as_int(data.get("prompt_eval_count")),
            output_tokens=base.as_int(data.get("eval_count")),
            finish_reason=tools.normalise_finish(raw_finish, FINISH, has_calls=bool(calls)),
            model=str(data.get("model") or request.model),
            tool_calls=calls,
        )

    async def complete(self, request: base.ProviderRequest) -> base.Completion:
        data = await base.post_json(
            self._client, self.name, "/api/chat", self._payload(request, stream=False), self._headers
        )
        if not isinstance(data, dict):
            raise base.malformed(self.name, "response is not an object")
        if "error" in data:
            raise base.error_for_status(self.name, 500, json.dumps(data))
        content = base.dig(self.name, data, "message", "content")
        return self._completion(request, data, str(content), _raw_calls(data["message"]))

    async def stream(self, request: base.ProviderRequest) -> AsyncGenerator[base.StreamEvent, None]:
        acc = base.StreamAccumulator()
        raws: list[tools.RawCall] = []
        lines = base.stream_lines(
            self._client, self.name, "/api/chat", self._payload(request, stream=True), self._headers
        )
        final: base.Completion | None = None
        async for line in lines:
            if final is not None or not line.strip():  # after done: read on to the body's end,
                continue  # so that the response, read whole, keeps its connection
            data = base.stream_object(self.name, line, "stream line")
            if "error" in data:
                raise base.error_for_status(self.name, 500, line)
            message = data.get("message") or {}
            calls = _raw_calls(message)
            raws += calls
            text = str(message.get("content") or "")
            if text:
                yield base.StreamEvent(delta=acc.add(text))
            if calls:
                yield base.StreamEvent(call_chars=tools.call_chars(calls))
            if data.get("done"):
                final = self._completion(request, data, acc.text, raws)
        if final is None:
            raise base.malformed(self.name, "stream ended without a done line")
        yield base.StreamEvent(final=final)

    async def aclose(self) -> None:
        await self._client.aclose()
