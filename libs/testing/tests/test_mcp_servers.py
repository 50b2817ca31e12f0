"""The ``[[servers]]`` tables tests write to an mcp-gateway's mcp.toml: valid TOML, as given."""

from __future__ import annotations

import tomllib

from vapora_testing import mcp_servers


def test_tables_concatenate_into_one_config_with_only_the_keys_given() -> None:
    text = (
        mcp_servers.workspace(timeout_s=20)
        + mcp_servers.sysinfo("private", timeout_s=1.5, workspaces=["ws-private"])
        + mcp_servers.server("bulk", ['/tmp/a "b"\\c.py'], command="node")
    )
    assert tomllib.loads(text) == {
        "servers": [
            {
                "name": "workspace",
                "command": "{python}",
                "args": ["-m", "vapora_mcp_gateway.servers.workspace", "--root", "{data_dir}/workspace"],
                "timeout_s": 20,
            },
            {
                "name": "private",
                "command": "{python}",
                "args": ["-m", "vapora_mcp_gateway.servers.sysinfo"],
                "timeout_s": 1.5,
                "workspaces": ["ws-private"],
            },
            {"name": "bulk", "command": "node", "args": ['/tmp/a "b"\\c.py']},
        ]
    }


def test_sysinfo_alone_has_no_timeout_nor_workspaces() -> None:
    assert tomllib.loads(mcp_servers.sysinfo()) == {
        "servers": [{"name": "sysinfo", "command": "{python}", "args": ["-m", "vapora_mcp_gateway.servers.sysinfo"]}]
    }
