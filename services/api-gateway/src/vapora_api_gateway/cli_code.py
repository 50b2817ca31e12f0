"""``vapora projects attach-repo|repo`` and ``vapora tasks diff``: a project's repository and a task's diff."""

from __future__ import annotations

import argparse
import urllib.parse
from typing import Any

from rich.console import Console
from rich.table import Table

from vapora_api_gateway.cli_api import Api, CliError


def add_commands(sub: Any, tasks: Any) -> None:
    """The parsers: ``projects`` (a new command) and ``tasks diff``."""
    projects = sub.add_parser("projects", help="a project's git repository").add_subparsers(
        dest="action", required=True
    )
    attach = projects.add_parser("attach-repo", help="attach the project's git repository (admins)")
    attach.add_argument("project_id")
    where = attach.add_mutually_exclusive_group(required=True)
    where.add_argument("--path", help="an existing repository on the gateway's machine (absolute path)")
    where.add_argument("--url", help="a remote to clone (credentials come from the server's settings)")
    where.add_argument("--bare", action="store_true", help="let Vapora make an empty repository")
    attach.add_argument("--test-command", default="", help="the project's test command")
    attach.add_argument("--check", action="append", default=[], metavar="NAME=COMMAND", help="a named check")
    attach.add_argument("--default-branch", default="", help="the branch jobs start from")
    show = projects.add_parser("repo", help="the project's git repository")
    show.add_argument("project_id")
    diff = tasks.add_parser("diff", help="the unified diff of a task's commit")
    diff.add_argument("task_id")


def _checks(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, command = pair.partition("=")
        if not sep or not name.strip() or not command.strip():
            raise CliError(f"--check {pair!r}: give NAME=COMMAND")
        out[name.strip()] = command.strip()
    return out


def _repository_table(r: dict[str, Any]) -> Table:
    table = Table("field", "value", title=f"repository of project {r['project_id']}")
    for key in ("kind", "path", "url", "default_branch", "head", "test_command", "attached_at", "attached_by"):
        if r.get(key):
            table.add_row(key, str(r[key]))
    for name, command in sorted(r.get("checks", {}).items()):
        table.add_row(f"check {name}", command)
    return table


def projects(api: Api, args: argparse.Namespace, console: Console) -> int:
    path = f"/api/v1/projects/{urllib.parse.quote(args.project_id, safe='')}/repository"
    if args.action == "repo":
        console.print(_repository_table(api.call("GET", path)))
        return 0
    kind = "local" if args.path else "remote" if args.url else "bare"
    body: dict[str, Any] = {
        "kind": kind,
        "test_command": args.test_command,
        "checks": _checks(args.check),
        "default_branch": args.default_branch,
    }
    if args.path:
        body["path"] = args.path
    if args.url:
        body["url"] = args.url
    r = api.call("PUT", path, json_body=body)
    console.print(f"attached the {kind} repository {r['url'] or r['path']} (head {r['head'][:12]})")
    console.print(_repository_table(r))
    return 0


def diff(api: Api, task_id: str, console: Console) -> int:
    resp = api.request("GET", f"/api/v1/tasks/{urllib.parse.quote(task_id, safe='')}/diff")
    h = resp.headers
    if not h.get("X-Vapora-Commit"):
        console.print(f"task {task_id} changed nothing (branch {h.get('X-Vapora-Branch', '-')})")
        return 0
    console.print(
        f"commit {h['X-Vapora-Commit']} on {h['X-Vapora-Branch']} (from {h['X-Vapora-Base'][:12]}): "
        f"{h['X-Vapora-Files-Changed']} files, +{h['X-Vapora-Insertions']} -{h['X-Vapora-Deletions']}",
        highlight=False,
    )
    console.print(resp.text, markup=False, highlight=False, end="")
    if h.get("X-Vapora-Truncated") == "true":
        console.print("(the diff is cut: it is longer than the gateway returns)")
    return 0
