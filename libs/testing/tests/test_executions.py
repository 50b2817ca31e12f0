"""step_of: a run's step with its execution id from the run id, its time from its index."""

from __future__ import annotations

from vapora_testing.executions import step_of


def test_a_step_takes_its_execution_from_the_run_id_and_its_time_from_its_index() -> None:
    s = step_of("ex-1.2", 3, "model", at_s=100.0)
    assert (s.execution_id, s.run_id, s.index, s.kind) == ("ex-1", "ex-1.2", 3, "model")
    assert s.at.seconds == 103
    assert (s.job_id, s.task_id, s.workspace_id, s.agent_id, s.task_type) == ("job-x", "task-x", "ws1", "a1", "testing")


def test_fields_given_override_the_defaults() -> None:
    s = step_of("ex-9.1", 1, task_id="t-9", workspace_id="ws-9", tool="files.read", result="ok")
    assert (s.kind, s.task_id, s.workspace_id, s.tool, s.result) == ("tool", "t-9", "ws-9", "files.read", "ok")
