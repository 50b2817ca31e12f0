"""The `vapora` CLI against a gateway started in the test (real nats-server, embedded SurrealDB, loopback)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from subprocess import PIPE, STDOUT
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from rich.console import Console

from vapora.agents.v1 import agents_pb2
from vapora.common.v1 import common_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_api_gateway.cli import run
from vapora_api_gateway.cli_api import Api, Config
from vapora_core.bus import subjects
from vapora_testing.git import make_repo
from vapora_testing.polling import eventually

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def cli_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cli" / "config.json"
    monkeypatch.setenv("VAPORA_CLI_CONFIG", str(path))
    monkeypatch.setenv("VAPORA_PASSWORD", PASSWORD)
    return path


async def vapora(*argv: str) -> tuple[int, str]:
    """Run the CLI in a thread (it is synchronous) while the gateway keeps serving on this loop."""
    out = io.StringIO()
    code = await asyncio.to_thread(run, list(argv), Console(file=out, width=220, color_system=None))
    return code, out.getvalue()


async def submitted_as(base: str, email: str, title: str) -> str:
    """Register and log in as ``email`` through the CLI, then submit a coding task titled ``title``
    with it; the task's id."""
    code, out = await vapora("--url", base, "login", "--register", "--email", email)
    assert code == 0, out
    code, out = await vapora("tasks", "create", title, "--type", "coding")
    assert code == 0, out
    return out.split("submitted task ")[1].split()[0]


def _event(task_id: str, ws: str, state: int, n: int, **kw: str) -> tasks_pb2.TaskStatusChanged:
    return tasks_pb2.TaskStatusChanged(
        task_id=task_id, workspace_id=ws, state=state, at=Timestamp(seconds=1_700_000_100 + n), detail=f"step {n}", **kw
    )


async def test_login_create_list_show_with_tokens_kept_private(platform_gateway, cli_config: Path):
    client, _ = platform_gateway
    code, out = await vapora("--url", client.base, "login", "--register", "--email", "cli@example.com")
    assert code == 0 and "logged in as cli@example.com" in out
    stored = json.loads(cli_config.read_text())
    assert stored["url"] == client.base and stored["access_token"] and stored["refresh_token"]
    assert cli_config.stat().st_mode & 0o077 == 0
    ids = []
    for n in range(5):
        code, out = await vapora("tasks", "create", f"job number {n}", "--type", "coding", "--priority", "high")
        assert code == 0, out
        ids.append(out.split("submitted task ")[1].split()[0])
    code, out = await vapora("tasks", "list", "--limit", "2")
    assert code == 0 and "(2)" in out and "job number 4" in out and "job number 0" not in out
    code, out = await vapora("tasks", "list", "--limit", "2", "--all")
    assert code == 0 and "(5)" in out and all(f"job number {n}" in out for n in range(5))
    code, out = await vapora("tasks", "show", ids[0])
    assert code == 0 and "job number 0" in out and "submitted" in out
    code, out = await vapora("tasks", "cancel", ids[1], "--reason", "not needed")
    assert code == 0 and f"task {ids[1]} cancelled" in out, out
    code, out = await vapora("tasks", "show", ids[1])
    assert code == 0 and "cancelled" in out and ": not needed" in out, out
    code, out = await vapora("tasks", "cancel", ids[1])
    assert code == 2 and "409" in out and "already cancelled" in out, out
    code, out = await vapora("whoami")
    assert code == 0 and "cli@example.com" in out and "owner" in out


async def test_errors_are_one_line_problems_and_a_wrong_password_fails(platform_gateway):
    client, _ = platform_gateway
    assert (await vapora("--url", client.base, "login", "--register", "--email", "err@example.com"))[0] == 0
    code, out = await vapora("tasks", "show", "0123456789abcdef0123456789abcdef")
    assert code == 2 and "404" in out and "no task" in out
    code, out = await vapora("login", "--email", "err@example.com", "--password", "wrong password!")
    assert code == 2 and "401" in out and "email or password is wrong" in out
    code, out = await vapora("--url", "http://127.0.0.1:1", "tasks", "list")
    assert code == 2 and "cannot reach the gateway" in out


async def test_an_expired_access_token_is_renewed_with_the_refresh_token(platform_gateway, cli_config: Path):
    client, _ = platform_gateway
    assert (await vapora("--url", client.base, "login", "--register", "--email", "ref@example.com"))[0] == 0
    stored = json.loads(cli_config.read_text())
    cli_config.write_text(json.dumps({**stored, "access_token": "not-a-valid-token"}))
    code, out = await vapora("tasks", "list")
    assert code == 0, out
    renewed = json.loads(cli_config.read_text())
    assert renewed["access_token"] != "not-a-valid-token" and renewed["refresh_token"] != stored["refresh_token"]


