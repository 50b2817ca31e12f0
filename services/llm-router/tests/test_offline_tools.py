"""The offline provider speaks the tool protocol: a read-only, deterministic exploration, then a report.

The test plays the tool loop: it runs each call the router returns against a real directory
and sends the results back, until the model answers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tooling import ask

from vapora.llm.v1 import llm_pb2, llm_pb2_grpc
from vapora_llm_router.config import load
from vapora_llm_router.providers import build_providers
from vapora_llm_router.providers.base import ChatTurn, ProviderRequest, ToolDefinition, ToolResult
from vapora_llm_router.providers.explore import kind_of
from vapora_llm_router.providers.offline import OfflineProvider
from vapora_llm_router.routing import RouteRequest
from vapora_llm_router.service import RouterService
from vapora_llm_router.settings import RouterSettings

REPO_CONFIG = Path(__file__).resolve().parents[3] / "config"
TASK = "Task type: coding\nTitle: Fix the tokenizer crash\nDescription:\nThe parser dies on empty input."


def schema(**props: str) -> str:
    return json.dumps(
        {"type": "object", "properties": {k: {"type": v} for k, v in props.items()}, "required": list(props)}
    )


TOOLS = (
    ToolDefinition(
        name="write_file", description="Write a file", parameters_json=schema(path="string", content="string")
    ),
    ToolDefinition(name="edit_file", description="Edit a file", parameters_json=schema(path="string", edits="array")),
    ToolDefinition(name="run_command", description="Run a shell command", parameters_json=schema(command="string")),
    ToolDefinition(
        name="git_commit", description="Commit", parameters_json=schema(repo_path="string", message="string")
    ),
    ToolDefinition(name="create_directory", description="mkdir", parameters_json=schema(path="string")),
    ToolDefinition(name="move_file", description="mv", parameters_json=schema(source="string", destination="string")),
    ToolDefinition(name="read_text_file", description="Read a file", parameters_json=schema(path="string")),
    ToolDefinition(name="list_directory", description="List a directory", parameters_json=schema(path="string")),
    ToolDefinition(name="search_files", description="grep", parameters_json=schema(path="string", pattern="string")),
)


@pytest.fixture
def worktree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "src").mkdir(parents=True)
    (root / "README.md").write_text("# Tokenizer\nSplits text into tokens.\n")
    (root / "pyproject.toml").write_text('[project]\nname = "tok"\n')
    (root / "setup.cfg").write_text("[metadata]\nname = tok\n")
    (root / "tokenizer.py").write_text("def tokenizer(text):\n    return text.split()\n")
    (root / "src" / "parser.py").write_text("import tokenizer\n")
    return root


def run_tool(root: Path, name: str, args: dict[str, Any]) -> tuple[str, bool]:
    """The tools, for real, on the test's directory (read-only ones only: the rest must never run)."""
    path = root / args.get("path", ".")
    if name == "list_directory":
        entries = sorted(path.iterdir())
        return "\n".join(f"[{'DIR' if p.is_dir() else 'FILE'}] {p.name}" for p in entries), False
    if name == "read_text_file":
        return (path.read_text(), False) if path.is_file() else (f"no such file: {args['path']}", True)
    if name == "search_files":
        hits = [
            f"{p.relative_to(root)}:{n}: {line}"
            for p in sorted(path.rglob("*"))
            if p.is_file()
            for n, line in enumerate(p.read_text().splitlines(), 1)
            if args["pattern"].lower() in line.lower()
        ]
        return "\n".join(hits), False
    raise AssertionError(f"the offline provider called a tool that writes: {name}")


async def explore(svc: RouterService, root: Path, *, stream: bool) -> tuple[list[tuple[str, dict[str, Any]]], Any]:
    """The tool loop: every call run for real, until the model answers; (calls, last response)."""
    messages: list[ChatTurn] = [ChatTurn("user", TASK)]
    calls: list[tuple[str, dict[str, Any]]] = []
    for _ in range(10):
        req = RouteRequest(role="developer", task_type="coding", messages=tuple(messages), tools=TOOLS)
        if stream:
            items = [item async for item in svc.stream(req)]
            result = items[-1]
            assert "".join(i.delta for i in items[:-1]) == result.text  # type: ignore[union-attr]
        else:
            result = await svc.complete(req)
        assert result.provider == "offline" and result.unverified  # type: ignore[union-attr]
        if not result.tool_calls:  # type: ignore[union-attr]
            return calls, result
        assert result.finish_reason == "tool_calls"  # type: ignore[union-attr]
        results = []
        for c in result.tool_calls:  # type: ignore[union-attr]
            args = json.loads(c.arguments_json)
            calls.append((c.name, args))
            content, is_error = run_tool(root, c.name, args)
            results.append(ToolResult(tool_call_id=c.id, name="", content=content, is_error=is_error))
        messages += [
            ChatTurn("assistant", "", tool_calls=result.tool_calls),
            ChatTurn("tool", "", tool_results=tuple(results)),
        ]  # type: ignore[union-attr]
    raise AssertionError("the offline provider never answered")


