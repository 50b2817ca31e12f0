"""The offline provider's tool use: a fixed, read-only exploration, derived from the conversation.

Tools are chosen by name and filled from their JSON schemas, never by chance:

- a tool whose name has a word that suggests writing (write, edit, create, delete, move,
  commit, run, shell, …, see :data:`WRITE_WORDS`) is never called;
- *list* tools (list, ls, directory, tree), *read* tools (read, cat, view, show, get) and
  *search* tools (search, grep, find) are the candidates: the usable one named with the earliest
  of those words (``read_text_file`` before ``get_file_info``), then one that takes a path rather
  than a list of paths (before ``read_multiple_files``), then the first in request order;
- required parameters are filled by name: path-like ones (path, file, dir, …) with ``.`` or a
  file the listing showed, query-like ones (query, pattern, …) with the longest word of the
  task's title; a tool with any other required parameter is not usable. A search whose tool or
  parameter says it takes a glob (the reference filesystem server's ``search_files`` matches
  names, not contents) gets ``**/*<word>*``: the files named like the word.

The steps, one per turn: list the root; read up to :data:`MAX_READS` files the listing showed
(in one turn); search once; then the report. Each step runs once and is skipped when no tool
fits, so the same conversation always gives the same calls and the same report.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from vapora_llm_router.providers.base import ChatTurn, ToolCall, ToolDefinition, ToolResult
from vapora_llm_router.providers.tools import arguments, schema

WRITE_WORDS = (
    "write", "edit", "create", "delete", "remove", "move", "rename", "commit", "push", "run", "exec",
    "shell", "patch", "apply", "set", "update", "add", "put", "post", "kill", "reset", "checkout",
    "install", "merge", "rebase", "init", "mkdir", "touch", "upload", "send",
)  # fmt: skip
KINDS = {  # each kind's words, best first: a tool named with an earlier word is preferred
    "list": ("list", "ls", "directory", "dir", "tree"),
    "read": ("read", "cat", "view", "show", "get"),
    "search": ("search", "grep", "find"),
}
PATH_WORDS = {"path", "paths", "file", "files", "filename", "dir", "directory", "folder", "root"}
QUERY_WORDS = {"query", "pattern", "search", "term", "regex", "keyword", "text", "q", "needle"}
MAX_READS = 3
STOPWORDS = {"the", "and", "for", "with", "from", "into", "that", "this", "task", "title", "type"}


def words(name: str) -> list[str]:
    """``readTextFile`` / ``read_text-file`` → ``["read", "text", "file"]``."""
    return [w.lower() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", name)]


def writes(name: str) -> bool:
    return any(w in part for part in words(name) for w in WRITE_WORDS)


@dataclass(frozen=True, slots=True)
class Step:
    """What the conversation already did: every call so far with its result."""

    call: ToolCall
    result: ToolResult | None
    kind: str


def kind_of(name: str) -> str:
    if writes(name):
        return ""
    parts = set(words(name))
    return next((k for k, names in KINDS.items() if parts.intersection(names)), "")


def rank(name: str, kind: str) -> int:
    """How well ``name`` says ``kind``: the index of its best word in ``KINDS[kind]``
    (``read_text_file`` before ``get_file_info``, ``list_directory`` before ``directory_tree``)."""
    parts = set(words(name))
    return min(i for i, w in enumerate(KINDS[kind]) if w in parts)


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def fill(tool: ToolDefinition, *, path: str, query: str) -> dict[str, Any] | None:
    """Arguments for ``tool`` from its schema, or None when a required one cannot be filled."""
    spec = schema(tool)
    props = _object(spec.get("properties"))
    required = [r for r in spec.get("required") or [] if isinstance(r, str)]
    args: dict[str, Any] = {}
    for name in [*required, *(p for p in props if p not in required)]:
        prop = _object(props.get(name))
        kind, parts = prop.get("type", "string"), set(words(name))
        if kind == "string" and parts & PATH_WORDS:
            args[name] = path
        elif kind == "string" and parts & QUERY_WORDS:
            args[name] = glob_of(query) if takes_glob(tool, prop) else query
        elif kind == "array" and _object(prop.get("items")).get("type", "string") == "string" and parts & PATH_WORDS:
            args[name] = [path]
        elif name in required:
            return None
    return args


def takes_glob(tool: ToolDefinition, prop: dict[str, Any]) -> bool:
    """The tool or the parameter says the query is a glob pattern (a name search)."""
    return "glob" in f"{tool.description} {prop.get('description', '')}".lower()


def glob_of(word: str) -> str:
    return f"**/*{word}*"


def is_glob(value: object) -> bool:
    return isinstance(value, str) and value.startswith("**/*") and value.endswith("*")


def task_title(messages: tuple[ChatTurn, ...]) -> str:
    """The task's title: the ``Title:`` line of the first user message, else its first line."""
    text = next((m.content for m in messages if m.role == "user"), "")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    title = next((ln.split(":", 1)[1] for ln in lines if ln.lower().startswith("title:")), lines[0] if lines else "")
    return title.strip()


