"""``vapora``: the command line of Vapora (login, tasks with live progress, agents, learning, budgets,
workflows: ``cli_workflows.py``).

It talks only to the api-gateway (``--url`` / ``VAPORA_URL``, remembered at login).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import urllib.parse
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from vapora_api_gateway import cli_code, cli_workflows
from vapora_api_gateway.cli_api import Api, CliError, Config
from vapora_api_gateway.cli_tables import state_text, steps_table
from vapora_api_gateway.cli_tables import task_table as _task_table
from vapora_api_gateway.states import RANK, TERMINAL

FIELDS = (
    "state",
    "agent_id",
    "provider",
    "model",
    "result",
    "execution_id",
    "task_type",
    "title",
    "priority",
    "updated_at",
    "history",
    "step",
)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vapora", description="Vapora from the command line (talks to the api-gateway).")
    p.add_argument("--url", default=os.environ.get("VAPORA_URL", ""), help="gateway URL (default: the one of login)")
    sub = p.add_subparsers(dest="command", required=True)

    login = sub.add_parser("login", help="log in (or --register) and keep the tokens")
    login.add_argument("--email", required=True)
    login.add_argument(
        "--password",
        default=os.environ.get("VAPORA_PASSWORD", ""),
        help="default: $VAPORA_PASSWORD, else asked for (or read from stdin when it is not a terminal)",
    )
    login.add_argument("--register", action="store_true", help="create the account first")
    sub.add_parser("logout", help="forget the stored tokens")
    sub.add_parser("whoami", help="who you are logged in as, and your workspaces")

    tasks = sub.add_parser("tasks", help="submit, list, show, watch and cancel tasks").add_subparsers(
        dest="action", required=True
    )
    new_work = argparse.ArgumentParser(add_help=False)  # the options of a new task and of a new run
    new_work.add_argument("--description", default="")
    new_work.add_argument("--project", default="")
    new_work.add_argument("--workspace", default="")
    create = tasks.add_parser("create", help="submit a task", parents=[new_work])
    create.add_argument("title")
    create.add_argument("--type", dest="task_type", default="")
    create.add_argument("--priority", choices=("critical", "high", "normal", "low"), default="normal")
    create.add_argument("--watch", action="store_true", help="then follow it until it finishes")
    listing = tasks.add_parser("list", help="tasks of a workspace, newest first")
    listing.add_argument("--workspace", default="")
    listing.add_argument("--state", default="")
    listing.add_argument("--type", dest="task_type", default="")
    listing.add_argument("--limit", type=int, default=20)
    listing.add_argument("--all", action="store_true", help="follow the cursor through every page")
    show = tasks.add_parser("show", help="one task with its history")
    show.add_argument("task_id")
    cancel = tasks.add_parser("cancel", help="cancel a task: it is never assigned, or its job is stopped")
    cancel.add_argument("task_id")
    cancel.add_argument("--reason", default="")
    watch = tasks.add_parser("watch", help="live progress of tasks (one task, or the whole workspace)")
    watch.add_argument("task_id", nargs="?", default="")
    watch.add_argument("--workspace", default="")
    watch.add_argument("--after", type=int, default=None, help="replay events after this event id first")

    agents = sub.add_parser("agents", help="agents of the swarm")
    agents.add_argument("--role", default="")
    agents.add_argument("--capability", default="")
    agents.add_argument("--workspace", default="", help="ask as this workspace (also lists the agents private to it)")
    learning = sub.add_parser("learning", help="what the swarm learned about an agent, per task type")
    learning.add_argument("agent_id")
    learning.add_argument("--type", dest="task_type", default="", help="also the daily learning curve of this type")
    learning.add_argument("--days", type=int, default=30, help="days of the curve (1-365)")
    learning.add_argument("--workspace", default="", help="ask as this workspace (agents private to it)")
    budgets = sub.add_parser("budgets", help="LLM budgets per role")
    budgets.add_argument("--role", default="")
    cli_code.add_commands(sub, tasks)
    cli_workflows.add_parser(sub, new_work)
    return p


def _password(args: argparse.Namespace) -> str:
    """--password or $VAPORA_PASSWORD; else the first line of stdin when it is not a terminal
    (``echo "$PW" | vapora login ...``); else a prompt."""
    if args.password:
        return str(args.password)
    if not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CliError("no password: pass --password, set VAPORA_PASSWORD, or give it on stdin")
        return password
    return getpass.getpass("password: ")


def _login(api: Api, args: argparse.Namespace, console: Console) -> int:
    password = _password(args)
    body = api.login(args.email, password, register=args.register)
    console.print(f"logged in as [bold]{body['user']['email']}[/] at {api.config.url}")
    return 0


def _whoami(api: Api, console: Console) -> int:
    items = api.call("GET", "/api/v1/workspaces")["items"]
    console.print(f"{api.config.email or '(unknown user)'} at {api.config.url}")
    table = Table("workspace", "name", "role")
    for w in items:
        mark = " *" if w["id"] == api.config.workspace_id else ""
        table.add_row(str(w["id"]) + mark, str(w["name"]), str(w.get("role", "")))
    console.print(table)
    return 0


def _list(api: Api, args: argparse.Namespace, console: Console) -> int:
    ws = api.workspace(args.workspace)
    params: dict[str, Any] = {"workspace_id": ws, "state": args.state, "task_type": args.task_type, "limit": args.limit}
    items: list[dict[str, Any]] = []
    while True:
        page = api.call("GET", "/api/v1/tasks", params=params)
        items += page["items"]
        if not args.all or not page.get("next_cursor"):
            break
        params["cursor"] = page["next_cursor"]
    console.print(_task_table(items, f"tasks of {ws} ({len(items)})"))
    return 0


def _show(api: Api, task_id: str, console: Console) -> int:
    t = api.call("GET", f"/api/v1/tasks/{task_id}")
    console.print(_task_table([t]))
    history = Table("state", "at", "agent", "detail", title="history")
    for h in t.get("history", []):
        history.add_row(
            state_text(str(h["state"])), str(h["at"]), str(h.get("agent_id") or "-"), str(h.get("detail", ""))
        )
    console.print(history)
    _steps(api, task_id, console)
    if t.get("result"):
        console.print(f"[bold]result[/] ({t.get('provider')}/{t.get('model')}):\n{t['result']}")
    return 0


def _steps(api: Api, task_id: str, console: Console) -> None:
    """The task's transcript, every page; a knowledge graph that cannot answer is one line, not a failure."""
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"page_size": 1000}
    try:
        while True:
            page = api.call("GET", f"/api/v1/tasks/{task_id}/steps", params=params)
            items += page["items"]
            if not page.get("next_page_token"):
                break
            params["page_token"] = page["next_page_token"]
    except CliError as exc:
        console.print(f"steps: not available now ({exc})")
        return
    console.print(steps_table(items, page.get("summary")) if items else "steps: none yet")


