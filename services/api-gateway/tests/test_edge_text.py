"""The text rule at the HTTP edge: U+0000 and lone surrogates are refused wherever a client sends
text (bodies, query, header and path parameters), naming the field; nothing stored breaks a read."""

from __future__ import annotations

from typing import Any

PROBLEM = "application/problem+json"


async def _raw(client, method: str, path: str, token: str, data: str) -> tuple[int, Any, Any]:
    """A request with a body written by hand: a lone surrogate can only travel as a JSON escape."""
    return await client.call(
        method, path, token, headers={"Content-Type": "application/json"}, data=data.encode("ascii")
    )


async def test_nul_and_lone_surrogates_in_any_body_string_are_refused_naming_the_field(client):
    me = await client.register("nul@example.com")
    token, ws = me["access_token"], me["workspace"]["id"]
    _, project, _ = await client.call("POST", f"/api/v1/workspaces/{ws}/projects", token, json={"name": "p"})
    cases = [
        ("POST", "/api/v1/tasks", '{"title": "a\\u0000b"}', "title", "U+0000"),
        ("POST", "/api/v1/tasks", '{"title": "t", "labels": {"k\\u0000": "v"}}', "labels", "U+0000"),
        ("POST", "/api/v1/tasks", '{"title": "t", "labels": {"k": "\\ud800"}}', "labels", "U+D800"),
        ("POST", "/api/v1/tasks", '{"title": "t", "description": "x\\udfff"}', "description", "U+DFFF"),
        ("POST", f"/api/v1/workspaces/{ws}/projects", '{"name": "\\u0000"}', "name", "U+0000"),
        ("PATCH", f"/api/v1/projects/{project['id']}", '{"description": "\\u0000"}', "description", "U+0000"),
        ("POST", "/api/v1/workspaces", '{"name": "w\\ud83d"}', "name", "U+D83D"),
        ("POST", "/api/v1/auth/register", '{"email": "x@y.z", "password": "\\u0000" }', "password", "U+0000"),
    ]
    for method, path, data, field, char in cases:
        status, problem, headers = await _raw(client, method, path, token, data)
        assert status == 400 and headers["Content-Type"].startswith(PROBLEM), (path, data, problem)
        assert f"{field}: " in problem["detail"] and char in problem["detail"], (data, problem)
    # A surrogate *pair* is one character (U+1F600): accepted, and read back as it was sent.
    status, task, _ = await _raw(client, "POST", "/api/v1/tasks", token, '{"title": "smile \\ud83d\\ude00"}')
    assert status == 201 and task["title"] == "smile \U0001f600"
    # Nothing refused was stored; every list still reads.
    status, page, _ = await client.call("GET", "/api/v1/tasks", token)
    assert status == 200 and [t["title"] for t in page["items"]] == ["smile \U0001f600"]
    status, projects, _ = await client.call("GET", f"/api/v1/workspaces/{ws}/projects", token)
    assert status == 200 and [p["name"] for p in projects["items"]] == ["p"]
    status, workspaces, _ = await client.call("GET", "/api/v1/workspaces", token)
    assert status == 200 and len(workspaces["items"]) == 1


async def test_a_refused_display_name_leaves_the_email_free_to_register_and_log_in(client):
    status, problem, _ = await client.call(
        "POST",
        "/api/v1/auth/register",
        json={"email": "squat@example.com", "password": "correct horse battery", "display_name": "x\x00"},
    )
    assert status == 400 and "display_name" in problem["detail"]
    me = await client.register("squat@example.com")
    status, body, _ = await client.call(
        "POST", "/api/v1/auth/login", json={"email": "squat@example.com", "password": "correct horse battery"}
    )
    assert status == 200 and body["user"]["id"] == me["user"]["id"]


async def test_blank_strings_are_refused_where_a_value_is_required_and_others_are_stripped(client):
    me = await client.register("blank@example.com")
    token, ws = me["access_token"], me["workspace"]["id"]
    for path, payload, field in [
        ("/api/v1/tasks", {"title": " \t\n"}, "title"),
        (f"/api/v1/workspaces/{ws}/projects", {"name": "\u3000"}, "name"),  # an ideographic space
        ("/api/v1/workspaces", {"name": "  "}, "name"),
    ]:
        status, problem, _ = await client.call("POST", path, token, json=payload)
        assert status == 400 and f"{field}: must not be blank" in problem["detail"], problem
    status, task, _ = await client.call(
        "POST", "/api/v1/tasks", token, json={"title": "  spaced  ", "description": " "}
    )
    assert status == 201 and (task["title"], task["description"]) == ("spaced", "")
    # A password is kept exactly as typed: spaces around it are part of it.
    status, _, _ = await client.call(
        "POST", "/api/v1/auth/register", json={"email": "pw@example.com", "password": "  eight chars  "}
    )
    assert status == 201
    login = {"email": "pw@example.com", "password": "eight chars"}
    assert (await client.call("POST", "/api/v1/auth/login", json=login))[0] == 401
    login["password"] = "  eight chars  "
    assert (await client.call("POST", "/api/v1/auth/login", json=login))[0] == 200


