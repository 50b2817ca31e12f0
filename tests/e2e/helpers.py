"""Helpers for driving the fleet from e2e tests."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx

from vapora_testing.polling import eventually_sync

TERMINAL = {"done", "failed", "cancelled"}


def sign_up(client: httpx.Client, prefix: str = "e2e") -> dict[str, Any]:
    """Register a fresh person (and their workspace); ``client`` acts as them from now on."""
    email = f"{prefix}-{uuid.uuid4().hex[:8]}@example.com"
    r = client.post("/api/v1/auth/register", json={"email": email, "password": "correct horse battery"})
    assert r.status_code == 201, r.text
    body = dict(r.json())
    client.headers["Authorization"] = f"Bearer {body['access_token']}"
    return body


def submit(client: httpx.Client, **fields: Any) -> dict[str, Any]:
    r = client.post("/api/v1/tasks", json=fields)
    assert r.status_code == 201, r.text
    return dict(r.json())


def wait_terminal(client: httpx.Client, task_id: str, timeout: float = 60.0) -> dict[str, Any]:
    def read() -> dict[str, Any]:
        r = client.get(f"/api/v1/tasks/{task_id}")
        assert r.status_code == 200, r.text
        return dict(r.json())

    return eventually_sync(
        read, timeout=timeout, interval=0.1, what=f"task {task_id} to finish", until=lambda t: t["state"] in TERMINAL
    )


def spans(traces_file: Path) -> list[dict[str, Any]]:
    if not traces_file.exists():
        return []
    return [json.loads(line) for line in traces_file.read_text().splitlines() if line.strip()]
