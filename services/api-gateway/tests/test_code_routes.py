"""A project's repository and a task's diff over HTTP, against a real mcp-gateway (in this process)
and real git: attach, show, bad input as problem+json with nothing attached, roles, tenants."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest

from vapora.mcp.v1 import repositories_pb2, repositories_pb2_grpc
from vapora_core.jobtoken import bearer_metadata
from vapora_testing.git import git, make_repo
from vapora_testing.ports import free_port


def make_calc_repo(root: Path) -> Path:
    return make_repo(root, {"calc.py": "def mul(a, b):\n    return a + b\n"}, "first")


@pytest.fixture
async def code_gateway(gateway_factory: Any, mcp_app: Any) -> Any:
    _, client = await gateway_factory(mcp_addr=f"127.0.0.1:{mcp_app.grpc_port}")
    return client


async def _owner_with_project(client: Any, email: str) -> tuple[dict[str, Any], str, str]:
    owner = await client.register(email)
    ws = owner["workspace"]["id"]
    status, project, _ = await client.call(
        "POST", f"/api/v1/workspaces/{ws}/projects", owner["access_token"], json={"name": "calc"}
    )
    assert status == 201, project
    return owner, ws, project["id"]


async def test_an_admin_attaches_a_repository_and_every_member_reads_it(code_gateway: Any, tmp_path: Path) -> None:
    client = code_gateway
    owner, ws, project = await _owner_with_project(client, "owner@example.com")
    token = owner["access_token"]
    viewer = await client.register("viewer@example.com")
    member = await client.register("member@example.com")
    for who, role in (("viewer@example.com", "viewer"), ("member@example.com", "member")):
        status, _ = await client.add_member(token, ws, who, role)
        assert status == 201
    repo = make_calc_repo(tmp_path / "calc")
    path = f"/api/v1/projects/{project}/repository"
    body = {"kind": "local", "path": str(repo), "test_command": "python -m pytest -q", "checks": {"lint": "ruff"}}

    status, problem, headers = await client.call("PUT", path, member["access_token"], json=body)
    assert status == 403 and "repository.attach" in problem["detail"]
    assert headers["Content-Type"].startswith("application/problem+json")
    status, problem, _ = await client.call("GET", path, token)
    assert status == 404 and "has no repository" in problem["detail"]

    status, attached, _ = await client.call("PUT", path, token, json=body)
    assert status == 200, attached
    assert (attached["kind"], attached["path"], attached["default_branch"]) == ("local", str(repo), "main")
    assert attached["head"] == git(repo, "rev-parse", "HEAD") and attached["checks"] == {"lint": "ruff"}
    assert attached["project_id"] == project and attached["attached_by"] == f"user:{owner['user']['id']}"
    status, shown, _ = await client.call("GET", path, viewer["access_token"])
    assert status == 200 and shown["head"] == attached["head"] and shown["test_command"] == "python -m pytest -q"


async def test_bad_repositories_are_problems_and_nothing_is_attached(code_gateway: Any, tmp_path: Path) -> None:
    client = code_gateway
    owner, _, project = await _owner_with_project(client, "owner@example.com")
    token = owner["access_token"]
    path = f"/api/v1/projects/{project}/repository"
    plain = tmp_path / "plain"
    plain.mkdir()
    cases = [
        ({"kind": "local", "path": str(plain)}, 409, "is not a git repository"),
        ({"kind": "local", "path": str(tmp_path / "missing")}, 409, "does not exist"),
        ({"kind": "local", "path": "/" + "0" * 300}, 409, "does not exist: longer than"),  # a name over 255 bytes
        ({"kind": "remote", "url": f"http://127.0.0.1:{free_port()}/gone.git"}, 409, "cannot clone http://127.0.0.1"),
        ({"kind": "remote", "url": "https://me:pw@example.com/x.git"}, 400, "remote.url: Value error, must not carry"),
        ({"kind": "local", "path": "relative"}, 400, "must be an absolute path"),
        ({"kind": "bare", "path": str(plain)}, 400, "bare.path: Extra inputs are not permitted"),
        ({"kind": "svn", "path": "/x"}, 400, "kind must be 'local', 'bare' or 'remote'"),
        ({"kind": "local", "path": str(plain), "test_command": "pytest 'x"}, 400, "quotes are balanced"),
        ({"kind": "local", "path": str(plain), "checks": {"Bad Name": "x"}}, 400, "checks"),
    ]
    for body, status_wanted, reason in cases:
        status, problem, headers = await client.call("PUT", path, token, json=body)
        assert status == status_wanted, (body, problem)
        assert headers["Content-Type"].startswith("application/problem+json")
        assert reason in problem["detail"], (body, problem["detail"])
        assert "pw@" not in problem["detail"]
        status, _, _ = await client.call("GET", path, token)
        assert status == 404, body

    # another workspace's repository
    repo = make_calc_repo(tmp_path / "shared")
    status, _, _ = await client.call("PUT", path, token, json={"kind": "local", "path": str(repo)})
    assert status == 200
    rival, _, rival_project = await _owner_with_project(client, "rival@example.com")
    rival_path = f"/api/v1/projects/{rival_project}/repository"
    status, problem, _ = await client.call(
        "PUT", rival_path, rival["access_token"], json={"kind": "local", "path": str(repo)}
    )
    assert status == 409 and "is attached to another workspace" in problem["detail"]
    assert owner["workspace"]["id"] not in problem["detail"]
    status, _, _ = await client.call("GET", rival_path, rival["access_token"])
    assert status == 404
    # and the first workspace's project is not the rival's to read or change
    for method, body in (("GET", None), ("PUT", {"kind": "bare"})):
        status, _, _ = await client.call(method, path, rival["access_token"], json=body)
        assert status == 404, method


async def test_a_tasks_diff_is_text_with_its_artifacts_and_another_workspace_gets_404(
    code_gateway: Any, mcp_app: Any, tmp_path: Path, mint_job_token: Callable[..., str]
) -> None:
    client = code_gateway
    owner, ws, project = await _owner_with_project(client, "owner@example.com")
    token = owner["access_token"]
    repo = make_calc_repo(tmp_path / "calc")
    status, _, _ = await client.call(
        "PUT", f"/api/v1/projects/{project}/repository", token, json={"kind": "local", "path": str(repo)}
    )
    assert status == 200
    status, task, _ = await client.call(
        "POST", "/api/v1/tasks", token, json={"title": "fix mul", "project_id": project}
    )
    assert status == 201, task
    status, problem, _ = await client.call("GET", f"/api/v1/tasks/{task['id']}/diff", token)
    assert status == 404 and "has no worktree" in problem["detail"]

    md = bearer_metadata(
        mint_job_token(agent_id="developer", workspace_id=ws, task_id=task["id"], job_id="j-1", project_id=project)
    )
    async with grpc.aio.insecure_channel(f"127.0.0.1:{mcp_app.grpc_port}") as channel:
        repos = repositories_pb2_grpc.RepositoriesStub(channel)
        tree = await repos.PrepareWorktree(repositories_pb2.PrepareWorktreeRequest(attempt=1), metadata=md)
        (Path(tree.path) / "calc.py").write_text("def mul(a, b):\n    return a * b\n")
        done = await repos.FinishWorktree(repositories_pb2.FinishWorktreeRequest(subject="Fix mul"), metadata=md)

    status, text, headers = await client.call("GET", f"/api/v1/tasks/{task['id']}/diff", token)
    assert status == 200 and headers["Content-Type"] == "text/x-diff; charset=utf-8"
    assert "--- a/calc.py\n+++ b/calc.py" in text and "-    return a + b\n+    return a * b" in text
    assert headers["X-Vapora-Commit"] == done.commit and headers["X-Vapora-Branch"] == f"vapora/{task['id']}"
    assert (headers["X-Vapora-Files-Changed"], headers["X-Vapora-Insertions"], headers["X-Vapora-Deletions"]) == (
        "1",
        "1",
        "1",
    )
    assert headers["X-Vapora-Truncated"] == "false"

    rival = await client.register("rival@example.com")
    status, problem, _ = await client.call("GET", f"/api/v1/tasks/{task['id']}/diff", rival["access_token"])
    assert status == 404 and "calc" not in str(problem)
