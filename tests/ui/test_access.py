"""What the page shows is what the API allows: a viewer gets no create or move control and a
request forged from their page is refused; another workspace's task cannot be opened by URL."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser, expect

from vapora_testing.browser import add_member, as_user, open_page, register, sign_in_in_page
from vapora_testing.fleet import Fleet

pytestmark = pytest.mark.e2e

FORGE = """async (ws) => {
  const { api } = await import("/ui/app/js/api.js");   // the page's own client, with the viewer's token
  try {
    await api("POST", "/api/v1/tasks", { body: { workspace_id: ws, title: "forged from a viewer's page" } });
    return { status: 201 };
  } catch (err) {
    return { status: err.status, detail: err.problem.detail, type: err.problem.type };
  }
}"""


def test_a_viewer_sees_no_create_control_and_a_forged_create_from_their_page_is_refused(
    fleet: Fleet, browser: Browser, api: httpx.Client
) -> None:
    owner = register(api, "team-owner")
    viewer = register(api, "viewer")
    ws = owner["workspace_id"]
    add_member(api, owner, viewer, "viewer")
    r = api.post(
        "/api/v1/tasks",
        json={"title": "Review the release notes", "task_type": "documentation"},
        headers=as_user(owner["token"]),
    )
    assert r.status_code == 201, r.text

    with open_page(browser, fleet.http_url()) as (page, console):
        sign_in_in_page(page, viewer["email"])
        page.get_by_label("Workspace").select_option(ws)
        expect(page.get_by_label("Workspace").locator("option:checked")).to_contain_text("(viewer)")
        page.wait_for_selector("[data-board=ready]")
        expect(page.locator(".task-card", has_text="Review the release notes")).to_be_visible(timeout=30_000)
        expect(page.get_by_role("button", name="New task")).to_have_count(0)
        expect(page.locator(".task-card select.move")).to_have_count(0)
        expect(page.locator('.task-card[draggable="true"]')).to_have_count(0)
        expect(page.get_by_role("link", name="Audit log")).to_have_count(0)

        forged = page.evaluate(FORGE, ws)
        assert forged["status"] == 403, forged
        assert "viewer" in forged["detail"] and "task.create" in forged["detail"]

        # the audit log is refused too when asked for by URL
        page.goto("/audit")
        expect(page.locator(".problem")).to_contain_text("403")
        expect(page.locator(".problem")).to_contain_text("audit.read")
        assert console.errors == []

    titles = [
        t["title"]
        for t in api.get("/api/v1/tasks", params={"workspace_id": ws}, headers=as_user(owner["token"])).json()["items"]
    ]
    assert titles == ["Review the release notes"]


def test_a_user_of_another_workspace_cannot_open_a_task_by_its_url(
    fleet: Fleet, browser: Browser, api: httpx.Client
) -> None:
    first = register(api, "first")
    r = api.post(
        "/api/v1/tasks", json={"title": "Secret roadmap", "description": "do not leak"}, headers=as_user(first["token"])
    )
    assert r.status_code == 201, r.text
    task_id = r.json()["id"]
    other = register(api, "other")

    with open_page(browser, fleet.http_url()) as (page, console):
        sign_in_in_page(page, other["email"])
        page.goto(f"/tasks/{task_id}")
        problem = page.locator(".problem")
        expect(problem).to_contain_text("Not Found (404)")
        expect(problem).to_contain_text(f"no task {task_id}")
        content = page.content()
        assert "Secret roadmap" not in content and "do not leak" not in content
        assert console.errors == []
