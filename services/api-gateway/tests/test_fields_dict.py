"""fields_dict: a message shown whole, field for field, as the API's JSON carries it."""

from __future__ import annotations

from vapora.common.v1 import evidence_pb2
from vapora.kg.v1 import kg_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_api_gateway.evidence import fields_dict


def test_a_verification_shows_every_field_with_its_findings_as_dicts() -> None:
    v = evidence_pb2.Verification(
        kind="tests",
        command="pytest -q",
        passed=True,
        exit_code=1,
        tests_passed=3,
        newly_failing=["test_a"],
        duration_s=2.5,
        findings=[evidence_pb2.Finding(file="a.py", line=4, severity="high", message="off by one", located=True)],
    )
    shown = fields_dict(v)
    assert list(shown) == [f.name for f in evidence_pb2.Verification.DESCRIPTOR.fields]
    assert shown["kind"] == "tests" and shown["exit_code"] == 1 and shown["duration_s"] == 2.5
    assert shown["newly_failing"] == ["test_a"] and shown["newly_passing"] == [] and shown["timed_out"] is False
    assert shown["findings"] == [
        {"file": "a.py", "line": 4, "severity": "high", "message": "off by one", "located": True}
    ]


def test_int64_stays_a_number_and_maps_become_dicts() -> None:
    step = fields_dict(kg_pb2.StepRecorded(latency_ms=2**40, calls=[kg_pb2.RequestedCall(id="c1")]))
    assert step["latency_ms"] == 2**40
    assert step["calls"] == [{"id": "c1", "tool": "", "arguments_json": "", "error": ""}]
    task = fields_dict(tasks_pb2.Task(id="t-1", labels={"team": "core"}))
    assert task["labels"] == {"team": "core"} and task["id"] == "t-1"
