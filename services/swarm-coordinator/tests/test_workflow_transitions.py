"""How a run moves (workflows/transitions.py), on drafts: no store, no bus.

Each test plays events onto a run of the shipped ``feature`` template (or a small one) and checks
the stages' states, the effects a transition asks for, and that an event seen twice changes
nothing the second time.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from vapora_core.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from vapora_swarm_coordinator.workflows import definitions, transitions
from vapora_swarm_coordinator.workflows.definitions import WorkflowDef
from vapora_swarm_coordinator.workflows.draft import CancelTask, Draft, GateCall, Outcome, Submit
from vapora_swarm_coordinator.workflows.model import Run, Stage
from vapora_swarm_coordinator.workflows.tasks import stage_task

ROOT = Path(__file__).resolve().parents[3]
FEATURE = {d.name: d for d in definitions.parse_toml((ROOT / "config" / "workflows.toml").read_text())}["feature"]
ADMIN = GateCall(actor="ada", role="admin")


def new_run(template: WorkflowDef = FEATURE) -> Run:
    run = Run(
        id="0123456789abcdef",
        workspace_id="ws1",
        workflow=template.name,
        template=template,
        title="Export to CSV",
        description="Users want their reports as CSV.",
        branch="vapora/run-0123456789abcdef",
        stages={s.id: Stage(s.id, kind=s.kind) for s in template.stages},
    )
    d = Draft.of(run, 100.0)
    transitions.advance(d)
    return d.run


def step(run: Run, plan: Callable[[Draft], None], now: float = 200.0) -> Draft:
    d = Draft.of(run, now)
    plan(d)
    if d.changed:
        d.stamped()
    return d


def done(run: Run, stage_id: str, *, success: bool = True, result: str = "", error: str = "") -> Draft:
    st = run.stages[stage_id]
    o = Outcome(
        stage_id=stage_id, task_id=st.task_id, success=success, agent_id=f"agent-{stage_id}", result=result, error=error
    )
    return step(run, lambda d: transitions.outcome(d, o))


def states(run: Run) -> dict[str, str]:
    return {sid: st.state for sid, st in run.stages.items()}


def test_a_new_run_starts_only_the_stages_with_no_needs():
    run = new_run()
    assert states(run)["design"] == "running"
    assert {s for s, v in states(run).items() if v != "running"} == {
        "implement", "review", "test", "approve", "document", "deploy"
    }  # fmt: skip
    assert run.state == "running"
    assert run.stages["design"].task_id == "wf-0123456789abcdef-design-1"


def test_independent_stages_start_together_and_a_gate_waits_for_both():
    run = done(new_run(), "design", result="the design").run
    run = done(run, "implement", result="the code").run
    assert states(run)["review"] == states(run)["test"] == "running"
    d = done(run, "review")
    assert [e for e in d.effects if isinstance(e, Submit)] == []  # the gate needs test too
    assert d.run.stages["approve"].state == "pending"
    d = done(d.run, "test")
    assert d.run.stages["approve"].state == "waiting_approval"
    assert d.run.state == "waiting_approval"
    assert d.effects == []  # a gate holds no worker: nothing is submitted


def test_the_same_outcome_twice_changes_nothing_the_second_time():
    run = new_run()
    first = done(run, "design")
    assert first.changed and first.effects == [Submit("implement")]
    o = Outcome(stage_id="design", task_id=run.stages["design"].task_id, success=True)
    again = step(first.run, lambda d: transitions.outcome(d, o))
    assert not again.changed and again.effects == []


def test_an_outcome_of_an_older_attempt_is_ignored():
    run = new_run()
    retried = done(run, "design", success=False, error="boom").run  # retries = 1 (default)
    assert retried.stages["design"].attempt == 2
    stale = Outcome(stage_id="design", task_id="wf-0123456789abcdef-design-1", success=True)
    assert not step(retried, lambda d: transitions.outcome(d, stale)).changed


def test_a_failed_stage_is_retried_then_fails_the_run_and_cancels_what_runs():
    run = done(new_run(), "design").run
    run = done(run, "implement").run
    d = done(run, "review", success=False, error="bad review")
    assert d.effects == [Submit("review")] and d.run.stages["review"].attempt == 2  # the retry
    d = done(d.run, "review", success=False, error="still bad")
    assert d.run.state == "failed"
    assert "stage review failed after 2 attempt(s): still bad" in d.run.detail
    assert d.effects == [CancelTask("test", "wf-0123456789abcdef-test-1", d.run.detail)]
    assert states(d.run)["test"] == "cancelled"
    assert states(d.run)["approve"] == states(d.run)["document"] == "skipped"


def test_approve_needs_an_approver_role_and_starts_what_follows_the_gate():
    run = done(done(done(done(new_run(), "design").run, "implement").run, "review").run, "test").run
    with pytest.raises(PermissionDenied, match="role 'viewer' may not decide gate approve"):
        step(run, lambda d: transitions.approve(d, GateCall(actor="vic", role="viewer")))
    d = step(run, lambda d: transitions.approve(d, ADMIN))
    assert states(d.run)["approve"] == "approved"
    assert sorted(e.stage_id for e in d.effects) == ["deploy", "document"]
    assert [(x.gate_id, x.round, x.approved, x.actor) for x in d.decisions] == [("approve", 1, True, "ada")]
    again = step(d.run, lambda d: transitions.approve(d, ADMIN))  # a retried approve
    assert not again.changed and not again.decisions


def test_reject_sends_the_run_back_with_the_comment_as_the_stage_input():
    run = done(done(done(done(new_run(), "design").run, "implement", result="v1").run, "review").run, "test").run
    call = GateCall(actor="ada", role="admin", comment="handle empty reports")
    d = step(run, lambda d: transitions.reject(d, call))
    assert states(d.run) == {
        "design": "done", "implement": "running", "review": "pending", "test": "pending",
        "approve": "pending", "document": "pending", "deploy": "pending",
    }  # fmt: skip
    implement = d.run.stages["implement"]
    assert implement.attempt == 2 and implement.task_id == "wf-0123456789abcdef-implement-2"
    assert "handle empty reports" in implement.input_comment
    task = stage_task(d.run, d.run.template.stage("implement"))
    assert "handle empty reports" in task.description and "## Inputs from earlier stages" in task.description
    assert d.run.stages["approve"].rejections == 1
    with pytest.raises(InvalidArgument, match="needs a comment"):
        step(run, lambda d: transitions.reject(d, GateCall(actor="ada", role="admin")))


def test_rejections_are_bounded_then_the_run_fails():
    run = new_run()
    for round_ in range(FEATURE.stage("approve").max_rejections + 1):
        run = (
            done(done(done(done(run, "design").run, "implement").run, "review").run, "test").run if round_ == 0 else run
        )
        assert run.stages["approve"].state == "waiting_approval", round_
        run = step(run, lambda d: transitions.reject(d, GateCall(actor="ada", role="admin", comment="no"))).run
        if run.state == "failed":
            break
        run = done(done(done(run, "implement").run, "review").run, "test").run
    assert run.state == "failed" and run.stages["approve"].state == "rejected"
    assert run.stages["approve"].rejections == 3 and "max_rejections is 2" in run.detail


def test_a_paused_run_starts_nothing_and_resume_starts_what_became_ready():
    run = new_run()
    paused = step(run, transitions.pause).run
    assert paused.state == "paused"
    d = done(paused, "design")
    assert d.effects == [] and d.run.stages["implement"].state == "ready" and d.run.state == "paused"
    resumed = step(d.run, transitions.resume)
    assert resumed.effects == [Submit("implement")] and resumed.run.state == "running"


def test_cancel_cancels_running_tasks_and_skips_the_rest():
    run = done(new_run(), "design").run
    d = step(run, lambda d: transitions.cancel(d, "ada", "not needed"))
    assert d.run.state == "cancelled" and d.run.detail == "cancelled by ada: not needed"
    assert d.effects == [CancelTask("implement", "wf-0123456789abcdef-implement-1", d.run.detail)]
    assert states(d.run)["implement"] == "cancelled" and states(d.run)["deploy"] == "skipped"
    assert not step(d.run, lambda d: transitions.cancel(d, "ada", "")).changed
    with pytest.raises(FailedPrecondition):
        step(d.run, transitions.pause)


def test_a_stage_past_its_timeout_fails_its_attempt_and_its_task_is_cancelled():
    run = new_run()
    deadline = run.stages["design"].deadline_s
    assert not step(run, lambda d: transitions.timeout(d, "design"), now=deadline - 1).changed
    d = step(run, lambda d: transitions.timeout(d, "design"), now=deadline)
    assert d.effects[0] == CancelTask("design", "wf-0123456789abcdef-design-1", "attempt 1 timed out after 1800s")
    assert d.effects[1] == Submit("design") and d.run.stages["design"].attempt == 2


def test_on_failure_sends_the_run_back_to_an_earlier_stage_a_bounded_number_of_times():
    bugfix = {d.name: d for d in definitions.parse_toml((ROOT / "config" / "workflows.toml").read_text())}["bugfix"]
    run = done(done(new_run(bugfix), "reproduce").run, "fix").run
    for _ in range(bugfix.stage("review").max_failure_rounds):
        run = done(run, "review", success=False, error="the fix is wrong").run  # retries = 1: attempt 2
        run = done(run, "review", success=False, error="the fix is wrong").run  # back to fix
        assert run.stages["fix"].state == "running" and "the fix is wrong" in run.stages["fix"].input_comment
        run = done(run, "fix").run
    run = done(done(run, "review", success=False, error="x").run, "review", success=False, error="x").run
    assert run.state == "failed"


def test_the_stage_task_carries_the_run_the_stage_the_branch_and_the_role():
    run = done(new_run(), "design", result="Three components: A, B, C.").run
    task = stage_task(run, run.template.stage("implement"))
    assert (task.workflow_run_id, task.stage_id, task.branch) == (run.id, "implement", run.branch)
    assert task.required_role == "developer" and task.task_type == "coding"
    assert task.title == "Implement: Export to CSV"
    assert "Three components: A, B, C." in task.description and "by agent-design" in task.description
    assert task == stage_task(run, run.template.stage("implement"))  # the same bytes when published again
