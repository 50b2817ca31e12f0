"""``vapora workflows ...``: templates and runs from the command line (through the gateway only).

    vapora workflows list
    vapora workflows run <workflow> --title "..." [--description "..."] [--watch]
    vapora workflows show <run id>
    vapora workflows watch <run id>     # stage by stage, until the run ends or waits for a person
    vapora workflows approve <run id> [--gate g] [--comment "..."]
    vapora workflows reject <run id> --comment "..." [--gate g]
    vapora workflows cancel|pause|resume <run id> [--reason "..."]

``watch`` follows the workspace's event stream (workflow events, resumed with Last-Event-ID after
a drop) and reads the run again on each of its changes, so what it prints is the run as stored.
"""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console
from rich.table import Table

from vapora_api_gateway.cli_api import Api
from vapora_api_gateway.cli_tables import state_text

FINAL = ("succeeded", "failed", "cancelled")


def add_parser(sub: Any, new_work: argparse.ArgumentParser) -> None:
    """``vapora workflows``; ``new_work``: the options ``run`` shares with ``tasks create``."""
    wf = sub.add_parser("workflows", help="workflow templates and runs").add_subparsers(dest="action", required=True)
    listing = wf.add_parser("list", help="the templates a workspace can run")
    listing.add_argument("--workspace", default="")
    start = wf.add_parser("run", help="start a run of a workflow", parents=[new_work])
    start.add_argument("workflow")
    start.add_argument("--title", required=True)
    start.add_argument("--watch", action="store_true", help="then follow it until it ends or waits for approval")
    runs = wf.add_parser("runs", help="runs of a workspace, newest first")
    runs.add_argument("--workspace", default="")
    runs.add_argument("--state", default="")
    for name, text in (("show", "one run, stage by stage"), ("watch", "follow a run until it ends or waits")):
        wf.add_parser(name, help=text).add_argument("run_id")
    for name in ("approve", "reject"):
        gate = wf.add_parser(name, help=f"{name} the gate a run waits at")
        gate.add_argument("run_id")
        gate.add_argument("--gate", default="", help="default: the one gate waiting")
        gate.add_argument("--comment", default="", required=name == "reject")
    for name in ("cancel", "pause", "resume"):
        control = wf.add_parser(name, help=f"{name} a run")
        control.add_argument("run_id")
        control.add_argument("--reason", default="")


def _stage_table(run: dict[str, Any]) -> Table:
    table = Table(title=f"run {run['id']} of {run['workflow']}: {run['title']} ({run['state']})")
    for col in ("stage", "state", "attempt", "agent", "task", "needs", "detail"):
        table.add_column(col)
    for s in run["stages"]:
        table.add_row(
            str(s["id"]),
            state_text(str(s["state"])),
            str(s["attempt"] or "-"),
            str(s.get("agent_id") or "-"),
            str(s.get("task_id") or "-"),
            ", ".join(s.get("needs") or []) or "-",
            str(s.get("detail") or ""),
        )
    return table


def _gate_hint(run: dict[str, Any], console: Console) -> None:
    waiting = [s["id"] for s in run["stages"] if s["state"] == "waiting_approval"]
    for gate in waiting:
        console.print(f"run {run['id']} waits for approval at gate [bold]{gate}[/]:")
        console.print(f'  vapora workflows approve {run["id"]} --gate {gate} [--comment "..."]')
        console.print(f'  vapora workflows reject {run["id"]} --gate {gate} --comment "what to change"')


def watch(api: Api, run_id: str, console: Console) -> int:
    """Print each stage change until the run ends or waits for approval; 0 unless it failed or was cancelled."""
    seen: dict[str, tuple[str, int]] = {}
    run: dict[str, Any] = {}

    def reread() -> bool:
        nonlocal run
        run = api.call("GET", f"/api/v1/workflow-runs/{run_id}")
        for s in run["stages"]:
            now = (str(s["state"]), int(s["attempt"]))
            if seen.get(s["id"]) != now:
                seen[s["id"]] = now
                who = f" by {s['agent_id']}" if s.get("agent_id") else ""
                attempt = f" (attempt {s['attempt']})" if int(s["attempt"]) > 1 else ""
                detail = f": {s['detail']}" if s.get("detail") and s["state"] != "running" else ""
                console.print(f"  {s['id']:<12} {state_text(str(s['state']))}{who}{attempt}{detail}")
        return run["state"] in FINAL or run["state"] == "waiting_approval"

    if not reread():
        events = api.events(run["workspace_id"], on_connect=reread, on_idle=reread, kinds=("workflow",))
        try:
            for event in events:
                if event.get("run_id") == run_id and reread():
                    break
        finally:
            events.close()
    console.print(f"run {run_id} {state_text(str(run['state']))}" + (f": {run['detail']}" if run.get("detail") else ""))
    _gate_hint(run, console)
    return 1 if run["state"] in ("failed", "cancelled") else 0


def run_command(api: Api, args: argparse.Namespace, console: Console) -> int:
    action = args.action
    if action == "list":
        out = api.call("GET", "/api/v1/workflows", params={"workspace_id": api.workspace(args.workspace)})
        table = Table("workflow", "from", "stages", "description", title=f"workflows ({len(out['items'])})")
        for t in out["items"]:
            stages = " → ".join(s["id"] for s in t["stages"])
            table.add_row(
                str(t["name"]), "shared" if t["workspace_id"] is None else "workspace", stages, t["description"]
            )
        console.print(table)
        return 0
    if action == "run":
        body = {
            "workflow": args.workflow,
            "title": args.title,
            "description": args.description,
            "project_id": args.project,
            "workspace_id": api.workspace(args.workspace),
        }
        run = api.call("POST", "/api/v1/workflow-runs", json_body=body)
        console.print(f"started run [bold]{run['id']}[/] of {run['workflow']} ({run['state']})")
        return watch(api, str(run["id"]), console) if args.watch else 0
    if action == "runs":
        params = {"workspace_id": api.workspace(args.workspace), "state": args.state}
        out = api.call("GET", "/api/v1/workflow-runs", params=params)
        table = Table("run", "workflow", "title", "state", "created", title=f"workflow runs ({len(out['items'])})")
        for r in out["items"]:
            table.add_row(
                str(r["id"]), str(r["workflow"]), str(r["title"]), state_text(str(r["state"])), str(r["created_at"])
            )
        console.print(table)
        return 0
    if action == "show":
        run = api.call("GET", f"/api/v1/workflow-runs/{args.run_id}")
        console.print(_stage_table(run))
        _gate_hint(run, console)
        return 0
    if action == "watch":
        return watch(api, args.run_id, console)
    if action in ("approve", "reject"):
        body = {"stage_id": args.gate, "comment": args.comment}
        run = api.call("POST", f"/api/v1/workflow-runs/{args.run_id}/{action}", json_body=body)
        console.print(f"run [bold]{run['id']}[/] {state_text(str(run['state']))} after {action}")
        return 0
    run = api.call("POST", f"/api/v1/workflow-runs/{args.run_id}/{action}", json_body={"reason": args.reason})
    console.print(f"run [bold]{run['id']}[/] {state_text(str(run['state']))}")
    return 0
