"""Agent manifests: the shipped twelve roles, and errors that name the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from vapora.mcp.v1 import mcp_pb2
from vapora_agent_runtime.manifest import (
    AgentManifest,
    ToolCatalogue,
    check_tools,
    load_manifest,
    load_manifests,
    tool_servers,
)
from vapora_core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]
AGENTS = ROOT / "config" / "agents"
FLEET_TASK_TYPES = {
    "architecture",
    "coding",
    "review",
    "testing",
    "documentation",
    "security",
    "devops",
    "marketing",
    "presentation",
    "monitoring",
    "planning",
    "decision",
}
ROLES = {
    "architect",
    "developer",
    "code-reviewer",
    "tester",
    "documenter",
    "marketer",
    "presenter",
    "devops",
    "monitor",
    "security",
    "project-manager",
    "decision-maker",
}

GOOD = """
id = "translator"
role = "translator"
preferred_provider = "openai"
preferred_model = "gpt-4o-mini"
max_concurrency = 2
allowed_tools = ["filesystem.read_file"]
system_prompt = "You translate documentation."
capabilities = ["documentation", { task_type = "localisation", proficiency = 0.8 }]
"""


def test_the_twelve_shipped_roles_load_and_cover_every_fleet_task_type() -> None:
    manifests = load_manifests(AGENTS)
    assert {m.role for m in manifests} == ROLES
    covered = {t for m in manifests for t in m.task_types}
    assert covered >= FLEET_TASK_TYPES
    by_role = {m.role: m for m in manifests}
    assert "coding" in by_role["developer"].task_types
    assert by_role["architect"].preferred_provider == "anthropic"
    assert "opus" in by_role["architect"].preferred_model
    assert "sonnet" in by_role["developer"].preferred_model
    assert all(m.system_prompt and m.max_concurrency >= 1 for m in manifests)


def test_a_manifest_becomes_the_registry_agent_with_its_runtime(tmp_path: Path) -> None:
    path = tmp_path / "translator.toml"
    path.write_text(GOOD)
    manifest = load_manifest(path)
    agent = manifest.to_agent("host-1")
    assert agent.id == "translator" and agent.runtime_id == "host-1"
    assert [(c.task_type, c.proficiency) for c in agent.capabilities] == [("documentation", 0.5), ("localisation", 0.8)]
    assert list(agent.allowed_tools) == ["filesystem.read_file"]


@pytest.mark.parametrize(
    ("replace", "field"),
    [
        (("max_concurrency = 2", "max_concurrency = 0"), "max_concurrency"),
        (('system_prompt = "You translate documentation."', 'system_prompt = "  "'), "system_prompt"),
        (('id = "translator"', 'id = "Trans lator"'), "id"),
        (("proficiency = 0.8", "proficiency = 1.8"), "capabilities[1].proficiency"),
        (
            (
                'capabilities = ["documentation", { task_type = "localisation", proficiency = 0.8 }]',
                "capabilities = []",
            ),
            "capabilities",
        ),
        (
            ('preferred_model = "gpt-4o-mini"', 'preferred_model = "gpt-4o-mini"\nmodel_temperature = 3'),
            "model_temperature",
        ),
        (('role = "translator"', 'role = "translator'), "(syntax)"),
        (('role = "translator"', ""), "role"),
    ],
)
def test_a_malformed_manifest_names_the_file_and_the_field(
    tmp_path: Path, replace: tuple[str, str], field: str
) -> None:
    path = tmp_path / "translator.toml"
    assert replace[0] in GOOD
    path.write_text(GOOD.replace(*replace))
    with pytest.raises(ConfigError) as info:
        load_manifests(tmp_path)
    assert info.value.source == str(path)
    assert info.value.field == field
    assert str(path) in str(info.value) and field in str(info.value)


def test_two_manifests_with_one_id_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(GOOD)
    (tmp_path / "b.toml").write_text(GOOD)
    with pytest.raises(ConfigError, match="already defined in") as info:
        load_manifests(tmp_path)
    assert info.value.source == str(tmp_path / "b.toml") and info.value.field == "id"


def test_an_empty_or_missing_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no agent manifests"):
        load_manifests(tmp_path)
    with pytest.raises(ConfigError, match="does not exist"):
        load_manifests(tmp_path / "nope")


def test_limits_have_sensible_defaults_and_a_limits_table_overrides_them(tmp_path: Path) -> None:
    path = tmp_path / "translator.toml"
    path.write_text(GOOD)
    defaults = load_manifest(path).limits
    assert (defaults.max_steps, defaults.max_wall_clock_s, defaults.loop_repeats) == (30, 900.0, 3)
    assert defaults.max_cost_cents > 0 and defaults.max_tokens_total == 0
    path.write_text(
        GOOD + "\n[limits]\nmax_steps = 5\nmax_wall_clock_s = 60\nmax_cost_cents = 12.5\nloop_repeats = 4\n"
    )
    limits = load_manifest(path).limits
    assert (limits.max_steps, limits.max_wall_clock_s, limits.max_cost_cents, limits.loop_repeats) == (5, 60.0, 12.5, 4)


@pytest.mark.parametrize(
    ("table", "field"),
    [("max_steps = 0", "limits.max_steps"), ("loop_repeats = 1", "limits.loop_repeats"), ("speed = 3", "limits.speed")],
)
def test_a_bad_limit_names_the_file_and_the_field(tmp_path: Path, table: str, field: str) -> None:
    path = tmp_path / "translator.toml"
    path.write_text(GOOD + f"\n[limits]\n{table}\n")
    with pytest.raises(ConfigError, match=rf"translator\.toml: {field}:"):
        load_manifest(path)


def catalogue(**servers: list[str]) -> ToolCatalogue:
    reply = mcp_pb2.ListCatalogueResponse(
        tools=[mcp_pb2.Tool(server=s, name=t) for s, tools in servers.items() for t in tools],
        servers=[mcp_pb2.CatalogueServer(name=s, tools_known=True) for s in servers],
    )
    return ToolCatalogue.from_response(reply)


def manifest_with_tools(tmp_path: Path, tools: list[str]) -> AgentManifest:
    path = tmp_path / "translator.toml"
    path.write_text(
        GOOD.replace('allowed_tools = ["filesystem.read_file"]', f"allowed_tools = {tools!r}".replace("'", '"'))
    )
    return load_manifest(path)


def test_manifest_tools_the_catalogue_has_pass_exact_or_by_server(tmp_path: Path) -> None:
    known = catalogue(files=["read_text_file", "write_file"], git=["git_log"])
    check_tools([manifest_with_tools(tmp_path, ["files.read_text_file", "git.*"])], known)
    assert tool_servers([manifest_with_tools(tmp_path, ["files.read_text_file", "git.*"])]) == {"files", "git"}


@pytest.mark.parametrize(
    ("tool", "fragment"),
    [
        (
            "files.delete_everything",
            "unknown tool 'files.delete_everything': MCP server 'files' has read_text_file, write_file",
        ),
        (
            "filesystem.read_file",
            "unknown tool 'filesystem.read_file': mcp-gateway has no MCP server 'filesystem' (servers: files)",
        ),
        ("nodot", "'nodot' is not 'server.tool' or 'server.*'"),
        ("files.", "'files.' is not 'server.tool' or 'server.*'"),
    ],
)
def test_a_manifest_naming_a_tool_the_gateway_lacks_names_the_file_and_the_tool(
    tmp_path: Path, tool: str, fragment: str
) -> None:
    manifest = manifest_with_tools(tmp_path, ["files.read_text_file", tool])
    with pytest.raises(ConfigError) as info:
        check_tools([manifest], catalogue(files=["read_text_file", "write_file"]))
    assert info.value.source == str(tmp_path / "translator.toml") and info.value.field == "allowed_tools[1]"
    assert fragment in str(info.value)


def test_servers_that_have_not_listed_their_tools_are_told_apart() -> None:
    reply = mcp_pb2.ListCatalogueResponse(
        servers=[
            mcp_pb2.CatalogueServer(name="git", tools_known=False),
            mcp_pb2.CatalogueServer(name="files", tools_known=True),
        ]
    )
    assert ToolCatalogue.from_response(reply).unlisted({"git", "files", "nope"}) == {"git"}
