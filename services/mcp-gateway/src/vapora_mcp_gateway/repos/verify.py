"""The evidence of a job's outcome, gathered in the job's repository.

**Tests** (coding, testing, devops): the project's test command (its own, else the runner's
default) runs through the runner's sandbox and limits (:mod:`..servers.runner`) on the job's
commit — in the job's worktree when it is clean at that commit, else in a throw-away detached
worktree — and on the start point (in a throw-away worktree). Each run is kept per (repository,
commit, command) in ``test_run``, so a start point many jobs share is tested once (a run that
timed out is not kept: the next one may finish). With JUnit XML from both runs (the runner asks
pytest for it), tests are compared one by one: *newly passing* failed (or errored) on the start
point and pass on the commit; *newly failing* passed on the start point and do not pass on the
commit (failed, errored, skipped or gone). Without per-test reports both lists stay empty and
the exit code is the verdict. At most ``concurrency`` runs at once.

**Review** (review, security): each finding of the reviewer's verdict is *located* when its file
is a path inside the reviewed tree (the job's commit, or its start point when it changed
nothing) that exists there and has that line.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from vapora.common.v1 import evidence_pb2
from vapora_core.aio import KeyedLocks
from vapora_core.jobtoken import JobClaims
from vapora_mcp_gateway.repos import checkout
from vapora_mcp_gateway.repos.git import Git
from vapora_mcp_gateway.repos.records import RepoRecords, WorktreeRecord
from vapora_mcp_gateway.repos.worktrees import Worktrees
from vapora_mcp_gateway.servers.commands import Commands, split
from vapora_mcp_gateway.servers.execute import Capture
from vapora_mcp_gateway.servers.isolation import Isolation, Limits
from vapora_mcp_gateway.servers.runner import Runner

log = logging.getLogger("vapora.mcp.verify")
NOT_PASSING = ("failed", "error")
MAX_REVIEWED_FILE_BYTES = 20_000_000


@dataclass(frozen=True, slots=True)
class TestRun:
    exit_code: int  # -1: killed at the timeout
    timed_out: bool
    counts: dict[str, int] | None
    outcomes: dict[str, str] | None
    output: str
    sandbox: str
    duration_s: float

    def row(self) -> dict[str, Any]:
        return {
            "exit_code": self.exit_code,
            "timed_out": self.timed_out,
            "counts": self.counts,
            "outcomes": self.outcomes,
            "output": self.output,
            "sandbox": self.sandbox,
            "duration_s": self.duration_s,
        }

    @classmethod
    def of_row(cls, row: dict[str, Any]) -> TestRun:
        return cls(
            exit_code=int(row["exit_code"]),
            timed_out=bool(row["timed_out"]),
            counts=row.get("counts"),
            outcomes=row.get("outcomes"),
            output=row.get("output") or "",
            sandbox=row.get("sandbox") or "",
            duration_s=float(row.get("duration_s") or 0.0),
        )


def compare(before: dict[str, str] | None, after: dict[str, str] | None) -> tuple[list[str], list[str]]:
    """(newly passing, newly failing) test ids; both empty without per-test outcomes."""
    if before is None or after is None:
        return [], []
    passing = sorted(t for t, o in after.items() if o == "passed" and before.get(t) in NOT_PASSING)
    failing = sorted(t for t, o in before.items() if o == "passed" and after.get(t) != "passed")
    return passing, failing


def _shorten(text: str, limit: int) -> str:
    capture = Capture(limit)
    capture.feed(text.encode())
    return capture.text()


class Verifier:
    def __init__(
        self,
        git: Git,
        records: RepoRecords,
        worktrees: Worktrees,
        isolation: Isolation,
        *,
        default_commands: Commands,
        scratch_dir: Path,
        limits: Limits | None = None,
        timeout_s: float = 600.0,
        max_output_bytes: int = 4096,
        concurrency: int = 2,
    ) -> None:
        self._git = git
        self._records = records
        self._worktrees = worktrees
        self._isolation = isolation
        self._default_commands = default_commands
        self._scratch_dir = scratch_dir
        self._limits = limits or Limits()
        self._timeout_s = timeout_s
        self._max_output_bytes = max_output_bytes
        self._slots = asyncio.Semaphore(concurrency)
        self._runs = KeyedLocks()

    # -- tests -------------------------------------------------------------------------

    async def tests(self, claims: JobClaims) -> evidence_pb2.Verification:
        rec = await self._worktrees.held(claims)
        repo = await self._worktrees.repository_of(claims)
        command = repo.test_command or self._default_commands.test
        commit = rec.committed.commit or rec.base
        out = evidence_pb2.Verification(kind="tests", command=command, tested_commit=commit, base=rec.base)
        if not command:
            out.detail = "no test command is configured for the project"
            return out
        after = await self._run(repo.location, rec, commit, command)
        before = after if commit == rec.base else await self._run(repo.location, rec, rec.base, command)
        out.passed = after.exit_code == 0 and not after.timed_out
        out.exit_code, out.timed_out = after.exit_code, after.timed_out
        out.output, out.sandbox, out.duration_s = after.output, after.sandbox, after.duration_s
        if after.counts is not None:
            out.counts_known = True
            out.tests_passed, out.tests_failed = after.counts["passed"], after.counts["failed"]
            out.tests_errors, out.tests_skipped = after.counts["errors"], after.counts["skipped"]
        if before.counts is not None:
            out.base_passed = before.counts["passed"]
            out.base_failed = before.counts["failed"] + before.counts["errors"]
        newly_passing, newly_failing = compare(before.outcomes, after.outcomes)
        out.newly_passing.extend(newly_passing)
        out.newly_failing.extend(newly_failing)
        if after.timed_out:
            out.detail = f"the test command was killed after {self._timeout_s:g} s"
        elif before.outcomes is None or after.outcomes is None:
            out.detail = "no per-test report (JUnit XML): the exit code is the verdict"
        return out

    async def _run(self, location: str, rec: WorktreeRecord, commit: str, command: str) -> TestRun:
        async with self._runs.hold(f"{location}\0{commit}\0{command}"):
            cached = await self._records.test_run(location, commit, command)
            if cached is not None:
                return TestRun.of_row(cached)
            async with self._slots:
                ran = await self._run_at(rec, commit, command)
            if not ran.timed_out:
                await self._records.save_test_run(location, commit, command, ran.row())
            return ran

    async def _run_at(self, rec: WorktreeRecord, commit: str, command: str) -> TestRun:
        worktree, repo = Path(rec.path), Path(rec.repo_path)
        clean = not await self._git.out("status", "--porcelain", cwd=worktree)
        if clean and await self._git.out("rev-parse", "HEAD", cwd=worktree) == commit:
            return await self._execute(worktree, command)
        key = hashlib.sha256(f"{rec.repo_path}\0{commit}".encode()).hexdigest()[:20]
        where = self._scratch_dir / key / "tree"
        async with self._worktrees.repo_locks.hold(rec.repo_path):
            await checkout.detached(self._git, repo, where, commit)
        try:
            return await self._execute(where, command)
        finally:
            async with self._worktrees.repo_locks.hold(rec.repo_path):
                await checkout.remove(self._git, repo, where)

    async def _execute(self, root: Path, command: str) -> TestRun:
        runner = Runner(
            root,
            Commands(test=command),
            self._isolation,
            limits=self._limits,
            timeout_s=self._timeout_s,
            max_output_bytes=max(self._max_output_bytes, 65_536),
        )
        ran = await runner.execute(command, split(command), self._timeout_s, tests=True)
        result = ran.result
        tests = result.get("tests")
        counts = {k: int(tests[k]) for k in ("passed", "failed", "errors", "skipped")} if tests else None
        output = "\n".join(part for part in (result["stdout"], result["stderr"]) if part)
        return TestRun(
            exit_code=-1 if result["exit_code"] is None else int(result["exit_code"]),
            timed_out=bool(result["timed_out"]),
            counts=counts,
            outcomes=ran.outcomes,
            output=_shorten(output, self._max_output_bytes),
            sandbox=str(result["sandbox"]),
            duration_s=float(result["duration_s"]),
        )

    # -- review ------------------------------------------------------------------------

    async def review(self, claims: JobClaims, findings: list[evidence_pb2.Finding]) -> evidence_pb2.Verification:
        rec = await self._worktrees.held(claims)
        tree = rec.committed.commit or rec.base
        out = evidence_pb2.Verification(kind="review", tested_commit=tree, base=rec.base)
        for finding in findings:
            located = await self._locate(Path(rec.repo_path), tree, finding.file, finding.line)
            out.findings.append(
                evidence_pb2.Finding(
                    file=finding.file,
                    line=finding.line,
                    severity=finding.severity,
                    message=finding.message,
                    located=located,
                )
            )
        return out

    async def _locate(self, repo: Path, tree: str, file: str, line: int) -> bool:
        path = PurePosixPath(file.removeprefix("./"))
        if not file or path.is_absolute() or ".." in path.parts or line < 1:
            return False
        spec = f"{tree}:{path}"
        kind = await self._git.run("cat-file", "-t", spec, cwd=repo, check=False)
        if kind.exit_code != 0 or kind.stdout.strip() != "blob":
            return False
        blob = await self._git.run("cat-file", "blob", spec, cwd=repo, max_bytes=MAX_REVIEWED_FILE_BYTES)
        text = blob.stdout
        lines = text.count("\n") + (1 if text and not text.endswith("\n") else 0)
        return line <= lines
