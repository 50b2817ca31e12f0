"""The shipped ``feature`` workflow through the real fleet, driven over REST like a user.

Real processes: nats-server and all seven services, the agent-runtime hosting the shipped agents of
config/agents. Every LLM provider the router knows points at one local fake speaking the providers'
own wire formats (``vapora_testing.fake_providers``), scripted per role by what each request asks
(``Task type: <type>``): the code-reviewer's and the tester's answers each take 1.5 s, so their
stages overlap only if they really run at the same time.

- the run reaches the gate with review and test overlapping (the runtime's own execution times,
  from the knowledge graph, show it), holds no job while it waits, and finishes on approve;
- a rejection with a comment sends the run back to the developer, whose next request to the model
  carries the comment;
- a viewer cannot approve, and another workspace's person cannot even see the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.helpers import sign_up
from tests.e2e.test_skeleton_flow import query_executions
from vapora_testing.fake_providers import KEY, FakeProviders, Turn
from vapora_testing.fleet import Fleet
from vapora_testing.polling import eventually_sync

pytestmark = pytest.mark.e2e

SLOW_S = 1.5
ANSWERS = {
    "architecture": "Design: an exporter interface, a registry of exporters, a CSV exporter; rejected: plugins by entry point.",
    "coding": "Implemented the CSV exporter and its registry, with tests for empty and header-only reports.",
    "review": "Approve: the exporter is small and tested; one nit on naming.",
    "testing": "Tested empty, header-only and large reports; all pass.",
    "documentation": "Documented the CSV export for users: how to run it, what it writes.",
    "devops": "Added the exporter to CI and the release notes.",
}
TASK_TYPE = re.compile(r"Task type: ([a-z_-]+)")


def choose(provider: str, body: dict[str, Any]) -> Turn | None:
    """The turn of a request, by the task type it asks about: each role's own answer."""
    found = TASK_TYPE.search(json.dumps(body))
    if found is None:
        return None
    task_type = found.group(1)
    return Turn(text=ANSWERS.get(task_type, "Done."), delay_s=SLOW_S if task_type in ("review", "testing") else 0.0)


@contextlib.contextmanager
def fake_providers() -> Iterator[FakeProviders]:
    """The fake providers on their own event loop, in a thread (the tests here are synchronous)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    fake = FakeProviders(choose=choose)
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(10)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


@pytest.fixture(scope="module")
def providers() -> Iterator[FakeProviders]:
    with fake_providers() as fake:
        yield fake


@pytest.fixture(scope="module")
def wf_fleet(tmp_path_factory: pytest.TempPathFactory, providers: FakeProviders) -> Iterator[Fleet]:
    url = providers.url
    router = {
        "VAPORA_ANTHROPIC_API_KEY": KEY,
        "VAPORA_ANTHROPIC_BASE_URL": url,
        "VAPORA_OPENAI_API_KEY": KEY,
        "VAPORA_OPENAI_BASE_URL": url,
        "VAPORA_GEMINI_API_KEY": KEY,
        "VAPORA_GEMINI_BASE_URL": url,
        "VAPORA_OLLAMA_BASE_URL": url,
    }
    fleet = Fleet(run_dir=tmp_path_factory.mktemp("wf-fleet"), service_env={"llm-router": router})
    try:
        fleet.start(timeout=120)
        yield fleet
    finally:
        fleet.stop()


def wait_run(client: httpx.Client, run_id: str, state: str, timeout: float = 120.0) -> dict[str, Any]:
    def read() -> dict[str, Any]:
        r = client.get(f"/api/v1/workflow-runs/{run_id}")
        assert r.status_code == 200, r.text
        run = dict(r.json())
        assert run["state"] in ("running", "waiting_approval", state), run  # it must not end otherwise
        return run

    run: dict[str, Any] = eventually_sync(
        read, until=lambda run: run["state"] == state, timeout=timeout, interval=0.2, what=f"run {run_id} to be {state}"
    )
    return run


def stages(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in run["stages"]}


def execution_window(fleet: Fleet, workspace_id: str, task_id: str) -> tuple[int, int]:
    """When the runtime worked on a task: its execution's start and finish (ns), from the knowledge graph."""
    found = eventually_sync(
        lambda: asyncio.run(query_executions(fleet, workspace_id, task_id)),
        timeout=20,
        interval=0.2,
        what=f"the execution of {task_id} in the knowledge graph",
    )
    return found[-1].started_at.ToNanoseconds(), found[-1].finished_at.ToNanoseconds()


