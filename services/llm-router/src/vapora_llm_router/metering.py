"""A streamed answer measured against its reservation, so the router can stop it.

A provider is asked for ``max_tokens``, but nothing makes it stop there; a stream the router can
stop. The meter counts what the model produces as it arrives (text deltas and tool-call pieces)
in tokens, estimated as characters ÷ :data:`CHARS_PER_TOKEN`, and says when that passes the
reservation's ``max_tokens``. The service then closes the stream (the provider stops
generating) and answers with what arrived, ``finish_reason`` ``length``, charged the whole
reservation: the most the call was allowed to cost, and the best bound of what it used, since the
provider's own usage never came.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from vapora_llm_router.providers.base import Completion, StreamEvent

CHARS_PER_TOKEN = 4  # English prose runs about 4 characters a token; code and other scripts fewer


@dataclass(slots=True)
class Meter:
    max_tokens: int
    chars: int = 0
    parts: list[str] = field(default_factory=list)

    def add(self, event: StreamEvent) -> None:
        if event.delta:
            self.parts.append(event.delta)
        self.chars += len(event.delta) + event.call_chars

    @property
    def tokens(self) -> int:
        return math.ceil(self.chars / CHARS_PER_TOKEN)

    @property
    def over(self) -> bool:
        return self.tokens > self.max_tokens

    def stopped(self, *, model: str, input_tokens: int) -> Completion:
        """The answer of a stream stopped at its reservation: the text so far, cut at max_tokens."""
        return Completion(
            text="".join(self.parts),
            input_tokens=input_tokens,
            output_tokens=self.max_tokens,
            finish_reason="length",
            model=model,
        )
