"""A workflow run's page in headless Chromium against the whole fleet: started from the page, its
stages drawn as a graph whose states change live, a gate approved with a comment from the page
and the run moving on, then what its calls cost on the budgets page; a viewer sees the gate without controls, and an approve forged from
their page is refused by the API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from vapora_testing.browser import add_member, as_user, open_page, register, sign_in_in_page
from vapora_testing.fleet import Fleet
from vapora_testing.polling import eventually_sync

pytestmark = pytest.mark.e2e

# Small enough for the offline provider: a task, a gate for admins and owners, a task after it.
TEMPLATE = {
    "name": "ui-signoff",
    "description": "Draft the notes, sign them off, publish them.",
    "stages": [
        {"id": "draft", "task_type": "documentation", "title": "Draft the release notes"},
        {"id": "signoff", "kind": "gate", "needs": ["draft"], "approvers": ["owner", "admin"]},
        {"id": "publish", "task_type": "documentation", "needs": ["signoff"], "title": "Publish the notes"},
    ],
}

FORGE = """async ([run, stage]) => {
  const { api } = await import("/ui/app/js/api.js");   // the page's own client, with the viewer's token
  try {
    await api("POST", `/api/v1/workflow-runs/${run}/approve`, { body: { stage_id: stage, comment: "forged" } });
    return { status: 200 };
  } catch (err) {
    return { status: err.status, detail: err.problem.detail };
  }
}"""


def stage(page: Page, stage_id: str) -> Any:
    return page.locator(f"svg.dag [data-stage={stage_id}]")


def make_template(api: httpx.Client, owner: dict[str, str]) -> None:
    r = api.post("/api/v1/workflows", json=TEMPLATE, headers=as_user(owner["token"]))
    assert r.status_code == 201, r.text


def test_a_run_started_from_the_page_waits_at_its_gate_and_moves_on_when_approved_there(
    fleet: Fleet, browser: Browser, api: httpx.Client
) -> None:
    owner = register(api, "wf-owner")
    make_template(api, owner)
    with open_page(browser, fleet.http_url()) as (page, console):
        sign_in_in_page(page, owner["email"])
        page.get_by_role("link", name="Workflows").click()
        form = page.get_by_role("form", name="Start a workflow run")
        form.get_by_label("Workflow").select_option("ui-signoff")
        form.get_by_label("Title").fill("Notes for 2.4")
        form.get_by_role("button", name="Start").click()

        expect(page.locator("article.run-page h1")).to_have_text("Notes for 2.4")
        page.evaluate("window.__sameDocument = true")
        expect(page.locator("svg.dag .stage")).to_have_count(3)
        expect(stage(page, "publish")).to_have_attribute("data-state", "pending")
        # the draft's task runs and finishes, the gate opens: all on the live stream
        expect(stage(page, "draft")).to_have_attribute("data-state", "done", timeout=60_000)
        expect(stage(page, "signoff")).to_have_attribute("data-state", "waiting_approval", timeout=30_000)
        expect(page.locator("article.run-page")).to_have_attribute("data-run-state", "waiting_approval")
        assert page.evaluate("window.__sameDocument === true"), "the graph changed without a reload"

        gate = page.get_by_role("form", name="Gate signoff")
        # a rejection needs a comment: the API's problem is shown on the gate, which still waits
        gate.get_by_role("button", name="Reject").click()
        expect(gate.locator(".problem")).to_contain_text("comment")
        expect(stage(page, "signoff")).to_have_attribute("data-state", "waiting_approval")
        gate.get_by_label("Comment").fill("Reads well; ship it.")
        gate.get_by_role("button", name="Approve").click()

        expect(stage(page, "signoff")).to_have_attribute("data-state", "approved")
        expect(page.get_by_role("form", name="Gate signoff")).to_have_count(0)
        expect(page.locator(".decisions li")).to_contain_text("Reads well; ship it.")
        expect(stage(page, "publish")).to_have_attribute("data-state", "done", timeout=60_000)
        expect(page.locator("article.run-page")).to_have_attribute("data-run-state", "succeeded", timeout=30_000)
        assert page.evaluate("window.__sameDocument === true")
        run_id = page.url.rsplit("/", 1)[-1]
        run = api.get(f"/api/v1/workflow-runs/{run_id}", headers=as_user(owner["token"])).json()

        # the stage's task carries what its execution used (the coordinator's DONE event), on its page
        draft = next(s for s in run["stages"] if s["id"] == "draft")["task_id"]
        task = api.get(f"/api/v1/tasks/{draft}", headers=as_user(owner["token"])).json()
        assert task["state"] == "done" and task["input_tokens"] > 0 and task["output_tokens"] > 0, task
        page.goto(f"/tasks/{draft}")
        expect(page.locator(".facts .tokens")).to_have_text(f"{task['input_tokens']} in / {task['output_tokens']} out")
        # and its agent's tool loop, step by step, as the transcript has it
        steps = api.get(f"/api/v1/tasks/{draft}/steps", headers=as_user(owner["token"])).json()["items"]
        assert steps, "the offline agent's run has steps"
        expect(page.locator(".step-list > li")).to_have_count(len(steps))
        expect(page.locator(".step-list > li").first).to_contain_text(f"model turn · {steps[0]['provider']}")

        # what the run's two tasks cost, per provider and model, on the budgets page (the router's
        # ledger is written behind the calls: the API is asked until it has them)
        spend = eventually_sync(
            lambda: api.get("/api/v1/budgets/spend", headers=as_user(owner["token"])).json()["items"],
            until=lambda items: sum(i["calls"] for i in items) >= 2,
            timeout=20,
            interval=0.3,
            what="the run's LLM calls in the usage ledger",
        )
        page.get_by_role("link", name="Budgets").click()
        for item in spend:
            row = page.locator(f'table.spend tr[data-provider="{item["provider"]}"][data-model="{item["model"]}"]')
            expect(row.locator(".calls")).to_have_text(str(item["calls"]))
        expect(page.locator("table.spend tbody tr")).to_have_count(len(spend))
        assert console.errors == []

    gate_state = next(s for s in run["stages"] if s["id"] == "signoff")
    assert [(d["approved"], d["comment"], d["role"]) for d in gate_state["decisions"]] == [
        (True, "Reads well; ship it.", "owner")
    ]


def test_a_viewer_sees_the_gate_without_controls_and_an_approve_forged_from_their_page_is_refused(
    fleet: Fleet, browser: Browser, api: httpx.Client
) -> None:
    owner = register(api, "wf-lead")
    viewer = register(api, "wf-viewer")
    ws = owner["workspace_id"]
    make_template(api, owner)
    add_member(api, owner, viewer, "viewer")
    r = api.post(
        "/api/v1/workflow-runs",
        json={"workflow": "ui-signoff", "title": "Notes for 2.5"},
        headers=as_user(owner["token"]),
    )
    assert r.status_code == 201, r.text
    run_id = r.json()["id"]

    with open_page(browser, fleet.http_url()) as (page, console):
        sign_in_in_page(page, viewer["email"])
        page.get_by_label("Workspace").select_option(ws)
        expect(page.get_by_label("Workspace").locator("option:checked")).to_contain_text("(viewer)")
        page.goto("/workflows")
        expect(page.get_by_role("link", name="Notes for 2.5")).to_be_visible()
        expect(page.get_by_role("form", name="Start a workflow run")).to_have_count(0)
        page.get_by_role("link", name="Notes for 2.5").click()
        expect(stage(page, "signoff")).to_have_attribute("data-state", "waiting_approval", timeout=60_000)
        gate = page.get_by_role("form", name="Gate signoff")
        expect(gate).to_contain_text("Only owner or admin may decide; your role is viewer.")
        expect(gate.get_by_role("button")).to_have_count(0)
        expect(gate.get_by_label("Comment")).to_have_count(0)

        forged = page.evaluate(FORGE, [run_id, "signoff"])
        assert forged["status"] == 403, forged
        assert "viewer" in forged["detail"] and "run.approve" in forged["detail"]
        assert console.errors == []

    run = api.get(f"/api/v1/workflow-runs/{run_id}", headers=as_user(owner["token"])).json()
    assert run["state"] == "waiting_approval"
    assert next(s for s in run["stages"] if s["id"] == "signoff")["decisions"] == []
