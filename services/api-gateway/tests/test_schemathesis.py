"""schemathesis against the served OpenAPI document, with every check and every phase (examples,
coverage, fuzzing, stateful): the server answers what the document says, nothing more or less."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(300)

# GET /agents passes page_token through to agent-registry, whose tokens are opaque: only one it
# issued is valid, which no schema can say (the test registry's are offsets, "1", "2", …). The
# run sends none; the route's own test covers bad tokens.
# A workflow template's graph (stages a need names, no cycle, inputs upstream, a gate's approvers)
# cannot be said in JSON Schema: the server checks it, and a template the schema allows may still be
# refused with a 400 naming the stage and the field.
# PUT .../projects/{project_id}/repository is left out of the stateful phase only: its inferred links
# fill project_id from a task of no project, "", and the path then reads as /projects/repository,
# the route of project "repository", which has no PUT (405). The other phases test it whole.
CONFIG = """
[parameters]
"query.page_token" = ""

[[operations]]
include-path = "/api/v1/workflows"
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]

[[operations]]
include-path = "/api/v1/projects/{project_id}/repository"
include-method = "PUT"
phases.stateful.enabled = false
"""


async def test_schemathesis_with_every_check_and_phase_finds_nothing(fuzz_gateway, tmp_path: Path):
    client, _ = fuzz_gateway
    me = await client.register("fuzz@example.com")
    # A task that exists, so the task routes reach their handlers, and the coordinator too.
    _, task, _ = await client.call("POST", "/api/v1/tasks", me["access_token"], json={"title": "fuzz target"})
    assert task["id"]
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    cli = Path(sys.executable).parent / "schemathesis"
    proc = await asyncio.create_subprocess_exec(
        str(cli),
        "--config-file",
        str(config),
        "run",
        f"{client.base}/api/v1/openapi.json",
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--header",
        f"Authorization: Bearer {me['access_token']}",
        "--max-examples",
        "40",
        "--seed",
        "7",
        # One worker: the coverage phase parses regexes with Python's ast, which in CPython 3.11
        # can fail across threads ("AST constructor recursion depth mismatch", python/cpython#106905).
        "--workers",
        "1",
        "--exclude-path-regex",
        "/events",  # endless streams: covered by the realtime tests
        "--request-timeout",
        "10",
        "--no-color",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
        cwd=tmp_path,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 280)
    text = out.decode(errors="replace")
    (tmp_path / "schemathesis.log").write_text(text)
    print(text[-4000:])
    assert proc.returncode == 0, text[-8000:]
    summary = text[text.rfind("SUMMARY") :]
    for phase in ("Coverage", "Fuzzing", "Stateful"):  # Examples: the document has none to replay
        assert f"✅ {phase}" in summary, summary
    assert " passed" in summary and "failure" not in summary.lower(), summary