def _watch_task(api: Api, task_id: str, console: Console) -> int:
    """Follow one task until it finishes; the task is re-read on (re)connect so nothing is missed."""
    task: dict[str, Any] = api.call("GET", f"/api/v1/tasks/{task_id}")
    if task["state"] in TERMINAL:
        return _show(api, task_id, console)

    def merge(update: dict[str, Any]) -> None:
        """Apply a newer view of the task; a state never moves back (the read model may lag the stream)."""
        if RANK.get(str(update.get("state")), 0) < RANK.get(str(task["state"]), 0):
            return
        task.update({k: v for k, v in update.items() if k in FIELDS and v not in (None, "")})
        if update.get("step"):  # a step started: the tools it calls, none for a model turn
            task["tool"] = update.get("tool") or ""

    with Live(_task_table([task]), console=console, refresh_per_second=8, transient=False) as live:

        def reread() -> bool:
            """The task as stored (it may have finished before the stream connected); True once it has."""
            merge(api.call("GET", f"/api/v1/tasks/{task_id}"))
            live.update(_task_table([task]))
            return task["state"] in TERMINAL

        events = api.events(str(task["workspace_id"]), on_connect=reread, on_idle=reread)
        try:
            for event in events:
                if event["task_id"] == task_id:
                    merge(event)
                    if event.get("state") == "running" and event.get("step"):
                        doing = f"calling {event['tool']}" if event.get("tool") else "model turn"
                        live.console.print(f"  step {event['step']}: {doing}")
                live.update(_task_table([task]))
                if task["state"] in TERMINAL:
                    break
        finally:
            events.close()
    console.print(
        f"task {task_id} {state_text(str(task['state']))}"
        + (f" by {task['agent_id']} ({task['provider']}/{task['model']})" if task.get("agent_id") else "")
    )
    if task.get("result"):
        console.print(str(task["result"]))
    return 0 if task["state"] == "done" else 1


def _watch_workspace(api: Api, args: argparse.Namespace, console: Console) -> int:
    ws = api.workspace(args.workspace)
    seen: dict[str, dict[str, Any]] = {}
    with Live(_task_table([], f"events of {ws}"), console=console, refresh_per_second=8) as live:
        for event in api.events(ws, after=args.after):
            row = seen.setdefault(event["task_id"], {"id": event["task_id"], "title": "", "priority": ""})
            row.update(
                state=event["state"],
                step=event.get("step") or row.get("step"),
                tool=event.get("tool") if event.get("step") else row.get("tool"),
                agent_id=event.get("agent_id"),
                model=event.get("model"),
                task_type=event.get("task_type") or row.get("task_type"),
                updated_at=event.get("at"),
            )
            live.update(_task_table(list(seen.values()), f"events of {ws} (last id {event['id']})"))
    return 0


