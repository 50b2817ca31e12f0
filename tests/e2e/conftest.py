"""One fleet of real processes shared by the e2e tests of a module."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

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
        email = f"e2e-{uuid.uuid4().hex[:8]}@example.com"
        r = c.post("/api/v1/auth/register", json={"email": email, "password": "correct horse battery"})
        assert r.status_code == 201, r.text
        body = r.json()
        c.headers["Authorization"] = f"Bearer {body['access_token']}"
        c.headers["X-Test-Workspace"] = body["workspace"]["id"]
        yield c


def run_dir(fleet: Fleet) -> Path:
    return fleet.run_dir
