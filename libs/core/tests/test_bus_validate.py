"""Event rules at the bus's decode path, against a real nats-server: bad numbers never reach a handler."""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vapora.agents.v1 import agents_pb2
from vapora.kg.v1 import kg_pb2
from vapora.llm.v1 import llm_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import Bus, Delivery, subjects
from vapora_core.bus.headers import DLQ_KIND, DLQ_REASON
from vapora_core.bus.topology import CONSUMERS
from vapora_core.bus.validate import BOUNDS, EARLIEST_S, EventRules
from vapora_core.errors import InvalidArgument, PayloadTooLarge
from vapora_core.metrics import DEAD_LETTERS
from vapora_testing.polling import eventually

YEAR_9999 = 253_402_300_000


def execution(execution_id: str, **fields: Any) -> kg_pb2.ExecutionRecorded:
    e = kg_pb2.ExecutionRecorded(
        execution_id=execution_id, task_id="t", workspace_id="ws", agent_id="a", task_type="coding", success=True
    )
    for name, value in fields.items():
        if isinstance(value, Timestamp):
            getattr(e, name).CopyFrom(value)
        else:
            setattr(e, name, value)
    return e


@dataclass
class Outcomes:
    handled: dict[str, kg_pb2.ExecutionRecorded] = field(default_factory=dict)
    dead: dict[str, dict[str, str]] = field(default_factory=dict)

    async def settled(self, execution_id: str) -> None:
        await eventually(
            lambda: execution_id in self.handled or execution_id in self.dead,
            timeout=4.0,
            interval=0.01,
            what=f"{execution_id} handled or dead-lettered",
        )


@pytest.fixture
async def outcomes(bus: Bus) -> AsyncIterator[Outcomes]:
    seen = Outcomes()

    async def handler(msg: kg_pb2.ExecutionRecorded, _: Delivery) -> None:
        seen.handled[msg.execution_id] = msg

    async def on_dead(raw: Any) -> None:
        e = kg_pb2.ExecutionRecorded.FromString(raw.data)
        seen.dead[e.execution_id] = dict(raw.headers or {})

    sub = await bus.nc.subscribe("dlq.executions.>", cb=on_dead)
    await bus.subscribe(CONSUMERS.KG_EXECUTIONS, kg_pb2.ExecutionRecorded, handler, workers=4)
    yield seen
    await sub.unsubscribe()


async def _publish(bus: Bus, e: kg_pb2.ExecutionRecorded) -> None:
    await bus.publish(subjects.execution(e.task_type, e.agent_id), e, msg_id=e.execution_id)


async def test_nan_costs_and_dates_in_the_year_9999_are_dead_lettered_with_their_reason(
    bus: Bus, outcomes: Outcomes
) -> None:
    before = DEAD_LETTERS.labels("kg-executions", "invalid")._value.get()
    bad = {
        "nan": execution("nan", cost_cents=math.nan),
        "inf": execution("inf", cost_cents=math.inf),
        "future": execution("future", finished_at=Timestamp(seconds=YEAR_9999)),
        "old": execution("old", started_at=Timestamp(seconds=1_000)),
        "tokens": execution("tokens", input_tokens=-5),
        "quality": execution("quality", quality=1.5),
        "nul": execution("nul", result="a\x00b"),
    }
    for e in bad.values():
        await _publish(bus, e)
    await _publish(bus, execution("good", cost_cents=1.5, finished_at=Timestamp(seconds=int(time.time()))))
    for name in [*bad, "good"]:
        await outcomes.settled(name)
    assert set(outcomes.handled) == {"good"}  # the consumer went on past every bad one
    reasons = {name: outcomes.dead[name][DLQ_REASON] for name in bad}
    assert reasons["nan"] == "cost_cents must be a finite number, got nan"
    assert reasons["inf"] == "cost_cents must be a finite number, got inf"
    assert reasons["future"].startswith("finished_at is 9999-12-31T")
    assert "outside the accepted 2020-01-01T00:00:00+00:00 .. " in reasons["future"]
    assert reasons["old"].startswith("started_at is 1970-01-01T00:16:40+00:00, outside the accepted 2020-01-01")
    assert reasons["tokens"] == "input_tokens must be within [0, 1e+09], got -5"
    assert reasons["quality"] == "quality must be within [0, 1], got 1.5"
    assert reasons["nul"] == "result holds a NUL character (U+0000)"
    assert {h[DLQ_KIND] for h in outcomes.dead.values()} == {"invalid"}
    assert DEAD_LETTERS.labels("kg-executions", "invalid")._value.get() == before + len(bad)


