"""Fixtures of the mcp-gateway tests: a config file, and the app running in-process.

The app runs against the test's real nats-server and an embedded SurrealDB store, and
starts the real MCP servers shipped in the package over stdio.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import grpc
import pytest

from vapora.mcp.v1 import mcp_pb2_grpc
from vapora_mcp_gateway.app import McpApp
from vapora_mcp_gateway.settings import McpSettings

CONFIG = """
[[servers]]
name = "workspace"
command = "{python}"
args = ["-m", "vapora_mcp_gateway.servers.workspace", "--root", "{data_dir}/workspace"]
timeout_s = 20

[[servers]]
name = "sysinfo"
command = "{python}"
args = ["-m", "vapora_mcp_gateway.servers.sysinfo"]
timeout_s = 1.5

[[servers]]
name = "private"
command = "{python}"
args = ["-m", "vapora_mcp_gateway.servers.sysinfo"]
workspaces = ["ws-private"]
"""


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    root = tmp_path / "data" / "workspace"
    (root / "src").mkdir(parents=True)
    (root / "README.md").write_text("# Demo\nVapora workspace for tests.\n")
    (root / "src" / "app.py").write_text("def main() -> None:\n    print('hello vapora')\n")
    (tmp_path / "secret.txt").write_text("outside the root")
    return tmp_path / "data"


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config" / "mcp.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(CONFIG)
    return path


@pytest.fixture
def settings(nats_url: str, store_url: str, data_dir: Path, config_file: Path) -> McpSettings:
    return McpSettings(
        nats_url=nats_url,
        store_url=store_url,
        data_dir=data_dir,
        config_dir=config_file.parent,
        grpc_port=0,
        metrics_port=0,
        mcp_http_port=0,
        shutdown_grace_s=2.0,
    )


@pytest.fixture
async def app(settings: McpSettings) -> AsyncIterator[McpApp]:
    application = McpApp(settings, ping_interval_s=1.0)
    await application.start()
    try:
        yield application
    finally:
        await application.stop()


@pytest.fixture
async def stub(app: McpApp) -> AsyncIterator[mcp_pb2_grpc.McpGatewayStub]:
    assert app.grpc is not None
    async with grpc.aio.insecure_channel(f"127.0.0.1:{app.grpc.port}") as channel:
        yield mcp_pb2_grpc.McpGatewayStub(channel)


Poll = Callable[[Callable[[], Awaitable[bool]], float], Awaitable[None]]
