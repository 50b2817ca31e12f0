"""A value holding U+0000 already in the store (written before the text rule, by anything) never makes
a read fail: every list and item it is in reads, with U+0000 written as \\u0000."""

from __future__ import annotations

import surrealdb

from vapora_api_gateway.repository import NAMESPACE
from vapora_core.store import DATABASE

NUL = "\x00"


async def _poison(store_url: str, statements: list[tuple[str, dict]]) -> None:
    """Write straight into the stopped gateway's store with the SDK: no edge, no guard in between."""
    db = surrealdb.AsyncSurreal(store_url)
    await db.connect()
    try:
        await db.use(NAMESPACE, DATABASE)
        for sql, vars in statements:
            await db.query(sql, vars)
    finally:
        await db.close()


async def test_stored_nul_bytes_are_read_escaped_by_every_list_and_item(gateway_factory, gateway_settings):
    app, client = await gateway_factory()
    me = await client.register("poisoned@example.com")
    token, ws, user = me["access_token"], me["workspace"]["id"], me["user"]["id"]
    _, project, _ = await client.call("POST", f"/api/v1/workspaces/{ws}/projects", token, json={"name": "p"})
    _, task, _ = await client.call("POST", "/api/v1/tasks", token, json={"title": "t", "labels": {"k": "v"}})
    _, api_token, _ = await client.call("POST", f"/api/v1/workspaces/{ws}/api-tokens", token, json={"name": "ci"})
    await client.call("PATCH", f"/api/v1/projects/{project['id']}", token, json={"description": "d"})  # audited
    await app.stop()

    bad = f"bad{NUL}value"
    await _poison(
        gateway_settings.store_url,
        [
            (
                "UPDATE type::thing('task', $id) SET title = $v, labels = $labels, history[0].detail = $v RETURN NONE",
                {"id": task["id"], "v": bad, "labels": {bad: bad}},
            ),
            ("UPDATE type::thing('project', $id) SET name = $v RETURN NONE", {"id": project["id"], "v": bad}),
            ("UPDATE type::thing('workspace', $id) SET name = $v RETURN NONE", {"id": ws, "v": bad}),
            ("UPDATE type::thing('user', $id) SET display_name = $v RETURN NONE", {"id": user, "v": bad}),
            ("UPDATE type::thing('api_token', $id) SET name = $v RETURN NONE", {"id": api_token["id"], "v": bad}),
            ("UPDATE audit SET path = $v WHERE workspace_id = $ws RETURN NONE", {"ws": ws, "v": bad}),
        ],
    )

    _, client = await gateway_factory()
    shown = "bad\\u0000value"
    status, page, _ = await client.call("GET", "/api/v1/tasks", token)
    assert status == 200 and page["items"][0]["title"] == shown, page
    assert page["items"][0]["history"][0]["detail"] == shown
    status, one, _ = await client.call("GET", f"/api/v1/tasks/{task['id']}", token)
    assert status == 200 and one["title"] == shown
    status, projects, _ = await client.call("GET", f"/api/v1/workspaces/{ws}/projects", token)
    assert status == 200 and [p["name"] for p in projects["items"]] == [shown]
    status, one, _ = await client.call("GET", f"/api/v1/projects/{project['id']}", token)
    assert status == 200 and one["name"] == shown
    status, workspaces, _ = await client.call("GET", "/api/v1/workspaces", token)
    assert status == 200 and [w["name"] for w in workspaces["items"]] == [shown]
    status, members, _ = await client.call("GET", f"/api/v1/workspaces/{ws}/members", token)
    assert status == 200 and members["items"][0]["display_name"] == shown
    status, tokens, _ = await client.call("GET", f"/api/v1/workspaces/{ws}/api-tokens", token)
    assert status == 200 and [t["name"] for t in tokens["items"]] == [shown]
    status, audit, _ = await client.call("GET", f"/api/v1/workspaces/{ws}/audit", token)
    assert status == 200 and audit["items"] and all(e["path"] == shown for e in audit["items"])
    # The account whose display name was poisoned can still log in (its e-mail is not squatted).
    status, body, _ = await client.call(
        "POST", "/api/v1/auth/login", json={"email": "poisoned@example.com", "password": "correct horse battery"}
    )
    assert status == 200 and body["user"]["display_name"] == shown