async def test_agents_and_budgets_come_from_the_platform_over_grpc(platform_gateway):
    client, calls = platform_gateway
    assert (await vapora("--url", client.base, "login", "--register", "--email", "ops@example.com"))[0] == 0
    code, out = await vapora("agents", "--capability", "coding")
    assert code == 0 and "coder-1" in out and "reviewer-1" not in out and "coding:0.90" in out
    assert calls.list_agents[-1].capability == "coding"
    mine = calls.list_agents[-1].workspace_id  # the account's first workspace, by default
    calls.more_agents.append(agents_pb2.Agent(id="mine-1", role="developer", workspace_id=mine))
    code, out = await vapora("agents", "--workspace", mine)
    assert code == 0 and calls.list_agents[-1].workspace_id == mine
    assert "mine-1" in out and mine in out and "shared" in out and "private-1" not in out
    code, out = await vapora("budgets")
    assert code == 0 and "near_limit" in out and "850.00" in out and "reviewer" in out


async def test_learning_shows_an_agents_profiles_and_one_types_daily_curve(learning_gateway, executed):
    client, _ = learning_gateway
    assert (await vapora("--url", client.base, "login", "--register", "--email", "learn@example.com"))[0] == 0
    code, out = await vapora("learning", "coder-1")
    assert code == 0 and "no executions of coder-1 recorded yet" in out
    ws = json.loads(Path(os.environ["VAPORA_CLI_CONFIG"]).read_text())["workspace_id"]
    await executed("coder-1", "coding", ws, [True, True, False, True])
    code, out = await eventually(
        lambda: vapora("learning", "coder-1", "--type", "coding", "--days", "7"),
        timeout=10.0,
        what="coder-1's coding profile at 3/4",
        until=lambda got: "3/4" in got[1],
    )
    assert code == 0, out
    profile = next(line for line in out.splitlines() if "coding" in line and "3/4" in line)
    assert "0.750" in profile and "0.20" in profile and "0.70" in profile  # expertise; confidence 4/20; quality
    assert "coding, last 7 days" in out
    code, out = await vapora("learning", "private-1")
    assert code == 2 and "404" in out and "no agent private-1" in out
    code, out = await vapora("learning", "coder-1", "--type", "coding", "--days", "0")
    assert code == 2 and "days must be between 1 and 365" in out


async def test_watch_shows_live_progress_until_the_task_is_done(platform_gateway, bus):
    client, _ = platform_gateway
    task_id = await submitted_as(client.base, "w@example.com", "watch me")
    ws = Config.load().workspace_id
    watcher = asyncio.create_task(vapora("tasks", "watch", task_id))
    await asyncio.sleep(0.5)
    subject = subjects.task_event(ws)
    await bus.publish(subject, _event(task_id, ws, common_pb2.TASK_STATE_ASSIGNED, 1, agent_id="coder-1"))
    await bus.publish(subject, _event(task_id, ws, common_pb2.TASK_STATE_RUNNING, 2, agent_id="coder-1"))
    await bus.publish(
        subject,
        _event(
            task_id,
            ws,
            common_pb2.TASK_STATE_DONE,
            3,
            agent_id="coder-1",
            provider="offline",
            model="echo-1",
            result="all green",
            execution_id="x1",
        ),
    )
    code, out = await asyncio.wait_for(watcher, 20)
    assert code == 0, out
    assert f"task {task_id} done by coder-1 (offline/echo-1)" in out and "all green" in out


async def test_watch_ends_when_the_task_finished_before_its_event_stream_connected(platform_gateway, bus, monkeypatch):
    """The DONE event goes out between the watch's first read of the task and its stream's
    connection, so the stream never carries it: the re-read on connect must end the watch."""
    client, _ = platform_gateway
    task_id = await submitted_as(client.base, "race@example.com", "quick one")
    config = Config.load()
    first_read, finished = threading.Event(), threading.Event()
    real_call = Api.call

    def call(self: Api, method: str, path: str, **kw: Any) -> Any:
        body = real_call(self, method, path, **kw)
        if path == f"/api/v1/tasks/{task_id}" and not first_read.is_set():
            first_read.set()
            assert finished.wait(20), "the task never finished"
        return body

    monkeypatch.setattr(Api, "call", call)
    watcher = asyncio.create_task(vapora("tasks", "watch", task_id))
    assert await asyncio.to_thread(first_read.wait, 20)
    done = _event(task_id, config.workspace_id, common_pb2.TASK_STATE_DONE, 1, agent_id="coder-1", result="fast")
    await bus.publish(subjects.task_event(config.workspace_id), done)
    try:
        await eventually(
            lambda: client.call("GET", f"/api/v1/tasks/{task_id}", token=config.access_token),
            timeout=10.0,
            what=f"task {task_id} done in the read model",
            until=lambda got: got[1]["state"] == "done",
        )
    finally:
        finished.set()
    code, out = await asyncio.wait_for(watcher, 20)
    assert code == 0 and f"task {task_id} done by coder-1" in out and "fast" in out, out