def title_word(title: str) -> str:
    """The longest word of the title (the first of equals), to search for."""
    found = [w for w in re.findall(r"[A-Za-z][A-Za-z0-9_]{2,}", title) if w.lower() not in STOPWORDS]
    return max(found, key=len) if found else "README"


def history(messages: tuple[ChatTurn, ...]) -> list[Step]:
    steps: list[Step] = []
    for i, m in enumerate(messages):
        if not m.tool_calls:
            continue
        after = messages[i + 1] if i + 1 < len(messages) else None
        results = {r.tool_call_id: r for r in (after.tool_results if after is not None else ())}
        steps += [Step(c, results.get(c.id), kind_of(c.name)) for c in m.tool_calls]
    return steps


def listed_files(steps: list[Step]) -> list[str]:
    """Files the listings showed, in order, joined to the listed directory."""
    files: list[str] = []
    for s in steps:
        if s.kind != "list" or s.result is None or s.result.is_error:
            continue
        base = next((v for v in arguments(s.call).values() if isinstance(v, str)), ".")
        for name in _entries(s.result.content):
            path = name if base in (".", "", "./", "/") else f"{base.rstrip('/')}/{name}"
            if path not in files:
                files.append(path)
    return files


def _entries(content: str) -> list[str]:
    try:
        data = json.loads(content)
    except ValueError:
        data = None
    if isinstance(data, list):
        return [str(e["name"]) for e in data if isinstance(e, dict) and e.get("type") == "file" and e.get("name")]
    names = []
    for raw in content.splitlines():
        line = raw.strip().removeprefix("- ").removeprefix("* ").strip()
        if line.startswith("[DIR]") or line.endswith("/"):
            continue
        line = line.removeprefix("[FILE]").strip().removeprefix("./")
        if re.fullmatch(r"[\w.\-/]+\.\w+", line):
            names.append(line)
    return names


def next_calls(tools: tuple[ToolDefinition, ...], messages: tuple[ChatTurn, ...]) -> list[tuple[str, dict[str, Any]]]:
    """The calls of the next step as (tool name, arguments); empty: time for the report."""
    steps = history(messages)
    done = {s.kind for s in steps}
    query = title_word(task_title(messages))

    def usable(kind: str, path: str = ".") -> tuple[ToolDefinition, dict[str, Any]] | None:
        fits = []
        for t in tools:
            if kind_of(t.name) == kind and (args := fill(t, path=path, query=query)) is not None:
                fits.append((t, args))
        if not fits:
            return None
        # the best-named first; among those, one that takes a path rather than a list of them
        # (read_text_file before read_multiple_files); then request order (min() keeps the first)
        return min(fits, key=lambda f: (rank(f[0].name, kind), any(isinstance(v, list) for v in f[1].values())))

    if "list" not in done and (found := usable("list")):
        return [(found[0].name, found[1])]
    if "read" not in done:
        calls = []
        for path in listed_files(steps)[:MAX_READS]:
            if found := usable("read", path):
                calls.append((found[0].name, found[1]))
        if calls:
            return calls
    if "search" not in done and (found := usable("search")):
        return [(found[0].name, found[1])]
    return []
