"""The board and a task's page in headless Chromium against the whole fleet: a task created from
the board reaches Done without a reload, its page explains the assignment, cards move live and
by hand, and a reconnect after the gateway restarts misses no event."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from playwright.sync_api import Browser, Locator, Page, expect

from vapora.common.v1 import common_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import Bus, subjects
from vapora_testing.browser import PHONE, as_user, open_page, register, sign_up_in_page
from vapora_testing.fleet import Fleet

pytestmark = pytest.mark.e2e


def card(page: Page, column: str, title: str) -> Locator:
    return page.locator(f"[data-column={column}] .task-card", has_text=title)


def mark_no_reload(page: Page) -> None:
    page.evaluate("window.__sameDocument = true")


def still_same_document(page: Page) -> bool:
    return bool(page.evaluate("window.__sameDocument === true"))


def test_a_task_created_from_the_board_reaches_done_live_and_its_page_explains_the_choice(
    fleet: Fleet, browser: Browser
) -> None:
    with open_page(browser, fleet.http_url()) as (page, console):
        sign_up_in_page(page, "lead", "Lead")
        expect(page.locator(".live")).to_have_text("live")
        mark_no_reload(page)

        page.get_by_role("button", name="New task").click()
        form = page.get_by_role("form", name="New task")
        form.get_by_label("Title").fill("Implement the login endpoint")
        form.get_by_label("Description").fill("Add POST /login with tests")
        form.get_by_label("Type").fill("coding")
        form.get_by_label("Priority").select_option("high")
        form.get_by_role("button", name="Create").click()

        done = card(page, "done", "Implement the login endpoint")
        expect(done).to_be_visible(timeout=30_000)
        assert still_same_document(page), "the card reached Done through the live stream, not a reload"
        expect(done.locator(".type")).to_have_text("coding")
        expect(done.locator(".priority-high")).to_have_text("high")
        agent = done.locator(".agent").inner_text()
        assert agent and agent != "unassigned"
        assert page.locator(".task-card").count() == 1

        done.get_by_role("link").click()
        expect(page.get_by_role("heading", name="Implement the login endpoint")).to_be_visible()
        expect(page.locator(".task-page")).to_have_attribute("data-state", "done")
        expect(page.locator(".description")).to_have_text("Add POST /login with tests")
        explanation = page.locator(".explanation")
        expect(explanation).to_contain_text(f"Chosen: {agent}")
        rows = explanation.locator("tbody tr")
        assert rows.count() >= 2, "every candidate's score breakdown is listed"
        chosen = explanation.locator("tbody tr.chosen")
        expect(chosen.locator("th")).to_have_text(agent)
        headers = explanation.locator("thead th").all_inner_texts()
        assert headers == ["agent", "score", "load score", "expertise", "confidence", "success rate", "load"]
        # the tool loop's steps and the diff: shown, or a clear empty state while their routes are missing
        expect(page.locator("#s-steps + *")).not_to_have_text("")
        expect(page.locator("#s-diff + *")).not_to_have_text("")
        # submitted, assigned, running (from the first step of the agent's tool loop), done
        expect(page.locator(".history li")).to_have_count(4)
        expect(page.locator(".history li .badge")).to_have_text(["submitted", "assigned", "running", "done"])

        # a reload keeps the session (the refresh cookie), and signing out ends it
        page.reload()
        expect(page.locator(".task-page")).to_have_attribute("data-state", "done")
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("heading", name="Sign in to Vapora")).to_be_visible()
        page.reload()
        expect(page.get_by_role("heading", name="Sign in to Vapora")).to_be_visible()
        assert console.errors == []


async def _publish(nats_url: str, event: tasks_pb2.TaskStatusChanged) -> None:
    bus = Bus(nats_url, "ui-test")
    await bus.start()
    try:
        await bus.publish(subjects.task_event(event.workspace_id), event)
    finally:
        await bus.stop()


def test_cards_move_live_by_drag_and_by_their_menu_and_a_reconnect_misses_nothing(
    fleet: Fleet, browser: Browser, api: httpx.Client
) -> None:
    owner = register(api, "owner")
    ws = owner["workspace_id"]
    fleet.stop_service("swarm-coordinator")  # nothing assigns: the tasks stay where the test puts them
    try:
        with open_page(browser, fleet.http_url()) as (page, console):
            page.goto("/signin")
            page.get_by_label("Email").fill(owner["email"])
            page.get_by_label("Password").fill("correct horse battery")
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_selector("[data-board=ready]")
            mark_no_reload(page)

            created = {}
            for title in ("Drag me to cancelled", "Move me by menu"):
                page.get_by_role("button", name="New task").click()
                form = page.get_by_role("form", name="New task")
                form.get_by_label("Title").fill(title)
                form.get_by_label("Type").fill("coding")
                with page.expect_response("**/api/v1/tasks") as answer:
                    form.get_by_role("button", name="Create").click()
                created[title] = answer.value.json()["id"]
                expect(card(page, "submitted", title)).to_be_visible()

            card(page, "submitted", "Drag me to cancelled").drag_to(page.locator("[data-column=cancelled]"))
            expect(card(page, "cancelled", "Drag me to cancelled")).to_be_visible()
            assert (
                api.get(f"/api/v1/tasks/{created['Drag me to cancelled']}", headers=as_user(owner["token"])).json()[
                    "state"
                ]
                == "cancelled"
            )

            card(page, "submitted", "Move me by menu").get_by_label("Move “Move me by menu” to").select_option(
                "running"
            )
            expect(card(page, "running", "Move me by menu")).to_be_visible()
            # a final card has nowhere to go
            expect(card(page, "cancelled", "Drag me to cancelled").locator("select.move")).to_have_count(0)

            # the gateway restarts; meanwhile the task is done: the board resumes and shows it
            fleet.stop_service("api-gateway")
            expect(page.locator(".live")).to_have_text("reconnecting")
            done = tasks_pb2.TaskStatusChanged(
                task_id=created["Move me by menu"],
                workspace_id=ws,
                state=common_pb2.TASK_STATE_DONE,
                agent_id="developer",
                detail="finished while the gateway was away",
                at=Timestamp(seconds=int(time.time())),
            )
            with ThreadPoolExecutor(1) as pool:  # Playwright's sync API holds this thread's event loop
                pool.submit(asyncio.run, _publish(fleet.nats_url, done)).result(timeout=30)
            fleet.start_service("api-gateway")
            moved = card(page, "done", "Move me by menu")
            expect(moved).to_be_visible(timeout=20_000)
            expect(moved.locator(".agent")).to_have_text("developer")
            expect(page.locator(".live")).to_have_text("live")
            assert still_same_document(page)
            assert page.locator("[data-column=running] .task-card").count() == 0
            assert console.errors == []
    finally:
        if "swarm-coordinator" not in fleet.procs:
            fleet.start_service("swarm-coordinator")
        if "api-gateway" not in fleet.procs:
            fleet.start_service("api-gateway")


def test_at_phone_width_the_board_stacks_and_a_task_is_created_with_the_keyboard_alone(
    fleet: Fleet, browser: Browser
) -> None:
    with open_page(browser, fleet.http_url(), PHONE) as (page, console):
        sign_up_in_page(page, "phone")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page scrolls sideways at phone width ({width}px)"
        first = page.locator("[data-column=submitted]").bounding_box()
        second = page.locator("[data-column=assigned]").bounding_box()
        assert first and second and second["y"] >= first["y"] + first["height"], "columns stack at phone width"

        # keyboard only: Tab to "New task", Enter, type, Enter
        for _ in range(40):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.textContent") == "New task":
                break
        else:
            pytest.fail("Tab never reached the New task button")
        page.keyboard.press("Enter")
        expect(page.get_by_label("Title")).to_be_focused()
        page.keyboard.type("Typed without a mouse")
        page.keyboard.press("Enter")
        task = page.locator(".task-card", has_text="Typed without a mouse")
        expect(task).to_be_visible(timeout=30_000)
        # once it has stopped moving (a card that changes column is a new element, and the focus
        # stays behind), its link is reachable with Tab too
        expect(page.locator("[data-column=done] .task-card", has_text="Typed without a mouse")).to_be_visible(
            timeout=60_000
        )
        for _ in range(60):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.textContent") == "Typed without a mouse":
                break
        else:
            pytest.fail("Tab never reached the task's card")
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Typed without a mouse")).to_be_visible()
        assert console.errors == []
