"""OpenAI Chat Completions (``POST /v1/chat/completions``), JSON and SSE streaming, with tools.

Tools go out as ``tools: [{type: function, function: {name, description, parameters}}]``; an
assistant turn's calls as ``tool_calls``, each result as a message of role ``tool`` with its
``tool_call_id``. Calls come back in ``message.tool_calls`` (arguments: JSON text); streamed,
as ``delta.tool_calls`` pieces keyed by ``index`` (id and name first, then argument text).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from typing import Any

from vapora_llm_router.providers import base, http, tools

FINISH = {"function_call": "tool_calls"}


def function_tools(request: base.ProviderRequest) -> list[dict[str, Any]]:
    """``tools`` in the function format OpenAI defined (Ollama takes the same)."""
    return [
        {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": tools.schema(t)}}
        for t in request.tools
    ]


def chat_messages(
    request: base.ProviderRequest, turn_messages: Callable[[base.ChatTurn], list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """The system prompt as a first ``system`` message, then each turn's messages (Ollama's layout too)."""
    messages = [{"role": "system", "content": request.system}] if request.system else []
    for turn in request.messages:
        messages += turn_messages(turn)
    return messages


def _messages(turn: base.ChatTurn) -> list[dict[str, Any]]:
    if turn.role == "tool":
        return [
            {"role": "tool", "tool_call_id": r.tool_call_id, "content": tools.result_text(r)} for r in turn.tool_results
        ]
    if turn.tool_calls:
        calls = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments_json}}
            for c in turn.tool_calls
        ]
        return [{"role": "assistant", "content": turn.content or None, "tool_calls": calls}]
    return [{"role": turn.role, "content": turn.content}]


class OpenAIProvider:
    name = "openai"

    def __init__(self, options: http.HttpOptions) -> None:
        self._client = http.HttpClient(options)
        self._headers = {"Authorization": f"Bearer {options.api_key}"}

    def _payload(self, request: base.ProviderRequest, *, stream: bool) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": request.model,
            "messages": chat_messages(request, _messages),
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.tools:
            payload["tools"] = function_tools(request)
        if stream:
            payload["stream"] = True
            payload["stream_options"] = {"include_usage": True}
        return payload

    async def complete(self, request: base.ProviderRequest) -> base.Completion:
        data = await base.post_json(
            self._client, self.name, "/v1/chat/completions", self._payload(request, stream=False), self._headers
        )
        choice = base.dig(self.name, data, "choices", 0)
        message = base.dig(self.name, choice, "message")
        raws = []
        for c in message.get("tool_calls") or []:
            fn = (c.get("function") if isinstance(c, dict) else None) or {}
            raws.append(
                tools.RawCall(c.get("id") if isinstance(c, dict) else None, fn.get("name"), fn.get("arguments"))
            )
        calls = tools.collect_calls(self.name, request.tools, raws, has_ids=True)
        usage = data.get("usage") or {}
        return base.Completion(
            text=str(message.get("content") or ""),
            input_tokens=base.as_int(usage.get("prompt_tokens")),
            output_tokens=base.as_int(usage.get("completion_tokens")),
            finish_reason=tools.normalise_finish(str(choice.get("finish_reason") or ""), FINISH, has_calls=bool(calls)),
            model=str(data.get("model") or request.model),
            tool_calls=calls,
        )

    async def stream(self, request: base.ProviderRequest) -> AsyncGenerator[base.StreamEvent, None]:
        acc = base.StreamAccumulator()
        parts = tools.ToolCallParts()
        input_tokens = output_tokens = 0
        finish, model = "", request.model
        lines = base.stream_lines(
            self._client, self.name, "/v1/chat/completions", self._payload(request, stream=True), self._headers
        )
        done = False
        async for _event, raw in base.sse_events(self.name, lines):
            # read on to the body's end after [DONE]: a response read whole keeps its connection
            done = done or raw.strip() == "[DONE]"
            if done:
                continue
            data = base.stream_object(self.name, raw, "stream chunk")
            if "error" in data:
                raise base.error_for_status(self.name, 500, raw)
            model = str(data.get("model") or model)
            for choice in data.get("choices") or []:
                delta = choice.get("delta") or {}
                for piece in delta.get("tool_calls") or []:
                    fn = piece.get("function") or {}
                    parts.add(base.as_int(piece.get("index")), call_id=piece.get("id"), name=fn.get("name"))
                    parts.add(base.as_int(piece.get("index")), arguments=fn.get("arguments"))
                    yield base.StreamEvent(
                        call_chars=len(str(fn.get("name") or "")) + len(str(fn.get("arguments") or ""))
                    )
                text = delta.get("content") or ""
                if text:
                    yield base.StreamEvent(delta=acc.add(str(text)))
                finish = str(choice.get("finish_reason") or finish)
            usage = data.get("usage")
            if isinstance(usage, dict):
                input_tokens = base.as_int(usage.get("prompt_tokens"))
                output_tokens = base.as_int(usage.get("completion_tokens"))
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
