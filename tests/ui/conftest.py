"""The web UI in a real browser against the whole fleet: one fleet and one Chromium for every module (each test signs up its own workspace)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright

from vapora_testing.browser import launch
from vapora_testing.fleet import Fleet


@pytest.fixture(scope="session")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    f = Fleet(run_dir=tmp_path_factory.mktemp("ui-fleet"))
    try:
        f.start(timeout=120)
        yield f
    finally:
        f.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        b = launch(pw)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def api(fleet: Fleet) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fleet.http_url(), timeout=10) as c:
        yield c