async def test_the_event_stream_resumes_after_the_gateway_restarts_missing_nothing(gateway_factory, bus):
    app, client = await gateway_factory()
    me = await client.register("resume@example.com")
    ws, port = me["workspace"]["id"], app.port
    api = Api(
        Config(url=client.base, access_token=me["access_token"], refresh_token=me["refresh_token"]), save=lambda c: None
    )
    got: list[dict[str, Any]] = []
    seen_two = threading.Event()

    def consume() -> None:
        for event in api.events(ws, after=0, retry_s=0.2):
            got.append(event)
            if len(got) == 2:
                seen_two.set()
            if len(got) == 6:
                return

    consumer = asyncio.create_task(asyncio.to_thread(consume))
    for n in range(2):
        await bus.publish(subjects.task_event(ws), _event("t1", ws, common_pb2.TASK_STATE_RUNNING, n))
    assert await asyncio.to_thread(seen_two.wait, 10)
    await app.stop()  # the stream drops; three events happen while no gateway is up
    for n in range(2, 5):
        await bus.publish(subjects.task_event(ws), _event("t1", ws, common_pb2.TASK_STATE_RUNNING, n))
    await gateway_factory(http_port=port)
    await bus.publish(subjects.task_event(ws), _event("t1", ws, common_pb2.TASK_STATE_RUNNING, 5))
    await asyncio.wait_for(consumer, 20)
    api.close()
    assert [e["detail"] for e in got] == [f"step {n}" for n in range(6)]
    assert [e["id"] for e in got] == sorted({e["id"] for e in got})


def test_the_vapora_entry_point_is_installed():
    out = subprocess.run(
        [str(Path(sys.executable).parent / "vapora"), "--help"], capture_output=True, text=True, timeout=30, check=True
    )
    assert "login" in out.stdout and "budgets" in out.stdout


async def test_the_password_can_come_on_stdin_and_none_at_all_is_a_clear_error(platform_gateway, monkeypatch):
    client, _ = platform_gateway
    monkeypatch.delenv("VAPORA_PASSWORD")
    env = {k: v for k, v in os.environ.items() if k != "VAPORA_PASSWORD"}
    argv = [str(Path(sys.executable).parent / "vapora"), "--url", client.base, "login", "--register"]

    async def login(email: str, stdin: bytes) -> tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(
            *argv, "--email", email, stdin=PIPE, stdout=PIPE, stderr=STDOUT, env=env
        )
        out, _ = await asyncio.wait_for(proc.communicate(stdin), 60)
        return proc.returncode or 0, out.decode()

    code, out = await login("piped@example.com", f"{PASSWORD}\n".encode())
    assert code == 0 and "logged in as piped@example.com" in out, out
    code, out = await vapora("login", "--email", "piped@example.com", "--password", PASSWORD)
    assert code == 0, out  # the piped line, without its newline, is the password
    code, out = await login("nopassword@example.com", b"")
    assert code == 2 and "no password" in out and "Traceback" not in out, out


