"""Helpers of the repositories tests: real git repositories, the app with the gateway's own
worktree resolver, and job-token metadata."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc

from vapora.mcp.v1 import repositories_pb2, repositories_pb2_grpc
from vapora_mcp_gateway.app import McpApp
from vapora_mcp_gateway.settings import McpSettings

TOOLS_DIR = Path(__file__).resolve().parents[3] / "tools"
WS = "ws-acme"
PYTEST = f"{sys.executable} -m pytest -q -p no:cacheprovider"

REPO_CONFIG = """
[[servers]]
name = "sysinfo"
command = "{python}"
args = ["-m", "vapora_mcp_gateway.servers.sysinfo"]
timeout_s = 5
"""

# The worktree servers as config/mcp.toml ships them (the runner reads the project's commands).
WORKTREE_SERVERS = """
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

[[servers]]
name = "runner"
scope = "worktree"
command = "{python}"
args = ["-m", "vapora_mcp_gateway.servers.runner", "--root", "{root}", "--commands", "{config_dir}/runner.toml",
        "--project-commands", "{root}/../runner.toml", "--timeout-s", "60"]
timeout_s = 90
"""

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


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=Vapora Test", "-c", "user.email=test@vapora.dev", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def make_calc_repo(root: Path) -> Path:
    """A committed repository whose test_mul fails (mul adds) and whose test_add passes."""
    root.mkdir(parents=True)
    (root / "calc.py").write_text(CALC)
    (root / "test_calc.py").write_text(CALC_TESTS)
    (root / ".gitignore").write_text("__pycache__/\n.pytest_cache/\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "calc with a bug in mul")
    return root.resolve()


async def start_app(settings: McpSettings, config_dir: Path, text: str = REPO_CONFIG, **updates: Any) -> McpApp:
    """A started app with ``text`` as its mcp.toml and the gateway's own worktree resolver."""
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "mcp.toml").write_text(text)
    (config_dir / "runner.toml").write_text(DEFAULT_COMMANDS)
    app_settings = settings.model_copy(update={"config_dir": config_dir, "mcp_tools_dir": TOOLS_DIR, **updates})
    application = McpApp(app_settings, ping_interval_s=1.0)
    await application.start()
    return application


@contextlib.asynccontextmanager
async def repositories_stub(application: McpApp) -> AsyncIterator[repositories_pb2_grpc.RepositoriesStub]:
    assert application.grpc is not None
    async with grpc.aio.insecure_channel(f"127.0.0.1:{application.grpc.port}") as channel:
        yield repositories_pb2_grpc.RepositoriesStub(channel)


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
