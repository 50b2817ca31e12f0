"""How the CLI draws tasks and their steps (rich tables)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich.table import Table

COLORS = {  # the states of tasks, of workflow runs and of their stages and gates
    "submitted": "white",
    "pending": "white",
    "ready": "white",
    "assigned": "cyan",
    "waiting_approval": "cyan",
    "running": "yellow",
    "done": "green",
    "approved": "green",
    "succeeded": "green",
    "failed": "red",
    "rejected": "red",
    "cancelled": "magenta",
    "skipped": "magenta",
    "paused": "blue",
}


def state_text(state: str) -> str:
    return f"[{COLORS.get(state, 'white')}]{state}[/]"


def progress_text(task: dict[str, Any]) -> str:
    """``3 workspace.read_file`` / ``4 model`` while a step runs; ``-`` otherwise."""
    if task.get("state") != "running" or not task.get("step"):
        return "-"
    return f"{task['step']} {task.get('tool') or 'model'}"


def task_table(tasks: Sequence[dict[str, Any]], title: str = "") -> Table:
    table = Table(title=title or None)
    for col in ("id", "title", "type", "priority", "state", "step", "agent", "model", "updated"):
        table.add_column(col)
    for t in tasks:
        table.add_row(
            str(t["id"]),
            str(t.get("title", "")),
            str(t.get("task_type") or "-"),
            str(t.get("priority", "")),
            state_text(str(t["state"])),
            progress_text(t),
            str(t.get("agent_id") or "-"),
            str(t.get("model") or "-"),
            str(t.get("updated_at", "")),
        )
    return table


def _arguments(raw: str, limit: int = 60) -> str:
    try:
        value = json.loads(raw) if raw else {}
        text = ", ".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else raw
    except ValueError:
        text = raw
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first_line(text: str, limit: int = 80) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def step_what(s: dict[str, Any]) -> str:
    """One line about a step: what the model asked for or said, or what a tool call gave."""
    if s["kind"] == "model":
        calls = [f"{c['tool']}({_arguments(c['arguments_json'])})" for c in s.get("calls", [])]
        said = f"asks {', '.join(calls)}" if calls else f'answers "{_first_line(s.get("text", ""))}"'
        return f"{s.get('provider')}/{s.get('model')}: {said}"
    call = f"{s.get('tool')}({_arguments(s.get('arguments_json', ''))})"
    if s.get("is_error"):
        return f"{call} failed: {_first_line(s.get('error') or s.get('result', ''))}"
    cut = " (cut)" if s.get("truncated") else ""
    return f'{call} → "{_first_line(s.get("result", ""), 60)}"{cut}'


def steps_table(steps: Sequence[dict[str, Any]], summary: dict[str, Any] | None) -> Table:
    ended = f", ended: {summary['stop_reason']}" if summary else ", running"
    table = Table("#", "kind", "step", "ms", "tokens", "¢", title=f"steps ({len(steps)}{ended})")
    for s in steps:
        tokens = f"{s.get('input_tokens', 0)}/{s.get('output_tokens', 0)}" if s["kind"] == "model" else ""
        cost = f"{float(s.get('cost_cents', 0.0)):.3f}" if s["kind"] == "model" else ""
        table.add_row(str(s["index"]), str(s["kind"]), step_what(s), str(s.get("latency_ms", 0)), tokens, cost)
    return table
