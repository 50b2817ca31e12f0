"""Send one sample task through the running fleet and print its path.

Used by `just up` (after the fleet starts) and `just demo`. Talks only to the api-gateway,
then reads the local trace file to show which services the task's trace crossed.
"""

from __future__ import annotations

import json
import os
import sys
import time

import httpx

from vapora_testing.repo import run_dir

GATEWAY = os.environ.get("VAPORA_GATEWAY_URL", "http://127.0.0.1:8080")
EMAIL, PASSWORD = "demo@vapora.local", "vapora-demo-password"


def login(client: httpx.Client) -> None:
    r = client.post("/api/v1/auth/register", json={"email": EMAIL, "password": PASSWORD, "display_name": "Demo"})
    if r.status_code == 409:
        r = client.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
    r.raise_for_status()
    client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"


def trace_services(task_id: str) -> tuple[str, list[str]]:
    traces = run_dir() / "traces.jsonl"
    if not traces.exists():
        return "", []
    spans = [json.loads(line) for line in traces.read_text().splitlines() if line.strip()]
    ids = {s["trace_id"] for s in spans if s["attributes"].get("messaging.message.id") == task_id}
    if not ids:
        return "", []
    trace_id = ids.pop()
    order: list[str] = []
    for s in sorted((s for s in spans if s["trace_id"] == trace_id), key=lambda s: s["start_ns"]):
        if s["service"] not in order:
            order.append(s["service"])
    return trace_id, order


def main() -> int:
    with httpx.Client(base_url=GATEWAY, timeout=10) as client:
        login(client)
        r = client.post(
            "/api/v1/tasks",
            json={
                "title": "Design the plugin system for report exporters",
                "description": "Propose the components, extension points and data model for pluggable exporters.",
                "priority": "high",
            },
        )
        r.raise_for_status()
        task = r.json()
        print(f"\nsubmitted task {task['id']}: {task['title']!r} (priority {task['priority']})")
        seen = 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            task = client.get(f"/api/v1/tasks/{task['id']}").json()
            for step in task.get("history", [])[seen:]:
                who = f" by {step['agent_id']}" if step.get("agent_id") else ""
                detail = f" ({step['detail']})" if step.get("detail") else ""
                print(f"  {step['state']:<10}{who}{detail}")
            seen = len(task.get("history", []))
            if task["state"] in ("done", "failed", "cancelled"):
                break
            time.sleep(0.2)
        print(f"task type     {task.get('task_type') or '(inferred by the coordinator)'}")
        print(f"agent chosen  {task.get('agent_id')}")
        explain = client.get(f"/api/v1/tasks/{task['id']}/assignment")
        if explain.status_code == 200:
            score = explain.json().get("score", {})
            print("score         " + ", ".join(f"{k}={v:.3f}" for k, v in score.items() if isinstance(v, float)))
        print(f"provider      {task.get('provider')} / {task.get('model')}")
        print(f"execution     {task.get('execution_id')}")
        print(f"final status  {task['state']}")
        time.sleep(0.5)
        trace_id, services = trace_services(task["id"])
        if trace_id:
            print(f"trace         {trace_id}: {' -> '.join(services)}")
        print("\nthe fleet is still running: `just status`, `just logs`, `just down`")
        return 0 if task["state"] == "done" else 1


if __name__ == "__main__":
    sys.exit(main())
