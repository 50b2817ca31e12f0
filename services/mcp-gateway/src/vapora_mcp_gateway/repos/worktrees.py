"""One worktree per job, on ``vapora/<task-id>``: prepare, finish, release, sweep, diff.

- :meth:`Worktrees.prepare` (the job's token): the worktree
  ``<worktrees_dir>/<workspace>/<task>/tree`` on ``vapora/<task-id>`` at the task's start point —
  the head of the project's default branch (fetched first for a remote) or of the workflow run's
  branch the task names (made from the default branch when it does not exist yet). The start
  point is kept with the task: a redelivered job, or a later attempt at the same task, starts
  from the same commit, on a branch reset to it and a cleaned tree. The project's commands are
  written beside the worktree (``runner.toml``, out of the agent's reach) for the runner server.
  The job now holds the worktree: :meth:`root_for` answers it for that job only.
- :meth:`Worktrees.finish`: ``git add -A`` and one commit naming agent, task, job, attempt and
  run (no commit when nothing changed); files changed and line counts; then a workflow run's
  branch moves on to the commit (:mod:`.advance`). Calling it again returns the same commit.
- :meth:`Worktrees.release`: the worktree servers' sessions are closed and the worktree is
  removed; the branch stays. Only the job holding the worktree releases it.
- :meth:`Worktrees.sweep`: worktrees no job has touched for ``max_age_s`` are removed.
- :meth:`Worktrees.diff`: the unified diff of a task's commit against its start point.

Git work that changes a repository's refs or worktree list holds that repository's lock; work on
one task holds the task's lock, so two calls for one task never interleave.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

from vapora_core.aio import KeyedLocks
from vapora_core.errors import FailedPrecondition, InvalidArgument, NoRepository, NotFound
from vapora_core.jobtoken import JobClaims
from vapora_mcp_gateway.repos import changes, checkout, locations
from vapora_mcp_gateway.repos.advance import advance
from vapora_mcp_gateway.repos.attach import Attacher
from vapora_mcp_gateway.repos.git import Git
from vapora_mcp_gateway.repos.records import ACTIVE, RELEASED, Committed, RepoRecord, RepoRecords, WorktreeRecord
from vapora_mcp_gateway.servers.commands import Commands

log = logging.getLogger("vapora.mcp.worktrees")

ZERO = "0" * 40
COMMANDS_FILE = "runner.toml"


def task_branch(task_id: str) -> str:
    return f"vapora/{task_id}"


def commit_message(subject: str, claims: JobClaims, *, attempt: int, run_id: str) -> str:
    first = " ".join(subject.split())[:72] or f"Task {claims.task_id}"
    trailers = [
        f"Vapora-Agent: {claims.agent_id}",
        f"Vapora-Task: {claims.task_id}",
        f"Vapora-Job: {claims.job_id}",
        f"Vapora-Attempt: {attempt}",
    ]
    if run_id:
        trailers.append(f"Vapora-Run: {run_id}")
    return f"{first}\n\n{claims.agent_id} on task {claims.task_id}.\n\n" + "\n".join(trailers) + "\n"


def commands_toml(commands: Commands) -> str:
    """The runner's commands file (TOML basic strings are JSON strings; check names are bare keys)."""
    lines = [f"test = {json.dumps(commands.test)}", "", "[checks]"]
    lines += [f"{name} = {json.dumps(command)}" for name, command in sorted(commands.checks.items())]
    return "\n".join(lines) + "\n"


