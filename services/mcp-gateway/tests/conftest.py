"""Fixtures of the mcp-gateway tests: a config file, and the app running in-process.

The app runs against the test's real nats-server and an embedded SurrealDB store, and
starts the real MCP servers shipped in the package over stdio. ``stub`` calls it as agent
``agent-7`` of workspace ``ws-acme`` on task ``task-9`` with a job token that allows the
tools of every server in CONFIG; ``token(...)`` mints others, ``anonymous`` sends none.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from vapora_testing import mcp_servers

sys.path.insert(0, str(Path(__file__).parent))

import repokit

import vapora_testing.git
from vapora.mcp.v1 import mcp_pb2_grpc, repositories_pb2_grpc
from vapora_core.jobtoken import JobClaims, bearer_metadata
from vapora_mcp_gateway.app import McpApp
from vapora_mcp_gateway.settings import McpSettings
from vapora_testing.apps import grpc_stub, started

WS = repokit.WS
ALL_TOOLS = ("workspace.*", "sysinfo.*", "private.*")

CONFIG = (
    mcp_servers.workspace(timeout_s=20)
    + mcp_servers.sysinfo(timeout_s=1.5)
    + mcp_servers.sysinfo("private", workspaces=["ws-private"])
)


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
def settings(
    nats_url: str, store_url: str, data_dir: Path, config_file: Path, job_keys: tuple[str, str]
) -> McpSettings:
    return McpSettings(
        job_verify_key=job_keys[1],
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
    async with started(McpApp(settings, ping_interval_s=1.0)) as application:
        yield application


Token = Callable[..., str]


@pytest.fixture
def token(mint_job_token: Token) -> Token:
    """A job token; by default agent-7's for task-9 in ws-acme, allowed every tool of CONFIG."""

    def mint(**claims: Any) -> str:
        defaults: dict[str, Any] = {
            "agent_id": "agent-7",
            "role": "developer",
            "workspace_id": WS,
            "task_id": "task-9",
            "job_id": "job-9",
            "tools": ALL_TOOLS,
        }
        return mint_job_token(**{**defaults, **claims})

    return mint


class AgentStub:
    """An McpGatewayStub whose calls carry one job token unless a call gives its own metadata."""

    def __init__(self, stub: mcp_pb2_grpc.McpGatewayStub, token: str) -> None:
        self._stub = stub
        self.token = token

    def __getattr__(self, method: str) -> Callable[..., Any]:
        rpc = getattr(self._stub, method)

        def invoke(request: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("metadata", bearer_metadata(self.token))
            return rpc(request, **kwargs)

        return invoke


@pytest.fixture
async def anonymous(app: McpApp) -> AsyncIterator[mcp_pb2_grpc.McpGatewayStub]:
    """The gateway's stub with no job token."""
    async with grpc_stub(app.grpc_port, mcp_pb2_grpc.McpGatewayStub, timeout=None) as stub:
        yield stub


@pytest.fixture
def stub(anonymous: mcp_pb2_grpc.McpGatewayStub, token: Token) -> AgentStub:
    return AgentStub(anonymous, token())


Poll = Callable[[Callable[[], Awaitable[bool]], float], Awaitable[None]]


# -- worktree servers: real git repositories, a resolver from task ids to them -------------------

WORKTREE_CONFIG = (
    repokit.GIT_AND_FILES
    + repokit.runner_server('"--timeout-s", "20", "--max-output-bytes", "65536"', 40)
    + repokit.SYSINFO
)

RUNNER_COMMANDS = f"""
test = "{sys.executable} -m pytest -q -p no:cacheprovider tests"
[checks]
lint = "{sys.executable} -c 'print(\\"lint clean\\")'"
"""

TEST_FILE = """
def test_adds():
    assert 1 + 1 == 2

def test_subtracts():
    assert 2 - 1 == 1

def test_is_wrong():
    assert 2 * 2 == 5
"""


def make_repo(root: Path) -> Path:
    """A real git repository with a README, a module and a test file, all committed."""
    files = {
        "README.md": "# Demo project\n",
        "src/calc.py": "def add(a, b):\n    return a + b\n",
        "tests/test_calc.py": TEST_FILE,
    }
    return vapora_testing.git.make_repo(root, files)


class TaskRoots:
    """A RootResolver: the worktree of each task id the test registered."""

    def __init__(self) -> None:
        self.roots: dict[str, Path] = {}

    async def root_for(self, claims: JobClaims) -> Path | None:
        return self.roots.get(claims.task_id)


@pytest.fixture
def task_roots() -> TaskRoots:
    return TaskRoots()


@pytest.fixture
async def worktree_app(settings: McpSettings, tmp_path: Path, task_roots: TaskRoots) -> AsyncIterator[McpApp]:
    """The app with the real worktree servers (WORKTREE_CONFIG) and ``task_roots`` as resolver."""
    config_dir = tmp_path / "wt-config"
    application = await repokit.start_app(
        settings, config_dir, WORKTREE_CONFIG, commands=RUNNER_COMMANDS, root_resolver=task_roots
    )
    try:
        yield application
    finally:
        await application.stop()


@pytest.fixture
async def wt_anonymous(worktree_app: McpApp) -> AsyncIterator[mcp_pb2_grpc.McpGatewayStub]:
    async with grpc_stub(worktree_app.grpc_port, mcp_pb2_grpc.McpGatewayStub, timeout=None) as stub:
        yield stub


@pytest.fixture(name="make_repo")
def make_repo_fixture() -> Callable[[Path], Path]:
    """``make_repo(path)``: a committed git repository at ``path``."""
    return make_repo


# -- repositories and worktrees: the gateway's own resolver (helpers in repokit.py) --------------


@pytest.fixture
async def repo_app(settings: McpSettings, tmp_path: Path) -> AsyncIterator[McpApp]:
    """The app with only the sysinfo server and the gateway's own worktree resolver."""
    application = await repokit.start_app(settings, tmp_path / "repo-config")
    try:
        yield application
    finally:
        await application.stop()


@pytest.fixture
async def repos(repo_app: McpApp) -> AsyncIterator[repositories_pb2_grpc.RepositoriesStub]:
    async with repokit.repositories_stub(repo_app) as stub:
        yield stub