async def test_projects_attach_repo_and_tasks_diff(gateway_factory, mcp_app, tmp_path: Path, mint_job_token):
    from vapora.mcp.v1 import repositories_pb2, repositories_pb2_grpc
    from vapora_core.jobtoken import bearer_metadata

    _, client = await gateway_factory(mcp_addr=f"127.0.0.1:{mcp_app.grpc_port}")
    code, out = await vapora("--url", client.base, "login", "--register", "--email", "code@example.com")
    assert code == 0, out
    api = Api(Config.load())
    ws = await asyncio.to_thread(api.workspace)
    made = await asyncio.to_thread(api.call, "POST", f"/api/v1/workspaces/{ws}/projects", json_body={"name": "calc"})
    project = made["id"]
    repo = make_repo(tmp_path / "calc", {"calc.py": "def mul(a, b):\n    return a + b\n"}, "first")

    code, out = await vapora("projects", "attach-repo", project, "--path", str(tmp_path / "nope"))
    assert code == 2 and "409" in out and "does not exist" in out, out
    code, out = await vapora("projects", "attach-repo", project, "--path", str(repo), "--check", "broken")
    assert code == 2 and "give NAME=COMMAND" in out, out
    code, out = await vapora(
        "projects", "attach-repo", project, "--path", str(repo), "--test-command", "pytest -q", "--check", "lint=ruff"
    )
    assert code == 0 and f"attached the local repository {repo.resolve()}" in out and "check lint" in out, out
    code, out = await vapora("projects", "repo", project)
    assert code == 0 and "pytest -q" in out and "main" in out, out

    submitted = await asyncio.to_thread(
        api.call, "POST", "/api/v1/tasks", json_body={"title": "fix mul", "project_id": project}
    )
    task = submitted["id"]
    code, out = await vapora("tasks", "diff", task)
    assert code == 2 and "404" in out and "has no worktree" in out, out
    md = bearer_metadata(mint_job_token(workspace_id=ws, task_id=task, job_id="j-1", project_id=project))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{mcp_app.grpc_port}") as channel:
        repos = repositories_pb2_grpc.RepositoriesStub(channel)
        tree = await repos.PrepareWorktree(repositories_pb2.PrepareWorktreeRequest(), metadata=md)
        (Path(tree.path) / "calc.py").write_text("def mul(a, b):\n    return a * b\n")
        done = await repos.FinishWorktree(repositories_pb2.FinishWorktreeRequest(subject="Fix"), metadata=md)
    code, out = await vapora("tasks", "diff", task)
    assert code == 0, out
    assert f"commit {done.commit} on vapora/{task}" in out and "1 files, +1 -1" in out
    assert "-    return a + b\n+    return a * b" in out
    api.close()


async def test_show_prints_the_steps_and_watch_prints_each_step_as_it_starts(learning_gateway, bus):
    from vapora.kg.v1 import kg_pb2

    client, _ = learning_gateway
    task_id = await submitted_as(client.base, "steps@example.com", "read the readme")
    ws = Config.load().workspace_id
    code, out = await vapora("tasks", "show", task_id)
    assert code == 0 and "steps: none yet" in out, out

    watcher = asyncio.create_task(vapora("tasks", "watch", task_id))
    await asyncio.sleep(0.5)
    subject = subjects.task_event(ws)
    running = common_pb2.TASK_STATE_RUNNING
    await bus.publish(subject, _event(task_id, ws, running, 1, agent_id="coder-1", step=1))  # type: ignore[arg-type]
    await bus.publish(subject, _event(task_id, ws, running, 2, agent_id="coder-1", step=2, tool="workspace.read_file"))  # type: ignore[arg-type]
    run = "ex-cli.1"
    asked = kg_pb2.RequestedCall(id="c1", tool="workspace.read_file", arguments_json='{"path": "README.md"}')
    common = {"execution_id": "ex-cli", "run_id": run, "task_id": task_id, "workspace_id": ws, "agent_id": "coder-1"}
    steps = [
        kg_pb2.StepRecorded(index=1, kind="model", provider="anthropic", model="claude", calls=[asked], **common),
        kg_pb2.StepRecorded(
            index=2,
            kind="tool",
            tool="workspace.read_file",
            arguments_json='{"path": "README.md"}',
            result="# Demo\nhello",
            **common,
        ),
        kg_pb2.StepRecorded(
            index=3,
            kind="tool",
            tool="workspace.read_file",
            arguments_json='{"path": "../x"}',
            is_error=True,
            error="path '../x' escapes the workspace root",
            **common,
        ),
    ]
    for s in steps:
        await bus.publish(subjects.step("coding", "coder-1"), s, msg_id=f"{run}.{s.index}")
    done = _event(
        task_id,
        ws,
        common_pb2.TASK_STATE_DONE,
        3,
        agent_id="coder-1",
        provider="anthropic",
        model="claude",
        execution_id="ex-cli",
    )
    await bus.publish(subject, done)
    code, out = await asyncio.wait_for(watcher, 20)
    assert code == 0, out
    assert "step 1: model turn" in out and "step 2: calling workspace.read_file" in out, out

    code, out = await eventually(
        lambda: vapora("tasks", "show", task_id),
        timeout=10.0,
        what="the task's three steps shown",
        until=lambda shown: "steps (3, running)" in shown[1],
    )
    assert code == 0 and "steps (3, running)" in out, out
    assert "anthropic/claude: asks workspace.read_file(path=README.md)" in out
    assert 'workspace.read_file(path=README.md) → "# Demo"' in out
    assert "workspace.read_file(path=../x) failed: path '../x' escapes the workspace root" in out
