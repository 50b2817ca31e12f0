"""ExplainAssignment: the record read back as a plain value, and that value as the gRPC edge answers it."""

from __future__ import annotations

import pytest

from vapora.tasks.v1 import tasks_pb2
from vapora_core.errors import InvalidArgument, NotFound
from vapora_core.store import Store
from vapora_swarm_coordinator import records
from vapora_swarm_coordinator.grpc_server import assignment
from vapora_swarm_coordinator.repository import NAMESPACE, SCHEMA, AssignmentRepository
from vapora_swarm_coordinator.scoring import Candidate, Evidence, rank
from vapora_swarm_coordinator.service import Coordinator
from vapora_swarm_coordinator.settings import CoordinatorSettings


async def test_an_assignment_explains_its_chosen_score_and_ranking_and_a_failed_one_has_neither(
    store_url: str,
) -> None:
    store = Store(store_url, NAMESPACE)
    await store.open(SCHEMA)
    try:
        repo = AssignmentRepository(store)
        known = Evidence(success_rate=0.9, expertise=0.8, confidence=0.5, executions=12)
        ranked = rank([Candidate("b-new", 0, None, 0.6), Candidate("a-known", 1, known), Candidate("c-busy", 3, None)])
        held = tasks_pb2.Task(id="t-held", workspace_id="ws1", title="write tests")
        assert await repo.create(
            records.assigned(held, "testing", ranked, attempt=1, reason="highest score", at_s=50.5)
        )
        lost = tasks_pb2.Task(id="t-lost", workspace_id="ws1", title="deploy")
        assert await repo.create(records.failed(lost, "devops", reason="no healthy agent capable of devops", at_s=60.0))
        coordinator = Coordinator(CoordinatorSettings(), repo, bus=None)  # type: ignore[arg-type]

        got = await coordinator.explain("t-held", "ws1")
        assert (got.agent_id, got.job_id, got.task_type, got.attempt, got.assigned_s) == (
            "a-known",
            "job-t-held-1",
            "testing",
            1,
            50.5,
        )
        assert got.score == ranked[0][1]
        assert got.candidates == [(c.agent_id, s) for c, s in ranked]
        answer = assignment(got)
        assert (answer.task_id, answer.workspace_id, answer.agent_id, answer.reason) == (
            "t-held",
            "ws1",
            "a-known",
            "highest score",
        )
        assert answer.assigned_at.ToNanoseconds() == 50_500_000_000
        assert answer.score.total == ranked[0][1].total and answer.score.learning_data
        assert [(c.agent_id, c.score.load) for c in answer.candidates] == [("a-known", 1), ("b-new", 0), ("c-busy", 3)]

        failed = await coordinator.explain("t-lost", "ws1")
        assert (failed.agent_id, failed.score, failed.candidates) == ("", None, [])
        answer = assignment(failed)
        assert not answer.HasField("score") and not answer.candidates
        assert answer.reason == "no healthy agent capable of devops"

        with pytest.raises(NotFound, match="no assignment for task t-held in workspace ws2"):
            await coordinator.explain("t-held", "ws2")
        with pytest.raises(InvalidArgument, match="needs task_id and workspace_id"):
            await coordinator.explain("t-held", "")
    finally:
        await store.close()
