"""The agent's own check of its result: deterministic, so the same answer scores the same.

success: the answer is non-empty, not a refusal, and was not cut off before saying anything.
quality in [0, 1]: how much of the task's vocabulary the answer addresses, how substantial
it is, and whether it finished (a ``length`` finish costs a little).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = re.compile(r"[a-z0-9][a-z0-9_-]{3,}")
_REFUSALS = (
    "i can't help",
    "i cannot help",
    "i can't assist",
    "i cannot assist",
    "i'm unable to",
    "i am unable to",
    "i won't",
    "i will not",
    "as an ai",
    "i'm sorry, but",
    "i am sorry, but",
)
_STOP = frozenset({"this", "that", "with", "from", "into", "have", "should", "would", "about", "please"})


@dataclass(frozen=True, slots=True)
class Verdict:
    success: bool
    quality: float
    reason: str


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def check_result(title: str, description: str, text: str, finish_reason: str = "") -> Verdict:
    """Judge ``text`` as an answer to the task titled ``title``."""
    answer = text.strip()
    if not answer:
        return Verdict(False, 0.0, "empty answer")
    head = answer[:200].lower()
    if any(head.startswith(r) or f"\n{r}" in head for r in _REFUSALS):
        return Verdict(False, 0.1, "the model refused the task")
    wanted = _words(title) or _words(description)
    found = _words(answer)
    coverage = len(wanted & found) / len(wanted) if wanted else 1.0
    substance = min(1.0, len(answer) / 400)
    quality = 0.4 + 0.35 * coverage + 0.25 * substance
    reason = f"covers {coverage:.0%} of the task's terms"
    if finish_reason == "length":
        quality -= 0.15
        reason += "; cut off at max_tokens"
    return Verdict(True, round(max(0.0, min(1.0, quality)), 3), reason)
