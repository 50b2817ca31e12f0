"""Headless Chromium (Debian's ``chromium``) driven by Playwright, for the web UI's tests,
``just screenshots`` and ``bench/bench_ui.py``."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery"  # noqa: S105 - the test accounts' password
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def launch(pw: Playwright) -> Browser:
    path = shutil.which("chromium")
    if path is None:
        raise RuntimeError("Debian's chromium is needed (scripts/install-ci-packages.sh installs it)")
    return pw.chromium.launch(executable_path=path, args=ARGS)


@dataclass
class Console:
    """What the page said in its console that is not the network's 4xx log lines (those are the
    API answering, shown on the page as problems): CSP refusals, script errors."""

    errors: list[str] = field(default_factory=list)

    def on_message(self, msg: ConsoleMessage) -> None:
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            self.errors.append(msg.text)

    def on_error(self, error: Exception) -> None:
        self.errors.append(f"uncaught: {error}")


@contextmanager
def open_page(browser: Browser, base_url: str, viewport: dict[str, int] = DESKTOP) -> Iterator[tuple[Page, Console]]:
    """A fresh browser context (its own cookies); its console must stay free of errors."""
    context = browser.new_context(base_url=base_url, viewport=viewport)  # type: ignore[arg-type]
    page = context.new_page()
    console = Console()
    page.on("console", console.on_message)
    page.on("pageerror", console.on_error)
    try:
        yield page, console
    finally:
        context.close()


def email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.com"


def sign_up_in_page(page: Page, prefix: str, name: str = "") -> str:
    """Sign up through the page; back on the board once it is ready."""
    address = email(prefix)
    page.goto("/signup")
    page.get_by_label("Email").fill(address)
    page.get_by_label("Name").fill(name or prefix.title())
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_selector("[data-board=ready]")
    return address


def sign_in_in_page(page: Page, address: str) -> None:
    page.goto("/signin")
    page.get_by_label("Email").fill(address)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("[data-board=ready]")


def register(client: httpx.Client, prefix: str) -> dict[str, str]:
    """A person registered through the API: email, token, workspace id."""
    address = email(prefix)
    r = client.post("/api/v1/auth/register", json={"email": address, "password": PASSWORD, "display_name": prefix})
    assert r.status_code == 201, r.text
    body = r.json()
    return {"email": address, "token": body["access_token"], "workspace_id": body["workspace"]["id"]}


def add_member(client: httpx.Client, owner: dict[str, str], member: dict[str, str], role: str) -> None:
    """Make ``member`` (a person from :func:`register`) a ``role`` of ``owner``'s workspace."""
    r = client.post(
        f"/api/v1/workspaces/{owner['workspace_id']}/members",
        json={"email": member["email"], "role": role},
        headers=as_user(owner["token"]),
    )
    assert r.status_code == 201, r.text


def as_user(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
