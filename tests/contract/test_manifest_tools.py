"""The shipped manifests against the real mcp-gateway running the shipped config/mcp.toml: every
allowed tool exists, and the roles' views fit them (reviewers read, developers write and run)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from vapora.mcp.v1 import mcp_pb2, mcp_pb2_grpc
from vapora_agent_runtime.manifest import ToolCatalogue, check_tools, load_manifests
from vapora_mcp_gateway.app import McpApp
from vapora_mcp_gateway.settings import McpSettings

ROOT = Path(__file__).resolve().parents[2]
WRITES = {"files.write_file", "files.edit_file", "files.create_directory", "files.move_file"}
GIT_WRITES = {"git.git_commit", "git.git_add", "git.git_reset", "git.git_checkout", "git.git_create_branch"}
RUNS = {"runner.run_tests", "runner.run_check", "runner.run_shell"}


@pytest.fixture
async def catalogue(
    nats_url: str, store_url: str, tmp_path: Path, job_keys: tuple[str, str]
) -> AsyncIterator[ToolCatalogue]:
    settings = McpSettings(
        nats_url=nats_url,
        store_url=store_url,
        data_dir=tmp_path / "data",
        config_dir=ROOT / "config",
        grpc_port=0,
        metrics_port=0,
        mcp_http_port=0,
        job_verify_key=job_keys[1],
        shutdown_grace_s=2.0,
    )
    app = McpApp(settings)
    await app.start()
    try:
        assert app.grpc is not None
        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.grpc.port}") as channel:
            reply = await mcp_pb2_grpc.McpGatewayStub(channel).ListCatalogue(mcp_pb2.ListCatalogueRequest())
        yield ToolCatalogue.from_response(reply)
    finally:
        await app.stop()


async def test_every_shipped_manifest_names_only_tools_of_the_shipped_servers(catalogue: ToolCatalogue) -> None:
    assert catalogue.listed >= {"git", "files", "runner", "sysinfo"}
    manifests = load_manifests(ROOT / "config" / "agents")
    check_tools(manifests, catalogue)  # raises ConfigError naming the file and the tool

    tools = {m.role: set(m.allowed_tools) for m in manifests}
    for reader in ("code-reviewer", "security", "architect"):
        assert not tools[reader] & (WRITES | GIT_WRITES | RUNS), reader
        assert {"files.read_text_file", "git.git_diff_unstaged", "git.git_log"} <= tools[reader]
    for maker in ("developer", "tester"):
        assert {"files.write_file", "files.edit_file", "runner.run_tests", "runner.run_check"} <= tools[maker]
        assert "runner.run_shell" not in tools[maker]
    assert {"runner.run_tests", "runner.run_shell"} <= tools["devops"] and not tools["devops"] & WRITES
    assert {"files.write_file", "files.edit_file"} <= tools["documenter"] and not tools["documenter"] & RUNS
    # commits are made by the worktree machinery after the loop, never by a model
    assert not any(tools[role] & GIT_WRITES for role in tools)
