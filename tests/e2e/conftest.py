"""One fleet of real processes shared by the e2e tests of a module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.helpers import sign_up
from vapora_testing.fleet import Fleet


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    f = Fleet(run_dir=tmp_path_factory.mktemp("fleet"))
    try:
        f.start(timeout=120)
        yield f
    finally:
        f.stop()


@pytest.fixture(scope="module")
def client(fleet: Fleet) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fleet.http_url(), timeout=10) as c:
        c.headers["X-Test-Workspace"] = sign_up(c)["workspace"]["id"]
        yield c


def run_dir(fleet: Fleet) -> Path:
    return fleet.run_dir
