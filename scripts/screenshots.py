"""Start a fleet, give it a little history, and write a screenshot of every page of the web UI.

    python scripts/screenshots.py docs/ui      (just screenshots)

The fleet runs under a temporary directory on free ports (the offline provider answers); the pages
are driven in headless Chromium exactly as the browser tests drive them.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

from vapora_testing.browser import DESKTOP, PHONE, as_user, launch, open_page, register, sign_in_in_page
from vapora_testing.fleet import Fleet
from vapora_testing.polling import eventually_sync

DONE_TASKS = (
    ("Implement the login endpoint", "coding", "high", "Add POST /login with tests; refresh tokens rotate."),
    ("Cover the parser with tests", "testing", "normal", "Property tests for the TOML parser."),
    ("Review the payment flow", "review", "critical", "Check the retry and idempotency of charges."),
    ("Document the deployment", "documentation", "low", "How to run the fleet on Kubernetes."),
)


def _wait_done(api: httpx.Client, token: str, task_ids: list[str], timeout: float = 60) -> None:
    def states() -> list[str]:
        return [api.get(f"/api/v1/tasks/{t}", headers=as_user(token)).json()["state"] for t in task_ids]

    eventually_sync(
        states,
        timeout=timeout,
        interval=0.2,
        what=f"tasks {task_ids} to finish",
        until=lambda got: all(s in ("done", "failed", "cancelled") for s in got),
    )


def history(fleet: Fleet, api: httpx.Client) -> dict[str, str]:
    """An owner with a project, finished tasks, and (with the coordinator stopped) tasks waiting,
    moved by hand and cancelled: something in every column."""
    owner = register(api, "ada")
    auth = as_user(owner["token"])
    ws = owner["workspace_id"]
    project = api.post(f"/api/v1/workspaces/{ws}/projects", json={"name": "Payments"}, headers=auth).json()["id"]
    done = []
    for title, kind, priority, description in DONE_TASKS:
        body = {
            "title": title,
            "task_type": kind,
            "priority": priority,
            "description": description,
            "project_id": project,
        }
        done.append(api.post("/api/v1/tasks", json=body, headers=auth).json()["id"])
    _wait_done(api, owner["token"], done)
    api.post(f"/api/v1/tasks/{done[0]}/feedback", json={"success": True, "comment": "tests pass"}, headers=auth)
    fleet.stop_service("swarm-coordinator")
    waiting = {}
    for title, kind in (
        ("Draft the API changelog", "documentation"),
        ("Migrate the CI pipeline", "devops"),
        ("Spike: a GraphQL gateway", "architecture"),
        ("Fix the flaky upload test", "testing"),
    ):
        waiting[title] = api.post(
            "/api/v1/tasks", json={"title": title, "task_type": kind, "project_id": project}, headers=auth
        ).json()["id"]
    api.post(f"/api/v1/tasks/{waiting['Migrate the CI pipeline']}/status", json={"state": "running"}, headers=auth)
    api.post(
        f"/api/v1/tasks/{waiting['Spike: a GraphQL gateway']}/cancel", json={"reason": "not this quarter"}, headers=auth
    )
    api.post(
        f"/api/v1/tasks/{waiting['Fix the flaky upload test']}/status",
        json={"state": "failed", "detail": "needs a person"},
        headers=auth,
    )
    return {"email": owner["email"], "task": done[0], "token": owner["token"]}


def start_run(api: httpx.Client, token: str) -> str:
    """A run of the shipped ``feature`` workflow (the coordinator must be up)."""
    body = {"workflow": "feature", "title": "CSV export of reports", "description": "Users export a report as CSV."}
    r = api.post("/api/v1/workflow-runs", json=body, headers=as_user(token))
    r.raise_for_status()
    return str(r.json()["id"])


def wait_gate(api: httpx.Client, token: str, run_id: str) -> None:
    eventually_sync(
        lambda: api.get(f"/api/v1/workflow-runs/{run_id}", headers=as_user(token)).json()["state"],
        until=lambda state: state == "waiting_approval",
        timeout=120,
        interval=0.3,
        what=f"run {run_id} to wait at its gate",
    )


def shoot(page: Page, out: Path, name: str, *, full: bool = True) -> None:
    page.wait_for_selector(".loading", state="detached")  # every part of the page has answered
    page.wait_for_timeout(400)  # charts and the diff viewer draw after their data
    page.screenshot(path=str(out / f"{name}.png"), full_page=full)
    print(f"  {out / name}.png")


def main(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vapora-screens-") as tmp:
        fleet = Fleet(run_dir=Path(tmp))
        try:
            fleet.start(timeout=120)
            with httpx.Client(base_url=fleet.http_url(), timeout=10) as api:
                seen = history(fleet, api)
            with sync_playwright() as pw:
                browser = launch(pw)
                with open_page(browser, fleet.http_url(), DESKTOP) as (page, _):
                    page.goto("/signin")
                    shoot(page, out, "signin", full=False)
                    page.goto("/signup")
                    shoot(page, out, "signup", full=False)
                    sign_in_in_page(page, seen["email"])
                    shoot(page, out, "board")
                    page.get_by_role("button", name="New task").click()
                    shoot(page, out, "board-new-task", full=False)
                    with open_page(browser, fleet.http_url(), PHONE) as (phone, _):
                        sign_in_in_page(phone, seen["email"])
                        shoot(phone, out, "board-phone")
                    fleet.start_service("swarm-coordinator")  # it explains assignments, runs workflows
                    with httpx.Client(base_url=fleet.http_url(), timeout=10) as api:
                        run_id = start_run(api, seen["token"])
                        page.goto(f"/tasks/{seen['task']}")
                        page.wait_for_selector(".explanation")
                        shoot(page, out, "task")
                        wait_gate(api, seen["token"], run_id)
                    page.goto(f"/workflow-runs/{run_id}")
                    page.wait_for_selector("form.gate")
                    page.get_by_label("Comment").fill("Looks right; ship it once the docs say how to run it.")
                    shoot(page, out, "workflow-run")
                    page.goto("/workflows")
                    shoot(page, out, "workflows", full=False)
                    page.goto("/agents/developer")
                    page.wait_for_selector(".curve")
                    shoot(page, out, "agents")
                    page.goto("/budgets")
                    shoot(page, out, "budgets")
                    page.goto("/audit")
                    shoot(page, out, "audit", full=False)
                browser.close()
        finally:
            fleet.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/ui")))
