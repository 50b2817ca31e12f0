"""A worktree per job through the real gateway: prepare, commit, verify, diff, release, on real git
repositories, with job tokens; the real files and runner servers working in each job's worktree."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from repokit import (
    CALC,
    CALC_BROKEN,
    CALC_FIXED,
    PYTEST,
    WORKTREE_SERVERS,
    WS,
    attach_local,
    make_calc_repo,
    repositories_stub,
    rpc_error,
    start_app,
)

from vapora.common.v1 import evidence_pb2
from vapora.mcp.v1 import mcp_pb2, mcp_pb2_grpc, repositories_pb2, repositories_pb2_grpc
from vapora_core.errors import FailedPrecondition
from vapora_core.jobtoken import JobClaims, bearer_metadata
from vapora_mcp_gateway.app import McpApp
from vapora_mcp_gateway.settings import McpSettings
from vapora_testing.git import git

Stub = repositories_pb2_grpc.RepositoriesStub
Token = Callable[..., str]
Metadata = tuple[tuple[str, str], ...]


def job(token: Token, task: str, job_id: str = "", **claims: object) -> Metadata:
    claims.setdefault("project_id", "proj-1")
    return bearer_metadata(token(task_id=task, job_id=job_id or f"job-{task}", **claims))


def prepare(start_branch: str = "", attempt: int = 1, run_id: str = "") -> repositories_pb2.PrepareWorktreeRequest:
    return repositories_pb2.PrepareWorktreeRequest(start_branch=start_branch, attempt=attempt, run_id=run_id)


def finish(subject: str = "", attempt: int = 1, run_id: str = "") -> repositories_pb2.FinishWorktreeRequest:
    return repositories_pb2.FinishWorktreeRequest(subject=subject, attempt=attempt, run_id=run_id)


TESTS = repositories_pb2.VerifyWorktreeRequest(kind="tests")
RELEASE = repositories_pb2.ReleaseWorktreeRequest()


@pytest.fixture
async def calc(repos: Stub, tmp_path: Path) -> Path:
    """The calc repository (test_mul fails), attached to proj-1 with pytest as its test command."""
    root = make_calc_repo(tmp_path / "calc")
    await repos.AttachRepository(attach_local(root, test_command=PYTEST, checks={"lint": "true"}))
    return root


async def test_a_job_commits_in_its_own_worktree_naming_agent_task_job_and_attempt(
    repo_app: McpApp, repos: Stub, calc: Path, token: Token
) -> None:
    main = git(calc, "rev-parse", "main")
    md = job(token, "t-1", "j-1")
    tree = await repos.PrepareWorktree(prepare(attempt=1, run_id="ex-1.1"), metadata=md)
    path = Path(tree.path)
    assert path == (repo_app.settings.data_dir / "worktrees" / WS / "t-1" / "tree").resolve()
    assert (tree.branch, tree.base, tree.start_branch, tree.reset) == ("vapora/t-1", main, "main", False)
    assert (path / "calc.py").read_text() == CALC
    assert git(path, "symbolic-ref", "--short", "HEAD") == "vapora/t-1"
    commands = (path.parent / "runner.toml").read_text()
    assert json.dumps(PYTEST) in commands and 'lint = "true"' in commands

    (path / "calc.py").write_text(CALC_FIXED)
    (path / "NOTES.md").write_text("mul multiplies now\n")
    done = await repos.FinishWorktree(finish("Fix mul", attempt=1, run_id="ex-1.1"), metadata=md)
    assert done.commit and done.commit != main
    assert (done.branch, done.base, done.start_branch) == ("vapora/t-1", main, "main")
    assert (list(done.files_changed), done.insertions, done.deletions) == (["NOTES.md", "calc.py"], 2, 1)
    assert git(calc, "rev-parse", "vapora/t-1") == done.commit and git(calc, "rev-parse", "main") == main
    message = git(calc, "log", "-1", "--format=%an%n%B", "vapora/t-1")
    assert message.startswith("agent-7\nFix mul\n")
    for trailer in ("Vapora-Agent: agent-7", "Vapora-Task: t-1", "Vapora-Job: j-1", "Vapora-Attempt: 1"):
        assert trailer in message
    assert "Vapora-Run: ex-1.1" in message
    again = await repos.FinishWorktree(finish("Fix mul"), metadata=md)
    assert again.commit == done.commit and git(calc, "rev-list", "--count", f"{main}..vapora/t-1") == "1"

    diff = await repos.GetDiff(repositories_pb2.GetDiffRequest(workspace_id=WS, task_id="t-1"))
    assert "-    return a + b\n+    return a * b" in diff.text and "+mul multiplies now" in diff.text
    assert diff.artifacts.commit == done.commit and not diff.truncated
    err = await rpc_error(repos.GetDiff(repositories_pb2.GetDiffRequest(workspace_id="ws-other", task_id="t-1")))
    assert err.code() == grpc.StatusCode.NOT_FOUND

    untouched = job(token, "t-2")
    await repos.PrepareWorktree(prepare(), metadata=untouched)
    nothing = await repos.FinishWorktree(finish("Look only"), metadata=untouched)
    assert (nothing.commit, list(nothing.files_changed), nothing.base) == ("", [], main)
    empty = await repos.GetDiff(repositories_pb2.GetDiffRequest(workspace_id=WS, task_id="t-2"))
    assert empty.text == "" and empty.artifacts.commit == ""


async def test_verification_runs_the_tests_on_the_commit_and_its_start_point_per_test(
    repo_app: McpApp, repos: Stub, calc: Path, token: Token
) -> None:
    fixer, breaker = job(token, "t-fix"), job(token, "t-break")
    fixed = Path((await repos.PrepareWorktree(prepare(), metadata=fixer)).path)
    broken = Path((await repos.PrepareWorktree(prepare(), metadata=breaker)).path)
    (fixed / "calc.py").write_text(CALC_FIXED)
    (broken / "calc.py").write_text(CALC_BROKEN)
    await asyncio.gather(
        repos.FinishWorktree(finish("Fix mul"), metadata=fixer),
        repos.FinishWorktree(finish("Break add"), metadata=breaker),
    )
    good, bad = await asyncio.gather(
        repos.VerifyWorktree(TESTS, metadata=fixer), repos.VerifyWorktree(TESTS, metadata=breaker)
    )
    assert (good.kind, good.command, good.passed, good.exit_code, good.timed_out) == ("tests", PYTEST, True, 0, False)
    assert (good.counts_known, good.tests_passed, good.tests_failed, good.base_passed, good.base_failed) == (
        True, 2, 0, 1, 1,
    )  # fmt: skip
    assert list(good.newly_passing) == ["test_calc::test_mul"] and list(good.newly_failing) == []
    assert good.sandbox == "bwrap" and "2 passed" in good.output
    assert good.tested_commit == git(calc, "rev-parse", "vapora/t-fix") and good.base == git(calc, "rev-parse", "main")

    assert (bad.passed, bad.exit_code, bad.tests_passed, bad.tests_failed) == (False, 1, 0, 2)
    assert list(bad.newly_failing) == ["test_calc::test_add"] and list(bad.newly_passing) == []
    assert "2 failed" in bad.output

    # each (commit, command) ran once: the start point the two jobs share, and a repeated verify
    assert repo_app.repos is not None
    location = (await repo_app.repos.records.repository(WS, "proj-1")).location  # type: ignore[union-attr]
    assert await repo_app.repos.records.test_run(location, good.base, PYTEST) is not None
    assert (await repos.VerifyWorktree(TESTS, metadata=fixer)).duration_s == good.duration_s

    # a project without its own test command: the runner's default, whose exit code is the verdict
    other = make_calc_repo(calc.parent / "other")
    await repos.AttachRepository(attach_local(other, project="proj-2"))
    plain = job(token, "t-plain", project_id="proj-2")
    await repos.PrepareWorktree(prepare(), metadata=plain)
    await repos.FinishWorktree(finish(), metadata=plain)
    verdict = await repos.VerifyWorktree(TESTS, metadata=plain)
    assert verdict.passed and not verdict.counts_known and "print(1)" in verdict.command
    assert "no per-test report" in verdict.detail


async def test_a_redelivered_or_retried_job_starts_clean_and_the_diff_has_only_its_change(
    repos: Stub, calc: Path, token: Token
) -> None:
    main = git(calc, "rev-parse", "main")
    first = job(token, "t-redo", "j-1")
    path = Path((await repos.PrepareWorktree(prepare(attempt=1), metadata=first)).path)
    (path / "calc.py").write_text("half an edit")
    (path / "scratch.tmp").write_text("junk")
    (path / "__pycache__").mkdir()
    # the runtime was killed; the same job is delivered again
    again = await repos.PrepareWorktree(prepare(attempt=1), metadata=first)
    assert again.reset and again.base == main and Path(again.path) == path
    assert (path / "calc.py").read_text() == CALC
    assert not (path / "scratch.tmp").exists() and not (path / "__pycache__").exists()
    assert git(path, "status", "--porcelain", "--ignored") == ""

    (path / "calc.py").write_text(CALC_BROKEN)
    await repos.FinishWorktree(finish("Attempt one"), metadata=first)
    assert git(calc, "rev-list", "--count", f"{main}..vapora/t-redo") == "1"
    # the task is tried again by another job: the branch starts again from the same start point
    second = job(token, "t-redo", "j-2")
    retried = await repos.PrepareWorktree(prepare(attempt=2), metadata=second)
    assert retried.reset and retried.base == main and git(calc, "rev-parse", "vapora/t-redo") == main
    (path / "calc.py").write_text(CALC_FIXED)
    done = await repos.FinishWorktree(finish("Attempt two", attempt=2), metadata=second)
    diff = await repos.GetDiff(repositories_pb2.GetDiffRequest(workspace_id=WS, task_id="t-redo"))
    assert "+    return a * b" in diff.text and "a - b" not in diff.text
    assert git(calc, "rev-list", "--count", f"{main}..vapora/t-redo") == "1"
    assert "Vapora-Attempt: 2" in git(calc, "log", "-1", "--format=%B", done.commit)


async def test_only_the_job_holding_a_worktree_finishes_or_releases_it(
    repo_app: McpApp, repos: Stub, calc: Path, token: Token
) -> None:
    old, new = job(token, "t-own", "j-old"), job(token, "t-own", "j-new")
    await repos.PrepareWorktree(prepare(), metadata=old)
    path = Path((await repos.PrepareWorktree(prepare(attempt=2), metadata=new)).path)  # reassigned
    err = await rpc_error(repos.FinishWorktree(finish(), metadata=old))
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "the worktree of task 't-own' is held by job 'j-new', not 'j-old'" in (err.details() or "")
    assert not (await repos.ReleaseWorktree(RELEASE, metadata=old)).removed and path.is_dir()
    assert repo_app.repos is not None
    claims = JobClaims(agent_id="agent-7", role="developer", workspace_id=WS, task_id="t-own", job_id="j-old")
    with pytest.raises(FailedPrecondition, match="held by job 'j-new'"):
        await repo_app.repos.worktrees.root_for(claims)

    released = await repos.ReleaseWorktree(RELEASE, metadata=new)
    assert released.removed and released.path == str(path) and not path.exists() and not path.parent.exists()
    assert git(calc, "rev-parse", "--verify", "vapora/t-own")  # the branch stays
    assert "t-own" not in git(calc, "worktree", "list")
    assert not (await repos.ReleaseWorktree(RELEASE, metadata=new)).removed
    err = await rpc_error(repos.FinishWorktree(finish(), metadata=new))
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION and "has no prepared worktree" in (err.details() or "")

    err = await rpc_error(repos.PrepareWorktree(prepare()))
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    err = await rpc_error(repos.PrepareWorktree(prepare(), metadata=job(token, "t-x", project_id="proj-none")))
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "project 'proj-none' has no repository" in (err.details() or "")
    err = await rpc_error(repos.PrepareWorktree(prepare(), metadata=job(token, "t-x", project_id="")))
    assert "task 't-x' has no project" in (err.details() or "")
    err = await rpc_error(repos.PrepareWorktree(prepare(start_branch="bad..name"), metadata=job(token, "t-x")))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "start_branch 'bad..name'" in (err.details() or "")


async def test_stages_move_the_run_branch_on_by_fast_forward_then_merge_and_a_conflict_fails(
    repos: Stub, calc: Path, token: Token
) -> None:
    main = git(calc, "rev-parse", "main")
    run = "vapora/run-1"

    async def stage(task: str, file: str, text: str) -> tuple[Metadata, Path]:
        md = job(token, task)
        tree = await repos.PrepareWorktree(prepare(start_branch=run), metadata=md)
        assert tree.start_branch == run
        (Path(tree.path) / file).write_text(text)
        return md, Path(tree.path)

    (a, _), (b, _) = await asyncio.gather(stage("s-a", "a.txt", "from a\n"), stage("s-b", "b.txt", "from b\n"))
    assert git(calc, "rev-parse", run) == main  # made from the default branch for the first stages
    first = await repos.FinishWorktree(finish("Stage a"), metadata=a)
    assert first.advanced and not first.merge_commit and git(calc, "rev-parse", run) == first.commit
    second = await repos.FinishWorktree(finish("Stage b"), metadata=b)
    assert second.advanced and second.merge_commit and git(calc, "rev-parse", run) == second.merge_commit
    assert git(calc, "show", f"{run}:a.txt") == "from a" and git(calc, "show", f"{run}:b.txt") == "from b"

    (c, _), (d, _) = await asyncio.gather(stage("s-c", "a.txt", "from c\n"), stage("s-d", "a.txt", "from d\n"))
    third = await repos.FinishWorktree(finish("Stage c"), metadata=c)
    assert git(calc, "rev-parse", run) == third.commit
    err = await rpc_error(repos.FinishWorktree(finish("Stage d"), metadata=d))
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert f"cannot move {run} on to" in (err.details() or "") and "in a.txt" in (err.details() or "")
    assert git(calc, "rev-parse", run) == third.commit  # the conflict moved nothing
    assert git(calc, "show", "vapora/s-d:a.txt") == "from d"  # the stage's own commit stays


async def test_review_findings_are_located_in_the_reviewed_tree(repos: Stub, calc: Path, token: Token) -> None:
    dev = job(token, "t-dev")
    path = Path((await repos.PrepareWorktree(prepare(), metadata=dev)).path)
    (path / "calc.py").write_text(CALC_FIXED)
    await repos.FinishWorktree(finish("Fix mul"), metadata=dev)
    reviewer = job(token, "t-review", agent_id="code-reviewer")
    tree = await repos.PrepareWorktree(prepare(start_branch="vapora/t-dev"), metadata=reviewer)
    assert tree.base == git(calc, "rev-parse", "vapora/t-dev")
    findings = [
        ("calc.py", 6, True),  # "    return a * b": only in the developer's commit, which is reviewed
        ("./calc.py", 1, True),
        ("calc.py", 99, False),
        ("missing.py", 1, False),
        ("../calc/calc.py", 1, False),
        ("/etc/passwd", 1, False),
        ("calc.py", 0, False),
        ("", 1, False),
    ]
    request = repositories_pb2.VerifyWorktreeRequest(
        kind="review",
        findings=[evidence_pb2.Finding(file=f, line=n, severity="low", message="m") for f, n, _ in findings],
    )
    verdict = await repos.VerifyWorktree(request, metadata=reviewer)
    assert verdict.kind == "review" and verdict.tested_commit == tree.base
    assert [(f.file, f.line, f.located) for f in verdict.findings] == findings
    err = await rpc_error(repos.VerifyWorktree(repositories_pb2.VerifyWorktreeRequest(kind="vibes"), metadata=reviewer))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_concurrent_jobs_work_through_the_servers_in_their_own_worktrees_only(
    settings: McpSettings, tmp_path: Path, token: Token
) -> None:
    app = await start_app(settings, tmp_path / "wt-config", WORKTREE_SERVERS)
    try:
        assert app.grpc is not None
        async with (
            repositories_stub(app) as repos,
            grpc.aio.insecure_channel(f"127.0.0.1:{app.grpc.port}") as channel,
        ):
            tools = mcp_pb2_grpc.McpGatewayStub(channel)
            calc = make_calc_repo(tmp_path / "calc")
            await repos.AttachRepository(attach_local(calc, test_command=PYTEST))
            one, two = job(token, "t-one", tools=("files.*", "runner.*")), job(token, "t-two", tools=("files.*",))
            await asyncio.gather(
                repos.PrepareWorktree(prepare(), metadata=one), repos.PrepareWorktree(prepare(), metadata=two)
            )

            def call(tool: str, **args: object) -> mcp_pb2.CallToolRequest:
                server, name = tool.split(".")
                return mcp_pb2.CallToolRequest(server=server, tool=name, arguments_json=json.dumps(args))

            await asyncio.gather(
                tools.CallTool(call("files.write_file", path="calc.py", content=CALC_FIXED), metadata=one),
                tools.CallTool(call("files.write_file", path="TWO.md", content="only two\n"), metadata=two),
            )
            listed_one, listed_two = await asyncio.gather(
                tools.CallTool(call("files.list_directory", path="."), metadata=one),
                tools.CallTool(call("files.list_directory", path="."), metadata=two),
            )
            assert "TWO.md" not in listed_one.text and "TWO.md" in listed_two.text
            read_two = await tools.CallTool(call("files.read_text_file", path="calc.py"), metadata=two)
            assert read_two.text == CALC  # two never sees one's fix
            ran = await tools.CallTool(call("runner.run_tests"), metadata=one)
            result = json.loads(ran.structured_json or ran.text)
            assert result["command"] == PYTEST and result["tests"]["passed"] == 2, result  # the project's command

            a, b = await asyncio.gather(
                repos.FinishWorktree(finish("One"), metadata=one), repos.FinishWorktree(finish("Two"), metadata=two)
            )
            assert list(a.files_changed) == ["calc.py"] and list(b.files_changed) == ["TWO.md"]
            assert git(calc, "show", "vapora/t-one:calc.py") + "\n" == CALC_FIXED
            assert git(calc, "show", "vapora/t-two:TWO.md") == "only two"

            assert app.pool is not None
            assert len(app.pool.roots.open_roots()["files"]) == 2
            await asyncio.gather(
                repos.ReleaseWorktree(RELEASE, metadata=one), repos.ReleaseWorktree(RELEASE, metadata=two)
            )
            assert app.pool.roots.open_roots() == {}
            err = await rpc_error(tools.CallTool(call("files.list_directory", path="."), metadata=one))
            assert err.code() == grpc.StatusCode.FAILED_PRECONDITION and "no worktree for task 't-one'" in (
                err.details() or ""
            )
    finally:
        await app.stop()


async def test_worktrees_survive_a_restart_and_the_sweep_removes_the_ones_left_behind(
    settings: McpSettings, tmp_path: Path, token: Token
) -> None:
    calc = make_calc_repo(tmp_path / "calc")
    md = job(token, "t-left", "j-left")
    app = await start_app(settings, tmp_path / "cfg", repo_worktree_max_age_s=0.5)
    try:
        async with repositories_stub(app) as repos:
            await repos.AttachRepository(attach_local(calc))
            path = Path((await repos.PrepareWorktree(prepare(), metadata=md)).path)
    finally:
        await app.stop()
    claims = JobClaims(agent_id="agent-7", role="developer", workspace_id=WS, task_id="t-left", job_id="j-left")
    app = await start_app(settings, tmp_path / "cfg", repo_worktree_max_age_s=0.5)
    try:
        assert app.repos is not None
        assert await app.repos.worktrees.root_for(claims) == path  # the job may go on after a restart
        await asyncio.sleep(0.6)
        assert await app.repos.worktrees.sweep() == 1
        assert not path.exists() and await app.repos.worktrees.root_for(claims) is None
        assert git(calc, "rev-parse", "--verify", "vapora/t-left")
        assert await app.repos.worktrees.sweep() == 0
    finally:
        await app.stop()
