"""Tenant isolation, roles, refresh-token reuse, rate limits, API tokens."""

from __future__ import annotations


async def _two_tenants(client):
    alice = await client.register("alice@example.com")
    mallory = await client.register("mallory@example.com")
    a, ws = alice["access_token"], alice["workspace"]["id"]
    _, task, _ = await client.call("POST", "/api/v1/tasks", a, json={"title": "secret work", "task_type": "coding"})
    _, project, _ = await client.call("POST", f"/api/v1/workspaces/{ws}/projects", a, json={"name": "secret"})
    return alice, mallory, task, project


async def test_every_resource_of_another_workspace_is_404_and_leaks_nothing(client):
    alice, mallory, task, project = await _two_tenants(client)
    m, ws = mallory["access_token"], alice["workspace"]["id"]
    probes = [
        ("GET", f"/api/v1/tasks/{task['id']}", None),
        ("POST", f"/api/v1/tasks/{task['id']}/cancel", {}),
        ("POST", f"/api/v1/tasks/{task['id']}/feedback", {"success": False}),
        ("POST", f"/api/v1/tasks/{task['id']}/status", {"state": "done"}),
        ("GET", f"/api/v1/tasks/{task['id']}/assignment", None),
        ("GET", f"/api/v1/tasks/{task['id']}/diff", None),
        ("GET", f"/api/v1/tasks?workspace_id={ws}", None),
        ("POST", "/api/v1/tasks", {"title": "x", "workspace_id": ws}),
        ("GET", f"/api/v1/projects/{project['id']}", None),
        ("PATCH", f"/api/v1/projects/{project['id']}", {"name": "mine"}),
        ("DELETE", f"/api/v1/projects/{project['id']}", None),
        ("GET", f"/api/v1/projects/{project['id']}/repository", None),
        ("PUT", f"/api/v1/projects/{project['id']}/repository", {"kind": "bare"}),
        ("GET", f"/api/v1/workspaces/{ws}", None),
        ("PATCH", f"/api/v1/workspaces/{ws}", {"name": "mine"}),
        ("DELETE", f"/api/v1/workspaces/{ws}", None),
        ("GET", f"/api/v1/workspaces/{ws}/members", None),
        ("POST", f"/api/v1/workspaces/{ws}/members", {"email": "mallory@example.com", "role": "owner"}),
        ("GET", f"/api/v1/workspaces/{ws}/projects", None),
        ("GET", f"/api/v1/workspaces/{ws}/api-tokens", None),
        ("POST", f"/api/v1/workspaces/{ws}/api-tokens", {"name": "steal"}),
        ("GET", f"/api/v1/workspaces/{ws}/audit", None),
        ("GET", f"/api/v1/workspaces/{ws}/events?after=0", None),
        ("GET", f"/api/v1/agents?workspace_id={ws}", None),
        ("GET", f"/api/v1/budgets?workspace_id={ws}", None),
    ]
    for method, path, body in probes:
        status, problem, _ = await client.call(method, path, m, json=body)
        assert status == 404, (method, path, status, problem)
        assert "secret" not in str(problem) and alice["user"]["id"] not in str(problem)
    # A resource that exists elsewhere answers exactly like one that does not exist at all.
    _, real, _ = await client.call("GET", f"/api/v1/tasks/{task['id']}", m)
    _, fake, _ = await client.call("GET", "/api/v1/tasks/0123456789abcdef0123456789abcdef", m)
    assert real["detail"].replace(task["id"], "ID") == fake["detail"].replace("0123456789abcdef0123456789abcdef", "ID")
    # Alice still sees her own.
    status, _, _ = await client.call("GET", f"/api/v1/tasks/{task['id']}", alice["access_token"])
    assert status == 200


async def test_a_viewer_reads_but_cannot_create_tasks(client):
    owner = await client.register("owner@example.com")
    viewer = await client.register("viewer@example.com")
    ws = owner["workspace"]["id"]
    status, _ = await client.add_member(owner["access_token"], ws, "viewer@example.com", "viewer")
    assert status == 201
    _, task, _ = await client.call("POST", "/api/v1/tasks", owner["access_token"], json={"title": "t"})
    status, _, _ = await client.call("GET", f"/api/v1/tasks/{task['id']}", viewer["access_token"])
    assert status == 200
    status, problem, _ = await client.call(
        "POST", "/api/v1/tasks", viewer["access_token"], json={"title": "nope", "workspace_id": ws}
    )
    assert status == 403 and "task.create" in problem["detail"]
    status, _, _ = await client.call("POST", f"/api/v1/tasks/{task['id']}/cancel", viewer["access_token"], json={})
    assert status == 403
    # The refusal is in the audit log, which the owner can read.
    status, audit, _ = await client.call("GET", f"/api/v1/workspaces/{ws}/audit", owner["access_token"])
    assert status == 200
    assert any(e["action"] == "task.create" and e["result"] == "denied" for e in audit["items"])


async def test_a_reused_refresh_token_revokes_its_whole_family(client):
    me = await client.register("rot@example.com")
    first = me["refresh_token"]
    status, second, _ = await client.call("POST", "/api/v1/auth/refresh", json={"refresh_token": first})
    assert status == 200 and second["refresh_token"] != first
    status, problem, _ = await client.call("POST", "/api/v1/auth/refresh", json={"refresh_token": first})
    assert status == 401 and "already used" in problem["detail"]
    # The thief's replay also killed the legitimate holder's newer token.
    status, problem, _ = await client.call(
        "POST", "/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}
    )
    assert status == 401 and "revoked" in problem["detail"]
    # A fresh login starts a new family that works.
    status, fresh, _ = await client.call(
        "POST", "/api/v1/auth/login", json={"email": "rot@example.com", "password": "correct horse battery"}
    )
    assert status == 200
    status, _, _ = await client.call("POST", "/api/v1/auth/refresh", json={"refresh_token": fresh["refresh_token"]})
    assert status == 200


async def test_rate_limit_answers_429_with_retry_after(gateway_factory):
    _, client = await gateway_factory(rate_limit_user=5, rate_window_s=60.0)
    me = await client.register("fast@example.com")
    statuses = []
    for _ in range(8):
        status, body, headers = await client.call("GET", "/api/v1/tasks", me["access_token"])
        statuses.append(status)
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429] * 3
    assert int(headers["Retry-After"]) >= 1 and body["status"] == 429


async def test_api_tokens_work_until_revoked(client):
    me = await client.register("ci@example.com")
    ws = me["workspace"]["id"]
    status, tok, _ = await client.call(
        "POST", f"/api/v1/workspaces/{ws}/api-tokens", me["access_token"], json={"name": "ci", "role": "member"}
    )
    assert status == 201 and tok["token"].startswith("vpr_")
    status, _, _ = await client.call("POST", "/api/v1/tasks", tok["token"], json={"title": "from CI"})
    assert status == 201
    status, _, _ = await client.call("DELETE", f"/api/v1/workspaces/{ws}/api-tokens/{tok['id']}", me["access_token"])
    assert status == 200
    status, problem, _ = await client.call("POST", "/api/v1/tasks", tok["token"], json={"title": "again"})
    assert status == 401 and "revoked" in problem["detail"]


async def test_oversized_body_is_413_problem(gateway_factory):
    _, client = await gateway_factory(max_body_bytes=2048)
    me = await client.register("big@example.com")
    status, problem, _ = await client.call(
        "POST", "/api/v1/tasks", me["access_token"], json={"title": "t", "description": "x" * 5000}
    )
    assert status == 413 and "limit" in problem["detail"]