@pytest.fixture
def offline_service() -> RouterService:
    settings = RouterSettings(_env_file=None, config_dir=REPO_CONFIG)  # type: ignore[call-arg]
    providers, unavailable = build_providers(settings)
    config = load(settings.router_file, settings.budget_file, settings.resolved_prices_file)
    return RouterService(config, providers, unavailable)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
async def test_offline_explores_read_only_then_reports_what_it_read_and_that_it_did_nothing(
    offline_service: RouterService, worktree: Path, stream: bool
) -> None:
    calls, answer = await explore(offline_service, worktree, stream=stream)

    assert calls == [
        ("list_directory", {"path": "."}),
        ("read_text_file", {"path": "README.md"}),
        ("read_text_file", {"path": "pyproject.toml"}),
        ("read_text_file", {"path": "setup.cfg"}),
        ("search_files", {"path": ".", "pattern": "tokenizer"}),
    ]
    text = answer.text
    assert answer.finish_reason == "stop" and answer.cost_cents == 0
    assert "Fix the tokenizer crash" in text
    for cited in ("README.md", '"# Tokenizer"', "pyproject.toml", '"[project]"', "setup.cfg", "tokenizer"):
        assert cited in text, cited
    assert "3 matching lines" in text
    assert "I made no change and verified nothing" in text
    assert "API_KEY" in text
    assert "fixed" not in text.lower() and "done" not in text.lower()


async def test_the_same_conversation_gives_the_same_calls_and_the_same_report(
    offline_service: RouterService, worktree: Path
) -> None:
    first = await explore(offline_service, worktree, stream=False)
    second = await explore(offline_service, worktree, stream=True)
    assert first[0] == second[0]
    assert first[1].text == second[1].text
    assert [c.id for c in first[1].tool_calls] == [c.id for c in second[1].tool_calls]


async def test_with_no_usable_tool_it_answers_at_once_and_says_it_read_nothing() -> None:
    p = OfflineProvider()
    only_writes = tuple(t for t in TOOLS if not kind_of(t.name))
    req = ProviderRequest(
        model="offline-deterministic",
        system="",
        messages=(ChatTurn("user", TASK),),
        max_tokens=0,
        temperature=0,
        tools=only_writes,
    )
    answer = await p.complete(req)
    assert not answer.tool_calls and answer.finish_reason == "stop" and answer.unverified
    assert "read nothing" in answer.text and "I made no change and verified nothing" in answer.text


def test_tools_that_write_are_never_candidates() -> None:
    for name in ("write_file", "edit_file", "create_directory", "delete_file", "move_file", "git_commit",
                 "run_command", "shell", "exec_python", "git_add", "git_reset", "git_checkout", "apply_patch",
                 "overwriteFile", "removeDir", "runTests"):  # fmt: skip
        assert kind_of(name) == "", name
    assert [kind_of(n) for n in ("list_directory", "directory_tree", "read_text_file", "readFile", "grep", "search_files")] == [
        "list", "list", "read", "read", "search", "search"
    ]  # fmt: skip


async def test_offline_answers_are_unverified_over_grpc(router_stub: llm_pb2_grpc.LlmRouterStub) -> None:
    req = llm_pb2.CompleteRequest(
        role="developer",
        provider_override="offline",
        messages=[llm_pb2.ChatMessage(role="user", content=TASK)],
        tools=[
            llm_pb2.ToolDefinition(name=t.name, description=t.description, parameters_json=t.parameters_json)
            for t in TOOLS
        ],
    )
    for stream in (False, True):
        reply = await ask(router_stub, req, stream=stream)
        assert reply.provider == "offline" and reply.unverified
        assert [(c.name, json.loads(c.arguments_json)) for c in reply.tool_calls] == [("list_directory", {"path": "."})]
