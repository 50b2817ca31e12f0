"""An execution's evidence is stored with it and read back whole: the verification its outcome rests
on (test counts, which tests it fixed or broke, a reviewer's findings) and the job's commit. Real
nats-server, embedded SurrealDB, gRPC over loopback."""

from __future__ import annotations

from kgkit import execution, publish  # type: ignore[import-not-found]

from vapora.common.v1 import evidence_pb2
from vapora.kg.v1 import kg_pb2, kg_pb2_grpc
from vapora_core.bus import Bus
from vapora_knowledge_graph.app import KnowledgeGraphApp
from vapora_testing.apps import grpc_stub
from vapora_testing.polling import eventually


async def test_verification_and_artifacts_are_stored_and_read_back(bus: Bus, kg: KnowledgeGraphApp) -> None:
    fixed = execution("fixed", ws="ws-e")
    fixed.verification.CopyFrom(
        evidence_pb2.Verification(
            kind="tests",
            command="python -m pytest -q",
            passed=True,
            counts_known=True,
            tests_passed=4,
            base_passed=3,
            base_failed=1,
            newly_passing=["tests/test_stock.py::test_remove_more_than_held"],
            output="4 passed",
        )
    )
    fixed.artifacts.CopyFrom(
        evidence_pb2.Artifacts(
            commit="a" * 40, branch="vapora/task-fixed", files_changed=["src/inventory/stock.py"], insertions=2
        )
    )
    reviewed = execution("reviewed", ws="ws-e")
    reviewed.verification.CopyFrom(
        evidence_pb2.Verification(
            kind="review",
            decision="request_changes",
            findings=[evidence_pb2.Finding(file="src/inventory/stock.py", line=12, severity="high", located=True)],
        )
    )
    plain = execution("plain", ws="ws-e")
    await publish(bus, fixed, reviewed, plain)
    async with grpc_stub(kg.grpc_port, kg_pb2_grpc.KnowledgeGraphStub) as kg_stub:
        got = await eventually(
            lambda: kg_stub.QueryExecutions(kg_pb2.QueryExecutionsRequest(workspace_id="ws-e")),
            timeout=15.0,
            what="the three executions stored",
            until=lambda r: len(r.executions) == 3,
        )
    by_id = {e.execution_id: e for e in got.executions}
    assert by_id["fixed"].verification == fixed.verification and by_id["fixed"].artifacts == fixed.artifacts
    assert by_id["reviewed"].verification == reviewed.verification
    assert not by_id["reviewed"].HasField("artifacts")
    assert not by_id["plain"].HasField("verification") and not by_id["plain"].HasField("artifacts")
