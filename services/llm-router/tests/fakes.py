"""Local HTTP servers speaking each provider's real wire format, with scripted failures.

``FakeProviders.script[provider]`` is a list of modes consumed one per request
(default ``ok``): ok, 429, 500, 401, 400, malformed, slow, stream_malformed, stream_error.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from typing import Any

from aiohttp import web

KEY = "test-key"
TEXT = ["Hello", " from", " the fake"]


class FakeProviders:
    def __init__(self, *, input_tokens: int = 10, output_tokens: int = 5, slow_s: float = 0.6) -> None:
        self.script: dict[str, list[str]] = defaultdict(list)
        self.hits: dict[str, int] = defaultdict(int)
        self.bodies: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.headers: dict[str, list[dict[str, str]]] = defaultdict(list)
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
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # -- common ------------------------------------------------------------------------

    async def _begin(self, provider: str, request: web.Request, key_ok: bool) -> tuple[str, dict[str, Any]]:
        self.hits[provider] += 1
        self.headers[provider].append(dict(request.headers))
        body = await request.json()
        self.bodies[provider].append(body)
        mode = self.script[provider].pop(0) if self.script[provider] else "ok"
        if not key_ok:
            mode = "401"
        return mode, body

    async def _failure(self, provider: str, mode: str) -> web.StreamResponse | None:
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
        if (failed := await self._failure("anthropic", mode)) is not None:
            return failed
        model = body["model"]
        usage = {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens}
        if not body.get("stream"):
            return web.json_response(
                {
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [{"type": "text", "text": "".join(TEXT)}],
                    "stop_reason": "end_turn",
                    "stop_sequence": None,
                    "usage": usage,
                }
            )
        events: list[tuple[str, Any]] = [
            (
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        "id": "msg_1",
                        "type": "message",
                        "role": "assistant",
                        "model": model,
                        "content": [],
                        "stop_reason": None,
                        "usage": {"input_tokens": self.input_tokens, "output_tokens": 1},
                    },
                },
            ),
            (
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            ),
            ("ping", {"type": "ping"}),
        ]
        for part in TEXT:
            events.append(
                (
                    "content_block_delta",
                    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": part}},
                )
            )
        if mode == "stream_malformed":
            events.append(("content_block_delta", "{not json"))
        if mode == "stream_error":
            events.append(("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))
        events += [
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn"},
                    "usage": {"output_tokens": self.output_tokens},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]
        return await self._sse(request, events)

    # -- OpenAI Chat Completions -------------------------------------------------------

    async def openai(self, request: web.Request) -> web.StreamResponse:
        mode, body = await self._begin("openai", request, request.headers.get("Authorization") == f"Bearer {KEY}")
        if (failed := await self._failure("openai", mode)) is not None:
            return failed
        model = body["model"]
        usage = {
            "prompt_tokens": self.input_tokens,
            "completion_tokens": self.output_tokens,
            "total_tokens": self.input_tokens + self.output_tokens,
        }
        if not body.get("stream"):
            return web.json_response(
                {
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "created": 1,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": "".join(TEXT)},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": usage,
                }
            )
        events: list[tuple[str, Any]] = [
            (
                "",
                {
                    "id": "c1",
                    "object": "chat.completion.chunk",
                    "model": model,
                    "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
                },
            ),
        ]
        for part in TEXT:
            events.append(
                (
                    "",
                    {
                        "id": "c1",
                        "object": "chat.completion.chunk",
                        "model": model,
                        "choices": [{"index": 0, "delta": {"content": part}, "finish_reason": None}],
                    },
                )
            )
        if mode == "stream_malformed":
            events.append(("", "{not json"))
        events.append(
            (
                "",
                {
                    "id": "c1",
                    "object": "chat.completion.chunk",
                    "model": model,
                    "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                },
            )
        )
        events.append(
            ("", {"id": "c1", "object": "chat.completion.chunk", "model": model, "choices": [], "usage": usage})
        )
        events.append(("", "[DONE]"))
        return await self._sse(request, events)

    # -- Gemini generateContent --------------------------------------------------------

    async def gemini(self, request: web.Request) -> web.StreamResponse:
        mode, body = await self._begin("gemini", request, request.headers.get("x-goog-api-key") == KEY)
        if (failed := await self._failure("gemini", mode)) is not None:
            return failed
        model, _, action = request.match_info["spec"].partition(":")
        if not body.get("contents"):
            return web.json_response(
                {"error": {"code": 400, "message": "contents is not specified", "status": "INVALID_ARGUMENT"}},
                status=400,
            )

        def chunk(text: str, finish: str | None, usage: bool) -> dict[str, Any]:
            cand: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}
            if finish:
                cand["finishReason"] = finish
            out: dict[str, Any] = {"candidates": [cand], "modelVersion": model}
            if usage:
                out["usageMetadata"] = {
                    "promptTokenCount": self.input_tokens,
                    "candidatesTokenCount": self.output_tokens,
                    "totalTokenCount": self.input_tokens + self.output_tokens,
                }
            return out

        if action == "generateContent":
            return web.json_response(chunk("".join(TEXT), "STOP", True))
        assert action == "streamGenerateContent" and request.query.get("alt") == "sse", request.path_qs
        events: list[tuple[str, Any]] = [("", chunk(p, None, False)) for p in TEXT[:-1]]
        if mode == "stream_malformed":
            events.append(("", "{not json"))
        events.append(("", chunk(TEXT[-1], "STOP", True)))
        return await self._sse(request, events)

    # -- Ollama /api/chat --------------------------------------------------------------

    async def ollama(self, request: web.Request) -> web.StreamResponse:
        mode, body = await self._begin("ollama", request, True)
        if (failed := await self._failure("ollama", mode)) is not None:
            return failed
        model = body["model"]
        final = {
            "model": model,
            "created_at": "2026-01-01T00:00:00Z",
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "stop",
            "prompt_eval_count": self.input_tokens,
            "eval_count": self.output_tokens,
        }
        if not body.get("stream", True):
            return web.json_response({**final, "message": {"role": "assistant", "content": "".join(TEXT)}})
        resp = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await resp.prepare(request)
        for part in TEXT:
            line = {
                "model": model,
                "created_at": "2026-01-01T00:00:00Z",
                "message": {"role": "assistant", "content": part},
                "done": False,
            }
            await resp.write((json.dumps(line) + "\n").encode())
        if mode == "stream_malformed":
            await resp.write(b"{not json\n")
        if mode == "stream_error":
            await resp.write(b'{"error":"model crashed"}\n')
        await resp.write((json.dumps(final) + "\n").encode())
        await resp.write_eof()
        return resp
