"""config/mcp.toml: validated at load, errors name the file and the field."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from vapora_core.errors import ConfigError
from vapora_mcp_gateway.config import load_config, parse_config

ROOT = Path(__file__).resolve().parents[3]


def parse(text: str):
    return parse_config(text, source="mcp.toml", data_dir=Path("/data"), config_dir=Path("/cfg"))


def test_the_repo_config_loads_and_expands_placeholders(tmp_path: Path) -> None:
    config = load_config(ROOT / "config" / "mcp.toml", data_dir=tmp_path, config_dir=ROOT / "config")
    enabled = config.enabled()
    assert {"workspace", "sysinfo"} <= set(enabled)
    workspace = enabled["workspace"]
    assert workspace.command == sys.executable
    assert str(tmp_path.resolve() / "workspace") in workspace.args
    assert workspace.allows("any-workspace")
    assert {n: c.scope for n, c in enabled.items() if c.scope == "worktree"} == {
        "git": "worktree",
        "files": "worktree",
        "runner": "worktree",
    }
    files = enabled["files"]
    assert files.args == (
        str(ROOT / "tools" / "files/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js"),
        "{root}",
    )
    assert enabled["git"].root_argument == "repo_path"
    git = enabled["git"].for_root(Path("/work/trees/t1"))
    assert git.args == ("-m", "mcp_server_git", "--repository", "/work/trees/t1")


def test_defaults_and_workspace_policy() -> None:
    config = parse('[[servers]]\nname = "a"\ncommand = "x"\nworkspaces = ["ws1"]\n')
    server = config.servers[0]
    assert server.transport == "stdio" and server.enabled and server.timeout_s == 30
    assert server.allows("ws1") and not server.allows("ws2")


def test_disabled_servers_are_not_enabled() -> None:
    config = parse('[[servers]]\nname = "a"\ncommand = "x"\nenabled = false\n')
    assert config.enabled() == {}


@pytest.mark.parametrize(
    ("text", "field", "fragment"),
    [
        ('[[servers]]\nname = "a"\n', "servers[0]", "needs a command"),
        ('[[servers]]\nname = "Bad Name"\ncommand = "x"\n', "servers[0].name", "lowercase"),
        ('[[servers]]\nname = "a"\ncommand = "x"\ntimeout_s = -1\n', "servers[0].timeout_s", "greater than 0"),
        ('[[servers]]\nname = "a"\ncommand = "x"\ncolour = "red"\n', "servers[0].colour", "Extra inputs"),
        ('[[servers]]\nname = "a"\ntransport = "http"\nurl = "x"\n', "servers[0].transport", "stdio"),
        ('[[servers]]\nname = "a"\ntransport = "streamable-http"\n', "servers[0]", "http(s) url"),
        ('[[servers]]\nname = "a"\ncommand = "x"\nworkspaces = []\n', "servers[0].workspaces", "at least one"),
        ('[[servers]]\nname = "a"\ncommand = "x"\nscope = "worktree"\n', "servers[0]", "must use {root}"),
        ('[[servers]]\nname = "a"\ncommand = "x"\nargs = ["{root}"]\n', "servers[0]", "only for servers with scope"),
        ('[[servers]]\nname = "a"\ncommand = "x"\nroot_argument = "p"\n', "servers[0]", "root_argument is only"),
        ('[[servers]]\nname = "a"\ncommand = "x"\nscope = "job"\n', "servers[0].scope", "shared"),
    ],
)
def test_invalid_config_names_file_and_field(text: str, field: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(text)
    assert info.value.source == "mcp.toml"
    assert info.value.field == field
    assert fragment in str(info.value)
    assert str(info.value).startswith(f"mcp.toml: {field}: ")


def test_duplicate_server_names_are_refused() -> None:
    text = '[[servers]]\nname = "a"\ncommand = "x"\n[[servers]]\nname = "a"\ncommand = "y"\n'
    with pytest.raises(ConfigError, match="duplicate server name 'a'"):
        parse(text)


def test_bad_toml_and_missing_file_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"mcp\.toml: not valid TOML"):
        parse("[[servers]\n")
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=r"nope\.toml: cannot read"):
        load_config(missing, data_dir=tmp_path, config_dir=tmp_path)
