"""Helpers for driving the fleet from e2e tests."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx

TERMINAL = {"done", "failed", "cancelled"}


def submit(client: httpx.Client, **fields: Any) -> dict[str, Any]:
    r = client.post("/api/v1/tasks", json=fields)
    assert r.status_code == 201, r.text
    return dict(r.json())


def wait_terminal(client: httpx.Client, task_id: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        r = client.get(f"/api/v1/tasks/{task_id}")
        assert r.status_code == 200, r.text
        last = r.json()
        if last["state"] in TERMINAL:
            return last
        time.sleep(0.1)
    raise AssertionError(f"task {task_id} did not finish in {timeout}s; last seen: {last}")


def spans(traces_file: Path) -> list[dict[str, Any]]:
    if not traces_file.exists():
        return []
    return [json.loads(line) for line in traces_file.read_text().splitlines() if line.strip()]
