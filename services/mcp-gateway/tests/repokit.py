"""Helpers of the mcp-gateway tests: the servers' TOML, real git repositories, the app started
with a config of its own (by default with the gateway's own worktree resolver), its Repositories
stub, and the error an RPC raises."""

from __future__ import annotations

import sys
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import grpc

from vapora.mcp.v1 import repositories_pb2, repositories_pb2_grpc
from vapora_mcp_gateway.app import McpApp
from vapora_mcp_gateway.roots import RootResolver
from vapora_mcp_gateway.settings import McpSettings
from vapora_testing import mcp_servers
from vapora_testing.apps import grpc_stub
from vapora_testing.git import make_repo

TOOLS_DIR = Path(__file__).resolve().parents[3] / "tools"
WS = "ws-acme"
PYTEST = f"{sys.executable} -m pytest -q -p no:cacheprovider"

SYSINFO = mcp_servers.sysinfo(timeout_s=5)
REPO_CONFIG = SYSINFO

GIT_AND_FILES = """
[[servers]]
name = "git"
scope = "worktree"
command = "{python}"
args = ["-m", "mcp_server_git", "--repository", "{root}"]
root_argument = "repo_path"
timeout_s = 20

[[servers]]
name = "files"
scope = "worktree"
command = "node"
args = ["{tools_dir}/files/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js", "{root}"]
timeout_s = 20
"""


def runner_server(options: str, timeout_s: float) -> str:
    """The runner's ``[[servers]]`` table: its root and commands, then ``options`` (TOML strings)."""
    return f"""
[[servers]]
name = "runner"
scope = "worktree"
command = "{{python}}"
args = ["-m", "vapora_mcp_gateway.servers.runner", "--root", "{{root}}", "--commands", "{{config_dir}}/runner.toml",
        {options}]
timeout_s = {timeout_s}
"""


# The worktree servers as config/mcp.toml ships them (the runner reads the project's commands).
WORKTREE_SERVERS = GIT_AND_FILES + runner_server(
    '"--project-commands", "{root}/../runner.toml", "--timeout-s", "60"', 90
)

DEFAULT_COMMANDS = f'test = "{sys.executable} -c \\"print(1)\\""\n'

CALC = "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a + b\n"
CALC_FIXED = "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n"
CALC_BROKEN = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a + b\n"
CALC_TESTS = """from calc import add, mul


def test_add():
    assert add(2, 3) == 5


def test_mul():
    assert mul(2, 3) == 6
"""


def make_calc_repo(root: Path) -> Path:
    """A committed repository whose test_mul fails (mul adds) and whose test_add passes."""
    root.mkdir(parents=True)
    files = {"calc.py": CALC, "test_calc.py": CALC_TESTS, ".gitignore": "__pycache__/\n.pytest_cache/\n"}
    return make_repo(root, files, "calc with a bug in mul")


async def start_app(
    settings: McpSettings,
    config_dir: Path,
    text: str = REPO_CONFIG,
    *,
    commands: str = DEFAULT_COMMANDS,
    root_resolver: RootResolver | None = None,
    **updates: Any,
) -> McpApp:
    """A started app with ``text`` as its mcp.toml, ``commands`` as its runner.toml, and
    ``root_resolver`` (default: the gateway's own worktree resolver)."""
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "mcp.toml").write_text(text)
    (config_dir / "runner.toml").write_text(commands)
    app_settings = settings.model_copy(update={"config_dir": config_dir, "mcp_tools_dir": TOOLS_DIR, **updates})
    application = McpApp(app_settings, ping_interval_s=1.0, root_resolver=root_resolver)
    await application.start()
    return application


def repositories_stub(application: McpApp) -> AbstractAsyncContextManager[repositories_pb2_grpc.RepositoriesStub]:
    """The app's Repositories stub, its calls without a deadline (a clone or a test run takes long)."""
    return grpc_stub(application.grpc_port, repositories_pb2_grpc.RepositoriesStub, timeout=None)


def attach_local(
    path: Path | str, *, ws: str = WS, project: str = "proj-1", **fields: Any
) -> repositories_pb2.AttachRepositoryRequest:
    fields.setdefault("kind", "local")
    return repositories_pb2.AttachRepositoryRequest(workspace_id=ws, project_id=project, path=str(path), **fields)


async def rpc_error(coro: object) -> grpc.aio.AioRpcError:
    try:
        await coro  # type: ignore[misc]
    except grpc.aio.AioRpcError as exc:
        return exc
    raise AssertionError("the call succeeded")
