"""Workspaces, members and projects CRUD; task list filters and cursor pagination; gzip."""

from __future__ import annotations

import aiohttp


async def test_projects_crud_and_tasks_of_a_project(client):
    me = await client.register("proj@example.com")
    token, ws = me["access_token"], me["workspace"]["id"]
    status, p, _ = await client.call(
        "POST", f"/api/v1/workspaces/{ws}/projects", token, json={"name": "Apollo", "description": "moon"}
    )
    assert status == 201 and p["workspace_id"] == ws and p["name"] == "Apollo"
    status, body, _ = await client.call("GET", f"/api/v1/workspaces/{ws}/projects", token)
    assert status == 200 and [x["id"] for x in body["items"]] == [p["id"]]
    status, body, _ = await client.call("PATCH", f"/api/v1/projects/{p['id']}", token, json={"name": "Artemis"})
    assert status == 200 and body["name"] == "Artemis" and body["description"] == "moon"
    status, body, _ = await client.call("PATCH", f"/api/v1/projects/{p['id']}", token, json={})
    assert status == 200 and (body["name"], body["description"]) == ("Artemis", "moon")  # a no-op patch (issue 28)
    status, task, _ = await client.call("POST", "/api/v1/tasks", token, json={"title": "t", "project_id": p["id"]})
    assert status == 201 and task["project_id"] == p["id"]
    status, body, _ = await client.call("POST", "/api/v1/tasks", token, json={"title": "t", "project_id": "nope"})
    assert status == 400 and "project_id" in body["detail"]
    status, body, _ = await client.call("GET", f"/api/v1/tasks?project_id={p['id']}", token)
    assert [t["id"] for t in body["items"]] == [task["id"]]
    status, _, _ = await client.call("DELETE", f"/api/v1/projects/{p['id']}", token)
    assert status == 204
    status, body, _ = await client.call("GET", f"/api/v1/projects/{p['id']}", token)
    assert status == 404 and p["id"] in body["detail"]


async def test_members_add_change_remove_and_the_last_owner_stays(client):
    owner = await client.register("own@example.com")
    other = await client.register("mem@example.com")
    token, ws, uid = owner["access_token"], owner["workspace"]["id"], other["user"]["id"]
    status, m = await client.add_member(token, ws, "mem@example.com", "member")
    assert status == 201 and m["user_id"] == uid and m["role"] == "member"
    status, body = await client.add_member(token, ws, "mem@example.com")
    assert status == 409 and "already a member" in body["detail"]
    status, body = await client.add_member(token, ws, "ghost@example.com")
    assert status == 409 and "must register first" in body["detail"]
    # The new member sees the workspace and may create tasks in it, but not manage members.
    status, body, _ = await client.call("GET", "/api/v1/workspaces", other["access_token"])
    assert {w["id"]: w["role"] for w in body["items"]}[ws] == "member"
    status, body = await client.add_member(other["access_token"], ws, "own@example.com", "viewer")
    assert status == 403
    status, body, _ = await client.call(
        "PATCH", f"/api/v1/workspaces/{ws}/members/{uid}", token, json={"role": "admin"}
    )
    assert status == 200 and body["role"] == "admin"
    status, body, _ = await client.call("GET", f"/api/v1/workspaces/{ws}/members", token)
    assert {x["email"]: x["role"] for x in body["items"]} == {"own@example.com": "owner", "mem@example.com": "admin"}
    # An admin cannot make themselves owner, and the only owner cannot be demoted or removed.
    status, body, _ = await client.call(
        "PATCH", f"/api/v1/workspaces/{ws}/members/{uid}", other["access_token"], json={"role": "owner"}
    )
    assert status == 403 and "cannot grant" in body["detail"]
    status, body, _ = await client.call("DELETE", f"/api/v1/workspaces/{ws}/members/{owner['user']['id']}", token)
    assert status == 409 and "at least one owner" in body["detail"]
    status, _, _ = await client.call("DELETE", f"/api/v1/workspaces/{ws}/members/{uid}", token)
    assert status == 204
    status, _, _ = await client.call("GET", f"/api/v1/workspaces/{ws}", other["access_token"])
    assert status == 404


async def test_workspaces_create_rename_delete(client):
    me = await client.register("wsx@example.com")
    token = me["access_token"]
    status, ws, _ = await client.call("POST", "/api/v1/workspaces", token, json={"name": "Team"})
    assert status == 201 and ws["role"] == "owner"
    status, body, _ = await client.call("PATCH", f"/api/v1/workspaces/{ws['id']}", token, json={"name": "Team 2"})
    assert status == 200 and body["name"] == "Team 2"
    status, _, _ = await client.call("DELETE", f"/api/v1/workspaces/{ws['id']}", token)
    assert status == 204
    status, body, _ = await client.call("GET", "/api/v1/workspaces", token)
    assert [w["id"] for w in body["items"]] == [me["workspace"]["id"]]


async def test_task_list_filters_and_cursor_pagination_visit_every_task_once(client):
    me = await client.register("page@example.com")
    token = me["access_token"]
    created = []
    for n in range(7):
        kind = "coding" if n % 2 else "review"
        _, t, _ = await client.call(
            "POST",
            "/api/v1/tasks",
            token,
            json={"title": f"t{n}", "task_type": kind, "priority": "low" if n < 3 else "high"},
        )
        created.append(t["id"])
    seen, cursor, pages = [], "", 0
    while True:
        status, page, _ = await client.call("GET", f"/api/v1/tasks?limit=3&cursor={cursor}", token)
        assert status == 200, page
        seen += [t["id"] for t in page["items"]]
        pages += 1
        if not page["next_cursor"]:
            break
        cursor = page["next_cursor"]
    assert seen == list(reversed(created)) and pages == 3
    _, page, _ = await client.call("GET", "/api/v1/tasks?task_type=coding&priority=high", token)
    assert [t["title"] for t in page["items"]] == ["t5", "t3"]
    status, body, _ = await client.call("GET", "/api/v1/tasks?cursor=%25%25", token)
    assert status == 400 and "cursor" in body["detail"]
    status, body, _ = await client.call("GET", "/api/v1/tasks?limit=101", token)
    assert status == 400 and "limit" in body["detail"]
    status, body, _ = await client.call("GET", "/api/v1/tasks?state=bogus", token)
    assert status == 400 and "state" in body["detail"]


async def test_large_responses_are_gzipped_for_clients_that_ask(client):
    me = await client.register("gzip@example.com")
    token = me["access_token"]
    for n in range(5):
        await client.call("POST", "/api/v1/tasks", token, json={"title": f"t{n}", "description": "x" * 400})
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(auto_decompress=False) as s:
        async with s.get(f"{client.base}/api/v1/tasks", headers={**headers, "Accept-Encoding": "gzip"}) as r:
            raw = await r.read()
            assert r.headers.get("Content-Encoding") == "gzip"
        async with s.get(f"{client.base}/api/v1/tasks", headers={**headers, "Accept-Encoding": "identity"}) as r:
            plain = await r.read()
            assert "Content-Encoding" not in r.headers
    import gzip

    assert gzip.decompress(raw) == plain and len(raw) < len(plain) / 2