async def test_a_timestamp_a_little_ahead_of_this_clock_is_accepted_within_the_skew(
    bus: Bus, outcomes: Outcomes
) -> None:
    soon = Timestamp(seconds=int(time.time()) + 60)
    late = Timestamp(seconds=int(time.time()) + 3600)
    await _publish(bus, execution("soon", finished_at=soon))
    await _publish(bus, execution("late", finished_at=late))
    await outcomes.settled("soon")
    await outcomes.settled("late")
    assert "soon" in outcomes.handled and "late" in outcomes.dead
    strict = EventRules(skew_s=0.0)
    with pytest.raises(InvalidArgument, match="finished_at is"):
        strict.check(execution("x", finished_at=soon))


def test_nested_fields_and_maps_are_named_by_their_path() -> None:
    rules = EventRules()
    task = tasks_pb2.TaskSubmitted(task=tasks_pb2.Task(id="t", labels={"team": "a\x00"}))
    with pytest.raises(InvalidArgument, match=r"^task\.labels\['team'\] holds a NUL"):
        rules.check(task)
    status = tasks_pb2.TaskStatusChanged(task_id="t", state=42)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match=r"^state is 42, not a value of its enum$"):
        rules.check(status)
    rules.check(tasks_pb2.TaskStatusChanged(task_id="t", state=4, at=Timestamp(seconds=int(EARLIEST_S) + 1)))


async def test_a_message_over_the_servers_max_payload_is_refused_before_it_is_sent(bus: Bus) -> None:
    big = execution("big", result="x" * (bus.max_payload + 1))
    with pytest.raises(PayloadTooLarge) as info:
        await _publish(bus, big)
    assert not info.value.retryable
    assert info.value.limit == bus.max_payload and info.value.size > bus.max_payload
    assert f"at most {bus.max_payload:,} fit" in str(info.value)
    await _publish(bus, execution("after"))  # the connection is fine


_ids = itertools.count()
NUMBERS = st.floats(allow_nan=True, allow_infinity=True) | st.floats(min_value=-1e300, max_value=1e300)
INTEGERS = st.integers(min_value=-(2**63), max_value=2**63 - 1)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cost=NUMBERS,
    quality=NUMBERS,
    tokens=INTEGERS,
    latency=INTEGERS,
    seconds=st.integers(min_value=-62_135_596_800, max_value=253_402_300_799),
    text=st.text(st.characters(codec="utf-8"), max_size=30),
)
async def test_whatever_numbers_an_execution_holds_the_handler_sees_only_valid_ones(
    bus: Bus, outcomes: Outcomes, cost: float, quality: float, tokens: int, latency: int, seconds: int, text: str
) -> None:
    execution_id = f"h{next(_ids)}"
    e = execution(
        execution_id,
        cost_cents=cost,
        quality=quality,
        output_tokens=tokens,
        latency_ms=latency,
        finished_at=Timestamp(seconds=seconds),
        error=text,
    )
    await _publish(bus, e)
    await outcomes.settled(execution_id)
    if execution_id in outcomes.handled:
        got = outcomes.handled[execution_id]
        lo, hi = BOUNDS["vapora.kg.v1.ExecutionRecorded.cost_cents"]
        assert math.isfinite(got.cost_cents) and lo <= got.cost_cents <= hi
        assert 0.0 <= got.quality <= 1.0
        assert got.output_tokens >= 0 and got.latency_ms >= 0
        assert EARLIEST_S <= got.finished_at.seconds <= time.time() + 300
        assert "\x00" not in got.error
    else:
        assert outcomes.dead[execution_id][DLQ_KIND] == "invalid"


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (llm_pb2.LlmUsage(cost_cents=math.nan), "cost_cents must be a finite number, got nan"),
        (llm_pb2.LlmUsage(output_tokens=-1), "output_tokens must be within [0, 1e+09], got -1"),
        (llm_pb2.LlmUsage(at=Timestamp(seconds=YEAR_9999)), "at is 9999-12-31T"),
        (tasks_pb2.FeedbackCorrection(quality=-0.5), "quality must be within [0, 1], got -0.5"),
        (agents_pb2.AgentHeartbeat(current_load=-2), "current_load must be within [0, 1e+06], got -2"),
        (tasks_pb2.TaskStatusChanged(task_id="t", at=Timestamp(seconds=100)), "at is 1970-01-01T00:01:40"),
        (
            tasks_pb2.TaskSubmitted(task=tasks_pb2.Task(created_at=Timestamp(seconds=YEAR_9999))),
            "task.created_at is 9999",
        ),
        (
            agents_pb2.AgentsChanged(agent=agents_pb2.Agent(capabilities=[agents_pb2.Capability(proficiency=2.0)])),
            "agent.capabilities[0].proficiency must be within [0, 1], got 2.0",
        ),
    ],
)
def test_each_event_family_is_held_to_its_ranges(message: Any, reason: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        EventRules().check(message)
    assert str(info.value).startswith(reason)
