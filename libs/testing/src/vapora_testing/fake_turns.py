"""What a fake provider answers: scripted turns of text and tool calls (see :mod:`.fake_providers`)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

TEXT = ["Hello", " from", " the fake"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Call:
    """A tool call the fake model makes.

    ``arguments`` as a string is sent as the raw argument text (``"{not json"`` scripts bad
    JSON). ``id``: empty, the fake makes one where the format has ids (Anthropic, OpenAI) and
    sends none where it has not (Gemini, Ollama); ``None``, no id at all (a malformed call).
    """

    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)
    id: str | None = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Turn:
    """One answer: text (a string, streamed word by word, or the exact pieces), tool calls, or both."""

    text: str | tuple[str, ...] = ""
    calls: tuple[Call, ...] = ()
    truncated: bool = False  # stopped at max_tokens: each format's own word for it
    input_tokens: int | None = None
    output_tokens: int | None = None
    delay_s: float = 0.0  # answer only after this long

    def pieces(self) -> list[str]:
        if isinstance(self.text, tuple):
            return list(self.text)
        return re.findall(r"\s*\S+\s*$|\s*\S+", self.text)

    @property
    def whole(self) -> str:
        return "".join(self.pieces())


def arguments_text(call: Call) -> str:
    return call.arguments if isinstance(call.arguments, str) else json.dumps(dict(call.arguments))


def arguments_value(call: Call) -> Any:
    return call.arguments if isinstance(call.arguments, str) else dict(call.arguments)


def halves(text: str) -> list[str]:
    """A streamed argument text, cut in two pieces as providers do."""
    mid = len(text) // 2
    return [p for p in (text[:mid], text[mid:]) if p]


Choose = Callable[[str, dict[str, Any]], "Turn | None"]
