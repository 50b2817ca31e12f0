"""The offline deterministic provider: no key, no network, cost 0 — the local default.

Without tools, the answer is derived from the prompt (same prompt → same text). With tools, it
explores with the read-only ones it is offered (:mod:`.explore`: list the root, read a few of
the files listed, search once) and then answers with a report naming what it read, which says
plainly that it made no change and verified nothing. Every answer is marked ``unverified``: no
model produced it, so it never counts as a success. Token counts are word counts, so tests and
local runs of the whole fleet behave the same every time.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncGenerator
from pathlib import PurePosixPath
from typing import Any

from vapora_llm_router.providers.base import Completion, ProviderRequest, StreamEvent, ToolCall
from vapora_llm_router.providers.explore import Step, history, is_glob, listed_files, next_calls, task_title
from vapora_llm_router.providers.tools import arguments

MODEL = "offline-deterministic"
NO_MATCHES = re.compile(r"no (matches|results)( found)?\.?$", re.IGNORECASE)
NEEDS_A_KEY = (
    "I made no change and verified nothing: the offline provider cannot do this task. Configure a "
    "provider (VAPORA_ANTHROPIC_API_KEY, VAPORA_OPENAI_API_KEY, VAPORA_GEMINI_API_KEY or "
    "VAPORA_OLLAMA_BASE_URL) to have a model do it."
)

NOTHING_FITS = "none of the tools I was offered is a read-only list, read or search tool I can fill, so I read nothing"


def _words(text: str) -> int:
    return len(text.split())


def _prompt(request: ProviderRequest) -> str:
    parts = [request.system]
    for m in request.messages:
        parts.append(m.content)
        parts += [f"{c.name} {c.arguments_json}" for c in m.tool_calls]
        parts += [r.content for r in m.tool_results]
    return "\n".join(parts)


def _first_line(text: str, limit: int = 80) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _described(call: ToolCall) -> str:
    args = ", ".join(f"{k}={v}" for k, v in arguments(call).items())
    return f"{call.name}({args})"


def _seen(step: Step) -> str:
    result = step.result
    if result is None:
        return f"called {_described(step.call)} (no result)"
    if result.is_error:
        return f"{_described(step.call)} failed: {_first_line(result.content)}"
    if step.kind == "list":
        files = listed_files([step])
        shown = ", ".join(files[:5]) + (", …" if len(files) > 5 else "")
        return f"{_described(step.call)} listed {len(files)} files ({shown or 'none'})"
    if step.kind == "read":
        return f'{_described(step.call)} begins "{_first_line(result.content)}"'
    if step.kind == "search":
        matches = [ln for ln in result.content.splitlines() if ln.strip()]
        if len(matches) == 1 and NO_MATCHES.match(matches[0].strip()):
            matches = []  # "No matches found": a server's way of saying none
        if any(is_glob(v) for v in arguments(step.call).values()):  # a name search: the files it found
            names = ", ".join(PurePosixPath(m.strip()).name for m in matches[:3]) + (", …" if len(matches) > 3 else "")
            return f"{_described(step.call)} found {len(matches)} files so named ({names or 'none'})"
        first = f', first "{_first_line(matches[0])}"' if matches else ""
        return f"{_described(step.call)} found {len(matches)} matching lines{first}"
    return f"called {_described(step.call)}"


class OfflineProvider:
    name = "offline"

    def _answer(self, request: ProviderRequest) -> Completion:
        prompt = _prompt(request)
        digest = hashlib.sha256(prompt.encode()).hexdigest()[:12]
        if request.tools and (planned := next_calls(request.tools, request.messages)):
            return self._calls(request, prompt, planned)
        if request.tools:
            steps = history(request.messages)
            seen = "; ".join(_seen(s) for s in steps) if steps else NOTHING_FITS
            text = (
                f"[offline {digest}] Offline exploration of {task_title(request.messages)!r}, "
                f"not the work itself: {seen}. {NEEDS_A_KEY}"
            )
        else:
            last = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
            topic = " ".join(last.split()[:24]) or "(empty prompt)"
            text = (
                f"[offline {digest}] Deterministic answer to: {topic}. "
                "This response was produced without calling a model; configure a provider key "
                "to get real completions."
            )
        words = text.split()
        limit = max(1, request.max_tokens) if request.max_tokens > 0 else len(words)
        text = " ".join(words[:limit])
        return Completion(
            text=text,
            input_tokens=_words(prompt),
            output_tokens=_words(text),
            finish_reason="stop" if limit >= len(words) else "length",
            model=request.model or MODEL,
            unverified=True,
        )

    def _calls(self, request: ProviderRequest, prompt: str, planned: list[tuple[str, dict[str, Any]]]) -> Completion:
        turn = sum(1 for m in request.messages if m.tool_calls) + 1
        calls = tuple(
            ToolCall(id=f"offline_{turn}_{i}", name=name, arguments_json=json.dumps(args))
            for i, (name, args) in enumerate(planned)
        )
        return Completion(
            text="",
            input_tokens=_words(prompt),
            output_tokens=sum(_words(f"{c.name} {c.arguments_json}") for c in calls),
            finish_reason="tool_calls",
            model=request.model or MODEL,
            tool_calls=calls,
            unverified=True,
        )

    async def complete(self, request: ProviderRequest) -> Completion:
        return self._answer(request)

    async def stream(self, request: ProviderRequest) -> AsyncGenerator[StreamEvent, None]:
        result = self._answer(request)
        if result.text:
            for i, word in enumerate(result.text.split(" ")):
                yield StreamEvent(delta=word if i == 0 else " " + word)
        yield StreamEvent(final=result)

    async def aclose(self) -> None:
        return None