def start(client: httpx.Client, title: str) -> dict[str, Any]:
    r = client.post(
        "/api/v1/workflow-runs", json={"workflow": "feature", "title": title, "description": "From the e2e test."}
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_the_feature_workflow_overlaps_review_and_test_waits_at_the_gate_and_finishes_on_approve(
    wf_fleet: Fleet, providers: FakeProviders
) -> None:
    with httpx.Client(base_url=wf_fleet.http_url(), timeout=10) as client:
        me = sign_up(client, "wf")
        ws = me["workspace"]["id"]
        run = start(client, "Export reports as CSV")
        waiting = wait_run(client, run["id"], "waiting_approval")
        s = stages(waiting)
        assert [s[k]["state"] for k in ("design", "implement", "review", "test")] == ["done"] * 4
        assert {k: s[k]["agent_id"] for k in ("design", "implement", "review", "test")} == {
            "design": "architect", "implement": "developer", "review": "code-reviewer", "test": "tester"
        }  # fmt: skip
        assert s["approve"]["state"] == "waiting_approval" and s["document"]["state"] == "pending"
        # the reviewer and the tester worked at the same time: each began before the other ended
        review = execution_window(wf_fleet, ws, s["review"]["task_id"])
        test = execution_window(wf_fleet, ws, s["test"]["task_id"])
        assert review[0] < test[1] and test[0] < review[1], (review, test)
        assert min(review[1], test[1]) - max(review[0], test[0]) > 1e9  # more than a second in common
        # the stage task is on the board like any task
        board = client.get(f"/api/v1/tasks/{s['implement']['task_id']}").json()
        assert board["workflow_run_id"] == run["id"] and board["state"] == "done" and board["agent_id"] == "developer"
        # waiting holds nothing: no stage task is queued or held by an agent
        held = client.get("/api/v1/tasks", params={"state": "assigned"}).json()["items"]
        assert [t for t in held if t.get("workflow_run_id") == run["id"]] == []

        r = client.post(f"/api/v1/workflow-runs/{run['id']}/approve", json={"comment": "Ship it."})
        assert r.status_code == 200, r.text
        done = wait_run(client, run["id"], "succeeded")
        assert {x["id"]: x["state"] for x in done["stages"]} == {
            "design": "done", "implement": "done", "review": "done", "test": "done",
            "approve": "approved", "document": "done", "deploy": "done",
        }  # fmt: skip
        assert stages(done)["approve"]["decisions"][0]["comment"] == "Ship it."


def test_a_rejection_sends_the_comment_to_the_developers_next_attempt(
    wf_fleet: Fleet, providers: FakeProviders
) -> None:
    comment = "Handle a report with only a header row."
    with httpx.Client(base_url=wf_fleet.http_url(), timeout=10) as client:
        sign_up(client, "wf-reject")
        run = start(client, "Import reports from CSV")
        wait_run(client, run["id"], "waiting_approval")
        r = client.post(f"/api/v1/workflow-runs/{run['id']}/reject", json={"comment": comment})
        assert r.status_code == 200, r.text
        again = wait_run(client, run["id"], "waiting_approval")
        implement = stages(again)["implement"]
        assert implement["attempt"] == 2 and implement["task_id"] == f"wf-{run['id']}-implement-2"
        assert comment in implement["input_comment"]
    # what the developer's agent sent the model for its second attempt carries the comment
    asked = [json.dumps(b) for bodies in providers.bodies.values() for b in bodies]
    coding = [b for b in asked if "Task type: coding" in b and "Import reports from CSV" in b]
    assert len(coding) == 2, len(coding)
    assert comment not in coding[0] and comment in coding[1]


def test_a_viewer_cannot_approve_and_another_workspace_cannot_see_the_run(wf_fleet: Fleet) -> None:
    with httpx.Client(base_url=wf_fleet.http_url(), timeout=10) as owner:
        me = sign_up(owner, "wf-owner")
        ws = me["workspace"]["id"]
        run = start(owner, "A gated change")
        wait_run(owner, run["id"], "waiting_approval")
        with httpx.Client(base_url=wf_fleet.http_url(), timeout=10) as viewer:
            them = sign_up(viewer, "wf-viewer")
            r = owner.post(f"/api/v1/workspaces/{ws}/members", json={"email": them["user"]["email"], "role": "viewer"})
            assert r.status_code == 201, r.text
            r = viewer.post(f"/api/v1/workflow-runs/{run['id']}/approve", json={})
            assert r.status_code == 403 and "run.approve" in r.json()["detail"], r.text
            assert viewer.get(f"/api/v1/workflow-runs/{run['id']}").status_code == 200  # viewers read
        with httpx.Client(base_url=wf_fleet.http_url(), timeout=10) as stranger:
            sign_up(stranger, "wf-stranger")
            unknown = stranger.get("/api/v1/workflow-runs/0123456789abcdef")
            theirs = stranger.get(f"/api/v1/workflow-runs/{run['id']}")
            assert unknown.status_code == theirs.status_code == 404
            assert theirs.json()["detail"] == unknown.json()["detail"].replace("0123456789abcdef", run["id"])
            assert stranger.post(f"/api/v1/workflow-runs/{run['id']}/approve", json={}).status_code == 404
        bad = owner.post(
            "/api/v1/workflows", json={"name": "loop", "stages": [{"id": "a", "role": "developer", "needs": ["a"]}]}
        )
        assert bad.status_code == 400 and "stage 'a': field needs: a stage cannot name itself" in bad.json()["detail"]
        assert stages(wait_run(owner, run["id"], "waiting_approval"))["approve"]["decisions"] == []
