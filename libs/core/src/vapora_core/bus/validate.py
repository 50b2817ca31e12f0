"""What an event may hold: checked by the bus after it decodes a message, before any handler runs.

A message that breaks a rule is dead-lettered (kind ``invalid``) with the rule it broke, and the
consumer goes on: NaN or an infinite cost, an execution dated in the year 9999, a negative token
count never reach a handler, so they cannot corrupt what is learnt from them. The rules
(:mod:`vapora_core.message_check`), for every field of every event, nested messages included:

- strings hold no NUL character; floats are finite; enums hold a declared value;
- timestamps lie between 2020-01-01 and ``skew_s`` (``VAPORA_EVENT_SKEW_S``, 5 min by default)
  past the consumer's clock;
- the numbers in :data:`BOUNDS` lie in their range (ends included).

The ranges bound what is measured (costs, tokens, latencies, qualities, loads); they are wide
enough for any real work and narrow enough that sums over them stay finite. What the fleet
computes from them (profiles, scores) is held to being finite only: a rounding error in a score
must not cost a job. ``docs/limits.md`` lists them.
"""

from __future__ import annotations

import time

from google.protobuf.message import Message

from vapora_core.message_check import Rules, check_message

EARLIEST_S = 1_577_836_800.0  # 2020-01-01T00:00:00Z
DEFAULT_SKEW_S = 300.0

UNIT = (0.0, 1.0)
CENTS = (0.0, 10_000_000.0)  # one event costs at most $100,000
TOKENS = (0.0, 1_000_000_000.0)
MILLISECONDS = (0.0, 30 * 86_400_000.0)  # at most 30 days
COUNT = (0.0, 1_000_000.0)  # loads, concurrency, attempts

BOUNDS: dict[str, tuple[float, float]] = {
    **{
        f"vapora.kg.v1.ExecutionRecorded.{name}": span
        for name, span in {
            "quality": UNIT,
            "cost_cents": CENTS,
            "input_tokens": TOKENS,
            "output_tokens": TOKENS,
            "latency_ms": MILLISECONDS,
            "attempt": COUNT,
            "steps": COUNT,
            "tool_calls": COUNT,
        }.items()
    },
    **{
        f"vapora.kg.v1.StepRecorded.{name}": span
        for name, span in {
            "cost_cents": CENTS,
            "input_tokens": TOKENS,
            "output_tokens": TOKENS,
            "latency_ms": MILLISECONDS,
            "index": COUNT,
        }.items()
    },
    **{
        f"vapora.llm.v1.LlmUsage.{name}": span
        for name, span in {
            "cost_cents": CENTS,
            "input_tokens": TOKENS,
            "output_tokens": TOKENS,
            "latency_ms": MILLISECONDS,
        }.items()
    },
    "vapora.tasks.v1.FeedbackCorrection.quality": UNIT,
    "vapora.tasks.v1.TaskStatusChanged.step": COUNT,
    "vapora.agents.v1.AgentHeartbeat.current_load": COUNT,
    "vapora.agents.v1.Agent.current_load": COUNT,
    "vapora.agents.v1.Agent.max_concurrency": COUNT,
    "vapora.agents.v1.Capability.proficiency": UNIT,
    "vapora.coordinator.v1.JobAssigned.attempt": COUNT,
    "vapora.mcp.v1.McpCall.latency_ms": MILLISECONDS,
}


class EventRules:
    """The rules of every event a consumer takes, against its own clock (read once a second: the
    latest accepted time lags the clock by at most that, against a skew of minutes)."""

    __slots__ = ("_rules", "_until", "skew_s")

    def __init__(self, skew_s: float = DEFAULT_SKEW_S) -> None:
        self.skew_s = skew_s
        self._rules = self._at(time.time())
        self._until = time.monotonic() + 1.0

    def _at(self, now_s: float) -> Rules:
        return Rules(earliest_s=EARLIEST_S, latest_s=now_s + self.skew_s, bounds=BOUNDS)

    def check(self, message: Message, now_s: float | None = None) -> None:
        """Raise :class:`~vapora_core.errors.InvalidArgument` naming the first field of ``message``
        that breaks a rule (at ``now_s``, when given)."""
        if now_s is not None:
            check_message(message, self._at(now_s))
            return
        if time.monotonic() >= self._until:
            self._rules = self._at(time.time())
            self._until = time.monotonic() + 1.0
        check_message(message, self._rules)
