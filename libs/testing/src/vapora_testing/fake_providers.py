"""Local HTTP servers speaking each LLM provider's real wire format: scripted turns and failures.

One aiohttp server answers Anthropic (``/v1/messages``), OpenAI (``/v1/chat/completions``),
Gemini (``/v1beta/models/<model>:generateContent`` / ``:streamGenerateContent?alt=sse``) and
Ollama (``/api/chat``), as JSON or streamed (SSE, NDJSON) as the request asks.

- ``turns[provider]``: a list of :class:`Turn` consumed one per answered request: a text
  answer, or tool calls (:class:`Call`; malformed ones too: arguments that are not JSON, no
  id), stopped at max_tokens or not, with its own usage counts. With no turn left the answer
  is :data:`TEXT`.
- ``script[provider]``: failure modes consumed one per request (default ``ok``): ok, 429, 500,
  401, 400, malformed, slow, stream_malformed, stream_error. A failed request takes no turn.
- ``choose(provider, body)``: when given, asked first for each answered request's turn (None: the
  queue as usual), so a test can script by what was asked — each role's answer, for one. A turn's
  ``delay_s`` holds its answer that long (a slow model; overlapping jobs then show in time).
- ``bodies[provider]`` / ``headers[provider]`` / ``paths[provider]``: every request received, in
  order, so a test can assert on what was sent (the tools, the tool results, streamed or not);
  ``peers[provider]``: the client's (host, port) of each, so a test can tell connections apart.

Every key but :data:`KEY` is refused with 401 (Ollama takes any). This module imports nothing
of the router: it is the providers' side of the wire.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from typing import Any

from aiohttp import web

from vapora_testing.fake_turns import TEXT, Call, Choose, Turn, arguments_text, arguments_value, halves

__all__ = ["KEY", "TEXT", "Call", "Choose", "FakeProviders", "Turn"]

KEY = "test-key"


class FakeProviders:
    def __init__(
        self, *, input_tokens: int = 10, output_tokens: int = 5, slow_s: float = 0.6, choose: Choose | None = None
    ) -> None:
        self.choose = choose
        self.script: dict[str, list[str]] = defaultdict(list)
        self.turns: dict[str, list[Turn]] = defaultdict(list)
        self.hits: dict[str, int] = defaultdict(int)
        self.bodies: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.headers: dict[str, list[dict[str, str]]] = defaultdict(list)
        self.paths: dict[str, list[str]] = defaultdict(list)
        self.peers: dict[str, list[tuple[str, int]]] = defaultdict(list)
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.slow_s = slow_s
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/v1/messages", self.anthropic)
        app.router.add_post("/v1/chat/completions", self.openai)
        app.router.add_post("/v1beta/models/{spec}", self.gemini)
        app.router.add_post("/api/chat", self.ollama)
        # stops within a second: a request still waiting on a scripted slow answer is dropped
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- common ------------------------------------------------------------------------

    async def _begin(self, provider: str, request: web.Request, key_ok: bool) -> tuple[str, dict[str, Any]]:
        self.hits[provider] += 1
        self.headers[provider].append(dict(request.headers))
        self.paths[provider].append(request.path_qs)
        peer = request.transport.get_extra_info("peername") if request.transport is not None else None
        self.peers[provider].append((str(peer[0]), int(peer[1])) if peer else ("", 0))
        body = await request.json()
        self.bodies[provider].append(body)
        mode = self.script[provider].pop(0) if self.script[provider] else "ok"
        if not key_ok:
            mode = "401"
        return mode, body

    async def _turn(self, provider: str, body: dict[str, Any]) -> Turn:
        chosen = self.choose(provider, body) if self.choose is not None else None
        if chosen is None:
            chosen = self.turns[provider].pop(0) if self.turns[provider] else Turn(text=tuple(TEXT))
        if chosen.delay_s:
            await asyncio.sleep(chosen.delay_s)
        return chosen

    def _usage(self, turn: Turn) -> tuple[int, int]:
        i = self.input_tokens if turn.input_tokens is None else turn.input_tokens
        o = self.output_tokens if turn.output_tokens is None else turn.output_tokens
        return i, o

    async def _failure(self, mode: str) -> web.StreamResponse | None:
        if mode == "429":
            return web.json_response({"error": {"type": "rate_limit_error", "message": "slow down"}}, status=429)
        if mode == "500":
            return web.json_response({"error": {"type": "api_error", "message": "boom"}}, status=500)
        if mode == "401":
            return web.json_response({"error": {"type": "authentication_error", "message": "bad key"}}, status=401)
        if mode == "400":
            return web.json_response({"error": {"type": "invalid_request_error", "message": "bad model"}}, status=400)
        if mode == "malformed":
            return web.Response(text="<html>not json</html>", content_type="application/json")
        if mode == "slow":
            await asyncio.sleep(self.slow_s)
        return None

    async def _sse(self, request: web.Request, events: list[tuple[str, Any]]) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for event, data in events:
            head = f"event: {event}\n" if event else ""
            payload = data if isinstance(data, str) else json.dumps(data)
            await resp.write(f"{head}data: {payload}\n\n".encode())
        await resp.write_eof()
        return resp

    # -- Anthropic Messages API --------------------------------------------------------

    async def anthropic(self, request: web.Request) -> web.StreamResponse:
        mode, body = await self._begin("anthropic", request, request.headers.get("x-api-key") == KEY)
        if (failed := await self._failure(mode)) is not None:
            return failed
        turn, n = await self._turn("anthropic", body), self.hits["anthropic"]
        model = body["model"]
        input_tokens, output_tokens = self._usage(turn)
        stop = "max_tokens" if turn.truncated else "tool_use" if turn.calls else "end_turn"

        def tool_use(i: int, call: Call, start: bool) -> dict[str, Any]:
            block: dict[str, Any] = {"type": "tool_use", "name": call.name, "input": {}}
            if call.id is not None:
                block["id"] = call.id or f"toolu_{n:02d}_{i}"
            if not start:
                block["input"] = arguments_value(call)
            return block

        if not body.get("stream"):
            content: list[dict[str, Any]] = [{"type": "text", "text": turn.whole}] if turn.whole else []
            content += [tool_use(i, c, False) for i, c in enumerate(turn.calls)]
            return web.json_response(
                {
                    "id": f"msg_{n}",
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": content,
                    "stop_reason": stop,
                    "stop_sequence": None,
                    "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
                }
            )
        message = {
            "id": f"msg_{n}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": 1},
        }
        events: list[tuple[str, Any]] = [("message_start", {"type": "message_start", "message": message})]
        index = 0
        if turn.pieces():
            block = {"type": "text", "text": ""}
            events.append(("content_block_start", {"type": "content_block_start", "index": 0, "content_block": block}))
            events.append(("ping", {"type": "ping"}))
            for part in turn.pieces():
                delta = {"type": "text_delta", "text": part}
                events.append(("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}))
            events.append(("content_block_stop", {"type": "content_block_stop", "index": 0}))
            index = 1
        if mode == "stream_malformed":
            events.append(("content_block_delta", "{not json"))
        if mode == "stream_error":
            error = {"type": "overloaded_error", "message": "Overloaded"}
            events.append(("error", {"type": "error", "error": error}))
        for i, call in enumerate(turn.calls):
            start = {"type": "content_block_start", "index": index, "content_block": tool_use(i, call, True)}
            events.append(("content_block_start", start))
            for piece in halves(arguments_text(call)):
                delta = {"type": "input_json_delta", "partial_json": piece}
                events.append(("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}))
            events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
            index += 1
        events += [
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop, "stop_sequence": None},
                    "usage": {"output_tokens": output_tokens},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]
        return await self._sse(request, events)

    # -- OpenAI Chat Completions -------------------------------------------------------

    async def openai(self, request: web.Request) -> web.StreamResponse:
        mode, body = await self._begin("openai", request, request.headers.get("Authorization") == f"Bearer {KEY}")
        if (failed := await self._failure(mode)) is not None:
            return failed
        turn, n = await self._turn("openai", body), self.hits["openai"]
        model = body["model"]
        input_tokens, output_tokens = self._usage(turn)
        usage = {
            "prompt_tokens": input_tokens,
            "completion_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens,
        }
        finish = "length" if turn.truncated else "tool_calls" if turn.calls else "stop"

        def call_id(i: int, call: Call) -> dict[str, Any]:
            return {} if call.id is None else {"id": call.id or f"call_{n}_{i}"}

        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": turn.whole or None}
            if turn.calls:
                message["tool_calls"] = [
                    {
                        **call_id(i, c),
                        "type": "function",
                        "function": {"name": c.name, "arguments": arguments_text(c)},
                    }
                    for i, c in enumerate(turn.calls)
                ]
            return web.json_response(
                {
                    "id": f"chatcmpl-{n}",
                    "object": "chat.completion",
                    "created": 1,
                    "model": model,
                    "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                    "usage": usage,
                }
            )

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> tuple[str, Any]:
            choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
            return ("", {"id": f"c{n}", "object": "chat.completion.chunk", "model": model, "choices": [choice]})

        events = [chunk({"role": "assistant", "content": ""})]
        events += [chunk({"content": part}) for part in turn.pieces()]
        if mode == "stream_malformed":
            events.append(("", "{not json"))
        for i, c in enumerate(turn.calls):
            head = {"index": i, **call_id(i, c), "type": "function", "function": {"name": c.name, "arguments": ""}}
            events.append(chunk({"tool_calls": [head]}))
            for piece in halves(arguments_text(c)):
                events.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]}))
        events.append(chunk({}, finish))
        tail = {"id": f"c{n}", "object": "chat.completion.chunk", "model": model, "choices": [], "usage": usage}
        events.append(("", tail))
        events.append(("", "[DONE]"))
        return await self._sse(request, events)

    # -- Gemini generateContent --------------------------------------------------------

    async def gemini(self, request: web.Request) -> web.StreamResponse:
        mode, body = await self._begin("gemini", request, request.headers.get("x-goog-api-key") == KEY)
        if (failed := await self._failure(mode)) is not None:
            return failed
        model, _, action = request.match_info["spec"].partition(":")
        if not body.get("contents"):
            return web.json_response(
                {"error": {"code": 400, "message": "contents is not specified", "status": "INVALID_ARGUMENT"}},
                status=400,
            )
        turn, n = await self._turn("gemini", body), self.hits["gemini"]
        input_tokens, output_tokens = self._usage(turn)
        call_parts = []
        for i, c in enumerate(turn.calls):
            fn: dict[str, Any] = {"name": c.name, "args": arguments_value(c)}
            if c.id:
                fn["id"] = c.id
            part: dict[str, Any] = {"functionCall": fn}
            if i == 0:
                part["thoughtSignature"] = f"sig-{n}"
            call_parts.append(part)

        def chunk(parts: list[dict[str, Any]], last: bool) -> dict[str, Any]:
            cand: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
            out: dict[str, Any] = {"candidates": [cand], "modelVersion": model}
            if last:
                cand["finishReason"] = "MAX_TOKENS" if turn.truncated else "STOP"
                out["usageMetadata"] = {
                    "promptTokenCount": input_tokens,
                    "candidatesTokenCount": output_tokens,
                    "totalTokenCount": input_tokens + output_tokens,
                }
            return out

        text_parts = [{"text": turn.whole}] if turn.whole else []
        if action == "generateContent":
            return web.json_response(chunk(text_parts + call_parts, True))
        assert action == "streamGenerateContent" and request.query.get("alt") == "sse", request.path_qs
        pieces = turn.pieces()
        events: list[tuple[str, Any]] = [("", chunk([{"text": p}], False)) for p in pieces[:-1]]
        if mode == "stream_malformed":
            events.append(("", "{not json"))
        last_text = [{"text": pieces[-1]}] if pieces else []
        events.append(("", chunk(last_text + call_parts, True)))
        return await self._sse(request, events)

    # -- Ollama /api/chat --------------------------------------------------------------

    async def ollama(self, request: web.Request) -> web.StreamResponse:
        mode, body = await self._begin("ollama", request, True)
        if (failed := await self._failure(mode)) is not None:
            return failed
        turn = await self._turn("ollama", body)
        input_tokens, output_tokens = self._usage(turn)
        model = body["model"]
        calls = []
        for c in turn.calls:
            call: dict[str, Any] = {"function": {"name": c.name, "arguments": arguments_value(c)}}
            if c.id:
                call["id"] = c.id
            calls.append(call)
        final = {
            "model": model,
            "created_at": "2026-01-01T00:00:00Z",
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "length" if turn.truncated else "stop",
            "prompt_eval_count": input_tokens,
            "eval_count": output_tokens,
        }
        if not body.get("stream", True):
            message: dict[str, Any] = {"role": "assistant", "content": turn.whole}
            if calls:
                message["tool_calls"] = calls
            return web.json_response({**final, "message": message})
        resp = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await resp.prepare(request)

        async def line(message: dict[str, Any]) -> None:
            data = {"model": model, "created_at": "2026-01-01T00:00:00Z", "message": message, "done": False}
            await resp.write((json.dumps(data) + "\n").encode())

        for part in turn.pieces():
            await line({"role": "assistant", "content": part})
        if calls:
            await line({"role": "assistant", "content": "", "tool_calls": calls})
        if mode == "stream_malformed":
            await resp.write(b"{not json\n")
        if mode == "stream_error":
            await resp.write(b'{"error":"model crashed"}\n')
        await resp.write((json.dumps(final) + "\n").encode())
        await resp.write_eof()
        return resp