class Worktrees:
    def __init__(
        self,
        git: Git,
        records: RepoRecords,
        attacher: Attacher,
        *,
        worktrees_dir: Path,
        default_commands: Commands,
        close_sessions: Callable[[Path], Awaitable[int]],
        max_age_s: float = 86_400.0,
        max_diff_bytes: int = 2_097_152,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._git = git
        self._records = records
        self._attacher = attacher
        self.dir = worktrees_dir
        self._default_commands = default_commands
        self._close_sessions = close_sessions
        self._max_age_s = max_age_s
        self._max_diff_bytes = max_diff_bytes
        self._clock = clock
        self._held: dict[tuple[str, str], tuple[str, Path]] = {}  # (workspace, task) → (job, path)
        self.repo_locks = KeyedLocks()
        self._task_locks = KeyedLocks()

    async def load(self) -> None:
        """The active worktrees of the store (after a restart their jobs may still be running)."""
        for rec in await self._records.active_worktrees():
            self._held[(rec.workspace_id, rec.task_id)] = (rec.job_id, Path(rec.path))

    # -- the root resolver of worktree servers ------------------------------------------

    async def root_for(self, claims: JobClaims) -> Path | None:
        held = self._held.get((claims.workspace_id, claims.task_id))
        if held is None:
            return None
        job_id, path = held
        if job_id != claims.job_id:
            raise FailedPrecondition(
                f"the worktree of task {claims.task_id!r} is held by job {job_id!r}, not {claims.job_id!r}"
            )
        return path

    # -- prepare -----------------------------------------------------------------------

    async def repository_of(self, claims: JobClaims) -> RepoRecord:
        if not claims.project_id:
            raise NoRepository("", f"task {claims.task_id!r} has no project: there is no repository to work in")
        repo = await self._records.repository(claims.workspace_id, claims.project_id)
        if repo is None:
            raise NoRepository(claims.project_id)
        return repo

    def path_of(self, workspace_id: str, task_id: str) -> Path:
        ws = locations.check_ident("workspace_id", workspace_id)
        task = locations.check_ident("task_id", task_id)
        return self.dir / ws / task / "tree"

    async def prepare(
        self, claims: JobClaims, *, start_branch: str = "", attempt: int = 0, run_id: str = ""
    ) -> tuple[WorktreeRecord, bool]:
        """The job's worktree, clean at its start point, and whether an earlier run's work was reset."""
        path = self.path_of(claims.workspace_id, claims.task_id)
        branch = task_branch(claims.task_id)
        if start_branch and (
            start_branch == branch or not await self._git.ok("check-ref-format", f"refs/heads/{start_branch}")
        ):
            raise InvalidArgument(f"start_branch {start_branch!r} cannot be the start of task {claims.task_id!r}")
        repo = await self.repository_of(claims)
        repo_path = Path(repo.path)
        async with self._task_locks.hold(f"{claims.workspace_id}/{claims.task_id}"):
            existing = await self._records.worktree(claims.workspace_id, claims.task_id)
            if existing is not None and existing.repo_path == repo.path:
                base, start, advances = existing.base, existing.start_branch, existing.advances
            else:
                start, advances = start_branch or repo.default_branch, bool(start_branch)
                base = await self._start_point(repo, start, create=advances)
            async with self.repo_locks.hold(repo.path):
                reset = await checkout.checkout(self._git, repo_path, path, branch, base)
            commands = Commands(
                test=repo.test_command or self._default_commands.test,
                checks=repo.checks or self._default_commands.checks,
            )
            await asyncio.to_thread((path.parent / COMMANDS_FILE).write_text, commands_toml(commands), "utf-8")
            now = self._clock()
            record = WorktreeRecord(
                workspace_id=claims.workspace_id,
                project_id=claims.project_id,
                task_id=claims.task_id,
                job_id=claims.job_id,
                agent_id=claims.agent_id,
                repo_path=repo.path,
                path=str(path),
                branch=branch,
                base=base,
                start_branch=start,
                advances=advances,
                state=ACTIVE,
                attempt=attempt,
                run_id=run_id,
                created_s=existing.created_s if existing else now,
                updated_s=now,
            )
            await self._records.save_worktree(record)
            self._held[(claims.workspace_id, claims.task_id)] = (claims.job_id, path)
        if reset:
            log.info("task %s: worktree reset to %s for job %s", claims.task_id, base[:12], claims.job_id)
        return record, reset

    async def _start_point(self, repo: RepoRecord, branch: str, *, create: bool) -> str:
        """The head of ``branch`` (a remote's default branch fetched first); a workflow run's branch
        that does not exist yet (``create``) is made at the default branch's head."""
        repo_path = Path(repo.path)
        if repo.kind == "remote" and branch == repo.default_branch and not await self._attacher.fetch(repo):
            log.warning("cannot fetch %s: jobs start from what was fetched last", repo.url)
        async with self.repo_locks.hold(repo.path):
            found = await self._git.run(
                "rev-parse", "--verify", "-q", f"refs/heads/{branch}^{{commit}}", cwd=repo_path, check=False
            )
            if found.exit_code == 0:
                return found.stdout.strip()
            if not create:
                raise FailedPrecondition(f"the repository of project {repo.project_id!r} has no branch {branch!r}")
            default = f"refs/heads/{repo.default_branch}^{{commit}}"
            head = await self._git.out("rev-parse", "--verify", default, cwd=repo_path)
            await self._git.run("update-ref", f"refs/heads/{branch}", head, ZERO, cwd=repo_path)
            return head

    # -- the job's record --------------------------------------------------------------

    async def held(self, claims: JobClaims) -> WorktreeRecord:
        """The worktree the job holds; FailedPrecondition when it holds none."""
        rec = await self._records.worktree(claims.workspace_id, claims.task_id)
        if rec is None or rec.state != ACTIVE:
            raise FailedPrecondition(f"task {claims.task_id!r} has no prepared worktree: call PrepareWorktree first")
        if rec.job_id != claims.job_id:
            raise FailedPrecondition(
                f"the worktree of task {claims.task_id!r} is held by job {rec.job_id!r}, not {claims.job_id!r}"
            )
        return rec

    # -- finish ------------------------------------------------------------------------

    async def finish(
        self, claims: JobClaims, *, subject: str = "", attempt: int = 0, run_id: str = ""
    ) -> WorktreeRecord:
        """Commit the job's changes; the record with what the commit changed."""
        async with self._task_locks.hold(f"{claims.workspace_id}/{claims.task_id}"):
            rec = await self.held(claims)
            path, repo_path = Path(rec.path), Path(rec.repo_path)
            await self._git.run("add", "--all", cwd=path)
            staged = not await self._git.ok("diff", "--cached", "--quiet", cwd=path)
            if staged:
                message = commit_message(subject, claims, attempt=attempt or rec.attempt, run_id=run_id or rec.run_id)
                author = f"{claims.agent_id} <{claims.agent_id}@agents.vapora.local>"
                await self._git.run("commit", "--quiet", "--no-verify", f"--author={author}", "-m", message, cwd=path)
            head = await self._git.out("rev-parse", "HEAD", cwd=path)
            if head == rec.base:
                committed = Committed()
            elif head == rec.committed.commit:
                committed = rec.committed  # finished before (a retried call): the same commit
            else:
                stats = await changes.stats(self._git, repo_path, rec.base, head)
                committed = Committed(head, stats.files, stats.insertions, stats.deletions)
            if committed != rec.committed:
                rec = replace(rec, committed=committed, updated_s=self._clock())
                await self._records.save_worktree(rec)
            if committed.commit and rec.advances and not committed.advanced:
                rec = await self._advance(rec, claims)
        return rec

    async def _advance(self, rec: WorktreeRecord, claims: JobClaims) -> WorktreeRecord:
        message = f"Merge task {claims.task_id} into {rec.start_branch}\n\nVapora-Task: {claims.task_id}\n"
        async with self.repo_locks.hold(rec.repo_path):
            moved = await advance(
                self._git, Path(rec.repo_path), rec.start_branch, rec.committed.commit, message=message
            )
        rec = replace(rec, committed=replace(rec.committed, advanced=True, merge_commit=moved.merge_commit))
        await self._records.save_worktree(rec)
        return rec

    # -- release and sweep --------------------------------------------------------------

    async def release(self, claims: JobClaims) -> tuple[bool, str]:
        """Remove the job's worktree; (False, path) when it holds none any more."""
        async with self._task_locks.hold(f"{claims.workspace_id}/{claims.task_id}"):
            rec = await self._records.worktree(claims.workspace_id, claims.task_id)
            if rec is None:
                return False, ""
            if rec.state != ACTIVE or rec.job_id != claims.job_id:
                return False, rec.path
            await self._remove(rec)
        return True, rec.path

    async def _remove(self, rec: WorktreeRecord) -> None:
        path = Path(rec.path)
        self._held.pop((rec.workspace_id, rec.task_id), None)
        await self._close_sessions(path)
        async with self.repo_locks.hold(rec.repo_path):
            await checkout.remove(self._git, Path(rec.repo_path), path)
        await asyncio.to_thread(shutil.rmtree, path.parent, True)
        await self._records.save_worktree(replace(rec, state=RELEASED, updated_s=self._clock()))

    async def sweep(self) -> int:
        """Remove the worktrees no job touched for ``max_age_s`` (their jobs are long gone)."""
        stale = await self._records.active_worktrees(updated_before_s=self._clock() - self._max_age_s)
        for rec in stale:
            async with self._task_locks.hold(f"{rec.workspace_id}/{rec.task_id}"):
                log.info("removing the worktree of task %s (unused since %.0f)", rec.task_id, rec.updated_s)
                await self._remove(rec)
        return len(stale)

    # -- diff --------------------------------------------------------------------------

    async def diff(self, workspace_id: str, task_id: str) -> tuple[WorktreeRecord, str, bool]:
        """The task's record, the unified diff of its commit, and whether it was cut."""
        rec = await self._records.worktree(workspace_id, task_id) if workspace_id and task_id else None
        if rec is None:
            raise NotFound(f"task {task_id!r} has no worktree, so no diff")
        if not rec.committed.commit:
            return rec, "", False
        text, cut = await changes.unified(
            self._git, Path(rec.repo_path), rec.base, rec.committed.commit, max_bytes=self._max_diff_bytes
        )
        return rec, text, cut
