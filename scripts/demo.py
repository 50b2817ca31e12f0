"""Send one sample task through the running fleet and print its path and its steps; attach the
sample repository (examples/sample-repo: a tiny package, one test failing) to the demo project
'Inventory' and send a coding task on it, printing its verification and diff summary; then start
one `feature` workflow run and print its stages as they progress to the approval gate.

Used by `just up` (after the fleet starts) and `just demo`. Talks only to the api-gateway (the
task, its steps: each model turn and each tool call made through mcp-gateway), then reads the
local trace file to show which services the task's trace crossed. The run is left waiting for
approval, and the commands that approve or reject it are printed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from vapora_api_gateway.cli_tables import step_what
from vapora_testing.repo import repo_root, run_dir

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


def print_steps(client: httpx.Client, task_id: str) -> None:
    """The task's transcript: what the agent's model asked for and what each tool call gave."""
    deadline = time.monotonic() + 10
    while True:  # the knowledge graph stores the execution a moment after the task is done
        body = client.get(f"/api/v1/tasks/{task_id}/steps", params={"page_size": 1000}).json()
        if body.get("summary") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    summary = body.get("summary") or {}
    ended = f", ended by {summary['stop_reason']}" if summary else ""
    verified = "" if summary.get("verified", True) else ", unverified (no model answered)"
    print(f"steps         {len(body.get('items', []))}{ended}{verified}")
    for step in body.get("items", []):
        print(f"  {step['index']:>3} {step['kind']:<5} {step_what(step)}  ({step['latency_ms']} ms)")


def demo_project(client: httpx.Client, name: str = "Report exporters") -> str:
    """The demo workspace's project ``name`` (made the first time)."""
    ws = client.get("/api/v1/workspaces").json()["items"][0]["id"]
    projects = client.get(f"/api/v1/workspaces/{ws}/projects").json()["items"]
    found = [p for p in projects if p["name"] == name]
    if found:
        return str(found[0]["id"])
    r = client.post(f"/api/v1/workspaces/{ws}/projects", json={"name": name})
    r.raise_for_status()
    return str(r.json()["id"])


def sample_repository() -> Path:
    """examples/sample-repo as a git repository in the run directory (made the first time)."""
    target = run_dir() / "sample-repo"
    if not (target / ".git").is_dir():
        shutil.copytree(repo_root() / "examples" / "sample-repo", target, dirs_exist_ok=True)
        me = ["-c", "user.name=Vapora demo", "-c", "user.email=demo@vapora.local"]
        for args in (["init", "-q", "-b", "main"], ["add", "."], [*me, "commit", "-q", "-m", "The sample package"]):
            subprocess.run(["git", *args], cwd=target, check=True)
    return target


def wait_done(client: httpx.Client, task_id: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        task: dict[str, Any] = client.get(f"/api/v1/tasks/{task_id}").json()
        if task["state"] in ("done", "failed", "cancelled") or time.monotonic() > deadline:
            return task
        time.sleep(0.3)


def code_task(client: httpx.Client, project: str) -> bool:
    """Attach the sample repository to ``project``, send a coding task on it, and print what the
    project's tests said of the job's commit and what the commit changed. With the offline
    provider nothing changes (its steps are the reads it made) and the failing test still fails: the
    task fails, unverified."""
    body = {"kind": "local", "path": str(sample_repository()), "test_command": f"{sys.executable} -m pytest -q"}
    r = client.put(f"/api/v1/projects/{project}/repository", json=body)
    r.raise_for_status()
    repo = r.json()
    print(f"\nrepository    {repo['path']} attached to the project 'Inventory' (tests: {repo['test_command']})")
    r = client.post(
        "/api/v1/tasks",
        json={
            "title": "Make low_stock include the items at the threshold",
            "description": "tests/test_stock.py::test_low_stock_includes_items_at_the_threshold fails: fix it.",
            "task_type": "coding",
            "project_id": project,
        },
    )
    r.raise_for_status()
    task = wait_done(client, r.json()["id"], timeout=180)
    print(f"coding task   {task['id']}: {task['state']} by {task.get('agent_id') or '-'}")
    print_steps(client, task["id"])  # its tool calls through mcp-gateway, in the task's worktree
    v = task.get("verification")
    if not v:
        print("verification  none recorded")
        return False
    counts = f"{v['tests_passed']} passed, {v['tests_failed']} failed" if v["counts_known"] else "no counts"
    base = f"{v['base_passed']} passed, {v['base_failed']} failed" if v["counts_known"] else "-"
    print(f"verification  {v['kind']}: `{v['command']}` exit {v['exit_code']}: {counts} (before the change: {base})")
    for name, label in (("newly_passing", "made pass"), ("newly_failing", "broke")):
        if v[name]:
            print(f"  {label}: {', '.join(v[name])}")
    if v["detail"]:
        print(f"  {v['detail']}")
    r = client.get(f"/api/v1/tasks/{task['id']}/diff")
    if r.status_code == 200:
        h = r.headers
        what = f"commit {h['X-Vapora-Commit'][:12]}" if h["X-Vapora-Commit"] else "no commit (nothing changed)"
        print(
            f"diff          {what} on {h['X-Vapora-Branch']}: {h['X-Vapora-Files-Changed']} files, "
            f"+{h['X-Vapora-Insertions']} -{h['X-Vapora-Deletions']} (vapora tasks diff {task['id']})"
        )
    return True


def run_feature(client: httpx.Client) -> bool:
    """Start a `feature` run and print each stage change until the run waits at its gate (or ends)."""
    body = {
        "workflow": "feature",
        "title": "Export reports as CSV",
        "description": "Users want every report as a CSV file, header row included.",
        "project_id": demo_project(client),
    }
    r = client.post("/api/v1/workflow-runs", json=body)
    r.raise_for_status()
    run = r.json()
    print(f"\nstarted workflow run {run['id']} of {run['workflow']!r}: {run['title']!r} (branch {run['branch']})")
    seen: dict[str, tuple[str, int]] = {}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for st in run["stages"]:
            now = (st["state"], st["attempt"])
            if seen.get(st["id"]) != now and st["state"] != "pending":
                seen[st["id"]] = now
                who = f" by {st['agent_id']}" if st.get("agent_id") else ""
                print(f"  {st['id']:<10} {st['state']:<17}{who}")
        if run["state"] != "running":
            break
        time.sleep(0.3)
        run = client.get(f"/api/v1/workflow-runs/{run['id']}").json()
    print(f"workflow run  {run['state']}" + (f": {run['detail']}" if run.get("detail") else ""))
    if run["state"] != "waiting_approval":
        return False
    print(
        f"it waits for a person at gate 'approve' (it holds no worker). Approve it with:\n"
        f"  echo {PASSWORD} | uv run vapora login --email {EMAIL}\n"
        f'  uv run vapora workflows approve {run["id"]} --comment "ship it"\n'
        f"or reject it (the developer's stage runs again with the comment):\n"
        f'  uv run vapora workflows reject {run["id"]} --comment "what to change"'
    )
    return True


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
        print_steps(client, task["id"])
        time.sleep(0.5)
        trace_id, services = trace_services(task["id"])
        if trace_id:
            print(f"trace         {trace_id}: {' -> '.join(services)}")
        verified = code_task(client, demo_project(client, "Inventory"))
        waiting = run_feature(client)
        print("\nthe fleet is still running: `just status`, `just logs`, `just down`")
        return 0 if task["state"] == "done" and verified and waiting else 1


if __name__ == "__main__":
    sys.exit(main())
