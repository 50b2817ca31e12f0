"""The offline deterministic provider: no key, no network, cost 0 — the local default.

The answer is derived from the prompt (same prompt → same text), token counts are word
counts, so tests and local runs of the whole fleet behave the same every time.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncGenerator

from vapora_llm_router.providers.base import Completion, ProviderRequest, StreamEvent

MODEL = "offline-deterministic"


def _words(text: str) -> int:
    return len(text.split())


class OfflineProvider:
    name = "offline"

    def _answer(self, request: ProviderRequest) -> Completion:
        prompt = "\n".join([request.system, *(m.content for m in request.messages)])
        digest = hashlib.sha256(prompt.encode()).hexdigest()[:12]
        last = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
        topic = " ".join(last.split()[:24]) or "(empty prompt)"
        words = (
            f"[offline {digest}] Deterministic answer to: {topic}. "
            "This response was produced without calling a model; configure a provider key "
            "to get real completions."
        ).split()
        limit = max(1, request.max_tokens) if request.max_tokens > 0 else len(words)
        text = " ".join(words[:limit])
        return Completion(
            text=text,
            input_tokens=_words(prompt),
            output_tokens=_words(text),
            finish_reason="stop" if limit >= len(words) else "length",
            model=request.model or MODEL,
        )

    async def complete(self, request: ProviderRequest) -> Completion:
        return self._answer(request)

    async def stream(self, request: ProviderRequest) -> AsyncGenerator[StreamEvent, None]:
        result = self._answer(request)
        words = result.text.split(" ")
        for i, word in enumerate(words):
            yield StreamEvent(delta=word if i == 0 else " " + word)
        yield StreamEvent(final=result)

    async def aclose(self) -> None:
        return None
