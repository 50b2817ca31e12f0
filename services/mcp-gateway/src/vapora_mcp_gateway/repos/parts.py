"""The repositories work built from settings: one object the gateway's app starts and stops.

Directories under ``VAPORA_DATA_DIR``: ``repos/`` (bare repositories and clones),
``worktrees/`` (one per job, and ``worktrees/.verify/`` for throw-away test checkouts) and
``git-home/`` (git's HOME, so no user's configuration applies).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from vapora_core.aio import Periodic
from vapora_core.store import Store
from vapora_mcp_gateway.identity import Authenticator
from vapora_mcp_gateway.repos.attach import Attacher
from vapora_mcp_gateway.repos.git import Git
from vapora_mcp_gateway.repos.locations import Credentials
from vapora_mcp_gateway.repos.records import RepoRecords
from vapora_mcp_gateway.repos.servicer import RepositoriesServicer
from vapora_mcp_gateway.repos.verify import Verifier
from vapora_mcp_gateway.repos.worktrees import Worktrees
from vapora_mcp_gateway.servers.commands import Commands, load_commands
from vapora_mcp_gateway.servers.isolation import detect
from vapora_mcp_gateway.settings import McpSettings


def default_commands(settings: McpSettings) -> Commands:
    """The runner's shipped commands (``config/runner.toml``): a project without its own uses them."""
    path = settings.config_dir / "runner.toml"
    return load_commands(path) if path.is_file() else Commands()


@dataclass(slots=True)
class RepoParts:
    records: RepoRecords
    attacher: Attacher
    worktrees: Worktrees
    verifier: Verifier
    servicer: RepositoriesServicer
    sweeper: Periodic

    @classmethod
    async def build(
        cls,
        settings: McpSettings,
        store: Store,
        auth: Authenticator,
        *,
        close_sessions: Callable[[Path], Awaitable[int]],
    ) -> RepoParts:
        s = settings
        data = s.data_dir.resolve()
        git = Git(home=data / "git-home")
        records = RepoRecords(store)
        attacher = Attacher(
            git,
            records,
            repos_dir=data / "repos",
            credentials=Credentials.from_setting(s.repo_credentials),
            local_roots=s.local_roots(),
            clone_timeout_s=s.repo_clone_timeout_s,
        )
        commands = default_commands(s)
        worktrees = Worktrees(
            git,
            records,
            attacher,
            worktrees_dir=data / "worktrees",
            default_commands=commands,
            close_sessions=close_sessions,
            max_age_s=s.repo_worktree_max_age_s,
            max_diff_bytes=s.repo_max_diff_bytes,
        )
        isolation = await asyncio.to_thread(detect, s.repo_bwrap)
        verifier = Verifier(
            git,
            records,
            worktrees,
            isolation,
            default_commands=commands,
            scratch_dir=data / "worktrees" / ".verify",
            timeout_s=s.repo_test_timeout_s,
            max_output_bytes=s.repo_output_bytes,
            concurrency=s.repo_verify_concurrency,
        )
        servicer = RepositoriesServicer(attacher, records, worktrees, verifier, auth)
        sweeper = Periodic("mcp-worktree-sweep", s.repo_sweep_interval_s, worktrees.sweep, wait_first=True)
        return cls(records, attacher, worktrees, verifier, servicer, sweeper)
