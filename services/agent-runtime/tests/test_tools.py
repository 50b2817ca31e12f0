"""Tool names as models see them, the manifest's tool patterns, the cut of results."""

from __future__ import annotations

import json

from vapora.mcp.v1 import mcp_pb2
from vapora_agent_runtime.tools import MAX_TOOLS, allows, cut, gateway_name, model_name, tool_specs


def test_gateway_names_map_to_provider_safe_names_and_back() -> None:
    assert model_name("workspace.read_file") == "workspace__read_file"
    assert gateway_name("workspace__read_file") == "workspace.read_file"
    assert gateway_name(model_name("git.log")) == "git.log"
    assert gateway_name("my_srv__do__it") == "my_srv.do__it"  # the first separator splits


def test_allowed_tools_are_exact_names_or_a_whole_server() -> None:
    assert allows(["workspace.read_file"], "workspace.read_file")
    assert not allows(["workspace.read_file"], "workspace.write_note")
    assert allows(["workspace.*"], "workspace.write_note")
    assert not allows(["workspace.*"], "sysinfo.utc_now")
    assert not allows(["*"], "sysinfo.utc_now")  # a pattern names its server


def test_only_allowed_tools_with_a_usable_name_and_object_schema_reach_the_model() -> None:
    obj = json.dumps({"type": "object", "properties": {"path": {"type": "string"}}})
    catalogue = [
        mcp_pb2.Tool(server="workspace", name="read_file", description="Read", input_schema_json=obj),
        mcp_pb2.Tool(server="workspace", name="read.dotted", input_schema_json=obj),  # not a provider name
        mcp_pb2.Tool(server="workspace", name="arrays", input_schema_json='{"type": "array"}'),
        mcp_pb2.Tool(server="workspace", name="broken", input_schema_json="{nope"),
        mcp_pb2.Tool(server="workspace", name="bare"),
        mcp_pb2.Tool(server="sysinfo", name="utc_now", input_schema_json=obj),
    ]
    specs = tool_specs(catalogue, ["workspace.*"])
    assert [s.definition.name for s in specs] == ["workspace__read_file", "workspace__bare"]
    assert (specs[0].gateway, specs[0].definition.description, specs[0].definition.parameters_json) == (
        "workspace.read_file",
        "Read",
        obj,
    )
    many = [mcp_pb2.Tool(server="s", name=f"t{i}") for i in range(MAX_TOOLS + 5)]
    assert len(tool_specs(many, ["s.*"])) == MAX_TOOLS


def test_a_cut_keeps_whole_characters_and_says_how_much_there_was() -> None:
    assert cut("short", 10) == ("short", False)
    text, was_cut = cut("ééé", 3)  # 6 bytes; 3 bytes hold one whole é
    assert was_cut and text.startswith("é\n[cut by agent-runtime: 6 bytes, the first 3 shown]")
