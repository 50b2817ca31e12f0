"""The git mechanics of one job's worktree: make it, reset it, remove it.

A worktree is a directory of its own (``git worktree add``) on the task's branch, so jobs on one
repository never see each other's files. Making one for a branch that exists resets the branch
to the start point (``-B``); an existing worktree is reset in place (``reset --hard``, ``checkout
-B``, ``clean -fdx``: changes, untracked and ignored files go), so a half-applied change of a
killed run never leaks into the next one. Callers hold the repository's lock around these.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from vapora_mcp_gateway.repos.git import Git


async def _common_dir(git: Git, where: Path) -> Path | None:
    result = await git.run("rev-parse", "--git-common-dir", cwd=where, check=False)
    return (where / result.stdout.strip()).resolve() if result.exit_code == 0 else None


async def is_worktree_of(git: Git, repo: Path, path: Path) -> bool:
    if not await asyncio.to_thread((path / ".git").exists):
        return False
    top = await git.run("rev-parse", "--show-toplevel", cwd=path, check=False)
    if top.exit_code != 0 or not await asyncio.to_thread(Path(top.stdout.strip()).samefile, path):
        return False
    mine = await _common_dir(git, path)
    return mine is not None and mine == await _common_dir(git, repo)


async def checkout(git: Git, repo: Path, path: Path, branch: str, base: str) -> bool:
    """Make ``path`` a clean worktree of ``repo`` on ``branch`` at ``base``; True when something
    of an earlier run (changes, files, commits on the branch) had to be reset."""
    if await is_worktree_of(git, repo, path):
        leftovers = await git.out("status", "--porcelain", "--ignored", cwd=path)
        head = await git.out("rev-parse", "HEAD", cwd=path)
        on = (await git.run("symbolic-ref", "-q", "HEAD", cwd=path, check=False)).stdout.strip()
        await git.run("reset", "-q", "--hard", cwd=path)
        await git.run("checkout", "-q", "--force", "-B", branch, base, cwd=path)
        await git.run("clean", "-q", "-fdx", cwd=path)
        return bool(leftovers) or head != base or on != f"refs/heads/{branch}"
    await git.run("worktree", "prune", cwd=repo)
    if await asyncio.to_thread(path.exists):
        await asyncio.to_thread(shutil.rmtree, path)
    existing = await git.run("rev-parse", "--verify", "-q", f"refs/heads/{branch}", cwd=repo, check=False)
    moved = existing.exit_code == 0 and existing.stdout.strip() != base
    await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
    await git.run("worktree", "add", "--force", "-q", "-B", branch, str(path), base, cwd=repo)
    return moved


async def detached(git: Git, repo: Path, path: Path, commit: str) -> None:
    """A throw-away worktree of ``repo`` at ``commit`` (no branch), e.g. to test a start point."""
    await git.run("worktree", "prune", cwd=repo)
    if await asyncio.to_thread(path.exists):
        await asyncio.to_thread(shutil.rmtree, path)
    await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
    await git.run("worktree", "add", "--force", "-q", "--detach", str(path), commit, cwd=repo)


async def remove(git: Git, repo: Path, path: Path) -> bool:
    """Remove the worktree at ``path`` (its branch stays); True when there was one."""
    existed = await asyncio.to_thread(path.exists)
    await git.run("worktree", "remove", "--force", "--force", str(path), cwd=repo, check=False)
    if await asyncio.to_thread(path.exists):
        await asyncio.to_thread(shutil.rmtree, path, True)
    await git.run("worktree", "prune", cwd=repo, check=False)
    return existed
