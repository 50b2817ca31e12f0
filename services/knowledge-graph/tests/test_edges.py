"""Bad input at the knowledge graph's edges (NATS executions and feedback, gRPC queries), for real.

Issue 28, defect 6: an ExecutionRecorded with cost_cents NaN was stored and its profile read back
as NaN, which is not JSON; one dated 9999 pinned the profile. Defect 5: ``GetLearningCurve`` with
``days=2147483647`` was INTERNAL. Defect 1: a NUL in a string reached the store.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from google.protobuf.json_format import MessageToDict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vapora.kg.v1 import kg_pb2, kg_pb2_grpc
from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import Bus, subjects
from vapora_core.bus.headers import DLQ_KIND, DLQ_REASON
from vapora_knowledge_graph.app import KnowledgeGraphApp
from vapora_testing.apps import grpc_stub
from vapora_testing.edges import NOT_FOR_BAD_INPUT
from vapora_testing.polling import eventually

YEAR_9999_NS = 253_402_300_000 * 10**9


def execution(eid: str, agent: str = "a1", **fields: Any) -> kg_pb2.ExecutionRecorded:
    e = kg_pb2.ExecutionRecorded(
        execution_id=eid,
        job_id=f"job-{eid}",
        task_id=f"task-{eid}",
        workspace_id="ws1",
        agent_id=agent,
        task_type="coding",
        success=True,
        quality=0.8,
        latency_ms=100,
        cost_cents=0.5,
        verified=True,  # as verification would record it: these executions count in profiles
    )
    e.finished_at.FromNanoseconds(time.time_ns())
    for name, value in fields.items():
        if name == "finished_ns":
            e.finished_at.FromNanoseconds(value)
        else:
            setattr(e, name, value)
    return e


class DeadLetters:
    def __init__(self) -> None:
        self.reasons: dict[str, tuple[str, str]] = {}

    async def on(self, raw: Any) -> None:
        headers = dict(raw.headers or {})
        key = headers.get("vapora-dlq-subject", raw.subject)
        self.reasons[f"{key}:{len(self.reasons)}"] = (headers.get(DLQ_KIND, ""), headers.get(DLQ_REASON, ""))

    def kinds_and_reasons(self) -> list[tuple[str, str]]:
        return list(self.reasons.values())


@pytest.fixture
async def dead(bus: Bus) -> AsyncIterator[DeadLetters]:
    letters = DeadLetters()
    sub = await bus.nc.subscribe("dlq.>", cb=letters.on)
    yield letters
    await sub.unsubscribe()


@pytest.fixture
async def kg(kg_app: KnowledgeGraphApp) -> AsyncIterator[kg_pb2_grpc.KnowledgeGraphStub]:
    async with grpc_stub(kg_app.grpc_port, kg_pb2_grpc.KnowledgeGraphStub) as stub:
        yield stub


async def _profile_with(kg: kg_pb2_grpc.KnowledgeGraphStub, agent: str, executions: int) -> kg_pb2.LearningProfile:
    async def profile() -> kg_pb2.LearningProfile | None:
        try:
            return await kg.GetLearningProfile(kg_pb2.GetLearningProfileRequest(agent_id=agent, task_type="coding"))
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.NOT_FOUND, exc
            return None

    found: kg_pb2.LearningProfile = await eventually(
        profile,
        timeout=15.0,
        what=f"{agent}'s profile with {executions} executions",
        until=lambda p: p is not None and p.executions == executions,
    )
    return found


async def _publish(bus: Bus, e: kg_pb2.ExecutionRecorded) -> None:
    await bus.publish(subjects.execution(e.task_type, e.agent_id), e, msg_id=e.execution_id)


async def test_nan_and_far_future_executions_are_dead_lettered_and_profiles_stay_json(
    bus: Bus, kg: kg_pb2_grpc.KnowledgeGraphStub, dead: DeadLetters
) -> None:
    for e in (
        execution("nan", cost_cents=math.nan),
        execution("inf-latency", quality=math.inf),
        execution("y9999", finished_ns=YEAR_9999_NS),
        execution("nul", error="bad\x00byte"),
        execution("ok-1"),
        execution("ok-2", success=False, quality=0.1),
    ):
        await _publish(bus, e)
    profile = await _profile_with(kg, "a1", 2)  # the two good ones, and only them
    assert (profile.successes, profile.mean_cost_cents, profile.mean_quality) == (1, 0.5, pytest.approx(0.45))
    assert profile.expertise == pytest.approx(0.5, abs=1e-3)  # not pinned by a date in the future
    json.dumps(MessageToDict(profile), allow_nan=False)  # valid JSON: no NaN, no Infinity
    listed = await kg.GetLearningProfiles(kg_pb2.GetLearningProfilesRequest(agent_ids=["a1"]))
    json.dumps(MessageToDict(listed), allow_nan=False)
    await eventually(lambda: len(dead.reasons) >= 4, timeout=5.0, what="four dead letters")
    reasons = {reason for kind, reason in dead.kinds_and_reasons() if kind == "invalid"}
    assert "cost_cents must be a finite number, got nan" in reasons
    assert "quality must be a finite number, got inf" in reasons
    assert any(r.startswith("finished_at is 9999-12-31T") for r in reasons)
    assert "error holds a NUL character (U+0000)" in reasons
    # the consumer went on: a later execution still counts
    await _publish(bus, execution("ok-3"))
    await _profile_with(kg, "a1", 3)


async def test_feedback_with_a_nan_quality_or_a_nul_is_dead_lettered_not_applied(
    bus: Bus, kg: kg_pb2_grpc.KnowledgeGraphStub, dead: DeadLetters
) -> None:
    await _publish(bus, execution("fb-1", agent="a2"))
    await _profile_with(kg, "a2", 1)
    for fb in (
        tasks_pb2.FeedbackCorrection(workspace_id="ws1", execution_id="fb-1", quality=math.nan),
        tasks_pb2.FeedbackCorrection(workspace_id="ws1", execution_id="fb-1", quality=0.2, comment="x\x00"),
    ):
        await bus.publish(subjects.feedback("ws1"), fb)
    good = tasks_pb2.FeedbackCorrection(workspace_id="ws1", execution_id="fb-1", success=False, quality=0.3)
    await bus.publish(subjects.feedback("ws1"), good)
    p = await eventually(
        lambda: kg.GetLearningProfile(kg_pb2.GetLearningProfileRequest(agent_id="a2", task_type="coding")),
        timeout=10.0,
        what="a2's profile corrected to no success",
        until=lambda p: p.successes == 0,
    )
    assert (p.successes, p.mean_quality) == (0, pytest.approx(0.3))
    reasons = {reason for _, reason in dead.kinds_and_reasons()}
    assert "quality must be a finite number, got nan" in reasons
    assert "comment holds a NUL character (U+0000)" in reasons


async def test_queries_out_of_range_are_invalid_argument_naming_the_field(kg: kg_pb2_grpc.KnowledgeGraphStub) -> None:
    cases = [
        (
            kg.GetLearningCurve(kg_pb2.GetLearningCurveRequest(agent_id="a", task_type="t", days=2147483647)),
            "days must be within [0, 3650] (0: 30), got 2147483647",
        ),
        (
            kg.QueryExecutions(kg_pb2.QueryExecutionsRequest(workspace_id="ws\x00")),
            "workspace_id holds a NUL character (U+0000)",
        ),
        (
            kg.GetLearningProfiles(kg_pb2.GetLearningProfilesRequest(agent_ids=["a"] * 1001)),
            "agent_ids has 1001 items; at most 1000 are allowed",
        ),
        (
            kg.GetLearningProfile(kg_pb2.GetLearningProfileRequest(agent_id="x" * 100_000, task_type="t")),
            "agent_id has 100000 bytes; at most 256 are allowed",
        ),
    ]
    for call, message in cases:
        with pytest.raises(grpc.RpcError) as info:
            await call
        assert (info.value.code(), info.value.details()) == (grpc.StatusCode.INVALID_ARGUMENT, message)


_ids = itertools.count()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cost=st.floats(allow_nan=True, allow_infinity=True),
    latency=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    finished_s=st.integers(min_value=-62_135_596_800, max_value=253_402_300_799),
    text=st.text(st.characters(codec="utf-8"), max_size=20),
    days=st.integers(min_value=-(2**31), max_value=2**31 - 1),
)
async def test_whatever_an_execution_or_a_query_holds_no_read_is_poisoned(
    bus: Bus,
    kg: kg_pb2_grpc.KnowledgeGraphStub,
    cost: float,
    latency: int,
    finished_s: int,
    text: str,
    days: int,
) -> None:
    n = next(_ids)
    e = execution(f"h{n}", agent="prop", cost_cents=cost, latency_ms=latency, result=text, role=text)
    e.finished_at.seconds = finished_s
    await _publish(bus, e)
    await _publish(bus, execution(f"h{n}-sentinel", agent="prop"))
    await _stored(kg, f"task-h{n}-sentinel")  # the consumer got past the fuzzed one
    profiles = await kg.GetLearningProfiles(kg_pb2.GetLearningProfilesRequest(task_type="coding"))
    json.dumps(MessageToDict(profiles), allow_nan=False)
    executions = await kg.QueryExecutions(kg_pb2.QueryExecutionsRequest(workspace_id="ws1", agent_id="prop"))
    json.dumps(MessageToDict(executions), allow_nan=False)
    try:
        await kg.GetLearningCurve(kg_pb2.GetLearningCurveRequest(agent_id="prop", task_type="coding", days=days))
    except grpc.RpcError as exc:
        assert exc.code() not in NOT_FOR_BAD_INPUT, exc


async def _stored(kg: kg_pb2_grpc.KnowledgeGraphStub, task_id: str) -> None:
    await eventually(
        lambda: kg.QueryExecutions(kg_pb2.QueryExecutionsRequest(workspace_id="ws1", task_id=task_id)),
        timeout=6.0,
        interval=0.02,
        what=f"the execution of {task_id} stored",
        until=lambda found: bool(found.executions),
    )
