"""A job's work on code around its tool loop: the worktree before, the commit and evidence after.

- :meth:`CodeWork.prepare`: mcp-gateway's ``PrepareWorktree`` with the job's token (the task's
  branch ``vapora/<task-id>``, clean at its start point; a workflow stage's ``Task.branch`` is its
  start). A project without a repository gives none, nor does a task of no project or an agent
  without tools (it could not touch a worktree): the job runs as before, its outcome a
  self-report. It answers what the model is told about the worktree (and, for a review, the
  verdict's format).
- :meth:`CodeWork.settle` after the loop: ``FinishWorktree`` (the commit), then the evidence by
  task type (:mod:`.evidence`): the test command's run (``VerifyWorktree`` ``tests``); a
  reviewer's verdict (:mod:`.verdict`; when it does not parse the model is asked once more, then
  its answer is a self-report) whose findings ``VerifyWorktree`` ``review`` locates; else a
  self-report. A loop that ended without a final answer is never a success; the offline
  provider's answer is never verified, so it never counts in a learning profile (the task's
  outcome still follows the evidence: its tests, or its final answer). A merge conflict moving a workflow
  run's branch on fails the execution with the gateway's reason (unverified: it says nothing of
  the agent).
- :func:`release` once the execution is published (or the job stopped): the worktree goes, the
  branch stays. A failure here is logged; the gateway's sweep removes it later.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from vapora.common.v1 import evidence_pb2
from vapora.coordinator.v1 import coordinator_pb2
from vapora.mcp.v1 import repositories_pb2
from vapora_agent_runtime import evidence
from vapora_agent_runtime.verdict import ASK_AGAIN, FORMAT, VerdictError, parse_verdict
from vapora_core.errors import FailedPrecondition, VaporaError

log = logging.getLogger("vapora.runtime.codework")

AskAgain = Callable[[str], Awaitable[str]]  # a prompt → the model's next final answer


class Worktrees(Protocol):
    async def prepare(
        self, *, token: str, start_branch: str = "", attempt: int = 0, run_id: str = ""
    ) -> repositories_pb2.Worktree | None: ...

    async def finish(self, *, token: str, subject: str, attempt: int, run_id: str) -> evidence_pb2.Artifacts: ...

    async def verify(
        self, *, token: str, kind: str, findings: Sequence[evidence_pb2.Finding] = ()
    ) -> evidence_pb2.Verification: ...

    async def release(self, *, token: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class Settled:
    verification: evidence_pb2.Verification
    artifacts: evidence_pb2.Artifacts | None
    outcome: evidence.Outcome
    error: str = ""


def _notes(tree: repositories_pb2.Worktree, kind: str) -> list[str]:
    notes = [
        f"You work in the project's git repository, checked out for this task on branch {tree.branch}"
        f" (from {tree.start_branch} at {tree.base[:12]}). Read and change files with the files tools,"
        " paths relative to the repository's top; run the project's tests with runner.run_tests."
        " Do not commit: what you change is committed for you when you finish.",
    ]
    if kind == "review":
        notes.append(f"What to review is on {tree.start_branch}: git.git_log and git.git_show show it.\n{FORMAT}")
    return notes


class CodeWork:
    """One job's worktree, from prepare to release."""

    def __init__(self, worktrees: Worktrees | None, job: coordinator_pb2.JobAssigned, token: str) -> None:
        # a task of no project has no repository, so no worktree: the gateway is not asked
        self._worktrees = worktrees if token and job.task.project_id else None
        self._job = job
        self._token = token
        self.tree: repositories_pb2.Worktree | None = None

    async def prepare(self, task_type: str, run_id: str) -> list[str]:
        """Prepare the job's worktree; what the model is told about it (nothing without one)."""
        if self._worktrees is None:
            return []
        self.tree = await self._worktrees.prepare(
            token=self._token,
            start_branch=self._job.task.branch,  # a workflow stage's run branch; "": the default
            attempt=self._job.attempt,
            run_id=run_id,
        )
        if self.tree is None:
            return []
        if self.tree.reset:
            log.info("job %s starts from a reset worktree (an earlier run's work is gone)", self._job.job_id)
        return _notes(self.tree, evidence.kind_of(task_type))

    async def settle(
        self, task_type: str, *, final: bool, answer: str, offline: bool, run_id: str, ask_again: AskAgain
    ) -> Settled:
        settled = await self._evidence(task_type, final=final, answer=answer, run_id=run_id, ask_again=ask_again)
        outcome = settled.outcome
        if not final:
            outcome = evidence.Outcome(False, 0.0, outcome.verified)
        if offline:
            outcome = evidence.Outcome(outcome.success, outcome.quality, False)
            settled.verification.detail = "; ".join(
                d for d in (settled.verification.detail, "the offline provider's answer: unverified") if d
            )
        return Settled(settled.verification, settled.artifacts, outcome, settled.error)

    async def _evidence(self, task_type: str, *, final: bool, answer: str, run_id: str, ask_again: AskAgain) -> Settled:
        kind = evidence.kind_of(task_type)
        if self.tree is None or self._worktrees is None:
            why = "no repository to verify in" if kind != "self_report" else ""
            report = evidence_pb2.Verification(kind="self_report", detail=why)
            return Settled(report, None, evidence.self_report(final))
        try:
            artifacts = await self._worktrees.finish(
                token=self._token, subject=self._job.task.title, attempt=self._job.attempt, run_id=run_id
            )
        except FailedPrecondition as exc:
            failed = evidence_pb2.Verification(kind="none", detail=exc.message)
            return Settled(failed, None, evidence.Outcome(False, 0.0, False), f"{exc.code}: {exc.message}")
        if kind == "tests":
            tested = await self._worktrees.verify(token=self._token, kind="tests")
            return Settled(tested, artifacts, evidence.of_tests(tested))
        if kind == "review" and final:
            return await self._review(answer, artifacts, ask_again)
        detail = f"a {task_type} task has no test or verdict to check it" if kind == "self_report" else ""
        report = evidence_pb2.Verification(kind="self_report", detail=detail or "the loop gave no final answer")
        return Settled(report, artifacts, evidence.self_report(final))

    async def _review(self, answer: str, artifacts: evidence_pb2.Artifacts, ask_again: AskAgain) -> Settled:
        assert self._worktrees is not None
        try:
            verdict = parse_verdict(answer)
        except VerdictError as first:
            try:
                verdict = parse_verdict(await ask_again(ASK_AGAIN.format(reason=first)))
            except VerdictError as second:
                report = evidence_pb2.Verification(
                    kind="self_report", detail=f"the verdict did not parse, asked twice: {second}"
                )
                return Settled(report, artifacts, evidence.self_report(True))
        checked = await self._worktrees.verify(token=self._token, kind="review", findings=verdict.findings)
        checked.decision = verdict.decision
        return Settled(checked, artifacts, evidence.of_review(checked))


async def release(worktrees: Worktrees | None, job: coordinator_pb2.JobAssigned, token: str) -> None:
    """Remove the job's worktree, if its task has a project (and so maybe one)."""
    if worktrees is None or not token or not job.task.project_id:
        return
    try:
        await worktrees.release(token=token)
    except VaporaError as exc:
        log.warning("cannot release the worktree of job %s (the sweep will): %s", job.job_id, exc)