async def test_strict_types_refuse_what_the_schema_does_not_allow(client):
    me = await client.register("types@example.com")
    token = me["access_token"]
    _, task, _ = await client.call("POST", "/api/v1/tasks", token, json={"title": "t"})
    for payload in ({"success": "true"}, {"success": True, "quality": "0.5"}, {"success": 1}):
        status, problem, _ = await client.call("POST", f"/api/v1/tasks/{task['id']}/feedback", token, json=payload)
        assert status == 400 and "invalid request body" in problem["detail"], (payload, problem)


async def test_query_and_path_parameters_follow_their_documented_limits(client):
    me = await client.register("params@example.com")
    token, ws = me["access_token"], me["workspace"]["id"]
    cases = [
        ("/api/v1/budgets?role=" + "r" * 65, "role is 65 characters long; the limit is 64"),
        ("/api/v1/tasks?task_type=no%20spaces", "task_type must match"),
        ("/api/v1/tasks?agent_id=a%00", "agent_id contains U+0000"),
        ("/api/v1/tasks?state=", "state must be one of"),
        ("/api/v1/tasks?limit=", "limit must be an integer"),
        ("/api/v1/tasks?limit=1_0", "limit must be an integer"),
        ("/api/v1/tasks?cursor=abc", "cursor must match"),
        ("/api/v1/tasks/" + "t" * 65, "task_id is 65 characters long"),
        ("/api/v1/tasks/a%00b", "task_id contains U+0000"),
        (f"/api/v1/workspaces/{ws}/audit?cursor=1.5", "cursor must match"),
        (f"/api/v1/workspaces/{ws}/events?after=9223372036854775808", "after must be between 0 and"),
        (f"/api/v1/workspaces/{ws}/events?after=-1", "after must be between 0 and"),
        (f"/api/v1/workspaces/{ws}/events?after=" + "9" * 5000, "after must be between 0 and"),
    ]
    for path, expected in cases:
        status, problem, headers = await client.call("GET", path, token)
        assert status == 400 and headers["Content-Type"].startswith(PROBLEM), (path, problem)
        assert expected in problem["detail"], (path, problem)
    status, problem, _ = await client.call(
        "GET", f"/api/v1/workspaces/{ws}/events", token, headers={"Last-Event-ID": str(2**64)}
    )
    assert status == 400 and "Last-Event-ID must be between 0 and 9223372036854775807" in problem["detail"]
    # a cursor of the documented form is a position, whether or not a task sits there
    status, page, _ = await client.call("GET", "/api/v1/tasks?cursor=9999999999999999999.ffff", token)
    assert status == 200 and page["items"] == []


async def test_a_request_refused_for_its_path_is_audited_with_the_path_escaped(gateway):
    app, client = gateway
    me = await client.register("audit-nul@example.com")
    token = me["access_token"]
    status, problem, _ = await client.call("POST", "/api/v1/tasks/%00/cancel", token, json={})
    assert status == 400 and "task_id contains U+0000" in problem["detail"]
    await app.gateway.audit.flush()
    rows = await app.gateway.accounts.repo.audit("", None, 10)  # refused before any workspace was named
    assert [r["path"] for r in rows] == ["/api/v1/tasks/\\u0000/cancel"]
    assert rows[0]["status"] == 400 and rows[0]["actor"] == f"user:{me['user']['id']}"


async def test_the_openapi_document_states_the_text_rule_and_every_pattern_refuses_nul(client):
    """Every request string is bounded and has a pattern refusing U+0000 (a lone surrogate cannot be
    written in a pattern every regex engine reads: docs/api.md says it in words)."""
    import re

    status, doc, _ = await client.call("GET", "/api/v1/openapi.json")
    assert status == 200
    strings: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "string" and "enum" not in node:
                strings.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for name, schema in doc["components"]["schemas"].items():
        if name.endswith("In") or name == "ProjectPatch":
            walk(schema)
    for ops in doc["paths"].values():
        for op in ops.values():
            walk(op.get("parameters", []))
    assert len(strings) > 30
    for schema in strings:
        assert "pattern" in schema, schema
        pattern = re.compile(schema["pattern"])
        assert pattern.search("a\x00") is None, schema
        assert schema.get("maxLength"), schema
