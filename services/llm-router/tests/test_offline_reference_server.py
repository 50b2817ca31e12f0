"""The offline provider explores a directory through the official reference filesystem server
(``@modelcontextprotocol/server-filesystem``, the one config/mcp.toml gives agents as ``files``),
over stdio with the official ``mcp`` client: the tools as that server describes them, every call
run by it for real.

Its ``search_files`` matches names with a glob, not contents: the offline provider must search it
for files named like the task's word, and say so, rather than grep it for a word it cannot find.
"""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client

from vapora_llm_router.providers.base import ChatTurn, ProviderRequest, ToolDefinition, ToolResult
from vapora_llm_router.providers.offline import OfflineProvider

ROOT = Path(__file__).resolve().parents[3]
SERVER = ROOT / "tools/files/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js"
TASK = "Task type: coding\nTitle: Fix the tokenizer crash\nDescription:\nThe parser dies on empty input."

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js (the README's one requirement)")


DEVELOPER_MANIFEST = ROOT / "config/agents/developer.toml"


def developer_files_tools() -> set[str]:
    """The ``files.*`` tools config/agents/developer.toml allows, by their names on the server."""
    allowed = tomllib.loads(DEVELOPER_MANIFEST.read_text())["allowed_tools"]
    return {t.removeprefix("files.") for t in allowed if t.startswith("files.")}


@pytest.mark.parametrize(
    ("offered", "reader"),
    [("as the server lists them", "read_file"), ("a developer's, by name", "read_text_file")],
)
async def test_the_name_search_of_the_reference_server_is_asked_for_names_and_reported_as_names(
    tmp_path: Path, offered: str, reader: str
) -> None:
    """Also with the tools a developer's manifest allows (config/agents/developer.toml), in name
    order: ``read_multiple_files`` comes before ``read_text_file`` there, and a list of one path
    is not how to read a file."""
    root = tmp_path / "repo"
    (root / "src").mkdir(parents=True)
    (root / "README.md").write_text("# Tokenizer\n")
    (root / "src" / "tokenizer.py").write_text("def tokenizer(text):\n    return text.split()\n")
    params = StdioServerParameters(command="node", args=[str(SERVER), str(root)])
    provider = OfflineProvider()
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        listed = await session.list_tools()
        tools = tuple(
            ToolDefinition(name=t.name, description=t.description or "", parameters_json=json.dumps(t.input_schema))
            for t in listed.tools
        )
        if offered != "as the server lists them":
            allowed = developer_files_tools()
            tools = tuple(sorted((t for t in tools if t.name in allowed), key=lambda t: t.name))
        messages = [ChatTurn("user", TASK)]
        calls = []
        for _ in range(10):
            answer = await provider.complete(
                ProviderRequest(
                    model="offline-deterministic", system="", messages=tuple(messages), max_tokens=0, temperature=0,
                    tools=tools,
                )
            )  # fmt: skip
            if not answer.tool_calls:
                break
            results = []
            for call in answer.tool_calls:
                args = json.loads(call.arguments_json)
                calls.append((call.name, args))
                got = await session.call_tool(call.name, args)
                text = "\n".join(c.text for c in got.content if c.type == "text")
                results.append(ToolResult(tool_call_id=call.id, name=call.name, content=text, is_error=got.is_error))
            messages += [
                ChatTurn("assistant", "", tool_calls=answer.tool_calls),
                ChatTurn("tool", "", tool_results=tuple(results)),
            ]
    assert calls == [  # the list and read tools named best for it, not directory_tree / get_file_info
        ("list_directory", {"path": "."}),
        (reader, {"path": "README.md"}),
        ("search_files", {"path": ".", "pattern": "**/*tokenizer*"}),
    ]
    assert answer.unverified and not answer.tool_calls
    assert "found 1 files so named (tokenizer.py)" in answer.text, answer.text
    assert "I made no change and verified nothing" in answer.text