def _agents(api: Api, args: argparse.Namespace, console: Console) -> int:
    params = {"role": args.role, "capability": args.capability, "workspace_id": args.workspace}
    out = api.call("GET", "/api/v1/agents", params=params)
    table = Table(
        "id",
        "role",
        "workspace",
        "status",
        "load",
        "capabilities",
        "provider/model",
        "last heartbeat",
        title=f"agents ({len(out['items'])})",
    )
    for a in out["items"]:
        caps = ", ".join(f"{c['task_type']}:{float(c['proficiency']):.2f}" for c in a["capabilities"])
        table.add_row(
            str(a["id"]),
            str(a["role"]),
            str(a.get("workspace_id") or "shared"),
            str(a["status"]),
            f"{a['current_load']}/{a['max_concurrency']}",
            caps,
            f"{a.get('preferred_provider') or '-'}/{a.get('preferred_model') or '-'}",
            str(a.get("last_heartbeat") or "-"),
        )
    console.print(table)
    return 0


def _learning(api: Api, args: argparse.Namespace, console: Console) -> int:
    agent = urllib.parse.quote(args.agent_id, safe="")
    ws = api.workspace(args.workspace)
    out = api.call("GET", f"/api/v1/agents/{agent}/profiles", params={"workspace_id": ws})
    table = Table(
        "task type", "expertise", "confidence", "ok/runs", "quality", "latency", "cost ¢",
        title=f"learning profiles of {args.agent_id}",
    )  # fmt: skip
    for p in out["items"]:
        table.add_row(
            str(p["task_type"]),
            f"{p['expertise']:.3f}",
            f"{p['confidence']:.2f}",
            f"{p['successes']}/{p['executions']}",
            f"{p['mean_quality']:.2f}",
            f"{p['mean_latency_ms']:.0f} ms",
            f"{p['mean_cost_cents']:.2f}",
        )
    console.print(table if out["items"] else f"no executions of {args.agent_id} recorded yet")
    if not args.task_type:
        return 0
    task_type = urllib.parse.quote(args.task_type, safe="")
    c = api.call(
        "GET", f"/api/v1/agents/{agent}/profiles/{task_type}/curve", params={"days": str(args.days), "workspace_id": ws}
    )
    curve = Table(
        "day", "executions", "successes", "success rate", "quality", title=f"{args.task_type}, last {c['days']} days"
    )
    for pt in c["points"]:
        curve.add_row(
            str(pt["day"]),
            str(pt["executions"]),
            str(pt["successes"]),
            f"{100 * pt['success_rate']:.0f}%",
            f"{pt['mean_quality']:.2f}",
        )
    console.print(curve)
    return 0


def _budgets(api: Api, args: argparse.Namespace, console: Console) -> int:
    out = api.call("GET", "/api/v1/budgets", params={"role": args.role})
    table = Table("role", "state", "window", "spent ¢", "reserved ¢", "limit ¢", "used", title="LLM budgets")
    for b in out["items"]:
        for w in b["windows"] or [{}]:
            table.add_row(
                str(b["role"]),
                str(b["state"]),
                str(w.get("window", "-")),
                f"{w.get('spent_cents', 0):.2f}",
                f"{w.get('reserved_cents', 0):.2f}",
                f"{w.get('limit_cents', 0):.2f}",
                f"{100 * float(w.get('utilization', 0)):.0f}%",
            )
    console.print(table)
    return 0


def run(argv: Sequence[str] | None = None, console: Console | None = None) -> int:
    args = _parser().parse_args(argv)
    console = console or Console()
    err = Console(stderr=True) if console.file is sys.stdout else console
    config = Config.load()
    if args.url:
        config.url = args.url
    if args.command == "logout":
        config.access_token = config.refresh_token = config.workspace_id = ""
        config.save()
        console.print("logged out")
        return 0
    api = Api(config)
    try:
        if args.command == "login":
            return _login(api, args, console)
        if args.command == "whoami":
            return _whoami(api, console)
        if args.command == "agents":
            return _agents(api, args, console)
        if args.command == "learning":
            return _learning(api, args, console)
        if args.command == "budgets":
            return _budgets(api, args, console)
        if args.command == "projects":
            return cli_code.projects(api, args, console)
        if args.action == "diff":
            return cli_code.diff(api, args.task_id, console)
        if args.command == "workflows":
            return cli_workflows.run_command(api, args, console)
        if args.action == "create":
            ws = api.workspace(args.workspace)
            t = api.call(
                "POST",
                "/api/v1/tasks",
                json_body={
                    "title": args.title,
                    "description": args.description,
                    "task_type": args.task_type,
                    "priority": args.priority,
                    "project_id": args.project,
                    "workspace_id": ws,
                },
            )
            console.print(f"submitted task [bold]{t['id']}[/] ({t['state']})")
            return _watch_task(api, str(t["id"]), console) if args.watch else 0
        if args.action == "list":
            return _list(api, args, console)
        if args.action == "show":
            return _show(api, args.task_id, console)
        if args.action == "cancel":
            t = api.call("POST", f"/api/v1/tasks/{args.task_id}/cancel", json_body={"reason": args.reason})
            console.print(f"task [bold]{t['id']}[/] {state_text(str(t['state']))}")
            return 0
        if args.task_id:
            return _watch_task(api, args.task_id, console)
        return _watch_workspace(api, args, console)
    except CliError as exc:
        err.print(f"[red]error:[/] {exc}")
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        api.close()


def main() -> None:
    sys.exit(run())
