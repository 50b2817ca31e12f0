"""Request bodies are decoded within limits: deep nesting, huge numbers and non-JSON constants are
a 400 problem naming the limit, never a 500 or a traceback in the log."""

from __future__ import annotations

import logging

import pytest

from vapora_api_gateway.json_body import MAX_DEPTH, MAX_NUMBER_CHARS

PROBLEM = "application/problem+json"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"[" * 100_000 + b"]" * 100_000, f"nested deeper than {MAX_DEPTH} levels"),
        (b'{"title": "t", "labels": ' + b'{"a": ' * 40 + b"1" + b"}" * 41, f"nested deeper than {MAX_DEPTH} levels"),
        (b'{"title": "t", "x": ' + b"1" * 100_000 + b"}", f"numbers are at most {MAX_NUMBER_CHARS} characters"),
        (b'{"title": "t", "x": 0.' + b"5" * 100_000 + b"}", f"numbers are at most {MAX_NUMBER_CHARS} characters"),
        (b'{"title": "t", "x": 1e999}', "1e999, which is out of range"),
        (b'{"title": "t", "x": NaN}', "NaN is not a JSON value"),
        (b'{"title": "t", "x": -Infinity}', "-Infinity is not a JSON value"),
        (b'{"title": "\xff"}', "not UTF-8"),
        (b'{"title": "t"', "not JSON"),
        (b'["a list"]', "must be a JSON object"),
    ],
)
async def test_an_unbounded_or_non_json_body_is_a_400_problem_naming_what_is_wrong(client, caplog, body, expected):
    me = await client.register("json@example.com")
    caplog.set_level(logging.INFO)
    status, problem, headers = await client.call(
        "POST", "/api/v1/tasks", me["access_token"], data=body, headers={"Content-Type": "application/json"}
    )
    assert status == 400 and headers["Content-Type"].startswith(PROBLEM), problem
    assert expected in problem["detail"], problem
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    status, page, _ = await client.call("GET", "/api/v1/tasks", me["access_token"])
    assert status == 200 and page["items"] == []


async def test_brackets_inside_strings_do_not_count_as_nesting(client):
    me = await client.register("brackets@example.com")
    title = "[" * 200 + "{" * 200
    status, task, _ = await client.call("POST", "/api/v1/tasks", me["access_token"], json={"title": title[:500]})
    assert status == 201 and task["title"] == title[:500]
